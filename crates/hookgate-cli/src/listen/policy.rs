//! The library's policies from the settings: the one place `hookgate listen` builds
//! a route's `WebhookPolicy`, so that `config check` and `listen` agree.
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
use hookgate::webpubsub::WebPubSubPolicy;
use hookgate::{ConfigError, ParseConfig, WebhookPolicy};

use crate::config::{AuthSettings, ConfigProblem, RouteSettings, SenderKind, Settings};

fn problem(key: &'static str) -> impl Fn(ConfigError) -> ConfigProblem {
    move |e| ConfigProblem::new(key, e.to_string())
}

/// The validation handshake of a CloudEvents route: the Azure Event Grid origins
/// and the extra ones. A Trusted App route gets the same (the service makes no
/// handshake; the policy needs one) behind its authentication.
pub(crate) fn handshake(route: &RouteSettings) -> Result<HandshakePolicy, ConfigProblem> {
    let settings = &route.handshake;
    let mut policy = HandshakePolicy::builder().azure_event_grid();
    if settings.allow_origins.iter().any(|o| o == "*") {
        policy = policy.allow_any_origin();
    } else {
        policy = policy.allow_origins(settings.allow_origins.iter().cloned());
    }
    if let Some(rate) = settings.rate {
        policy = policy.rate(rate);
    }
    if settings.callback {
        policy = policy.callback(
            CallbackPolicy::builder()
                .build()
                .map_err(problem("callback"))?,
        );
    }
    policy.build().map_err(problem("allow_origin"))
}

/// Sender authentication, when any is configured.
pub(crate) fn auth(route: &RouteSettings) -> Result<Option<AuthPolicy>, ConfigProblem> {
    let settings = &route.auth;
    if !settings.any() {
        return Ok(None);
    }
    let mut policy = AuthPolicy::builder();
    if let Some(secrets) = shared_secrets(settings)? {
        policy = policy.shared_secrets(secrets);
    }
    if let Some(keys) = webpubsub_keys(settings)? {
        policy = policy.web_pubsub_keys(keys);
    }
    if let Some(authority) = &settings.aad_authority {
        let aad = AadPolicy::builder()
            .authority(authority.clone())
            .audiences(settings.aad_audiences.iter().cloned())
            .required_roles(settings.aad_roles.iter().cloned())
            .allowed_app_ids(settings.aad_app_ids.iter().cloned())
            .allowed_tenants(settings.aad_tenants.iter().cloned())
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
pub(crate) fn parse(route: &RouteSettings) -> Result<ParseConfig, ConfigProblem> {
    ParseConfig::builder()
        .body_limit(route.body_limit)
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

/// Checks every policy a route makes, without starting anything: `dedup` is the
/// process's policy (checked once, by the caller), for a route that deduplicates.
pub(crate) fn check(
    route: &RouteSettings,
    dedup: Option<&DedupPolicy>,
) -> Result<(), ConfigProblem> {
    webhook(route, route.dedup.as_ref().and(dedup).cloned())?;
    Ok(())
}

/// A route's whole receiver: handshake, authentication, parsing and
/// deduplication on `dedup` (none when the route does not deduplicate), as its
/// kind of sender needs. Its spans and metrics are the library's
/// (`hookgate::observe`), under the route's name.
pub(crate) fn webhook(
    route: &RouteSettings,
    dedup: Option<DedupPolicy>,
) -> Result<WebhookPolicy, ConfigProblem> {
    let name = route.name.as_str();
    match route.sender {
        SenderKind::CloudEvents => WebhookPolicy::builder()
            .name(name)
            .handshake(handshake(route)?)
            .auth(auth(route)?)
            .parse(parse(route)?)
            .dedup(dedup)
            .build()
            .map_err(problem("path")),
        SenderKind::WebPubSub => {
            let mut policy = WebPubSubPolicy::builder()
                .name(name)
                .keys(webpubsub_keys(&route.auth)?)
                .parse(parse(route)?)
                .dedup(dedup);
            for origin in &route.handshake.allow_origins {
                policy = match origin.as_str() {
                    "*" => policy.any_origin(),
                    host => policy.host(host),
                };
            }
            let policy = policy.build().map_err(problem("allow_origin"))?;
            Ok(policy.webhook().clone())
        }
        SenderKind::TrustedApp => WebhookPolicy::builder()
            .name(name)
            .handshake(handshake(route)?)
            .handshake_after_auth(true)
            .auth(auth(route)?)
            .parse(parse(route)?)
            .without_parsing()
            .build()
            .map_err(problem("path")),
    }
}
