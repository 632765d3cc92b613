//! Sender authentication: the shared secrets, the Web PubSub access keys and Azure
//! AD bearer tokens.
//!
//! Secrets are never taken from argv alone: `HOOKGATE_CODES` /
//! `HOOKGATE_WEBPUBSUB_KEYS` (comma lists) or a file named by `--code-file` /
//! `--webpubsub-key-file` (one per line, read by the [`secret_file`] rule). No
//! `Debug` output, log line or error message shows them.
//!
//! Those shared secrets are one sender without a label. `--code-dir DIR` adds
//! senders of their own: one file per sender, its name the sender's label, each
//! non-empty line (not a `#` comment) a secret of it, each file read by the
//! [`secret_file`] rule. Names starting with `.` are skipped and symlinks followed:
//! a Kubernetes secret volume (`..data` a symlinked directory, each key a symlink
//! into it) is read as it is mounted. The library scopes dedup keys by the label,
//! so a sender cannot claim, and so suppress, another's events. A label is the
//! file's name, one word (no space or control character); at most 256 senders. The
//! labels, never the secrets, appear in `config check` and the start-up log.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::value::list;
use super::{ConfigProblem, Describe, Env, secret_file};

/// The environment variable with the shared secrets (a comma list).
pub(crate) const CODES_ENV: &str = "HOOKGATE_CODES";
/// The environment variable with the Web PubSub access keys (a comma list).
pub(crate) const WEBPUBSUB_KEYS_ENV: &str = "HOOKGATE_WEBPUBSUB_KEYS";

/// The authentication flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// A file with the shared secrets accepted in `?code=`, `?access_token=` or
    /// `Authorization: Bearer`, one per line (or set HOOKGATE_CODES, a comma list).
    #[arg(long, env = "HOOKGATE_CODE_FILE", value_name = "FILE")]
    pub(crate) code_file: Option<PathBuf>,

    /// A directory with one file per sender: the file's name is the sender's label
    /// (its dedup namespace and WEBHOOK_SENDER), each line a secret of it. Names
    /// starting with `.` are skipped, symlinks followed (a Kubernetes secret
    /// volume). Combines with --code-file / HOOKGATE_CODES (one sender without a
    /// label) [default: none].
    #[arg(long, env = "HOOKGATE_CODE_DIR", value_name = "DIR")]
    pub(crate) code_dir: Option<PathBuf>,

    /// Accept the shared secrets in this request header too, its whole value the
    /// secret (Event Grid's delivery properties can add one): out of URLs and
    /// access logs. Never logged, never forwarded [default: none].
    #[arg(long, env = "HOOKGATE_SECRET_HEADER", value_name = "NAME")]
    pub(crate) secret_header: Option<String>,

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

    /// Accept Azure AD tokens of these applications only (`azp`/`appid`;
    /// repeatable or a comma list) [default: any].
    #[arg(
        long,
        env = "HOOKGATE_AAD_APP_ID",
        value_name = "APP_ID",
        value_delimiter = ','
    )]
    pub(crate) aad_app_id: Vec<String>,

    /// Accept Azure AD tokens of these tenants only (`tid`; repeatable or a comma
    /// list) [default: the authority's].
    #[arg(
        long,
        env = "HOOKGATE_AAD_TENANT",
        value_name = "TENANT_ID",
        value_delimiter = ','
    )]
    pub(crate) aad_tenant: Vec<String>,
}

/// The authentication keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    code_file: Option<PathBuf>,
    code_dir: Option<PathBuf>,
    secret_header: Option<String>,
    webpubsub_key_file: Option<PathBuf>,
    aad_authority: Option<String>,
    aad_audience: Option<Vec<String>>,
    aad_role: Option<Vec<String>>,
    aad_app_id: Option<Vec<String>>,
    aad_tenant: Option<Vec<String>>,
}

impl File {
    /// Files the configuration file names are relative to it (`dir`), not to the
    /// working directory.
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        for named in [
            &mut self.code_file,
            &mut self.code_dir,
            &mut self.webpubsub_key_file,
        ]
        .into_iter()
        .flatten()
        {
            if named.is_relative() {
                *named = dir.join(&*named);
            }
        }
    }
}

/// Authentication settings; the secrets themselves are kept out of `Debug`.
#[derive(Clone, Default)]
pub(crate) struct AuthSettings {
    pub(crate) codes: Option<Vec<String>>,
    /// Where the secrets came from, read again by [`reread`](Self::reread) (SIGHUP).
    pub(crate) code_file: Option<PathBuf>,
    pub(crate) code_dir: Option<PathBuf>,
    pub(crate) webpubsub_key_file: Option<PathBuf>,
    /// The senders of `--code-dir`: each label with its secrets, sorted by label.
    pub(crate) senders: Vec<Sender>,
    /// The header the shared secrets are accepted in too, when named.
    pub(crate) secret_header: Option<String>,
    pub(crate) webpubsub_keys: Option<Vec<String>>,
    pub(crate) aad_authority: Option<String>,
    pub(crate) aad_audiences: Vec<String>,
    pub(crate) aad_roles: Vec<String>,
    pub(crate) aad_app_ids: Vec<String>,
    pub(crate) aad_tenants: Vec<String>,
}

impl fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field("codes", &self.codes.as_ref().map(Vec::len))
            .field("code_file", &self.code_file)
            .field("code_dir", &self.code_dir)
            .field("webpubsub_key_file", &self.webpubsub_key_file)
            .field("senders", &self.senders)
            .field("secret_header", &self.secret_header)
            .field(
                "webpubsub_keys",
                &self.webpubsub_keys.as_ref().map(Vec::len),
            )
            .field("aad_authority", &self.aad_authority)
            .field("aad_audiences", &self.aad_audiences)
            .field("aad_roles", &self.aad_roles)
            .field("aad_app_ids", &self.aad_app_ids)
            .field("aad_tenants", &self.aad_tenants)
            .finish()
    }
}

impl AuthSettings {
    /// Whether any sender authentication is configured.
    pub(crate) fn any(&self) -> bool {
        self.codes.is_some()
            || !self.senders.is_empty()
            || self.webpubsub_keys.is_some()
            || self.aad_authority.is_some()
    }

    pub(crate) fn describe(&self, line: Describe<'_>) {
        let mut auth = Vec::new();
        if let Some(codes) = &self.codes {
            auth.push(format!("{} shared secret(s)", codes.len()));
        }
        if !self.senders.is_empty() {
            auth.push(format!("senders {}", self.sender_list()));
        }
        if let Some(keys) = &self.webpubsub_keys {
            auth.push(format!("{} Web PubSub key(s)", keys.len()));
        }
        if let Some(authority) = &self.aad_authority {
            let only = |what: &str, list: &[String]| {
                if list.is_empty() {
                    String::new()
                } else {
                    format!(" {what} {}", list.join(", "))
                }
            };
            auth.push(format!(
                "Azure AD from {authority} for {}{}{}{}",
                self.aad_audiences.join(", "),
                only("with role(s)", &self.aad_roles),
                only("of application(s)", &self.aad_app_ids),
                only("of tenant(s)", &self.aad_tenants),
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
    }
}

impl AuthSettings {
    /// These settings with their files read again (`--code-file`, `--code-dir`,
    /// `--webpubsub-key-file`), by the same rules as at the start; what came from
    /// the environment stays as it was. `warnings` gets the secret-file rule's.
    pub(crate) fn reread(&self, warnings: &mut Vec<String>) -> Result<Self, ConfigProblem> {
        let no_env = &|_: &str| None;
        let mut next = self.clone();
        if let Some(path) = &self.code_file {
            next.codes = secrets("code_file", CODES_ENV, Some(path.clone()), no_env, warnings)?;
        }
        if let Some(dir) = &self.code_dir {
            next.senders = senders(dir, warnings)?;
        }
        if let Some(path) = &self.webpubsub_key_file {
            next.webpubsub_keys = secrets(
                "webpubsub_key_file",
                WEBPUBSUB_KEYS_ENV,
                Some(path.clone()),
                no_env,
                warnings,
            )?;
        }
        Ok(next)
    }

    /// Whether a file gave secrets (something for SIGHUP to read again).
    pub(crate) fn has_files(&self) -> bool {
        self.code_file.is_some() || self.code_dir.is_some() || self.webpubsub_key_file.is_some()
    }

    /// The environment variables secrets came from: a running process cannot read
    /// them again.
    pub(crate) fn env_sources(&self) -> Vec<&'static str> {
        let mut vars = Vec::new();
        if self.codes.is_some() && self.code_file.is_none() {
            vars.push(CODES_ENV);
        }
        if self.webpubsub_keys.is_some() && self.webpubsub_key_file.is_none() {
            vars.push(WEBPUBSUB_KEYS_ENV);
        }
        vars
    }
}

/// A sender of `--code-dir`: its label (the file's name) and its secrets.
#[derive(Clone)]
pub(crate) struct Sender {
    pub(crate) label: String,
    pub(crate) secrets: Vec<String>,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} secret(s))", self.label, self.secrets.len())
    }
}

impl AuthSettings {
    /// The senders' labels and how many secrets each has (never a secret).
    pub(crate) fn sender_list(&self) -> String {
        let senders: Vec<String> = self.senders.iter().map(|s| format!("{s:?}")).collect();
        senders.join(", ")
    }

    /// The start-up log's line about the senders of `--code-dir` of `route`, if any.
    pub(crate) fn log_senders(&self, route: &str) {
        if !self.senders.is_empty() {
            tracing::info!(
                route,
                senders = %self.sender_list(),
                "{} labeled sender(s), each with its own dedup namespace",
                self.senders.len()
            );
        }
    }
}

/// The most senders a `--code-dir` may hold (each request's secret is compared with
/// every configured one).
const MAX_SENDERS: usize = 256;

/// `warnings` gets what the secret files' rule warns about.
pub(crate) fn resolve(
    args: Args,
    file: File,
    env: Env<'_>,
    warnings: &mut Vec<String>,
) -> Result<AuthSettings, ConfigProblem> {
    let code_file = args.code_file.or(file.code_file);
    let code_dir = args.code_dir.or(file.code_dir);
    let webpubsub_key_file = args.webpubsub_key_file.or(file.webpubsub_key_file);
    let auth = AuthSettings {
        codes: secrets("code_file", CODES_ENV, code_file.clone(), env, warnings)?,
        senders: match &code_dir {
            Some(dir) => senders(dir, warnings)?,
            None => Vec::new(),
        },
        secret_header: args.secret_header.or(file.secret_header),
        webpubsub_keys: secrets(
            "webpubsub_key_file",
            WEBPUBSUB_KEYS_ENV,
            webpubsub_key_file.clone(),
            env,
            warnings,
        )?,
        code_file,
        code_dir,
        webpubsub_key_file,
        aad_authority: args.aad_authority.or(file.aad_authority),
        aad_audiences: list(args.aad_audience, file.aad_audience),
        aad_roles: list(args.aad_role, file.aad_role),
        aad_app_ids: list(args.aad_app_id, file.aad_app_id),
        aad_tenants: list(args.aad_tenant, file.aad_tenant),
    };
    if auth.secret_header.is_some() && auth.codes.is_none() && auth.senders.is_empty() {
        return Err(ConfigProblem::new(
            "secret_header",
            "names where shared secrets come: give them too (HOOKGATE_CODES, code_file or code_dir)",
        ));
    }
    if auth.aad_authority.is_none()
        && !(auth.aad_audiences.is_empty()
            && auth.aad_roles.is_empty()
            && auth.aad_app_ids.is_empty()
            && auth.aad_tenants.is_empty())
    {
        return Err(ConfigProblem::new(
            "aad_authority",
            "is required with aad_audience, aad_role, aad_app_id or aad_tenant",
        ));
    }
    if auth.aad_authority.is_some() && auth.aad_audiences.is_empty() {
        return Err(ConfigProblem::new(
            "aad_audience",
            "give at least one audience with aad_authority",
        ));
    }
    Ok(auth)
}

/// A list of secrets from the variable `var` (a comma list) or the file `file` (one
/// per line; `#` starts a comment). The error never shows a secret.
fn secrets(
    key: &'static str,
    var: &str,
    file: Option<PathBuf>,
    env: Env<'_>,
    warnings: &mut Vec<String>,
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
            let file = secret_file::read(&path).map_err(|e| ConfigProblem::new(key, e))?;
            warnings.extend(file.warning.clone());
            (
                file.entries().map(str::to_owned).collect(),
                path.display().to_string(),
            )
        }
        (None, None) => return Ok(None),
    };
    checked(key, &whence, items).map(Some)
}

/// `items` unless there is none (a secret that was not injected) or more than 64.
fn checked(
    key: &'static str,
    whence: &str,
    items: Vec<String>,
) -> Result<Vec<String>, ConfigProblem> {
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
    Ok(items)
}

/// The senders of the directory `dir`: one per file (its name the label), each
/// file read by the [`secret_file`] rule; names starting with `.` are skipped (a
/// Kubernetes secret volume's `..data`), symlinks followed.
fn senders(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<Sender>, ConfigProblem> {
    let key = "code_dir";
    let shown = dir.display();
    let entries = std::fs::read_dir(dir)
        .map_err(|e| ConfigProblem::new(key, format!("cannot read {shown}: {e}")))?;
    let mut senders = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| ConfigProblem::new(key, format!("cannot read {shown}: {e}")))?;
        let name = entry.file_name();
        let Some(label) = name.to_str() else {
            return Err(ConfigProblem::new(
                key,
                format!("{shown} holds a file whose name is not UTF-8"),
            ));
        };
        if label.starts_with('.') {
            continue;
        }
        if let Some(bad) = label.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(ConfigProblem::new(
                key,
                format!("{shown}: the file name {label:?} holds {bad:?}: a label is one word"),
            ));
        }
        if senders.len() == MAX_SENDERS {
            return Err(ConfigProblem::new(
                key,
                format!("{shown} holds more than {MAX_SENDERS} senders"),
            ));
        }
        let path = entry.path();
        let file = secret_file::read(&path).map_err(|e| ConfigProblem::new(key, e))?;
        warnings.extend(file.warning.clone());
        let secrets = checked(
            key,
            &path.display().to_string(),
            file.entries().map(str::to_owned).collect(),
        )?;
        senders.push(Sender {
            label: label.to_owned(),
            secrets,
        });
    }
    if senders.is_empty() {
        // A volume that was not mounted must not switch authentication off.
        return Err(ConfigProblem::new(
            key,
            format!("{shown} is set but holds no sender's file"),
        ));
    }
    senders.sort_by(|a, b| a.label.cmp(&b.label));
    Ok(senders)
}

/// The authentication part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# Authentication. Without any of these, every sender is accepted (with a warning).
# Secrets are never written here: name a file (one secret per line; a relative
# path is relative to this file), or set HOOKGATE_CODES / HOOKGATE_WEBPUBSUB_KEYS
# (comma lists) in the environment.
# code_file = "/run/secrets/hookgate-codes"     # one sender, without a label
# code_dir = "/run/secrets/hookgate-senders"    # one file per sender, named by its label
# secret_header = "X-Webhook-Secret"            # the secrets in this header too (bare value)
# webpubsub_key_file = "/run/secrets/webpubsub-keys"
# aad_authority = "contoso.onmicrosoft.com"   # a tenant id, "organizations", "common" or a URL
# aad_audience = ["api://hookgate"]
# aad_role = []
# aad_app_id = []      # only tokens of these applications (azp/appid)
# aad_tenant = []      # only tokens of these tenants (tid)
"#;
