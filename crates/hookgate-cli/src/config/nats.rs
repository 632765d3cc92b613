//! The `nats` sink: each event published to NATS JetStream, acknowledged by the
//! stream before the delivery is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::value::{Scalar, no_password_in_argv, parse_duration, redact_url, text};
use super::{ConfigProblem, Env, secret_file};

/// The variable that may hold the URL with a user and password.
const NATS_ENV: &str = "HOOKGATE_NATS";
/// The variable with a token.
pub(crate) const NATS_TOKEN_ENV: &str = "HOOKGATE_NATS_TOKEN";

/// The NATS sink's flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// Publish each event to NATS JetStream at this URL (`nats://` or `tls://`; a
    /// user and password only from HOOKGATE_NATS or the configuration file), with
    /// --nats-subject.
    #[arg(long, env = "HOOKGATE_NATS", value_name = "URL")]
    pub(crate) nats: Option<String>,

    /// The subject events are published to; `{type}` is replaced by the event's
    /// type (its dots separate tokens): `events.{type}`. A stream's subjects must
    /// cover it (with `{type}` as `>`) when hookgate starts.
    #[arg(long, env = "HOOKGATE_NATS_SUBJECT", value_name = "SUBJECT")]
    pub(crate) nats_subject: Option<String>,

    /// A NATS credentials file (a user JWT and its NKey seed); a secret file
    /// [default: none].
    #[arg(long, env = "HOOKGATE_NATS_CREDS", value_name = "FILE")]
    pub(crate) nats_creds: Option<PathBuf>,

    /// A file holding the NATS token; a secret file (or set HOOKGATE_NATS_TOKEN)
    /// [default: none].
    #[arg(long, env = "HOOKGATE_NATS_TOKEN_FILE", value_name = "FILE")]
    pub(crate) nats_token_file: Option<PathBuf>,

    /// A PEM file with the CA that signed a `tls://` server's certificate
    /// [default: the system's roots].
    #[arg(long, env = "HOOKGATE_NATS_CA", value_name = "FILE")]
    pub(crate) nats_ca: Option<PathBuf>,

    /// How long JetStream may take to acknowledge an event [default: 5s].
    #[arg(long, env = "HOOKGATE_NATS_TIMEOUT", value_name = "DURATION")]
    pub(crate) nats_timeout: Option<String>,
}

/// The NATS sink's keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    pub(crate) nats: Option<String>,
    nats_subject: Option<String>,
    nats_creds: Option<PathBuf>,
    nats_token_file: Option<PathBuf>,
    nats_ca: Option<PathBuf>,
    nats_timeout: Option<Scalar>,
}

impl File {
    /// Files the configuration file names are relative to it (`dir`).
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        for named in [
            &mut self.nats_creds,
            &mut self.nats_token_file,
            &mut self.nats_ca,
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

/// The NATS sink's settings, checked; the token is kept out of `Debug`.
#[derive(Clone)]
pub(crate) struct NatsSettings {
    pub(crate) url: reqwest::Url,
    pub(crate) subject: String,
    pub(crate) creds: Option<PathBuf>,
    pub(crate) token: Option<String>,
    pub(crate) ca: Option<PathBuf>,
    pub(crate) timeout: Duration,
}

impl std::fmt::Debug for NatsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSettings")
            .field("url", &redact_url(&self.url))
            .field("subject", &self.subject)
            .field("creds", &self.creds)
            .field("token", &self.token.as_ref().map(|_| "(redacted)"))
            .field("ca", &self.ca)
            .finish()
    }
}

impl PartialEq for NatsSettings {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url && self.subject == other.subject && self.timeout == other.timeout
    }
}

impl Eq for NatsSettings {}

/// The sink when `nats` is set; `warnings` gets the secret-file rule's.
pub(crate) fn resolve(
    args: Args,
    file: File,
    env: Env<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<NatsSettings>, ConfigProblem> {
    no_password_in_argv(
        "nats",
        args.nats.as_ref(),
        NATS_ENV,
        env,
        " or the configuration file",
    )?;
    let timeout = parse_duration(
        "nats_timeout",
        text(args.nats_timeout, file.nats_timeout),
        Duration::from_secs(5),
    )?;
    let subject = args.nats_subject.or(file.nats_subject);
    let creds = args.nats_creds.or(file.nats_creds);
    let token_file = args.nats_token_file.or(file.nats_token_file);
    let ca = args.nats_ca.or(file.nats_ca);
    let Some(url) = args.nats.or(file.nats) else {
        for (name, given) in [
            ("nats_subject", subject.is_some()),
            ("nats_creds", creds.is_some()),
            ("nats_token_file", token_file.is_some()),
            ("nats_ca", ca.is_some()),
        ] {
            if given {
                return Err(ConfigProblem::new(name, "needs nats (the URL)"));
            }
        }
        return Ok(None);
    };
    let url = reqwest::Url::parse(&url)
        .map_err(|e| ConfigProblem::new("nats", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "nats" | "tls") {
        return Err(ConfigProblem::new(
            "nats",
            "must be a nats:// or tls:// URL",
        ));
    }
    let subject = subject.ok_or_else(|| {
        ConfigProblem::new("nats_subject", "give the subject events are published to")
    })?;
    check_subject(&subject)?;
    if let Some(path) = &creds {
        let file = secret_file::read(path).map_err(|e| ConfigProblem::new("nats_creds", e))?;
        warnings.extend(file.warning);
    }
    let token = match (env(NATS_TOKEN_ENV), token_file) {
        (Some(_), Some(_)) => {
            return Err(ConfigProblem::new(
                "nats_token_file",
                format!("give either {NATS_TOKEN_ENV} or the file, not both"),
            ));
        }
        (Some(token), None) => Some(token.trim().to_owned()),
        (None, Some(path)) => {
            let file =
                secret_file::read(&path).map_err(|e| ConfigProblem::new("nats_token_file", e))?;
            warnings.extend(file.warning.clone());
            Some(file.entries().next().map(str::to_owned).ok_or_else(|| {
                ConfigProblem::new(
                    "nats_token_file",
                    format!("{} holds no token", path.display()),
                )
            })?)
        }
        (None, None) => None,
    };
    if ca.is_some() && url.scheme() != "tls" {
        return Err(ConfigProblem::new("nats_ca", "a CA needs a tls:// URL"));
    }
    Ok(Some(NatsSettings {
        url,
        subject,
        creds,
        token,
        ca,
        timeout,
    }))
}

/// A subject of tokens separated by dots, no wildcard, no space; `{type}` at most
/// once, as the last token.
fn check_subject(subject: &str) -> Result<(), ConfigProblem> {
    let bad = |why: &str| {
        Err(ConfigProblem::new(
            "nats_subject",
            format!("{subject:?} {why}"),
        ))
    };
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() {
            return bad("has an empty token");
        }
        if *token == "{type}" {
            if i + 1 != tokens.len() {
                return bad("may hold {type} only as its last token");
            }
            continue;
        }
        if token.contains(['*', '>', '{', '}'])
            || token.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return bad("is not a subject to publish to (no wildcard, space or brace)");
        }
    }
    Ok(())
}

impl NatsSettings {
    pub(crate) fn describe(&self) -> String {
        format!(
            "each event published to NATS JetStream at {} on {:?} (Nats-Msg-Id from sender, \
             source and id), timeout {:?}",
            redact_url(&self.url),
            self.subject,
            self.timeout
        )
    }
}

/// The NATS sink's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# nats = "nats://127.0.0.1:4222"        # a user and password: in HOOKGATE_NATS
# nats_subject = "events.{type}"         # a stream must cover it ("events.>")
# nats_creds = "/etc/hookgate/nats.creds"
# nats_token_file = "/run/secrets/nats-token"
# nats_ca = "/etc/hookgate/nats-ca.pem"   # with a tls:// URL
# nats_timeout = "5s"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_checked() {
        for good in ["events", "events.{type}", "a.b.c", "webhooks.in.{type}"] {
            assert!(check_subject(good).is_ok(), "{good}");
        }
        for bad in [
            "", "a..b", ".a", "a.", "a.*", "a.>", "{type}.a", "a b", "a.{x}",
        ] {
            assert!(check_subject(bad).is_err(), "{bad}");
        }
    }
}
