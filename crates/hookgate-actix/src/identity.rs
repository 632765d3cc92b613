//! actix-web extractors for who the sender is: [`Authenticated`] and, with the
//! `aad` feature, `AadCaller`.
//!
//! [`Auth`](crate::Auth) puts the [`Identity`] of an authenticated request into its
//! extensions. `Authenticated` extracts it, whatever the method; `AadCaller`
//! extracts the claims of an Azure AD token (and only those: it rejects a request
//! authenticated otherwise). Without the middleware in front, both reject with a
//! 401 problem+json. (actix-web's `Option<T>` swallows every rejection; it gives
//! `None` here exactly when the identity is absent.) This mirrors the extractors of
//! `hookgate-tower`.
//!
//! ```
//! # #[cfg(feature = "aad")] {
//! use actix_web::{App, web};
//! use hookgate_actix::AadCaller;
//!
//! async fn handle(AadCaller(claims): AadCaller) -> String {
//!     format!("called by app {:?} of tenant {:?}", claims.app_id, claims.tenant_id)
//! }
//!
//! let app = App::new().route("/api/calls", web::post().to(handle));
//! # }
//! ```

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use hookgate_core::auth::Identity;
#[cfg(feature = "aad")]
use hookgate_core::auth::aad::AadClaims;

/// Extracts the [`Identity`] that [`Auth`](crate::Auth) authenticated.
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

impl FromRequest for Authenticated {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let identity = req.extensions().get::<Identity>().cloned();
        ready(
            identity
                .map(Self)
                .ok_or_else(|| hookgate_core::auth::not_authenticated().into()),
        )
    }
}

#[cfg(feature = "aad")]
impl FromRequest for AadCaller {
    type Error = AuthRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = match req.extensions().get::<Identity>() {
            Some(Identity::Aad(claims)) => Ok(Self(claims.clone())),
            Some(_) => Err(hookgate_core::auth::not_aad()),
            None => Err(hookgate_core::auth::not_authenticated()),
        };
        ready(outcome.map_err(AuthRejection::from))
    }
}
