//! Deduplication by `(source, id)` as a tower layer.
//!
//! [`DedupLayer`] takes the [`Delivery`](hookgate_core::Delivery) that
//! [`ParseCloudEventsLayer`](crate::ParseCloudEventsLayer) put into the request
//! extensions and runs [`DedupPolicy::begin`](hookgate_core::dedup::DedupPolicy::begin):
//! the handler sees each event once (a batch is filtered to its new events, which the
//! `CloudEvents` extractor then takes); all duplicates are answered 200 without
//! the handler; an event in flight elsewhere is answered 429 with `Retry-After`; a
//! failed store 503 with `Retry-After`. A 2xx answer completes the claims; any other
//! answer, an error, a panic or a dropped request releases them, so the sender's
//! retry is handled. See [`hookgate_core::dedup`].
//!
//! Put it inside the parse layer (added before it with `Router::layer`, so that the
//! parse layer runs first). A request without a parsed delivery passes through.
//! A handler that reads the raw body still sees every event: use the extractors.
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_tower::{CloudEvent, DedupLayer, ParseCloudEventsLayer};
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new()
//!     .route("/api/events", post(|CloudEvent(e): CloudEvent| async move { e.id().to_owned() }))
//!     .layer(DedupLayer::new(DedupPolicy::builder().build()?))
//!     .layer(ParseCloudEventsLayer::default());
//! let event = || {
//!     http::Request::post("/api/events")
//!         .header("ce-specversion", "1.0")
//!         .header("ce-id", "42")
//!         .header("ce-source", "/test")
//!         .header("ce-type", "t")
//!         .body(Body::empty())
//! };
//! let first = app.clone().oneshot(event()?).await?;
//! assert_eq!(first.status(), 200);
//! let again = app.oneshot(event()?).await?;
//! assert_eq!(again.status(), 200); // answered without the handler
//! # Ok(()) }
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::DedupLayer;
pub use service::Dedup;
