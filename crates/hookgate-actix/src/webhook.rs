//! The whole stack as one actix-web middleware: handshake, authentication, parsing,
//! deduplication, in the only correct order.
//!
//! [`Webhook`] applies a [`WebhookPolicy`] (see [`hookgate_core::webhook`]) in one
//! service call: the core runs the steps
//! ([`WebhookPolicy::admit`](hookgate_core::webhook::WebhookPolicy::admit)); this
//! middleware puts the [`Identity`](hookgate_core::auth::Identity) and the
//! [`Delivery`](hookgate_core::Delivery) into the request extensions (where the
//! extractors find them), hands the body on, calls the inner service and finishes
//! with its status (dedup claims completed on a 2xx, released otherwise;
//! `Cache-Control: private` when the secret came in the URL). This mirrors
//! `WebhookLayer` of `hookgate-tower`: the same policy value serves both.
//!
//! The middleware also puts the [`WebhookPolicy`] into the request extensions: the
//! extractors read their limits from it (the policy's
//! [`extractor_config`](WebhookPolicy::extractor_config) and
//! [`webpubsub_limits`](WebhookPolicy::webpubsub_limits)), so no
//! `app_data(ParseConfig)` or `app_data(policy.limits())` is needed (those are
//! deprecated, and still read when no such middleware ran). A refusal before the
//! payload is read drains it or closes the connection, as
//! [`settle_refusal`] says.
//!
//! Each request runs in the delivery span the core opens
//! ([`WebhookPolicy::span`]), the handler in the event's `process` span when the
//! delivery holds one event ([`Admitted::handler_span`](hookgate_core::webhook::Admitted::handler_span));
//! the fields, the parenting (an outer span, else the `traceparent` with the `otel`
//! feature) and the metrics (feature `metrics`) are described in
//! [`hookgate_core::observe`]. This middleware only enters them.
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::{CloudEvents, Webhook};
//! use hookgate_core::auth::{AuthPolicy, SharedSecrets};
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_core::handshake::HandshakePolicy;
//! use hookgate_core::WebhookPolicy;
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let webhook = WebhookPolicy::builder()
//!     .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!     .auth(AuthPolicy::builder().shared_secrets(SharedSecrets::new(["s3cret"])?).build()?)
//!     .dedup(DedupPolicy::builder().build()?)
//!     .build()?;
//! let app = test::init_service(
//!     App::new().wrap(Webhook::new(webhook)).route(
//!         "/api/events",
//!         web::post().to(|CloudEvents(events): CloudEvents| async move {
//!             format!("{} new", events.len())
//!         }),
//!     ),
//! )
//! .await;
//! let event = || {
//!     test::TestRequest::post()
//!         .uri("/api/events?code=s3cret")
//!         .insert_header(("ce-specversion", "1.0"))
//!         .insert_header(("ce-id", "42"))
//!         .insert_header(("ce-source", "/test"))
//!         .insert_header(("ce-type", "t"))
//!         .to_request()
//! };
//! let first = test::call_service(&app, event()).await;
//! assert_eq!(first.status(), 200);
//! assert_eq!(first.headers().get("cache-control").unwrap(), "private");
//! // A duplicate: answered without the handler.
//! assert_eq!(test::call_service(&app, event()).await.status(), 200);
//! # Ok(()) }
//! ```

use std::rc::Rc;

use actix_web::HttpMessage as _;
use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use hookgate_core::Problem;
use hookgate_core::observe::Outcome;
use hookgate_core::request::settle_refusal;
use hookgate_core::webhook::{Admission, HandlerAnswer, WebhookPolicy};
use tracing::Instrument as _;

use crate::headers::set_headers;
use crate::middleware::answer;
use crate::problem::reply_response;
use crate::request::ActixRequest;

/// Middleware factory that runs the whole webhook stack; see the
/// [module docs](self).
#[derive(Clone, Debug)]
pub struct Webhook {
    policy: WebhookPolicy,
}

impl Webhook {
    /// Middleware that runs the stack `policy` describes.
    #[must_use]
    pub fn new(policy: WebhookPolicy) -> Self {
        Self { policy }
    }
}

middleware!(Webhook => WebhookMiddleware { policy: WebhookPolicy }, call);

fn call<S, B>(
    policy: WebhookPolicy,
    service: Rc<S>,
    mut request: ServiceRequest,
) -> impl Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    // The delivery's span: every step and the handler run in it.
    let span = {
        let (head, payload) = request.parts_mut();
        policy.span(&ActixRequest::new(head, payload))
    };
    serve(policy, service, request).instrument(span)
}

async fn serve<S, B>(
    policy: WebhookPolicy,
    service: Rc<S>,
    mut request: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let mut admitted = match admit(&policy, &mut request).await {
        Admission::Reply(reply) => return answer(request, reply_response(&reply)),
        Admission::Forward(admitted) => admitted,
    };
    {
        let mut extensions = request.extensions_mut();
        // The extractors' limits (one `Arc`): no `app_data` of their own needed.
        extensions.insert(admitted.policy().clone());
        if let Some(identity) = admitted.take_identity() {
            extensions.insert(identity);
        }
        if let Some(delivery) = admitted.take_delivery() {
            extensions.insert(delivery);
        }
    }
    if let Some(body) = admitted.take_body() {
        request.set_payload(body.into());
    }
    let handler_span = admitted.handler_span();
    // An error, a panic or a drop here drops `admitted`: its claims are released.
    let mut response = service.call(request).instrument(handler_span).await?;
    // `finish` reads the answer before its future starts: nothing of it is held
    // across the store's await.
    let finish = {
        let extensions = response.response().extensions();
        let head = response.request();
        admitted.finish(HandlerAnswer {
            status: response.status().as_u16(),
            problem: extensions.get::<Problem>(),
            method: head.method().as_str(),
            path: head.path(),
            outcome: extensions.get::<Outcome>().copied(),
        })
    };
    let finished = finish.await;
    set_headers(response.headers_mut(), finished.headers());
    Ok(response.map_into_left_body())
}

/// [`WebhookPolicy::admit`] on an actix-web request, and a refusal's unread body
/// drained (or the connection closed: a boxed future, built only then). A
/// function of its own, so that the admission is not a local of `call`, kept in
/// its future beside `admitted`.
async fn admit(policy: &WebhookPolicy, request: &mut ServiceRequest) -> Admission {
    let (head, payload) = request.parts_mut();
    let mut request = ActixRequest::new(head, payload);
    // Awaited after the `match`: the future does not also keep the admission.
    let settle = match policy.admit(&mut request).await {
        Admission::Reply(reply) => settle_refusal(&mut request, reply),
        forward @ Admission::Forward(_) => return forward,
    };
    Admission::Reply(settle.await)
}
