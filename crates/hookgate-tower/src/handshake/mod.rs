//! The webhook validation handshake as a tower layer.
//!
//! [`HandshakeLayer`] answers the CloudEvents validation handshake (`OPTIONS` with
//! `WebHook-Request-Origin`) as a [`HandshakePolicy`] decides — a grant, a 403
//! refusal, a grant by callback, Event Grid's `SubscriptionValidation` POST when
//! enabled — and passes everything else, a CORS preflight included, to the inner
//! service. See [`hookgate_core::handshake`] for the decisions.
//!
//! Add it with `Router::layer` (not `route_layer`), so that it sees `OPTIONS` before
//! axum's method routing can answer 405 for a route that only has `post`. Add it
//! *after* (outside) an authentication layer: the handshake is answered before
//! authentication, as senders do not all authenticate it. A callback confirmation is
//! sent from a task spawned on the tokio runtime.
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

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::HandshakeLayer;
pub use service::Handshake;
