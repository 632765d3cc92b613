//! The `exec` sink: a command per delivery (or per event), the event JSON on its
//! stdin.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;
use super::sink::per;
use super::value::{Scalar, list, parse_duration, text};

/// The exec sink's flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// Run CMD (with `sh -c`) per delivery, the event JSON on its stdin; exit 0
    /// acknowledges. Without --exec or --forward, events are printed to stdout.
    #[arg(
        long,
        env = "HOOKGATE_EXEC",
        value_name = "CMD",
        conflicts_with = "forward"
    )]
    pub(crate) exec: Option<String>,

    /// How long CMD may run before it is killed and the delivery refused with 503
    /// [default: 20s].
    #[arg(long, env = "HOOKGATE_EXEC_TIMEOUT", value_name = "DURATION")]
    pub(crate) exec_timeout: Option<String>,

    /// A variable of hookgate's environment CMD gets too (repeatable or a comma
    /// list). CMD starts from a cleared environment: only PATH, HOME, LANG, TZ and
    /// these are passed on, plus CE_ID, CE_SOURCE, CE_TYPE, CE_SUBJECT for a
    /// delivery of one event, WEBHOOK_SENDER (the sender's label, when it has
    /// one) and TRACEPARENT/TRACESTATE; never HOOKGATE_* or OTEL_* [default: none].
    #[arg(
        long,
        env = "HOOKGATE_EXEC_ENV",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub(crate) exec_env: Vec<String>,
}

/// The exec sink's keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    pub(crate) exec: Option<String>,
    exec_timeout: Option<Scalar>,
    exec_env: Option<Vec<String>>,
}

/// The exec sink's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExecSettings {
    pub(crate) command: String,
    pub(crate) per_event: bool,
    pub(crate) timeout: Duration,
    /// The names of hookgate's environment passed on (besides PATH, HOME, LANG, TZ).
    pub(crate) env: Vec<String>,
}

/// The exec sink when `exec` is set.
pub(crate) fn resolve(
    args: Args,
    file: File,
    per_event: bool,
) -> Result<Option<ExecSettings>, ConfigProblem> {
    let timeout = parse_duration(
        "exec_timeout",
        text(args.exec_timeout, file.exec_timeout),
        Duration::from_secs(20),
    )?;
    let env = list(args.exec_env, file.exec_env)
        .into_iter()
        .map(|name| name.trim().to_owned())
        .collect::<Vec<_>>();
    if let Some(bad) = env.iter().find(|name| {
        name.is_empty()
            || name.starts_with(|c: char| c.is_ascii_digit())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) {
        return Err(ConfigProblem::new(
            "exec_env",
            format!("{bad:?} is not a variable name (letters, digits and _)"),
        ));
    }
    if let Some(own) = env.iter().find(|name| {
        let name = name.to_ascii_uppercase();
        name.starts_with("HOOKGATE_") || name.starts_with("OTEL_")
    }) {
        return Err(ConfigProblem::new(
            "exec_env",
            format!("{own} is hookgate's own (its settings and secrets are not passed on)"),
        ));
    }
    if let Some(set) = env.iter().find(|name| {
        matches!(
            name.to_ascii_uppercase().as_str(),
            "TRACEPARENT" | "TRACESTATE"
        )
    }) {
        return Err(ConfigProblem::new(
            "exec_env",
            format!("{set} is set by hookgate for each delivery (the trace context)"),
        ));
    }
    let Some(command) = args.exec.or(file.exec) else {
        return Ok(None);
    };
    if command.trim().is_empty() {
        return Err(ConfigProblem::new("exec", "the command is empty"));
    }
    Ok(Some(ExecSettings {
        command,
        per_event,
        timeout,
        env,
    }))
}

impl ExecSettings {
    pub(crate) fn describe(&self) -> String {
        let mut passed = crate::sink::exec::PASSED_ENV.to_vec();
        passed.extend(self.env.iter().map(String::as_str));
        format!(
            "exec `{}` per {}, timeout {:?}, environment {}",
            self.command,
            per(self.per_event),
            self.timeout,
            passed.join(", ")
        )
    }
}

/// The exec sink's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# exec = "jq -c . >> events.jsonl"   # run with sh -c, the event JSON on stdin; exit 0 acknowledges
# exec_timeout = "20s"
# exec_env = []                      # names passed on besides PATH, HOME, LANG, TZ
"#;
