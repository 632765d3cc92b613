//! Configuration of the example receivers from the environment (shared by both).
//!
//! - `ALLOWED_ORIGINS`: a comma list of origins granted in the validation handshake,
//!   or `*` for any; default: the Azure Event Grid origins.
//! - `ALLOWED_RATE`: the rate granted, requests per minute or `*` (the default).
//! - `WEBHOOK_CODES`, `WEBPUBSUB_KEYS`, `AAD_AUTHORITY`, `AAD_AUDIENCES`, `AAD_ROLES`:
//!   authentication, see [`auth_policy`].
//! - `REDIS_URL`: deduplicate on Redis instead of in memory.
//!
//! [`webhook_policy`] puts them together into the one value both examples wrap their
//! app with.

use std::sync::Arc;
use std::time::Duration;

use hookgate::ConfigError;
use hookgate::WebhookPolicy;
use hookgate::auth::aad::AadPolicy;
use hookgate::auth::{AuthPolicy, SharedSecrets, WebPubSubKeys};
use hookgate::dedup::DedupPolicy;
use hookgate::handshake::{HandshakePolicy, Rate};
use hookgate::redis::RedisStore;

/// The handshake policy the environment asks for; exits with a message when it is
/// not valid.
fn handshake_policy() -> HandshakePolicy {
    let built = (|| {
        let mut policy = HandshakePolicy::builder();
        policy = match std::env::var("ALLOWED_ORIGINS") {
            Ok(list) if list.trim() == "*" => policy.allow_any_origin(),
            Ok(list) => policy.allow_origins(list.split(',').map(str::trim)),
            Err(_) => policy.azure_event_grid(),
        };
        if let Ok(rate) = std::env::var("ALLOWED_RATE") {
            policy = policy.rate(Rate::parse(&rate)?);
        }
        policy.build()
    })();
    built.unwrap_or_else(|e| {
        eprintln!("error: {e} (check ALLOWED_ORIGINS and ALLOWED_RATE)");
        std::process::exit(2)
    })
}

/// The authentication policy the environment asks for, if any:
///
/// - `WEBHOOK_CODES`: comma list of shared secrets (`?code=`, `?access_token=`,
///   `Authorization: Bearer`);
/// - `WEBPUBSUB_KEYS`: comma list of Web PubSub access keys (`ce-signature`);
/// - `AAD_AUTHORITY` (a tenant id, `organizations`, `common` or an authority URL),
///   `AAD_AUDIENCES` (comma list) and optionally `AAD_ROLES` (comma list): Azure AD
///   bearer tokens.
///
/// Exits with a message when the configuration is not valid, or a variable is set
/// but blank (`WEBHOOK_CODES=`, `WEBPUBSUB_KEYS=,`: a secret that was not injected
/// must not switch authentication off).
fn auth_policy() -> Option<AuthPolicy> {
    let list = |name: &str| -> Option<Vec<String>> {
        let value = std::env::var(name).ok()?;
        let items: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if items.is_empty() {
            // Set but blank (a secret that was not injected): authentication must not
            // be switched off without a word.
            eprintln!("error: {name} is set but lists nothing; unset it or give a value");
            std::process::exit(2)
        }
        Some(items)
    };
    let built = (|| -> Result<Option<AuthPolicy>, ConfigError> {
        let mut policy = AuthPolicy::builder();
        let mut any = false;
        if let Some(codes) = list("WEBHOOK_CODES") {
            policy = policy.shared_secrets(SharedSecrets::new(codes)?);
            any = true;
        }
        if let Some(keys) = list("WEBPUBSUB_KEYS") {
            policy = policy.web_pubsub_keys(WebPubSubKeys::new(keys)?);
            any = true;
        }
        if let Some(aad) = aad_policy(&list)? {
            policy = policy.aad(aad);
            any = true;
        }
        if any {
            policy.build().map(Some)
        } else {
            Ok(None)
        }
    })();
    built.unwrap_or_else(|e| {
        eprintln!(
            "error: {e} (check WEBHOOK_CODES, WEBPUBSUB_KEYS, AAD_AUTHORITY, AAD_AUDIENCES, AAD_ROLES)"
        );
        std::process::exit(2)
    })
}

/// The Azure AD policy from `AAD_AUTHORITY`, `AAD_AUDIENCES` and `AAD_ROLES`.
fn aad_policy(
    list: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Result<Option<AadPolicy>, ConfigError> {
    let Ok(authority) = std::env::var("AAD_AUTHORITY") else {
        return Ok(None);
    };
    AadPolicy::builder()
        .authority(authority)
        .audiences(list("AAD_AUDIENCES").unwrap_or_default())
        .required_roles(list("AAD_ROLES").unwrap_or_default())
        .build()
        .map(Some)
}

/// The deduplication policy: in memory (this process only) by default, on Redis when
/// `REDIS_URL` is set. Exits with a message when Redis cannot be reached.
async fn dedup_policy() -> DedupPolicy {
    let mut policy = DedupPolicy::builder();
    if let Ok(url) = std::env::var("REDIS_URL") {
        match RedisStore::connect(&url).await {
            Ok(store) => policy = policy.store(Arc::new(store)),
            Err(e) => {
                eprintln!("error: cannot use REDIS_URL: {e}");
                std::process::exit(2)
            }
        }
    }
    policy.build().unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    })
}

/// The whole receiver: handshake, authentication (when configured), parsing and
/// deduplication, with one line on stderr for every rejected request.
pub(crate) async fn webhook_policy() -> WebhookPolicy {
    WebhookPolicy::builder()
        .handshake(handshake_policy())
        .auth(auth_policy())
        .dedup(dedup_policy().await)
        .on_rejection(|rejection| {
            let problem = rejection.problem();
            eprintln!(
                "warning: rejected request: {} {}: {}",
                problem.status(),
                problem.title(),
                problem.detail()
            );
        })
        .build()
        .unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        })
}

/// How long the requests in flight may take to finish after a stop signal.
pub(crate) const GRACE: Duration = Duration::from_secs(10);

/// After the server stopped: releases the dedup claims of the deliveries that did
/// not finish in the grace period, so that their retries are handled at once.
pub(crate) async fn release_unfinished(webhook: &WebhookPolicy) {
    match webhook.shutdown().await {
        0 => eprintln!("stopped"),
        n => eprintln!("stopped; released the claims of {n} unfinished event(s)"),
    }
}
