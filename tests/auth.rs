//! Authentication on axum and on actix-web: shared secrets in each of their three
//! places and Web PubSub signatures, through the same policy; both frameworks must
//! answer the same (status, `WWW-Authenticate`, `Cache-Control`, problem+json).
//! Azure AD tokens against a real local OIDC issuer are in `tests/auth_aad.rs`.

mod common;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use hmac::{Hmac, Mac as _};
use hookgate::auth::{AuthPolicy, Redactor, SharedSecrets, WebPubSubKeys};
use sha2::Sha256;

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{AuthLayer, Authenticated};

    async fn who(Authenticated(identity): Authenticated) -> String {
        format!("{identity:?}")
    }

    pub(super) async fn call(policy: &AuthPolicy, req: &TestRequest) -> TestResponse {
        let app = Router::new()
            .route("/api/events", post(who))
            .layer(AuthLayer::new(policy.clone()));
        axum_app::call(&app, req).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::{Auth, Authenticated};

    async fn who(Authenticated(identity): Authenticated) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(format!("{identity:?}"))
    }

    pub(super) async fn call(policy: &AuthPolicy, req: &TestRequest) -> TestResponse {
        let app = test::init_service(
            App::new()
                .wrap(Auth::new(policy.clone()))
                .route("/api/events", web::post().to(who)),
        )
        .await;
        actix_app::call(&app, req).await
    }
}

async fn both(policy: &AuthPolicy, req: &TestRequest) -> TestResponse {
    let axum = axum_side::call(policy, req).await;
    let actix = actix_side::call(policy, req).await;
    assert_eq!(axum, actix, "axum and actix differ for {req:?}");
    axum
}

fn secrets() -> AuthPolicy {
    AuthPolicy::builder()
        .shared_secrets(SharedSecrets::new(["current-secret", "previous-secret"]).unwrap())
        .build()
        .unwrap()
}

fn post(uri: &str) -> TestRequest {
    TestRequest::post(uri)
}

fn assert_accepted(res: &TestResponse, identity: &str) {
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.text(), identity);
}

/// The challenge of a refused bearer token or shared secret (RFC 6750).
const BEARER: &str = "Bearer error=\"invalid_token\", error_description=\"";
/// The challenge of a refused Web PubSub signature: a scheme of its own.
const SIGNATURE: &str = "WebPubSub-Signature error=\"invalid_signature\", error_description=\"";

fn assert_401(res: &TestResponse, slug: &str, secret: &str) {
    assert_401_challenging(res, slug, secret, BEARER);
}

/// A 401 whose `WWW-Authenticate` is exactly the challenge `scheme` begins, with
/// the detail as its description.
fn assert_401_challenging(res: &TestResponse, slug: &str, secret: &str, scheme: &str) {
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(res.problem_slug(), slug);
    let challenge = res
        .header("www-authenticate")
        .expect("a WWW-Authenticate header");
    let detail = res.json()["detail"].as_str().unwrap().to_owned();
    assert_eq!(challenge, format!("{scheme}{detail}\""), "{res:?}");
    assert!(
        !res.text().contains(secret),
        "the body echoes the secret: {res:?}"
    );
    assert!(
        !challenge.contains(secret),
        "the challenge echoes the secret"
    );
}

/// A 401 for a request without credentials: the bare schemes, no error code
/// (RFC 6750, section 3.1).
fn assert_401_missing(res: &TestResponse, challenge: &str) {
    assert_eq!(res.status, 401, "{res:?}");
    assert_eq!(res.problem_slug(), "missing-credentials");
    assert_eq!(
        res.header("www-authenticate").unwrap(),
        challenge,
        "{res:?}"
    );
}

#[actix_web::test]
async fn shared_secret_in_each_place() {
    let policy = secrets();
    for secret in ["current-secret", "previous-secret"] {
        let res = both(&policy, &post(&format!("/api/events?code={secret}"))).await;
        assert_accepted(&res, "SharedSecret { place: Code, label: None }");
        assert_eq!(res.header("cache-control"), Some("private"));

        let res = both(
            &policy,
            &post(&format!("/api/events?x=1&access_token={secret}")),
        )
        .await;
        assert_accepted(&res, "SharedSecret { place: AccessToken, label: None }");
        assert_eq!(res.header("cache-control"), Some("private"));

        let res = both(
            &policy,
            &post("/api/events").header("Authorization", format!("Bearer {secret}")),
        )
        .await;
        assert_accepted(&res, "SharedSecret { place: Bearer, label: None }");
        assert_eq!(res.header("cache-control"), None, "not a query secret");
    }
    // Percent-encoded in the query, scheme in another case.
    let policy = AuthPolicy::builder()
        .shared_secrets(SharedSecrets::new(["a b&c"]).unwrap())
        .build()
        .unwrap();
    let res = both(&policy, &post("/api/events?code=a%20b%26c")).await;
    assert_accepted(&res, "SharedSecret { place: Code, label: None }");
    let res = both(
        &policy,
        &post("/api/events").header("authorization", "bearer a b&c"),
    )
    .await;
    assert_accepted(&res, "SharedSecret { place: Bearer, label: None }");
}

/// A secret in a named header (`SharedSecrets::with_header`): accepted there, its
/// whole value the secret; a wrong one is 401 naming the header; the other places
/// keep working; the names hookgate reads for something else are refused.
#[actix_web::test]
async fn shared_secret_in_a_named_header() {
    let policy = AuthPolicy::builder()
        .shared_secrets(
            SharedSecrets::new(["current-secret"])
                .unwrap()
                .with_header("X-Webhook-Secret")
                .unwrap(),
        )
        .build()
        .unwrap();
    let res = both(
        &policy,
        &post("/api/events").header("x-webhook-secret", "current-secret"),
    )
    .await;
    assert_accepted(&res, "SharedSecret { place: Header, label: None }");
    assert_eq!(res.header("cache-control"), None, "not a query secret");
    let res = both(
        &policy,
        &post("/api/events").header("X-Webhook-Secret", "guess"),
    )
    .await;
    assert_401(&res, "invalid-credentials", "guess");
    assert!(
        res.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`x-webhook-secret` header")
    );
    let res = both(&policy, &post("/api/events?code=current-secret")).await;
    assert_accepted(&res, "SharedSecret { place: Code, label: None }");
    let res = both(&policy, &post("/api/events")).await;
    assert_eq!(res.status, 401);
    assert!(
        res.json()["detail"]
            .as_str()
            .unwrap()
            .contains("`x-webhook-secret` header"),
        "{res:?}"
    );
    for taken in [
        "Authorization",
        "ce-id",
        "WebHook-Request-Origin",
        "traceparent",
        "bad name",
    ] {
        assert!(
            SharedSecrets::new(["s"])
                .unwrap()
                .with_header(taken)
                .is_err(),
            "{taken}"
        );
    }
}

#[actix_web::test]
async fn wrong_and_missing_secrets_are_401() {
    let policy = secrets();
    for (req, secret) in [
        (post("/api/events?code=guess"), "guess"),
        (post("/api/events?access_token=guess"), "guess"),
        (
            post("/api/events").header("Authorization", "Bearer guess"),
            "guess",
        ),
        // A rotated-out secret.
        (post("/api/events?code=ancient-secret"), "ancient-secret"),
        // A prefix of a real one.
        (post("/api/events?code=current"), "current"),
    ] {
        let res = both(&policy, &req).await;
        assert_401(&res, "invalid-credentials", secret);
    }
    let res = both(&policy, &post("/api/events")).await;
    assert_401_missing(&res, "Bearer");
    assert!(res.text().contains("?code="), "{}", res.text());
    let res = both(
        &policy,
        &post("/api/events").header("Authorization", "Basic dXNlcjpwYXNz"),
    )
    .await;
    assert_401(&res, "invalid-credentials", "dXNlcjpwYXNz");
    // A renamed code parameter.
    let renamed = AuthPolicy::builder()
        .shared_secrets(
            SharedSecrets::new(["s"])
                .unwrap()
                .with_param("key")
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_accepted(
        &both(&renamed, &post("/api/events?key=s")).await,
        "SharedSecret { place: Code, label: None }",
    );
    assert_eq!(
        both(&renamed, &post("/api/events?code=s")).await.status,
        401
    );
}

fn sign(key: &str, connection_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(connection_id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

const PRIMARY: &str = "primary-access-key";
const SECONDARY: &str = "secondary-access-key";

fn webpubsub() -> AuthPolicy {
    AuthPolicy::builder()
        .web_pubsub_keys(WebPubSubKeys::new([PRIMARY, SECONDARY]).unwrap())
        .build()
        .unwrap()
}

fn signed(connection_id: &str, signatures: &[&str]) -> TestRequest {
    let mut req = post("/api/events").header("ce-connectionId", connection_id);
    for line in signatures {
        req = req.header("ce-signature", *line);
    }
    req
}

#[actix_web::test]
async fn web_pubsub_signatures() {
    let policy = webpubsub();
    let id = "0f9c97a2f0bf4706afe87a14e0797b11";
    let primary = format!("sha256={}", sign(PRIMARY, id));
    let secondary = format!("sha256={}", sign(SECONDARY, id));
    let wrong = format!("sha256={}", sign("another-key", id));
    let accepted = [
        vec![primary.clone()],
        vec![secondary.clone()],
        vec![primary.to_uppercase().replace("SHA256=", "sha256=")],
        vec![format!("{wrong},{secondary}")],
        vec![format!("{wrong}, {primary}")],
        vec![format!("{wrong} {primary}")],
        vec![wrong.clone(), primary.clone()],
    ];
    for lines in accepted {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let res = both(&policy, &signed(id, &lines)).await;
        assert_accepted(&res, "WebPubSub { host: None, hub: None }");
    }
    for lines in [vec![wrong.as_str()], vec!["sha256=zz"], vec!["md5=abc"]] {
        let res = both(&policy, &signed(id, &lines)).await;
        assert_401_challenging(&res, "invalid-credentials", PRIMARY, SIGNATURE);
    }
    // Signed for another connection.
    let res = both(&policy, &signed("other-connection", &[&primary])).await;
    assert_401_challenging(&res, "invalid-credentials", PRIMARY, SIGNATURE);
    // Signature without the connection id it signs.
    let res = both(
        &policy,
        &post("/api/events").header("ce-signature", primary.as_str()),
    )
    .await;
    assert_401_challenging(&res, "invalid-credentials", PRIMARY, SIGNATURE);
    assert!(res.text().contains("ce-connectionId"));
    // Nothing at all.
    assert_401_missing(
        &both(&policy, &post("/api/events")).await,
        "WebPubSub-Signature",
    );
}

#[actix_web::test]
async fn web_pubsub_keys_chosen_by_origin_host() {
    let policy = AuthPolicy::builder()
        .web_pubsub_keys(
            WebPubSubKeys::per_host([
                ("hub-a.webpubsub.azure.com", "key-a"),
                ("hub-b.webpubsub.azure.com", "key-b"),
            ])
            .unwrap(),
        )
        .build()
        .unwrap();
    let id = "conn";
    let for_a = format!("sha256={}", sign("key-a", id));
    let res = both(
        &policy,
        &signed(id, &[&for_a]).header("WebHook-Request-Origin", "hub-a.webpubsub.azure.com"),
    )
    .await;
    assert_accepted(
        &res,
        r#"WebPubSub { host: Some("hub-a.webpubsub.azure.com"), hub: None }"#,
    );
    // Key a's signature from resource b's origin, or without an origin: refused.
    let res = both(
        &policy,
        &signed(id, &[&for_a]).header("WebHook-Request-Origin", "hub-b.webpubsub.azure.com"),
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(both(&policy, &signed(id, &[&for_a])).await.status, 401);
}

#[actix_web::test]
async fn labeled_secrets_name_their_sender() {
    let policy = AuthPolicy::builder()
        .shared_secrets(
            SharedSecrets::labeled([("orders", "new"), ("orders", "old"), ("billing", "b")])
                .unwrap(),
        )
        .build()
        .unwrap();
    for (secret, label) in [("new", "orders"), ("old", "orders"), ("b", "billing")] {
        assert_accepted(
            &both(&policy, &post(&format!("/api/events?code={secret}"))).await,
            &format!(r#"SharedSecret {{ place: Code, label: Some("{label}") }}"#),
        );
    }
    let res = both(&policy, &post("/api/events?code=nope")).await;
    assert_401(&res, "invalid-credentials", "nope");
}

/// Deduplication scopes the dedup keys by the sender, through the one entry point
/// and through a stack of the separate layers alike: a sender holding one labeled
/// secret (or one Web PubSub resource's key, or sending for one hub) cannot pre-send
/// a guessable `(source, id)` and so make another sender's real event be
/// acknowledged without being handled; a rotation keeps the scope (the label, not the
/// secret), and a repeat by the same sender is a duplicate.
#[actix_web::test]
async fn dedup_keys_are_scoped_by_the_sender() {
    use actix_web::{App, test, web};
    use axum::routing::post as axum_post;
    use hookgate::dedup::DedupPolicy;

    let auth = AuthPolicy::builder()
        .shared_secrets(
            SharedSecrets::labeled([
                ("victim", "victim-new"),
                ("victim", "victim-old"),
                ("attacker", "attacker-secret"),
            ])
            .unwrap(),
        )
        .web_pubsub_keys(
            WebPubSubKeys::per_host([
                ("a.webpubsub.azure.com", "key-a"),
                ("b.webpubsub.azure.com", "key-b"),
            ])
            .unwrap(),
        )
        .build()
        .unwrap();
    let webhook = || {
        common::event_grid_webhook()
            .auth(auth.clone())
            .dedup(DedupPolicy::builder().build().unwrap())
            .build()
            .unwrap()
    };
    let axum_count = |hookgate::tower::CloudEvents(events): hookgate::tower::CloudEvents| async move {
        events.len().to_string()
    };
    let actix_count = |hookgate::actix::CloudEvents(events): hookgate::actix::CloudEvents| async move {
        events.len().to_string()
    };

    // The one entry point.
    let axum_whole = axum::Router::new()
        .route("/api/events", axum_post(axum_count))
        .layer(hookgate::tower::WebhookLayer::new(webhook()));
    let actix_whole = test::init_service(
        App::new()
            .wrap(hookgate::actix::Webhook::new(webhook()))
            .route("/api/events", web::post().to(actix_count)),
    )
    .await;
    // The separate layers: authentication, then parsing, then deduplication.
    let axum_layers = axum::Router::new()
        .route("/api/events", axum_post(axum_count))
        .layer(hookgate::tower::DedupLayer::new(
            DedupPolicy::builder().build().unwrap(),
        ))
        .layer(hookgate::tower::ParseCloudEventsLayer::default())
        .layer(hookgate::tower::AuthLayer::new(auth.clone()));
    let actix_layers = test::init_service(
        App::new()
            .wrap(hookgate::actix::Dedup::new(
                DedupPolicy::builder().build().unwrap(),
            ))
            .wrap(hookgate::actix::ParseCloudEvents::default())
            .wrap(hookgate::actix::Auth::new(auth.clone()))
            .route("/api/events", web::post().to(actix_count)),
    )
    .await;

    let event = |req: TestRequest| {
        req.header("ce-specversion", "1.0")
            .header("ce-id", "guessable-1")
            .header("ce-source", "/orders")
            .header("ce-type", "t")
    };
    let secret = |code: &str| event(post(&format!("/api/events?code={code}")));
    let pubsub = |host: &str, key: &str, hub: &str| {
        let sig = format!("sha256={}", sign(key, "conn"));
        event(
            signed("conn", &[&sig])
                .header("WebHook-Request-Origin", host)
                .header("ce-hub", hub),
        )
    };
    let (a, b) = ("a.webpubsub.azure.com", "b.webpubsub.azure.com");
    let sequence = [
        (
            "the attacker pre-sends the victim's (source, id)",
            secret("attacker-secret"),
            "1",
        ),
        (
            "the victim's real event is still handled",
            secret("victim-new"),
            "1",
        ),
        (
            "the victim's retry, after a rotation: a duplicate",
            secret("victim-old"),
            "",
        ),
        (
            "the attacker again: a duplicate of its own",
            secret("attacker-secret"),
            "",
        ),
        (
            "Web PubSub resource a, hub chat",
            pubsub(a, "key-a", "chat"),
            "1",
        ),
        (
            "resource b, same hub and (source, id)",
            pubsub(b, "key-b", "chat"),
            "1",
        ),
        ("resource a, another hub", pubsub(a, "key-a", "game"), "1"),
        (
            "resource a, hub chat again: a duplicate",
            pubsub(a, "key-a", "chat"),
            "",
        ),
    ];
    for (who, req, handled) in &sequence {
        for (stack, on_axum, on_actix) in [
            (
                "entry point",
                axum_app::call(&axum_whole, req).await,
                actix_app::call(&actix_whole, req).await,
            ),
            (
                "layers",
                axum_app::call(&axum_layers, req).await,
                actix_app::call(&actix_layers, req).await,
            ),
        ] {
            assert_eq!(on_axum.status, 200, "{stack}: {who}: {on_axum:?}");
            assert_eq!(on_axum.text(), *handled, "{stack}: {who}");
            assert_eq!(on_axum, on_actix, "{stack}: {who}");
        }
    }
}

#[actix_web::test]
async fn any_of_several_methods() {
    let policy = AuthPolicy::builder()
        .shared_secrets(SharedSecrets::new(["s"]).unwrap())
        .web_pubsub_keys(WebPubSubKeys::new([PRIMARY]).unwrap())
        .build()
        .unwrap();
    assert_accepted(
        &both(&policy, &post("/api/events?code=s")).await,
        "SharedSecret { place: Code, label: None }",
    );
    let sig = format!("sha256={}", sign(PRIMARY, "c"));
    assert_accepted(
        &both(&policy, &signed("c", &[&sig]).header("ce-hub", "chat")).await,
        r#"WebPubSub { host: None, hub: Some("chat") }"#,
    );
    // A wrong secret beside a valid signature: the signature carries it.
    let mut req = signed("c", &[&sig]);
    req.uri = "/api/events?code=wrong".into();
    assert_accepted(
        &both(&policy, &req).await,
        "WebPubSub { host: None, hub: None }",
    );
    let res = both(&policy, &post("/api/events")).await;
    assert_eq!(res.status, 401);
    assert!(res.text().contains("ce-signature") && res.text().contains("?code="));
    // No credentials: a bare challenge for each configured method, Bearer first.
    assert_401_missing(&res, "Bearer, WebPubSub-Signature");
    // A wrong `?code=` secret alone: the secret was checked, Bearer only (the
    // secret may be sent as a bearer token).
    assert_401(
        &both(&policy, &post("/api/events?code=wrong")).await,
        "invalid-credentials",
        "wrong",
    );
    // A bad signature alone: the signature's scheme only.
    let forged = format!("sha256={}", sign("guess", "c"));
    assert_401_challenging(
        &both(&policy, &signed("c", &[&forged])).await,
        "invalid-credentials",
        "guess",
        SIGNATURE,
    );
    // Both refused: both checked, both challenged.
    let mut req = signed("c", &[&forged]);
    req.uri = "/api/events?code=wrong".into();
    let res = both(&policy, &req).await;
    assert_eq!(res.status, 401);
    let detail = res.json()["detail"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("www-authenticate").unwrap(),
        format!("{BEARER}{detail}\", {SIGNATURE}{detail}\"")
    );
}

#[test]
fn policies_are_checked_when_built() {
    assert!(AuthPolicy::builder().build().is_err());
    assert!(SharedSecrets::new(Vec::<String>::new()).is_err());
    assert!(SharedSecrets::new([""]).is_err());
    assert!(SharedSecrets::new(["x"]).unwrap().with_param("").is_err());
    assert!(WebPubSubKeys::new(Vec::<String>::new()).is_err());
    assert!(WebPubSubKeys::new([""]).is_err());
    // Debug output never shows a secret.
    let debug = format!("{:?}", SharedSecrets::new(["hunter2"]).unwrap());
    assert!(!debug.contains("hunter2"), "{debug}");
    let debug = format!("{:?}", WebPubSubKeys::new(["hunter2"]).unwrap());
    assert!(!debug.contains("hunter2"), "{debug}");
}

#[test]
fn redaction() {
    let redactor = Redactor::default().param("sig");
    assert_eq!(
        redactor.uri("/api/events?code=abc&keep=1&access_token=x%20y&sig=z#frag"),
        "/api/events?code=REDACTED&keep=1&access_token=REDACTED&sig=REDACTED#frag"
    );
    assert_eq!(redactor.uri("/api/events?keep=1"), "/api/events?keep=1");
    assert_eq!(redactor.uri("/api/events"), "/api/events");
    assert_eq!(
        redactor.uri("https://host/p?%63ode=abc"),
        "https://host/p?%63ode=REDACTED"
    );
    assert!(redactor.is_secret_header("authorization"));
    assert!(redactor.is_secret_header("CE-Signature"));
    assert!(!redactor.is_secret_header("content-type"));
}

/// The signature check is bounded: at most `MAX_SIGNATURES` candidates are read
/// (a valid one past them is not), and a connection id over `MAX_CONNECTION_ID`
/// bytes is not checked at all; within the bounds a valid candidate among wrong
/// ones is found. The same on both frameworks.
#[actix_web::test]
async fn web_pubsub_signature_checks_are_bounded() {
    use hookgate::auth::{MAX_CONNECTION_ID, MAX_SIGNATURES};
    let policy = webpubsub();
    let id = "0f9c97a2f0bf4706afe87a14e0797b11";
    let primary = format!("sha256={}", sign(PRIMARY, id));
    let wrong = format!("sha256={}", sign("another-key", id));
    let last_in = vec![wrong.as_str(); MAX_SIGNATURES - 1]
        .into_iter()
        .chain([primary.as_str()])
        .collect::<Vec<_>>()
        .join(",");
    assert_accepted(
        &both(&policy, &signed(id, &[&last_in])).await,
        "WebPubSub { host: None, hub: None }",
    );
    let first_out = vec![wrong.as_str(); MAX_SIGNATURES]
        .into_iter()
        .chain([primary.as_str()])
        .collect::<Vec<_>>()
        .join(",");
    let res = both(&policy, &signed(id, &[&first_out])).await;
    assert_401_challenging(&res, "invalid-credentials", PRIMARY, SIGNATURE);
    // `a, b, …` with a space after each comma is read to its 16th candidate.
    let spaced = vec![wrong.as_str(); MAX_SIGNATURES - 1]
        .into_iter()
        .chain([primary.as_str()])
        .collect::<Vec<_>>()
        .join(", ");
    assert_accepted(
        &both(&policy, &signed(id, &[&spaced])).await,
        "WebPubSub { host: None, hub: None }",
    );
    // A header of separators is not walked to its end: a valid candidate after
    // 8 KiB of them is not read.
    let buried = format!("{}{primary}", ", ".repeat(4096));
    let res = both(&policy, &signed(id, &[&buried])).await;
    assert_401_challenging(&res, "invalid-credentials", PRIMARY, SIGNATURE);
    let long = "c".repeat(MAX_CONNECTION_ID + 1);
    let signature = format!("sha256={}", sign(PRIMARY, &long));
    let res = both(&policy, &signed(&long, &[&signature])).await;
    assert_401_challenging(&res, "invalid-credentials", PRIMARY, SIGNATURE);
}

/// `AuthPolicy::credentials`: the secrets and keys of a service already built are
/// replaced while it runs, on both frameworks (one app of each, built once).
#[actix_web::test]
async fn secrets_and_keys_are_replaced_while_the_service_runs() {
    use actix_web::{App, test, web};
    use axum::Router;
    use axum::routing::post as axum_post;

    let policy = AuthPolicy::builder()
        .shared_secrets(SharedSecrets::labeled([("orders", "old"), ("billing", "b-1")]).unwrap())
        .web_pubsub_keys(WebPubSubKeys::new([PRIMARY]).unwrap())
        .build()
        .unwrap();
    let credentials = policy.credentials();
    let axum = Router::new()
        .route(
            "/api/events",
            axum_post(
                |hookgate::tower::Authenticated(identity): hookgate::tower::Authenticated| async move {
                    format!("{identity:?}")
                },
            ),
        )
        .layer(hookgate::tower::AuthLayer::new(policy.clone()));
    let actix = test::init_service(
        App::new()
            .wrap(hookgate::actix::Auth::new(policy.clone()))
            .route(
                "/api/events",
                web::post().to(
                    |hookgate::actix::Authenticated(identity): hookgate::actix::Authenticated| async move {
                        actix_web::HttpResponse::Ok()
                            .content_type("text/plain; charset=utf-8")
                            .body(format!("{identity:?}"))
                    },
                ),
            ),
    )
    .await;
    let call = async |req: &TestRequest| {
        let a = axum_app::call(&axum, req).await;
        let b = actix_app::call(&actix, req).await;
        assert_eq!(a, b, "axum and actix differ for {req:?}");
        a
    };
    let id = "0f9c97a2f0bf4706afe87a14e0797b11";
    let by_primary = signed(id, &[&format!("sha256={}", sign(PRIMARY, id))]);
    let by_secondary = signed(id, &[&format!("sha256={}", sign(SECONDARY, id))]);

    let orders = "SharedSecret { place: Code, label: Some(\"orders\") }";
    assert_accepted(&call(&post("/api/events?code=old")).await, orders);
    assert_eq!(call(&post("/api/events?code=b-1")).await.status, 200);
    assert_eq!(call(&by_primary).await.status, 200);

    // orders rotates, billing is removed, shipping is added.
    let before = credentials.replace_shared_secrets(Some(
        SharedSecrets::labeled([("orders", "new"), ("shipping", "s-1")]).unwrap(),
    ));
    assert_eq!(before.unwrap().label_of("b-1"), Some(Some("billing")));
    assert_accepted(&call(&post("/api/events?code=new")).await, orders);
    assert_401(
        &call(&post("/api/events?code=old")).await,
        "invalid-credentials",
        "old",
    );
    assert_401(
        &call(&post("/api/events?code=b-1")).await,
        "invalid-credentials",
        "b-1",
    );
    assert_accepted(
        &call(&post("/api/events?code=s-1")).await,
        "SharedSecret { place: Code, label: Some(\"shipping\") }",
    );

    // The Web PubSub keys: the secondary replaces the primary.
    credentials.replace_web_pubsub_keys(Some(WebPubSubKeys::new([SECONDARY]).unwrap()));
    assert_eq!(call(&by_secondary).await.status, 200);
    assert_401_challenging(
        &call(&by_primary).await,
        "invalid-credentials",
        PRIMARY,
        SIGNATURE,
    );

    // Every secret and key taken away: every request refused, never accepted.
    credentials.replace_shared_secrets(None);
    credentials.replace_web_pubsub_keys(None);
    assert!(credentials.shared_secrets().is_none() && credentials.web_pubsub_keys().is_none());
    for req in [
        post("/api/events?code=new"),
        by_secondary,
        post("/api/events"),
    ] {
        let res = call(&req).await;
        assert_eq!(res.status, 401, "{res:?}");
    }
    let res = call(&post("/api/events")).await;
    assert!(
        res.json()["detail"]
            .as_str()
            .unwrap()
            .contains("no credentials are accepted at the moment"),
        "{res:?}"
    );
}
