//! What an operator sees of a delivery: its spans, the sender's trace continued,
//! and its metrics. Decided here once; both adapters (`hookgate_tower::WebhookLayer`,
//! `hookgate_actix::Webhook`) only enter the spans.
//!
//! **Spans.** The webhook stack opens one span per request, [`DELIVERY_SPAN`]
//! (`hookgate.delivery`, target `hookgate::delivery`, level `INFO`), around every
//! step and the handler, and one processing span per event handed to the handler,
//! [`EVENT_SPAN`] (`process`, target `hookgate::event`, OpenTelemetry kind
//! CONSUMER, after the messaging conventions CloudEvents defers to), a child of the
//! delivery span. An [`EventRouter`](crate::route::EventRouter) runs each event's
//! handler inside its span; a handler of the whole delivery runs inside the
//! delivery span, or inside the event's span when the delivery holds one event.
//!
//! | span | field | value |
//! |---|---|---|
//! | delivery | `otel.kind` | `server` when it starts the trace's server side, `internal` under an outer span |
//! | delivery | `http.request.method`, `url.path` | the request's (never the query: it may hold a secret) |
//! | delivery | `hookgate.route` | the policy's [`name`](crate::webhook::WebhookPolicyBuilder::name), when set |
//! | delivery | `hookgate.auth`, `hookgate.sender` | the kind of credentials (`shared_secret`, `aad`, `webpubsub`) and the sender's configured label; never a secret |
//! | delivery | `hookgate.mode`, `messaging.batch.message_count`, `hookgate.duplicates` | how the events came, how many, how many were duplicates |
//! | delivery | `hookgate.outcome` | `accepted`, `duplicate`, `refused`, `handshake` |
//! | delivery | `http.response.status_code`, `hookgate.stage`, `error.type` | the status; for a refusal the step and the problem's `type` |
//! | delivery | `otel.status_code` | `error` for a 5xx (a 4xx is the sender's error, not the span's) |
//! | event | `cloudevents.event_id`, `cloudevents.event_source`, `cloudevents.event_type`, `cloudevents.event_subject`, `cloudevents.event_spec_version` | the event's attributes (OpenTelemetry's CloudEvents conventions) |
//! | event | `messaging.operation.type`, `messaging.operation.name` | `process` |
//! | event | `hookgate.outcome`, `error.type`, `otel.status_code` | `handled`, or `failed` with the problem type and an error status |
//!
//! **Parenting.** When a span is current as the request comes in (tower-http's
//! `TraceLayer`, tracing-actix-web's `TracingLogger`), the delivery span is its
//! child, and the trace is what that span continues. Otherwise, with the `otel`
//! feature, the delivery span continues the request's W3C `traceparent` and
//! `tracestate` headers itself (parsed here, whatever global propagator is set).
//! An event's own context, its `traceparent`/`tracestate` extension (the
//! CloudEvents distributed-tracing extension: `ce-traceparent` in binary mode, an
//! attribute in structured and batch mode), becomes a link of the event's span;
//! handlers that pass it on read it with
//! [`CloudEvent::trace_context`](crate::CloudEvent::trace_context).
//!
//! **Cost.** With no subscriber (or one that filters `INFO` spans out) no span is
//! made: a level check per delivery, no field formatted, no event span allocated
//! (figures in `BENCHMARKS.md`, "Observability").
//!
//! **Metrics** (feature `metrics`, through the `metrics` facade: nothing recorded
//! until a recorder is installed, and nothing compiled in without the feature):
//!
//! | name | kind | labels |
//! |---|---|---|
//! | [`hookgate.deliveries`](DELIVERIES) | counter | `outcome`, `route`, `sender` |
//! | [`hookgate.events`](EVENTS) | counter | `route`, `sender` |
//! | [`hookgate.duplicates`](DUPLICATES) | counter | `route`, `sender` |
//! | [`hookgate.rejections`](REJECTIONS) | counter | `problem_type` (bounded: [`MAX_PROBLEM_TYPES`], then `other`), `stage`, `route` |
//! | [`hookgate.deliveries.active`](ACTIVE) | gauge | `route` |
//! | [`hookgate.handler.duration`](HANDLER_DURATION) | histogram, seconds | `outcome`, `route` |
//!
//! Labels come from bounded sets only: the outcome, the problem type, the stage,
//! the policy's name, and the sender's configured label (a shared secret's label,
//! a Web PubSub host); never an event's type or source, never a value a request
//! chose. A Prometheus exporter renders the names with `_` for `.` (and `_total`
//! on counters): `hookgate_deliveries_total{outcome="accepted"}`.
//!
//! ```
//! use hookgate_core::observe::{TraceContext, DELIVERY_SPAN, EVENT_SPAN};
//! use hookgate_core::{CloudEvent, ExtensionValue};
//!
//! let event = CloudEvent::new("1", "/orders", "order.created")
//!     .with_extension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
//!     .unwrap();
//! let context: TraceContext = event.trace_context().unwrap();
//! assert_eq!(context.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!((DELIVERY_SPAN, EVENT_SPAN), ("hookgate.delivery", "process"));
//! ```

mod context;
mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
mod span;

pub use context::{MAX_TRACESTATE_LEN, MAX_TRACESTATE_MEMBERS, TraceContext};
pub use metrics::{
    ACTIVE, DELIVERIES, DUPLICATES, EVENTS, HANDLER_DURATION, MAX_PROBLEM_TYPES, REJECTIONS,
};
pub use span::{DELIVERY_SPAN, EVENT_SPAN, Outcome};

pub(crate) use metrics::{Active, Meter};
pub(crate) use span::{
    EventSpans, current, delivery_span, enabled, event_span, record_delivery, record_end,
    record_event, record_identity,
};
