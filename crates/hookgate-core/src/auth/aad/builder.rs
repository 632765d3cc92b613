//! [`AadPolicyBuilder`]: the settings of an [`AadPolicy`], checked once by
//! [`build`](AadPolicyBuilder::build).

use std::sync::Arc;
use std::time::Duration;

use super::authority::{self, AZURE_AUTHORITY_HOST, Authority, TENANT_PLACEHOLDER};
use super::cache::TokenCache;
use super::claims::Authorization;
use super::jwks::{Counters, KeyCache, KeySource, Timing};
use super::token;
use super::validator::{AadPolicy, Inner};
use crate::client::HttpClient;
use crate::error::ConfigError;

/// Builder of an [`AadPolicy`]; see the [module docs](super) for what each setting
/// means.
#[derive(Debug)]
#[must_use]
pub struct AadPolicyBuilder {
    authority: Option<String>,
    authority_host: String,
    audiences: Vec<String>,
    issuers: Option<Vec<String>>,
    tenants: Vec<String>,
    app_ids: Vec<String>,
    roles: Vec<String>,
    skew: Duration,
    key_ttl: Duration,
    kid_refetch_interval: Duration,
    retry_interval: Duration,
    client: Option<Arc<dyn HttpClient>>,
    connect_timeout: Duration,
    timeout: Duration,
    body_limit: usize,
    token_cache_capacity: u64,
    token_cache_ttl: Duration,
    max_token_len: usize,
}

impl Default for AadPolicyBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn strings<I>(values: I) -> impl Iterator<Item = String>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    values.into_iter().map(Into::into)
}

impl AadPolicyBuilder {
    /// The defaults (an authority and an audience are still needed).
    pub fn new() -> Self {
        Self {
            authority: None,
            authority_host: AZURE_AUTHORITY_HOST.to_owned(),
            audiences: Vec::new(),
            issuers: None,
            tenants: Vec::new(),
            app_ids: Vec::new(),
            roles: Vec::new(),
            skew: Duration::from_secs(300),
            key_ttl: Duration::from_secs(24 * 3600),
            kid_refetch_interval: Duration::from_secs(300),
            retry_interval: Duration::from_secs(30),
            client: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            body_limit: 1024 * 1024,
            token_cache_capacity: 10_000,
            token_cache_ttl: Duration::from_secs(3600),
            max_token_len: 16 * 1024,
        }
    }

    /// Where the keys come from and which issuers are accepted (required): a tenant
    /// id (GUID), `organizations`, `common`, or the URL of a custom OpenID Connect
    /// authority. See "Authorities and issuers" in the [module docs](super).
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority = Some(authority.into());
        self
    }

    /// The Azure authority host for the tenant forms of
    /// [`authority`](Self::authority); default `https://login.microsoftonline.com/`.
    pub fn authority_host(mut self, host: impl Into<String>) -> Self {
        self.authority_host = host.into();
        self
    }

    /// Adds an accepted audience (`aud`): an App ID URI or a client id.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds accepted audiences (`aud`); list both the App ID URI and the client id
    /// if senders may use either.
    pub fn audiences<I>(mut self, audiences: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.audiences.extend(strings(audiences));
        self
    }

    /// Replaces the accepted issuers (`iss`, matched exactly). `{tenantid}` in one
    /// stands for the configured tenant when [`authority`](Self::authority) is a
    /// tenant id, else for the token's `tid`.
    pub fn issuers<I>(mut self, issuers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.issuers = Some(strings(issuers).collect());
        self
    }

    /// Only tokens of these tenants (`tid`) are allowed; others get 403. Default:
    /// any tenant the issuer check lets through.
    pub fn allowed_tenants<I>(mut self, tenants: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.tenants
            .extend(strings(tenants).map(|t| t.trim().to_ascii_lowercase()));
        self
    }

    /// Only these calling applications (`appid` in v1 tokens, `azp` in v2; compared
    /// case-insensitively) are allowed; others get 403. Event Grid's is
    /// `4962773b-9cdb-44cf-a8bf-237846a00ab7`.
    pub fn allowed_app_ids<I>(mut self, app_ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.app_ids
            .extend(strings(app_ids).map(|a| a.trim().to_owned()));
        self
    }

    /// Roles that every token must carry in `roles`: **all** of them (a token with
    /// only some gets 403), e.g. `AzureEventGridSecureWebhookSubscriber`.
    pub fn required_roles<I>(mut self, roles: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.roles.extend(strings(roles));
        self
    }

    /// The tolerance on `exp` and `nbf`; default 300 s.
    pub fn clock_skew(mut self, skew: Duration) -> Self {
        self.skew = skew;
        self
    }

    /// How long fetched keys are used before they are refreshed; default 24 h.
    pub fn key_ttl(mut self, ttl: Duration) -> Self {
        self.key_ttl = ttl;
        self
    }

    /// At most one key fetch for unknown `kid`s per this interval; default 5 min.
    pub fn unknown_kid_refetch_interval(mut self, interval: Duration) -> Self {
        self.kid_refetch_interval = interval;
        self
    }

    /// No new key fetch within this time after a failed one (and the
    /// `Retry-After` of a 503); default 30 s.
    pub fn fetch_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The HTTP client for the discovery document and the JWKS; default
    /// [`ReqwestClient`](crate::client::ReqwestClient).
    pub fn client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// The time allowed to connect, per fetch; default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time allowed for a whole fetch, body included; default 10 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest discovery document or JWKS read; default 1 MiB.
    pub fn response_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The most tokens kept in the verified-token cache; default 10 000; 0 turns
    /// the cache off (every request verifies its token's signature).
    pub fn token_cache_capacity(mut self, tokens: u64) -> Self {
        self.token_cache_capacity = tokens;
        self
    }

    /// The longest a verified token is kept (never past its `exp`); default 1 h.
    pub fn token_cache_ttl(mut self, ttl: Duration) -> Self {
        self.token_cache_ttl = ttl;
        self
    }

    /// The largest token accepted, in bytes; default 16 KiB (Azure AD tokens are a
    /// few KiB at most).
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.max_token_len = bytes;
        self
    }

    /// Builds the policy. No request is made here: keys are fetched at the first
    /// request or by [`AadPolicy::fetch_keys`].
    ///
    /// # Errors
    /// [`ConfigError`] without an authority or an audience, for an authority or a
    /// host that cannot be used (plain http to a non-loopback host, say), an empty
    /// value in a list, a zero `key_ttl`, or a crypto backend that fails its self-check (see "Crypto
    /// backend" in the [module docs](super)).
    pub fn build(self) -> Result<AadPolicy, ConfigError> {
        token::self_check().map_err(ConfigError)?;
        let authority_text = self
            .authority
            .ok_or_else(|| ConfigError("Azure AD: no authority (call `authority`)".into()))?;
        let authority = Authority::parse(&authority_text)?;
        let host = authority::parse_host(&self.authority_host)?;
        if self.audiences.is_empty() {
            return Err(ConfigError(
                "Azure AD: no audience (call `audience` or `audiences`)".into(),
            ));
        }
        for (what, list) in [
            ("audience", &self.audiences),
            ("tenant", &self.tenants),
            ("application id", &self.app_ids),
            ("role", &self.roles),
        ] {
            if list.iter().any(|v| v.trim().is_empty()) {
                return Err(ConfigError(format!("Azure AD: an empty {what}")));
            }
        }
        let issuers = match self.issuers {
            Some(list) if list.is_empty() || list.iter().any(|i| i.trim().is_empty()) => {
                return Err(ConfigError(
                    "Azure AD: `issuers` needs at least one issuer, none empty".into(),
                ));
            }
            // One tenant: `{tenantid}` is that tenant, not the token's (Azure AD
            // signs the tokens of every tenant with the same keys).
            Some(list) => Some(match &authority {
                Authority::Tenant(tenant) => list
                    .into_iter()
                    .map(|i| i.replace(TENANT_PLACEHOLDER, tenant))
                    .collect(),
                Authority::AnyTenant(_) | Authority::Custom(_) => list,
            }),
            None => authority.default_issuers(&host),
        };
        if self.key_ttl.is_zero() {
            return Err(ConfigError("Azure AD: `key_ttl` must not be zero".into()));
        }
        let client = match self.client {
            Some(client) => client,
            None => Arc::new(crate::client::ReqwestClient::with_connect_timeout(
                self.connect_timeout,
            )?),
        };
        let counters = Arc::new(Counters::default());
        let source = KeySource {
            client,
            discovery_url: authority.discovery_url(&host)?,
            require_issuer: issuers.is_none(),
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            body_limit: self.body_limit,
            counters: Arc::clone(&counters),
        };
        let timing = Timing {
            ttl: self.key_ttl,
            refresh_ahead: self.key_ttl - self.key_ttl / 8,
            kid_refetch_interval: self.kid_refetch_interval,
            retry_interval: self.retry_interval,
        };
        Ok(AadPolicy(Arc::new(Inner {
            audiences: self.audiences,
            issuers,
            authorization: Authorization {
                tenants: self.tenants,
                app_ids: self.app_ids,
                roles: self.roles,
            },
            skew: self.skew.as_secs(),
            max_token_len: self.max_token_len,
            keys: KeyCache::new(source, timing),
            tokens: TokenCache::new(self.token_cache_capacity, self.token_cache_ttl),
            counters,
        })))
    }
}
