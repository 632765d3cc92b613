//! The process's keyed hash: SipHash-2-4 with a 128-bit output and a 128-bit key
//! drawn once per process from the operating system's randomness (through std's
//! `RandomState`).
//!
//! SipHash is a pseudorandom function: without the key, nobody can compute an
//! output, or find two inputs with the same output, better than by guessing (2⁻¹²⁸
//! a try for a given pair of outputs). That is what its two users need, and nothing
//! they need outlives the process or leaves it:
//!
//! - the shared-secret check ([`SharedSecrets`](crate::auth::SharedSecrets)) hashes
//!   both sides and compares the outputs in constant time: a candidate matches a
//!   secret only by being it;
//! - the in-memory dedup store's keys ([`DedupKey`](crate::dedup::DedupKey) for a
//!   store of one process): a sender who picks `source` and `id` cannot make another
//!   event look like a duplicate.
//!
//! It replaces SHA-256 there because it is several times cheaper for short inputs
//! on every CPU (about 20 to 40 ns for a 60-byte input, against about 60 ns a block
//! with the SHA extensions and several hundred without them: see BENCHMARKS.md).
//! A key shared between processes (the Redis store's) must stay SHA-256.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher as _;
use std::sync::LazyLock;

use siphasher::sip128::{Hasher128 as _, SipHasher24};

/// The hasher with the process's key, cloned for each use.
static HASHER: LazyLock<SipHasher24> = LazyLock::new(|| {
    // Two outputs of std's keyed hash (its key from the OS's randomness) on two
    // different inputs: two 64-bit words nobody outside the process can compute.
    let random = RandomState::new();
    let k0 = random.hash_one("hookgate keyed hash, k0");
    let k1 = random.hash_one("hookgate keyed hash, k1");
    SipHasher24::new_with_keys(k0, k1)
});

/// A hasher keyed with the process's key, to feed with `std::hash::Hasher::write`.
pub(crate) fn hasher() -> SipHasher24 {
    *HASHER
}

/// The 128-bit keyed hash of `bytes`.
pub(crate) fn hash(bytes: &[u8]) -> u128 {
    HASHER.hash(bytes).as_u128()
}

/// The 128-bit output of `hasher`.
pub(crate) fn finish(hasher: &SipHasher24) -> u128 {
    hasher.finish128().as_u128()
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher as _;

    use super::*;

    #[test]
    fn the_hash_is_keyed_and_stable_within_the_process() {
        assert_eq!(hash(b"abc"), hash(b"abc"));
        assert_ne!(hash(b"abc"), hash(b"abd"));
        // Not the unkeyed SipHash: the key is not zero.
        let unkeyed = SipHasher24::new().hash(b"abc").as_u128();
        assert_ne!(hash(b"abc"), unkeyed);
        let mut h = hasher();
        h.write(b"abc");
        assert_eq!(finish(&h), hash(b"abc"));
    }
}
