//! The store trait: an atomic claim of `(source, id)`, then complete or release.

use std::cell::{Cell, RefCell};
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher as _;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::client::BoxFuture;

/// The compact key of an event: the first 128 bits of SHA-256 over the length of
/// `source`, `source`, zeros up to a multiple of 64 bytes, and `id` (and, for
/// [`scoped`](Self::scoped), the scope before the source).
///
/// The length prefix keeps `("ab", "c")` and `("a", "bc")` apart (the number of
/// zeros follows from the lengths). With 128 bits, the chance that any two of a
/// billion remembered events collide is about 1.5 × 10⁻²¹ (birthday bound
/// n²/2¹²⁹), and an attacker cannot aim for a collision without breaking SHA-256: a
/// sender who chooses `source` and `id` cannot make another event look like a
/// duplicate. The key is the same in every process (the Redis store shares it
/// between replicas). A store that only its process reads (the in-memory one:
/// [`DedupStore::process_local`]) is given [`local`](Self::local) keys instead, a
/// keyed hash several times cheaper.
///
/// SHA-256 because it is collision-resistant, already a dependency, and the fastest
/// such hash here for short inputs: `sha2` uses the CPU's SHA extensions when it
/// has them (detected at run time), about 60 ns per 64-byte block on a current
/// x86-64 server, where BLAKE3 took longer for inputs of this size (one chunk, no
/// parallelism to exploit). To hash no more than it must, each thread keeps the
/// hash state after the `(scope, source)` prefix of the last few sources it saw;
/// the zeros end the prefix on a block boundary, so an event from one of them
/// hashes one block when its `id` has up to 55 bytes (a UUID has 36), whatever the
/// source's length. The key does not depend on the cache.
///
/// The zeros are new in the version that added [`scoped`](Self::scoped): keys (and
/// so Redis key names) of earlier versions differ, and a Redis store shared across
/// that upgrade handles an event claimed before it once more if it is delivered
/// again (a duplicate, never a loss).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DedupKey(u128);

/// How many `(scope, source)` prefixes each thread keeps (see [`DedupKey`]).
const PREFIXES: usize = 8;

/// SHA-256's block.
const BLOCK: usize = 64;

/// Longer `(scope, source)` pairs are hashed without being kept.
const LONGEST_PREFIX: usize = 1024;

/// Marks the length word of a scoped key, so that no scoped key's input is also an
/// unscoped key's input (a source is never 2⁶³ bytes long).
const SCOPED: u64 = 1 << 63;

/// The hash state after one `(scope, source)` prefix.
struct Prefix {
    scope_len: usize,
    /// `scope` then `source`.
    text: Vec<u8>,
    state: Sha256,
}

/// The prefixes this thread saw last, replaced in turn.
#[derive(Default)]
struct Prefixes {
    kept: Vec<Prefix>,
    next: usize,
}

thread_local! {
    static KEPT: RefCell<Prefixes> = RefCell::new(Prefixes::default());
}

/// The hash state after the key's prefix: `len(source)`, `source` for an unscoped
/// key; `len(source) | 2⁶³`, `len(scope)`, `scope`, `source` for a scoped one; then
/// zeros up to the next block boundary.
fn prefix_state(scope: &[u8], source: &[u8]) -> Sha256 {
    let mut state = Sha256::new();
    let mut length = 8 + source.len();
    if scope.is_empty() {
        state.update((source.len() as u64).to_le_bytes());
    } else {
        state.update((source.len() as u64 | SCOPED).to_le_bytes());
        state.update((scope.len() as u64).to_le_bytes());
        state.update(scope);
        length += 8 + scope.len();
    }
    state.update(source);
    state.update(&[0; BLOCK][..(BLOCK - length % BLOCK) % BLOCK]);
    state
}

impl Prefixes {
    /// The hash state after `(scope, source)`: a copy of a kept one, or computed
    /// (and kept, unless it is long).
    fn state(&mut self, scope: &[u8], source: &[u8]) -> Sha256 {
        // Sources of one sender often differ only at their end (resource paths,
        // numbered topics): their last 8 bytes are compared first.
        let found = self.kept.iter().find(|p| {
            p.scope_len == scope.len()
                && p.text.len() == scope.len() + source.len()
                && (source.len() < 8 || p.text.last_chunk::<8>() == source.last_chunk::<8>())
                && same(&p.text[scope.len()..], source)
                && same(&p.text[..scope.len()], scope)
        });
        if let Some(prefix) = found {
            return prefix.state.clone();
        }
        let state = prefix_state(scope, source);
        if scope.len() + source.len() <= LONGEST_PREFIX {
            if self.kept.len() < PREFIXES {
                self.kept.push(Prefix {
                    scope_len: scope.len(),
                    text: [scope, source].concat(),
                    state: state.clone(),
                });
            } else {
                // The oldest goes; its buffer is reused.
                let slot = &mut self.kept[self.next];
                slot.scope_len = scope.len();
                slot.text.clear();
                slot.text.extend_from_slice(scope);
                slot.text.extend_from_slice(source);
                slot.state = state.clone();
                self.next = (self.next + 1) % PREFIXES;
            }
        }
        state
    }
}

/// Whether `a` and `b` are equal. Empty slices are not handed to `memcmp`: their
/// address is a placeholder, and glibc's `memcmp` loads even zero bytes from it
/// with a masked load that cost about 40 ns here (measured, AMD EPYC).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

impl DedupKey {
    /// The key of the event with `source` and `id`.
    #[must_use]
    pub fn new(source: &str, id: &str) -> Self {
        Self::scoped(&[], source, id)
    }

    /// The key of the event with `source` and `id` sent by the principal `scope`
    /// (for example the authenticated caller's identity), so that a sender cannot
    /// claim, and so suppress, another sender's events. An empty `scope` is no
    /// scope: `scoped(b"", source, id) == new(source, id)`; a non-empty one gives a
    /// key that no unscoped key and no other scope can equal (the input is the
    /// scope's length and bytes, marked as scoped, before the source).
    #[must_use]
    pub fn scoped(scope: &[u8], source: &str, id: &str) -> Self {
        let mut state = KEPT.with(|kept| match kept.try_borrow_mut() {
            Ok(mut kept) => kept.state(scope, source.as_bytes()),
            // Only reachable from a destructor run while the cache is borrowed.
            Err(_) => prefix_state(scope, source.as_bytes()),
        });
        state.update(id.as_bytes());
        let digest = state.finalize();
        let mut first = [0; 16];
        first.copy_from_slice(&digest[..16]);
        Self(u128::from_be_bytes(first))
    }

    /// The key of the event with `source` and `id` sent by `scope`, for a store that
    /// only this process reads (one in memory, whose
    /// [`DedupStore::process_local`] is `true`): the process's keyed 128-bit hash
    /// (SipHash-2-4 with a random key drawn at the start) over the same input as
    /// [`scoped`](Self::scoped), without its padding. Collision-resistant for
    /// whoever does not know the key (the senders), several times cheaper than
    /// SHA-256 on short inputs, and different in every process: never a key a
    /// shared store can use.
    #[must_use]
    pub fn local(scope: &[u8], source: &str, id: &str) -> Self {
        use std::hash::Hasher as _;

        let mut hasher = crate::keyed::hasher();
        if scope.is_empty() {
            hasher.write(&(source.len() as u64).to_le_bytes());
        } else {
            hasher.write(&(source.len() as u64 | SCOPED).to_le_bytes());
            hasher.write(&(scope.len() as u64).to_le_bytes());
            hasher.write(scope);
        }
        hasher.write(source.as_bytes());
        hasher.write(id.as_bytes());
        Self(crate::keyed::finish(&hasher))
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

/// Identifies one claim: only its holder may complete or release it.
///
/// The high 64 bits are random, drawn once per process, so that tokens of different
/// processes sharing one store do not meet; the low 64 bits count the process's
/// claims, never 0 and never twice (each thread takes blocks of 2¹⁶ numbers from one
/// shared counter), so a token costs no lock, no shared write per claim and no
/// system call.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ClaimToken(u128);

/// How many token numbers a thread takes from the shared counter at once.
const TOKEN_BLOCK: u64 = 1 << 16;

impl ClaimToken {
    /// A fresh token, never zero, whose low half is never zero either.
    #[must_use]
    pub fn generate() -> Self {
        // Seeded from the OS's randomness once per process (std's RandomState).
        static PROCESS: LazyLock<u64> =
            LazyLock::new(|| RandomState::new().hash_one("hookgate claim tokens"));
        static BLOCKS: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static NEXT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
        }
        let low = NEXT.with(|next| {
            let (mut n, mut end) = next.get();
            if n == end {
                n = BLOCKS.fetch_add(TOKEN_BLOCK, Ordering::Relaxed);
                end = n + TOKEN_BLOCK;
            }
            next.set((n + 1, end));
            n
        });
        Self((u128::from(*PROCESS) << 64) | u128::from(low))
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

    /// Whether only this process reads the keys this store is given (one in
    /// memory): the policy then makes them with [`DedupKey::local`], a keyed hash
    /// several times cheaper than the SHA-256 of [`DedupKey::scoped`], which every
    /// process computes alike. `false` (the default) for a store that replicas
    /// share.
    fn process_local(&self) -> bool {
        false
    }

    /// Claims `key` without waiting, when this store can (one in memory): what
    /// [`claim`](Self::claim) would answer, without its future. `None` (the
    /// default) when the store must wait: call `claim` instead.
    fn claim_now(&self, key: DedupKey, lease: Duration) -> Option<Result<Claim, StoreError>> {
        let _ = (key, lease);
        None
    }

    /// [`complete`](Self::complete) without waiting, when this store can; `None`
    /// (the default, having done nothing) when it must wait.
    fn complete_now(
        &self,
        key: DedupKey,
        token: ClaimToken,
        remember: Duration,
    ) -> Option<Result<(), StoreError>> {
        let _ = (key, token, remember);
        None
    }

    /// [`release`](Self::release) without waiting, when this store can; `None`
    /// (the default, having done nothing) when it must wait.
    fn release_now(&self, key: DedupKey, token: ClaimToken) -> Option<Result<(), StoreError>> {
        let _ = (key, token);
        None
    }

    /// Claims `keys` at once without waiting, when this store can (one in memory):
    /// what [`claim_all`](Self::claim_all) would answer, without its future and
    /// without taking ownership of the keys. `None` (the default) when the store
    /// must wait (over a network): call `claim_all` instead.
    fn claim_all_now(
        &self,
        keys: &[DedupKey],
        lease: Duration,
    ) -> Option<Result<Vec<Claim>, StoreError>> {
        let _ = (keys, lease);
        None
    }

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

    /// Checks that the store answers, changing nothing: for readiness probes (a
    /// probe that claims and releases a key writes to a shared store each time).
    /// The default answers `Ok(())` at once (a store in this process); a store over
    /// a network asks its server (Redis: `PING`).
    fn ping(&self) -> BoxFuture<Result<(), StoreError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key computed from its definition, with no cache.
    fn plain(scope: &[u8], source: &str, id: &str) -> DedupKey {
        let mut input = Vec::new();
        if scope.is_empty() {
            input.extend((source.len() as u64).to_le_bytes());
        } else {
            input.extend((source.len() as u64 | 1 << 63).to_le_bytes());
            input.extend((scope.len() as u64).to_le_bytes());
            input.extend(scope);
        }
        input.extend(source.as_bytes());
        input.resize(input.len().next_multiple_of(64), 0);
        input.extend(id.as_bytes());
        let mut first = [0; 16];
        first.copy_from_slice(&Sha256::digest(&input)[..16]);
        DedupKey(u128::from_be_bytes(first))
    }

    #[test]
    fn keys_are_stable_and_do_not_depend_on_the_cache() {
        // Pinned (SHA-256 of le64(2) "/s" 54 zeros "1", its first 16 bytes): Redis
        // key names must not change unnoticed.
        assert_eq!(
            DedupKey::new("/s", "1").to_hex(),
            "ef1646e638222638e4cb60c2f51f39c5"
        );
        // More sources than the cache keeps, interleaved, of every length around
        // the 64-byte blocks, and one too long to keep.
        let long = "x".repeat(LONGEST_PREFIX + 1);
        // Sources of one length that differ in one byte, first or last or between.
        let alike = (0..100).step_by(7).chain([99]).map(|i| {
            let mut s = "/".repeat(100);
            s.replace_range(i..=i, "x");
            s
        });
        let sources: Vec<String> = (0..140)
            .map(|n| "/".repeat(n))
            .chain(alike)
            .chain([long])
            .collect();
        for round in 0..3 {
            for (n, source) in sources.iter().enumerate() {
                for id in ["", "1", &"i".repeat(60 + n % 9)] {
                    assert_eq!(
                        DedupKey::new(source, id),
                        plain(b"", source, id),
                        "{round} {n}"
                    );
                    let scope = &b"principal"[..n % 10];
                    let scoped = DedupKey::scoped(scope, source, id);
                    assert_eq!(scoped, plain(scope, source, id), "{round} {n}");
                }
            }
        }
    }

    #[test]
    fn scopes_and_lengths_keep_keys_apart() {
        assert_eq!(DedupKey::scoped(b"", "/s", "1"), DedupKey::new("/s", "1"));
        let keys = [
            DedupKey::new("/s", "1"),
            DedupKey::new("/s1", ""),
            DedupKey::new("/", "s1"),
            DedupKey::scoped(b"a", "/s", "1"),
            DedupKey::scoped(b"b", "/s", "1"),
            DedupKey::scoped(b"a/", "s", "1"),
            DedupKey::scoped(b"a", "/s1", ""),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // The same scoped key with the cache warm and cold.
        let first = DedupKey::scoped(b"tenant", "/s", "1");
        for n in 0..10 {
            let _ = DedupKey::new(&format!("/other/{n}"), "1");
        }
        assert_eq!(DedupKey::scoped(b"tenant", "/s", "1"), first);
    }

    #[test]
    fn local_keys_keep_the_same_inputs_apart_and_are_not_the_shared_ones() {
        let inputs: [(&[u8], &str, &str); 7] = [
            (b"", "/s", "1"),
            (b"", "/s1", ""),
            (b"", "/", "s1"),
            (b"a", "/s", "1"),
            (b"b", "/s", "1"),
            (b"a/", "s", "1"),
            (b"a", "/s1", ""),
        ];
        let keys: Vec<_> = inputs
            .iter()
            .map(|&(scope, source, id)| DedupKey::local(scope, source, id))
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        for (&(scope, source, id), key) in inputs.iter().zip(&keys) {
            assert_eq!(
                DedupKey::local(scope, source, id),
                *key,
                "stable in the process"
            );
            assert_ne!(DedupKey::scoped(scope, source, id), *key);
        }
    }

    #[test]
    fn tokens_are_distinct_across_threads_and_never_zero() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..(TOKEN_BLOCK + 10))
                        .map(|_| ClaimToken::generate().as_u128())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u128> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert!(all.iter().all(|&t| t as u64 != 0));
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
