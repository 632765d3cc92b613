//! actix-web middleware and extractors for [hookgate](https://docs.rs/hookgate):
//! receiver-side middleware for CloudEvents webhooks.
//!
//! - [`ParseCloudEvents`] (a `Transform`, its service [`ParseCloudEventsMiddleware`])
//!   reads and parses CloudEvents once, answers malformed requests with
//!   `application/problem+json`, and hands the parsed
//!   [`Delivery`](hookgate_core::Delivery) to what follows through the request
//!   extensions.
//! - [`Handshake`] (its service [`HandshakeMiddleware`]) answers the webhook
//!   validation handshake (`OPTIONS` with `WebHook-Request-Origin`) and passes
//!   everything else on.
//! - [`Auth`] (its service [`AuthMiddleware`]) authenticates senders (shared
//!   secrets, Azure AD bearer tokens, Web PubSub signatures) and answers
//!   401/403/503 problem+json; [`Authenticated`] and `AadCaller` (feature `aad`)
//!   extract who it was.
//! - [`Dedup`] (its service [`DedupMiddleware`]) deduplicates parsed deliveries by
//!   `(source, id)`: each event reaches the handler once, nothing unhandled is
//!   acknowledged.
//! - The extractors [`CloudEvent<T>`] and [`CloudEvents<T>`] take the middleware's
//!   delivery or parse by themselves.
//! - [`EventRoutes`] serves an [`EventRouter`](hookgate_core::route::EventRouter)
//!   (typed handlers per event `type` and `subject`; each event's dedup claim settled
//!   as its handler ends) as a `Route` or `Resource`, and [`eventgrid::Delivery`]
//!   extracts Azure Event Grid's `aeg-*` delivery headers.
//!
//! The behaviour, limits and error bodies are the same as `hookgate-tower`'s for
//! axum; both are thin adapters over `hookgate-core`, which does the work.
//!
//! # A receiver in a few lines
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use hookgate_actix::{CloudEvent, ParseCloudEvents};
//!
//! #[derive(serde::Deserialize)]
//! struct Reading { celsius: f64 }
//!
//! async fn handle(CloudEvent(event): CloudEvent<Reading>) -> HttpResponse {
//!     println!("{} from {}: {} °C", event.id(), event.source(), event.data.celsius);
//!     HttpResponse::Ok().finish()
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     HttpServer::new(|| {
//!         App::new()
//!             .wrap(ParseCloudEvents::default())
//!             .route("/api/events", web::post().to(handle))
//!     })
//!     .bind("127.0.0.1:8080")?
//!     .run()
//!     .await
//! }
//! ```
//!
//! # Testing with `init_service`
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::{CloudEvent, ParseCloudEvents};
//!
//! # #[actix_web::main]
//! # async fn main() {
//! let app = test::init_service(
//!     App::new()
//!         .wrap(ParseCloudEvents::default())
//!         .route("/", web::post().to(|CloudEvent(e): CloudEvent| async move { e.id().to_owned() })),
//! )
//! .await;
//! let request = test::TestRequest::post()
//!     .uri("/")
//!     .insert_header(("ce-specversion", "1.0"))
//!     .insert_header(("ce-id", "42"))
//!     .insert_header(("ce-source", "/test"))
//!     .insert_header(("ce-type", "t"))
//!     .to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 200);
//! # }
//! ```

#[macro_use]
mod middleware;

pub mod auth;
pub mod dedup;
pub mod eventgrid;
pub mod extract;
pub mod handshake;
mod headers;
pub mod identity;
pub mod parse;
mod problem;
mod request;
pub mod router;
pub mod trusted_app;
pub mod webhook;
pub mod webpubsub;

pub use auth::{Auth, AuthMiddleware};
pub use dedup::{Dedup, DedupMiddleware};
pub use extract::{
    CloudEvent, CloudEventRejection, CloudEvents, OptionalCloudEvent, OptionalCloudEvents,
};
pub use handshake::{Handshake, HandshakeMiddleware};
pub use headers::ActixHeaders;
#[cfg(feature = "aad")]
pub use identity::AadCaller;
pub use identity::{AuthRejection, Authenticated};
pub use parse::{ParseCloudEvents, ParseCloudEventsMiddleware};
pub use problem::{problem_response, reply_response};
pub use router::EventRoutes;
pub use trusted_app::{
    CallbackContext, CallbackContextRejection, OptionalUcwa, Ucwa, UcwaRejection,
};
pub use webhook::{Webhook, WebhookMiddleware};
