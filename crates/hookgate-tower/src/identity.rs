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
//! # #[cfg(feature = "aad")] {
//! use axum::{Router, routing::post};
//! use hookgate_tower::AadCaller;
//!
//! async fn handle(AadCaller(claims): AadCaller) -> String {
//!     format!("called by app {:?} of tenant {:?}", claims.app_id, claims.tenant_id)
//! }
//!
//! let app: Router = Router::new().route("/api/calls", post(handle));
//! # }
//! ```

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use hookgate_core::Error;
use hookgate_core::auth::Identity;
#[cfg(feature = "aad")]
use hookgate_core::auth::aad::AadClaims;
use http::request::Parts;

use crate::problem::problem_response;

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

/// The rejection of [`Authenticated`] and `AadCaller`: a 401 problem+json.
#[derive(Debug)]
#[non_exhaustive]
pub struct AuthRejection {
    error: Error,
}

impl AuthRejection {
    /// The HTTP status (401).
    #[must_use]
    pub fn status(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.error.status()).unwrap_or(http::StatusCode::UNAUTHORIZED)
    }

    /// What went wrong.
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }
}

impl std::fmt::Display for AuthRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for AuthRejection {}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        problem_response(&self.error.problem()).map(axum_core::body::Body::from)
    }
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
            .ok_or_else(|| AuthRejection {
                error: hookgate_core::auth::not_authenticated(),
            })
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
            Some(_) => Err(AuthRejection {
                error: Error::new(
                    hookgate_core::ErrorKind::InvalidCredentials,
                    "this route needs an Azure AD access token; the request was authenticated otherwise",
                ),
            }),
            None => Err(AuthRejection {
                error: hookgate_core::auth::not_authenticated(),
            }),
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
