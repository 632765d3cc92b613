//! The signing keys: OIDC discovery, the JWKS, and their cache.
//!
//! One [`KeyCache`] per policy holds the last key set that was fetched and, while a
//! fetch runs, that fetch as a shared future that any number of requests join. A
//! `std::sync::Mutex` guards only the decisions (which set, start or join a fetch)
//! and is never held across an `.await`; the fetch itself runs without it (in a
//! spawned task when there is a tokio runtime, so that a request that gives up
//! does not cancel it).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use futures_util::future::Shared;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;
use url::Url;

use super::authority::check_fetch_url;
use crate::client::{BoxFuture, HttpClient, OutboundMethod, OutboundRequest, Uri};
use crate::error::{Error, ErrorKind, excerpt};

/// The tracing target of every event here.
const TARGET: &str = "hookgate::auth";

/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Counters shared by the parts of a policy (see [`AadStats`](super::AadStats)).
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) signature_checks: AtomicU64,
    pub(super) token_cache_hits: AtomicU64,
    pub(super) key_fetches: AtomicU64,
    pub(super) key_fetch_failures: AtomicU64,
}

/// How the keys are fetched.
#[derive(Debug)]
pub(super) struct KeySource {
    pub(super) client: Arc<dyn HttpClient>,
    pub(super) discovery_url: Url,
    /// The discovery document must name its issuer (a custom authority).
    pub(super) require_issuer: bool,
    pub(super) connect_timeout: Duration,
    pub(super) timeout: Duration,
    pub(super) body_limit: usize,
    pub(super) counters: Arc<Counters>,
}

/// When keys are refreshed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timing {
    /// Keys older than this are refreshed before use (stale ones still serve when
    /// that fails).
    pub(super) ttl: Duration,
    /// Keys older than this are refreshed in the background.
    pub(super) refresh_ahead: Duration,
    /// At most one fetch for unknown `kid`s per this interval.
    pub(super) kid_refetch_interval: Duration,
    /// No new fetch within this time after a failed one.
    pub(super) retry_interval: Duration,
}

/// One fetched key set.
pub(super) struct KeySet {
    keys: HashMap<String, DecodingKey>,
    /// The `issuer` of the discovery document.
    pub(super) issuer: Option<String>,
    fetched_at: Instant,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("KeySet")
            .field("kids", &kids)
            .field("issuer", &self.issuer)
            .field("fetched_at", &self.fetched_at)
            .finish()
    }
}

impl KeySet {
    pub(super) fn get(&self, kid: &str) -> Option<&DecodingKey> {
        self.keys.get(kid)
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// Why a fetch failed (cheap to clone: every joiner gets it).
#[derive(Clone, Debug)]
struct FetchFailure(Arc<str>);

type FetchOutput = Result<Arc<KeySet>, FetchFailure>;
type Fetch = Shared<BoxFuture<FetchOutput>>;

#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    inflight: Option<Fetch>,
    last_failure: Option<Instant>,
    last_kid_refetch: Option<Instant>,
}

struct Inner {
    source: Arc<KeySource>,
    timing: Timing,
    state: Mutex<State>,
}

/// The key cache of a policy.
pub(super) struct KeyCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.lock();
        f.debug_struct("KeyCache")
            .field("discovery_url", &self.inner.source.discovery_url.as_str())
            .field("timing", &self.inner.timing)
            .field("keys", &state.keys)
            .field("fetching", &state.inflight.is_some())
            .finish()
    }
}

/// What a caller does after looking at the state.
enum Plan {
    Ready(Arc<KeySet>),
    Join {
        fetch: Fetch,
        stale: Option<Arc<KeySet>>,
    },
    Reject(Error),
}

/// Seconds for `Retry-After`: at least 1.
fn retry_secs(d: Duration) -> u32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
}

fn unavailable(detail: String, retry: Duration) -> Error {
    Error::new(ErrorKind::KeysUnavailable, detail).with_retry_after(retry_secs(retry))
}

fn unknown_kid(kid: &str, set: &KeySet) -> Error {
    Error::new(
        ErrorKind::InvalidCredentials,
        format!(
            "the signing key `{}` is not among the {} keys the issuer publishes",
            excerpt(kid),
            set.len()
        ),
    )
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is a
        // single assignment.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts a fetch (the caller holds the lock and has checked that none runs).
    fn start(self: &Arc<Self>, state: &mut State) -> Fetch {
        let source = Arc::clone(&self.source);
        let weak: Weak<Self> = Arc::downgrade(self);
        let fetch = async move {
            let result = source.fetch().await;
            let output = match result {
                Ok(set) => Ok(Arc::new(set)),
                Err(e) => Err(FetchFailure(e.into())),
            };
            if let Some(inner) = weak.upgrade() {
                inner.finish(&output);
            }
            output
        }
        .boxed()
        .shared();
        state.inflight = Some(fetch.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            // Driven to the end even if every request waiting for it goes away.
            drop(runtime.spawn(fetch.clone()));
        }
        fetch
    }

    fn finish(&self, output: &FetchOutput) {
        let mut state = self.lock();
        state.inflight = None;
        match output {
            Ok(set) => {
                tracing::info!(
                    target: TARGET,
                    keys = set.len(),
                    discovery = %self.source.discovery_url,
                    "fetched the Azure AD signing keys"
                );
                state.keys = Some(Arc::clone(set));
                state.last_failure = None;
            }
            Err(FetchFailure(e)) => {
                state.last_failure = Some(Instant::now());
                let stale = state.keys.as_ref().map_or(0, |k| k.len());
                tracing::warn!(
                    target: TARGET,
                    error = %e,
                    stale_keys_kept = stale,
                    retry_in = ?self.timing.retry_interval,
                    "cannot fetch the Azure AD signing keys"
                );
            }
        }
    }

    fn plan(self: &Arc<Self>, kid: &str) -> Plan {
        let now = Instant::now();
        let timing = self.timing;
        let mut state = self.lock();
        let backoff = state
            .last_failure
            .map(|t| now.saturating_duration_since(t))
            .filter(|since| *since < timing.retry_interval)
            .map(|since| timing.retry_interval - since);
        match state.keys.clone() {
            Some(set) if set.get(kid).is_some() => {
                let age = now.saturating_duration_since(set.fetched_at);
                if age >= timing.ttl {
                    if let Some(fetch) = &state.inflight {
                        return Plan::Join {
                            fetch: fetch.clone(),
                            stale: Some(set),
                        };
                    }
                    if backoff.is_some() {
                        // The issuer failed a moment ago: serve the stale keys.
                        return Plan::Ready(set);
                    }
                    tracing::debug!(target: TARGET, age = ?age, "the signing keys expired; refreshing");
                    let fetch = self.start(&mut state);
                    return Plan::Join {
                        fetch,
                        stale: Some(set),
                    };
                }
                if age >= timing.refresh_ahead
                    && state.inflight.is_none()
                    && backoff.is_none()
                    && tokio::runtime::Handle::try_current().is_ok()
                {
                    tracing::debug!(target: TARGET, age = ?age, "refreshing the signing keys in the background");
                    drop(self.start(&mut state));
                }
                Plan::Ready(set)
            }
            Some(set) => {
                if let Some(fetch) = &state.inflight {
                    return Plan::Join {
                        fetch: fetch.clone(),
                        stale: Some(set),
                    };
                }
                if let Some(wait) = backoff {
                    return Plan::Reject(unavailable(
                        format!(
                            "the signing key `{}` is not known and the keys cannot be fetched \
                             right now",
                            excerpt(kid)
                        ),
                        wait,
                    ));
                }
                let recent = state.last_kid_refetch.is_some_and(|t| {
                    now.saturating_duration_since(t) < timing.kid_refetch_interval
                });
                if recent {
                    return Plan::Reject(unknown_kid(kid, &set));
                }
                tracing::debug!(target: TARGET, kid = %excerpt(kid), "unknown signing key; fetching the keys again");
                state.last_kid_refetch = Some(now);
                let fetch = self.start(&mut state);
                Plan::Join {
                    fetch,
                    stale: Some(set),
                }
            }
            None => {
                if let Some(fetch) = &state.inflight {
                    return Plan::Join {
                        fetch: fetch.clone(),
                        stale: None,
                    };
                }
                if let Some(wait) = backoff {
                    return Plan::Reject(unavailable(
                        "no signing keys: the last fetch failed; retry later".to_owned(),
                        wait,
                    ));
                }
                Plan::Join {
                    fetch: self.start(&mut state),
                    stale: None,
                }
            }
        }
    }
}

impl KeyCache {
    pub(super) fn new(source: KeySource, timing: Timing) -> Self {
        Self {
            inner: Arc::new(Inner {
                source: Arc::new(source),
                timing,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The key set that holds `kid`, fetching when needed (see the module docs of
    /// `aad` for when).
    pub(super) async fn keys_for(&self, kid: &str) -> Result<Arc<KeySet>, Error> {
        let (fetch, stale) = match self.inner.plan(kid) {
            Plan::Ready(set) => return Ok(set),
            Plan::Reject(e) => return Err(e),
            Plan::Join { fetch, stale } => (fetch, stale),
        };
        match fetch.await {
            Ok(set) if set.get(kid).is_some() => Ok(set),
            Ok(set) => Err(unknown_kid(kid, &set)),
            Err(FetchFailure(e)) => match stale {
                Some(stale) if stale.get(kid).is_some() => Ok(stale),
                _ => {
                    // The issuer's URL and its error are for the operator's log; the
                    // (unauthenticated) caller learns only that keys are unavailable.
                    tracing::warn!(target: TARGET, error = %e, "signing keys cannot be fetched; answering 503");
                    Err(unavailable(
                        "the signing keys cannot be fetched right now; retry later".to_owned(),
                        self.inner.timing.retry_interval,
                    ))
                }
            },
        }
    }

    /// Fetches now (or joins the fetch that runs), whatever the timers say.
    pub(super) async fn refresh(&self) -> Result<usize, Error> {
        let fetch = {
            let mut state = self.inner.lock();
            match &state.inflight {
                Some(fetch) => fetch.clone(),
                None => self.inner.start(&mut state),
            }
        };
        match fetch.await {
            Ok(set) => Ok(set.len()),
            Err(FetchFailure(e)) => Err(unavailable(
                format!("the signing keys cannot be fetched: {e}"),
                self.inner.timing.retry_interval,
            )),
        }
    }
}

#[derive(Deserialize)]
struct Discovery {
    #[serde(default)]
    issuer: Option<String>,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

/// The number of significant bits of a big-endian unsigned integer.
fn bit_len(bytes: &[u8]) -> usize {
    let bytes = match bytes.iter().position(|b| *b != 0) {
        Some(first) => &bytes[first..],
        None => return 0,
    };
    (bytes.len() - 1) * 8 + (8 - bytes[0].leading_zeros() as usize)
}

/// An RSA signing key from a JWK, or why it is not one.
fn rsa_key(jwk: &Jwk) -> Result<(String, DecodingKey), String> {
    if jwk.kty != "RSA" {
        return Err(format!("key type `{}`", jwk.kty));
    }
    if let Some(u) = jwk.use_.as_deref().filter(|u| *u != "sig") {
        return Err(format!("use `{u}`"));
    }
    if let Some(alg) = jwk.alg.as_deref().filter(|a| *a != super::token::ALGORITHM) {
        return Err(format!("alg `{alg}`"));
    }
    let kid = jwk.kid.clone().filter(|k| !k.is_empty()).ok_or("no kid")?;
    let (Some(n), Some(e)) = (&jwk.n, &jwk.e) else {
        return Err("no `n` or `e`".to_owned());
    };
    let bits = super::token::b64(n, "key")
        .map(|n| bit_len(&n))
        .map_err(|_| "`n` is not base64url".to_owned())?;
    if bits < MIN_RSA_BITS {
        return Err(format!("{bits}-bit modulus"));
    }
    let key = DecodingKey::from_rsa_components(n, e).map_err(|e| e.to_string())?;
    Ok((kid, key))
}

impl KeySource {
    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &Url) -> Result<T, String> {
        check_fetch_url(url)?;
        let uri = Uri::try_from(url.as_str()).map_err(|e| format!("GET {url}: {e}"))?;
        let mut request = OutboundRequest::new(OutboundMethod::Get, uri);
        request.connect_timeout = self.connect_timeout;
        request.timeout = self.timeout;
        request.body_limit = self.body_limit;
        tracing::debug!(target: TARGET, %url, "fetching");
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if response.status != 200 {
            return Err(format!("GET {url}: HTTP status {}", response.status));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| format!("GET {url}: not the expected JSON ({e})"))
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        self.counters.key_fetches.fetch_add(1, Ordering::Relaxed);
        let result = self.fetch_inner().await;
        if result.is_err() {
            self.counters
                .key_fetch_failures
                .fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn fetch_inner(&self) -> Result<KeySet, String> {
        let discovery: Discovery = self.get_json(&self.discovery_url).await?;
        if self.require_issuer && discovery.issuer.as_deref().is_none_or(str::is_empty) {
            return Err(format!(
                "the OpenID configuration at {} names no `issuer`",
                self.discovery_url
            ));
        }
        let jwks_uri = Url::parse(&discovery.jwks_uri).map_err(|e| {
            format!(
                "the OpenID configuration at {} has an invalid `jwks_uri`: {e}",
                self.discovery_url
            )
        })?;
        let jwks: Jwks = self.get_json(&jwks_uri).await?;
        let mut keys = HashMap::with_capacity(jwks.keys.len());
        for value in &jwks.keys {
            match Jwk::deserialize(value)
                .map_err(|e| e.to_string())
                .and_then(|jwk| rsa_key(&jwk))
            {
                Ok((kid, key)) => {
                    keys.entry(kid).or_insert(key);
                }
                Err(why) => {
                    tracing::debug!(target: TARGET, %jwks_uri, why = %why, "skipping a key of the JWKS");
                }
            }
        }
        if keys.is_empty() {
            return Err(format!(
                "the JWKS at {jwks_uri} has no usable key (RSA, `use` sig, {} bits or more)",
                MIN_RSA_BITS
            ));
        }
        Ok(KeySet {
            keys,
            issuer: discovery.issuer,
            fetched_at: Instant::now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[0, 1]), 1);
        assert_eq!(bit_len(&[0x80, 0]), 16);
        assert_eq!(bit_len(&[0, 0x7f, 0]), 15);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_secs(Duration::ZERO), 1);
        assert_eq!(retry_secs(Duration::from_millis(1500)), 2);
        assert_eq!(retry_secs(Duration::from_secs(30)), 30);
    }

    #[test]
    fn jwk_filtering() {
        let jwk = |json: &str| serde_json::from_str::<Jwk>(json).unwrap();
        let n = super::super::token::SELF_CHECK_N;
        let ok = format!(r#"{{"kty":"RSA","use":"sig","kid":"k","n":"{n}","e":"AQAB"}}"#);
        assert_eq!(rsa_key(&jwk(&ok)).unwrap().0, "k");
        let no_use = format!(r#"{{"kty":"RSA","kid":"k","n":"{n}","e":"AQAB","alg":"RS256"}}"#);
        assert!(rsa_key(&jwk(&no_use)).is_ok());
        for (json, why) in [
            (r#"{"kty":"EC","kid":"k"}"#.to_owned(), "key type"),
            (ok.replace("\"sig\"", "\"enc\""), "use `enc`"),
            (no_use.replace("RS256", "RS512"), "alg `RS512`"),
            (ok.replace(r#""kid":"k","#, ""), "no kid"),
            (
                format!(
                    r#"{{"kty":"RSA","kid":"k","n":"{}","e":"AQAB"}}"#,
                    &n[..172]
                ),
                "-bit modulus",
            ),
        ] {
            let err = rsa_key(&jwk(&json)).unwrap_err();
            assert!(err.contains(why), "{json}: {err}");
        }
    }
}
