//! Shared secrets: `?code=`, `?access_token=` and `Authorization: Bearer <secret>`.

use std::sync::Arc;

use subtle::{Choice, ConditionallySelectable as _, ConstantTimeEq as _};

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
    /// The header named by [`SharedSecrets::with_header`], its whole value the
    /// secret.
    Header,
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
/// constant time: both sides are hashed with a keyed 128-bit hash (SipHash-2-4 with
/// a per-process random key) and the digests compared without a branch, then with
/// `subtle`, over every configured secret, so neither the length nor the content of
/// a secret shows in the timing. Only the digests are kept, never the secrets.
///
/// Why hash at all: the digests have one length whatever the secret's, so comparing
/// them shows neither its length nor, being branch-free, its content. Why a keyed
/// PRF is enough: nobody without the process's key can compute a digest, so a
/// candidate matches a secret's digest only by being the secret (a chance of 2⁻¹²⁸
/// a try otherwise), and the digests are never shown. The cost of a check is one
/// keyed hash of the candidate (about 20 to 40 ns for a short one, on every CPU)
/// and one 16-byte comparison per configured secret; SHA-256, used before, took
/// about 60 ns a 64-byte block with the CPU's SHA extensions and several hundred
/// without them (BENCHMARKS.md, issue 24).
///
/// **Senders.** Secrets given to [`labeled`](Self::labeled) carry the name of the
/// sender that holds them; the old and the new secret of a rotation share the
/// label. The label is the authenticated principal: it is in the request's
/// `Identity::SharedSecret`, and the entry point scopes dedup keys by it, so that a
/// sender holding one secret cannot claim, and so suppress, the events of a sender
/// holding another. The secrets of [`new`](Self::new) have no label: their holders
/// are one sender.
#[derive(Clone)]
pub struct SharedSecrets {
    param: String,
    /// A header whose whole value is a secret (lower case), when configured.
    header: Option<http::HeaderName>,
    digests: Vec<[u8; 16]>,
    /// The label of each secret (in the order of `digests`).
    labels: Vec<Option<Arc<str>>>,
}

impl std::fmt::Debug for SharedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSecrets")
            .field("param", &self.param)
            .field("header", &self.header)
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.digests.len()),
            )
            .field("labels", &self.labels)
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
        Self::build(secrets.into_iter().map(|secret| (None, secret)))
    }

    /// Accepts any of `secrets`, each given with the label of the sender that holds
    /// it (`(label, secret)`; several secrets of one sender, for rotation, share its
    /// label). See [Senders](Self#senders).
    ///
    /// ```
    /// use hookgate_core::auth::SharedSecrets;
    ///
    /// let secrets = SharedSecrets::labeled([
    ///     ("orders", "new-secret"),
    ///     ("orders", "old-secret"), // until the rotation is over
    ///     ("billing", "another-secret"),
    /// ])?;
    /// assert_eq!(secrets.label_of("old-secret"), Some(Some("orders")));
    /// # Ok::<(), hookgate_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError`] when there is no secret, a secret or label is empty, or one
    /// secret is given under two labels (its holder would be two senders).
    pub fn labeled<I, L, S>(secrets: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (L, S)>,
        L: AsRef<str>,
        S: AsRef<str>,
    {
        Self::empty().and_labeled(secrets)?.non_empty()
    }

    /// These secrets and the `(label, secret)` pairs of further senders, as
    /// [`labeled`](Self::labeled) takes them: the secrets of [`new`](Self::new)
    /// stay one sender without a label, each label is a sender of its own.
    ///
    /// ```
    /// use hookgate_core::auth::SharedSecrets;
    ///
    /// let secrets = SharedSecrets::new(["legacy"])?.and_labeled([("orders", "o-secret")])?;
    /// assert_eq!(secrets.label_of("legacy"), Some(None));
    /// assert_eq!(secrets.label_of("o-secret"), Some(Some("orders")));
    /// # Ok::<(), hookgate_core::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// [`ConfigError`] when a secret or label is empty, or one secret is given
    /// under two labels (or with a label and without one).
    pub fn and_labeled<I, L, S>(mut self, secrets: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (L, S)>,
        L: AsRef<str>,
        S: AsRef<str>,
    {
        for (label, secret) in secrets {
            let label = label.as_ref();
            if label.is_empty() {
                return Err(ConfigError(
                    "a shared secret's label must not be empty".into(),
                ));
            }
            self.push(Some(Arc::from(label)), secret.as_ref())?;
        }
        Ok(self)
    }

    fn build<S: AsRef<str>>(
        secrets: impl IntoIterator<Item = (Option<Arc<str>>, S)>,
    ) -> Result<Self, ConfigError> {
        let mut this = Self::empty();
        for (label, secret) in secrets {
            this.push(label, secret.as_ref())?;
        }
        this.non_empty()
    }

    fn empty() -> Self {
        Self {
            param: "code".to_owned(),
            header: None,
            digests: Vec::new(),
            labels: Vec::new(),
        }
    }

    fn non_empty(self) -> Result<Self, ConfigError> {
        if self.digests.is_empty() {
            return Err(ConfigError("no shared secret given".into()));
        }
        Ok(self)
    }

    /// Adds one secret with its label.
    fn push(&mut self, label: Option<Arc<str>>, secret: &str) -> Result<(), ConfigError> {
        if secret.is_empty() {
            return Err(ConfigError("a shared secret must not be empty".into()));
        }
        let digest = digest(secret);
        if let Some(i) = self.digests.iter().position(|d| *d == digest)
            && self.labels[i] != label
        {
            return Err(ConfigError(
                "one shared secret is given under two labels".into(),
            ));
        }
        self.digests.push(digest);
        self.labels.push(label);
        Ok(())
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

    /// Accepts the secrets in the header `name` too, its whole value the bare
    /// secret (`X-Webhook-Secret: s3cret`): Azure Event Grid's delivery properties
    /// can add such a static header, which keeps the secret out of URLs and access
    /// logs. `?code=`, `?access_token=` and `Authorization: Bearer` keep working
    /// beside it. hookgate never logs the header.
    ///
    /// # Errors
    /// [`ConfigError`] for a name that is not a valid header name, or one hookgate
    /// reads for something else (`Authorization`, `Content-Type`, `ce-*`, the
    /// handshake's `WebHook-*`, `traceparent`, `tracestate`).
    pub fn with_header(mut self, name: &str) -> Result<Self, ConfigError> {
        let header = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| ConfigError(format!("`{name}` is not a header name")))?;
        let taken = matches!(
            header.as_str(),
            "authorization" | "content-type" | "content-length" | "traceparent" | "tracestate"
        ) || header.as_str().starts_with("ce-")
            || header.as_str().starts_with("webhook-")
            || header.as_str().starts_with("aeg-");
        if taken {
            return Err(ConfigError(format!(
                "`{name}` cannot carry the shared secret: hookgate reads it for something else"
            )));
        }
        self.header = Some(header);
        Ok(self)
    }

    /// The header the secrets are accepted in, when one is configured (lower case).
    #[must_use]
    pub fn header(&self) -> Option<&str> {
        self.header.as_ref().map(http::HeaderName::as_str)
    }

    /// Whether `candidate` is one of the secrets (constant time): its digest is
    /// compared with every configured one, without stopping at a match.
    #[must_use]
    pub fn matches(&self, candidate: &str) -> bool {
        self.find(candidate).is_some()
    }

    /// The label of the secret `candidate` is (`Some(None)` for a secret without
    /// one), or `None` when it is not a configured secret; constant time, like
    /// [`matches`](Self::matches).
    #[must_use]
    pub fn label_of(&self, candidate: &str) -> Option<Option<&str>> {
        self.find(candidate).map(|i| self.labels[i].as_deref())
    }

    /// The index of the secret `candidate` is: every digest compared, the index
    /// selected without a branch.
    pub(super) fn find(&self, candidate: &str) -> Option<usize> {
        let candidate = digest(candidate);
        let mut found = Choice::from(0);
        let mut index = 0u32;
        for (i, d) in (0u32..).zip(&self.digests) {
            let hit = same(d, &candidate);
            index.conditional_assign(&i, hit);
            found |= hit;
        }
        bool::from(found).then_some(index as usize)
    }

    /// The label of secret `index` (from [`find`](Self::find)).
    pub(super) fn label(&self, index: usize) -> Option<Arc<str>> {
        self.labels.get(index).cloned().flatten()
    }
}

fn digest(secret: &str) -> [u8; 16] {
    crate::keyed::hash(secret.as_bytes()).to_le_bytes()
}

/// Whether two digests are equal, in constant time: the differences of all their
/// bytes OR-ed together (no branch, no early exit), then one `subtle` comparison
/// of that with zero. (`subtle`'s comparison of two slices puts an optimization
/// barrier on every byte: about 30 ns per configured secret, against about 2 here.)
fn same(a: &[u8; 16], b: &[u8; 16]) -> Choice {
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
        for i in 0..16 {
            let mut b = a;
            b[i] ^= 0x80;
            assert!(!bool::from(same(&a, &b)), "byte {i}");
        }
        assert!(bool::from(same(&a, &digest("a"))));
    }

    #[test]
    fn labels_name_the_sender_of_each_secret() {
        let secrets = SharedSecrets::labeled([("a", "one"), ("b", "two"), ("a", "three")]).unwrap();
        assert_eq!(secrets.label_of("one"), Some(Some("a")));
        assert_eq!(secrets.label_of("two"), Some(Some("b")));
        assert_eq!(secrets.label_of("three"), Some(Some("a")));
        assert_eq!(secrets.label_of("four"), None);
        assert_eq!(SharedSecrets::new(["x"]).unwrap().label_of("x"), Some(None));
        // The same secret twice under one label is harmless; under two, refused.
        assert!(SharedSecrets::labeled([("a", "one"), ("a", "one")]).is_ok());
        assert!(SharedSecrets::labeled([("a", "one"), ("b", "one")]).is_err());
        assert!(SharedSecrets::labeled([("", "one")]).is_err());
        assert!(SharedSecrets::labeled(Vec::<(&str, &str)>::new()).is_err());
    }

    #[test]
    fn unlabeled_secrets_and_labeled_senders_together() {
        let secrets = SharedSecrets::new(["legacy"])
            .unwrap()
            .and_labeled([("a", "one"), ("b", "two")])
            .unwrap();
        assert_eq!(secrets.label_of("legacy"), Some(None));
        assert_eq!(secrets.label_of("one"), Some(Some("a")));
        assert_eq!(secrets.label_of("two"), Some(Some("b")));
        // One secret with a label and without one: refused, as under two labels.
        let again = SharedSecrets::new(["one"])
            .unwrap()
            .and_labeled([("a", "one")]);
        assert!(again.is_err());
        assert!(
            SharedSecrets::new(["x"])
                .unwrap()
                .and_labeled([("", "y")])
                .is_err()
        );
        assert!(
            SharedSecrets::new(["x"])
                .unwrap()
                .and_labeled([("a", "")])
                .is_err()
        );
    }
}
