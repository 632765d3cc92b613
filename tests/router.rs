//! The event router on both frameworks: routing by exact type, type prefix and
//! subject prefix to typed handlers; a batch with a failing handler answered 500 and
//! retried so that only the failed event runs again (each event's dedup claim
//! settled on its own), with the memory store and a real Redis; unrouted events
//! acknowledged by default and rejected with 400 when configured.

mod common;

use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use common::event_grid_webhook;
use common::redis::{RedisServer, unique_prefix};
use hookgate::CloudEvent;
use hookgate::client::BoxFuture;
use hookgate::dedup::{
    Claim, ClaimToken, DedupKey, DedupPolicy, DedupStore, MemoryStore, StoreError,
};
use hookgate::route::{EventRouter, HandlerError, Route};
use serde_json::{Value, json};

/// A memory store that records every call made to it: the method and how many keys.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemoryStore,
    calls: Mutex<Vec<(&'static str, usize)>>,
}

impl CountingStore {
    fn log(&self, method: &'static str, keys: usize) {
        self.calls.lock().unwrap().push((method, keys));
    }

    fn take(&self) -> Vec<(&'static str, usize)> {
        let mut calls = std::mem::take(&mut *self.calls.lock().unwrap());
        calls.sort();
        calls
    }
}

impl DedupStore for CountingStore {
    fn claim(&self, key: DedupKey, lease: Duration) -> BoxFuture<Result<Claim, StoreError>> {
        self.log("claim", 1);
        self.inner.claim(key, lease)
    }
    fn complete(
        &self,
        key: DedupKey,
        token: ClaimToken,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>> {
        self.log("complete", 1);
        self.inner.complete(key, token, remember)
    }
    fn release(&self, key: DedupKey, token: ClaimToken) -> BoxFuture<Result<(), StoreError>> {
        self.log("release", 1);
        self.inner.release(key, token)
    }
    fn claim_all(
        &self,
        keys: Vec<DedupKey>,
        lease: Duration,
    ) -> BoxFuture<Result<Vec<Claim>, StoreError>> {
        self.log("claim_all", keys.len());
        self.inner.claim_all(keys, lease)
    }
    fn complete_all(
        &self,
        claims: Vec<(DedupKey, ClaimToken)>,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>> {
        self.log("complete_all", claims.len());
        self.inner.complete_all(claims, remember)
    }
    fn release_all(
        &self,
        claims: Vec<(DedupKey, ClaimToken)>,
    ) -> BoxFuture<Result<(), StoreError>> {
        self.log("release_all", claims.len());
        self.inner.release_all(claims)
    }
}

fn counting() -> (Arc<CountingStore>, DedupPolicy) {
    let store = Arc::new(CountingStore::default());
    let policy = DedupPolicy::builder().store(store.clone()).build().unwrap();
    (store, policy)
}

/// What the handlers did, and which event ids fail.
#[derive(Default)]
struct Recorder {
    handled: Mutex<Vec<String>>,
    failing: Mutex<HashSet<String>>,
}

impl Recorder {
    fn record(&self, what: &str, id: &str) {
        self.handled.lock().unwrap().push(format!("{what}:{id}"));
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.handled.lock().unwrap())
    }

    fn fails(&self, id: &str) -> bool {
        self.failing.lock().unwrap().contains(id)
    }

    fn set_failing(&self, ids: &[&str]) {
        *self.failing.lock().unwrap() = ids.iter().map(|s| (*s).to_owned()).collect();
    }
}

#[derive(serde::Deserialize)]
struct Order {
    #[serde(rename = "orderId")]
    order_id: String,
}

fn router<C: Clone + Send + Sync + 'static>(rec: &Arc<Recorder>, reject: bool) -> EventRouter<C> {
    let (r1, r2, r3, r4, r5) = (
        rec.clone(),
        rec.clone(),
        rec.clone(),
        rec.clone(),
        rec.clone(),
    );
    let r6 = rec.clone();
    EventRouter::builder()
        .on("com.example.panic", move |event: CloudEvent| {
            let rec = r6.clone();
            async move {
                assert!(!rec.fails(event.id()), "the handler panics");
                rec.record("panic", event.id());
            }
        })
        .on(
            "com.example.order.created",
            move |event: CloudEvent<Order>| {
                let rec = r1.clone();
                async move {
                    if rec.fails(event.id()) {
                        return Err(std::io::Error::other("the database is down"));
                    }
                    assert!(!event.data.order_id.is_empty());
                    rec.record("created", event.id());
                    Ok(())
                }
            },
        )
        .route(
            Route::exact("com.example.order.created").subject_prefix("/vip/"),
            move |event: CloudEvent| {
                let rec = r2.clone();
                async move { rec.record("vip-created", event.id()) }
            },
        )
        .on_prefix("com.example.order.", move |event: CloudEvent| {
            let rec = r3.clone();
            async move {
                if rec.fails(event.id()) {
                    return Err(HandlerError::new(503, "the warehouse is busy").retry_after(7));
                }
                rec.record("order-prefix", event.id());
                Ok(())
            }
        })
        .on_prefix("com.example.", move |event: CloudEvent| {
            let rec = r4.clone();
            async move { rec.record("example-prefix", event.id()) }
        })
        .route(
            Route::prefix("").subject_prefix("/audit/"),
            move |event: CloudEvent| {
                let rec = r5.clone();
                async move { rec.record("audit", event.id()) }
            },
        )
        .reject_unrouted(reject)
        .build()
        .unwrap()
}

fn event(id: &str, ty: &str, subject: Option<&str>) -> Value {
    let mut event = json!({
        "specversion": "1.0", "id": id, "source": "/shop", "type": ty,
        "data": {"orderId": format!("order-{id}")},
    });
    if let Some(subject) = subject {
        event["subject"] = json!(subject);
    }
    event
}

fn batch(events: &[Value]) -> TestRequest {
    TestRequest::post("/api/events")
        .header("content-type", "application/cloudevents-batch+json")
        .header("aeg-delivery-count", "0")
        .body(serde_json::to_vec(events).unwrap())
}

fn single(event: &Value) -> TestRequest {
    TestRequest::post("/api/events")
        .header("content-type", "application/cloudevents+json")
        .body(serde_json::to_vec(event).unwrap())
}

// --- The scenarios, the same for both frameworks -------------------------------

async fn routes_by_type_and_subject<F, Fut>(rec: &Recorder, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let answer = send(batch(&[
        event("1", "com.example.order.created", None),
        event("2", "com.example.order.created", Some("/vip/42")),
        event("3", "com.example.order.shipped", Some("/vip/42")),
        event("4", "com.example.user.joined", None),
        event("5", "org.other.thing", Some("/audit/x")),
        event("6", "org.other.thing", None),
        event("7", "com.example.order.created", Some("/audit/x")),
    ]))
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        rec.take(),
        [
            "created:1",
            "vip-created:2",
            "order-prefix:3",
            "example-prefix:4",
            "audit:5",
            // 6 is unrouted: acknowledged, not handled
            "created:7", // the exact type wins over a subject-only route
        ]
    );
    // The unrouted event was acknowledged: its retry is a duplicate.
    let again = send(single(&event("6", "org.other.thing", None))).await;
    assert_eq!(again.status, 200);
    assert!(rec.take().is_empty());
}

async fn data_mismatch_is_400<F, Fut>(rec: &Recorder, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let mut bad = event("m1", "com.example.order.created", None);
    bad["data"] = json!({"orderId": 5});
    let answer = send(batch(&[
        event("m0", "com.example.order.created", None),
        bad,
    ]))
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.problem_slug(), "data-mismatch");
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains("1 of 2 events failed: batch member 1:"),
        "{detail}"
    );
    assert_eq!(rec.take(), ["created:m0"]);
}

async fn a_failed_event_alone_runs_again<F, Fut>(rec: &Recorder, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let request = batch(&[
        event("a", "com.example.order.created", None),
        event("b", "com.example.order.created", None),
        event("c", "com.example.order.shipped", None),
        event("d", "com.example.order.shipped", None),
    ]);
    rec.set_failing(&["b", "d"]);
    let answer = send(request.clone()).await;
    // Both failures are retried; the first one's status is the answer's, and the
    // Retry-After the handler asked for is kept.
    assert_eq!(answer.status, 500, "{answer:?}");
    assert_eq!(answer.problem_slug(), "handler-failed");
    assert_eq!(answer.header("retry-after"), Some("7"));
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.starts_with("2 of 4 events failed: batch member 1: the event handler failed")
            && detail.contains("batch member 3: the warehouse is busy")
            && !detail.contains("database"),
        "{detail}"
    );
    assert_eq!(rec.take(), ["created:a", "order-prefix:c"]);

    // The sender retries; "d" still fails.
    rec.set_failing(&["d"]);
    let answer = send(request.clone()).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(rec.take(), ["created:b"]);

    rec.set_failing(&[]);
    let answer = send(request.clone()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(rec.take(), ["order-prefix:d"]);

    // Everything was handled: the next retry runs nothing.
    let answer = send(request).await;
    assert_eq!(answer.status, 200);
    assert!(rec.take().is_empty());

    // One event alone: failed, then handled.
    rec.set_failing(&["e"]);
    let one = single(&event("e", "com.example.order.created", None));
    assert_eq!(send(one.clone()).await.status, 500);
    rec.set_failing(&[]);
    assert_eq!(send(one.clone()).await.status, 200);
    assert_eq!(send(one).await.status, 200);
    assert_eq!(rec.take(), ["created:e"]);
}

/// A batch's claims cost one store call to claim and one for each part to settle
/// (the handled events, the failed ones), not one per event.
async fn a_batch_is_settled_in_one_call_a_part<F, Fut>(
    rec: &Recorder,
    store: &CountingStore,
    send: F,
) where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let ids = ["s1", "s2", "s3", "s4", "s5", "s6"];
    let request = batch(
        &ids.iter()
            .map(|id| event(id, "com.example.order.created", None))
            .collect::<Vec<_>>(),
    );
    rec.set_failing(&["s2", "s5"]);
    assert_eq!(send(request.clone()).await.status, 500);
    assert_eq!(
        rec.take(),
        ["created:s1", "created:s3", "created:s4", "created:s6"]
    );
    assert_eq!(
        store.take(),
        [("claim_all", 6), ("complete_all", 4), ("release_all", 2)]
    );

    // The retry: the two failed events run, and are completed in one call.
    rec.set_failing(&[]);
    assert_eq!(send(request.clone()).await.status, 200);
    assert_eq!(rec.take(), ["created:s2", "created:s5"]);
    assert_eq!(store.take(), [("claim_all", 6), ("complete_all", 2)]);

    // All done: claimed, nothing to settle.
    assert_eq!(send(request).await.status, 200);
    assert!(rec.take().is_empty());
    assert_eq!(store.take(), [("claim_all", 6)]);
}

async fn unrouted_rejected<F, Fut>(rec: &Recorder, send: F)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    let request = batch(&[
        event("r1", "com.example.order.created", None),
        event("r2", "org.unknown", Some("/nowhere")),
    ]);
    let answer = send(request.clone()).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert_eq!(answer.problem_slug(), "unrouted-event");
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains(
            "batch member 1: no handler for events of type `org.unknown` and subject `/nowhere`"
        ),
        "{detail}"
    );
    assert_eq!(rec.take(), ["created:r1"]);
    // A retry (Event Grid would not send one for a 400) runs nothing again.
    assert_eq!(send(request).await.status, 400);
    assert!(rec.take().is_empty());
}

/// The retry after a panic: the panicking event's claim is released in the
/// background (the dedup guard's drop), so the retry may first find it in flight.
async fn retry_until_handled<F, Fut>(send: F, request: TestRequest)
where
    F: Fn(TestRequest) -> Fut,
    Fut: Future<Output = TestResponse>,
{
    for _ in 0..250 {
        let answer = send(request.clone()).await;
        match answer.status {
            200 => return,
            429 => tokio::time::sleep(Duration::from_millis(20)).await,
            _ => panic!("{answer:?}"),
        }
    }
    panic!("the claim of the panicked event was not released within 5 s");
}

fn panicking_batch(rec: &Recorder) -> TestRequest {
    rec.set_failing(&["p"]);
    batch(&[
        event("o", "com.example.order.created", None),
        event("p", "com.example.panic", None),
    ])
}

// --- axum ------------------------------------------------------------------------

mod on_axum {
    use super::*;
    use axum::routing::post_service;
    use hookgate::tower::eventgrid::Delivery;
    use hookgate::tower::{DedupLayer, EventRoutes, ParseCloudEventsLayer, WebhookLayer};

    fn app(router: EventRouter<Delivery>, dedup: DedupPolicy, layers: bool) -> axum::Router {
        let app = axum::Router::new().route("/api/events", post_service(EventRoutes::new(router)));
        if layers {
            app.layer(DedupLayer::new(dedup))
                .layer(ParseCloudEventsLayer::default())
        } else {
            app.layer(WebhookLayer::new(
                event_grid_webhook().dedup(dedup).build().unwrap(),
            ))
        }
    }

    fn memory() -> DedupPolicy {
        DedupPolicy::builder().build().unwrap()
    }

    #[tokio::test]
    async fn routing() {
        let rec = Arc::new(Recorder::default());
        let app = app(router(&rec, false), memory(), false);
        let send = |r: TestRequest| {
            let app = app.clone();
            async move { axum_app::call(&app, &r).await }
        };
        routes_by_type_and_subject(&rec, send).await;
        data_mismatch_is_400(&rec, send).await;
    }

    #[tokio::test]
    async fn retry_runs_only_the_failed_events() {
        for layers in [false, true] {
            let rec = Arc::new(Recorder::default());
            let app = app(router(&rec, false), memory(), layers);
            let send = |r: TestRequest| {
                let app = app.clone();
                async move { axum_app::call(&app, &r).await }
            };
            a_failed_event_alone_runs_again(&rec, send).await;
        }
    }

    #[tokio::test]
    async fn retry_runs_only_the_failed_events_with_redis() {
        let redis = RedisServer::start();
        let store = hookgate_redis::RedisStore::builder(redis.url())
            .prefix(unique_prefix("router-axum"))
            .connect()
            .await
            .unwrap();
        let dedup = DedupPolicy::builder()
            .store(Arc::new(store))
            .lease(Duration::from_secs(30))
            .build()
            .unwrap();
        let rec = Arc::new(Recorder::default());
        let app = app(router(&rec, false), dedup, false);
        let send = |r: TestRequest| {
            let app = app.clone();
            async move { axum_app::call(&app, &r).await }
        };
        a_failed_event_alone_runs_again(&rec, send).await;
    }

    #[tokio::test]
    async fn a_batch_costs_one_store_call_a_part() {
        for layers in [false, true] {
            let rec = Arc::new(Recorder::default());
            let (store, dedup) = counting();
            let app = app(router(&rec, false), dedup, layers);
            let send = |r: TestRequest| {
                let app = app.clone();
                async move { axum_app::call(&app, &r).await }
            };
            a_batch_is_settled_in_one_call_a_part(&rec, &store, send).await;
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_releases_its_event_only() {
        let rec = Arc::new(Recorder::default());
        let app = app(router(&rec, false), memory(), false);
        let request = panicking_batch(&rec);
        let first = {
            let (app, request) = (app.clone(), request.clone());
            tokio::spawn(async move { axum_app::call(&app, &request).await })
        };
        assert!(first.await.unwrap_err().is_panic());
        assert_eq!(rec.take(), ["created:o"]);
        rec.set_failing(&[]);
        let send = |r: TestRequest| {
            let app = app.clone();
            async move { axum_app::call(&app, &r).await }
        };
        retry_until_handled(send, request).await;
        // "o" was completed before the panic: only "p" ran again.
        assert_eq!(rec.take(), ["panic:p"]);
    }

    #[tokio::test]
    async fn unrouted_events_rejected_when_configured() {
        let rec = Arc::new(Recorder::default());
        let app = app(router(&rec, true), memory(), false);
        let send = |r: TestRequest| {
            let app = app.clone();
            async move { axum_app::call(&app, &r).await }
        };
        unrouted_rejected(&rec, send).await;
    }

    #[tokio::test]
    async fn without_dedup_or_layers() {
        // The router parses by itself, and handles every delivery.
        let rec = Arc::new(Recorder::default());
        let app = axum::Router::new().route(
            "/api/events",
            post_service(EventRoutes::new(router::<()>(&rec, false))),
        );
        let request = single(&event("x", "com.example.order.created", None));
        for _ in 0..2 {
            let answer = axum_app::call(&app, &request).await;
            assert_eq!(answer.status, 200);
        }
        assert_eq!(rec.take(), ["created:x", "created:x"]);
        let answer = axum_app::call(&app, &TestRequest::post("/api/events").body("{}")).await;
        assert_eq!(answer.status, 415);
        // A malformed delivery header is refused by the context extractor.
        let app = axum::Router::new().route(
            "/api/events",
            post_service(EventRoutes::new(router::<Delivery>(&rec, false))),
        );
        let bad = request.header("aeg-delivery-count", "x");
        let answer = axum_app::call(&app, &bad).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.problem_slug(), "invalid-delivery-header");
        assert!(rec.take().is_empty());
    }
}

// --- actix-web -------------------------------------------------------------------

mod on_actix {
    use super::*;
    use actix_web::{App, test};
    use hookgate::actix::eventgrid::Delivery;
    use hookgate::actix::{Dedup, EventRoutes, ParseCloudEvents, Webhook};

    fn memory() -> DedupPolicy {
        DedupPolicy::builder().build().unwrap()
    }

    fn webhook(dedup: DedupPolicy) -> Webhook {
        Webhook::new(event_grid_webhook().dedup(dedup).build().unwrap())
    }

    #[actix_web::test]
    async fn routing() {
        let rec = Arc::new(Recorder::default());
        let app =
            test::init_service(App::new().wrap(webhook(memory())).service(
                EventRoutes::new(router::<Delivery>(&rec, false)).resource("/api/events"),
            ))
            .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        routes_by_type_and_subject(&rec, send).await;
        data_mismatch_is_400(&rec, send).await;
    }

    #[actix_web::test]
    async fn retry_runs_only_the_failed_events() {
        let rec = Arc::new(Recorder::default());
        let app = test::init_service(App::new().wrap(webhook(memory())).route(
            "/api/events",
            EventRoutes::new(router::<Delivery>(&rec, false)).route(),
        ))
        .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        a_failed_event_alone_runs_again(&rec, send).await;

        // The same with the separate middleware.
        let rec = Arc::new(Recorder::default());
        let app = test::init_service(
            App::new()
                .wrap(Dedup::new(memory()))
                .wrap(ParseCloudEvents::default())
                .route(
                    "/api/events",
                    EventRoutes::new(router::<Delivery>(&rec, false)).route(),
                ),
        )
        .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        a_failed_event_alone_runs_again(&rec, send).await;
    }

    #[actix_web::test]
    async fn a_batch_costs_one_store_call_a_part() {
        let rec = Arc::new(Recorder::default());
        let (store, dedup) = counting();
        let app =
            test::init_service(App::new().wrap(webhook(dedup)).service(
                EventRoutes::new(router::<Delivery>(&rec, false)).resource("/api/events"),
            ))
            .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        a_batch_is_settled_in_one_call_a_part(&rec, &store, send).await;

        let rec = Arc::new(Recorder::default());
        let (store, dedup) = counting();
        let app = test::init_service(
            App::new()
                .wrap(Dedup::new(dedup))
                .wrap(ParseCloudEvents::default())
                .route(
                    "/api/events",
                    EventRoutes::new(router::<Delivery>(&rec, false)).route(),
                ),
        )
        .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        a_batch_is_settled_in_one_call_a_part(&rec, &store, send).await;
    }

    #[actix_web::test]
    async fn retry_runs_only_the_failed_events_with_redis() {
        let redis = RedisServer::start();
        let store = hookgate_redis::RedisStore::builder(redis.url())
            .prefix(unique_prefix("router-actix"))
            .connect()
            .await
            .unwrap();
        let dedup = DedupPolicy::builder()
            .store(Arc::new(store))
            .lease(Duration::from_secs(30))
            .build()
            .unwrap();
        let rec = Arc::new(Recorder::default());
        let app =
            test::init_service(App::new().wrap(webhook(dedup)).service(
                EventRoutes::new(router::<Delivery>(&rec, false)).resource("/api/events"),
            ))
            .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        a_failed_event_alone_runs_again(&rec, send).await;
    }

    #[actix_web::test]
    async fn a_panicking_handler_releases_its_event_only() {
        let rec = Arc::new(Recorder::default());
        let app = std::rc::Rc::new(
            test::init_service(App::new().wrap(webhook(memory())).service(
                EventRoutes::new(router::<Delivery>(&rec, false)).resource("/api/events"),
            ))
            .await,
        );
        let request = panicking_batch(&rec);
        let first = {
            let (app, request) = (app.clone(), request.clone());
            actix_web::rt::spawn(async move { actix_app::call(&*app, &request).await })
        };
        assert!(first.await.unwrap_err().is_panic());
        assert_eq!(rec.take(), ["created:o"]);
        rec.set_failing(&[]);
        let app = &*app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        retry_until_handled(send, request).await;
        assert_eq!(rec.take(), ["panic:p"]);
    }

    #[actix_web::test]
    async fn unrouted_events_rejected_when_configured() {
        let rec = Arc::new(Recorder::default());
        let app = test::init_service(
            App::new()
                .wrap(webhook(memory()))
                .service(EventRoutes::new(router::<()>(&rec, true)).resource("/api/events")),
        )
        .await;
        let app = &app;
        let send = |r: TestRequest| async move { actix_app::call(app, &r).await };
        unrouted_rejected(&rec, send).await;
    }

    #[actix_web::test]
    async fn without_dedup_or_layers() {
        let rec = Arc::new(Recorder::default());
        let app = test::init_service(
            App::new()
                .service(EventRoutes::new(router::<Delivery>(&rec, false)).resource("/api/events")),
        )
        .await;
        let request = single(&event("x", "com.example.order.created", None));
        for _ in 0..2 {
            assert_eq!(actix_app::call(&app, &request).await.status, 200);
        }
        assert_eq!(rec.take(), ["created:x", "created:x"]);
        let answer = actix_app::call(&app, &TestRequest::post("/api/events").body("{}")).await;
        assert_eq!(answer.status, 415);
        let bad = request.header("aeg-delivery-count", "x");
        let answer = actix_app::call(&app, &bad).await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.problem_slug(), "invalid-delivery-header");
        assert!(rec.take().is_empty());
    }
}
