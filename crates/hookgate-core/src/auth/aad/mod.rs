//! Azure AD (Entra ID) bearer tokens. (Interface stub; being implemented.)

use std::sync::Arc;

use crate::error::{ConfigError, Error, ErrorKind};

/// Validates Azure AD access tokens.
#[derive(Clone, Debug)]
pub struct AadPolicy(Arc<()>);

/// Builder of an [`AadPolicy`].
#[derive(Debug, Default)]
#[must_use]
pub struct AadPolicyBuilder(());

impl AadPolicy {
    /// A builder.
    pub fn builder() -> AadPolicyBuilder {
        AadPolicyBuilder::default()
    }

    /// Validates `token` (the part after `Bearer `).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidCredentials`], [`ErrorKind::Forbidden`] or
    /// [`ErrorKind::KeysUnavailable`].
    pub async fn validate(&self, token: &str) -> Result<AadClaims, Error> {
        let _ = token;
        Err(Error::new(ErrorKind::KeysUnavailable, "not implemented").with_retry_after(60))
    }
}

impl AadPolicyBuilder {
    /// Builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid configuration.
    pub fn build(self) -> Result<AadPolicy, ConfigError> {
        Ok(AadPolicy(Arc::new(())))
    }
}

/// The claims of a validated token.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AadClaims {
    /// Tenant id (`tid`).
    pub tenant_id: Option<String>,
    /// Object id of the caller (`oid`).
    pub object_id: Option<String>,
    /// Application id of the caller (`appid` in v1 tokens, `azp` in v2).
    pub app_id: Option<String>,
    /// Application roles (`roles`).
    pub roles: Vec<String>,
    /// Subject (`sub`).
    pub subject: Option<String>,
    /// The audience the token was accepted for (`aud`).
    pub audience: String,
    /// The issuer (`iss`).
    pub issuer: String,
    /// Expiry, seconds since the Unix epoch (`exp`).
    pub expires_at: u64,
}
