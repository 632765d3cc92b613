//! `RedisStore` against a real `redis-server` (the root test harness starts one, or
//! uses `REDIS_URL`).

#[path = "../../../tests/common/redis.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hookgate_core::dedup::{Claim, ClaimToken, DedupKey, DedupStore};
use hookgate_redis::RedisStore;
use redis_server::{RedisServer, Reply, unique_prefix};

const LEASE: Duration = Duration::from_secs(60);
const REMEMBER: Duration = Duration::from_secs(3600);

async fn store(server: &RedisServer, label: &str) -> RedisStore {
    RedisStore::builder(server.url())
        .prefix(unique_prefix(label))
        .connect()
        .await
        .expect("connect to the test redis-server")
}

fn key(n: u32) -> DedupKey {
    DedupKey::new("/test/source", &format!("event-{n}"))
}

fn new_token(claim: Claim) -> ClaimToken {
    match claim {
        Claim::New(token) => token,
        other => panic!("expected New, got {other:?}"),
    }
}

#[tokio::test]
async fn claim_is_new_then_in_flight_then_done() {
    let server = RedisServer::start();
    let store = store(&server, "lifecycle").await;
    let k = key(1);

    let token = new_token(store.claim(k, LEASE).await.unwrap());
    assert_eq!(store.claim(k, LEASE).await.unwrap(), Claim::InFlight);
    store.complete(k, token, REMEMBER).await.unwrap();
    assert_eq!(store.claim(k, LEASE).await.unwrap(), Claim::Done);
    // Completing or releasing again with the old token changes nothing.
    store.release(k, token).await.unwrap();
    store.complete(k, token, REMEMBER).await.unwrap();
    assert_eq!(store.claim(k, LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn release_lets_the_next_claim_through() {
    let server = RedisServer::start();
    let store = store(&server, "release").await;
    let k = key(2);

    let first = new_token(store.claim(k, LEASE).await.unwrap());
    store.release(k, first).await.unwrap();
    let second = new_token(store.claim(k, LEASE).await.unwrap());
    assert_ne!(first, second);
    assert_eq!(store.claim(k, LEASE).await.unwrap(), Claim::InFlight);
}

/// Claims until one is `New`; panics after `within`.
async fn claim_until_new(
    store: &RedisStore,
    k: DedupKey,
    lease: Duration,
    within: Duration,
) -> ClaimToken {
    let deadline = Instant::now() + within;
    loop {
        match store.claim(k, lease).await.unwrap() {
            Claim::New(token) => return token,
            Claim::InFlight if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            other => panic!("the lease did not expire within {within:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_expired_lease_lets_a_new_claim_through() {
    let server = RedisServer::start();
    let store = store(&server, "lease").await;
    let k = key(3);
    let lease = Duration::from_millis(200);

    let started = Instant::now();
    let first = new_token(store.claim(k, lease).await.unwrap());
    assert_eq!(store.claim(k, lease).await.unwrap(), Claim::InFlight);
    let second = claim_until_new(&store, k, lease, Duration::from_secs(3)).await;
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "expired too early"
    );
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_stale_holder_cannot_release_or_complete_the_newer_claim() {
    let server = RedisServer::start();
    let store = store(&server, "stale").await;
    let k = key(4);
    let short = Duration::from_millis(200);

    let stale = new_token(store.claim(k, short).await.unwrap());
    let fresh = claim_until_new(&store, k, LEASE, Duration::from_secs(3)).await;

    store.release(k, stale).await.unwrap();
    assert_eq!(
        store.claim(k, LEASE).await.unwrap(),
        Claim::InFlight,
        "stale release took effect"
    );
    store.complete(k, stale, REMEMBER).await.unwrap();
    assert_eq!(
        store.claim(k, LEASE).await.unwrap(),
        Claim::InFlight,
        "stale complete took effect"
    );
    store.release_all(vec![(k, stale)]).await.unwrap();
    store
        .complete_all(vec![(k, stale)], REMEMBER)
        .await
        .unwrap();
    assert_eq!(store.claim(k, LEASE).await.unwrap(), Claim::InFlight);

    store.complete(k, fresh, REMEMBER).await.unwrap();
    assert_eq!(store.claim(k, LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_50_concurrent_claims_exactly_one_is_new() {
    let server = RedisServer::start();
    let store = Arc::new(store(&server, "concurrent").await);
    let k = key(5);

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.claim(k, LEASE).await.unwrap() })
        })
        .collect();
    let mut new = 0;
    let mut in_flight = 0;
    for task in tasks {
        match task.await.unwrap() {
            Claim::New(_) => new += 1,
            Claim::InFlight => in_flight += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((new, in_flight), (1, 49));
}

#[tokio::test]
async fn batches_claim_complete_and_release_per_key() {
    let server = RedisServer::start();
    let store = store(&server, "batch").await;
    let keys: Vec<DedupKey> = (10..14).map(key).collect();

    assert_eq!(
        store.claim_all(Vec::new(), LEASE).await.unwrap(),
        Vec::new()
    );
    let claims = store.claim_all(keys.clone(), LEASE).await.unwrap();
    let tokens: Vec<ClaimToken> = claims.into_iter().map(new_token).collect();
    assert_eq!(
        store.claim_all(keys.clone(), LEASE).await.unwrap(),
        vec![Claim::InFlight; 4]
    );

    // Complete the first two, release the third, keep the fourth.
    let pairs: Vec<(DedupKey, ClaimToken)> =
        keys.iter().copied().zip(tokens.iter().copied()).collect();
    store
        .complete_all(pairs[..2].to_vec(), REMEMBER)
        .await
        .unwrap();
    store.release_all(pairs[2..3].to_vec()).await.unwrap();
    store.complete_all(Vec::new(), REMEMBER).await.unwrap();
    store.release_all(Vec::new()).await.unwrap();

    let again = store.claim_all(keys.clone(), LEASE).await.unwrap();
    assert_eq!(again[..2], [Claim::Done, Claim::Done]);
    assert!(matches!(again[2], Claim::New(_)), "{again:?}");
    assert_eq!(again[3], Claim::InFlight);

    // A batch with a key that is new next to ones already seen.
    let mixed = store
        .claim_all(vec![keys[0], key(99), keys[3]], LEASE)
        .await
        .unwrap();
    assert_eq!(mixed[0], Claim::Done);
    assert!(matches!(mixed[1], Claim::New(_)), "{mixed:?}");
    assert_eq!(mixed[2], Claim::InFlight);
}

#[tokio::test]
async fn keys_are_the_prefix_and_32_hex_digits_with_ttls() {
    let server = RedisServer::start();
    let prefix = unique_prefix("prefix");
    let store = RedisStore::builder(server.url())
        .prefix(prefix.clone())
        .connect()
        .await
        .unwrap();
    assert_eq!(store.prefix(), prefix);
    let k = key(6);
    let name = format!("{prefix}{}", k.to_hex());
    assert_eq!(store.key_name(k), name);

    let token = new_token(store.claim(k, LEASE).await.unwrap());
    assert_eq!(server.keys(&prefix), vec![name.clone()]);
    assert_eq!(
        server.cmd(&["GET", &name]),
        Reply::Bulk(format!("{:032x}", token.as_u128()))
    );
    let pttl = server.cmd(&["PTTL", &name]).as_int().unwrap();
    assert!(pttl > 50_000 && pttl <= 60_000, "lease PTTL {pttl}");

    store.complete(k, token, REMEMBER).await.unwrap();
    assert_eq!(server.cmd(&["GET", &name]), Reply::Bulk("done".into()));
    let pttl = server.cmd(&["PTTL", &name]).as_int().unwrap();
    assert!(
        pttl > 3_500_000 && pttl <= 3_600_000,
        "remember PTTL {pttl}"
    );

    // Another prefix is another namespace.
    let other = store_with_prefix(&server, &unique_prefix("other")).await;
    assert!(matches!(
        other.claim(k, LEASE).await.unwrap(),
        Claim::New(_)
    ));
}

async fn store_with_prefix(server: &RedisServer, prefix: &str) -> RedisStore {
    RedisStore::builder(server.url())
        .prefix(prefix)
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn scripts_are_loaded_again_after_a_script_flush() {
    let server = RedisServer::start();
    let store = store(&server, "noscript").await;
    server.cmd(&["SCRIPT", "FLUSH"]);
    let token = new_token(store.claim(key(7), LEASE).await.unwrap());
    server.cmd(&["SCRIPT", "FLUSH"]);
    store
        .complete_all(vec![(key(7), token)], REMEMBER)
        .await
        .unwrap();
    server.cmd(&["SCRIPT", "FLUSH"]);
    assert_eq!(
        store.claim_all(vec![key(7), key(8)], LEASE).await.unwrap()[0],
        Claim::Done
    );
}

#[tokio::test]
async fn a_stopped_redis_fails_fast_and_the_store_recovers() {
    let mut server = RedisServer::start_own();
    let store = store(&server, "fault").await;
    let token = new_token(store.claim(key(20), LEASE).await.unwrap());

    server.stop();
    // Each failing call waits for one bounded reconnection (about 0.5-1 s by default).
    for attempt in 0..2 {
        let started = Instant::now();
        let result = store.claim(key(21), LEASE).await;
        let took = started.elapsed();
        assert!(
            result.is_err(),
            "attempt {attempt}: a claim succeeded with Redis stopped"
        );
        assert!(
            took < Duration::from_secs(5),
            "attempt {attempt}: failed only after {took:?}"
        );
    }
    let started = Instant::now();
    assert!(store.complete(key(20), token, REMEMBER).await.is_err());
    assert!(store.release(key(20), token).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));

    // Back (empty: no persistence). The connection manager reconnects by itself;
    // the store retries a call that met the lost connection once.
    server.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut failures = 0;
    let token = loop {
        match store.claim(key(22), LEASE).await {
            Ok(claim) => break new_token(claim),
            Err(e) => {
                failures += 1;
                assert!(Instant::now() < deadline, "the store did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert!(
        failures <= 1,
        "{failures} failed calls after Redis was back"
    );
    store.complete(key(22), token, REMEMBER).await.unwrap();
    assert_eq!(store.claim(key(22), LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn connecting_to_nothing_fails_fast() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let result = RedisStore::connect(&format!("redis://127.0.0.1:{port}/")).await;
    assert!(result.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    assert!(RedisStore::connect("not a url").await.is_err());
    let zero = RedisStore::builder("redis://127.0.0.1:1/")
        .operation_timeout(Duration::ZERO)
        .connect()
        .await;
    assert!(zero.is_err());
}

#[test]
fn debug_output_never_shows_the_url() {
    let builder = RedisStore::builder("redis://user:s3cret@127.0.0.1:6379/");
    let debug = format!("{builder:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("hookgate:dedup:"), "{debug}");
}

#[tokio::test]
async fn a_hung_redis_fails_within_the_timeouts_and_the_store_recovers() {
    let mut server = RedisServer::start_own();
    let store = store(&server, "hung").await;
    assert!(matches!(
        store.claim(key(30), LEASE).await.unwrap(),
        Claim::New(_)
    ));

    server.freeze();
    let started = Instant::now();
    let result = store.claim(key(31), LEASE).await;
    let took = started.elapsed();
    server.thaw();
    assert!(result.is_err(), "a claim succeeded with Redis frozen");
    assert!(took < Duration::from_secs(5), "failed only after {took:?}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.claim(key(32), LEASE).await {
            Ok(claim) => break assert!(matches!(claim, Claim::New(_)), "{claim:?}"),
            Err(e) => {
                assert!(Instant::now() < deadline, "the store did not recover: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // The claim that timed out landed when Redis resumed; its compare-and-delete
    // release, queued behind it, takes it back: a retry is handled at once, not
    // answered "in flight" for the whole lease (issue 19, item 11).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.claim(key(31), LEASE).await.unwrap() {
            Claim::New(_) => break,
            Claim::InFlight if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => panic!("the timed-out claim still holds the event: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_claim_that_timed_out_while_redis_was_paused_is_taken_back() {
    let mut server = RedisServer::start_own();
    let store = store(&server, "paused").await;
    let keys: Vec<DedupKey> = (40..43).map(key).collect();
    server.freeze();
    assert!(store.claim_all(keys.clone(), LEASE).await.is_err());
    // Paused longer than the claim's timeout, then resumed: Redis runs the claims,
    // then the releases queued behind them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.thaw();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = server.keys(store.prefix()).len();
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} orphan claims still held after Redis resumed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = store.claim_all(keys, LEASE).await.unwrap();
    assert!(
        again.iter().all(|c| matches!(c, Claim::New(_))),
        "{again:?}"
    );
}

/// `calls=` of `cmdstat_evalsha` in `INFO commandstats`: how many scripts ran.
fn evalsha_calls(server: &RedisServer) -> u64 {
    let info = server
        .cmd(&["INFO", "commandstats"])
        .into_string()
        .unwrap_or_default();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_batch_of_5000_events_is_claimed_and_settled_in_round_trips_of_512() {
    let server = RedisServer::start_own();
    let store = store(&server, "big-batch").await;
    assert_eq!(hookgate_redis::MAX_KEYS_PER_ROUND_TRIP, 512);
    let keys: Vec<DedupKey> = (0..5_000).map(|n| key(100_000 + n)).collect();
    let before = evalsha_calls(&server);
    let claims = store.claim_all(keys.clone(), LEASE).await.unwrap();
    assert_eq!(claims.len(), 5_000);
    let tokens: Vec<ClaimToken> = claims.into_iter().map(new_token).collect();
    // Every key ran its script once, in order (answers matched to their keys).
    assert_eq!(evalsha_calls(&server) - before, 5_000);
    let pairs: Vec<(DedupKey, ClaimToken)> = keys.iter().copied().zip(tokens).collect();
    // The first 4,000 handled, the last 1,000 failed.
    store
        .complete_all(pairs[..4_000].to_vec(), REMEMBER)
        .await
        .unwrap();
    store.release_all(pairs[4_000..].to_vec()).await.unwrap();
    let again = store.claim_all(keys, LEASE).await.unwrap();
    assert!(again[..4_000].iter().all(|c| *c == Claim::Done));
    assert!(again[4_000..].iter().all(|c| matches!(c, Claim::New(_))));
}

#[tokio::test]
async fn ping_changes_nothing_and_fails_when_redis_is_down() {
    let mut server = RedisServer::start_own();
    let store = store(&server, "ping").await;
    let keys_before = server.cmd(&["DBSIZE"]).as_int();
    let writes_before = evalsha_calls(&server);
    for _ in 0..20 {
        store.ping().await.unwrap();
    }
    assert_eq!(server.cmd(&["DBSIZE"]).as_int(), keys_before);
    assert_eq!(evalsha_calls(&server), writes_before);

    server.stop();
    let started = Instant::now();
    assert!(
        store.ping().await.is_err(),
        "a ping succeeded with Redis stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    server.start_again();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ping().await.is_err() {
        assert!(Instant::now() < deadline, "ping did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
