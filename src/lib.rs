//! # hookgate
//!
//! Receiver-side middleware for CloudEvents webhooks, for **axum** (and any tower
//! stack) and **actix-web**. A service that Azure Event Grid, Azure Web PubSub, the
//! Skype for Business Trusted Application API or any CloudEvents 1.0 sender calls
//! wraps its router with hookgate and gets the CloudEvents HTTP binding done once,
//! right: binary, structured and batch content modes parsed into typed extractors,
//! with clear `application/problem+json` rejections and bounded bodies, the webhook
//! validation handshake, sender authentication and deduplication by `(source, id)`.
//!
//! | module | what |
//! |---|---|
//! | the crate root | the framework-free core: [`WebhookPolicy`] (the whole receiver), [`parse`], [`CloudEvent<T>`], [`Delivery`], [`Error`] |
//! | [`webhook`] | the whole stack in the right order: [`WebhookPolicy`], the rejection hook |
//! | [`handshake`] | the webhook validation handshake: [`handshake::HandshakePolicy`] |
//! | [`auth`] | sender authentication: [`auth::AuthPolicy`] (shared secrets, Azure AD, Web PubSub) |
//! | [`dedup`] | deduplication by `(source, id)`: [`dedup::DedupPolicy`], [`dedup::MemoryStore`] |
//! | [`tower`] (features `tower`, `axum`) | [`tower::WebhookLayer`] (the whole stack), [`tower::ParseCloudEventsLayer`], [`tower::HandshakeLayer`], [`tower::AuthLayer`], [`tower::DedupLayer`], axum extractors [`tower::CloudEvent`], [`tower::CloudEvents`], [`tower::Authenticated`], [`tower::AadCaller`] (with `aad`) |
//! | [`actix`] (feature `actix`) | [`actix::Webhook`] (the whole stack), [`actix::ParseCloudEvents`], [`actix::Handshake`], [`actix::Auth`] and [`actix::Dedup`] middleware, extractors [`actix::CloudEvent`], [`actix::CloudEvents`], [`actix::Authenticated`], [`actix::AadCaller`] (with `aad`) |
//!
//! The same names and the same behaviour in both adapters: moving a receiver from
//! one framework to the other changes the imports and the app wiring, not the logic.
//!
//! # Features
//!
//! No web framework is on by default: pick the one you use, so that the other is
//! never compiled.
//!
//! | feature | default | what |
//! |---|---|---|
//! | `axum` | | the tower layers and the axum extractors (implies `tower`) |
//! | `tower` | | the tower layers alone, for any tower/hyper stack |
//! | `actix` | | the actix-web middleware and extractors |
//! | `redis` | | the Redis deduplication store ([`redis`], the `hookgate-redis` crate) |
//! | `aad` | yes | Azure AD bearer tokens ([`auth::aad`], `Identity::Aad`, the `AadCaller` extractors): jsonwebtoken, moka and the default HTTP client (implies `callback`) |
//! | `callback` | yes | the default outbound HTTP client, [`client::ReqwestClient`] (reqwest with rustls), for validation callbacks |
//!
//! So `hookgate = { version = "0.1", features = ["axum"] }` for an axum receiver,
//! `features = ["actix"]` for actix-web. With `default-features = false` the crate
//! parses, answers the handshake, checks shared secrets and Web PubSub signatures
//! and deduplicates without TLS, an HTTP client or a JWT crate (a validation
//! callback then needs a client given to
//! [`CallbackPolicyBuilder::client`](handshake::CallbackPolicyBuilder::client)).
//!
//! # From zero to a working receiver (axum)
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [dependencies]
//! hookgate = { version = "0.1", features = ["axum"] }
//! axum = "0.8"
//! tokio = { version = "1", features = ["full"] }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! `src/main.rs`:
//!
//! ```no_run
//! # #[cfg(feature = "axum")] mod receiver {
//! use axum::{Router, routing::post};
//! use hookgate::dedup::DedupPolicy;
//! use hookgate::handshake::HandshakePolicy;
//! use hookgate::tower::{CloudEvent, WebhookLayer};
//! use hookgate::WebhookPolicy;
//!
//! #[derive(serde::Deserialize)]
//! struct OrderCreated { order_id: String, total_cents: u64 }
//!
//! async fn order_created(CloudEvent(event): CloudEvent<OrderCreated>) -> &'static str {
//!     println!("{} from {}: order {} for {} cents",
//!         event.id(), event.source(), event.data.order_id, event.data.total_cents);
//!     "ok"
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Grant Azure Event Grid's validation handshake, parse, and deduplicate in memory.
//!     let webhook = WebhookPolicy::builder()
//!         .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!         .dedup(DedupPolicy::builder().build()?)
//!         .build()?;
//!     let app = Router::new()
//!         .route("/api/events", post(order_created))
//!         .layer(WebhookLayer::new(webhook));
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! Send it an event in binary mode:
//!
//! ```text
//! curl -i http://127.0.0.1:8080/api/events \
//!   -H 'ce-specversion: 1.0' -H 'ce-id: 1' -H 'ce-source: /shop' \
//!   -H 'ce-type: com.example.order.created' -H 'content-type: application/json' \
//!   -d '{"order_id": "A-1", "total_cents": 1299}'
//! ```
//!
//! A request that is not a valid CloudEvent gets a 4xx answer such as
//!
//! ```text
//! HTTP/1.1 400 Bad Request
//! content-type: application/problem+json
//!
//! {"type":"urn:hookgate:problem:missing-attribute","title":"A required attribute is missing",
//!  "status":400,"detail":"required attribute `source` is missing (...)"}
//! ```
//!
//! # The same receiver on actix-web
//!
//! ```no_run
//! # #[cfg(feature = "actix")] mod receiver {
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use hookgate::actix::{CloudEvent, Webhook};
//! use hookgate::dedup::DedupPolicy;
//! use hookgate::handshake::HandshakePolicy;
//! use hookgate::WebhookPolicy;
//!
//! #[derive(serde::Deserialize)]
//! struct OrderCreated { order_id: String, total_cents: u64 }
//!
//! async fn order_created(CloudEvent(event): CloudEvent<OrderCreated>) -> HttpResponse {
//!     println!("{}: order {}", event.id(), event.data.order_id);
//!     HttpResponse::Ok().finish()
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let webhook = WebhookPolicy::builder()
//!         .handshake(HandshakePolicy::builder().azure_event_grid().build().expect("origins"))
//!         .dedup(DedupPolicy::builder().build().expect("a dedup policy"))
//!         .build()
//!         .expect("a valid webhook");
//!     HttpServer::new(move || {
//!         App::new()
//!             .wrap(Webhook::new(webhook.clone()))
//!             .route("/api/events", web::post().to(order_created))
//!     })
//!     .bind("127.0.0.1:8080")?
//!     .run()
//!     .await
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! # What is decided for you
//!
//! - Content modes by `Content-Type` (case-insensitive, parameters ignored); a JSON
//!   array under `application/cloudevents+json` is read as a batch, since some senders
//!   decide by the first JSON character. See [`binding`].
//! - Bodies are bounded: 1 MiB by default ([`ParseConfig`]), 413 above.
//! - Rejections are 400 (a retry cannot help: Event Grid does not retry it), 413 or
//!   415, as RFC 9457 problem documents with a stable `type` per [`ErrorKind`].
//! - Parse once: with the layer/middleware in place the extractors reuse its result.
//! - The validation handshake grants exactly the configured origins (case-insensitive,
//!   never a prefix), always answers the rate, passes a CORS preflight on, and guards
//!   callbacks against request forgery. See [`handshake`].
//! - Authentication answers 401 with `WWW-Authenticate`, 403 for a missing role or
//!   tenant, 503 with `Retry-After` when keys cannot be had; secrets are compared in
//!   constant time and never echoed. See [`auth`].
//! - Deduplication never acknowledges an event that was not handled: claims are
//!   released on an error, a panic or a dropped request; a failing store answers 503.
//!   Its keys are scoped by the authenticated sender, so one sender cannot suppress
//!   another's events. See [`dedup`].
//! - Every MUST of CloudEvents 1.0.2 on attribute values is checked, and the values of
//!   real senders that break one with a clear meaning are accepted: see [`event`].
//!
//! # Timeouts a deployment should set
//!
//! hookgate bounds the body: its size ([`ParseConfig::body_limit`], 413) and the time
//! it may take to arrive ([`ParseConfig::body_timeout`], 10 s by default, 408). The
//! request line and headers come before hookgate sees the request; bound them in
//! the server: with axum on hyper, `hyper::server::conn::http1::Builder::header_read_timeout`
//! (through `hyper-util`'s server builder, or a `tower_http::timeout` layer for the
//! whole request); with actix-web, `HttpServer::client_request_timeout` (5 s by
//! default) and `client_disconnect_timeout`.
//!
//! # Shutting down
//!
//! Stop the server gracefully (axum: `axum::serve(..).with_graceful_shutdown(signal)`
//! plus a grace period; actix-web: `HttpServer::shutdown_timeout`, on SIGTERM and
//! SIGINT by itself), then call [`WebhookPolicy::shutdown`] before the runtime ends:
//! it releases the dedup claims of the deliveries that did not finish, so that the
//! sender's retries are handled at once rather than after the dedup lease. The
//! examples do exactly this.
//!
//! The order of the parts, from the outside in: handshake, authentication, parsing,
//! deduplication, the handler. [`WebhookPolicy`] applies them in that order in one
//! layer (axum) or middleware (actix-web); each part also has a layer of its own, for
//! routes that need only one (see [`webhook`]).

pub use hookgate_core::*;

/// tower layers and axum extractors (the `hookgate-tower` crate).
#[cfg(feature = "tower")]
pub mod tower {
    pub use hookgate_tower::*;
}

/// actix-web middleware and extractors (the `hookgate-actix` crate).
#[cfg(feature = "actix")]
pub mod actix {
    pub use hookgate_actix::*;
}

/// The Redis deduplication store, shared by the replicas of a receiver (the
/// `hookgate-redis` crate; feature `redis`).
#[cfg(feature = "redis")]
pub mod redis {
    pub use hookgate_redis::*;
}

/// The README's code blocks, compiled as doc tests so that they stay true.
// With the features the README's code uses (`cargo test --all-features`).
#[cfg(all(doctest, feature = "axum", feature = "actix"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
