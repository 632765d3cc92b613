//! What an operator sees, the same on both frameworks: the delivery span continues
//! the sender's HTTP trace (or nests under tower-http's `TraceLayer` and
//! tracing-actix-web's `TracingLogger`), each event's processing span links to the
//! event's own `traceparent`, the outcome of every kind of answer is on the span,
//! and the metrics' label sets stay bounded. Spans go through tracing-opentelemetry
//! to the SDK's in-memory exporter; metrics to a debugging recorder.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::apps::{TestRequest, TestResponse};
use hookgate::auth::{AuthPolicy, SharedSecrets};
use hookgate::dedup::{DedupPolicy, DedupStore, MemoryStore};
use hookgate::handshake::HandshakePolicy;
use hookgate::observe::Outcome;
use hookgate::route::{EventRouter, HandlerError};
use hookgate::{CloudEvent, WebhookPolicy};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt as _;

/// One test at a time: a thread's default subscriber and the callsites' cached
/// interest race with tests on other threads that have none.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const SECRET: &str = "s3cret";

fn policy() -> WebhookPolicy {
    policy_on(Arc::new(MemoryStore::with_capacity(10_000).unwrap()))
}

fn policy_on(store: Arc<dyn DedupStore>) -> WebhookPolicy {
    WebhookPolicy::builder()
        .name("orders")
        .handshake(
            HandshakePolicy::builder()
                .azure_event_grid()
                .build()
                .unwrap(),
        )
        .auth(
            AuthPolicy::builder()
                .shared_secrets(SharedSecrets::labeled([("shop", SECRET)]).unwrap())
                .build()
                .unwrap(),
        )
        .dedup(DedupPolicy::builder().store(store).build().unwrap())
        .build()
        .unwrap()
}

/// The dedup step's refusal: a 503, an error on the span (a 5xx is the server's).
fn check_dedup_refusal(spans: &[SpanData], answer: &TestResponse) {
    assert_eq!(answer.status, 503, "{answer:?}");
    let delivery = one(spans, "hookgate.delivery");
    assert_eq!(
        text(delivery, "hookgate.outcome").as_deref(),
        Some("refused")
    );
    assert_eq!(text(delivery, "hookgate.stage").as_deref(), Some("dedup"));
    assert_eq!(
        text(delivery, "error.type").as_deref(),
        Some("urn:hookgate:problem:dedup-store-unavailable")
    );
    assert!(
        matches!(delivery.status, Status::Error { .. }),
        "{delivery:#?}"
    );
    assert!(
        named(spans, "process").is_empty(),
        "no event reached a handler"
    );
}

/// The router of `/routed`: type `ok` is handled, type `fail` fails (500).
fn router() -> EventRouter {
    EventRouter::builder()
        .on("ok", |_: CloudEvent| async {})
        .on("fail", |_: CloudEvent| async {
            Err::<(), _>(HandlerError::new(500, "down"))
        })
        .build()
        .unwrap()
}

/// What the plain handler of `/events` answers: 200, or for an event of type
/// `problem-N` a 422 problem of type `problem-N` (a handler that makes up types).
fn problem_of(events: &[CloudEvent]) -> Option<hookgate::Problem> {
    let ty = events.first()?.ty();
    ty.starts_with("problem-")
        .then(|| hookgate::Problem::new(422, ty, "Made up", "a handler's own problem type"))
}

/// A handler that deduplicates by itself says so: events of type `seen`.
fn said_duplicate(events: &[CloudEvent]) -> bool {
    events.first().is_some_and(|e| e.ty() == "seen")
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{post, post_service};
    use hookgate::tower::{CloudEvents, EventRoutes, WebhookLayer, problem_response};
    use tower::ServiceBuilder;
    use tower_http::trace::TraceLayer;

    async fn events(CloudEvents(events): CloudEvents) -> Response {
        if let Some(problem) = problem_of(&events) {
            return problem_response(&problem).map(axum::body::Body::from);
        }
        let mut response = "ok".into_response();
        if said_duplicate(&events) {
            response.extensions_mut().insert(Outcome::Duplicate);
        }
        response
    }

    fn routes() -> Router {
        Router::new()
            .route("/events", post(events))
            .route("/routed", post_service(EventRoutes::new(router())))
    }

    pub(super) async fn app(policy: WebhookPolicy) -> Router {
        routes().layer(WebhookLayer::new(policy))
    }

    pub(super) async fn traced(policy: WebhookPolicy) -> Router {
        routes().layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(WebhookLayer::new(policy)),
        )
    }

    pub(super) async fn call(app: &Router, req: &TestRequest) -> TestResponse {
        common::apps::axum_app::call(app, req).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::{CloudEvents, EventRoutes, Webhook, problem_response};

    async fn events(CloudEvents(events): CloudEvents) -> HttpResponse {
        if let Some(problem) = problem_of(&events) {
            return problem_response(&problem);
        }
        let mut response = HttpResponse::Ok().body("ok");
        if said_duplicate(&events) {
            response.extensions_mut().insert(Outcome::Duplicate);
        }
        response
    }

    use common::apps::ActixApp;

    pub(super) async fn app(policy: WebhookPolicy) -> impl ActixApp {
        with_logger(policy, false).await
    }

    pub(super) async fn traced(policy: WebhookPolicy) -> impl ActixApp {
        with_logger(policy, true).await
    }

    async fn with_logger(policy: WebhookPolicy, traced: bool) -> impl ActixApp {
        let logger = tracing_actix_web::TracingLogger::default();
        test::init_service(
            App::new()
                .wrap(Webhook::new(policy))
                .wrap(actix_web::middleware::Condition::new(traced, logger))
                .route("/events", web::post().to(events))
                .service(EventRoutes::new(router()).resource("/routed")),
        )
        .await
    }

    pub(super) async fn call(app: &impl ActixApp, req: &TestRequest) -> TestResponse {
        common::apps::actix_app::call(app, req).await
    }
}

/// A subscriber exporting to an in-memory exporter, the default of this thread
/// while the guard lives.
struct Traces {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Traces {
    fn start() -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        Self {
            exporter,
            provider,
            _guard: guard,
        }
    }

    /// The spans ended since the last call.
    fn take(&self) -> Vec<SpanData> {
        self.provider.force_flush().unwrap();
        let spans = self.exporter.get_finished_spans().unwrap();
        self.exporter.reset();
        spans
    }
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    match named(spans, name).as_slice() {
        [span] => span,
        other => panic!("{} spans named {name} in {spans:#?}", other.len()),
    }
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.as_str().into_owned())
}

fn event(id: &str, ty: &str) -> TestRequest {
    TestRequest::post(&format!("/events?code={SECRET}"))
        .header("ce-specversion", "1.0")
        .header("ce-id", id)
        .header("ce-source", "/shop")
        .header("ce-type", ty)
}

fn traceparent(trace: &str, parent: &str) -> String {
    format!("00-{trace}-{parent}-01")
}

/// A batch whose members carry their own `traceparent` attributes.
fn batch(path: &str, members: &[(&str, &str, &str)]) -> TestRequest {
    let events: Vec<_> = members
        .iter()
        .map(|(id, ty, trace)| {
            serde_json::json!({
                "specversion": "1.0", "id": id, "source": "/shop", "type": ty,
                "traceparent": traceparent(trace, PARENT),
            })
        })
        .collect();
    TestRequest::post(&format!("{path}?code={SECRET}"))
        .header("content-type", "application/cloudevents-batch+json")
        .body(serde_json::to_vec(&events).unwrap())
}

/// The sender's trace continued, without an outer span.
fn check_continued(spans: &[SpanData]) {
    let delivery = one(spans, "hookgate.delivery");
    assert_eq!(
        delivery.span_context.trace_id(),
        TraceId::from_hex(TRACE).unwrap()
    );
    assert_eq!(delivery.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert!(delivery.parent_span_is_remote);
    assert_eq!(delivery.span_kind, SpanKind::Server);
    assert_eq!(
        text(delivery, "hookgate.outcome").as_deref(),
        Some("accepted")
    );
    assert_eq!(text(delivery, "hookgate.route").as_deref(), Some("orders"));
    assert_eq!(
        text(delivery, "hookgate.auth").as_deref(),
        Some("shared_secret")
    );
    assert_eq!(text(delivery, "hookgate.sender").as_deref(), Some("shop"));
    assert_eq!(text(delivery, "hookgate.mode").as_deref(), Some("binary"));
    assert_eq!(text(delivery, "url.path").as_deref(), Some("/events"));
    assert_eq!(
        attr(delivery, "http.response.status_code"),
        Some(&Value::I64(200))
    );
    assert!(
        delivery
            .attributes
            .iter()
            .all(|kv| !kv.value.as_str().contains(SECRET)),
        "a secret on the span: {delivery:#?}"
    );
    let process = one(spans, "process");
    assert_eq!(process.span_kind, SpanKind::Consumer);
    assert_eq!(process.parent_span_id, delivery.span_context.span_id());
    assert_eq!(
        process.span_context.trace_id(),
        delivery.span_context.trace_id()
    );
    assert_eq!(text(process, "cloudevents.event_id").as_deref(), Some("e1"));
    assert_eq!(
        text(process, "cloudevents.event_source").as_deref(),
        Some("/shop")
    );
    assert_eq!(
        text(process, "cloudevents.event_type").as_deref(),
        Some("ok")
    );
    assert_eq!(
        text(process, "cloudevents.event_spec_version").as_deref(),
        Some("1.0")
    );
    assert_eq!(
        text(process, "messaging.operation.type").as_deref(),
        Some("process")
    );
    assert_eq!(
        text(process, "hookgate.outcome").as_deref(),
        Some("handled")
    );
}

/// Under an outer span the delivery span is its child (and so in its trace).
fn check_nested(spans: &[SpanData]) {
    let delivery = one(spans, "hookgate.delivery");
    let outer = spans
        .iter()
        .find(|s| s.span_context.span_id() == delivery.parent_span_id)
        .unwrap_or_else(|| panic!("the delivery span has no parent among {spans:#?}"));
    assert_ne!(outer.name, "hookgate.delivery");
    assert_eq!(delivery.span_kind, SpanKind::Internal);
    assert_eq!(
        delivery.span_context.trace_id(),
        outer.span_context.trace_id()
    );
    assert_eq!(
        one(spans, "process").parent_span_id,
        delivery.span_context.span_id()
    );
}

/// Each event of a batch has a span of its own, linked to its own context; the
/// router settles each: one handled, one failed.
fn check_links(spans: &[SpanData]) {
    let delivery = one(spans, "hookgate.delivery");
    assert_eq!(
        attr(delivery, "messaging.batch.message_count"),
        Some(&Value::I64(2))
    );
    assert_eq!(text(delivery, "hookgate.mode").as_deref(), Some("batch"));
    let process = named(spans, "process");
    assert_eq!(process.len(), 2, "{spans:#?}");
    for (id, trace, outcome) in [
        ("b1", "11111111111111111111111111111111", "handled"),
        ("b2", "22222222222222222222222222222222", "failed"),
    ] {
        let span = process
            .iter()
            .find(|s| text(s, "cloudevents.event_id").as_deref() == Some(id))
            .unwrap();
        assert_eq!(span.links.links.len(), 1, "{span:#?}");
        let link = &span.links.links[0].span_context;
        assert_eq!(link.trace_id(), TraceId::from_hex(trace).unwrap());
        assert_eq!(link.span_id(), SpanId::from_hex(PARENT).unwrap());
        assert_eq!(span.parent_span_id, delivery.span_context.span_id());
        assert_eq!(text(span, "hookgate.outcome").as_deref(), Some(outcome));
    }
    let failed = process
        .iter()
        .find(|s| text(s, "cloudevents.event_id").as_deref() == Some("b2"))
        .unwrap();
    assert!(matches!(failed.status, Status::Error { .. }), "{failed:#?}");
    assert_eq!(
        text(failed, "error.type").as_deref(),
        Some("urn:hookgate:problem:handler-failed")
    );
    assert_eq!(
        text(delivery, "hookgate.outcome").as_deref(),
        Some("refused")
    );
    assert!(
        matches!(delivery.status, Status::Error { .. }),
        "a 500: {delivery:#?}"
    );
}

/// A kind of answer, and what its delivery span says.
struct Case {
    request: TestRequest,
    status: u16,
    outcome: &'static str,
    stage: Option<&'static str>,
    problem: Option<&'static str>,
}

fn case(
    request: TestRequest,
    status: u16,
    outcome: &'static str,
    refusal: Option<(&'static str, &'static str)>,
) -> Case {
    Case {
        request,
        status,
        outcome,
        stage: refusal.map(|(stage, _)| stage),
        problem: refusal.map(|(_, problem)| problem),
    }
}

/// Each kind of answer: accepted, duplicate, a granted handshake, and a refusal by
/// each step and by the handler.
fn outcome_cases() -> Vec<Case> {
    let options = |origin: &str| {
        TestRequest::post("/events")
            .method("OPTIONS")
            .header("WebHook-Request-Origin", origin)
    };
    vec![
        case(event("o1", "ok"), 200, "accepted", None),
        case(event("o1", "ok"), 200, "duplicate", None),
        case(event("o3", "seen"), 200, "duplicate", None),
        case(options("eventgrid.azure.net"), 200, "handshake", None),
        case(
            options("evil.example"),
            403,
            "refused",
            Some(("handshake", "urn:hookgate:problem:origin-not-allowed")),
        ),
        case(
            TestRequest::post("/events?code=wrong").header("ce-specversion", "1.0"),
            401,
            "refused",
            Some(("auth", "urn:hookgate:problem:invalid-credentials")),
        ),
        case(
            TestRequest::post(&format!("/events?code={SECRET}"))
                .header("content-type", "text/plain"),
            415,
            "refused",
            Some(("parse", "urn:hookgate:problem:not-a-cloudevent")),
        ),
        case(
            event("o2", "problem-x"),
            422,
            "refused",
            Some(("handler", "urn:hookgate:problem:problem-x")),
        ),
    ]
}

fn check_outcome(spans: &[SpanData], answer: &TestResponse, case: &Case) {
    assert_eq!(answer.status, case.status, "{answer:?}");
    let delivery = one(spans, "hookgate.delivery");
    let context = format!("{delivery:#?}");
    assert_eq!(
        text(delivery, "hookgate.outcome").as_deref(),
        Some(case.outcome),
        "{context}"
    );
    assert_eq!(
        attr(delivery, "http.response.status_code"),
        Some(&Value::I64(i64::from(case.status))),
        "{context}"
    );
    assert_eq!(
        text(delivery, "hookgate.stage").as_deref(),
        case.stage,
        "{context}"
    );
    assert_eq!(
        text(delivery, "error.type").as_deref(),
        case.problem,
        "{context}"
    );
    // A 4xx is the sender's error, not the span's.
    assert!(
        !matches!(delivery.status, Status::Error { .. }),
        "{context}"
    );
}

/// The span tests of one framework (`$side`: its `app`, `traced` and `call`).
macro_rules! span_test {
    ($name:ident, $test:meta, $side:ident) => {
        #[$test]
        async fn $name() {
            let _one = ONE_AT_A_TIME.lock().await;
            let traces = Traces::start();
            let app = $side::app(policy()).await;
            let sent = event("e1", "ok").header("traceparent", traceparent(TRACE, PARENT));
            assert_eq!($side::call(&app, &sent).await.status, 200);
            // The event reaches the plain handler: its span is the handler's.
            check_continued(&traces.take());

            let routed = batch(
                "/routed",
                &[
                    ("b1", "ok", "11111111111111111111111111111111"),
                    ("b2", "fail", "22222222222222222222222222222222"),
                ],
            );
            assert_eq!($side::call(&app, &routed).await.status, 500);
            check_links(&traces.take());

            for case in outcome_cases() {
                let answer = $side::call(&app, &case.request).await;
                check_outcome(&traces.take(), &answer, &case);
            }

            let down = $side::app(policy_on(Arc::new(common::DownStore))).await;
            let answer = $side::call(&down, &event("d1", "ok")).await;
            check_dedup_refusal(&traces.take(), &answer);

            let traced = $side::traced(policy()).await;
            assert_eq!($side::call(&traced, &sent).await.status, 200);
            check_nested(&traces.take());
        }
    };
}

span_test!(axum_spans, tokio::test, axum_side);
span_test!(actix_spans, actix_web::test, actix_side);

/// The counters after the outcome cases, and the problem-type labels after 1,000
/// made-up problem types: at most 64 by name, the rest `other`.
fn check_metrics(recorder: &DebuggingRecorder, made_up: usize) {
    let snapshot = recorder.snapshotter().snapshot().into_vec();
    let counter = |name: &str, labels: &[(&str, &str)]| -> u64 {
        snapshot
            .iter()
            .filter(|(key, ..)| key.key().name() == name)
            .filter(|(key, ..)| {
                labels
                    .iter()
                    .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(.., value)| match value {
                DebugValue::Counter(n) => *n,
                other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    };
    assert_eq!(
        counter(
            "hookgate.deliveries",
            &[
                ("outcome", "accepted"),
                ("route", "orders"),
                ("sender", "shop")
            ]
        ),
        1
    );
    assert_eq!(
        counter("hookgate.deliveries", &[("outcome", "duplicate")]),
        2
    );
    assert_eq!(
        counter("hookgate.deliveries", &[("outcome", "handshake")]),
        1
    );
    // The refusals of the cases, and the made-up ones.
    assert_eq!(
        counter("hookgate.deliveries", &[("outcome", "refused")]),
        4 + made_up as u64
    );
    assert_eq!(counter("hookgate.duplicates", &[("route", "orders")]), 1);
    assert_eq!(
        // Only o1's: the others were refused, or a duplicate the handler found.
        counter("hookgate.events", &[("sender", "shop")]),
        1
    );
    assert_eq!(
        counter(
            "hookgate.rejections",
            &[
                ("stage", "auth"),
                ("problem_type", "urn:hookgate:problem:invalid-credentials")
            ]
        ),
        1
    );
    let problem_types: BTreeSet<String> = snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == "hookgate.rejections")
        .flat_map(|(key, ..)| {
            key.key()
                .labels()
                .filter(|l| l.key() == "problem_type")
                .map(|l| l.value().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        problem_types.len(),
        hookgate::observe::MAX_PROBLEM_TYPES + 1,
        "{problem_types:?}"
    );
    assert!(problem_types.contains("other"));
    assert_eq!(
        counter("hookgate.rejections", &[("problem_type", "other")]),
        // Of the 1 + made_up handler types and the 3 of the steps, the first 64 by name.
        (3 + 1 + made_up - hookgate::observe::MAX_PROBLEM_TYPES) as u64
    );
    // Every label value is from a bounded set: never an event's type, id or source.
    for (key, ..) in &snapshot {
        for label in key.key().labels() {
            assert!(
                !label.value().starts_with("o1")
                    && label.value() != "/shop"
                    && label.value() != "ok",
                "{key:?}"
            );
        }
    }
    let active = snapshot
        .iter()
        .find(|(key, ..)| key.key().name() == "hookgate.deliveries.active")
        .map(|(.., value)| value);
    assert_eq!(
        active,
        Some(&DebugValue::Gauge(0.0.into())),
        "every handler ended"
    );
    assert!(
        snapshot
            .iter()
            .any(|(key, ..)| key.key().name() == "hookgate.handler.duration"),
        "no handler duration"
    );
}

const MADE_UP: usize = 1000;

/// The metrics test of one framework.
macro_rules! metrics_test {
    ($name:ident, $test:meta, $side:ident) => {
        #[$test]
        async fn $name() {
            let _one = ONE_AT_A_TIME.lock().await;
            let recorder = DebuggingRecorder::new();
            let _guard = metrics::set_default_local_recorder(&recorder);
            let app = $side::app(policy()).await;
            for case in outcome_cases() {
                $side::call(&app, &case.request).await;
            }
            for i in 0..MADE_UP {
                let made_up = event(&format!("m{i}"), &format!("problem-{i}"));
                assert_eq!($side::call(&app, &made_up).await.status, 422);
            }
            check_metrics(&recorder, MADE_UP);
        }
    };
}

metrics_test!(axum_metrics, tokio::test, axum_side);
metrics_test!(actix_metrics, actix_web::test, actix_side);
