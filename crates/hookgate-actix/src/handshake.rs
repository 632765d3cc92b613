//! The webhook validation handshake as actix-web middleware.
//!
//! [`Handshake`] answers the CloudEvents validation handshake (`OPTIONS` with
//! `WebHook-Request-Origin`) as a [`HandshakePolicy`] decides — a grant, a 403
//! refusal, a grant by callback, Event Grid's `SubscriptionValidation` POST when
//! enabled — and passes everything else, a CORS preflight included, to the inner
//! service. See [`hookgate_core::handshake`] for the decisions. This mirrors
//! `HandshakeLayer` of `hookgate-tower`.
//!
//! Wrap the app (or the scope) with it, *after* an authentication middleware so that
//! it runs first: the handshake is answered before authentication, as senders do not
//! all authenticate it. A callback confirmation is sent from a task spawned on the
//! actix runtime.
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

use std::future::ready;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, forward_ready};
use actix_web::{Error as ActixError, HttpMessage as _};
use futures_util::future::LocalBoxFuture;
use hookgate_core::handshake::{
    Decision, HandshakePolicy, VALIDATION_BODY_LIMIT, unreadable_validation_body,
};
use hookgate_core::{ParseConfig, Reply};

use crate::body::read_bounded;
use crate::headers::ActixHeaders;
use crate::problem::reply_response;

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

middleware!(Handshake => HandshakeMiddleware { policy: HandshakePolicy });

/// Reads the validation request's body (bounded) and answers it.
async fn event_grid(policy: &HandshakePolicy, req: &mut ServiceRequest) -> Reply {
    let limit = ParseConfig::builder()
        .body_limit(VALIDATION_BODY_LIMIT)
        .build()
        .unwrap_or_default();
    let answer = match read_bounded(req.take_payload(), &limit).await {
        Ok(body) => policy.event_grid_validation(&body),
        Err(_) => Err(unreadable_validation_body()),
    };
    answer.unwrap_or_else(|error| Reply::from(error.problem()))
}

impl<S, B> Service<ServiceRequest> for HandshakeMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = ActixError> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = ActixError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let decision = self
            .policy
            .decide(req.method().as_str(), &ActixHeaders(req.headers()));
        let answer = |req: ServiceRequest, reply: &Reply| {
            Ok(req
                .into_response(reply_response(reply))
                .map_into_right_body())
        };
        match decision {
            Decision::Reply(reply) => Box::pin(ready(answer(req, &reply))),
            Decision::Callback(pending) => Box::pin(async move {
                let (reply, confirmation) = pending.answer().await;
                if let Some(confirmation) = confirmation {
                    actix_web::rt::spawn(async move {
                        // The outcome is traced by `run`; nobody waits for it.
                        let _ = confirmation.run().await;
                    });
                }
                answer(req, &reply)
            }),
            Decision::EventGridValidation => {
                let policy = self.policy.clone();
                Box::pin(async move {
                    let reply = event_grid(&policy, &mut req).await;
                    answer(req, &reply)
                })
            }
            _ => {
                let service = Rc::clone(&self.service);
                Box::pin(async move { Ok(service.call(req).await?.map_into_left_body()) })
            }
        }
    }
}
