//! The `forward` sink: a POST per delivery (or per event) to a downstream URL.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;
use super::sink::per;
use super::value::{Scalar, no_password_in_argv, parse_duration, redact_url, text};

/// The forward sink's flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
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
}

/// The forward sink's keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    pub(crate) forward: Option<String>,
    forward_mode: Option<String>,
    forward_timeout: Option<Scalar>,
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

/// The forward sink's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ForwardSettings {
    pub(crate) url: reqwest::Url,
    pub(crate) mode: ForwardMode,
    pub(crate) per_event: bool,
    pub(crate) timeout: Duration,
}

/// The forward sink when `forward` is set.
pub(crate) fn resolve(
    args: Args,
    file: File,
    per_event: bool,
    env: super::Env<'_>,
) -> Result<Option<ForwardSettings>, ConfigProblem> {
    no_password_in_argv(
        "forward",
        args.forward.as_ref(),
        "HOOKGATE_FORWARD",
        env,
        " or the configuration file",
    )?;
    let timeout = parse_duration(
        "forward_timeout",
        text(args.forward_timeout, file.forward_timeout),
        Duration::from_secs(20),
    )?;
    let mode = match args.forward_mode.or(file.forward_mode).as_deref() {
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
    let Some(url) = args.forward.or(file.forward) else {
        return Ok(None);
    };
    let url = reqwest::Url::parse(&url)
        .map_err(|e| ConfigProblem::new("forward", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigProblem::new(
            "forward",
            "must be an http:// or https:// URL",
        ));
    }
    Ok(Some(ForwardSettings {
        url,
        mode,
        per_event,
        timeout,
    }))
}

impl ForwardSettings {
    pub(crate) fn describe(&self) -> String {
        format!(
            "forward to {} ({:?} mode) per {}, timeout {:?}",
            redact_url(&self.url),
            self.mode,
            per(self.per_event),
            self.timeout
        )
    }
}

/// The forward sink's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# forward = "http://127.0.0.1:9000/events"
# forward_mode = "same"              # same, structured or binary
# forward_timeout = "20s"
"#;
