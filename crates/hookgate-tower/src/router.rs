//! Routing events by `type` and `subject` to typed handlers, as a tower service.
//!
//! [`EventRoutes`] serves an [`EventRouter`] (see [`hookgate_core::route`] for the
//! routes, their precedence, and what each event's outcome does): mount it with
//! axum's `post_service` (or `route_service`) behind the
//! [`WebhookLayer`](crate::WebhookLayer), or the parse and dedup layers. It takes the parsed
//! [`Delivery`] from the request extensions (or parses the body itself, within the
//! limits of the `WebhookLayer`'s policy, else the [`ParseConfig`] of the request
//! extensions, else the default), extracts the router's
//! context `C` from the request parts (any `FromRequestParts<()>`; `()` for none),
//! and answers with the core's reply: 200 when every event was handled, else a
//! problem+json whose status says whether the sender retries. Each event's dedup
//! claim is completed or released as its handler ends, so a retried batch runs only
//! the events that failed. The same [`EventRouter`] value serves actix-web through
//! `hookgate_actix::EventRoutes`.
//!
//! ```
//! use axum::{Router, body::Body, routing::post_service};
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_core::handshake::HandshakePolicy;
//! use hookgate_core::route::{EventRouter, HandlerError};
//! use hookgate_core::{CloudEvent, WebhookPolicy};
//! use hookgate_tower::eventgrid::Delivery;
//! use hookgate_tower::{EventRoutes, WebhookLayer};
//! use tower::ServiceExt as _;
//!
//! #[derive(serde::Deserialize)]
//! struct Order { #[serde(rename = "orderId")] order_id: String }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The context: Event Grid's delivery headers, extracted once per request.
//! let router = EventRouter::<Delivery>::builder()
//!     .on("com.example.order.created", |event: CloudEvent<Order>, delivery: Delivery| async move {
//!         println!("order {} (attempt {:?})", event.data.order_id, delivery.delivery_count());
//!         Ok::<_, HandlerError>(())
//!     })
//!     .build()?;
//! let webhook = WebhookPolicy::builder()
//!     .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!     .dedup(DedupPolicy::builder().build()?)
//!     .build()?;
//! let app = Router::new()
//!     .route("/api/events", post_service(EventRoutes::new(router)))
//!     .layer(WebhookLayer::new(webhook));
//!
//! let request = http::Request::post("/api/events")
//!     .header("content-type", "application/cloudevents+json")
//!     .header("aeg-delivery-count", "0")
//!     .body(Body::from(
//!         r#"{"specversion":"1.0","id":"1","source":"/shop","type":"com.example.order.created","data":{"orderId":"7"}}"#,
//!     ))?;
//! assert_eq!(app.oneshot(request).await?.status(), 200);
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::task::{Context, Poll};

use axum_core::body::Body as AxumBody;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use hookgate_core::binding::read_delivery;
use hookgate_core::route::EventRouter;
use hookgate_core::webhook::extractor_config;
use hookgate_core::{Delivery, ParseConfig, WebhookPolicy};
use http::Request;
use tower_service::Service;

use crate::body::BoxError;
use crate::future::ResponseFuture;
use crate::problem::{problem_response, reply_response};
use crate::request::TowerRequest;

/// A tower service that routes each event of a request to its handler; see the
/// [module docs](self).
pub struct EventRoutes<C = ()> {
    router: EventRouter<C>,
}

impl<C> EventRoutes<C> {
    /// The service of `router`.
    #[must_use]
    pub fn new(router: EventRouter<C>) -> Self {
        Self { router }
    }

    /// The router.
    #[must_use]
    pub fn router(&self) -> &EventRouter<C> {
        &self.router
    }
}

impl<C> Clone for EventRoutes<C> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
        }
    }
}

impl<C> fmt::Debug for EventRoutes<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRoutes")
            .field("router", &self.router)
            .finish()
    }
}

impl<C, B> Service<Request<B>> for EventRoutes<C>
where
    C: FromRequestParts<()> + Clone + Send + Sync + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let router = self.router.clone();
        ResponseFuture::new(async move { Ok(route(router, request).await) })
    }
}

async fn route<C, B>(router: EventRouter<C>, request: Request<B>) -> Response
where
    C: FromRequestParts<()> + Clone + Send + Sync + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let mut request = TowerRequest::new(request);
    let context = match C::from_request_parts(&mut request.parts, &()).await {
        Ok(context) => context,
        Err(rejection) => return rejection.into_response(),
    };
    let delivery = match request.parts.extensions.remove::<Delivery>() {
        Some(delivery) => delivery,
        None => {
            let extensions = &request.parts.extensions;
            let config = extractor_config(
                extensions.get::<WebhookPolicy>(),
                extensions.get::<ParseConfig>(),
            );
            match read_delivery(&mut request, &config).await {
                Ok((delivery, _)) => delivery,
                Err(error) => {
                    return problem_response(&error.problem()).map(AxumBody::from);
                }
            }
        }
    };
    let reply = router.dispatch(delivery, context).await;
    reply_response(&reply).map(AxumBody::from)
}
