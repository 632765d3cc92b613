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
use http::StatusCode;
use http::header::CONTENT_TYPE;
use tokio::sync::Semaphore;
use tracing::{Instrument as _, Span};

use crate::metrics::Metrics;
use crate::sink::{Outcome, Sink, sender_label};

/// What the handler needs, shared by all requests.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) sink: Sink,
    pub(crate) dedup: DedupPolicy,
    pub(crate) metrics: Arc<Metrics>,
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
    let Some(delivery) = extensions.remove::<Delivery>() else {
        let error = Error::new(
            ErrorKind::NotCloudEvent,
            "the request carries no CloudEvent",
        );
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
        return respond(problem_response(&problem));
    };
    let _in_flight = app.metrics.in_flight();
    let started = Instant::now();
    let response = if app.per_event {
        app.per_event(identity.as_ref(), delivery).await
    } else {
        app.whole(identity.as_ref(), delivery).await
    };
    app.metrics.observe(started.elapsed());
    response
}

impl App {
    /// The delivery as one: one claim set, one hand-over.
    async fn whole(&self, identity: Option<&Identity>, mut delivery: Delivery) -> Response {
        let before = delivery.len();
        let guard = match self.dedup.claim_for(identity, &mut delivery).await {
            Ok(ClaimOutcome::Handle(guard)) => guard,
            Ok(ClaimOutcome::AllDuplicates) => {
                self.metrics.duplicates(before);
                span_of(delivery.events()).in_scope(|| {
                    tracing::info!(
                        events = before,
                        "duplicates: answered 200 without handing over"
                    )
                });
                return StatusCode::OK.into_response();
            }
            Err(error) => return respond(problem_response(&error.problem())),
        };
        self.metrics.duplicates(before - delivery.len());
        let span = span_of(delivery.events());
        let outcome = self
            .sink
            .deliver(delivery.mode(), delivery.events(), sender_label(identity))
            .instrument(span.clone())
            .await;
        let events = delivery.len();
        let response = span.in_scope(|| self.answer(outcome, events));
        if response.status().is_success() {
            self.metrics.accepted(events);
        }
        guard.finish(response.status().as_u16()).await;
        response
    }

    /// One event at a time, each with its own claim.
    async fn per_event(&self, identity: Option<&Identity>, delivery: Delivery) -> Response {
        // A batch's events are handed over one by one, each as a single event.
        let mode = match delivery.mode() {
            Mode::Batch => Mode::Structured,
            other => other,
        };
        let total = delivery.len();
        let mut handled = 0;
        let mut last = None;
        for event in delivery.into_events() {
            let mut one = Delivery::new(mode, vec![event]);
            let guard = match self.dedup.claim_for(identity, &mut one).await {
                Ok(ClaimOutcome::Handle(guard)) => guard,
                Ok(ClaimOutcome::AllDuplicates) => {
                    self.metrics.duplicates(1);
                    continue;
                }
                Err(error) => {
                    self.metrics.events(handled);
                    return respond(problem_response(&error.problem()));
                }
            };
            let span = span_of(one.events());
            let outcome = self
                .sink
                .deliver(mode, one.events(), sender_label(identity))
                .instrument(span.clone())
                .await;
            let response = span.in_scope(|| self.answer(outcome, 1));
            let status = response.status();
            guard.finish(status.as_u16()).await;
            if !status.is_success() {
                self.metrics.events(handled);
                return response;
            }
            handled += 1;
            last = Some(response);
        }
        self.metrics.events(handled);
        self.metrics.delivery();
        match last {
            // One event: its answer (a Web PubSub event handler reads the body).
            Some(response) if total == 1 => response,
            _ => StatusCode::OK.into_response(),
        }
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
                self.metrics.failed();
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
pub(crate) async fn not_found(app: Arc<App>) -> Response {
    let problem = Problem::new(
        404,
        "not-found",
        "Not found",
        "nothing is served at this path",
    );
    app.metrics.rejected(problem.type_uri());
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
        app.metrics.render(),
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
/// with the count, for a batch), on every log line inside.
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
