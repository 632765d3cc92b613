//! The `stdout` sink, the default: one CloudEvents-JSON line per event, written by a
//! writer thread; `--stdout-timeout` bounds how long a delivery waits for it.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigProblem;
use super::value::{Scalar, parse_duration, text};
use crate::sink::stdout::DEFAULT_TIMEOUT;

/// The stdout sink's flags.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// How long a delivery waits for its lines to be written to stdout and flushed
    /// before it is answered 503 (its claims released): a stdout nobody reads stalls
    /// nothing else [default: 5s].
    #[arg(long, env = "HOOKGATE_STDOUT_TIMEOUT", value_name = "DURATION")]
    pub(crate) stdout_timeout: Option<String>,
}

/// The stdout sink's keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    stdout_timeout: Option<Scalar>,
}

/// The stdout sink's settings, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StdoutSettings {
    pub(crate) timeout: Duration,
}

pub(crate) fn resolve(args: Args, file: File) -> Result<StdoutSettings, ConfigProblem> {
    let timeout = parse_duration(
        "stdout_timeout",
        text(args.stdout_timeout, file.stdout_timeout),
        DEFAULT_TIMEOUT,
    )?;
    Ok(StdoutSettings { timeout })
}

impl StdoutSettings {
    pub(crate) fn describe(&self) -> String {
        format!(
            "stdout: one CloudEvents-JSON line per event, written within {:?}",
            self.timeout
        )
    }
}

/// The stdout sink's part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = "# stdout_timeout = \"5s\"              # a delivery whose lines are not written by then: 503\n";
