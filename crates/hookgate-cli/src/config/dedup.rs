//! Deduplication by (source, id): in memory or on Redis, the lease of a claim and
//! how long a handled event is remembered.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::value::{Scalar, no_password_in_argv, parse_duration, redact_url, text};
use super::{ConfigProblem, Describe, Env, secret_file};

/// The environment variable a Redis URL with a password may come from.
const REDIS_ENV: &str = "HOOKGATE_REDIS";

/// The dedup flags.
#[derive(clap::Args, Debug, Default, Clone)]
#[group(skip)]
pub(crate) struct Args {
    /// Deduplicate on this Redis server (`redis://...`) instead of in memory. A URL
    /// with a password is refused here (`ps` shows it): set HOOKGATE_REDIS or use
    /// --redis-url-file.
    #[arg(long, env = "HOOKGATE_REDIS", value_name = "URL")]
    pub(crate) redis: Option<String>,

    /// A file holding the Redis URL (its first line that is not empty or a `#`
    /// comment), read by the secret-file rule; instead of --redis.
    #[arg(long, env = "HOOKGATE_REDIS_URL_FILE", value_name = "FILE")]
    pub(crate) redis_url_file: Option<PathBuf>,

    /// A private CA's certificates (PEM) that a `rediss://` server is checked
    /// against, instead of the system's and the Mozilla roots.
    #[arg(long, env = "HOOKGATE_REDIS_CA", value_name = "FILE")]
    pub(crate) redis_ca: Option<PathBuf>,

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
    redis_url_file: Option<PathBuf>,
    redis_ca: Option<PathBuf>,
    lease: Option<Scalar>,
    remember: Option<Scalar>,
}

impl File {
    /// A file the configuration file names is relative to it (`dir`).
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        for named in [&mut self.redis_url_file, &mut self.redis_ca]
            .into_iter()
            .flatten()
        {
            if named.is_relative() {
                *named = dir.join(&*named);
            }
        }
    }
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

/// A private CA for `rediss://`: its file and its PEM, read and checked at the
/// start (`Debug` shows the file).
#[derive(Clone)]
pub(crate) struct RedisCa {
    pub(crate) path: PathBuf,
    pub(crate) pem: Vec<u8>,
}

impl fmt::Debug for RedisCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisCa({})", self.path.display())
    }
}

/// The CA file of setting `key`, read and checked (a PEM certificate in it).
pub(crate) fn read_ca(key: &'static str, path: PathBuf) -> Result<RedisCa, ConfigProblem> {
    let pem = std::fs::read(&path)
        .map_err(|e| ConfigProblem::new(key, format!("cannot read {}: {e}", path.display())))?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(ConfigProblem::new(
            key,
            format!("{} holds no PEM certificate", path.display()),
        ));
    }
    Ok(RedisCa { path, pem })
}

/// The dedup settings, checked.
#[derive(Clone, Debug)]
pub(crate) struct DedupSettings {
    pub(crate) redis: Option<RedisUrl>,
    pub(crate) redis_ca: Option<RedisCa>,
    pub(crate) lease: Duration,
    pub(crate) remember: Duration,
}

/// `env` tells a URL given on the command line from one in `HOOKGATE_REDIS`;
/// `warnings` gets what the secret-file rule warns about.
pub(crate) fn resolve(
    args: Args,
    file: File,
    env: Env<'_>,
    warnings: &mut Vec<String>,
) -> Result<DedupSettings, ConfigProblem> {
    no_password_in_argv(
        "redis",
        args.redis.as_ref(),
        REDIS_ENV,
        env,
        " or use --redis-url-file",
    )?;
    let from_file = match args.redis_url_file.or(file.redis_url_file) {
        Some(path) => {
            let read =
                secret_file::read(&path).map_err(|e| ConfigProblem::new("redis_url_file", e))?;
            warnings.extend(read.warning.clone());
            let line = read.entries().next().map(str::to_owned);
            Some(line.ok_or_else(|| {
                ConfigProblem::new("redis_url_file", format!("{} holds no URL", path.display()))
            })?)
        }
        None => None,
    };
    let redis = match (args.redis.or(file.redis), from_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigProblem::new(
                "redis_url_file",
                "give either redis or redis_url_file, not both",
            ));
        }
        (url, from_file) => url.or(from_file).map(RedisUrl),
    };
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
    let redis_ca = match args.redis_ca.or(file.redis_ca) {
        None => None,
        Some(path) => {
            if !redis
                .as_ref()
                .is_some_and(|url| url.0.starts_with("rediss://"))
            {
                return Err(ConfigProblem::new(
                    "redis_ca",
                    "a CA for Redis needs a rediss:// URL (redis or redis_url_file)",
                ));
            }
            Some(read_ca("redis_ca", path)?)
        }
    };
    Ok(DedupSettings {
        redis,
        redis_ca,
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
# redis_url_file = "/run/secrets/redis-url"   # the URL (with a password) in a file instead
# redis_ca = "/etc/hookgate/redis-ca.pem"     # a private CA for a rediss:// server
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

    #[test]
    fn a_redis_ca_needs_rediss_and_a_pem_certificate() {
        let dir = std::env::temp_dir().join(format!("hookgate-redis-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pem = dir.join("ca.pem");
        std::fs::write(
            &pem,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let junk = dir.join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let no_env = |_: &str| None;
        let with = |url: &str, ca: &Path| Args {
            redis: Some(url.to_owned()),
            redis_ca: Some(ca.to_owned()),
            ..Args::default()
        };
        let resolve = |args| resolve(args, File::default(), &no_env, &mut Vec::new());
        let ok = resolve(with("rediss://127.0.0.1:6380", &pem)).unwrap();
        assert_eq!(ok.redis_ca.unwrap().path, pem);
        let plain = resolve(with("redis://127.0.0.1:6379", &pem)).unwrap_err();
        assert!(plain.to_string().contains("rediss://"), "{plain}");
        let junk = resolve(with("rediss://127.0.0.1:6380", &junk)).unwrap_err();
        assert!(junk.to_string().contains("no PEM certificate"), "{junk}");
        let missing = resolve(with("rediss://127.0.0.1:6380", &dir.join("none.pem"))).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
