//! Parse once: middleware that reads and parses CloudEvents before the handler runs.
//!
//! [`ParseCloudEvents`] reads the body of every `POST`, `PUT` and `PATCH` request
//! (within [`ParseConfig::body_limit`]), parses it, and
//!
//! - on success puts the [`Delivery`](hookgate_core::Delivery) into the request extensions and passes the
//!   request on with the same bytes as its payload, so the extractors (and any
//!   middleware behind, such as deduplication) take the parsed events without parsing
//!   again;
//! - on failure answers the `application/problem+json` rejection itself; the inner
//!   service is not called.
//!
//! Other methods (`GET`, `OPTIONS` for the validation handshake, …) pass through
//! untouched. The sequence (mode, `Content-Length`, bounded read, parse) is the
//! core's [`read_delivery`]. This mirrors `ParseCloudEventsLayer` of
//! `hookgate-tower`.
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

use actix_web::HttpMessage as _;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use hookgate_core::binding::{carries_events, read_delivery};
use hookgate_core::{ParseConfig, Reply};

use crate::middleware::{forward, refuse};
use crate::request::ActixRequest;

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

middleware!(ParseCloudEvents => ParseCloudEventsMiddleware { config: ParseConfig }, call);

async fn call<S, B>(
    config: ParseConfig,
    service: Rc<S>,
    mut request: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    if !carries_events(request.method().as_str()) {
        return forward(&*service, request).await;
    }
    // A refusal leaves the block; a payload left unread (a 415, a 413 from
    // `Content-Length`) is drained after it, so that the future does not also keep
    // the read's result.
    let reply = 'refused: {
        let (delivery, body) = {
            let (head, payload) = request.parts_mut();
            match read_delivery(&mut ActixRequest::new(head, payload), &config).await {
                Ok(read) => read,
                Err(error) => break 'refused Reply::from(error.problem()),
            }
        };
        request.extensions_mut().insert(delivery);
        request.set_payload(body.into());
        return forward(&*service, request).await;
    };
    refuse(request, reply).await
}
