//! Deduplication by `(source, id)` as actix-web middleware.
//!
//! [`Dedup`] takes the [`Delivery`] that
//! [`ParseCloudEvents`](crate::ParseCloudEvents) put into the request extensions and
//! runs [`DedupPolicy::begin`](hookgate_core::dedup::DedupPolicy::begin): the handler
//! sees each event once (a batch is filtered to its new events, which the
//! `CloudEvents` extractor then takes); all duplicates are answered 200 without the
//! handler; an event in flight elsewhere is answered 429 with `Retry-After`; a failed
//! store 503 with `Retry-After`. A 2xx answer completes the claims; any other answer,
//! an error, a panic or a dropped request releases them, so the sender's retry is
//! handled. See [`hookgate_core::dedup`]. This mirrors `DedupLayer` of
//! `hookgate-tower`.
//!
//! Wrap it before `ParseCloudEvents` (the last `wrap` runs first). A request without
//! a parsed delivery passes through.
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

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, forward_ready};
use actix_web::{Error as ActixError, HttpMessage as _};
use futures_util::future::LocalBoxFuture;
use hookgate_core::dedup::{Begin, DedupPolicy};
use hookgate_core::{Delivery, Reply};

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

middleware!(Dedup => DedupMiddleware { policy: DedupPolicy });

impl<S, B> Service<ServiceRequest> for DedupMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ActixError> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ActixError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let policy = self.policy.clone();
        Box::pin(async move {
            // No parsed delivery (not a CloudEvents request, or no parse middleware in
            // front): nothing to deduplicate.
            let delivery = req.extensions_mut().remove::<Delivery>();
            let Some(mut delivery) = delivery else {
                return Ok(service.call(req).await?.map_into_left_body());
            };
            match policy.begin(&mut delivery).await {
                Err(error) => Ok(req
                    .into_response(problem_response(&error.problem()))
                    .map_into_right_body()),
                Ok(Begin::Handle(guard)) => {
                    req.extensions_mut().insert(delivery);
                    // An error, a panic or a drop here drops the guard: released.
                    let response = service.call(req).await?;
                    guard.finish(response.status().is_success()).await;
                    Ok(response.map_into_left_body())
                }
                Ok(_) => Ok(req
                    .into_response(reply_response(&Reply::new(200)))
                    .map_into_right_body()),
            }
        })
    }
}
