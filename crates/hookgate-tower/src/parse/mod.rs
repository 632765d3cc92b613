//! Parse once: a layer that reads and parses CloudEvents before the handler runs.
//!
//! [`ParseCloudEventsLayer`] reads the body of every `POST`, `PUT` and `PATCH`
//! request (within [`ParseConfig::body_limit`]), parses it, and
//!
//! - on success puts the [`Delivery`](hookgate_core::Delivery) into the request
//!   extensions and passes the request on with the same bytes as its body, so the
//!   extractors (and any layer behind, such as deduplication) take the parsed events
//!   without parsing again;
//! - on failure answers the `application/problem+json` rejection itself; the inner
//!   service is not called.
//!
//! Other methods (`GET`, `OPTIONS` for the validation handshake, …) pass through
//! untouched, body and all.
//!
//! ```
//! use axum::{Router, routing::post};
//! use hookgate_tower::{CloudEvent, ParseCloudEventsLayer};
//!
//! async fn handle(CloudEvent(event): CloudEvent) -> &'static str {
//!     println!("{}", event.id());
//!     "ok"
//! }
//!
//! let app: Router = Router::new()
//!     .route("/api/events", post(handle))
//!     .layer(ParseCloudEventsLayer::default());
//! ```
//!
//! [`ParseConfig::body_limit`]: hookgate_core::ParseConfig::body_limit

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::ParseCloudEventsLayer;
pub use service::ParseCloudEvents;
