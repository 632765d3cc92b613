//! Authentication of webhook senders as a tower layer.
//!
//! [`AuthLayer`] authenticates every request with an
//! [`AuthPolicy`](hookgate_core::auth::AuthPolicy) — shared secrets, Azure AD bearer
//! tokens, Web PubSub signatures, whichever are configured — before the inner service
//! runs. A failure is answered with its problem+json (401 with `WWW-Authenticate`,
//! 403, or 503 with `Retry-After`) and the inner service is not called; on success
//! the [`Identity`](hookgate_core::auth::Identity) goes into the request extensions,
//! where the `Authenticated` and `Claims` extractors (feature `axum`) find it. A
//! response to a request authenticated by a secret in the URL gets
//! `Cache-Control: private`.
//!
//! It does not need CloudEvents: put it on any route (the Trusted Application API
//! posts plain JSON with a bearer token). With the handshake, add `HandshakeLayer`
//! after it (outside), so that the handshake is answered before authentication.
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_core::auth::{AuthPolicy, SharedSecrets};
//! use hookgate_tower::AuthLayer;
//! use tower::ServiceExt as _;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = AuthPolicy::builder()
//!     .shared_secrets(SharedSecrets::new(["s3cret"])?)
//!     .build()?;
//! let app = Router::new()
//!     .route("/api/events", post(|| async { "delivered" }))
//!     .layer(AuthLayer::new(policy));
//!
//! let request = http::Request::post("/api/events?code=s3cret").body(Body::empty())?;
//! let response = app.clone().oneshot(request).await?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers()["cache-control"], "private");
//!
//! let request = http::Request::post("/api/events?code=guess").body(Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 401);
//! assert!(response.headers().contains_key("www-authenticate"));
//! # Ok(()) }
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use service::Auth;
