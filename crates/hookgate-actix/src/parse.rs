//! Parse once: middleware that reads and parses CloudEvents before the handler runs.
//!
//! [`ParseCloudEvents`] reads the body of every `POST`, `PUT` and `PATCH` request
//! (within [`ParseConfig::body_limit`]), parses it, and
//!
//! - on success puts the [`Delivery`] into the request extensions and passes the
//!   request on with the same bytes as its payload, so the extractors (and any
//!   middleware behind, such as deduplication) take the parsed events without parsing
//!   again;
//! - on failure answers the `application/problem+json` rejection itself; the inner
//!   service is not called.
//!
//! Other methods (`GET`, `OPTIONS` for the validation handshake, …) pass through
//! untouched. This mirrors `ParseCloudEventsLayer` of `hookgate-tower`.
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use hookgate_actix::{CloudEvent, ParseCloudEvents};
//!
//! async fn handle(CloudEvent(event): CloudEvent) -> HttpResponse {
//!     println!("{}", event.id());
//!     HttpResponse::Ok().finish()
//! }
//!
//! let app = App::new()
//!     .wrap(ParseCloudEvents::default())
//!     .route("/api/events", web::post().to(handle));
//! ```

use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, forward_ready};
use actix_web::http::Method;
use actix_web::{Error as ActixError, HttpMessage as _};
use futures_util::future::LocalBoxFuture;
use hookgate_core::{Delivery, Error, ParseConfig};

use crate::body::read_bounded;
use crate::headers::ActixHeaders;
use crate::problem::problem_response;

/// Middleware factory that parses CloudEvents once; see the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct ParseCloudEvents {
    config: ParseConfig,
}

impl ParseCloudEvents {
    /// Middleware that parses with `config`.
    #[must_use]
    pub fn new(config: ParseConfig) -> Self {
        Self { config }
    }
}

middleware!(ParseCloudEvents => ParseCloudEventsMiddleware { config: ParseConfig });

/// Whether requests of `method` carry events.
fn carries_events(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

/// Reads and parses the request's payload; the bytes go back into the request.
async fn parse_request(req: &mut ServiceRequest, config: &ParseConfig) -> Result<Delivery, Error> {
    let mode = {
        let headers = ActixHeaders(req.headers());
        let mode = hookgate_core::detect_mode(&headers)?;
        config.check_content_length(&headers)?;
        mode
    };
    let bytes = read_bounded(req.take_payload(), config).await?;
    req.set_payload(bytes.clone().into());
    hookgate_core::parse_with_mode(mode, &ActixHeaders(req.headers()), bytes, config)
}

impl<S, B> Service<ServiceRequest> for ParseCloudEventsMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ActixError> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ActixError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        if !carries_events(req.method()) {
            return Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) });
        }
        let config = self.config.clone();
        Box::pin(async move {
            match parse_request(&mut req, &config).await {
                Ok(delivery) => {
                    req.extensions_mut().insert(delivery);
                    Ok(service.call(req).await?.map_into_left_body())
                }
                Err(error) => Ok(req
                    .into_response(problem_response(&error.problem()))
                    .map_into_right_body()),
            }
        })
    }
}
