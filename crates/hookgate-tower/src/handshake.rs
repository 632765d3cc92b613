//! The webhook validation handshake as a tower layer.
//!
//! [`HandshakeLayer`] answers the CloudEvents validation handshake (`OPTIONS` with
//! `WebHook-Request-Origin`) as a [`HandshakePolicy`] decides — a grant, a 403
//! refusal, a grant by callback, Event Grid's `SubscriptionValidation` POST when
//! enabled — and passes everything else, a CORS preflight included, to the inner
//! service. The core carries the decision out
//! ([`HandshakePolicy::respond`](hookgate_core::handshake::HandshakePolicy::respond));
//! this layer turns its reply into a response. A callback confirmation is sent
//! from a task spawned on the tokio runtime.
//!
//! Add it with `Router::layer` (not `route_layer`), so that it sees `OPTIONS` before
//! axum's method routing can answer 405 for a route that only has `post`. Alone, add
//! it *after* (outside) an authentication layer; or use the one
//! [`WebhookLayer`](crate::WebhookLayer), which orders the parts itself.
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_core::handshake::HandshakePolicy;
//! use hookgate_tower::HandshakeLayer;
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let policy = HandshakePolicy::builder().azure_event_grid().build().unwrap();
//! let app = Router::new()
//!     .route("/api/events", post(|| async { "delivered" }))
//!     .layer(HandshakeLayer::new(policy));
//!
//! let request = http::Request::options("/api/events")
//!     .header("WebHook-Request-Origin", "eventgrid.azure.net")
//!     .body(Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["webhook-allowed-origin"], "eventgrid.azure.net");
//! assert_eq!(response.headers()["webhook-allowed-rate"], "*");
//! # }
//! ```
//!
//! [`HandshakePolicy`]: hookgate_core::handshake::HandshakePolicy

use bytes::Bytes;
use hookgate_core::handshake::HandshakePolicy;
use http::{Request, Response};
use tower_service::Service;

use crate::body::{Body, BoxError};
use crate::problem::reply_response;
use crate::request::TowerRequest;

pub use crate::future::ResponseFuture;

layer! {
    /// Applies [`Handshake`] to a service; see the [module docs](self).
    HandshakeLayer,
    /// Middleware that answers the webhook validation handshake; see the
    /// [module docs](self).
    Handshake { policy: HandshakePolicy }
}

service!(Handshake, policy, call);

fn call<S, B, ResBody>(
    policy: HandshakePolicy,
    mut inner: S,
    request: Request<B>,
) -> impl Future<Output = Result<Response<Body<ResBody>>, S::Error>>
where
    S: Service<Request<Body<B>>, Response = Response<ResBody>>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut request = TowerRequest::new(request);
    // An `async` block, not an `async fn`: the future keeps the arguments once,
    // where an `async fn` would also keep a moved copy of each.
    async move {
        match policy.respond(&mut request).await {
            Some(reply) => Ok(reply_response(&reply).map(Body::full)),
            None => Ok(inner
                .call(request.into_request(None))
                .await?
                .map(Body::inner)),
        }
    }
}
