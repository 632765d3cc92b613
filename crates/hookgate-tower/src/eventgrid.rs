//! The Azure Event Grid [`Delivery`] extractor: the `aeg-*` delivery headers.
//!
//! `Delivery` derefs to the core's
//! [`EventGridDelivery`] (its table
//! lists the headers): each field is `None` when its header is absent, and a
//! malformed header is a 400 problem+json ([`DeliveryRejection`]).
//! `Option<Delivery>` is `None` when the request carries no `aeg-*` header at all
//! (it did not come from Event Grid), and still rejects a malformed one. It is a
//! `FromRequestParts`, so it also serves as the context of an
//! [`EventRouter`](hookgate_core::route::EventRouter) (see
//! [`EventRoutes`](crate::EventRoutes)).
//!
//! ```
//! use axum::{Router, body::Body, routing::post};
//! use hookgate_tower::CloudEvents;
//! use hookgate_tower::eventgrid::Delivery;
//! use tower::ServiceExt as _;
//!
//! async fn handle(delivery: Option<Delivery>, CloudEvents(events): CloudEvents) -> String {
//!     let attempt = delivery.and_then(|d| d.delivery_count());
//!     format!("{} events, attempt {attempt:?}", events.len())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let app = Router::new().route("/api/events", post(handle));
//! let request = |count: &str| {
//!     http::Request::post("/api/events")
//!         .header("content-type", "application/cloudevents-batch+json")
//!         .header("aeg-delivery-count", count)
//!         .body(Body::from(r#"[{"specversion":"1.0","id":"1","source":"/s","type":"t"}]"#))
//! };
//! assert_eq!(app.clone().oneshot(request("1")?).await?.status(), 200);
//! assert_eq!(app.oneshot(request("one")?).await?.status(), 400);
//! # Ok(()) }
//! ```

use std::ops::Deref;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use hookgate_core::eventgrid::EventGridDelivery;
use http::request::Parts;

use crate::headers::HttpHeaders;

/// Extracts Event Grid's delivery headers; see the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivery(pub EventGridDelivery);

rejection! {
    /// The rejection of [`Delivery`]: a 400 problem+json naming the malformed header.
    DeliveryRejection
}

impl<S: Send + Sync> FromRequestParts<S> for Delivery {
    type Rejection = DeliveryRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(EventGridDelivery::from_headers(&HttpHeaders(
            &parts.headers,
        ))?))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Delivery {
    type Rejection = DeliveryRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        let delivery = EventGridDelivery::from_headers(&HttpHeaders(&parts.headers))?;
        Ok(delivery.is_present().then_some(Self(delivery)))
    }
}

impl Deref for Delivery {
    type Target = EventGridDelivery;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
