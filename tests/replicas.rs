//! Two replicas, one Redis: an axum replica and an actix-web replica, both real
//! servers on loopback ports, deduplicating on one real `redis-server` (started by
//! the harness in `tests/common/redis.rs`, or `REDIS_URL`).
//!
//! - 2,000 deliveries of 1,000 unique events, sent concurrently to both replicas in
//!   random order: the handlers' combined side effects are exactly the 1,000 events,
//!   every answer is a 2xx or a retryable status, and every retried delivery ends
//!   handled.
//! - Redis stopped mid-run: no 2xx for an event that was not handled (503 with
//!   `Retry-After` instead), and once Redis is back the retries are handled.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::redis::RedisServer;
use hookgate::dedup::DedupPolicy;
use hookgate_redis::RedisStore;

/// What the handlers of both replicas did: one entry per handled event.
#[derive(Debug, Default)]
struct SideEffects(Mutex<Vec<String>>);

impl SideEffects {
    fn record(&self, ids: impl IntoIterator<Item = String>) {
        self.0.lock().unwrap().extend(ids);
    }

    fn counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for id in self.0.lock().unwrap().iter() {
            *counts.entry(id.clone()).or_default() += 1;
        }
        counts
    }
}

async fn policy(redis: &str) -> DedupPolicy {
    let store = RedisStore::connect(redis).await.expect("Redis reachable");
    DedupPolicy::builder()
        .store(Arc::new(store))
        .lease(Duration::from_secs(30))
        .in_flight_retry_after(1)
        .unavailable_retry_after(1)
        .build()
        .unwrap()
}

/// A short, varying handler time, so that deliveries of one event overlap.
async fn work(id: &str) {
    let spin = id.bytes().map(u64::from).sum::<u64>() % 4;
    tokio::time::sleep(Duration::from_millis(spin)).await;
}

async fn start_axum(redis: String, effects: Arc<SideEffects>) -> SocketAddr {
    use axum::Router;
    use axum::extract::State;
    use axum::routing::post;
    use hookgate::tower::{CloudEvents, DedupLayer, ParseCloudEventsLayer};

    async fn handle(
        State(effects): State<Arc<SideEffects>>,
        CloudEvents(events): CloudEvents,
    ) -> &'static str {
        for e in &events {
            work(e.id()).await;
        }
        effects.record(events.iter().map(|e| e.id().to_owned()));
        "handled"
    }

    let app = Router::new()
        .route("/api/events", post(handle))
        .with_state(effects)
        .layer(DedupLayer::new(policy(&redis).await))
        .layer(ParseCloudEventsLayer::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The actix replica runs on its own thread and actix system, as it would in its
/// own process.
fn start_actix(redis: String, effects: Arc<SideEffects>) -> SocketAddr {
    use actix_web::{App, HttpResponse, HttpServer, web};
    use hookgate::actix::{CloudEvents, Dedup, ParseCloudEvents};

    async fn handle(
        effects: web::Data<SideEffects>,
        CloudEvents(events): CloudEvents,
    ) -> HttpResponse {
        for e in &events {
            work(e.id()).await;
        }
        effects.record(events.iter().map(|e| e.id().to_owned()));
        HttpResponse::Ok().body("handled")
    }

    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let policy = policy(&redis).await;
            let effects = web::Data::from(effects);
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(effects.clone())
                    .wrap(Dedup::new(policy.clone()))
                    .wrap(ParseCloudEvents::default())
                    .route("/api/events", web::post().to(handle))
            })
            .workers(2)
            .bind("127.0.0.1:0")
            .unwrap();
            tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the actix replica started")
}

fn delivery(id: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"/replicas","type":"test","data":{{"n":1}}}}"#
    )
}

/// A small deterministic shuffle (xorshift), so that failures reproduce.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

/// Sends one delivery until it is answered 2xx (a sender's retries), bounded by
/// `deadline`; returns every status it got.
async fn deliver(
    client: &reqwest::Client,
    replicas: &[SocketAddr; 2],
    first: usize,
    id: &str,
    deadline: Instant,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    let mut target = first;
    loop {
        let url = format!("http://{}/api/events", replicas[target % 2]);
        let status = match client
            .post(&url)
            .header("content-type", "application/cloudevents+json")
            .body(delivery(id))
            .send()
            .await
        {
            Ok(response) => response.status().as_u16(),
            // The connection failed: a sender retries that too.
            Err(_) => 0,
        };
        statuses.push(status);
        if (200..300).contains(&status) || Instant::now() > deadline {
            return statuses;
        }
        // Retry (a sender may land on the other replica).
        target += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn replicas(redis: &RedisServer, effects: &Arc<SideEffects>) -> [SocketAddr; 2] {
    let axum = start_axum(redis.url(), Arc::clone(effects)).await;
    let actix = start_actix(redis.url(), Arc::clone(effects));
    [axum, actix]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_redis() {
    let redis = RedisServer::start();
    let effects = Arc::new(SideEffects::default());
    let replicas = replicas(&redis, &effects).await;

    let mut plan: Vec<(String, usize)> = (0..1000)
        .flat_map(|i| [(format!("event-{i}"), 0), (format!("event-{i}"), 1)])
        .collect();
    shuffle(&mut plan, 0x5eed);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for (n, (id, replica)) in plan.into_iter().enumerate() {
        let (client, limit) = (client.clone(), Arc::clone(&limit));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            let statuses = deliver(&client, &replicas, replica + n, &id, deadline).await;
            (id, statuses)
        });
    }
    let mut answers: HashMap<String, Vec<Vec<u16>>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (id, statuses) = done.unwrap();
        answers.entry(id).or_default().push(statuses);
    }

    assert_eq!(answers.len(), 1000);
    let mut retried = 0;
    for (id, deliveries) in &answers {
        for statuses in deliveries {
            for status in statuses {
                assert!(
                    matches!(status, 200 | 429 | 503),
                    "{id}: status {status} is neither 2xx nor retryable ({statuses:?})"
                );
            }
            assert_eq!(
                statuses.last(),
                Some(&200),
                "{id}: a delivery never ended handled: {statuses:?}"
            );
            retried += usize::from(statuses.len() > 1);
        }
    }
    let counts = effects.counts();
    assert_eq!(counts.len(), 1000, "every unique event was handled");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    eprintln!("2000 deliveries, 1000 events handled once each, {retried} deliveries retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_never_acknowledges_an_unhandled_event() {
    // A server of its own: this test stops and restarts it.
    let mut redis = RedisServer::start_own();
    let effects = Arc::new(SideEffects::default());
    let replicas = replicas(&redis, &effects).await;
    let client = reqwest::Client::new();

    // Phase 1: Redis up.
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..50 {
        let statuses = deliver(&client, &replicas, i, &format!("before-{i}"), deadline).await;
        assert_eq!(statuses.last(), Some(&200));
    }

    // Phase 2: Redis down. Send one attempt each and record what was acknowledged.
    redis.stop();
    let mut acknowledged = HashSet::new();
    for i in 0..50 {
        let id = format!("during-{i}");
        let url = format!("http://{}/api/events", replicas[i % 2]);
        let response = client
            .post(&url)
            .header("content-type", "application/cloudevents+json")
            .body(delivery(&id))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            acknowledged.insert(id);
        } else {
            assert_eq!(status, 503, "{id}: {status}");
            assert_eq!(
                response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap()),
                Some("1")
            );
        }
    }
    let handled = effects.counts();
    for id in &acknowledged {
        assert!(
            handled.contains_key(id),
            "{id} was acknowledged but not handled"
        );
    }
    assert!(
        acknowledged.is_empty(),
        "with Redis down nothing should be acknowledged: {acknowledged:?}"
    );

    // Phase 3: Redis back; the sender's retries are handled.
    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 0..50 {
        let id = format!("during-{i}");
        let statuses = deliver(&client, &replicas, i, &id, deadline).await;
        assert_eq!(statuses.last(), Some(&200), "{id}: {statuses:?}");
    }
    let handled = effects.counts();
    for i in 0..50 {
        assert_eq!(handled.get(&format!("during-{i}")), Some(&1), "during-{i}");
    }
}
