//! The `--forward` sink with the real binary and a real loopback downstream: a 2xx
//! acknowledges (its body and content type go back), a 4xx is passed back, a 500,
//! a timeout and a downstream that is down answer 503 with `Retry-After` and release
//! the claim, so that the retry is handled and acknowledged once. The trace goes
//! on: `traceparent` names hookgate's span, in the sender's trace.

#![cfg(unix)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use common::{
    Hookgate, SENDER_HEADERS, SENDER_SPAN, SENDER_TRACE, SENDER_TRACEPARENT, SENDER_TRACESTATE,
    event, send_batch, send_binary, send_binary_with, send_structured, traceparent,
};

/// What the downstream received: (path, content type, ce-id, body, headers).
type Seen = Arc<Mutex<Vec<(String, String, String, String, HeaderMap)>>>;

/// A downstream on a loopback port: `/ok` answers 200 with a JSON body, `/created`
/// 201, `/bad` 400, `/fail` 500, `/limit` 429, `/slow` after 30 s; `/flaky` 500 the
/// first time and 200 after.
async fn downstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    async fn handle(
        State(seen): State<Seen>,
        Path(path): Path<String>,
        headers: HeaderMap,
        body: String,
    ) -> axum::response::Response {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let earlier = {
            let mut seen = seen.lock().unwrap();
            let earlier = seen.iter().filter(|s| s.0 == path).count();
            seen.push((
                path.clone(),
                header("content-type"),
                header("ce-id"),
                body,
                headers.clone(),
            ));
            earlier
        };
        match path.as_str() {
            "ok" => ([("content-type", "application/json")], "{\"reply\":1}").into_response(),
            "created" => StatusCode::CREATED.into_response(),
            "bad" => (
                StatusCode::BAD_REQUEST,
                [("content-type", "text/plain")],
                "no such order",
            )
                .into_response(),
            "limit" => StatusCode::TOO_MANY_REQUESTS.into_response(),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                StatusCode::OK.into_response()
            }
            // A Web PubSub-like answer: the connection's state in `ce-*` headers.
            "state" => (
                [
                    ("ce-connectionstate", "c3RhdGU="),
                    ("ce-subprotocol", "json.webpubsub.azure.v1"),
                    ("x-other", "kept-back"),
                ],
                "",
            )
                .into_response(),
            // Handled, with an answer larger than the body limit (2 MiB > 1 MiB).
            "huge" => (
                [("content-type", "application/octet-stream")],
                vec![b'x'; 2 << 20],
            )
                .into_response(),
            "flaky" if earlier == 0 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            "flaky" => StatusCode::OK.into_response(),
            _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    let app = Router::new()
        .route("/{path}", post(handle))
        .with_state(Arc::clone(&seen));
    let base = common::serve(app).await;
    (base, seen)
}

async fn assert_sink_failed(answer: reqwest::Response) {
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    let problem: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(problem["type"], "urn:hookgate:problem:sink-failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2xx_acknowledges_and_its_answer_goes_back_in_the_same_mode() {
    let (down, seen) = downstream().await;
    let hg = Hookgate::start(
        &["--forward", &format!("{down}/ok")],
        &[("HOOKGATE_CODES", "s3cret")],
    );
    let url = hg.url("/api/events?code=s3cret");
    let answer = send_binary(&url, &event("b1")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert_eq!(answer.text().await.unwrap(), "{\"reply\":1}");
    assert_eq!(send_structured(&url, &event("s1")).await.status(), 200);
    assert_eq!(
        send_batch(&url, &[event("t1"), event("t2")]).await.status(),
        200
    );
    // A duplicate is not forwarded again.
    assert_eq!(send_binary(&url, &event("b1")).await.status(), 200);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    // Binary: ce- headers and the data as the body; the secret is not passed on.
    assert_eq!(seen[0].2, "b1");
    assert_eq!(seen[0].1, "application/json");
    assert_eq!(seen[0].3, "{\"id\":\"b1\"}");
    assert_eq!(seen[1].1, "application/cloudevents+json");
    assert_eq!(seen[2].1, "application/cloudevents-batch+json");
    assert!(!hg.stderr().contains("s3cret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_downstreams_ce_headers_go_back() {
    let (down, _) = downstream().await;
    let hg = Hookgate::start(&["--forward", &format!("{down}/state")], &[]);
    let answer = send_binary(&hg.url("/api/events"), &event("h1")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["ce-connectionstate"], "c3RhdGU=");
    assert_eq!(
        answer.headers()["ce-subprotocol"],
        "json.webpubsub.azure.v1"
    );
    assert!(!answer.headers().contains_key("x-other"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_2xx_with_an_answer_over_the_limit_still_acknowledges() {
    let (down, seen) = downstream().await;
    let hg = Hookgate::start(&["--forward", &format!("{down}/huge")], &[]);
    let url = hg.url("/api/events");
    let answer = send_binary(&url, &event("big1")).await;
    // The downstream handled it: 2xx without the body, and the event is remembered.
    assert_eq!(answer.status(), 200);
    assert!(answer.bytes().await.unwrap().is_empty());
    assert_eq!(send_binary(&url, &event("big1")).await.status(), 200);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "the handled event was forwarded again"
    );
    let log = hg.stderr_wait(&["larger than the limit"]);
    assert!(log.contains("acknowledged without its body"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_mode_structured_and_a_201_without_body() {
    let (down, seen) = downstream().await;
    let hg = Hookgate::start(
        &[
            "--forward",
            &format!("{down}/created"),
            "--forward-mode",
            "structured",
        ],
        &[],
    );
    let answer = send_binary(&hg.url("/api/events"), &event("m1")).await;
    assert_eq!(answer.status(), 201);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].1, "application/cloudevents+json");
    let body: serde_json::Value = serde_json::from_str(&seen[0].3).unwrap();
    assert_eq!(body["id"], "m1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_4xx_is_passed_back_as_it_is() {
    let (down, _) = downstream().await;
    let hg = Hookgate::start(&["--forward", &format!("{down}/bad")], &[]);
    let answer = send_binary(&hg.url("/api/events"), &event("x1")).await;
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.headers()["content-type"], "text/plain");
    assert_eq!(answer.text().await.unwrap(), "no such order");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_or_429_answers_503_and_the_retry_is_forwarded_once() {
    let (down, seen) = downstream().await;
    let hg = Hookgate::start(&["--forward", &format!("{down}/flaky")], &[]);
    let url = hg.url("/api/events");
    assert_sink_failed(send_binary(&url, &event("r1")).await).await;
    assert_eq!(send_binary(&url, &event("r1")).await.status(), 200);
    assert_eq!(send_binary(&url, &event("r1")).await.status(), 200);
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert_eq!(hg.metric("hookgate_events_total").await, 1.0);
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:sink-failed\"}")
            .await,
        1.0
    );

    let hg = Hookgate::start(&["--forward", &format!("{down}/limit")], &[]);
    assert_sink_failed(send_binary(&hg.url("/api/events"), &event("l1")).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_answers_503_and_releases_the_claim() {
    let (down, _) = downstream().await;
    let hg = Hookgate::start(
        &[
            "--forward",
            &format!("{down}/slow"),
            "--forward-timeout",
            "500ms",
        ],
        &[],
    );
    let url = hg.url("/api/events");
    assert_sink_failed(send_binary(&url, &event("w1")).await).await;
    // Released: the retry is forwarded again (and times out again), not a 429.
    assert_sink_failed(send_binary(&url, &event("w1")).await).await;
    assert!(
        hg.stderr_wait(&["timed out"]).contains("timed out"),
        "{}",
        hg.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_downstream_that_is_down_answers_503_until_it_is_up() {
    // A port with nobody on it: bind, note, close.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let hg = Hookgate::start(&["--forward", &format!("http://127.0.0.1:{port}/ok")], &[]);
    let url = hg.url("/api/events");
    assert_sink_failed(send_binary(&url, &event("d1")).await).await;
    assert!(
        hg.stderr_wait(&["cannot connect"])
            .contains("cannot connect"),
        "{}",
        hg.stderr()
    );
    // The downstream comes up on that port: the retry goes through, once.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let hits = Arc::new(Mutex::new(0_u32));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/ok",
        post(move || async move {
            *counter.lock().unwrap() += 1;
            "fine"
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let answer = send_binary(&url, &event("d1")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "fine");
    assert_eq!(send_binary(&url, &event("d1")).await.status(), 200);
    assert_eq!(*hits.lock().unwrap(), 1);
}

/// The `traceparent` and `tracestate` the downstream got with request `i`.
fn trace_of(seen: &Seen, i: usize) -> (Option<String>, Option<String>) {
    let seen = seen.lock().unwrap();
    let header = |name: &str| seen[i].4.get(name).map(|v| v.to_str().unwrap().to_owned());
    (header("traceparent"), header("tracestate"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_trace_goes_on_with_hookgates_span_as_the_parent() {
    let (down, seen) = downstream().await;
    let hg = Hookgate::start(&["--forward", &format!("{down}/ok")], &[]);
    let url = hg.url("/api/events");
    assert_eq!(
        send_binary_with(&url, &event("t1"), &SENDER_HEADERS)
            .await
            .status(),
        200
    );
    let (parent, state) = trace_of(&seen, 0);
    let (trace, span, flags) = traceparent(&parent.expect("a traceparent"));
    assert_eq!(trace, SENDER_TRACE);
    assert_ne!(span, SENDER_SPAN, "the sender's span, not hookgate's");
    assert_eq!(flags, "01");
    assert_eq!(state.as_deref(), Some(SENDER_TRACESTATE));
    // A sender without a trace: a new one.
    assert_eq!(send_binary(&url, &event("t2")).await.status(), 200);
    let (parent, state) = trace_of(&seen, 1);
    let (trace, _, _) = traceparent(&parent.expect("a traceparent"));
    assert_ne!(trace, SENDER_TRACE);
    assert_eq!(state, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tracing_off_the_senders_trace_headers_go_on_unchanged() {
    let (down, seen) = downstream().await;
    let hg = Hookgate::start(
        &["--forward", &format!("{down}/ok")],
        &[("OTEL_SDK_DISABLED", "true")],
    );
    let url = hg.url("/api/events");
    assert_eq!(
        send_binary_with(&url, &event("u1"), &SENDER_HEADERS)
            .await
            .status(),
        200
    );
    assert_eq!(
        trace_of(&seen, 0),
        (
            Some(SENDER_TRACEPARENT.to_owned()),
            Some(SENDER_TRACESTATE.to_owned())
        )
    );
    assert_eq!(send_binary(&url, &event("u2")).await.status(), 200);
    assert_eq!(trace_of(&seen, 1), (None, None));
}
