//! [`RedisStore`] and its builder.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use hookgate_core::client::BoxFuture;
use hookgate_core::dedup::{Claim, ClaimToken, DedupKey, DedupStore, StoreError};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, ErrorKind, Pipeline, RedisFuture, RedisResult, Script, Value};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "hookgate:dedup:";

/// Claim: one atomic step that either claims the key or says what holds it.
/// Returns 0 (claimed: New), 1 (held by a live claim: InFlight) or 2 (Done).
const CLAIM_LUA: &str = r"-- hookgate claim: KEYS[1] key, ARGV[1] token, ARGV[2] lease (ms)
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 0
end
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  -- Our own claim: a retry of a claim whose answer was lost.
  return 0
end
if current == 'done' then
  return 2
end
return 1
";

/// Complete: remember the key as done while `token` holds its claim, or when the
/// claim's lease ran out and nobody claimed the key since (the event was handled
/// all the same). Returns 1 when completed, 0 when another claim holds the key.
const COMPLETE_LUA: &str = r"-- hookgate complete: KEYS[1] key, ARGV[1] token, ARGV[2] remember (ms)
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] or current == false then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
return 0
";

/// Release: compare-and-delete, only while `token` holds the claim.
/// Returns 1 when released, 0 when the token did not hold the claim.
const RELEASE_LUA: &str = r"-- hookgate release: KEYS[1] key, ARGV[1] token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(CLAIM_LUA));
static COMPLETE: LazyLock<Script> = LazyLock::new(|| Script::new(COMPLETE_LUA));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE_LUA));

/// The most script calls one round trip carries: a batch of more keys is sent in
/// round trips of this many, one after the other (a pipeline each on one server,
/// as many concurrent calls at most on a cluster), within one operation timeout.
/// A 5,000-event claim (the largest batch hookgate accepts) is 10 round trips of at
/// most 90 KB of commands each, rather than one pipeline of 880 KB or, on a cluster,
/// 5,000 calls at once.
pub const MAX_KEYS_PER_ROUND_TRIP: usize = 512;

/// The longest `PX` sent (about 139 years): Redis rejects an expiry that overflows.
const MAX_PX: u64 = 1 << 42;

/// A [`DedupStore`] on Redis: several replicas of a receiver share one
/// deduplication state. See the [crate docs](crate) for how it works.
///
/// Cheap to clone (one shared connection).
#[derive(Clone)]
pub struct RedisStore(Arc<Inner>);

struct Inner {
    conn: Conn,
    prefix: String,
    operation_timeout: Duration,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No URL: it may carry a password.
        f.debug_struct("RedisStore")
            .field("mode", &self.0.conn.mode())
            .field("prefix", &self.0.prefix)
            .field("operation_timeout", &self.0.operation_timeout)
            .finish()
    }
}

/// The connection: one server through a `ConnectionManager`, or a cluster.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Conn {
    fn mode(&self) -> &'static str {
        match self {
            Conn::Single(_) => "single",
            #[cfg(feature = "cluster")]
            Conn::Cluster(_) => "cluster",
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            #[cfg(feature = "cluster")]
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "cluster")]
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            #[cfg(feature = "cluster")]
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// Where the builder connects to.
#[derive(Clone)]
enum Target {
    Single(String),
    #[cfg(feature = "cluster")]
    Cluster(Vec<String>),
}

/// Builder of a [`RedisStore`]: from [`RedisStore::builder`] (or
/// `RedisStore::cluster_builder` with the `cluster` feature).
#[must_use]
#[derive(Clone)]
pub struct RedisStoreBuilder {
    target: Target,
    prefix: String,
    connection_timeout: Duration,
    response_timeout: Duration,
    reconnect_retries: usize,
    operation_timeout: Duration,
    /// A private CA's certificates (PEM) that `rediss://` servers are checked
    /// against, instead of the system's and the Mozilla roots.
    #[cfg(feature = "tls")]
    ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match &self.target {
            Target::Single(_) => "single",
            #[cfg(feature = "cluster")]
            Target::Cluster(_) => "cluster",
        };
        // No URL: it may carry a password.
        f.debug_struct("RedisStoreBuilder")
            .field("mode", &mode)
            .field("prefix", &self.prefix)
            .field("connection_timeout", &self.connection_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("reconnect_retries", &self.reconnect_retries)
            .field("operation_timeout", &self.operation_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStoreBuilder {
    fn new(target: Target) -> Self {
        Self {
            target,
            prefix: DEFAULT_PREFIX.to_owned(),
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(2),
            reconnect_retries: 2,
            operation_timeout: Duration::from_secs(3),
            #[cfg(feature = "tls")]
            ca_pem: None,
        }
    }

    /// Checks a `rediss://` server's certificate against this private CA (its
    /// certificates in PEM) instead of the system's and the Mozilla roots: for a
    /// Redis with a certificate of your own CA. Feature `tls`. Not for a Redis
    /// Cluster (its nodes are checked against the public roots).
    #[cfg(feature = "tls")]
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// The prefix of every key (default `"hookgate:dedup:"`); a key is the prefix
    /// followed by [`DedupKey::to_hex`]. Give receivers that must not see each
    /// other's events different prefixes.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one attempt to connect may take (default 1 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// How long Redis may take to answer a command (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How many times a lost connection is retried, with a growing delay
    /// (100 ms, 200 ms, … at most 1 s), before the waiting calls fail (default 2).
    /// The next call starts a new reconnection.
    pub fn reconnect_retries(mut self, retries: usize) -> Self {
        self.reconnect_retries = retries;
        self
    }

    /// The most one store call (a claim, a completion or a release, of one event
    /// or a batch) may take, reconnecting included (default 3 s); then it fails
    /// with a [`StoreError`]. Also bounds [`connect`](Self::connect).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Connects, and loads the scripts (on a single server).
    ///
    /// Must be called within a tokio runtime (with time enabled); the store is
    /// bound to that runtime's reactor.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid URL, a zero timeout, or a server that cannot
    /// be reached within the operation timeout.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        if self.connection_timeout.is_zero()
            || self.response_timeout.is_zero()
            || self.operation_timeout.is_zero()
        {
            return Err(StoreError("redis: a timeout must not be zero".into()));
        }
        let operation_timeout = self.operation_timeout;
        let prefix = self.prefix.clone();
        let conn = with_timeout("connect", operation_timeout, self.open()).await?;
        Ok(RedisStore(Arc::new(Inner {
            conn,
            prefix,
            operation_timeout,
        })))
    }

    async fn open(self) -> RedisResult<Conn> {
        match self.target {
            Target::Single(url) => {
                #[cfg(feature = "tls")]
                let client = match self.ca_pem {
                    Some(root_cert) => redis::Client::build_with_tls(
                        url.as_str(),
                        redis::TlsCertificates {
                            client_tls: None,
                            root_cert: Some(root_cert),
                        },
                    )?,
                    None => redis::Client::open(url.as_str())?,
                };
                #[cfg(not(feature = "tls"))]
                let client = redis::Client::open(url.as_str())?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.connection_timeout))
                    .set_response_timeout(Some(self.response_timeout))
                    .set_number_of_retries(self.reconnect_retries)
                    .set_min_delay(Duration::from_millis(100))
                    .set_max_delay(Duration::from_secs(1));
                let mut conn = ConnectionManager::new_with_config(client, config).await?;
                // Load the three scripts in one round trip, so that the first
                // deliveries need no NOSCRIPT fallback (after a server restart they
                // are loaded again on demand).
                let mut pipe = redis::pipe();
                for code in [CLAIM_LUA, COMPLETE_LUA, RELEASE_LUA] {
                    pipe.cmd("SCRIPT").arg("LOAD").arg(code);
                }
                pipe.exec_async(&mut conn).await?;
                Ok(Conn::Single(conn))
            }
            #[cfg(feature = "cluster")]
            Target::Cluster(nodes) => {
                let client = redis::cluster::ClusterClient::builder(nodes)
                    .connection_timeout(self.connection_timeout)
                    .response_timeout(self.response_timeout)
                    .retries(u32::try_from(self.reconnect_retries).unwrap_or(u32::MAX))
                    .build()?;
                let conn = client.get_async_connection().await?;
                Ok(Conn::Cluster(conn))
            }
        }
    }
}

impl RedisStore {
    /// Connects to the Redis server at `url` (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` with the `tls` feature) with the default settings; see
    /// [`RedisStore::builder`] for the others.
    ///
    /// # Errors
    /// [`StoreError`] for an invalid URL or a server that cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// A builder for the server at `url`: key prefix, timeouts, reconnection.
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(Target::Single(url.into()))
    }

    /// A builder for a Redis Cluster reached through `nodes` (URLs of some of its
    /// nodes; the others are discovered). Available with the `cluster` feature.
    ///
    /// Each script touches one key, so it runs on that key's node. A batch is sent
    /// as concurrent calls (its keys live in different slots) instead of one
    /// pipeline. The cluster client reconnects and follows slot moves by itself;
    /// [`reconnect_retries`](RedisStoreBuilder::reconnect_retries) sets its retries.
    #[cfg(feature = "cluster")]
    pub fn cluster_builder<I, S>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisStoreBuilder::new(Target::Cluster(nodes.into_iter().map(Into::into).collect()))
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.0.prefix
    }

    /// The Redis key of `key`: the prefix followed by 32 hex digits.
    #[must_use]
    pub fn key_name(&self, key: DedupKey) -> String {
        let mut name = String::with_capacity(self.0.prefix.len() + 32);
        name.push_str(&self.0.prefix);
        push_hex(&mut name, key.as_u128());
        name
    }

    async fn claim_many(
        &self,
        keys: Vec<DedupKey>,
        lease: Duration,
    ) -> Result<Vec<Claim>, StoreError> {
        let lease = px(lease);
        let tokens: Vec<ClaimToken> = keys.iter().map(|_| ClaimToken::generate()).collect();
        let calls: Vec<Call> = keys
            .iter()
            .zip(&tokens)
            .map(|(key, token)| Call {
                key: self.key_name(*key),
                token: token_hex(*token),
                millis: Some(lease),
            })
            .collect();
        let codes = match self.run("claim", &CLAIM, calls).await {
            Ok(codes) => codes,
            Err(error) => {
                // The claims may still land (a paused Redis runs them on resuming,
                // and would then hold the events for the whole lease): take them
                // back, compare-and-delete, once Redis answers again.
                self.release_orphans(keys.into_iter().zip(tokens).collect(), lease);
                return Err(error);
            }
        };
        tokens
            .into_iter()
            .zip(codes)
            .map(|(token, code)| match code {
                0 => Ok(Claim::New(token)),
                1 => Ok(Claim::InFlight),
                2 => Ok(Claim::Done),
                other => Err(StoreError(format!(
                    "redis claim: unexpected answer {other}"
                ))),
            })
            .collect()
    }

    /// After a claim that failed without an answer (a timeout, a lost
    /// connection): releases its tokens in the background, compare-and-delete, so
    /// that a claim Redis carries out late holds nothing. The release is queued on
    /// the same connection, behind the claim; it is sent again (each attempt within
    /// the operation timeout, a growing pause between them, up to 5 s) until Redis
    /// answers, for as long as the claims' lease would hold them (`lease_ms`), and
    /// then given up: by then the claims have expired. Clock-free: nothing compares
    /// this host's time with Redis's. Without a tokio runtime nothing is sent, and
    /// the claims end with their lease, as before.
    fn release_orphans(&self, claims: Vec<(DedupKey, ClaimToken)>, lease_ms: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let this = self.clone();
        runtime.spawn(async move {
            let started = tokio::time::Instant::now();
            let lease = Duration::from_millis(lease_ms);
            let mut pause = Duration::from_millis(100);
            loop {
                match this
                    .finish_many("release", &RELEASE, claims.clone(), None)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(
                            target: "hookgate::dedup", events = claims.len(),
                            "released the claims of a claim that had failed without an answer"
                        );
                        return;
                    }
                    Err(error) if started.elapsed() + pause < lease => {
                        tracing::debug!(target: "hookgate::dedup", %error, "redis still not answering; releasing later");
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    Err(error) => {
                        tracing::warn!(
                            target: "hookgate::dedup", events = claims.len(), %error,
                            "gave up releasing the claims of a failed claim; they end with their lease"
                        );
                        return;
                    }
                }
            }
        });
    }

    async fn finish_many(
        &self,
        what: &'static str,
        script: &'static Script,
        claims: Vec<(DedupKey, ClaimToken)>,
        millis: Option<u64>,
    ) -> Result<(), StoreError> {
        let calls = claims
            .into_iter()
            .map(|(key, token)| Call {
                key: self.key_name(key),
                token: token_hex(token),
                millis,
            })
            .collect();
        self.run(what, script, calls).await.map(drop)
    }

    /// Checks that the server answers (`PING`), within the operation timeout.
    async fn ping_server(&self) -> Result<(), StoreError> {
        let mut conn = self.0.conn.clone();
        with_timeout("ping", self.0.operation_timeout, async move {
            redis::cmd("PING").query_async::<()>(&mut conn).await
        })
        .await
    }

    /// Runs `script` once per call, in round trips of at most
    /// [`MAX_KEYS_PER_ROUND_TRIP`] calls, all within the operation timeout.
    async fn run(
        &self,
        what: &'static str,
        script: &'static Script,
        calls: Vec<Call>,
    ) -> Result<Vec<i64>, StoreError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let count = calls.len();
        let mut conn = self.0.conn.clone();
        let codes = with_timeout(what, self.0.operation_timeout, async {
            let mut codes = Vec::with_capacity(count);
            for chunk in calls.chunks(MAX_KEYS_PER_ROUND_TRIP) {
                codes.extend(eval(&mut conn, script, chunk).await?);
            }
            Ok(codes)
        })
        .await?;
        if codes.len() != count {
            return Err(StoreError(format!(
                "redis {what}: {} answers to {count} calls",
                codes.len()
            )));
        }
        Ok(codes)
    }
}

/// One script call: its key and arguments.
struct Call {
    key: String,
    token: String,
    millis: Option<u64>,
}

impl Call {
    /// The call as one `EVALSHA` command (what an invocation's command would be,
    /// without its copies of the key and arguments).
    fn command(&self, script: &Script) -> redis::Cmd {
        // Room for every argument at once: no regrowth while they are written.
        let bytes = "EVALSHA".len() + script.get_hash().len() + 1 + self.key.len() + 32 + 20;
        let mut cmd = redis::Cmd::with_capacity(6, bytes);
        cmd.arg("EVALSHA")
            .arg(script.get_hash())
            .arg(1)
            .arg(&self.key)
            .arg(&self.token);
        if let Some(millis) = self.millis {
            cmd.arg(millis);
        }
        cmd
    }

    fn invocation<'a>(&self, script: &'a Script) -> redis::ScriptInvocation<'a> {
        let mut invocation = script.key(&self.key);
        invocation.arg(&self.token);
        if let Some(millis) = self.millis {
            invocation.arg(millis);
        }
        invocation
    }
}

/// Runs the calls, loading the script on `NOSCRIPT` (a restarted or flushed
/// server) and retrying once when the connection was lost or refused (the
/// connection manager reconnects meanwhile).
async fn eval(conn: &mut Conn, script: &Script, calls: &[Call]) -> RedisResult<Vec<i64>> {
    let mut loaded = false;
    let mut retried = false;
    loop {
        match eval_once(conn, script, calls).await {
            Err(e)
                if e.kind() == ErrorKind::Server(redis::ServerErrorKind::NoScript) && !loaded =>
            {
                loaded = true;
                script.load_async(conn).await?;
            }
            Err(e) if e.is_connection_dropped() && !retried => retried = true,
            result => return result,
        }
    }
}

/// One round trip: a pipeline of EVALSHA calls (one call is a pipeline of one).
async fn eval_once(conn: &mut Conn, script: &Script, calls: &[Call]) -> RedisResult<Vec<i64>> {
    #[cfg(feature = "cluster")]
    if let Conn::Cluster(cluster) = conn
        && calls.len() > 1
    {
        // The keys of a batch live in different slots, which a cluster pipeline
        // cannot span: send the calls concurrently instead.
        let calls = calls.iter().map(|call| {
            let mut cluster = cluster.clone();
            let invocation = call.invocation(script);
            async move {
                let mut pipe = redis::pipe();
                pipe.invoke_script(&invocation);
                let mut codes: Vec<i64> = pipe.query_async(&mut cluster).await?;
                codes
                    .pop()
                    .ok_or_else(|| redis::RedisError::from((ErrorKind::Parse, "no answer")))
            }
        });
        return futures_util::future::try_join_all(calls).await;
    }
    if let [call] = calls {
        // One call (most deliveries): the command alone, no pipeline around it.
        let code: i64 = call.command(script).query_async(conn).await?;
        return Ok(vec![code]);
    }
    pipeline(script, calls).query_async(conn).await
}

/// The pipeline of `calls` (at most [`MAX_KEYS_PER_ROUND_TRIP`] of them).
fn pipeline(script: &Script, calls: &[Call]) -> Pipeline {
    let mut pipe = redis::pipe();
    for call in calls {
        pipe.invoke_script(&call.invocation(script));
    }
    pipe
}

async fn with_timeout<T>(
    what: &'static str,
    timeout: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(StoreError(format!("redis {what}: {error}"))),
        Err(_) => Err(StoreError(format!(
            "redis {what}: no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// A token as Redis stores it: 32 lowercase hex digits.
fn token_hex(token: ClaimToken) -> String {
    let mut hex = String::with_capacity(32);
    push_hex(&mut hex, token.as_u128());
    hex
}

/// Appends `value` as 32 lowercase hex digits, as `{:032x}` would (without the
/// formatting machinery, which cost several times as much here).
fn push_hex(out: &mut String, value: u128) {
    let mut digits = [0u8; 32];
    // 16 bytes make 32 digits: the slice's length is right, the call cannot fail.
    if hex::encode_to_slice(value.to_be_bytes(), &mut digits).is_ok() {
        out.push_str(std::str::from_utf8(&digits).unwrap_or_default());
    }
}

fn px(d: Duration) -> u64 {
    u64::try_from(d.as_millis())
        .unwrap_or(MAX_PX)
        .clamp(1, MAX_PX)
}

impl DedupStore for RedisStore {
    fn claim(&self, key: DedupKey, lease: Duration) -> BoxFuture<Result<Claim, StoreError>> {
        let this = self.clone();
        Box::pin(async move {
            let mut claims = this.claim_many(vec![key], lease).await?;
            claims
                .pop()
                .ok_or_else(|| StoreError("redis claim: no answer".into()))
        })
    }

    fn complete(
        &self,
        key: DedupKey,
        token: ClaimToken,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>> {
        self.complete_all(vec![(key, token)], remember)
    }

    fn release(&self, key: DedupKey, token: ClaimToken) -> BoxFuture<Result<(), StoreError>> {
        self.release_all(vec![(key, token)])
    }

    /// One round trip for each [`MAX_KEYS_PER_ROUND_TRIP`] keys (a pipeline;
    /// concurrent calls on a cluster).
    fn claim_all(
        &self,
        keys: Vec<DedupKey>,
        lease: Duration,
    ) -> BoxFuture<Result<Vec<Claim>, StoreError>> {
        let this = self.clone();
        Box::pin(async move { this.claim_many(keys, lease).await })
    }

    /// One round trip for each [`MAX_KEYS_PER_ROUND_TRIP`] claims.
    fn complete_all(
        &self,
        claims: Vec<(DedupKey, ClaimToken)>,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>> {
        let this = self.clone();
        Box::pin(async move {
            this.finish_many("complete", &COMPLETE, claims, Some(px(remember)))
                .await
        })
    }

    /// One round trip for each [`MAX_KEYS_PER_ROUND_TRIP`] claims.
    fn release_all(
        &self,
        claims: Vec<(DedupKey, ClaimToken)>,
    ) -> BoxFuture<Result<(), StoreError>> {
        let this = self.clone();
        Box::pin(async move { this.finish_many("release", &RELEASE, claims, None).await })
    }

    /// `PING`: changes nothing, within the operation timeout.
    fn ping(&self) -> BoxFuture<Result<(), StoreError>> {
        let this = self.clone();
        Box::pin(async move { this.ping_server().await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of a completed key (in the scripts). Tokens are 32 hex digits,
    /// so they never equal it.
    const DONE: &str = "done";

    #[test]
    fn tokens_are_32_hex_digits_and_never_done() {
        let hex = token_hex(ClaimToken::from_u128(0xab));
        assert_eq!(hex.len(), 32);
        assert_eq!(hex, "000000000000000000000000000000ab");
        assert_ne!(token_hex(ClaimToken::generate()), DONE);
    }

    #[test]
    fn hex_digits_are_those_of_the_formatter() {
        for value in [
            0,
            1,
            0xab,
            u128::MAX,
            u128::MAX / 3,
            1 << 127,
            0x0123_4567_89ab_cdef,
        ] {
            let mut hex = String::new();
            push_hex(&mut hex, value);
            assert_eq!(hex, format!("{value:032x}"));
        }
        let key = DedupKey::new("/s", "1");
        let mut name = String::from("p:");
        push_hex(&mut name, key.as_u128());
        assert_eq!(name, format!("p:{}", key.to_hex()));
    }

    #[test]
    fn durations_are_clamped_to_what_redis_accepts() {
        assert_eq!(px(Duration::ZERO), 1);
        assert_eq!(px(Duration::from_millis(1500)), 1500);
        assert_eq!(px(Duration::MAX), MAX_PX);
    }

    /// The calls of a 5,000-event batch claim, as `claim_many` makes them.
    fn batch_calls(n: usize) -> Vec<Call> {
        (0..n)
            .map(|i| Call {
                key: format!("{DEFAULT_PREFIX}{:032x}", i),
                token: token_hex(ClaimToken::generate()),
                millis: Some(300_000),
            })
            .collect()
    }

    #[test]
    fn a_batch_is_sent_in_round_trips_of_at_most_512_calls() {
        let calls = batch_calls(5_000);
        let chunks: Vec<_> = calls.chunks(MAX_KEYS_PER_ROUND_TRIP).collect();
        assert_eq!(chunks.len(), 10);
        assert!(chunks.iter().all(|c| c.len() <= 512));
        let whole = pipeline(&CLAIM, &calls).get_packed_pipeline().len();
        let largest = chunks
            .iter()
            .map(|c| pipeline(&CLAIM, c).get_packed_pipeline().len())
            .max()
            .unwrap();
        eprintln!(
            "5,000 claims: one pipeline {whole} bytes; largest of 10 round trips {largest} bytes"
        );
        assert!(largest * 9 < whole, "{largest} vs {whole}");
        assert!(largest < 128 * 1024, "{largest}");
    }

    #[test]
    fn scripts_compare_with_the_done_marker() {
        assert!(CLAIM_LUA.contains(&format!("'{DONE}'")));
        assert!(COMPLETE_LUA.contains(&format!("'{DONE}'")));
    }
}
