//! Azure Web PubSub's event handler on actix-web: extractors and answers; see
//! [`hookgate_core::webpubsub`] for the protocol and its decisions.
//!
//! - [`WebPubSub`] extracts any event as the [`WebPubSubEvent`] enum; [`Connect`],
//!   [`Connected`], [`Disconnected`] and [`UserEvent`] extract one kind (another
//!   is 400). [`OptionalWebPubSub`] is `None` for a request that carries no event
//!   ([`carries_no_event`](hookgate_core::request::carries_no_event)) and refuses
//!   any other bad one as `WebPubSub` does; actix-web's `Option<WebPubSub>` is
//!   `None` for a malformed event too (its blanket impl swallows every error), so
//!   take the named form (axum's `Option<WebPubSub>` behaves as `OptionalWebPubSub`).
//! - [`WebPubSubReply`] answers: from a [`ConnectResponse`], a [`UserEventResponse`],
//!   a [`WebPubSubError`] or a [`WebPubSubResponse`].
//! - Rejections ([`WebPubSubRejection`]) are a status and a plain-text message, as
//!   the protocol wants, never problem+json; the [`Problem`] is in the response
//!   extensions, so the entry point reports it.
//!
//! Mount the stack ([`WebPubSubPolicy::webhook`]) with [`Webhook`](crate::Webhook):
//! it hands the extractors the policy's limits in each request's extensions
//! (`app_data(policy.limits())` is no longer needed: deprecated, still read where no
//! `Webhook` middleware ran). With a URL template `/api/{event}`, the stack answers
//! the validation `OPTIONS` at `/api/validate`:
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::Webhook;
//! use hookgate_actix::webpubsub::{WebPubSub, WebPubSubRejection, WebPubSubReply};
//! use hookgate_core::webpubsub::{
//!     ConnectResponse, UserEventResponse, WebPubSubEvent, WebPubSubPolicy, WebPubSubResponse,
//! };
//!
//! async fn handle(
//!     segment: web::Path<String>,
//!     WebPubSub(event): WebPubSub,
//! ) -> Result<WebPubSubReply, WebPubSubRejection> {
//!     event.check_path_event(&segment)?;
//!     Ok(match event {
//!         WebPubSubEvent::Connect(connect) => ConnectResponse::new().roles(["webpubsub.sendToGroup"]).into(),
//!         WebPubSubEvent::User(message) => UserEventResponse::echo(&message.data).into(),
//!         _ => WebPubSubResponse::Ack.into(),
//!     })
//! }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = WebPubSubPolicy::builder().host("chat.webpubsub.azure.com").build()?;
//! let app = test::init_service(
//!     App::new()
//!         .wrap(Webhook::new(policy.webhook().clone()))
//!         .route("/api/{event}", web::post().to(handle)),
//! )
//! .await;
//!
//! let validate = test::TestRequest::default()
//!     .method(actix_web::http::Method::OPTIONS)
//!     .uri("/api/validate")
//!     .insert_header(("WebHook-Request-Origin", "chat.webpubsub.azure.com"))
//!     .to_request();
//! assert_eq!(test::call_service(&app, validate).await.status(), 200);
//!
//! let message = test::TestRequest::post()
//!     .uri("/api/message")
//!     .insert_header(("Content-Type", "text/plain"))
//!     .insert_header(("ce-specversion", "1.0"))
//!     .insert_header(("ce-type", "azure.webpubsub.user.message"))
//!     .insert_header(("ce-source", "/hubs/chat/client/c1"))
//!     .insert_header(("ce-id", "1"))
//!     .insert_header(("ce-connectionId", "c1"))
//!     .insert_header(("ce-hub", "chat"))
//!     .insert_header(("ce-eventName", "message"))
//!     .set_payload("hello")
//!     .to_request();
//! let answer = test::call_service(&app, message).await;
//! assert_eq!(answer.status(), 200);
//! assert_eq!(answer.headers().get("content-type").unwrap(), "text/plain; charset=utf-8");
//! # Ok(()) }
//! ```

use std::future::Future;

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{
    FromRequest, HttpMessage as _, HttpRequest, HttpResponse, Responder, ResponseError,
};
use futures_util::future::{FutureExt as _, LocalBoxFuture};
use hookgate_core::webhook::extractor_webpubsub_limits;
use hookgate_core::webpubsub::{
    ConnectRequest, ConnectedRequest, DisconnectedRequest, UserEventRequest, WebPubSubError,
    WebPubSubEvent, WebPubSubLimits, WebPubSubResponse, parse_config, wrong_event,
};
use hookgate_core::{Error, Problem, Reply, WebhookPolicy};

#[cfg(doc)]
use hookgate_core::webpubsub::{ConnectResponse, UserEventResponse, WebPubSubPolicy};

use crate::extract::{delivery_as, optional_delivery_as};
use crate::problem::reply_response;

/// Extracts any Web PubSub event; see the [module docs](self).
///
/// actix-web's `Option<WebPubSub>` is `None` for a malformed request too (its blanket
/// impl swallows every error): take [`OptionalWebPubSub`] for "an event, or none".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebPubSub(pub WebPubSubEvent);

/// Extracts any Web PubSub event as [`WebPubSub`] does, or `None` for a request
/// that carries no event (rather than actix-web's `Option<WebPubSub>`, which is
/// `None` for a malformed one too); see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionalWebPubSub(pub Option<WebPubSubEvent>);

/// Extracts a `connect` event (another event is 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect(pub ConnectRequest);

/// Extracts a `connected` event (another event is 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connected(pub ConnectedRequest);

/// Extracts a `disconnected` event (another event is 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disconnected(pub DisconnectedRequest);

/// Extracts a user event (another event is 400).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEvent(pub UserEventRequest);

/// A refusal in the protocol's form (a status and a plain-text message): the
/// rejection of the Web PubSub extractors, and a handler's error type.
#[derive(Debug)]
pub struct WebPubSubRejection {
    error: WebPubSubError,
}

impl WebPubSubRejection {
    /// The refusal.
    #[must_use]
    pub fn error(&self) -> &WebPubSubError {
        &self.error
    }
}

impl From<Error> for WebPubSubRejection {
    fn from(error: Error) -> Self {
        Self {
            error: error.into(),
        }
    }
}

impl From<WebPubSubError> for WebPubSubRejection {
    fn from(error: WebPubSubError) -> Self {
        Self { error }
    }
}

impl std::fmt::Display for WebPubSubRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for WebPubSubRejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        respond(&self.error.to_reply(), self.error.problem())
    }
}

/// The response for `reply`; the problem of a refusal that comes from a hookgate
/// error goes into the extensions, where the entry point finds it.
fn respond(reply: &Reply, problem: Option<&Problem>) -> HttpResponse {
    let mut response = reply_response(reply);
    if let Some(problem) = problem {
        response.extensions_mut().insert(problem.clone());
    }
    response
}

/// An answer to a Web PubSub event; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct WebPubSubReply(pub WebPubSubResponse);

impl Responder for WebPubSubReply {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        respond(&self.0.to_reply(), self.0.problem())
    }
}

impl<T: Into<WebPubSubResponse>> From<T> for WebPubSubReply {
    fn from(answer: T) -> Self {
        Self(answer.into())
    }
}

/// The event of a request: the delivery a middleware parsed (or parsed here, in
/// binary mode only with the headers verbatim: [`parse_config`]), read within the
/// limits [`limits`] finds.
fn event(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<WebPubSubEvent, Error>> + 'static {
    let limits = limits(req);
    delivery_as(req, payload, parse_config)
        .map(move |delivery| WebPubSubEvent::from_delivery(delivery?, &limits))
}

/// The limits of the policy a `Webhook` middleware put into the extensions, else
/// those registered with `app_data` (deprecated), else the defaults.
fn limits(req: &HttpRequest) -> WebPubSubLimits {
    extractor_webpubsub_limits(
        req.extensions().get::<WebhookPolicy>(),
        req.app_data::<WebPubSubLimits>(),
    )
}

impl FromRequest for OptionalWebPubSub {
    type Error = WebPubSubRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limits = limits(req);
        optional_delivery_as(req, payload, parse_config)
            .map(move |delivery| {
                let event = delivery?
                    .map(|delivery| WebPubSubEvent::from_delivery(delivery, &limits))
                    .transpose()?;
                Ok(Self(event))
            })
            .boxed_local()
    }
}

impl FromRequest for WebPubSub {
    type Error = WebPubSubRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        event(req, payload)
            .map(|event| Ok(Self(event?)))
            .boxed_local()
    }
}

macro_rules! one_event {
    ($extractor:ident, $variant:ident, $name:literal) => {
        impl FromRequest for $extractor {
            type Error = WebPubSubRejection;
            type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                event(req, payload)
                    .map(|event| match event? {
                        WebPubSubEvent::$variant(request) => Ok(Self(request)),
                        other => Err(wrong_event($name, &other).into()),
                    })
                    .boxed_local()
            }
        }
    };
}

one_event!(Connect, Connect, "connect");
one_event!(Connected, Connected, "connected");
one_event!(Disconnected, Disconnected, "disconnected");
one_event!(UserEvent, User, "user");
