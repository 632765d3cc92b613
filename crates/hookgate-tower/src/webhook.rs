//! The whole stack as one tower layer: handshake, authentication, parsing,
//! deduplication, in the only correct order.
//!
//! [`WebhookLayer`] applies a [`WebhookPolicy`] (see [`hookgate_core::webhook`]) in
//! one service call: the core runs the steps
//! ([`WebhookPolicy::admit`](hookgate_core::webhook::WebhookPolicy::admit)); this
//! layer puts the [`Identity`](hookgate_core::auth::Identity) and the
//! [`Delivery`](hookgate_core::Delivery) into the request extensions (where the
//! extractors find them), hands the body on, calls the inner service and finishes
//! with its status (dedup claims completed on a 2xx, released otherwise;
//! `Cache-Control: private` when the secret came in the URL). Add it with
//! `Router::layer`, so that it sees `OPTIONS` before axum's method routing.
//!
//! The layer also puts the [`WebhookPolicy`] into the request extensions: the
//! extractors read their limits from it (the policy's
//! [`extractor_config`](WebhookPolicy::extractor_config) and
//! [`webpubsub_limits`](WebhookPolicy::webpubsub_limits)), so no
//! `Extension(ParseConfig)` or `Extension(policy.limits())` is needed (those are
//! deprecated, and still read when no such layer ran). A refusal before the body is
//! read drains the body or closes the connection, as
//! [`settle_refusal`] says.
//!
//! Each request runs in the delivery span the core opens
//! ([`WebhookPolicy::span`]), the handler in the event's `process` span when the
//! delivery holds one event ([`Admitted::handler_span`](hookgate_core::webhook::Admitted::handler_span));
//! the fields, the parenting (an outer span, else the `traceparent` with the `otel`
//! feature) and the metrics (feature `metrics`) are described in
//! [`hookgate_core::observe`]. This layer only enters them.
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_core::auth::{AuthPolicy, SharedSecrets};
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_core::handshake::HandshakePolicy;
//! use hookgate_core::WebhookPolicy;
//! use hookgate_tower::{CloudEvents, WebhookLayer};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let webhook = WebhookPolicy::builder()
//!     .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!     .auth(AuthPolicy::builder().shared_secrets(SharedSecrets::new(["s3cret"])?).build()?)
//!     .dedup(DedupPolicy::builder().build()?)
//!     .build()?;
//! let app = Router::new()
//!     .route("/api/events", post(|CloudEvents(events): CloudEvents| async move {
//!         format!("{} new", events.len())
//!     }))
//!     .layer(WebhookLayer::new(webhook));
//!
//! let event = || {
//!     http::Request::post("/api/events?code=s3cret")
//!         .header("ce-specversion", "1.0")
//!         .header("ce-id", "42")
//!         .header("ce-source", "/test")
//!         .header("ce-type", "t")
//!         .body(Body::empty())
//! };
//! let first = app.clone().oneshot(event()?).await?;
//! assert_eq!(first.status(), 200);
//! assert_eq!(first.headers()["cache-control"], "private");
//! let again = app.clone().oneshot(event()?).await?;
//! assert_eq!(again.status(), 200); // a duplicate: answered without the handler
//!
//! let handshake = http::Request::options("/api/events")
//!     .header("WebHook-Request-Origin", "eventgrid.azure.net")
//!     .body(Body::empty())?;
//! assert_eq!(app.oneshot(handshake).await?.status(), 200);
//! # Ok(()) }
//! ```

use bytes::Bytes;
use hookgate_core::Problem;
use hookgate_core::observe::Outcome;
use hookgate_core::request::settle_refusal;
use hookgate_core::webhook::{Admission, HandlerAnswer, WebhookPolicy};
use http::{Request, Response};
use tower_service::Service;
use tracing::Instrument as _;

use crate::body::{Body, BoxError};
use crate::headers::set_headers;
use crate::request::{TowerRequest, refused};

pub use crate::future::ResponseFuture;

layer! {
    /// Applies [`Webhook`] to a service: the whole stack; see the [module docs](self).
    WebhookLayer,
    /// Middleware that runs the whole webhook stack before the inner service; see the
    /// [module docs](self).
    Webhook { policy: WebhookPolicy }
}

service!(Webhook, policy, call);

fn call<S, B, ResBody>(
    policy: WebhookPolicy,
    mut inner: S,
    request: Request<B>,
) -> impl Future<Output = Result<Response<Body<ResBody>>, S::Error>>
where
    S: Service<Request<Body<B>>, Response = Response<ResBody>>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut request = TowerRequest::new(request);
    // The delivery's span: every step and the handler run in it.
    let span = policy.span(&request);
    // An `async` block, not an `async fn`: the future keeps the arguments once,
    // where an `async fn` would also keep a moved copy of each.
    async move {
        // A refusal leaves the block with the drain of the body it left unread (or
        // the closing of the connection), awaited after it.
        let settle = 'refused: {
            // The handler's answer and the future that finishes with it. A block of
            // its own, so that `admitted`'s storage ends before that future is
            // awaited (the state would keep room for both).
            let (mut response, finish) = {
                let mut admitted = match policy.admit(&mut request).await {
                    Admission::Reply(reply) => {
                        break 'refused settle_refusal(&mut request, reply);
                    }
                    Admission::Forward(admitted) => admitted,
                };
                let extensions = &mut request.parts.extensions;
                // The extractors' limits (one `Arc`): no `Extension` of their own needed.
                extensions.insert(admitted.policy().clone());
                if let Some(identity) = admitted.take_identity() {
                    extensions.insert(identity);
                }
                if let Some(delivery) = admitted.take_delivery() {
                    extensions.insert(delivery);
                }
                let (method, uri) = (request.parts.method.clone(), request.parts.uri.clone());
                let body = admitted.take_body();
                let handler_span = admitted.handler_span();
                // An error, a panic or a drop here drops `admitted`: its claims are
                // released.
                let response = inner
                    .call(request.into_request(body))
                    .instrument(handler_span)
                    .await?;
                // `finish` reads the answer before its future starts: nothing of it,
                // nor the request's method and URI, is held across the store's await
                // (response bodies need not be `Sync`).
                let finish = admitted.finish(HandlerAnswer {
                    status: response.status().as_u16(),
                    problem: response.extensions().get::<Problem>(),
                    method: method.as_str(),
                    path: uri.path(),
                    outcome: response.extensions().get::<Outcome>().copied(),
                });
                (response, finish)
            };
            let finished = finish.await;
            set_headers(response.headers_mut(), finished.headers());
            return Ok(response.map(Body::inner));
        };
        Ok(refused(&settle.await))
    }
    .instrument(span)
}
