//! Where accepted events go: [`stdout`], [`exec`] or [`forward`], each one file
//! behind the one [`Sink`] trait.
//!
//! A sink gets a [`Handoff`]: the events of one delivery (or of one event, with
//! `--per-event`) that deduplication left, their content mode, and the delivery's
//! [`DeliveryContext`] (the trace context to pass on, the sender's trace headers and
//! its label). It answers with an [`Outcome`]: acknowledge (the claims are
//! completed), refuse as the downstream did (a 4xx passed back, the claims
//! released), or fail (503 with `Retry-After`, the claims released so that the
//! sender's retry is handled). A sink acknowledges only once its target holds the
//! events (an exit 0, a downstream 2xx, stdout written and flushed). A sink that
//! stores a batch's events one by one marks each one stored
//! ([`Handoff::stored`]): after a partial failure its 503 releases only the
//! others, and the retry hands over only what is missing.

pub(crate) mod exec;
pub(crate) mod forward;
pub(crate) mod nats;
pub(crate) mod redis_stream;
pub(crate) mod stdout;

use std::fmt;

use bytes::Bytes;
use hookgate::auth::Identity;
use hookgate::dedup::EventClaims;
use hookgate::{CloudEvent, Mode};
use http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The sender's W3C trace context, which a sink passes on as hookgate's span's
/// (see [`DeliveryContext::trace_headers`]).
pub(crate) const TRACE: [&str; 2] = ["traceparent", "tracestate"];

/// The most request headers passed on.
const MAX_PASSED: usize = 64;

/// Which request headers a route's sinks may pass on: what a downstream uses of a
/// delivery, never a credential or a hop-by-hop header.
///
/// | passed on | on |
/// |---|---|
/// | `traceparent`, `tracestate` (as hookgate's span's, see [`DeliveryContext::trace_headers`]) | every route |
/// | `aeg-*`: Event Grid's `aeg-delivery-count`, `aeg-subscription-name`, `aeg-event-type`, `aeg-metadata-version`, `aeg-data-version` | every route |
/// | `x-request-id` | every route |
/// | `ce-*` as received (Web PubSub's connection context: `ce-connectionId`, `ce-hub`, `ce-userId`, `ce-eventName`, `ce-connectionState`, ...) | `webpubsub` routes |
///
/// Never passed on: `ce-signature` (the service's signature, checked here with a
/// key the downstream does not have), Event Grid's `aeg-sas-key` and
/// `aeg-sas-token`, the route's `secret_header`, and every other header
/// (`Authorization`, `Cookie`, `Connection` and the other hop-by-hop headers, the
/// query's `?code=`: the URL is the downstream's own).
#[derive(Clone, Debug, Default)]
pub(crate) struct PassedOn {
    /// A `webpubsub` route: its `ce-*` headers too.
    webpubsub: bool,
    /// The route's `secret_header`, lowercased.
    secret_header: Option<String>,
}

impl PassedOn {
    /// The rule of `route`.
    pub(crate) fn of(route: &crate::config::RouteSettings) -> Self {
        Self {
            webpubsub: route.sender == crate::config::SenderKind::WebPubSub,
            secret_header: route
                .auth
                .secret_header
                .as_ref()
                .map(|h| h.to_ascii_lowercase()),
        }
    }

    /// Whether the request header `name` (lowercase, as `http` keeps names) is
    /// passed on.
    fn keeps(&self, name: &str) -> bool {
        if self.secret_header.as_deref() == Some(name)
            || matches!(name, "ce-signature" | "aeg-sas-key" | "aeg-sas-token")
        {
            return false;
        }
        TRACE.contains(&name)
            || name == "x-request-id"
            || name.starts_with("aeg-")
            || (self.webpubsub && name.starts_with("ce-"))
    }
}

/// What a sink gets with the events of a delivery.
#[derive(Debug, Default)]
pub(crate) struct DeliveryContext<'a> {
    /// The OpenTelemetry context of hookgate's span for the hand-over, when
    /// tracing is on.
    pub(crate) span: Option<SpanContext>,
    /// The request's headers a sink may pass on ([`PassedOn`]), as received.
    pub(crate) headers: HeaderMap,
    /// The sender's label, if any (see [`sender_label`]).
    pub(crate) sender: Option<&'a str>,
}

impl<'a> DeliveryContext<'a> {
    /// The context of a hand-over that runs in `span`: its OpenTelemetry context
    /// when it has one; `headers`, the request's, filtered by `passed`.
    pub(crate) fn new(
        span: &tracing::Span,
        headers: &HeaderMap,
        passed: &PassedOn,
        sender: Option<&'a str>,
    ) -> Self {
        let cx = span.context();
        let span = Some(cx.span().span_context().clone()).filter(SpanContext::is_valid);
        let mut kept = HeaderMap::new();
        for (name, value) in headers {
            if kept.len() < MAX_PASSED && passed.keeps(name.as_str()) {
                kept.append(name.clone(), value.clone());
            }
        }
        Self {
            span,
            headers: kept,
            sender,
        }
    }

    /// The W3C trace context to pass on (`traceparent`, and `tracestate` when not
    /// empty): hookgate's span as the parent when tracing is on, the sender's own
    /// headers unchanged when it is off (none when it sent none).
    pub(crate) fn trace_headers(&self) -> HeaderMap {
        let Some(span) = &self.span else {
            let mut headers = HeaderMap::new();
            for name in TRACE {
                if let Some(value) = self.headers.get(name) {
                    headers.insert(name, value.clone());
                }
            }
            return headers;
        };
        let mut headers = HeaderMap::new();
        let cx = opentelemetry::Context::new().with_remote_span_context(span.clone());
        TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(&mut headers));
        if headers.get("tracestate").is_some_and(|v| v.is_empty()) {
            headers.remove("tracestate");
        }
        headers
    }

    /// Every header to pass on: the [`trace_headers`](Self::trace_headers) and the
    /// others [`PassedOn`] keeps, as received.
    pub(crate) fn passed_headers(&self) -> HeaderMap {
        let mut headers = self.trace_headers();
        for (name, value) in &self.headers {
            if !TRACE.contains(&name.as_str()) {
                headers.append(name.clone(), value.clone());
            }
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

/// One place events go. `Send + Sync`: one sink serves every delivery at once.
#[async_trait::async_trait]
pub(crate) trait Sink: fmt::Debug + Send + Sync {
    /// The sink's name, for the log, the metrics and a 503's detail.
    fn name(&self) -> &'static str;

    /// Whether `--max-concurrency` bounds its deliveries (a process or a connection
    /// each); `stdout`'s writer thread takes a delivery in microseconds.
    fn bounded(&self) -> bool {
        true
    }

    /// Hands the events over; see the [module docs](self) for what each outcome
    /// means.
    async fn deliver(&self, handoff: &Handoff<'_>) -> Outcome;
}

/// What a sink is given: the events and what it needs to hand them over.
#[derive(Debug)]
pub(crate) struct Handoff<'a> {
    /// The content mode they came in (a batch, or one event in binary or
    /// structured mode).
    pub(crate) mode: Mode,
    pub(crate) events: &'a [CloudEvent],
    pub(crate) context: &'a DeliveryContext<'a>,
    /// The claims of the delivery's events, when there are any.
    claims: Option<&'a EventClaims>,
    /// The index of `events[0]` in the delivery (a `--per-event` hand-over).
    first: usize,
}

impl<'a> Handoff<'a> {
    /// `events` (from index `first` of the delivery whose `claims` these are).
    pub(crate) fn new(
        mode: Mode,
        events: &'a [CloudEvent],
        context: &'a DeliveryContext<'a>,
        claims: Option<&'a EventClaims>,
        first: usize,
    ) -> Self {
        Self {
            mode,
            events,
            context,
            claims,
            first,
        }
    }

    /// Event `index` (of [`events`](Self::events)) is stored: whatever the answer,
    /// its claim is completed, so that a retry leaves it out.
    pub(crate) fn stored(&self, index: usize) {
        if let Some(claims) = self.claims {
            claims.mark_handled(self.first + index);
        }
    }
}

/// An event's stable id for a broker's own deduplication: SHA-256 (hex) of its
/// sender's label, source and id, each prefixed by its length (so that no two
/// triples run together into one). The same event from the same sender has the
/// same id on every replica and every retry.
pub(crate) fn stable_id(sender: Option<&str>, event: &CloudEvent) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hash = Sha256::new();
    for part in [sender.unwrap_or(""), event.source(), event.id()] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
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
