//! The `stdout` sink, the default: one CloudEvents-JSON line per event. It has no
//! setting of its own yet; its flags and file keys go here.

use serde::Deserialize;

use super::ConfigProblem;

/// The stdout sink's flags (none yet).
#[derive(clap::Args, Debug, Default, Clone)]
#[group(skip)]
pub(crate) struct Args {}

/// The stdout sink's keys in the file (none yet).
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct File {}

/// The stdout sink's settings, checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StdoutSettings {}

pub(crate) fn resolve(_args: Args, _file: File) -> Result<StdoutSettings, ConfigProblem> {
    Ok(StdoutSettings {})
}

impl StdoutSettings {
    pub(crate) fn describe(&self) -> String {
        "stdout: one CloudEvents-JSON line per event".into()
    }
}

/// The stdout sink's part of `hookgate config example` (no key yet).
pub(crate) const EXAMPLE: &str = "";
