//! actix-web extractors and responses for the Skype for Business Trusted
//! Application API's callbacks (see [`hookgate_core::trusted_app`]): [`Ucwa<T>`]
//! (and its optional form [`OptionalUcwa<T>`]) and [`CallbackContext`].
//!
//! - `Ucwa<T>` reads the plain-JSON callback body into `T`, the typed
//!   [`UcwaEnvelope`] by default (any `serde::de::DeserializeOwned` type works:
//!   `serde_json::Value`, your own). It accepts `application/json` and
//!   `application/vnd.microsoft.com.ucwa+json` (parameters ignored), reads the
//!   payload within the limits of the [`WebhookPolicy`] a [`Webhook`](crate::Webhook)
//!   middleware put into the request extensions
//!   ([`WebhookPolicy::extractor_config`]: the policy's `parse` limits, also with
//!   `without_parsing`), else of a [`ParseConfig`] registered with
//!   `App::app_data(config)` (deprecated, still read), else the default 1 MiB,
//!   10 s; and rejects with a 4xx problem+json: 415 for another content type, 413,
//!   408, 400 for malformed JSON or another shape.
//! - `CallbackContext` extracts the `callbackContext` query parameter (400 when it
//!   is absent, given twice or too long). As a `Responder` it answers `200` with
//!   `{"CallbackContext": "<value>"}`, which sets the context of later callbacks.
//!
//! **Optional form.** actix-web's `Option<T>` turns every failure into `None`, so
//! `Option<Ucwa<T>>` takes a malformed callback for "none": take [`OptionalUcwa<T>`],
//! `None` only for a request that carries no callback
//! ([`carries_no_event`]: no
//! `Content-Type` and an empty body, or a method without a body), any other bad one
//! refused as `Ucwa<T>` does (as axum's `Option<Ucwa<T>>` in hookgate-tower). For
//! callbacks that may come without a context, take `Option<CallbackContext>`; to
//! refuse a malformed one (given twice, too long) rather than ignore it, take
//! `Result<CallbackContext, CallbackContextRejection>` and look at the error's
//! kind.
//!
//! Authenticate the route with [`Auth`](crate::Auth) (an Azure AD policy whose
//! audience is the App ID URI), or with [`Webhook`](crate::Webhook) over a policy
//! built
//! [`without_parsing`](hookgate_core::webhook::WebhookPolicyBuilder::without_parsing).
//! This mirrors the extractors of `hookgate-tower`.
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::{CallbackContext, Ucwa};
//!
//! async fn callback(context: Option<CallbackContext>, Ucwa(envelope): Ucwa) -> CallbackContext {
//!     for (sender, event) in envelope.events() {
//!         println!("{} {} {:?}", sender.rel, event.event_type, event.link.rel);
//!     }
//!     let seen = context.map_or(0, |c| c.0.parse::<u32>().unwrap_or(0));
//!     CallbackContext((seen + 1).to_string())
//! }
//!
//! # #[actix_web::main]
//! # async fn main() {
//! let app = test::init_service(App::new().route("/callback", web::post().to(callback))).await;
//! let request = test::TestRequest::post()
//!     .uri("/callback?callbackContext=4")
//!     .insert_header(("content-type", r#"application/json; type="application/vnd.microsoft.com.ucwa+json""#))
//!     .set_payload(r#"{"sender": [{"rel": "ms:rtc:saas:conversation", "href": "/c",
//!         "events": [{"link": {"rel": "ms:rtc:saas:message", "href": "/m"}, "type": "completed"}]}]}"#)
//!     .to_request();
//! let body = test::call_and_read_body(&app, request).await;
//! assert_eq!(&body[..], br#"{"CallbackContext":"5"}"#);
//!
//! let malformed = test::TestRequest::post()
//!     .uri("/callback")
//!     .insert_header(("content-type", "application/json"))
//!     .set_payload("{")
//!     .to_request();
//! assert_eq!(test::call_service(&app, malformed).await.status(), 400);
//! # }
//! ```

use std::future::{Ready, ready};
use std::ops::{Deref, DerefMut};

use actix_web::HttpMessage as _;
use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};
use futures_util::future::LocalBoxFuture;
use hookgate_core::request::carries_no_event;
use hookgate_core::trusted_app::{self, UcwaEnvelope};
use hookgate_core::webhook::extractor_config;
use hookgate_core::{ParseConfig, WebhookPolicy};
use serde::de::DeserializeOwned;

use crate::problem::reply_response;
use crate::request::ActixRequest;

/// Extracts a Trusted Application API callback body as a `T` (the
/// [`UcwaEnvelope`] by default); see the [module docs](self).
///
/// actix-web's `Option<Ucwa<T>>` is `None` for a malformed request too (its blanket
/// impl swallows every error): take [`OptionalUcwa`] for "an event, or none".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ucwa<T = UcwaEnvelope>(pub T);

/// Extracts a callback body as [`Ucwa<T>`] does, or `None` for a request that
/// carries none (rather than actix-web's `Option<Ucwa<T>>`, which is `None` for a
/// malformed one too); see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionalUcwa<T = UcwaEnvelope>(pub Option<T>);

/// The `callbackContext` query parameter of a callback, as an extractor; as a
/// `Responder`, `200` with `{"CallbackContext": "<value>"}`. See the
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

impl<T: DeserializeOwned + 'static> FromRequest for Ucwa<T> {
    type Error = UcwaRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let value = callback(req, payload);
        Box::pin(async move { Ok(Self(value.await?)) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for OptionalUcwa<T> {
    type Error = UcwaRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if carries_no_event(&ActixRequest::new(req, payload)) {
            return Box::pin(ready(Ok(Self(None))));
        }
        let value = callback(req, payload);
        Box::pin(async move { Ok(Self(Some(value.await?))) })
    }
}

/// The callback body of a request, read within the limits the extensions (or the
/// app data) give.
fn callback<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<T, hookgate_core::Error>> + 'static {
    let req = req.clone();
    let mut payload = payload.take();
    async move {
        let config = extractor_config(
            req.extensions().get::<WebhookPolicy>(),
            req.app_data::<ParseConfig>(),
        );
        trusted_app::read_callback(&mut ActixRequest::new(&req, &mut payload), &config).await
    }
}

impl FromRequest for CallbackContext {
    type Error = CallbackContextRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = match trusted_app::callback_context(req.uri().query()) {
            Ok(Some(context)) => Ok(Self(context)),
            Ok(None) => Err(trusted_app::missing_callback_context()),
            Err(error) => Err(error),
        };
        ready(outcome.map_err(CallbackContextRejection::from))
    }
}

impl Responder for CallbackContext {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        reply_response(&trusted_app::callback_context_reply(&self.0))
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
