//! The same receiver on axum and on actix-web, and one way to call either.
//!
//! Routes (identical on both):
//! - `POST /events`: the parse layer/middleware + `CloudEvents` → 200, JSON array of
//!   the events in the CloudEvents JSON format; `OPTIONS /events` answers 204
//!   `options reached the handler` (the layer must pass it through).
//! - `POST /nolayer`: the same handler without the layer (the extractor parses).
//! - `POST /single`: layer + `CloudEvent` → 200, the one event as JSON.
//! - `POST /typed`: layer + `CloudEvent<Order>` → 200, `order <id> total <total>`.
//! - `POST /optional`: no layer, `Result<CloudEvents, CloudEventRejection>` → 200
//!   `none` when the request is not a CloudEvent, else like `/events`.
//! - `POST /raw`: layer + the raw body bytes → 200, `<delivery events>:<body>`: the
//!   layer put a delivery into the extensions and passed the body on.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use hookgate::{CloudEvent, Delivery, ErrorKind, ParseConfig};

/// The data type of `/typed`.
#[derive(serde::Deserialize)]
pub struct Order {
    pub total: u64,
}

/// A request to send to both apps.
#[derive(Clone, Debug)]
pub struct TestRequest {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

impl TestRequest {
    pub fn post(uri: &str) -> Self {
        Self {
            method: "POST".into(),
            uri: uri.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers.push((name.into(), value.as_ref().to_vec()));
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }
}

/// What either app answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResponse {
    pub status: u16,
    pub content_type: Option<String>,
    /// The protocol headers hookgate sets ([`SELECTED_HEADERS`]), sorted; the
    /// framework's own (`date`, `content-length`) are left out.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

/// The response headers that tests compare across frameworks.
pub const SELECTED_HEADERS: [&str; 6] = [
    "webhook-allowed-origin",
    "webhook-allowed-rate",
    "allow",
    "retry-after",
    "www-authenticate",
    "cache-control",
];

fn selected<'a>(all: impl Iterator<Item = (&'a str, &'a [u8])>) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = all
        .filter(|(n, _)| SELECTED_HEADERS.contains(n))
        .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    headers.sort();
    headers
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of selected header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The problem `type` slug of a rejection; checks the media type and members.
    pub fn problem_slug(&self) -> String {
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{self:?}"
        );
        let problem = self.json();
        assert_eq!(problem["status"], self.status, "{problem}");
        assert!(
            problem["title"].is_string() && problem["detail"].is_string(),
            "{problem}"
        );
        problem["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:hookgate:problem:"))
            .unwrap_or_else(|| panic!("no hookgate problem type: {problem}"))
            .to_owned()
    }
}

fn events_json(events: &[CloudEvent]) -> Vec<u8> {
    serde_json::to_vec(events).unwrap()
}

pub mod axum_app {
    use super::*;
    use axum::Router;
    use axum::extract::Extension;
    use axum::http::{StatusCode, header::CONTENT_TYPE};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use hookgate::tower::{CloudEvent, CloudEventRejection, CloudEvents, ParseCloudEventsLayer};
    use tower::ServiceExt as _;

    async fn events(CloudEvents(events): CloudEvents) -> Response {
        (
            [(CONTENT_TYPE, "application/json")],
            super::events_json(&events),
        )
            .into_response()
    }

    async fn single(CloudEvent(event): CloudEvent) -> Response {
        ([(CONTENT_TYPE, "application/json")], event.to_json()).into_response()
    }

    async fn typed(CloudEvent(event): CloudEvent<Order>) -> String {
        format!("order {} total {}", event.id(), event.data.total)
    }

    async fn optional(events: Result<CloudEvents, CloudEventRejection>) -> Response {
        match events {
            Ok(CloudEvents(events)) => (
                [(CONTENT_TYPE, "application/json")],
                super::events_json(&events),
            )
                .into_response(),
            Err(r) if r.error().kind() == ErrorKind::NotCloudEvent => "none".into_response(),
            Err(r) => r.into_response(),
        }
    }

    async fn raw(delivery: Option<Extension<Delivery>>, body: bytes::Bytes) -> String {
        let n = delivery.map_or(0, |Extension(d)| d.len());
        format!("{n}:{}", String::from_utf8_lossy(&body))
    }

    pub fn app(config: ParseConfig) -> Router {
        let layer = ParseCloudEventsLayer::new(config.clone());
        Router::new()
            .route(
                "/events",
                post(events)
                    .options(|| async { (StatusCode::NO_CONTENT, "options reached the handler") }),
            )
            .route("/single", post(single))
            .route("/typed", post(typed))
            .route("/raw", post(raw))
            .layer(layer)
            .route("/nolayer", post(events))
            .route("/optional", post(optional))
            .layer(Extension(config))
    }

    pub async fn call(app: &Router, req: &TestRequest) -> TestResponse {
        call_service(app.clone(), req).await
    }

    /// Calls any tower service that takes an axum body (a router with layers).
    pub async fn call_service<S, B>(service: S, req: &TestRequest) -> TestResponse
    where
        S: tower::Service<http::Request<axum::body::Body>, Response = http::Response<B>>,
        S::Error: std::fmt::Debug,
        B: http_body::Body,
        B::Error: std::fmt::Debug,
    {
        let mut builder = http::Request::builder()
            .method(req.method.as_str())
            .uri(&req.uri);
        for (n, v) in &req.headers {
            builder = builder.header(n.as_str(), v.as_slice());
        }
        // A real client declares the length of the body it sends, as actix's test
        // request does.
        if !req.body.is_empty()
            && !req
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            builder = builder.header("content-length", req.body.len());
        }
        let request = builder
            .body(axum::body::Body::from(req.body.clone()))
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let headers = super::selected(
            response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes())),
        );
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        TestResponse {
            status,
            content_type,
            headers,
            body,
        }
    }
}

/// An actix-web test service of any body (what `test::init_service` gives).
pub trait ActixApp:
    actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<Self::Body>,
        Error = actix_web::Error,
    >
{
    /// The response body.
    type Body: actix_web::body::MessageBody;
}

impl<S, B> ActixApp for S
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    type Body = B;
}

pub mod actix_app {
    use super::*;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::http::header::CONTENT_TYPE;
    use actix_web::{App, HttpResponse, ResponseError as _, test, web};
    use hookgate::actix::{CloudEvent, CloudEventRejection, CloudEvents, ParseCloudEvents};

    async fn events(CloudEvents(events): CloudEvents) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(super::events_json(&events))
    }

    async fn single(CloudEvent(event): CloudEvent) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("application/json")
            .body(event.to_json())
    }

    fn text(body: String) -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(body)
    }

    async fn typed(CloudEvent(event): CloudEvent<Order>) -> HttpResponse {
        text(format!("order {} total {}", event.id(), event.data.total))
    }

    async fn optional(events: Result<CloudEvents, CloudEventRejection>) -> HttpResponse {
        match events {
            Ok(CloudEvents(events)) => HttpResponse::Ok()
                .content_type("application/json")
                .body(super::events_json(&events)),
            Err(r) if r.error().kind() == ErrorKind::NotCloudEvent => text("none".into()),
            Err(r) => r.error_response(),
        }
    }

    async fn raw(delivery: Option<web::ReqData<Delivery>>, body: web::Bytes) -> HttpResponse {
        let n = delivery.map_or(0, |d| d.len());
        text(format!("{n}:{}", String::from_utf8_lossy(&body)))
    }

    pub async fn app(
        config: ParseConfig,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        let layered = web::scope("")
            .wrap(ParseCloudEvents::new(config.clone()))
            .route("/events", web::post().to(events))
            .route(
                "/events",
                web::method(actix_web::http::Method::OPTIONS).to(|| async {
                    HttpResponse::NoContent()
                        .content_type("text/plain; charset=utf-8")
                        .body("options reached the handler")
                }),
            )
            .route("/single", web::post().to(single))
            .route("/typed", web::post().to(typed))
            .route("/raw", web::post().to(raw));
        test::init_service(
            App::new()
                .app_data(config)
                // The raw-bytes extractor of `/raw` has a limit of its own.
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/nolayer", web::post().to(events))
                .route("/optional", web::post().to(optional))
                .service(layered),
        )
        .await
    }

    pub async fn call<S, B>(app: &S, req: &TestRequest) -> TestResponse
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: actix_web::body::MessageBody,
    {
        let mut builder = test::TestRequest::default()
            .method(req.method.parse().unwrap())
            .uri(&req.uri);
        for (n, v) in &req.headers {
            builder = builder.append_header((n.as_str(), v.as_slice()));
        }
        let response =
            test::call_service(app, builder.set_payload(req.body.clone()).to_request()).await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let headers = super::selected(
            response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes())),
        );
        let body = test::read_body(response).await;
        TestResponse {
            status,
            content_type,
            headers,
            body,
        }
    }
}

/// Sends `req` to both apps built with `config` and checks that they agree on the
/// status, the media type and the body; returns the common answer.
pub async fn both(config: &ParseConfig, req: &TestRequest) -> TestResponse {
    let axum = axum_app::call(&axum_app::app(config.clone()), req).await;
    let actix_service = actix_app::app(config.clone()).await;
    let actix = actix_app::call(&actix_service, req).await;
    assert_eq!(
        axum.status, actix.status,
        "status differs for {req:?}\naxum: {axum:?}\nactix: {actix:?}"
    );
    assert_eq!(
        axum.content_type, actix.content_type,
        "content type differs for {req:?}"
    );
    assert_eq!(
        axum.body, actix.body,
        "body differs for {req:?}\naxum: {axum:?}\nactix: {actix:?}"
    );
    axum
}
