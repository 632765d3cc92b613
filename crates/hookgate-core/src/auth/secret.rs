//! Shared secrets: `?code=`, `?access_token=` and `Authorization: Bearer <secret>`.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

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
/// a secret shows in the timing.
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

    /// Whether `candidate` is one of the secrets (constant time).
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate = digest(candidate);
        self.digests
            .iter()
            .fold(subtle::Choice::from(0), |found, d| {
                found | d.ct_eq(&candidate)
            })
            .into()
    }
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}
