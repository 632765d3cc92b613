//! Where accepted events go: the list of sinks ([`stdout`](super::stdout), the
//! default, [`exec`](super::exec), [`forward`](super::forward),
//! [`redis_stream`](super::redis_stream) and [`nats`](super::nats)), at most one of
//! them chosen, and the setting they share (`per_event`).
//!
//! A new sink is a file of its own (its flags, file keys, checks and example) and a
//! line in [`SinkSettings`], in [`resolve`]'s list, and in `ListenArgs` and
//! `FileSettings` (the flattened lists in `config/mod.rs`).

use std::time::Duration;

use clap::builder::BoolishValueParser;
use serde::Deserialize;

use super::exec::{self, ExecSettings};
use super::forward::{self, ForwardSettings};
use super::nats::{self, NatsSettings};
use super::redis_stream::{self, RedisStreamSettings};
use super::stdout::{self, StdoutSettings};
use super::{ConfigProblem, Describe};

/// The flags every sink but stdout shares.
#[derive(clap::Args, Debug, Default, Clone, PartialEq)]
#[group(skip)]
pub(crate) struct Args {
    /// With --exec or --forward: one process (or request) per event, each event's
    /// claim completed or released on its own; otherwise a batch goes as one.
    #[arg(long, env = "HOOKGATE_PER_EVENT", value_name = "BOOL", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub(crate) per_event: Option<bool>,
}

/// The shared sink keys in the file.
#[derive(Deserialize, Debug, Default, Clone, PartialEq)]
pub(crate) struct File {
    per_event: Option<bool>,
}

/// Where each accepted event goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SinkSettings {
    /// One CloudEvents-JSON line per event.
    Stdout(StdoutSettings),
    /// A command per delivery (or per event).
    Exec(ExecSettings),
    /// A POST per delivery (or per event) to a downstream URL.
    Forward(ForwardSettings),
    /// Each event added to a Redis stream, at most once.
    RedisStream(RedisStreamSettings),
    /// Each event published to NATS JetStream.
    Nats(NatsSettings),
}

/// Each sink's flags and keys, as `resolve` takes them.
pub(crate) struct Sources<'a> {
    pub(crate) shared: (Args, File),
    pub(crate) stdout: (stdout::Args, stdout::File),
    pub(crate) exec: (exec::Args, exec::File),
    pub(crate) forward: (forward::Args, forward::File),
    pub(crate) redis_stream: (redis_stream::Args, redis_stream::File),
    pub(crate) nats: (nats::Args, nats::File),
    /// The environment, to tell a URL given on the command line from its variable's.
    pub(crate) env: super::Env<'a>,
    /// What the secret-file rule warns about (a credentials file others can read).
    pub(crate) warnings: &'a mut Vec<String>,
}

/// The one sink chosen (stdout when no other is), checked.
pub(crate) fn resolve(sources: Sources<'_>) -> Result<SinkSettings, ConfigProblem> {
    let (args, file) = sources.shared;
    let per_event = args.per_event.or(file.per_event).unwrap_or(false);
    // Each sink but stdout: its name and, when it is chosen, its settings.
    let chosen: Vec<(&'static str, SinkSettings)> = [
        (
            "exec",
            exec::resolve(sources.exec.0, sources.exec.1, per_event)?.map(SinkSettings::Exec),
        ),
        (
            "forward",
            forward::resolve(sources.forward.0, sources.forward.1, per_event, sources.env)?
                .map(SinkSettings::Forward),
        ),
        (
            "redis_stream",
            redis_stream::resolve(sources.redis_stream.0, sources.redis_stream.1, sources.env)?
                .map(SinkSettings::RedisStream),
        ),
        (
            "nats",
            nats::resolve(
                sources.nats.0,
                sources.nats.1,
                sources.env,
                sources.warnings,
            )?
            .map(SinkSettings::Nats),
        ),
    ]
    .into_iter()
    .filter_map(|(name, sink)| sink.map(|sink| (name, sink)))
    .collect();
    let stdout = stdout::resolve(sources.stdout.0, sources.stdout.1)?;
    match <[_; 1]>::try_from(chosen) {
        Ok([(_, sink)]) => Ok(sink),
        Err(chosen) if chosen.is_empty() => Ok(SinkSettings::Stdout(stdout)),
        Err(chosen) => {
            let names: Vec<_> = chosen.iter().map(|(name, _)| *name).collect();
            Err(ConfigProblem::new(
                names[names.len() - 1],
                format!("give either {}, not both", names.join(" or ")),
            ))
        }
    }
}

impl SinkSettings {
    /// With `--per-event`: each event on its own.
    pub(crate) fn per_event(&self) -> bool {
        match self {
            Self::Stdout(_) | Self::RedisStream(_) | Self::Nats(_) => false,
            Self::Exec(exec) => exec.per_event,
            Self::Forward(forward) => forward.per_event,
        }
    }

    /// The longest a run of the sink may take, and the setting that says so.
    pub(crate) fn timeout(&self) -> Option<(&'static str, Duration)> {
        match self {
            Self::Stdout(_) => None,
            Self::Exec(exec) => Some(("exec_timeout", exec.timeout)),
            Self::Forward(forward) => Some(("forward_timeout", forward.timeout)),
            Self::RedisStream(stream) => Some(("redis_stream_timeout", stream.timeout)),
            Self::Nats(nats) => Some(("nats_timeout", nats.timeout)),
        }
    }

    pub(crate) fn describe(&self, line: Describe<'_>) {
        let value = match self {
            Self::Stdout(stdout) => stdout.describe(),
            Self::Exec(exec) => exec.describe(),
            Self::Forward(forward) => forward.describe(),
            Self::RedisStream(stream) => stream.describe(),
            Self::Nats(nats) => nats.describe(),
        };
        line("sink", value);
    }
}

/// The sinks' part of `hookgate config example`.
pub(crate) fn example() -> String {
    format!(
        "# Where events go: stdout (the default: one CloudEvents-JSON line per event),\n\
         # a command, a downstream URL, a Redis stream or NATS JetStream (one of them).\n{}{}{}{}{}\
         # per_event = false                  # one process/request per event instead of per delivery\n",
        stdout::EXAMPLE,
        exec::EXAMPLE,
        forward::EXAMPLE,
        redis_stream::EXAMPLE,
        nats::EXAMPLE
    )
}

/// "per event" or "per delivery", for `describe`.
pub(crate) fn per(per_event: bool) -> &'static str {
    if per_event { "event" } else { "delivery" }
}
