//! The Skype for Business Trusted Application API's callbacks on axum and on
//! actix-web: plain JSON (a UCWA event envelope) with an Azure AD v1 bearer token
//! whose audience is the application's App ID URI, a `callbackContext` query
//! parameter, and the `{"CallbackContext": ...}` answer.
//!
//! The tokens are signed by the local OpenID Connect issuer of `tests/common/oidc.rs`
//! and shaped as Microsoft's Trusted Application API documentation shows (v1 issuer
//! `https://sts.windows.net/{tid}/`, `appid` of Skype for Business Online, no
//! roles). Every case runs through four stacks, which must answer the same: the auth
//! layer alone and the one webhook layer (built `without_parsing`), on each
//! framework.

mod common;

use std::time::Duration;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use common::oidc::{OidcIssuer, TENANT, TestKey, now};
use hookgate::WebhookPolicy;
use hookgate::auth::AuthPolicy;
use hookgate::auth::aad::{AadClaims, AadPolicy};
use hookgate::handshake::HandshakePolicy;
use hookgate::trusted_app::UcwaEnvelope;
use serde_json::{Value, json};

/// The App ID URI of the service application (the token's audience).
const APP_ID_URI: &str = "https://litware.example/callback-app";
/// The application that calls: Skype for Business Online.
const SKYPE_APP_ID: &str = "00000004-0000-0ff1-ce00-000000000000";
/// The UCWA content type the service sends.
const UCWA_CONTENT_TYPE: &str =
    r#"application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8"#;

/// What the handlers answer: the callback context they set describes what they saw.
fn describe(context: Option<String>, claims: &AadClaims, envelope: &UcwaEnvelope) -> String {
    let events: Vec<String> = envelope
        .events()
        .map(|(sender, event)| {
            format!(
                "{}>{}:{}:{}:{}",
                sender.rel,
                event.link.rel.as_deref().unwrap_or("-"),
                event.event_type,
                event.status.as_ref().map_or("-", |s| s.as_str()),
                event
                    .resource_as::<Value>()
                    .and_then(Result::ok)
                    .and_then(|r| r["direction"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "-".to_owned())
            )
        })
        .collect();
    format!(
        "context={} aud={} iss={} app={} base={} events=[{}]",
        context.as_deref().unwrap_or("none"),
        claims.audience,
        claims.issuer,
        claims.app_id.as_deref().unwrap_or("-"),
        envelope.base_uri.as_deref().unwrap_or("-"),
        events.join(",")
    )
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{AadCaller, AuthLayer, CallbackContext, Ucwa, WebhookLayer};

    async fn callback(
        context: Option<CallbackContext>,
        AadCaller(claims): AadCaller,
        Ucwa(envelope): Ucwa,
    ) -> CallbackContext {
        CallbackContext(describe(context.map(|c| c.0), &claims, &envelope))
    }

    /// A route that needs the context.
    async fn needs_context(CallbackContext(context): CallbackContext) -> CallbackContext {
        CallbackContext(format!("got {context}"))
    }

    fn routes() -> Router {
        Router::new()
            .route("/callback", post(callback))
            .route("/context", post(needs_context))
    }

    pub(super) fn auth_app(policy: AuthPolicy) -> Router {
        routes().layer(AuthLayer::new(policy))
    }

    pub(super) fn webhook_app(webhook: WebhookPolicy) -> Router {
        routes().layer(WebhookLayer::new(webhook))
    }
}

mod actix_side {
    use super::*;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::{App, test, web};
    use hookgate::actix::{AadCaller, Auth, CallbackContext, Ucwa, Webhook};

    async fn callback(
        context: Option<CallbackContext>,
        AadCaller(claims): AadCaller,
        Ucwa(envelope): Ucwa,
    ) -> CallbackContext {
        CallbackContext(describe(context.map(|c| c.0), &claims, &envelope))
    }

    async fn needs_context(CallbackContext(context): CallbackContext) -> CallbackContext {
        CallbackContext(format!("got {context}"))
    }

    pub(super) async fn auth_app(
        policy: AuthPolicy,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(
            App::new()
                .wrap(Auth::new(policy))
                .route("/callback", web::post().to(callback))
                .route("/context", web::post().to(needs_context)),
        )
        .await
    }

    pub(super) async fn webhook_app(
        webhook: WebhookPolicy,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(
            App::new()
                .wrap(Webhook::new(webhook))
                .route("/callback", web::post().to(callback))
                .route("/context", web::post().to(needs_context)),
        )
        .await
    }
}

/// The receiver's Azure AD policy: keys from the local issuer, the App ID URI as
/// the audience, only Skype for Business Online as the caller.
fn auth(issuer: &OidcIssuer) -> AuthPolicy {
    let aad = AadPolicy::builder()
        .authority(TENANT)
        .authority_host(issuer.base_url())
        .audience(APP_ID_URI)
        .allowed_app_ids([SKYPE_APP_ID])
        .fetch_retry_interval(Duration::from_secs(2))
        .build()
        .unwrap();
    AuthPolicy::builder().aad(aad).build().unwrap()
}

fn webhook(issuer: &OidcIssuer) -> WebhookPolicy {
    WebhookPolicy::builder()
        .handshake(
            HandshakePolicy::builder()
                .azure_event_grid()
                .build()
                .unwrap(),
        )
        .auth(auth(issuer))
        .without_parsing()
        .build()
        .unwrap()
}

/// Sends `req` through the four stacks and checks that they answer the same.
async fn all(issuer: &OidcIssuer, req: &TestRequest) -> TestResponse {
    let axum_auth = axum_app::call(&axum_side::auth_app(auth(issuer)), req).await;
    let axum_webhook = axum_app::call(&axum_side::webhook_app(webhook(issuer)), req).await;
    let actix_auth = actix_app::call(&actix_side::auth_app(auth(issuer)).await, req).await;
    let actix_webhook = actix_app::call(&actix_side::webhook_app(webhook(issuer)).await, req).await;
    assert_eq!(axum_auth, axum_webhook, "axum: auth layer vs webhook layer");
    assert_eq!(axum_auth, actix_auth, "axum vs actix (auth)");
    assert_eq!(actix_auth, actix_webhook, "actix: auth vs webhook");
    axum_auth
}

/// The claims of the service's token, as the documentation shows them.
fn v1_claims() -> Value {
    let t = now();
    json!({
        "aud": APP_ID_URI,
        "iss": OidcIssuer::v1_issuer(TENANT),
        "iat": t - 60,
        "nbf": t - 60,
        "exp": t + 3600,
        "appid": SKYPE_APP_ID,
        "appidacr": "2",
        "idp": OidcIssuer::v1_issuer(TENANT),
        "oid": "2d452913-80c9-4b56-8419-43a7da179822",
        "sub": "2d452913-80c9-4b56-8419-43a7da179822",
        "tid": TENANT,
        "ver": "1.0",
    })
}

/// An incoming instant message, shaped as the service's callbacks are.
pub fn message_event() -> Value {
    let conversation = "/platformservice/v1/applications/2817365012/communication/conversations/4f1c6a2e?endpointId=sip:helpdesk@contoso.example";
    json!({
        "_links": {
            "self": {"href": "/platformservice/v1/applications/2817365012/events?ack=3"},
            "next": {"href": "/platformservice/v1/applications/2817365012/events?ack=4"}
        },
        "sender": [{
            "rel": "ms:rtc:saas:conversation",
            "href": conversation,
            "events": [{
                "link": {
                    "rel": "ms:rtc:saas:message",
                    "href": "/platformservice/v1/applications/2817365012/communication/conversations/4f1c6a2e/messaging/messages/7?endpointId=sip:helpdesk@contoso.example"
                },
                "status": "Success",
                "_embedded": {
                    "ms:rtc:saas:message": {
                        "direction": "Incoming",
                        "timeStamp": "/Date(1489524122496)/",
                        "_links": {
                            "self": {"href": "/platformservice/v1/applications/2817365012/communication/conversations/4f1c6a2e/messaging/messages/7"},
                            "plainMessage": {"href": "data:text/plain;charset=utf-8,hello"}
                        },
                        "rel": "ms:rtc:saas:message"
                    }
                },
                "type": "completed"
            }]
        }],
        "baseuri": "https://webpool.infra.lync.example"
    })
}

fn callback(query: &str, token: Option<&str>, body: impl Into<bytes::Bytes>) -> TestRequest {
    let mut req = TestRequest::post(&format!("/callback{query}"))
        .header("X-MS-Correlation-Id", "3953004368")
        .header("client-request-id", "e9168689-37ac-472e-b02a-c9977c8023a0")
        .header("Content-Type", UCWA_CONTENT_TYPE);
    if let Some(token) = token {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    req.body(body.into())
}

fn assert_problem(res: &TestResponse, status: u16, slug: &str, detail: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.problem_slug(), slug, "{res:?}");
    let text = res.json()["detail"].as_str().unwrap().to_owned();
    assert!(text.contains(detail), "detail `{text}` lacks `{detail}`");
}

#[actix_web::test]
async fn a_callback_with_a_v1_token_and_a_callback_context() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let token = key.sign(&v1_claims());
    let body = message_event().to_string();

    let res = all(
        &issuer,
        &callback("?callbackContext=0", Some(&token), body.clone()),
    )
    .await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.content_type.as_deref(), Some("application/json"));
    let expected = format!(
        "context=0 aud={APP_ID_URI} iss=https://sts.windows.net/{TENANT}/ app={SKYPE_APP_ID} \
         base=https://webpool.infra.lync.example \
         events=[ms:rtc:saas:conversation>ms:rtc:saas:message:completed:Success:Incoming]"
    );
    assert_eq!(res.json(), json!({ "CallbackContext": expected }));
    // A bearer token is no secret in the URL: the answer may be cached as usual.
    assert_eq!(res.header("cache-control"), None);

    // The first callback of a conversation comes without a context; a context is
    // percent-decoded.
    let res = all(&issuer, &callback("", Some(&token), body.clone())).await;
    assert!(
        res.json()["CallbackContext"]
            .as_str()
            .unwrap()
            .starts_with("context=none ")
    );
    let res = all(
        &issuer,
        &callback("?callbackContext=a%20b%2Bc", Some(&token), body),
    )
    .await;
    assert!(
        res.json()["CallbackContext"]
            .as_str()
            .unwrap()
            .starts_with("context=a b+c ")
    );
}

#[actix_web::test]
async fn tokens_that_are_not_the_services_are_refused() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let body = message_event().to_string();
    let with = |changes: Value| {
        let mut claims = v1_claims();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        key.sign(&claims)
    };

    let res = all(&issuer, &callback("?callbackContext=0", None, body.clone())).await;
    assert_problem(&res, 401, "missing-credentials", "");
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );

    let wrong_audience = with(json!({"aud": "https://someone-else.example"}));
    let res = all(
        &issuer,
        &callback("?callbackContext=0", Some(&wrong_audience), body.clone()),
    )
    .await;
    assert_problem(&res, 401, "invalid-credentials", "audience");
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\"")
    );

    let v2_issuer = with(json!({"iss": issuer.v2_issuer(TENANT), "ver": "2.0"}));
    let res = all(&issuer, &callback("", Some(&v2_issuer), body.clone())).await;
    assert_eq!(
        res.status, 200,
        "the tenant's v2 issuer is accepted too: {res:?}"
    );

    let other_issuer = with(json!({"iss": "https://sts.windows.net/evil/"}));
    let res = all(&issuer, &callback("", Some(&other_issuer), body.clone())).await;
    assert_problem(&res, 401, "invalid-credentials", "issuer");

    let other_app = with(json!({"appid": "11111111-0000-0000-0000-000000000000"}));
    let res = all(&issuer, &callback("", Some(&other_app), body)).await;
    assert_problem(&res, 403, "forbidden", "application");
}

#[actix_web::test]
async fn bodies_and_queries_that_are_not_a_callback_are_refused() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let token = key.sign(&v1_claims());

    let res = all(
        &issuer,
        &callback("?callbackContext=0", Some(&token), r#"{"sender": ["#),
    )
    .await;
    assert_problem(&res, 400, "malformed-json", "not valid JSON");

    let res = all(
        &issuer,
        &callback("", Some(&token), r#"{"sender": {"rel": "x"}}"#),
    )
    .await;
    assert_problem(&res, 400, "data-mismatch", "not a UCWA event envelope");
    // The JSON path and kinds, never a Rust type (serde's "expected struct …").
    assert_problem(
        &res,
        400,
        "data-mismatch",
        "at `/sender`: expected an array, got an object",
    );
    let res = all(
        &issuer,
        &callback(
            "",
            Some(&token),
            r#"{"sender": [{"rel": "r", "href": "/h", "events": [{"link": 5, "type": "added"}]}]}"#,
        ),
    )
    .await;
    assert_problem(
        &res,
        400,
        "data-mismatch",
        "at `/sender/0/events/0/link`: expected an object, got a number",
    );
    let detail = res.json()["detail"].as_str().unwrap().to_owned();
    for leak in ["::", "Ucwa", "Link", "struct"] {
        assert!(!detail.contains(leak), "{detail:?} names {leak:?}");
    }

    let res = all(&issuer, &callback("", Some(&token), "")).await;
    assert_problem(&res, 400, "malformed-json", "empty");

    let plain = callback("", Some(&token), message_event().to_string());
    let mut plain_json = plain.clone();
    plain_json.headers.retain(|(n, _)| n != "Content-Type");
    let res = all(
        &issuer,
        &plain_json
            .clone()
            .header("Content-Type", "application/json"),
    )
    .await;
    assert_eq!(
        res.status, 200,
        "plain application/json is accepted: {res:?}"
    );
    let res = all(&issuer, &plain_json.header("Content-Type", "text/plain")).await;
    assert_problem(&res, 415, "unexpected-content-type", "text/plain");

    // Authentication comes first: a malformed body without a token is a 401.
    let res = all(&issuer, &callback("", None, "{")).await;
    assert_eq!(res.status, 401, "{res:?}");

    // The required form of the extractor. (The optional form differs by framework
    // for a malformed context: axum's `Option` rejects it, actix-web's `Option`
    // turns every failure into `None`; see the adapters' docs.)
    let mut needs = callback("", Some(&token), "");
    needs.uri = "/context".into();
    let res = all(&issuer, &needs).await;
    assert_problem(&res, 400, "invalid-query", "no `callbackContext`");
    needs.uri = "/context?callbackContext=1&callbackContext=2".into();
    let res = all(&issuer, &needs).await;
    assert_problem(&res, 400, "invalid-query", "more than once");
    needs.uri = "/context?callbackContext=7".into();
    let res = all(&issuer, &needs).await;
    assert_eq!(res.json(), json!({"CallbackContext": "got 7"}));
}

#[actix_web::test]
async fn the_body_limit_applies() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let token = key.sign(&v1_claims());
    let mut envelope = message_event();
    envelope["padding"] = Value::String("x".repeat(1024 * 1024));
    let res = all(&issuer, &callback("", Some(&token), envelope.to_string())).await;
    assert_problem(&res, 413, "payload-too-large", "limit of 1048576 bytes");
}
