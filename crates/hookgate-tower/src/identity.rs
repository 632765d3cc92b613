//! axum extractors for who the sender is: [`Authenticated`] and, with the `aad`
//! feature, `AadCaller`.
//!
//! [`AuthLayer`](crate::AuthLayer) puts the [`Identity`] of an authenticated request
//! into its extensions. `Authenticated` extracts it, whatever the method;
//! `AadCaller` extracts the claims of an Azure AD token (and only those: it rejects
//! a request authenticated otherwise). `Option<Authenticated>` and
//! `Option<AadCaller>` never reject. Without the layer in front, both reject with
//! a 401 problem+json.
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_core::auth::{AuthPolicy, SharedSecrets};
//! use hookgate_tower::{AuthLayer, Authenticated};
//! use tower::ServiceExt as _;
//!
//! async fn handle(Authenticated(who): Authenticated) -> String {
//!     format!("{who:?}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = AuthPolicy::builder().shared_secrets(SharedSecrets::new(["s3cret"])?).build()?;
//! let app = Router::new()
//!     .route("/api/calls", post(handle))
//!     .layer(AuthLayer::new(policy));
//! let request = http::Request::post("/api/calls?code=s3cret").body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! # Ok(()) }
//! ```
//!
//! With Azure AD (`aad`), `AadCaller(claims): AadCaller` gives the token's claims,
//! `claims.app_id`, `claims.tenant_id`, `claims.roles`.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use hookgate_core::auth::Identity;
#[cfg(feature = "aad")]
use hookgate_core::auth::aad::AadClaims;
use http::request::Parts;

/// Extracts the [`Identity`] that [`AuthLayer`](crate::AuthLayer) authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated(pub Identity);

/// Extracts the claims of the request's validated Azure AD token: the caller of a
/// route that [`AadPolicy`](hookgate_core::auth::aad::AadPolicy) authenticated
/// (feature `aad`). A request authenticated another way (a shared secret, a Web
/// PubSub signature) is rejected with 401.
#[cfg(feature = "aad")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AadCaller(pub AadClaims);

rejection! {
    /// The rejection of [`Authenticated`] and `AadCaller`: a 401 problem+json.
    AuthRejection
}

fn identity(parts: &Parts) -> Option<&Identity> {
    parts.extensions.get::<Identity>()
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        identity(parts)
            .cloned()
            .map(Self)
            .ok_or_else(|| hookgate_core::auth::not_authenticated().into())
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(identity(parts).cloned().map(Self))
    }
}

#[cfg(feature = "aad")]
impl<S: Send + Sync> FromRequestParts<S> for AadCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match identity(parts) {
            Some(Identity::Aad(claims)) => Ok(Self(claims.clone())),
            Some(_) => Err(hookgate_core::auth::not_aad().into()),
            None => Err(hookgate_core::auth::not_authenticated().into()),
        }
    }
}

#[cfg(feature = "aad")]
impl<S: Send + Sync> OptionalFromRequestParts<S> for AadCaller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(identity(parts)
            .and_then(Identity::aad_claims)
            .cloned()
            .map(Self))
    }
}
