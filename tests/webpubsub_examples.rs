//! The two Web PubSub example receivers, `webpubsub_axum` and `webpubsub_actix`, as
//! a user runs them: both binaries (built by `cargo test`) are started with the same
//! environment, sent the same requests (shaped as the service sends them, signed),
//! and must give the same answers (status, media type, body, state header) and
//! print the same stdout lines.

#![cfg(unix)]

mod common;

use common::examples::{command, exit_within, listening_addr};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

const EXAMPLES: [&str; 2] = ["webpubsub_axum", "webpubsub_actix"];
const HOST: &str = "chat.webpubsub.azure.com";
const KEYS: [&str; 2] = ["primary-key", "secondary-key"];
const CONNECTION: &str = "0f9c97a2f0bf4706afe87a14e0797b11";

/// Starts example `name`; returns the child, its address and its stderr.
fn start(name: &str) -> (Child, String, BufReader<ChildStderr>) {
    let mut child = command(name)
        .env("WEBPUBSUB_KEYS", KEYS.join(","))
        .env("WEBPUBSUB_HOST", HOST)
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = listening_addr(name, &mut stderr);
    (child, addr, stderr)
}

/// Stops `child` with SIGTERM, waiting at most 20 s; returns its stdout.
fn stop(mut child: Child) -> String {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the example did not stop within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    stdout
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: Option<String>,
    state: Option<String>,
    body: Vec<u8>,
}

/// Sends one HTTP/1.1 request (the connection closed after it).
fn send(addr: &str, method: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let mut content_type = None;
    let mut state = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-type" => content_type = Some(value.trim().to_owned()),
                "ce-connectionstate" => state = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    Answer {
        status,
        content_type,
        state,
        body: raw[split + 4..].to_vec(),
    }
}

fn sign(key: &str, connection_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(connection_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The headers of an event as the service sends it.
fn event(
    ty: &str,
    name: &str,
    id: u32,
    content_type: &str,
    state: Option<&str>,
) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = [
        ("WebHook-Request-Origin", HOST.to_owned()),
        ("Content-Type", content_type.to_owned()),
        ("ce-specversion", "1.0".to_owned()),
        ("ce-type", format!("azure.webpubsub.{ty}")),
        ("ce-source", format!("/hubs/chat/client/{CONNECTION}")),
        ("ce-id", id.to_string()),
        ("ce-time", "2021-01-01T00:00:00Z".to_owned()),
        (
            "ce-signature",
            format!(
                "sha256={},sha256={}",
                sign(KEYS[0], CONNECTION),
                sign(KEYS[1], CONNECTION)
            ),
        ),
        ("ce-userId", "user1".to_owned()),
        ("ce-connectionId", CONNECTION.to_owned()),
        ("ce-hub", "chat".to_owned()),
        ("ce-eventName", name.to_owned()),
        ("ce-awpsversion", "1.0".to_owned()),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect();
    if let Some(state) = state {
        headers.push(("ce-connectionState".to_owned(), state.to_owned()));
    }
    headers
}

/// Runs the conversation against one example; returns its answers.
fn conversation(addr: &str) -> Vec<Answer> {
    let mut answers = Vec::new();
    let validate = vec![("WebHook-Request-Origin".to_owned(), HOST.to_owned())];
    answers.push(send(addr, "OPTIONS", "/api/validate", &validate, b""));

    let connect = br#"{"claims": {"sub": ["user1"]}, "query": {"username": ["alice"], "room": ["lobby"]}, "headers": {}, "subprotocols": []}"#;
    let headers = event(
        "sys.connect",
        "connect",
        1,
        "application/json; charset=utf-8",
        None,
    );
    answers.push(send(addr, "POST", "/api/connect", &headers, connect));
    let headers = event(
        "sys.connect",
        "connect",
        2,
        "application/json; charset=utf-8",
        None,
    );
    answers.push(send(addr, "POST", "/api/connect", &headers, b"{}"));

    let headers = event(
        "sys.connected",
        "connected",
        3,
        "application/json; charset=utf-8",
        None,
    );
    answers.push(send(addr, "POST", "/api/connected", &headers, b"{}"));

    // Three user events, each carrying the state the previous answer set.
    let mut state: Option<String> = None;
    let messages: [(&str, &[u8]); 3] = [
        ("text/plain", b"hello"),
        ("application/json", br#"{"hello": "world"}"#),
        ("application/octet-stream", &[0, 1, 2, 255]),
    ];
    for (i, (content_type, body)) in (4..).zip(messages) {
        let headers = event("user.message", "message", i, content_type, state.as_deref());
        let answer = send(addr, "POST", "/api/message", &headers, body);
        state = answer.state.clone();
        answers.push(answer);
    }

    // A forged signature: refused in plain text.
    let mut forged = event("user.message", "message", 7, "text/plain", None);
    forged.retain(|(n, _)| n != "ce-signature");
    forged.push((
        "ce-signature".to_owned(),
        format!("sha256={}", sign("guess", CONNECTION)),
    ));
    answers.push(send(addr, "POST", "/api/message", &forged, b"x"));

    let headers = event(
        "sys.disconnected",
        "disconnected",
        8,
        "application/json; charset=utf-8",
        state.as_deref(),
    );
    answers.push(send(
        addr,
        "POST",
        "/api/disconnected",
        &headers,
        // A client's reason with terminal escape sequences: printed escaped.
        br#"{"reason": "bye\u001b[2J\u001b]0;pwned\u0007"}"#,
    ));
    answers
}

#[test]
fn both_examples_answer_and_print_alike() {
    let mut runs = Vec::new();
    for name in EXAMPLES {
        let (child, addr, mut stderr) = start(name);
        let answers = conversation(&addr);
        let stdout = stop(child);
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        runs.push((name, answers, stdout, rest));
    }
    let (_, axum, axum_out, axum_err) = &runs[0];
    let (_, actix, actix_out, actix_err) = &runs[1];
    assert_eq!(axum, actix, "the answers differ");
    assert_eq!(axum_out, actix_out, "the stdout lines differ");

    // What the chat hub answers.
    let text = |a: &Answer| String::from_utf8_lossy(&a.body).into_owned();
    assert_eq!(axum[0].status, 200, "validate: {:?}", axum[0]);
    assert_eq!(
        (axum[1].status, text(&axum[1]).as_str()),
        (200, r#"{"userId":"alice","groups":["lobby"]}"#)
    );
    assert_eq!(text(&axum[2]), r#"{"userId":"user1"}"#);
    assert_eq!(axum[3].status, 204);
    let echoed: [(&str, &[u8]); 3] = [
        ("text/plain; charset=utf-8", b"hello"),
        ("application/json", br#"{"hello": "world"}"#),
        ("application/octet-stream", &[0, 1, 2, 255]),
    ];
    for (n, (answer, (content_type, body))) in axum[4..7].iter().zip(echoed).enumerate() {
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type.as_deref(), Some(content_type));
        assert_eq!(answer.body, body);
        let state: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(answer.state.as_deref().unwrap()).unwrap())
                .unwrap();
        assert_eq!(state, serde_json::json!({"messages": n + 1}));
    }
    assert_eq!(axum[7].status, 401);
    assert_eq!(
        axum[7].content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(axum[8].status, 204);

    // One CloudEvents JSON line per accepted event, the context as extensions, never
    // the signature.
    let lines: Vec<serde_json::Value> = axum_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 7, "{axum_out}");
    for line in &lines {
        assert_eq!(line["specversion"], "1.0");
        assert_eq!(line["hub"], "chat");
        assert_eq!(line["connectionid"], CONNECTION);
        assert_eq!(line["awpsversion"], "1.0");
        assert!(line.get("signature").is_none(), "{line}");
    }
    assert!(!axum_out.contains(&sign(KEYS[0], CONNECTION)));
    assert_eq!(lines[0]["type"], "azure.webpubsub.sys.connect");
    assert_eq!(lines[0]["data"]["query"]["room"][0], "lobby");
    assert_eq!(lines[6]["type"], "azure.webpubsub.sys.disconnected");

    for err in [axum_err, actix_err] {
        assert!(err.contains(&format!("connected: {CONNECTION}")), "{err}");
        assert!(
            err.contains(&format!(
                r"disconnected: {CONNECTION} (bye\u{{1b}}[2J\u{{1b}}]0;pwned\u{{7}})"
            )),
            "{err}"
        );
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
        assert!(err.contains("rejected request: 401"), "{err}");
    }
}

#[test]
fn a_blank_key_variable_stops_the_start_and_unset_keys_are_not_checked() {
    for name in EXAMPLES {
        let mut child = command(name)
            .env("WEBPUBSUB_KEYS", " , ")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn");
        let status = exit_within(&mut child, Duration::from_secs(20));
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("WEBPUBSUB_KEYS"), "{name}: {stderr}");

        // Without keys and host: any origin, unsigned events accepted, with warnings.
        // (`command` starts it without WEBPUBSUB_KEYS and WEBPUBSUB_HOST.)
        let mut child = command(name).spawn().expect("spawn");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "{name}: {seen}");
            seen.push_str(&line);
            if let Some(rest) = line.split("http://").nth(1) {
                break rest.split('/').next().unwrap().to_owned();
            }
        };
        assert!(
            seen.contains("any origin") && seen.contains("not checked"),
            "{seen}"
        );
        let validate = vec![(
            "WebHook-Request-Origin".to_owned(),
            "other.webpubsub.azure.com".to_owned(),
        )];
        assert_eq!(
            send(&addr, "OPTIONS", "/api/validate", &validate, b"").status,
            200
        );
        let mut unsigned = event("user.message", "message", 1, "text/plain", None);
        unsigned.retain(|(n, _)| n != "ce-signature");
        let answer = send(&addr, "POST", "/api/message", &unsigned, b"hi");
        assert_eq!((answer.status, answer.body.as_slice()), (200, &b"hi"[..]));
        let _ = stop(child);
    }
}
