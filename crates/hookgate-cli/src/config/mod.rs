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
//!
//! Each concern has a file of its own with its flags (`Args`), its file keys
//! (`File`), its checks (`resolve`), its lines of `config check` (`describe`) and
//! its part of `config example`: [`server`] (and its limits), [`tls`] (and HTTP/2's), [`handshake`],
//! [`secrets`], [`dedup`], the sinks ([`sink`] chooses among [`stdout`], [`exec`],
//! [`forward`], [`redis_stream`] and [`nats`]) and [`log`]. The handshake, the
//! authentication and the sink are a [`route`]'s: the flags and top-level keys
//! describe the default route, `[[route]]` tables more of them. This file merges
//! them: [`ListenArgs`] and [`FileSettings`] list the concerns,
//! [`Settings::resolve`] resolves the process's, then each route's, then checks
//! what spans several of them.

mod dedup;
mod exec;
mod forward;
mod handshake;
mod log;
mod nats;
mod redis_stream;
mod route;
pub(crate) mod secret_file;
mod secrets;
mod server;
mod sink;
mod stdout;
mod tls;
mod value;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub(crate) use dedup::{DedupSettings, RedisCa, RedisUrl};
pub(crate) use forward::ForwardMode;
pub(crate) use log::{LogFormat, LogSettings};
pub(crate) use nats::NatsSettings;
pub(crate) use redis_stream::RedisStreamSettings;
pub(crate) use route::{DEFAULT_ROUTE, RouteSettings, SenderKind};
pub(crate) use secrets::AuthSettings;
pub(crate) use server::ServerSettings;
pub(crate) use sink::SinkSettings;
pub(crate) use tls::{H2Limits, TlsFiles, TlsSettings};
pub(crate) use value::{parse_duration, redact_url};

/// A bad setting: the one message `hookgate` prints before it exits with
/// [`EXIT_CONFIG`](crate::EXIT_CONFIG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigProblem {
    /// The setting, as the TOML key (`bind`, `exec_timeout`, ...).
    pub(crate) key: &'static str,
    /// What is wrong with it (never the value of a secret).
    pub(crate) message: String,
    /// The `[[route]]` table it is in (its name, or `#N` before the name is
    /// known); `None` for the top level and the flags.
    pub(crate) route: Option<String>,
}

impl ConfigProblem {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
            route: None,
        }
    }

    /// The problem, in the `[[route]]` table `route`.
    pub(crate) fn in_route(mut self, route: &str) -> Self {
        self.route = Some(route.to_owned());
        self
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(route) = &self.route {
            return write!(
                f,
                "invalid setting `{}` of route `{route}` (a [[route]] table of the \
                 configuration file): {}",
                self.key, self.message
            );
        }
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

/// The flags of `hookgate listen` (each also read from `HOOKGATE_<FLAG>`): the
/// configuration file, then each concern's.
#[derive(clap::Args, Debug, Default, Clone)]
#[command(
    after_help = "Secrets: HOOKGATE_CODES and HOOKGATE_WEBPUBSUB_KEYS (comma lists), or --code-file \
                  and --webpubsub-key-file. Exit codes: 0 stopped, 1 runtime failure, 2 bad setting. \
                  More with --help.",
    after_long_help = LISTEN_AFTER_HELP,
    mut_args = hide_env_value
)]
pub(crate) struct ListenArgs {
    /// A TOML file with any of the settings below (keys as the flags, with `_`):
    /// see `hookgate config example`. Flags win over the environment, the
    /// environment over the file.
    #[arg(long, env = "HOOKGATE_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) server: server::Args,
    #[command(flatten)]
    pub(crate) route: route::Args,
    #[command(flatten)]
    pub(crate) tls: tls::Args,
    #[command(flatten)]
    pub(crate) handshake: handshake::Args,
    #[command(flatten)]
    pub(crate) secrets: secrets::Args,
    #[command(flatten)]
    pub(crate) dedup: dedup::Args,
    #[command(flatten)]
    pub(crate) stdout: stdout::Args,
    #[command(flatten)]
    pub(crate) exec: exec::Args,
    #[command(flatten)]
    pub(crate) sink: sink::Args,
    #[command(flatten)]
    pub(crate) forward: forward::Args,
    #[command(flatten)]
    pub(crate) redis_stream: redis_stream::Args,
    #[command(flatten)]
    pub(crate) nats: nats::Args,
    #[command(flatten)]
    pub(crate) log: log::Args,
}

/// Every flag of `hookgate listen`, its concern's file included: `--help` never shows
/// an environment value (a forward URL's credentials, a bind address).
fn hide_env_value(arg: clap::Arg) -> clap::Arg {
    arg.hide_env_values(true)
}

const LISTEN_AFTER_HELP: &str = "\
Secrets come from the environment or files only: HOOKGATE_CODES (comma list of shared
secrets) or --code-file, HOOKGATE_WEBPUBSUB_KEYS (comma list) or --webpubsub-key-file.
--code-dir DIR adds senders of their own: one file per sender, named by its label.
Without any authentication setting, every sender is accepted (a warning says so).

Durations: 500ms, 20s, 5m, 24h (a bare number is seconds).

Traces: on by default (the sender's traceparent continued and passed on to the sink);
exported over OTLP/HTTP with protobuf when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, as OTEL_SERVICE_NAME (default hookgate);
OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER and OTEL_BSP_*
are honoured; OTEL_SDK_DISABLED=true turns tracing off. Metrics: GET /metrics.

Exit codes: 0 stopped cleanly (SIGTERM, SIGINT, SIGQUIT); 1 a runtime failure (the
address is taken, Redis cannot be reached); 2 a bad setting or command line.

Signals: SIGTERM, SIGINT and SIGQUIT stop gracefully (--shutdown-grace, then the
claims of what is left are released); SIGHUP loads --code-file, --code-dir,
--webpubsub-key-file and the TLS pair again (a file that fails keeps what was loaded,
and the log says why); SIGKILL leaves the claims of the deliveries in flight until
their lease ends.";

/// The TOML file: the same settings as the flags, keys with `_`, each concern's
/// keys flattened in. Unknown keys are refused, so a misspelt key is not silently
/// ignored.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct FileSettings {
    /// The `[[route]]` tables.
    #[serde(default)]
    route: Vec<route::Table>,
    #[serde(flatten)]
    server: server::File,
    #[serde(flatten)]
    default_route: route::File,
    #[serde(flatten)]
    tls: tls::File,
    #[serde(flatten)]
    handshake: handshake::File,
    #[serde(flatten)]
    secrets: secrets::File,
    #[serde(flatten)]
    dedup: dedup::File,
    #[serde(flatten)]
    stdout: stdout::File,
    #[serde(flatten)]
    exec: exec::File,
    #[serde(flatten)]
    sink: sink::File,
    #[serde(flatten)]
    forward: forward::File,
    #[serde(flatten)]
    redis_stream: redis_stream::File,
    #[serde(flatten)]
    nats: nats::File,
    #[serde(flatten)]
    log: log::File,
    /// What no concern took: refused by [`FileSettings::load`]. Last, so that it
    /// gets only the keys the concerns before it left.
    #[serde(flatten)]
    unknown: toml::Table,
}

impl FileSettings {
    /// Reads and parses `path`; the error names the file and, for a bad key, the key.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the configuration file {}: {e}", path.display()))?;
        let mut file: Self = toml::from_str(&text).map_err(|e| {
            // Flattened, a bad value's error has no span of its own: the concern the
            // key belongs to, parsed alone, says where it is.
            let spanned = [
                first_error::<server::File>,
                first_error::<tls::File>,
                first_error::<handshake::File>,
                first_error::<secrets::File>,
                first_error::<dedup::File>,
                first_error::<stdout::File>,
                first_error::<exec::File>,
                first_error::<sink::File>,
                first_error::<forward::File>,
                first_error::<redis_stream::File>,
                first_error::<nats::File>,
                first_error::<log::File>,
            ]
            .iter()
            .find_map(|parse| parse(&text));
            describe_toml_error(path, &text, spanned.as_ref().unwrap_or(&e))
        })?;
        if let Some(key) = file.unknown.keys().next() {
            return Err(describe_unknown_key(path, &text, key));
        }
        // Files the file names are relative to it, not to the working directory.
        if let Some(dir) = path.parent() {
            file.secrets.relative_to(dir);
            file.tls.relative_to(dir);
            file.redis_stream.relative_to(dir);
            file.nats.relative_to(dir);
            file.dedup.relative_to(dir);
            for table in &mut file.route {
                table.relative_to(dir);
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

/// The error of one concern's keys parsed alone (with its span), if any.
fn first_error<T: serde::de::DeserializeOwned>(text: &str) -> Option<toml::de::Error> {
    toml::from_str::<T>(text).err()
}

/// The message of a key no concern knows: its line and name, never its value.
fn describe_unknown_key(path: &Path, text: &str, key: &str) -> String {
    let line_no = text.lines().position(|line| {
        line.split('=')
            .next()
            .is_some_and(|k| k.trim().trim_matches('"') == key)
    });
    let at = line_no.map_or_else(String::new, |n| format!(", line {}", n + 1));
    format!(
        "configuration file {}{at}, key `{key}`: unknown key `{key}` (see `hookgate config example`)",
        path.display()
    )
}

/// Every setting of `hookgate listen`, checked: the process's concerns, then the
/// routes (the default one first, when served).
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) server: ServerSettings,
    pub(crate) tls: TlsSettings,
    pub(crate) dedup: DedupSettings,
    pub(crate) log: LogSettings,
    pub(crate) routes: Vec<RouteSettings>,
    /// What the secret files' rule warns about (a file others can read), logged at
    /// start and printed by `config check`.
    pub(crate) warnings: Vec<String>,
}

/// The environment, as a function: tests pass their own.
pub(crate) type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// One line of `config check`: the concern's name and what its settings mean.
pub(crate) type Describe<'a> = &'a mut dyn FnMut(&str, String);

/// The process environment.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// No environment: a `[[route]]` table's secrets come from the files it names.
fn no_env(_: &str) -> Option<String> {
    None
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
        let mut warnings = Vec::new();
        let path_given = args.server.path.is_some() || file.server.path.is_some();
        let server = server::resolve(args.server, file.server, &mut warnings)?;
        let tls = tls::resolve(args.tls, file.tls, &mut warnings)?;
        let dedup = dedup::resolve(args.dedup, file.dedup, env, &mut warnings)?;
        let log = log::resolve(args.log, file.log)?;
        let mut routes = Vec::new();
        let default = route::Sources {
            name: DEFAULT_ROUTE.to_owned(),
            path: server.path.clone(),
            body_limit: server.body_limit,
            max_concurrency: server.max_concurrency,
            route: (args.route, file.default_route),
            handshake: (args.handshake, file.handshake),
            secrets: (args.secrets, file.secrets),
            sink: sink::Sources {
                shared: (args.sink, file.sink),
                stdout: (args.stdout, file.stdout),
                exec: (args.exec, file.exec),
                forward: (args.forward, file.forward),
                redis_stream: (args.redis_stream, file.redis_stream),
                nats: (args.nats, file.nats),
                env,
                warnings: &mut warnings,
            },
            env,
        };
        if file.route.is_empty() || path_given {
            routes.push(route::resolve(default)?);
        } else if let Some(what) = route::given(&default) {
            return Err(ConfigProblem::new(
                "path",
                format!(
                    "{what} is set for the default route (by a flag, a HOOKGATE_ variable or a \
                     top-level key), but the configuration file declares [[route]] tables and \
                     the default route no path: give it `path` to serve it too, or move the \
                     setting into a [[route]] table"
                ),
            ));
        }
        for (index, table) in file.route.into_iter().enumerate() {
            let limits = (server.body_limit, server.max_concurrency);
            let sources = route::table_sources(index, table, limits, &no_env, &mut warnings)?;
            let name = sources.name.clone();
            routes.push(route::resolve(sources).map_err(|p| p.in_route(&name))?);
        }
        route::check_all(&routes)?;
        let settings = Self {
            server,
            tls,
            dedup,
            log,
            routes,
            warnings,
        };
        // The dedup settings are the process's: checked once, not once per route
        // (and a problem is theirs, not a route's).
        let dedup = settings
            .routes
            .iter()
            .any(|route| route.dedup.is_some())
            .then(|| crate::listen::policy::dedup(&settings, None))
            .transpose()?;
        for route in &settings.routes {
            let at = |p: ConfigProblem| match route.name.as_str() {
                DEFAULT_ROUTE => p,
                name => p.in_route(name),
            };
            check_lease(&settings, route).map_err(at)?;
            check_request_timeout(&settings, route).map_err(at)?;
            // The library checks the rest (origins, secrets, AAD authority, limits)
            // when the policy is built; its message is mapped to the setting here.
            crate::listen::policy::check(route, dedup.as_ref()).map_err(at)?;
        }
        Ok(settings)
    }

    /// The default route, when it is served.
    #[cfg(test)]
    pub(crate) fn default_route(&self) -> Option<&RouteSettings> {
        self.routes.iter().find(|r| r.name == DEFAULT_ROUTE)
    }

    /// What the settings mean, one line each, for `hookgate config check` (no
    /// secret): the process's, then each route's (headed by its name when there
    /// are several, or it is not the default route).
    pub(crate) fn describe(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: String| {
            out.push_str(&format!("{key:<16} {value}\n"));
        };
        self.server.describe(&mut line);
        self.tls.describe(&mut line);
        self.dedup.describe(&mut line);
        self.log.describe(&mut line);
        let headed = !matches!(&self.routes[..], [one] if one.name == DEFAULT_ROUTE);
        for route in &self.routes {
            if headed {
                out.push_str(&format!("\n[route {}]\n", route.name));
            }
            let mut line = |key: &str, value: String| {
                out.push_str(&format!("{key:<16} {value}\n"));
            };
            route.describe(&mut line);
        }
        out
    }
}

/// A claim must outlive the longest run of the sink plus the shutdown grace: with a
/// shorter lease, a sender's retry claims an event whose first run is still going,
/// and the handler runs twice.
fn check_lease(s: &Settings, route: &RouteSettings) -> Result<(), ConfigProblem> {
    let Some((timeout_key, timeout)) = route.sink.timeout() else {
        return Ok(());
    };
    let longest = timeout.saturating_add(s.server.shutdown_grace);
    if route.dedup.is_none() || s.dedup.lease > longest {
        return Ok(());
    }
    Err(ConfigProblem::new(
        "lease",
        format!(
            "{:?} must be longer than `{timeout_key}` (--{}) plus `shutdown_grace` \
             (--shutdown-grace), {timeout:?} + {:?}: a retry could claim an event whose \
             first run is still going, and run it twice",
            s.dedup.lease,
            timeout_key.replace('_', "-"),
            s.server.shutdown_grace,
        ),
    ))
}

/// A whole-request deadline that would cut a delivery short of the sink's own
/// timeout is refused: the sink's timeout answers it cleanly (503, claims released).
fn check_request_timeout(s: &Settings, route: &RouteSettings) -> Result<(), ConfigProblem> {
    let Some((timeout_key, timeout)) = route.sink.timeout() else {
        return Ok(());
    };
    let deadline = s.server.connections.request_timeout;
    if deadline > timeout {
        return Ok(());
    }
    Err(ConfigProblem::new(
        "request_timeout",
        format!(
            "{deadline:?} must be longer than `{timeout_key}` (--{}), {timeout:?}: the \
             sink's own timeout must end a slow delivery first",
            timeout_key.replace('_', "-"),
        ),
    ))
}

/// Whether `key` is a top-level key of the whole process (not of a route): one of
/// the keys of the server (but a route's own), TLS, dedup store and log examples.
pub(crate) fn top_level_only(key: &str) -> bool {
    [server::EXAMPLE, tls::EXAMPLE, dedup::EXAMPLE, log::EXAMPLE]
        .iter()
        .flat_map(|example| example.lines())
        .filter_map(|line| line.strip_prefix("# ")?.split_once(" = "))
        .any(|(k, _)| k.trim() == key)
}

/// `hookgate config example`: every key with its default, commented, concern by
/// concern.
pub(crate) fn example() -> String {
    [
        EXAMPLE_HEAD,
        server::EXAMPLE,
        route::EXAMPLE,
        tls::EXAMPLE,
        handshake::EXAMPLE,
        secrets::EXAMPLE,
        dedup::EXAMPLE,
        &sink::example(),
        log::EXAMPLE,
    ]
    .join("\n")
}

const EXAMPLE_HEAD: &str = r#"# hookgate listen configuration (TOML). Every key is optional; the values shown
# are the defaults. Each key is also a flag (`bind` -> --bind) and an environment
# variable (HOOKGATE_BIND). Flags win over the environment, the environment over
# this file. Check a file with `hookgate config check FILE`.
"#;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::secrets::CODES_ENV;
    use super::server::check_path;
    use super::value::parse_size;
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults() {
        let s =
            Settings::resolve(&ListenArgs::default(), &FileSettings::default(), &no_env).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.server.path, "/api/events");
        let route = s.default_route().unwrap();
        assert_eq!(s.routes.len(), 1);
        assert_eq!(route.path, "/api/events");
        assert!(matches!(route.sink, SinkSettings::Stdout(_)));
        assert!(!route.auth.any());
    }

    #[test]
    fn the_example_parses_and_its_uncommented_keys_are_known() {
        let example = example();
        let file: FileSettings = toml::from_str(&example).unwrap();
        assert!(file.server.bind.is_none());
        // Uncomment every `# key = value` line: all keys are known.
        let uncommented: String = example
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = ") && !l.starts_with(' '))
            .map(|l| format!("{}\n", l.split("  #").next().unwrap_or(l)))
            .collect();
        let file: FileSettings = toml::from_str(&uncommented).unwrap();
        assert!(file.server.bind.is_some() && file.forward.forward.is_some());
        assert!(file.unknown.is_empty(), "{:?}", file.unknown);
    }

    #[test]
    fn file_errors_name_their_line_and_key() {
        let dir = std::env::temp_dir().join(format!("hookgate-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, "bind = \"127.0.0.1:0\"\ncallback = \"yes\"\n").unwrap();
        let e = FileSettings::load(&path).unwrap_err();
        assert!(e.contains("line 2, key `callback`"), "{e}");
        std::fs::write(&path, "bind = \"127.0.0.1:0\"\ncodes = \"s3cret\"\n").unwrap();
        let e = FileSettings::load(&path).unwrap_err();
        assert!(
            e.contains("line 2, key `codes`") && !e.contains("s3cret"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lease_not_longer_than_a_run_plus_the_grace_is_refused() {
        let file = |text: &str| toml::from_str::<FileSettings>(text).unwrap();
        // 20 s + 10 s: a lease of 30 s is refused, naming both settings.
        let e = Settings::resolve(
            &ListenArgs::default(),
            &file("exec = \"true\"\nlease = \"30s\""),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(e.key, "lease");
        let message = e.to_string();
        assert!(
            message.contains("--exec-timeout") && message.contains("--shutdown-grace"),
            "{message}"
        );
        let e = Settings::resolve(
            &ListenArgs::default(),
            &file("forward = \"http://127.0.0.1:1/\"\nforward_timeout = \"1m\"\nlease = \"70s\""),
            &no_env,
        )
        .unwrap_err();
        assert!(e.to_string().contains("--forward-timeout"), "{e}");
        // Longer is fine; stdout has no run time to outlive.
        assert!(
            Settings::resolve(
                &ListenArgs::default(),
                &file("exec = \"true\"\nlease = \"31s\""),
                &no_env
            )
            .is_ok()
        );
        assert!(
            Settings::resolve(&ListenArgs::default(), &file("lease = \"1s\""), &no_env).is_ok()
        );
    }

    #[test]
    fn a_forward_url_with_a_password_is_refused_on_the_command_line() {
        let url = "http://user:s3cret@127.0.0.1:9000/events";
        let args = ListenArgs {
            forward: forward::Args {
                forward: Some(url.into()),
                ..forward::Args::default()
            },
            ..ListenArgs::default()
        };
        let e = Settings::resolve(&args, &FileSettings::default(), &no_env).unwrap_err();
        assert_eq!(e.key, "forward");
        assert!(
            e.to_string().contains("HOOKGATE_FORWARD") && !e.to_string().contains("s3cret"),
            "{e}"
        );
        let env = |name: &str| (name == "HOOKGATE_FORWARD").then(|| url.to_owned());
        assert!(Settings::resolve(&args, &FileSettings::default(), &env).is_ok());
    }

    #[test]
    fn a_redis_password_comes_from_the_environment_or_a_file_never_argv() {
        let url = "redis://:pa55@127.0.0.1:6379";
        let args = ListenArgs {
            dedup: dedup::Args {
                redis: Some(url.into()),
                ..dedup::Args::default()
            },
            ..ListenArgs::default()
        };
        // On the command line: refused, naming the ways that are not.
        let e = Settings::resolve(&args, &FileSettings::default(), &no_env).unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("HOOKGATE_REDIS")
                && message.contains("--redis-url-file")
                && !message.contains("pa55"),
            "{message}"
        );
        // From HOOKGATE_REDIS (clap put it in the same field): accepted.
        let env = |name: &str| (name == "HOOKGATE_REDIS").then(|| url.to_owned());
        let s = Settings::resolve(&args, &FileSettings::default(), &env).unwrap();
        assert_eq!(s.dedup.redis.unwrap().0, url);
        // From a file.
        let dir = std::env::temp_dir().join(format!("hookgate-redis-url-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("redis-url");
        std::fs::write(&path, format!("# the store\n{url}\n")).unwrap();
        let args = ListenArgs {
            dedup: dedup::Args {
                redis_url_file: Some(path),
                ..dedup::Args::default()
            },
            ..ListenArgs::default()
        };
        let s = Settings::resolve(&args, &FileSettings::default(), &no_env).unwrap();
        assert_eq!(s.dedup.redis.unwrap().0, url);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags_win_over_the_file() {
        let file: FileSettings = toml::from_str("bind = \"127.0.0.1:1\"\npath = \"/x\"").unwrap();
        let args = ListenArgs {
            server: server::Args {
                bind: Some("127.0.0.1:2".into()),
                ..server::Args::default()
            },
            ..ListenArgs::default()
        };
        let s = Settings::resolve(&args, &file, &no_env).unwrap();
        assert_eq!(s.server.bind.port(), 2);
        assert_eq!(s.server.path, "/x");
    }

    #[test]
    fn bad_values_name_the_setting() {
        let file: FileSettings = toml::from_str("exec_timeout = \"soon\"").unwrap();
        let e = Settings::resolve(&ListenArgs::default(), &file, &no_env).unwrap_err();
        assert_eq!(e.key, "exec_timeout");
        assert!(e.to_string().contains("--exec-timeout"), "{e}");
        let file: FileSettings = toml::from_str("codes = \"s3cret\"").unwrap();
        assert!(file.unknown.contains_key("codes"));
    }

    #[test]
    fn secrets_come_from_the_environment_and_are_never_shown() {
        let env = |name: &str| (name == CODES_ENV).then(|| "s3cret-1, s3cret-2".to_owned());
        let s = Settings::resolve(&ListenArgs::default(), &FileSettings::default(), &env).unwrap();
        let auth = &s.default_route().unwrap().auth;
        assert_eq!(auth.codes.as_ref().map(Vec::len), Some(2));
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(!s.describe().contains("s3cret"));
        let blank = |name: &str| (name == CODES_ENV).then(|| " , ".to_owned());
        let e = Settings::resolve(&ListenArgs::default(), &FileSettings::default(), &blank)
            .unwrap_err();
        assert_eq!(e.key, "code_file");
    }

    /// A directory with a code file, a Web PubSub key file and `hookgate.toml` of
    /// `routes` (the text after the top-level keys `top`).
    fn route_file(name: &str, top: &str, routes: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("hookgate-routes-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("codes"), "s3cret-code\n").unwrap();
        std::fs::write(dir.join("keys"), "a2V5LWtleQ==\n").unwrap();
        let path = dir.join("hookgate.toml");
        std::fs::write(&path, format!("{top}\n{routes}")).unwrap();
        path
    }

    const ROUTES: &str = r#"
[[route]]
name = "grid"
path = "/api/grid"
code_file = "codes"

[[route]]
name = "chat"
path = "/eventhandler/{event}"
sender = "webpubsub"
webpubsub_key_file = "keys"
allow_origin = ["chat.webpubsub.azure.com"]
forward = "http://127.0.0.1:9/chat"

[[route]]
name = "calls"
path = "/callbacks"
sender = "trusted_app"
aad_authority = "http://127.0.0.1:1/tenant"
aad_audience = ["api://calls"]
aad_app_id = ["app-1"]
aad_tenant = ["tenant-1"]
body_limit = "64k"
"#;

    fn resolve_file(path: &Path, env: Env<'_>) -> Result<Settings, String> {
        let file = FileSettings::load(path)?;
        Settings::resolve(&ListenArgs::default(), &file, env).map_err(|e| e.to_string())
    }

    #[test]
    fn routes_come_from_route_tables_each_with_its_own_settings() {
        let path = route_file("three", "", ROUTES);
        let s = resolve_file(&path, &no_env).unwrap();
        let names: Vec<_> = s.routes.iter().map(|r| r.name.as_str()).collect();
        // No `path` at the top: only the tables' routes.
        assert_eq!(names, ["grid", "chat", "calls"]);
        let [grid, chat, calls] = &s.routes[..] else {
            unreachable!()
        };
        assert_eq!(grid.sender, SenderKind::CloudEvents);
        assert_eq!(grid.auth.codes.as_ref().map(Vec::len), Some(1));
        assert_eq!(grid.dedup.as_deref(), Some("grid"));
        assert!(matches!(grid.sink, SinkSettings::Stdout(_)));
        assert_eq!(chat.sender, SenderKind::WebPubSub);
        assert_eq!(chat.dedup, None);
        assert!(chat.auth.codes.is_none() && chat.auth.webpubsub_keys.is_some());
        assert!(matches!(chat.sink, SinkSettings::Forward(_)));
        assert_eq!(calls.sender, SenderKind::TrustedApp);
        assert_eq!(calls.dedup, None);
        assert_eq!(calls.auth.aad_app_ids, ["app-1"]);
        assert_eq!(calls.auth.aad_tenants, ["tenant-1"]);
        assert_eq!(calls.body_limit, 64 * 1024);
        assert_eq!(grid.body_limit, 1 << 20);
        // `config check` shows every route, never a secret.
        let meaning = s.describe();
        for part in [
            "[route grid]",
            "POST /api/grid (cloudevents sender)",
            "[route chat]",
            "granted to chat.webpubsub.azure.com",
            "1 Web PubSub key(s)",
            "[route calls]",
            "POST /callbacks (trusted_app sender)",
            "of application(s) app-1 of tenant(s) tenant-1",
            "namespace `grid`",
        ] {
            assert!(meaning.contains(part), "no {part:?} in\n{meaning}");
        }
        assert!(
            !meaning.contains("s3cret") && !meaning.contains("a2V5"),
            "{meaning}"
        );
        // With a top-level `path`, the default route is served too, first.
        let path = route_file(
            "four",
            "path = \"/api/events\"\ncode_file = \"codes\"",
            ROUTES,
        );
        let s = resolve_file(&path, &no_env).unwrap();
        let names: Vec<_> = s.routes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["default", "grid", "chat", "calls"]);
        assert_eq!(s.routes[0].dedup.as_deref(), Some(""));
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn route_tables_refuse_what_would_be_ignored_or_ambiguous() {
        let refused = |name: &str, top: &str, routes: &str, env: Env<'_>| {
            let path = route_file(name, top, routes);
            let e = resolve_file(&path, env).unwrap_err();
            let _ = std::fs::remove_dir_all(path.parent().unwrap());
            e
        };
        // Default-route settings with tables but no path for it.
        let e = refused("top", "code_file = \"codes\"", ROUTES, &no_env);
        assert!(e.contains("`path`") && e.contains("authentication"), "{e}");
        let codes = |name: &str| (name == CODES_ENV).then(|| "s3cret".to_owned());
        let e = refused("env", "", ROUTES, &codes);
        assert!(e.contains("authentication") && !e.contains("s3cret"), "{e}");
        // A key of the whole process in a table, and a misspelt one.
        let e = refused(
            "bind",
            "",
            "[[route]]\nname = \"a\"\npath = \"/a\"\nbind = \"127.0.0.1:1\"\n",
            &no_env,
        );
        assert!(
            e.contains("`bind` is a setting of the whole process"),
            "{e}"
        );
        let e = refused(
            "typo",
            "",
            "[[route]]\nname = \"a\"\npath = \"/a\"\ncode_fil = \"x\"\n",
            &no_env,
        );
        assert!(
            e.contains("unknown key `code_fil`") && e.contains("route `#1`"),
            "{e}"
        );
        // Names and paths that cannot be told apart.
        let two = "[[route]]\nname = \"a\"\npath = \"/a/{x}\"\n[[route]]\nname = \"b\"\npath = \"/a/{y}\"\n";
        let e = refused("paths", "", two, &no_env);
        assert!(e.contains("route `b`") && e.contains("/a/{y}"), "{e}");
        let e = refused(
            "names",
            "",
            &two.replace("\"b\"", "\"a\"").replace("{y}", "b"),
            &no_env,
        );
        assert!(e.contains("two routes are named `a`"), "{e}");
        let e = refused("missing", "", "[[route]]\nname = \"a\"\n", &no_env);
        assert!(e.contains("every [[route]] needs a path"), "{e}");
        let e = refused(
            "default",
            "",
            "[[route]]\nname = \"default\"\npath = \"/a\"\n",
            &no_env,
        );
        assert!(e.contains("`default`"), "{e}");
        // What a kind of sender cannot use.
        let wps = "[[route]]\nname = \"chat\"\npath = \"/chat\"\nsender = \"webpubsub\"\n";
        let e = refused(
            "wps-code",
            "",
            &format!("{wps}allow_origin = [\"*\"]\ncode_file = \"codes\"\n"),
            &no_env,
        );
        assert!(
            e.contains("route `chat`")
                && e.contains("`code_file`")
                && e.contains("webpubsub route"),
            "{e}"
        );
        let e = refused("wps-origin", "", wps, &no_env);
        assert!(e.contains("`allow_origin`"), "{e}");
        let ta = "[[route]]\nname = \"calls\"\npath = \"/calls\"\nsender = \"trusted_app\"\n";
        let e = refused("ta-dedup", "", &format!("{ta}dedup = true\n"), &no_env);
        assert!(e.contains("`dedup`") && e.contains("no id"), "{e}");
        let e = refused(
            "kind",
            "",
            "[[route]]\nname = \"a\"\npath = \"/a\"\nsender = \"svix\"\n",
            &no_env,
        );
        assert!(e.contains("not a sender"), "{e}");
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
}
