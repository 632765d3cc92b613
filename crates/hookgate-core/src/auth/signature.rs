//! Azure Web PubSub's `ce-signature`: HMAC-SHA256 of `ce-connectionId`.

use std::sync::Arc;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::{Choice, ConditionallySelectable as _, ConstantTimeEq as _};

use crate::error::ConfigError;

/// The access keys a Web PubSub resource signs with (primary and secondary, several
/// resources); each key optionally bound to the resource's host, which Web PubSub
/// sends in `WebHook-Request-Origin` on every request.
///
/// A request is accepted when one `sha256=<hex>` of its `ce-signature` (several
/// header lines, values separated by commas and spaces, hex in any case) equals
/// HMAC-SHA256 keyed by an applicable access key's UTF-8 bytes over the UTF-8
/// bytes of `ce-connectionId`. A key bound to a host applies only when the origin is
/// that host; an unbound key always applies.
///
/// **Senders.** The host of the key that matched, and the request's `ce-hub`, are
/// the authenticated principal (`Identity::WebPubSub`): the entry point scopes dedup
/// keys by them, so the events of two resources (bound keys) or two hubs are never
/// taken for one another. Unbound keys are one sender per hub.
#[derive(Clone)]
pub struct WebPubSubKeys {
    keys: Vec<(Option<Arc<str>>, Hmac<Sha256>)>,
}

impl std::fmt::Debug for WebPubSubKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts: Vec<_> = self.keys.iter().map(|(h, _)| h.as_deref()).collect();
        f.debug_struct("WebPubSubKeys")
            .field("keys (hosts)", &hosts)
            .finish()
    }
}

impl WebPubSubKeys {
    /// Keys that apply to every request.
    ///
    /// # Errors
    /// [`ConfigError`] when there is no key or one is empty.
    pub fn new<I>(keys: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut this = Self { keys: Vec::new() };
        for key in keys {
            this = this.push(None, key.as_ref())?;
        }
        this.check()
    }

    /// Keys each bound to a host (`(host, key)`), e.g.
    /// `("myhub.webpubsub.azure.com", primary)`.
    ///
    /// # Errors
    /// [`ConfigError`] when there is no key or a key or host is empty.
    pub fn per_host<I, H, K>(keys: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (H, K)>,
        H: Into<String>,
        K: AsRef<str>,
    {
        let mut this = Self { keys: Vec::new() };
        for (host, key) in keys {
            let host = host.into();
            if host.is_empty() {
                return Err(ConfigError("a Web PubSub host must not be empty".into()));
            }
            this = this.push(Some(host.to_ascii_lowercase().into()), key.as_ref())?;
        }
        this.check()
    }

    fn push(mut self, host: Option<Arc<str>>, key: &str) -> Result<Self, ConfigError> {
        if key.is_empty() {
            return Err(ConfigError(
                "a Web PubSub access key must not be empty".into(),
            ));
        }
        let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
            .map_err(|e| ConfigError(format!("unusable access key: {e}")))?;
        self.keys.push((host, mac));
        Ok(self)
    }

    fn check(self) -> Result<Self, ConfigError> {
        if self.keys.is_empty() {
            return Err(ConfigError("no Web PubSub access key given".into()));
        }
        Ok(self)
    }

    /// Whether one of `signatures` (the `ce-signature` header lines) is valid for
    /// `connection_id` under a key that applies to `origin`.
    ///
    /// The cost is bounded and linear whatever the request: one MAC per applicable
    /// key over a connection id of at most [`MAX_CONNECTION_ID`] bytes (a longer one
    /// is not valid), then each of at most [`MAX_SIGNATURES`] candidates compared
    /// with each MAC in constant time (candidates past that are not read, nor is
    /// anything past [`MAX_SIGNATURE_ITEMS`] items between separators, empty ones
    /// included).
    #[must_use]
    pub fn verify<'a>(
        &self,
        signatures: impl IntoIterator<Item = &'a [u8]>,
        connection_id: &[u8],
        origin: Option<&str>,
    ) -> bool {
        self.find(signatures, connection_id, origin).is_some()
    }

    /// [`verify`](Self::verify), saying which key matched: its index (the last
    /// that matched, selected without a branch).
    pub(super) fn find<'a>(
        &self,
        signatures: impl IntoIterator<Item = &'a [u8]>,
        connection_id: &[u8],
        origin: Option<&str>,
    ) -> Option<usize> {
        if connection_id.len() > MAX_CONNECTION_ID {
            return None;
        }
        let origin_host = origin.map(origin_host);
        let macs: Vec<(u32, [u8; 32])> = (0u32..)
            .zip(&self.keys)
            .filter(|(_, (host, _))| {
                host.as_deref()
                    .is_none_or(|h| origin_host.is_some_and(|o| o.eq_ignore_ascii_case(h)))
            })
            .map(|(i, (_, mac))| {
                let mut mac = mac.clone();
                mac.update(connection_id);
                (i, mac.finalize().into_bytes().into())
            })
            .collect();
        // Items between separators, empty ones included, are bounded too, so that a
        // header of nothing but separators is not walked to its end.
        let candidates = signatures
            .into_iter()
            .flat_map(|line| line.split(|b| *b == b',' || *b == b' '))
            .take(MAX_SIGNATURE_ITEMS)
            .filter(|item| !item.trim_ascii().is_empty())
            .take(MAX_SIGNATURES)
            .filter_map(|item| {
                let hex = item.trim_ascii().strip_prefix(b"sha256=")?;
                let mut digest = [0u8; 32];
                hex::decode_to_slice(hex, &mut digest).ok()?;
                Some(digest)
            });
        let mut found = Choice::from(0);
        let mut index = 0u32;
        for candidate in candidates {
            for (i, mac) in &macs {
                let hit = candidate.ct_eq(mac);
                index.conditional_assign(i, hit);
                found |= hit;
            }
        }
        bool::from(found).then_some(index as usize)
    }

    /// The host key `index` (from [`find`](Self::find)) is bound to.
    pub(super) fn host(&self, index: usize) -> Option<Arc<str>> {
        self.keys.get(index).and_then(|(host, _)| host.clone())
    }
}

/// The most `ce-signature` values read from one request (Web PubSub sends one per
/// access key: two).
pub const MAX_SIGNATURES: usize = 16;

/// The most items between separators (`,` and space, empty ones included) read
/// from `ce-signature`: room for [`MAX_SIGNATURES`] candidates written `a, b, …` and
/// some stray separators; past it nothing is read.
pub const MAX_SIGNATURE_ITEMS: usize = 4 * MAX_SIGNATURES;

/// The longest `ce-connectionId` a signature is checked over, in bytes (Web
/// PubSub's are a few dozen).
pub const MAX_CONNECTION_ID: usize = 1024;

/// The host of a `WebHook-Request-Origin` value, which may be a bare host or a URL.
fn origin_host(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest)
}
