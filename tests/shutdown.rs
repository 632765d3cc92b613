//! A receiver stopped with a delivery in flight releases its dedup claim: an axum and
//! an actix-web receiver, each a real server on a loopback port with its own runtime
//! (as in its own process), deduplicating on a real `redis-server`. The handler never
//! answers; the server is stopped (graceful, with a short grace period), the
//! receiver calls `WebhookPolicy::shutdown`, its runtime ends, and the claim key is
//! gone from Redis right after, so that the sender's retry is handled at once rather
//! than after the lease (30 s here).
//!
//! And after `shutdown`, a receiver answers a new delivery 503 `shutting-down` with
//! `Retry-After`, on both frameworks.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::redis::{RedisServer, unique_prefix};
use hookgate::WebhookPolicy;
use hookgate::dedup::DedupPolicy;
use hookgate_redis::RedisStore;

/// How long the servers wait for the requests in flight before stopping them.
const GRACE: Duration = Duration::from_millis(300);

const EVENT: &str =
    r#"{"specversion":"1.0","id":"in-flight","source":"/shutdown","type":"test","data":{}}"#;

async fn webhook(redis: &str, prefix: &str) -> WebhookPolicy {
    let store = RedisStore::builder(redis)
        .prefix(prefix)
        .connect()
        .await
        .expect("Redis reachable");
    common::event_grid_webhook()
        .dedup(
            DedupPolicy::builder()
                .store(Arc::new(store))
                .lease(Duration::from_secs(30))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// What a server thread tells the test.
enum Note {
    Listening(std::net::SocketAddr),
    /// The handler was entered (the claim is taken).
    Handling,
    /// `WebhookPolicy::shutdown` released this many claims.
    Released(usize),
}

/// An axum receiver on its own runtime: serves until `stop` fires, waits `GRACE`
/// for the requests in flight, calls `shutdown`, and drops its runtime.
fn axum_receiver(redis: String, prefix: String, notes: mpsc::Sender<Note>) -> StopHandle {
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{CloudEvents, WebhookLayer};

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let webhook = webhook(&redis, &prefix).await;
            let handling = notes.clone();
            let app = Router::new()
                .route(
                    "/api/events",
                    post(move |CloudEvents(_): CloudEvents| {
                        let _ = handling.send(Note::Handling);
                        std::future::pending::<&'static str>()
                    }),
                )
                .layer(WebhookLayer::new(webhook.clone()));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            notes
                .send(Note::Listening(listener.local_addr().unwrap()))
                .unwrap();
            let (signal, signalled) = tokio::sync::watch::channel(());
            tokio::spawn(async move {
                let _ = stopped.await;
                drop(signal);
            });
            let wait = |mut signalled: tokio::sync::watch::Receiver<()>| async move {
                let _ = signalled.changed().await;
            };
            let serve = axum::serve(listener, app).with_graceful_shutdown(wait(signalled.clone()));
            tokio::select! {
                result = serve => result.unwrap(),
                () = async { wait(signalled).await; tokio::time::sleep(GRACE).await } => {}
            }
            notes
                .send(Note::Released(webhook.shutdown().await))
                .unwrap();
        });
        // The runtime goes away with the handler still pending, as at a process exit.
        drop(runtime);
    });
    StopHandle {
        stop: Box::new(move || {
            let _ = stop.send(());
        }),
        thread,
    }
}

/// An actix-web receiver on its own system: serves until stopped (graceful, with
/// `shutdown_timeout`), calls `shutdown`, and ends its system.
fn actix_receiver(redis: String, prefix: String, notes: mpsc::Sender<Note>) -> StopHandle {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use hookgate::actix::{CloudEvents, Webhook};

    let (handle_tx, handle_rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let webhook = webhook(&redis, &prefix).await;
            let app_webhook = webhook.clone();
            let handling = notes.clone();
            let server = HttpServer::new(move || {
                let handling = handling.clone();
                App::new().wrap(Webhook::new(app_webhook.clone())).route(
                    "/api/events",
                    web::post().to(move |CloudEvents(_): CloudEvents| {
                        let _ = handling.send(Note::Handling);
                        std::future::pending::<HttpResponse>()
                    }),
                )
            })
            .workers(1)
            .disable_signals()
            .shutdown_timeout(1)
            .bind("127.0.0.1:0")
            .unwrap();
            notes.send(Note::Listening(server.addrs()[0])).unwrap();
            let server = server.run();
            handle_tx.send(server.handle()).unwrap();
            server.await.unwrap();
            notes
                .send(Note::Released(webhook.shutdown().await))
                .unwrap();
        });
    });
    let handle = handle_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the actix server started");
    StopHandle {
        stop: Box::new(move || {
            // A graceful stop: the request in flight gets `shutdown_timeout`.
            drop(handle.stop(true));
        }),
        thread,
    }
}

struct StopHandle {
    stop: Box<dyn FnOnce() + Send>,
    thread: std::thread::JoinHandle<()>,
}

fn next(notes: &mpsc::Receiver<Note>) -> Note {
    notes
        .recv_timeout(Duration::from_secs(20))
        .expect("the receiver thread reports within 20 s")
}

/// Sends one delivery to a receiver whose handler never answers, stops the receiver
/// and checks the claim is released as it stops.
fn a_stopped_receiver_releases_its_claim(
    start: fn(String, String, mpsc::Sender<Note>) -> StopHandle,
) {
    let redis = RedisServer::start();
    let prefix = unique_prefix("shutdown");
    let (notes_tx, notes) = mpsc::channel();
    let receiver = start(redis.url(), prefix.clone(), notes_tx);
    let Note::Listening(addr) = next(&notes) else {
        panic!("expected the address first")
    };

    // The sender, on a runtime of its own; its request stays unanswered.
    let sender = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let _ = reqwest::Client::new()
                .post(format!("http://{addr}/api/events"))
                .header("content-type", "application/cloudevents+json")
                .body(EVENT)
                .timeout(Duration::from_secs(20))
                .send()
                .await;
        });
    });
    assert!(matches!(next(&notes), Note::Handling));
    assert_eq!(
        redis.keys(&prefix).len(),
        1,
        "the delivery in flight holds its claim"
    );

    let stopping = Instant::now();
    (receiver.stop)();
    let Note::Released(released) = next(&notes) else {
        panic!("expected the shutdown's report")
    };
    receiver.thread.join().expect("the receiver stopped");
    assert_eq!(
        released, 1,
        "shutdown released the claim of the delivery in flight"
    );
    assert_eq!(
        redis.keys(&prefix),
        Vec::<String>::new(),
        "no claim lingers after the receiver stopped (it took {:?})",
        stopping.elapsed()
    );
    sender.join().unwrap();
}

#[test]
fn axum_releases_the_claim_of_a_delivery_in_flight_when_it_stops() {
    a_stopped_receiver_releases_its_claim(axum_receiver);
}

#[test]
fn actix_releases_the_claim_of_a_delivery_in_flight_when_it_stops() {
    a_stopped_receiver_releases_its_claim(actix_receiver);
}

fn memory_webhook() -> WebhookPolicy {
    common::event_grid_webhook()
        .dedup(DedupPolicy::builder().build().unwrap())
        .build()
        .unwrap()
}

/// After `shutdown`, a new delivery is answered 503 `shutting-down` with
/// `Retry-After` (the sender retries, at another replica or this one restarted).
#[tokio::test]
async fn after_shutdown_deliveries_are_answered_503_on_axum() {
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::WebhookLayer;
    use tower::ServiceExt as _;

    let webhook = memory_webhook();
    let app = Router::new()
        .route("/api/events", post(|| async { "handled" }))
        .layer(WebhookLayer::new(webhook.clone()));
    let request = || {
        http::Request::post("/api/events")
            .header("content-type", "application/cloudevents+json")
            .body(axum::body::Body::from(EVENT))
            .unwrap()
    };
    assert_eq!(app.clone().oneshot(request()).await.unwrap().status(), 200);
    assert_eq!(webhook.shutdown().await, 0);
    let response = app.oneshot(request()).await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["type"], "urn:hookgate:problem:shutting-down");
}

#[actix_web::test]
async fn after_shutdown_deliveries_are_answered_503_on_actix() {
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::Webhook;

    let webhook = memory_webhook();
    let app = test::init_service(
        App::new()
            .wrap(Webhook::new(webhook.clone()))
            .route("/api/events", web::post().to(HttpResponse::Ok)),
    )
    .await;
    let request = || {
        test::TestRequest::post()
            .uri("/api/events")
            .insert_header(("content-type", "application/cloudevents+json"))
            .set_payload(EVENT)
            .to_request()
    };
    assert_eq!(test::call_service(&app, request()).await.status(), 200);
    assert_eq!(webhook.shutdown().await, 0);
    let response = test::call_service(&app, request()).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let problem: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(problem["type"], "urn:hookgate:problem:shutting-down");
}
