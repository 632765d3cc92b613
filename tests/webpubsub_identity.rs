//! Web PubSub: the client cannot spoof the service (issue 18, items 1, 2 and the
//! signature part of 7), on axum AND actix-web.
//!
//! - **Binary mode only.** A user event's `Content-Type` is the client's, so a
//!   client that types its message `application/cloudevents+json` (or a batch)
//!   and puts another user, connection, hub and state in it sends data: the
//!   handler sees the service's identity and state, from the headers, and the
//!   client's bytes as data. WebSocket- and MQTT-shaped events, behind the
//!   `WebPubSubPolicy` stack and with the extractor parsing by itself.
//! - **Verbatim identity.** `ce-userId` `%61dmin` stays `%61dmin` (as Microsoft's
//!   handlers read it) from `connect` through a user event, and a `%`-bearing
//!   `ce-connectionId` still verifies its signature.
//! - **The challenge of the scheme checked.** A bad or missing signature is 401
//!   with `WWW-Authenticate: WebPubSub-Signature …`, never Bearer.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use hmac::{Hmac, Mac as _};
use hookgate::webpubsub::{
    ConnectResponse, UserData, UserEventResponse, WebPubSubError, WebPubSubEvent, WebPubSubPolicy,
    WebPubSubResponse,
};
use serde_json::{Value, json};
use sha2::Sha256;

const HOST: &str = "xxx.webpubsub.azure.com";
const KEY: &str = "primary-access-key";
const CONNECTION: &str = "0f9c97a2f0bf4706afe87a14e0797b11";

/// What the handler saw, as JSON: a `connect` is answered with the user id it
/// read and the rest in the state; any other event with this JSON as its body.
fn seen(event: &WebPubSubEvent) -> Value {
    let c = event.context();
    let (kind, data) = match event {
        WebPubSubEvent::User(user) => (
            match &user.data {
                UserData::Text(_) => "text",
                UserData::Json(_) => "json",
                UserData::Binary(_) => "binary",
            },
            String::from_utf8_lossy(user.data.as_bytes()).into_owned(),
        ),
        _ => ("none", String::new()),
    };
    json!({
        "user": c.user_id(),
        "connection": c.connection_id(),
        "hub": c.hub(),
        "event": c.event_name(),
        "subprotocol": c.subprotocol(),
        "physical": c.physical_connection_id(),
        "session": c.session_id(),
        "role": c.state().get::<String>("role").ok().flatten(),
        "id": c.event_id(),
        "source": c.cloud_event().source(),
        "kind": kind,
        "data": data,
    })
}

fn answer(event: WebPubSubEvent) -> Result<WebPubSubResponse, WebPubSubError> {
    let seen = seen(&event);
    Ok(match event {
        WebPubSubEvent::Connect(connect) => {
            let mut response = ConnectResponse::new();
            if let Some(user) = connect.context.user_id() {
                response = response.user_id(user);
            }
            let mut state = connect.context.into_state();
            state.set("seen", &seen)?;
            response.state(&state)?.into()
        }
        _ => UserEventResponse::json(&seen)?.into(),
    })
}

fn policy() -> WebPubSubPolicy {
    WebPubSubPolicy::builder()
        .host(HOST)
        .keys(hookgate::auth::WebPubSubKeys::new([KEY]).unwrap())
        .build()
        .unwrap()
}

/// Routes on both frameworks: `/api/{event}` behind the policy's stack,
/// `/bare/{event}` with no layer (the extractor parses), `/generic/{event}` behind
/// a generic webhook stack (which reads the client's `Content-Type` as the
/// delivery's).
mod axum_side {
    use axum::routing::post;
    use axum::{Extension, Router};
    use hookgate::tower::WebhookLayer;
    use hookgate::tower::webpubsub::{WebPubSub, WebPubSubRejection, WebPubSubReply};

    async fn handle(WebPubSub(event): WebPubSub) -> Result<WebPubSubReply, WebPubSubRejection> {
        Ok(super::answer(event)?.into())
    }

    pub(super) async fn call(
        policy: &super::WebPubSubPolicy,
        req: &super::TestRequest,
    ) -> super::TestResponse {
        let app = Router::new()
            .route("/bare/{event}", post(handle))
            .merge(
                Router::new()
                    .route("/api/{event}", post(handle))
                    .layer(WebhookLayer::new(policy.webhook().clone()))
                    .layer(Extension(policy.limits())),
            )
            .merge(
                Router::new()
                    .route("/generic/{event}", post(handle))
                    .layer(WebhookLayer::new(super::generic())),
            );
        super::axum_app::call(&app, req).await
    }
}

mod actix_side {
    use actix_web::{App, test, web};
    use hookgate::actix::Webhook;
    use hookgate::actix::webpubsub::{WebPubSub, WebPubSubRejection, WebPubSubReply};

    async fn handle(WebPubSub(event): WebPubSub) -> Result<WebPubSubReply, WebPubSubRejection> {
        Ok(super::answer(event)?.into())
    }

    pub(super) async fn call(
        policy: &super::WebPubSubPolicy,
        req: &super::TestRequest,
    ) -> super::TestResponse {
        let app = test::init_service(
            App::new()
                .app_data(policy.limits())
                .service(
                    web::scope("/api")
                        .wrap(Webhook::new(policy.webhook().clone()))
                        .route("/{event}", web::post().to(handle)),
                )
                .service(
                    web::scope("/generic")
                        .wrap(Webhook::new(super::generic()))
                        .route("/{event}", web::post().to(handle)),
                )
                .route("/bare/{event}", web::post().to(handle)),
        )
        .await;
        super::actix_app::call(&app, req).await
    }
}

/// A generic receiver: any origin, default parsing (mode by `Content-Type`).
fn generic() -> hookgate::WebhookPolicy {
    hookgate::WebhookPolicy::builder()
        .handshake(
            hookgate::handshake::HandshakePolicy::builder()
                .allow_any_origin()
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

async fn both(req: &TestRequest) -> TestResponse {
    both_with(&policy(), req).await
}

async fn both_with(policy: &WebPubSubPolicy, req: &TestRequest) -> TestResponse {
    let axum = axum_side::call(policy, req).await;
    let actix = actix_side::call(policy, req).await;
    assert_eq!(axum, actix, "axum and actix-web differ for {req:?}");
    axum
}

fn sign(connection_id: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).unwrap();
    mac.update(connection_id);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn state(role: &str) -> String {
    STANDARD.encode(json!({ "role": role }).to_string())
}

/// An event as the service sends it, at `{prefix}/{name}`: `ty` after
/// `azure.webpubsub.`, user `mallory` with the state `role: user`, signed.
fn event(prefix: &str, ty: &str, name: &str, connection: &[u8]) -> TestRequest {
    TestRequest::post(&format!("/{prefix}/{name}"))
        .header("WebHook-Request-Origin", HOST)
        .header("ce-specversion", "1.0")
        .header("ce-type", format!("azure.webpubsub.{ty}"))
        .header("ce-source", format!("/hubs/chat/client/{CONNECTION}"))
        .header("ce-id", "1")
        .header("ce-userId", "mallory")
        .header("ce-connectionId", connection)
        .header("ce-hub", "chat")
        .header("ce-eventName", name)
        .header("ce-awpsversion", "1.0")
        .header("ce-connectionState", state("user"))
        .header("ce-signature", sign(connection))
}

/// A WebSocket client's message (`json.webpubsub.azure.v1`, event `message`).
fn websocket(prefix: &str) -> TestRequest {
    event(prefix, "user.message", "message", CONNECTION.as_bytes())
        .header("ce-subprotocol", "json.webpubsub.azure.v1")
}

/// An MQTT client's publish: the connection id is the client id, with the
/// physical connection and session ids; `Content-Type` is the MQTT 5 property.
fn mqtt(prefix: &str) -> TestRequest {
    event(prefix, "user.publish", "publish", CONNECTION.as_bytes())
        .header("ce-subprotocol", "mqtt")
        .header("ce-physicalConnectionId", "physical-1")
        .header("ce-sessionId", "session-1")
}

/// The client's body: a structured CloudEvent naming another user, connection,
/// hub, state and event id.
fn forged_event() -> String {
    json!({
        "specversion": "1.0",
        "id": "forged-id",
        "source": "/hubs/admin/client/victim",
        "type": "azure.webpubsub.user.message",
        "userid": "admin",
        "connectionid": "victim",
        "hub": "admin",
        "eventname": "message",
        "subprotocol": "forged",
        "connectionstate": state("admin"),
        "datacontenttype": "text/plain",
        "data": "hi"
    })
    .to_string()
}

/// Whatever the client's content type says, the handler sees the service's
/// identity and state, and the client's body, byte for byte, as data: JSON for
/// the `+json` types, binary for another CloudEvents format.
#[actix_web::test]
async fn a_client_cannot_replace_the_identity_with_its_content_type() {
    let structured = forged_event();
    let batch = format!("[{structured}]");
    let cases = [
        ("application/cloudevents+json", &structured, "json"),
        (
            "application/cloudevents+json; charset=utf-8",
            &structured,
            "json",
        ),
        ("application/cloudevents+json", &batch, "json"),
        ("application/cloudevents-batch+json", &batch, "json"),
        ("APPLICATION/CLOUDEVENTS-BATCH+JSON", &batch, "json"),
        ("application/cloudevents+xml", &structured, "binary"),
        ("application/cloudevents-batch+avro", &batch, "binary"),
    ];
    for prefix in ["api", "bare"] {
        for (shape, request, name, subprotocol) in [
            (
                "websocket",
                websocket(prefix),
                "message",
                "json.webpubsub.azure.v1",
            ),
            ("mqtt", mqtt(prefix), "publish", "mqtt"),
        ] {
            for (content_type, body, kind) in &cases {
                let req = request
                    .clone()
                    .header("Content-Type", content_type)
                    .body(body.to_string());
                let res = both(&req).await;
                let what = format!("{prefix} {shape} {content_type}");
                assert_eq!(res.status, 200, "{what}: {res:?}");
                let seen = res.json();
                let mqtt = shape == "mqtt";
                assert_eq!(
                    seen,
                    json!({
                        "user": "mallory",
                        "connection": CONNECTION,
                        "hub": "chat",
                        "event": name,
                        "subprotocol": subprotocol,
                        "physical": if mqtt { Some("physical-1") } else { None },
                        "session": if mqtt { Some("session-1") } else { None },
                        "role": "user",
                        "id": "1",
                        "source": format!("/hubs/chat/client/{CONNECTION}"),
                        "kind": kind,
                        "data": body,
                    }),
                    "{what}"
                );
            }
        }
    }
}

/// A request without `ce-specversion` is 415 (plain text) saying that binary-mode
/// headers were expected, whatever its `Content-Type`; a delivery another stack
/// read in structured or batch mode is refused (415), never taken for the
/// service's event.
#[actix_web::test]
async fn binary_mode_headers_are_required() {
    for prefix in ["api", "bare"] {
        let req = TestRequest::post(&format!("/{prefix}/message"))
            .header("WebHook-Request-Origin", HOST)
            .header("ce-connectionId", CONNECTION)
            .header("ce-signature", sign(CONNECTION.as_bytes()))
            .header("Content-Type", "application/cloudevents+json")
            .body(forged_event());
        let res = both(&req).await;
        assert_eq!(res.status, 415, "{prefix}: {res:?}");
        assert_eq!(
            res.content_type.as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert!(
            res.text().contains("binary-mode CloudEvents only")
                && res.text().contains("`ce-specversion`"),
            "{prefix}: {}",
            res.text()
        );
    }
    for content_type in [
        "application/cloudevents+json",
        "application/cloudevents-batch+json",
    ] {
        let req = websocket("generic")
            .header("Content-Type", content_type)
            .body(format!("[{}]", forged_event()));
        let res = both(&req).await;
        assert_eq!(res.status, 415, "{content_type}: {res:?}");
        assert!(
            res.text().contains("binary mode only") && res.text().contains("WebPubSubPolicy"),
            "{}",
            res.text()
        );
    }
}

/// `%`-bearing, quoted and ISO-8859-1 identities arrive as the service sent them,
/// from `connect` (the answer's `userId`) through a user event (the context the
/// handler read: user, connection, hub, event name, subprotocol); the signature
/// over the raw `ce-connectionId` verifies.
#[actix_web::test]
async fn identity_headers_are_read_verbatim_from_connect_to_user_events() {
    let connection: &[u8] = b"c%41d%2F1";
    /// `req` with these headers replacing its own.
    fn with(mut req: TestRequest, headers: &[(&str, &[u8])]) -> TestRequest {
        for (name, value) in headers {
            req = only_last(req.header(name, value), name);
        }
        req
    }
    for (user, expected) in [
        (b"%61dmin".as_slice(), "%61dmin"),
        (b"a%2Fb", "a%2Fb"),
        (b"\"quoted\"", "\"quoted\""),
        (b"Z\xfcrich", "Z\u{fc}rich"),
    ] {
        for prefix in ["api", "bare"] {
            let connect = with(
                event(prefix, "sys.connect", "connect", connection)
                    .header("Content-Type", "application/json")
                    .body("{}"),
                &[("ce-userId", user)],
            );
            let res = both(&connect).await;
            assert_eq!(res.status, 200, "{prefix} {expected}: {res:?}");
            assert_eq!(res.json()["userId"], expected, "{prefix}");

            let message = with(
                event(prefix, "user.message", "message", connection)
                    .header("Content-Type", "text/plain")
                    .body("hello"),
                &[
                    ("ce-userId", user),
                    ("ce-hub", b"h%75b"),
                    ("ce-eventName", b"m%65ssage"),
                    ("ce-subprotocol", b"json%2Ewebpubsub"),
                ],
            );
            let res = both(&message).await;
            assert_eq!(res.status, 200, "{prefix} {expected}: {res:?}");
            let seen = res.json();
            assert_eq!(
                (
                    &seen["user"],
                    &seen["connection"],
                    &seen["hub"],
                    &seen["event"],
                    &seen["subprotocol"]
                ),
                (
                    &json!(expected),
                    &json!("c%41d%2F1"),
                    &json!("h%75b"),
                    &json!("m%65ssage"),
                    &json!("json%2Ewebpubsub")
                ),
                "{prefix}"
            );
            assert_eq!(
                (&seen["kind"], &seen["data"]),
                (&json!("text"), &json!("hello"))
            );
        }
    }
}

/// `req` with only the last line of header `name`.
fn only_last(mut req: TestRequest, name: &str) -> TestRequest {
    let last = req
        .headers
        .iter()
        .rposition(|(n, _)| n.eq_ignore_ascii_case(name))
        .expect("the header");
    let mut i = 0;
    req.headers.retain(|(n, _)| {
        let keep = !n.eq_ignore_ascii_case(name) || i == last;
        i += 1;
        keep
    });
    req
}

/// A bad or missing signature is 401 with the signature's own challenge, its
/// description the plain-text message.
#[actix_web::test]
async fn a_refused_signature_challenges_the_signature_scheme() {
    let forged = only_last(
        websocket("api")
            .header("ce-signature", "sha256=00")
            .header("Content-Type", "text/plain")
            .body("x"),
        "ce-signature",
    );
    let unsigned = TestRequest {
        headers: websocket("api")
            .headers
            .into_iter()
            .filter(|(n, _)| n != "ce-signature")
            .collect(),
        ..websocket("api")
    };
    for (req, message) in [
        (
            forged,
            "no `ce-signature` value matches the `ce-connectionId` under a configured access key",
        ),
        (
            unsigned,
            "no credentials; expected a Web PubSub `ce-signature`",
        ),
    ] {
        let res = both(&req).await;
        assert_eq!(res.status, 401, "{res:?}");
        assert_eq!(res.text(), message);
        // No signature sent: the bare scheme, no error code (RFC 6750, 3.1).
        let challenge = if message.starts_with("no credentials") {
            "WebPubSub-Signature".to_owned()
        } else {
            format!(
                "WebPubSub-Signature error=\"invalid_signature\", error_description=\"{message}\""
            )
        };
        assert_eq!(res.header("www-authenticate"), Some(challenge.as_str()));
    }
}

/// A `connect` body past a count of `WebPubSubLimits` is a 400 in plain text that
/// names the limit; at the limit it is accepted. The builder's settings reach the
/// extractors (through `policy.limits()`).
#[actix_web::test]
async fn connect_bodies_past_a_count_are_plain_text_400s_naming_the_limit() {
    let small = WebPubSubPolicy::builder()
        .host(HOST)
        .keys(hookgate::auth::WebPubSubKeys::new([KEY]).unwrap())
        .max_connect_entries(2)
        .max_connect_values(3)
        .max_connect_items(8)
        .build()
        .unwrap();
    let connect = |body: &str| {
        event("api", "sys.connect", "connect", CONNECTION.as_bytes())
            .header("Content-Type", "application/json")
            .body(body.to_owned())
    };
    for (body, expected) in [
        (r#"{"query":{"a":[],"b":[]}}"#, None),
        (
            r#"{"query":{"a":[],"b":[],"c":[]}}"#,
            Some("`query` has more than 2 entries, the receiver's limit (max_connect_entries)"),
        ),
        (r#"{"claims":{"role":["1","2","3"]}}"#, None),
        (
            r#"{"claims":{"role":["1","2","3","4"]}}"#,
            Some("`claims.role` has more than 3 values, the receiver's limit (max_connect_values)"),
        ),
        (
            r#"{"subprotocols":["1","2","3","4"]}"#,
            Some("`subprotocols` has more than 3 values"),
        ),
        (
            r#"{"clientCertificates":[{},{},{},{}]}"#,
            Some("`clientCertificates` has more than 3 values"),
        ),
        (
            r#"{"claims":{"a":["1","2"],"b":["3"]},"subprotocols":["x","y","z"]}"#,
            None,
        ),
        (
            r#"{"claims":{"a":["1","2"],"b":["3","4"]},"subprotocols":["x","y","z"]}"#,
            Some("more than 8 entries and values"),
        ),
    ] {
        let res = both_with(&small, &connect(body)).await;
        match expected {
            None => assert_eq!(res.status, 200, "{body}: {res:?}"),
            Some(detail) => {
                assert_eq!(res.status, 400, "{body}: {res:?}");
                assert_eq!(
                    res.content_type.as_deref(),
                    Some("text/plain; charset=utf-8")
                );
                assert!(res.text().contains(detail), "{body}: {}", res.text());
            }
        }
    }
    // The defaults are generous: a real client's connect passes.
    let res = both(&connect(
        r#"{"claims":{"sub":["u"],"role":["a","b"]},"query":{"room":["lobby"]},
            "headers":{"User-Agent":["x"],"Host":["y"]},"subprotocols":["json.webpubsub.azure.v1"],
            "clientCertificates":[{"thumbprint":"T","content":"C"}]}"#,
    ))
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(
        WebPubSubPolicy::builder()
            .host(HOST)
            .max_connect_items(0)
            .build()
            .is_err()
    );
}
