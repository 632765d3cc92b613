//! Authentication of a request: shared secrets (`?code=`, `?access_token=`,
//! `Authorization: Bearer`, percent- and plus-encoded query strings) and Web PubSub
//! signatures (`ce-signature`, `ce-connectionId`, `WebHook-Request-Origin`) through
//! `AuthPolicy::authenticate`, with no Azure AD policy (so it never waits). A
//! refusal is a 401/403 problem; an accepted shared secret is one of the secrets.
//!
//! Input: the query string (first line; empty for none), header lines.
#![no_main]

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use hookgate_core::auth::{AuthPolicy, Identity, SharedSecrets, WebPubSubKeys};
use libfuzzer_sys::fuzz_target;

const SECRETS: [&str; 2] = ["s3cret-one", "s3cret two+%"];

fn policy() -> &'static AuthPolicy {
    static POLICY: std::sync::OnceLock<AuthPolicy> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        AuthPolicy::builder()
            .shared_secrets(SharedSecrets::new(SECRETS).expect("valid secrets"))
            .web_pubsub_keys(WebPubSubKeys::new(["primary-key"]).expect("valid keys"))
            .build()
            .expect("valid policy")
    })
}

fuzz_target!(|data: &[u8]| {
    let (query, head) = hookgate_fuzz::first_line(data);
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let query = (!query.is_empty()).then_some(query);
    let headers = hookgate_fuzz::headers(head);

    let future = pin!(policy().authenticate(query, &headers));
    let Poll::Ready(result) = future.poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("authentication without Azure AD waited");
    };
    match result {
        Err(e) => hookgate_fuzz::check_rejection(&e, &[401, 403]),
        Ok(Identity::SharedSecret { .. }) => {
            // One of the secrets was presented somewhere: in the query (decoded
            // or not) or the Authorization header.
            let decoded: String = query.map(form_decode).unwrap_or_default();
            let raw = format!(
                "{} {} {}",
                query.unwrap_or_default(),
                decoded,
                String::from_utf8_lossy(head)
            );
            assert!(SECRETS.iter().any(|s| raw.contains(s)), "accepted {raw:?}");
        }
        Ok(Identity::WebPubSub { .. }) => {}
        Ok(other) => panic!("unexpected identity {other:?}"),
    }
});

/// The query string with `+` as space and percent escapes decoded (lossily).
fn form_decode(query: &str) -> String {
    let plus = query.replace('+', " ");
    let bytes = plus.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
