//! `GET /metrics`: the `metrics` facade's recorder from `metrics-exporter-prometheus`,
//! rendered in the Prometheus text format. The program records its own series with
//! the library's names and labels (it deduplicates and hands over in its handler,
//! where the library's layer cannot see the outcome); the names are the facade's
//! (`hookgate.deliveries`), shown with Prometheus' naming (`hookgate_deliveries_total`).
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `hookgate_deliveries_total` | counter | `outcome`, `sender` | deliveries the handler answered: `accepted` (the sink acknowledged), `duplicate` (every event a duplicate: 200, nothing handed over), `refused` (a 4xx: the downstream's, or a claim refused), `failed` (a 5xx: the sink failed, busy, the dedup store down; claims released) |
//! | `hookgate_events_total` | counter | | events handed over and acknowledged |
//! | `hookgate_duplicates_total` | counter | | events dropped as duplicates |
//! | `hookgate_rejections_total` | counter | `problem_type`, `stage` | rejections by problem type and step (`handshake`, `auth`, `parse`, `dedup`, `handler`; `route` for another path) |
//! | `hookgate_deliveries_active` | gauge | | deliveries being handled |
//! | `hookgate_handler_duration_seconds` | histogram | `sink` | how long the handler took per admitted delivery (dedup claims and the sink) |
//!
//! `sender` is the configured label of the sender's secret or Web PubSub key, and
//! absent otherwise (never a value from the request). `problem_type` takes the
//! first [`MAX_PROBLEMS`] distinct types, then `other`.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The most distinct problem types counted by name.
pub(crate) const MAX_PROBLEMS: usize = 64;

/// The upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

/// The names, as recorded.
const DELIVERIES: &str = "hookgate.deliveries";
const EVENTS: &str = "hookgate.events";
const DUPLICATES: &str = "hookgate.duplicates";
const REJECTIONS: &str = "hookgate.rejections";
const ACTIVE: &str = "hookgate.deliveries.active";
const DURATION: &str = "hookgate.handler.duration";

/// What the handler made of a delivery (the `outcome` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Accepted,
    Duplicate,
    Refused,
    Failed,
}

impl Outcome {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
            Self::Failed => "failed",
        }
    }
}

/// The recorder, its series described: Prometheus naming (`_total`, `_seconds`),
/// histograms with [`BUCKETS`].
fn recorder() -> PrometheusRecorder {
    let recorder = PrometheusBuilder::new()
        .with_recommended_naming(true)
        .set_buckets(&BUCKETS)
        .expect("the buckets are not empty")
        .build_recorder();
    metrics::with_local_recorder(&recorder, describe);
    recorder
}

/// Installs the recorder for the process; its handle renders `/metrics`.
pub(crate) fn install() -> Result<PrometheusHandle, String> {
    let recorder = recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    // The series without labels exist from the start, at 0.
    for name in [EVENTS, DUPLICATES] {
        counter!(name).absolute(0);
    }
    gauge!(ACTIVE).set(0.0);
    Ok(handle)
}

fn describe() {
    describe_counter!(DELIVERIES, "Deliveries the handler answered, by outcome.");
    describe_counter!(EVENTS, "Events handed over and acknowledged.");
    describe_counter!(DUPLICATES, "Events dropped as duplicates.");
    describe_counter!(REJECTIONS, "Rejected requests by problem type and step.");
    describe_gauge!(ACTIVE, "Deliveries being handled.");
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "How long the handler took per admitted delivery (dedup and sink)."
    );
}

/// A delivery answered with `outcome`; `sender` is the sender's configured label.
pub(crate) fn delivery(outcome: Outcome, sender: Option<&str>) {
    match sender {
        Some(sender) => {
            counter!(DELIVERIES, "outcome" => outcome.as_str(), "sender" => sender.to_owned())
                .increment(1)
        }
        None => counter!(DELIVERIES, "outcome" => outcome.as_str()).increment(1),
    }
}

/// Events handed over and acknowledged.
pub(crate) fn events(events: usize) {
    if events > 0 {
        counter!(EVENTS).increment(events as u64);
    }
}

/// Events dropped as duplicates.
pub(crate) fn duplicates(events: usize) {
    if events > 0 {
        counter!(DUPLICATES).increment(events as u64);
    }
}

/// A rejection of `problem_type` at `stage`.
pub(crate) fn rejected(problem_type: &str, stage: &'static str) {
    static SEEN: ProblemTypes = ProblemTypes(Mutex::new(BTreeSet::new()));
    counter!(REJECTIONS, "problem_type" => SEEN.label(problem_type), "stage" => stage).increment(1);
}

/// The problem types counted by name.
#[derive(Debug)]
struct ProblemTypes(Mutex<BTreeSet<String>>);

impl ProblemTypes {
    /// `problem_type` while fewer than [`MAX_PROBLEMS`] distinct types were seen (or
    /// it is one of them), `other` after.
    fn label(&self, problem_type: &str) -> String {
        let mut seen = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() < MAX_PROBLEMS && !seen.contains(problem_type) {
            seen.insert(problem_type.to_owned());
        }
        if seen.contains(problem_type) {
            problem_type.to_owned()
        } else {
            "other".to_owned()
        }
    }
}

/// How long the handler of the `sink` took for one delivery.
pub(crate) fn handled(sink: &'static str, took: Duration) {
    metrics::histogram!(DURATION, "sink" => sink).record(took.as_secs_f64());
}

/// Counts a delivery being handled until dropped.
#[derive(Debug)]
pub(crate) struct Active(());

impl Active {
    pub(crate) fn enter() -> Self {
        gauge!(ACTIVE).increment(1.0);
        Self(())
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        gauge!(ACTIVE).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_with_prometheus_names() {
        let recorder = recorder();
        let text = metrics::with_local_recorder(&recorder, || {
            delivery(Outcome::Accepted, None);
            delivery(Outcome::Duplicate, Some("billing"));
            events(3);
            duplicates(2);
            rejected("urn:hookgate:problem:missing-attribute", "parse");
            handled("stdout", Duration::from_millis(3));
            let active = Active::enter();
            let during = recorder.handle().render();
            drop(active);
            assert!(
                during.contains("hookgate_deliveries_active 1\n"),
                "{during}"
            );
            recorder.handle().render()
        });
        for line in [
            "hookgate_deliveries_total{outcome=\"accepted\"} 1\n",
            "hookgate_deliveries_total{outcome=\"duplicate\",sender=\"billing\"} 1\n",
            "hookgate_events_total 3\n",
            "hookgate_duplicates_total 2\n",
            "hookgate_deliveries_active 0\n",
            "hookgate_rejections_total{problem_type=\"urn:hookgate:problem:missing-attribute\",stage=\"parse\"} 1\n",
            "hookgate_handler_duration_seconds_bucket{sink=\"stdout\",le=\"0.0025\"} 0\n",
            "hookgate_handler_duration_seconds_bucket{sink=\"stdout\",le=\"0.005\"} 1\n",
            "hookgate_handler_duration_seconds_count{sink=\"stdout\"} 1\n",
            "# TYPE hookgate_handler_duration_seconds histogram\n",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
    }

    #[test]
    fn problem_labels_are_bounded() {
        let seen = ProblemTypes(Mutex::new(BTreeSet::new()));
        let labels: BTreeSet<String> = (0..1000)
            .map(|i| seen.label(&format!("urn:x:{}", i % 500)))
            .collect();
        assert_eq!(labels.len(), MAX_PROBLEMS + 1);
        assert!(labels.contains("other"));
        // The first ones keep their name.
        assert_eq!(seen.label("urn:x:0"), "urn:x:0");
        assert_eq!(seen.label("urn:x:499"), "other");
    }
}
