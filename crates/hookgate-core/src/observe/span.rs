//! The spans of a delivery and of its events: their names and fields, decided
//! here once for both adapters.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::Span;
use tracing::field::Empty;

use crate::auth::Identity;
use crate::binding::Mode;
use crate::event::CloudEvent;
use crate::headers::HeaderSource;
use crate::problem::Problem;

/// The name of the span of a request through the whole stack (target
/// `hookgate::delivery`, level `INFO`).
pub const DELIVERY_SPAN: &str = "hookgate.delivery";

/// The name of an event's processing span (target `hookgate::event`, level
/// `INFO`, OpenTelemetry kind CONSUMER), after OpenTelemetry's messaging
/// conventions' `process` operation.
pub const EVENT_SPAN: &str = "process";

/// What became of a request, as the `hookgate.outcome` field and the `outcome`
/// metric label say.
///
/// A handler whose answer means something else than its status says (one that
/// deduplicates by itself and answers a duplicate with 200) puts the outcome into
/// its response's extensions: the adapters hand it to
/// [`Admitted::finish`](crate::webhook::Admitted::finish). The events it dropped
/// as duplicates are its own to count ([`DUPLICATES`](super::DUPLICATES)).
///
/// ```ignore
/// // axum (actix-web: `HttpResponse::extensions_mut` alike)
/// let mut response = StatusCode::OK.into_response();
/// response.extensions_mut().insert(hookgate_core::observe::Outcome::Duplicate);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The handler answered with a 2xx.
    Accepted,
    /// Every event was a duplicate: answered 200 without the handler.
    Duplicate,
    /// A step, or the handler, refused it (any status that is not a 2xx).
    Refused,
    /// A validation handshake granted.
    Handshake,
}

impl Outcome {
    /// `accepted`, `duplicate`, `refused`, `handshake`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
            Self::Handshake => "handshake",
        }
    }
}

/// The span of one request through the whole stack (the caller checked that
/// spans are [`enabled`]). A child of the current span
/// when there is one (tower-http's `TraceLayer`, tracing-actix-web's
/// `TracingLogger`); else the span that continues the request's W3C
/// `traceparent` (with the `otel` feature) as the trace's SERVER span.
pub(crate) fn delivery_span<H: HeaderSource>(
    method: &str,
    path: &str,
    headers: &H,
    route: Option<&str>,
) -> Span {
    let nested = !Span::current().is_none();
    let span = tracing::info_span!(
        target: "hookgate::delivery",
        DELIVERY_SPAN,
        otel.kind = if nested { "internal" } else { "server" },
        otel.status_code = Empty,
        http.request.method = method,
        url.path = path,
        http.response.status_code = Empty,
        hookgate.route = route,
        hookgate.outcome = Empty,
        hookgate.stage = Empty,
        error.type = Empty,
        hookgate.auth = Empty,
        hookgate.sender = Empty,
        hookgate.mode = Empty,
        messaging.batch.message_count = Empty,
        hookgate.duplicates = Empty,
    );
    #[cfg(feature = "otel")]
    if !nested
        && !span.is_disabled()
        && let Some(context) = super::TraceContext::from_headers(headers)
    {
        super::otel::set_parent(&span, &context);
    }
    #[cfg(not(feature = "otel"))]
    let _ = headers;
    span
}

/// Whether any subscriber takes `INFO` spans: when none does (no subscriber at
/// all, or one at `WARN`), no span is made, not even a disabled one (which, with
/// `tracing`'s `log` feature on somewhere in the build, keeps its metadata and
/// asks the `log` crate at each enter, exit and drop).
pub(crate) fn enabled() -> bool {
    tracing::level_enabled!(tracing::Level::INFO)
}

/// The current span, when spans are [`enabled`]; else none (no dispatcher
/// lookup).
pub(crate) fn current() -> Span {
    if enabled() {
        Span::current()
    } else {
        Span::none()
    }
}

/// Records the sender on the delivery span.
pub(crate) fn record_identity(span: &Span, identity: &Identity) {
    if span.is_disabled() {
        return;
    }
    span.record("hookgate.auth", identity_kind(identity));
    if let Some(label) = identity.configured_label() {
        span.record("hookgate.sender", &**label);
    }
}

/// Records the parsed delivery: its mode and how many events it carries.
pub(crate) fn record_delivery(span: &Span, mode: Mode, events: usize) {
    if span.is_disabled() {
        return;
    }
    span.record("hookgate.mode", mode_name(mode));
    span.record("messaging.batch.message_count", events as i64);
}

/// Records the end: outcome, status, and for a refusal its stage and problem type
/// (`error.type`); a 5xx marks the span an error (OpenTelemetry's HTTP server
/// rule: a 4xx is the client's, not the server's, error).
pub(crate) fn record_end(
    span: &Span,
    outcome: Outcome,
    status: u16,
    refusal: Option<(&str, Option<&Problem>)>,
) {
    if span.is_disabled() {
        return;
    }
    span.record("hookgate.outcome", outcome.as_str());
    span.record("http.response.status_code", i64::from(status));
    if let Some((stage, problem)) = refusal {
        span.record("hookgate.stage", stage);
        match problem {
            Some(problem) => span.record("error.type", problem.type_uri()),
            None => span.record("error.type", i64::from(status)),
        };
    }
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
}

/// The processing spans of a delivery's events, children of the delivery span;
/// shared by the delivery (where an [`EventRouter`](crate::route::EventRouter)
/// enters each around its handler) and the admission (which records the outcome
/// of those no router settled, when the delivery is answered).
#[derive(Debug)]
pub(crate) struct EventSpans {
    spans: Box<[Span]>,
    routed: AtomicBool,
}

impl EventSpans {
    /// A span for each event, when the delivery span is enabled (else `None`, and
    /// nothing is allocated).
    pub(crate) fn new(parent: &Span, events: &[CloudEvent]) -> Option<Arc<Self>> {
        if parent.is_disabled() || events.is_empty() {
            return None;
        }
        let spans = events.iter().map(|e| event_span(parent, e)).collect();
        Some(Arc::new(Self {
            spans,
            routed: AtomicBool::new(false),
        }))
    }

    /// The span of event `index`, for the router: marks the spans as settled by
    /// it.
    pub(crate) fn routed(&self, index: usize) -> Option<&Span> {
        self.routed.store(true, Ordering::Relaxed);
        self.spans.get(index)
    }

    /// The only span, for the handler of a one-event delivery to run in.
    pub(crate) fn single(&self) -> Option<&Span> {
        match &*self.spans {
            [span] => Some(span),
            _ => None,
        }
    }

    /// The delivery was answered: the outcome on each span no router settled.
    pub(crate) fn finish(&self, status: u16, problem: Option<&Problem>) {
        if self.routed.load(Ordering::Relaxed) {
            return;
        }
        for span in &*self.spans {
            record_event(
                span,
                (200..300).contains(&status),
                problem.map(Problem::type_uri),
            );
        }
    }
}

/// The processing span of one event, a child of `parent`, linked to the event's
/// own trace context (its `traceparent` extension) with the `otel` feature.
pub(crate) fn event_span(parent: &Span, event: &CloudEvent) -> Span {
    if !enabled() {
        return Span::none();
    }
    let span = tracing::info_span!(
        target: "hookgate::event",
        parent: parent,
        EVENT_SPAN,
        otel.kind = "consumer",
        otel.status_code = Empty,
        messaging.operation.type = "process",
        messaging.operation.name = "process",
        cloudevents.event_id = event.id(),
        cloudevents.event_source = event.source(),
        cloudevents.event_type = event.ty(),
        cloudevents.event_subject = event.subject(),
        cloudevents.event_spec_version = event.specversion().as_str(),
        hookgate.outcome = Empty,
        error.type = Empty,
    );
    #[cfg(feature = "otel")]
    if !span.is_disabled()
        && let Some(context) = event.trace_context()
    {
        super::otel::add_link(&span, &context);
    }
    span
}

/// An event's outcome: `handled`, or `failed` with its error type (an error
/// status on the span).
pub(crate) fn record_event(span: &Span, handled: bool, error: Option<&str>) {
    if span.is_disabled() {
        return;
    }
    if handled {
        span.record("hookgate.outcome", "handled");
    } else {
        span.record("hookgate.outcome", "failed");
        span.record("otel.status_code", "error");
        if let Some(error) = error {
            span.record("error.type", error);
        }
    }
}

/// The kind of credentials a sender showed: `shared_secret`, `aad`, `webpubsub`.
pub(crate) fn identity_kind(identity: &Identity) -> &'static str {
    match identity {
        Identity::SharedSecret { .. } => "shared_secret",
        #[cfg(feature = "aad")]
        Identity::Aad(_) => "aad",
        Identity::WebPubSub { .. } => "webpubsub",
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Binary => "binary",
        Mode::Structured => "structured",
        Mode::Batch => "batch",
    }
}
