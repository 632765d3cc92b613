//! [`AadPolicy`]: a token validated in the order the [module docs](super) give.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use super::authority::check_issuer;
use super::cache::TokenCache;
use super::claims::{AadClaims, Authorization, RawClaims, check_time};
use super::jwks::{Counters, KeyCache};
use super::{AadPolicyBuilder, TARGET, token};
use crate::error::{Error, ErrorKind, excerpt};

/// Validates Azure AD access tokens; see the [module docs](super).
///
/// Cheap to clone: clones share the configuration, the signing-key cache and the
/// verified-token cache.
#[derive(Clone, Debug)]
pub struct AadPolicy(pub(super) Arc<Inner>);

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) audiences: Vec<String>,
    /// `None`: the issuer named by the discovery document.
    pub(super) issuers: Option<Vec<String>>,
    pub(super) authorization: Authorization,
    pub(super) skew: u64,
    pub(super) max_token_len: usize,
    pub(super) keys: KeyCache,
    pub(super) tokens: TokenCache,
    pub(super) counters: Arc<Counters>,
}

/// Counters of an [`AadPolicy`] (shared by its clones), for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AadStats {
    /// RS256 signatures checked (tokens not found in the verified-token cache that
    /// got as far as their signature).
    pub signature_checks: u64,
    /// Tokens found in the verified-token cache.
    pub token_cache_hits: u64,
    /// Tokens in the verified-token cache now.
    pub token_cache_entries: u64,
    /// Key fetches started (discovery document and JWKS).
    pub key_fetches: u64,
    /// Key fetches that failed.
    pub key_fetch_failures: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl AadPolicy {
    /// A builder; [`authority`](AadPolicyBuilder::authority) and at least one
    /// [`audience`](AadPolicyBuilder::audience) are required.
    pub fn builder() -> AadPolicyBuilder {
        AadPolicyBuilder::new()
    }

    /// Validates `token` (the part after `Bearer `) and answers its claims.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidCredentials`] for a token that is not valid (malformed,
    /// too large, another algorithm, a bad signature, an unknown key, expired, not
    /// yet valid, another audience or issuer), [`ErrorKind::Forbidden`] for a valid
    /// token that lacks a required role, tenant or application id, and
    /// [`ErrorKind::KeysUnavailable`] (with [`Error::retry_after`]) when the signing
    /// keys cannot be had.
    pub async fn validate(&self, token: &str) -> Result<AadClaims, Error> {
        let result = self.validate_inner(token).await;
        if let Err(e) = &result {
            tracing::debug!(
                target: TARGET,
                kind = ?e.kind(),
                detail = e.detail(),
                "Azure AD token refused"
            );
        }
        result
    }

    async fn validate_inner(&self, token: &str) -> Result<AadClaims, Error> {
        let inner = &*self.0;
        if token.len() > inner.max_token_len {
            return Err(Error::new(
                ErrorKind::InvalidCredentials,
                format!(
                    "the bearer token is {} bytes long, over the limit of {} bytes",
                    token.len(),
                    inner.max_token_len
                ),
            ));
        }
        let now = unix_now();
        let cache_key = inner.tokens.key(token);
        if let Some(entry) = cache_key.as_ref().and_then(|k| inner.tokens.get(k))
            && check_time(entry.claims.expires_at, entry.not_before, now, inner.skew).is_ok()
        {
            inner
                .counters
                .token_cache_hits
                .fetch_add(1, Ordering::Relaxed);
            inner.authorization.check(&entry.claims)?;
            return Ok(entry.claims.clone());
        }

        let parts = token::split(token)?;
        let header = token::header(&parts)?;
        let signature = token::b64(parts.signature, "signature")?;
        let keys = inner.keys.keys_for(&header.kid).await?;
        let Some(key) = keys.get(&header.kid) else {
            return Err(Error::new(
                ErrorKind::InvalidCredentials,
                format!("the signing key `{}` is not known", excerpt(&header.kid)),
            ));
        };
        inner
            .counters
            .signature_checks
            .fetch_add(1, Ordering::Relaxed);
        if !token::verify(parts.signed.as_bytes(), &signature, key) {
            return Err(Error::new(
                ErrorKind::InvalidCredentials,
                format!(
                    "the signature does not match the signing key `{}`",
                    excerpt(&header.kid)
                ),
            ));
        }
        let payload = token::b64(parts.payload, "payload")?;
        let checked = RawClaims::parse(&payload)?.check(&inner.audiences, now, inner.skew)?;
        let tid = checked.claims.tenant_id.as_deref();
        match (&inner.issuers, &keys.issuer) {
            (Some(issuers), _) => check_issuer(issuers, &checked.claims.issuer, tid)?,
            (None, Some(discovered)) => check_issuer(
                std::slice::from_ref(discovered),
                &checked.claims.issuer,
                tid,
            )?,
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::InvalidCredentials,
                    "the issuer cannot be checked: the discovery document names none",
                ));
            }
        }
        if let Some(key) = cache_key {
            inner
                .tokens
                .insert(key, checked.claims.clone(), checked.not_before, now);
        }
        inner.authorization.check(&checked.claims)?;
        Ok(checked.claims)
    }

    /// Fetches the signing keys now (or waits for the fetch that runs), whatever
    /// the timers say: at startup, so that the first request does not wait, or to
    /// check the configuration. Answers the number of usable keys.
    ///
    /// # Errors
    /// [`ErrorKind::KeysUnavailable`] when the discovery document or the JWKS cannot
    /// be fetched or holds no usable key; the detail says why.
    pub async fn fetch_keys(&self) -> Result<usize, Error> {
        self.0.keys.refresh().await
    }

    /// The counters of this policy (shared by its clones).
    #[must_use]
    pub fn stats(&self) -> AadStats {
        let c = &self.0.counters;
        AadStats {
            signature_checks: c.signature_checks.load(Ordering::Relaxed),
            token_cache_hits: c.token_cache_hits.load(Ordering::Relaxed),
            token_cache_entries: self.0.tokens.entry_count(),
            key_fetches: c.key_fetches.load(Ordering::Relaxed),
            key_fetch_failures: c.key_fetch_failures.load(Ordering::Relaxed),
        }
    }
}
