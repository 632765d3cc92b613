//! `hookgate listen --redis URL`: two receivers (replicas) share the dedup store, so
//! an event is handed over once across both; `/readyz` (and its alias `/healthz`)
//! is ready only while Redis answers, `/livez` whatever Redis does, no probe writes
//! to Redis, and a password in the URL is never logged.

#![cfg(unix)]

mod common;
#[path = "../../../tests/common/redis.rs"]
mod redis_server;
#[path = "../../../tests/common/redis_tls.rs"]
mod redis_tls;
#[path = "../../../tests/common/test_ca.rs"]
mod test_ca;

use common::{Hookgate, event, send_binary};
use redis_server::{RedisServer, unique_prefix};

#[tokio::test(flavor = "multi_thread")]
async fn replicas_share_the_dedup_store() {
    let redis = RedisServer::start();
    let url = redis.url();
    let a = Hookgate::start(&[], &[("HOOKGATE_REDIS", url.as_str())]);
    let b = Hookgate::start(&["--redis", &url], &[]);
    let id = unique_prefix("cli-replica");
    assert_eq!(
        send_binary(&a.url("/api/events"), &event(&id))
            .await
            .status(),
        200
    );
    // The retry lands on the other replica: a duplicate, not handed over again.
    assert_eq!(
        send_binary(&b.url("/api/events"), &event(&id))
            .await
            .status(),
        200
    );
    assert_eq!(a.stdout_events_wait(1).len(), 1);
    assert_eq!(b.stdout_events().len(), 0);
    assert_eq!(b.metric("hookgate_duplicates_total").await, 1.0);
    assert_eq!(
        reqwest::get(format!("{}/healthz", b.base))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_follows_the_store() {
    let mut redis = RedisServer::start_own();
    let hg = Hookgate::start(&["--redis", &redis.url()], &[]);
    let health = format!("{}/healthz", hg.base);
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 200);
    redis.stop();
    assert_eq!(reqwest::get(&health).await.unwrap().status(), 503);
    // A delivery now is refused with 503 (the store fails closed), not lost.
    let answer = send_binary(&hg.url("/api/events"), &event(&unique_prefix("down"))).await;
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    redis.start_again();
    let mut ready = false;
    for _ in 0..100 {
        if reqwest::get(&health).await.unwrap().status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(ready, "{}", hg.stderr());
}

/// Scripts Redis ran (`cmdstat_evalsha` calls) and keys it holds: what a probe must
/// not change.
fn writes(redis: &RedisServer) -> (String, Option<i64>) {
    let info = redis
        .cmd(&["INFO", "commandstats"])
        .into_string()
        .unwrap_or_default();
    let evalsha = info
        .lines()
        .find(|l| l.starts_with("cmdstat_evalsha:") || l.starts_with("cmdstat_set:"))
        .map(|l| l.split(',').next().unwrap_or("").to_owned())
        .unwrap_or_default();
    (evalsha, redis.cmd(&["DBSIZE"]).as_int())
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_write_nothing_and_liveness_outlasts_a_redis_outage() {
    let mut redis = RedisServer::start_own();
    let hg = Hookgate::start(&["--redis", &redis.url()], &[]);
    let before = writes(&redis);
    for path in ["/readyz", "/healthz", "/livez"] {
        for _ in 0..10 {
            let answer = reqwest::get(format!("{}{path}", hg.base)).await.unwrap();
            assert_eq!(answer.status(), 200, "{path}");
        }
    }
    assert_eq!(writes(&redis), before, "a probe wrote to Redis");
    redis.stop();
    let ready = reqwest::get(format!("{}/readyz", hg.base)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let live = reqwest::get(format!("{}/livez", hg.base)).await.unwrap();
    assert_eq!(
        live.status(),
        200,
        "liveness follows the process, not Redis"
    );
}

#[test]
fn a_redis_password_is_never_printed() {
    // Nothing listens on port 1: the start fails (exit 1) with a message that names
    // Redis but not the password.
    let out = common::command()
        .args(["listen", "--bind", "127.0.0.1:0"])
        .env("HOOKGATE_REDIS", "redis://user:pa55word@127.0.0.1:1/0")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("Redis") && !err.contains("pa55word"), "{err}");
}

/// `--redis rediss://... --redis-ca FILE`: the program deduplicates on a Redis
/// that serves TLS only, with a certificate of a private CA.
#[tokio::test(flavor = "multi_thread")]
async fn rediss_with_a_private_ca() {
    let redis = redis_tls::TlsRedis::start();
    let url = redis.url("rediss");
    let ca = redis.ca_file.to_str().unwrap().to_owned();
    let hg = Hookgate::start(&["--redis", &url, "--redis-ca", &ca], &[]);
    let id = unique_prefix("cli-tls");
    for _ in 0..2 {
        assert_eq!(
            send_binary(&hg.url("/api/events"), &event(&id))
                .await
                .status(),
            200
        );
    }
    assert_eq!(hg.stdout_events_wait(1).len(), 1);
    assert_eq!(hg.metric("hookgate_duplicates_total").await, 1.0);
}

/// `--redis-stream rediss://... --redis-stream-ca FILE`: the Redis Streams sink on a
/// Redis that serves TLS only, with a certificate of a private CA.
#[tokio::test(flavor = "multi_thread")]
async fn a_redis_stream_over_tls_with_a_private_ca() {
    let redis = redis_tls::TlsRedis::start();
    let url = redis.url("rediss");
    let ca = redis.ca_file.to_str().unwrap().to_owned();
    let args = ["--redis-stream", &url, "--redis-stream-key", "tls-events"];
    let hg = Hookgate::start(&[&args[..], &["--redis-stream-ca", &ca]].concat(), &[]);
    for id in ["s1", "s2"] {
        let answer = send_binary(&hg.url("/api/events"), &event(id)).await;
        assert_eq!(answer.status(), 200);
    }
    let client = redis::Client::build_with_tls(
        url.as_str(),
        redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(redis.ca_pem.clone().into_bytes()),
        },
    )
    .unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let len: u64 = redis::cmd("XLEN")
        .arg("tls-events")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(len, 2);
    // Without the CA, the server's certificate is not trusted: the start stops.
    let out = common::command()
        .args(["listen", "--bind", "127.0.0.1:0"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
