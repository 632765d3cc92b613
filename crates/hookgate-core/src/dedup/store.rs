//! The store trait: an atomic claim of `(source, id)`, then complete or release.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::client::BoxFuture;

/// The compact key of an event: the first 128 bits of SHA-256 over the length of
/// `source`, `source` and `id`.
///
/// The length prefix keeps `("ab", "c")` and `("a", "bc")` apart. With 128 bits,
/// the chance that any two of a billion remembered events collide is about
/// 1.5 × 10⁻²¹ (birthday bound n²/2¹²⁹), and an attacker cannot aim for a
/// collision without breaking SHA-256.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DedupKey(u128);

impl DedupKey {
    /// The key of the event with `source` and `id`.
    #[must_use]
    pub fn new(source: &str, id: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update((source.len() as u64).to_le_bytes());
        hash.update(source.as_bytes());
        hash.update(id.as_bytes());
        let digest = hash.finalize();
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        Self(u128::from_be_bytes(first))
    }

    /// The key as a number.
    #[must_use]
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// The key as 32 lowercase hex digits (for a store's key names).
    #[must_use]
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

impl fmt::Debug for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DedupKey({:032x})", self.0)
    }
}

/// Identifies one claim: only its holder may complete or release it. Random, so
/// that tokens of different processes sharing one store do not meet.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClaimToken(u128);

impl ClaimToken {
    /// A fresh token, never zero.
    #[must_use]
    pub fn generate() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Each RandomState is seeded from the OS's randomness (and then varied per
        // instance); hashing a counter gives unpredictable, distinct halves.
        let half = |salt: u64| {
            let mut h = RandomState::new().build_hasher();
            h.write_u64(n);
            h.write_u64(salt);
            h.finish()
        };
        let token = (u128::from(half(1)) << 64) | u128::from(half(2));
        Self(token.max(1))
    }

    /// The token from a number (a store reading it back).
    #[must_use]
    pub fn from_u128(value: u128) -> Self {
        Self(value)
    }

    /// The token as a number.
    #[must_use]
    pub fn as_u128(self) -> u128 {
        self.0
    }
}

/// The answer to a claim.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Claim {
    /// Not seen (or released, or its lease ran out): claimed for this token until
    /// the lease ends.
    New(ClaimToken),
    /// Another delivery holds a live claim on it.
    InFlight,
    /// Handled already, within the remember window.
    Done,
}

/// The store cannot be reached or answered nonsense.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("dedup store: {0}")]
pub struct StoreError(pub String);

/// Where deduplication state lives: in memory ([`MemoryStore`](super::MemoryStore))
/// or shared by several replicas (Redis, in `hookgate-redis`).
///
/// Implementations must make [`claim`](Self::claim) atomic: of concurrent claims of
/// one key, exactly one is `New`. `release` acts only when `token` still holds the
/// claim, and `complete` only when it does or when the key is free (the lease ran
/// out and nobody claimed it since), so a holder whose lease ran out and was
/// re-claimed by another delivery cannot undo the new claim.
pub trait DedupStore: fmt::Debug + Send + Sync + 'static {
    /// Claims `key` for `lease`.
    fn claim(&self, key: DedupKey, lease: Duration) -> BoxFuture<Result<Claim, StoreError>>;

    /// Marks `key` as done for `remember`, if `token` holds its claim or the key is
    /// free.
    fn complete(
        &self,
        key: DedupKey,
        token: ClaimToken,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>>;

    /// Forgets the claim of `key`, if `token` holds it, so that a retry is handled.
    fn release(&self, key: DedupKey, token: ClaimToken) -> BoxFuture<Result<(), StoreError>>;

    /// Claims several keys (a batch); the default claims them one by one, a store
    /// may do it in one round trip.
    fn claim_all(
        &self,
        keys: Vec<DedupKey>,
        lease: Duration,
    ) -> BoxFuture<Result<Vec<Claim>, StoreError>> {
        let claims: Vec<_> = keys.into_iter().map(|k| self.claim(k, lease)).collect();
        Box::pin(async move {
            let mut out = Vec::with_capacity(claims.len());
            for claim in claims {
                out.push(claim.await?);
            }
            Ok(out)
        })
    }

    /// Completes several claims; the default completes them one by one.
    fn complete_all(
        &self,
        claims: Vec<(DedupKey, ClaimToken)>,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>> {
        let futures: Vec<_> = claims
            .into_iter()
            .map(|(k, t)| self.complete(k, t, remember))
            .collect();
        Box::pin(async move {
            for f in futures {
                f.await?;
            }
            Ok(())
        })
    }

    /// Releases several claims; the default releases them one by one.
    fn release_all(
        &self,
        claims: Vec<(DedupKey, ClaimToken)>,
    ) -> BoxFuture<Result<(), StoreError>> {
        let futures: Vec<_> = claims
            .into_iter()
            .map(|(k, t)| self.release(k, t))
            .collect();
        Box::pin(async move {
            for f in futures {
                f.await?;
            }
            Ok(())
        })
    }
}
