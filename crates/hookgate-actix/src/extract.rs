//! actix-web extractors: [`CloudEvent<T>`] and [`CloudEvents<T>`], and their optional
//! forms [`OptionalCloudEvent<T>`] and [`OptionalCloudEvents<T>`].
//!
//! - `CloudEvent<T>` takes exactly one event (a batch of one is accepted) and
//!   deserializes its data into `T`; `CloudEvent` alone (`CloudEvent<Data>`) is the
//!   untyped form that keeps the data as raw JSON or bytes.
//! - `CloudEvents<T>` takes a batch, or a single event as a batch of one.
//!
//! When the [`Webhook`](crate::Webhook) or [`ParseCloudEvents`](crate::ParseCloudEvents)
//! middleware ran, the extractors take its [`Delivery`] from the request extensions
//! and parse nothing. Otherwise they read the payload themselves, within the limits
//! of the [`WebhookPolicy`] a `Webhook` middleware put into the request extensions
//! ([`WebhookPolicy::extractor_config`]), else of a [`ParseConfig`] registered with
//! `App::app_data(config)` (deprecated, still read), else the default 1 MiB.
//!
//! Rejections are [`CloudEventRejection`]s: an `application/problem+json` response
//! with a 4xx status, the same bodies as the axum adapter.
//!
//! **Optional form.** actix-web's own `Option<T>` extractor (a blanket impl that
//! hookgate cannot override) turns *every* failure into `None`, a malformed event
//! included: `Option<CloudEvent<T>>` takes a broken delivery for "no event". Take
//! [`OptionalCloudEvent<T>`] / [`OptionalCloudEvents<T>`] instead: `None` only for a
//! request that carries no event ([`carries_no_event`]: a method other than `POST`,
//! `PUT`, `PATCH`, or no `ce-specversion`, no `Content-Type` and an empty body), and
//! any other request that is not a good delivery refused with the same 4xx as the
//! plain extractor. axum's `Option<CloudEvent<T>>` in hookgate-tower behaves the
//! same.
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use hookgate_actix::OptionalCloudEvent;
//!
//! # #[actix_web::main]
//! # async fn main() {
//! let app = test::init_service(App::new().route(
//!     "/events",
//!     web::post().to(|OptionalCloudEvent(event): OptionalCloudEvent| async move {
//!         match event {
//!             Some(event) => HttpResponse::Ok().body(event.id().to_owned()),
//!             None => HttpResponse::NoContent().finish(),
//!         }
//!     }),
//! ))
//! .await;
//! let empty = test::TestRequest::post().uri("/events").to_request();
//! assert_eq!(test::call_service(&app, empty).await.status(), 204);
//! let broken = test::TestRequest::post()
//!     .uri("/events")
//!     .insert_header(("ce-specversion", "1.0"))
//!     .to_request();
//! assert_eq!(test::call_service(&app, broken).await.status(), 400);
//! # }
//! ```
//!
//! ```
//! use actix_web::{App, HttpResponse, web};
//! use hookgate_actix::{CloudEvent, CloudEvents};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { total: u64 }
//!
//! async fn one(CloudEvent(event): CloudEvent<Order>) -> String {
//!     format!("{} totals {}", event.id(), event.data.total)
//! }
//!
//! async fn many(CloudEvents(events): CloudEvents) -> String {
//!     format!("{} events", events.len())
//! }
//!
//! let app = App::new()
//!     .route("/orders", web::post().to(one))
//!     .route("/batch", web::post().to(many));
//! ```

use std::future::Future;
use std::ops::{Deref, DerefMut};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};
use futures_util::TryFutureExt as _;
use futures_util::future::{self, Either, FutureExt as _, LocalBoxFuture};
use hookgate_core::request::carries_no_event;
use hookgate_core::webhook::extractor_config;
use hookgate_core::{Data, Delivery, Error, EventData, ParseConfig, WebhookPolicy};

use hookgate_core::binding::read_delivery;

use crate::request::ActixRequest;

/// Extracts exactly one CloudEvent whose data is a `T`; see the [module docs](self).
///
/// actix-web's `Option<CloudEvent<T>>` is `None` for a malformed request too (its blanket
/// impl swallows every error): take [`OptionalCloudEvent`] for "an event, or none".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudEvent<T = Data>(pub hookgate_core::CloudEvent<T>);

/// Extracts a batch of CloudEvents (a single event is a batch of one); see the
/// [module docs](self).
///
/// actix-web's `Option<CloudEvents<T>>` is `None` for a malformed request too (its blanket
/// impl swallows every error): take [`OptionalCloudEvents`] for "an event, or none".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudEvents<T = Data>(pub Vec<hookgate_core::CloudEvent<T>>);

/// Extracts one CloudEvent as [`CloudEvent<T>`] does, or `None` for a request that
/// carries no event (rather than actix-web's `Option<CloudEvent<T>>`, which is
/// `None` for a malformed one too); see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionalCloudEvent<T = Data>(pub Option<hookgate_core::CloudEvent<T>>);

/// Extracts a batch as [`CloudEvents<T>`] does, or `None` for a request that
/// carries no event (rather than actix-web's `Option<CloudEvents<T>>`, which is
/// `None` for a malformed one too); see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionalCloudEvents<T = Data>(pub Option<Vec<hookgate_core::CloudEvent<T>>>);

rejection! {
    /// The rejection of the CloudEvents extractors: a 4xx `application/problem+json`
    /// response that says what was wrong.
    CloudEventRejection
}

/// The delivery of a request: the one a middleware parsed (ready at once: the
/// future is not much larger than the delivery), or read and parsed here (a boxed
/// future, allocated only then).
pub(crate) fn delivery(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Delivery, Error>> + 'static {
    delivery_as(req, payload, std::convert::identity)
}

/// [`delivery`], parsing (when no middleware did) with the configuration `shape`
/// makes of the one the request finds (the Web PubSub extractors: binary mode only).
pub(crate) fn delivery_as(
    req: &HttpRequest,
    payload: &mut Payload,
    shape: fn(ParseConfig) -> ParseConfig,
) -> impl Future<Output = Result<Delivery, Error>> + 'static {
    match req.extensions_mut().remove::<Delivery>() {
        Some(parsed) => Either::Left(future::ready(Ok(parsed))),
        None => {
            let req = req.clone();
            let mut payload = payload.take();
            Either::Right(Box::pin(async move {
                let config = shape(extractor_config(
                    req.extensions().get::<WebhookPolicy>(),
                    req.app_data::<ParseConfig>(),
                ));
                let (delivery, _) =
                    read_delivery(&mut ActixRequest::new(&req, &mut payload), &config).await?;
                Ok(delivery)
            }))
        }
    }
}

/// For the optional extractors: `None` for a request that carries no event (and no
/// delivery a middleware parsed), else [`delivery`].
pub(crate) fn optional_delivery(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Option<Delivery>, Error>> + 'static {
    optional_delivery_as(req, payload, std::convert::identity)
}

/// [`optional_delivery`] with the configuration `shape` makes (see [`delivery_as`]).
pub(crate) fn optional_delivery_as(
    req: &HttpRequest,
    payload: &mut Payload,
    shape: fn(ParseConfig) -> ParseConfig,
) -> impl Future<Output = Result<Option<Delivery>, Error>> + 'static {
    let parsed = req.extensions().contains::<Delivery>();
    if !parsed && carries_no_event(&ActixRequest::new(req, payload)) {
        Either::Left(future::ready(Ok(None)))
    } else {
        Either::Right(delivery_as(req, payload, shape).map_ok(Some))
    }
}

/// `FromRequest` for an extractor and its optional form, which make themselves of
/// the delivery with `$make` (`$delivery` in scope; `?` converts into the rejection).
macro_rules! from_delivery {
    ($extractor:ident, $optional:ident, |$delivery:ident| $make:expr) => {
        impl<T: EventData + 'static> FromRequest for $extractor<T> {
            type Error = CloudEventRejection;
            type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                delivery(req, payload)
                    .map(|delivery| {
                        let $delivery = delivery?;
                        Ok(Self($make))
                    })
                    .boxed_local()
            }
        }

        impl<T: EventData + 'static> FromRequest for $optional<T> {
            type Error = CloudEventRejection;
            type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                optional_delivery(req, payload)
                    .map(|delivery| match delivery? {
                        Some($delivery) => Ok(Self(Some($make))),
                        None => Ok(Self(None)),
                    })
                    .boxed_local()
            }
        }
    };
}

from_delivery!(CloudEvent, OptionalCloudEvent, |delivery| delivery
    .into_single()?
    .into_typed()?);
from_delivery!(CloudEvents, OptionalCloudEvents, |delivery| delivery
    .into_typed()?);

impl<T> Deref for CloudEvent<T> {
    type Target = hookgate_core::CloudEvent<T>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> DerefMut for CloudEvent<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<T> Deref for CloudEvents<T> {
    type Target = Vec<hookgate_core::CloudEvent<T>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> DerefMut for CloudEvents<T> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
