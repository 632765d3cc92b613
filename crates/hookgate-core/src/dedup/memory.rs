//! The in-memory store: one process's deduplication state, bounded and expiring.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::store::{Claim, ClaimToken, DedupKey, DedupStore, StoreError};
use crate::client::BoxFuture;
use crate::error::ConfigError;

/// A claim or a completion: `until` (milliseconds since the store's start) and the
/// holder's token, 0 once done. 16 bytes, beside the 16-byte key.
#[derive(Clone, Copy)]
struct Slot {
    until: u64,
    token: u64,
}

#[derive(Default)]
struct Shard {
    slots: HashMap<u128, Slot>,
    /// Keys in the order they were claimed: the oldest first, for expiry and for
    /// eviction at the bound.
    order: VecDeque<u128>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    start: Instant,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("entries", &self.slots.len())
            .finish()
    }
}

/// Deduplication state in this process's memory: the default store.
///
/// It protects one process only: replicas of a receiver behind a load balancer each
/// see their own duplicates; share a Redis store (`hookgate-redis`) between them.
/// State is lost on restart.
///
/// Bounded by entries (default 1,000,000; about 60–90 bytes each) and by time:
/// claims expire with their lease, completions after the remember window. When the
/// bound is reached the oldest entries go first, done ones before live claims.
/// Sharded by key, each shard behind its own mutex, held only for a map operation.
#[derive(Clone, Debug)]
pub struct MemoryStore(Arc<Inner>);

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(1_000_000).unwrap_or_else(|_| unreachable!("a valid default"))
    }
}

impl MemoryStore {
    /// A store that remembers at most `max_entries` keys.
    ///
    /// # Errors
    /// [`ConfigError`] when `max_entries` is 0.
    pub fn with_capacity(max_entries: usize) -> Result<Self, ConfigError> {
        if max_entries == 0 {
            return Err(ConfigError(
                "the memory store needs room for at least one entry".into(),
            ));
        }
        let count = std::thread::available_parallelism()
            .map_or(8, |n| n.get() * 4)
            .clamp(1, 64)
            .min(max_entries);
        let shards = (0..count).map(|_| Mutex::new(Shard::default())).collect();
        Ok(Self(Arc::new(Inner {
            shards,
            per_shard: max_entries.div_ceil(count),
            start: Instant::now(),
        })))
    }

    /// How many keys are remembered (claimed or done, expired ones not yet swept
    /// included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0
            .shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).slots.len())
            .sum()
    }

    /// Whether nothing is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn now(&self) -> u64 {
        u64::try_from(self.0.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn shard(&self, key: DedupKey) -> std::sync::MutexGuard<'_, Shard> {
        // The key is a hash already: its low bits spread evenly.
        let index = (key.as_u128() as usize) % self.0.shards.len();
        // A panic while holding the lock cannot leave a slot half-written.
        self.0.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Claims synchronously (the trait's future just wraps this).
    pub fn claim_now(&self, key: DedupKey, lease: Duration) -> Claim {
        let now = self.now();
        let mut shard = self.shard(key);
        shard.sweep(now, 2);
        let k = key.as_u128();
        if let Some(slot) = shard.slots.get(&k)
            && slot.until > now
        {
            return if slot.token == 0 {
                Claim::Done
            } else {
                Claim::InFlight
            };
        }
        let token = ClaimToken::generate();
        let slot = Slot {
            until: now.saturating_add(millis(lease)),
            token: low_bits(token),
        };
        if shard.slots.insert(k, slot).is_none() {
            shard.order.push_back(k);
        }
        shard.evict(self.0.per_shard, now);
        Claim::New(token)
    }

    /// Completes synchronously: while `token` holds the claim, or when its lease ran
    /// out and nobody claimed the key since (the event was handled all the same).
    pub fn complete_now(&self, key: DedupKey, token: ClaimToken, remember: Duration) {
        let now = self.now();
        let mut shard = self.shard(key);
        let k = key.as_u128();
        let done = Slot {
            until: now.saturating_add(millis(remember)),
            token: 0,
        };
        match shard.slots.get_mut(&k) {
            Some(slot) if slot.token == low_bits(token) || slot.until <= now => *slot = done,
            Some(_) => {}
            None => {
                shard.slots.insert(k, done);
                shard.order.push_back(k);
                shard.evict(self.0.per_shard, now);
            }
        }
    }

    /// Releases synchronously.
    pub fn release_now(&self, key: DedupKey, token: ClaimToken) {
        let mut shard = self.shard(key);
        let k = key.as_u128();
        if shard
            .slots
            .get(&k)
            .is_some_and(|s| s.token == low_bits(token))
        {
            shard.slots.remove(&k);
        }
    }
}

impl Shard {
    /// Drops up to `budget` expired entries from the old end.
    fn sweep(&mut self, now: u64, budget: usize) {
        for _ in 0..budget {
            let Some(&k) = self.order.front() else { return };
            match self.slots.get(&k) {
                Some(slot) if slot.until > now => return,
                Some(_) => {
                    self.slots.remove(&k);
                }
                // Released earlier: only the order entry is left.
                None => {}
            }
            self.order.pop_front();
        }
    }

    /// Keeps the shard within `max` entries: the oldest done or expired ones go
    /// first; a live claim is moved to the back instead (it ends with its lease).
    fn evict(&mut self, max: usize, now: u64) {
        let mut rounds = self.order.len();
        while self.slots.len() > max && rounds > 0 {
            rounds -= 1;
            let Some(k) = self.order.pop_front() else {
                return;
            };
            match self.slots.get(&k) {
                Some(slot) if slot.token != 0 && slot.until > now => self.order.push_back(k),
                Some(_) => {
                    self.slots.remove(&k);
                }
                None => {}
            }
        }
        // Order entries of released keys pile up when claims are released often.
        if self.order.len() > 2 * max.max(16) {
            let slots = &self.slots;
            self.order.retain(|k| slots.contains_key(k));
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn low_bits(token: ClaimToken) -> u64 {
    // Zero marks "done": a token whose low half is zero uses 1 instead.
    (token.as_u128() as u64).max(1)
}

impl DedupStore for MemoryStore {
    fn claim(&self, key: DedupKey, lease: Duration) -> BoxFuture<Result<Claim, StoreError>> {
        let claim = self.claim_now(key, lease);
        Box::pin(async move { Ok(claim) })
    }

    fn complete(
        &self,
        key: DedupKey,
        token: ClaimToken,
        remember: Duration,
    ) -> BoxFuture<Result<(), StoreError>> {
        self.complete_now(key, token, remember);
        Box::pin(async { Ok(()) })
    }

    fn release(&self, key: DedupKey, token: ClaimToken) -> BoxFuture<Result<(), StoreError>> {
        self.release_now(key, token);
        Box::pin(async { Ok(()) })
    }
}
