//! The one entry point (`WebhookLayer` on axum, `Webhook` on actix-web) against the
//! four parts wired by hand in the documented order: the same answers for the whole
//! request vector set and for the handshake, authentication and deduplication cases,
//! on both frameworks. Rejections reach the `on_rejection` hook the same way on both,
//! and a misordered manual stack is logged.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use common::vectors;
use hookgate::auth::{AuthPolicy, SharedSecrets};
use hookgate::dedup::{DedupPolicy, MemoryStore};
use hookgate::handshake::HandshakePolicy;
use hookgate::webhook::Rejection;
use hookgate::{CloudEvent, ParseConfig, WebhookPolicy};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
const SECRET: &str = "s3cret";

/// The parts, built anew (a fresh dedup store) for each app.
struct Parts {
    handshake: HandshakePolicy,
    auth: AuthPolicy,
    parse: ParseConfig,
    dedup: DedupPolicy,
}

fn parts(parse: ParseConfig) -> Parts {
    Parts {
        handshake: HandshakePolicy::builder()
            .azure_event_grid()
            .build()
            .unwrap(),
        auth: AuthPolicy::builder()
            .shared_secrets(SharedSecrets::new([SECRET]).unwrap())
            .build()
            .unwrap(),
        parse,
        dedup: DedupPolicy::builder()
            .store(Arc::new(MemoryStore::with_capacity(1000).unwrap()))
            .build()
            .unwrap(),
    }
}

impl Parts {
    fn webhook(self, hook: Option<Arc<Mutex<Vec<String>>>>) -> WebhookPolicy {
        let mut builder = WebhookPolicy::builder()
            .handshake(self.handshake)
            .auth(self.auth)
            .parse(self.parse)
            .dedup(self.dedup);
        if let Some(seen) = hook {
            builder = builder.on_rejection(move |r: &Rejection<'_>| {
                seen.lock().unwrap().push(describe(r));
            });
        }
        builder.build().unwrap()
    }
}

fn describe(r: &Rejection<'_>) -> String {
    let slug = r
        .problem()
        .type_uri()
        .rsplit(':')
        .next()
        .unwrap_or_default();
    format!(
        "{} {} {} {} {slug}",
        r.stage().as_str(),
        r.method(),
        r.path(),
        r.problem().status()
    )
}

#[derive(serde::Deserialize)]
struct Order {
    #[allow(dead_code)]
    total: u64,
}

fn events_json(events: &[CloudEvent]) -> Vec<u8> {
    serde_json::to_vec(events).unwrap()
}

mod axum_apps {
    use super::*;
    use axum::Router;
    use axum::http::header::CONTENT_TYPE;
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use hookgate::tower::{
        AuthLayer, CloudEvent, CloudEvents, DedupLayer, HandshakeLayer, ParseCloudEventsLayer,
        WebhookLayer,
    };
    use tower::{Layer as _, ServiceBuilder};

    async fn events(CloudEvents(events): CloudEvents) -> Response {
        ([(CONTENT_TYPE, "application/json")], events_json(&events)).into_response()
    }

    async fn typed(CloudEvent(event): CloudEvent<Order>) -> String {
        event.id().to_owned()
    }

    fn routes() -> Router {
        Router::new()
            .route("/events", post(events))
            .route("/typed", post(typed))
    }

    // The stacks wrap the whole router (a tower `Layer` around it, as
    // `ServiceBuilder` does): with `Router::layer` instead, axum's method router adds
    // its own `Allow: POST` to a refused handshake.
    pub(crate) fn manual(p: Parts) -> impl Service {
        ServiceBuilder::new()
            .layer(HandshakeLayer::new(p.handshake))
            .layer(AuthLayer::new(p.auth))
            .layer(ParseCloudEventsLayer::new(p.parse))
            .layer(DedupLayer::new(p.dedup))
            .service(routes())
    }

    pub(crate) fn entry(webhook: WebhookPolicy) -> impl Service {
        WebhookLayer::new(webhook).layer(routes())
    }

    pub(crate) trait Service:
        tower::Service<
            http::Request<axum::body::Body>,
            Response = http::Response<Self::Body>,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
    {
        type Body: http_body::Body<Data = Bytes, Error = axum::Error> + Send;
    }

    impl<S, B> Service for S
    where
        S: tower::Service<
                http::Request<axum::body::Body>,
                Response = http::Response<B>,
                Error = std::convert::Infallible,
                Future: Send,
            > + Clone
            + Send,
        B: http_body::Body<Data = Bytes, Error = axum::Error> + Send,
    {
        type Body = B;
    }

    /// Dedup outside the parse layer: it runs first and finds nothing parsed.
    pub(crate) fn misordered(p: Parts) -> Router {
        routes()
            .layer(ParseCloudEventsLayer::new(p.parse))
            .layer(DedupLayer::new(p.dedup))
    }
}

mod actix_apps {
    use super::*;
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::{
        Auth, CloudEvent, CloudEvents, Dedup, Handshake, ParseCloudEvents, Webhook,
    };

    async fn events(CloudEvents(events): CloudEvents) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(events_json(&events))
    }

    async fn typed(CloudEvent(event): CloudEvent<Order>) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(event.id().to_owned())
    }

    pub(crate) use common::apps::ActixApp;

    pub(crate) async fn manual(p: Parts) -> impl ActixApp {
        test::init_service(
            App::new()
                .wrap(Dedup::new(p.dedup))
                .wrap(ParseCloudEvents::new(p.parse))
                .wrap(Auth::new(p.auth))
                .wrap(Handshake::new(p.handshake))
                .route("/events", web::post().to(events))
                .route("/typed", web::post().to(typed)),
        )
        .await
    }

    pub(crate) async fn entry(webhook: WebhookPolicy) -> impl ActixApp {
        test::init_service(
            App::new()
                .wrap(Webhook::new(webhook))
                .route("/events", web::post().to(events))
                .route("/typed", web::post().to(typed)),
        )
        .await
    }

    /// Dedup wrapped last: it runs first and finds nothing parsed.
    pub(crate) async fn misordered(p: Parts) -> impl ActixApp {
        test::init_service(
            App::new()
                .wrap(ParseCloudEvents::new(p.parse))
                .wrap(Dedup::new(p.dedup))
                .route("/events", web::post().to(events)),
        )
        .await
    }
}

/// The answers of the four apps (axum manual, axum entry, actix manual, actix entry)
/// to each of `requests`, sent in order to the same four apps.
async fn four(parse: &ParseConfig, requests: &[TestRequest]) -> Vec<[TestResponse; 4]> {
    let axum_manual = axum_apps::manual(parts(parse.clone()));
    let axum_entry = axum_apps::entry(parts(parse.clone()).webhook(None));
    let actix_manual = actix_apps::manual(parts(parse.clone())).await;
    let actix_entry = actix_apps::entry(parts(parse.clone()).webhook(None)).await;
    let mut answers = Vec::new();
    for req in requests {
        answers.push([
            axum_app::call_service(axum_manual.clone(), req).await,
            axum_app::call_service(axum_entry.clone(), req).await,
            actix_app::call(&actix_manual, req).await,
            actix_app::call(&actix_entry, req).await,
        ]);
    }
    answers
}

const NAMES: [&str; 4] = ["axum manual", "axum entry", "actix manual", "actix entry"];

/// Differences between the four answers, as report lines.
fn differences(label: &str, answers: &[TestResponse; 4]) -> Vec<String> {
    (1..4)
        .filter(|&i| answers[i] != answers[0])
        .map(|i| {
            format!(
                "  {label}: {} differs from {}\n      {:?}\n      {:?}",
                NAMES[i], NAMES[0], answers[i], answers[0]
            )
        })
        .collect()
}

#[actix_web::test]
async fn the_entry_point_answers_every_vector_as_the_four_layers_do() {
    let all = vectors::load(DIR);
    let mut failures = Vec::new();
    for v in &all {
        let mut parse = ParseConfig::builder();
        if let Some(limit) = v.body_limit {
            parse = parse.body_limit(limit);
        }
        let parse = parse.build().unwrap();
        let mut req = TestRequest::post(&format!("/events?code={SECRET}"))
            .method(&v.method)
            .body(Bytes::from(v.body()));
        for (name, value) in v.header_bytes() {
            req = req.header(&name, value);
        }
        let answers = four(&parse, &[req]).await;
        failures.extend(differences(&v.name, &answers[0]));
        if answers[0][0].status != v.expect.status {
            failures.push(format!(
                "  {}: expected {}, got {:?}",
                v.name, v.expect.status, answers[0][0]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures over {} vectors:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

fn event(id: &str, code: Option<&str>) -> TestRequest {
    let uri = match code {
        Some(code) => format!("/events?code={code}"),
        None => "/events".to_owned(),
    };
    TestRequest::post(&uri)
        .header("ce-specversion", "1.0")
        .header("ce-id", id)
        .header("ce-source", "/s")
        .header("ce-type", "t")
}

fn options(origin: &str) -> TestRequest {
    TestRequest::post("/events")
        .method("OPTIONS")
        .header("webhook-request-origin", origin)
        .header("webhook-request-rate", "120")
}

fn batch(ids: &[&str]) -> TestRequest {
    let members: Vec<String> = ids
        .iter()
        .map(|id| format!(r#"{{"specversion":"1.0","id":"{id}","source":"/s","type":"t"}}"#))
        .collect();
    TestRequest::post(&format!("/events?code={SECRET}"))
        .header("content-type", "application/cloudevents-batch+json")
        .body(format!("[{}]", members.join(",")))
}

/// Handshake, authentication and deduplication, in one sequence per app (so that the
/// duplicates are duplicates).
fn sequence() -> Vec<(&'static str, TestRequest)> {
    vec![
        ("handshake granted", options("eventgrid.azure.net")),
        ("handshake refused", options("eventgrid.azure.net.evil.example")),
        ("handshake malformed", options("")),
        ("no credentials", event("1", None)),
        ("wrong secret", event("1", Some("guess"))),
        (
            "bearer secret",
            event("b", None).header("authorization", format!("Bearer {SECRET}")),
        ),
        ("new event", event("1", Some(SECRET))),
        ("duplicate", event("1", Some(SECRET))),
        ("batch with one seen", batch(&["1", "2", "2", "3"])),
        ("batch all seen", batch(&["3", "2", "1"])),
        ("not a cloudevent", TestRequest::post(&format!("/events?code={SECRET}"))),
        (
            "typed mismatch",
            TestRequest::post(&format!("/typed?code={SECRET}"))
                .header("content-type", "application/cloudevents+json")
                .body(r#"{"specversion":"1.0","id":"x","source":"/s","type":"t","data":{"total":"many"}}"#),
        ),
    ]
}

#[actix_web::test]
async fn the_entry_point_answers_handshake_auth_and_dedup_as_the_four_layers_do() {
    let cases = sequence();
    let requests: Vec<TestRequest> = cases.iter().map(|(_, r)| r.clone()).collect();
    let answers = four(&ParseConfig::default(), &requests).await;
    let mut failures = Vec::new();
    for ((label, _), answers) in cases.iter().zip(&answers) {
        failures.extend(differences(label, answers));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let status: Vec<(&str, u16)> = cases
        .iter()
        .zip(&answers)
        .map(|((label, _), a)| (*label, a[0].status))
        .collect();
    assert_eq!(
        status,
        [
            ("handshake granted", 200),
            ("handshake refused", 403),
            ("handshake malformed", 400),
            ("no credentials", 401),
            ("wrong secret", 401),
            ("bearer secret", 200),
            ("new event", 200),
            ("duplicate", 200),
            ("batch with one seen", 200),
            ("batch all seen", 200),
            ("not a cloudevent", 415),
            ("typed mismatch", 400),
        ]
    );
    let by_label = |label: &str| &answers[cases.iter().position(|(l, _)| *l == label).unwrap()][0];
    // The duplicate was answered without the handler (an empty body), the batch was
    // filtered to its new events, each once.
    assert!(by_label("duplicate").body.is_empty());
    let ids: Vec<String> = by_label("batch with one seen")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["2", "3"]);
    assert_eq!(
        by_label("new event").header("cache-control"),
        Some("private")
    );
    assert_eq!(by_label("bearer secret").header("cache-control"), None);
}

#[actix_web::test]
async fn every_rejection_reaches_the_hook_the_same_way_on_both_frameworks() {
    let requests: Vec<TestRequest> = sequence().into_iter().map(|(_, r)| r).collect();
    let on_axum = Arc::new(Mutex::new(Vec::new()));
    let on_actix = Arc::new(Mutex::new(Vec::new()));
    let axum = axum_apps::entry(parts(ParseConfig::default()).webhook(Some(on_axum.clone())));
    let actix =
        actix_apps::entry(parts(ParseConfig::default()).webhook(Some(on_actix.clone()))).await;
    for req in &requests {
        axum_app::call_service(axum.clone(), req).await;
        actix_app::call(&actix, req).await;
    }
    let expected = [
        "handshake OPTIONS /events 403 origin-not-allowed",
        "handshake OPTIONS /events 400 invalid-handshake-header",
        "auth POST /events 401 missing-credentials",
        "auth POST /events 401 invalid-credentials",
        "parse POST /events 415 not-a-cloudevent",
        "handler POST /typed 400 data-mismatch",
    ];
    assert_eq!(*on_axum.lock().unwrap(), expected);
    assert_eq!(*on_actix.lock().unwrap(), expected);
}

/// A subscriber that keeps the messages of `warn` events.
#[derive(Default)]
struct Warnings(Mutex<Vec<String>>);

impl tracing::Subscriber for Warnings {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        *meta.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Message<'a>(&'a mut String);
        impl tracing::field::Visit for Message<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    *self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = String::new();
        event.record(&mut Message(&mut message));
        self.0.lock().unwrap().push(message);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl tracing::Subscriber for &'static Warnings {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        (**self).enabled(meta)
    }
    fn new_span(&self, a: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        (**self).new_span(a)
    }
    fn record(&self, s: &tracing::span::Id, r: &tracing::span::Record<'_>) {
        (**self).record(s, r)
    }
    fn record_follows_from(&self, a: &tracing::span::Id, b: &tracing::span::Id) {
        (**self).record_follows_from(a, b)
    }
    fn event(&self, e: &tracing::Event<'_>) {
        (**self).event(e)
    }
    fn enter(&self, s: &tracing::span::Id) {
        (**self).enter(s)
    }
    fn exit(&self, s: &tracing::span::Id) {
        (**self).exit(s)
    }
}

#[actix_web::test]
async fn a_misordered_manual_stack_is_logged_and_passes_events_on() {
    let warnings: &'static Warnings = Box::leak(Box::default());
    let _guard = tracing::subscriber::set_default(warnings);
    let axum = axum_apps::misordered(parts(ParseConfig::default()));
    let actix = actix_apps::misordered(parts(ParseConfig::default())).await;
    for _ in 0..2 {
        // Not deduplicated (the dedup layer saw nothing parsed): the handler sees the
        // event both times, and nothing is lost.
        let on_axum = axum_app::call_service(axum.clone(), &event("1", None)).await;
        let on_actix = actix_app::call(&actix, &event("1", None)).await;
        assert_eq!(on_axum.status, 200);
        assert_eq!(on_axum, on_actix);
        assert_eq!(on_axum.json().as_array().unwrap().len(), 1);
    }
    let logged = warnings.0.lock().unwrap();
    let misplaced: Vec<&String> = logged
        .iter()
        .filter(|m| m.contains("reached the dedup layer unparsed"))
        .collect();
    // Once per policy: one for the axum app, one for the actix app.
    assert_eq!(misplaced.len(), 2, "{logged:?}");
}

#[test]
fn the_entry_point_is_checked_when_built() {
    let p = parts(ParseConfig::default());
    let no_handshake = WebhookPolicy::builder().auth(p.auth).build().unwrap_err();
    assert!(
        no_handshake.to_string().contains("handshake"),
        "{no_handshake}"
    );
    let dedup_without_parsing = WebhookPolicy::builder()
        .handshake(p.handshake)
        .without_parsing()
        .dedup(p.dedup)
        .build()
        .unwrap_err();
    assert!(dedup_without_parsing.to_string().contains("parsing"));
    // Optional parts take an `Option`: no placeholder policy.
    let plain = WebhookPolicy::builder()
        .handshake(
            HandshakePolicy::builder()
                .allow_any_origin()
                .build()
                .unwrap(),
        )
        .auth(None::<AuthPolicy>)
        .dedup(None::<DedupPolicy>)
        .build()
        .unwrap();
    assert!(plain.auth().is_none() && plain.dedup().is_none() && plain.parse().is_some());
}

/// The options of the entry point, the same on both frameworks: the handshake
/// authenticated too, rejections rendered as plain text, and a route that
/// authenticates but parses nothing.
#[actix_web::test]
async fn the_entry_point_options_behave_alike_on_both_frameworks() {
    let secrets = || {
        AuthPolicy::builder()
            .shared_secrets(SharedSecrets::new([SECRET]).unwrap())
            .build()
            .unwrap()
    };
    let handshake = || {
        HandshakePolicy::builder()
            .azure_event_grid()
            .build()
            .unwrap()
    };
    let strict = || {
        WebhookPolicy::builder()
            .handshake(handshake())
            .auth(secrets())
            .handshake_after_auth(true)
            .render_rejection(|problem| {
                hookgate::Reply::new(problem.status())
                    .with_body("text/plain; charset=utf-8", problem.detail().to_owned())
            })
            .build()
            .unwrap()
    };
    let plain = || {
        WebhookPolicy::builder()
            .handshake(handshake())
            .auth(secrets())
            .without_parsing()
            .build()
            .unwrap()
    };
    let not_an_event = |code: &str| {
        TestRequest::post(&format!("/events?code={code}"))
            .header("content-type", "application/json")
            .body(r#"{"callbackContext": "x"}"#)
    };
    let cases = [
        (
            strict(),
            options("eventgrid.azure.net"),
            401,
            "text/plain; charset=utf-8",
        ),
        (
            strict(),
            TestRequest {
                uri: format!("/events?code={SECRET}"),
                ..options("eventgrid.azure.net")
            },
            200,
            "",
        ),
        (
            strict(),
            not_an_event(SECRET),
            415,
            "text/plain; charset=utf-8",
        ),
        (
            plain(),
            not_an_event("guess"),
            401,
            "application/problem+json",
        ),
        // Not parsed: the handler's own extractor answers (415 from `CloudEvents`),
        // the request went through unread.
        (
            plain(),
            not_an_event(SECRET),
            415,
            "application/problem+json",
        ),
    ];
    for (webhook, req, status, content_type) in cases {
        let on_axum = axum_app::call_service(axum_apps::entry(webhook.clone()), &req).await;
        let on_actix = actix_app::call(&actix_apps::entry(webhook).await, &req).await;
        assert_eq!(on_axum, on_actix, "{req:?}");
        assert_eq!(on_axum.status, status, "{req:?}: {on_axum:?}");
        assert_eq!(
            on_axum.content_type.as_deref().unwrap_or_default(),
            content_type,
            "{req:?}"
        );
    }
}
