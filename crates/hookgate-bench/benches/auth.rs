//! Azure AD bearer-token benchmarks (issue 4): the per-request cost of
//! `AadPolicy::validate` with the verified-token cache (a hit), without it (the
//! cache turned off, the signing keys already cached), and a bare
//! `jsonwebtoken::decode` with a known key as the floor of a full RS256 check.
//!
//! Run with `cargo bench -p hookgate-bench --bench auth`; results are in
//! `BENCHMARKS.md` at the workspace root. Goals: `cached` at least 20x cheaper than
//! `bare_decode`, `uncached` within 1.2x of it.
//!
//! No network: the policy's `HttpClient` is an in-process fake that serves the
//! discovery document and the JWKS, and the keys are fetched before timing. The
//! token is an RS256 (RSA 2048) token of about 1.3 KB shaped like the v1 access
//! tokens Azure Event Grid sends, signed with the fixed test key
//! `tests/common/keys/rsa-a.der`. `validate` completes without waiting once the
//! keys are cached, so each iteration polls its future once with a no-op waker
//! (no runtime in the timed code). Every benchmark drops its result inside the
//! timed code (`black_box_drop`), as `benches/parse.rs` does.
//!
//! `shared_secret` (issue 8) times `SharedSecrets::matches` for a 47-character
//! `?code=` value against 1 and 2 configured secrets (it matches the last one),
//! `shared_secret_long` for a 60-character one: filter with
//! `cargo bench -p hookgate-bench --bench auth -- shared_secret`.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use divan::{Bencher, black_box, black_box_drop};
use hookgate_core::auth::SharedSecrets;
use hookgate_core::auth::aad::AadPolicy;
use hookgate_core::client::{
    BoxFuture, ClientError, HttpClient, OutboundRequest, OutboundResponse,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

fn main() {
    divan::Divan::default()
        .sample_count(500)
        .config_with_args()
        .main();
}

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const AUDIENCE: &str = "api://hookgate-bench";
const KID: &str = "bench-key";
const APP_ID: &str = "4962773b-9cdb-44cf-a8bf-237846a00ab7";
const ROLE: &str = "AzureEventGridSecureWebhookSubscriber";

fn issuer() -> String {
    format!("https://sts.windows.net/{TENANT}/")
}

fn encoding_key() -> EncodingKey {
    EncodingKey::from_rsa_der(include_bytes!("../../../tests/common/keys/rsa-a.der"))
}

/// The public key as a JWK.
fn jwk() -> Value {
    let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&encoding_key(), Algorithm::RS256)
        .expect("an RSA key");
    let full = serde_json::to_value(&jwk).expect("a JWK serializes");
    json!({"kty": "RSA", "use": "sig", "kid": KID, "n": full["n"], "e": full["e"]})
}

/// A token shaped like an Event Grid v1 access token, valid for an hour.
fn token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = json!({
        "aud": AUDIENCE,
        "iss": issuer(),
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "aio": "E2RgYDgQ8f2YYNt9/ZdV3xN2uH0pAA==E2RgYDgQ8f2YYNt9/ZdV3xN2uH0pAA==",
        "appid": APP_ID,
        "appidacr": "2",
        "idp": issuer(),
        "oid": "b7a9e3f0-7c4d-4f8e-9a1b-2c3d4e5f6a7b",
        "rh": "0.AXEAv4j5cvGGr0GRqy180BHbR0xkpHqAAAAAAAAAwAAAAAAAAABxAAA.",
        "roles": [ROLE],
        "sub": "b7a9e3f0-7c4d-4f8e-9a1b-2c3d4e5f6a7b",
        "tid": TENANT,
        "uti": "Xb3sKf9Q0UuL2n1qE1oWAA",
        "ver": "1.0",
        "xms_tcdt": 1_289_241_547_u64,
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(KID.into());
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, &claims, &encoding_key()).expect("signing works")
}

/// Serves the discovery document and the JWKS from memory.
#[derive(Debug)]
struct InProcessIssuer {
    discovery: String,
    jwks: String,
}

impl HttpClient for InProcessIssuer {
    fn send(&self, request: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>> {
        let body = if request
            .url
            .path()
            .ends_with("/.well-known/openid-configuration")
        {
            self.discovery.clone()
        } else {
            self.jwks.clone()
        };
        Box::pin(async move { Ok(OutboundResponse::new(200, body)) })
    }
}

/// Polls `future` once: it must be ready (nothing to wait for).
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future had to wait"),
    }
}

/// A policy with its keys fetched; `cache` = the verified-token cache is on.
fn policy(cache: bool) -> AadPolicy {
    let client = Arc::new(InProcessIssuer {
        discovery: json!({
            "issuer": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            "jwks_uri": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
        })
        .to_string(),
        jwks: json!({ "keys": [jwk()] }).to_string(),
    });
    let policy = AadPolicy::builder()
        .authority(TENANT)
        .audience(AUDIENCE)
        .required_roles([ROLE])
        .allowed_app_ids([APP_ID])
        .client(client)
        .token_cache_capacity(if cache { 10_000 } else { 0 })
        .build()
        .expect("a valid policy");
    assert_eq!(ready(policy.fetch_keys()).expect("keys"), 1);
    policy
}

/// The claims the bare decode reads (what `AadClaims` carries).
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Claims {
    aud: String,
    iss: String,
    exp: u64,
    tid: Option<String>,
    oid: Option<String>,
    appid: Option<String>,
    sub: Option<String>,
    ver: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// One validation of a token seen before: a hash, a cache lookup, the clock and
/// authorization checks. 100 iterations per sample: one takes about a microsecond,
/// too close to the timer's precision alone.
#[divan::bench(sample_size = 100)]
fn cached(b: Bencher<'_, '_>) {
    let policy = policy(true);
    let token = token();
    ready(policy.validate(&token)).expect("valid");
    b.bench(|| black_box_drop(ready(policy.validate(black_box(&token))).expect("valid")));
    assert_eq!(policy.stats().signature_checks, 1);
}

/// One full validation with the keys cached: header, key lookup, RS256, claims.
#[divan::bench]
fn uncached(b: Bencher<'_, '_>) {
    let policy = policy(false);
    let token = token();
    b.bench(|| black_box_drop(ready(policy.validate(black_box(&token))).expect("valid")));
}

/// `jsonwebtoken::decode` with a known key, RS256, `aud` and `iss` checked.
#[divan::bench]
fn bare_decode(b: Bencher<'_, '_>) {
    let jwk = jwk();
    let key = DecodingKey::from_rsa_components(
        jwk["n"].as_str().expect("n"),
        jwk["e"].as_str().expect("e"),
    )
    .expect("an RSA key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[issuer()]);
    let token = token();
    b.bench(|| {
        black_box_drop(
            jsonwebtoken::decode::<Claims>(black_box(&token), &key, &validation).expect("valid"),
        );
    });
}

/// A `?code=` value as long as an Azure Functions key (47 characters here).
const CODE: &str = "Q2hhbmdlVGhpc1NlY3JldEJlZm9yZVVzZTEyMzQ1Njc4OTA";

/// A `?code=` value of 60 characters: from 56 bytes on, SHA-256 hashes two blocks.
const LONG_CODE: &str = "Q2hhbmdlVGhpc1NlY3JldEJlZm9yZVVzZTEyMzQ1Njc4OTBhYmNkZWZnaA==";

/// `SharedSecrets` with `secrets` configured, `code` the last one.
fn secrets(code: &str, secrets: usize) -> SharedSecrets {
    let mut configured: Vec<String> = (1..secrets).map(|i| format!("{code}-old-{i}")).collect();
    configured.push(code.to_owned());
    let secrets = SharedSecrets::new(&configured).expect("secrets");
    assert!(secrets.matches(code));
    secrets
}

/// The shared-secret check of every request with `?code=`, with 1 and 2 configured
/// secrets (rotation); the candidate is the last one.
#[divan::bench(args = [1, 2], sample_size = 1000)]
fn shared_secret(b: Bencher<'_, '_>, count: usize) {
    let secrets = secrets(CODE, count);
    b.bench(|| secrets.matches(black_box(CODE)));
}

/// The same with a 60-character code.
#[divan::bench(args = [1, 2], sample_size = 1000)]
fn shared_secret_long(b: Bencher<'_, '_>, count: usize) {
    let secrets = secrets(LONG_CODE, count);
    b.bench(|| secrets.matches(black_box(LONG_CODE)));
}
