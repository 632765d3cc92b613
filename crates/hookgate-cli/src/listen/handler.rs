//! The handler behind the webhook layer: hands the events to the sink and answers
//! with what the sink made of them.
//!
//! | the sink | the answer | the claims |
//! |---|---|---|
//! | acknowledged | its 2xx, with its body and content type | completed |
//! | refused (a downstream 4xx) | that 4xx as it is | released |
//! | failed (exit status, timeout, 5xx, no connection) | 503 `sink-failed` with `Retry-After` | released |
//! | busy (`--max-concurrency` deliveries already running) | 503 `busy` with `Retry-After` | released |
//!
//! The webhook layer claims the events before the handler (a delivery of
//! duplicates is answered 200 there) and settles the claims with the answer. With
//! `--per-event`, each event is handed over on its own, in order, and marked
//! handled when acknowledged; the first failure ends the delivery (the events
//! after it are left for the retry, the ones before it stay done).
//!
//! A delivery is handed over in the library's span: the event's `process` span
//! (its `cloudevents.*` attributes) for one event, the `hookgate.delivery` span
//! for a batch; with `--per-event` each event in an `event` span of its own (its
//! id, type and source) under the delivery span.
//! The sink gets its [`DeliveryContext`]: that span's trace context, the sender's trace
//! headers and its label.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use hookgate::auth::Identity;
use hookgate::dedup::DedupPolicy;
use hookgate::tower::problem_response;
use hookgate::{CloudEvent, Delivery, Error, ErrorKind, Mode, Problem};
use http::HeaderMap;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Semaphore;
use tracing::{Instrument as _, Span};

use crate::metrics;
use crate::sink::{DeliveryContext, Handoff, Outcome, PassedOn, Sink, sender_label};

/// What a route's handler needs, shared by the route's requests.
#[derive(Debug)]
pub(crate) struct Route {
    /// The route's name, on its log lines.
    pub(crate) name: Arc<str>,
    pub(crate) sink: Box<dyn Sink>,
    /// The bound of `max_concurrency` for the `exec`, `forward` and broker sinks (a
    /// process or a connection per delivery); `None` for `stdout`, whose writer
    /// thread takes a delivery in microseconds (and a stalled one fails within the
    /// stdout timeout).
    pub(crate) permits: Option<Arc<Semaphore>>,
    /// The permits' number (`max_concurrency`).
    pub(crate) max_concurrency: usize,
    pub(crate) per_event: bool,
    pub(crate) retry_after: u32,
    /// Which request headers the sink may pass on.
    pub(crate) passed: PassedOn,
}

/// What the admin endpoints need, shared by all routes.
#[derive(Debug)]
pub(crate) struct Admin {
    /// Each dedup namespace's policy (its store answers the readiness probe).
    pub(crate) dedups: Vec<DedupPolicy>,
    /// Renders `/metrics`.
    pub(crate) prometheus: PrometheusHandle,
    /// Set at the stop signal: `/healthz` answers 503 from then on.
    pub(crate) stopping: AtomicBool,
}

/// `POST {path}`: one delivery the webhook layer admitted (its duplicates already
/// answered or left out, the claims of the others taken).
pub(crate) async fn receive(State(route): State<Arc<Route>>, mut request: Request) -> Response {
    let extensions = request.extensions_mut();
    let identity = extensions.remove::<Identity>();
    let Some(delivery) = extensions.remove::<Delivery>() else {
        let error = Error::new(
            ErrorKind::NotCloudEvent,
            "the request carries no CloudEvent",
        );
        return respond(problem_response(&error.problem()));
    };
    route
        .hand_over(identity.as_ref(), request.headers(), delivery)
        .await
}

impl Route {
    /// Hands `delivery` to the sink (whole, or event by event with
    /// `per_event`) within the route's bound, and answers with the outcome.
    pub(crate) async fn hand_over(
        &self,
        identity: Option<&Identity>,
        headers: &HeaderMap,
        delivery: Delivery,
    ) -> Response {
        let permit = self
            .permits
            .as_ref()
            .map(|permits| Arc::clone(permits).try_acquire_owned());
        let Ok(_permit) = permit.transpose() else {
            let problem = Problem::new(
                503,
                "busy",
                "Too many deliveries in progress",
                &format!(
                    "{} deliveries are being handled already; retry later",
                    self.max_concurrency
                ),
            )
            .with_header("retry-after", self.retry_after.to_string());
            return respond(problem_response(&problem));
        };
        let over = Handover {
            identity,
            headers,
            passed: &self.passed,
        };
        if self.per_event {
            self.per_event(&over, delivery).await
        } else {
            self.whole(&over, delivery).await
        }
    }
}

/// What every hand-over of a delivery shares.
struct Handover<'a> {
    identity: Option<&'a Identity>,
    /// The request's headers (the sender's trace context, what a downstream uses).
    headers: &'a HeaderMap,
    passed: &'a PassedOn,
}

impl Handover<'_> {
    /// The span and the sink's context for handing the events over in `span`.
    fn start(&self, span: Span) -> (Span, DeliveryContext<'_>) {
        let context = DeliveryContext::new(
            &span,
            self.headers,
            self.passed,
            sender_label(self.identity),
        );
        (span, context)
    }
}

impl Route {
    /// The delivery as one hand-over; the layer settles its claims with the answer.
    async fn whole(&self, over: &Handover<'_>, delivery: Delivery) -> Response {
        // The library's span: the event's `process` span for one event, the
        // delivery span for a batch (no span of our own: each costs the
        // OpenTelemetry layer about 2 µs).
        let (span, context) = over.start(Span::current());
        let handoff = Handoff::new(
            delivery.mode(),
            delivery.events(),
            &context,
            delivery.claims(),
            0,
        );
        let outcome = self.sink.deliver(&handoff).instrument(span.clone()).await;
        span.in_scope(|| self.answer(outcome, over, delivery.events()))
    }

    /// One event at a time, in order: each one acknowledged is marked handled (its
    /// claim completed when the delivery is answered, whatever the answer); the
    /// first failure ends the delivery, and the claims of it and the events after
    /// it are released for the retry.
    async fn per_event(&self, over: &Handover<'_>, mut delivery: Delivery) -> Response {
        // A batch's events are handed over one by one, each as a single event.
        let mode = match delivery.mode() {
            Mode::Batch => Mode::Structured,
            other => other,
        };
        let claims = delivery.take_claims();
        let total = delivery.len();
        let mut last = None;
        for (index, event) in delivery.into_events().into_iter().enumerate() {
            let one = [event];
            let (span, context) = over.start(span_of(&one));
            let handoff = Handoff::new(mode, &one, &context, claims.as_ref(), index);
            let outcome = self.sink.deliver(&handoff).instrument(span.clone()).await;
            let response = span.in_scope(|| self.answer(outcome, over, &one));
            if !response.status().is_success() {
                return response;
            }
            if let Some(claims) = &claims {
                claims.mark_handled(index);
            }
            last = Some(response);
        }
        match last {
            // One event: its answer (a Web PubSub event handler reads the body).
            Some(response) if total == 1 => response,
            _ => StatusCode::OK.into_response(),
        }
    }

    /// The answer for a sink's outcome, logged: one line per hand-over, with what
    /// says which delivery it was (the log lines carry no span fields: formatting
    /// them for every span cost more than the rest of the line; see `logs`).
    fn answer(&self, outcome: Outcome, over: &Handover<'_>, handed: &[CloudEvent]) -> Response {
        let events = handed.len();
        let route = &*self.name;
        let sender = sender_label(over.identity).unwrap_or_default();
        let first = handed.first();
        let id = first.map_or("", CloudEvent::id);
        let ty = first.map_or("", CloudEvent::ty);
        let source = first.map_or("", CloudEvent::source);
        // One line with the hand-over's fields, at `$level`, with `$more`.
        macro_rules! logged {
            ($level:ident, $($more:tt)+) => {
                tracing::$level!(route, sender, id, r#type = ty, source, events, $($more)+)
            };
        }
        match outcome {
            Outcome::Ack {
                status,
                body,
                headers,
            } => {
                logged!(info, status, "delivered");
                with_body(status, body, headers)
            }
            Outcome::Refused {
                status,
                body,
                headers,
            } => {
                logged!(warn, status, "refused downstream: passed back");
                with_body(status, body, headers)
            }
            Outcome::Failed(why) => {
                logged!(warn, reason = %why, "not delivered: answered 503, claims released");
                let problem = Problem::new(
                    503,
                    "sink-failed",
                    "The events could not be handed over",
                    &format!(
                        "the {} sink did not take the events; they are not recorded as handled, retry after {} s",
                        self.sink.name(),
                        self.retry_after
                    ),
                )
                .with_header("retry-after", self.retry_after.to_string());
                respond(problem_response(&problem))
            }
        }
    }
}

/// Another method on the events path: 405 with `Allow`, as a problem.
pub(crate) async fn method_not_allowed() -> Response {
    let problem = Problem::new(
        405,
        "method-not-allowed",
        "Method not allowed",
        "deliver events with POST (OPTIONS is the validation handshake)",
    )
    .with_header("allow", "POST, OPTIONS");
    respond(problem_response(&problem))
}

/// Any other path: 404, as a problem (counted: the webhook layer does not see it).
pub(crate) async fn not_found() -> Response {
    let problem = Problem::new(
        404,
        "not-found",
        "Not found",
        "nothing is served at this path",
    );
    metrics::rejected_elsewhere(problem.type_uri());
    respond(problem_response(&problem))
}

/// `GET /livez`: 200 while the process answers, stopping included (a liveness
/// probe must not restart a receiver that is finishing its deliveries).
pub(crate) async fn livez() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

/// `GET /readyz` (and `/healthz`, its alias): 200 when every route's dedup store answers
/// [`ping`](hookgate::dedup::DedupStore::ping) within 2 s and the process is not
/// stopping, 503 otherwise. The probe changes nothing: on Redis it is one `PING`,
/// never a write.
pub(crate) async fn readyz(State(admin): State<Arc<Admin>>) -> Response {
    if admin.stopping.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response();
    }
    let pings = futures_util::future::try_join_all(admin.dedups.iter().map(|d| d.store().ping()));
    match tokio::time::timeout(Duration::from_secs(2), pings).await {
        Ok(Ok(_)) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the dedup store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "dedup store unavailable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "dedup store timed out\n").into_response(),
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(admin): State<Arc<Admin>>) -> Response {
    crate::metrics::scraped();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        admin.prometheus.render(),
    )
        .into_response()
}

pub(crate) fn respond(response: http::Response<Bytes>) -> Response {
    response.map(Body::from)
}

fn with_body(status: u16, body: Option<(String, Bytes)>, headers: http::HeaderMap) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = match body {
        Some((content_type, body)) => {
            let mut response = (status, body).into_response();
            if let Ok(value) = content_type.parse() {
                response.headers_mut().insert(CONTENT_TYPE, value);
            }
            response
        }
        None => status.into_response(),
    };
    response.headers_mut().extend(headers);
    response
}

/// The span of one event's hand-over with `--per-event`: the event's id, type and
/// source, on every log line inside; a child of the library's delivery span (which
/// continues the sender's `traceparent`), whose trace the sink passes on.
fn span_of(events: &[CloudEvent]) -> Span {
    match events {
        [event] => tracing::info_span!(
            "event",
            id = event.id(),
            r#type = event.ty(),
            source = event.source()
        ),
        [first, ..] => tracing::info_span!(
            "batch",
            events = events.len(),
            id = first.id(),
            r#type = first.ty(),
            source = first.source()
        ),
        [] => tracing::info_span!("batch", events = 0),
    }
}
