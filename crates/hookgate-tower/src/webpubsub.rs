//! Azure Web PubSub's event handler on axum: extractors and answers (feature
//! `axum`); see [`hookgate_core::webpubsub`] for the protocol and its decisions.
//!
//! - [`WebPubSub`] extracts any event as the [`WebPubSubEvent`] enum; [`Connect`],
//!   [`Connected`], [`Disconnected`] and [`UserEvent`] extract one kind (another
//!   is 400). `Option<WebPubSub>` is `None` for a request that carries no event
//!   ([`carries_no_event`](hookgate_core::request::carries_no_event)) and refuses
//!   any other bad one as `WebPubSub` does (hookgate-actix's `OptionalWebPubSub`
//!   behaves the same).
//! - [`WebPubSubReply`] answers: from a [`ConnectResponse`], a [`UserEventResponse`],
//!   a [`WebPubSubError`] or a [`WebPubSubResponse`].
//! - Rejections ([`WebPubSubRejection`]) are a status and a plain-text message, as
//!   the protocol wants, never problem+json; the [`Problem`] is in the response
//!   extensions, so the entry point reports it.
//!
//! Mount the stack ([`WebPubSubPolicy::webhook`]) with
//! [`WebhookLayer`](crate::WebhookLayer): it hands the extractors the policy's
//! limits in each request's extensions (`Extension(policy.limits())` is no longer
//! needed: deprecated, still read where no `WebhookLayer` ran). With a URL template
//! `/api/{event}`, the stack answers the validation `OPTIONS` at `/api/validate`:
//!
//! ```
//! use axum::{Router, body::Body, extract::Path, routing::post};
//! use hookgate_core::webpubsub::{
//!     ConnectResponse, UserEventResponse, WebPubSubEvent, WebPubSubPolicy, WebPubSubResponse,
//! };
//! use hookgate_tower::WebhookLayer;
//! use hookgate_tower::webpubsub::{WebPubSub, WebPubSubRejection, WebPubSubReply};
//! use tower::ServiceExt as _;
//!
//! async fn handle(
//!     Path(segment): Path<String>,
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
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = WebPubSubPolicy::builder().host("chat.webpubsub.azure.com").build()?;
//! let app = Router::new()
//!     .route("/api/{event}", post(handle))
//!     .layer(WebhookLayer::new(policy.webhook().clone()));
//!
//! let validate = http::Request::options("/api/validate")
//!     .header("WebHook-Request-Origin", "chat.webpubsub.azure.com")
//!     .body(Body::empty())?;
//! assert_eq!(app.clone().oneshot(validate).await?.status(), 200);
//!
//! let message = http::Request::post("/api/message")
//!     .header("Content-Type", "text/plain")
//!     .header("ce-specversion", "1.0")
//!     .header("ce-type", "azure.webpubsub.user.message")
//!     .header("ce-source", "/hubs/chat/client/c1")
//!     .header("ce-id", "1")
//!     .header("ce-connectionId", "c1")
//!     .header("ce-hub", "chat")
//!     .header("ce-eventName", "message")
//!     .body(Body::from("hello"))?;
//! let answer = app.oneshot(message).await?;
//! assert_eq!(answer.status(), 200);
//! assert_eq!(answer.headers()["content-type"], "text/plain; charset=utf-8");
//! # Ok(()) }
//! ```

use axum_core::extract::{FromRequest, OptionalFromRequest, Request};
use axum_core::response::{IntoResponse, Response};
use hookgate_core::webhook::extractor_webpubsub_limits;
use hookgate_core::webpubsub::{
    ConnectRequest, ConnectedRequest, DisconnectedRequest, UserEventRequest, WebPubSubError,
    WebPubSubEvent, WebPubSubLimits, WebPubSubResponse, parse_config, wrong_event,
};
use hookgate_core::{Delivery, Error, Problem, Reply, WebhookPolicy};

#[cfg(doc)]
use hookgate_core::webpubsub::{ConnectResponse, UserEventResponse, WebPubSubPolicy};

use crate::extract::{delivery_as, optional_delivery_as};
use crate::problem::reply_response;

/// Extracts any Web PubSub event; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebPubSub(pub WebPubSubEvent);

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

impl std::error::Error for WebPubSubRejection {}

/// The response for `reply`; the problem of a refusal that comes from a hookgate
/// error goes into the extensions, where the entry point finds it.
fn respond(reply: &Reply, problem: Option<&Problem>) -> Response {
    let mut response = reply_response(reply).map(axum_core::body::Body::from);
    if let Some(problem) = problem {
        response.extensions_mut().insert(problem.clone());
    }
    response
}

impl IntoResponse for WebPubSubRejection {
    fn into_response(self) -> Response {
        respond(&self.error.to_reply(), self.error.problem())
    }
}

/// An answer to a Web PubSub event; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct WebPubSubReply(pub WebPubSubResponse);

impl IntoResponse for WebPubSubReply {
    fn into_response(self) -> Response {
        respond(&self.0.to_reply(), self.0.problem())
    }
}

impl<T: Into<WebPubSubResponse>> From<T> for WebPubSubReply {
    fn from(answer: T) -> Self {
        Self(answer.into())
    }
}

/// The event of a request: the delivery a layer parsed (or parsed here, in binary
/// mode only with the headers verbatim: [`parse_config`]), read within the limits
/// [`limits`] finds.
fn event(req: Request) -> impl Future<Output = Result<WebPubSubEvent, Error>> + Send + 'static {
    let limits = limits(&req);
    let delivery = delivery_as(req, parse_config);
    async move { WebPubSubEvent::from_delivery(delivery.await?, &limits) }
}

/// The limits of the policy a `WebhookLayer` put into the extensions, else those
/// registered with `Extension` (deprecated), else the defaults.
fn limits(req: &Request) -> WebPubSubLimits {
    let extensions = req.extensions();
    extractor_webpubsub_limits(
        extensions.get::<WebhookPolicy>(),
        extensions.get::<WebPubSubLimits>(),
    )
}

/// [`event`] for the optional extractor: `None` for a request that carries no event.
fn optional_event(
    req: Request,
) -> impl Future<Output = Result<Option<WebPubSubEvent>, Error>> + Send + 'static {
    let limits = limits(&req);
    let delivery = optional_delivery_as(req, parse_config);
    async move {
        delivery
            .await?
            .map(|delivery: Delivery| WebPubSubEvent::from_delivery(delivery, &limits))
            .transpose()
    }
}

impl<S: Send + Sync> FromRequest<S> for WebPubSub {
    type Rejection = WebPubSubRejection;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(event(req).await?))
    }
}

impl<S: Send + Sync> OptionalFromRequest<S> for WebPubSub {
    type Rejection = WebPubSubRejection;

    async fn from_request(req: Request, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(optional_event(req).await?.map(Self))
    }
}

macro_rules! one_event {
    ($extractor:ident, $variant:ident, $name:literal) => {
        impl<S: Send + Sync> FromRequest<S> for $extractor {
            type Rejection = WebPubSubRejection;

            async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
                match event(req).await? {
                    WebPubSubEvent::$variant(request) => Ok(Self(request)),
                    other => Err(wrong_event($name, &other).into()),
                }
            }
        }
    };
}

one_event!(Connect, Connect, "connect");
one_event!(Connected, Connected, "connected");
one_event!(Disconnected, Disconnected, "disconnected");
one_event!(UserEvent, User, "user");
