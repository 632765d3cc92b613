//! `hookgate listen --nats URL --nats-subject SUBJECT` against a real
//! `nats-server -js`: one message per event across replicas (JetStream's
//! `Nats-Msg-Id` window), the CloudEvents NATS binding's binary mode, an uncovered
//! subject at the start, a type that cannot be a subject, a stream removed at run
//! time, and the broker killed during a run and restarted on its file store.

#![cfg(unix)]

mod common;
#[path = "../../../tests/common/nats.rs"]
mod nats_server;
#[path = "../../../tests/common/test_ca.rs"]
mod test_ca;

use std::os::unix::fs::PermissionsExt as _;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use common::{Hookgate, client, event, send_binary};
use hookgate::{CloudEvent, encode};
use nats_server::NatsServer;

/// The JetStream context of a test client, and a stream `EVENTS` on `events.>`.
async fn with_stream(nats: &NatsServer) -> jetstream::Context {
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = jetstream::new(client);
    js.create_stream(stream::Config {
        name: "EVENTS".into(),
        subjects: vec!["events.>".into()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .unwrap();
    js
}

/// Every message of the stream: its subject, `ce-id`, `Nats-Msg-Id` and payload.
async fn messages(js: &jetstream::Context) -> Vec<(String, String, String, String)> {
    let mut stream = js.get_stream("EVENTS").await.unwrap();
    let count = stream.info().await.unwrap().state.messages;
    let first = stream.info().await.unwrap().state.first_sequence;
    let mut out = Vec::new();
    for seq in first..first + count {
        let message = stream.get_raw_message(seq).await.unwrap();
        let header = |name: &str| {
            message
                .headers
                .get(name)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        };
        out.push((
            message.subject.to_string(),
            header("ce-id"),
            header("Nats-Msg-Id"),
            String::from_utf8_lossy(&message.payload).into_owned(),
        ));
    }
    out
}

fn start(nats: &NatsServer, subject: &str) -> Hookgate {
    Hookgate::start(
        &[
            "--nats",
            &nats.url(),
            "--nats-subject",
            subject,
            "--nats-timeout",
            "1s",
        ],
        &[],
    )
}

async fn send_batch(hg: &Hookgate, events: &[CloudEvent]) -> u16 {
    let (content_type, body) = encode::batch(events);
    client()
        .post(hg.url("/api/events"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_message_per_event_across_replicas() {
    let nats = NatsServer::start();
    let js = with_stream(&nats).await;
    let (a, b) = (start(&nats, "events.{type}"), start(&nats, "events.{type}"));
    assert_eq!(
        send_binary(&a.url("/api/events"), &event("n1"))
            .await
            .status(),
        200
    );
    // The same event through the other replica, its own memory dedup: JetStream's
    // duplicate window drops it (the same Nats-Msg-Id).
    assert_eq!(
        send_binary(&b.url("/api/events"), &event("n1"))
            .await
            .status(),
        200
    );
    assert_eq!(
        send_binary(&a.url("/api/events"), &event("n2"))
            .await
            .status(),
        200
    );
    assert_eq!(send_batch(&b, &[event("n3"), event("n4")]).await, 200);
    let got = messages(&js).await;
    let ids: Vec<&str> = got.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(ids, ["n1", "n2", "n3", "n4"]);
    let (subject, _, msg_id, payload) = &got[0];
    assert_eq!(subject, "events.com.example.test");
    assert_eq!(msg_id.len(), 64, "a SHA-256 in hex: {msg_id}");
    assert_eq!(
        payload, "{\"id\":\"n1\"}",
        "binary mode: the data is the payload"
    );

    // A type that cannot be a subject's tail: 400, nothing published.
    let bad = CloudEvent::new("n5", "/tests", "has a space");
    let answer = send_binary(&a.url("/api/events"), &bad).await;
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    assert!(answer.text().await.unwrap().contains("invalid-subject"));
    assert_eq!(messages(&js).await.len(), 4);

    // The stream removed at run time: 503 (retried), an error in the log.
    js.delete_stream("EVENTS").await.unwrap();
    let answer = send_binary(&a.url("/api/events"), &event("n6")).await;
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    a.stderr_wait(&["not delivered"]);
}

#[test]
fn an_uncovered_subject_stops_the_start() {
    let nats = NatsServer::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(with_stream(&nats));
    let out = common::command()
        .args(["listen", "--bind", "127.0.0.1:0", "--nats", &nats.url()])
        .args(["--nats-subject", "other.{type}"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no JetStream stream") && err.contains("other.>"),
        "{err}"
    );
    let out = common::command()
        .args(["listen", "--bind", "127.0.0.1:0", "--nats", &nats.url()])
        .args(["--nats-subject", "events.*"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_broker_killed_during_a_run_loses_no_acknowledged_event_and_stores_none_twice() {
    let mut nats = NatsServer::start();
    with_stream(&nats).await;
    let hg = start(&nats, "events.{type}");
    let url = hg.url("/api/events");
    let started = Instant::now();
    let mut refused = 0;
    for n in 0..40 {
        if n == 15 {
            nats.stop();
        }
        if n == 25 {
            nats.start_again();
        }
        let id = format!("k{n}");
        // A sender that retries until acknowledged; while the broker is down it
        // gives up on the event and sends it again at the end.
        for _ in 0..100 {
            let status = send_binary(&url, &event(&id)).await.status().as_u16();
            if status == 200 {
                break;
            }
            assert_eq!(status, 503);
            refused += 1;
            if (15..25).contains(&n) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(started.elapsed() < Duration::from_secs(120));
    }
    assert!(refused > 0, "the broker was down for some deliveries");
    for n in 15..25 {
        let id = format!("k{n}");
        let mut status = 0;
        for _ in 0..100 {
            status = send_binary(&url, &event(&id)).await.status().as_u16();
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, 200, "{id}");
    }
    let client = async_nats::connect(nats.url()).await.unwrap();
    let got = messages(&jetstream::new(client)).await;
    let mut ids: Vec<String> = got.into_iter().map(|m| m.1).collect();
    ids.sort_by_key(|id| id[1..].parse::<u32>().unwrap());
    let expected: Vec<String> = (0..40).map(|n| format!("k{n}")).collect();
    assert_eq!(ids, expected, "every event once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_environment_or_a_file() {
    let nats = NatsServer::start_with(&["--auth", "nats-s3cret"]);
    let client = async_nats::ConnectOptions::new()
        .token("nats-s3cret".into())
        .connect(nats.url())
        .await
        .unwrap();
    jetstream::new(client)
        .create_stream(stream::Config {
            name: "EVENTS".into(),
            subjects: vec!["events.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let args = ["--nats", &nats.url(), "--nats-subject", "events.in"];
    let hg = Hookgate::start(&args, &[("HOOKGATE_NATS_TOKEN", "nats-s3cret")]);
    assert_eq!(
        send_binary(&hg.url("/api/events"), &event("t1"))
            .await
            .status(),
        200
    );
    // From a file (the secret-file rule), and a wrong one: the start stops.
    let dir = common::temp_dir("nats-token");
    let file = dir.join("token");
    for (token, code) in [("nats-s3cret", None), ("wrong", Some(1))] {
        std::fs::write(&file, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut command = common::command();
        command
            .args(["listen", "--bind", "127.0.0.1:0"])
            .args(args)
            .arg("--nats-token-file")
            .arg(&file);
        match code {
            None => {
                let file = file.to_str().unwrap();
                let hg = Hookgate::start(&[&args[..], &["--nats-token-file", file]].concat(), &[]);
                assert_eq!(
                    send_binary(&hg.url("/api/events"), &event("t2"))
                        .await
                        .status(),
                    200
                );
            }
            Some(code) => {
                let out = command.output().unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(code), "{err}");
                assert!(
                    !err.contains("wrong") && !err.contains("nats-s3cret"),
                    "{err}"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `tls://` with `--nats-ca`: a server whose certificate a private CA signed.
#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_private_ca() {
    let ca = test_ca::TestCa::new();
    let pair = ca.issue(&["127.0.0.1"]);
    let dir = common::temp_dir("nats-tls");
    let (ca_file, cert, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&ca_file, &ca.pem).unwrap();
    std::fs::write(&cert, &pair.cert_pem).unwrap();
    std::fs::write(&key, &pair.key_pem).unwrap();
    let nats = NatsServer::start_with(&[
        "--tls",
        "--tlscert",
        cert.to_str().unwrap(),
        "--tlskey",
        key.to_str().unwrap(),
    ]);
    let url = format!("tls://127.0.0.1:{}", nats.port);
    let client = async_nats::ConnectOptions::new()
        .add_root_certificates(ca_file.clone())
        .require_tls(true)
        .connect(&url)
        .await
        .unwrap();
    let js = jetstream::new(client);
    js.create_stream(stream::Config {
        name: "EVENTS".into(),
        subjects: vec!["events.>".into()],
        ..Default::default()
    })
    .await
    .unwrap();
    let args = ["--nats", &url, "--nats-subject", "events.{type}"];
    let hg = Hookgate::start(
        &[&args[..], &["--nats-ca", ca_file.to_str().unwrap()]].concat(),
        &[],
    );
    assert_eq!(
        send_binary(&hg.url("/api/events"), &event("tls-1"))
            .await
            .status(),
        200
    );
    assert_eq!(messages(&js).await.len(), 1);
    // Without the CA: not trusted, the start stops.
    let out = common::command()
        .args(["listen", "--bind", "127.0.0.1:0"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    std::fs::remove_dir_all(&dir).unwrap();
}
