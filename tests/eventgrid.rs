//! The Event Grid `Delivery` extractor on both frameworks: a CloudEvents batch as
//! Event Grid sends it (its `aeg-*` headers, in the casing of the documentation's
//! samples), absent headers, and malformed ones (400 problem+json).

mod common;

use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use hookgate::eventgrid::EventGridDelivery;
use serde_json::{Value, json};

/// The answer of both apps: the delivery's fields and the number of events.
fn describe(delivery: Option<&EventGridDelivery>, events: usize) -> String {
    let value = match delivery {
        None => Value::Null,
        Some(d) => json!({
            "deliveryCount": d.delivery_count(),
            "subscriptionName": d.subscription_name(),
            "eventType": d.event_type().map(|t| t.as_str()),
            "dataVersion": d.data_version(),
            "metadataVersion": d.metadata_version(),
            "outputEventId": d.output_event_id(),
            "compatibilityModeEnabled": d.compatibility_mode_enabled(),
        }),
    };
    json!({"delivery": value, "events": events}).to_string()
}

mod axum_side {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use hookgate::tower::eventgrid::Delivery;
    use hookgate::tower::{CloudEvents, ParseCloudEventsLayer};

    pub(crate) fn app() -> Router {
        Router::new()
            .route(
                "/required",
                post(|d: Delivery, CloudEvents(e): CloudEvents| async move {
                    describe(Some(&d), e.len())
                }),
            )
            .route(
                "/optional",
                post(
                    |d: Option<Delivery>, CloudEvents(e): CloudEvents| async move {
                        describe(d.as_deref(), e.len())
                    },
                ),
            )
            .layer(ParseCloudEventsLayer::default())
    }
}

mod actix_side {
    use super::*;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::{App, ResponseError as _, test, web};
    use hookgate::actix::eventgrid::{Delivery, DeliveryRejection};
    use hookgate::actix::{CloudEvents, ParseCloudEvents};

    pub(crate) async fn app() -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    > {
        test::init_service(
            App::new()
                .wrap(ParseCloudEvents::default())
                .route(
                    "/required",
                    web::post().to(|d: Delivery, CloudEvents(e): CloudEvents| async move {
                        describe(Some(&d), e.len())
                    }),
                )
                .route(
                    "/optional",
                    web::post().to(
                        |d: Result<Delivery, DeliveryRejection>, CloudEvents(e): CloudEvents| async move {
                            match d {
                                Ok(d) => actix_web::HttpResponse::Ok()
                                    .body(describe(d.is_present().then_some(&d.0), e.len())),
                                Err(rejection) => rejection.error_response(),
                            }
                        },
                    ),
                ),
        )
        .await
    }
}

/// Sends `req` to both apps, checks they agree, and returns the answer.
async fn both(req: &TestRequest) -> TestResponse {
    let axum = axum_app::call(&axum_side::app(), req).await;
    let actix = actix_app::call(&actix_side::app().await, req).await;
    assert_eq!(axum.status, actix.status, "{req:?}\n{axum:?}\n{actix:?}");
    assert_eq!(axum.body, actix.body, "{req:?}\n{axum:?}\n{actix:?}");
    if axum.status != 200 {
        assert_eq!(axum.content_type, actix.content_type);
    }
    axum
}

fn batch() -> Vec<u8> {
    serde_json::to_vec(&json!([
        {"specversion": "1.0", "id": "9aeb0fdf-c01e-0131-0922-9eb54906e209",
         "source": "/subscriptions/{subscription-id}/resourceGroups/{resource-group}/providers/Microsoft.Storage/storageAccounts/{storage-account}",
         "subject": "/blobServices/default/containers/{container}/blobs/{new-file}",
         "type": "Microsoft.Storage.BlobCreated", "time": "2019-11-18T15:13:39.4589254Z",
         "data": {"api": "PutBlockList", "contentType": "image/jpeg"}},
        {"specversion": "1.0", "id": "2", "source": "/shop", "type": "com.example.order.created",
         "data": {"orderId": "7"}}
    ]))
    .unwrap()
}

fn request(path: &str, headers: &[(&str, &str)]) -> TestRequest {
    let mut req = TestRequest::post(path)
        .header(
            "Content-Type",
            "application/cloudevents-batch+json; charset=utf-8",
        )
        .body(batch());
    for (name, value) in headers {
        req = req.header(name, value);
    }
    req
}

/// The headers of an Event Grid push delivery, as its documentation shows them.
const EVENT_GRID: [(&str, &str); 6] = [
    ("aeg-subscription-name", "THERMOSTATALERT"),
    ("aeg-delivery-count", "3"),
    ("aeg-data-version", ""),
    ("aeg-metadata-version", "1"),
    ("aeg-event-type", "Notification"),
    (
        "aeg-output-event-id",
        "9aeb0fdf-c01e-0131-0922-9eb54906e209",
    ),
];

#[actix_web::test]
async fn an_event_grid_batch_with_its_delivery_headers() {
    for path in ["/required", "/optional"] {
        let answer = both(&request(path, &EVENT_GRID)).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(
            answer.json(),
            json!({"events": 2, "delivery": {
                "deliveryCount": 3, "subscriptionName": "THERMOSTATALERT",
                "eventType": "Notification", "dataVersion": null, "metadataVersion": "1",
                "outputEventId": "9aeb0fdf-c01e-0131-0922-9eb54906e209",
                "compatibilityModeEnabled": null,
            }})
        );
    }
    // Names in any case; a namespace delivery's compatibility flag.
    let answer = both(&request(
        "/required",
        &[
            ("AEG-Delivery-Count", "0"),
            ("Aeg-Compatibility-Mode-Enabled", "false"),
        ],
    ))
    .await;
    assert_eq!(answer.json()["delivery"]["deliveryCount"], 0);
    assert_eq!(answer.json()["delivery"]["compatibilityModeEnabled"], false);
}

#[actix_web::test]
async fn absent_headers_are_none() {
    let answer = both(&request("/required", &[])).await;
    assert_eq!(answer.status, 200);
    let delivery = &answer.json()["delivery"];
    assert!(
        delivery.as_object().unwrap().values().all(Value::is_null),
        "{delivery}"
    );
    // The optional form: no aeg-* header at all is `None`.
    let answer = both(&request("/optional", &[])).await;
    assert_eq!(answer.json(), json!({"delivery": null, "events": 2}));
}

#[actix_web::test]
async fn malformed_headers_are_400() {
    for (name, value) in [
        ("aeg-delivery-count", "three"),
        ("aeg-delivery-count", "-1"),
        ("aeg-delivery-count", "4294967296"),
        ("aeg-compatibility-mode-enabled", "maybe"),
    ] {
        for path in ["/required", "/optional"] {
            let answer = both(&request(path, &[(name, value)])).await;
            assert_eq!(answer.status, 400, "{name}: {value} {answer:?}");
            assert_eq!(answer.problem_slug(), "invalid-delivery-header");
            let detail = answer.json()["detail"].as_str().unwrap().to_owned();
            assert!(detail.contains(name), "{detail}");
        }
    }
    // Bytes outside visible ASCII (a raw 0xE9).
    let req = request("/required", &[]).header("aeg-subscription-name", b"caf\xe9");
    let answer = both(&req).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.problem_slug(), "invalid-delivery-header");
}
