//! Deduplication on axum and on actix-web, with the in-memory store: every case runs
//! on both frameworks. The handler records each event it sees; its behaviour is
//! chosen by the event's type: `ok` answers 200, `fail` 500, `panic` panics, `wait`
//! waits until the test lets it go.

mod common;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use futures_util::FutureExt as _;
use futures_util::future::LocalBoxFuture;
use hookgate::dedup::{Claim, DedupKey, DedupPolicy, MemoryStore};
use tokio::sync::Notify;

/// What the handlers saw, shared by the test and the app.
#[derive(Debug, Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
    /// Signalled when a `wait` handler has started.
    entered: Notify,
    /// Lets `wait` handlers finish.
    go: Notify,
}

impl Recorder {
    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self, id: &str) -> usize {
        self.seen().iter().filter(|s| *s == id).count()
    }
}

/// Runs the events through the behaviour of their types; the status of the answer.
async fn handle(recorder: &Recorder, events: &[hookgate::CloudEvent]) -> u16 {
    let mut status = 200;
    for event in events {
        recorder.seen.lock().unwrap().push(event.id().to_owned());
        match event.ty() {
            "fail" => status = 500,
            "panic" => panic!("the handler panics on purpose"),
            "wait" => {
                let go = recorder.go.notified();
                recorder.entered.notify_one();
                go.await;
            }
            _ => {}
        }
    }
    status
}

type Caller = Rc<dyn Fn(TestRequest) -> LocalBoxFuture<'static, TestResponse>>;

fn axum_caller(policy: DedupPolicy, recorder: Arc<Recorder>) -> Caller {
    use axum::Router;
    use axum::extract::State;
    use axum::routing::post;
    use hookgate::tower::{CloudEvents, DedupLayer, ParseCloudEventsLayer};

    async fn endpoint(
        State(recorder): State<Arc<Recorder>>,
        CloudEvents(events): CloudEvents,
    ) -> http::StatusCode {
        http::StatusCode::from_u16(handle(&recorder, &events).await).unwrap()
    }

    let app = Router::new()
        .route("/api/events", post(endpoint))
        .with_state(recorder)
        .layer(DedupLayer::new(policy))
        .layer(ParseCloudEventsLayer::default());
    Rc::new(move |req| {
        let app = app.clone();
        async move { axum_app::call(&app, &req).await }.boxed_local()
    })
}

async fn actix_caller(policy: DedupPolicy, recorder: Arc<Recorder>) -> Caller {
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::{CloudEvents, Dedup, ParseCloudEvents};

    async fn endpoint(
        recorder: web::Data<Recorder>,
        CloudEvents(events): CloudEvents,
    ) -> HttpResponse {
        let status = handle(&recorder, &events).await;
        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
    }

    let app = test::init_service(
        App::new()
            .app_data(web::Data::from(recorder))
            .wrap(Dedup::new(policy))
            .wrap(ParseCloudEvents::default())
            .route("/api/events", web::post().to(endpoint)),
    )
    .await;
    let app = Rc::new(app);
    Rc::new(move |req| {
        let app = Rc::clone(&app);
        async move { actix_app::call(&*app, &req).await }.boxed_local()
    })
}

/// Runs `case` on axum, then on actix-web, each with a fresh policy from `policy`.
async fn on_both<F, Fut>(policy: impl Fn() -> DedupPolicy, case: F)
where
    F: Fn(Caller, Arc<Recorder>, &'static str) -> Fut,
    Fut: Future<Output = ()>,
{
    let recorder = Arc::new(Recorder::default());
    case(
        axum_caller(policy(), Arc::clone(&recorder)),
        recorder,
        "axum",
    )
    .await;
    let recorder = Arc::new(Recorder::default());
    case(
        actix_caller(policy(), Arc::clone(&recorder)).await,
        recorder,
        "actix",
    )
    .await;
}

fn memory() -> DedupPolicy {
    DedupPolicy::builder().build().unwrap()
}

fn event(id: &str, ty: &str) -> TestRequest {
    TestRequest::post("/api/events")
        .header("ce-specversion", "1.0")
        .header("ce-id", id)
        .header("ce-source", "/orders")
        .header("ce-type", ty)
}

fn batch(members: &[(&str, &str)]) -> TestRequest {
    let members: Vec<String> = members
        .iter()
        .map(|(id, ty)| {
            format!(r#"{{"specversion":"1.0","id":"{id}","source":"/orders","type":"{ty}"}}"#)
        })
        .collect();
    TestRequest::post("/api/events")
        .header("content-type", "application/cloudevents-batch+json")
        .body(format!("[{}]", members.join(",")))
}

/// Retries `req` until it is answered 200, a bounded number of times (a release
/// after a drop runs on a spawned task).
async fn until_ok(call: &Caller, req: &TestRequest) -> TestResponse {
    for _ in 0..100 {
        let res = call(req.clone()).await;
        if res.status == 200 {
            return res;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{req:?} was never answered 200");
}

#[actix_web::test]
async fn a_duplicate_after_success_is_answered_without_the_handler() {
    on_both(memory, |call, recorder, fw| async move {
        assert_eq!(call(event("1", "ok")).await.status, 200, "{fw}");
        let again = call(event("1", "ok")).await;
        assert_eq!(again.status, 200, "{fw}");
        assert!(again.body.is_empty(), "{fw}");
        assert_eq!(recorder.count("1"), 1, "{fw}: the handler ran twice");
        // Same id from another source is another event.
        let other = event("1", "ok");
        let mut other_source = other.clone();
        other_source.headers[2].1 = b"/invoices".to_vec();
        assert_eq!(call(other_source).await.status, 200);
        assert_eq!(recorder.count("1"), 2, "{fw}");
    })
    .await;
}

#[actix_web::test]
async fn a_duplicate_in_flight_gets_429_with_retry_after() {
    on_both(memory, |call, recorder, fw| async move {
        let first = call(event("2", "wait"));
        let second = async {
            recorder.entered.notified().await;
            let res = call(event("2", "wait")).await;
            recorder.go.notify_one();
            res
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!(first.status, 200, "{fw}");
        assert_eq!(second.status, 429, "{fw}: {second:?}");
        assert_eq!(second.problem_slug(), "duplicate-in-flight");
        assert_eq!(second.header("retry-after"), Some("5"), "{fw}");
        assert_eq!(recorder.count("2"), 1, "{fw}");
        // Done now.
        assert_eq!(call(event("2", "ok")).await.status, 200);
        assert_eq!(recorder.count("2"), 1, "{fw}");
    })
    .await;
}

#[actix_web::test]
async fn a_failed_handler_releases_so_the_retry_is_handled() {
    on_both(memory, |call, recorder, fw| async move {
        assert_eq!(call(event("3", "fail")).await.status, 500, "{fw}");
        // The sender retries; this time the handler succeeds.
        let retry = event("3", "ok");
        assert_eq!(call(retry.clone()).await.status, 200, "{fw}");
        assert_eq!(recorder.count("3"), 2, "{fw}");
        assert_eq!(call(retry).await.status, 200, "{fw}");
        assert_eq!(recorder.count("3"), 2, "{fw}: handled a third time");
    })
    .await;
}

#[actix_web::test]
async fn a_panicking_handler_releases_so_the_retry_is_handled() {
    on_both(memory, |call, recorder, fw| async move {
        let outcome = AssertUnwindSafe(call(event("4", "panic")))
            .catch_unwind()
            .await;
        assert!(outcome.is_err(), "{fw}: the handler should have panicked");
        until_ok(&call, &event("4", "ok")).await;
        assert_eq!(recorder.count("4"), 2, "{fw}");
    })
    .await;
}

#[actix_web::test]
async fn a_dropped_request_releases_so_the_retry_is_handled() {
    on_both(memory, |call, recorder, fw| async move {
        // The client goes away while the handler waits: the request future is dropped.
        let dropped = tokio::time::timeout(Duration::from_millis(100), call(event("5", "wait")));
        assert!(
            dropped.await.is_err(),
            "{fw}: the handler should still wait"
        );
        until_ok(&call, &event("5", "ok")).await;
        assert_eq!(recorder.count("5"), 2, "{fw}");
    })
    .await;
}

#[actix_web::test]
async fn a_batch_is_filtered_to_its_new_events() {
    on_both(memory, |call, recorder, fw| async move {
        assert_eq!(call(batch(&[("a", "ok"), ("b", "ok")])).await.status, 200);
        let res = call(batch(&[("a", "ok"), ("c", "ok"), ("b", "ok"), ("d", "ok")])).await;
        assert_eq!(res.status, 200, "{fw}");
        assert_eq!(recorder.seen(), ["a", "b", "c", "d"], "{fw}");
        // All duplicates: 200 without the handler.
        let res = call(batch(&[("d", "ok"), ("a", "ok")])).await;
        assert_eq!(res.status, 200, "{fw}");
        assert_eq!(recorder.seen().len(), 4, "{fw}");
        // A repeated member counts once.
        let res = call(batch(&[("e", "ok"), ("e", "ok")])).await;
        assert_eq!(res.status, 200, "{fw}");
        assert_eq!(recorder.count("e"), 1, "{fw}");
        // An empty batch passes.
        assert_eq!(call(batch(&[])).await.status, 200, "{fw}");
    })
    .await;
}

#[actix_web::test]
async fn a_batch_with_a_member_in_flight_is_429_and_releases_its_claims() {
    on_both(memory, |call, recorder, fw| async move {
        let first = call(event("f", "wait"));
        let second = async {
            recorder.entered.notified().await;
            let res = call(batch(&[("g", "ok"), ("f", "ok")])).await;
            recorder.go.notify_one();
            res
        };
        let (first, second) = tokio::join!(first, second);
        assert_eq!((first.status, second.status), (200, 429), "{fw}");
        // `g` was released: the retry of the batch handles it (and skips `f`).
        assert_eq!(call(batch(&[("g", "ok"), ("f", "ok")])).await.status, 200);
        assert_eq!(recorder.count("g"), 1, "{fw}");
        assert_eq!(recorder.count("f"), 1, "{fw}");
    })
    .await;
}

#[actix_web::test]
async fn an_expired_lease_lets_the_retry_through_after_a_crash() {
    let store = MemoryStore::default();
    let policy = {
        let store = store.clone();
        move || {
            DedupPolicy::builder()
                .store(Arc::new(store.clone()))
                .lease(Duration::from_millis(300))
                .build()
                .unwrap()
        }
    };
    on_both(policy, |call, recorder, fw| {
        let store = store.clone();
        async move {
            let id = format!("h-{fw}");
            // A delivery claimed the event and its handler died before finishing
            // (an in-memory store is given the process's `local` keys).
            let key = DedupKey::local(b"", "/orders", &id);
            assert!(matches!(
                store.claim_now(key, Duration::from_millis(300)),
                Claim::New(_)
            ));
            let res = call(event(&id, "ok")).await;
            assert_eq!(res.status, 429, "{fw}: the lease still holds");
            tokio::time::sleep(Duration::from_millis(400)).await;
            assert_eq!(call(event(&id, "ok")).await.status, 200, "{fw}");
            assert_eq!(recorder.count(&id), 1, "{fw}");
        }
    })
    .await;
}

#[test]
fn a_stale_holder_cannot_release_or_complete_a_newer_claim() {
    let store = MemoryStore::default();
    let key = DedupKey::new("/s", "1");
    let Claim::New(stale) = store.claim_now(key, Duration::from_millis(50)) else {
        panic!()
    };
    std::thread::sleep(Duration::from_millis(80));
    let Claim::New(fresh) = store.claim_now(key, Duration::from_secs(60)) else {
        panic!("the expired claim should have been given up")
    };
    assert_ne!(stale, fresh);
    store.release_now(key, stale);
    assert_eq!(
        store.claim_now(key, Duration::from_secs(60)),
        Claim::InFlight
    );
    store.complete_now(key, stale, Duration::from_secs(60));
    assert_eq!(
        store.claim_now(key, Duration::from_secs(60)),
        Claim::InFlight
    );
    store.complete_now(key, fresh, Duration::from_secs(60));
    assert_eq!(store.claim_now(key, Duration::from_secs(60)), Claim::Done);
    store.release_now(key, fresh);
    assert_eq!(
        store.claim_now(key, Duration::from_secs(60)),
        Claim::Done,
        "a release after completion changes nothing"
    );
}

#[test]
fn a_late_completion_is_remembered_when_nobody_claimed_since() {
    let store = MemoryStore::default();
    let key = DedupKey::new("/s", "late");
    let Claim::New(slow) = store.claim_now(key, Duration::from_millis(30)) else {
        panic!()
    };
    std::thread::sleep(Duration::from_millis(60));
    // The handler finished after its lease; nobody claimed the event meanwhile.
    store.complete_now(key, slow, Duration::from_secs(60));
    assert_eq!(store.claim_now(key, Duration::from_secs(60)), Claim::Done);
}

#[test]
fn the_memory_store_stays_within_its_bound() {
    let store = MemoryStore::with_capacity(1000).unwrap();
    for i in 0..10_000 {
        let key = DedupKey::new("/s", &i.to_string());
        if let Claim::New(token) = store.claim_now(key, Duration::from_secs(60)) {
            store.complete_now(key, token, Duration::from_secs(3600));
        }
    }
    assert!(store.len() <= 1000 + 64, "{} entries", store.len());
    // The newest are remembered.
    let key = DedupKey::new("/s", "9999");
    assert_eq!(store.claim_now(key, Duration::from_secs(60)), Claim::Done);
}

#[actix_web::test]
async fn a_store_that_is_down_fails_closed_or_open_as_configured() {
    let closed = || {
        DedupPolicy::builder()
            .store(Arc::new(common::DownStore))
            .build()
            .unwrap()
    };
    on_both(closed, |call, recorder, fw| async move {
        let res = call(event("i", "ok")).await;
        assert_eq!(res.status, 503, "{fw}");
        assert_eq!(res.problem_slug(), "dedup-store-unavailable");
        assert_eq!(res.header("retry-after"), Some("10"));
        assert!(
            recorder.seen().is_empty(),
            "{fw}: handled without the store"
        );
    })
    .await;
    let open = || {
        DedupPolicy::builder()
            .store(Arc::new(common::DownStore))
            .fail_open(true)
            .build()
            .unwrap()
    };
    on_both(open, |call, recorder, fw| async move {
        assert_eq!(call(event("j", "ok")).await.status, 200, "{fw}");
        assert_eq!(call(event("j", "ok")).await.status, 200, "{fw}");
        assert_eq!(
            recorder.count("j"),
            2,
            "{fw}: fail-open does not deduplicate"
        );
    })
    .await;
}

#[actix_web::test]
async fn requests_without_events_pass_through() {
    on_both(memory, |call, _recorder, fw| async move {
        // Not a CloudEvent: the parse layer answers 415 before dedup is involved.
        let res = call(TestRequest::post("/api/events").body("hello")).await;
        assert_eq!(res.status, 415, "{fw}");
    })
    .await;
}

#[test]
fn policies_are_checked_when_built() {
    assert!(
        DedupPolicy::builder()
            .lease(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        DedupPolicy::builder()
            .lease(Duration::from_secs(60))
            .remember(Duration::from_secs(1))
            .build()
            .is_err()
    );
    assert!(
        DedupPolicy::builder()
            .in_flight_retry_after(0)
            .build()
            .is_err()
    );
    assert!(MemoryStore::with_capacity(0).is_err());
}

/// `DedupGuard::finish` returns a future; one dropped before it is polled (a caller
/// that never awaits it, or a request dropped at that moment) still holds the guard,
/// which releases the claims as a dropped guard does: the retry is handled.
#[tokio::test]
async fn a_finish_that_is_never_awaited_releases_the_claims() {
    let store = MemoryStore::default();
    let policy = DedupPolicy::builder()
        .store(Arc::new(store.clone()))
        .build()
        .unwrap();
    let body = r#"{"specversion":"1.0","id":"never","source":"/s","type":"t"}"#;
    let headers = hookgate::HeaderList::new([("content-type", "application/cloudevents+json")]);
    let mut delivery =
        hookgate::parse(&headers, body.into(), &hookgate::ParseConfig::default()).unwrap();
    let Ok(hookgate::dedup::ClaimOutcome::Handle(guard)) = policy.claim(&mut delivery).await else {
        panic!("a new event is handled")
    };
    drop(guard.finish(200));
    let key = DedupKey::new("/s", "never");
    // Released in the background, on this runtime.
    for _ in 0..100 {
        if let Claim::New(token) = store.claim_now(key, Duration::from_secs(60)) {
            store.release_now(key, token);
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the claim was not released");
}
