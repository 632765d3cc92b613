//! actix-web extractors: [`CloudEvent<T>`] and [`CloudEvents<T>`].
//!
//! - `CloudEvent<T>` takes exactly one event (a batch of one is accepted) and
//!   deserializes its data into `T`; `CloudEvent` alone (`CloudEvent<Data>`) is the
//!   untyped form that keeps the data as raw JSON or bytes.
//! - `CloudEvents<T>` takes a batch, or a single event as a batch of one.
//!
//! When the [`ParseCloudEvents`](crate::ParseCloudEvents) middleware ran, the
//! extractors take its [`Delivery`] from the request extensions and parse nothing.
//! Otherwise they read the payload themselves, within the body limit of a
//! [`ParseConfig`] registered with `App::app_data(config)`, or the default 1 MiB.
//!
//! Rejections are [`CloudEventRejection`]s: an `application/problem+json` response
//! with a 4xx status, the same bodies as the axum adapter.
//!
//! **Optional form.** actix-web's own `Option<T>` extractor turns *every* failure
//! into `None`, a malformed event included. To tell "not a CloudEvent" from
//! "a broken one", take `Result<CloudEvent<T>, CloudEventRejection>` and look at
//! [`CloudEventRejection::error`]'s kind ([`ErrorKind::NotCloudEvent`]); that form
//! works the same way in axum.
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
use futures_util::future::{self, Either, FutureExt as _, LocalBoxFuture};
use hookgate_core::{Data, Delivery, Error, EventData, ParseConfig};

#[cfg(doc)]
use hookgate_core::ErrorKind;

use hookgate_core::binding::read_delivery;

use crate::request::ActixRequest;

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

/// The delivery of a request: the one a middleware parsed (ready at once: the
/// future is not much larger than the delivery), or read and parsed here (a boxed
/// future, allocated only then).
pub(crate) fn delivery(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Delivery, Error>> + 'static {
    match req.extensions_mut().remove::<Delivery>() {
        Some(parsed) => Either::Left(future::ready(Ok(parsed))),
        None => {
            let req = req.clone();
            let mut payload = payload.take();
            Either::Right(Box::pin(async move {
                // One the request carries (the Web PubSub extractors' binary-only
                // configuration) wins over the app's.
                let config = req
                    .extensions()
                    .get::<ParseConfig>()
                    .or_else(|| req.app_data::<ParseConfig>())
                    .cloned()
                    .unwrap_or_default();
                let (delivery, _) =
                    read_delivery(&mut ActixRequest::new(&req, &mut payload), &config).await?;
                Ok(delivery)
            }))
        }
    }
}

impl<T: EventData + 'static> FromRequest for CloudEvent<T> {
    type Error = CloudEventRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        delivery(req, payload)
            .map(|delivery| Ok(Self(delivery?.into_single()?.into_typed()?)))
            .boxed_local()
    }
}

impl<T: EventData + 'static> FromRequest for CloudEvents<T> {
    type Error = CloudEventRejection;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        delivery(req, payload)
            .map(|delivery| Ok(Self(delivery?.into_typed()?)))
            .boxed_local()
    }
}

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
