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
