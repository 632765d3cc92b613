//! Routing events to typed handlers by `type` and `subject`, the same on both
//! frameworks.
//!
//! Senders deliver many event types to one URL (an Event Grid subscription, a Web
//! PubSub hub, a subject-filtered CloudEvents subscription). An [`EventRouter`] sends
//! each event of a delivery to the handler of its route; the adapters mount it as an
//! endpoint (`hookgate_tower::EventRoutes`, a tower service for axum's
//! `route_service`; `hookgate_actix::EventRoutes`, an actix-web `Route`/`Resource`).
//!
//! **Routes and precedence.** A route matches an exact `type`
//! ([`Route::exact`], or [`EventRouterBuilder::on`]) or a `type` prefix
//! ([`Route::prefix`], [`EventRouterBuilder::on_prefix`]; the empty prefix matches
//! every type), and optionally a `subject` prefix ([`Route::subject_prefix`]). Of the
//! routes that match an event, the router takes:
//!
//! 1. the exact type before any prefix, then the longest type prefix;
//! 2. for the same type key, the longest subject prefix, then the route without one.
//!
//! Two routes with the same type key and subject prefix are refused when the router
//! is built. Matching compares strings only (a binary search over the exact types,
//! then the prefixes from the longest): no hashing and no allocation.
//!
//! **Handlers** are async functions of a `CloudEvent<T>` (the data converted into
//! `T`, see [`EventData`]), or of a `CloudEvent<T>` and the
//! router's context `C`: a value the adapter extracts once per request (an axum
//! `FromRequestParts`, an actix-web `FromRequest` of the request head; for example
//! the Event Grid delivery headers, [`EventGridDelivery`](crate::eventgrid::EventGridDelivery)) and
//! clones for each event. They return `()` or `Result<(), E>` with
//! `E: Into<`[`HandlerError`]`>`. The events of a batch are handled one after the
//! other, in their order.
//!
//! **What each event's outcome does** (with deduplication; each event whose handler
//! succeeds is marked handled as it ends, and the delivery's claims are settled when
//! it is answered, in one store call for the handled events and one for the others,
//! see [`EventClaims::mark_handled`](crate::dedup::EventClaims::mark_handled)):
//!
//! | event | its claim | the answer |
//! |---|---|---|
//! | its handler succeeds | completed | 200 when every event succeeded |
//! | its handler fails (`Err`) | released | the handler's status: 500 by default, so the sender retries the batch and only the failed events run again |
//! | its data does not convert into the handler's `T` | released | 400 `data-mismatch`, naming the batch member: a retry would fail the same way (Event Grid does not retry a 400; it dead-letters) |
//! | no route, by default | completed (acknowledged) and logged (`info`, target `hookgate::route`) | 200 |
//! | no route, with a [`fallback`](EventRouterBuilder::fallback) | as its handler's | as its handler's |
//! | no route, [`reject_unrouted`](EventRouterBuilder::reject_unrouted) | released | 400 `unrouted-event`: not retried by Event Grid (dead-lettered when configured), since no retry would find a route before a new release of the receiver |
//!
//! Of several failures, the answer takes the first one a sender retries (5xx, 429,
//! 408), else the first: a batch with a retriable failure is retried. Its
//! `application/problem+json` body lists the failed batch members (up to 5).
//! A handler that panics, or a request dropped while a handler runs, releases the
//! claims of the events not handled (the dedup guard's drop, in the background) and
//! completes those of the events that were, in the same two store calls; so does a
//! [shutdown](crate::dedup::DedupPolicy::shutdown). Only a process killed mid-batch
//! leaves the claims of its handled events to their lease, after which they run
//! again (at least once; before, each was completed as its handler ended, at the
//! cost of a store call per event).
//!
//! ```
//! use hookgate_core::route::{EventRouter, HandlerError, Route};
//! use hookgate_core::{CloudEvent, Delivery, Mode};
//!
//! #[derive(serde::Deserialize)]
//! struct Order { #[serde(rename = "orderId")] order_id: String }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router: EventRouter = EventRouter::builder()
//!     .on("com.example.order.created", |event: CloudEvent<Order>| async move {
//!         println!("created {}", event.data.order_id);
//!     })
//!     .on_prefix("com.example.order.", |event: CloudEvent| async move {
//!         if event.ty().ends_with(".cancelled") {
//!             return Err(HandlerError::new(503, "cancellations are paused").retry_after(60));
//!         }
//!         Ok(())
//!     })
//!     .route(Route::prefix("").subject_prefix("/audit/"), |_: CloudEvent| async {})
//!     .build()?;
//!
//! let event = |ty: &str| {
//!     CloudEvent::new("1", "/orders", ty).with_data(hookgate_core::Data::json(r#"{"orderId":"7"}"#).unwrap())
//! };
//! let ok = router.dispatch(Delivery::new(Mode::Structured, vec![event("com.example.order.created")]), ()).await;
//! assert_eq!(ok.status(), 200);
//! let paused = router.dispatch(Delivery::new(Mode::Structured, vec![event("com.example.order.cancelled")]), ()).await;
//! assert_eq!(paused.status(), 503);
//! let unrouted = router.dispatch(Delivery::new(Mode::Structured, vec![event("com.other")]), ()).await;
//! assert_eq!(unrouted.status(), 200); // acknowledged and logged
//! # Ok(()) }
//! ```

mod handler;
mod table;

#[doc(hidden)]
pub use handler::{EventOnly, WithContext};
pub use handler::{Handler, HandlerError, IntoOutcome};

use std::fmt::{self, Write as _};
use std::sync::Arc;

use tracing::Instrument as _;

use crate::binding::{Delivery, Mode};
use crate::error::{ConfigError, Error, ErrorKind, excerpt};
use crate::event::{CloudEvent, EventData};
use crate::observe;
use crate::problem::{Problem, TYPE_PREFIX};
use crate::reply::Reply;
use handler::{Erased, erase, from_core};
use table::{Table, TypeMatch};

/// Which events a route takes; see the [module docs](self) for the precedence.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Route {
    ty: TypeMatch,
    subject: Option<Box<str>>,
}

impl Route {
    /// The events of exactly this `type`.
    pub fn exact(ty: impl Into<String>) -> Self {
        Self {
            ty: TypeMatch::Exact(ty.into().into_boxed_str()),
            subject: None,
        }
    }

    /// The events whose `type` starts with `prefix` (the empty prefix: every type).
    pub fn prefix(prefix: impl Into<String>) -> Self {
        Self {
            ty: TypeMatch::Prefix(prefix.into().into_boxed_str()),
            subject: None,
        }
    }

    /// Only the events whose `subject` starts with `prefix` (an event without a
    /// subject never matches).
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.subject = Some(prefix.into().into_boxed_str());
        self
    }
}

/// What happens to an event no route matches; see the [module docs](self).
enum Unrouted<C> {
    Acknowledge,
    Reject,
    Fallback(Erased<C>),
}

struct Inner<C> {
    table: Table,
    handlers: Vec<Erased<C>>,
    unrouted: Unrouted<C>,
}

/// Routes each event of a delivery to its typed handler; see the
/// [module docs](self). Cheap to clone; `C` is the context handed to the handlers
/// (none by default).
pub struct EventRouter<C = ()>(Arc<Inner<C>>);

impl<C> Clone for EventRouter<C> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<C> fmt::Debug for EventRouter<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRouter")
            .field("table", &self.0.table)
            .field(
                "unrouted",
                &match self.0.unrouted {
                    Unrouted::Acknowledge => "acknowledge",
                    Unrouted::Reject => "reject",
                    Unrouted::Fallback(_) => "fallback",
                },
            )
            .finish()
    }
}

/// Builder of an [`EventRouter`]; checked by [`build`](Self::build).
#[must_use]
pub struct EventRouterBuilder<C = ()> {
    routes: Vec<(Route, Erased<C>)>,
    reject_unrouted: bool,
    fallback: Option<Erased<C>>,
}

impl<C> fmt::Debug for EventRouterBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRouterBuilder")
            .field(
                "routes",
                &self.routes.iter().map(|(r, _)| r).collect::<Vec<_>>(),
            )
            .field("reject_unrouted", &self.reject_unrouted)
            .field("fallback", &self.fallback.is_some())
            .finish()
    }
}

impl<C: Send + 'static> EventRouterBuilder<C> {
    /// Sends the events `route` matches to `handler`.
    pub fn route<T, M, H>(mut self, route: Route, handler: H) -> Self
    where
        T: EventData + Send + 'static,
        M: 'static,
        H: Handler<T, C, M>,
    {
        self.routes.push((route, erase(handler)));
        self
    }

    /// Sends the events of exactly type `ty` to `handler`
    /// ([`Route::exact`]).
    pub fn on<T, M, H>(self, ty: impl Into<String>, handler: H) -> Self
    where
        T: EventData + Send + 'static,
        M: 'static,
        H: Handler<T, C, M>,
    {
        self.route(Route::exact(ty), handler)
    }

    /// Sends the events whose type starts with `prefix` to `handler`
    /// ([`Route::prefix`]).
    pub fn on_prefix<T, M, H>(self, prefix: impl Into<String>, handler: H) -> Self
    where
        T: EventData + Send + 'static,
        M: 'static,
        H: Handler<T, C, M>,
    {
        self.route(Route::prefix(prefix), handler)
    }

    /// Sends the events no route matches to `handler`, instead of acknowledging
    /// them.
    pub fn fallback<T, M, H>(mut self, handler: H) -> Self
    where
        T: EventData + Send + 'static,
        M: 'static,
        H: Handler<T, C, M>,
    {
        self.fallback = Some(erase(handler));
        self
    }

    /// Rejects the events no route matches with 400 `unrouted-event` (off by
    /// default: they are acknowledged and logged); see the [module docs](self) for
    /// why a sender does not retry it.
    pub fn reject_unrouted(mut self, yes: bool) -> Self {
        self.reject_unrouted = yes;
        self
    }

    /// Checks the routes and builds the router.
    ///
    /// # Errors
    /// [`ConfigError`] for an empty exact type or subject prefix, two routes with the
    /// same type key and subject prefix, more than 4096 routes, or both a fallback
    /// and `reject_unrouted`.
    pub fn build(self) -> Result<EventRouter<C>, ConfigError> {
        let unrouted = match (self.fallback, self.reject_unrouted) {
            (Some(_), true) => {
                return Err(ConfigError(
                    "the router has a fallback and rejects unrouted events: keep one".into(),
                ));
            }
            (Some(fallback), false) => Unrouted::Fallback(fallback),
            (None, true) => Unrouted::Reject,
            (None, false) => Unrouted::Acknowledge,
        };
        let (routes, handlers): (Vec<_>, Vec<_>) = self.routes.into_iter().unzip();
        let table = Table::build(routes.into_iter().map(|r| (r.ty, r.subject)))?;
        Ok(EventRouter(Arc::new(Inner {
            table,
            handlers,
            unrouted,
        })))
    }
}

/// The most failures a problem's detail lists.
const LISTED_FAILURES: usize = 5;

/// The longest detail of one failure in a problem's detail, in bytes.
const MAX_DETAIL: usize = 256;

/// The failures of a delivery, for its answer.
#[derive(Default)]
struct Failures {
    count: usize,
    /// The failure the answer takes: the first retried one, else the first.
    chosen: Option<HandlerError>,
    retry_after: Option<u32>,
    listed: String,
}

impl Failures {
    fn add(&mut self, index: Option<usize>, failure: HandlerError) {
        self.count += 1;
        if self.count <= LISTED_FAILURES {
            if !self.listed.is_empty() {
                self.listed.push_str("; ");
            }
            if let Some(index) = index {
                let _ = write!(self.listed, "batch member {index}: ");
            }
            let detail = failure.detail();
            let mut end = detail.len().min(MAX_DETAIL);
            while !detail.is_char_boundary(end) {
                end -= 1;
            }
            self.listed.push_str(&detail[..end]);
            if end < detail.len() {
                self.listed.push('…');
            }
        }
        if failure.is_retried() {
            self.retry_after = self.retry_after.max(failure.retry_after_seconds());
        }
        let replace = match &self.chosen {
            None => true,
            Some(chosen) => !chosen.is_retried() && failure.is_retried(),
        };
        if replace {
            self.chosen = Some(failure);
        }
    }

    fn reply(self, total: usize) -> Reply {
        let Some(chosen) = self.chosen else {
            return Reply::new(200);
        };
        let kind = chosen.kind();
        let mut detail = if total > 1 {
            format!("{} of {total} events failed: {}", self.count, self.listed)
        } else {
            self.listed
        };
        if self.count > LISTED_FAILURES {
            let _ = write!(detail, "; and {} more", self.count - LISTED_FAILURES);
        }
        let title = if kind == ErrorKind::HandlerFailed && total > 1 {
            "Event handlers failed"
        } else {
            kind.title()
        };
        let mut problem = Problem::new(chosen.status(), kind.slug(), title, &detail);
        if chosen.is_retried()
            && let Some(seconds) = self.retry_after
        {
            problem = problem.with_header("retry-after", seconds.to_string());
        }
        Reply::from(problem)
    }
}

impl<C: Clone + Send + 'static> EventRouter<C> {
    /// A builder: no routes, unrouted events acknowledged.
    pub fn builder() -> EventRouterBuilder<C> {
        EventRouterBuilder {
            routes: Vec::new(),
            reject_unrouted: false,
            fallback: None,
        }
    }

    /// The index of the route that takes events of type `ty` and `subject` (in the
    /// order the routes were added), or `None` when none does.
    #[must_use]
    pub fn route_of(&self, ty: &str, subject: Option<&str>) -> Option<usize> {
        self.0.table.find(ty, subject)
    }

    /// Handles every event of `delivery`, each with its handler and a clone of
    /// `context`, marks each event whose handler succeeds as handled (when the
    /// delivery carries [`claims`](Delivery::claims); the answer settles them all,
    /// see the [module docs](self)), and gives the answer: 200
    /// when every event succeeded, else a problem (see the [module docs](self)).
    pub async fn dispatch(&self, mut delivery: Delivery, context: C) -> Reply {
        let claims = delivery.take_claims();
        let spans = delivery.spans.take();
        let batch = delivery.mode() == Mode::Batch;
        let total = delivery.len();
        let mut failures = Failures::default();
        for (index, event) in delivery.into_events().into_iter().enumerate() {
            // The event's span: the one the webhook stack opened, else one of its
            // own under the current span.
            let span = match spans.as_deref().and_then(|spans| spans.routed(index)) {
                Some(span) => span.clone(),
                None => observe::event_span(&observe::current(), &event),
            };
            let handled = self
                .handle(event, context.clone())
                .instrument(span.clone())
                .await;
            match handled {
                Ok(()) => {
                    observe::record_event(&span, true, None);
                    if let Some(claims) = &claims {
                        claims.mark_handled(index);
                    }
                }
                Err(failure) => {
                    let error = format!("{TYPE_PREFIX}{}", failure.kind().slug());
                    observe::record_event(&span, false, Some(&error));
                    failures.add(batch.then_some(index), failure);
                }
            }
        }
        failures.reply(total)
    }

    /// Handles one event: its handler, its fallback, or what the router does with
    /// unrouted events.
    async fn handle(&self, event: CloudEvent, context: C) -> Result<(), HandlerError> {
        let p = &*self.0;
        let handler = match p.table.find(event.ty(), event.subject()) {
            Some(index) => &p.handlers[index],
            None => match &p.unrouted {
                Unrouted::Fallback(fallback) => fallback,
                Unrouted::Acknowledge => {
                    tracing::info!(
                        target: "hookgate::route",
                        r#type = event.ty(), source = event.source(), id = event.id(),
                        "no route for the event; acknowledged"
                    );
                    return Ok(());
                }
                Unrouted::Reject => {
                    tracing::info!(
                        target: "hookgate::route",
                        r#type = event.ty(), source = event.source(), id = event.id(),
                        "no route for the event; rejected"
                    );
                    let error = Error::new(
                        ErrorKind::UnroutedEvent,
                        format!(
                            "no handler for events of type `{}`{}",
                            excerpt(event.ty()),
                            match event.subject() {
                                Some(subject) => format!(" and subject `{}`", excerpt(subject)),
                                None => String::new(),
                            }
                        ),
                    );
                    return Err(from_core(&error));
                }
            },
        };
        match handler(event, context) {
            Ok(future) => future.await,
            Err(error) => Err(from_core(&error)),
        }
    }
}
