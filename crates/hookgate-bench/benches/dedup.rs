//! Deduplication benchmarks (issue 5).
//!
//! Run with `cargo bench -p hookgate-bench --bench dedup`. Results are in
//! `BENCHMARKS.md` at the workspace root.
//!
//! Before divan's timings, the binary prints one-off measurements (skip them with
//! `HOOKGATE_BENCH_NO_REPORTS=1`; they are skipped under `--test` and `--list`):
//!
//! - **memory per remembered event** of the in-memory store at 1,000,000 events,
//!   counted by a global allocator that tracks live bytes (`cap`);
//! - with Redis (`REDIS_URL`, or a `redis-server` from `PATH` started like the test
//!   harness does; skipped with a note when there is neither):
//!   - **round trips per delivery**: Redis's own counters (`INFO commandstats` for
//!     commands, `INFO stats` `total_reads_processed` for request bursts) around
//!     1,000 single-event deliveries and 100 batches of 10 through an axum receiver;
//!   - **deliveries/s through one replica**: an axum server on `127.0.0.1:0` with
//!     `ParseCloudEventsLayer` and `DedupLayer` on a `RedisStore`, loaded by an
//!     in-process `reqwest` client with 5,000 unique events, 32 at a time; the same
//!     again as duplicates, and, for comparison, with the in-memory store and with
//!     no deduplication;
//!   - **Redis memory per remembered event** (`INFO memory` `used_memory`).
//!
//! divan then times the in-memory store: `claim_complete` (a new event: claim, then
//! complete) and `claim_done` (a duplicate: a claim answered `Done`), each on one
//! and on two threads (divan's time is per iteration on each thread: the two
//! threads together do twice the items).
//!
//! The `hot_path` group (issue 8) times what each request pays, one thread:
//! `key_new` (the key of a typical Event Grid `(source, id)`; `key_new_other_sources`
//! when the source changes every time, among 16; `key_scoped` with a principal's
//! scope), `claim_complete` of
//! a new event on a store that is `empty` (every completion expires at once, so the
//! store stays near empty), that holds `500k` events, and that is `growing` past
//! the point where a hash map would double (filled to 880,000 of its 1,000,000;
//! compare its slowest sample and mean with its median), and `policy_begin_finish`
//! (`DedupPolicy::claim` + `DedupGuard::finish(200)` on a parsed one-event
//! delivery, the whole dedup cost of a request). Filter with
//! `cargo bench -p hookgate-bench --bench dedup -- hot_path`.

use std::alloc::System;
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use cap::Cap;
use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use hookgate_core::dedup::{Claim, DedupKey, MemoryStore};

#[path = "../../../tests/common/redis.rs"]
mod redis_server;

/// Counts live heap bytes, for the memory per remembered event.
#[global_allocator]
static ALLOCATOR: Cap<System> = Cap::new(System, usize::MAX);

const LEASE: Duration = Duration::from_secs(300);
const REMEMBER: Duration = Duration::from_secs(24 * 3600);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--test" || a == "--list");
    if !quick && std::env::var_os("HOOKGATE_BENCH_NO_REPORTS").is_none() {
        memory_per_event();
        redis_report::run();
    }
    // Sample counts are set per group: the `hot_path` benchmarks that fill a
    // store need exactly theirs (a count given on the command line overrides them).
    divan::Divan::default().config_with_args().main();
}

/// 2^21 distinct keys, hashed once: SHA-256 of `(source, id)` is the policy's
/// cost, not the store's.
static KEYS: LazyLock<Vec<DedupKey>> = LazyLock::new(|| keys("/bench/keys", 1 << 21));

/// The store the throughput benchmarks share: the default (1,000,000 entries), so
/// that cycling through 2^21 keys runs at the bound, evicting.
static STORE: LazyLock<MemoryStore> = LazyLock::new(MemoryStore::default);

fn keys(source: &str, n: u32) -> Vec<DedupKey> {
    (0..n)
        .map(|i| DedupKey::new(source, &i.to_string()))
        .collect()
}

/// The next key of this thread: threads start at different places and do not
/// share a counter (which would cost more than the store's lock).
fn next_key(keys: &[DedupKey]) -> DedupKey {
    static START: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NEXT: Cell<usize> = Cell::new(START.fetch_add(1 << 20, Ordering::Relaxed));
    }
    NEXT.with(|next| {
        let i = next.get();
        next.set(i.wrapping_add(1));
        keys[i % keys.len()]
    })
}

#[divan::bench_group(sample_count = 500, sample_size = 1000)]
mod memory_store {
    use super::*;

    /// A new event: claim (`New`), then complete.
    #[divan::bench(threads = [1, 2])]
    fn claim_complete(bencher: Bencher<'_, '_>) {
        let keys = &*KEYS;
        let store = &*STORE;
        bencher.counter(ItemsCount::new(1usize)).bench(|| {
            let key = next_key(keys);
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.complete_now(key, token, REMEMBER);
            }
        });
    }

    /// A duplicate: a claim of a remembered event, answered `Done`.
    #[divan::bench(threads = [1, 2])]
    fn claim_done(bencher: Bencher<'_, '_>) {
        static DONE: LazyLock<(MemoryStore, Vec<DedupKey>)> = LazyLock::new(|| {
            let keys = keys("/bench/done", 100_000);
            let store = MemoryStore::with_capacity(200_000).expect("capacity");
            for &key in &keys {
                if let Claim::New(token) = store.claim_now(key, LEASE) {
                    store.complete_now(key, token, REMEMBER);
                }
            }
            (store, keys)
        });
        let (store, keys) = &*DONE;
        bencher.counter(ItemsCount::new(1usize)).bench(|| {
            let claim = store.claim_now(next_key(keys), LEASE);
            debug_assert_eq!(claim, Claim::Done);
            divan::black_box(claim);
        });
    }
}

/// A typical Event Grid `source`: a storage account's resource path.
const SOURCE: &str = "/subscriptions/5c0ec2a1-4b2e-4a0f-9a3b-2d7b1e6c9f10/resourceGroups/\
                      rg-orders-prod/providers/Microsoft.Storage/storageAccounts/ordersprodstore";
/// A typical Event Grid `id`: a UUID.
const ID: &str = "831e1650-001e-001b-66ab-eeb76e069631";

#[divan::bench_group(sample_count = 100, sample_size = 1000)]
mod hot_path {
    use super::*;

    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use hookgate_core::dedup::{ClaimOutcome, DedupPolicy};
    use hookgate_core::{Delivery, HeaderList, ParseConfig, parse};

    /// The key of one event.
    #[divan::bench]
    fn key_new() -> DedupKey {
        DedupKey::new(black_box(SOURCE), black_box(ID))
    }

    /// The key of one event whose source changes every time, among 16 (more than
    /// a thread keeps hash states for: the whole source is hashed each time).
    #[divan::bench]
    fn key_new_other_sources(bencher: Bencher<'_, '_>) {
        let sources: Vec<String> = (0..16).map(|n| format!("{SOURCE}{n:02}")).collect();
        let next = Cell::new(0usize);
        bencher.bench_local(|| {
            let n = next.get();
            next.set(n + 1);
            DedupKey::new(black_box(&sources[n % sources.len()]), black_box(ID))
        });
    }

    /// The key of one event scoped by its sender (an authenticated principal).
    #[divan::bench]
    fn key_scoped() -> DedupKey {
        DedupKey::scoped(
            black_box(b"aad:4962773b-9cdb-44cf-a8bf-237846a00ab7"),
            black_box(SOURCE),
            black_box(ID),
        )
    }

    /// Claims and completes `keys` in turn, one per iteration.
    fn claim_complete(
        bencher: Bencher<'_, '_>,
        store: &MemoryStore,
        keys: &[DedupKey],
        remember: Duration,
    ) {
        let next = Cell::new(0usize);
        bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
            let i = next.get();
            next.set(i + 1);
            let key = keys[i % keys.len()];
            match store.claim_now(key, LEASE) {
                Claim::New(token) => store.complete_now(key, token, remember),
                other => panic!("a new event was {other:?}"),
            }
        });
    }

    /// A store of 1,000,000 filled with `n` completed events, and 120,000 new keys.
    fn filled(n: u32) -> (MemoryStore, Vec<DedupKey>) {
        let store = MemoryStore::default();
        for key in keys("/bench/filled", n) {
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.complete_now(key, token, REMEMBER);
            }
        }
        (store, keys("/bench/new", 120_000))
    }

    /// Claim + complete of a new event on a store whose entries expire at once
    /// (remember window 0): it stays near empty. The store has seen 2^20 such
    /// events before the timing, as a running receiver's would have: its memory is
    /// committed (the first use of each page of a new store is a page fault).
    #[divan::bench]
    fn claim_complete_empty(bencher: Bencher<'_, '_>) {
        let store = MemoryStore::default();
        let keys = keys("/bench/empty", 1 << 20);
        for &key in &keys {
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.complete_now(key, token, Duration::ZERO);
            }
        }
        claim_complete(bencher, &store, &keys, Duration::ZERO);
    }

    /// Claim + complete of a new event on a store holding 500,000 events.
    #[divan::bench]
    fn claim_complete_500k(bencher: Bencher<'_, '_>) {
        let (store, new) = filled(500_000);
        claim_complete(bencher, &store, &new, REMEMBER);
    }

    /// Claim + complete of 100,000 new events on a store filled to 880,000: with
    /// 8 shards of hash maps (2 cores), each map doubles at 114,688 entries
    /// (917,504 in all) during the run.
    #[divan::bench]
    fn claim_complete_growing(bencher: Bencher<'_, '_>) {
        let (store, new) = filled(880_000);
        claim_complete(bencher, &store, &new, REMEMBER);
    }

    /// Claim + release of a new event (a failed delivery, a health probe) on a
    /// store at its bound (100,000, full of handled events): since issue 18 the new
    /// key takes the place the previous release freed, where it evicted the oldest
    /// handled event before.
    #[divan::bench]
    fn claim_release_at_bound(bencher: Bencher<'_, '_>) {
        let store = MemoryStore::with_capacity(100_000).expect("capacity");
        for key in keys("/bench/bound", 100_000) {
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.complete_now(key, token, REMEMBER);
            }
        }
        let keys = keys("/bench/probe", 120_000);
        let next = Cell::new(0usize);
        bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
            let i = next.get();
            next.set(i + 1);
            let key = keys[i % keys.len()];
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.release_now(key, token);
            }
        });
    }

    /// Polls `future` once: the in-memory store never waits.
    fn ready<F: Future>(future: F) -> F::Output {
        match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(output) => output,
            Poll::Pending => panic!("the in-memory store had to wait"),
        }
    }

    /// `DedupPolicy::claim` + `finish(200)` for a new one-event delivery (parsed
    /// outside the timed code): the whole dedup cost of a request, on the default
    /// in-memory store after 2^20 events that expired at once (so its memory is
    /// committed, as a running receiver's).
    #[divan::bench]
    fn policy_begin_finish(bencher: Bencher<'_, '_>) {
        let store = MemoryStore::default();
        for key in keys("/bench/warm", 1 << 20) {
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.complete_now(key, token, Duration::ZERO);
            }
        }
        let policy = DedupPolicy::builder()
            .store(Arc::new(store))
            .build()
            .expect("policy");
        let config = ParseConfig::default();
        let next = Cell::new(0u64);
        bencher
            .counter(ItemsCount::new(1usize))
            .with_inputs(|| -> Delivery {
                let id = format!("{ID}-{}", next.get());
                next.set(next.get() + 1);
                let headers = HeaderList::new([
                    ("ce-specversion", "1.0"),
                    ("ce-id", id.as_str()),
                    ("ce-source", SOURCE),
                    ("ce-type", "Microsoft.Storage.BlobCreated"),
                ]);
                parse(&headers, bytes::Bytes::new(), &config).expect("an event")
            })
            .bench_local_refs(|delivery| match ready(policy.claim(delivery)) {
                Ok(ClaimOutcome::Handle(guard)) => ready(guard.finish(200)),
                other => panic!("a new event was {other:?}"),
            });
    }
}

/// Live heap bytes per remembered event, at 1,000,000 events.
fn memory_per_event() {
    const N: u32 = 1_000_000;
    println!("== in-memory store: memory per remembered event ({N} events claimed and completed)");
    let keys = keys("/bench/memory", N);
    for (label, capacity) in [
        ("MemoryStore::default() (bound 1,000,000)", 1_000_000),
        ("MemoryStore::with_capacity(2,000,000)", 2_000_000),
    ] {
        let before = ALLOCATOR.allocated();
        let store = MemoryStore::with_capacity(capacity).expect("capacity");
        let started = Instant::now();
        for &key in &keys {
            if let Claim::New(token) = store.claim_now(key, LEASE) {
                store.complete_now(key, token, REMEMBER);
            }
        }
        let took = started.elapsed();
        let bytes = ALLOCATOR.allocated().saturating_sub(before);
        let remembered = store.len();
        println!(
            "{label}: {remembered} remembered, {:.1} MB live, {:.1} bytes per remembered event \
             (goal < 100); filled in {took:.2?}",
            bytes as f64 / 1e6,
            bytes as f64 / remembered.max(1) as f64,
        );
        drop(store);
    }
    println!();
}

mod redis_report {
    use super::*;

    use axum::Router;
    use axum::routing::post;
    use futures_util::StreamExt as _;
    use hookgate_core::dedup::{DedupPolicy, DedupStore};
    use hookgate_redis::RedisStore;
    use hookgate_tower::{CloudEvents, DedupLayer, ParseCloudEventsLayer};

    use crate::redis_server::{RedisServer, Reply, find_redis_server, unique_prefix};

    const SINGLE: u32 = 1_000;
    const BATCHES: u32 = 100;
    const BATCH_LEN: u32 = 10;
    const LOAD: u32 = 5_000;
    const CONCURRENCY: usize = 32;
    const ROUNDS: usize = 3;

    pub(crate) fn run() {
        let external = std::env::var("REDIS_URL").is_ok_and(|u| !u.trim().is_empty());
        if !external && find_redis_server().is_none() {
            println!(
                "== Redis: SKIPPED (note): no redis-server on PATH and REDIS_URL is not set; \
                 install redis-server (apt-get install redis-server) to measure it\n"
            );
            return;
        }
        let server = RedisServer::start();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(measure(&server));
    }

    /// A receiver on 127.0.0.1:0: parse, deduplicate (when `store` is given), a
    /// handler that counts the events it sees and answers 200.
    async fn receiver(
        store: Option<Arc<dyn DedupStore>>,
    ) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let handled = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&handled);
        let handler = post(move |CloudEvents(events): CloudEvents| {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(events.len(), Ordering::Relaxed);
                "ok"
            }
        });
        let mut app = Router::new().route("/events", handler);
        if let Some(store) = store {
            let policy = DedupPolicy::builder().store(store).build().expect("policy");
            app = app.layer(DedupLayer::new(policy));
        }
        let app = app.layer(ParseCloudEventsLayer::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/events", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        (url, handled, task)
    }

    fn single(
        client: &reqwest::Client,
        url: &str,
        source: &str,
        id: u32,
    ) -> reqwest::RequestBuilder {
        client
            .post(url)
            .header("ce-specversion", "1.0")
            .header("ce-id", id.to_string())
            .header("ce-source", source)
            .header("ce-type", "com.example.bench")
            .header("content-type", "application/json")
            .body(format!("{{\"n\":{id}}}"))
    }

    fn batch(
        client: &reqwest::Client,
        url: &str,
        source: &str,
        first: u32,
    ) -> reqwest::RequestBuilder {
        let events: Vec<String> = (first..first + BATCH_LEN)
            .map(|id| {
                format!(
                    "{{\"specversion\":\"1.0\",\"id\":\"{id}\",\"source\":\"{source}\",\
                     \"type\":\"com.example.bench\",\"data\":{{\"n\":{id}}}}}"
                )
            })
            .collect();
        client
            .post(url)
            .header("content-type", "application/cloudevents-batch+json")
            .body(format!("[{}]", events.join(",")))
    }

    /// Sends `LOAD` deliveries `CONCURRENCY` at a time; returns deliveries/s and
    /// how many were answered 200.
    async fn load(client: &reqwest::Client, url: &str, source: &str) -> (f64, usize) {
        let started = Instant::now();
        let ok = futures_util::stream::iter(0..LOAD)
            .map(|id| {
                let request = single(client, url, source, id);
                async move { request.send().await.map(|r| r.status().as_u16()) }
            })
            .buffer_unordered(CONCURRENCY)
            .filter(|status| std::future::ready(matches!(status, Ok(200))))
            .count()
            .await;
        (f64::from(LOAD) / started.elapsed().as_secs_f64(), ok)
    }

    /// One `load` per source; the rates and the total answered 200.
    async fn rounds(client: &reqwest::Client, url: &str, sources: &[String]) -> (Vec<f64>, usize) {
        let mut rates = Vec::new();
        let mut ok = 0;
        for source in sources {
            let (rate, n) = load(client, url, source).await;
            rates.push(rate);
            ok += n;
        }
        (rates, ok)
    }

    fn report(what: &str, rates: &[f64], detail: &str) {
        let mut sorted = rates.to_vec();
        sorted.sort_by(f64::total_cmp);
        let runs = rates
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "deliveries/s, {what}: median {:.0} (runs: {runs}; {detail})",
            sorted[sorted.len() / 2]
        );
    }

    /// `name -> calls` of `INFO commandstats`, and `total_reads_processed`.
    fn counters(server: &RedisServer) -> (Vec<(String, u64)>, u64) {
        let text = |reply: Reply| reply.into_string().unwrap_or_default();
        let commands = text(server.cmd(&["INFO", "commandstats"]))
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(":calls=")?;
                let calls = rest.split(',').next()?.parse().ok()?;
                Some((name.to_owned(), calls))
            })
            .collect();
        let reads = text(server.cmd(&["INFO", "stats"]))
            .lines()
            .find_map(|line| {
                line.strip_prefix("total_reads_processed:")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        (commands, reads)
    }

    /// Since the last `CONFIG RESETSTAT`: the commands the store sent (all but the
    /// harness's own `INFO`/`CONFIG`, and but `SET`/`GET`/`DEL`, which Redis also
    /// counts when a script calls them), the read bursts, and every count.
    fn since_reset(server: &RedisServer) -> (u64, u64, String) {
        let (commands, reads) = counters(server);
        let mut mine: Vec<_> = commands
            .into_iter()
            .filter(|(name, _)| !name.starts_with("info") && !name.starts_with("config"))
            .collect();
        mine.sort();
        let sent = mine
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "set" | "get" | "del"))
            .map(|(_, calls)| calls)
            .sum();
        let detail = mine
            .iter()
            .map(|(name, calls)| format!("{name}={calls}"))
            .collect::<Vec<_>>()
            .join(" ");
        // The counters' own two connections: the RESETSTAT's end of stream and
        // the first INFO (the second is read after the count).
        (sent, reads.saturating_sub(2), detail)
    }

    async fn measure(server: &RedisServer) {
        println!("== Redis ({})", server.url());
        // The default prefix on a server of its own (as in production, for the
        // memory per key); a unique one on a shared server.
        let prefix = if server.is_own() {
            hookgate_redis::DEFAULT_PREFIX.to_owned()
        } else {
            unique_prefix("bench")
        };
        let store = RedisStore::builder(server.url())
            .prefix(prefix)
            .connect()
            .await
            .expect("connect to Redis");
        let (url, handled, task) = receiver(Some(Arc::new(store.clone()))).await;
        let client = reqwest::Client::new();

        // Warm up (connections, scripts), then count.
        for id in 0..100 {
            let response = single(&client, &url, "/warmup", id)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
        }
        server.cmd(&["CONFIG", "RESETSTAT"]);
        for id in 0..SINGLE {
            let response = single(&client, &url, "/rtt", id)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
        }
        let (commands, reads, detail) = since_reset(server);
        println!(
            "round trips per delivery (one event, {SINGLE} deliveries one after the other): \
             {:.2} commands sent, {:.2} request reads by Redis (goal 2: claim, complete); \
             counted by Redis, script-internal calls included: {detail}",
            commands as f64 / f64::from(SINGLE),
            reads as f64 / f64::from(SINGLE),
        );
        server.cmd(&["CONFIG", "RESETSTAT"]);
        for n in 0..BATCHES {
            let response = batch(&client, &url, "/rtt-batch", n * BATCH_LEN)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 200);
        }
        let (commands, reads, detail) = since_reset(server);
        println!(
            "round trips per delivery (batches of {BATCH_LEN}, {BATCHES} deliveries): \
             {:.2} commands sent (pipelined), {:.2} request reads by Redis; counted: {detail}",
            commands as f64 / f64::from(BATCHES),
            reads as f64 / f64::from(BATCHES),
        );

        // Throughput through one replica: ROUNDS runs each (the machine is shared,
        // single runs are noisy), each with its own source so events stay unique.
        let sources: Vec<String> = (0..ROUNDS).map(|r| format!("/load-{r}")).collect();
        let before = handled.load(Ordering::Relaxed);
        let (rates, ok) = rounds(&client, &url, &sources).await;
        let seen = handled.load(Ordering::Relaxed) - before;
        report(
            &format!("Redis store, {LOAD} unique events, concurrency {CONCURRENCY}"),
            &rates,
            &format!("{ok} answered 200, the handler saw {seen} events"),
        );
        let before = handled.load(Ordering::Relaxed);
        let (rates, ok) = rounds(&client, &url, &sources).await;
        let seen = handled.load(Ordering::Relaxed) - before;
        report(
            "Redis store, the same events again (duplicates)",
            &rates,
            &format!("{ok} answered 200, the handler saw {seen} events"),
        );
        task.abort();

        let (memory_url, _, memory_task) = receiver(Some(Arc::new(MemoryStore::default()))).await;
        let (rates, ok) = rounds(&client, &memory_url, &sources).await;
        report(
            "in-memory store, unique events (same stack)",
            &rates,
            &format!("{ok} answered 200"),
        );
        memory_task.abort();
        let (plain_url, _, plain_task) = receiver(None).await;
        let (rates, ok) = rounds(&client, &plain_url, &sources).await;
        report(
            "no deduplication (parse layer only)",
            &rates,
            &format!("{ok} answered 200"),
        );
        plain_task.abort();

        // Redis memory per remembered event.
        let used = || {
            server
                .cmd(&["INFO", "memory"])
                .into_string()
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse::<i64>().ok())
                .unwrap_or(0)
        };
        let keys = keys("/bench/redis-memory", 100_000);
        let before = used();
        for chunk in keys.chunks(1000) {
            let claims = store
                .claim_all(chunk.to_vec(), LEASE)
                .await
                .expect("claim_all");
            let done = chunk
                .iter()
                .zip(claims)
                .filter_map(|(key, claim)| match claim {
                    Claim::New(token) => Some((*key, token)),
                    _ => None,
                })
                .collect();
            store
                .complete_all(done, REMEMBER)
                .await
                .expect("complete_all");
        }
        let per_event = (used() - before) as f64 / keys.len() as f64;
        println!(
            "Redis memory per remembered event ({} keys of {} bytes): {per_event:.0} bytes",
            keys.len(),
            store.key_name(keys[0]).len()
        );
        println!(
            "(client, receiver and redis-server share this machine's {} cores)\n",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
    }
}
