//! `hookgate send` against `hookgate listen`: each content mode, each
//! authentication method (the Web PubSub signature in binary mode), retries that
//! honour `Retry-After`, the handshake verdict, and the load mode.

#![cfg(unix)]

mod common;

use std::io::Write as _;
use std::process::Stdio;

use common::{Hookgate, command, temp_dir};

/// Runs `hookgate send ARGS` with `stdin`; its exit code and stdout.
fn send(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> (Option<i32>, String) {
    let mut child = command()
        .arg("send")
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn event_json(id: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"/send","type":"t","data":{{"n":"{id}"}}}}"#
    )
}

#[test]
fn each_content_mode_gets_its_events_printed() {
    let hg = Hookgate::start(&[], &[]);
    let url = hg.url("/api/events");
    // An event from flags, structured (the default) and binary.
    let (code, out) = send(
        &[
            &url,
            "--type",
            "com.example.t",
            "--source",
            "/cli",
            "--data",
            r#"{"a":1}"#,
            "--id",
            "f1",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("200 Structured 1 event(s) [f1]"), "{out}");
    let (code, out) = send(
        &[
            &url,
            "--mode",
            "binary",
            "--type",
            "t",
            "--source",
            "/cli",
            "--data",
            "plain words",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
    // A batch file, as one batch request.
    let dir = temp_dir("send");
    let file = dir.join("batch.json");
    std::fs::write(
        &file,
        format!("[{},{}]", event_json("b1"), event_json("b2")),
    )
    .unwrap();
    let (code, out) = send(
        &[&url, file.to_str().unwrap(), "--mode", "batch"],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("200 Batch 2 event(s) [b1,b2]"), "{out}");
    // JSON lines on stdin: one delivery per line, each event its own request.
    let lines = format!("{}\n{}\n", event_json("l1"), event_json("l2"));
    let (code, out) = send(&[&url, "-"], &[], Some(&lines));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("2 event(s): 2 accepted, 0 not accepted"),
        "{out}"
    );
    let printed = hg.stdout_events_wait(6);
    let ids: Vec<&str> = printed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 6, "{ids:?}");
    assert_eq!(ids[0], "f1");
    assert_eq!(printed[0]["data"]["a"], 1);
    assert_eq!(printed[1]["data"], "plain words");
    assert_eq!(&ids[2..], ["b1", "b2", "l1", "l2"]);
    // Bad input: exit 2 with a message.
    let (code, out) = send(&[&url, "-"], &[], Some("{\"id\":\"x\"}"));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("not a CloudEvent"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn each_authentication_method() {
    let hg = Hookgate::start(
        &[],
        &[
            ("HOOKGATE_CODES", "s3cret"),
            ("HOOKGATE_WEBPUBSUB_KEYS", "wps-key"),
        ],
    );
    let url = hg.url("/api/events");
    let flags = ["--type", "t", "--source", "/auth", "--attempts", "1"];
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![url.as_str()];
        args.extend_from_slice(&flags);
        args.extend_from_slice(extra);
        send(&args, env, None)
    };
    assert_eq!(run(&[], &[]).0, Some(1));
    assert_eq!(run(&["--code", "s3cret"], &[]).0, Some(0));
    assert_eq!(run(&[], &[("HOOKGATE_SEND_CODE", "s3cret")]).0, Some(0));
    assert_eq!(run(&["--bearer", "s3cret"], &[]).0, Some(0));
    let (code, out) = run(
        &["--webpubsub-key", "wps-key", "--connection-id", "conn-1"],
        &[],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("200 Binary"), "{out}");
    let (code, out) = run(
        &["--webpubsub-key", "wrong", "--connection-id", "conn-1"],
        &[],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("401"), "{out}");
    assert_eq!(hg.stdout_events_wait(4).len(), 4);
}

#[test]
fn retries_honour_retry_after_and_deliver_once() {
    let dir = temp_dir("send-retry");
    let out_file = dir.join("out.jsonl");
    let marker = dir.join("once");
    let exec = format!(
        "if [ -e {m} ]; then cat >> {o}; else touch {m}; exit 1; fi",
        m = marker.display(),
        o = out_file.display()
    );
    let hg = Hookgate::start(&["--exec", &exec, "--retry-after", "1"], &[]);
    let (code, out) = send(
        &[
            &hg.url("/api/events"),
            "--type",
            "t",
            "--source",
            "/retry",
            "--attempts",
            "3",
            "--retry-base",
            "100ms",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("attempt 1: 503") && out.contains("after 2 attempt(s)"),
        "{out}"
    );
    assert_eq!(common::lines(&out_file).len(), 1);
    // Out of attempts: exit 1.
    let hg = Hookgate::start(&["--exec", "exit 1", "--retry-after", "1"], &[]);
    let (code, out) = send(
        &[
            &hg.url("/api/events"),
            "--type",
            "t",
            "--source",
            "/retry",
            "--attempts",
            "2",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("1 not accepted"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn validate_judges_the_handshake() {
    let hg = Hookgate::start(&["--allow-origin", "example.webpubsub.azure.com"], &[]);
    let url = hg.url("/api/events");
    let (code, out) = send(&["validate", &url], &[], None);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("granted"), "{out}");
    let (code, out) = send(
        &[
            "validate",
            &url,
            "--origin",
            "example.webpubsub.azure.com",
            "--rate",
            "100",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = send(&["validate", &url, "--origin", "evil.example"], &[], None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("refused"), "{out}");
}

#[test]
fn load_mode_reports_rate_and_percentiles() {
    let hg = Hookgate::start(&[], &[]);
    let (code, out) = send(
        &[
            &hg.url("/api/events"),
            "--load",
            "--connections",
            "2",
            "--duration",
            "500ms",
            "--duplicates",
            "0.5",
        ],
        &[],
        None,
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("req/s") && out.contains("p99") && out.contains("0 5xx"),
        "{out}"
    );
}
