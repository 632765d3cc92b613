//! What the two Trusted Application API receivers (`trusted_app_axum`,
//! `trusted_app_actix`) share: configuration from the environment, the callback
//! counter, and the output.
//!
//! - `BIND_ADDR`: where to listen (default `127.0.0.1:8080`).
//! - `AAD_AUTHORITY` (a tenant id, `organizations`, `common` or an authority URL),
//!   `AAD_AUDIENCES` (comma list: the application's App ID URI) and optionally
//!   `AAD_ROLES` (comma list): Azure AD bearer tokens, as the service sends them.
//! - `WEBHOOK_CODES`: comma list of shared secrets (`?code=`, `?access_token=`,
//!   `Authorization: Bearer`), for trying the receiver with `curl`.
//!
//! One of the two is required: a callback receiver that accepts anyone is refused
//! at startup (exit code 2), as is a variable set but blank.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use hookgate::ConfigError;
use hookgate::auth::aad::AadPolicy;
use hookgate::auth::{AuthPolicy, SharedSecrets};
use hookgate::trusted_app::UcwaEnvelope;

/// Exits with a message and code 2 (a configuration error).
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// The comma list in variable `name`, if set; exits when it is set but blank.
fn list(name: &str) -> Option<Vec<String>> {
    let value = std::env::var(name).ok()?;
    let items: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if items.is_empty() {
        fail(&format!(
            "{name} is set but lists nothing; unset it or give a value"
        ));
    }
    Some(items)
}

/// The authentication the environment asks for: Azure AD tokens, shared secrets,
/// or both. Exits when neither is configured or the configuration is not valid.
pub(crate) fn auth_policy() -> AuthPolicy {
    let built = (|| -> Result<Option<AuthPolicy>, ConfigError> {
        let mut policy = AuthPolicy::builder();
        let mut any = false;
        if let Some(codes) = list("WEBHOOK_CODES") {
            policy = policy.shared_secrets(SharedSecrets::new(codes)?);
            any = true;
        }
        if let Ok(authority) = std::env::var("AAD_AUTHORITY") {
            let aad = AadPolicy::builder()
                .authority(authority)
                .audiences(list("AAD_AUDIENCES").unwrap_or_default())
                .required_roles(list("AAD_ROLES").unwrap_or_default())
                .build()?;
            policy = policy.aad(aad);
            any = true;
        }
        if any {
            policy.build().map(Some)
        } else {
            Ok(None)
        }
    })();
    match built {
        Ok(Some(policy)) => policy,
        Ok(None) => fail(
            "no authentication configured: set AAD_AUTHORITY and AAD_AUDIENCES (the App ID \
             URI), or WEBHOOK_CODES",
        ),
        Err(e) => fail(&format!(
            "{e} (check WEBHOOK_CODES, AAD_AUTHORITY, AAD_AUDIENCES, AAD_ROLES)"
        )),
    }
}

/// Where to listen.
pub(crate) fn bind_addr() -> String {
    std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned())
}

/// The authenticated callbacks this process accepted.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Counts one more callback and gives its number (1, 2, …).
    pub(crate) fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// The JSON line printed for a callback.
#[derive(serde::Serialize)]
struct Line<'a> {
    #[serde(rename = "callbackContext")]
    callback_context: Option<&'a str>,
    event: &'a UcwaEnvelope,
}

/// Prints one accepted callback: a JSON line on stdout, and what happened, per
/// event, on stderr.
pub(crate) fn print_callback(context: Option<&str>, envelope: &UcwaEnvelope) {
    let mut out = std::io::stdout().lock();
    // Written straight to stdout: a `serde_json::json!` value of the envelope would
    // copy every member a sender put in it into a tree of `Value`s (about 20 times
    // the body), where writing costs nothing beyond the envelope held.
    let line = Line {
        callback_context: context,
        event: envelope,
    };
    // A closed stdout must not take the receiver down with it.
    let _ = serde_json::to_writer(&mut out, &line)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    for (sender, event) in envelope.events() {
        eprintln!(
            "callback: {} {} {}{}",
            sender.rel,
            event.event_type,
            event.link.rel.as_deref().unwrap_or("-"),
            event
                .status
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
    }
}
