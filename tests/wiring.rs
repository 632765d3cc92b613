//! Issue 18, items 6 and 8, on axum AND actix-web:
//!
//! - a policy's limits reach the extractors through the middleware alone: a Web
//!   PubSub policy with a small `max_state_len`, or a Trusted Application route's
//!   `parse` limits, refuse an over-limit request with NO separate registration
//!   exactly as with the (deprecated) registration;
//! - the optional extractors (axum's `Option<…>`, actix-web's named
//!   `Optional…`) are `None` only for a request that carries no event, and refuse a
//!   malformed one with the same answer as the plain extractor.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use hookgate::ParseConfig;
use hookgate::WebhookPolicy;
use hookgate::webpubsub::WebPubSubPolicy;

const HOST: &str = "xxx.webpubsub.azure.com";

fn webpubsub_policy(max_state_len: Option<usize>) -> WebPubSubPolicy {
    let mut builder = WebPubSubPolicy::builder().host(HOST);
    if let Some(n) = max_state_len {
        builder = builder.max_state_len(n);
    }
    builder.build().unwrap()
}

/// A user event whose connection state is a JSON object of more than `len` bytes
/// of base64.
fn user_event(len: usize) -> TestRequest {
    let state = STANDARD.encode(format!(r#"{{"k":"{}"}}"#, "x".repeat(len)));
    assert!(state.len() > len);
    TestRequest::post("/api/message")
        .header("content-type", "text/plain")
        .header("ce-specversion", "1.0")
        .header("ce-type", "azure.webpubsub.user.message")
        .header("ce-source", "/hubs/chat/client/c1")
        .header("ce-id", "1")
        .header("ce-connectionId", "c1")
        .header("ce-hub", "chat")
        .header("ce-eventName", "message")
        .header("ce-connectionState", state)
        .body("hello")
}

/// A Trusted Application callback of about `len` bytes.
fn callback(len: usize) -> TestRequest {
    TestRequest::post("/callback")
        .header("content-type", "application/json")
        .body(format!(r#"{{"sender": [], "pad": "{}"}}"#, "x".repeat(len)))
}

fn trusted_app_policy(limit: usize) -> WebhookPolicy {
    common::event_grid_webhook()
        .without_parsing()
        .parse(ParseConfig::builder().body_limit(limit).build().unwrap())
        .build()
        .unwrap()
}

mod on_axum {
    use axum::response::{IntoResponse as _, Response};
    use axum::routing::post;
    use axum::{Extension, Router};
    use hookgate::tower::webpubsub::{WebPubSub, WebPubSubReply};
    use hookgate::tower::{CloudEvent, Ucwa, WebhookLayer};
    use hookgate::webpubsub::WebPubSubResponse;

    use super::*;

    async fn webpubsub(WebPubSub(_): WebPubSub) -> WebPubSubReply {
        WebPubSubResponse::Ack.into()
    }

    async fn ucwa(Ucwa(_): Ucwa<serde_json::Value>) -> &'static str {
        "read"
    }

    /// The Web PubSub app: the stack, with or without the old registration.
    pub(crate) fn webpubsub_app(policy: &WebPubSubPolicy, register: bool) -> Router {
        let app = Router::new()
            .route("/api/{event}", post(webpubsub))
            .layer(WebhookLayer::new(policy.webhook().clone()));
        if register {
            app.layer(Extension(policy.limits()))
        } else {
            app
        }
    }

    /// The Trusted Application route with its policy's limits (and the old
    /// registration of the same limits, or not).
    pub(crate) fn trusted_app(limit: usize, register: bool) -> Router {
        let policy = trusted_app_policy(limit);
        let app = Router::new()
            .route("/callback", post(ucwa))
            .layer(WebhookLayer::new(policy.clone()));
        if register {
            app.layer(Extension(policy.extractor_config().clone()))
        } else {
            app
        }
    }

    async fn one(event: Option<CloudEvent>) -> Response {
        match event {
            Some(CloudEvent(event)) => event.id().to_owned().into_response(),
            None => http::StatusCode::NO_CONTENT.into_response(),
        }
    }

    async fn required(CloudEvent(event): CloudEvent) -> String {
        event.id().to_owned()
    }

    async fn any_webpubsub(event: Option<WebPubSub>) -> Response {
        match event {
            Some(_) => "event".into_response(),
            None => http::StatusCode::NO_CONTENT.into_response(),
        }
    }

    async fn required_webpubsub(WebPubSub(_): WebPubSub) -> &'static str {
        "event"
    }

    async fn optional_ucwa(body: Option<Ucwa<serde_json::Value>>) -> Response {
        match body {
            Some(Ucwa(value)) => value.to_string().into_response(),
            None => http::StatusCode::NO_CONTENT.into_response(),
        }
    }

    /// The optional and plain extractors, with no middleware.
    pub(crate) fn optional_app() -> Router {
        Router::new()
            .route("/optional", post(one).get(one))
            .route("/required", post(required))
            .route("/optional-webpubsub", post(any_webpubsub))
            .route("/required-webpubsub", post(required_webpubsub))
            .route("/optional-ucwa", post(optional_ucwa))
            .route("/required-ucwa", post(ucwa))
    }
}

mod on_actix {
    use actix_web::{App, HttpResponse, web};
    use hookgate::actix::webpubsub::{OptionalWebPubSub, WebPubSub, WebPubSubReply};
    use hookgate::actix::{CloudEvent, OptionalCloudEvent, OptionalUcwa, Ucwa, Webhook};
    use hookgate::webpubsub::WebPubSubResponse;

    use super::*;

    async fn webpubsub(WebPubSub(_): WebPubSub) -> WebPubSubReply {
        WebPubSubResponse::Ack.into()
    }

    async fn ucwa(Ucwa(_): Ucwa<serde_json::Value>) -> &'static str {
        "read"
    }

    pub(crate) async fn call_webpubsub(
        policy: &WebPubSubPolicy,
        register: bool,
        req: &TestRequest,
    ) -> TestResponse {
        let mut app = App::new();
        if register {
            app = app.app_data(policy.limits());
        }
        let app = actix_web::test::init_service(
            app.wrap(Webhook::new(policy.webhook().clone()))
                .route("/api/{event}", web::post().to(webpubsub)),
        )
        .await;
        actix_app::call(&app, req).await
    }

    pub(crate) async fn call_trusted_app(
        limit: usize,
        register: bool,
        req: &TestRequest,
    ) -> TestResponse {
        let policy = trusted_app_policy(limit);
        let mut app = App::new();
        if register {
            app = app.app_data(policy.extractor_config().clone());
        }
        let app = actix_web::test::init_service(
            app.wrap(Webhook::new(policy))
                .route("/callback", web::post().to(ucwa)),
        )
        .await;
        actix_app::call(&app, req).await
    }

    async fn one(OptionalCloudEvent(event): OptionalCloudEvent) -> HttpResponse {
        match event {
            Some(event) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body(event.id().to_owned()),
            None => HttpResponse::NoContent().finish(),
        }
    }

    async fn required(CloudEvent(event): CloudEvent) -> String {
        event.id().to_owned()
    }

    async fn any_webpubsub(OptionalWebPubSub(event): OptionalWebPubSub) -> HttpResponse {
        match event {
            Some(_) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body("event"),
            None => HttpResponse::NoContent().finish(),
        }
    }

    async fn required_webpubsub(WebPubSub(_): WebPubSub) -> &'static str {
        "event"
    }

    async fn optional_ucwa(OptionalUcwa(body): OptionalUcwa<serde_json::Value>) -> HttpResponse {
        match body {
            Some(value) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body(value.to_string()),
            None => HttpResponse::NoContent().finish(),
        }
    }

    pub(crate) async fn call_optional(req: &TestRequest) -> TestResponse {
        let app = actix_web::test::init_service(
            App::new()
                .route("/optional", web::post().to(one))
                .route("/optional", web::get().to(one))
                .route("/required", web::post().to(required))
                .route("/optional-webpubsub", web::post().to(any_webpubsub))
                .route("/required-webpubsub", web::post().to(required_webpubsub))
                .route("/optional-ucwa", web::post().to(optional_ucwa))
                .route("/required-ucwa", web::post().to(ucwa)),
        )
        .await;
        actix_app::call(&app, req).await
    }
}

/// Both frameworks' answers to `req`, which must agree (status, type, body).
fn agree(axum: TestResponse, actix: TestResponse) -> TestResponse {
    assert_eq!(
        (axum.status, &axum.content_type, &axum.body),
        (actix.status, &actix.content_type, &actix.body),
        "axum and actix-web differ"
    );
    axum
}

#[tokio::test]
async fn webpubsub_limits_need_no_registration() {
    let small = webpubsub_policy(Some(16));
    let req = user_event(64);
    for framework in ["axum", "actix"] {
        let (with, without) = match framework {
            "axum" => (
                axum_app::call(&on_axum::webpubsub_app(&small, true), &req).await,
                axum_app::call(&on_axum::webpubsub_app(&small, false), &req).await,
            ),
            _ => (
                on_actix::call_webpubsub(&small, true, &req).await,
                on_actix::call_webpubsub(&small, false, &req).await,
            ),
        };
        assert_eq!(with.status, 400, "{framework}: {with:?}");
        assert!(
            with.text().contains("ce-connectionState"),
            "{framework}: {with:?}"
        );
        assert_eq!(
            (with.status, &with.content_type, &with.body),
            (without.status, &without.content_type, &without.body),
            "{framework}: the registration changed the answer"
        );
    }
    // The same request within the default limit is handled.
    let default = webpubsub_policy(None);
    let ok = agree(
        axum_app::call(&on_axum::webpubsub_app(&default, false), &req).await,
        on_actix::call_webpubsub(&default, false, &req).await,
    );
    assert_eq!(ok.status, 204, "handled (an ack): {ok:?}");
}

#[tokio::test]
async fn trusted_app_limits_need_no_registration() {
    let req = callback(200);
    for register in [true, false] {
        let answer = agree(
            axum_app::call(&on_axum::trusted_app(64, register), &req).await,
            on_actix::call_trusted_app(64, register, &req).await,
        );
        assert_eq!(answer.status, 413, "registered: {register}: {answer:?}");
        assert_eq!(answer.problem_slug(), "payload-too-large", "{answer:?}");
    }
    let ok = agree(
        axum_app::call(&on_axum::trusted_app(4096, false), &req).await,
        on_actix::call_trusted_app(4096, false, &req).await,
    );
    assert_eq!(ok.status, 200, "{ok:?}");
}

async fn both_optional(req: &TestRequest) -> TestResponse {
    agree(
        axum_app::call(&on_axum::optional_app(), req).await,
        on_actix::call_optional(req).await,
    )
}

fn binary(uri: &str) -> TestRequest {
    TestRequest::post(uri)
        .header("ce-specversion", "1.0")
        .header("ce-id", "42")
        .header("ce-source", "/s")
        .header("ce-type", "t")
}

#[tokio::test]
async fn optional_cloud_event_is_none_only_without_an_event() {
    // No event: an empty POST without CloudEvents headers, and a GET.
    let none = both_optional(&TestRequest::post("/optional")).await;
    assert_eq!((none.status, none.body.len()), (204, 0), "{none:?}");
    let get = both_optional(&TestRequest::post("/optional").method("GET")).await;
    assert_eq!(get.status, 204, "{get:?}");
    // A good event.
    let some = both_optional(&binary("/optional")).await;
    assert_eq!((some.status, some.text().as_str()), (200, "42"), "{some:?}");
    // Malformed: the same answer as the plain extractor, on both frameworks.
    let malformed = [
        TestRequest::post("/optional").header("ce-specversion", "1.0"),
        TestRequest::post("/optional")
            .header("content-type", "application/cloudevents+json")
            .body("{"),
        TestRequest::post("/optional")
            .header("content-type", "application/json")
            .body(r#"{"not": "an event"}"#),
    ];
    for req in malformed {
        let optional = both_optional(&req).await;
        let mut plain = req.clone();
        plain.uri = "/required".into();
        let plain = both_optional(&plain).await;
        assert!(
            (400..500).contains(&optional.status),
            "{req:?}: {optional:?}"
        );
        assert_eq!(
            (optional.status, &optional.content_type, &optional.body),
            (plain.status, &plain.content_type, &plain.body),
            "{req:?}"
        );
        optional.problem_slug();
    }
}

#[tokio::test]
async fn optional_webpubsub_and_ucwa_are_none_only_without_an_event() {
    for (optional, required, good) in [
        ("/optional-webpubsub", "/required-webpubsub", user_event(8)),
        ("/optional-ucwa", "/required-ucwa", callback(8)),
    ] {
        let none = both_optional(&TestRequest::post(optional)).await;
        assert_eq!(none.status, 204, "{optional}: {none:?}");
        let mut some = good.clone();
        some.uri = optional.into();
        let some = both_optional(&some).await;
        assert_eq!(some.status, 200, "{optional}: {some:?}");
        // Malformed: an event without its required parts, a body cut short.
        let broken = if optional.contains("ucwa") {
            TestRequest::post(optional)
                .header("content-type", "application/json")
                .body("{")
        } else {
            TestRequest::post(optional)
                .header("ce-specversion", "1.0")
                .header("ce-type", "azure.webpubsub.user.message")
                .header("ce-source", "/hubs/chat/client/c1")
                .header("ce-id", "1")
        };
        let mut plain = broken.clone();
        plain.uri = required.into();
        let (broken, plain) = (both_optional(&broken).await, both_optional(&plain).await);
        assert!(
            (400..500).contains(&broken.status),
            "{optional}: {broken:?}"
        );
        assert_eq!(
            (broken.status, &broken.content_type, &broken.body),
            (plain.status, &plain.content_type, &plain.body),
            "{optional}"
        );
    }
}
