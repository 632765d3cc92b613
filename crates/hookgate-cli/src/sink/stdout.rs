//! The `stdout` sink: one CloudEvents-JSON line per event, flushed per delivery.

use std::io::Write as _;

use hookgate::CloudEvent;

use super::Outcome;

/// Prints events to stdout.
#[derive(Debug, Default)]
pub(crate) struct StdoutSink;

impl StdoutSink {
    /// Writes the delivery's lines at once (the lines of concurrent deliveries do not
    /// interleave) and flushes. A closed stdout fails the delivery (503): the events
    /// were not delivered.
    pub(crate) fn deliver(&self, events: &[CloudEvent]) -> Outcome {
        let mut text = String::with_capacity(events.len() * 256);
        for event in events {
            text.push_str(&event.to_json());
            text.push('\n');
        }
        let write = || {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        };
        // Writing may block (a slow pipe): off the async worker.
        match tokio::task::block_in_place(write) {
            Ok(()) => Outcome::Ack {
                status: 200,
                body: None,
            },
            Err(e) => Outcome::Failed(format!("cannot write to stdout: {e}")),
        }
    }
}
