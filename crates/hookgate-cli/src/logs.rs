//! Logs on stderr, as text or JSON lines, and the spans to OpenTelemetry.
//!
//! A JSON line written inside a span that has OpenTelemetry ids starts with them:
//! `{"trace_id":"4bf9…","span_id":"00f0…","timestamp":…}` (the ids of the span the
//! line was logged in, as a collector shows them), so that a log search finds the
//! trace and a trace its log lines. Text lines have no ids.
//!
//! `--log-level` bounds the log lines; the spans go to OpenTelemetry from `info`
//! (or the more verbose log level) whatever the log level, so that `warn` logs do
//! not lose the traces.
//!
//! **The lines carry their own fields, not their spans'.** The log layer does not
//! see the spans: formatting every span's fields for the log (as
//! `tracing-subscriber` does when a span is made, whether a line is then written in
//! it or not) cost about as much as the rest of a delivery (BENCHMARKS.md, issue
//! 24). A delivery's line says which delivery it was itself: `route`, `sender`,
//! the first event's `id`, `type` and `source`, `events`, `status`.
//!
//! **A thread writes them.** Lines go through a bounded queue ([`QUEUED_LINES`]) to
//! a writer thread that writes what has queued up in one go (a buffer, one
//! `write` for many lines under load), so a slow or blocked stderr (a full pipe, a
//! stalled log collector) never stalls a delivery. When the queue is full, a line
//! is dropped and counted (`hookgate_log_lines_dropped_total` on `/metrics`); the
//! queue is flushed when the program ends.

use std::io::BufWriter;
use std::sync::OnceLock;

use opentelemetry::trace::{SpanId, TraceContextExt as _, TraceId};
use opentelemetry_sdk::trace::SdkTracer;
use tracing::{Event, Subscriber};
use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, filter_fn};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// The most log lines waiting for the writer thread (at a few hundred bytes a
/// line, a few MiB); past it, lines are dropped and counted.
pub(crate) const QUEUED_LINES: usize = 16_384;

/// The writer thread's buffer: what it writes in one go at most.
const WRITE_BUFFER: usize = 64 * 1024;

/// The count of dropped lines, once the writer is made.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// How many log lines were dropped because the queue was full.
pub(crate) fn dropped_lines() -> usize {
    DROPPED.get().map_or(0, ErrorCounter::dropped_lines)
}

/// The log writer; dropped, it writes the lines still queued and stops.
#[derive(Debug)]
#[must_use = "the log lines still queued are written when it is dropped"]
pub(crate) struct Logs {
    _writer: WorkerGuard,
}

/// Installs the subscriber: the log lines at `level` in `format` on stderr, from a
/// writer thread, and, with a tracer, every span to it.
pub(crate) fn init(format: LogFormat, level: tracing::Level, tracer: Option<SdkTracer>) -> Logs {
    let log_level = LevelFilter::from_level(level);
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("hookgate-log")
        // Flushed by the thread each time the queue is empty (a line is out as soon
        // as the thread is idle) and when it stops.
        .finish(BufWriter::with_capacity(WRITE_BUFFER, std::io::stderr()));
    let _ = DROPPED.set(writer.error_counter());
    // Events only: no span's fields are formatted for the log (see the module docs).
    let events = filter_fn(move |meta| meta.is_event() && *meta.level() <= log_level)
        .with_max_level_hint(log_level);
    let lines = tracing_subscriber::fmt::layer().with_writer(writer);
    let lines = match format {
        LogFormat::Text => lines.with_filter(events).boxed(),
        LogFormat::Json => lines
            .fmt_fields(JsonFields::new())
            .event_format(WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(false)
                    .with_span_list(false),
            ))
            .with_filter(events)
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
            .with_filter(
                filter_fn(move |meta| {
                    let level = if meta.is_span() {
                        otel_level
                    } else {
                        LevelFilter::WARN.min(otel_level)
                    };
                    *meta.level() <= level
                })
                .with_max_level_hint(otel_level),
            )
    });
    tracing_subscriber::registry()
        .with(lines)
        .with(spans)
        .init();
    Logs { _writer: guard }
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
        // The span the line was written in, as the registry knows it (the log
        // layer sees no span: see the module docs). Read before the line is
        // formatted: the lookup locks the span's data.
        let current = tracing::Span::current();
        let Some((trace_id, span_id)) = current.id().and_then(|id| ids(&id)) else {
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
