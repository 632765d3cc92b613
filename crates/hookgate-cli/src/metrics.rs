//! `GET /metrics`: counters in the Prometheus text format, names prefixed
//! `hookgate_`.
//!
//! | name | type | what |
//! |---|---|---|
//! | `hookgate_deliveries_accepted_total` | counter | deliveries acknowledged with a 2xx by the sink |
//! | `hookgate_events_accepted_total` | counter | events in them |
//! | `hookgate_deliveries_failed_total` | counter | deliveries the sink failed (503, claims released) |
//! | `hookgate_rejections_total{problem}` | counter | rejections by problem type (any step, and the sink's) |
//! | `hookgate_duplicates_total` | counter | events dropped as duplicates |
//! | `hookgate_in_flight` | gauge | deliveries being handled by the sink |
//! | `hookgate_handler_duration_seconds{sink}` | histogram | how long the handler took per admitted delivery (dedup claims and the sink) |
//!
//! The set of problem labels is bounded ([`MAX_PROBLEMS`]); further types are
//! counted under `problem="other"`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The most distinct problem types counted by name.
pub(crate) const MAX_PROBLEMS: usize = 64;

/// The upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// The counters of one `hookgate listen` process.
#[derive(Debug)]
pub(crate) struct Metrics {
    sink: &'static str,
    deliveries_accepted: AtomicU64,
    events_accepted: AtomicU64,
    deliveries_failed: AtomicU64,
    duplicates: AtomicU64,
    in_flight: AtomicU64,
    rejections: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    pub(crate) fn new(sink: &'static str) -> Self {
        Self {
            sink,
            deliveries_accepted: AtomicU64::new(0),
            events_accepted: AtomicU64::new(0),
            deliveries_failed: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            rejections: Mutex::new(BTreeMap::new()),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_count: AtomicU64::new(0),
            latency_sum_micros: AtomicU64::new(0),
        }
    }

    /// A delivery acknowledged with `events` events in it.
    pub(crate) fn accepted(&self, events: usize) {
        self.delivery();
        self.events(events);
    }

    /// A delivery acknowledged (its events counted with [`events`](Self::events)).
    pub(crate) fn delivery(&self) {
        self.deliveries_accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Events handed over and acknowledged.
    pub(crate) fn events(&self, events: usize) {
        if events > 0 {
            self.events_accepted
                .fetch_add(events as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn failed(&self) {
        self.deliveries_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn duplicates(&self, events: usize) {
        if events > 0 {
            self.duplicates.fetch_add(events as u64, Ordering::Relaxed);
        }
    }

    pub(crate) fn rejected(&self, problem_type: &str) {
        let mut map = self
            .rejections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = if map.contains_key(problem_type) || map.len() < MAX_PROBLEMS {
            problem_type
        } else {
            "other"
        };
        *map.entry(key.to_owned()).or_insert(0) += 1;
    }

    /// Counts a delivery in flight until the guard is dropped.
    pub(crate) fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    pub(crate) fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            );
        };
        counter(
            "hookgate_deliveries_accepted_total",
            "Deliveries acknowledged with a 2xx.",
            get(&self.deliveries_accepted),
        );
        counter(
            "hookgate_events_accepted_total",
            "Events in the deliveries acknowledged.",
            get(&self.events_accepted),
        );
        counter(
            "hookgate_deliveries_failed_total",
            "Deliveries the sink failed (answered 503, claims released).",
            get(&self.deliveries_failed),
        );
        counter(
            "hookgate_duplicates_total",
            "Events dropped as duplicates.",
            get(&self.duplicates),
        );
        let _ = write!(
            out,
            "# HELP hookgate_in_flight Deliveries being handled.\n# TYPE hookgate_in_flight gauge\nhookgate_in_flight {}\n",
            get(&self.in_flight)
        );
        out.push_str("# HELP hookgate_rejections_total Rejected requests by problem type.\n# TYPE hookgate_rejections_total counter\n");
        {
            let map = self
                .rejections
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (problem, n) in map.iter() {
                let _ = writeln!(
                    out,
                    "hookgate_rejections_total{{problem=\"{}\"}} {n}",
                    escape(problem)
                );
            }
        }
        let name = "hookgate_handler_duration_seconds";
        let _ = write!(
            out,
            "# HELP {name} How long the handler took per admitted delivery (dedup and sink).\n# TYPE {name} histogram\n"
        );
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "{name}_bucket{{sink=\"{}\",le=\"{bound}\"}} {}",
                self.sink,
                get(bucket)
            );
        }
        let count = get(&self.latency_count);
        let _ = writeln!(
            out,
            "{name}_bucket{{sink=\"{}\",le=\"+Inf\"}} {count}",
            self.sink
        );
        #[expect(
            clippy::cast_precision_loss,
            reason = "a sum of microseconds, shown in seconds"
        )]
        let sum = get(&self.latency_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{sink=\"{}\"}} {sum}", self.sink);
        let _ = writeln!(out, "{name}_count{{sink=\"{}\"}} {count}", self.sink);
        out
    }
}

/// A delivery in flight; see [`Metrics::in_flight`].
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A label value: `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts() {
        let m = Metrics::new("stdout");
        m.accepted(3);
        m.duplicates(2);
        m.rejected("urn:hookgate:problem:missing-attribute");
        m.observe(Duration::from_millis(3));
        {
            let _f = m.in_flight();
            assert!(m.render().contains("hookgate_in_flight 1\n"));
        }
        let text = m.render();
        assert!(text.contains("hookgate_deliveries_accepted_total 1\n"));
        assert!(text.contains("hookgate_events_accepted_total 3\n"));
        assert!(text.contains("hookgate_duplicates_total 2\n"));
        assert!(text.contains("hookgate_in_flight 0\n"));
        assert!(text.contains("problem=\"urn:hookgate:problem:missing-attribute\"} 1\n"));
        assert!(text.contains("le=\"0.0025\"} 0\n") && text.contains("le=\"0.005\"} 1\n"));
    }

    #[test]
    fn problem_labels_are_bounded() {
        let m = Metrics::new("stdout");
        for i in 0..(MAX_PROBLEMS + 10) {
            m.rejected(&format!("urn:x:{i}"));
        }
        let text = m.render();
        assert_eq!(
            text.matches("hookgate_rejections_total{").count(),
            MAX_PROBLEMS + 1
        );
        assert!(text.contains("problem=\"other\"} 10\n"));
    }
}
