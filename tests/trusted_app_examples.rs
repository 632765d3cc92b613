//! The two Trusted Application API example receivers (`trusted_app_axum`,
//! `trusted_app_actix`) as a user runs them: the binaries `cargo test` built,
//! started with their environment, sent the same callbacks over loopback TCP. Their
//! answers and their stdout must be the same, and as the examples' docs say.
//!
//! Azure AD tokens come from the local OpenID Connect issuer of
//! `tests/common/oidc.rs`, named as a custom authority whose issuer is the v1
//! issuer `https://sts.windows.net/{tid}/`.

#![cfg(unix)]

mod common;

use common::examples::{command, exit_within, http, listening_addr};
use std::io::{BufReader, Read as _};
use std::process::Command;
use std::time::Duration;

use common::oidc::{OidcIssuer, TENANT, TestKey, now};
use serde_json::{Value, json};

const EXAMPLES: [&str; 2] = ["trusted_app_axum", "trusted_app_actix"];
const APP_ID_URI: &str = "https://litware.example/callback-app";
const UCWA_CONTENT_TYPE: &str =
    r#"application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8"#;

/// A callback as the service sends it: `POST /callback<query>` with the UCWA
/// content type, its correlation headers, and `token` as the bearer token.
fn callback(addr: &str, query: &str, token: Option<&str>, body: &str) -> String {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    format!(
        "POST /callback{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         X-MS-Correlation-Id: 3953004368\r\nclient-request-id: e9168689-37ac-472e-b02a-c9977c8023a0\r\n\
         {auth}Content-Type: {UCWA_CONTENT_TYPE}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn v1_token(key: &TestKey, audience: &str) -> String {
    let t = now();
    key.sign(&json!({
        "aud": audience,
        "iss": OidcIssuer::v1_issuer(TENANT),
        "iat": t - 60,
        "nbf": t - 60,
        "exp": t + 3600,
        "appid": "00000004-0000-0ff1-ce00-000000000000",
        "appidacr": "2",
        "idp": OidcIssuer::v1_issuer(TENANT),
        "oid": "2d452913-80c9-4b56-8419-43a7da179822",
        "sub": "2d452913-80c9-4b56-8419-43a7da179822",
        "tid": TENANT,
        "ver": "1.0",
    }))
}

/// An incoming messaging invitation (the first callback of a conversation).
fn invitation() -> Value {
    json!({
        "_links": {
            "self": {"href": "/platformservice/v1/applications/2817365012/events?ack=1"},
            "next": {"href": "/platformservice/v1/applications/2817365012/events?ack=2"}
        },
        "sender": [{
            "rel": "ms:rtc:saas:communication",
            "href": "/platformservice/v1/applications/2817365012/communication?endpointId=sip:helpdesk@contoso.example",
            "events": [{
                "link": {
                    "rel": "ms:rtc:saas:messagingInvitation",
                    "href": "/platformservice/v1/applications/2817365012/communication/messagingInvitations/7d1e?endpointId=sip:helpdesk@contoso.example"
                },
                "_embedded": {
                    "ms:rtc:saas:messagingInvitation": {
                        "direction": "Incoming",
                        "state": "Connecting",
                        "subject": "help",
                        "to": "sip:helpdesk@contoso.example",
                        "rel": "ms:rtc:saas:messagingInvitation"
                    }
                },
                "type": "started"
            }]
        }],
        "baseuri": "https://webpool.infra.lync.example"
    })
}

/// An incoming message of that conversation.
fn message() -> Value {
    json!({
        "_links": {"self": {"href": "/platformservice/v1/applications/2817365012/events?ack=3"}},
        "sender": [{
            "rel": "ms:rtc:saas:conversation",
            "href": "/platformservice/v1/applications/2817365012/communication/conversations/4f1c",
            "events": [{
                "link": {"rel": "ms:rtc:saas:message", "href": "/platformservice/v1/applications/2817365012/communication/conversations/4f1c/messaging/messages/1"},
                "status": "Success",
                "_embedded": {"ms:rtc:saas:message": {"direction": "Incoming", "timeStamp": "/Date(1489524122496)/"}},
                "type": "completed"
            }]
        }],
        "baseuri": "https://webpool.infra.lync.example"
    })
}

/// What one example answered to the sequence, and what it printed.
#[derive(Debug, PartialEq)]
struct Run {
    answers: Vec<(u16, Value)>,
    stdout: Vec<Value>,
}

fn run(name: &str, authority: &str, key: &TestKey) -> Run {
    let mut child = command(name)
        .env("AAD_AUTHORITY", authority)
        .env("AAD_AUDIENCES", APP_ID_URI)
        .env("WEBHOOK_CODES", "s3cret")
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = listening_addr(name, &mut stderr);
    // Drain stderr meanwhile, so that the child never blocks on a full pipe.
    let drain = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });

    let token = v1_token(key, APP_ID_URI);
    let wrong_audience = v1_token(key, "https://someone-else.example");
    let invitation = invitation().to_string();
    let message = message().to_string();
    let requests = [
        callback(&addr, "", Some(&token), &invitation),
        callback(&addr, "?callbackContext=1", Some(&token), &message),
        callback(&addr, "?callbackContext=2", None, &message),
        callback(&addr, "?callbackContext=2", Some(&wrong_audience), &message),
        callback(&addr, "?callbackContext=2", Some(&token), r#"{"sender": ["#),
        callback(&addr, "?callbackContext=2&code=s3cret", None, &message),
        callback(&addr, "?callbackContext=2&code=guess", None, &message),
    ];
    let answers = requests
        .iter()
        .map(|request| {
            let (status, body) = http(&addr, request);
            let body = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {body}"));
            (status, body)
        })
        .collect();

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = exit_within(&mut child, Duration::from_secs(20));
    assert!(status.success(), "{name}: SIGTERM gave {status}");
    let rest = drain.join().unwrap();
    assert!(
        rest.contains(
            "callback: ms:rtc:saas:communication started ms:rtc:saas:messagingInvitation"
        ),
        "{name}: {rest}"
    );
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let stdout = stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{name}: a line is not JSON ({e}): {l}"))
        })
        .collect();
    Run { answers, stdout }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_examples_answer_and_print_the_same() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    issuer.set_discovery_issuer(&OidcIssuer::v1_issuer("{tenantid}"));
    let authority = issuer.custom_authority();

    let runs =
        tokio::task::spawn_blocking(move || EXAMPLES.map(|name| run(name, &authority, &key)))
            .await
            .unwrap();
    let [axum, actix] = runs;
    assert_eq!(axum, actix, "the two examples differ");

    let statuses: Vec<u16> = axum.answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 401, 401, 400, 200, 401]);
    assert_eq!(axum.answers[0].1, json!({"CallbackContext": "1"}));
    assert_eq!(axum.answers[1].1, json!({"CallbackContext": "2"}));
    assert_eq!(axum.answers[5].1, json!({"CallbackContext": "3"}));
    assert_eq!(
        axum.answers[2].1["type"],
        "urn:hookgate:problem:missing-credentials"
    );
    assert_eq!(
        axum.answers[3].1["type"],
        "urn:hookgate:problem:invalid-credentials"
    );
    assert!(
        axum.answers[3].1["detail"]
            .as_str()
            .unwrap()
            .contains("audience")
    );
    assert_eq!(
        axum.answers[4].1["type"],
        "urn:hookgate:problem:malformed-json"
    );

    assert_eq!(
        axum.stdout,
        [
            json!({"callbackContext": null, "event": invitation()}),
            json!({"callbackContext": "1", "event": message()}),
            json!({"callbackContext": "2", "event": message()}),
        ]
    );
}

#[test]
fn a_receiver_without_authentication_does_not_start() {
    for name in EXAMPLES {
        for (var, value) in [("", ""), ("WEBHOOK_CODES", " , ")] {
            let mut command = command(name);
            if !var.is_empty() {
                command.env(var, value);
            }
            let mut child = command.spawn().expect("spawn");
            let status = exit_within(&mut child, Duration::from_secs(20));
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            assert_eq!(status.code(), Some(2), "{name} {var}={value:?}: {stderr}");
            let expected = if var.is_empty() {
                "no authentication configured"
            } else {
                "lists nothing"
            };
            assert!(
                stderr.contains(expected),
                "{name} {var}={value:?}: {stderr}"
            );
        }
    }
}
