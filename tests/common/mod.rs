//! Shared test support: the two apps, the request vectors, a local OIDC issuer and a
//! Redis server.

#![allow(dead_code, unreachable_pub)]

pub mod apps;
pub mod examples;
pub mod oidc;
pub mod redis;
pub mod vectors;

/// A whole-stack policy builder whose handshake grants the Azure Event Grid origins
/// (what most tests of the entry point start from).
pub fn event_grid_webhook() -> hookgate::webhook::WebhookPolicyBuilder {
    hookgate::WebhookPolicy::builder().handshake(
        hookgate::handshake::HandshakePolicy::builder()
            .azure_event_grid()
            .build()
            .unwrap(),
    )
}

/// A dedup store that is down: every call fails (`connection refused`).
#[derive(Debug)]
pub struct DownStore;

impl hookgate::dedup::DedupStore for DownStore {
    fn claim(
        &self,
        _: hookgate::dedup::DedupKey,
        _: std::time::Duration,
    ) -> hookgate::client::BoxFuture<Result<hookgate::dedup::Claim, hookgate::dedup::StoreError>>
    {
        Box::pin(async { Err(down()) })
    }
    fn complete(
        &self,
        _: hookgate::dedup::DedupKey,
        _: hookgate::dedup::ClaimToken,
        _: std::time::Duration,
    ) -> hookgate::client::BoxFuture<Result<(), hookgate::dedup::StoreError>> {
        Box::pin(async { Err(down()) })
    }
    fn release(
        &self,
        _: hookgate::dedup::DedupKey,
        _: hookgate::dedup::ClaimToken,
    ) -> hookgate::client::BoxFuture<Result<(), hookgate::dedup::StoreError>> {
        Box::pin(async { Err(down()) })
    }
}

fn down() -> hookgate::dedup::StoreError {
    hookgate::dedup::StoreError("connection refused".into())
}
