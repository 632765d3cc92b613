//! Azure Web PubSub's event handler protocol on axum AND actix-web, driven by
//! requests shaped as Microsoft's documentation shows them ("CloudEvents extension
//! for Azure Web PubSub event handler with HTTP protocol"): the same headers, the
//! same casing (`ce-userId`, `ce-connectionId`), the same bodies.
//!
//! Both apps mount one handler at `/api/{event}` behind the stack of a
//! `WebPubSubPolicy` (resource `xxx.webpubsub.azure.com`, two access keys); every
//! request goes to both and the answers (status, media type, body, state header)
//! must be equal.

use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use hookgate::auth::WebPubSubKeys;
use hookgate::webpubsub::{
    ConnectResponse, UserEventResponse, WebPubSubError, WebPubSubEvent, WebPubSubPolicy,
    WebPubSubResponse,
};
use sha2::Sha256;

const HOST: &str = "xxx.webpubsub.azure.com";
const PRIMARY: &str = "primary-access-key";
const SECONDARY: &str = "secondary-access-key";
const CONNECTION: &str = "0f9c97a2f0bf4706afe87a14e0797b11";

/// What the `disconnected` handler saw, on both frameworks.
static DISCONNECTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The handler of both apps:
/// - `connect`: `userId` from `?username=` (else the token's), `groups` = the `room`
///   values, `roles` = `webpubsub.sendToGroup.<room>` per room, the first offered
///   subprotocol, the claim `role` as state; `?deny=<why>` refuses with 401.
/// - `connected`, `disconnected`: 204 (the reason is recorded).
/// - user event `readstate`: the state as JSON; `clearstate`: 204, state cleared;
///   any other: an echo, and `{"messages": N + 1}` as state.
fn answer(segment: &str, event: WebPubSubEvent) -> Result<WebPubSubResponse, WebPubSubError> {
    event.check_path_event(segment)?;
    Ok(match event {
        WebPubSubEvent::Connect(connect) => {
            if let Some(why) = connect.body.query_value("deny") {
                return Err(WebPubSubError::unauthorized(format!("denied: {why}")));
            }
            let rooms = connect
                .body
                .query
                .as_ref()
                .and_then(|q| q.get("room"))
                .cloned()
                .unwrap_or_default();
            let user = connect
                .body
                .query_value("username")
                .or(connect.context.user_id())
                .unwrap_or("anonymous")
                .to_owned();
            let mut response = ConnectResponse::new().user_id(user);
            if !rooms.is_empty() {
                response = response
                    .roles(rooms.iter().map(|r| format!("webpubsub.sendToGroup.{r}")))
                    .groups(rooms);
            }
            if let Some(first) = connect.body.subprotocols.as_ref().and_then(|s| s.first()) {
                response = response.subprotocol(first.clone());
            }
            if let Some(role) = connect.body.claim("role") {
                let mut state = connect.context.into_state();
                state.set("role", role)?;
                response = response.state(&state)?;
            }
            response.into()
        }
        WebPubSubEvent::Connected(_) => WebPubSubResponse::Ack,
        WebPubSubEvent::Disconnected(disconnected) => {
            DISCONNECTS.lock().unwrap().push(format!(
                "{} {}",
                disconnected.context.connection_id(),
                disconnected.body.reason.unwrap_or_default()
            ));
            WebPubSubResponse::Ack
        }
        WebPubSubEvent::User(user) => match user.context.event_name() {
            "readstate" => {
                let state: serde_json::Map<String, serde_json::Value> = user
                    .context
                    .state()
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.clone()))
                    .collect();
                UserEventResponse::json(&state)?.into()
            }
            "clearstate" => UserEventResponse::no_content().clear_state().into(),
            _ => {
                let reply = UserEventResponse::echo(&user.data);
                let mut state = user.context.into_state();
                let n = state.get::<u64>("messages")?.unwrap_or(0);
                state.set("messages", &(n + 1))?;
                reply.state(&state)?.into()
            }
        },
    })
}

/// The handler of the `connect`-only route: 204, or 200 with the user id.
fn connect_only(
    connect: hookgate::webpubsub::ConnectRequest,
) -> Result<WebPubSubResponse, WebPubSubError> {
    Ok(match connect.body.query_value("username") {
        Some(user) => ConnectResponse::new().user_id(user).into(),
        None => ConnectResponse::no_content().into(),
    })
}

fn policy(max_state_len: Option<usize>) -> WebPubSubPolicy {
    let mut builder = WebPubSubPolicy::builder()
        .host(HOST)
        .keys(WebPubSubKeys::new([PRIMARY, SECONDARY]).unwrap());
    if let Some(n) = max_state_len {
        builder = builder.max_state_len(n);
    }
    builder.build().unwrap()
}

mod axum_app {
    use axum::extract::Path;
    use axum::routing::post;
    use axum::{Extension, Router};
    use hookgate::tower::WebhookLayer;
    use hookgate::tower::webpubsub::{Connect, WebPubSub, WebPubSubRejection, WebPubSubReply};
    use hookgate::webpubsub::WebPubSubPolicy;

    async fn handle(
        Path(segment): Path<String>,
        WebPubSub(event): WebPubSub,
    ) -> Result<WebPubSubReply, WebPubSubRejection> {
        Ok(super::answer(&segment, event)?.into())
    }

    /// A route for one kind of event: `Connect` only.
    async fn connect_only(Connect(connect): Connect) -> Result<WebPubSubReply, WebPubSubRejection> {
        Ok(super::connect_only(connect)?.into())
    }

    pub(crate) fn app(policy: &WebPubSubPolicy) -> Router {
        Router::new()
            .route("/api/{event}", post(handle))
            .route("/only/connect", post(connect_only))
            .layer(WebhookLayer::new(policy.webhook().clone()))
            .layer(Extension(policy.limits()))
    }
}

mod actix_app {
    use actix_web::{App, web};
    use hookgate::actix::Webhook;
    use hookgate::actix::webpubsub::{Connect, WebPubSub, WebPubSubRejection, WebPubSubReply};
    use hookgate::webpubsub::WebPubSubPolicy;

    async fn handle(
        segment: web::Path<String>,
        WebPubSub(event): WebPubSub,
    ) -> Result<WebPubSubReply, WebPubSubRejection> {
        Ok(super::answer(&segment, event)?.into())
    }

    pub(crate) fn app(
        policy: WebPubSubPolicy,
    ) -> App<
        impl actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    > {
        App::new()
            .app_data(policy.limits())
            .wrap(Webhook::new(policy.webhook().clone()))
            .route("/api/{event}", web::post().to(handle))
            .route("/only/connect", web::post().to(connect_only))
    }

    async fn connect_only(Connect(connect): Connect) -> Result<WebPubSubReply, WebPubSubRejection> {
        Ok(super::connect_only(connect)?.into())
    }
}

/// A request, as a list of header lines and a body.
#[derive(Clone, Debug)]
struct Request {
    method: &'static str,
    uri: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Request {
    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self = self.without("Content-Type");
        self.headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.body = body.into();
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Response {
    status: u16,
    content_type: Option<String>,
    state: Option<String>,
    www_authenticate: Option<String>,
    allowed_origin: Option<String>,
    body: Bytes,
}

impl Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// The state the answer sets, decoded.
    fn state_json(&self) -> serde_json::Value {
        let raw = self.state.as_deref().expect("a ce-connectionState header");
        serde_json::from_slice(&STANDARD.decode(raw).unwrap()).unwrap()
    }
}

fn sign(key: &str, connection_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(connection_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// An event as the service sends it (the documentation's request format): `ty`
/// is the part after `azure.webpubsub.`; signed with both keys.
fn event(ty: &str, event_name: &str) -> Request {
    let signature = format!(
        "sha256={},sha256={}",
        sign(PRIMARY, CONNECTION),
        sign(SECONDARY, CONNECTION)
    );
    Request {
        method: "POST",
        uri: format!("/api/{event_name}"),
        headers: Vec::new(),
        body: Bytes::new(),
    }
    .header("Host", "localhost")
    .header("WebHook-Request-Origin", HOST)
    .header("Content-Type", "application/json; charset=utf-8")
    .header("ce-specversion", "1.0")
    .header("ce-type", format!("azure.webpubsub.{ty}"))
    .header("ce-source", format!("/hubs/chat/client/{CONNECTION}"))
    .header("ce-id", "1")
    .header("ce-time", "2021-01-01T00:00:00Z")
    .header("ce-signature", signature)
    .header("ce-userId", "user1")
    .header("ce-connectionId", CONNECTION)
    .header("ce-hub", "chat")
    .header("ce-eventName", event_name)
    .header("ce-awpsversion", "1.0")
}

fn user_event(name: &str, state: Option<&str>) -> Request {
    let req =
        event(&format!("user.{name}"), name).header("ce-subprotocol", "json.webpubsub.azure.v1");
    match state {
        Some(state) => req.header("ce-connectionState", state),
        None => req,
    }
}

async fn call_axum(policy: &WebPubSubPolicy, req: &Request) -> Response {
    use tower::ServiceExt as _;
    let mut builder = http::Request::builder().method(req.method).uri(&req.uri);
    for (n, v) in &req.headers {
        builder = builder.header(n.as_str(), v.as_str());
    }
    builder = builder.header("content-length", req.body.len());
    let request = builder
        .body(axum::body::Body::from(req.body.clone()))
        .unwrap();
    let response = axum_app::app(policy).oneshot(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, content_type, state, www, origin) = (
        response.status().as_u16(),
        header("content-type"),
        header("ce-connectionstate"),
        header("www-authenticate"),
        header("webhook-allowed-origin"),
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    Response {
        status,
        content_type,
        state,
        www_authenticate: www,
        allowed_origin: origin,
        body,
    }
}

async fn call_actix(policy: &WebPubSubPolicy, req: &Request) -> Response {
    use actix_web::test;
    let app = test::init_service(actix_app::app(policy.clone())).await;
    let mut builder = test::TestRequest::default()
        .method(req.method.parse().unwrap())
        .uri(&req.uri);
    for (n, v) in &req.headers {
        builder = builder.append_header((n.as_str(), v.as_str()));
    }
    let response =
        test::call_service(&app, builder.set_payload(req.body.clone()).to_request()).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (status, content_type, state, www, origin) = (
        response.status().as_u16(),
        header("content-type"),
        header("ce-connectionstate"),
        header("www-authenticate"),
        header("webhook-allowed-origin"),
    );
    let body = test::read_body(response).await;
    Response {
        status,
        content_type,
        state,
        www_authenticate: www,
        allowed_origin: origin,
        body,
    }
}

/// Sends `req` to both apps; they must answer alike.
async fn both_with(policy: &WebPubSubPolicy, req: &Request) -> Response {
    let axum = call_axum(policy, req).await;
    let actix = call_actix(policy, req).await;
    assert_eq!(axum, actix, "axum and actix-web differ for {req:?}");
    axum
}

async fn both(req: &Request) -> Response {
    both_with(&policy(None), req).await
}

#[actix_web::test]
async fn connect_with_claims_query_and_subprotocols_gets_groups_and_roles() {
    let body = r#"{
        "claims": {"sub": ["user1"], "role": ["admin"]},
        "query": {"username": ["alice"], "room": ["lobby", "games"], "access_token": ["..."]},
        "headers": {"User-Agent": ["test"]},
        "subprotocols": ["json.webpubsub.azure.v1", "protobuf.webpubsub.azure.v1"],
        "clientCertificates": [{"thumbprint": "ABC", "content": "-----BEGIN CERTIFICATE-----\r\n...\r\n-----END CERTIFICATE-----"}]
    }"#;
    let res =
        both(&event("sys.connect", "connect").body("application/json; charset=utf-8", body)).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        res.json(),
        serde_json::json!({
            "userId": "alice",
            "groups": ["lobby", "games"],
            "roles": ["webpubsub.sendToGroup.lobby", "webpubsub.sendToGroup.games"],
            "subprotocol": "json.webpubsub.azure.v1",
        })
    );
    assert_eq!(res.state_json(), serde_json::json!({"role": "admin"}));

    // Members not set are left out; an empty body is an empty connect.
    let res = both(&event("sys.connect", "connect").body("application/json", "")).await;
    assert_eq!(res.json(), serde_json::json!({"userId": "user1"}));
    assert_eq!(res.state, None);

    // A refusal: the status and a plain message the service passes to the client.
    let refused = event("sys.connect", "connect")
        .body("application/json", r#"{"query": {"deny": ["banned"]}}"#);
    let res = both(&refused).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(res.text(), "denied: banned");

    // A connect body that is not the expected object: 400, in plain text.
    let res =
        both(&event("sys.connect", "connect").body("application/json", r#"{"query": 1}"#)).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert!(res.text().contains("connect"), "{res:?}");
}

#[actix_web::test]
async fn user_events_are_echoed_as_text_json_and_bytes() {
    let cases: [(&str, &[u8], &str); 3] = [
        ("text/plain", b"text data", "text/plain; charset=utf-8"),
        (
            "application/json",
            br#"{"hello": "world"}"#,
            "application/json",
        ),
        (
            "application/octet-stream",
            &[0, 159, 146, 150, 255],
            "application/octet-stream",
        ),
    ];
    for (sent, body, answered) in cases {
        let res = both(&user_event("message", None).body(sent, Bytes::copy_from_slice(body))).await;
        assert_eq!(res.status, 200, "{sent}: {res:?}");
        assert_eq!(res.content_type.as_deref(), Some(answered), "{sent}");
        assert_eq!(&res.body[..], body, "{sent}");
        assert_eq!(
            res.state_json(),
            serde_json::json!({"messages": 1}),
            "{sent}"
        );
    }
    // A custom event name, with the documentation's subprotocol.
    let res = both(&user_event("chat", None).body("text/plain", "hi")).await;
    assert_eq!(res.text(), "hi");
    // Text that is not UTF-8 is 400, JSON that is not JSON too.
    let res =
        both(&user_event("message", None).body("text/plain", Bytes::from_static(&[0xff]))).await;
    assert_eq!(
        (res.status, res.text().contains("UTF-8")),
        (400, true),
        "{res:?}"
    );
    let res = both(&user_event("message", None).body("application/json", "{")).await;
    assert_eq!(res.status, 400, "{res:?}");
}

#[actix_web::test]
async fn state_is_set_read_back_and_cleared() {
    // The first message sets {"messages": 1}; the service sends it back with the next.
    let first = both(&user_event("message", None).body("text/plain", "1")).await;
    let state = first.state.clone().unwrap();
    let second = both(&user_event("message", Some(&state)).body("text/plain", "2")).await;
    assert_eq!(second.state_json(), serde_json::json!({"messages": 2}));
    let state = second.state.unwrap();

    // Read back: the state the request carries, typed.
    let read = both(&user_event("readstate", Some(&state)).body("text/plain", "")).await;
    assert_eq!(read.json(), serde_json::json!({"messages": 2}));
    assert_eq!(read.state, None, "reading leaves the state as it is");
    // The documentation's sample state, base64 of {"key":"a"}.
    let read =
        both(&user_event("readstate", Some("eyJrZXkiOiJhIn0=")).body("text/plain", "")).await;
    assert_eq!(read.json(), serde_json::json!({"key": "a"}));
    // Header names in any case.
    let read = both(
        &user_event("readstate", None)
            .header("CE-CONNECTIONSTATE", state.as_str())
            .body("text/plain", ""),
    )
    .await;
    assert_eq!(read.json(), serde_json::json!({"messages": 2}));

    // Cleared: base64 of {}.
    let cleared = both(&user_event("clearstate", Some(&state)).body("text/plain", "")).await;
    assert_eq!(
        (cleared.status, cleared.state.as_deref()),
        (204, Some("e30="))
    );
    let read = both(&user_event("readstate", Some("e30=")).body("text/plain", "")).await;
    assert_eq!(read.json(), serde_json::json!({}));
}

#[actix_web::test]
async fn an_over_limit_state_is_refused_with_a_clear_message() {
    let policy = policy(Some(64));
    let big = STANDARD.encode(format!(r#"{{"k":"{}"}}"#, "x".repeat(100)));
    let res = both_with(
        &policy,
        &user_event("readstate", Some(&big)).body("text/plain", ""),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert!(res.text().contains("over the limit of 64"), "{res:?}");

    // A state within the limit is read; one the handler grows past the limit is
    // not set: a 500 refusal naming the limit, in plain text.
    let fits = STANDARD.encode(format!(r#"{{"pad":"{}"}}"#, "x".repeat(30)));
    assert!(fits.len() <= 64);
    let res = both_with(
        &policy,
        &user_event("readstate", Some(&fits)).body("text/plain", ""),
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    let res = both_with(
        &policy,
        &user_event("message", Some(&fits)).body("text/plain", "x"),
    )
    .await;
    assert_eq!(res.status, 500, "{res:?}");
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert!(res.text().contains("over the limit of 64"), "{res:?}");
    assert_eq!(res.state, None);
}

#[actix_web::test]
async fn a_bad_signature_is_401_in_plain_text() {
    let forged = event("sys.connect", "connect")
        .without("ce-signature")
        .header(
            "ce-signature",
            format!("sha256={}", sign("guess", CONNECTION)),
        )
        .body("application/json", "{}");
    let res = both(&forged).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert!(res.www_authenticate.is_some());
    assert!(!res.text().contains(PRIMARY));
    // Signed for another connection.
    let other = event("sys.connect", "connect")
        .without("ce-connectionId")
        .header("ce-connectionId", "another-connection")
        .body("application/json", "{}");
    assert_eq!(both(&other).await.status, 401);
    // No signature at all.
    let unsigned = event("sys.connected", "connected").without("ce-signature");
    let res = both(&unsigned).await;
    assert_eq!(
        (res.status, res.content_type.as_deref()),
        (401, Some("text/plain; charset=utf-8"))
    );
}

#[actix_web::test]
async fn connected_and_disconnected_are_acknowledged() {
    let res = both(
        &event("sys.connected", "connected")
            .header("ce-subprotocol", "abc")
            .header("ce-connectionState", "eyJrZXkiOiJhIn0=")
            .body("application/json; charset=utf-8", "{}"),
    )
    .await;
    assert_eq!((res.status, res.body.len()), (204, 0));

    let res = both(
        &event("sys.disconnected", "disconnected")
            .header("ce-subprotocol", "abc")
            .header("ce-connectionState", "eyJrZXkiOiJhIn0=")
            .body(
                "application/json; charset=utf-8",
                r#"{"reason": "client closed"}"#,
            ),
    )
    .await;
    assert_eq!(res.status, 204);
    let seen = DISCONNECTS.lock().unwrap().clone();
    let expected = format!("{CONNECTION} client closed");
    assert_eq!(
        seen.iter().filter(|s| **s == expected).count(),
        2,
        "once per framework: {seen:?}"
    );
}

#[actix_web::test]
async fn the_validation_options_at_api_validate() {
    let validate = Request {
        method: "OPTIONS",
        uri: "/api/validate".into(),
        headers: Vec::new(),
        body: Bytes::new(),
    }
    .header("WebHook-Request-Origin", HOST);
    let res = both(&validate).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.allowed_origin.as_deref(), Some(HOST));

    let other = validate
        .clone()
        .without("WebHook-Request-Origin")
        .header("WebHook-Request-Origin", "evil.webpubsub.azure.com");
    let res = both(&other).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.allowed_origin, None);
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
}

#[actix_web::test]
async fn events_at_the_wrong_url_and_unknown_types_are_400() {
    let misrouted = event("sys.connected", "connected");
    let misrouted = Request {
        uri: "/api/connect".into(),
        ..misrouted
    };
    let res = both(&misrouted).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("`connect`"), "{res:?}");

    let unknown = event("sys.other", "other");
    let res = both(&unknown).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("not a Web PubSub event"), "{res:?}");

    let no_hub = user_event("message", None)
        .without("ce-hub")
        .body("text/plain", "x");
    let res = both(&no_hub).await;
    assert_eq!(res.status, 400);
    assert!(res.text().contains("ce-hub"), "{res:?}");
}

#[test]
fn the_policy_checks_its_configuration() {
    assert!(WebPubSubPolicy::builder().build().is_err());
    let url = WebPubSubPolicy::builder()
        .host("https://xxx.webpubsub.azure.com/")
        .build()
        .unwrap_err();
    assert!(url.to_string().contains("host name"), "{url}");
    assert!(
        WebPubSubPolicy::builder()
            .any_origin()
            .max_state_len(0)
            .build()
            .is_err()
    );
    let policy = WebPubSubPolicy::builder().any_origin().build().unwrap();
    assert!(
        policy.webhook().auth().is_none(),
        "no keys: nothing checked"
    );
    assert!(policy.webhook().dedup().is_none(), "no dedup by default");
    assert!(policy.webhook().auth().is_none());
}

#[actix_web::test]
async fn a_per_event_extractor_takes_its_event_only() {
    let connect = |uri: &str, body: &'static str| Request {
        uri: uri.into(),
        ..event("sys.connect", "connect").body("application/json", body)
    };
    let res = both(&connect("/only/connect", "{}")).await;
    assert_eq!((res.status, res.body.len()), (204, 0));
    let res = both(&connect(
        "/only/connect",
        r#"{"query": {"username": ["bob"]}}"#,
    ))
    .await;
    assert_eq!(res.json(), serde_json::json!({"userId": "bob"}));

    let message = Request {
        uri: "/only/connect".into(),
        ..user_event("message", None).body("text/plain", "hi")
    };
    let res = both(&message).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        res.text(),
        "this route takes `connect` events, the request is a `message` event"
    );
}

/// What the rejection hook of `rejections_reach_the_hook_on_both_frameworks` saw.
static REJECTIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[actix_web::test]
async fn rejections_reach_the_hook_on_both_frameworks() {
    let policy = WebPubSubPolicy::builder()
        .host(HOST)
        .keys(WebPubSubKeys::new([PRIMARY]).unwrap())
        .on_rejection(|r| {
            REJECTIONS.lock().unwrap().push(format!(
                "{} {} {}",
                r.stage().as_str(),
                r.problem().status(),
                r.path()
            ));
        })
        .build()
        .unwrap();
    let forged = user_event("message", None)
        .without("ce-signature")
        .header("ce-signature", "sha256=00")
        .body("text/plain", "x");
    assert_eq!(both_with(&policy, &forged).await.status, 401);
    let misrouted = Request {
        uri: "/api/connect".into(),
        ..user_event("message", None).body("text/plain", "x")
    };
    assert_eq!(both_with(&policy, &misrouted).await.status, 400);
    assert_eq!(
        *REJECTIONS.lock().unwrap(),
        [
            "auth 401 /api/message",
            "auth 401 /api/message",
            "handler 400 /api/connect",
            "handler 400 /api/connect",
        ],
        "axum then actix-web, each time"
    );
}
