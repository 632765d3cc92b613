//! The `--exec` sink with the real binary: exit 0 acknowledges once, exit 1 / a
//! timeout / a killed child answer 503 with `Retry-After` and release the claim, so
//! that the retry is handled, and nothing is handed over twice once acknowledged.

#![cfg(unix)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{
    Hookgate, SENDER_HEADERS, SENDER_SPAN, SENDER_TRACE, SENDER_TRACEPARENT, SENDER_TRACESTATE,
    event, lines, send_batch, send_binary, send_binary_with, temp_dir, traceparent,
};

/// A 503 `sink-failed` answer with `Retry-After`.
async fn assert_sink_failed(answer: reqwest::Response) {
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "10");
    let problem: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(problem["type"], "urn:hookgate:problem:sink-failed");
}

/// A fresh directory, the file `env.txt` in it, and a command writing its
/// environment there.
fn env_dump(name: &str) -> (PathBuf, PathBuf, String) {
    let dir = temp_dir(name);
    let out = dir.join("env.txt");
    let exec = format!("env > {}", out.display());
    (dir, out, exec)
}

/// The value of `name` in the output of `env`.
fn var(env: &str, name: &str) -> Option<String> {
    env.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_zero_acknowledges_once_and_stdout_is_the_answer() {
    let dir = temp_dir("exec-ok");
    let out = dir.join("out.jsonl");
    let exec = format!("cat >> {}; echo '{{\"ok\":true}}'", out.display());
    let hg = Hookgate::start(&["--exec", &exec], &[]);
    let url = hg.url("/api/events");
    let answer = send_binary(&url, &event("e1")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    assert_eq!(answer.text().await.unwrap().trim(), "{\"ok\":true}");
    // A duplicate is not handed over again.
    assert_eq!(send_binary(&url, &event("e1")).await.status(), 200);
    // A batch goes as one JSON array.
    assert_eq!(
        send_batch(&url, &[event("e2"), event("e3")]).await.status(),
        200
    );
    let got = lines(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    let first: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(first["id"], "e1");
    let batch: serde_json::Value = serde_json::from_str(&got[1]).unwrap();
    assert_eq!(batch.as_array().unwrap().len(), 2);
    assert_eq!(hg.metric("hookgate_events_total").await, 3.0);
    assert_eq!(hg.metric("hookgate_duplicates_total").await, 1.0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_delivery_is_one_json_line_on_the_commands_stdin() {
    let dir = temp_dir("exec-lines");
    let out = dir.join("events.jsonl");
    let exec = format!("cat >> {}", out.display());
    let hg = Hookgate::start(&["--exec", &exec], &[]);
    let url = hg.url("/api/events");
    assert_eq!(send_binary(&url, &event("l1")).await.status(), 200);
    assert_eq!(send_binary(&url, &event("l2")).await.status(), 200);
    assert_eq!(
        send_batch(&url, &[event("l3"), event("l4")]).await.status(),
        200
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'), "{text:?}");
    let got = lines(&out);
    assert_eq!(got.len(), 3, "{got:?}");
    let docs: Vec<serde_json::Value> = got
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON document a line"))
        .collect();
    assert_eq!(docs[0]["id"], "l1");
    assert_eq!(docs[1]["id"], "l2");
    assert_eq!(docs[2].as_array().map(Vec::len), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_gets_a_cleared_environment_and_the_events_names() {
    let (dir, out, exec) = env_dump("exec-env");
    let hg = Hookgate::start(
        &["--exec", &exec, "--exec-env", "PASSED_ON"],
        &[
            ("HOOKGATE_CODES", "s3cret-code"),
            ("PASSED_ON", "yes"),
            ("NOT_PASSED", "no"),
        ],
    );
    let url = format!("{}?code=s3cret-code", hg.url("/api/events"));
    assert_eq!(send_binary(&url, &event("v1")).await.status(), 200);
    let env = std::fs::read_to_string(&out).unwrap();
    for secret in ["HOOKGATE_CODES", "s3cret-code", "NOT_PASSED"] {
        assert!(!env.contains(secret), "{secret} reached the command: {env}");
    }
    let vars: Vec<&str> = env.lines().collect();
    for expected in [
        "PASSED_ON=yes",
        "CE_ID=v1",
        "CE_SOURCE=/tests",
        "CE_TYPE=com.example.test",
    ] {
        assert!(vars.contains(&expected), "no {expected} in {env}");
    }
    assert!(vars.iter().any(|v| v.starts_with("PATH=")), "{env}");
    // A secret without a label (HOOKGATE_CODES): no WEBHOOK_SENDER; no subject.
    assert!(
        !env.contains("WEBHOOK_SENDER") && !env.contains("CE_SUBJECT"),
        "{env}"
    );
    // A batch of two events as one delivery: no single event's names.
    assert_eq!(
        send_batch(&url, &[event("v2"), event("v3")]).await.status(),
        200
    );
    let env = std::fs::read_to_string(&out).unwrap();
    assert!(
        !env.contains("CE_ID") && env.contains("PASSED_ON=yes"),
        "{env}"
    );
    drop(hg);
    // hookgate's own variables cannot be passed on, nor the trace context's.
    for own in [
        "HOOKGATE_CODES",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "otel_service_name",
        "TRACEPARENT",
    ] {
        let refused = common::command()
            .args(["listen", "--exec", "env", "--exec-env", own])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{own}: {err}");
        assert!(err.contains("`exec_env`"), "{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_gets_the_trace_context_and_no_otel_variable() {
    let (dir, out, exec) = env_dump("exec-trace");
    let hg = Hookgate::start(
        &["--exec", &exec],
        &[
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer s3cret-otlp",
            ),
            ("OTEL_SERVICE_NAME", "hooks"),
        ],
    );
    let url = hg.url("/api/events");
    assert_eq!(
        send_binary_with(&url, &event("p1"), &SENDER_HEADERS)
            .await
            .status(),
        200
    );
    let env = std::fs::read_to_string(&out).unwrap();
    assert!(
        !env.contains("OTEL_") && !env.contains("s3cret-otlp"),
        "{env}"
    );
    let (trace, span, _) = traceparent(&var(&env, "TRACEPARENT").expect("TRACEPARENT"));
    assert_eq!(trace, SENDER_TRACE);
    assert_ne!(span, SENDER_SPAN);
    assert_eq!(var(&env, "TRACESTATE").as_deref(), Some(SENDER_TRACESTATE));
    // Without the sender's: a new trace, and no TRACESTATE.
    assert_eq!(send_binary(&url, &event("p2")).await.status(), 200);
    let env = std::fs::read_to_string(&out).unwrap();
    let (trace, _, _) = traceparent(&var(&env, "TRACEPARENT").expect("TRACEPARENT"));
    assert_ne!(trace, SENDER_TRACE);
    assert_eq!(var(&env, "TRACESTATE"), None, "{env}");
    drop(hg);
    // Tracing off: the sender's own context, unchanged.
    let hg = Hookgate::start(&["--exec", &exec], &[("OTEL_SDK_DISABLED", "true")]);
    let url = hg.url("/api/events");
    assert_eq!(
        send_binary_with(&url, &event("p3"), &SENDER_HEADERS)
            .await
            .status(),
        200
    );
    let env = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        var(&env, "TRACEPARENT").as_deref(),
        Some(SENDER_TRACEPARENT)
    );
    assert_eq!(var(&env, "TRACESTATE").as_deref(), Some(SENDER_TRACESTATE));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_one_answers_503_and_releases_the_claim_for_the_retry() {
    let dir = temp_dir("exec-fail");
    let out = dir.join("out.jsonl");
    let marker = dir.join("failed-once");
    // Fails the first time (and says why on stderr), succeeds the second.
    let exec = format!(
        "if [ -e {m} ]; then cat >> {o}; else touch {m}; echo 'database down' >&2; exit 1; fi",
        m = marker.display(),
        o = out.display()
    );
    let hg = Hookgate::start(&["--exec", &exec], &[]);
    let url = hg.url("/api/events");
    assert_sink_failed(send_binary(&url, &event("f1")).await).await;
    assert!(lines(&out).is_empty());
    // The retry is handled (not a duplicate, not in flight), and acknowledged once.
    assert_eq!(send_binary(&url, &event("f1")).await.status(), 200);
    assert_eq!(send_binary(&url, &event("f1")).await.status(), 200);
    assert_eq!(lines(&out).len(), 1);
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:sink-failed\"}")
            .await,
        1.0
    );
    assert_eq!(
        hg.metric("hookgate_deliveries_total{outcome=\"accepted\"}")
            .await,
        1.0
    );
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:sink-failed\",stage=\"handler\"}")
            .await,
        1.0
    );
    let log = hg.stderr_wait(&["database down", "exited with status 1"]);
    assert!(
        log.contains("database down") && log.contains("exited with status 1"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_kills_the_command_and_releases_the_claim() {
    let dir = temp_dir("exec-timeout");
    let out = dir.join("out.jsonl");
    let marker = dir.join("slow-once");
    let exec = format!(
        "if [ -e {m} ]; then cat >> {o}; else touch {m}; sleep 30; fi",
        m = marker.display(),
        o = out.display()
    );
    let hg = Hookgate::start(&["--exec", &exec, "--exec-timeout", "500ms"], &[]);
    let url = hg.url("/api/events");
    assert_sink_failed(send_binary(&url, &event("s1")).await).await;
    assert!(
        hg.stderr_wait(&["did not finish within"])
            .contains("did not finish within"),
        "{}",
        hg.stderr()
    );
    assert_eq!(send_binary(&url, &event("s1")).await.status(), 200);
    assert_eq!(lines(&out).len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_child_is_a_failure() {
    let hg = Hookgate::start(&["--exec", "kill -9 $$"], &[]);
    let url = hg.url("/api/events");
    assert_sink_failed(send_binary(&url, &event("k1")).await).await;
    // Released: the retry runs the command again (and fails again), not a duplicate.
    assert_sink_failed(send_binary(&url, &event("k1")).await).await;
    assert!(
        hg.stderr_wait(&["killed"]).contains("killed"),
        "{}",
        hg.stderr()
    );
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:sink-failed\"}")
            .await,
        2.0
    );
    assert_eq!(hg.metric("hookgate_events_total").await, 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_event_settles_each_event_on_its_own() {
    let dir = temp_dir("exec-per-event");
    let out = dir.join("out.jsonl");
    let marker = dir.join("p2-failed");
    // Event p2 fails the first time; the others succeed.
    let exec = format!(
        "in=$(cat); case \"$in\" in *'\"id\":\"p2\"'*) if [ ! -e {m} ]; then touch {m}; exit 1; fi;; esac; printf '%s\\n' \"$in\" >> {o}",
        m = marker.display(),
        o = out.display()
    );
    let hg = Hookgate::start(&["--exec", &exec, "--per-event"], &[]);
    let url = hg.url("/api/events");
    let batch = [event("p1"), event("p2"), event("p3")];
    assert_sink_failed(send_batch(&url, &batch).await).await;
    // p1 was handed over and stays done; p2 failed; p3 was not tried.
    assert_eq!(lines(&out).len(), 1);
    // The sender retries the whole batch: p1 is a duplicate, p2 and p3 are handled.
    assert_eq!(send_batch(&url, &batch).await.status(), 200);
    let ids: Vec<String> = lines(&out)
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["p1", "p2", "p3"]);
    assert_eq!(hg.metric("hookgate_events_total").await, 3.0);
    assert_eq!(hg.metric("hookgate_duplicates_total").await, 1.0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_house_answers_503_with_retry_after() {
    let hg = Hookgate::start(&["--exec", "sleep 3", "--max-concurrency", "1"], &[]);
    let url = hg.url("/api/events");
    let first = {
        let url = url.clone();
        tokio::spawn(async move { send_binary(&url, &event("c1")).await.status() })
    };
    for _ in 0..1000 {
        if hg.metric("hookgate_deliveries_active").await == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let busy = send_binary(&url, &event("c2")).await;
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "10");
    let problem: serde_json::Value = serde_json::from_str(&busy.text().await.unwrap()).unwrap();
    assert_eq!(problem["type"], "urn:hookgate:problem:busy");
    assert_eq!(first.await.unwrap(), 200);
    // c2 took no claim: it is handled now.
    assert_eq!(send_binary(&url, &event("c2")).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_kills_what_the_command_started_too() {
    let dir = temp_dir("exec-group");
    let mark = dir.join("mark");
    let exec = format!("(sleep 1; touch {}) & wait", mark.display());
    let hg = Hookgate::start(&["--exec", &exec, "--exec-timeout", "300ms"], &[]);
    assert_sink_failed(send_binary(&hg.url("/api/events"), &event("g1")).await).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !mark.exists(),
        "a process the command started outlived the timeout"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn stderr_is_logged_escaped_and_at_most_64_kib_a_run() {
    // 20 MB of stderr, each line with colour escape sequences and a tab.
    let exec = "cat > /dev/null; \
                yes \"$(printf '\\033[31mred\\033[0m\\tline\\rover')\" | head -c 20000000 >&2; \
                printf 'last' >&2";
    let hg = Hookgate::start(&["--exec", exec], &[]);
    assert_eq!(
        send_binary(&hg.url("/api/events"), &event("x1"))
            .await
            .status(),
        200
    );
    let log = hg.stderr_wait(&["were not logged"]);
    assert!(!log.contains('\x1b'), "a raw ESC byte reached the log");
    let logged: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("command stderr stderr=").map(|(_, t)| t))
        .collect();
    assert!(!logged.is_empty(), "{log}");
    assert!(
        logged
            .iter()
            .all(|l| *l == "\\u{1b}[31mred\\u{1b}[0m\\tline\\rover"),
        "{:?}",
        &logged[..3]
    );
    let text: usize = logged.iter().map(|l| l.len()).sum();
    assert!(
        text <= 64 * 1024 && text > 60 * 1024,
        "{text} bytes of stderr text"
    );
    // One line says how much was left out: the rest of the 20 MB (and `last`).
    let dropped: u64 = log
        .lines()
        .find_map(|l| l.split_once("dropped_bytes=").map(|(_, n)| n.trim()))
        .expect("the dropped line")
        .parse()
        .unwrap();
    let raw_logged = logged.len() as u64 * "\x1b[31mred\x1b[0m\tline\rover\n".len() as u64;
    assert_eq!(dropped + raw_logged, 20_000_000 + 4, "{dropped} dropped");
    assert_eq!(log.matches("were not logged").count(), 1);
    // The whole log stays small (it was 57 MB).
    // Each of its lines carries the delivery's and the event's span fields.
    assert!(log.len() < 2 * 1024 * 1024, "{} bytes of log", log.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_leaving_a_process_that_holds_its_pipes_is_answered_at_its_exit() {
    let dir = temp_dir("exec-background");
    let pids = dir.join("pids");
    // Both pipes held by `sleep 30`; then only stderr (stdout sent elsewhere).
    let both = format!(
        "cat > /dev/null; sleep 30 & echo $! >> {p}; echo 'said before the exit' >&2; echo ok",
        p = pids.display()
    );
    let stderr_only = format!(
        "cat > /dev/null; sleep 30 > /dev/null & echo $! >> {p}; echo 'stderr held' >&2; echo ok",
        p = pids.display()
    );
    for (exec, said) in [
        (&both, "said before the exit"),
        (&stderr_only, "stderr held"),
    ] {
        // Before, this was 503 at the timeout, the sender retrying a handled event.
        let hg = Hookgate::start(&["--exec", exec, "--exec-timeout", "10s"], &[]);
        let url = hg.url("/api/events");
        let answer = send_binary(&url, &event("b1")).await;
        assert_eq!(answer.status(), 200, "{exec}");
        assert_eq!(answer.text().await.unwrap().trim(), "ok");
        // Acknowledged: the retry is a duplicate.
        assert_eq!(send_binary(&url, &event("b1")).await.status(), 200);
        assert_eq!(hg.metric("hookgate_duplicates_total").await, 1.0);
        assert!(hg.stderr_wait(&[said]).contains(said), "{}", hg.stderr());
    }
    // The background processes are the command's own business; end them here.
    for pid in lines(&pids) {
        let _ = std::process::Command::new("kill").arg(&pid).status();
    }
    assert_eq!(lines(&pids).len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}
