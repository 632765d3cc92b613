//! SIGHUP: the secret files and the TLS pair, loaded again without a restart.
//!
//! Each route's `--code-file`, `--code-dir` and `--webpubsub-key-file` (or their
//! keys in its `[[route]]` table) are read again by the
//! rules of the start (the secret-file rule; a file that lists no secret, or a
//! directory with no sender, is an error, so that a volume caught half mounted
//! cannot switch authentication off). When every file reads, the new sets replace
//! the old ones at once (the library's `CredentialsHandle`: requests in flight are
//! not disturbed, the next one is checked against the new set); when one fails,
//! nothing is replaced and the log says why. `HOOKGATE_CODES` and
//! `HOOKGATE_WEBPUBSUB_KEYS` come from the environment, which a running process
//! cannot read again: the log says so at each SIGHUP. Azure AD settings are not
//! reloaded (its signing keys rotate by themselves).
//!
//! Each load shows in the log (the senders and how many secrets each has, never a
//! secret) and in `/metrics` (`hookgate_reloads_total`,
//! `hookgate_loaded_timestamp_seconds`, `hookgate_secrets`,
//! `hookgate_webpubsub_keys`).

use std::sync::{Arc, Mutex};

use hookgate::auth::CredentialsHandle;

use super::policy;
use super::tls::Certificates;
use crate::config::AuthSettings;

/// What SIGHUP loads again.
#[derive(Debug)]
pub(crate) struct Reloader {
    /// Each route's secrets: their sources and the sets in force.
    routes: Vec<RouteSecrets>,
    certificates: Option<Arc<Certificates>>,
}

/// One route's secrets.
#[derive(Debug)]
struct RouteSecrets {
    route: String,
    auth: Mutex<AuthSettings>,
    /// `None` without authentication.
    credentials: Option<CredentialsHandle>,
}

impl Reloader {
    /// Each route (its name), the sets of its `auth` in force in its
    /// `credentials` (recorded in `/metrics`).
    pub(crate) fn new(
        routes: Vec<(String, AuthSettings, Option<CredentialsHandle>)>,
        certificates: Option<Arc<Certificates>>,
    ) -> Self {
        let mut loaded = false;
        let routes = routes
            .into_iter()
            .map(|(route, auth, credentials)| {
                if credentials.is_some()
                    && (auth.codes.is_some()
                        || !auth.senders.is_empty()
                        || auth.webpubsub_keys.is_some())
                {
                    in_force(&route, &auth, None);
                    loaded = true;
                }
                RouteSecrets {
                    route,
                    auth: Mutex::new(auth),
                    credentials,
                }
            })
            .collect();
        if loaded {
            crate::metrics::reloaded("secrets", true);
        }
        Self {
            routes,
            certificates,
        }
    }

    /// Loads everything again (file reads: call it off the async workers).
    pub(crate) fn reload(&self, why: &'static str) {
        if let Some(certificates) = &self.certificates {
            certificates.reload(why);
        }
        for route in &self.routes {
            route.reload(why);
        }
    }
}

impl RouteSecrets {
    fn reload(&self, why: &'static str) {
        let Some(credentials) = &self.credentials else {
            return;
        };
        let route = self.route.as_str();
        let mut auth = self.auth.lock().unwrap_or_else(|e| e.into_inner());
        for var in auth.env_sources() {
            tracing::info!(
                reason = why,
                route,
                "{var} comes from the environment, which a running process cannot read \
                 again: restart hookgate to change it (or use a file)"
            );
        }
        if !auth.has_files() {
            return;
        }
        let mut warnings = Vec::new();
        let next = auth.reread(&mut warnings).and_then(|next| {
            Ok((
                policy::shared_secrets(&next)?,
                policy::webpubsub_keys(&next)?,
                next,
            ))
        });
        match next {
            Ok((secrets, keys, next)) => {
                for warning in warnings {
                    tracing::warn!("{warning}");
                }
                if next.code_file.is_some() || next.code_dir.is_some() {
                    credentials.replace_shared_secrets(secrets);
                }
                if next.webpubsub_key_file.is_some() {
                    credentials.replace_web_pubsub_keys(keys);
                }
                in_force(route, &next, Some(&auth));
                crate::metrics::reloaded("secrets", true);
                tracing::info!(
                    reason = why,
                    route,
                    unlabeled = next.codes.as_ref().map_or(0, Vec::len),
                    senders = %next.sender_list(),
                    webpubsub_keys = next.webpubsub_keys.as_ref().map_or(0, Vec::len),
                    "secrets loaded: the next requests are checked against them"
                );
                *auth = next;
            }
            Err(problem) => {
                crate::metrics::reloaded("secrets", false);
                let problem = match route {
                    crate::config::DEFAULT_ROUTE => problem,
                    name => problem.in_route(name),
                };
                tracing::warn!(
                    reason = why,
                    route,
                    "secrets not reloaded, the previous ones stay in force: {problem}"
                );
            }
        }
    }
}

/// The counts of `now` in `/metrics` (for `route`); the senders of `before` that
/// are gone, 0.
fn in_force(route: &str, now: &AuthSettings, before: Option<&AuthSettings>) {
    let gone: Vec<&str> = before
        .map(|b| {
            b.senders
                .iter()
                .map(|s| s.label.as_str())
                .filter(|label| !now.senders.iter().any(|s| s.label == *label))
                .collect()
        })
        .unwrap_or_default();
    let senders = now
        .codes
        .as_ref()
        .map(|codes| (None, codes.len()))
        .into_iter()
        .chain(
            now.senders
                .iter()
                .map(|s| (Some(s.label.as_str()), s.secrets.len())),
        );
    crate::metrics::secrets_in_force(
        route,
        senders,
        gone,
        now.webpubsub_keys.as_ref().map(Vec::len),
    );
}
