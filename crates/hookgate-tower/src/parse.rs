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
//! untouched, body and all. The sequence (mode, `Content-Length`, bounded read,
//! parse) is the core's [`read_delivery`].
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

use bytes::Bytes;
use hookgate_core::ParseConfig;
use hookgate_core::binding::{carries_events, read_delivery};
use hookgate_core::request::settle_refusal;
use http::{Request, Response};
use tower_service::Service;

use crate::body::{Body, BoxError};
use crate::request::{TowerRequest, refused};

pub use crate::future::ResponseFuture;

layer! {
    /// Applies [`ParseCloudEvents`] to a service; see the [module docs](self).
    ParseCloudEventsLayer,
    /// Middleware that parses CloudEvents once and puts the
    /// [`Delivery`](hookgate_core::Delivery) into the request extensions; see the
    /// [module docs](self).
    ParseCloudEvents { config: ParseConfig }
}

impl Default for ParseCloudEventsLayer {
    fn default() -> Self {
        Self::new(ParseConfig::default())
    }
}

service!(ParseCloudEvents, config, call);

fn call<S, B, ResBody>(
    config: ParseConfig,
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
        if !carries_events(request.parts.method.as_str()) {
            return Ok(inner
                .call(request.into_request(None))
                .await?
                .map(Body::inner));
        }
        // A refusal leaves the block with the drain of a body left unread (a 415, a
        // 413 from `Content-Length`), awaited after it.
        let settle = 'refused: {
            let (delivery, body) = match read_delivery(&mut request, &config).await {
                Ok(read) => read,
                Err(error) => break 'refused settle_refusal(&mut request, error.problem().into()),
            };
            request.parts.extensions.insert(delivery);
            let response = inner.call(request.into_request(Some(body))).await?;
            return Ok(response.map(Body::inner));
        };
        Ok(refused(&settle.await))
    }
}
