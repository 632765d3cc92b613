//! Rotating a policy's secrets and keys without a restart.

use std::sync::Arc;

use super::policy::Inner;
use super::secret::SharedSecrets;
use super::signature::WebPubSubKeys;

/// Replaces the shared secrets and the Web PubSub keys of an
/// [`AuthPolicy`](super::AuthPolicy) while requests run; from
/// [`AuthPolicy::credentials`](super::AuthPolicy::credentials). Cheap to clone; keep
/// one where the new secrets come from (a file watcher, a SIGHUP handler, a secret
/// store's change feed).
///
/// A replacement is atomic: each request is checked against the old set or the new
/// one, never a mix, and a request already past its check is not affected. Reading
/// the set costs a request one atomic load, no lock.
///
/// The new set replaces the old one whole: its code parameter's name and its header
/// ([`SharedSecrets::with_param`], [`SharedSecrets::with_header`]) are the new
/// set's, and so are the sender labels (a sender whose secrets are gone is refused
/// at its next request). `None` takes the method away; a policy left with no
/// method at all (no secret, no key, no Azure AD) refuses every request 401: it
/// fails closed, never open. Azure AD settings are not replaced here (the signing
/// keys rotate by themselves, see `aad::AadPolicy`).
///
/// ```
/// use hookgate_core::auth::{AuthPolicy, SharedSecrets};
/// use hookgate_core::HeaderList;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = AuthPolicy::builder()
///     .shared_secrets(SharedSecrets::labeled([("orders", "old")])?)
///     .build()?;
/// let credentials = policy.credentials();
/// let none = HeaderList::default();
/// assert!(policy.authenticate(Some("code=old"), &none).await.is_ok());
///
/// // The rotation: the new secret in, the old one out, while the server runs.
/// credentials.replace_shared_secrets(Some(SharedSecrets::labeled([("orders", "new")])?));
/// assert!(policy.authenticate(Some("code=new"), &none).await.is_ok());
/// assert!(policy.authenticate(Some("code=old"), &none).await.is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct CredentialsHandle(pub(super) Arc<Inner>);

impl std::fmt::Debug for CredentialsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialsHandle")
            .field("shared_secrets", &self.shared_secrets())
            .field("web_pubsub_keys", &self.web_pubsub_keys())
            .finish()
    }
}

impl CredentialsHandle {
    /// Puts `secrets` in place of the policy's shared secrets (`None`: no shared
    /// secret is accepted any more); returns the set it replaced.
    pub fn replace_shared_secrets(
        &self,
        secrets: Option<SharedSecrets>,
    ) -> Option<Arc<SharedSecrets>> {
        self.0.secrets.swap(secrets.map(Arc::new))
    }

    /// Puts `keys` in place of the policy's Web PubSub access keys (`None`: no
    /// `ce-signature` is accepted any more); returns the set it replaced.
    pub fn replace_web_pubsub_keys(
        &self,
        keys: Option<WebPubSubKeys>,
    ) -> Option<Arc<WebPubSubKeys>> {
        self.0.webpubsub.swap(keys.map(Arc::new))
    }

    /// The shared secrets in force now.
    #[must_use]
    pub fn shared_secrets(&self) -> Option<Arc<SharedSecrets>> {
        self.0.secrets.load_full()
    }

    /// The Web PubSub access keys in force now.
    #[must_use]
    pub fn web_pubsub_keys(&self) -> Option<Arc<WebPubSubKeys>> {
        self.0.webpubsub.load_full()
    }
}
