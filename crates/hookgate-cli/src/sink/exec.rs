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
//! - Its stderr goes to the log, line by line (lines cut at 4 KiB), every control
//!   or other unprintable character escaped (`\u{1b}`, `\t`; a backslash doubled),
//!   at most 64 KiB of log text per run; then one line says how many bytes were
//!   left out.
//! - The answer follows the command's exit, not its pipes: when it exits, what is
//!   in its stdout and stderr already is read and the pipes closed, so a command
//!   that leaves a process in the background holding them (`sleep 30 & echo ok`)
//!   is answered at once with what it wrote.
//! - Its environment is not hookgate's (which holds `HOOKGATE_CODES` and other
//!   secrets): only `PATH`, `HOME`, `LANG`, `TZ` and the names given with
//!   `--exec-env` are passed on, when set. For a delivery of one event (always with
//!   `--per-event`) it also gets `CE_ID`, `CE_SOURCE`, `CE_TYPE` and `CE_SUBJECT`
//!   (unset when the event has no subject); a batch of several gets none of them.
//!   `WEBHOOK_SENDER` names the sender: the label of the shared secret it used, the
//!   Web PubSub host its key is bound to, or the Azure AD caller's application id;
//!   it is unset when there is none (no authentication, or a secret without a
//!   label: those of `HOOKGATE_CODES` and `--code-file`; a `--code-dir` sender's
//!   label is its file's name). `TRACEPARENT` (and `TRACESTATE`) carry the trace
//!   on, OpenTelemetry's environment carrier: hookgate's span as the parent, or,
//!   with tracing off, the sender's headers unchanged. No other `OTEL_*` variable
//!   reaches the command (`OTEL_EXPORTER_OTLP_HEADERS` is a secret), and
//!   `--exec-env` cannot name one.

use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use hookgate::{CloudEvent, Mode, encode};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWriteExt as _, ReadBuf};
use tokio::process::Command;
use tokio::sync::watch;

use super::{DeliveryContext, Handoff, Outcome, Sink};

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

#[async_trait::async_trait]
impl Sink for ExecSink {
    fn name(&self) -> &'static str {
        "exec"
    }

    async fn deliver(&self, handoff: &Handoff<'_>) -> Outcome {
        self.send(handoff.mode, handoff.events, handoff.context)
            .await
    }
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

    /// Runs the command for `events`.
    async fn send(
        &self,
        mode: Mode,
        events: &[CloudEvent],
        context: &DeliveryContext<'_>,
    ) -> Outcome {
        let trace = context.trace_headers();
        let mut vars = event_env(events, context.sender);
        for (name, var) in [("traceparent", "TRACEPARENT"), ("tracestate", "TRACESTATE")] {
            if let Some(value) = trace.get(name).and_then(|v| v.to_str().ok()) {
                vars.push((var, value));
            }
        }
        self.run(stdin_line(mode, events), &vars).await
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
        // Its pipes are read until their end or, once it has exited, for what is
        // in them already: a process it left in the background may hold them open.
        let (exited, exit) = watch::channel(false);
        // Stdin is written while stdout is read, so that neither pipe can fill and
        // stall the other; a command that does not read its stdin is no failure,
        // and its exit ends the writing (a process in the background may hold
        // stdin without reading it).
        let stdin = child.stdin.take();
        let mut stdin_exit = exit.clone();
        let write = async move {
            if let Some(mut stdin) = stdin {
                tokio::select! {
                    _ = async {
                        let _ = stdin.write_all(&input).await;
                        let _ = stdin.shutdown().await;
                    } => {}
                    _ = stdin_exit.wait_for(|exited| *exited) => {}
                }
            }
        };
        let stdout = child.stdout.take();
        let limit = self.limit;
        let read = async {
            let mut kept = Vec::new();
            let had_pipe = stdout.is_some();
            pump(stdout, exit.clone(), |bytes| {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
            })
            .await;
            had_pipe.then(|| Bytes::from(kept))
        };
        let stderr = child.stderr.take();
        let log = async {
            let mut log = StderrLog::default();
            pump(stderr, exit.clone(), |bytes| log.push(bytes)).await;
        };
        let wait = async {
            let status = child.wait().await;
            let _ = exited.send(true);
            status
        };
        let started = tokio::time::timeout(self.timeout, async {
            let ((), out, (), status) = tokio::join!(write, read, log, wait);
            (out, status)
        })
        .await;
        if matches!(started, Ok((_, Ok(_)))) {
            // Ended by itself: what it left running in the background is its own.
            group.0 = None;
        }
        match started {
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
        }
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

/// The variables of a delivery of one event (`CE_ID`, `CE_SOURCE`, `CE_TYPE`,
/// `CE_SUBJECT` when it has one) and `WEBHOOK_SENDER` (when the sender has a
/// label); a value holding a NUL byte (which no environment can hold) is left out.
fn event_env<'a>(
    events: &'a [CloudEvent],
    sender: Option<&'a str>,
) -> Vec<(&'static str, &'a str)> {
    let mut vars = Vec::with_capacity(7);
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

/// Hands what comes out of `pipe` to `take` until its end, or, once `exit` turns
/// true (the command exited), what is in it already: a process the command left
/// in the background may hold the pipe open for as long as it runs, and the
/// command's answer does not wait for it. `take` gets everything read, so that
/// the command never blocks on a full pipe.
async fn pump(
    pipe: Option<impl AsyncRead + Unpin>,
    mut exit: watch::Receiver<bool>,
    mut take: impl FnMut(&[u8]),
) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0_u8; 8192];
    loop {
        tokio::select! {
            biased;
            read = pipe.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => take(&buf[..n]),
            },
            _ = exit.wait_for(|exited| *exited) => break,
        }
    }
    // Everything the command wrote before it exited is in the pipe, and the pipe
    // was seen readable before the exit was: read while a read is ready at once
    // (bounded, in case something in the background keeps writing), then close.
    for _ in 0..DRAIN_READS {
        match read_now(&mut pipe, &mut buf) {
            Some(Ok(n)) if n > 0 => take(&buf[..n]),
            _ => return,
        }
    }
}

/// The most reads of a pipe after the command exited (8 KiB each).
const DRAIN_READS: usize = 256;

/// One read of `pipe` if it is ready now, without waiting.
fn read_now(pipe: &mut (impl AsyncRead + Unpin), buf: &mut [u8]) -> Option<std::io::Result<usize>> {
    let mut cx = Context::from_waker(Waker::noop());
    let mut filled = ReadBuf::new(buf);
    match Pin::new(pipe).poll_read(&mut cx, &mut filled) {
        Poll::Ready(Ok(())) => Some(Ok(filled.filled().len())),
        Poll::Ready(Err(e)) => Some(Err(e)),
        Poll::Pending => None,
    }
}

/// The most of a command's stderr logged per run (64 KiB of log text).
const STDERR_LIMIT: usize = 64 * 1024;

/// A command's stderr on its way to the log: one warning per line (cut at
/// [`MAX_LINE`] bytes), control and other unprintable characters escaped (a line
/// cannot move the cursor, change colours or forge another log line), at most
/// [`STDERR_LIMIT`] of log text per run; when dropped, one line says how many
/// bytes were left out.
#[derive(Debug)]
struct StderrLog {
    line: Vec<u8>,
    /// The log text still allowed.
    room: usize,
    /// The bytes of stderr left out.
    dropped: u64,
}

impl Default for StderrLog {
    fn default() -> Self {
        Self {
            line: Vec::new(),
            room: STDERR_LIMIT,
            dropped: 0,
        }
    }
}

impl StderrLog {
    fn push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.room == 0 {
                self.dropped += bytes.len() as u64;
                return;
            }
            let (part, newline) = match bytes.iter().position(|&b| b == b'\n') {
                Some(at) => (&bytes[..at], 1),
                None => (bytes, 0),
            };
            bytes = &bytes[part.len() + newline..];
            let take = part.len().min(MAX_LINE.saturating_sub(self.line.len()));
            self.line.extend_from_slice(&part[..take]);
            self.dropped += (part.len() - take) as u64;
            if newline == 1 {
                self.emit(1);
            }
        }
    }

    /// Logs the line so far (`newline`: the line end's bytes), if it is not blank
    /// and fits.
    fn emit(&mut self, newline: u64) {
        let text = String::from_utf8_lossy(&self.line);
        let text = escape(text.trim_end());
        if text.len() > self.room {
            // The log keeps a prefix of stderr: nothing after the first line left out.
            self.room = 0;
            self.dropped += self.line.len() as u64 + newline;
        } else if !text.is_empty() {
            self.room -= text.len();
            tracing::warn!(target: "hookgate::exec", stderr = %text, "command stderr");
        }
        self.line.clear();
    }
}

impl Drop for StderrLog {
    fn drop(&mut self) {
        if !self.line.is_empty() {
            self.emit(0);
        }
        if self.dropped > 0 {
            tracing::warn!(
                target: "hookgate::exec",
                dropped_bytes = self.dropped,
                "{} bytes of the command's stderr were not logged (at most 64 KiB a run, \
                 lines cut at 4 KiB)",
                self.dropped
            );
        }
    }
}

/// `text` with every unprintable character escaped as Rust does (`\u{1b}`, `\t`)
/// and backslashes doubled, so that an escape in the log is always hookgate's;
/// quotes are kept as they are.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '"' || c == '\'' {
            out.push(c);
        } else {
            out.extend(c.escape_debug());
        }
    }
    out
}
