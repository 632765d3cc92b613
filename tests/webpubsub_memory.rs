//! The memory one Web PubSub request can cost, measured through the whole stack of
//! each framework (issue 18, item 5): the `WebPubSubPolicy` stack (signature
//! checked) with tower's `WebhookLayer` (called with `oneshot`) and actix-web's
//! `Webhook` (`test::init_service` + `call_service`), and a handler that takes the
//! `WebPubSub` extractor and answers as a real one does (a `connect` with a user
//! id, a user event with an echo of its data).
//!
//! The heap is measured by `dhat` in testing mode, as in `tests/memory.rs`: a
//! profiler runs around each request only, so what counts is what the request
//! allocated and still held at its peak (`HeapStats::max_bytes`), the body buffer
//! the adapter reads into and the answer included. Bodies are streamed in 16 KiB
//! chunks with no `Content-Length`.
//!
//! The cases are the worst bodies a client can make within the default limits
//! (a 1 MiB body): `connect` bodies whose `claims`, `query` and `headers` maps and
//! `subprotocols` and `clientCertificates` lists are as many and as small as the
//! body allows (refused 400 naming the limit since issue 18), the same at the
//! most [`WebPubSubLimits`](hookgate::webpubsub::WebPubSubLimits) allow
//! (accepted), a megabyte claim, user events of a megabyte of JSON, text or bytes
//! (echoed), and `disconnected` with a megabyte reason. Each must stay within
//! [`MULTIPLE`] times the body limit; the figures are printed (`--nocapture`) and
//! recorded in BENCHMARKS.md, "Web PubSub connect and user events (issue 18)".
//!
//! dhat allows one profiler at a time per process, so all cases run in the one test
//! of this binary, one after the other.

use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use hookgate::ParseConfig;
use hookgate::auth::WebPubSubKeys;
use hookgate::webpubsub::{
    ConnectResponse, UserEventResponse, WebPubSubEvent, WebPubSubLimits, WebPubSubPolicy,
    WebPubSubResponse,
};
use sha2::Sha256;

#[path = "common/heap.rs"]
mod heap;
use heap::Cost;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// The bound on a request's peak heap, in multiples of the body limit.
const MULTIPLE: usize = 4;

/// The body limit of every case: the default.
const LIMIT: usize = ParseConfig::DEFAULT_BODY_LIMIT;

const KEY: &str = "primary-access-key";
const CONNECTION: &str = "0f9c97a2f0bf4706afe87a14e0797b11";

/// One request: its event, content type and body, and the status it must get.
struct Case {
    name: String,
    ty: &'static str,
    content_type: &'static str,
    body: Bytes,
    status: u16,
}

/// `prefix`, then `item(i)` separated by commas as long as the body stays within
/// the limit, then `suffix`.
fn fill(prefix: &str, item: impl Fn(usize) -> String, suffix: &str) -> Bytes {
    let mut body = String::from(prefix);
    for i in 0.. {
        let item = item(i);
        if body.len() + item.len() + 1 + suffix.len() > LIMIT {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str(&item);
    }
    body.push_str(suffix);
    body.into()
}

/// `count` items, separated by commas.
fn items(count: usize, item: impl Fn(usize) -> String) -> String {
    (0..count).map(item).collect::<Vec<_>>().join(",")
}

fn cases() -> Vec<Case> {
    let limits = WebPubSubLimits::default();
    let (entries, values, items_max) = (
        limits.max_connect_entries(),
        limits.max_connect_values(),
        limits.max_connect_items(),
    );
    let connect = |name: String, body: Bytes, status: u16| Case {
        name,
        ty: "azure.webpubsub.sys.connect",
        content_type: "application/json",
        body,
        status,
    };
    let user = |name: &str, content_type: &'static str, body: Bytes| Case {
        name: name.to_owned(),
        ty: "azure.webpubsub.user.message",
        content_type,
        body,
        status: 200,
    };
    // A real client's connect: a token's claims, a query, browser headers.
    let normal = r#"{"claims":{"sub":["user1"],"iat":["1700000000"],"exp":["1700003600"],"aud":["https://xxx.webpubsub.azure.com/client/hubs/chat"],"role":["webpubsub.joinLeaveGroup","webpubsub.sendToGroup"]},"query":{"access_token":["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMSJ9.c2lnbmF0dXJl"],"room":["lobby"]},"headers":{"Connection":["Upgrade"],"Host":["xxx.webpubsub.azure.com"],"User-Agent":["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"],"Accept-Language":["en-US,en;q=0.9"],"Sec-WebSocket-Version":["13"]},"subprotocols":["json.webpubsub.azure.v1","protobuf.webpubsub.azure.v1"],"clientCertificates":[]}"#;
    let mut cases = vec![
        connect("connect: a normal body".into(), normal.into(), 200),
        connect(
            "connect: claims, one list of a megabyte of empty values".into(),
            fill(r#"{"claims":{"a":["#, |_| r#""""#.into(), "]}}"),
            400,
        ),
        connect(
            "connect: query, a megabyte of empty entries".into(),
            fill(r#"{"query":{"#, |i| format!(r#""{i:x}":[]"#), "}}"),
            400,
        ),
        connect(
            "connect: headers, a megabyte of entries of one empty value".into(),
            fill(r#"{"headers":{"#, |i| format!(r#""{i:x}":[""]"#), "}}"),
            400,
        ),
        connect(
            "connect: subprotocols, a megabyte of empty ones".into(),
            fill(r#"{"subprotocols":["#, |_| r#""""#.into(), "]}"),
            400,
        ),
        connect(
            "connect: clientCertificates, a megabyte of empty ones".into(),
            fill(r#"{"clientCertificates":["#, |_| "{}".into(), "]}"),
            400,
        ),
        connect(
            "connect: an unknown member, a megabyte of zeros".into(),
            fill(r#"{"x":["#, |_| "0".into(), "]}"),
            200,
        ),
        connect(
            "connect: one claim value of a megabyte".into(),
            format!(r#"{{"claims":{{"a":["{}"]}}}}"#, "a".repeat(LIMIT - 21)).into(),
            200,
        ),
        // At the limits: the most a body may hold, accepted.
        connect(
            format!("connect: the most entries ({entries}) of claims, query and headers"),
            format!(
                r#"{{"claims":{{{}}},"query":{{{}}},"headers":{{{}}}}}"#,
                items(entries, |i| format!(r#""{i:x}":[]"#)),
                items(entries, |i| format!(r#""{i:x}":[]"#)),
                items(entries, |i| format!(r#""{i:x}":[]"#)),
            )
            .into(),
            200,
        ),
        connect(
            format!("connect: the most entries and values ({items_max}), {values} values a list"),
            format!(
                r#"{{"claims":{{{}}},"subprotocols":[{}]}}"#,
                items(items_max / values - 1, |i| format!(
                    r#""{i:x}":[{}]"#,
                    items(values - 1, |_| r#""""#.into())
                )),
                items(values / 2, |_| r#""""#.into()),
            )
            .into(),
            200,
        ),
        connect(
            format!("connect: the most client certificates ({values})"),
            format!(
                r#"{{"clientCertificates":[{}]}}"#,
                items(values, |_| r#"{"thumbprint":"","content":""}"#.into())
            )
            .into(),
            200,
        ),
        user(
            "user event: a megabyte of JSON zeros (echoed)",
            "application/json",
            fill("[", |_| "0".into(), "]"),
        ),
        user(
            "user event: a megabyte of JSON typed application/cloudevents-batch+json (echoed)",
            "application/cloudevents-batch+json",
            fill("[", |_| "{}".into(), "]"),
        ),
        user(
            "user event: a megabyte of text (echoed)",
            "text/plain",
            "a".repeat(LIMIT).into(),
        ),
        user(
            "user event: a megabyte of bytes (echoed)",
            "application/octet-stream",
            vec![7u8; LIMIT].into(),
        ),
        Case {
            name: "disconnected: a megabyte reason".into(),
            ty: "azure.webpubsub.sys.disconnected",
            content_type: "application/json",
            body: format!(r#"{{"reason":"{}"}}"#, "a".repeat(LIMIT - 20)).into(),
            status: 204,
        },
        Case {
            name: "connected".into(),
            ty: "azure.webpubsub.sys.connected",
            content_type: "application/json",
            body: Bytes::new(),
            status: 204,
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

fn policy() -> WebPubSubPolicy {
    WebPubSubPolicy::builder()
        .any_origin()
        .keys(WebPubSubKeys::new([KEY]).unwrap())
        .build()
        .unwrap()
}

/// The headers the service sends with every event of `ty`.
fn headers(case: &Case) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(CONNECTION.as_bytes());
    let name = case.ty.rsplit('.').next().unwrap();
    vec![
        ("content-type", case.content_type.to_owned()),
        ("ce-specversion", "1.0".into()),
        ("ce-type", case.ty.into()),
        ("ce-source", format!("/hubs/chat/client/{CONNECTION}")),
        ("ce-id", "1".into()),
        ("ce-userId", "user1".into()),
        ("ce-connectionId", CONNECTION.into()),
        ("ce-hub", "chat".into()),
        ("ce-eventName", name.into()),
        (
            "ce-signature",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        ),
    ]
}

/// The handler's answer: a `connect` gets its user id, a user event an echo.
fn answer(event: WebPubSubEvent) -> WebPubSubResponse {
    match event {
        WebPubSubEvent::Connect(connect) => ConnectResponse::new()
            .user_id(connect.context.user_id().unwrap_or("anonymous"))
            .into(),
        WebPubSubEvent::User(user) => UserEventResponse::echo(&user.data).into(),
        _ => WebPubSubResponse::Ack,
    }
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::webpubsub::{WebPubSub, WebPubSubReply};
    use hookgate::tower::{Webhook, WebhookLayer};
    use tower::Layer as _;

    fn app() -> Webhook<Router> {
        let routes = Router::new().route(
            "/api/{event}",
            post(|WebPubSub(event): WebPubSub| async move { WebPubSubReply(answer(event)) }),
        );
        WebhookLayer::new(policy().webhook().clone()).layer(routes)
    }

    pub(super) async fn call(case: &Case) -> (u16, Cost) {
        let mut request = http::Request::post("/api/event");
        for (name, value) in headers(case) {
            request = request.header(name, value);
        }
        heap::tower(app(), request, &case.body, heap::CHUNK).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::{App, test, web};
    use hookgate::actix::Webhook;
    use hookgate::actix::webpubsub::{WebPubSub, WebPubSubReply};

    pub(super) async fn call(case: &Case) -> (u16, Cost) {
        let app = test::init_service(
            App::new()
                .wrap(Webhook::new(policy().webhook().clone()))
                .route(
                    "/api/{event}",
                    web::post().to(|WebPubSub(event): WebPubSub| async move {
                        WebPubSubReply(answer(event))
                    }),
                ),
        )
        .await;
        let mut request = test::TestRequest::post().uri("/api/event");
        for (name, value) in headers(case) {
            request = request.insert_header((name, value));
        }
        heap::actix(&app, heap::actix_request(request, &case.body, heap::CHUNK)).await
    }
}

#[actix_web::test]
async fn the_peak_heap_of_a_web_pubsub_request_is_within_a_multiple_of_the_body_limit() {
    let mut failures = Vec::new();
    eprintln!(
        "| request | body bytes | framework | status | peak heap bytes | x limit | allocations |"
    );
    for case in cases() {
        for (framework, (status, cost)) in [
            ("axum", axum_side::call(&case).await),
            ("actix", actix_side::call(&case).await),
        ] {
            eprintln!(
                "| {} | {} | {framework} | {status} | {} | {:.2} | {} |",
                case.name,
                case.body.len(),
                cost.peak,
                cost.peak as f64 / LIMIT as f64,
                cost.blocks,
            );
            let what = format!("{} on {framework}", case.name);
            if status != case.status {
                failures.push(format!("{what}: status {status}, expected {}", case.status));
            }
            if cost.peak > MULTIPLE * LIMIT {
                failures.push(format!(
                    "{what}: peak heap {} > {MULTIPLE} x the limit",
                    cost.peak
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
