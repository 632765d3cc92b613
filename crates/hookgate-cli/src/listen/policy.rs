//! The library's policies from the settings: the one place `hookgate listen` builds
//! a `WebhookPolicy`, so that `config check` and `listen` agree.
//!
//! Deduplication is part of the `WebhookPolicy`: the layer claims the events
//! before the handler, answers a delivery of duplicates itself, and settles the
//! claims with the handler's answer (with `--per-event`, the events the handler
//! marked handled are completed and the others released).

use std::sync::Arc;

use hookgate::auth::aad::AadPolicy;
use hookgate::auth::{AuthPolicy, SharedSecrets, WebPubSubKeys};
use hookgate::dedup::{DedupPolicy, DedupStore};
use hookgate::handshake::{CallbackPolicy, HandshakePolicy};
use hookgate::{ConfigError, ParseConfig, WebhookPolicy};

use crate::config::{AuthSettings, ConfigProblem, Settings};

fn problem(key: &'static str) -> impl Fn(ConfigError) -> ConfigProblem {
    move |e| ConfigProblem::new(key, e.to_string())
}

/// The validation handshake: the Azure Event Grid origins and the extra ones.
pub(crate) fn handshake(s: &Settings) -> Result<HandshakePolicy, ConfigProblem> {
    let mut policy = HandshakePolicy::builder().azure_event_grid();
    if s.handshake.allow_origins.iter().any(|o| o == "*") {
        policy = policy.allow_any_origin();
    } else {
        policy = policy.allow_origins(s.handshake.allow_origins.iter().cloned());
    }
    if let Some(rate) = s.handshake.rate {
        policy = policy.rate(rate);
    }
    if s.handshake.callback {
        policy = policy.callback(
            CallbackPolicy::builder()
                .build()
                .map_err(problem("callback"))?,
        );
    }
    policy.build().map_err(problem("allow_origin"))
}

/// Sender authentication, when any is configured.
pub(crate) fn auth(s: &Settings) -> Result<Option<AuthPolicy>, ConfigProblem> {
    if !s.auth.any() {
        return Ok(None);
    }
    let mut policy = AuthPolicy::builder();
    if let Some(secrets) = shared_secrets(&s.auth)? {
        policy = policy.shared_secrets(secrets);
    }
    if let Some(keys) = webpubsub_keys(&s.auth)? {
        policy = policy.web_pubsub_keys(keys);
    }
    if let Some(authority) = &s.auth.aad_authority {
        let aad = AadPolicy::builder()
            .authority(authority.clone())
            .audiences(s.auth.aad_audiences.iter().cloned())
            .required_roles(s.auth.aad_roles.iter().cloned())
            .build()
            .map_err(problem("aad_authority"))?;
        policy = policy.aad(aad);
    }
    policy.build().map(Some).map_err(problem("code_file"))
}

/// The shared secrets (those without a label and the senders of `--code-dir`),
/// when any are configured; also what a reload puts in place.
pub(crate) fn shared_secrets(auth: &AuthSettings) -> Result<Option<SharedSecrets>, ConfigProblem> {
    let labeled = auth
        .senders
        .iter()
        .flat_map(|sender| sender.secrets.iter().map(|secret| (&sender.label, secret)));
    let secrets = match &auth.codes {
        Some(codes) => SharedSecrets::new(codes)
            .map_err(problem("code_file"))?
            .and_labeled(labeled)
            .map_err(problem("code_dir"))?,
        None if !auth.senders.is_empty() => {
            SharedSecrets::labeled(labeled).map_err(problem("code_dir"))?
        }
        None => return Ok(None),
    };
    match &auth.secret_header {
        Some(name) => secrets
            .with_header(name)
            .map(Some)
            .map_err(problem("secret_header")),
        None => Ok(Some(secrets)),
    }
}

/// The Web PubSub access keys, when configured; also what a reload puts in place.
pub(crate) fn webpubsub_keys(auth: &AuthSettings) -> Result<Option<WebPubSubKeys>, ConfigProblem> {
    auth.webpubsub_keys
        .as_ref()
        .map(|keys| WebPubSubKeys::new(keys.iter().cloned()).map_err(problem("webpubsub_key_file")))
        .transpose()
}

/// The parse limits.
pub(crate) fn parse(s: &Settings) -> Result<ParseConfig, ConfigProblem> {
    ParseConfig::builder()
        .body_limit(s.server.body_limit)
        .build()
        .map_err(problem("body_limit"))
}

/// Deduplication on `store` (in memory when `None`).
pub(crate) fn dedup(
    s: &Settings,
    store: Option<Arc<dyn DedupStore>>,
) -> Result<DedupPolicy, ConfigProblem> {
    let mut policy = DedupPolicy::builder()
        .lease(s.dedup.lease)
        .remember(s.dedup.remember)
        .unavailable_retry_after(s.server.retry_after);
    if let Some(store) = store {
        policy = policy.store(store);
    }
    policy.build().map_err(|e| {
        let key = if e.to_string().contains("remember") {
            "remember"
        } else {
            "lease"
        };
        ConfigProblem::new(key, e.to_string())
    })
}

/// Checks every policy the settings make, without starting anything.
pub(crate) fn check(s: &Settings) -> Result<(), ConfigProblem> {
    handshake(s)?;
    auth(s)?;
    parse(s)?;
    dedup(s, None)?;
    Ok(())
}

/// The whole receiver: handshake, authentication, parsing and deduplication on
/// `dedup`. Its spans and metrics are the library's (`hookgate::observe`), under
/// the route name `default`.
pub(crate) fn webhook(s: &Settings, dedup: DedupPolicy) -> Result<WebhookPolicy, ConfigProblem> {
    WebhookPolicy::builder()
        .name(ROUTE)
        .handshake(handshake(s)?)
        .auth(auth(s)?)
        .parse(parse(s)?)
        .dedup(dedup)
        .build()
        .map_err(problem("path"))
}

/// The name of the one route, in spans (`hookgate.route`) and metrics (`route`).
pub(crate) const ROUTE: &str = "default";
