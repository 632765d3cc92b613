//! Azure AD (Entra ID) access tokens in `Authorization: Bearer`: Event Grid secure
//! delivery, Web PubSub with a managed identity, the Skype for Business Trusted
//! Application API.
//!
//! An [`AadPolicy`] is built once and cloned freely (an `Arc` inside). Its
//! [`validate`](AadPolicy::validate) takes the token (the part after `Bearer `)
//! and answers the token's [`AadClaims`] or an [`Error`]:
//! [`InvalidCredentials`](ErrorKind::InvalidCredentials) (401, the response gets
//! `WWW-Authenticate: Bearer error="invalid_token"`), [`Forbidden`](ErrorKind::Forbidden)
//! (403: a valid token that lacks a role, a tenant or an application id), or
//! [`KeysUnavailable`](ErrorKind::KeysUnavailable) (503 with `Retry-After`: no
//! signing keys can be had right now, the sender's retry will do). Details say
//! what failed and never contain the token.
//!
//! ```
//! use std::sync::Arc;
//! use hookgate_core::auth::aad::AadPolicy;
//! use hookgate_core::client::{BoxFuture, ClientError, HttpClient, OutboundRequest, OutboundResponse};
//! use hookgate_core::ErrorKind;
//!
//! /// A client without network, for this example; leave `client` out to use reqwest.
//! #[derive(Debug)]
//! struct Offline;
//!
//! impl HttpClient for Offline {
//!     fn send(&self, _: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>> {
//!         Box::pin(async { Err(ClientError("offline".into())) })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Event Grid secure delivery to the app registration of one tenant.
//! let policy = AadPolicy::builder()
//!     .authority("72f988bf-86f1-41af-91ab-2d7cd011db47")
//!     .audiences(["api://my-webhook", "0b6f6a8e-7d2c-4a5f-9d0e-1c2b3a4d5e6f"])
//!     .required_roles(["AzureEventGridSecureWebhookSubscriber"])
//!     .client(Arc::new(Offline))
//!     .build()?;
//!
//! // `alg: none` is refused before any key is looked up.
//! let none = "eyJhbGciOiJub25lIn0.eyJhdWQiOiJhcGk6Ly9teS13ZWJob29rIn0.";
//! let err = policy.validate(none).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidCredentials);
//! assert_eq!(err.detail(), "the token is signed with `none`; only RS256 is accepted");
//!
//! // An RS256 token while the keys cannot be fetched: 503, retry in 30 s.
//! let rs256 = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2ln";
//! let err = policy.validate(rs256).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::KeysUnavailable);
//! assert_eq!(err.status(), 503);
//! assert_eq!(err.retry_after(), Some(30));
//! # Ok(()) }
//! ```
//!
//! # What is checked, in order
//!
//! 1. The size: a token over [`max_token_len`](AadPolicyBuilder::max_token_len)
//!    (16 KiB) is refused before anything is parsed.
//! 2. The verified-token cache (below): a hit skips to step 7.
//! 3. The header: the algorithm is pinned to RS256. `none`, `HS256` (also when
//!    "signed" with the RSA public key: algorithm confusion), `PS256`, … are refused
//!    before any key is looked up; so is a `crit` header. The key id is `kid`, or
//!    `x5t` when there is no `kid`.
//! 4. The signing key with that id from the authority's JWKS (below), and the RS256
//!    signature.
//! 5. `exp` (required) and `nbf` (optional), with [`clock_skew`](AadPolicyBuilder::clock_skew)
//!    (300 s) either way; `aud` (a string or an array) must be one of the
//!    [`audiences`](AadPolicyBuilder::audiences): list both forms your senders use,
//!    the App ID URI (`api://…`) and the client id.
//! 6. `iss` must equal an accepted issuer exactly; issuer validation is never
//!    skipped (see "Authorities and issuers").
//! 7. Authorization, which fails with 403: the tenant (`tid`) must be in
//!    [`allowed_tenants`](AadPolicyBuilder::allowed_tenants) and the application
//!    (`appid` in v1 tokens, `azp` in v2) in
//!    [`allowed_app_ids`](AadPolicyBuilder::allowed_app_ids) when these lists are set,
//!    and **every** role of [`required_roles`](AadPolicyBuilder::required_roles) must
//!    be in `roles` (a token with only some of them is refused).
//!
//! # Authorities and issuers
//!
//! [`authority`](AadPolicyBuilder::authority) takes one of:
//!
//! - a tenant id (a GUID): keys from
//!   `https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration`;
//!   accepted issuers `https://sts.windows.net/{tenant}/` (v1 tokens) and
//!   `https://login.microsoftonline.com/{tenant}/v2.0` (v2 tokens);
//! - `organizations` or `common` (multi-tenant apps): the same with the token's own
//!   `tid` put into those two templates, and an exact match required; restrict the
//!   tenants with [`allowed_tenants`](AadPolicyBuilder::allowed_tenants);
//! - a URL (`https://…`, or `http://` to a loopback host only, for a local test
//!   issuer): a custom OpenID Connect authority whose discovery document is at
//!   `{url}/.well-known/openid-configuration` (or the URL itself when it ends so);
//!   the accepted issuer is the `issuer` that document names, with `{tenantid}`
//!   replaced by the token's `tid` if present.
//!
//! [`authority_host`](AadPolicyBuilder::authority_host) replaces
//! `https://login.microsoftonline.com/` (national clouds) in the discovery URL and in
//! the v2 issuer; [`issuers`](AadPolicyBuilder::issuers) replaces the accepted
//! issuers altogether (templates with `{tenantid}` allowed), for instance for a
//! national cloud's v1 issuer.
//!
//! # Signing keys
//!
//! The discovery document names the `jwks_uri`; of the JWKS, only RSA keys with
//! `use` = `sig` (or no `use`), no `alg` or `RS256`, and a modulus of 2048 bits or
//! more are used. Keys are fetched at the first request (or by
//! [`fetch_keys`](AadPolicy::fetch_keys) at startup) and then:
//!
//! - kept for [`key_ttl`](AadPolicyBuilder::key_ttl) (24 h), refreshed in the
//!   background (a task spawned on the current tokio runtime) once older than 7/8
//!   of it (21 h); after `key_ttl` (or without a tokio runtime) a request waits for
//!   the refresh;
//! - fetched again when a token names an unknown `kid`, at most once per
//!   [`unknown_kid_refetch_interval`](AadPolicyBuilder::unknown_kid_refetch_interval)
//!   (5 min) however many requests carry such a `kid`; until then an unknown `kid`
//!   is a 401 (a 503 if the last fetch failed: the key may be new);
//! - fetched once for any number of concurrent requests that need a fetch: they all
//!   wait for the same fetch (a shared future); no lock is held while it runs;
//! - kept and used when a refresh fails (stale keys are better than none), and no
//!   new fetch is tried for [`fetch_retry_interval`](AadPolicyBuilder::fetch_retry_interval)
//!   (30 s) after a failure;
//! - when no key can be had at all: 503 with `Retry-After` (the time until the next
//!   fetch may be tried).
//!
//! Every fetch has a connect timeout (5 s), a total timeout (10 s) and a body limit
//! (1 MiB), all configurable. The HTTP client is injectable
//! ([`client`](AadPolicyBuilder::client)); the default is
//! [`ReqwestClient`](crate::client::ReqwestClient) (feature `reqwest`, on by
//! default; without it [`build`](AadPolicyBuilder::build) fails unless a client is
//! given). Fetches and their failures are logged as `tracing` events with target
//! `hookgate::auth`, so are refused tokens (at debug level, with the reason and
//! without the token).
//!
//! # The verified-token cache
//!
//! Azure senders reuse one token for up to an hour, so the claims of a verified
//! token are kept, keyed by the SHA-256 of the token, until the earlier of its `exp`
//! and [`token_cache_ttl`](AadPolicyBuilder::token_cache_ttl) (1 h), for at most
//! [`token_cache_capacity`](AadPolicyBuilder::token_cache_capacity) tokens (10 000;
//! 0 turns the cache off). A hit costs a hash and a lookup instead of an RSA
//! verification; `exp` and `nbf` are checked against the clock again on every hit,
//! and so is authorization (step 7). A token stays accepted from the cache even if
//! its signing key is withdrawn from the JWKS meanwhile, for at most the bound.
//!
//! # Crypto backend
//!
//! jsonwebtoken 11 has two crypto backends, chosen by its features `rust_crypto`
//! and `aws_lc_rs`. hookgate enables `rust_crypto` (pure Rust: no C compiler or
//! cmake needed, and the faster one to build). jsonwebtoken's own entry points
//! (`decode`, `encode`) pick the backend from the features at run time and, when
//! both or neither are enabled and the application installed no
//! `jsonwebtoken::crypto::CryptoProvider`, panic at the first token (the build
//! succeeds). hookgate does not go through that choice: it calls the RustCrypto
//! backend directly (`jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER`), so a
//! tree that also enables `aws_lc_rs` cannot make it fail, and a tree without
//! `rust_crypto` does not compile. In addition, [`build`](AadPolicyBuilder::build)
//! verifies a known RS256 signature (and refuses a tampered one) once per process,
//! so a backend that cannot verify fails at startup with a [`ConfigError`], never at
//! the first request.

mod authority;
mod cache;
mod claims;
mod jwks;
mod token;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use self::authority::{AZURE_AUTHORITY_HOST, Authority, TENANT_PLACEHOLDER, check_issuer};
use self::cache::TokenCache;
use self::claims::{Authorization, RawClaims, check_time};
use self::jwks::{Counters, KeyCache, KeySource, Timing};
use crate::client::HttpClient;
use crate::error::{ConfigError, Error, ErrorKind, excerpt};

/// The tracing target of the events of this module.
const TARGET: &str = "hookgate::auth";

/// Validates Azure AD access tokens; see the [module docs](self).
///
/// Cheap to clone: clones share the configuration, the signing-key cache and the
/// verified-token cache.
#[derive(Clone, Debug)]
pub struct AadPolicy(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    audiences: Vec<String>,
    /// `None`: the issuer named by the discovery document.
    issuers: Option<Vec<String>>,
    authorization: Authorization,
    skew: u64,
    max_token_len: usize,
    keys: KeyCache,
    tokens: TokenCache,
    counters: Arc<Counters>,
}

/// Counters of an [`AadPolicy`] (shared by its clones), for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AadStats {
    /// RS256 signatures checked (tokens not found in the verified-token cache that
    /// got as far as their signature).
    pub signature_checks: u64,
    /// Tokens found in the verified-token cache.
    pub token_cache_hits: u64,
    /// Tokens in the verified-token cache now.
    pub token_cache_entries: u64,
    /// Key fetches started (discovery document and JWKS).
    pub key_fetches: u64,
    /// Key fetches that failed.
    pub key_fetch_failures: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl AadPolicy {
    /// A builder; [`authority`](AadPolicyBuilder::authority) and at least one
    /// [`audience`](AadPolicyBuilder::audience) are required.
    pub fn builder() -> AadPolicyBuilder {
        AadPolicyBuilder::new()
    }

    /// Validates `token` (the part after `Bearer `) and answers its claims.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidCredentials`] for a token that is not valid (malformed,
    /// too large, another algorithm, a bad signature, an unknown key, expired, not
    /// yet valid, another audience or issuer), [`ErrorKind::Forbidden`] for a valid
    /// token that lacks a required role, tenant or application id, and
    /// [`ErrorKind::KeysUnavailable`] (with [`Error::retry_after`]) when the signing
    /// keys cannot be had.
    pub async fn validate(&self, token: &str) -> Result<AadClaims, Error> {
        let result = self.validate_inner(token).await;
        if let Err(e) = &result {
            tracing::debug!(
                target: TARGET,
                kind = ?e.kind(),
                detail = e.detail(),
                "Azure AD token refused"
            );
        }
        result
    }

    async fn validate_inner(&self, token: &str) -> Result<AadClaims, Error> {
        let inner = &*self.0;
        if token.len() > inner.max_token_len {
            return Err(Error::new(
                ErrorKind::InvalidCredentials,
                format!(
                    "the bearer token is {} bytes long, over the limit of {} bytes",
                    token.len(),
                    inner.max_token_len
                ),
            ));
        }
        let now = unix_now();
        let cache_key = inner.tokens.key(token);
        if let Some(entry) = cache_key.as_ref().and_then(|k| inner.tokens.get(k))
            && check_time(entry.claims.expires_at, entry.not_before, now, inner.skew).is_ok()
        {
            inner
                .counters
                .token_cache_hits
                .fetch_add(1, Ordering::Relaxed);
            inner.authorization.check(&entry.claims)?;
            return Ok(entry.claims.clone());
        }

        let parts = token::split(token)?;
        let header = token::header(&parts)?;
        let signature = token::b64(parts.signature, "signature")?;
        let keys = inner.keys.keys_for(&header.kid).await?;
        let Some(key) = keys.get(&header.kid) else {
            return Err(Error::new(
                ErrorKind::InvalidCredentials,
                format!("the signing key `{}` is not known", excerpt(&header.kid)),
            ));
        };
        inner
            .counters
            .signature_checks
            .fetch_add(1, Ordering::Relaxed);
        if !token::verify(parts.signed.as_bytes(), &signature, key) {
            return Err(Error::new(
                ErrorKind::InvalidCredentials,
                format!(
                    "the signature does not match the signing key `{}`",
                    excerpt(&header.kid)
                ),
            ));
        }
        let payload = token::b64(parts.payload, "payload")?;
        let checked = RawClaims::parse(&payload)?.check(&inner.audiences, now, inner.skew)?;
        let tid = checked.claims.tenant_id.as_deref();
        match (&inner.issuers, &keys.issuer) {
            (Some(issuers), _) => check_issuer(issuers, &checked.claims.issuer, tid)?,
            (None, Some(discovered)) => check_issuer(
                std::slice::from_ref(discovered),
                &checked.claims.issuer,
                tid,
            )?,
            (None, None) => {
                return Err(Error::new(
                    ErrorKind::InvalidCredentials,
                    "the issuer cannot be checked: the discovery document names none",
                ));
            }
        }
        if let Some(key) = cache_key {
            inner
                .tokens
                .insert(key, checked.claims.clone(), checked.not_before, now);
        }
        inner.authorization.check(&checked.claims)?;
        Ok(checked.claims)
    }

    /// Fetches the signing keys now (or waits for the fetch that runs), whatever
    /// the timers say: at startup, so that the first request does not wait, or to
    /// check the configuration. Answers the number of usable keys.
    ///
    /// # Errors
    /// [`ErrorKind::KeysUnavailable`] when the discovery document or the JWKS cannot
    /// be fetched or holds no usable key; the detail says why.
    pub async fn fetch_keys(&self) -> Result<usize, Error> {
        self.0.keys.refresh().await
    }

    /// The counters of this policy (shared by its clones).
    #[must_use]
    pub fn stats(&self) -> AadStats {
        let c = &self.0.counters;
        AadStats {
            signature_checks: c.signature_checks.load(Ordering::Relaxed),
            token_cache_hits: c.token_cache_hits.load(Ordering::Relaxed),
            token_cache_entries: self.0.tokens.entry_count(),
            key_fetches: c.key_fetches.load(Ordering::Relaxed),
            key_fetch_failures: c.key_fetch_failures.load(Ordering::Relaxed),
        }
    }
}

/// Builder of an [`AadPolicy`]; see the [module docs](self) for what each setting
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
    /// authority. See "Authorities and issuers" in the [module docs](self).
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
    /// [`ReqwestClient`](crate::client::ReqwestClient) (feature `reqwest`).
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
    /// value in a list, a zero `key_ttl`, no HTTP client (feature `reqwest` off and
    /// none given), or a crypto backend that fails its self-check (see "Crypto
    /// backend" in the [module docs](self)).
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
            None => default_client()?,
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

#[cfg(feature = "reqwest")]
fn default_client() -> Result<Arc<dyn HttpClient>, ConfigError> {
    Ok(Arc::new(crate::client::ReqwestClient::new()))
}

#[cfg(not(feature = "reqwest"))]
fn default_client() -> Result<Arc<dyn HttpClient>, ConfigError> {
    Err(ConfigError(
        "Azure AD: no HTTP client: enable the `reqwest` feature of hookgate-core or call \
         `client`"
            .into(),
    ))
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
    /// The audience the token was accepted for (`aud`; of an array, the first
    /// accepted one).
    pub audience: String,
    /// The issuer (`iss`).
    pub issuer: String,
    /// Expiry, seconds since the Unix epoch (`exp`).
    pub expires_at: u64,
    /// The token version (`ver`: `1.0` or `2.0`).
    pub version: Option<String>,
}

#[cfg(all(test, not(feature = "reqwest")))]
mod tests {
    #[test]
    fn a_client_is_needed_without_reqwest() {
        let err = super::AadPolicy::builder()
            .authority("organizations")
            .audience("api://x")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("no HTTP client"), "{err}");
    }
}
