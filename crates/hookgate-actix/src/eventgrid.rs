//! The Azure Event Grid [`Delivery`] extractor: the `aeg-*` delivery headers.
//!
//! `Delivery` derefs to the core's
//! [`EventGridDelivery`] (its table
//! lists the headers): each field is `None` when its header is absent, and a
//! malformed header is a 400 problem+json ([`DeliveryRejection`]), the same as the
//! axum extractor. It reads only the request head, so it also serves as the context
//! of an [`EventRouter`](hookgate_core::route::EventRouter) (see
//! [`EventRoutes`](crate::EventRoutes)).
//!
//! **Optional form.** actix-web's `Option<Delivery>` would turn a malformed header
//! into `None`; [`is_present`](hookgate_core::eventgrid::EventGridDelivery::is_present)
//! tells a request without any `aeg-*` header, and
//! `Result<Delivery, DeliveryRejection>` lets a handler see a malformed one itself.
//!
//! ```
//! use actix_web::{App, test, web};
//! use hookgate_actix::CloudEvents;
//! use hookgate_actix::eventgrid::Delivery;
//!
//! async fn handle(delivery: Delivery, CloudEvents(events): CloudEvents) -> String {
//!     format!("{} events, attempt {:?}", events.len(), delivery.delivery_count())
//! }
//!
//! # #[actix_web::main]
//! # async fn main() {
//! let app = test::init_service(App::new().route("/api/events", web::post().to(handle))).await;
//! let request = |count: &str| {
//!     test::TestRequest::post()
//!         .uri("/api/events")
//!         .insert_header(("content-type", "application/cloudevents-batch+json"))
//!         .insert_header(("aeg-delivery-count", count))
//!         .set_payload(r#"[{"specversion":"1.0","id":"1","source":"/s","type":"t"}]"#)
//!         .to_request()
//! };
//! assert_eq!(test::call_service(&app, request("1")).await.status(), 200);
//! assert_eq!(test::call_service(&app, request("one")).await.status(), 400);
//! # }
//! ```

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use hookgate_core::eventgrid::EventGridDelivery;

use crate::headers::ActixHeaders;

/// Extracts Event Grid's delivery headers; see the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery(pub EventGridDelivery);

rejection! {
    /// The rejection of [`Delivery`]: a 400 problem+json naming the malformed header.
    DeliveryRejection
}

impl FromRequest for Delivery {
    type Error = DeliveryRejection;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            EventGridDelivery::from_headers(&ActixHeaders(req.headers()))
                .map(Self)
                .map_err(DeliveryRejection::from),
        )
    }
}

impl Deref for Delivery {
    type Target = EventGridDelivery;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
