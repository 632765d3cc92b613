//! Authentication of webhook senders as a tower layer.
//!
//! [`AuthLayer`] authenticates every request with an
//! [`AuthPolicy`] — shared secrets, Azure AD bearer
//! tokens, Web PubSub signatures, whichever are configured — before the inner service
//! runs. A failure is answered with its problem+json (401 with `WWW-Authenticate`,
//! 403, or 503 with `Retry-After`) and the inner service is not called; on success
//! the [`Identity`](hookgate_core::auth::Identity) goes into the request extensions,
//! where the `Authenticated` and `AadCaller` extractors (feature `axum`) find it. A
//! response to a request authenticated by a secret in the URL gets
//! `Cache-Control: private`.
//!
//! It does not need CloudEvents: put it on any route (the Trusted Application API
//! posts plain JSON with a bearer token). With the handshake, add `HandshakeLayer`
//! after it (outside), so that the handshake is answered before authentication — or
//! use the one [`WebhookLayer`](crate::WebhookLayer).
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

use bytes::Bytes;
use hookgate_core::auth::AuthPolicy;
use hookgate_core::request::settle_refusal;
use hookgate_core::webhook::identity_headers;
use http::{Request, Response};
use tower_service::Service;

use crate::body::{Body, BoxError};
use crate::headers::{HttpHeaders, set_headers};
use crate::request::{TowerRequest, refused};

pub use crate::future::ResponseFuture;

layer! {
    /// Applies [`Auth`] to a service; see the [module docs](self).
    AuthLayer,
    /// Middleware that authenticates the sender before the inner service runs; see
    /// the [module docs](self).
    Auth { policy: AuthPolicy }
}

service!(Auth, policy, call);

fn call<S, B, ResBody>(
    policy: AuthPolicy,
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
        // A refusal leaves the block with the drain of the body (or the closing of
        // the connection), awaited after it.
        let settle = 'refused: {
            let parts = &request.parts;
            let check = policy.authenticate(parts.uri.query(), &HttpHeaders(&parts.headers));
            let identity = match check.await {
                Ok(identity) => identity,
                Err(error) => break 'refused settle_refusal(&mut request, error.problem().into()),
            };
            let headers = identity_headers(&identity);
            request.parts.extensions.insert(identity);
            let mut response = inner.call(request.into_request(None)).await?;
            set_headers(response.headers_mut(), headers);
            return Ok(response.map(Body::inner));
        };
        Ok(refused(&settle.await))
    }
}
