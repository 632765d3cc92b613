//! The configuration of `hookgate listen`: flags, environment and a TOML file.
//!
//! Every setting has a flag (`--body-limit`), an environment variable
//! (`HOOKGATE_BODY_LIMIT`) and a key in the TOML file (`body_limit`). A flag wins
//! over the environment, the environment over the file, the file over the default.
//! [`Settings::resolve`] checks everything at once and fails with one message that
//! names the setting ([`ConfigProblem`]).
//!
//! Secrets (shared secrets, Web PubSub keys, a Redis URL with a password) are never
//! taken from argv alone: `HOOKGATE_CODES` / `HOOKGATE_WEBPUBSUB_KEYS` (comma lists)
//! or a file named by `--code-file` / `--webpubsub-key-file` (one per line). They
//! are not shown by `--help`, and no log line or error message prints them.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::builder::BoolishValueParser;
use hookgate::handshake::Rate;
use serde::Deserialize;

/// The environment variable with the shared secrets (a comma list).
pub(crate) const CODES_ENV: &str = "HOOKGATE_CODES";
/// The environment variable with the Web PubSub access keys (a comma list).
pub(crate) const WEBPUBSUB_KEYS_ENV: &str = "HOOKGATE_WEBPUBSUB_KEYS";

/// A bad setting: the one message `hookgate` prints before it exits with
/// [`EXIT_CONFIG`](crate::EXIT_CONFIG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigProblem {
    /// The setting, as the TOML key (`bind`, `exec_timeout`, ...).
    pub(crate) key: &'static str,
    /// What is wrong with it (never the value of a secret).
    pub(crate) message: String,
}

impl ConfigProblem {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = self.key.replace('_', "-");
        let env = format!("HOOKGATE_{}", self.key.to_ascii_uppercase());
        write!(
            f,
            "invalid setting `{}` (--{flag}, {env}): {}",
            self.key, self.message
        )
    }
}

impl std::error::Error for ConfigProblem {}

/// The flags of `hookgate listen` (each also read from `HOOKGATE_<FLAG>`).
#[derive(clap::Args, Debug, Default, Clone)]
#[command(
    after_help = "Secrets: HOOKGATE_CODES and HOOKGATE_WEBPUBSUB_KEYS (comma lists), or --code-file \
                  and --webpubsub-key-file. Exit codes: 0 stopped, 1 runtime failure, 2 bad setting. \
                  More with --help.",
    after_long_help = LISTEN_AFTER_HELP
)]
pub(crate) struct ListenArgs {
    /// A TOML file with any of the settings below (keys as the flags, with `_`):
    /// see `hookgate config example`. Flags win over the environment, the
    /// environment over the file.
    #[arg(long, env = "HOOKGATE_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "HOOKGATE_BIND", value_name = "ADDR")]
    pub(crate) bind: Option<String>,

    /// The path events are POSTed to; may hold `{name}` segments (an axum route
    /// template, such as `/eventhandler/{event}` for Web PubSub) [default: /api/events].
    #[arg(long, env = "HOOKGATE_PATH", value_name = "PATH")]
    pub(crate) path: Option<String>,

    /// Serve `/healthz` and `/metrics` on this address instead of the listen address.
    #[arg(long, env = "HOOKGATE_ADMIN_BIND", value_name = "ADDR")]
    pub(crate) admin_bind: Option<String>,

    /// An origin granted in the validation handshake, besides the Azure Event Grid
    /// origins (repeatable or a comma list; `*` for any), such as a Web PubSub host
    /// `NAME.webpubsub.azure.com`.
    #[arg(
        long,
        env = "HOOKGATE_ALLOW_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    pub(crate) allow_origin: Vec<String>,

    /// The rate granted in the handshake: requests per minute, or `*` [default: *].
    #[arg(long, env = "HOOKGATE_RATE", value_name = "N|*")]
    pub(crate) rate: Option<String>,

    /// Grant the handshake by calling the sender's validation URL back (Event Grid's
    /// `validationUrl`, the CloudEvents `WebHook-Request-Callback`).
    #[arg(long, env = "HOOKGATE_CALLBACK", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub(crate) callback: Option<bool>,

    /// A file with the shared secrets accepted in `?code=`, `?access_token=` or
    /// `Authorization: Bearer`, one per line (or set HOOKGATE_CODES, a comma list).
    #[arg(long, env = "HOOKGATE_CODE_FILE", value_name = "FILE")]
    pub(crate) code_file: Option<PathBuf>,

    /// A file with the Web PubSub access keys, one per line (or set
    /// HOOKGATE_WEBPUBSUB_KEYS, a comma list).
    #[arg(long, env = "HOOKGATE_WEBPUBSUB_KEY_FILE", value_name = "FILE")]
    pub(crate) webpubsub_key_file: Option<PathBuf>,

    /// Azure AD bearer tokens from this authority: a tenant id, `organizations`,
    /// `common` or an authority URL.
    #[arg(long, env = "HOOKGATE_AAD_AUTHORITY", value_name = "AUTHORITY")]
    pub(crate) aad_authority: Option<String>,

    /// An audience Azure AD tokens must carry (repeatable or a comma list).
    #[arg(
        long,
        env = "HOOKGATE_AAD_AUDIENCE",
        value_name = "AUDIENCE",
        value_delimiter = ','
    )]
    pub(crate) aad_audience: Vec<String>,

    /// An app role Azure AD tokens must carry (repeatable or a comma list).
    #[arg(
        long,
        env = "HOOKGATE_AAD_ROLE",
        value_name = "ROLE",
        value_delimiter = ','
    )]
    pub(crate) aad_role: Vec<String>,

    /// Deduplicate on this Redis server (`redis://...`) instead of in memory.
    #[arg(
        long,
        env = "HOOKGATE_REDIS",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) redis: Option<String>,

    /// How long a delivery being handled holds its events' claims [default: 5m].
    #[arg(long, env = "HOOKGATE_LEASE", value_name = "DURATION")]
    pub(crate) lease: Option<String>,

    /// How long a handled event is remembered as a duplicate [default: 24h].
    #[arg(long, env = "HOOKGATE_REMEMBER", value_name = "DURATION")]
    pub(crate) remember: Option<String>,

    /// The largest request body, in bytes (`k`, `M` suffixes) [default: 1M].
    #[arg(long, env = "HOOKGATE_BODY_LIMIT", value_name = "BYTES")]
    pub(crate) body_limit: Option<String>,

    /// Run CMD (with `sh -c`) per delivery, the event JSON on its stdin; exit 0
    /// acknowledges. Without --exec or --forward, events are printed to stdout.
    #[arg(
        long,
        env = "HOOKGATE_EXEC",
        value_name = "CMD",
        conflicts_with = "forward"
    )]
    pub(crate) exec: Option<String>,

    /// With --exec or --forward: one process (or request) per event, each event's
    /// claim completed or released on its own; otherwise a batch goes as one.
    #[arg(long, env = "HOOKGATE_PER_EVENT", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub(crate) per_event: Option<bool>,

    /// How long CMD may run before it is killed and the delivery refused with 503
    /// [default: 20s].
    #[arg(long, env = "HOOKGATE_EXEC_TIMEOUT", value_name = "DURATION")]
    pub(crate) exec_timeout: Option<String>,

    /// POST each delivery to URL; its 2xx answer (body and content type) goes back.
    #[arg(long, env = "HOOKGATE_FORWARD", value_name = "URL")]
    pub(crate) forward: Option<String>,

    /// The content mode of forwarded events: `same`, `structured` or `binary`
    /// [default: same].
    #[arg(long, env = "HOOKGATE_FORWARD_MODE", value_name = "MODE")]
    pub(crate) forward_mode: Option<String>,

    /// How long a forwarded request may take [default: 20s].
    #[arg(long, env = "HOOKGATE_FORWARD_TIMEOUT", value_name = "DURATION")]
    pub(crate) forward_timeout: Option<String>,

    /// With `--exec` or `--forward`: how many deliveries are handled at once; more
    /// are answered 503 with `Retry-After` [default: 16]. The `stdout` sink has no
    /// such bound (a write takes microseconds).
    #[arg(long, env = "HOOKGATE_MAX_CONCURRENCY", value_name = "N")]
    pub(crate) max_concurrency: Option<String>,

    /// The `Retry-After` (seconds) of a 503 answer [default: 10].
    #[arg(long, env = "HOOKGATE_RETRY_AFTER", value_name = "SECONDS")]
    pub(crate) retry_after: Option<String>,

    /// After SIGTERM or SIGINT, how long deliveries in flight may take to finish
    /// [default: 10s].
    #[arg(long, env = "HOOKGATE_SHUTDOWN_GRACE", value_name = "DURATION")]
    pub(crate) shutdown_grace: Option<String>,

    /// Log lines as `text` or `json` (on stderr) [default: text].
    #[arg(long, env = "HOOKGATE_LOG_FORMAT", value_name = "FORMAT")]
    pub(crate) log_format: Option<String>,

    /// The least level logged: error, warn, info, debug, trace [default: info].
    #[arg(long, env = "HOOKGATE_LOG_LEVEL", value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

const LISTEN_AFTER_HELP: &str = "\
Secrets come from the environment or files only: HOOKGATE_CODES (comma list of shared
secrets) or --code-file, HOOKGATE_WEBPUBSUB_KEYS (comma list) or --webpubsub-key-file.
Without any authentication setting, every sender is accepted (a warning says so).

Durations: 500ms, 20s, 5m, 24h (a bare number is seconds).

Exit codes: 0 stopped cleanly (SIGTERM, SIGINT); 1 a runtime failure (the address
is taken, Redis cannot be reached); 2 a bad setting or command line.";

/// The TOML file: the same settings as the flags, keys with `_`. Unknown keys are
/// refused, so a misspelt key is not silently ignored.
#[derive(Deserialize, Debug, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSettings {
    bind: Option<String>,
    path: Option<String>,
    admin_bind: Option<String>,
    allow_origin: Option<Vec<String>>,
    rate: Option<Scalar>,
    callback: Option<bool>,
    code_file: Option<PathBuf>,
    webpubsub_key_file: Option<PathBuf>,
    aad_authority: Option<String>,
    aad_audience: Option<Vec<String>>,
    aad_role: Option<Vec<String>>,
    redis: Option<String>,
    lease: Option<Scalar>,
    remember: Option<Scalar>,
    body_limit: Option<Scalar>,
    exec: Option<String>,
    per_event: Option<bool>,
    exec_timeout: Option<Scalar>,
    forward: Option<String>,
    forward_mode: Option<String>,
    forward_timeout: Option<Scalar>,
    max_concurrency: Option<Scalar>,
    retry_after: Option<Scalar>,
    shutdown_grace: Option<Scalar>,
    log_format: Option<String>,
    log_level: Option<String>,
}

/// A number or a string in the file (`lease = 300` or `lease = "5m"`).
#[derive(Deserialize, Debug, Clone)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Self::Int(n) => n.to_string(),
            Self::Text(text) => text,
        }
    }
}

impl FileSettings {
    /// Reads and parses `path`; the error names the file and, for a bad key, the key.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
        let mut file: Self =
            toml::from_str(&text).map_err(|e| describe_toml_error(path, &text, &e))?;
        // Files the file names are relative to it, not to the working directory.
        if let Some(dir) = path.parent() {
            for named in [&mut file.code_file, &mut file.webpubsub_key_file]
                .into_iter()
                .flatten()
            {
                if named.is_relative() {
                    *named = dir.join(&*named);
                }
            }
        }
        Ok(file)
    }
}

/// The message of a bad file: the line and key, and the parser's message, never the
/// line's text (a value may be a secret that was put there by mistake).
fn describe_toml_error(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let mut out = format!("configuration file {}", path.display());
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line = text[line_start..].lines().next().unwrap_or("");
        let key = line.split('=').next().unwrap_or("").trim();
        let is_key = !key.is_empty()
            && key.len() <= 64
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        out.push_str(&format!(", line {line_no}"));
        if is_key && line.contains('=') {
            out.push_str(&format!(", key `{key}`"));
        }
    }
    out.push_str(": ");
    out.push_str(e.message().trim_end());
    out
}

/// Where each accepted event goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SinkSettings {
    /// One CloudEvents-JSON line per event on stdout.
    Stdout,
    /// A command per delivery (or per event).
    Exec {
        command: String,
        per_event: bool,
        timeout: Duration,
    },
    /// A POST per delivery (or per event) to a downstream URL.
    Forward {
        url: reqwest::Url,
        mode: ForwardMode,
        per_event: bool,
        timeout: Duration,
    },
}

/// The content mode of forwarded events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ForwardMode {
    /// The mode the delivery came in.
    Same,
    /// Structured (one event) or a batch.
    Structured,
    /// Binary (one event each).
    Binary,
}

/// The log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Authentication settings; the secrets themselves are kept out of `Debug`.
#[derive(Clone, Default)]
pub(crate) struct AuthSettings {
    pub(crate) codes: Option<Vec<String>>,
    pub(crate) webpubsub_keys: Option<Vec<String>>,
    pub(crate) aad_authority: Option<String>,
    pub(crate) aad_audiences: Vec<String>,
    pub(crate) aad_roles: Vec<String>,
}

impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field("codes", &self.codes.as_ref().map(Vec::len))
            .field(
                "webpubsub_keys",
                &self.webpubsub_keys.as_ref().map(Vec::len),
            )
            .field("aad_authority", &self.aad_authority)
            .field("aad_audiences", &self.aad_audiences)
            .field("aad_roles", &self.aad_roles)
            .finish()
    }
}

impl AuthSettings {
    /// Whether any sender authentication is configured.
    pub(crate) fn any(&self) -> bool {
        self.codes.is_some() || self.webpubsub_keys.is_some() || self.aad_authority.is_some()
    }
}

/// A Redis URL: its password is kept out of `Debug` and `Display`.
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
            Ok(mut url) => {
                if url.password().is_some() {
                    let _ = url.set_password(Some("***"));
                }
                write!(f, "{url}")
            }
            Err(_) => f.write_str("(a Redis URL)"),
        }
    }
}

/// Every setting of `hookgate listen`, checked.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) bind: SocketAddr,
    pub(crate) path: String,
    pub(crate) admin_bind: Option<SocketAddr>,
    /// Extra origins (`*` means any), besides the Azure Event Grid ones.
    pub(crate) allow_origins: Vec<String>,
    pub(crate) rate: Option<Rate>,
    pub(crate) callback: bool,
    pub(crate) auth: AuthSettings,
    pub(crate) redis: Option<RedisUrl>,
    pub(crate) lease: Duration,
    pub(crate) remember: Duration,
    pub(crate) body_limit: usize,
    pub(crate) sink: SinkSettings,
    pub(crate) max_concurrency: usize,
    pub(crate) retry_after: u32,
    pub(crate) shutdown_grace: Duration,
    pub(crate) log_format: LogFormat,
    pub(crate) log_level: tracing::Level,
}

/// The environment, as a function: tests pass their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Settings {
    /// Flags and environment (already merged by clap, flags first) over the file
    /// over the defaults; every value checked. `env` gives the secret variables.
    pub(crate) fn resolve(
        args: &ListenArgs,
        file: &FileSettings,
        env: Env<'_>,
    ) -> Result<Self, ConfigProblem> {
        let args = args.clone();
        let file = file.clone();
        let text =
            |flag: Option<String>, file: Option<Scalar>| flag.or(file.map(Scalar::into_text));
        let list = |flag: Vec<String>, file: Option<Vec<String>>| {
            if flag.is_empty() {
                file.unwrap_or_default()
            } else {
                flag
            }
        };

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

        let allow_origins = list(args.allow_origin, file.allow_origin)
            .into_iter()
            .map(|o| o.trim().to_owned())
            .collect::<Vec<_>>();
        if let Some(bad) = allow_origins
            .iter()
            .find(|o| o.is_empty() || o.contains(char::is_whitespace))
        {
            return Err(ConfigProblem::new(
                "allow_origin",
                format!(
                    "{bad:?} is not an origin (a host name such as example.webpubsub.azure.com, or *)"
                ),
            ));
        }
        let rate = text(args.rate, file.rate)
            .map(|r| Rate::parse(&r).map_err(|e| ConfigProblem::new("rate", e.to_string())))
            .transpose()?;
        let callback = args.callback.or(file.callback).unwrap_or(false);

        let auth = AuthSettings {
            codes: secrets(
                "code_file",
                CODES_ENV,
                args.code_file.or(file.code_file),
                env,
            )?,
            webpubsub_keys: secrets(
                "webpubsub_key_file",
                WEBPUBSUB_KEYS_ENV,
                args.webpubsub_key_file.or(file.webpubsub_key_file),
                env,
            )?,
            aad_authority: args.aad_authority.or(file.aad_authority),
            aad_audiences: list(args.aad_audience, file.aad_audience),
            aad_roles: list(args.aad_role, file.aad_role),
        };
        if auth.aad_authority.is_none()
            && !(auth.aad_audiences.is_empty() && auth.aad_roles.is_empty())
        {
            return Err(ConfigProblem::new(
                "aad_authority",
                "is required with aad_audience or aad_role",
            ));
        }
        if auth.aad_authority.is_some() && auth.aad_audiences.is_empty() {
            return Err(ConfigProblem::new(
                "aad_audience",
                "give at least one audience with aad_authority",
            ));
        }

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
        let body_limit = parse_size(
            "body_limit",
            text(args.body_limit, file.body_limit),
            1 << 20,
        )?;

        let per_event = args.per_event.or(file.per_event).unwrap_or(false);
        let exec = args.exec.or(file.exec);
        let forward = args.forward.or(file.forward);
        let exec_timeout = parse_duration(
            "exec_timeout",
            text(args.exec_timeout, file.exec_timeout),
            Duration::from_secs(20),
        )?;
        let forward_timeout = parse_duration(
            "forward_timeout",
            text(args.forward_timeout, file.forward_timeout),
            Duration::from_secs(20),
        )?;
        let forward_mode = match args.forward_mode.or(file.forward_mode).as_deref() {
            None | Some("same") => ForwardMode::Same,
            Some("structured") => ForwardMode::Structured,
            Some("binary") => ForwardMode::Binary,
            Some(other) => {
                return Err(ConfigProblem::new(
                    "forward_mode",
                    format!("{other:?} is not one of same, structured, binary"),
                ));
            }
        };
        let sink = match (exec, forward) {
            (Some(_), Some(_)) => {
                return Err(ConfigProblem::new(
                    "forward",
                    "give either exec or forward, not both",
                ));
            }
            (Some(command), None) => {
                if command.trim().is_empty() {
                    return Err(ConfigProblem::new("exec", "the command is empty"));
                }
                SinkSettings::Exec {
                    command,
                    per_event,
                    timeout: exec_timeout,
                }
            }
            (None, Some(url)) => {
                let url = reqwest::Url::parse(&url)
                    .map_err(|e| ConfigProblem::new("forward", format!("not a URL: {e}")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(ConfigProblem::new(
                        "forward",
                        "must be an http:// or https:// URL",
                    ));
                }
                SinkSettings::Forward {
                    url,
                    mode: forward_mode,
                    per_event,
                    timeout: forward_timeout,
                }
            }
            (None, None) => SinkSettings::Stdout,
        };

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
        let log_format = match args.log_format.or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigProblem::new(
                    "log_format",
                    format!("{other:?} is not one of text, json"),
                ));
            }
        };
        let log_level = match args.log_level.or(file.log_level) {
            None => tracing::Level::INFO,
            Some(level) => level.parse().map_err(|_| {
                ConfigProblem::new(
                    "log_level",
                    format!("{level:?} is not one of error, warn, info, debug, trace"),
                )
            })?,
        };
        let settings = Self {
            bind,
            path,
            admin_bind,
            allow_origins,
            rate,
            callback,
            auth,
            redis,
            lease,
            remember,
            body_limit,
            sink,
            max_concurrency,
            retry_after,
            shutdown_grace,
            log_format,
            log_level,
        };
        // The library checks the rest (origins, secrets, AAD authority, limits) when
        // the policy is built; its message is mapped to the setting here.
        crate::listen::policy::check(&settings)?;
        Ok(settings)
    }

    /// What the settings mean, one line each, for `hookgate config check` (no secret).
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: String| {
            out.push_str(&format!("{key:<16} {value}\n"));
        };
        line("bind", self.bind.to_string());
        line("path", format!("POST {}", self.path));
        line(
            "admin",
            match self.admin_bind {
                Some(addr) => format!("GET /healthz, /metrics on {addr}"),
                None => "GET /healthz, /metrics on the listen address".into(),
            },
        );
        let mut origins = vec!["the Azure Event Grid origins".to_owned()];
        origins.extend(self.allow_origins.iter().cloned());
        line(
            "handshake",
            format!(
                "origins: {}; rate: {}; callback: {}",
                origins.join(", "),
                self.rate.map_or_else(|| "*".to_owned(), Rate::header_value),
                if self.callback { "yes" } else { "no" }
            ),
        );
        let mut auth = Vec::new();
        if let Some(codes) = &self.auth.codes {
            auth.push(format!("{} shared secret(s)", codes.len()));
        }
        if let Some(keys) = &self.auth.webpubsub_keys {
            auth.push(format!("{} Web PubSub key(s)", keys.len()));
        }
        if let Some(authority) = &self.auth.aad_authority {
            auth.push(format!(
                "Azure AD from {authority} for {}{}",
                self.auth.aad_audiences.join(", "),
                if self.auth.aad_roles.is_empty() {
                    String::new()
                } else {
                    format!(" with role(s) {}", self.auth.aad_roles.join(", "))
                }
            ));
        }
        line(
            "authentication",
            if auth.is_empty() {
                "NONE: every sender is accepted".into()
            } else {
                auth.join("; ")
            },
        );
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
        line("body_limit", format!("{} bytes", self.body_limit));
        line(
            "sink",
            match &self.sink {
                SinkSettings::Stdout => "stdout: one CloudEvents-JSON line per event".into(),
                SinkSettings::Exec {
                    command,
                    per_event,
                    timeout,
                } => format!(
                    "exec `{command}` per {}, timeout {timeout:?}",
                    if *per_event { "event" } else { "delivery" }
                ),
                SinkSettings::Forward {
                    url,
                    mode,
                    per_event,
                    timeout,
                } => format!(
                    "forward to {url} ({mode:?} mode) per {}, timeout {timeout:?}",
                    if *per_event { "event" } else { "delivery" }
                ),
            },
        );
        line(
            "limits",
            format!(
                "{} deliveries at once, Retry-After {} s, shutdown grace {:?}",
                self.max_concurrency, self.retry_after, self.shutdown_grace
            ),
        );
        line(
            "log",
            format!("{:?} at {}", self.log_format, self.log_level),
        );
        out
    }
}

fn parse_addr(key: &'static str, text: &str) -> Result<SocketAddr, ConfigProblem> {
    text.trim().parse().map_err(|_| {
        ConfigProblem::new(
            key,
            format!("{text:?} is not an address such as 127.0.0.1:8080 or [::1]:8080"),
        )
    })
}

fn check_path(path: String) -> Result<String, ConfigProblem> {
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
    if path == "/healthz" || path == "/metrics" {
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

/// `500ms`, `20s`, `5m`, `24h`, or a number of seconds.
pub(crate) fn parse_duration(
    key: &'static str,
    text: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigProblem> {
    let Some(text) = text else {
        return Ok(default);
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        ConfigProblem::new(
            key,
            format!("{text:?} is not a duration such as 500ms, 20s, 5m or 24h"),
        )
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(bad()),
    };
    if duration.is_zero() {
        return Err(ConfigProblem::new(key, "must be more than zero"));
    }
    if duration > Duration::from_secs(30 * 24 * 3600) {
        return Err(ConfigProblem::new(key, "must be at most 30 days"));
    }
    Ok(duration)
}

fn parse_size(
    key: &'static str,
    text: Option<String>,
    default: usize,
) -> Result<usize, ConfigProblem> {
    let Some(text) = text else {
        return Ok(default);
    };
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let bad = || {
        ConfigProblem::new(
            key,
            format!("{text:?} is not a size such as 65536, 64k or 1M"),
        )
    };
    let n: usize = number.parse().map_err(|_| bad())?;
    let factor = match unit {
        "" => 1,
        "k" | "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        _ => return Err(bad()),
    };
    let size = n.checked_mul(factor).ok_or_else(bad)?;
    if size == 0 || size > 256 << 20 {
        return Err(ConfigProblem::new(key, "must be between 1 byte and 256M"));
    }
    Ok(size)
}

fn parse_count(
    key: &'static str,
    text: Option<String>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ConfigProblem> {
    let Some(text) = text else {
        return Ok(default);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigProblem::new(
            key,
            format!(
                "{text:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// A list of secrets from the variable `var` (a comma list) or the file `file` (one
/// per line; `#` starts a comment). The error never shows a secret.
fn secrets(
    key: &'static str,
    var: &str,
    file: Option<PathBuf>,
    env: Env<'_>,
) -> Result<Option<Vec<String>>, ConfigProblem> {
    let from_env = env(var);
    let (items, whence): (Vec<String>, String) = match (from_env, file) {
        (Some(_), Some(_)) => {
            return Err(ConfigProblem::new(
                key,
                format!("give either {var} or the file, not both"),
            ));
        }
        (Some(list), None) => (
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            var.to_owned(),
        ),
        (None, Some(path)) => {
            let text = read_bounded(&path).map_err(|e| ConfigProblem::new(key, e))?;
            (
                text.lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && !s.starts_with('#'))
                    .map(str::to_owned)
                    .collect(),
                path.display().to_string(),
            )
        }
        (None, None) => return Ok(None),
    };
    if items.is_empty() {
        // A secret that was not injected must not switch authentication off.
        return Err(ConfigProblem::new(
            key,
            format!("{whence} is set but lists no secret"),
        ));
    }
    if items.len() > 64 {
        return Err(ConfigProblem::new(
            key,
            format!("{whence} lists more than 64 secrets"),
        ));
    }
    Ok(Some(items))
}

fn read_bounded(path: &Path) -> Result<String, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > 64 * 1024 {
        return Err(format!("{} is larger than 64 KiB", path.display()));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// `hookgate config example`: every key with its default, commented.
pub(crate) const EXAMPLE: &str = r#"# hookgate listen configuration (TOML). Every key is optional; the values shown
# are the defaults. Each key is also a flag (`bind` -> --bind) and an environment
# variable (HOOKGATE_BIND). Flags win over the environment, the environment over
# this file. Check a file with `hookgate config check FILE`.

# The address to listen on.
# bind = "127.0.0.1:8080"

# The path events are POSTed to; `{name}` segments allowed (Web PubSub:
# "/eventhandler/{event}").
# path = "/api/events"

# Serve GET /healthz and GET /metrics on another address (default: the listen address).
# admin_bind = "127.0.0.1:9090"

# Origins granted in the validation handshake besides the Azure Event Grid ones
# ("*" for any), such as a Web PubSub host.
# allow_origin = ["example.webpubsub.azure.com"]

# The rate granted in the handshake: requests per minute, or "*".
# rate = "*"

# Grant the handshake by calling the sender's validation URL back.
# callback = false

# Authentication. Without any of these, every sender is accepted (with a warning).
# Secrets are never written here: name a file (one secret per line; a relative
# path is relative to this file), or set HOOKGATE_CODES / HOOKGATE_WEBPUBSUB_KEYS
# (comma lists) in the environment.
# code_file = "/run/secrets/hookgate-codes"
# webpubsub_key_file = "/run/secrets/webpubsub-keys"
# aad_authority = "contoso.onmicrosoft.com"   # a tenant id, "organizations", "common" or a URL
# aad_audience = ["api://hookgate"]
# aad_role = []

# Deduplication by (source, id): in memory unless a Redis URL is given.
# redis = "redis://127.0.0.1:6379"
# lease = "5m"        # how long a delivery being handled holds its claims
# remember = "24h"    # how long a handled event is remembered

# The largest request body (bytes; k and M suffixes).
# body_limit = "1M"

# Where events go: stdout (the default: one CloudEvents-JSON line per event),
# a command, or a downstream URL (not both).
# exec = "jq -c . >> events.jsonl"   # run with sh -c, the event JSON on stdin; exit 0 acknowledges
# exec_timeout = "20s"
# forward = "http://127.0.0.1:9000/events"
# forward_mode = "same"              # same, structured or binary
# forward_timeout = "20s"
# per_event = false                  # one process/request per event instead of per delivery

# Deliveries handled at once by exec or forward (more are answered 503 with
# Retry-After; stdout has no such bound), the
# Retry-After of a 503 (seconds), and the shutdown grace period.
# max_concurrency = 16
# retry_after = 10
# shutdown_grace = "10s"

# Logs on stderr: "text" or "json"; the least level logged.
# log_format = "text"
# log_level = "info"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let s =
            Settings::resolve(&ListenArgs::default(), &FileSettings::default(), &no_env).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.path, "/api/events");
        assert_eq!(s.sink, SinkSettings::Stdout);
        assert!(!s.auth.any());
    }

    #[test]
    fn the_example_parses_and_its_uncommented_keys_are_known() {
        let file: FileSettings = toml::from_str(EXAMPLE).unwrap();
        assert!(file.bind.is_none());
        // Uncomment every `# key = value` line: all keys are known.
        let uncommented: String = EXAMPLE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = ") && !l.starts_with(' '))
            .map(|l| format!("{}\n", l.split("  #").next().unwrap_or(l)))
            .collect();
        let file: FileSettings = toml::from_str(&uncommented).unwrap();
        assert!(file.bind.is_some() && file.forward.is_some());
    }

    #[test]
    fn flags_win_over_the_file() {
        let file: FileSettings = toml::from_str("bind = \"127.0.0.1:1\"\npath = \"/x\"").unwrap();
        let args = ListenArgs {
            bind: Some("127.0.0.1:2".into()),
            ..ListenArgs::default()
        };
        let s = Settings::resolve(&args, &file, &no_env).unwrap();
        assert_eq!(s.bind.port(), 2);
        assert_eq!(s.path, "/x");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let file: FileSettings = toml::from_str("exec_timeout = \"soon\"").unwrap();
        let e = Settings::resolve(&ListenArgs::default(), &file, &no_env).unwrap_err();
        assert_eq!(e.key, "exec_timeout");
        assert!(e.to_string().contains("--exec-timeout"), "{e}");
        let e = toml::from_str::<FileSettings>("codes = \"s3cret\"").unwrap_err();
        assert!(e.to_string().contains("codes"), "{e}");
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_never_shown() {
        let env = |name: &str| (name == CODES_ENV).then(|| "s3cret-1, s3cret-2".to_owned());
        let s = Settings::resolve(&ListenArgs::default(), &FileSettings::default(), &env).unwrap();
        assert_eq!(s.auth.codes.as_ref().map(Vec::len), Some(2));
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(!s.describe().contains("s3cret"));
        let blank = |name: &str| (name == CODES_ENV).then(|| " , ".to_owned());
        let e = Settings::resolve(&ListenArgs::default(), &FileSettings::default(), &blank)
            .unwrap_err();
        assert_eq!(e.key, "code_file");
    }

    #[test]
    fn paths() {
        assert!(check_path("/eventhandler/{event}".into()).is_ok());
        assert!(check_path("/a/{".into()).is_err());
        assert!(check_path("/a/x{e}".into()).is_err());
        assert!(check_path("api".into()).is_err());
        assert!(check_path("/metrics".into()).is_err());
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(
            parse_duration("k", Some("500ms".into()), Duration::ZERO).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_duration("k", Some("5m".into()), Duration::ZERO).unwrap(),
            Duration::from_secs(300)
        );
        assert!(parse_duration("k", Some("0".into()), Duration::ZERO).is_err());
        assert!(parse_duration("k", Some("5 days".into()), Duration::ZERO).is_err());
        assert_eq!(parse_size("k", Some("64k".into()), 0).unwrap(), 65536);
        assert!(parse_size("k", Some("1G".into()), 0).is_err());
    }

    #[test]
    fn redis_urls_hide_their_password() {
        let url = RedisUrl("redis://user:pa55@127.0.0.1:6379/0".into());
        assert!(!url.to_string().contains("pa55"));
        assert!(!format!("{url:?}").contains("pa55"));
    }
}
