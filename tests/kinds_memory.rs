//! The heap of the request kinds `tests/memory.rs` does not cover (issue 18), measured
//! by `dhat` in testing mode through the whole stack of each framework, as there:
//! tower's `WebhookLayer` (`oneshot`) and actix-web's `Webhook`
//! (`test::init_service` and `call_service`), the body streamed in 16 KiB chunks without `Content-Length`,
//! the answer read within the measure.
//!
//! - **Handshake**: an `OPTIONS` with the largest values of the headers the stack
//!   reads (`WebHook-Request-Origin`, `WebHook-Request-Rate`,
//!   `WebHook-Request-Callback`, 64 KiB each), against a normal one; and the Event
//!   Grid `SubscriptionValidation` POST with the worst bodies within its 64 KiB
//!   limit (many events, one long code, a data object of many members).
//! - **The Event Grid example's handlers** (`examples/eventgrid_shared`, its
//!   `EventRouter` mounted as the example mounts it, printing to stdout): an order
//!   event whose data is a megabyte of small members (before issue 18, a
//!   `#[serde(flatten)]` map of `Value`s made it cost 18 to 21 times the body), a
//!   batch of the most order events, and a megabyte `orderId`.
//! - **The Trusted App example's output** (`examples/trusted_app_shared`'s
//!   `print_callback`, the whole envelope printed) after `parse_callback`, for the
//!   worst envelopes of `tests/trusted_app_memory.rs` (no framework: the examples'
//!   handlers only print).
//!
//! Each must stay within [`MULTIPLE`] times its limit (the body limit; for the
//! `OPTIONS`, the bytes of the headers read). The figures are printed to stderr and
//! recorded in BENCHMARKS.md, "Worst-case requests, every kind (issue 18)".
//!
//! dhat allows one profiler at a time per process: every case runs in the one test.

mod common;
#[path = "common/heap.rs"]
mod heap;

#[allow(dead_code)]
#[path = "../examples/eventgrid_shared/mod.rs"]
mod eventgrid_shared;
#[allow(dead_code)]
#[path = "../examples/trusted_app_shared/mod.rs"]
mod trusted_app_shared;

use bytes::Bytes;
use hookgate::dedup::DedupPolicy;
use hookgate::handshake::{HandshakePolicy, VALIDATION_BODY_LIMIT};
use hookgate::trusted_app::{UcwaEnvelope, parse_callback};
use hookgate::{HeaderList, ParseConfig, WebhookPolicy};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The bound on a request's peak heap, in multiples of its limit.
const MULTIPLE: usize = 4;

/// The body limit of the example cases: the default.
const LIMIT: usize = ParseConfig::DEFAULT_BODY_LIMIT;

/// The length of each large handshake header.
const HEADER: usize = 64 * 1024;

/// Which app a case goes to.
#[derive(Clone, Copy)]
enum App {
    /// The stack with the Event Grid handshake (and its Event Grid schema
    /// validation), a handler that takes the events.
    Handshake,
    /// The Event Grid example's router.
    Example,
}

/// One request: method, headers, body, the status it must get and its limit.
struct Case {
    name: String,
    app: App,
    method: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
    status: u16,
    /// What the bound is a multiple of.
    limit: usize,
}

fn handshake_policy() -> WebhookPolicy {
    WebhookPolicy::builder()
        .handshake(
            HandshakePolicy::builder()
                .azure_event_grid()
                .event_grid_schema(true)
                .build()
                .unwrap(),
        )
        .dedup(DedupPolicy::builder().build().unwrap())
        .build()
        .unwrap()
}

fn example_policy() -> WebhookPolicy {
    common::event_grid_webhook()
        .dedup(DedupPolicy::builder().build().unwrap())
        .build()
        .unwrap()
}

fn options(name: &str, headers: Vec<(&'static str, String)>, status: u16) -> Case {
    let limit = headers.iter().map(|(n, v)| n.len() + v.len()).sum();
    Case {
        name: name.to_owned(),
        app: App::Handshake,
        method: "OPTIONS",
        headers,
        body: Bytes::new(),
        status,
        limit,
    }
}

fn validation(name: &str, body: String, status: u16) -> Case {
    assert!(body.len() <= VALIDATION_BODY_LIMIT, "{name}");
    Case {
        name: name.to_owned(),
        app: App::Handshake,
        method: "POST",
        headers: vec![
            ("aeg-event-type", "SubscriptionValidation".to_owned()),
            ("content-type", "application/json".to_owned()),
        ],
        body: Bytes::from(body),
        status,
        limit: VALIDATION_BODY_LIMIT,
    }
}

fn example(name: &str, content_type: &str, body: String, status: u16) -> Case {
    assert!(body.len() <= LIMIT, "{name}: {}", body.len());
    Case {
        name: name.to_owned(),
        app: App::Example,
        method: "POST",
        headers: vec![("content-type", content_type.to_owned())],
        body: Bytes::from(body),
        status,
        limit: LIMIT,
    }
}

/// `prefix`, then `item(0)`, `item(1)`, … separated by commas while they fit in
/// `limit` bytes with `suffix`, then `suffix`.
fn fill(limit: usize, prefix: &str, item: impl Fn(usize) -> String, suffix: &str) -> String {
    let mut body = String::from(prefix);
    for i in 0.. {
        let next = item(i);
        if body.len() + next.len() + 1 + suffix.len() > limit {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str(&next);
    }
    body.push_str(suffix);
    body
}

fn order_event(id: usize, data: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"/shop","type":"com.example.order.created","datacontenttype":"application/json","data":{data}}}"#
    )
}

fn cases() -> Vec<Case> {
    let validation_event = |code: &str, data_rest: &str| {
        format!(
            r#"{{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-01T00:00:00Z","data":{{"validationCode":"{code}"{data_rest}}},"dataVersion":"1","metadataVersion":"1"}}"#
        )
    };
    let smallest_validation = r#"{"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":""}}"#;
    let mut cases = vec![
        options(
            "OPTIONS, normal",
            vec![
                ("webhook-request-origin", "eventgrid.azure.net".to_owned()),
                ("webhook-request-rate", "120".to_owned()),
            ],
            200,
        ),
        options(
            "OPTIONS, 64 KiB origin (403)",
            vec![("webhook-request-origin", "a".repeat(HEADER))],
            403,
        ),
        options(
            "OPTIONS, 64 KiB rate (400)",
            vec![
                ("webhook-request-origin", "eventgrid.azure.net".to_owned()),
                ("webhook-request-rate", "9".repeat(HEADER)),
            ],
            400,
        ),
        options(
            "OPTIONS, 64 KiB each of origin, rate and callback (400)",
            vec![
                ("webhook-request-origin", "a".repeat(HEADER)),
                ("webhook-request-rate", "*".repeat(HEADER)),
                (
                    "webhook-request-callback",
                    format!("https://{}", "c".repeat(HEADER - 8)),
                ),
            ],
            400,
        ),
        validation(
            "validation event, normal",
            format!(
                "[{}]",
                validation_event("512d38b6-c7b8-40c8-89fe-f46f9e9622b6", "")
            ),
            200,
        ),
        validation(
            "validation: 64 KiB of the smallest events (400)",
            fill(
                VALIDATION_BODY_LIMIT,
                "[",
                |_| smallest_validation.to_owned(),
                "]",
            ),
            400,
        ),
        validation(
            "validation: one 64 KiB validation code",
            format!(
                "[{}]",
                validation_event(&"c".repeat(VALIDATION_BODY_LIMIT - 400), "")
            ),
            200,
        ),
        validation(
            "validation: data of 64 KiB of small members",
            format!(
                "[{}]",
                validation_event(
                    "c",
                    &fill(
                        VALIDATION_BODY_LIMIT - 400,
                        "",
                        |i| format!(r#","m{i}":0"#),
                        ""
                    )
                    .replace(",,", ",")
                )
            ),
            200,
        ),
        example(
            "example: normal order event, 1 KB",
            "application/cloudevents+json",
            order_event(
                1,
                r#"{"orderId":"ORD-2026-000001","total":129.5,"customerId":"CUST-98765","currency":"EUR","items":3,"express":true,"warehouse":"AMS-02","note":"leave at the front door"}"#,
            ),
            200,
        ),
    ];
    let envelope = order_event(1, r#"{"orderId":"o","x":0}"#).len();
    let members = fill(
        LIMIT - envelope,
        r#"{"orderId":"o","#,
        |i| format!(r#""m{i}":0"#),
        "}",
    );
    cases.push(example(
        "example: order data of 1 MiB of small members",
        "application/cloudevents+json",
        order_event(1, &members),
        200,
    ));
    let arrays = fill(
        LIMIT - envelope,
        r#"{"orderId":"o","x":["#,
        |_| "{}".to_owned(),
        "]}",
    );
    cases.push(example(
        "example: order data of 1 MiB of empty objects",
        "application/cloudevents+json",
        order_event(1, &arrays),
        200,
    ));
    cases.push(example(
        "example: an orderId of 1 MiB (400: over the example's 128 bytes)",
        "application/cloudevents+json",
        order_event(
            1,
            &format!(r#"{{"orderId":"{}"}}"#, "o".repeat(LIMIT - envelope)),
        ),
        400,
    ));
    let long_id = fill(
        LIMIT - envelope - 128,
        &format!(r#"{{"orderId":"{}","#, "o".repeat(128)),
        |i| format!(r#""m{i}":0"#),
        "}",
    );
    cases.push(example(
        "example: a 128-byte orderId and 1 MiB of small members",
        "application/cloudevents+json",
        order_event(1, &long_id),
        200,
    ));
    let max = ParseConfig::default().max_events();
    let batch: Vec<String> = (0..max)
        .map(|i| order_event(i, r#"{"orderId":"o"}"#))
        .collect();
    cases.push(example(
        "example: batch of 5,000 order events",
        "application/cloudevents-batch+json",
        format!("[{}]", batch.join(",")),
        200,
    ));
    for case in &cases {
        heap::promote(&case.body);
    }
    cases
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::{post, post_service};
    use hookgate::route::EventRouter;
    use hookgate::tower::eventgrid::Delivery;
    use hookgate::tower::{CloudEvents, EventRoutes, Webhook, WebhookLayer};
    use tower::Layer as _;

    fn app(app: App) -> Webhook<Router> {
        match app {
            App::Handshake => WebhookLayer::new(handshake_policy()).layer(Router::new().route(
                "/api/events",
                post(|CloudEvents(events): CloudEvents| async move { events.len().to_string() }),
            )),
            App::Example => {
                let router: EventRouter<Delivery> = eventgrid_shared::router();
                WebhookLayer::new(example_policy()).layer(
                    Router::new().route("/api/events", post_service(EventRoutes::new(router))),
                )
            }
        }
    }

    pub(super) async fn call(case: &Case) -> (u16, heap::Cost) {
        let mut request = http::Request::builder()
            .method(case.method)
            .uri("/api/events");
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        heap::tower(app(case.app), request, &case.body, heap::CHUNK).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::{App as ActixApp, test, web};
    use hookgate::actix::eventgrid::Delivery;
    use hookgate::actix::{CloudEvents, EventRoutes, Webhook};
    use hookgate::route::EventRouter;

    pub(super) async fn call(case: &Case) -> (u16, heap::Cost) {
        let mut request = test::TestRequest::default()
            .method(case.method.parse().unwrap())
            .uri("/api/events");
        for (name, value) in &case.headers {
            request = request.insert_header((*name, value.as_str()));
        }
        let request = heap::actix_request(request, &case.body, heap::CHUNK);
        match case.app {
            App::Handshake => {
                let app = test::init_service(
                    ActixApp::new()
                        .wrap(Webhook::new(handshake_policy()))
                        .route(
                            "/api/events",
                            web::post().to(|CloudEvents(events): CloudEvents| async move {
                                events.len().to_string()
                            }),
                        ),
                )
                .await;
                heap::actix(&app, request).await
            }
            App::Example => {
                let router: EventRouter<Delivery> = eventgrid_shared::router();
                let app = test::init_service(
                    ActixApp::new()
                        .wrap(Webhook::new(example_policy()))
                        .service(EventRoutes::new(router).resource("/api/events")),
                )
                .await;
                heap::actix(&app, request).await
            }
        }
    }
}

/// The Trusted App example's output: `parse_callback` then `print_callback`, for
/// the worst envelopes of `tests/trusted_app_memory.rs` and a normal one.
fn trusted_app_cases() -> Vec<(&'static str, String)> {
    let event = r#"{"link":{"rel":"message","href":"/m"},"type":"added"}"#;
    vec![
        (
            "Trusted App example: normal callback",
            r#"{"_links":{"self":{"href":"/e"},"next":{"href":"/n"}},"sender":[{"rel":"communication","href":"/c","events":[{"link":{"rel":"messagingInvitation","href":"/i"},"type":"started"}]}]}"#.to_owned(),
        ),
        (
            "Trusted App example: unknown member, 1 MiB array of zeros",
            fill(LIMIT, r#"{"x":["#, |_| "0".to_owned(), "]}"),
        ),
        (
            "Trusted App example: embedded, 1 MiB array of empty objects",
            fill(
                LIMIT,
                r#"{"sender":[{"rel":"r","href":"/h","events":[{"link":{"rel":"r","href":"/h"},"type":"added","_embedded":{"r":["#,
                |_| "{}".to_owned(),
                "]}}]}]}",
            ),
        ),
        (
            "Trusted App example: 4,999 events",
            format!(
                r#"{{"sender":[{{"rel":"s","href":"/s","events":[{}]}}]}}"#,
                vec![event; 4_999].join(",")
            ),
        ),
    ]
}

#[actix_web::test]
async fn the_peak_heap_of_every_kind_is_within_a_multiple_of_its_limit() {
    let mut failures = Vec::new();
    eprintln!("| request | body bytes | framework | peak heap bytes | x limit |");
    for case in cases() {
        for (framework, (status, heap::Cost { peak, .. })) in [
            ("axum", axum_side::call(&case).await),
            ("actix", actix_side::call(&case).await),
        ] {
            eprintln!(
                "| {} | {} | {framework} | {peak} | {:.2} |",
                case.name,
                case.body.len(),
                peak as f64 / case.limit as f64,
            );
            if status != case.status {
                failures.push(format!(
                    "{} on {framework}: status {status}, expected {}",
                    case.name, case.status
                ));
            }
            // A normal request is small beside the framework's fixed costs: the bound
            // is on the large ones.
            if case.limit >= HEADER && peak > MULTIPLE * case.limit {
                failures.push(format!(
                    "{} on {framework}: peak heap {peak} > {MULTIPLE} x {}",
                    case.name, case.limit
                ));
            }
        }
    }
    let headers = HeaderList::new([("content-type", "application/json")]);
    let config = ParseConfig::default();
    for (name, body) in trusted_app_cases() {
        assert!(body.len() <= LIMIT, "{name}");
        let profiler = dhat::Profiler::builder().testing().build();
        let envelope = parse_callback::<UcwaEnvelope>(&headers, body.as_bytes(), &config)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        trusted_app_shared::print_callback(Some("ctx"), &envelope);
        drop(envelope);
        let peak = dhat::HeapStats::get().max_bytes;
        drop(profiler);
        eprintln!(
            "| {name} | {} | none | {peak} | {:.2} |",
            body.len(),
            peak as f64 / LIMIT as f64
        );
        if peak > MULTIPLE * LIMIT {
            failures.push(format!("{name}: peak heap {peak} > {MULTIPLE} x {LIMIT}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
