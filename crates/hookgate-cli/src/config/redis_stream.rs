//! The `redis-stream` sink: each event `XADD`ed to a Redis stream, at most once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::dedup::{RedisCa, RedisUrl, read_ca};
use super::value::{Scalar, no_password_in_argv, parse_count, parse_duration, text};
use super::{ConfigProblem, Env};

/// The variable that may hold the stream's Redis URL (with its password).
const REDIS_STREAM_ENV: &str = "HOOKGATE_REDIS_STREAM";

/// The Redis Streams sink's flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// Add each event to a Redis stream at this URL (`redis://` or `rediss://`; a
    /// password only from HOOKGATE_REDIS_STREAM or the configuration file), with
    /// --redis-stream-key.
    #[arg(long, env = "HOOKGATE_REDIS_STREAM", value_name = "URL")]
    pub(crate) redis_stream: Option<String>,

    /// The stream's key (on a Redis Cluster, with a hash tag: `{events}`).
    #[arg(long, env = "HOOKGATE_REDIS_STREAM_KEY", value_name = "KEY")]
    pub(crate) redis_stream_key: Option<String>,

    /// Trim the stream to about this many entries (`XADD MAXLEN ~`) [default: no
    /// trimming].
    #[arg(long, env = "HOOKGATE_REDIS_STREAM_MAXLEN", value_name = "N")]
    pub(crate) redis_stream_maxlen: Option<String>,

    /// A PEM file with the CA that signed a `rediss://` stream server's
    /// certificate [default: the system's and the Mozilla roots].
    #[arg(long, env = "HOOKGATE_REDIS_STREAM_CA", value_name = "FILE")]
    pub(crate) redis_stream_ca: Option<PathBuf>,

    /// How long Redis may take to answer one event's `XADD` [default: 5s].
    #[arg(long, env = "HOOKGATE_REDIS_STREAM_TIMEOUT", value_name = "DURATION")]
    pub(crate) redis_stream_timeout: Option<String>,
}

/// The Redis Streams sink's keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    pub(crate) redis_stream: Option<String>,
    redis_stream_key: Option<String>,
    redis_stream_maxlen: Option<Scalar>,
    redis_stream_ca: Option<PathBuf>,
    redis_stream_timeout: Option<Scalar>,
}

impl File {
    /// Files the configuration file names are relative to it (`dir`).
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        if let Some(ca) = &mut self.redis_stream_ca
            && ca.is_relative()
        {
            *ca = dir.join(&*ca);
        }
    }
}

/// The Redis Streams sink's settings, checked.
#[derive(Clone, Debug)]
pub(crate) struct RedisStreamSettings {
    pub(crate) url: RedisUrl,
    pub(crate) key: String,
    pub(crate) maxlen: Option<usize>,
    pub(crate) ca: Option<RedisCa>,
    pub(crate) timeout: Duration,
}

impl PartialEq for RedisStreamSettings {
    fn eq(&self, other: &Self) -> bool {
        self.url.0 == other.url.0
            && self.key == other.key
            && self.maxlen == other.maxlen
            && self.timeout == other.timeout
    }
}

impl Eq for RedisStreamSettings {}

/// The sink when `redis_stream` is set.
pub(crate) fn resolve(
    args: Args,
    file: File,
    env: Env<'_>,
) -> Result<Option<RedisStreamSettings>, ConfigProblem> {
    no_password_in_argv(
        "redis_stream",
        args.redis_stream.as_ref(),
        REDIS_STREAM_ENV,
        env,
        " or the configuration file",
    )?;
    let timeout = parse_duration(
        "redis_stream_timeout",
        text(args.redis_stream_timeout, file.redis_stream_timeout),
        Duration::from_secs(5),
    )?;
    let maxlen = text(args.redis_stream_maxlen, file.redis_stream_maxlen)
        .map(|n| parse_count("redis_stream_maxlen", Some(n), 0, 1..=usize::MAX))
        .transpose()?;
    let key = args.redis_stream_key.or(file.redis_stream_key);
    let ca_file = args.redis_stream_ca.or(file.redis_stream_ca);
    let Some(url) = args.redis_stream.or(file.redis_stream) else {
        for (name, given) in [
            ("redis_stream_key", key.is_some()),
            ("redis_stream_ca", ca_file.is_some()),
        ] {
            if given {
                return Err(ConfigProblem::new(name, "needs redis_stream (the URL)"));
            }
        }
        return Ok(None);
    };
    if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
        return Err(ConfigProblem::new(
            "redis_stream",
            "must be a redis:// or rediss:// URL",
        ));
    }
    let key = match key {
        Some(key) if !key.trim().is_empty() && key.len() <= 512 => key,
        _ => {
            return Err(ConfigProblem::new(
                "redis_stream_key",
                "give the stream's key (up to 512 bytes) with redis_stream",
            ));
        }
    };
    let ca = match ca_file {
        Some(path) if url.starts_with("rediss://") => Some(read_ca("redis_stream_ca", path)?),
        Some(_) => {
            return Err(ConfigProblem::new(
                "redis_stream_ca",
                "a CA needs a rediss:// URL",
            ));
        }
        None => None,
    };
    Ok(Some(RedisStreamSettings {
        url: RedisUrl(url),
        key,
        maxlen,
        ca,
        timeout,
    }))
}

impl RedisStreamSettings {
    pub(crate) fn describe(&self) -> String {
        format!(
            "each event added to the Redis stream {:?} on {} (at most once: a marker per \
             event for the remember time){}, timeout {:?}",
            self.key,
            self.url,
            self.maxlen
                .map(|n| format!(", trimmed to about {n} entries"))
                .unwrap_or_default(),
            self.timeout
        )
    }
}

/// The Redis Streams sink's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# redis_stream = "redis://127.0.0.1:6379"   # a password: in HOOKGATE_REDIS_STREAM
# redis_stream_key = "events"
# redis_stream_maxlen = 1000000             # XADD MAXLEN ~ (default: no trimming)
# redis_stream_ca = "/etc/hookgate/redis-ca.pem"
# redis_stream_timeout = "5s"
"#;
