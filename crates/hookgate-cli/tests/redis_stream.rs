//! `hookgate listen --redis-stream URL --redis-stream-key KEY` against a real
//! `redis-server`: each event one entry, whatever the retries and the replicas;
//! a batch with one event failing; Redis killed during a run and restarted on its
//! append-only file, with no acknowledged event missing and none stored twice.

mod common;
#[path = "../../../tests/common/redis.rs"]
mod redis_server;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Hookgate, client, event, send_binary};
use hookgate::encode;
use redis_server::{RedisServer, Reply};
use sha2::{Digest as _, Sha256};

/// The stream's entries: each one's fields.
fn entries(redis: &RedisServer, key: &str) -> Vec<HashMap<String, String>> {
    let Reply::Array(entries) = redis.cmd(&["XRANGE", key, "-", "+"]) else {
        return Vec::new();
    };
    entries
        .into_iter()
        .map(|entry| {
            let Reply::Array(mut parts) = entry else {
                panic!("an entry: {entry:?}")
            };
            let Some(Reply::Array(fields)) = parts.pop() else {
                panic!("fields")
            };
            let fields: Vec<String> = fields.into_iter().filter_map(Reply::into_string).collect();
            fields
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .collect()
        })
        .collect()
}

fn ids(redis: &RedisServer, key: &str) -> Vec<String> {
    entries(redis, key)
        .into_iter()
        .map(|fields| fields["id"].clone())
        .collect()
}

fn start(redis: &RedisServer, key: &str) -> Hookgate {
    Hookgate::start(
        &[
            "--redis-stream",
            &redis.url(),
            "--redis-stream-key",
            key,
            "--redis-stream-timeout",
            "1s",
        ],
        &[],
    )
}

/// POSTs a batch of the events `ids`.
async fn send_batch(hg: &Hookgate, ids: &[&str]) -> u16 {
    let events: Vec<_> = ids.iter().map(|id| event(id)).collect();
    let (content_type, body) = encode::batch(&events);
    client()
        .post(hg.url("/api/events"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_event_is_one_entry_across_retries_and_replicas() {
    let redis = RedisServer::start_own();
    let (a, b) = (start(&redis, "events"), start(&redis, "events"));
    let url = |hg: &Hookgate| hg.url("/api/events");
    assert_eq!(send_binary(&url(&a), &event("e1")).await.status(), 200);
    // The same event through the other replica (its own memory dedup): no second entry.
    assert_eq!(send_binary(&url(&b), &event("e1")).await.status(), 200);
    assert_eq!(send_binary(&url(&a), &event("e1")).await.status(), 200);
    assert_eq!(send_binary(&url(&a), &event("e2")).await.status(), 200);
    assert_eq!(send_batch(&b, &["e3", "e4", "e5"]).await, 200);
    assert_eq!(ids(&redis, "events"), ["e1", "e2", "e3", "e4", "e5"]);
    let first = &entries(&redis, "events")[0];
    assert_eq!(first["source"], "/tests");
    assert_eq!(first["type"], "com.example.test");
    let json: serde_json::Value = serde_json::from_str(&first["event"]).unwrap();
    assert_eq!(json["id"], "e1");
    assert_eq!(json["data"]["id"], "e1");
    // The markers live for --remember.
    let Reply::Array(markers) = redis.cmd(&["KEYS", "events:hookgate:*"]) else {
        panic!()
    };
    assert_eq!(markers.len(), 5);
    let marker = markers[0].clone().into_string().unwrap();
    let ttl = redis.cmd(&["PTTL", &marker]).as_int().unwrap();
    assert!(ttl > 23 * 3600 * 1000, "{ttl}");
}

/// The marker key of event `id` from `/tests`, without a sender.
fn marker(key: &str, id: &str) -> String {
    let mut hash = Sha256::new();
    for part in ["", "/tests", id] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{key}:hookgate:{hex}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_with_one_event_failing_is_retried_for_what_is_missing() {
    let redis = RedisServer::start_own();
    let hg = start(&redis, "batch");
    // Event b2's marker is a list: its script fails (WRONGTYPE), b1's succeeds.
    redis.cmd(&["RPUSH", &marker("batch", "b2"), "x"]);
    assert_eq!(send_batch(&hg, &["b1", "b2", "b3"]).await, 503);
    assert_eq!(ids(&redis, "batch"), ["b1"]);
    let log = hg.stderr_wait(&["event 2 of 3"]);
    assert!(log.contains("WRONGTYPE"), "{log}");
    // Fixed; the sender retries the batch: b1 is a duplicate (its claim was
    // completed), b2 and b3 are added.
    redis.cmd(&["DEL", &marker("batch", "b2")]);
    assert_eq!(send_batch(&hg, &["b1", "b2", "b3"]).await, 200);
    assert_eq!(ids(&redis, "batch"), ["b1", "b2", "b3"]);
    assert_eq!(hg.metric("hookgate_duplicates_total").await, 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_during_a_run_loses_no_acknowledged_event_and_stores_none_twice() {
    let mut redis = RedisServer::start_own_persistent();
    let hg = start(&redis, "durable");
    let url = hg.url("/api/events");
    let started = Instant::now();
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for n in 0..60 {
        if n == 20 {
            redis.stop();
        }
        if n == 35 {
            redis.start_again();
        }
        let id = format!("d{n}");
        // A sender that retries until it is acknowledged (bounded).
        for _ in 0..50 {
            let status = send_binary(&url, &event(&id)).await.status().as_u16();
            if status == 200 {
                acknowledged.push(id.clone());
                break;
            }
            assert_eq!(status, 503, "Redis down is 503, retried");
            refused += 1;
            if (20..35).contains(&n) {
                // While it is down, give up on this event (the sender retries it
                // later): it must not be in the stream twice when it comes back.
                break;
            }
            // Just restarted: the connection comes back within a few tries.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(120));
    }
    assert!(refused > 0, "Redis was down for some deliveries");
    // The events refused while Redis was down, sent again now: acknowledged.
    for n in 20..35 {
        let id = format!("d{n}");
        if !acknowledged.contains(&id) {
            assert_eq!(send_binary(&url, &event(&id)).await.status(), 200, "{id}");
            acknowledged.push(id);
        }
    }
    let stored = ids(&redis, "durable");
    for id in &acknowledged {
        assert_eq!(
            stored.iter().filter(|s| *s == id).count(),
            1,
            "{id} in {stored:?}"
        );
    }
    assert_eq!(stored.len(), 60, "{stored:?}");
}

#[test]
fn the_stream_is_checked_at_the_start() {
    let redis = RedisServer::start_own();
    redis.cmd(&["SET", "not-a-stream", "x"]);
    let out = common::command()
        .args([
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--redis-stream",
            &redis.url(),
        ])
        .args(["--redis-stream-key", "not-a-stream"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not a stream"), "{err}");
    let out = common::command()
        .args([
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--redis-stream",
            &redis.url(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("redis_stream_key"), "{err}");
    let out = common::command()
        .args(["listen", "--bind", "127.0.0.1:0"])
        .args(["--redis-stream", "redis://:secret@127.0.0.1:1/"])
        .args(["--redis-stream-key", "k"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("secret"), "{err}");
}
