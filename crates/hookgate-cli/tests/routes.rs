//! Several routes in one `hookgate listen`: each answers its own sender and refuses
//! the others' credentials, deduplicates in its own namespace, and its metrics
//! carry its name; `--forward` passes on what a downstream uses of a delivery and
//! nothing of the sender's credentials.

#![cfg(unix)]

mod common;
#[path = "../../../tests/common/oidc.rs"]
mod oidc;

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{Hookgate, SENDER_TRACE, SENDER_TRACEPARENT, client, command, event, temp_dir};
use oidc::{APP_ID, CLIENT_ID, OidcIssuer, ROLE, TestKey};

/// A secret file (mode 0600).
fn secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

const KEY: &str = "chat-key-1";

/// `sha256=` HMAC of `connection` under `key`, as Web PubSub signs.
fn signature(key: &str, connection: &str) -> String {
    use hmac::{Hmac, Mac as _};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(connection.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// The credentials a test request carries.
#[derive(Clone, Copy, Debug)]
enum Credentials<'a> {
    Code,
    Signature,
    Token(&'a str),
}

/// POSTs a binary-mode event `id` to `url` with `credentials`; the status.
async fn send(url: &str, id: &str, credentials: Credentials<'_>) -> u16 {
    let (headers, body) = hookgate::encode::binary(&event(id));
    let mut request = headers
        .into_iter()
        .fold(client().post(url), |r, (n, v)| r.header(n, v))
        .header("ce-connectionId", "conn-1")
        .header("ce-hub", "lobby")
        .header("ce-eventName", "message");
    request = match credentials {
        Credentials::Code => request.query(&[("code", "grid-s3cret")]),
        Credentials::Signature => request.header("ce-signature", signature(KEY, "conn-1")),
        Credentials::Token(token) => request.bearer_auth(token),
    };
    request.body(body).send().await.unwrap().status().as_u16()
}

/// `dir/hookgate.toml` of `text`, beside the secret files it names: `codes` (the
/// shared secret `grid-s3cret`) and `keys` (the Web PubSub key [`KEY`]).
fn config(dir: &Path, text: &str) -> std::path::PathBuf {
    secret(&dir.join("codes"), "grid-s3cret\n");
    secret(&dir.join("keys"), &format!("{KEY}\n"));
    let file = dir.join("hookgate.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// The configuration of four routes (one of each kind, and Azure AD on a
/// CloudEvents route), the issuer's `authority` for the Azure AD ones.
fn four_routes(dir: &Path, authority: &str) -> std::path::PathBuf {
    config(
        dir,
        &format!(
            r#"
[[route]]
name = "grid"
path = "/api/grid"
code_file = "codes"

[[route]]
name = "chat"
path = "/eventhandler/{{event}}"
sender = "webpubsub"
webpubsub_key_file = "keys"
allow_origin = ["chat.webpubsub.azure.com"]

[[route]]
name = "aad"
path = "/api/aad"
aad_authority = "{authority}"
aad_audience = ["{CLIENT_ID}"]
aad_role = ["{ROLE}"]
aad_app_id = ["{APP_ID}"]

[[route]]
name = "calls"
path = "/callbacks"
sender = "trusted_app"
aad_authority = "{authority}"
aad_audience = ["{CLIENT_ID}"]
"#
        ),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn each_route_answers_its_sender_and_refuses_the_others() {
    let issuer = OidcIssuer::start(&[&TestKey::a()]).await;
    let dir = temp_dir("routes");
    let file = four_routes(&dir, &issuer.custom_authority());
    let token = TestKey::a().sign(&issuer.custom_claims());
    let mut other_app = issuer.custom_claims();
    other_app["azp"] = serde_json::json!("00000000-0000-4000-8000-00000000dead");
    let other_app = TestKey::a().sign(&other_app);
    let hg = Hookgate::start(&["--config", file.to_str().unwrap()], &[]);
    let grid = hg.url("/api/grid");
    let chat = hg.url("/eventhandler/message");
    let aad = hg.url("/api/aad");
    // The default route is not served: the file has routes and no top-level path.
    assert_eq!(
        send(&hg.url("/api/events"), "x", Credentials::Code).await,
        404
    );

    // Each route takes its own sender's credentials...
    assert_eq!(send(&grid, "g1", Credentials::Code).await, 200);
    assert_eq!(send(&chat, "w1", Credentials::Signature).await, 200);
    assert_eq!(send(&aad, "a1", Credentials::Token(&token)).await, 200);
    // ... and no other's.
    for (url, refused) in [
        (&grid, [Credentials::Signature, Credentials::Token(&token)]),
        (&chat, [Credentials::Code, Credentials::Token(&token)]),
        (&aad, [Credentials::Code, Credentials::Signature]),
    ] {
        for credentials in refused {
            assert_eq!(
                send(url, "r", credentials).await,
                401,
                "{url} {credentials:?}"
            );
        }
    }
    // The Azure AD allowlist of applications: a valid token of another, 403.
    assert_eq!(send(&aad, "a2", Credentials::Token(&other_app)).await, 403);
    // A Web PubSub route is received as Web PubSub: binary mode only, plain-text
    // rejections, its handshake granted to its resource.
    let answer = client()
        .post(&chat)
        .header("content-type", "application/cloudevents+json")
        .header("ce-connectionId", "conn-1")
        .header("ce-signature", signature(KEY, "conn-1"))
        .body(hookgate::encode::structured(&event("w2")).1)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 415);
    let handshake = |url: String, origin: &'static str| async move {
        client()
            .request(reqwest::Method::OPTIONS, url)
            .header("webhook-request-origin", origin)
            .send()
            .await
            .unwrap()
    };
    let answer = handshake(chat.clone(), "chat.webpubsub.azure.com").await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["webhook-allowed-origin"],
        "chat.webpubsub.azure.com"
    );
    assert_eq!(
        handshake(grid.clone(), "chat.webpubsub.azure.com")
            .await
            .status(),
        403
    );
    assert_eq!(
        handshake(grid.clone(), "eventgrid.azure.net")
            .await
            .status(),
        200
    );

    // Dedup per route: the same (source, id) is a duplicate on its route only.
    assert_eq!(send(&grid, "same", Credentials::Code).await, 200);
    assert_eq!(send(&grid, "same", Credentials::Code).await, 200);
    assert_eq!(send(&aad, "same", Credentials::Token(&token)).await, 200);
    let events = hg.stdout_events_wait(5);
    let same = events.iter().filter(|e| e["id"] == "same").count();
    assert_eq!(same, 2, "once per route: {events:?}");

    // A Trusted App callback: each UCWA event one CloudEvent, the context kept.
    let callback = r#"{
      "_links": {"self": {"href": "/platformservice/v1/applications/1393347000/events?ack=7"}},
      "sender": [{"rel": "ms:rtc:saas:conversation", "href": "/conversations/869c",
        "events": [{"link": {"rel": "ms:rtc:saas:message", "href": "/messages/3"},
          "status": "Success", "type": "completed"}]}],
      "baseuri": "https://webpoolbl20r04.infra.lync.com"
    }"#;
    let ucwa = |credentials: Option<&str>| {
        let request = client()
            .post(hg.url("/callbacks?callbackContext=7"))
            .header(
                "content-type",
                r#"application/json; type="application/vnd.microsoft.com.ucwa+json""#,
            )
            .body(callback);
        match credentials {
            Some(token) => request.bearer_auth(token),
            None => request.query(&[("code", "grid-s3cret")]),
        }
        .send()
    };
    let answer = ucwa(Some(&token)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), r#"{"CallbackContext":"7"}"#);
    assert_eq!(ucwa(None).await.unwrap().status(), 401);
    let events = hg.stdout_events_wait(6);
    let call = events
        .iter()
        .find(|e| e["type"] == "ms:rtc:saas:message.completed");
    let call = call.unwrap_or_else(|| panic!("no UCWA event in {events:?}"));
    assert_eq!(
        call["id"],
        "/platformservice/v1/applications/1393347000/events?ack=7#0"
    );
    assert_eq!(
        call["source"],
        "https://webpoolbl20r04.infra.lync.com/conversations/869c"
    );
    assert_eq!(call["ucwacontext"], "7");
    assert_eq!(call["data"]["status"], "Success");

    // Every route's metrics carry its name.
    for (route, accepted) in [("grid", 2.0), ("chat", 1.0), ("aad", 2.0), ("calls", 1.0)] {
        let selector =
            format!("hookgate_deliveries_total{{outcome=\"accepted\",route=\"{route}\"}}");
        assert_eq!(hg.metric(&selector).await, accepted, "{selector}");
    }
    assert_eq!(
        hg.metric("hookgate_deliveries_total{outcome=\"duplicate\",route=\"grid\"}")
            .await,
        1.0
    );
    assert_eq!(hg.metric("hookgate_secrets{route=\"grid\"}").await, 1.0);
    assert_eq!(
        hg.metric("hookgate_webpubsub_keys{route=\"chat\"}").await,
        1.0
    );
    let log = hg.stderr();
    assert!(!log.contains("grid-s3cret") && !log.contains(KEY), "{log}");

    // `config check` shows every route.
    let out = command()
        .args(["config", "check", file.to_str().unwrap()])
        .output()
        .unwrap();
    let meaning = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{meaning}");
    for part in [
        "[route grid]",
        "POST /api/grid (cloudevents sender)",
        "1 shared secret(s)",
        "namespace `grid`",
        "[route chat]",
        "POST /eventhandler/{event} (webpubsub sender)",
        "granted to chat.webpubsub.azure.com",
        "1 Web PubSub key(s)",
        "[route aad]",
        &format!("of application(s) {APP_ID}"),
        "[route calls]",
        "POST /callbacks (trusted_app sender)",
    ] {
        assert!(meaning.contains(part), "no {part:?} in\n{meaning}");
    }
    assert!(!meaning.contains("grid-s3cret") && !meaning.contains(KEY));
    let _ = std::fs::remove_dir_all(dir);
}

/// What the downstream saw: each request's path and headers.
type Seen = Arc<Mutex<Vec<(String, HeaderMap)>>>;

async fn downstream() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = |path: &'static str| {
        let seen = Arc::clone(&seen);
        post(move |headers: HeaderMap| async move {
            seen.lock().unwrap().push((path.to_owned(), headers));
            "ok"
        })
    };
    let app = Router::new()
        .route("/grid", record("grid"))
        .route("/chat", record("chat"));
    (common::serve(app).await, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn forward_passes_on_what_a_downstream_uses_and_no_credential() {
    let (base, seen) = downstream().await;
    let dir = temp_dir("routes-forward");
    let file = config(
        &dir,
        &format!(
            r#"
path = "/api/grid"
code_file = "codes"
secret_header = "X-Hook-Secret"
forward = "{base}/grid"

[[route]]
name = "chat"
path = "/chat"
sender = "webpubsub"
webpubsub_key_file = "keys"
allow_origin = ["*"]
forward = "{base}/chat"
"#
        ),
    );
    let hg = Hookgate::start(&["--config", file.to_str().unwrap()], &[]);
    let (headers, body) = hookgate::encode::binary(&event("g1"));
    let answer = headers
        .into_iter()
        .fold(client().post(hg.url("/api/grid")), |r, (n, v)| {
            r.header(n, v)
        })
        .header("x-hook-secret", "grid-s3cret")
        .header("aeg-delivery-count", "2")
        .header("aeg-subscription-name", "ORDERS")
        .header("aeg-event-type", "Notification")
        .header("aeg-sas-key", "never-forwarded")
        .header("x-request-id", "req-1")
        .header("traceparent", SENDER_TRACEPARENT)
        .header("cookie", "session=never-forwarded")
        .header("authorization", "Bearer never-forwarded")
        .header("x-other", "not-listed")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let (headers, body) = hookgate::encode::binary(&event("w1"));
    let answer = headers
        .into_iter()
        .fold(client().post(hg.url("/chat")), |r, (n, v)| r.header(n, v))
        .header("ce-connectionId", "conn-1")
        .header("ce-hub", "lobby")
        .header("ce-eventName", "message")
        .header("ce-userId", "%61lice")
        .header("ce-signature", signature(KEY, "conn-1"))
        .header("x-request-id", "req-2")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let seen = seen.lock().unwrap().clone();
    let of = |path: &str| {
        seen.iter()
            .find(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| panic!("nothing forwarded to /{path}: {seen:?}"))
    };
    let text =
        |headers: &HeaderMap, name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let grid = of("grid");
    assert_eq!(text(&grid, "aeg-delivery-count").as_deref(), Some("2"));
    assert_eq!(
        text(&grid, "aeg-subscription-name").as_deref(),
        Some("ORDERS")
    );
    assert_eq!(
        text(&grid, "aeg-event-type").as_deref(),
        Some("Notification")
    );
    assert_eq!(text(&grid, "x-request-id").as_deref(), Some("req-1"));
    let parent = text(&grid, "traceparent").unwrap();
    assert!(
        parent.contains(SENDER_TRACE) && parent != SENDER_TRACEPARENT,
        "{parent}"
    );
    assert_eq!(text(&grid, "ce-id").as_deref(), Some("g1"));
    for dropped in [
        "x-hook-secret",
        "aeg-sas-key",
        "cookie",
        "authorization",
        "x-other",
        "ce-connectionid",
    ] {
        assert!(
            text(&grid, dropped).is_none(),
            "{dropped} forwarded: {grid:?}"
        );
    }
    let chat = of("chat");
    for (name, value) in [
        ("ce-connectionid", "conn-1"),
        ("ce-hub", "lobby"),
        ("ce-eventname", "message"),
        ("ce-userid", "%61lice"),
        ("x-request-id", "req-2"),
        ("ce-id", "w1"),
    ] {
        assert_eq!(text(&chat, name).as_deref(), Some(value), "{chat:?}");
        assert_eq!(
            chat.get_all(name).iter().count(),
            1,
            "{name} twice: {chat:?}"
        );
    }
    assert!(text(&chat, "ce-signature").is_none(), "{chat:?}");
    let _ = std::fs::remove_dir_all(dir);
}
