//! Authentication of webhook senders, decided without a framework.
//!
//! One [`AuthPolicy`] describes what a receiver accepts; a request passes when any
//! configured method accepts it:
//!
//! - [`SharedSecrets`]: a secret in `?code=` (Azure Web PubSub's simple auth; the
//!   name is configurable), in `?access_token=` or in `Authorization: Bearer` (the two
//!   places the CloudEvents webhook spec names), or in a header of your naming
//!   ([`SharedSecrets::with_header`]: the bare secret, out of URLs and access logs);
//!   several secrets at once for rotation; compared in constant time. A response to
//!   a request authenticated by a query secret carries `Cache-Control: private`.
//! - `aad::AadPolicy` (feature `aad`): Azure AD (Entra ID) access tokens in
//!   `Authorization: Bearer` (Event Grid secure delivery, Web PubSub with a managed
//!   identity, the Skype for Business Trusted Application API).
//! - [`WebPubSubKeys`]: Web PubSub's `ce-signature`.
//!
//! Secrets and keys rotate without a restart: [`AuthPolicy::credentials`] gives a
//! [`CredentialsHandle`] that replaces them while requests run.
//!
//! The adapters (`AuthLayer` in hookgate-tower, `Auth` in hookgate-actix) run
//! [`AuthPolicy::authenticate`], answer a failure with its problem+json (401 with
//! `WWW-Authenticate`, 403, or 503 with `Retry-After`), and put the [`Identity`] into
//! the request extensions. They work on any route, CloudEvents or not.
//!
//! ```
//! use hookgate_core::auth::{AuthPolicy, Identity, SecretPlace, SharedSecrets};
//! use hookgate_core::{ErrorKind, HeaderList};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = AuthPolicy::builder()
//!     .shared_secrets(SharedSecrets::new(["new-secret", "old-secret"])?)
//!     .build()?;
//! let none = HeaderList::default();
//! let who = policy.authenticate(Some("code=old-secret"), &none).await?;
//! assert_eq!(who, Identity::SharedSecret { place: SecretPlace::Code, label: None });
//! assert!(who.from_query());
//!
//! let wrong = policy.authenticate(Some("code=guess"), &none).await.unwrap_err();
//! assert_eq!(wrong.kind(), ErrorKind::InvalidCredentials);
//! assert_eq!(wrong.status(), 401);
//! assert!(!wrong.detail().contains("guess"));
//! # Ok(()) }
//! ```

#[cfg(feature = "aad")]
pub mod aad;
mod policy;
pub mod redact;
mod reload;
mod secret;
mod signature;

pub use policy::{AuthPolicy, AuthPolicyBuilder, Identity};

/// The error of an identity extractor on a request that no authentication layer
/// authenticated (401), the same on every adapter.
#[must_use]
pub fn not_authenticated() -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::MissingCredentials,
        "the request was not authenticated: add the authentication layer or middleware in front of this route",
    )
}

/// The error of the Azure AD caller extractor on a request that was authenticated
/// another way (a shared secret, a Web PubSub signature) (401), the same on every
/// adapter.
#[cfg(feature = "aad")]
#[must_use]
pub fn not_aad() -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::InvalidCredentials,
        "this route needs an Azure AD access token; the request was authenticated otherwise",
    )
}

pub use redact::Redactor;
pub use reload::CredentialsHandle;
pub use secret::{SecretPlace, SharedSecrets};
pub use signature::{MAX_CONNECTION_ID, MAX_SIGNATURE_ITEMS, MAX_SIGNATURES, WebPubSubKeys};
