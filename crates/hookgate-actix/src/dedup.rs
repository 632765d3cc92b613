//! Deduplication by `(source, id)` as actix-web middleware.
//!
//! [`Dedup`] takes the [`Delivery`] that
//! [`ParseCloudEvents`](crate::ParseCloudEvents) put into the request extensions and
//! claims its events ([`DedupPolicy::claim`](hookgate_core::dedup::DedupPolicy::claim)): the handler
//! sees each event once (a batch is filtered to its new events, which the
//! `CloudEvents` extractor then takes); all duplicates are answered 200 without the
//! handler; an event in flight elsewhere is answered 429 with `Retry-After`; a failed
//! store 503 with `Retry-After`. A 2xx answer completes the claims; any other answer,
//! an error, a panic or a dropped request releases them, so the sender's retry is
//! handled. See [`hookgate_core::dedup`]. This mirrors `DedupLayer` of
//! `hookgate-tower`.
//!
//! Wrap it before `ParseCloudEvents` (the last `wrap` runs first), or use the one
//! [`Webhook`](crate::Webhook), which cannot be misordered. A CloudEvents request
//! that arrives without a parsed delivery is passed on, not deduplicated, with a
//! warning logged once
//! ([`DedupPolicy::unparsed`](hookgate_core::dedup::DedupPolicy::unparsed)).
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::{CloudEvent, Dedup, ParseCloudEvents};
//! use hookgate_core::dedup::DedupPolicy;
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = test::init_service(
//!     App::new()
//!         .wrap(Dedup::new(DedupPolicy::builder().build()?))
//!         .wrap(ParseCloudEvents::default())
//!         .route("/api/events", web::post().to(|CloudEvent(e): CloudEvent| async move { e.id().to_owned() })),
//! )
//! .await;
//! let event = || {
//!     test::TestRequest::post()
//!         .uri("/api/events")
//!         .insert_header(("ce-specversion", "1.0"))
//!         .insert_header(("ce-id", "42"))
//!         .insert_header(("ce-source", "/test"))
//!         .insert_header(("ce-type", "t"))
//!         .to_request()
//! };
//! assert_eq!(test::call_service(&app, event()).await.status(), 200);
//! // The second delivery is answered without the handler.
//! assert_eq!(test::call_service(&app, event()).await.status(), 200);
//! # Ok(()) }
//! ```

use std::rc::Rc;

use actix_web::HttpMessage as _;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use hookgate_core::auth::Identity;
use hookgate_core::dedup::{ClaimOutcome, DedupPolicy};
use hookgate_core::{Delivery, Reply};

use crate::headers::ActixHeaders;
use crate::middleware::{answer, forward};
use crate::problem::{problem_response, reply_response};

/// Middleware factory that deduplicates parsed deliveries; see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Dedup {
    policy: DedupPolicy,
}

impl Dedup {
    /// Middleware that deduplicates as `policy` says.
    #[must_use]
    pub fn new(policy: DedupPolicy) -> Self {
        Self { policy }
    }
}

middleware!(Dedup => DedupMiddleware { policy: DedupPolicy }, call);

async fn call<S, B>(
    policy: DedupPolicy,
    service: Rc<S>,
    request: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let parsed = request.extensions_mut().remove::<Delivery>();
    let Some(mut delivery) = parsed else {
        policy.unparsed(request.method().as_str(), &ActixHeaders(request.headers()));
        return forward(&*service, request).await;
    };
    // Scoped by the caller the authentication layer (if any) put on the request.
    let claim = policy.claim_for(request.extensions().get::<Identity>(), &mut delivery);
    match claim.await {
        Err(error) => answer(request, problem_response(&error.problem())),
        Ok(ClaimOutcome::AllDuplicates) => answer(request, reply_response(&Reply::new(200))),
        Ok(ClaimOutcome::Handle(guard)) => {
            // For a router that settles each event as its handler ends.
            delivery.set_claims(guard.event_claims());
            request.extensions_mut().insert(delivery);
            // An error, a panic or a drop here drops the guard: released.
            let response = service.call(request).await?;
            guard.finish(response.status().as_u16()).await;
            Ok(response.map_into_left_body())
        }
    }
}
