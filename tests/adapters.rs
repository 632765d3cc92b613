//! Behaviour of the adapters beyond the request vectors, checked on axum and
//! actix-web alike (every case goes through `common::both`, which asserts that the
//! two answer the same).

mod common;

use common::apps::{TestRequest, both};
use hookgate::ParseConfig;

fn binary(uri: &str, id: &str) -> TestRequest {
    TestRequest::post(uri)
        .header("ce-specversion", "1.0")
        .header("ce-id", id)
        .header("ce-source", "/test")
        .header("ce-type", "com.example.test")
}

fn structured_batch(n: usize) -> String {
    let members: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"specversion":"1.0","id":"{i}","source":"/s","type":"t","data":{{"total":{i}}}}}"#))
        .collect();
    format!("[{}]", members.join(","))
}

#[actix_web::test]
async fn layer_passes_the_parsed_delivery_and_the_body_on() {
    let body = r#"{"total": 5}"#;
    let req = binary("/raw", "1")
        .header("content-type", "application/json")
        .body(body);
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), format!("1:{body}"));
}

#[actix_web::test]
async fn layer_rejects_before_the_handler() {
    // `/raw` would answer 200 for anything; the layer must answer first.
    let req = TestRequest::post("/raw")
        .header("content-type", "text/plain")
        .body("hello");
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(res.status, 415);
    assert_eq!(res.problem_slug(), "not-a-cloudevent");
    assert!(
        res.json()["detail"]
            .as_str()
            .unwrap()
            .contains("ce-specversion")
    );
}

#[actix_web::test]
async fn options_and_get_pass_through_the_layer() {
    let req = TestRequest::post("/events").method("OPTIONS");
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(res.status, 204);
    assert_eq!(res.text(), "options reached the handler");
}

#[actix_web::test]
async fn typed_data() {
    let req = binary("/typed", "7")
        .header("content-type", "application/json")
        .body(r#"{"total": 12, "extra": true}"#);
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!((res.status, res.text().as_str()), (200, "order 7 total 12"));

    let req = binary("/typed", "7")
        .header("content-type", "application/json")
        .body(r#"{"total": "twelve"}"#);
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.problem_slug(), "data-mismatch");

    let req = binary("/typed", "7")
        .header("content-type", "text/plain")
        .body("12");
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.problem_slug(), "data-mismatch");

    let req = binary("/typed", "7");
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(res.status, 400);
    assert!(
        res.json()["detail"].as_str().unwrap().contains("no data"),
        "{res:?}"
    );
}

/// A 400 for data of the wrong shape names the JSON path (a JSON Pointer within the
/// data) and the JSON kinds, never the handler's Rust type (`common::apps::Order`),
/// nor serde's "struct Order".
#[actix_web::test]
async fn a_data_mismatch_names_the_json_path_and_kinds_not_rust_types() {
    let cases = [
        (
            r#"{"total": "twelve"}"#,
            "at `/total`: expected a number, got a string",
        ),
        (
            r#"{"total": -1}"#,
            "at `/total`: invalid value (a number), expected an integer from 0 to 18446744073709551615",
        ),
        (r#""twelve""#, "expected an object, got a string"),
        ("{}", "missing field `total`"),
        ("null", "expected an object, got null"),
    ];
    for (body, expected) in cases {
        for structured in [false, true] {
            let req = if structured {
                TestRequest::post("/typed")
                    .header("content-type", "application/cloudevents+json")
                    .body(format!(
                        r#"{{"specversion":"1.0","id":"7","source":"/s","type":"t","data":{body}}}"#
                    ))
            } else {
                binary("/typed", "7")
                    .header("content-type", "application/json")
                    .body(body)
            };
            let res = both(&ParseConfig::default(), &req).await;
            assert_eq!(res.status, 400, "{body}: {res:?}");
            assert_eq!(res.problem_slug(), "data-mismatch");
            let detail = res.json()["detail"].as_str().unwrap().to_owned();
            // `"data": null` is no data (CloudEvents' JSON format).
            let what = if structured && body == "null" {
                "the event has no data"
            } else {
                "the event's data does not match"
            };
            assert_eq!(
                detail,
                format!("{what}: {expected}"),
                "{body}, structured {structured}"
            );
            for leak in ["::", "Order", "struct", "u64", "common", "adapters"] {
                assert!(!detail.contains(leak), "{detail:?} names {leak:?}");
            }
        }
    }
    // Bytes of another content type, and no data at all: no Rust type named either.
    let req = binary("/typed", "7")
        .header("content-type", "text/plain")
        .body("12");
    let res = both(&ParseConfig::default(), &req).await;
    assert_eq!(
        res.json()["detail"],
        "the event's data is not JSON (datacontenttype `text/plain`); expected JSON data"
    );
    let res = both(&ParseConfig::default(), &binary("/typed", "7")).await;
    assert_eq!(
        res.json()["detail"],
        "the event has no data: expected an object, got null"
    );
}

#[actix_web::test]
async fn single_event_extractor_takes_a_batch_of_one_only() {
    let one = TestRequest::post("/single")
        .header("content-type", "application/cloudevents-batch+json")
        .body(structured_batch(1));
    let res = both(&ParseConfig::default(), &one).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["id"], "0");

    for n in [0, 2] {
        let req = TestRequest::post("/single")
            .header("content-type", "application/cloudevents-batch+json")
            .body(structured_batch(n));
        let res = both(&ParseConfig::default(), &req).await;
        assert_eq!(res.status, 400);
        assert_eq!(res.problem_slug(), "wrong-event-count");
    }
}

#[actix_web::test]
async fn batch_extractor_takes_a_single_event_as_a_batch_of_one() {
    let res = both(&ParseConfig::default(), &binary("/events", "x")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json().as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn optional_form_tells_not_a_cloudevent_from_a_broken_one() {
    let config = ParseConfig::default();
    let plain = TestRequest::post("/optional")
        .header("content-type", "application/json")
        .body("{}");
    assert_eq!(both(&config, &plain).await.text(), "none");

    let broken = TestRequest::post("/optional")
        .header("content-type", "application/cloudevents+json")
        .body(r#"{"specversion":"1.0"}"#);
    let res = both(&config, &broken).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.problem_slug(), "missing-attribute");

    let ok = binary("/optional", "1");
    assert_eq!(both(&config, &ok).await.status, 200);
}

#[actix_web::test]
async fn body_limit_applies_to_the_layer_and_to_the_extractor() {
    let config = ParseConfig::builder().body_limit(64).build().unwrap();
    let big = structured_batch(3);
    assert!(big.len() > 64);
    for uri in ["/events", "/nolayer"] {
        let req = TestRequest::post(uri)
            .header("content-type", "application/cloudevents-batch+json")
            .body(big.clone());
        let res = both(&config, &req).await;
        assert_eq!(res.status, 413, "{uri}");
        assert_eq!(res.problem_slug(), "payload-too-large");

        let small = TestRequest::post(uri)
            .header("content-type", "application/cloudevents-batch+json")
            .body("[]");
        assert_eq!(both(&config, &small).await.status, 200, "{uri}");
    }
}

#[actix_web::test]
async fn declared_content_length_over_the_limit_is_refused_before_reading() {
    let config = ParseConfig::builder().body_limit(10).build().unwrap();
    let req = binary("/events", "1")
        .header("content-length", "11")
        .body("x".repeat(11));
    let res = both(&config, &req).await;
    assert_eq!(res.status, 413);
    assert!(
        res.json()["detail"].as_str().unwrap().contains("11 bytes"),
        "{res:?}"
    );
}

/// Raw header bytes that are not UTF-8 are ISO-8859-1 (what Node's `fetch` sends for
/// `Zürich`), on the layer and on the extractor, on both frameworks; bytes that come
/// out of percent-decoding must still be UTF-8.
#[actix_web::test]
async fn raw_latin1_header_values_are_understood() {
    let event = |subject: &[u8]| {
        TestRequest::post("/events")
            .header("ce-specversion", "1.0")
            .header("ce-id", "1")
            .header("ce-source", "/s")
            .header("ce-type", "t")
            .header("ce-subject", subject)
    };
    let config = ParseConfig::default();
    for (raw, subject) in [
        (&b"Z\xfcrich"[..], "Zürich"),
        (&b"Z\xfcrich%20Nord"[..], "Zürich Nord"),
        (&b"\"Z\xfcrich\""[..], "Zürich"),
        (&b"Z%C3%BCrich"[..], "Zürich"),
    ] {
        for path in ["/events", "/nolayer"] {
            let mut req = event(raw);
            req.uri = path.to_owned();
            let res = both(&config, &req).await;
            assert_eq!(res.status, 200, "{raw:?} on {path}: {res:?}");
            assert_eq!(res.json()[0]["subject"], subject, "{raw:?} on {path}");
        }
    }
    let res = both(&config, &event(b"Z%FCrich")).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.problem_slug(), "invalid-header");
}

/// A `Content-Type` with non-ASCII bytes where a `+json` suffix would start is
/// refused as a media type, not a panic (the `structured` fuzz target found the
/// JSON-type check slicing inside a character): raw UTF-8, raw ISO-8859-1, on both
/// frameworks, with the layer and with the extractor alone.
#[actix_web::test]
async fn a_non_ascii_content_type_is_a_400_not_a_panic() {
    let config = ParseConfig::default();
    // Raw UTF-8 is read and refused as a media type; a `Content-Type` that is not
    // UTF-8 is refused as a header (only `ce-` values are read as ISO-8859-1).
    for (content_type, slug) in [
        (&b"text/\xd0\x8fabcd"[..], "invalid-attribute"),
        (&b"text/\xfcabcd"[..], "invalid-header"),
    ] {
        for path in ["/events", "/nolayer"] {
            let req = TestRequest::post(path)
                .header("ce-specversion", "1.0")
                .header("ce-id", "1")
                .header("ce-source", "/s")
                .header("ce-type", "t")
                .header("content-type", content_type)
                .body("x");
            let res = both(&config, &req).await;
            assert_eq!(res.status, 400, "{content_type:?} on {path}: {res:?}");
            assert_eq!(
                res.problem_slug(),
                slug,
                "{content_type:?} on {path}: {res:?}"
            );
        }
    }
}
