//! The layer on a plain tower stack, without axum: `ServiceBuilder` + `service_fn`,
//! driven with `oneshot`.

use std::convert::Infallible;

use bytes::Bytes;
use hookgate_core::{Delivery, ParseConfig};
use hookgate_tower::ParseCloudEventsLayer;
use hookgate_tower::body::Body;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use tower::{ServiceBuilder, ServiceExt as _};

async fn handler(req: Request<Body<Full<Bytes>>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let events = req.extensions().get::<Delivery>().map_or(0, Delivery::len);
    let body = req.into_body().collect().await.unwrap().to_bytes();
    Ok(Response::new(Full::new(Bytes::from(format!(
        "{events} events, {} body bytes",
        body.len()
    )))))
}

fn service()
-> impl tower::Service<Request<Full<Bytes>>, Response = Response<Body<Full<Bytes>>>, Error = Infallible>
+ Clone {
    ServiceBuilder::new()
        .layer(ParseCloudEventsLayer::new(
            ParseConfig::builder().body_limit(512).build().unwrap(),
        ))
        .service_fn(handler)
}

async fn text(response: Response<Body<Full<Bytes>>>) -> (StatusCode, String) {
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn batch(n: usize) -> Request<Full<Bytes>> {
    let member = r#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#;
    let body = format!("[{}]", vec![member; n].join(","));
    Request::post("/")
        .header("content-type", "application/cloudevents-batch+json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[tokio::test]
async fn parses_and_passes_body_on() {
    let (status, body) = text(service().oneshot(batch(3)).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "3 events, 169 body bytes");
}

#[tokio::test]
async fn rejects_with_problem_json_without_calling_the_handler() {
    let response = service().oneshot(batch(20)).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (status, body) = text(response).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        body.contains("urn:hookgate:problem:payload-too-large"),
        "{body}"
    );
}

#[tokio::test]
async fn other_methods_pass_through_untouched() {
    let req = Request::get("/")
        .body(Full::new(Bytes::from("not an event")))
        .unwrap();
    let (status, body) = text(service().oneshot(req).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "0 events, 12 body bytes");
}

#[tokio::test]
async fn inner_service_is_reachable() {
    let svc =
        hookgate_tower::ParseCloudEvents::new(tower::service_fn(handler), ParseConfig::default());
    let _: &_ = svc.get_ref();
    let _inner = svc.into_inner();
}
