//! The bridge to OpenTelemetry (feature `otel`): a span's remote parent and its
//! links, through `tracing-opentelemetry`. Without an OpenTelemetry layer in the
//! subscriber these are no-ops.

use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::TraceContext;

/// The OpenTelemetry form of a sender's context (remote).
#[must_use]
pub fn span_context(context: &TraceContext) -> SpanContext {
    let state = context
        .tracestate()
        .and_then(|state| state.parse::<TraceState>().ok())
        .unwrap_or_default();
    SpanContext::new(
        TraceId::from_bytes(context.trace_id()),
        SpanId::from_bytes(context.parent_id()),
        TraceFlags::new(context.flags()),
        true,
        state,
    )
}

/// Makes `context` the parent of `span` (before the span is first entered).
pub(crate) fn set_parent(span: &Span, context: &TraceContext) {
    let parent = opentelemetry::Context::new().with_remote_span_context(span_context(context));
    // Fails only without an OpenTelemetry layer, or once the span started: then
    // there is nothing to continue.
    let _ = span.set_parent(parent);
}

/// Links `span` to the context an event was created in.
pub(crate) fn add_link(span: &Span, context: &TraceContext) {
    span.add_link(span_context(context));
}
