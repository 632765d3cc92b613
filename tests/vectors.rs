//! Every request vector in `tests/vectors/*.json` through a real axum app and a real
//! actix-web app, on two paths each: `/events` (the parse layer/middleware, then the
//! `CloudEvents` extractor takes the parsed delivery) and `/nolayer` (the extractor
//! parses by itself). All four must give the vector's status, and for an accepted
//! request the vector's events; for a rejection the problem+json type and detail.
//! The two frameworks must also answer byte for byte the same. All failures are
//! reported together, by vector name.

mod common;

use bytes::Bytes;
use common::apps::{TestRequest, TestResponse, actix_app, axum_app};
use common::vectors::{self, Vector};
use hookgate::ParseConfig;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

fn config(v: &Vector) -> ParseConfig {
    let mut config = ParseConfig::builder();
    if let Some(limit) = v.body_limit {
        config = config.body_limit(limit);
    }
    config.build().expect("a valid body limit")
}

fn request(v: &Vector, uri: &str) -> TestRequest {
    let mut req = TestRequest::post(uri)
        .method(&v.method)
        .body(Bytes::from(v.body()));
    for (name, value) in v.header_bytes() {
        req = req.header(&name, value);
    }
    req
}

/// Checks one answer against the vector; `Err` says what differed.
fn check(v: &Vector, res: &TestResponse) -> Result<(), String> {
    let expect = &v.expect;
    if res.status != expect.status {
        return Err(format!(
            "expected status {}, got {} {}",
            expect.status,
            res.status,
            res.text()
        ));
    }
    if v.accepted() {
        let got = res.json();
        let want = Value::Array(v.expected_events().to_vec());
        return if got == want {
            Ok(())
        } else {
            Err(format!("expected events {want}\n      got {got}"))
        };
    }
    if res.content_type.as_deref() != Some("application/problem+json") {
        return Err(format!("not problem+json: {:?}", res.content_type));
    }
    let problem = res.json();
    let want_type = v.problem_type().unwrap_or_default();
    if problem["type"] != want_type.as_str() || problem["status"] != res.status {
        return Err(format!("expected a {want_type} problem, got {problem}"));
    }
    let detail = problem["detail"].as_str().unwrap_or_default();
    let missing: Vec<&String> = expect
        .detail_contains
        .iter()
        .filter(|s| !detail.contains(s.as_str()))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the detail `{detail}` does not mention {missing:?}"
        ))
    }
}

#[actix_web::test]
async fn request_vectors_on_axum_and_actix() {
    let all = vectors::load(DIR);
    let mut failures = Vec::new();
    for v in &all {
        let config = config(v);
        let axum = axum_app::app(config.clone());
        let actix = actix_app::app(config).await;
        for uri in ["/events", "/nolayer"] {
            let req = request(v, uri);
            let on_axum = axum_app::call(&axum, &req).await;
            let on_actix = actix_app::call(&actix, &req).await;
            let mut fail = |framework: &str, why: String| {
                failures.push(format!("  {} {framework} {uri}: {why}", v.name));
            };
            if let Err(why) = check(v, &on_axum) {
                fail("axum", why);
            }
            if let Err(why) = check(v, &on_actix) {
                fail("actix", why);
            }
            if on_axum != on_actix {
                fail(
                    "axum vs actix",
                    format!(
                        "the answers differ\n      axum:  {on_axum:?}\n      actix: {on_actix:?}"
                    ),
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures over {} request vectors:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} request vectors passed on axum and actix-web, with and without the layer",
        all.len()
    );
}
