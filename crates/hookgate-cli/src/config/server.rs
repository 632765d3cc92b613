//! The server and its limits: where it listens, the events path, the admin address,
//! the body limit, how many deliveries at once, the `Retry-After` of a 503, the
//! shutdown grace, and what a connection may hold (`--header-timeout`,
//! `--idle-timeout`, `--request-timeout`, `--max-connections`).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::value::{Scalar, parse_addr, parse_count, parse_duration, parse_size, text};
use super::{ConfigProblem, Describe};

/// The server's flags.
#[derive(clap::Args, Debug, Default, Clone)]
#[group(skip)]
pub(crate) struct Args {
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HOOKGATE_BIND", value_name = "ADDR")]
    pub(crate) bind: Option<String>,

    /// The path events are POSTed to; may hold `{name}` segments (an axum route
    /// template, such as `/eventhandler/{event}` for Web PubSub) [default: /api/events].
    #[arg(long, env = "HOOKGATE_PATH", value_name = "PATH")]
    pub(crate) path: Option<String>,

    /// Serve `/livez`, `/readyz` (alias `/healthz`) and `/metrics` on this address
    /// instead of the listen address.
    #[arg(long, env = "HOOKGATE_ADMIN_BIND", value_name = "ADDR")]
    pub(crate) admin_bind: Option<String>,

    /// The largest request body, in bytes (`k`, `M` suffixes) [default: 1M].
    #[arg(long, env = "HOOKGATE_BODY_LIMIT", value_name = "BYTES")]
    pub(crate) body_limit: Option<String>,

    /// With `--exec` or `--forward`: how many deliveries are handled at once; more
    /// are answered 503 with `Retry-After` [default: 16]. The `stdout` sink has no
    /// such bound (a write takes microseconds).
    #[arg(long, env = "HOOKGATE_MAX_CONCURRENCY", value_name = "N")]
    pub(crate) max_concurrency: Option<String>,

    /// The `Retry-After` (seconds) of a 503 answer [default: 10].
    #[arg(long, env = "HOOKGATE_RETRY_AFTER", value_name = "SECONDS")]
    pub(crate) retry_after: Option<String>,

    /// After SIGTERM, SIGINT or SIGQUIT, how long deliveries in flight may take to finish
    /// [default: 10s].
    #[arg(long, env = "HOOKGATE_SHUTDOWN_GRACE", value_name = "DURATION")]
    pub(crate) shutdown_grace: Option<String>,

    /// How long a connection may take to send a request's head (request line and
    /// headers), counted from when it is ready for one: a new connection that sends
    /// nothing, or a kept-alive one between requests, is closed after it [default: 10s].
    #[arg(long, env = "HOOKGATE_HEADER_TIMEOUT", value_name = "DURATION")]
    pub(crate) header_timeout: Option<String>,

    /// How long a connection may go without a byte read or written while a request
    /// body or an answer is in transit (a client that stopped sending or reading)
    /// before it is closed [default: 60s].
    #[arg(long, env = "HOOKGATE_IDLE_TIMEOUT", value_name = "DURATION")]
    pub(crate) idle_timeout: Option<String>,

    /// The most a request may take in all, its body read and its delivery handled,
    /// before it is answered 408 (its claims released); longer than the sink's
    /// timeout [default: 60s].
    #[arg(long, env = "HOOKGATE_REQUEST_TIMEOUT", value_name = "DURATION")]
    pub(crate) request_timeout: Option<String>,

    /// The most connections open at once; more wait in the listen backlog. Checked
    /// against the open-files limit (RLIMIT_NOFILE) at start [default: 4096].
    #[arg(long, env = "HOOKGATE_MAX_CONNECTIONS", value_name = "N")]
    pub(crate) max_connections: Option<String>,
}

/// The server's keys in the file.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct File {
    pub(crate) bind: Option<String>,
    pub(crate) path: Option<String>,
    admin_bind: Option<String>,
    body_limit: Option<Scalar>,
    max_concurrency: Option<Scalar>,
    retry_after: Option<Scalar>,
    shutdown_grace: Option<Scalar>,
    header_timeout: Option<Scalar>,
    idle_timeout: Option<Scalar>,
    request_timeout: Option<Scalar>,
    max_connections: Option<Scalar>,
}

/// The server's settings, checked.
#[derive(Clone, Debug)]
pub(crate) struct ServerSettings {
    pub(crate) bind: SocketAddr,
    pub(crate) path: String,
    pub(crate) admin_bind: Option<SocketAddr>,
    pub(crate) body_limit: usize,
    pub(crate) max_concurrency: usize,
    pub(crate) retry_after: u32,
    pub(crate) shutdown_grace: Duration,
    pub(crate) connections: crate::listen::serve::Limits,
}

/// File descriptors kept besides the connections (listeners, Redis, children's pipes,
/// the log).
const SPARE_FILES: u64 = 64;

/// `warnings` gets the lowering of a default `max_connections` to the open-files limit.
pub(crate) fn resolve(
    args: Args,
    file: File,
    warnings: &mut Vec<String>,
) -> Result<ServerSettings, ConfigProblem> {
    let bind = parse_addr(
        "bind",
        args.bind
            .or(file.bind)
            .as_deref()
            .unwrap_or("127.0.0.1:8080"),
    )?;
    let admin_bind = args
        .admin_bind
        .or(file.admin_bind)
        .map(|a| parse_addr("admin_bind", &a))
        .transpose()?;
    let path = check_path(
        args.path
            .or(file.path)
            .unwrap_or_else(|| "/api/events".into()),
    )?;
    let body_limit = parse_size(
        "body_limit",
        text(args.body_limit, file.body_limit),
        1 << 20,
    )?;
    let max_concurrency = parse_count(
        "max_concurrency",
        text(args.max_concurrency, file.max_concurrency),
        16,
        1..=10_000,
    )?;
    let retry_after = parse_count(
        "retry_after",
        text(args.retry_after, file.retry_after),
        10,
        1..=3600,
    )?;
    let retry_after = u32::try_from(retry_after).unwrap_or(10);
    let shutdown_grace = parse_duration(
        "shutdown_grace",
        text(args.shutdown_grace, file.shutdown_grace),
        Duration::from_secs(10),
    )?;
    let header_timeout = parse_duration(
        "header_timeout",
        text(args.header_timeout, file.header_timeout),
        Duration::from_secs(10),
    )?;
    let idle_timeout = parse_duration(
        "idle_timeout",
        text(args.idle_timeout, file.idle_timeout),
        Duration::from_secs(60),
    )?;
    let request_timeout = parse_duration(
        "request_timeout",
        text(args.request_timeout, file.request_timeout),
        Duration::from_secs(60),
    )?;
    let given = text(args.max_connections, file.max_connections);
    let explicit = given.is_some();
    let mut max_connections = parse_count("max_connections", given, 4096, 1..=1_000_000)?;
    if let Some(open_files) = open_files_limit()
        && max_connections as u64 + SPARE_FILES > open_files
    {
        let fits = usize::try_from(open_files.saturating_sub(SPARE_FILES)).unwrap_or(0);
        if explicit || fits == 0 {
            return Err(ConfigProblem::new(
                "max_connections",
                format!(
                    "{max_connections} connections and {SPARE_FILES} other files exceed this \
                     process's open-files limit (RLIMIT_NOFILE, soft) of {open_files}: lower it \
                     or raise the limit (ulimit -n)"
                ),
            ));
        }
        warnings.push(format!(
            "max_connections lowered from its default 4096 to {fits}: the open-files limit \
             (RLIMIT_NOFILE, soft) is {open_files} (raise it with ulimit -n, or set \
             --max-connections)"
        ));
        max_connections = fits;
    }
    Ok(ServerSettings {
        bind,
        path,
        admin_bind,
        body_limit,
        max_concurrency,
        retry_after,
        shutdown_grace,
        connections: crate::listen::serve::Limits {
            header_timeout,
            idle_timeout,
            request_timeout,
            max_connections,
        },
    })
}

impl ServerSettings {
    pub(crate) fn describe(&self, line: Describe<'_>) {
        line("bind", self.bind.to_string());
        line(
            "admin",
            match self.admin_bind {
                Some(addr) => format!("GET /livez, /readyz, /healthz, /metrics on {addr}"),
                None => "GET /livez, /readyz, /healthz, /metrics on the listen address".into(),
            },
        );
        line(
            "limits",
            format!(
                "Retry-After {} s, shutdown grace {:?}",
                self.retry_after, self.shutdown_grace
            ),
        );
        let c = &self.connections;
        line(
            "connections",
            format!(
                "at most {}; a request's head within {:?}, no byte for {:?} closes, \
                 a request in all within {:?}",
                c.max_connections, c.header_timeout, c.idle_timeout, c.request_timeout
            ),
        );
    }
}

/// The soft open-files limit of this process (`/proc/self/limits`), when it can be
/// read (Linux) and is not unlimited.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub(crate) fn check_path(path: String) -> Result<String, ConfigProblem> {
    let bad = |why: &str| Err(ConfigProblem::new("path", format!("{path:?} {why}")));
    if !path.starts_with('/') {
        return bad("must start with /");
    }
    if path.len() > 1024
        || path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return bad("is not a URL path");
    }
    if ["/livez", "/readyz", "/healthz", "/metrics"].contains(&path.as_str()) {
        return bad("is taken by the admin endpoints");
    }
    // Each `{...}` must be one whole segment with a name (an axum route template).
    for segment in path.split('/') {
        let open = segment.matches('{').count();
        let close = segment.matches('}').count();
        if open != close || open > 1 {
            return bad("has an unbalanced `{` `}` (write `/{event}`)");
        }
        if open == 1 {
            let inner = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match inner {
                Some(name)
                    if !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {}
                _ => return bad("may hold `{name}` only as a whole segment"),
            }
        }
    }
    Ok(path)
}

/// The server's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# The address to listen on.
# bind = "127.0.0.1:8080"

# The path events are POSTed to; `{name}` segments allowed (Web PubSub:
# "/eventhandler/{event}").
# path = "/api/events"

# Serve GET /livez, /readyz (alias /healthz) and /metrics on another address
# (default: the listen address).
# admin_bind = "127.0.0.1:9090"

# The largest request body (bytes; k and M suffixes).
# body_limit = "1M"

# Deliveries handled at once by exec or forward (more are answered 503 with
# Retry-After; stdout has no such bound), the
# Retry-After of a 503 (seconds), and the shutdown grace period.
# max_concurrency = 16
# retry_after = 10
# shutdown_grace = "10s"

# What a connection may hold: the time to send a request's head (also the idle
# wait between kept-alive requests), the time without a byte while a body or an
# answer is in transit, the whole request (longer than the sink's timeout), and
# how many connections at once (more wait in the backlog).
# header_timeout = "10s"
# idle_timeout = "60s"
# request_timeout = "60s"
# max_connections = 4096
"#;
