//! Traces with the real binary: a loopback OTLP/HTTP collector decodes what
//! `hookgate listen` exports (protobuf), the spans of a delivery carry the sender's
//! trace and the service name, the queue is flushed at SIGTERM, a collector that
//! does not answer slows no delivery, and the settings it cannot honour (gRPC)
//! stop the start. `OTEL_EXPORTER_OTLP_HEADERS` reaches the collector and nothing
//! else: no log line, `--help` or `config check`.

#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{
    Hookgate, SENDER_SPAN, SENDER_TRACE, SENDER_TRACEPARENT, event, send_binary, send_binary_with,
    temp_dir,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// What the collector received: each request's headers and decoded body.
type Exports = Arc<Mutex<Vec<(HeaderMap, ExportTraceServiceRequest)>>>;

/// An OTLP/HTTP collector on a loopback port: `POST /v1/traces` with protobuf.
async fn collector() -> (String, Exports) {
    let exports: Exports = Arc::default();
    async fn traces(State(exports): State<Exports>, headers: HeaderMap, body: Bytes) -> Vec<u8> {
        assert_eq!(headers["content-type"], "application/x-protobuf");
        let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf message");
        exports.lock().unwrap().push((headers, request));
        // An empty ExportTraceServiceResponse.
        Vec::new()
    }
    let app = Router::new()
        .route("/v1/traces", post(traces))
        .with_state(Arc::clone(&exports));
    let base = common::serve(app).await;
    (base, exports)
}

fn text(value: Option<&AnyValue>) -> Option<&str> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| text(kv.value.as_ref()))
}

/// Every exported span with the service name of its resource.
fn spans(exports: &Exports) -> Vec<(String, Span)> {
    let mut spans = Vec::new();
    for (_, request) in exports.lock().unwrap().iter() {
        for resource in &request.resource_spans {
            let service = resource
                .resource
                .as_ref()
                .and_then(|r| attribute(&r.attributes, "service.name"))
                .unwrap_or_default()
                .to_owned();
            for scope in &resource.scope_spans {
                for span in &scope.spans {
                    spans.push((service.clone(), span.clone()));
                }
            }
        }
    }
    spans
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The spans once `ready` holds of them (at most 10 s).
fn spans_when(exports: &Exports, ready: impl Fn(&[(String, Span)]) -> bool) -> Vec<(String, Span)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let spans = spans(exports);
        if ready(&spans) || Instant::now() > deadline {
            return spans;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_is_exported_in_the_senders_trace_and_flushed_at_sigterm() {
    let (collector, exports) = collector().await;
    let mut hg = Hookgate::start(
        &["--log-level", "debug"],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.as_str()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-collector-token=s3cret-otlp",
            ),
            // Nothing is exported before the shutdown's flush.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    let answer = send_binary_with(
        &hg.url("/api/events"),
        &event("o1"),
        &[("traceparent", SENDER_TRACEPARENT)],
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(hg.stdout_events_wait(1).len(), 1);
    assert!(
        exports.lock().unwrap().is_empty(),
        "exported before the flush"
    );
    hg.terminate();
    assert!(
        hg.wait(Duration::from_secs(20)).success(),
        "{}",
        hg.stderr()
    );
    // Held by the collector once hookgate has exited: flushed at the shutdown.
    let spans = spans(&exports);
    let ours: Vec<&Span> = spans
        .iter()
        .filter(|(_, s)| hex(&s.trace_id) == SENDER_TRACE)
        .map(|(_, s)| s)
        .collect();
    assert!(!ours.is_empty(), "no span in the sender's trace: {spans:?}");
    assert!(
        spans.iter().all(|(service, _)| service == "hookgate"),
        "{spans:?}"
    );
    // The library's delivery span continues the sender's; the event's `process`
    // span under it (the hand-over's), with the event's attributes.
    let delivery = ours
        .iter()
        .find(|s| s.name == "hookgate.delivery")
        .unwrap_or_else(|| panic!("no delivery span: {ours:?}"));
    assert_eq!(hex(&delivery.parent_span_id), SENDER_SPAN);
    assert_eq!(
        attribute(&delivery.attributes, "hookgate.outcome"),
        Some("accepted")
    );
    let event_span = ours
        .iter()
        .find(|s| s.name == "process")
        .unwrap_or_else(|| panic!("no process span: {ours:?}"));
    assert_eq!(event_span.parent_span_id, delivery.span_id);
    assert_eq!(
        attribute(&event_span.attributes, "cloudevents.event_id"),
        Some("o1")
    );
    assert_eq!(
        attribute(&event_span.attributes, "cloudevents.event_type"),
        Some("com.example.test")
    );
    assert_eq!(
        attribute(&event_span.attributes, "cloudevents.event_source"),
        Some("/tests")
    );
    // No code locations or thread names on the spans (the program turns them off).
    assert!(
        attribute(&event_span.attributes, "code.file.path").is_none()
            && attribute(&event_span.attributes, "thread.name").is_none(),
        "{event_span:?}"
    );
    // The headers went to the collector, and nowhere else.
    let exports = exports.lock().unwrap();
    assert!(
        exports
            .iter()
            .all(|(headers, _)| headers["x-collector-token"] == "s3cret-otlp")
    );
    let log = hg.stderr();
    assert!(
        log.contains("traces exported over OTLP/HTTP (protobuf) to http://127.0.0.1:"),
        "{log}"
    );
    assert!(!log.contains("s3cret-otlp"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_name_and_resource_come_from_the_environment() {
    let (collector, exports) = collector().await;
    let hg = Hookgate::start(
        &[],
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                format!("{collector}/v1/traces").as_str(),
            ),
            ("OTEL_SERVICE_NAME", "billing-hooks"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    );
    // No traceparent: a trace of hookgate's own.
    assert_eq!(
        send_binary(&hg.url("/api/events"), &event("n1"))
            .await
            .status(),
        200
    );
    let spans = spans_when(&exports, |spans| {
        spans.iter().any(|(_, s)| s.name == "process")
    });
    let (service, span) = spans
        .iter()
        .find(|(_, s)| s.name == "process")
        .unwrap_or_else(|| panic!("not exported without the shutdown: {spans:?}"));
    assert_eq!(service, "billing-hooks");
    assert_ne!(hex(&span.trace_id), SENDER_TRACE);
    let exports = exports.lock().unwrap();
    let resource = exports[0].1.resource_spans[0].resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "deployment.environment"),
        Some("test")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_that_never_answers_slows_no_delivery_and_not_the_stop() {
    // Accepts connections (the kernel's backlog) and never reads or answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let mut hg = Hookgate::start(
        &[],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "500"),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
        ],
    );
    let url = hg.url("/api/events");
    let started = Instant::now();
    for i in 0..40 {
        assert_eq!(
            send_binary(&url, &event(&format!("s{i}"))).await.status(),
            200
        );
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "40 deliveries took {took:?}");
    hg.terminate();
    let stopping = Instant::now();
    assert!(
        hg.wait(Duration::from_secs(20)).success(),
        "{}",
        hg.stderr()
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "the stop took {:?}",
        stopping.elapsed()
    );
    drop(silent);
}

#[test]
fn grpc_stops_the_start_and_the_otlp_headers_are_never_shown() {
    let secret = (
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer s3cret-otlp",
    );
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ] {
        let out = common::command()
            .args(["listen", "--bind", "127.0.0.1:0"])
            .env(name, value)
            .env(secret.0, secret.1)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(name) && err.contains("protobuf"), "{err}");
        assert!(!err.contains("s3cret-otlp"), "{err}");
    }
    let help = common::command()
        .args(["listen", "--help"])
        .env(secret.0, secret.1)
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{help}");
    assert!(!help.contains("s3cret-otlp"), "{help}");
    let dir = temp_dir("otel-check");
    let file = dir.join("hookgate.toml");
    std::fs::write(&file, "path = \"/hooks\"\n").unwrap();
    let check = common::command()
        .args(["config", "check"])
        .arg(&file)
        .env(secret.0, secret.1)
        .output()
        .unwrap();
    assert!(check.status.success());
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(!shown.contains("s3cret-otlp"), "{shown}");
    let _ = std::fs::remove_dir_all(dir);
}
