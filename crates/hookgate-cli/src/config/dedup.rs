//! Deduplication by (source, id): in memory or on Redis, the lease of a claim and
//! how long a handled event is remembered.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::value::{Scalar, parse_duration, redact_url, text};
use super::{ConfigProblem, Describe};

/// The dedup flags.
#[derive(clap::Args, Debug, Default, Clone)]
#[group(skip)]
pub(crate) struct Args {
    /// Deduplicate on this Redis server (`redis://...`) instead of in memory.
    #[arg(
        long,
        env = "HOOKGATE_REDIS",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) redis: Option<String>,

    /// How long a delivery being handled holds its events' claims; with --exec or
    /// --forward, longer than its timeout plus --shutdown-grace (or the start is
    /// refused) [default: 5m].
    #[arg(long, env = "HOOKGATE_LEASE", value_name = "DURATION")]
    pub(crate) lease: Option<String>,

    /// How long a handled event is remembered as a duplicate [default: 24h].
    #[arg(long, env = "HOOKGATE_REMEMBER", value_name = "DURATION")]
    pub(crate) remember: Option<String>,
}

/// The dedup keys in the file.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct File {
    redis: Option<String>,
    lease: Option<Scalar>,
    remember: Option<Scalar>,
}

/// A Redis URL: its userinfo (password) and query are kept out of `Debug` and
/// `Display`.
#[derive(Clone)]
pub(crate) struct RedisUrl(pub(crate) String);

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match reqwest::Url::parse(&self.0) {
            Ok(url) => f.write_str(&redact_url(&url)),
            Err(_) => f.write_str("(a Redis URL)"),
        }
    }
}

/// The dedup settings, checked.
#[derive(Clone, Debug)]
pub(crate) struct DedupSettings {
    pub(crate) redis: Option<RedisUrl>,
    pub(crate) lease: Duration,
    pub(crate) remember: Duration,
}

pub(crate) fn resolve(args: Args, file: File) -> Result<DedupSettings, ConfigProblem> {
    let redis = args.redis.or(file.redis).map(RedisUrl);
    if let Some(url) = &redis
        && !(url.0.starts_with("redis://")
            || url.0.starts_with("rediss://")
            || url.0.starts_with("redis+unix://")
            || url.0.starts_with("unix://"))
    {
        return Err(ConfigProblem::new(
            "redis",
            "must be a redis:// or rediss:// URL",
        ));
    }
    let lease = parse_duration(
        "lease",
        text(args.lease, file.lease),
        Duration::from_secs(300),
    )?;
    let remember = parse_duration(
        "remember",
        text(args.remember, file.remember),
        Duration::from_secs(24 * 3600),
    )?;
    Ok(DedupSettings {
        redis,
        lease,
        remember,
    })
}

impl DedupSettings {
    pub(crate) fn describe(&self, line: Describe<'_>) {
        line(
            "dedup",
            format!(
                "{}, lease {:?}, remember {:?}",
                self.redis
                    .as_ref()
                    .map_or_else(|| "in memory".to_owned(), |url| format!("on Redis {url}")),
                self.lease,
                self.remember
            ),
        );
    }
}

/// The dedup part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# Deduplication by (source, id): in memory unless a Redis URL is given.
# redis = "redis://127.0.0.1:6379"
# lease = "5m"        # how long a delivery being handled holds its claims (longer
#                     # than exec_timeout or forward_timeout plus shutdown_grace)
# remember = "24h"    # how long a handled event is remembered
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls_hide_their_password() {
        let url = RedisUrl("redis://user:pa55@127.0.0.1:6379/0".into());
        assert!(!url.to_string().contains("pa55") && !url.to_string().contains("user"));
        assert!(!format!("{url:?}").contains("pa55"));
    }
}
