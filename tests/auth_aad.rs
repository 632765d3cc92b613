//! Azure AD bearer tokens on axum and on actix-web, against a real local OpenID
//! Connect issuer over HTTP (`tests/common/oidc.rs`: discovery and JWKS on a loopback
//! port, RSA test keys, request counters). Every case runs through both frameworks,
//! which must answer the same: status, `WWW-Authenticate`, `Retry-After` and the
//! problem+json body; accepted requests reach a handler that reads the `AadCaller`
//! extractor. The validator's finer points are covered in
//! `crates/hookgate-core/tests/aad.rs`.

mod common;

use std::time::Duration;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use common::oidc::{APP_ID, AUDIENCE, CLIENT_ID, Mode, OidcIssuer, ROLE, TENANT, TestKey, now};
use hookgate::auth::AuthPolicy;
use hookgate::auth::aad::{AadPolicy, AadPolicyBuilder};
use serde_json::{Value, json};

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{AadCaller, AuthLayer};

    async fn who(AadCaller(claims): AadCaller) -> String {
        super::describe(&claims)
    }

    pub(super) fn app(policy: &AuthPolicy) -> Router {
        Router::new()
            .route("/api/calls", post(who))
            .layer(AuthLayer::new(policy.clone()))
    }

    pub(super) async fn call(app: &Router, req: &TestRequest) -> TestResponse {
        axum_app::call(app, req).await
    }
}

mod actix_side {
    use super::*;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::{App, HttpResponse, test, web};
    use hookgate::actix::{AadCaller, Auth};

    async fn who(AadCaller(claims): AadCaller) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(super::describe(&claims))
    }

    pub(super) async fn app(
        policy: AuthPolicy,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(
            App::new()
                .wrap(Auth::new(policy))
                .route("/api/calls", web::post().to(who)),
        )
        .await
    }
}

fn describe(claims: &hookgate::auth::aad::AadClaims) -> String {
    format!(
        "tid={} app={} roles={:?} aud={}",
        claims.tenant_id.as_deref().unwrap_or("-"),
        claims.app_id.as_deref().unwrap_or("-"),
        claims.roles,
        claims.audience
    )
}

fn aad(issuer: &OidcIssuer) -> AadPolicyBuilder {
    AadPolicy::builder()
        .authority(TENANT)
        .authority_host(issuer.base_url())
        .audiences([AUDIENCE, CLIENT_ID])
        .required_roles([ROLE])
        .fetch_retry_interval(Duration::from_secs(2))
}

fn policy(builder: AadPolicyBuilder) -> AuthPolicy {
    AuthPolicy::builder()
        .aad(builder.build().unwrap())
        .build()
        .unwrap()
}

fn bearer(token: &str) -> TestRequest {
    TestRequest::post("/api/calls").header("Authorization", format!("Bearer {token}"))
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

/// Sends `req` to an axum app and an actix app, each with its own copy of `make()`
/// (so each framework fetches keys itself), and checks they answer the same.
async fn both(make: impl Fn() -> AuthPolicy, req: &TestRequest) -> TestResponse {
    let axum = axum_side::call(&axum_side::app(&make()), req).await;
    let actix = actix_app::call(&actix_side::app(make()).await, req).await;
    assert_eq!(axum, actix, "axum and actix differ for {req:?}");
    axum
}

fn assert_refused(res: &TestResponse, status: u16, slug: &str, detail: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.problem_slug(), slug, "{res:?}");
    let text = res.json()["detail"].as_str().unwrap().to_owned();
    assert!(text.contains(detail), "detail `{text}` lacks `{detail}`");
    if status == 401 {
        let challenge = res.header("www-authenticate").unwrap();
        if slug == "missing-credentials" {
            // No token sent: the bare scheme, no error code (RFC 6750, 3.1).
            assert_eq!(challenge, "Bearer");
        } else {
            assert!(
                challenge.starts_with("Bearer error=\"invalid_token\""),
                "{challenge}"
            );
        }
    }
}

#[actix_web::test]
async fn valid_tokens_reach_the_handler_with_their_claims() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let make = || policy(aad(&issuer));
    let v1 = key.sign(&OidcIssuer::v1_claims(TENANT));
    let res = both(make, &bearer(&v1)).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.text(),
        format!("tid={TENANT} app={APP_ID} roles=[\"{ROLE}\"] aud={AUDIENCE}")
    );
    let v2 = key.sign(&issuer.v2_claims(TENANT));
    let res = both(make, &bearer(&v2)).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert!(res.text().ends_with(&format!("aud={CLIENT_ID}")));
}

#[actix_web::test]
async fn bad_tokens_are_refused_alike() {
    let key = TestKey::a();
    // Key b's signature under key a's kid.
    let other = TestKey::b().with_kid(&key.kid);
    let issuer = OidcIssuer::start(&[&key]).await;
    let make = || policy(aad(&issuer));
    let v1 = OidcIssuer::v1_claims(TENANT);
    let t = now();
    let public_pem = key.public_pem;
    let cases: Vec<(&str, String, u16, &str, &str)> = vec![
        (
            "expired",
            key.sign(&with(
                v1.clone(),
                json!({"exp": t - 3600, "nbf": t - 7200, "iat": t - 7200}),
            )),
            401,
            "invalid-credentials",
            "expired",
        ),
        (
            "not yet valid",
            key.sign(&with(v1.clone(), json!({"nbf": t + 3600}))),
            401,
            "invalid-credentials",
            "not valid before",
        ),
        (
            "wrong audience",
            key.sign(&with(v1.clone(), json!({"aud": "api://someone-else"}))),
            401,
            "invalid-credentials",
            "audience",
        ),
        (
            "wrong issuer",
            key.sign(&with(
                v1.clone(),
                json!({"iss": "https://sts.windows.net/evil/"}),
            )),
            401,
            "invalid-credentials",
            "issuer",
        ),
        (
            "another tenant",
            key.sign(&OidcIssuer::v1_claims(common::oidc::OTHER_TENANT)),
            401,
            "invalid-credentials",
            "issuer",
        ),
        (
            "alg none",
            common::oidc::unsigned_token(&key.kid, &v1),
            401,
            "invalid-credentials",
            "RS256",
        ),
        (
            "HS256 with the public key as secret",
            common::oidc::hs256_token(&key.kid, public_pem, &v1),
            401,
            "invalid-credentials",
            "RS256",
        ),
        (
            "a known kid signed by another key",
            other.sign(&v1),
            401,
            "invalid-credentials",
            "signature",
        ),
        (
            "missing role",
            key.sign(&with(v1.clone(), json!({"roles": ["Reader"]}))),
            403,
            "forbidden",
            ROLE,
        ),
        (
            "64 KiB token",
            format!(
                "{}.{}.{}",
                "e".repeat(100),
                "p".repeat(64 * 1024),
                "s".repeat(100)
            ),
            401,
            "invalid-credentials",
            "",
        ),
        (
            "not a JWT",
            "garbage".to_owned(),
            401,
            "invalid-credentials",
            "",
        ),
    ];
    for (what, token, status, slug, detail) in cases {
        let res = both(make, &bearer(&token)).await;
        assert_refused(&res, status, slug, detail);
        assert!(
            !res.text().contains(&token[..token.len().min(40)]) || token.len() < 20,
            "{what}: the token is echoed"
        );
    }
    let res = both(make, &TestRequest::post("/api/calls")).await;
    assert_refused(&res, 401, "missing-credentials", "Azure AD");
}

#[actix_web::test]
async fn an_unknown_kid_refetches_once_under_100_concurrent_requests() {
    let key = TestKey::a();
    let stranger = TestKey::c().with_kid("never-published");
    let issuer = OidcIssuer::start(&[&key]).await;
    let token = stranger.sign(&OidcIssuer::v1_claims(TENANT));
    let req = bearer(&token);

    // axum: one policy, 100 requests at once.
    let app = axum_side::app(&policy(aad(&issuer)));
    let warm = axum_side::call(&app, &bearer(&key.sign(&OidcIssuer::v1_claims(TENANT)))).await;
    assert_eq!(warm.status, 200);
    let before = issuer.jwks_requests();
    let answers =
        futures_util::future::join_all((0..100).map(|_| axum_side::call(&app, &req))).await;
    assert!(answers.iter().all(|r| r.status == 401), "{:?}", answers[0]);
    assert_eq!(issuer.jwks_requests() - before, 1, "axum: one refetch");

    // actix: the same with its own policy.
    let app = actix_side::app(policy(aad(&issuer))).await;
    let warm = actix_app::call(&app, &bearer(&key.sign(&OidcIssuer::v1_claims(TENANT)))).await;
    assert_eq!(warm.status, 200);
    let before = issuer.jwks_requests();
    let answers =
        futures_util::future::join_all((0..100).map(|_| actix_app::call(&app, &req))).await;
    assert!(answers.iter().all(|r| r.status == 401), "{:?}", answers[0]);
    assert_eq!(issuer.jwks_requests() - before, 1, "actix: one refetch");
}

#[actix_web::test]
async fn key_rotation_is_picked_up_after_one_refetch() {
    let old = TestKey::a();
    let new = TestKey::b();
    let issuer = OidcIssuer::start(&[&old]).await;
    for framework in ["axum", "actix"] {
        issuer.publish(&[&old]);
        let auth = policy(aad(&issuer).unknown_kid_refetch_interval(Duration::from_millis(1)));
        let old_token = old.sign(&OidcIssuer::v1_claims(TENANT));
        let new_token = new.sign(&OidcIssuer::v1_claims(TENANT));
        let statuses = if framework == "axum" {
            let app = axum_side::app(&auth);
            let a = axum_side::call(&app, &bearer(&old_token)).await.status;
            issuer.publish(&[&old, &new]);
            let before = issuer.jwks_requests();
            let b = axum_side::call(&app, &bearer(&new_token)).await.status;
            (a, b, issuer.jwks_requests() - before)
        } else {
            let app = actix_side::app(auth.clone()).await;
            let a = actix_app::call(&app, &bearer(&old_token)).await.status;
            issuer.publish(&[&old, &new]);
            let before = issuer.jwks_requests();
            let b = actix_app::call(&app, &bearer(&new_token)).await.status;
            (a, b, issuer.jwks_requests() - before)
        };
        assert_eq!(statuses, (200, 200, 1), "{framework}");
    }
}

#[actix_web::test]
async fn issuer_down_with_and_without_cached_keys() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let token = key.sign(&OidcIssuer::v1_claims(TENANT));
    let other_token = key.sign(&with(
        OidcIssuer::v1_claims(TENANT),
        json!({"oid": "another-caller"}),
    ));

    // Keys cached, then the issuer fails: still accepted.
    let auth = policy(aad(&issuer));
    let axum = axum_side::app(&auth);
    let actix = actix_side::app(auth.clone()).await;
    assert_eq!(axum_side::call(&axum, &bearer(&token)).await.status, 200);
    issuer.set_mode(Mode::Failing);
    assert_eq!(
        axum_side::call(&axum, &bearer(&other_token)).await.status,
        200
    );
    assert_eq!(
        actix_app::call(&actix, &bearer(&other_token)).await.status,
        200
    );

    // No keys cached and the issuer failing: 503 with Retry-After, on both.
    let res = both(|| policy(aad(&issuer)), &bearer(&token)).await;
    assert_refused(&res, 503, "keys-unavailable", "");
    assert_eq!(res.header("retry-after"), Some("2"));
}

/// The one entry point with Azure AD and deduplication: the dedup keys are scoped by
/// the caller (tenant and application), so one application cannot claim, and so
/// suppress, another's events; a repeat from the same caller is a duplicate.
#[actix_web::test]
async fn the_entry_point_scopes_dedup_keys_by_the_azure_ad_caller() {
    use hookgate::dedup::DedupPolicy;

    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let webhook = || {
        common::event_grid_webhook()
            .auth(policy(aad(&issuer)))
            .dedup(DedupPolicy::builder().build().unwrap())
            .build()
            .unwrap()
    };
    let axum = {
        use axum::routing::post;
        use hookgate::tower::{CloudEvents, WebhookLayer};
        axum::Router::new()
            .route(
                "/api/events",
                post(|CloudEvents(events): CloudEvents| async move { events.len().to_string() }),
            )
            .layer(WebhookLayer::new(webhook()))
    };
    let actix = {
        use actix_web::{App, test, web};
        use hookgate::actix::{CloudEvents, Webhook};
        test::init_service(
            App::new().wrap(Webhook::new(webhook())).route(
                "/api/events",
                web::post()
                    .to(|CloudEvents(events): CloudEvents| async move { events.len().to_string() }),
            ),
        )
        .await
    };
    let token_a = key.sign(&OidcIssuer::v1_claims(TENANT));
    let token_b = key.sign(&with(
        OidcIssuer::v1_claims(TENANT),
        json!({"appid": "11111111-2222-4333-8444-555555555555"}),
    ));
    let event = |token: &str| {
        TestRequest::post("/api/events")
            .header("Authorization", format!("Bearer {token}"))
            .header("ce-specversion", "1.0")
            .header("ce-id", "same-id")
            .header("ce-source", "/shared/source")
            .header("ce-type", "t")
    };
    for (who, token, handled) in [
        ("app A", &token_a, "1"),
        ("app B, same (source, id)", &token_b, "1"),
        ("app A again: a duplicate", &token_a, ""),
    ] {
        let on_axum = axum_app::call(&axum, &event(token)).await;
        let on_actix = actix_app::call(&actix, &event(token)).await;
        assert_eq!(on_axum.status, 200, "{who}: {on_axum:?}");
        assert_eq!(on_axum.text(), handled, "{who}");
        assert_eq!(on_axum, on_actix, "{who}");
    }
}
