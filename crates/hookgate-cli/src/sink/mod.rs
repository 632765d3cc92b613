//! Where accepted events go: [`stdout`], [`exec`] or [`forward`].
//!
//! A sink gets the events of one delivery (or of one event, with `--per-event`)
//! that deduplication left, and answers with an [`Outcome`]: acknowledge (the claims
//! are completed), refuse as the downstream did (a 4xx passed back), or fail (503
//! with `Retry-After`, the claims released so that the sender's retry is handled).
//! With the events it gets the delivery's [`DeliveryContext`]: the trace context to pass
//! on and the sender's label.

pub(crate) mod exec;
pub(crate) mod forward;
pub(crate) mod stdout;

use bytes::Bytes;
use hookgate::auth::Identity;
use hookgate::{CloudEvent, Mode};
use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The request headers a sink may pass on: the sender's W3C trace context.
pub(crate) const PASSED_ON: [&str; 2] = ["traceparent", "tracestate"];

/// What a sink gets with the events of a delivery.
#[derive(Debug, Default)]
pub(crate) struct DeliveryContext<'a> {
    /// The OpenTelemetry context of hookgate's span for the hand-over, when
    /// tracing is on.
    pub(crate) span: Option<SpanContext>,
    /// The request's headers a sink may pass on ([`PASSED_ON`]), as received.
    pub(crate) headers: HeaderMap,
    /// The sender's label, if any (see [`sender_label`]).
    pub(crate) sender: Option<&'a str>,
}

impl<'a> DeliveryContext<'a> {
    /// The context of a hand-over that runs in `span`: its OpenTelemetry context
    /// when it has one; `headers`, the request's, filtered to [`PASSED_ON`].
    pub(crate) fn new(span: &tracing::Span, headers: &HeaderMap, sender: Option<&'a str>) -> Self {
        let cx = span.context();
        let span = Some(cx.span().span_context().clone()).filter(SpanContext::is_valid);
        let mut passed = HeaderMap::new();
        for name in PASSED_ON {
            if let Some(value) = headers.get(name) {
                passed.insert(name, value.clone());
            }
        }
        Self {
            span,
            headers: passed,
            sender,
        }
    }

    /// The W3C trace context to pass on (`traceparent`, and `tracestate` when not
    /// empty): hookgate's span as the parent when tracing is on, the sender's own
    /// headers unchanged when it is off (none when it sent none).
    pub(crate) fn trace_headers(&self) -> HeaderMap {
        let Some(span) = &self.span else {
            return self.headers.clone();
        };
        let mut headers = HeaderMap::new();
        let cx = opentelemetry::Context::new().with_remote_span_context(span.clone());
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
        if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
            headers.remove("tracestate");
        }
        headers
    }
}

/// What a sink made of a delivery.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Handled: answer `status` (a 2xx), with this body and content type if any,
    /// and these headers (a downstream's `ce-*` answer headers).
    Ack {
        status: u16,
        body: Option<(String, Bytes)>,
        headers: HeaderMap,
    },
    /// Refused for good by the downstream (a 4xx other than 408 and 429): passed
    /// back as it is.
    Refused {
        status: u16,
        body: Option<(String, Bytes)>,
        headers: HeaderMap,
    },
    /// Not handled: 503 with `Retry-After`; the reason goes to the log and the
    /// problem's detail.
    Failed(String),
}

/// The configured sink.
#[derive(Debug)]
pub(crate) enum Sink {
    Stdout(stdout::StdoutSink),
    Exec(exec::ExecSink),
    Forward(forward::ForwardSink),
}

impl Sink {
    /// The sink's name, for the metrics.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Stdout(_) => "stdout",
            Self::Exec(_) => "exec",
            Self::Forward(_) => "forward",
        }
    }

    /// Hands the events of one delivery over.
    pub(crate) async fn deliver(
        &self,
        mode: Mode,
        events: &[CloudEvent],
        context: &DeliveryContext<'_>,
    ) -> Outcome {
        match self {
            Self::Stdout(sink) => sink.deliver(events).await,
            Self::Exec(sink) => sink.deliver(mode, events, context).await,
            Self::Forward(sink) => sink.deliver(mode, events, context).await,
        }
    }
}

/// The sender's label, for `WEBHOOK_SENDER`: the label of the shared secret it used,
/// the Web PubSub host its key is bound to, or the Azure AD caller's application id;
/// `None` when there is none.
pub(crate) fn sender_label(identity: Option<&Identity>) -> Option<&str> {
    match identity? {
        Identity::Aad(claims) => claims.app_id.as_deref(),
        identity => identity.configured_label().map(|label| &**label),
    }
}
