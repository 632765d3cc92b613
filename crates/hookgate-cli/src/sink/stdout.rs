//! The `stdout` sink: one CloudEvents-JSON line per event, flushed per delivery.

use std::io::Write as _;

use hookgate::CloudEvent;

use super::Outcome;

/// Prints events to stdout.
#[derive(Debug, Default)]
pub(crate) struct StdoutSink;

impl StdoutSink {
    /// Writes the delivery's lines at once (the lines of concurrent deliveries do not
    /// interleave) and flushes, before the delivery is acknowledged. The write is
    /// made in place: to a file, a terminal or a pipe that is read, it takes
    /// microseconds (moving it off the worker would cost more than it); a pipe that
    /// is not read holds the worker, and the sender's requests wait, which is the
    /// back-pressure a reader that cannot keep up should cause. A closed stdout
    /// fails the delivery (503): the events were not delivered.
    pub(crate) fn deliver(&self, events: &[CloudEvent]) -> Outcome {
        let mut text = String::with_capacity(events.len() * 256);
        for event in events {
            text.push_str(&event.to_json());
            text.push('\n');
        }
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => Outcome::Ack {
                status: 200,
                body: None,
            },
            Err(e) => Outcome::Failed(format!("cannot write to stdout: {e}")),
        }
    }
}
