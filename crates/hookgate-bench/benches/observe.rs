//! What the spans and metrics of issue 20 cost a delivery, side by side in one
//! run: the whole stack (`WebhookLayer`: handshake check, `?code=`, binary parse,
//! in-memory dedup of a new event, a trivial handler) under
//!
//! - `no_subscriber`: no `tracing` subscriber, no metrics recorder (the spans are
//!   disabled callsites, the metrics calls find the no-op recorder);
//! - `fmt`: tracing-subscriber's `fmt` layer at INFO writing to `io::sink` (the
//!   delivery and event spans enabled, each log line formatted with them);
//! - `otel`: a tracing-opentelemetry layer over an SDK tracer provider with no
//!   exporter (spans get ids, attributes, a parent from `traceparent`);
//! - `prometheus`: no subscriber, the metrics recorded by
//!   metrics-exporter-prometheus's recorder (not rendered).
//!
//! Every request carries a `traceparent` and a new event id. Each iteration is one
//! request through `tower::ServiceExt::oneshot` on a current-thread runtime (the
//! same `block_on` in every variant). Run with
//! `cargo bench -p hookgate-bench --bench observe`; results in `BENCHMARKS.md`,
//! "Observability".

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use divan::{Bencher, black_box};
use hookgate_core::WebhookPolicy;
use hookgate_core::auth::{AuthPolicy, SharedSecrets};
use hookgate_core::dedup::{DedupPolicy, MemoryStore};
use hookgate_core::handshake::HandshakePolicy;
use hookgate_tower::WebhookLayer;
use opentelemetry::trace::TracerProvider as _;
use tower::{Layer as _, ServiceExt as _};
use tracing_subscriber::layer::SubscriberExt as _;

fn main() {
    divan::Divan::default()
        .sample_count(2000)
        .config_with_args()
        .main();
}

fn policy() -> WebhookPolicy {
    WebhookPolicy::builder()
        .name("bench")
        .handshake(
            HandshakePolicy::builder()
                .azure_event_grid()
                .build()
                .unwrap(),
        )
        .auth(
            AuthPolicy::builder()
                .shared_secrets(SharedSecrets::labeled([("shop", "s3cret")]).unwrap())
                .build()
                .unwrap(),
        )
        .dedup(
            DedupPolicy::builder()
                .store(Arc::new(MemoryStore::with_capacity(1_000_000).unwrap()))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

static IDS: AtomicU64 = AtomicU64::new(0);

fn request() -> http::Request<Body> {
    let id = IDS.fetch_add(1, Ordering::Relaxed);
    http::Request::post("/api/events?code=s3cret")
        .header("ce-specversion", "1.0")
        .header("ce-id", id.to_string())
        .header("ce-source", "/shop/orders")
        .header("ce-type", "com.example.order.created")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Body::empty())
        .unwrap()
}

/// Runs `requests` one after the other through the whole stack.
fn stack(bencher: Bencher) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let service = WebhookLayer::new(policy()).layer(tower::service_fn(
        |_: http::Request<hookgate_tower::body::Body<Body>>| async {
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        },
    ));
    bencher.with_inputs(request).bench_local_values(|request| {
        let response = runtime.block_on(service.clone().oneshot(request)).unwrap();
        assert_eq!(response.status(), 200);
        black_box(response)
    });
}

#[divan::bench]
fn no_subscriber(bencher: Bencher) {
    stack(bencher);
}

#[divan::bench]
fn fmt(bencher: Bencher) {
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, || stack(bencher));
}

#[divan::bench]
fn otel(bencher: Bencher) {
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || stack(bencher));
}

#[divan::bench]
fn prometheus(bencher: Bencher) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || stack(bencher));
}
