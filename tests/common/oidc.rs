//! A local OpenID Connect issuer for tests: an HTTP server on `127.0.0.1:0` that
//! serves a discovery document and a JWKS, counts its requests, can rotate its keys,
//! answer 500, be slow or stop, plus helpers that mint tokens (v1 and v2 Azure AD
//! issuers, any claims, any `kid`, `alg: none`, HS256).
//!
//! Include it with `#[path = ".../tests/common/oidc.rs"] mod oidc;`. It needs, as
//! (dev-)dependencies: `axum` (features `tokio`, `http1`), `tokio` (`rt`, `net`,
//! `time`, `macros`), `serde_json`, `base64` and `jsonwebtoken` 11 (feature
//! `rust_crypto`). Call [`OidcIssuer::start`] inside a tokio runtime.
//!
//! The RSA keys are fixed test keys (`tests/common/keys/rsa-{a,b,c}.der`, PKCS#1,
//! 2048 bits), because generating RSA keys in a debug build takes seconds. They
//! protect nothing.
//!
//! Routes: `GET <anything>/.well-known/openid-configuration` answers the discovery
//! document (issuer: `http://127.0.0.1:PORT<anything>` unless
//! [`OidcIssuer::set_discovery_issuer`] says otherwise); `GET /discovery/keys` is the
//! JWKS.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The tenant the tokens come from by default.
pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
/// Another tenant.
pub const OTHER_TENANT: &str = "99999999-8888-7777-6666-555555555555";
/// The App ID URI form of the audience.
pub const AUDIENCE: &str = "api://hookgate-test";
/// The client id form of the audience.
pub const CLIENT_ID: &str = "6b0e9a47-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
/// The calling application (Azure Event Grid's first-party app id).
pub const APP_ID: &str = "4962773b-9cdb-44cf-a8bf-237846a00ab7";
/// The role Event Grid's tokens carry.
pub const ROLE: &str = "AzureEventGridSecureWebhookSubscriber";
/// The v1 issuer host of the public cloud.
pub const V1_ISSUER_PREFIX: &str = "https://sts.windows.net/";

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// An RSA key pair of the issuer, with its `kid`.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    encoding: EncodingKey,
    /// The public key as PEM (SubjectPublicKeyInfo), what an algorithm-confusion
    /// attacker uses as an HMAC secret.
    pub public_pem: &'static [u8],
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey").field("kid", &self.kid).finish()
    }
}

impl TestKey {
    /// Test key A, `kid` `key-a`.
    pub fn a() -> Self {
        Self::new(
            "key-a",
            include_bytes!("keys/rsa-a.der"),
            include_bytes!("keys/rsa-a.pub.pem"),
        )
    }

    /// Test key B, `kid` `key-b`.
    pub fn b() -> Self {
        Self::new(
            "key-b",
            include_bytes!("keys/rsa-b.der"),
            include_bytes!("keys/rsa-b.pub.pem"),
        )
    }

    /// Test key C, `kid` `key-c` (e.g. never published: an attacker's key).
    pub fn c() -> Self {
        Self::new(
            "key-c",
            include_bytes!("keys/rsa-c.der"),
            include_bytes!("keys/rsa-c.pub.pem"),
        )
    }

    fn new(kid: &str, der: &'static [u8], public_pem: &'static [u8]) -> Self {
        Self {
            kid: kid.to_owned(),
            encoding: EncodingKey::from_rsa_der(der),
            public_pem,
        }
    }

    /// The same key pair under another `kid`.
    pub fn with_kid(mut self, kid: &str) -> Self {
        self.kid = kid.to_owned();
        self
    }

    /// The public key as a JWK (`kty` RSA, `use` sig, `alg` RS256, `kid`, `n`, `e`).
    pub fn jwk(&self) -> Value {
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&self.encoding, Algorithm::RS256)
            .expect("an RSA key");
        let full = serde_json::to_value(&jwk).expect("a JWK serializes");
        json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": full["n"],
            "e": full["e"],
        })
    }

    /// An RS256 token over `claims` with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        self.sign_with_header(&header, claims)
    }

    /// An RS256 token over `claims` with any header.
    pub fn sign_with_header(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).expect("signing works")
    }
}

/// A token with `alg: none` (and an empty signature).
pub fn unsigned_token(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// An HS256 token whose HMAC key is `secret` (the RSA public key's PEM, for the
/// algorithm-confusion attack).
pub fn hs256_token(kid: &str, secret: &[u8], claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret))
        .expect("HMAC signing works")
}

/// A token made of any three parts: base64url of `header` and `claims` JSON, then
/// `signature` as given.
pub fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// How the issuer answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Normally.
    Up,
    /// 500 to everything.
    Failing,
}

#[derive(Debug)]
struct Config {
    keys: Vec<Value>,
    mode: Mode,
    delay: Duration,
    discovery_issuer: Option<String>,
}

#[derive(Debug)]
struct Shared {
    base: String,
    config: Mutex<Config>,
    discovery_requests: AtomicUsize,
    jwks_requests: AtomicUsize,
}

impl Shared {
    fn config(&self) -> std::sync::MutexGuard<'_, Config> {
        self.config.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running issuer; stops when dropped.
#[derive(Debug)]
pub struct OidcIssuer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OidcIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_requests.fetch_add(1, Ordering::SeqCst);
    let (mode, delay, keys) = {
        let c = shared.config();
        (c.mode, c.delay, c.keys.clone())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match mode {
        Mode::Failing => (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response(),
        Mode::Up => json_response(&json!({ "keys": keys })),
    }
}

async fn discovery(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    shared.discovery_requests.fetch_add(1, Ordering::SeqCst);
    let (mode, delay, issuer) = {
        let c = shared.config();
        (c.mode, c.delay, c.discovery_issuer.clone())
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if mode == Mode::Failing {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let base = shared.base.trim_end_matches('/');
    json_response(&json!({
        "issuer": issuer.unwrap_or_else(|| format!("{base}{prefix}")),
        "jwks_uri": format!("{base}/discovery/keys"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
    }))
}

fn json_response(value: &Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

impl OidcIssuer {
    /// Starts an issuer on `127.0.0.1:0` that publishes `keys`.
    pub async fn start(keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a local address");
        let shared = Arc::new(Shared {
            base: format!("http://{addr}/"),
            config: Mutex::new(Config {
                keys: keys.iter().map(|k| k.jwk()).collect(),
                mode: Mode::Up,
                delay: Duration::ZERO,
                discovery_issuer: None,
            }),
            discovery_requests: AtomicUsize::new(0),
            jwks_requests: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/discovery/keys", get(jwks))
            .fallback(discovery)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the issuer serves");
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/`: the authority host for the Azure tenant forms.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// `http://127.0.0.1:PORT/custom/v2.0`: a custom authority whose discovery
    /// document names itself as the issuer.
    pub fn custom_authority(&self) -> String {
        format!("{}custom/v2.0", self.shared.base)
    }

    /// The v1 issuer of `tid`: `https://sts.windows.net/{tid}/`.
    pub fn v1_issuer(tid: &str) -> String {
        format!("{V1_ISSUER_PREFIX}{tid}/")
    }

    /// The v2 issuer of `tid` when this server is the authority host:
    /// `http://127.0.0.1:PORT/{tid}/v2.0`.
    pub fn v2_issuer(&self, tid: &str) -> String {
        format!("{}{tid}/v2.0", self.shared.base)
    }

    /// Valid v1 claims of `tid`: `aud` [`AUDIENCE`], v1 issuer, `appid` [`APP_ID`],
    /// `roles` [[`ROLE`]], valid from a minute ago for an hour.
    pub fn v1_claims(tid: &str) -> Value {
        let now = now();
        json!({
            "aud": AUDIENCE,
            "iss": Self::v1_issuer(tid),
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "tid": tid,
            "oid": "0a0b0c0d-0000-4000-8000-000000000001",
            "sub": "0a0b0c0d-0000-4000-8000-000000000001",
            "appid": APP_ID,
            "appidacr": "2",
            "idp": Self::v1_issuer(tid),
            "roles": [ROLE],
            "ver": "1.0",
        })
    }

    /// Valid v2 claims of `tid` (see [`Self::v1_claims`]), with `aud`
    /// [`CLIENT_ID`] and `azp` [`APP_ID`].
    pub fn v2_claims(&self, tid: &str) -> Value {
        let now = now();
        json!({
            "aud": CLIENT_ID,
            "iss": self.v2_issuer(tid),
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "tid": tid,
            "oid": "0a0b0c0d-0000-4000-8000-000000000002",
            "sub": "0a0b0c0d-0000-4000-8000-000000000002",
            "azp": APP_ID,
            "azpacr": "2",
            "roles": [ROLE],
            "ver": "2.0",
        })
    }

    /// Valid claims for [`Self::custom_authority`].
    pub fn custom_claims(&self) -> Value {
        let mut claims = self.v2_claims(TENANT);
        claims["iss"] = Value::String(self.custom_authority());
        claims
    }

    /// Publishes `keys` instead of the current ones (a rotation).
    pub fn publish(&self, keys: &[&TestKey]) {
        self.shared.config().keys = keys.iter().map(|k| k.jwk()).collect();
    }

    /// Publishes raw JWK values (unusable keys, say).
    pub fn publish_raw(&self, keys: Vec<Value>) {
        self.shared.config().keys = keys;
    }

    /// Answers normally or 500.
    pub fn set_mode(&self, mode: Mode) {
        self.shared.config().mode = mode;
    }

    /// Waits this long before each answer (to make concurrent requests overlap).
    pub fn set_delay(&self, delay: Duration) {
        self.shared.config().delay = delay;
    }

    /// The `issuer` of the discovery documents (`{tenantid}` templates included).
    pub fn set_discovery_issuer(&self, issuer: &str) {
        self.shared.config().discovery_issuer = Some(issuer.to_owned());
    }

    /// Stops the server: new connections are refused (and, in case a kept-alive
    /// connection survives, it gets 500s).
    pub fn stop(&self) {
        self.set_mode(Mode::Failing);
        self.task.abort();
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Discovery documents served (or refused) so far.
    pub fn discovery_requests(&self) -> usize {
        self.shared.discovery_requests.load(Ordering::SeqCst)
    }

    /// JWKS requests served (or refused) so far.
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_requests.load(Ordering::SeqCst)
    }
}
