//! Handlers of the router: typed async functions, and how they fail.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;

use crate::client::BoxFuture;
use crate::error::{Error, ErrorKind, excerpt};
use crate::event::{CloudEvent, EventData};

/// Why a handler did not handle its event. The event's dedup claim is released (a
/// retry runs it again) and the answer to the delivery is not a 2xx.
///
/// - From any `std::error::Error` (with `?`): a 500 `handler-failed`; the error is
///   logged (target `hookgate::route`), and the answer says only that the handler
///   failed, so that no internal detail reaches the sender.
/// - [`HandlerError::new`]: a status and a detail of your choosing, sent as they are
///   (the status is a 4xx or 5xx; anything else is taken as 500). A 4xx says the
///   event itself is wrong: Event Grid does not retry 400, 401, 403 and 413.
/// - [`HandlerError::retry_after`] adds `Retry-After`.
///
/// ```
/// use hookgate_core::route::HandlerError;
///
/// fn parse(text: &str) -> Result<u32, HandlerError> {
///     let n: u32 = text.parse()?; // a ParseIntError: 500, detail kept in the logs
///     if n == 0 {
///         return Err(HandlerError::new(422, "the quantity must not be zero"));
///     }
///     Ok(n)
/// }
/// assert_eq!(parse("x").unwrap_err().status(), 500);
/// assert_eq!(parse("0").unwrap_err().status(), 422);
/// assert_eq!(parse("0").unwrap_err().detail(), "the quantity must not be zero");
/// ```
pub struct HandlerError {
    status: u16,
    detail: String,
    retry_after: Option<u32>,
    kind: ErrorKind,
}

impl HandlerError {
    /// A failure answered with `status` (4xx or 5xx; anything else becomes 500) and
    /// `detail`, which the sender sees.
    #[must_use]
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status: if (400..600).contains(&status) {
                status
            } else {
                500
            },
            detail: detail.into(),
            retry_after: None,
            kind: ErrorKind::HandlerFailed,
        }
    }

    /// Asks the sender to retry after `seconds` (a `Retry-After` header).
    #[must_use]
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The status the failure asks for.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// What the sender is told.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The `Retry-After` seconds, when set.
    #[must_use]
    pub fn retry_after_seconds(&self) -> Option<u32> {
        self.retry_after
    }

    /// Whether a sender retries this failure (a 5xx, 429 or 408); see the
    /// [module docs](super).
    #[must_use]
    pub fn is_retried(&self) -> bool {
        matches!(self.status, 408 | 429 | 500..)
    }

    /// The problem kind: `handler-failed`, or the core's kind (a data mismatch, an
    /// unrouted event).
    pub(super) fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HandlerError {
    fn from(error: E) -> Self {
        tracing::error!(target: "hookgate::route", error = %error, "event handler failed");
        Self::new(500, "the event handler failed; see the receiver's logs")
    }
}

/// A core [`Error`] of one event (its data does not match the handler's type, it is
/// unrouted): its status and detail.
pub(super) fn from_core(error: &Error) -> HandlerError {
    HandlerError {
        status: error.status(),
        detail: error.detail().to_owned(),
        retry_after: error.retry_after(),
        kind: error.kind(),
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("status", &self.status)
            .field("detail", &excerpt(&self.detail))
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.status)
    }
}

/// What a handler returns: `()` (handled), or `Result<(), E>` with
/// `E: Into<HandlerError>` (any `std::error::Error`, or a [`HandlerError`]).
pub trait IntoOutcome {
    /// Handled (`Ok`), or why not.
    ///
    /// # Errors
    /// The handler's failure.
    fn into_outcome(self) -> Result<(), HandlerError>;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<E: Into<HandlerError>> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), HandlerError> {
        self.map_err(Into::into)
    }
}

/// An async function that handles one event of a router: `Fn(CloudEvent<T>)` or
/// `Fn(CloudEvent<T>, C)` (with the router's context `C`), returning a future of
/// an [`IntoOutcome`]. The data is converted into `T` before the call (see
/// [`EventData`]); the future must be `Send`.
///
/// `M` tells the two forms apart; you never name it.
pub trait Handler<T, C, M>: Send + Sync + 'static {
    /// Calls the handler.
    fn call(&self, event: CloudEvent<T>, context: C) -> BoxFuture<Result<(), HandlerError>>;
}

/// The marker of a handler that takes the event only.
#[doc(hidden)]
#[derive(Debug)]
pub struct EventOnly<R>(PhantomData<R>);

/// The marker of a handler that takes the event and the context.
#[doc(hidden)]
#[derive(Debug)]
pub struct WithContext<R>(PhantomData<R>);

impl<F, Fut, T, C, R> Handler<T, C, EventOnly<R>> for F
where
    F: Fn(CloudEvent<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoOutcome,
{
    fn call(&self, event: CloudEvent<T>, _: C) -> BoxFuture<Result<(), HandlerError>> {
        let future = self(event);
        Box::pin(async move { future.await.into_outcome() })
    }
}

impl<F, Fut, T, C, R> Handler<T, C, WithContext<R>> for F
where
    F: Fn(CloudEvent<T>, C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoOutcome,
{
    fn call(&self, event: CloudEvent<T>, context: C) -> BoxFuture<Result<(), HandlerError>> {
        let future = self(event, context);
        Box::pin(async move { future.await.into_outcome() })
    }
}

/// A handler with its data type erased: converts the data, then calls.
pub(super) type Erased<C> =
    Box<dyn Fn(CloudEvent, C) -> Result<BoxFuture<Result<(), HandlerError>>, Error> + Send + Sync>;

pub(super) fn erase<T, C, M, H>(handler: H) -> Erased<C>
where
    T: EventData + Send + 'static,
    C: 'static,
    M: 'static,
    H: Handler<T, C, M>,
{
    Box::new(move |event: CloudEvent, context: C| {
        let event = event.into_typed::<T>()?;
        Ok(handler.call(event, context))
    })
}
