//! axum extractors and responses for the Skype for Business Trusted Application
//! API's callbacks (see [`hookgate_core::trusted_app`]): [`Ucwa<T>`] and
//! [`CallbackContext`].
//!
//! - `Ucwa<T>` reads the plain-JSON callback body into `T`, the typed
//!   [`UcwaEnvelope`] by default (any `serde::de::DeserializeOwned` type works:
//!   `serde_json::Value`, your own). It accepts `application/json` and
//!   `application/vnd.microsoft.com.ucwa+json` (parameters ignored), reads the body
//!   within the limits of the [`WebhookPolicy`] a [`WebhookLayer`](crate::WebhookLayer)
//!   put into the request extensions ([`WebhookPolicy::extractor_config`]: the
//!   policy's `parse` limits, also with `without_parsing`), else of a [`ParseConfig`]
//!   in the request extensions (deprecated, still read), else the default 1 MiB,
//!   10 s; and rejects with a 4xx problem+json: 415 for another content type, 413,
//!   408, 400 for malformed JSON or another shape. `Option<Ucwa<T>>` is `None` for a
//!   request that carries no callback
//!   ([`carries_no_event`]: no
//!   `Content-Type` and an empty body, or a method without a body) and refuses any
//!   other bad one as `Ucwa<T>` does (hookgate-actix's `OptionalUcwa<T>` too).
//! - `CallbackContext` extracts the `callbackContext` query parameter (400 when it
//!   is absent; `Option<CallbackContext>` is `None` then, and still rejects one
//!   given twice or too long). As a response it answers `200` with
//!   `{"CallbackContext": "<value>"}`, which sets the context of later callbacks.
//!
//! Authenticate the route with [`AuthLayer`](crate::AuthLayer) (an Azure AD policy
//! whose audience is the App ID URI), or with [`WebhookLayer`](crate::WebhookLayer)
//! over a policy built
//! [`without_parsing`](hookgate_core::webhook::WebhookPolicyBuilder::without_parsing).
//! The same extractors exist for actix-web in `hookgate-actix`.
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_tower::{CallbackContext, Ucwa};
//! use tower::ServiceExt as _;
//!
//! async fn callback(context: Option<CallbackContext>, Ucwa(envelope): Ucwa) -> CallbackContext {
//!     for (sender, event) in envelope.events() {
//!         println!("{} {} {:?}", sender.rel, event.event_type, event.link.rel);
//!     }
//!     let seen = context.map_or(0, |c| c.0.parse::<u32>().unwrap_or(0));
//!     CallbackContext((seen + 1).to_string())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new().route("/callback", post(callback));
//! let request = http::Request::post("/callback?callbackContext=4")
//!     .header("content-type", r#"application/json; type="application/vnd.microsoft.com.ucwa+json""#)
//!     .body(Body::from(r#"{"sender": [{"rel": "ms:rtc:saas:conversation", "href": "/c",
//!         "events": [{"link": {"rel": "ms:rtc:saas:message", "href": "/m"}, "type": "completed"}]}]}"#))?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! let body = axum::body::to_bytes(response.into_body(), 1024).await?;
//! assert_eq!(&body[..], br#"{"CallbackContext":"5"}"#);
//!
//! let malformed = http::Request::post("/callback")
//!     .header("content-type", "application/json")
//!     .body(Body::from("{"))?;
//! assert_eq!(app.oneshot(malformed).await?.status(), 400);
//! # Ok(()) }
//! ```

use std::ops::{Deref, DerefMut};

use axum_core::extract::{
    FromRequest, FromRequestParts, OptionalFromRequest, OptionalFromRequestParts, Request,
};
use axum_core::response::{IntoResponse, Response};
use hookgate_core::request::carries_no_event;
use hookgate_core::trusted_app::{self, UcwaEnvelope};
use hookgate_core::webhook::extractor_config;
use hookgate_core::{ParseConfig, WebhookPolicy};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::reply_response;
use crate::request::TowerRequest;

/// Extracts a Trusted Application API callback body as a `T` (the
/// [`UcwaEnvelope`] by default); see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ucwa<T = UcwaEnvelope>(pub T);

/// The `callbackContext` query parameter of a callback, as an extractor; as a
/// response, `200` with `{"CallbackContext": "<value>"}`. See the
/// [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallbackContext(pub String);

rejection! {
    /// The rejection of [`Ucwa`]: a 4xx `application/problem+json` response that
    /// says what was wrong.
    UcwaRejection
}

rejection! {
    /// The rejection of [`CallbackContext`]: a 400 `application/problem+json`
    /// response (absent, given twice, too long).
    CallbackContextRejection
}

impl<T, S> FromRequest<S> for Ucwa<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = UcwaRejection;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(callback(TowerRequest::new(req)).await?))
    }
}

impl<T, S> OptionalFromRequest<S> for Ucwa<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = UcwaRejection;

    async fn from_request(req: Request, _: &S) -> Result<Option<Self>, Self::Rejection> {
        let req = TowerRequest::new(req);
        if carries_no_event(&req) {
            return Ok(None);
        }
        Ok(Some(Self(callback(req).await?)))
    }
}

/// The callback body of `req`, read within the limits the extensions give.
async fn callback<T: DeserializeOwned>(
    mut req: TowerRequest<axum_core::body::Body>,
) -> Result<T, hookgate_core::Error> {
    let extensions = &req.parts.extensions;
    let config = extractor_config(
        extensions.get::<WebhookPolicy>(),
        extensions.get::<ParseConfig>(),
    );
    trusted_app::read_callback(&mut req, &config).await
}

impl<S: Send + Sync> FromRequestParts<S> for CallbackContext {
    type Rejection = CallbackContextRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match trusted_app::callback_context(parts.uri.query())? {
            Some(context) => Ok(Self(context)),
            None => Err(trusted_app::missing_callback_context().into()),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CallbackContext {
    type Rejection = CallbackContextRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(trusted_app::callback_context(parts.uri.query())?.map(Self))
    }
}

impl IntoResponse for CallbackContext {
    fn into_response(self) -> Response {
        reply_response(&trusted_app::callback_context_reply(&self.0))
            .map(axum_core::body::Body::from)
    }
}

impl<T> Deref for Ucwa<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Ucwa<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
