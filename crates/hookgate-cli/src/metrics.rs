//! `GET /metrics`: the `metrics` facade's recorder from `metrics-exporter-prometheus`,
//! rendered in the Prometheus text format. The series are the library's
//! (`hookgate::observe`, recorded by the webhook layer under each route's name:
//! `default` for the flags' route), shown
//! with Prometheus' naming (`hookgate.deliveries` as `hookgate_deliveries_total`),
//! and the program's rejections of other paths.
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `hookgate_deliveries_total` | counter | `outcome`, `route`, `sender` | requests the layer answered: `accepted` (a 2xx: the sink acknowledged), `duplicate` (every event a duplicate: 200, nothing handed over), `refused` (any other status: a step's refusal, a downstream's 4xx, the sink failed or busy), `handshake` |
//! | `hookgate_events_total` | counter | `route`, `sender` | events of the deliveries the sink acknowledged (duplicates left out) |
//! | `hookgate_duplicates_total` | counter | `route`, `sender` | events dropped as duplicates |
//! | `hookgate_rejections_total` | counter | `problem_type`, `stage`, `route` | rejections by problem type and step (`handshake`, `auth`, `parse`, `dedup`, `handler` — the sink's `sink-failed` and `busy` among them —; `route` for another path) |
//! | `hookgate_deliveries_active` | gauge | `route` | deliveries being handled |
//! | `hookgate_handler_duration_seconds` | histogram | `outcome`, `route` | how long the handler took per admitted delivery (the sink, and settling the claims) |
//!
//! | `hookgate_reloads_total` | counter | `what` (`tls`, `secrets`), `result` (`ok`, `failed`) | loads of the TLS pair and of the secret files: at the start, on SIGHUP, and (TLS) when the poll saw a file change |
//! | `hookgate_loaded_timestamp_seconds` | gauge | `what` | when each was last loaded (Unix time) |
//! | `hookgate_secrets` | gauge | `route`, `sender` | the shared secrets in force per route and sender (`sender` absent for those of `--code-file` and `HOOKGATE_CODES`); 0 for a sender a reload removed |
//! | `hookgate_webpubsub_keys` | gauge | `route` | the Web PubSub access keys in force |
//! | `hookgate_log_lines_dropped_total` | counter | | log lines dropped because the log writer's queue ([`QUEUED_LINES`](crate::logs::QUEUED_LINES) lines) was full |
//!
//! `sender` is the configured label of the sender's secret or Web PubSub key, and
//! absent otherwise (never a value from the request). `problem_type` takes the
//! first [`MAX_PROBLEM_TYPES`](hookgate::observe::MAX_PROBLEM_TYPES) distinct
//! types, then `other`.

use hookgate::observe::{ACTIVE, DELIVERIES, DUPLICATES, EVENTS, HANDLER_DURATION, REJECTIONS};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0,
];

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
    Ok(handle)
}

fn describe() {
    describe_counter!(
        DELIVERIES,
        "Requests the webhook layer answered, by outcome."
    );
    describe_counter!(EVENTS, "Events of the deliveries the sink acknowledged.");
    describe_counter!(DUPLICATES, "Events dropped as duplicates.");
    describe_counter!(REJECTIONS, "Rejected requests by problem type and step.");
    describe_gauge!(ACTIVE, "Deliveries being handled.");
    describe_histogram!(
        HANDLER_DURATION,
        Unit::Seconds,
        "How long the handler took per admitted delivery (the sink and the claims)."
    );
    describe_counter!(
        RELOADS,
        "Loads of the TLS pair and the secret files, by result."
    );
    describe_gauge!(
        LOADED,
        "When the TLS pair or the secrets were last loaded (Unix time)."
    );
    describe_gauge!(SECRETS, "Shared secrets in force per sender.");
    describe_gauge!(WEBPUBSUB_KEYS, "Web PubSub access keys in force.");
    describe_counter!(
        LOG_LINES_DROPPED,
        "Log lines dropped because the log writer's queue was full."
    );
}

/// Log lines dropped by the log writer.
const LOG_LINES_DROPPED: &str = "hookgate.log_lines_dropped";

/// Brings the series read at scrape time up to date (before `/metrics` renders).
pub(crate) fn scraped() {
    counter!(LOG_LINES_DROPPED).absolute(crate::logs::dropped_lines() as u64);
}

/// Loads of the TLS pair or the secrets (`what`), by result.
const RELOADS: &str = "hookgate.reloads";
/// When `what` was last loaded.
const LOADED: &str = "hookgate.loaded.timestamp_seconds";
/// The shared secrets in force per sender.
const SECRETS: &str = "hookgate.secrets";
/// The Web PubSub keys in force.
const WEBPUBSUB_KEYS: &str = "hookgate.webpubsub_keys";

/// A load of `what` (`tls`, `secrets`) that succeeded or failed.
pub(crate) fn reloaded(what: &'static str, ok: bool) {
    counter!(RELOADS, "what" => what, "result" => if ok { "ok" } else { "failed" }).increment(1);
    if ok {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        gauge!(LOADED, "what" => what).set(now);
    }
}

/// The secrets in force: each sender's count (`None`: the unlabeled ones), and
/// the Web PubSub keys'; `gone` are senders a reload removed (set to 0).
pub(crate) fn secrets_in_force<'a>(
    route: &str,
    senders: impl IntoIterator<Item = (Option<&'a str>, usize)>,
    gone: impl IntoIterator<Item = &'a str>,
    webpubsub_keys: Option<usize>,
) {
    let route = route.to_owned();
    for (sender, n) in senders {
        match sender {
            Some(label) => {
                gauge!(SECRETS, "route" => route.clone(), "sender" => label.to_owned())
                    .set(n as f64);
            }
            None => gauge!(SECRETS, "route" => route.clone()).set(n as f64),
        }
    }
    for label in gone {
        gauge!(SECRETS, "route" => route.clone(), "sender" => label.to_owned()).set(0.0);
    }
    if let Some(n) = webpubsub_keys {
        gauge!(WEBPUBSUB_KEYS, "route" => route).set(n as f64);
    }
}

/// A request to another path refused with `problem_type` (the layer does not
/// see it): stage `route`.
pub(crate) fn rejected_elsewhere(problem_type: &str) {
    counter!(REJECTIONS, "problem_type" => problem_type.to_owned(), "stage" => "route")
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_library_s_series_with_prometheus_names() {
        let recorder = recorder();
        let text = metrics::with_local_recorder(&recorder, || {
            counter!(DELIVERIES, "outcome" => "accepted", "route" => "default").increment(1);
            counter!(EVENTS, "route" => "default").increment(3);
            metrics::gauge!(ACTIVE, "route" => "default").increment(1.0);
            metrics::histogram!(HANDLER_DURATION, "outcome" => "accepted", "route" => "default")
                .record(0.003);
            rejected_elsewhere("urn:hookgate:problem:not-found");
            reloaded("tls", true);
            reloaded("secrets", false);
            secrets_in_force(
                "default",
                [(Some("orders"), 2), (None, 1)],
                ["billing"],
                Some(2),
            );
            recorder.handle().render()
        });
        for line in [
            "hookgate_deliveries_total{outcome=\"accepted\",route=\"default\"} 1\n",
            "hookgate_events_total{route=\"default\"} 3\n",
            "hookgate_deliveries_active{route=\"default\"} 1\n",
            "hookgate_rejections_total{problem_type=\"urn:hookgate:problem:not-found\",stage=\"route\"} 1\n",
            "hookgate_handler_duration_seconds_bucket{outcome=\"accepted\",route=\"default\",le=\"0.0025\"} 0\n",
            "hookgate_handler_duration_seconds_bucket{outcome=\"accepted\",route=\"default\",le=\"0.005\"} 1\n",
            "# TYPE hookgate_handler_duration_seconds histogram\n",
            "hookgate_reloads_total{what=\"tls\",result=\"ok\"} 1\n",
            "hookgate_reloads_total{what=\"secrets\",result=\"failed\"} 1\n",
            "hookgate_loaded_timestamp_seconds{what=\"tls\"} ",
            "hookgate_secrets{route=\"default\",sender=\"orders\"} 2\n",
            "hookgate_secrets{route=\"default\"} 1\n",
            "hookgate_secrets{route=\"default\",sender=\"billing\"} 0\n",
            "hookgate_webpubsub_keys{route=\"default\"} 2\n",
        ] {
            assert!(text.contains(line), "no {line:?} in\n{text}");
        }
    }
}
