//! Azure AD (Entra ID) access tokens in `Authorization: Bearer`: Event Grid secure
//! delivery, Web PubSub with a managed identity, the Skype for Business Trusted
//! Application API.
//!
//! An [`AadPolicy`] is built once and cloned freely (an `Arc` inside). Its
//! [`validate`](AadPolicy::validate) takes the token (the part after `Bearer `)
//! and answers the token's [`AadClaims`] or an [`Error`](crate::Error):
//! [`InvalidCredentials`](crate::ErrorKind::InvalidCredentials) (401, the response gets
//! `WWW-Authenticate: Bearer error="invalid_token"`), [`Forbidden`](crate::ErrorKind::Forbidden)
//! (403: a valid token that lacks a role, a tenant or an application id), or
//! [`KeysUnavailable`](crate::ErrorKind::KeysUnavailable) (503 with `Retry-After`: no
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
//! [`ReqwestClient`](crate::client::ReqwestClient), which the `aad` feature brings
//! (it enables `callback`). Fetches and their failures are logged as `tracing` events with target
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
//! so a backend that cannot verify fails at startup with a [`ConfigError`](crate::ConfigError), never at
//! the first request.

//!
//! # Files
//!
//! `validator.rs` holds [`AadPolicy`] and the order of the checks, `builder.rs`
//! [`AadPolicyBuilder`], `claims.rs` [`AadClaims`] and the claim checks,
//! `authority.rs` authorities and issuers, `jwks.rs` the signing-key cache,
//! `cache.rs` the verified-token cache and `token.rs` the JWT header and signature.

mod authority;
mod builder;
mod cache;
mod claims;
mod jwks;
mod token;
mod validator;

pub use self::builder::AadPolicyBuilder;
pub use self::claims::AadClaims;
pub use self::validator::{AadPolicy, AadStats};

/// The tracing target of the events of this module.
const TARGET: &str = "hookgate::auth";
