//! tower layers and axum extractors for [hookgate](https://docs.rs/hookgate):
//! receiver-side middleware for CloudEvents webhooks.
//!
//! - [`ParseCloudEventsLayer`] reads and parses CloudEvents once, answers malformed
//!   requests with `application/problem+json`, and hands the parsed
//!   [`Delivery`](hookgate_core::Delivery) to what follows through the request
//!   extensions. It works on any tower/hyper stack.
//! - [`HandshakeLayer`] answers the webhook validation handshake (`OPTIONS` with
//!   `WebHook-Request-Origin`) and passes everything else on.
//! - [`AuthLayer`] authenticates senders (shared secrets, Azure AD bearer tokens,
//!   Web PubSub signatures) and answers 401/403/503 problem+json.
//! - [`DedupLayer`] deduplicates parsed deliveries by `(source, id)`: each event
//!   reaches the handler once, and nothing unhandled is acknowledged.
//! - With the `axum` feature: [`EventRoutes`] serves an
//!   [`EventRouter`](hookgate_core::route::EventRouter) (typed handlers per event
//!   `type` and `subject`; each event's dedup claim settled as its handler ends), and
//!   [`eventgrid::Delivery`] extracts Azure Event Grid's `aeg-*` delivery headers.
//! - With the `axum` feature (on by default): the extractors [`CloudEvent<T>`] and
//!   [`CloudEvents<T>`], which take the layer's delivery or parse by themselves, and
//!   [`Authenticated`] and `AadCaller` (feature `aad`) for who the sender is.
//!
//! The same behaviour, limits and error bodies are offered for actix-web by
//! `hookgate-actix`; both are thin adapters over `hookgate-core`.
//!
//! # A receiver in a few lines
//!
//! ```no_run
//! use axum::{Router, routing::post};
//! use hookgate_tower::{CloudEvent, ParseCloudEventsLayer};
//!
//! #[derive(serde::Deserialize)]
//! struct Reading { celsius: f64 }
//!
//! async fn handle(CloudEvent(event): CloudEvent<Reading>) -> &'static str {
//!     println!("{} from {}: {} °C", event.id(), event.source(), event.data.celsius);
//!     "ok"
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/api/events", post(handle))
//!     .layer(ParseCloudEventsLayer::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! # Testing with `oneshot`
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_tower::{CloudEvent, ParseCloudEventsLayer};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/", post(|CloudEvent(e): CloudEvent| async move { e.id().to_owned() }))
//!     .layer(ParseCloudEventsLayer::default());
//! let request = http::Request::post("/")
//!     .header("ce-specversion", "1.0")
//!     .header("ce-id", "42")
//!     .header("ce-source", "/test")
//!     .header("ce-type", "t")
//!     .body(Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! # }
//! ```

#[macro_use]
mod macros;

pub mod auth;
pub mod body;
pub mod dedup;
#[cfg(feature = "axum")]
pub mod eventgrid;
#[cfg(feature = "axum")]
pub mod extract;
mod future;
pub mod handshake;
mod headers;
#[cfg(feature = "axum")]
pub mod identity;
pub mod parse;
mod problem;
mod request;
#[cfg(feature = "axum")]
pub mod router;
#[cfg(feature = "axum")]
pub mod trusted_app;
pub mod webhook;
#[cfg(feature = "axum")]
pub mod webpubsub;

pub use auth::{Auth, AuthLayer};
pub use dedup::{Dedup, DedupLayer};
#[cfg(feature = "axum")]
pub use extract::{CloudEvent, CloudEventRejection, CloudEvents};
pub use future::ResponseFuture;
pub use handshake::{Handshake, HandshakeLayer};
pub use headers::HttpHeaders;
#[cfg(all(feature = "axum", feature = "aad"))]
pub use identity::AadCaller;
#[cfg(feature = "axum")]
pub use identity::{AuthRejection, Authenticated};
pub use parse::{ParseCloudEvents, ParseCloudEventsLayer};
pub use problem::{problem_response, reply_response};
#[cfg(feature = "axum")]
pub use router::EventRoutes;
#[cfg(feature = "axum")]
pub use trusted_app::{CallbackContext, CallbackContextRejection, Ucwa, UcwaRejection};
pub use webhook::{Webhook, WebhookLayer};
