//! Logging: the line format and the least level logged (on stderr).

use serde::Deserialize;

use super::{ConfigProblem, Describe};

/// The logging flags.
#[derive(clap::Args, Debug, Default, Clone)]
#[group(skip)]
pub(crate) struct Args {
    /// Log lines as `text` or `json` (on stderr) [default: text].
    #[arg(long, env = "HOOKGATE_LOG_FORMAT", value_name = "FORMAT")]
    pub(crate) log_format: Option<String>,

    /// The least level logged: error, warn, info, debug, trace [default: info].
    #[arg(long, env = "HOOKGATE_LOG_LEVEL", value_name = "LEVEL")]
    pub(crate) log_level: Option<String>,
}

/// The logging keys in the file.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct File {
    log_format: Option<String>,
    log_level: Option<String>,
}

/// The log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// The logging settings, checked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogSettings {
    pub(crate) format: LogFormat,
    pub(crate) level: tracing::Level,
}

pub(crate) fn resolve(args: Args, file: File) -> Result<LogSettings, ConfigProblem> {
    let format = match args.log_format.or(file.log_format).as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(ConfigProblem::new(
                "log_format",
                format!("{other:?} is not one of text, json"),
            ));
        }
    };
    let level = match args.log_level.or(file.log_level) {
        None => tracing::Level::INFO,
        Some(level) => level.parse().map_err(|_| {
            ConfigProblem::new(
                "log_level",
                format!("{level:?} is not one of error, warn, info, debug, trace"),
            )
        })?,
    };
    Ok(LogSettings { format, level })
}

impl LogSettings {
    pub(crate) fn describe(&self, line: Describe<'_>) {
        line("log", format!("{:?} at {}", self.format, self.level));
    }
}

/// The logging part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# Logs on stderr: "text" or "json"; the least level logged.
# log_format = "text"
# log_level = "info"
"#;
