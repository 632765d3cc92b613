//! The cache of verified tokens: SHA-256 of the token -> its claims, until the
//! earlier of the token's `exp` and a bound, at most a number of entries.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::AadClaims;

/// A verified token's claims.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) claims: AadClaims,
    pub(super) not_before: Option<u64>,
    /// How long the cache keeps it.
    ttl: Duration,
}

struct PerEntry;

impl moka::Expiry<[u8; 32], Arc<Entry>> for PerEntry {
    fn expire_after_create(
        &self,
        _key: &[u8; 32],
        value: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The cache; `None` inside when disabled (capacity 0).
pub(super) struct TokenCache {
    cache: Option<moka::sync::Cache<[u8; 32], Arc<Entry>>>,
    bound: Duration,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TokenCache");
        match &self.cache {
            Some(cache) => d
                .field("max_capacity", &cache.policy().max_capacity())
                .field("entries", &cache.entry_count()),
            None => d.field("enabled", &false),
        };
        d.field("bound", &self.bound).finish()
    }
}

impl TokenCache {
    pub(super) fn new(capacity: u64, bound: Duration) -> Self {
        let cache = (capacity > 0 && !bound.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                .expire_after(PerEntry)
                .build()
        });
        Self { cache, bound }
    }

    /// The key of `token`, when the cache is enabled.
    pub(super) fn key(&self, token: &str) -> Option<[u8; 32]> {
        self.cache
            .as_ref()
            .map(|_| Sha256::digest(token.as_bytes()).into())
    }

    pub(super) fn get(&self, key: &[u8; 32]) -> Option<Arc<Entry>> {
        self.cache.as_ref()?.get(key)
    }

    /// Keeps `claims` until the earlier of `exp` (by the wall clock, `now`) and the
    /// bound; a token that expires now is not kept.
    pub(super) fn insert(
        &self,
        key: [u8; 32],
        claims: AadClaims,
        not_before: Option<u64>,
        now: u64,
    ) {
        let Some(cache) = &self.cache else { return };
        let left = Duration::from_secs(claims.expires_at.saturating_sub(now));
        let ttl = left.min(self.bound);
        if ttl.is_zero() {
            return;
        }
        cache.insert(
            key,
            Arc::new(Entry {
                claims,
                not_before,
                ttl,
            }),
        );
    }

    pub(super) fn entry_count(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| {
            c.run_pending_tasks();
            c.entry_count()
        })
    }
}
