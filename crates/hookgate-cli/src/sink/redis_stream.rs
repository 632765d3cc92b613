//! The `redis-stream` sink: each event `XADD`ed to a Redis stream, at most once.
//!
//! Per event, one Lua script, atomic on the server: when the event's marker
//! (`<key>:hookgate:<stable id>`, the [stable id](super::stable_id) of its
//! sender, source and id) is absent, it `XADD`s the entry (fields `event`, the
//! structured JSON, and `id`, `source`, `type`; `MAXLEN ~` when
//! `--redis-stream-maxlen` is given) and sets the marker to the entry's id for
//! `--remember`; when the marker is there, it adds nothing and answers the entry
//! it points to. So a sender's retry, or the same event accepted by two replicas,
//! is one entry. On a Redis Cluster the key needs a hash tag (`{events}`): the
//! marker then hashes to the stream's slot.
//!
//! A delivery is acknowledged once every event's script answered. A batch's events
//! go one after the other, each marked stored as its script answers; on the first
//! failure (Redis down, slow past `--redis-stream-timeout`, an error) the delivery
//! is answered 503, the claims of the events stored are completed and the others
//! released, and the retry adds only what is missing. The connection reconnects by
//! itself (redis-rs's `ConnectionManager`).

use std::time::Duration;

use hookgate::CloudEvent;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Handoff, Outcome, Sink, stable_id};
use crate::config::RedisStreamSettings;

/// `KEYS[1]` the event's marker, `KEYS[2]` the stream; `ARGV[1]` the marker's
/// lifetime in ms, `ARGV[2]` the `MAXLEN` (`0`: none), then the entry's fields and
/// values. Answers `{1, entry id}` when it added the entry, `{0, entry id}` when
/// the marker was there. The marker is read first and set last, so an `XADD` that
/// fails leaves no marker behind.
const ADD_LUA: &str = include_str!("redis_stream.lua");

/// Adds events to one Redis stream.
pub(crate) struct RedisStreamSink {
    conn: ConnectionManager,
    script: redis::Script,
    key: String,
    maxlen: usize,
    remember_ms: u64,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStreamSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamSink")
            .field("key", &self.key)
            .field("maxlen", &self.maxlen)
            .finish_non_exhaustive()
    }
}

impl RedisStreamSink {
    /// Connects (within the timeout), checks that the key is a stream or free, and
    /// loads the script. The error never shows the URL's password.
    pub(crate) async fn connect(
        settings: &RedisStreamSettings,
        remember: Duration,
    ) -> Result<Self, String> {
        let client = match &settings.ca {
            Some(ca) => redis::Client::build_with_tls(
                settings.url.0.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.pem.clone()),
                },
            ),
            None => redis::Client::open(settings.url.0.as_str()),
        }
        .map_err(|e| format!("the Redis stream's URL {}: {e}", settings.url))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(1));
        let script = redis::Script::new(ADD_LUA);
        let opened = async {
            let mut conn = ConnectionManager::new_with_config(client, config).await?;
            let kind: String = redis::cmd("TYPE")
                .arg(&settings.key)
                .query_async(&mut conn)
                .await?;
            script.prepare_invoke().load_async(&mut conn).await?;
            Ok::<_, redis::RedisError>((conn, kind))
        };
        let (conn, kind) = tokio::time::timeout(settings.timeout * 2, opened)
            .await
            .map_err(|_| {
                format!(
                    "the Redis stream at {} did not answer in time",
                    settings.url
                )
            })?
            .map_err(|e| format!("cannot use the Redis stream at {}: {e}", settings.url))?;
        if kind != "none" && kind != "stream" {
            return Err(format!(
                "the key {:?} on {} holds a {kind}, not a stream",
                settings.key, settings.url
            ));
        }
        Ok(Self {
            conn,
            script,
            key: settings.key.clone(),
            maxlen: settings.maxlen.unwrap_or(0),
            remember_ms: u64::try_from(remember.as_millis()).unwrap_or(u64::MAX),
            timeout: settings.timeout,
        })
    }

    /// Adds one event (or finds it added); the entry's id.
    async fn add(&self, sender: Option<&str>, event: &CloudEvent) -> Result<String, String> {
        let marker = format!("{}:hookgate:{}", self.key, stable_id(sender, event));
        let mut invocation = self.script.key(marker);
        invocation
            .key(&self.key)
            .arg(self.remember_ms)
            .arg(self.maxlen)
            .arg("event")
            .arg(event.to_json())
            .arg("id")
            .arg(event.id())
            .arg("source")
            .arg(event.source())
            .arg("type")
            .arg(event.ty());
        let mut conn = self.conn.clone();
        let answer = invocation.invoke_async::<(u8, String)>(&mut conn);
        match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok((_added, entry))) => Ok(entry),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }
}

#[async_trait::async_trait]
impl Sink for RedisStreamSink {
    fn name(&self) -> &'static str {
        "redis-stream"
    }

    async fn deliver(&self, handoff: &Handoff<'_>) -> Outcome {
        let total = handoff.events.len();
        for (index, event) in handoff.events.iter().enumerate() {
            match self.add(handoff.context.sender, event).await {
                Ok(_) => handoff.stored(index),
                Err(e) => {
                    return Outcome::Failed(format!(
                        "Redis stream {:?}: event {} of {total} (id {:?}): {e}",
                        self.key,
                        index + 1,
                        event.id()
                    ));
                }
            }
        }
        Outcome::Ack {
            status: 200,
            body: None,
            headers: http::HeaderMap::new(),
        }
    }
}
