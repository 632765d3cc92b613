//! Deduplication by `(source, id)` as a tower layer.
//!
//! [`DedupLayer`] takes the [`Delivery`] that
//! [`ParseCloudEventsLayer`](crate::ParseCloudEventsLayer) put into the request
//! extensions and claims its events
//! ([`DedupPolicy::claim`](hookgate_core::dedup::DedupPolicy::claim)): the handler
//! sees each event once (a batch is filtered to its new events, which the
//! `CloudEvents` extractor then takes); all duplicates are answered 200 without the
//! handler; an event in flight elsewhere is answered 429 with `Retry-After`; a
//! failed store 503 with `Retry-After`. A 2xx answer completes the claims; any other
//! answer, an error, a panic or a dropped request releases them, so the sender's
//! retry is handled. See [`hookgate_core::dedup`].
//!
//! Put it inside the parse layer (added before it with `Router::layer`, so that the
//! parse layer runs first), or use the one [`WebhookLayer`](crate::WebhookLayer),
//! which cannot be misordered. A CloudEvents request that arrives without a parsed
//! delivery is passed on, not deduplicated, with a warning logged once
//! ([`DedupPolicy::unparsed`](hookgate_core::dedup::DedupPolicy::unparsed)). A
//! handler that reads the raw body still sees every event: use the extractors.
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

use hookgate_core::auth::Identity;
use hookgate_core::dedup::{ClaimOutcome, DedupPolicy};
use hookgate_core::{Delivery, Reply};
use http::{Request, Response};
use tower_service::Service;

use crate::body::Body;
use crate::headers::HttpHeaders;
use crate::problem::{problem_response, reply_response};

pub use crate::future::ResponseFuture;

layer! {
    /// Applies [`Dedup`] to a service; see the [module docs](self).
    DedupLayer,
    /// Middleware that deduplicates parsed deliveries by `(source, id)`; see the
    /// [module docs](self).
    Dedup { policy: DedupPolicy }
}

service!(Dedup, policy, call);

#[expect(
    clippy::manual_async_fn,
    reason = "an `async fn` future would hold a second copy of its arguments"
)]
fn call<S, B, ResBody>(
    policy: DedupPolicy,
    mut inner: S,
    mut request: Request<B>,
) -> impl Future<Output = Result<Response<Body<ResBody>>, S::Error>>
where
    S: Service<Request<Body<B>>, Response = Response<ResBody>>,
{
    // An `async` block, not an `async fn`: the future keeps the arguments once,
    // where an `async fn` would also keep a moved copy of each.
    async move {
        let Some(mut delivery) = request.extensions_mut().remove::<Delivery>() else {
            policy.unparsed(request.method().as_str(), &HttpHeaders(request.headers()));
            return Ok(inner.call(request.map(Body::inner)).await?.map(Body::inner));
        };
        // Scoped by the caller the authentication layer (if any) put on the request.
        let claim = policy.claim_for(request.extensions().get::<Identity>(), &mut delivery);
        match claim.await {
            Err(error) => Ok(problem_response(&error.problem()).map(Body::full)),
            Ok(ClaimOutcome::AllDuplicates) => Ok(reply_response(&Reply::new(200)).map(Body::full)),
            Ok(ClaimOutcome::Handle(guard)) => {
                // For a router that settles each event as its handler ends.
                delivery.set_claims(guard.event_claims());
                request.extensions_mut().insert(delivery);
                // An error, a panic or a drop here drops the guard: released.
                let response = inner.call(request.map(Body::inner)).await?;
                guard.finish(response.status().as_u16()).await;
                Ok(response.map(Body::inner))
            }
        }
    }
}
