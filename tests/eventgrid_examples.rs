//! The two Event Grid example receivers (`eventgrid_axum`, `eventgrid_actix`) as a
//! user runs them: both binaries started as processes on loopback ports, sent the
//! same requests (the handshake, a single event, a batch, a duplicate, an unrouted
//! type, a typed-data mismatch, a request without the secret), and their answers
//! and stdout compared, line by line.

#![cfg(unix)]

mod common;

use common::examples::{command, listening_addr};
use std::io::{BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const EXAMPLES: [&str; 2] = ["eventgrid_axum", "eventgrid_actix"];

/// One request as raw HTTP/1.1 (connection closed after the answer).
struct Request {
    method: &'static str,
    target: String,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Request {
    fn post(query: &str, content_type: &str, body: &Value) -> Self {
        Self {
            method: "POST",
            target: format!("/api/events{query}"),
            headers: vec![("Content-Type", content_type.to_owned())],
            body: body.to_string(),
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    /// Sends it to `addr`; the status and the body (JSON, or `null` when empty).
    fn send(&self, addr: &str) -> (u16, Value) {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.method,
            self.target,
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(self.body.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
        let (headers, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        // Both servers answer with Content-Length here; a chunked body would not parse.
        assert!(
            !headers
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{response}"
        );
        let body = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
        };
        (status, body)
    }
}

fn order(id: &str, ty: &str, order_id: Value) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/shop", "type": ty,
        "subject": format!("orders/{id}"), "time": "2026-11-27T03:00:00Z",
        "datacontenttype": "application/json",
        "data": {"orderId": order_id, "total": 12.5},
    })
}

const SINGLE: &str = "application/cloudevents+json; charset=utf-8";
const BATCH: &str = "application/cloudevents-batch+json; charset=utf-8";

/// The requests, in order, with the status each must get.
fn requests() -> Vec<(Request, u16)> {
    let created = order("e1", "com.example.order.created", json!("o-1"));
    let handshake = Request {
        method: "OPTIONS",
        target: "/api/events?code=s3cret".into(),
        headers: vec![("WebHook-Request-Origin", "eventgrid.azure.net".into())],
        body: String::new(),
    };
    vec![
        (handshake, 200),
        // A single event, first attempt.
        (
            Request::post("?code=s3cret", SINGLE, &created)
                .header("aeg-subscription-name", "ORDERS")
                .header("aeg-delivery-count", "0")
                .header("aeg-metadata-version", "1")
                .header("aeg-data-version", "")
                .header("aeg-event-type", "Notification"),
            200,
        ),
        // The same event again (a retry Event Grid made before it saw the answer):
        // a duplicate, answered without running a handler.
        (
            Request::post("?code=s3cret", SINGLE, &created).header("aeg-delivery-count", "1"),
            200,
        ),
        // A batch: a shipped event, an unrouted type, the created one again.
        (
            Request::post(
                "?code=s3cret",
                BATCH,
                &json!([
                    order("e2", "com.example.order.shipped", json!("o-1")),
                    {"specversion": "1.0", "id": "e3", "source": "/shop",
                     "type": "com.example.invoice.paid", "data": {"invoice": 7}},
                    created,
                ]),
            )
            .header("aeg-delivery-count", "2"),
            200,
        ),
        // An unrouted type alone, without delivery headers.
        (
            Request::post(
                "?code=s3cret",
                SINGLE,
                &json!({"specversion": "1.0", "id": "e4", "source": "/other", "type": "org.other"}),
            ),
            200,
        ),
        // Data that does not match the handler's type: 400, not retried.
        (
            Request::post(
                "?code=s3cret",
                SINGLE,
                &order("e5", "com.example.order.created", json!(42)),
            ),
            400,
        ),
        // Without the secret.
        (
            Request::post(
                "",
                SINGLE,
                &order("e6", "com.example.order.created", json!("o-6")),
            ),
            401,
        ),
        // A malformed delivery header.
        (
            Request::post(
                "?code=s3cret",
                SINGLE,
                &order("e7", "com.example.order.created", json!("o-7")),
            )
            .header("aeg-delivery-count", "many"),
            400,
        ),
    ]
}

/// Starts example `name`, sends every request, stops it; the answers and stdout.
fn run(name: &str) -> (Vec<(u16, Value)>, Vec<Value>) {
    let mut child: Child = command(name)
        .env("WEBHOOK_CODES", "s3cret")
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = listening_addr(name, &mut stderr);
    // Drain stderr, so that the example never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });

    // Compared as they come: a data mismatch names no Rust type (which would hold the
    // example's name, `eventgrid_axum::eventgrid_shared::Order`).
    let answers: Vec<(u16, Value)> = requests().iter().map(|(r, _)| r.send(&addr)).collect();

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} did not stop within 30 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stderr = drain.join().unwrap();
    assert!(
        stderr.contains("no handler for events of type \"com.example.invoice.paid\""),
        "{name}: the unrouted event is logged: {stderr}"
    );
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
        .collect();
    (answers, lines)
}

#[test]
fn both_examples_answer_and_print_the_same() {
    let (axum_answers, axum_lines) = run(EXAMPLES[0]);
    let (actix_answers, actix_lines) = run(EXAMPLES[1]);

    for (i, ((request, expected), (axum, actix))) in requests()
        .iter()
        .zip(axum_answers.iter().zip(&actix_answers))
        .enumerate()
    {
        assert_eq!(
            axum.0, *expected,
            "request {i} ({}): {axum:?}",
            request.target
        );
        assert_eq!(
            axum, actix,
            "request {i}: the two examples answer differently"
        );
    }
    assert_eq!(
        axum_answers[5].1["type"],
        "urn:hookgate:problem:data-mismatch"
    );
    // The JSON path and kinds, never the handler's Rust type nor serde's words for it.
    assert_eq!(
        axum_answers[5].1["detail"],
        "the event's data does not match: at `/orderId`: expected a string, got a number"
    );
    let detail = axum_answers[5].1["detail"].as_str().unwrap();
    for leak in ["::", "Order", "struct", "eventgrid_"] {
        assert!(!detail.contains(leak), "{detail:?} names {leak:?}");
    }
    assert_eq!(
        axum_answers[7].1["type"],
        "urn:hookgate:problem:invalid-delivery-header"
    );

    assert_eq!(
        axum_lines, actix_lines,
        "the two examples print differently"
    );
    let summary: Vec<(String, Value, String)> = axum_lines
        .iter()
        .map(|l| {
            (
                l["handler"].as_str().unwrap().to_owned(),
                l["deliveryCount"].clone(),
                l["event"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("created", json!(0), "e1"),
        ("shipped", json!(2), "e2"),
        ("unrouted", json!(2), "e3"),
        ("unrouted", Value::Null, "e4"),
    ];
    assert_eq!(
        summary,
        expected
            .iter()
            .map(|(h, c, id)| ((*h).to_owned(), c.clone(), (*id).to_owned()))
            .collect::<Vec<_>>()
    );
    // The event is printed as received, in the CloudEvents JSON format.
    assert_eq!(
        axum_lines[0]["event"],
        order("e1", "com.example.order.created", json!("o-1"))
    );
}
