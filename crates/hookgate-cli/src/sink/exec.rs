//! The `exec` sink: runs a command per delivery (or per event) with the event JSON
//! on its stdin.
//!
//! - The command runs with `sh -c CMD`; its stdin is one line: the event in the
//!   CloudEvents JSON format, or a JSON array for a batch delivery, then `\n` (so
//!   that `cat >> events.jsonl` keeps one JSON document a line).
//! - Exit 0 acknowledges. Its stdout (at most the body limit) becomes the answer's
//!   body: `application/json` when it is JSON, `text/plain` otherwise; Web PubSub
//!   reads it for its synchronous events.
//! - A non-zero exit, a signal (a killed child), a spawn failure or the timeout fail
//!   the delivery: 503 with `Retry-After`, the claims released. On the timeout the
//!   command is killed; one whose request goes away (the sender hung up, a shutdown)
//!   is killed too. On Unix the command runs in a process group of its own, and the
//!   whole group is killed (`kill -KILL -- -PGID`), so that nothing it started
//!   lingers.
//! - Its stderr goes to the log, line by line (lines cut at 4 KiB).
//! - Its environment is not hookgate's (which holds `HOOKGATE_CODES` and other
//!   secrets): only `PATH`, `HOME`, `LANG`, `TZ` and the names given with
//!   `--exec-env` are passed on, when set. For a delivery of one event (always with
//!   `--per-event`) it also gets `CE_ID`, `CE_SOURCE`, `CE_TYPE` and `CE_SUBJECT`
//!   (unset when the event has no subject); a batch of several gets none of them.
//!   `WEBHOOK_SENDER` names the sender: the label of the shared secret it used, the
//!   Web PubSub host its key is bound to, or the Azure AD caller's application id;
//!   it is unset when there is none (no authentication, or a secret without a
//!   label: those of `HOOKGATE_CODES` and `--code-file`; a `--code-dir` sender's
//!   label is its file's name).

use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use hookgate::{CloudEvent, Mode, encode};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::Command;
use tracing::Instrument as _;

use super::Outcome;

/// The longest stderr line logged as one line.
const MAX_LINE: usize = 4096;

/// The variables a command gets from hookgate's own environment, besides those
/// named with `--exec-env`.
pub(crate) const PASSED_ENV: [&str; 4] = ["PATH", "HOME", "LANG", "TZ"];

/// Runs a command per delivery.
#[derive(Debug)]
pub(crate) struct ExecSink {
    command: String,
    timeout: Duration,
    /// The most stdout kept for the answer.
    limit: usize,
    /// What the command's environment starts from (taken at start): `PASSED_ENV`
    /// and the `--exec-env` names that are set.
    env: Vec<(String, std::ffi::OsString)>,
}

impl ExecSink {
    /// `passed`: the names of hookgate's environment the command gets (besides
    /// [`PASSED_ENV`]), their values taken now.
    pub(crate) fn new(command: String, timeout: Duration, limit: usize, passed: &[String]) -> Self {
        let env = PASSED_ENV
            .iter()
            .copied()
            .chain(passed.iter().map(String::as_str))
            .filter_map(|name| std::env::var_os(name).map(|value| (name.to_owned(), value)))
            .collect();
        Self {
            command,
            timeout,
            limit,
            env,
        }
    }

    /// Runs the command for `events`; `sender` is the sender's label, if any.
    pub(crate) async fn deliver(
        &self,
        mode: Mode,
        events: &[CloudEvent],
        sender: Option<&str>,
    ) -> Outcome {
        self.run(stdin_line(mode, events), &event_env(events, sender))
            .await
    }

    async fn run(&self, input: Bytes, vars: &[(&'static str, &str)]) -> Outcome {
        let mut command = shell(&self.command);
        // A cleared environment: hookgate's secrets (HOOKGATE_CODES, ...) stay here.
        command
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command.envs(vars.iter().copied());
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => return Outcome::Failed(format!("cannot start the command: {e}")),
        };
        // Kills the group unless the command ended by itself.
        let mut group = Group(child.id());
        // Stdin is written while stdout is read, so that neither pipe can fill and
        // stall the other; a command that does not read its stdin is no failure.
        let stdin = child.stdin.take();
        let write = async move {
            if let Some(mut stdin) = stdin {
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            }
        };
        let stdout = child.stdout.take();
        let read = read_bounded(stdout, self.limit);
        let stderr = child
            .stderr
            .take()
            .map(|stderr| tokio::spawn(log_lines(stderr).in_current_span()));
        let started = tokio::time::timeout(self.timeout, async {
            let ((), out, status) = tokio::join!(write, read, child.wait());
            (out, status)
        })
        .await;
        if matches!(started, Ok((_, Ok(_)))) {
            // Ended by itself: what it left running in the background is its own.
            group.0 = None;
        }
        let outcome = match started {
            Ok((out, Ok(status))) if status.success() => {
                let body = out.filter(|b| !b.is_empty()).map(|body| {
                    let content_type =
                        if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok() {
                            "application/json"
                        } else {
                            "text/plain; charset=utf-8"
                        };
                    (content_type.to_owned(), body)
                });
                Outcome::Ack {
                    status: 200,
                    body,
                    headers: http::HeaderMap::new(),
                }
            }
            Ok((_, Ok(status))) => Outcome::Failed(match status.code() {
                Some(code) => format!("the command exited with status {code}"),
                None => format!("the command was killed ({status})"),
            }),
            Ok((_, Err(e))) => Outcome::Failed(format!("cannot wait for the command: {e}")),
            Err(_) => {
                group.kill();
                let _ = child.start_kill();
                // Reap it (bounded: a killed process ends at once).
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                Outcome::Failed(format!(
                    "the command did not finish within {:?} and was killed",
                    self.timeout
                ))
            }
        };
        if let Some(task) = stderr {
            // A grandchild may hold stderr open: give the log a moment, no more.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(1), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        outcome
    }
}

/// The process group of a running command (its leader's pid); killed when dropped
/// armed.
#[derive(Debug)]
struct Group(Option<u32>);

impl Group {
    /// Kills every process of the group (Unix; elsewhere `kill_on_drop` kills the
    /// command itself).
    fn kill(&mut self) {
        let Some(pgid) = self.0.take() else { return };
        #[cfg(unix)]
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        #[cfg(not(unix))]
        let _ = pgid;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `sh -c CMD` (`cmd /C CMD` on Windows).
fn shell(command: &str) -> Command {
    #[cfg(unix)]
    {
        let mut c = Command::new("sh");
        c.arg("-c").arg(command);
        c
    }
    #[cfg(not(unix))]
    {
        let mut c = Command::new("cmd");
        c.arg("/C").arg(command);
        c
    }
}

/// Reads all of `pipe`, keeping at most `limit` bytes (the rest is drained, so
/// that the child does not block on a full pipe). `None` without a pipe.
/// The variables of a delivery of one event (`CE_ID`, `CE_SOURCE`, `CE_TYPE`,
/// `CE_SUBJECT` when it has one) and `WEBHOOK_SENDER` (when the sender has a
/// label); a value holding a NUL byte (which no environment can hold) is left out.
fn event_env<'a>(
    events: &'a [CloudEvent],
    sender: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut vars = Vec::with_capacity(5);
    if let [event] = events {
        vars.extend([
            ("CE_ID", event.id()),
            ("CE_SOURCE", event.source()),
            ("CE_TYPE", event.ty()),
        ]);
        if let Some(subject) = event.subject() {
            vars.push(("CE_SUBJECT", subject));
        }
    }
    if let Some(sender) = sender {
        vars.push(("WEBHOOK_SENDER", sender));
    }
    vars.retain(|(_, value)| !value.contains('\0'));
    vars
}

/// What the command reads: one JSON document and a line end, the event (binary or
/// structured) or the batch's array, so that `cat >> events.jsonl` keeps one
/// document a line.
fn stdin_line(mode: Mode, events: &[CloudEvent]) -> Bytes {
    let mut line = match (mode, events) {
        (Mode::Binary | Mode::Structured, [event]) => event.to_json().into_bytes(),
        _ => encode::batch(events).1.to_vec(),
    };
    line.push(b'\n');
    Bytes::from(line)
}

async fn read_bounded(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> Option<Bytes> {
    let mut pipe = pipe?;
    let mut kept = Vec::new();
    let mut buf = vec![0_u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    Some(Bytes::from(kept))
}

/// Logs each line of `pipe` (the command's stderr) as a warning.
async fn log_lines(mut pipe: impl AsyncRead + Unpin) {
    let mut line = Vec::new();
    let mut buf = vec![0_u8; 4096];
    let emit = |line: &mut Vec<u8>| {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end();
        if !text.is_empty() {
            tracing::warn!(target: "hookgate::exec", stderr = %text, "command stderr");
        }
        line.clear();
    };
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &byte in &buf[..n] {
            if byte == b'\n' {
                emit(&mut line);
            } else if line.len() < MAX_LINE {
                line.push(byte);
            }
        }
    }
    emit(&mut line);
}
