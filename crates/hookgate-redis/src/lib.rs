//! A Redis [`DedupStore`](hookgate_core::dedup::DedupStore) for
//! [hookgate](https://docs.rs/hookgate): several replicas of a CloudEvents webhook
//! receiver share one deduplication state.
//!
//! hookgate's default store, `MemoryStore`, protects **one process only**: behind a
//! load balancer each replica sees only its own duplicates, and a restart forgets
//! everything. [`RedisStore`] keeps the claims and completions in Redis, so a
//! retry that lands on another replica, or after a restart, is still recognized.
//! It plugs into the same [`DedupPolicy`](hookgate_core::dedup::DedupPolicy) that the
//! tower layer (`DedupLayer`) and the actix-web middleware (`Dedup`) run.
//!
//! ```no_run
//! use std::sync::Arc;
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_redis::RedisStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = RedisStore::builder("redis://127.0.0.1:6379")
//!     .prefix("orders:dedup:")
//!     .connect()
//!     .await?;
//! let policy = DedupPolicy::builder().store(Arc::new(store)).build()?;
//! // axum:  router.layer(hookgate::tower::DedupLayer::new(policy.clone()))
//! // actix: app.wrap(hookgate::actix::Dedup::new(policy))
//! # let _ = policy;
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! An event `(source, id)` is one string key: the [prefix](RedisStoreBuilder::prefix)
//! (default `hookgate:dedup:`) followed by the 32 hex digits of its 128-bit
//! [`DedupKey`](hookgate_core::dedup::DedupKey). Its value is the holder's claim
//! token (32 hex digits) while the event is being handled, and `done` once it was;
//! Redis expires it after the lease, or after the remember window once done. Each
//! step is one small Lua script (sent as `EVALSHA`, so Redis runs it atomically):
//!
//! | step | script | answer |
//! |---|---|---|
//! | claim | `SET key token NX PX lease`; if the key exists, `GET` it | `New` (set), `Done` (the value is `done`), else `InFlight` |
//! | complete | if `GET key` = token: `SET key done PX remember` | — |
//! | release | if `GET key` = token: `DEL key` (compare-and-delete) | — |
//!
//! **Round trips per delivery: 2** for a delivery of up to
//! [`MAX_KEYS_PER_ROUND_TRIP`] (512) events — the claim before the handler, the
//! completion (or release) after it. A larger batch costs one round trip more per
//! 512 events each way: its claims, completions and releases are sent 512 keys to a
//! pipeline, one pipeline after the other (a 5,000-event batch: 10 round trips to
//! claim, 10 to settle). A batch that partly failed under the router settles in two
//! calls, its handled events and its failed ones (so up to twice the round trips to
//! settle; at most 3 for 512 events or fewer). (After a Redis restart or
//! `SCRIPT FLUSH`, the first call of each script meets `NOSCRIPT`, loads it and runs
//! again: two extra round trips, once per script.) [`DedupStore::ping`] is one
//! `PING`, for readiness probes that must not write.
//!
//! [`DedupStore::ping`]: hookgate_core::dedup::DedupStore::ping
//!
//! # Why these semantics
//!
//! - The claim is one atomic step: of concurrent deliveries of one event, on any
//!   replica, exactly one gets `New`; a plain `GET` then `SET` would let two through.
//! - Completing and releasing compare the token first. A holder whose lease ran out
//!   (a slow handler, a paused replica) while a retry re-claimed the event cannot
//!   delete or complete the new claim: a `DEL` without the comparison would let a
//!   third delivery in while the second is still running.
//! - A crashed replica releases nothing: its claims end with their lease, and then
//!   the sender's next retry is handled. Only the holder of a claim marks it done,
//!   and only after its handler answered 2xx.
//!
//! # When Redis is down
//!
//! Calls fail with a [`StoreError`] quickly instead of hanging: each connection
//! attempt, each answer and each whole call has a timeout ([`RedisStoreBuilder`];
//! a call takes at most 3 s by default). The policy then answers 503 with
//! `Retry-After` (fail closed) and the sender retries. The connection (redis-rs
//! `ConnectionManager`) reconnects by itself; a call that finds the connection
//! lost or refused is retried once on the new one.
//!
//! A call that timed out, or whose connection broke, may still have been carried
//! out by Redis (a paused or overloaded server runs it when it resumes). A claim
//! retried after a lost connection finds its own token and is `New` again. A claim
//! that gave up without an answer is taken back: the store queues a
//! compare-and-delete release of its tokens behind it, in the background, and sends
//! it again until Redis answers (for at most the lease), so a claim that lands late
//! holds nothing and the sender's retry is handled at once rather than answered 429
//! for the whole lease. This needs no clock shared with Redis. An event that was not
//! handled is never marked done.
//!
//! Configure Redis with `maxmemory-policy noeviction` (or give it enough memory):
//! evicting a claim or a completion lets a duplicate through, while a refused
//! write only makes the call fail (503). A remembered event takes about 180 bytes
//! of Redis memory with the default prefix (measured on Redis 7.0).

//! # TLS (`rediss://`)
//!
//! With the `tls` feature (`redis-tls` on the `hookgate` facade) a `rediss://` URL
//! connects over TLS with rustls (the `ring` provider), the server's certificate
//! checked against the system's roots and the Mozilla roots, or against a private
//! CA given with [`RedisStoreBuilder::ca_pem`]. Without the feature a `rediss://`
//! URL fails at [`connect`](RedisStoreBuilder::connect) with redis-rs's "can't
//! connect with TLS, the feature is not enabled". Azure Cache for Redis serves TLS
//! only, on port 6380, with a public certificate; its access key is the password:
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The access key from the environment, never in code or on a command line.
//! let key = std::env::var("REDIS_ACCESS_KEY")?;
//! let store = hookgate_redis::RedisStore::builder(format!(
//!     "rediss://:{key}@my-cache.redis.cache.windows.net:6380"
//! ))
//! .connect()
//! .await?;
//! # let _ = store;
//! # Ok(()) }
//! ```
//!
//! A Redis with a certificate of your own CA:
//!
//! ```no_run
//! # #[cfg(feature = "tls")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = hookgate_redis::RedisStore::builder("rediss://redis.internal:6380")
//!     .ca_pem(std::fs::read("/etc/hookgate/redis-ca.pem")?)
//!     .connect()
//!     .await?;
//! # let _ = store;
//! # Ok(()) }
//! ```
//!
//! # Redis Cluster
//!
//! With the `cluster` feature (off by default; redis-rs `cluster-async`),
//! `RedisStore::cluster_builder` connects to a cluster. Every script touches one
//! key, so it runs on the node that owns that key's slot; a batch, whose keys are
//! spread over slots, is sent as concurrent calls, at most
//! [`MAX_KEYS_PER_ROUND_TRIP`] at a time (one round trip of latency for each 512
//! keys, not one pipeline).
//!
//! Any server that speaks the Redis protocol with Lua scripting and `SET … NX PX`
//! works (Redis 2.6.12 and later, Valkey).

mod store;

pub use store::{DEFAULT_PREFIX, MAX_KEYS_PER_ROUND_TRIP, RedisStore, RedisStoreBuilder};

pub use hookgate_core::dedup::StoreError;
