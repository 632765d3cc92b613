//! The webhook validation handshake on axum and on actix-web: the same policy, the
//! same requests, the same answers (status, grant headers, problem+json body).
//!
//! Both apps put the handshake outside a CORS layer (tower-http's `CorsLayer`,
//! actix-cors' `Cors`) so that a CORS preflight, which carries no
//! `WebHook-Request-Origin`, is seen to reach it. Callback confirmations go to a real
//! HTTP server on a loopback port that records what it receives.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use hookgate::client::BoxFuture;
use hookgate::handshake::{CallbackPolicy, CallbackResolver, HandshakePolicy, Rate};

const CORS_ORIGIN: &str = "https://app.example";
const DELIVERED: &str = "delivered";

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{Handshake, HandshakeLayer};
    use tower::Layer as _;
    use tower_http::cors::CorsLayer;

    /// The handshake wraps the whole router, as `ServiceBuilder` or
    /// `Layer::layer` put it (`Router::layer` works too, but axum then adds its
    /// own `Allow` header to the refusals).
    pub(super) fn app(policy: HandshakePolicy) -> Handshake<Router> {
        let cors = CorsLayer::new()
            .allow_origin(http::HeaderValue::from_static(CORS_ORIGIN))
            .allow_methods([http::Method::POST])
            .allow_headers([http::header::CONTENT_TYPE]);
        let router = Router::new()
            .route("/api/events", post(|| async { DELIVERED }))
            .layer(cors);
        HandshakeLayer::new(policy).layer(router)
    }

    pub(super) async fn call(policy: &HandshakePolicy, req: &TestRequest) -> TestResponse {
        axum_app::call_service(app(policy.clone()), req).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::Handshake;

    pub(super) async fn app(
        policy: HandshakePolicy,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        let cors = actix_cors::Cors::default()
            .allowed_origin(CORS_ORIGIN)
            .allowed_methods(["POST"])
            .allowed_header(http::header::CONTENT_TYPE.as_str());
        test::init_service(App::new().wrap(cors).wrap(Handshake::new(policy)).route(
            "/api/events",
            web::post().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/plain; charset=utf-8")
                    .body(DELIVERED)
            }),
        ))
        .await
    }
}

/// Sends `req` to both apps and checks that they answer the same; returns the answer.
async fn both(policy: &HandshakePolicy, req: &TestRequest) -> TestResponse {
    let axum = axum_side::call(policy, req).await;
    let actix = actix_app::call(&actix_side::app(policy.clone()).await, req).await;
    assert_eq!(axum, actix, "axum and actix differ for {req:?}");
    axum
}

fn event_grid() -> HandshakePolicy {
    HandshakePolicy::builder()
        .azure_event_grid()
        .build()
        .unwrap()
}

fn options(origin: &str) -> TestRequest {
    TestRequest::post("/api/events")
        .method("OPTIONS")
        .header("WebHook-Request-Origin", origin)
}

fn assert_granted(res: &TestResponse, origin: &str, rate: &str) {
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.header("webhook-allowed-origin"),
        Some(origin),
        "{res:?}"
    );
    assert_eq!(res.header("webhook-allowed-rate"), Some(rate), "{res:?}");
    assert_eq!(res.header("allow"), Some("POST, OPTIONS"), "{res:?}");
}

fn assert_refused(res: &TestResponse, status: u16, slug: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.problem_slug(), slug, "{res:?}");
    assert_eq!(res.header("webhook-allowed-origin"), None, "{res:?}");
    assert_eq!(res.header("webhook-allowed-rate"), None, "{res:?}");
}

#[actix_web::test]
async fn allowed_origins_are_granted_in_any_case() {
    for origin in [
        "eventgrid.azure.net",
        "EventGrid.Azure.NET",
        "eventgrid.azure.us",
        "eventgrid.azure.cn",
    ] {
        let res = both(&event_grid(), &options(origin)).await;
        // The origin is answered as it was requested.
        assert_granted(&res, origin, "*");
        assert!(res.body.is_empty());
    }
}

#[actix_web::test]
async fn other_origins_and_look_alikes_are_refused() {
    for origin in [
        "evil.example",
        "eventgrid.azure.net.evil.example",
        "evil-eventgrid.azure.net",
        "eventgrid.azure.ne",
    ] {
        let res = both(&event_grid(), &options(origin)).await;
        assert_refused(&res, 403, "origin-not-allowed");
        assert!(res.json()["detail"].as_str().unwrap().contains(origin));
    }
}

#[actix_web::test]
async fn the_rate_is_always_answered() {
    let numeric = HandshakePolicy::builder()
        .azure_event_grid()
        .rate(Rate::parse("60").unwrap())
        .build()
        .unwrap();
    let requested = options("eventgrid.azure.net").header("WebHook-Request-Rate", "120");
    assert_granted(
        &both(&numeric, &requested).await,
        "eventgrid.azure.net",
        "60",
    );
    assert_granted(
        &both(&event_grid(), &requested).await,
        "eventgrid.azure.net",
        "*",
    );
    // No rate requested: the header is still sent.
    assert_granted(
        &both(&numeric, &options("eventgrid.azure.net")).await,
        "eventgrid.azure.net",
        "60",
    );
    let star = options("eventgrid.azure.net").header("WebHook-Request-Rate", "*");
    assert_granted(&both(&numeric, &star).await, "eventgrid.azure.net", "60");
}

#[actix_web::test]
async fn wildcard_and_any_origin_policies() {
    let wildcard = HandshakePolicy::builder()
        .web_pubsub_host("myhub.webpubsub.azure.com")
        .answer_wildcard_origin(true)
        .build()
        .unwrap();
    let res = both(&wildcard, &options("MyHub.WebPubSub.Azure.com")).await;
    assert_granted(&res, "*", "*");
    let res = both(&wildcard, &options("other.webpubsub.azure.com")).await;
    assert_refused(&res, 403, "origin-not-allowed");

    let any = HandshakePolicy::builder()
        .allow_any_origin()
        .build()
        .unwrap();
    assert_granted(
        &both(&any, &options("anything.example")).await,
        "anything.example",
        "*",
    );
}

#[actix_web::test]
async fn malformed_handshake_headers_are_400() {
    let cases: Vec<(&str, TestRequest)> = vec![
        ("empty origin", options("")),
        ("blank origin", options("   ")),
        (
            "non-ASCII origin",
            TestRequest::post("/api/events")
                .method("OPTIONS")
                .header("WebHook-Request-Origin", b"eventgrid.azur\xc3\xa9.net"),
        ),
        ("origin with a space", options("eventgrid.azure.net evil")),
        (
            "two origin lines",
            options("eventgrid.azure.net").header("WebHook-Request-Origin", "eventgrid.azure.us"),
        ),
        (
            "rate not a number",
            options("eventgrid.azure.net").header("WebHook-Request-Rate", "fast"),
        ),
        (
            "rate zero",
            options("eventgrid.azure.net").header("WebHook-Request-Rate", "0"),
        ),
        (
            "rate negative",
            options("eventgrid.azure.net").header("WebHook-Request-Rate", "-5"),
        ),
        (
            "two rate lines",
            options("eventgrid.azure.net")
                .header("WebHook-Request-Rate", "1")
                .header("WebHook-Request-Rate", "2"),
        ),
    ];
    for (what, req) in cases {
        let res = both(&event_grid(), &req).await;
        assert_eq!(res.status, 400, "{what}: {res:?}");
        assert_eq!(res.problem_slug(), "invalid-handshake-header", "{what}");
        assert!(
            res.json()["detail"]
                .as_str()
                .unwrap()
                .contains("webhook-request-"),
            "{what}: the detail names the header: {}",
            res.text()
        );
    }
}

#[actix_web::test]
async fn requests_that_are_not_handshakes_pass_through() {
    // A CORS preflight: no WebHook-Request-Origin; the CORS layer behind answers.
    let preflight = TestRequest::post("/api/events")
        .method("OPTIONS")
        .header("Origin", CORS_ORIGIN)
        .header("Access-Control-Request-Method", "POST");
    let axum = axum_side::call(&event_grid(), &preflight).await;
    let actix = actix_app::call(&actix_side::app(event_grid()).await, &preflight).await;
    // Without the CORS layer the route (POST only) would answer 405 (axum) or 404
    // (actix); 200 is the CORS layer's preflight answer.
    for res in [&axum, &actix] {
        assert_eq!(res.status, 200, "{res:?}");
        assert_eq!(res.header("webhook-allowed-origin"), None);
    }

    // A delivery reaches the handler.
    let res = both(&event_grid(), &TestRequest::post("/api/events")).await;
    assert_eq!((res.status, res.text().as_str()), (200, DELIVERED));

    // GET with the origin header is not answered unless configured.
    let get = options("eventgrid.azure.net").method("GET");
    for res in [
        axum_side::call(&event_grid(), &get).await,
        actix_app::call(&actix_side::app(event_grid()).await, &get).await,
    ] {
        assert_ne!(res.status, 200, "{res:?}");
        assert_eq!(res.header("webhook-allowed-origin"), None);
    }
}

#[actix_web::test]
async fn get_validation_when_configured() {
    let policy = HandshakePolicy::builder()
        .web_pubsub_host("localhost")
        .answer_get(true)
        .build()
        .unwrap();
    let res = both(&policy, &options("localhost").method("GET")).await;
    assert_granted(&res, "localhost", "*");
    let res = both(&policy, &options("evil.example").method("GET")).await;
    assert_refused(&res, 403, "origin-not-allowed");
}

const VALIDATION_EVENT: &str = r#"[{
  "id": "2d1781af-3a4c-4d7c-bd0c-e34b19da4e66",
  "topic": "/subscriptions/xxx/resourceGroups/rg/providers/Microsoft.EventGrid/topics/t",
  "subject": "",
  "data": {
    "validationCode": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
    "validationUrl": "https://rp-eastus2.eventgrid.azure.net/api/subscriptions/x/validate?id=y"
  },
  "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
  "eventTime": "2018-01-25T22:12:19.4556811Z",
  "metadataVersion": "1",
  "dataVersion": "1"
}]"#;

fn validation_post(body: &str) -> TestRequest {
    TestRequest::post("/api/events")
        .header("aeg-event-type", "SubscriptionValidation")
        .header("content-type", "application/json")
        .body(body.to_owned())
}

#[actix_web::test]
async fn event_grid_schema_validation() {
    let policy = HandshakePolicy::builder()
        .azure_event_grid()
        .event_grid_schema(true)
        .build()
        .unwrap();
    let res = both(&policy, &validation_post(VALIDATION_EVENT)).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        res.json(),
        serde_json::json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})
    );

    for bad in [
        "not json",
        "[]",
        r#"[{"eventType": "Other", "data": {"validationCode": "x"}}]"#,
        r#"[{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {}}]"#,
    ] {
        let res = both(&policy, &validation_post(bad)).await;
        assert_refused(&res, 400, "invalid-validation-event");
    }
    let huge = format!("[{}]", " ".repeat(70 * 1024));
    let res = both(&policy, &validation_post(&huge)).await;
    assert_refused(&res, 400, "invalid-validation-event");

    // Not enabled: the POST is an ordinary request.
    let res = both(&event_grid(), &validation_post(VALIDATION_EVENT)).await;
    assert_eq!((res.status, res.text().as_str()), (200, DELIVERED));
}

/// A validation request of the wrong shape is told the JSON path and kinds, never a
/// Rust type (serde's "expected struct Event"); the members after the first are
/// counted, not kept.
#[actix_web::test]
async fn a_malformed_validation_event_is_told_the_json_path() {
    let policy = HandshakePolicy::builder()
        .azure_event_grid()
        .event_grid_schema(true)
        .build()
        .unwrap();
    let event = |code: &str| {
        format!(
            r#"{{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {{"validationCode": {code}}}}}"#
        )
    };
    for (body, expected) in [
        ("{}".to_owned(), "expected an array, got an object"),
        (
            "[1]".to_owned(),
            "at `/0`: expected an object, got a number",
        ),
        (
            format!("[{}]", event("5")),
            "at `/0/data/validationCode`: expected a string, got a number",
        ),
        (
            r#"[{"data": {"validationCode": "x"}}]"#.to_owned(),
            "at `/0`: missing field `eventType`",
        ),
        (
            format!("[{}, {}, 3]", event(r#""a""#), event(r#""b""#)),
            "expected exactly one validation event, got 3",
        ),
    ] {
        let res = both(&policy, &validation_post(&body)).await;
        assert_refused(&res, 400, "invalid-validation-event");
        let detail = res.json()["detail"].as_str().unwrap().to_owned();
        assert!(detail.ends_with(expected), "{body}: {detail}");
        for leak in ["::", "struct", "Event<", "Data", "One"] {
            assert!(!detail.contains(leak), "{detail:?} names {leak:?}");
        }
    }
}

/// A real HTTP server on a loopback port that records each request's method and
/// path, and answers 500 to the first `failures` requests, then 200.
struct CallbackServer {
    addr: SocketAddr,
    received: mpsc::Receiver<(String, String)>,
}

impl CallbackServer {
    fn start(failures: usize) -> Self {
        let (addr_tx, addr_rx) = mpsc::channel();
        let (tx, received) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let seen = Arc::new(AtomicUsize::new(0));
                let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let (tx, seen) = (tx.clone(), Arc::clone(&seen));
                    async move {
                        let _ = tx.send((req.method().to_string(), req.uri().to_string()));
                        if seen.fetch_add(1, Ordering::SeqCst) < failures {
                            http::StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            http::StatusCode::OK
                        }
                    }
                });
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Self { addr, received }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request the server received, within 10 s.
    fn next(&self) -> (String, String) {
        self.received
            .recv_timeout(Duration::from_secs(10))
            .expect("the callback server received no request within 10 s")
    }

    fn nothing_more(&self) {
        assert!(
            self.received
                .recv_timeout(Duration::from_millis(300))
                .is_err(),
            "the callback server received an unexpected request"
        );
    }
}

fn callback_policy(callback: CallbackPolicy) -> HandshakePolicy {
    HandshakePolicy::builder()
        .azure_event_grid()
        .callback(callback)
        .build()
        .unwrap()
}

/// Loopback over http, as the test server is.
fn local_callbacks() -> hookgate::handshake::CallbackPolicyBuilder {
    CallbackPolicy::builder()
        .allow_http(true)
        .allow_private_addresses(true)
        .timeout(Duration::from_secs(5))
        .backoff(Duration::from_millis(20))
}

fn with_callback(url: &str) -> TestRequest {
    options("eventgrid.azure.net").header("WebHook-Request-Callback", url)
}

#[actix_web::test]
async fn callback_is_confirmed_by_a_get_on_both_frameworks() {
    let policy = callback_policy(local_callbacks().build().unwrap());
    for framework in ["axum", "actix"] {
        let server = CallbackServer::start(0);
        let req = with_callback(&server.url(&format!("/confirm?{framework}=1")));
        let res = if framework == "axum" {
            axum_side::call(&policy, &req).await
        } else {
            actix_app::call(&actix_side::app(policy.clone()).await, &req).await
        };
        // 200 without grant headers: the grant comes by callback.
        assert_eq!(res.status, 200, "{framework}: {res:?}");
        assert!(res.headers.is_empty(), "{framework}: {res:?}");
        // The confirmation runs on a spawned task: let the runtime drive it.
        let wait = actix_web::rt::spawn(async move {
            tokio::task::spawn_blocking(move || {
                let got = server.next();
                server.nothing_more();
                got
            })
            .await
            .unwrap()
        });
        let (method, path) = wait.await.unwrap();
        assert_eq!(method, "GET", "{framework}");
        assert_eq!(path, format!("/confirm?{framework}=1"), "{framework}");
    }
}

#[actix_web::test]
async fn callback_by_post_and_retries_after_500() {
    let policy = callback_policy(
        local_callbacks()
            .method(hookgate::client::OutboundMethod::Post)
            .attempts(4)
            .build()
            .unwrap(),
    );
    for framework in ["axum", "actix"] {
        let server = CallbackServer::start(2);
        let req = with_callback(&server.url("/cb"));
        let res = if framework == "axum" {
            axum_side::call(&policy, &req).await
        } else {
            actix_app::call(&actix_side::app(policy.clone()).await, &req).await
        };
        assert_eq!(res.status, 200, "{framework}: {res:?}");
        let got = actix_web::rt::spawn(async move {
            tokio::task::spawn_blocking(move || {
                // Two answers of 500, then the confirmation succeeds; no fourth try.
                let got = [server.next(), server.next(), server.next()];
                server.nothing_more();
                got
            })
            .await
            .unwrap()
        })
        .await
        .unwrap();
        for (method, path) in got {
            assert_eq!(
                (method.as_str(), path.as_str()),
                ("POST", "/cb"),
                "{framework}"
            );
        }
    }
}

#[actix_web::test]
async fn callbacks_that_could_forge_requests_are_refused() {
    let strict = callback_policy(CallbackPolicy::builder().build().unwrap());
    let cases = [
        ("a private address", "https://10.0.0.1/cb", &strict),
        (
            "link-local metadata",
            "https://169.254.169.254/latest",
            &strict,
        ),
        ("loopback by name", "https://localhost:8443/cb", &strict),
        ("IPv6 loopback", "https://[::1]/cb", &strict),
        (
            "NAT64 to a private address",
            "https://[64:ff9b::a00:1]/cb",
            &strict,
        ),
        ("6to4 of loopback", "https://[2002:7f00:1::1]/cb", &strict),
        (
            "6to4 of a public address",
            "https://[2002:1401:203::1]/cb",
            &strict,
        ),
        (
            "IPv4-translated loopback",
            "https://[::ffff:0:7f00:1]/cb",
            &strict,
        ),
        (
            "IPv4-mapped link-local",
            "https://[::ffff:169.254.169.254]/cb",
            &strict,
        ),
        ("discard-only IPv6", "https://[100::1]/cb", &strict),
        ("dummy IPv6 prefix", "https://[100:0:0:1::1]/cb", &strict),
        (
            "IPv6 documentation 3fff::/20",
            "https://[3fff::1]/cb",
            &strict,
        ),
        ("SRv6 SIDs", "https://[5f00::1]/cb", &strict),
        ("AS112 IPv4", "https://192.31.196.1/cb", &strict),
        ("IPv4-compatible IPv6", "https://[::a00:1]/cb", &strict),
        ("site-local IPv6", "https://[fec0::1]/cb", &strict),
        ("benchmarking network", "https://198.18.0.1/cb", &strict),
        ("reserved 240/4", "https://240.0.0.1/cb", &strict),
        ("plain http", "http://example.com/cb", &strict),
        ("another scheme", "file:///etc/passwd", &strict),
    ];
    for (what, url, policy) in cases {
        let res = both(policy, &with_callback(url)).await;
        assert_refused(&res, 403, "callback-refused");
        let detail = res.json()["detail"].as_str().unwrap().to_owned();
        // Which address a name resolved to is logged, never told to the caller.
        assert!(
            !detail.contains("127.0.0.1") && !detail.contains("::1"),
            "{what}: {detail}"
        );
    }
    let allowlisted = callback_policy(
        CallbackPolicy::builder()
            .allow_hosts(["callbacks.example"])
            .build()
            .unwrap(),
    );
    let res = both(&allowlisted, &with_callback("https://other.example/cb")).await;
    assert_refused(&res, 403, "callback-refused");
    assert!(res.text().contains("allowlist"));

    // Not a URL at all: a malformed header.
    let res = both(&strict, &with_callback("not a url")).await;
    assert_eq!(res.status, 400);

    // A disallowed origin is refused before its callback is looked at.
    let res = both(
        &strict,
        &options("evil.example").header("WebHook-Request-Callback", "https://10.0.0.1/"),
    )
    .await;
    assert_refused(&res, 403, "origin-not-allowed");
}

#[actix_web::test]
async fn without_callback_mode_a_callback_request_is_granted_at_once() {
    let res = both(&event_grid(), &with_callback("https://10.0.0.1/cb")).await;
    assert_granted(&res, "eventgrid.azure.net", "*");
}

#[test]
fn policies_are_checked_when_built() {
    assert!(HandshakePolicy::builder().build().is_err());
    assert!(HandshakePolicy::builder().allow_origin("").build().is_err());
    assert!(
        HandshakePolicy::builder()
            .allow_origin("*")
            .build()
            .is_err()
    );
    assert!(
        HandshakePolicy::builder()
            .allow_origin("a b.example")
            .build()
            .is_err()
    );
    assert!(Rate::parse("0").is_err());
    assert!(Rate::parse("fast").is_err());
    assert_eq!(Rate::parse(" * ").unwrap(), Rate::Any);
    assert!(CallbackPolicy::builder().attempts(0).build().is_err());
    assert!(CallbackPolicy::builder().attempts(11).build().is_err());
    assert!(
        CallbackPolicy::builder()
            .timeout(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        CallbackPolicy::builder()
            .allow_hosts(Vec::<String>::new())
            .build()
            .is_err()
    );
    assert!(CallbackPolicy::builder().max_concurrent(0).build().is_err());
    assert!(
        CallbackPolicy::builder()
            .resolve_timeout(Duration::ZERO)
            .build()
            .is_err()
    );
}

/// The four ways a handshake reaches the core: the handshake middleware
/// (`HandshakeLayer`, `Handshake`) and the whole-stack entry point (`WebhookLayer`,
/// `Webhook`), on axum and on actix-web.
#[derive(Clone, Copy, Debug)]
enum Entry {
    AxumHandshake,
    AxumWebhook,
    ActixHandshake,
    ActixWebhook,
}

const ENTRIES: [Entry; 4] = [
    Entry::AxumHandshake,
    Entry::AxumWebhook,
    Entry::ActixHandshake,
    Entry::ActixWebhook,
];

impl Entry {
    async fn call(self, policy: &HandshakePolicy, req: &TestRequest) -> TestResponse {
        use actix_web::{App, HttpResponse, test, web};
        use tower::Layer as _;

        let webhook = || {
            hookgate::WebhookPolicy::builder()
                .handshake(policy.clone())
                .build()
                .unwrap()
        };
        match self {
            Self::AxumHandshake => axum_side::call(policy, req).await,
            Self::AxumWebhook => {
                let router = axum::Router::new()
                    .route("/api/events", axum::routing::post(|| async { DELIVERED }));
                let app = hookgate::tower::WebhookLayer::new(webhook()).layer(router);
                axum_app::call_service(app, req).await
            }
            Self::ActixHandshake => {
                actix_app::call(&actix_side::app(policy.clone()).await, req).await
            }
            Self::ActixWebhook => {
                let app = test::init_service(
                    App::new()
                        .wrap(hookgate::actix::Webhook::new(webhook()))
                        .route(
                            "/api/events",
                            web::post().to(|| async { HttpResponse::Ok().body(DELIVERED) }),
                        ),
                )
                .await;
                actix_app::call(&app, req).await
            }
        }
    }
}

/// A resolver that never answers.
#[derive(Debug)]
struct SilentResolver;

impl CallbackResolver for SilentResolver {
    fn resolve(&self, _: &str, _: u16) -> BoxFuture<std::io::Result<Vec<SocketAddr>>> {
        Box::pin(std::future::pending())
    }
}

/// A resolver that answers `to` for every name.
#[derive(Debug)]
struct FixedResolver(SocketAddr);

impl CallbackResolver for FixedResolver {
    fn resolve(&self, _: &str, _: u16) -> BoxFuture<std::io::Result<Vec<SocketAddr>>> {
        let to = self.0;
        Box::pin(async move { Ok(vec![to]) })
    }
}

/// Waits on the test's runtime (so that spawned confirmations run) until `done`,
/// for at most 10 s.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not within 10 s: {what}");
}

#[actix_web::test]
async fn a_callback_host_that_does_not_resolve_in_time_is_refused_on_every_entry() {
    let callback = local_callbacks()
        .resolver(Arc::new(SilentResolver))
        .resolve_timeout(Duration::from_millis(100))
        .max_concurrent(1)
        .build()
        .unwrap();
    let policy = callback_policy(callback.clone());
    for entry in ENTRIES {
        // Twice: a lookup that timed out gives its place back.
        for _ in 0..2 {
            let res = entry
                .call(&policy, &with_callback("http://never.example/cb"))
                .await;
            assert_refused(&res, 403, "callback-refused");
            let detail = res.json()["detail"].as_str().unwrap().to_owned();
            assert!(
                detail.contains("`never.example` did not resolve within 100ms"),
                "{entry:?}: {detail}"
            );
            assert_eq!(callback.in_progress(), 0, "{entry:?}");
        }
    }
}

#[actix_web::test]
async fn a_callback_name_goes_to_the_address_it_was_checked_with_on_every_entry() {
    for entry in ENTRIES {
        let server = CallbackServer::start(0);
        // `.invalid` never resolves: only the checked address reaches the server.
        let policy = callback_policy(
            local_callbacks()
                .resolver(Arc::new(FixedResolver(server.addr)))
                .build()
                .unwrap(),
        );
        let url = format!("http://callback.invalid:{}/confirm", server.addr.port());
        let res = entry.call(&policy, &with_callback(&url)).await;
        assert_eq!(res.status, 200, "{entry:?}: {res:?}");
        let got = actix_web::rt::spawn(async move {
            tokio::task::spawn_blocking(move || server.next())
                .await
                .unwrap()
        })
        .await
        .unwrap();
        assert_eq!(
            (got.0.as_str(), got.1.as_str()),
            ("GET", "/confirm"),
            "{entry:?}"
        );
    }
}

/// A real HTTP server on a loopback port that holds every request until
/// released (for at most 10 s), then answers 200.
struct HoldingServer {
    addr: SocketAddr,
    arrived: Arc<AtomicUsize>,
    released: Arc<AtomicBool>,
}

impl HoldingServer {
    fn start() -> Self {
        let arrived = Arc::new(AtomicUsize::new(0));
        let released = Arc::new(AtomicBool::new(false));
        let (addr_tx, addr_rx) = mpsc::channel();
        let (a, r) = (Arc::clone(&arrived), Arc::clone(&released));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = axum::Router::new().fallback(move || {
                    let (arrived, released) = (Arc::clone(&a), Arc::clone(&r));
                    async move {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        for _ in 0..1000 {
                            if released.load(Ordering::SeqCst) {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        http::StatusCode::OK
                    }
                });
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        Self {
            addr,
            arrived,
            released,
        }
    }

    fn arrived(&self) -> usize {
        self.arrived.load(Ordering::SeqCst)
    }
}

#[actix_web::test]
async fn callbacks_beyond_the_cap_are_429_until_one_ends_on_every_entry() {
    for entry in ENTRIES {
        let server = HoldingServer::start();
        let callback = local_callbacks()
            .max_concurrent(2)
            .attempts(1)
            .build()
            .unwrap();
        let policy = callback_policy(callback.clone());
        let url = server.url_for(entry);
        for _ in 0..2 {
            let res = entry.call(&policy, &with_callback(&url)).await;
            assert_eq!(res.status, 200, "{entry:?}: {res:?}");
        }
        eventually("both confirmations reach the target", || {
            server.arrived() == 2
        })
        .await;
        assert_eq!(callback.in_progress(), 2, "{entry:?}");

        // The third is refused while the two are held, and sends nothing.
        let res = entry.call(&policy, &with_callback(&url)).await;
        assert_refused(&res, 429, "callback-busy");
        assert_eq!(res.header("retry-after"), Some("10"), "{entry:?}");
        let detail = res.json()["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains("2 validation callbacks"),
            "{entry:?}: {detail}"
        );

        // The target answers: the places come back and a handshake is accepted.
        server.released.store(true, Ordering::SeqCst);
        eventually("the held confirmations end", || callback.in_progress() == 0).await;
        let res = entry.call(&policy, &with_callback(&url)).await;
        assert_eq!(res.status, 200, "{entry:?}: {res:?}");
        eventually("the new confirmation reaches the target", || {
            server.arrived() == 3
        })
        .await;
        assert_eq!(
            server.arrived(),
            3,
            "{entry:?}: the refused one sent nothing"
        );
    }
}

impl HoldingServer {
    fn url_for(&self, entry: Entry) -> String {
        format!("http://{}/hold?{entry:?}", self.addr)
    }
}
