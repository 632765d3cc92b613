//! axum extractors: [`CloudEvent<T>`] and [`CloudEvents<T>`].
//!
//! - `CloudEvent<T>` takes exactly one event (a batch of one is accepted) and
//!   deserializes its data into `T`; `CloudEvent` alone (`CloudEvent<Data>`) is the
//!   untyped form that keeps the data as raw JSON or bytes.
//! - `CloudEvents<T>` takes a batch, or a single event as a batch of one.
//! - `Option<CloudEvent<T>>` / `Option<CloudEvents<T>>` (axum's
//!   `OptionalFromRequest`) are `None` for a request that carries no event
//!   ([`carries_no_event`]: a method other than `POST`, `PUT`, `PATCH`, or no
//!   `ce-specversion`, no `Content-Type` and an empty body), and refuse any other
//!   request that is not a good delivery with the same 4xx as the plain extractor.
//!   hookgate-actix's `OptionalCloudEvent<T>` behaves the same.
//!
//! When [`WebhookLayer`](crate::WebhookLayer) or
//! [`ParseCloudEventsLayer`](crate::ParseCloudEventsLayer) ran, the extractors take
//! its [`Delivery`] from the request extensions and parse nothing. Otherwise they
//! read the body themselves, within the limits of the [`WebhookPolicy`] a
//! `WebhookLayer` put into the request extensions
//! ([`WebhookPolicy::extractor_config`]), else of a [`ParseConfig`] in the request
//! extensions (`axum::Extension(config)`: deprecated, still read), else the default
//! 1 MiB.
//!
//! Rejections are [`CloudEventRejection`]s: an `application/problem+json` response
//! with a 4xx status.
//!
//! ```
//! use axum::{Router, routing::post};
//! use hookgate_tower::{CloudEvent, CloudEvents};
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
//! let app: Router = Router::new()
//!     .route("/orders", post(one))
//!     .route("/batch", post(many));
//! ```

use std::future::Future;
use std::ops::{Deref, DerefMut};

use axum_core::extract::{FromRequest, OptionalFromRequest, Request};
use futures_util::TryFutureExt as _;
use futures_util::future::{self, Either};
use hookgate_core::request::carries_no_event;
use hookgate_core::webhook::extractor_config;
use hookgate_core::{Data, Delivery, Error, EventData, ParseConfig, WebhookPolicy};

use hookgate_core::binding::read_delivery;

use crate::request::TowerRequest;

/// Extracts exactly one CloudEvent whose data is a `T`; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudEvent<T = Data>(pub hookgate_core::CloudEvent<T>);

/// Extracts a batch of CloudEvents (a single event is a batch of one); see the
/// [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudEvents<T = Data>(pub Vec<hookgate_core::CloudEvent<T>>);

rejection! {
    /// The rejection of the CloudEvents extractors: a 4xx `application/problem+json`
    /// response that says what was wrong.
    CloudEventRejection
}

/// The delivery of a request: the one a layer parsed (ready at once: the future is
/// not much larger than the delivery), or read and parsed here (a boxed future,
/// allocated only then).
pub(crate) fn delivery(
    req: Request,
) -> impl Future<Output = Result<Delivery, Error>> + Send + 'static {
    delivery_as(req, std::convert::identity)
}

/// [`delivery`], parsing (when no layer did) with the configuration `shape` makes of
/// the one the request finds (the Web PubSub extractors: binary mode only).
pub(crate) fn delivery_as(
    req: Request,
    shape: fn(ParseConfig) -> ParseConfig,
) -> impl Future<Output = Result<Delivery, Error>> + Send + 'static {
    parsed_or_read(TowerRequest::new(req), shape)
}

/// For the optional extractors: `None` for a request that carries no event (and no
/// delivery a layer parsed), else [`delivery`].
pub(crate) fn optional_delivery(
    req: Request,
) -> impl Future<Output = Result<Option<Delivery>, Error>> + Send + 'static {
    optional_delivery_as(req, std::convert::identity)
}

/// [`optional_delivery`] with the configuration `shape` makes (see [`delivery_as`]).
pub(crate) fn optional_delivery_as(
    req: Request,
    shape: fn(ParseConfig) -> ParseConfig,
) -> impl Future<Output = Result<Option<Delivery>, Error>> + Send + 'static {
    let req = TowerRequest::new(req);
    if req.parts.extensions.get::<Delivery>().is_none() && carries_no_event(&req) {
        Either::Left(future::ready(Ok(None)))
    } else {
        Either::Right(parsed_or_read(req, shape).map_ok(Some))
    }
}

fn parsed_or_read(
    mut req: TowerRequest<axum_core::body::Body>,
    shape: fn(ParseConfig) -> ParseConfig,
) -> impl Future<Output = Result<Delivery, Error>> + Send + 'static {
    match req.parts.extensions.remove::<Delivery>() {
        Some(parsed) => Either::Left(future::ready(Ok(parsed))),
        None => Either::Right(Box::pin(async move {
            let extensions = &req.parts.extensions;
            let config = shape(extractor_config(
                extensions.get::<WebhookPolicy>(),
                extensions.get::<ParseConfig>(),
            ));
            let (delivery, _) = read_delivery(&mut req, &config).await?;
            Ok(delivery)
        })),
    }
}

/// `FromRequest` and `OptionalFromRequest` for an extractor, which makes itself of
/// the delivery with `$make` (`$delivery` in scope; `?` converts into the rejection).
macro_rules! from_delivery {
    ($extractor:ident, |$delivery:ident| $make:expr) => {
        impl<T, S> FromRequest<S> for $extractor<T>
        where
            T: EventData + Send,
            S: Send + Sync,
        {
            type Rejection = CloudEventRejection;

            fn from_request(
                req: Request,
                _: &S,
            ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
                let delivery = delivery(req);
                async move {
                    let $delivery = delivery.await?;
                    Ok($make)
                }
            }
        }

        impl<T, S> OptionalFromRequest<S> for $extractor<T>
        where
            T: EventData + Send,
            S: Send + Sync,
        {
            type Rejection = CloudEventRejection;

            fn from_request(
                req: Request,
                _: &S,
            ) -> impl Future<Output = Result<Option<Self>, Self::Rejection>> + Send {
                let delivery = optional_delivery(req);
                async move {
                    match delivery.await? {
                        Some($delivery) => Ok(Some($make)),
                        None => Ok(None),
                    }
                }
            }
        }
    };
}

from_delivery!(CloudEvent, |delivery| Self(
    delivery.into_single()?.into_typed()?
));
from_delivery!(CloudEvents, |delivery| Self(delivery.into_typed()?));

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
