//! The handler behind the webhook layer: claims the events, hands them to the sink,
//! and answers with what the sink made of them.
//!
//! | the sink | the answer | the claims |
//! |---|---|---|
//! | acknowledged | its 2xx, with its body and content type | completed |
//! | refused (a downstream 4xx) | that 4xx as it is | released |
//! | failed (exit status, timeout, 5xx, no connection) | 503 `sink-failed` with `Retry-After` | released |
//! | busy (`--max-concurrency` deliveries already running) | 503 `busy` with `Retry-After` | none taken |
//!
//! With `--per-event`, each event is claimed, handed over and settled on its own,
//! in order; the first failure ends the delivery (the events after it are left for
//! the retry, the ones before it stay done).
//!
//! Each hand-over runs in a span (`event`, or `batch` for several events) with the
//! event's id, type and source; it is the child of the library's delivery span
//! when there is one, and otherwise continues the sender's `traceparent` itself.
//! The sink gets its [`DeliveryContext`]: that span's trace context, the sender's trace
//! headers and its label.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse as _, Response};
use bytes::Bytes;
use hookgate::auth::Identity;
use hookgate::dedup::{ClaimOutcome, DedupPolicy};
use hookgate::tower::problem_response;
use hookgate::{CloudEvent, Delivery, Error, ErrorKind, Mode, Problem};
use http::HeaderMap;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use metrics_exporter_prometheus::PrometheusHandle;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tokio::sync::Semaphore;
use tracing::{Instrument as _, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::metrics::{self, Active};
use crate::sink::{DeliveryContext, Outcome, Sink, configured_label, sender_label};

/// What the handler needs, shared by all requests.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) sink: Sink,
    pub(crate) dedup: DedupPolicy,
    /// Renders `/metrics`.
    pub(crate) prometheus: PrometheusHandle,
    /// The bound of `--max-concurrency` for the `exec` and `forward` sinks (a
    /// process or a connection per delivery); `None` for `stdout`, whose writer
    /// thread takes a delivery in microseconds (and a stalled one fails within the
    /// stdout timeout).
    pub(crate) permits: Option<Arc<Semaphore>>,
    /// The permits' number (`--max-concurrency`).
    pub(crate) max_concurrency: usize,
    pub(crate) per_event: bool,
    pub(crate) retry_after: u32,
    /// Set at the stop signal: `/healthz` answers 503 from then on.
    pub(crate) stopping: AtomicBool,
}

/// `POST {path}`: one delivery the webhook layer admitted.
pub(crate) async fn receive(State(app): State<Arc<App>>, mut request: Request) -> Response {
    let extensions = request.extensions_mut();
    let identity = extensions.remove::<Identity>();
    let sender = configured_label(identity.as_ref());
    let Some(delivery) = extensions.remove::<Delivery>() else {
        let error = Error::new(
            ErrorKind::NotCloudEvent,
            "the request carries no CloudEvent",
        );
        metrics::delivery(metrics::Outcome::Refused, sender);
        return respond(problem_response(&error.problem()));
    };
    let permit = app
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
                app.max_concurrency
            ),
        )
        .with_header("retry-after", app.retry_after.to_string());
        metrics::delivery(metrics::Outcome::Failed, sender);
        return respond(problem_response(&problem));
    };
    let _active = Active::enter();
    let started = Instant::now();
    let over = Handover {
        identity: identity.as_ref(),
        headers: request.headers(),
    };
    let (response, counts) = if app.per_event {
        app.per_event(&over, delivery).await
    } else {
        app.whole(&over, delivery).await
    };
    metrics::handled(app.sink.name(), started.elapsed());
    metrics::events(counts.handed_over);
    metrics::duplicates(counts.duplicates);
    let status = response.status();
    let outcome = if status.is_success() {
        if counts.handed_over == 0 && counts.duplicates > 0 {
            metrics::Outcome::Duplicate
        } else {
            metrics::Outcome::Accepted
        }
    } else if status.is_server_error() {
        metrics::Outcome::Failed
    } else {
        metrics::Outcome::Refused
    };
    metrics::delivery(outcome, sender);
    response
}

/// What every hand-over of a delivery shares.
struct Handover<'a> {
    identity: Option<&'a Identity>,
    /// The request's headers (the sender's trace context).
    headers: &'a HeaderMap,
}

impl Handover<'_> {
    /// The span and the sink's context for handing `events` over.
    fn start(&self, events: &[CloudEvent]) -> (Span, DeliveryContext<'_>) {
        let span = span_of(events, self.headers);
        let context = DeliveryContext::new(&span, self.headers, sender_label(self.identity));
        (span, context)
    }
}

/// The events of a delivery handed over and acknowledged, and those dropped as
/// duplicates.
#[derive(Debug, Default)]
struct Counts {
    handed_over: usize,
    duplicates: usize,
}

impl App {
    /// The delivery as one: one claim set, one hand-over.
    async fn whole(&self, over: &Handover<'_>, mut delivery: Delivery) -> (Response, Counts) {
        let before = delivery.len();
        let mut counts = Counts::default();
        let guard = match self.dedup.claim_for(over.identity, &mut delivery).await {
            Ok(ClaimOutcome::Handle(guard)) => guard,
            Ok(ClaimOutcome::AllDuplicates) => {
                counts.duplicates = before;
                span_of(delivery.events(), over.headers).in_scope(|| {
                    tracing::info!(
                        events = before,
                        "duplicates: answered 200 without handing over"
                    )
                });
                return (StatusCode::OK.into_response(), counts);
            }
            Err(error) => return (respond(problem_response(&error.problem())), counts),
        };
        counts.duplicates = before - delivery.len();
        let (span, context) = over.start(delivery.events());
        let outcome = self
            .sink
            .deliver(delivery.mode(), delivery.events(), &context)
            .instrument(span.clone())
            .await;
        let events = delivery.len();
        let response = span.in_scope(|| self.answer(outcome, events));
        if response.status().is_success() {
            counts.handed_over = events;
        }
        guard.finish(response.status().as_u16()).await;
        (response, counts)
    }

    /// One event at a time, each with its own claim.
    async fn per_event(&self, over: &Handover<'_>, delivery: Delivery) -> (Response, Counts) {
        // A batch's events are handed over one by one, each as a single event.
        let mode = match delivery.mode() {
            Mode::Batch => Mode::Structured,
            other => other,
        };
        let total = delivery.len();
        let mut counts = Counts::default();
        let mut last = None;
        for event in delivery.into_events() {
            let mut one = Delivery::new(mode, vec![event]);
            let guard = match self.dedup.claim_for(over.identity, &mut one).await {
                Ok(ClaimOutcome::Handle(guard)) => guard,
                Ok(ClaimOutcome::AllDuplicates) => {
                    counts.duplicates += 1;
                    continue;
                }
                Err(error) => return (respond(problem_response(&error.problem())), counts),
            };
            let (span, context) = over.start(one.events());
            let outcome = self
                .sink
                .deliver(mode, one.events(), &context)
                .instrument(span.clone())
                .await;
            let response = span.in_scope(|| self.answer(outcome, 1));
            let status = response.status();
            guard.finish(status.as_u16()).await;
            if !status.is_success() {
                return (response, counts);
            }
            counts.handed_over += 1;
            last = Some(response);
        }
        let response = match last {
            // One event: its answer (a Web PubSub event handler reads the body).
            Some(response) if total == 1 => response,
            _ => StatusCode::OK.into_response(),
        };
        (response, counts)
    }

    /// The answer for a sink's outcome, logged.
    fn answer(&self, outcome: Outcome, events: usize) -> Response {
        match outcome {
            Outcome::Ack {
                status,
                body,
                headers,
            } => {
                tracing::info!(events, status, "delivered");
                with_body(status, body, headers)
            }
            Outcome::Refused {
                status,
                body,
                headers,
            } => {
                tracing::warn!(events, status, "refused downstream: passed back");
                with_body(status, body, headers)
            }
            Outcome::Failed(why) => {
                tracing::warn!(events, reason = %why, "not delivered: answered 503, claims released");
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
    metrics::rejected(problem.type_uri(), "route");
    respond(problem_response(&problem))
}

/// `GET /livez`: 200 while the process answers, stopping included (a liveness
/// probe must not restart a receiver that is finishing its deliveries).
pub(crate) async fn livez() -> Response {
    (StatusCode::OK, "ok\n").into_response()
}

/// `GET /readyz` (and `/healthz`, its alias): 200 when the dedup store answers
/// [`ping`](hookgate::dedup::DedupStore::ping) within 2 s and the process is not
/// stopping, 503 otherwise. The probe changes nothing: on Redis it is one `PING`,
/// never a write.
pub(crate) async fn readyz(State(app): State<Arc<App>>) -> Response {
    if app.stopping.load(Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response();
    }
    match tokio::time::timeout(Duration::from_secs(2), app.dedup.store().ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the dedup store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "dedup store unavailable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "dedup store timed out\n").into_response(),
    }
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        app.prometheus.render(),
    )
        .into_response()
}

fn respond(response: http::Response<Bytes>) -> Response {
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

/// The span of a hand-over: the event's id, type and source (the first event's,
/// with the count, for a batch), on every log line inside. Without a current span
/// with an OpenTelemetry context (the library's delivery span), it continues the
/// sender's `traceparent` from `headers` (a new trace when there is none).
fn span_of(events: &[CloudEvent], headers: &HeaderMap) -> Span {
    let span = match events {
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
    };
    if !Span::current().context().has_active_span() {
        let sender = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        // Fails only without the OpenTelemetry layer (tracing off): nothing to do.
        let _ = span.set_parent(sender);
    }
    span
}
