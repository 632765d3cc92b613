//! Routing events by `type` and `subject` to typed handlers, as an actix-web route.
//!
//! [`EventRoutes`] serves an [`EventRouter`] (see [`hookgate_core::route`] for the
//! routes, their precedence, and what each event's outcome does):
//! [`route`](EventRoutes::route) gives a `POST` [`Route`] for `App::route` or a
//! `Scope`, [`resource`](EventRoutes::resource) a [`Resource`] at a path, both
//! behind the [`Webhook`](crate::Webhook) middleware (or the parse and dedup
//! middleware). It takes the parsed [`Delivery`] from the request extensions (or
//! parses the payload itself, within the limits of the `Webhook` middleware's
//! policy, else the [`ParseConfig`] of `app_data`, else the default), extracts the router's context `C` from the request head (any
//! `FromRequest` that does not read the payload; `()` for none), and answers with
//! the core's reply: 200 when every event was handled, else a problem+json whose
//! status says whether the sender retries. Each event's dedup claim is completed or
//! released as its handler ends, so a retried batch runs only the events that
//! failed. This mirrors `EventRoutes` of `hookgate-tower`: the same [`EventRouter`]
//! value serves both.
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::eventgrid::Delivery;
//! use hookgate_actix::{EventRoutes, Webhook};
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_core::handshake::HandshakePolicy;
//! use hookgate_core::route::{EventRouter, HandlerError};
//! use hookgate_core::{CloudEvent, WebhookPolicy};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { #[serde(rename = "orderId")] order_id: String }
//!
//! # #[actix_web::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = EventRouter::<Delivery>::builder()
//!     .on("com.example.order.created", |event: CloudEvent<Order>, delivery: Delivery| async move {
//!         println!("order {} (attempt {:?})", event.data.order_id, delivery.delivery_count());
//!         Ok::<_, HandlerError>(())
//!     })
//!     .build()?;
//! let webhook = WebhookPolicy::builder()
//!     .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!     .dedup(DedupPolicy::builder().build()?)
//!     .build()?;
//! let app = test::init_service(
//!     App::new()
//!         .wrap(Webhook::new(webhook))
//!         .service(web::scope("/api").route("/events", EventRoutes::new(router).route())),
//! )
//! .await;
//! let request = test::TestRequest::post()
//!     .uri("/api/events")
//!     .insert_header(("content-type", "application/cloudevents+json"))
//!     .insert_header(("aeg-delivery-count", "0"))
//!     .set_payload(r#"{"specversion":"1.0","id":"1","source":"/shop","type":"com.example.order.created","data":{"orderId":"7"}}"#)
//!     .to_request();
//! assert_eq!(test::call_service(&app, request).await.status(), 200);
//! # Ok(()) }
//! ```

use std::fmt;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, Resource, Route, web};
use hookgate_core::binding::read_delivery;
use hookgate_core::route::EventRouter;
use hookgate_core::webhook::extractor_config;
use hookgate_core::{Delivery, ParseConfig, WebhookPolicy};

use crate::problem::{problem_response, reply_response};
use crate::request::ActixRequest;

/// An actix-web endpoint that routes each event of a request to its handler; see
/// the [module docs](self).
pub struct EventRoutes<C = ()> {
    router: EventRouter<C>,
}

impl<C> EventRoutes<C> {
    /// The endpoint of `router`.
    #[must_use]
    pub fn new(router: EventRouter<C>) -> Self {
        Self { router }
    }

    /// The router.
    #[must_use]
    pub fn router(&self) -> &EventRouter<C> {
        &self.router
    }
}

impl<C> Clone for EventRoutes<C> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
        }
    }
}

impl<C> fmt::Debug for EventRoutes<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRoutes")
            .field("router", &self.router)
            .finish()
    }
}

impl<C> EventRoutes<C>
where
    C: FromRequest + Clone + Send + 'static,
{
    /// A `POST` route: `App::new().route("/api/events", routes.route())`.
    #[must_use]
    pub fn route(self) -> Route {
        let router = self.router;
        web::post().to(move |request: HttpRequest, payload: web::Payload| {
            let router = router.clone();
            async move { dispatch(router, request, payload.into_inner()).await }
        })
    }

    /// A resource at `path` that takes `POST`:
    /// `App::new().service(routes.resource("/api/events"))`.
    #[must_use]
    pub fn resource(self, path: &str) -> Resource {
        web::resource(path).route(self.route())
    }
}

async fn dispatch<C>(
    router: EventRouter<C>,
    request: HttpRequest,
    mut payload: Payload,
) -> HttpResponse
where
    C: FromRequest + Clone + Send + 'static,
{
    let context = match C::from_request(&request, &mut Payload::None).await {
        Ok(context) => context,
        Err(error) => {
            let error: actix_web::Error = error.into();
            return error.error_response();
        }
    };
    let parsed = request.extensions_mut().remove::<Delivery>();
    let delivery = match parsed {
        Some(delivery) => delivery,
        None => {
            let config = extractor_config(
                request.extensions().get::<WebhookPolicy>(),
                request.app_data::<ParseConfig>(),
            );
            match read_delivery(&mut ActixRequest::new(&request, &mut payload), &config).await {
                Ok((delivery, _)) => delivery,
                Err(error) => return problem_response(&error.problem()),
            }
        }
    };
    reply_response(&router.dispatch(delivery, context).await)
}
