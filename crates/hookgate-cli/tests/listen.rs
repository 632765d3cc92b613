//! `hookgate listen` as a user runs it: the real binary on a loopback port, with the
//! stdout sink, configuration from flags, environment and a file, authentication,
//! `/metrics` and `/healthz`, and a graceful shutdown with a delivery in flight.

#![cfg(unix)]

mod common;

use std::time::Duration;

use common::{Hookgate, command, event, send_batch, send_binary, send_structured, temp_dir};

#[tokio::test(flavor = "multi_thread")]
async fn stdout_prints_each_new_event_once_and_metrics_count_them() {
    let hg = Hookgate::start(&[], &[]);
    let url = hg.url("/api/events");
    assert_eq!(send_binary(&url, &event("1")).await.status(), 200);
    assert_eq!(send_structured(&url, &event("2")).await.status(), 200);
    assert_eq!(
        send_batch(&url, &[event("3"), event("4")]).await.status(),
        200
    );
    // A duplicate, and a batch with one duplicate and one new event.
    assert_eq!(send_binary(&url, &event("1")).await.status(), 200);
    assert_eq!(
        send_batch(&url, &[event("4"), event("5")]).await.status(),
        200
    );
    // Not a CloudEvent: a problem, counted by type.
    let refused = common::client()
        .post(&url)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 415);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );

    let ids: Vec<String> = hg
        .stdout_events_wait(5)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    assert_eq!(hg.stdout_events()[0]["data"]["id"], "1");

    assert_eq!(
        hg.metric("hookgate_deliveries_total{outcome=\"accepted\"}")
            .await,
        4.0
    );
    assert_eq!(hg.metric("hookgate_events_total").await, 5.0);
    assert_eq!(hg.metric("hookgate_duplicates_total").await, 2.0);
    assert_eq!(
        hg.metric("hookgate_deliveries_total{outcome=\"duplicate\"}")
            .await,
        1.0
    );
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:sink-failed\"}")
            .await,
        0.0
    );
    assert_eq!(hg.metric("hookgate_deliveries_active").await, 0.0);
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:not-a-cloudevent\",stage=\"parse\"}")
            .await,
        1.0
    );
    assert_eq!(
        hg.metric("hookgate_handler_duration_seconds_count{route=\"default\"}")
            .await,
        // The four deliveries handed over (the duplicate never reached the handler).
        4.0
    );
    // Another method, another path: problems too.
    let get = reqwest::get(&url).await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST, OPTIONS");
    assert_eq!(get.headers()["content-type"], "application/problem+json");
    let lost = common::client()
        .post(hg.url("/elsewhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(lost.status(), 404);
    assert_eq!(lost.headers()["content-type"], "application/problem+json");
    assert_eq!(
        hg.metric("hookgate_rejections_total{problem_type=\"urn:hookgate:problem:not-found\",stage=\"route\"}")
            .await,
        1.0
    );
    let health = reqwest::get(format!("{}/healthz", hg.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    // No authentication: said at the start.
    assert!(
        hg.stderr_wait(&["no authentication configured"])
            .contains("no authentication configured"),
        "{}",
        hg.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_handshake_grants_event_grid_and_the_added_origins() {
    let hg = Hookgate::start(&["--allow-origin", "example.webpubsub.azure.com"], &[]);
    let url = hg.url("/api/events");
    for origin in ["eventgrid.azure.net", "example.webpubsub.azure.com"] {
        let answer = common::client()
            .request(reqwest::Method::OPTIONS, &url)
            .header("webhook-request-origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{origin}");
        assert_eq!(answer.headers()["webhook-allowed-origin"], origin);
    }
    let refused = common::client()
        .request(reqwest::Method::OPTIONS, &url)
        .header("webhook-request-origin", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn web_pubsub_event_paths_and_the_admin_address() {
    let hg = Hookgate::start(
        &[
            "--path",
            "/eventhandler/{event}",
            "--admin-bind",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert_ne!(hg.base, hg.admin);
    let answer = send_binary(&hg.url("/eventhandler/connect"), &event("w1")).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(hg.stdout_events_wait(1).len(), 1);
    // The admin endpoints are on the admin address only.
    assert_eq!(
        reqwest::get(format!("{}/healthz", hg.admin))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{}/healthz", hg.base))
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(hg.metric("hookgate_events_total").await, 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_secrets_from_the_environment_are_checked_and_never_logged() {
    let hg = Hookgate::start(
        &["--log-level", "debug"],
        &[("HOOKGATE_CODES", "s3cret-one,s3cret-two")],
    );
    let url = hg.url("/api/events");
    assert_eq!(send_binary(&url, &event("a")).await.status(), 401);
    let wrong = send_binary(&format!("{url}?code=nope"), &event("a")).await;
    assert_eq!(wrong.status(), 401);
    let right = send_binary(&format!("{url}?code=s3cret-two"), &event("a")).await;
    assert_eq!(right.status(), 200);
    assert_eq!(right.headers()["cache-control"], "private");
    assert_eq!(hg.stdout_events_wait(1).len(), 1);
    let log = hg.stderr();
    assert!(!log.contains("s3cret"), "{log}");
    assert!(!log.contains("no authentication configured"), "{log}");
    assert_eq!(
        hg.metric(
            "hookgate_rejections_total{problem_type=\"urn:hookgate:problem:missing-credentials\",stage=\"auth\"}"
        )
        .await
            + hg.metric(
                "hookgate_rejections_total{problem_type=\"urn:hookgate:problem:invalid-credentials\",stage=\"auth\"}"
            )
            .await,
        2.0
    );
}

/// `--secret-header`: the secret in a named header is accepted (no `?code=` in the
/// URL, so no `Cache-Control: private`), a wrong one is 401, `?code=` still
/// works, and the secret is never logged; the flag without secrets stops the start.
#[tokio::test(flavor = "multi_thread")]
async fn a_shared_secret_in_a_named_header() {
    let hg = Hookgate::start(
        &[
            "--log-level",
            "debug",
            "--secret-header",
            "X-Webhook-Secret",
        ],
        &[("HOOKGATE_CODES", "s3cret-header")],
    );
    let url = hg.url("/api/events");
    let right =
        common::send_binary_with(&url, &event("h1"), &[("x-webhook-secret", "s3cret-header")])
            .await;
    assert_eq!(right.status(), 200);
    assert!(right.headers().get("cache-control").is_none());
    let wrong = common::send_binary_with(&url, &event("h2"), &[("X-Webhook-Secret", "nope")]).await;
    assert_eq!(wrong.status(), 401);
    let problem: serde_json::Value = serde_json::from_str(&wrong.text().await.unwrap()).unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("x-webhook-secret"),
        "{problem}"
    );
    let code = send_binary(&format!("{url}?code=s3cret-header"), &event("h3")).await;
    assert_eq!(code.status(), 200);
    assert_eq!(hg.stdout_events_wait(2).len(), 2);
    assert!(!hg.stderr().contains("s3cret-header"), "{}", hg.stderr());

    let (code, _, err) = run(&["listen", "--secret-header", "X-Webhook-Secret"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("secret_header"), "{err}");
    let (code, _, err) = run(
        &["listen", "--secret-header", "Authorization"],
        &[("HOOKGATE_CODES", "s3cret-header")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("secret_header"), "{err}");
}

/// The first JSON line of `log` whose message holds `message`.
fn json_line(log: &str, message: &str) -> serde_json::Value {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| {
            l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(message))
        })
        .unwrap_or_else(|| panic!("no {message:?} line: {log}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_carry_the_event_id_type_and_source_and_the_trace_ids() {
    let hg = Hookgate::start(&["--log-format", "json"], &[]);
    let sender = &common::SENDER_HEADERS[..1];
    assert_eq!(
        common::send_binary_with(&hg.url("/api/events"), &event("j1"), sender)
            .await
            .status(),
        200
    );
    let log = hg.stderr_wait(&["delivered"]);
    let delivered = json_line(&log, "delivered");
    // The line's own fields say which delivery it was (no span's fields: the log
    // layer does not format them).
    let fields = &delivered["fields"];
    assert_eq!(fields["id"], "j1", "{delivered}");
    assert_eq!(fields["type"], "com.example.test");
    assert_eq!(fields["source"], "/tests");
    assert_eq!(fields["route"], "default");
    assert_eq!(
        (fields["events"].as_u64(), fields["status"].as_u64()),
        (Some(1), Some(200))
    );
    assert!(delivered.get("span").is_none(), "{delivered}");
    // The trace ids of the span it was logged in: the sender's trace, hookgate's span.
    assert_eq!(delivered["trace_id"], common::SENDER_TRACE);
    let span_id = delivered["span_id"].as_str().unwrap();
    assert!(
        span_id.len() == 16 && span_id != common::SENDER_SPAN,
        "{delivered}"
    );
    // A line outside any span has none.
    let listening = json_line(&log, "listening on");
    assert!(listening.get("trace_id").is_none(), "{listening}");
    // Text lines stay as they were.
    let hg = Hookgate::start(&[], &[]);
    assert_eq!(
        common::send_binary_with(&hg.url("/api/events"), &event("j2"), sender)
            .await
            .status(),
        200
    );
    let log = hg.stderr_wait(&["delivered"]);
    assert!(!log.contains(common::SENDER_TRACE), "{log}");
    let line = log.lines().find(|l| l.contains("delivered")).unwrap();
    for field in [
        "route=\"default\"",
        "id=\"j2\"",
        "type=\"com.example.test\"",
        "source=\"/tests\"",
        "events=1 status=200",
    ] {
        assert!(line.contains(field), "{field}: {line}");
    }
}

#[test]
fn a_lease_a_run_could_outlast_is_refused_at_start() {
    // 20 s of --exec-timeout plus 10 s of --shutdown-grace: a lease of 30 s would let
    // a retry claim an event whose first run is still going.
    let (code, _, err) = run(
        &[
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--exec",
            "cat",
            "--lease",
            "30s",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`lease`")
            && err.contains("--exec-timeout")
            && err.contains("--shutdown-grace"),
        "{err}"
    );
    let (code, _, err) = run(
        &[
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--forward",
            "http://127.0.0.1:1/",
            "--forward-timeout",
            "50s",
        ],
        &[("HOOKGATE_LEASE", "1m")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--forward-timeout") && err.contains("--shutdown-grace"),
        "{err}"
    );
}

#[test]
fn secret_files_follow_one_rule_and_config_check_redacts_urls() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("secret-files");
    let codes = dir.join("codes");
    std::fs::write(&codes, "s3cret-in-file\n").unwrap();
    let chmod = |mode| {
        std::fs::set_permissions(&codes, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let codes_arg = codes.to_str().unwrap();
    // A device that never ends: refused at once, not read.
    let (code, _, err) = run(
        &[
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--code-file",
            "/dev/zero",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`code_file`") && err.contains("not a regular file"),
        "{err}"
    );
    // Writable by others: refused, naming the setting, its secret not shown.
    chmod(0o666);
    let (code, _, err) = run(
        &["listen", "--bind", "127.0.0.1:0", "--code-file", codes_arg],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("writable") && !err.contains("s3cret"), "{err}");
    // Readable by others: accepted with a warning (here by `config check`).
    chmod(0o644);
    let file = dir.join("hookgate.toml");
    std::fs::write(
        &file,
        "code_file = \"codes\"\nforward = \"http://user:pa55@127.0.0.1:9/in?key=k3y\"\n\
         redis = \"redis://ops7:pa55@127.0.0.1:6379/0?protocol=resp3\"\n",
    )
    .unwrap();
    let (code, meaning, err) = run(&["config", "check", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("readable by others"), "{err}");
    for hidden in ["pa55", "user", "ops7", "k3y", "resp3", "s3cret"] {
        assert!(!meaning.contains(hidden), "{hidden} shown: {meaning}");
    }
    assert!(
        meaning.contains("http://***@127.0.0.1:9/in?***"),
        "{meaning}"
    );
    // A Redis password on the command line (`ps` shows it): refused, not shown.
    let (code, _, err) = run(
        &[
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--redis",
            "redis://:pa55@127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("HOOKGATE_REDIS") && err.contains("--redis-url-file") && !err.contains("pa55"),
        "{err}"
    );
    // --help shows no environment value at all (a forward URL's credentials, a bind).
    let (code, help, _) = run(
        &["listen", "--help"],
        &[
            ("HOOKGATE_FORWARD", "http://user:pa55@127.0.0.1:9/in"),
            ("HOOKGATE_BIND", "127.0.0.1:4321"),
        ],
    );
    assert_eq!(code, Some(0));
    assert!(!help.contains("pa55") && !help.contains("4321"), "{help}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Runs `hookgate ARGS` to its end; its exit code and stderr.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = command()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run hookgate");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_configuration_stops_the_start_with_a_message_naming_the_setting() {
    let dir = temp_dir("config");
    let file = dir.join("hookgate.toml");
    // A bad value in the file.
    std::fs::write(&file, "bind = \"127.0.0.1:0\"\nexec_timeout = \"soon\"\n").unwrap();
    let (code, _, err) = run(&["listen", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`exec_timeout`"), "{err}");
    // An unknown key (a secret put in the file by mistake): named, its value not shown.
    std::fs::write(&file, "codes = \"s3cret\"\n").unwrap();
    let (code, _, err) = run(&["listen", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`codes`") && !err.contains("s3cret"), "{err}");
    // From the environment.
    let (code, _, err) = run(&["listen"], &[("HOOKGATE_BODY_LIMIT", "lots")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("`body_limit`") && err.contains("HOOKGATE_BODY_LIMIT"),
        "{err}"
    );
    // A blank secret variable does not switch authentication off.
    let (code, _, err) = run(
        &["listen", "--bind", "127.0.0.1:0"],
        &[("HOOKGATE_CODES", " ")],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("HOOKGATE_CODES"), "{err}");
    // `config check` says the same, and prints what a good file means.
    std::fs::write(&file, "lease = \"10m\"\nremember = \"1m\"\n").unwrap();
    let (code, _, err) = run(&["config", "check", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`remember`"), "{err}");
    // A secrets file named relative to the configuration file; its secrets not shown.
    std::fs::write(
        dir.join("codes.txt"),
        "# the sender's secret\ns3cret-in-file\n",
    )
    .unwrap();
    std::fs::write(&file, "code_file = \"codes.txt\"\n").unwrap();
    let (code, meaning, err) = run(&["config", "check", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        meaning.contains("1 shared secret(s)") && !meaning.contains("s3cret"),
        "{meaning}"
    );
    let (code, example, _) = run(&["config", "example"], &[]);
    assert_eq!(code, Some(0));
    std::fs::write(&file, example).unwrap();
    let (code, meaning, err) = run(&["config", "check", file.to_str().unwrap()], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        meaning.contains("127.0.0.1:8080") && meaning.contains("NONE"),
        "{meaning}"
    );
    // Secrets in the environment are not shown by --help.
    let (code, help, _) = run(
        &["listen", "--help"],
        &[
            ("HOOKGATE_REDIS", "redis://:pa55word@127.0.0.1:1"),
            ("HOOKGATE_CODES", "s3cret"),
        ],
    );
    assert_eq!(code, Some(0));
    assert!(
        !help.contains("pa55word") && !help.contains("s3cret"),
        "{help}"
    );
    assert!(
        help.contains("HOOKGATE_EXEC_TIMEOUT") && help.contains("Exit codes"),
        "{help}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_win_over_the_environment_and_the_environment_over_the_file() {
    let dir = temp_dir("precedence");
    let file = dir.join("hookgate.toml");
    std::fs::write(&file, "path = \"/from-file\"\n").unwrap();
    let config = file.to_str().unwrap();
    for (args, env, path) in [
        (
            vec!["--config", config, "--path", "/from-flag"],
            vec![("HOOKGATE_PATH", "/from-env")],
            "/from-flag",
        ),
        (
            vec!["--config", config],
            vec![("HOOKGATE_PATH", "/from-env")],
            "/from-env",
        ),
        (vec!["--config", config], vec![], "/from-file"),
    ] {
        let hg = Hookgate::start(&args, &env);
        assert_eq!(
            send_binary(&hg.url(path), &event("p")).await.status(),
            200,
            "{path}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_delivery_in_flight_finish() {
    let dir = temp_dir("sigterm");
    let out = dir.join("out.jsonl");
    let exec = format!("sleep 1; cat >> {}", out.display());
    let mut hg = Hookgate::start(&["--exec", &exec, "--shutdown-grace", "20s"], &[]);
    let url = hg.url("/api/events");
    let pending = tokio::spawn(async move { send_binary(&url, &event("t1")).await.status() });
    // Wait (bounded) until it is in flight, then stop.
    for _ in 0..1000 {
        if hg.metric("hookgate_deliveries_active").await == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hg.metric("hookgate_deliveries_active").await, 1.0);
    hg.terminate();
    assert_eq!(pending.await.unwrap(), 200);
    let status = hg.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}: {}", hg.stderr());
    assert_eq!(common::lines(&out).len(), 1);
    assert!(
        hg.stderr_wait(&["released=0"]).contains("released=0"),
        "{}",
        hg.stderr()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_releases_a_delivery_that_cannot_finish_in_the_grace_period() {
    let mut hg = Hookgate::start(&["--exec", "sleep 30", "--shutdown-grace", "500ms"], &[]);
    let url = hg.url("/api/events");
    let pending = tokio::spawn(async move {
        let (headers, body) = hookgate::encode::binary(&event("t2"));
        headers
            .into_iter()
            .fold(common::client().post(&url), |r, (n, v)| r.header(n, v))
            .body(body)
            .send()
            .await
            .map(|r| r.status())
    });
    for _ in 0..1000 {
        if hg.metric("hookgate_deliveries_active").await == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hg.metric("hookgate_deliveries_active").await, 1.0);
    hg.terminate();
    let status = hg.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}: {}", hg.stderr());
    // The sender saw no acknowledgement (the connection closed), and the claim was
    // released so that its retry is handled at once.
    assert!(pending.await.unwrap().is_err());
    assert!(
        hg.stderr_wait(&["released=1"]).contains("released=1"),
        "{}",
        hg.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_without_stopping_and_sigquit_stops_gracefully() {
    let dir = temp_dir("signals");
    let out = dir.join("out.jsonl");
    let exec = format!("sleep 1; cat >> {}", out.display());
    let mut hg = Hookgate::start(&["--exec", &exec, "--shutdown-grace", "20s"], &[]);
    let url = hg.url("/api/events");
    // SIGHUP: logged (a reload; nothing to reload here), and the receiver still
    // answers.
    hg.signal("HUP");
    assert!(
        hg.stderr_wait(&["SIGHUP"])
            .contains("loading the secret files"),
        "{}",
        hg.stderr()
    );
    assert_eq!(send_binary(&url, &event("h1")).await.status(), 200);
    assert_eq!(common::lines(&out).len(), 1);
    // SIGQUIT: a delivery in flight finishes, then a clean exit within the grace.
    let pending = tokio::spawn(async move { send_binary(&url, &event("h2")).await.status() });
    for _ in 0..1000 {
        if hg.metric("hookgate_deliveries_active").await == 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hg.metric("hookgate_deliveries_active").await, 1.0);
    hg.signal("QUIT");
    assert_eq!(pending.await.unwrap(), 200);
    let status = hg.wait(Duration::from_secs(20));
    assert!(status.success(), "{status}: {}", hg.stderr());
    assert_eq!(common::lines(&out).len(), 2);
    let log = hg.stderr_wait(&["released=0"]);
    assert!(
        log.contains("SIGQUIT") && log.contains("released=0"),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stdout_sink_is_not_bounded_by_max_concurrency() {
    // `--max-concurrency` bounds exec and forward; stdout writes in place, so
    // concurrent deliveries are all handled, none answered 503 `busy`.
    let hg = Hookgate::start(&["--max-concurrency", "1"], &[]);
    let url = hg.url("/api/events");
    let sends: Vec<_> = (0..16)
        .map(|i| {
            let url = url.clone();
            tokio::spawn(async move { send_binary(&url, &event(&format!("m{i}"))).await.status() })
        })
        .collect();
    for send in sends {
        assert_eq!(send.await.unwrap(), 200);
    }
    assert_eq!(hg.stdout_events_wait(16).len(), 16);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stderr_nobody_reads_stalls_no_delivery_and_loses_no_line_the_queue_holds() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    // stderr is a pipe the test stops reading after the "listening on" line: once
    // its buffer (64 KiB on Linux) is full, a write to it blocks.
    let mut child = command()
        .args(["listen", "--bind", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookgate");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "hookgate ended");
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on http://".len()..];
            let end = rest.find(|c: char| c == '/' || c.is_whitespace()).unwrap();
            break format!("http://{}", &rest[..end]);
        }
    };
    // 400 deliveries whose log lines take about 1 KiB each: several times the pipe.
    let source = format!("/{}", "s".repeat(900));
    let url = format!("{base}/api/events");
    let started = std::time::Instant::now();
    for i in 0..400 {
        let event = hookgate::CloudEvent::new(format!("blocked-{i}"), &*source, "com.example.test");
        let answer = tokio::time::timeout(Duration::from_secs(5), send_binary(&url, &event))
            .await
            .unwrap_or_else(|_| panic!("delivery {i} stalled behind the blocked stderr"));
        assert_eq!(answer.status(), 200, "delivery {i}");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    let metrics = common::client()
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("hookgate_log_lines_dropped_total 0"),
        "{metrics}"
    );
    // Read again: every queued line comes out.
    let reader = std::thread::spawn(move || {
        let mut delivered = 0;
        let mut line = String::new();
        while delivered < 400 && stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
            delivered += usize::from(line.contains("delivered"));
            line.clear();
        }
        delivered
    });
    let delivered = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    assert_eq!(delivered, 400);
    let _ = child.kill();
    let _ = child.wait();
}
