//! The `exec` sink: a command per delivery (or per event), the event JSON on its
//! stdin.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;
use super::sink::per;
use super::value::{Scalar, parse_duration, text};

/// The exec sink's flags.
#[derive(clap::Args, Debug, Default, Clone)]
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
}

/// The exec sink's keys in the file.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct File {
    pub(crate) exec: Option<String>,
    exec_timeout: Option<Scalar>,
}

/// The exec sink's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExecSettings {
    pub(crate) command: String,
    pub(crate) per_event: bool,
    pub(crate) timeout: Duration,
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
    }))
}

impl ExecSettings {
    pub(crate) fn describe(&self) -> String {
        format!(
            "exec `{}` per {}, timeout {:?}",
            self.command,
            per(self.per_event),
            self.timeout
        )
    }
}

/// The exec sink's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# exec = "jq -c . >> events.jsonl"   # run with sh -c, the event JSON on stdin; exit 0 acknowledges
# exec_timeout = "20s"
"#;
