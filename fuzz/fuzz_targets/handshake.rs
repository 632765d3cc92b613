//! The validation handshake: `WebHook-Request-Origin`, `WebHook-Request-Rate`,
//! `WebHook-Request-Callback` (and `aeg-event-type`) through
//! `HandshakePolicy::decide` under three policies (the Azure Event Grid origins; a
//! listed origin with grant by callback; any origin answered `*`, with GET and the
//! Event Grid schema), and the Event Grid validation body through
//! `HandshakePolicy::event_grid_validation`. A grant is a 200 with the grant headers
//! for an allowed origin only; a refusal is a 400/403 problem; a callback URL that
//! passes is https (http only when allowed) with a host, no credentials.
//!
//! Input: the method (first line), header lines, an empty line, the validation body.
#![no_main]

use std::sync::Arc;

use hookgate_core::client::{BoxFuture, ClientError, HttpClient, OutboundRequest, OutboundResponse};
use hookgate_core::handshake::{CallbackPolicy, Decision, HandshakePolicy, Rate};
use hookgate_core::{HeaderList, HeaderSource as _};
use libfuzzer_sys::fuzz_target;

/// The handshake is decided without sending anything; this client is never called.
#[derive(Debug)]
struct NoClient;

impl HttpClient for NoClient {
    fn send(&self, _: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>> {
        panic!("decide() sent a request")
    }
}

struct Policies {
    list: Vec<(HandshakePolicy, bool)>,
}

fn policies() -> &'static Policies {
    static POLICIES: std::sync::OnceLock<Policies> = std::sync::OnceLock::new();
    POLICIES.get_or_init(|| {
        let callback = |allow_http| {
            CallbackPolicy::builder()
                .client(Arc::new(NoClient))
                .allow_http(allow_http)
                .build()
                .expect("valid callback policy")
        };
        Policies {
            list: vec![
                (
                    HandshakePolicy::builder()
                        .azure_event_grid()
                        .rate(Rate::parse("120").expect("rate"))
                        .build()
                        .expect("valid policy"),
                    false,
                ),
                (
                    HandshakePolicy::builder()
                        .allow_origin("sender.example")
                        .web_pubsub_host("hub.webpubsub.azure.com")
                        .callback(callback(false))
                        .build()
                        .expect("valid policy"),
                    false,
                ),
                (
                    HandshakePolicy::builder()
                        .allow_any_origin()
                        .answer_wildcard_origin(true)
                        .answer_get(true)
                        .event_grid_schema(true)
                        .callback(callback(true))
                        .build()
                        .expect("valid policy"),
                    true,
                ),
            ],
        }
    })
}

fn single<'h>(headers: &'h HeaderList, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| std::str::from_utf8(v).ok())
        .map(str::trim)
}

fuzz_target!(|data: &[u8]| {
    let (method, rest) = hookgate_fuzz::first_line(data);
    let method = String::from_utf8_lossy(method);
    let (headers, body) = hookgate_fuzz::request(rest);

    for (policy, allow_http) in &policies().list {
        match policy.decide(&method, &headers) {
            Decision::Pass => {}
            Decision::Reply(reply) => {
                let status = reply.status();
                if status == 200 {
                    let origin = single(&headers, "webhook-request-origin")
                        .expect("a grant answers an origin");
                    assert!(policy.allows(origin), "granted `{origin}`");
                    let granted: Vec<_> = reply
                        .headers()
                        .iter()
                        .filter(|(n, _)| *n == "webhook-allowed-origin")
                        .collect();
                    assert_eq!(granted.len(), 1);
                    assert!(granted[0].1 == origin || granted[0].1 == "*");
                    assert!(reply.headers().iter().any(|(n, _)| *n == "webhook-allowed-rate"));
                    assert!(reply.problem().is_none());
                } else {
                    assert!(matches!(status, 400 | 403), "status {status}");
                    let problem = reply.problem().expect("a refusal is a problem");
                    assert_eq!(problem.status(), status);
                    assert!(!problem.detail().is_empty());
                    assert!(
                        !reply.headers().iter().any(|(n, _)| n.starts_with("webhook-allowed")),
                        "a refusal grants"
                    );
                }
            }
            Decision::Callback(pending) => {
                let origin = single(&headers, "webhook-request-origin")
                    .expect("a callback answers an origin");
                assert!(policy.allows(origin), "callback for `{origin}`");
                let url = pending.url();
                let scheme = url.scheme_str().expect("a scheme");
                assert!(scheme == "https" || (*allow_http && scheme == "http"), "{url}");
                let authority = url.authority().expect("a host");
                assert!(!authority.as_str().contains('@'), "{url}");
                assert!(!authority.host().is_empty(), "{url}");
            }
            Decision::EventGridValidation => {
                assert_eq!(method, "POST");
                match policy.event_grid_validation(body) {
                    Ok(reply) => {
                        assert_eq!(reply.status(), 200);
                        let answer: serde_json::Value =
                            serde_json::from_slice(&reply.body()).expect("JSON answer");
                        assert!(answer["validationResponse"].is_string(), "{answer}");
                    }
                    Err(e) => hookgate_fuzz::check_rejection(&e, &[400]),
                }
            }
        }
    }
});
