//! The `stdout` sink: one CloudEvents-JSON line per event, written by a dedicated
//! thread.
//!
//! A stdout that nobody reads (a full pipe) blocks its writer. The write used to be
//! made in place, on the runtime's worker threads, so a stalled pipe froze
//! everything else: `/healthz`, `/metrics`, the shutdown. Now one writer thread
//! owns stdout: a delivery hands its lines to it through a bounded queue and waits
//! for the written-and-flushed answer at most `--stdout-timeout` (default 5 s).
//! Past that, the delivery fails (503 with `Retry-After`, its claims released) and
//! its lines, if still queued, are dropped unwritten; the runtime goes on. A line
//! the writer had already begun when the time ran out may still be written: the
//! sender's retry then prints the event again (at least once, never lost).
//!
//! The lines of one delivery are written with one `write_all` and flushed, so the
//! lines of concurrent deliveries never interleave. A closed stdout fails the
//! delivery (503): the events were not delivered.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hookgate::CloudEvent;
use tokio::sync::{mpsc, oneshot};

use super::{Handoff, Outcome, Sink};

/// The default of `--stdout-timeout`.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Deliveries waiting for the writer at most; more wait for a place (within their
/// timeout).
const QUEUE: usize = 1024;

/// One delivery's lines for the writer, and where to say how it went.
struct Job {
    text: String,
    /// Set by a delivery that gave up waiting: its lines are not written.
    abandoned: Arc<AtomicBool>,
    done: oneshot::Sender<std::io::Result<()>>,
}

/// Prints events to stdout through its writer thread.
#[derive(Debug)]
pub(crate) struct StdoutSink {
    jobs: mpsc::Sender<Job>,
    timeout: Duration,
}

impl StdoutSink {
    /// Starts the writer thread on the process's stdout.
    pub(crate) fn new(timeout: Duration) -> std::io::Result<Self> {
        Self::with_writer(std::io::stdout(), timeout)
    }

    /// Starts the writer thread on `out` (tests give a writer that stalls).
    pub(crate) fn with_writer(
        mut out: impl Write + Send + 'static,
        timeout: Duration,
    ) -> std::io::Result<Self> {
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE);
        std::thread::Builder::new()
            .name("hookgate-stdout".into())
            .spawn(move || {
                // Ends when every sender is gone (the sink dropped).
                while let Some(job) = queue.blocking_recv() {
                    if job.abandoned.load(Ordering::Acquire) {
                        continue;
                    }
                    let written = out
                        .write_all(job.text.as_bytes())
                        .and_then(|()| out.flush());
                    let _ = job.done.send(written);
                }
            })?;
        Ok(Self { jobs, timeout })
    }

    /// Hands the delivery's lines to the writer and waits, within the timeout, for
    /// them to be written and flushed.
    async fn write(&self, events: &[CloudEvent]) -> Outcome {
        let mut text = String::with_capacity(events.len() * 256);
        for event in events {
            text.push_str(&event.to_json());
            text.push('\n');
        }
        let abandoned = Arc::new(AtomicBool::new(false));
        let (done, written) = oneshot::channel();
        let job = Job {
            text,
            abandoned: Arc::clone(&abandoned),
            done,
        };
        let wait = async {
            self.jobs
                .send(job)
                .await
                .map_err(|_| std::io::Error::other("the stdout writer stopped"))?;
            written
                .await
                .map_err(|_| std::io::Error::other("the stdout writer stopped"))?
        };
        match tokio::time::timeout(self.timeout, wait).await {
            Ok(Ok(())) => Outcome::Ack {
                status: 200,
                body: None,
                headers: http::HeaderMap::new(),
            },
            Ok(Err(e)) => Outcome::Failed(format!("cannot write to stdout: {e}")),
            Err(_) => {
                abandoned.store(true, Ordering::Release);
                Outcome::Failed(format!(
                    "stdout took more than {} ms to take the events (is its reader stalled?)",
                    self.timeout.as_millis()
                ))
            }
        }
    }
}

#[async_trait::async_trait]
impl Sink for StdoutSink {
    fn name(&self) -> &'static str {
        "stdout"
    }

    fn bounded(&self) -> bool {
        false
    }

    async fn deliver(&self, handoff: &Handoff<'_>) -> Outcome {
        self.write(handoff.events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A stdout whose reader is stalled until the gate opens; what it wrote.
    #[derive(Clone, Default)]
    struct Gated {
        open: Arc<(Mutex<bool>, std::sync::Condvar)>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Gated {
        fn open(&self) {
            *self.open.0.lock().unwrap() = true;
            self.open.1.notify_all();
        }
        fn text(&self) -> String {
            String::from_utf8(self.written.lock().unwrap().clone()).unwrap()
        }
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let (lock, wake) = &*self.open;
            let mut open = lock.lock().unwrap();
            while !*open {
                open = wake.wait(open).unwrap();
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn event(id: &str) -> CloudEvent {
        CloudEvent::new(id, "/s", "t")
    }

    #[tokio::test]
    async fn lines_are_written_and_acknowledged() {
        let out = Gated::default();
        out.open();
        let sink = StdoutSink::with_writer(out.clone(), DEFAULT_TIMEOUT).unwrap();
        let outcome = sink.write(&[event("1"), event("2")]).await;
        assert!(
            matches!(outcome, Outcome::Ack { status: 200, .. }),
            "{outcome:?}"
        );
        let text = out.text();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.ends_with('\n'));
    }

    #[tokio::test]
    async fn a_stalled_stdout_fails_deliveries_in_time_and_writes_no_abandoned_line() {
        let out = Gated::default();
        let timeout = Duration::from_millis(200);
        let sink = StdoutSink::with_writer(out.clone(), timeout).unwrap();
        let started = std::time::Instant::now();
        // The first is taken by the writer, which blocks; the second waits queued.
        let (a, b) = ([event("a")], [event("b")]);
        let (first, second) = tokio::join!(sink.write(&a), async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            sink.write(&b).await
        });
        assert!(matches!(first, Outcome::Failed(_)), "{first:?}");
        assert!(
            matches!(second, Outcome::Failed(ref why) if why.contains("stalled")),
            "{second:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        // The reader comes back: the line being written goes out, the abandoned
        // queued one does not, and new deliveries are acknowledged again.
        out.open();
        let third = sink.write(&[event("c")]).await;
        assert!(matches!(third, Outcome::Ack { .. }), "{third:?}");
        let text = out.text();
        assert!(
            text.contains(r#""id":"a""#) && text.contains(r#""id":"c""#),
            "{text}"
        );
        assert!(!text.contains(r#""id":"b""#), "{text}");
    }
}
