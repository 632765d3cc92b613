//! Azure Event Grid secure delivery with Azure AD (Microsoft Entra ID), on axum and
//! on actix-web, through the one webhook layer configured as the README's recipe
//! says: the webhook's App ID URI and client id as audiences, the role
//! `AzureEventGridSecureWebhookSubscriber` required, Event Grid's application id
//! the only caller allowed.
//!
//! The tokens are shaped as Event Grid's are: issued to the Event Grid application
//! (`appid` in v1 tokens, `azp` in v2), carrying the role, by the v1 issuer
//! (`https://sts.windows.net/{tid}/`) or the v2 one (`…/{tid}/v2.0`), signed by the
//! local OpenID Connect issuer of `tests/common/oidc.rs`. Both frameworks must
//! answer the same.

mod common;

use std::time::Duration;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use common::oidc::{APP_ID, AUDIENCE, CLIENT_ID, OidcIssuer, ROLE, TENANT, TestKey};
use hookgate::WebhookPolicy;
use hookgate::auth::AuthPolicy;
use hookgate::auth::aad::{AadClaims, AadPolicy};
use hookgate::dedup::DedupPolicy;
use hookgate::handshake::HandshakePolicy;
use serde_json::{Value, json};

/// Azure Event Grid's application id in the public cloud.
const EVENT_GRID_APP_ID: &str = "4962773b-9cdb-44cf-a8bf-237846a00ab7";

fn describe(claims: &AadClaims, events: usize) -> String {
    format!(
        "ver={} aud={} app={} roles={:?} events={events}",
        claims.version.as_deref().unwrap_or("-"),
        claims.audience,
        claims.app_id.as_deref().unwrap_or("-"),
        claims.roles,
    )
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::{AadCaller, CloudEvents, WebhookLayer};

    async fn receive(AadCaller(claims): AadCaller, CloudEvents(events): CloudEvents) -> String {
        describe(&claims, events.len())
    }

    pub(super) fn app(webhook: WebhookPolicy) -> Router {
        Router::new()
            .route("/api/events", post(receive))
            .layer(WebhookLayer::new(webhook))
    }
}

mod actix_side {
    use super::*;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::{App, test, web};
    use hookgate::actix::{AadCaller, CloudEvents, Webhook};

    async fn receive(AadCaller(claims): AadCaller, CloudEvents(events): CloudEvents) -> String {
        describe(&claims, events.len())
    }

    pub(super) async fn app(
        webhook: WebhookPolicy,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(
            App::new()
                .wrap(Webhook::new(webhook))
                .route("/api/events", web::post().to(receive)),
        )
        .await
    }
}

/// The README's recipe, with the local issuer as the authority host.
fn webhook(issuer: &OidcIssuer) -> WebhookPolicy {
    let aad = AadPolicy::builder()
        .authority(TENANT)
        .authority_host(issuer.base_url())
        // The webhook's App ID URI and its client id: v1 tokens carry the one the
        // subscription names, v2 tokens the client id.
        .audiences([AUDIENCE, CLIENT_ID])
        .required_roles(["AzureEventGridSecureWebhookSubscriber"])
        .allowed_app_ids([EVENT_GRID_APP_ID])
        .fetch_retry_interval(Duration::from_secs(2))
        .build()
        .unwrap();
    WebhookPolicy::builder()
        .handshake(
            HandshakePolicy::builder()
                .azure_event_grid()
                .build()
                .unwrap(),
        )
        .auth(AuthPolicy::builder().aad(aad).build().unwrap())
        .dedup(DedupPolicy::builder().build().unwrap())
        .build()
        .unwrap()
}

/// Sends `req` to a fresh app on each framework and checks they answer the same.
async fn both(issuer: &OidcIssuer, req: &TestRequest) -> TestResponse {
    let axum = axum_app::call(&axum_side::app(webhook(issuer)), req).await;
    let actix = actix_app::call(&actix_side::app(webhook(issuer)).await, req).await;
    assert_eq!(axum, actix, "axum and actix differ for {req:?}");
    axum
}

/// A batch of two Event Grid events in the CloudEvents schema, with Event Grid's
/// delivery headers, authenticated by `token`.
fn delivery(token: &str) -> TestRequest {
    let source = "/subscriptions/2b1f5b5e-0000-4000-8000-00000000c0de/resourceGroups/orders/providers/Microsoft.EventGrid/topics/orders";
    let batch = json!([
        {
            "specversion": "1.0", "id": "e2f2c1a0-0001", "source": source,
            "type": "com.example.order.created", "subject": "orders/1001",
            "time": "2026-11-27T03:00:00Z", "datacontenttype": "application/json",
            "data": {"orderId": "1001"}
        },
        {
            "specversion": "1.0", "id": "e2f2c1a0-0002", "source": source,
            "type": "com.example.order.shipped", "subject": "orders/1000",
            "time": "2026-11-27T03:00:01Z", "datacontenttype": "application/json",
            "data": {"orderId": "1000"}
        }
    ]);
    TestRequest::post("/api/events")
        .header(
            "Content-Type",
            "application/cloudevents-batch+json; charset=utf-8",
        )
        .header("aeg-event-type", "Notification")
        .header("aeg-subscription-name", "ORDERS-WEBHOOK")
        .header("aeg-delivery-count", "0")
        .header("aeg-metadata-version", "1")
        .header("aeg-data-version", "1.0")
        .header("Authorization", format!("Bearer {token}"))
        .body(batch.to_string())
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

fn assert_refused(res: &TestResponse, status: u16, slug: &str, detail: &str) {
    assert_eq!(res.status, status, "{res:?}");
    assert_eq!(res.problem_slug(), slug, "{res:?}");
    let text = res.json()["detail"].as_str().unwrap().to_owned();
    assert!(text.contains(detail), "detail `{text}` lacks `{detail}`");
}

#[actix_web::test]
async fn event_grid_tokens_are_accepted_from_both_issuers_for_both_audiences() {
    assert_eq!(APP_ID, EVENT_GRID_APP_ID);
    assert_eq!(ROLE, "AzureEventGridSecureWebhookSubscriber");
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let v1 = OidcIssuer::v1_claims(TENANT);
    let v2 = issuer.v2_claims(TENANT);
    let roles = format!("[\"{ROLE}\"]");
    let cases = [
        (
            "v1, App ID URI",
            with(v1.clone(), json!({})),
            "1.0",
            AUDIENCE,
        ),
        (
            "v1, client id",
            with(v1, json!({"aud": CLIENT_ID})),
            "1.0",
            CLIENT_ID,
        ),
        (
            "v2, client id",
            with(v2.clone(), json!({})),
            "2.0",
            CLIENT_ID,
        ),
        (
            "v2, App ID URI",
            with(v2, json!({"aud": AUDIENCE})),
            "2.0",
            AUDIENCE,
        ),
    ];
    for (name, claims, version, audience) in cases {
        let res = both(&issuer, &delivery(&key.sign(&claims))).await;
        assert_eq!(res.status, 200, "{name}: {res:?}");
        assert_eq!(
            res.text(),
            format!("ver={version} aud={audience} app={EVENT_GRID_APP_ID} roles={roles} events=2"),
            "{name}"
        );
    }
}

#[actix_web::test]
async fn tokens_without_the_role_from_another_app_or_for_another_audience_are_refused() {
    let key = TestKey::a();
    let issuer = OidcIssuer::start(&[&key]).await;
    let v1 = OidcIssuer::v1_claims(TENANT);
    let v2 = issuer.v2_claims(TENANT);
    let other_app = "0c2a5d1e-1111-4222-8333-444455556666";
    let cases = [
        (
            "v1 without the role",
            with(v1.clone(), json!({"roles": null})),
            403,
            "forbidden",
            "AzureEventGridSecureWebhookSubscriber",
        ),
        (
            "v2 with another role",
            with(v2.clone(), json!({"roles": ["Reader"]})),
            403,
            "forbidden",
            "AzureEventGridSecureWebhookSubscriber",
        ),
        (
            "v1 from another app",
            with(v1.clone(), json!({"appid": other_app})),
            403,
            "forbidden",
            other_app,
        ),
        (
            "v2 from another app",
            with(v2.clone(), json!({"azp": other_app})),
            403,
            "forbidden",
            other_app,
        ),
        (
            "v1 without appid",
            with(v1.clone(), json!({"appid": null})),
            403,
            "forbidden",
            "`appid` or `azp`",
        ),
        (
            "v1 for another audience",
            with(v1, json!({"aud": "api://another-webhook"})),
            401,
            "invalid-credentials",
            "audience",
        ),
        (
            "v2 for another audience",
            with(v2, json!({"aud": "00000000-1111-2222-3333-444444444444"})),
            401,
            "invalid-credentials",
            "audience",
        ),
    ];
    for (name, claims, status, slug, detail) in cases {
        let res = both(&issuer, &delivery(&key.sign(&claims))).await;
        assert_refused(&res, status, slug, detail);
        if status == 401 {
            assert!(
                res.header("www-authenticate")
                    .unwrap()
                    .starts_with("Bearer error=\"invalid_token\""),
                "{name}"
            );
        }
    }

    // No token at all: 401.
    let mut anonymous = delivery("x");
    anonymous.headers.retain(|(n, _)| n != "Authorization");
    let res = both(&issuer, &anonymous).await;
    assert_eq!(res.status, 401, "{res:?}");

    // The validation handshake is answered before authentication (the default).
    let handshake = TestRequest::post("/api/events")
        .method("OPTIONS")
        .header("WebHook-Request-Origin", "eventgrid.azure.net");
    let res = both(&issuer, &handshake).await;
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.header("webhook-allowed-origin"),
        Some("eventgrid.azure.net")
    );
}
