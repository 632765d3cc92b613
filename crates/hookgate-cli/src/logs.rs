//! Logs on stderr, as text or JSON lines, and the spans to OpenTelemetry.
//!
//! A JSON line written inside a span that has OpenTelemetry ids starts with them:
//! `{"trace_id":"4bf9…","span_id":"00f0…","timestamp":…}` (the ids of the span the
//! line was logged in, as a collector shows them), so that a log search finds the
//! trace and a trace its log lines. Text lines stay as they were: the span's
//! fields, no ids.
//!
//! `--log-level` bounds the log lines; the spans go to OpenTelemetry from `info`
//! (or the more verbose log level) whatever the log level, so that `warn` logs do
//! not lose the traces.

use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, filter_fn};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Installs the subscriber: the log lines at `level` in `format` on stderr, and,
/// with a tracer, every span to it.
pub(crate) fn init(format: LogFormat, level: tracing::Level, tracer: Option<SdkTracer>) {
    let log_level = LevelFilter::from_level(level);
    let lines = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let lines = match format {
        LogFormat::Text => lines.with_filter(log_level).boxed(),
        LogFormat::Json => lines
            .fmt_fields(JsonFields::new())
            .event_format(WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            ))
            .with_filter(log_level)
            .boxed(),
    };
    // Spans from `info`, events (as span events) from `warn`: the `info` lines
    // are in the log, with the trace ids. No code location, thread or busy/idle
    // times on the spans, and no OpenTelemetry context attached at each enter
    // (nothing in the program reads `Context::current()`): a span costs the layer
    // about half as much.
    let otel_level = log_level.max(LevelFilter::INFO);
    let spans = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_context_activation(false)
            .with_filter(filter_fn(move |meta| {
                let level = if meta.is_span() {
                    otel_level
                } else {
                    LevelFilter::WARN.min(otel_level)
                };
                *meta.level() <= level
            }))
    });
    tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .init();
}

/// A JSON event format with the OpenTelemetry `trace_id` and `span_id` of the
/// event's span first.
#[derive(Debug)]
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        // Read before the line is formatted: the lookup locks the span's data.
        let Some((trace_id, span_id)) = ctx.parent_span().and_then(|span| ids(&span.id())) else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            None => writer.write_str(&line),
        }
    }
}

/// The OpenTelemetry ids of the span `id`, when it has valid ones.
fn ids(id: &tracing::span::Id) -> Option<(TraceId, SpanId)> {
    tracing::dispatcher::get_default(|dispatch| {
        let cx = tracing_opentelemetry::get_otel_context(id, dispatch)?;
        let span = cx.span();
        let context = span.span_context();
        context
            .is_valid()
            .then(|| (context.trace_id(), context.span_id()))
    })
}
