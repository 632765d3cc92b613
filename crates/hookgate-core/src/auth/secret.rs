//! Shared secrets: `?code=`, `?access_token=` and `Authorization: Bearer <secret>`.

use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConstantTimeEq as _};

use crate::error::ConfigError;

/// Where a shared secret was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretPlace {
    /// The code query parameter (`?code=`, name configurable).
    Code,
    /// The `access_token` query parameter.
    AccessToken,
    /// `Authorization: Bearer <secret>`.
    Bearer,
}

impl SecretPlace {
    /// Whether the secret came in the URL, so that the response must not be cached
    /// by shared caches (`Cache-Control: private`).
    #[must_use]
    pub fn in_query(self) -> bool {
        matches!(self, Self::Code | Self::AccessToken)
    }
}

/// A set of accepted shared secrets (several at once, for rotation), compared in
/// constant time: both sides are hashed with SHA-256 and the digests compared with
/// `subtle`, over every configured secret, so neither the length nor the content of
/// a secret shows in the timing. Only the digests are kept, never the secrets.
///
/// The cost of a check is one SHA-256 of the candidate and one 32-byte comparison
/// per configured secret. The `sha2` crate uses the CPU's SHA extensions when it
/// has them (detected at run time): a candidate of up to 55 bytes is one 64-byte
/// block, about 60 ns on the machine of `BENCHMARKS.md` (70 ns for the whole
/// check), one of 56 to 119 bytes two blocks (110 ns). Measured alternatives were
/// not cheaper, or not what a credential check should rest on: a keyed BLAKE3 took
/// about 80 ns for a short string and HMAC-SHA256 with a per-process random key
/// about 180 ns (it hashes twice); SipHash with a per-process random key would take
/// about 30 ns, but it is a hash-table PRF, not among the dependencies, and not what
/// the design asks for. Why hash at all: the digests have one length whatever the
/// secret's, so comparing them shows neither its length nor, being branch-free,
/// its content.
#[derive(Clone)]
pub struct SharedSecrets {
    param: String,
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for SharedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecrets")
            .field("param", &self.param)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.digests.len()),
            )
            .finish()
    }
}

impl SharedSecrets {
    /// Accepts any of `secrets` in `?code=`, `?access_token=` or
    /// `Authorization: Bearer`.
    ///
    /// # Errors
    /// [`ConfigError`] when there is no secret or one is empty.
    pub fn new<I>(secrets: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut digests = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.is_empty() {
                return Err(ConfigError("a shared secret must not be empty".into()));
            }
            digests.push(digest(secret));
        }
        if digests.is_empty() {
            return Err(ConfigError("no shared secret given".into()));
        }
        Ok(Self {
            param: "code".to_owned(),
            digests,
        })
    }

    /// The name of the code query parameter (default `code`).
    ///
    /// # Errors
    /// [`ConfigError`] for an empty name or `access_token` (always accepted anyway).
    pub fn with_param(mut self, name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        if name.is_empty() || name == "access_token" {
            return Err(ConfigError(format!(
                "`{name}` cannot be the code parameter's name"
            )));
        }
        self.param = name;
        Ok(self)
    }

    /// The name of the code query parameter.
    #[must_use]
    pub fn param(&self) -> &str {
        &self.param
    }

    /// Whether `candidate` is one of the secrets (constant time): its digest is
    /// compared with every configured one, without stopping at a match.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate = digest(candidate);
        self.digests
            .iter()
            .fold(Choice::from(0), |found, d| found | same(d, &candidate))
            .into()
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Whether two digests are equal, in constant time: the differences of all their
/// bytes OR-ed together (no branch, no early exit), then one `subtle` comparison
/// of that with zero. (`subtle`'s comparison of two slices puts an optimization
/// barrier on every byte: about 30 ns per configured secret, against about 2 here.)
fn same(a: &[u8; 32], b: &[u8; 32]) -> Choice {
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    difference.ct_eq(&0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_configured_secret_matches() {
        let secrets = SharedSecrets::new(["current", "previous"]).unwrap();
        assert!(secrets.matches("current"));
        assert!(secrets.matches("previous"));
        for no in ["", "curren", "currentt", "Current", "previous ", "x"] {
            assert!(!secrets.matches(no), "{no:?}");
        }
        let a = digest("a");
        for i in 0..32 {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!bool::from(same(&a, &b)), "byte {i}");
        }
        assert!(bool::from(same(&a, &digest("a"))));
    }
}
