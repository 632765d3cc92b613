//! Routes: each path events are POSTed to, with its sender, authentication, dedup
//! namespace, limits and sink.
//!
//! The flags, the `HOOKGATE_` variables and the file's top-level keys describe the
//! one default route (named `default`, at `--path`). The file may declare more
//! with `[[route]]` tables: each one has a `name` (the `route` label of every
//! metric and span, one word), a `path`, a `sender` and the same keys as the top
//! level for the handshake, the authentication, the sink and the limits. A table
//! inherits nothing but the limits (`body_limit`, `max_concurrency`): a route
//! without authentication keys has none, whatever the top level says. The keys of
//! the whole process (`bind`, TLS, Redis, `lease`, the log, ...) stay at the top.
//!
//! With `[[route]]` tables, the default route is served too only when a `path` is
//! given for it (flag, variable or top-level key); default-route settings without
//! one are refused rather than ignored.
//!
//! | `sender` | what the route receives | authentication | dedup by default |
//! |---|---|---|---|
//! | `cloudevents` (default) | any CloudEvents sender, Azure Event Grid included: binary, structured and batch | shared secrets, a code dir, Azure AD | on |
//! | `webpubsub` | an Azure Web PubSub event handler: binary mode only, `ce-*` read verbatim, rejections in plain text | Web PubSub access keys (`ce-signature`) | off (the service does not redeliver) |
//! | `trusted_app` | the Skype for Business Trusted Application API's callbacks, each UCWA event handed to the sink as a CloudEvent (see `listen::trusted_app`) | Azure AD (the App ID URI as audience), or shared secrets | off (UCWA events carry no id) |
//!
//! Each route deduplicates in a namespace of its own (`dedup_namespace`, default
//! its name; the default route's is the one hookgate always used): a duplicate on
//! one route says nothing about another. Two routes given the same namespace
//! share it.

use std::fmt;
use std::path::Path;

use clap::builder::BoolishValueParser;
use serde::Deserialize;

use super::handshake::{self, HandshakeSettings};
use super::secrets::{self, AuthSettings};
use super::sink::{self, SinkSettings};
use super::value::{Scalar, parse_count, parse_size, text};
use super::{ConfigProblem, Describe, Env, exec, forward, nats, redis_stream, stdout};

/// The name of the route the flags describe.
pub(crate) const DEFAULT_ROUTE: &str = "default";

/// The most routes one process serves.
const MAX_ROUTES: usize = 64;

/// Who sends to a route, and so how it is received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum SenderKind {
    /// Any CloudEvents sender (Azure Event Grid included).
    #[default]
    CloudEvents,
    /// An Azure Web PubSub event handler.
    WebPubSub,
    /// The Trusted Application API's UCWA callbacks.
    TrustedApp,
}

impl SenderKind {
    const ALL: [(&'static str, Self); 3] = [
        ("cloudevents", Self::CloudEvents),
        ("webpubsub", Self::WebPubSub),
        ("trusted_app", Self::TrustedApp),
    ];

    fn parse(text: &str) -> Result<Self, ConfigProblem> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == text.trim())
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                ConfigProblem::new(
                    "sender",
                    format!("{text:?} is not a sender: give cloudevents, webpubsub or trusted_app"),
                )
            })
    }

    /// Its name in the configuration.
    pub(crate) fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("cloudevents", |(name, _)| name)
    }
}

impl fmt::Display for SenderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The default route's own flags (its handshake, authentication and sink flags are
/// their concerns').
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// Who sends to the path: `cloudevents` (any CloudEvents sender, Azure Event
    /// Grid included), `webpubsub` (an Azure Web PubSub event handler) or
    /// `trusted_app` (the Trusted Application API's callbacks) [default: cloudevents].
    #[arg(long, env = "HOOKGATE_SENDER", value_name = "KIND")]
    pub(crate) sender: Option<String>,

    /// Deduplicate by (source, id) [default: true, false for webpubsub and
    /// trusted_app].
    #[arg(long, env = "HOOKGATE_DEDUP", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub(crate) dedup: Option<bool>,

    /// The dedup namespace: routes with the same one share their duplicates
    /// [default: the route's own].
    #[arg(long, env = "HOOKGATE_DEDUP_NAMESPACE", value_name = "NAME")]
    pub(crate) dedup_namespace: Option<String>,
}

/// The keys of a route of its own, at the top level (the default route) and in a
/// `[[route]]` table.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    sender: Option<String>,
    dedup: Option<bool>,
    dedup_namespace: Option<String>,
}

/// One `[[route]]` table: its name, path and limits, and every route-scoped
/// concern's keys.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct Table {
    name: Option<String>,
    path: Option<String>,
    body_limit: Option<Scalar>,
    max_concurrency: Option<Scalar>,
    #[serde(flatten)]
    route: File,
    // Each concern flattened here, not in a struct of its own: a flattened struct
    // that flattens again would leave its keys to `unknown` too.
    #[serde(flatten)]
    handshake: handshake::File,
    #[serde(flatten)]
    secrets: secrets::File,
    #[serde(flatten)]
    sink: sink::File,
    #[serde(flatten)]
    stdout: stdout::File,
    #[serde(flatten)]
    exec: exec::File,
    #[serde(flatten)]
    forward: forward::File,
    #[serde(flatten)]
    redis_stream: redis_stream::File,
    #[serde(flatten)]
    nats: nats::File,
    /// What no key of a route took: refused, naming the key.
    #[serde(flatten)]
    unknown: toml::Table,
}

impl Table {
    /// The files these keys name are relative to the configuration file's `dir`.
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        self.secrets.relative_to(dir);
        self.redis_stream.relative_to(dir);
        self.nats.relative_to(dir);
    }
}

/// What a route is made of, flags and keys, as [`resolve`] takes them.
pub(crate) struct Sources<'a> {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) body_limit: usize,
    pub(crate) max_concurrency: usize,
    pub(crate) route: (Args, File),
    pub(crate) handshake: (handshake::Args, handshake::File),
    pub(crate) secrets: (secrets::Args, secrets::File),
    pub(crate) sink: sink::Sources<'a>,
    pub(crate) env: Env<'a>,
}

/// One route, checked.
#[derive(Clone, Debug)]
pub(crate) struct RouteSettings {
    /// `default` for the flags' route; a `[[route]]` table's `name`.
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) sender: SenderKind,
    pub(crate) handshake: HandshakeSettings,
    pub(crate) auth: AuthSettings,
    /// The dedup namespace, `None` when the route does not deduplicate (`""`: the
    /// default route's, the keys hookgate always used).
    pub(crate) dedup: Option<String>,
    pub(crate) body_limit: usize,
    /// How many deliveries the route's exec, forward or broker sink takes at once.
    pub(crate) max_concurrency: usize,
    pub(crate) sink: SinkSettings,
}

/// Checks one route's settings; a problem names the setting (the caller adds the
/// route).
pub(crate) fn resolve(sources: Sources<'_>) -> Result<RouteSettings, ConfigProblem> {
    let (args, file) = sources.route;
    let sender = args
        .sender
        .or(file.sender)
        .map(|s| SenderKind::parse(&s))
        .transpose()?
        .unwrap_or_default();
    let handshake = handshake::resolve(sources.handshake.0, sources.handshake.1)?;
    let warnings = &mut *sources.sink.warnings;
    let auth = secrets::resolve(sources.secrets.0, sources.secrets.1, sources.env, warnings)?;
    let sink = sink::resolve(sources.sink)?;
    let dedup_on = args.dedup.or(file.dedup);
    let namespace = args.dedup_namespace.or(file.dedup_namespace);
    let default = sources.name == DEFAULT_ROUTE;
    let dedup = match (sender, dedup_on) {
        (SenderKind::TrustedApp, Some(true)) => {
            return Err(ConfigProblem::new(
                "dedup",
                "a trusted_app route cannot deduplicate: UCWA events carry no id",
            ));
        }
        (SenderKind::TrustedApp, _) | (SenderKind::WebPubSub, None) | (_, Some(false)) => None,
        _ => Some(match namespace {
            Some(ns) => check_word("dedup_namespace", ns)?,
            None if default => String::new(),
            None => sources.name.clone(),
        }),
    };
    check_kind(sender, &handshake, &auth)?;
    Ok(RouteSettings {
        name: sources.name,
        path: sources.path,
        sender,
        handshake,
        auth,
        dedup,
        body_limit: sources.body_limit,
        max_concurrency: sources.max_concurrency,
        sink,
    })
}

/// What each kind of sender can use: a problem names the first setting that does
/// not fit.
fn check_kind(
    sender: SenderKind,
    handshake: &HandshakeSettings,
    auth: &AuthSettings,
) -> Result<(), ConfigProblem> {
    let refuse = |key: &'static str, why: &str| {
        Err(ConfigProblem::new(
            key,
            format!("does not apply to a {sender} route: {why}"),
        ))
    };
    match sender {
        // Web PubSub keys included, as the program's one route always took them.
        SenderKind::CloudEvents => {}
        SenderKind::WebPubSub => {
            let why = "Web PubSub signs its requests with the access keys (webpubsub_key_file)";
            if auth.codes.is_some() || auth.code_file.is_some() {
                return refuse("code_file", why);
            }
            if auth.code_dir.is_some() {
                return refuse("code_dir", why);
            }
            if auth.aad_authority.is_some() {
                return refuse("aad_authority", why);
            }
            if handshake.callback {
                return refuse("callback", "Web PubSub's handshake is answered at once");
            }
            if handshake.allow_origins.is_empty() {
                return Err(ConfigProblem::new(
                    "allow_origin",
                    "a webpubsub route grants the handshake to its resource: give its host \
                     (NAME.webpubsub.azure.com), or \"*\"",
                ));
            }
        }
        SenderKind::TrustedApp => {
            if auth.webpubsub_keys.is_some() || auth.webpubsub_key_file.is_some() {
                return refuse(
                    "webpubsub_key_file",
                    "the Trusted Application API sends an Azure AD token",
                );
            }
            if handshake.callback || !handshake.allow_origins.is_empty() {
                return refuse(
                    "allow_origin",
                    "the Trusted Application API makes no validation handshake",
                );
            }
        }
    }
    Ok(())
}

/// `text` when it is one word of `A-Z a-z 0-9 _ - .`, 1 to 64 characters (a
/// route's name is a metric label and part of the dedup keys).
fn check_word(key: &'static str, text: String) -> Result<String, ConfigProblem> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(text)
    } else {
        Err(ConfigProblem::new(
            key,
            format!("{text:?} is not one word of A-Z a-z 0-9 _ - . (1 to 64 characters)"),
        ))
    }
}

/// What a `[[route]]` table is made of, before [`resolve`]: its name, path and
/// limits checked (the limits default to the top level's).
pub(crate) fn table_sources<'a>(
    index: usize,
    table: Table,
    limits: (usize, usize),
    env: Env<'a>,
    warnings: &'a mut Vec<String>,
) -> Result<Sources<'a>, ConfigProblem> {
    let at = |p: ConfigProblem| p.in_route(&format!("#{}", index + 1));
    if let Some(key) = table.unknown.keys().next() {
        let why = if super::top_level_only(key) {
            format!("`{key}` is a setting of the whole process: put it above the [[route]] tables")
        } else {
            format!("unknown key `{key}` in a [[route]] table (see `hookgate config example`)")
        };
        return Err(at(ConfigProblem::new("route", why)));
    }
    let name = check_word(
        "name",
        table
            .name
            .ok_or_else(|| at(ConfigProblem::new("name", "every [[route]] needs a name")))?,
    )
    .map_err(at)?;
    let at = |p: ConfigProblem| p.in_route(&name);
    if name == DEFAULT_ROUTE {
        return Err(at(ConfigProblem::new(
            "name",
            "`default` is the name of the route the flags and top-level keys describe",
        )));
    }
    let path = table
        .path
        .ok_or_else(|| at(ConfigProblem::new("path", "every [[route]] needs a path")))?;
    let path = super::server::check_path(path).map_err(at)?;
    let body_limit =
        parse_size("body_limit", text(None, table.body_limit), limits.0).map_err(at)?;
    let max_concurrency = parse_count(
        "max_concurrency",
        text(None, table.max_concurrency),
        limits.1,
        1..=10_000,
    )
    .map_err(at)?;
    Ok(Sources {
        name,
        path,
        body_limit,
        max_concurrency,
        route: (Args::default(), table.route),
        handshake: (handshake::Args::default(), table.handshake),
        secrets: (secrets::Args::default(), table.secrets),
        sink: sink::Sources {
            shared: (sink::Args::default(), table.sink),
            stdout: (stdout::Args::default(), table.stdout),
            exec: (exec::Args::default(), table.exec),
            forward: (forward::Args::default(), table.forward),
            redis_stream: (redis_stream::Args::default(), table.redis_stream),
            nats: (nats::Args::default(), table.nats),
            env,
            warnings,
        },
        env,
    })
}

/// Which of the default route's settings are given, if any (by a flag, a
/// variable or a top-level key): with `[[route]]` tables and no `path` for it,
/// they would be ignored.
pub(crate) fn given(sources: &Sources<'_>) -> Option<&'static str> {
    let env_secret = [
        secrets::CODES_ENV,
        secrets::WEBPUBSUB_KEYS_ENV,
        nats::NATS_TOKEN_ENV,
    ]
    .iter()
    .any(|var| (sources.env)(var).is_some());
    let sink = &sources.sink;
    [
        (
            sources.route != (Args::default(), File::default()),
            "`sender` or `dedup`",
        ),
        (
            sources.handshake != Default::default(),
            "the handshake (allow_origin, rate, callback)",
        ),
        (
            sources.secrets != Default::default() || env_secret,
            "authentication",
        ),
        (
            sink.shared != Default::default()
                || sink.stdout != Default::default()
                || sink.exec != Default::default()
                || sink.forward != Default::default()
                || sink.redis_stream != Default::default()
                || sink.nats != Default::default(),
            "a sink",
        ),
    ]
    .into_iter()
    .find_map(|(set, what)| set.then_some(what))
}

/// Routes must be told apart by their names and their paths (as the router
/// matches them: `/a/{x}` and `/a/{y}` are one path).
pub(crate) fn check_all(routes: &[RouteSettings]) -> Result<(), ConfigProblem> {
    if routes.len() > MAX_ROUTES {
        return Err(ConfigProblem::new(
            "route",
            format!("at most {MAX_ROUTES} routes"),
        ));
    }
    let mut router = matchit::Router::new();
    for (i, route) in routes.iter().enumerate() {
        if let Some(other) = routes[..i].iter().find(|r| r.name == route.name) {
            return Err(ConfigProblem::new(
                "name",
                format!("two routes are named `{}`", other.name),
            )
            .in_route(&route.name));
        }
        if let Err(e) = router.insert(route.path.as_str(), i) {
            return Err(ConfigProblem::new(
                "path",
                format!(
                    "{:?} cannot be served beside the other routes: {e}",
                    route.path
                ),
            )
            .in_route(&route.name));
        }
    }
    Ok(())
}

impl RouteSettings {
    /// Its lines of `config check` (the caller heads them with the route).
    pub(crate) fn describe(&self, line: Describe<'_>) {
        line(
            "path",
            format!("POST {} ({} sender)", self.path, self.sender),
        );
        match self.sender {
            SenderKind::CloudEvents => self.handshake.describe(line),
            SenderKind::WebPubSub => line(
                "handshake",
                format!("granted to {}", self.handshake.allow_origins.join(", ")),
            ),
            SenderKind::TrustedApp => {}
        }
        self.auth.describe(line);
        line(
            "deduplicate",
            match &self.dedup {
                None => "off".to_owned(),
                Some(ns) if ns.is_empty() => "by (source, id), the default namespace".to_owned(),
                Some(ns) => format!("by (source, id), namespace `{ns}`"),
            },
        );
        line(
            "route_limits",
            format!(
                "bodies up to {} bytes; {} deliveries at once",
                self.body_limit, self.max_concurrency
            ),
        );
        self.sink.describe(line);
    }
}

/// The routes' part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# Who sends to `path`: cloudevents (any CloudEvents sender, Azure Event Grid
# included), webpubsub (an Azure Web PubSub event handler: binary mode, plain-text
# rejections, `allow_origin` its resource's host) or trusted_app (the Trusted
# Application API's callbacks, each UCWA event a CloudEvent for the sink).
# sender = "cloudevents"
# dedup = true                 # false by default for webpubsub and trusted_app
# dedup_namespace = ""         # routes with the same namespace share duplicates

# More routes in one process: one [[route]] table each, with a name (the `route`
# label of the metrics and spans), a path, a sender and the keys above for its
# handshake, authentication, sink and limits (body_limit and max_concurrency
# default to the top level's; nothing else is inherited). The keys of the whole
# process (bind, TLS, redis, lease, the log) stay at the top. With [[route]]
# tables, the route the flags describe is served only when `path` is given.
#
# [[route]]
#   name = "grid"
#   path = "/api/grid"
#   code_dir = "/run/secrets/grid-senders"
#   redis_stream = "redis://127.0.0.1:6379"
#   redis_stream_key = "events:grid"
#
# [[route]]
#   name = "chat"
#   path = "/eventhandler/{event}"
#   sender = "webpubsub"
#   allow_origin = ["chat.webpubsub.azure.com"]
#   webpubsub_key_file = "/run/secrets/webpubsub-keys"
#   forward = "http://127.0.0.1:9000/chat"
#
# [[route]]
#   name = "calls"
#   path = "/callbacks"
#   sender = "trusted_app"
#   aad_authority = "contoso.onmicrosoft.com"
#   aad_audience = ["api://contoso-calls"]
#   aad_app_id = ["00000000-0000-0000-0000-000000000000"]
#   exec = "/usr/local/bin/on-call-event"
"#;
