//! The memory one request can cost, measured, through the whole stack of each
//! framework: tower's `WebhookLayer` (called with `oneshot`) and actix-web's `Webhook`
//! (`test::init_service` + `call_service`), with handshake, parsing and
//! deduplication, and a handler that takes the events.
//!
//! The heap is measured by `dhat` in testing mode (its global allocator needs no
//! `unsafe` here): a profiler runs around each request only, so what counts is what
//! the request allocated and still held at its peak (`HeapStats::max_bytes`), the
//! body buffer the adapter reads into included. Every body is streamed in chunks, one
//! byte at a time and in 16 KiB chunks, with no `Content-Length`, so that the reader
//! cannot size its buffer in advance: the worst case for it.
//!
//! The bound asserted is [`MULTIPLE`] times the body limit (1 MiB, the default), for
//! the worst requests a sender can make within it: the largest batch allowed (5,000
//! events, of plain events, of the smallest events and of events that fill the
//! megabyte with small extensions), a megabyte of empty members (`[{},{},...]`), an
//! event with the most extensions allowed, a 1 MiB structured event and a 1 MiB
//! binary-mode body. The figures are printed (`--nocapture`) and recorded in
//! BENCHMARKS.md, "Worst-case requests".
//!
//! A body in one-byte chunks must also cost time linear in its length: it is read
//! into one buffer that grows by doubling, which shows as a handful of allocations
//! for a megabyte (counted here, not timed).
//!
//! dhat allows one profiler at a time per process, so all cases run in the one test
//! of this binary, one after the other.

mod common;
#[path = "common/heap.rs"]
mod heap;

use bytes::Bytes;
use heap::Cost;
use hookgate::dedup::DedupPolicy;
use hookgate::{ParseConfig, WebhookPolicy};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The bound on a request's peak heap, in multiples of the body limit (see the
/// module docs and BENCHMARKS.md).
const MULTIPLE: usize = 4;

/// The body limit of every case: the default.
const LIMIT: usize = ParseConfig::DEFAULT_BODY_LIMIT;

/// One request: its content type and body, the status it must get, and the bound
/// on its peak heap in multiples of the body limit.
struct Case {
    name: &'static str,
    content_type: &'static str,
    body: Bytes,
    status: u16,
    multiple: usize,
}

/// A normal event of about 600 bytes, as `crates/hookgate-bench` sends them: every
/// context attribute, two extensions and an object of data.
fn normal_event(i: usize) -> String {
    format!(
        concat!(
            r#"{{"specversion":"1.0","id":"2f9c1e4a-7b3d-4c8e-9a61-{:012x}","#,
            r#""source":"https://orders.example.com/shop/eu-west-1","#,
            r#""type":"com.example.shop.order.created","subject":"orders/ORD-2026-{:06}","#,
            r#""time":"2026-01-31T12:34:56.789Z","datacontenttype":"application/json","#,
            r#""dataschema":"https://schemas.example.com/shop/order-created/v1.json","#,
            r#""traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","#,
            r#""partitionkey":"customer-{:05}","data":{{"orderId":"ORD-2026-{:06}","#,
            r#""customerId":"CUST-{:05}","amount":129.5,"currency":"EUR","items":3,"#,
            r#""express":true,"warehouse":"AMS-02","note":"leave at the front door"}}}}"#
        ),
        i,
        i,
        98765 + i,
        i,
        98765 + i
    )
}

/// A batch of normal events, as many as fit in `len` bytes.
fn normal_batch(len: usize) -> Bytes {
    let mut events = Vec::new();
    let mut total = 2;
    for event in (0..).map(normal_event) {
        total += event.len() + 1;
        if total > len + 1 {
            break;
        }
        events.push(event);
    }
    Bytes::from(format!("[{}]", events.join(",")))
}

fn minimal_event(i: usize) -> String {
    format!(r#"{{"specversion":"1.0","id":"{i}","source":"/s","type":"t"}}"#)
}

/// A JSON array of `count` members, each `member(i)`, as long as it is.
fn array(count: usize, member: impl Fn(usize) -> String) -> Bytes {
    let members: Vec<String> = (0..count).map(member).collect();
    Bytes::from(format!("[{}]", members.join(",")))
}

/// `event` with `"data":"xx…"` added so that it is `len` bytes long.
fn padded(event: &str, len: usize) -> String {
    let open = &event[..event.len() - 1];
    let pad = len.saturating_sub(open.len() + r#","data":""}"#.len());
    format!(r#"{open},"data":"{}"}}"#, "x".repeat(pad))
}

/// The extension names `a` to `z`, then `x26`, `x27`, …: short and distinct, and
/// never a core attribute's name.
fn name(i: usize) -> String {
    match u8::try_from(i) {
        Ok(i) if i < 26 => char::from(b'a' + i).to_string(),
        _ => format!("x{i}"),
    }
}

fn with_extensions(event: &str, count: usize) -> String {
    let open = &event[..event.len() - 1];
    let extensions: String = (0..count).map(|i| format!(r#","{}":1"#, name(i))).collect();
    format!("{open}{extensions}}}")
}

fn cases() -> Vec<Case> {
    let max = ParseConfig::DEFAULT_MAX_EVENTS;
    let per_event = LIMIT / max - 1;
    // As many one-letter extensions (`,"a":1`, 6 bytes) per event as fill the
    // megabyte.
    let small_extensions = (per_event - minimal_event(max).len()) / 6;
    assert!(small_extensions < 26, "one-letter names");
    let mut cases = vec![
        Case {
            name: "normal batch, 1 MiB",
            content_type: "application/cloudevents-batch+json",
            body: normal_batch(LIMIT),
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "normal batch, 300 KB",
            content_type: "application/cloudevents-batch+json",
            body: normal_batch(array(max, minimal_event).len()),
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "normal event, 1 KB",
            content_type: "application/cloudevents+json",
            body: {
                // Padded with a third extension to the size of the event of 124.
                let len = with_extensions(&minimal_event(1), 124).len();
                let event = normal_event(1);
                let open = &event[..event.len() - 1];
                let pad = len - open.len() - r#","pad":""}"#.len();
                format!(r#"{open},"pad":"{}"}}"#, "x".repeat(pad)).into()
            },
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "batch of 5000 events, 1 MiB",
            content_type: "application/cloudevents-batch+json",
            body: array(max, |i| padded(&minimal_event(i), per_event)),
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "batch of 5000 smallest events",
            content_type: "application/cloudevents-batch+json",
            body: array(max, minimal_event),
            status: 200,
            multiple: MULTIPLE,
        },
        // A body dense with one-letter extensions (`,"a":1`: 6 bytes of body each,
        // 56 bytes each as parsed) would take about 9.5 times the limit; the cap on
        // the extensions of a batch (`max_batch_extensions`) refuses it first.
        Case {
            name: "batch of 5000 events of small extensions (refused)",
            content_type: "application/cloudevents-batch+json",
            body: array(max, |i| {
                with_extensions(&minimal_event(i), small_extensions)
            }),
            status: 400,
            multiple: MULTIPLE,
        },
        Case {
            name: "batch of small extensions up to max_batch_extensions",
            content_type: "application/cloudevents-batch+json",
            body: {
                let per = small_extensions;
                let events = ParseConfig::DEFAULT_MAX_BATCH_EXTENSIONS / per;
                array(events, |i| with_extensions(&minimal_event(i), per))
            },
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "batch of 5001 events (refused)",
            content_type: "application/cloudevents-batch+json",
            body: array(max + 1, minimal_event),
            status: 400,
            multiple: MULTIPLE,
        },
        Case {
            name: "1 MiB of empty members",
            content_type: "application/cloudevents-batch+json",
            body: array((LIMIT - 2) / 3, |_| "{}".to_owned()),
            status: 400,
            multiple: MULTIPLE,
        },
        Case {
            name: "event of 124 extensions (128 attributes)",
            content_type: "application/cloudevents+json",
            body: with_extensions(&minimal_event(1), 124).into(),
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "event of 124 extensions, 1 MiB",
            content_type: "application/cloudevents+json",
            body: padded(&with_extensions(&minimal_event(1), 124), LIMIT).into(),
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "1 MiB event of small members (refused)",
            content_type: "application/cloudevents+json",
            body: {
                let event = with_extensions(&minimal_event(1), (LIMIT - 100) / 14);
                assert!(event.len() <= LIMIT);
                event.into()
            },
            status: 400,
            multiple: MULTIPLE,
        },
        Case {
            name: "structured event, 1 MiB of JSON data",
            content_type: "application/cloudevents+json",
            body: {
                let data = array(LIMIT / 3, |i| (i % 1000).to_string());
                let event = minimal_event(1);
                let open = &event[..event.len() - 1];
                let mut text =
                    format!(r#"{open},"data":{}}}"#, std::str::from_utf8(&data).unwrap());
                text.truncate(text.len().min(LIMIT));
                // Cut to the limit at a member boundary.
                while text.len() > LIMIT - 2 || !text.ends_with(',') {
                    text.pop();
                }
                text.pop();
                text.push_str("]}");
                text.into()
            },
            status: 200,
            multiple: MULTIPLE,
        },
        Case {
            name: "binary-mode event, 1 MiB body",
            content_type: "application/octet-stream",
            body: Bytes::from(vec![b'a'; LIMIT]),
            status: 200,
            multiple: MULTIPLE,
        },
    ];
    for case in &mut cases {
        assert!(
            case.body.len() <= LIMIT,
            "{}: {}",
            case.name,
            case.body.len()
        );
        heap::promote(&case.body);
    }
    cases
}

fn policy() -> WebhookPolicy {
    common::event_grid_webhook()
        .parse(ParseConfig::default())
        .dedup(DedupPolicy::builder().build().unwrap())
        .build()
        .unwrap()
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{CloudEvents, Webhook, WebhookLayer};
    use tower::Layer as _;

    fn app() -> Webhook<Router> {
        let routes = Router::new().route(
            "/events",
            post(|CloudEvents(events): CloudEvents| async move { events.len().to_string() }),
        );
        WebhookLayer::new(policy()).layer(routes)
    }

    pub(super) async fn call(case: &Case, chunk: usize) -> (u16, Cost) {
        let mut request = http::Request::post("/events").header("content-type", case.content_type);
        if case.content_type == "application/octet-stream" {
            request = request
                .header("ce-specversion", "1.0")
                .header("ce-id", "1")
                .header("ce-source", "/s")
                .header("ce-type", "t");
        }
        heap::tower(app(), request, &case.body, chunk).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::{App, test, web};
    use hookgate::actix::{CloudEvents, Webhook};

    pub(super) async fn call(case: &Case, chunk: usize) -> (u16, Cost) {
        let app = test::init_service(
            App::new().wrap(Webhook::new(policy())).route(
                "/events",
                web::post()
                    .to(|CloudEvents(events): CloudEvents| async move { events.len().to_string() }),
            ),
        )
        .await;
        let mut request = test::TestRequest::post()
            .uri("/events")
            .insert_header(("content-type", case.content_type));
        if case.content_type == "application/octet-stream" {
            request = request
                .insert_header(("ce-specversion", "1.0"))
                .insert_header(("ce-id", "1"))
                .insert_header(("ce-source", "/s"))
                .insert_header(("ce-type", "t"));
        }
        heap::actix(&app, heap::actix_request(request, &case.body, chunk)).await
    }
}

#[actix_web::test]
async fn the_peak_heap_of_a_request_is_within_a_multiple_of_the_body_limit() {
    let mut failures = Vec::new();
    eprintln!(
        "| request | body bytes | chunk | framework | peak heap bytes | x body | x limit | allocations |"
    );
    for case in cases() {
        for chunk in [1, 16 * 1024] {
            for (framework, (status, cost)) in [
                ("axum", axum_side::call(&case, chunk).await),
                ("actix", actix_side::call(&case, chunk).await),
            ] {
                eprintln!(
                    "| {} | {} | {chunk} | {framework} | {} | {:.2} | {:.2} | {} |",
                    case.name,
                    case.body.len(),
                    cost.peak,
                    cost.peak as f64 / case.body.len() as f64,
                    cost.peak as f64 / LIMIT as f64,
                    cost.blocks,
                );
                let what = format!("{} in {chunk}-byte chunks on {framework}", case.name);
                if status != case.status {
                    failures.push(format!("{what}: status {status}, expected {}", case.status));
                }
                let bound = case.multiple * LIMIT;
                if cost.peak > bound {
                    failures.push(format!("{what}: peak heap {} > {bound}", cost.peak));
                }
                // A body in one-byte chunks is read into one buffer grown by doubling:
                // a few dozen allocations for the read, not one per chunk.
                if case.name.starts_with("binary") && cost.blocks > 200 {
                    failures.push(format!("{what}: {} allocations", cost.blocks));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
