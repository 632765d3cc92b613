//! The webhook validation handshake as actix-web middleware.
//!
//! [`Handshake`] answers the CloudEvents validation handshake (`OPTIONS` with
//! `WebHook-Request-Origin`) as a [`HandshakePolicy`] decides — a grant, a 403
//! refusal, a grant by callback, Event Grid's `SubscriptionValidation` POST when
//! enabled — and passes everything else, a CORS preflight included, to the inner
//! service. The core carries the decision out
//! ([`HandshakePolicy::respond`]); this middleware turns its reply into a response.
//! This mirrors `HandshakeLayer` of `hookgate-tower`.
//!
//! Alone, wrap the app (or the scope) with it *after* an authentication middleware so
//! that it runs first: the handshake is answered before authentication, as senders do
//! not all authenticate it. Or use the one [`Webhook`](crate::Webhook), which orders
//! the parts itself. A callback confirmation is sent from a task spawned on the
//! runtime.
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use hookgate_actix::Handshake;
//! use hookgate_core::handshake::HandshakePolicy;
//!
//! # #[actix_web::main]
//! # async fn main() {
//! let policy = HandshakePolicy::builder().azure_event_grid().build().unwrap();
//! let app = test::init_service(
//!     App::new()
//!         .wrap(Handshake::new(policy))
//!         .route("/api/events", web::post().to(HttpResponse::Ok)),
//! )
//! .await;
//! let request = test::TestRequest::default()
//!     .method(actix_web::http::Method::OPTIONS)
//!     .uri("/api/events")
//!     .insert_header(("WebHook-Request-Origin", "eventgrid.azure.net"))
//!     .to_request();
//! let response = test::call_service(&app, request).await;
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.headers().get("webhook-allowed-origin").unwrap(), "eventgrid.azure.net");
//! assert_eq!(response.headers().get("webhook-allowed-rate").unwrap(), "*");
//! # }
//! ```

use std::rc::Rc;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use hookgate_core::handshake::HandshakePolicy;

use crate::middleware::{answer, forward};
use crate::problem::reply_response;
use crate::request::ActixRequest;

/// Middleware factory that answers the webhook validation handshake; see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Handshake {
    policy: HandshakePolicy,
}

impl Handshake {
    /// Middleware that answers handshakes as `policy` says.
    #[must_use]
    pub fn new(policy: HandshakePolicy) -> Self {
        Self { policy }
    }
}

middleware!(Handshake => HandshakeMiddleware { policy: HandshakePolicy }, call);

async fn call<S, B>(
    policy: HandshakePolicy,
    service: Rc<S>,
    mut request: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let reply = {
        let (head, payload) = request.parts_mut();
        policy.respond(&mut ActixRequest::new(head, payload)).await
    };
    match reply {
        Some(reply) => answer(request, reply_response(&reply)),
        None => forward(&*service, request).await,
    }
}
