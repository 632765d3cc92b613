//! Azure AD bearer tokens against a real local OpenID Connect issuer over HTTP
//! (`tests/common/oidc.rs` at the workspace root), with the default reqwest client.

#![cfg(feature = "aad")]
#![allow(missing_docs)]

#[path = "../../../tests/common/oidc.rs"]
mod oidc;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hookgate_core::auth::aad::{AadClaims, AadPolicy, AadPolicyBuilder};
use hookgate_core::{Error, ErrorKind};
use oidc::{
    APP_ID, AUDIENCE, CLIENT_ID, Mode, OTHER_TENANT, OidcIssuer, ROLE, TENANT, TestKey, now,
};
use serde_json::{Value, json};

/// Every test body runs under this bound.
async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), test)
        .await
        .expect("the test finished within 60 s")
}

/// A single-tenant policy (the tenant forms of `authority`) whose authority host
/// is the local issuer.
fn tenant_policy(issuer: &OidcIssuer) -> AadPolicyBuilder {
    AadPolicy::builder()
        .authority(TENANT)
        .authority_host(issuer.base_url())
        .audiences([AUDIENCE, CLIENT_ID])
        .fetch_retry_interval(Duration::from_secs(2))
}

fn expect_err(result: Result<AadClaims, Error>, kind: ErrorKind, detail: &str) -> Error {
    let err = result.expect_err("the token must be refused");
    assert_eq!(err.kind(), kind, "{}", err.detail());
    assert!(
        err.detail().contains(detail),
        "detail `{}` should contain `{detail}`",
        err.detail()
    );
    err
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().expect("an object") {
        if v.is_null() {
            claims.as_object_mut().expect("an object").remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

#[tokio::test]
async fn valid_v1_and_v2_tokens() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();

        let v1 = key.sign(&OidcIssuer::v1_claims(TENANT));
        let claims = policy.validate(&v1).await.unwrap();
        assert_eq!(claims.tenant_id.as_deref(), Some(TENANT));
        assert_eq!(claims.app_id.as_deref(), Some(APP_ID));
        assert_eq!(claims.roles, [ROLE]);
        assert_eq!(claims.audience, AUDIENCE);
        assert_eq!(claims.issuer, OidcIssuer::v1_issuer(TENANT));
        assert_eq!(claims.version.as_deref(), Some("1.0"));
        assert!(claims.object_id.is_some() && claims.subject.is_some());
        assert!(claims.expires_at > now());

        let v2 = key.sign(&issuer.v2_claims(TENANT));
        let claims = policy.validate(&v2).await.unwrap();
        assert_eq!(claims.audience, CLIENT_ID);
        assert_eq!(claims.app_id.as_deref(), Some(APP_ID), "azp in v2");
        assert_eq!(claims.issuer, issuer.v2_issuer(TENANT));
        assert_eq!(claims.version.as_deref(), Some("2.0"));

        // One discovery and one JWKS fetch for both.
        assert_eq!(
            (issuer.discovery_requests(), issuer.jwks_requests()),
            (1, 1)
        );
        let stats = policy.stats();
        assert_eq!((stats.key_fetches, stats.signature_checks), (1, 2));
        // `aud` as an array with one accepted value.
        let array = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"aud": ["api://other", AUDIENCE]}),
        ));
        assert_eq!(policy.validate(&array).await.unwrap().audience, AUDIENCE);
    })
    .await;
}

#[tokio::test]
async fn custom_authority_uses_the_discovered_issuer() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = AadPolicy::builder()
            .authority(issuer.custom_authority())
            .audience(CLIENT_ID)
            .build()
            .unwrap();
        assert_eq!(policy.fetch_keys().await.unwrap(), 1);
        let claims = policy
            .validate(&key.sign(&issuer.custom_claims()))
            .await
            .unwrap();
        assert_eq!(claims.issuer, issuer.custom_authority());
        // An Azure issuer is not this authority's.
        let azure = key.sign(&issuer.v2_claims(TENANT));
        expect_err(
            policy.validate(&azure).await,
            ErrorKind::InvalidCredentials,
            "is not accepted",
        );

        // A templated issuer in the discovery document (as Azure's `common` has).
        let templated = OidcIssuer::start(&[&key]).await;
        templated.set_discovery_issuer(&format!("{}{{tenantid}}/v2.0", templated.base_url()));
        let policy = AadPolicy::builder()
            .authority(templated.custom_authority())
            .audience(CLIENT_ID)
            .build()
            .unwrap();
        let ok = key.sign(&templated.v2_claims(OTHER_TENANT));
        assert_eq!(
            policy.validate(&ok).await.unwrap().tenant_id.as_deref(),
            Some(OTHER_TENANT)
        );
        // `iss` of another tenant than the token's `tid`.
        let mismatch = key.sign(&with(
            templated.v2_claims(TENANT),
            json!({"iss": templated.v2_issuer(OTHER_TENANT)}),
        ));
        expect_err(
            policy.validate(&mismatch).await,
            ErrorKind::InvalidCredentials,
            "is not accepted",
        );
    })
    .await;
}

#[tokio::test]
async fn expired_and_not_yet_valid() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();
        let claims = OidcIssuer::v1_claims(TENANT);
        let now = now();

        let expired = key.sign(&with(claims.clone(), json!({"exp": now - 400})));
        expect_err(
            policy.validate(&expired).await,
            ErrorKind::InvalidCredentials,
            "the token expired at ",
        );
        // Within the default 300 s of skew.
        let just_expired = key.sign(&with(claims.clone(), json!({"exp": now - 100})));
        policy.validate(&just_expired).await.unwrap();

        let early = key.sign(&with(claims.clone(), json!({"nbf": now + 400})));
        expect_err(
            policy.validate(&early).await,
            ErrorKind::InvalidCredentials,
            "the token is not valid before ",
        );
        let almost = key.sign(&with(claims.clone(), json!({"nbf": now + 100})));
        policy.validate(&almost).await.unwrap();

        let no_exp = key.sign(&with(claims.clone(), json!({"exp": null})));
        expect_err(
            policy.validate(&no_exp).await,
            ErrorKind::InvalidCredentials,
            "no `exp`",
        );

        // No skew at all.
        let strict = tenant_policy(&issuer)
            .clock_skew(Duration::ZERO)
            .build()
            .unwrap();
        let past = key.sign(&with(claims, json!({"exp": now - 5})));
        expect_err(
            strict.validate(&past).await,
            ErrorKind::InvalidCredentials,
            "clock skew allowed 0 s",
        );
    })
    .await;
}

#[tokio::test]
async fn wrong_audience_and_issuer() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();

        let aud = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"aud": "api://other"}),
        ));
        let err = expect_err(
            policy.validate(&aud).await,
            ErrorKind::InvalidCredentials,
            "audience `api://other` is not accepted",
        );
        assert!(err.detail().contains(AUDIENCE) && err.detail().contains(CLIENT_ID));

        for iss in [
            // Another tenant's issuer.
            OidcIssuer::v1_issuer(OTHER_TENANT),
            // The public cloud's v2 issuer: not this authority host's.
            format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
            // Close, but not exact.
            format!("{}x", OidcIssuer::v1_issuer(TENANT)),
            OidcIssuer::v1_issuer(TENANT).to_uppercase(),
        ] {
            let token = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"iss": iss})));
            expect_err(
                policy.validate(&token).await,
                ErrorKind::InvalidCredentials,
                "is not accepted (expected one of",
            );
        }
        let no_iss = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"iss": null})));
        expect_err(
            policy.validate(&no_iss).await,
            ErrorKind::InvalidCredentials,
            "no `iss`",
        );
    })
    .await;
}

#[tokio::test]
async fn multi_tenant_with_and_without_allowlist() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let open = AadPolicy::builder()
            .authority("organizations")
            .authority_host(issuer.base_url())
            .audiences([AUDIENCE, CLIENT_ID])
            .build()
            .unwrap();
        let listed = AadPolicy::builder()
            .authority("common")
            .authority_host(issuer.base_url())
            .audiences([AUDIENCE, CLIENT_ID])
            .allowed_tenants([TENANT.to_uppercase()])
            .build()
            .unwrap();

        for tid in [TENANT, OTHER_TENANT] {
            let v1 = key.sign(&OidcIssuer::v1_claims(tid));
            let v2 = key.sign(&issuer.v2_claims(tid));
            for token in [&v1, &v2] {
                let claims = open.validate(token).await.unwrap();
                assert_eq!(claims.tenant_id.as_deref(), Some(tid));
                let result = listed.validate(token).await;
                if tid == TENANT {
                    result.unwrap();
                } else {
                    let err = expect_err(
                        result,
                        ErrorKind::Forbidden,
                        &format!("tenant `{OTHER_TENANT}` is not allowed"),
                    );
                    assert_eq!(err.status(), 403);
                }
            }
        }
        // The issuer of one tenant with the `tid` of another: the template with the
        // token's `tid` must match exactly.
        let mixed = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"iss": OidcIssuer::v1_issuer(OTHER_TENANT)}),
        ));
        expect_err(
            open.validate(&mixed).await,
            ErrorKind::InvalidCredentials,
            "is not accepted",
        );
        let no_tid = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"tid": null})));
        expect_err(
            open.validate(&no_tid).await,
            ErrorKind::InvalidCredentials,
            "no `tid` claim",
        );
    })
    .await;
}

#[tokio::test]
async fn other_algorithms_are_refused_before_any_fetch() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();
        let claims = OidcIssuer::v1_claims(TENANT);

        let none = oidc::unsigned_token(&key.kid, &claims);
        expect_err(
            policy.validate(&none).await,
            ErrorKind::InvalidCredentials,
            "signed with `none`; only RS256",
        );
        // Algorithm confusion: HS256 with the RSA public key as the HMAC secret.
        let confused = oidc::hs256_token(&key.kid, key.public_pem, &claims);
        expect_err(
            policy.validate(&confused).await,
            ErrorKind::InvalidCredentials,
            "signed with `HS256`; only RS256",
        );
        let ps256 = oidc::raw_token(&json!({"alg": "PS256", "kid": key.kid}), &claims, "c2ln");
        expect_err(
            policy.validate(&ps256).await,
            ErrorKind::InvalidCredentials,
            "`PS256`",
        );
        for garbage in ["", "not a token", "a.b", "a.b.c.d", "!!!.e30.c2ln"] {
            expect_err(
                policy.validate(garbage).await,
                ErrorKind::InvalidCredentials,
                "token",
            );
        }
        assert_eq!(issuer.discovery_requests() + issuer.jwks_requests(), 0);
        assert_eq!(policy.stats().signature_checks, 0);
    })
    .await;
}

#[tokio::test]
async fn a_valid_kid_with_another_keys_signature() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();
        let forged = TestKey::c()
            .with_kid(&key.kid)
            .sign(&OidcIssuer::v1_claims(TENANT));
        expect_err(
            policy.validate(&forged).await,
            ErrorKind::InvalidCredentials,
            "the signature does not match the signing key `key-a`",
        );
        // A genuine signature over other claims (a tampered payload).
        let genuine = key.sign(&OidcIssuer::v1_claims(TENANT));
        let mut parts: Vec<&str> = genuine.split('.').collect();
        let other = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"roles": ["Admin"]}),
        ));
        parts[1] = other.split('.').nth(1).unwrap();
        expect_err(
            policy.validate(&parts.join(".")).await,
            ErrorKind::InvalidCredentials,
            "the signature does not match",
        );
        policy.validate(&genuine).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn unknown_kid_refetches_once_under_100_concurrent_requests() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer)
            .unknown_kid_refetch_interval(Duration::from_secs(60))
            .build()
            .unwrap();
        policy
            .validate(&key.sign(&OidcIssuer::v1_claims(TENANT)))
            .await
            .unwrap();
        assert_eq!(issuer.jwks_requests(), 1);

        // Slow answers, so that the 100 requests overlap the refetch.
        issuer.set_delay(Duration::from_millis(300));
        let unknown = TestKey::c()
            .with_kid("key-unknown")
            .sign(&OidcIssuer::v1_claims(TENANT));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let policy = policy.clone();
            let token = unknown.clone();
            tasks.spawn(async move { policy.validate(&token).await });
        }
        let mut refused = 0;
        while let Some(result) = tasks.join_next().await {
            expect_err(
                result.unwrap(),
                ErrorKind::InvalidCredentials,
                "the signing key `key-unknown` is not among the 1 keys",
            );
            refused += 1;
        }
        assert_eq!(refused, 100);
        assert_eq!(issuer.jwks_requests(), 2, "exactly one refetch");
        assert_eq!(issuer.discovery_requests(), 2);

        // Within the interval: refused without a fetch.
        expect_err(
            policy.validate(&unknown).await,
            ErrorKind::InvalidCredentials,
            "is not among",
        );
        assert_eq!(issuer.jwks_requests(), 2);
        assert_eq!(policy.stats().key_fetches, 2);
    })
    .await;
}

#[tokio::test]
async fn key_rotation_is_picked_up_after_one_refetch() {
    bounded(async {
        let (a, b) = (TestKey::a(), TestKey::b());
        let issuer = OidcIssuer::start(&[&a]).await;
        let policy = tenant_policy(&issuer).build().unwrap();
        policy
            .validate(&a.sign(&OidcIssuer::v1_claims(TENANT)))
            .await
            .unwrap();

        issuer.publish(&[&b]);
        let new = b.sign(&issuer.v2_claims(TENANT));
        let claims = policy.validate(&new).await.unwrap();
        assert_eq!(claims.version.as_deref(), Some("2.0"));
        assert_eq!(issuer.jwks_requests(), 2);
        // The new key is cached: another token needs no fetch.
        policy
            .validate(&b.sign(&OidcIssuer::v1_claims(TENANT)))
            .await
            .unwrap();
        assert_eq!(issuer.jwks_requests(), 2);
        // The withdrawn key signs no new token (and the unknown-kid refetch was
        // just spent).
        let old = a.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"sub": "new"})));
        expect_err(
            policy.validate(&old).await,
            ErrorKind::InvalidCredentials,
            "the signing key `key-a` is not among",
        );
        assert_eq!(issuer.jwks_requests(), 2);
    })
    .await;
}

#[tokio::test]
async fn issuer_down_with_keys_cached_still_accepts() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer)
            .key_ttl(Duration::from_secs(1))
            .build()
            .unwrap();
        assert_eq!(policy.fetch_keys().await.unwrap(), 1);
        issuer.stop();

        // Fresh keys: no fetch needed.
        let first = key.sign(&OidcIssuer::v1_claims(TENANT));
        policy.validate(&first).await.unwrap();

        // Expired keys: the refresh fails, the stale keys serve.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let second = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"sub": "2"})));
        policy.validate(&second).await.unwrap();
        let stats = policy.stats();
        assert_eq!((stats.key_fetches, stats.key_fetch_failures), (2, 1));

        // Within the retry interval: stale keys without another attempt.
        let third = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"sub": "3"})));
        policy.validate(&third).await.unwrap();
        assert_eq!(policy.stats().key_fetches, 2);
    })
    .await;
}

#[tokio::test]
async fn issuer_down_without_keys_is_503_with_retry_after() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        issuer.set_mode(Mode::Failing);
        let policy = tenant_policy(&issuer)
            .fetch_retry_interval(Duration::from_secs(7))
            .build()
            .unwrap();
        let token = key.sign(&OidcIssuer::v1_claims(TENANT));
        let err = expect_err(
            policy.validate(&token).await,
            ErrorKind::KeysUnavailable,
            "cannot be fetched",
        );
        // The issuer's URL and its answer go to the log, not to the caller (issue 9).
        assert!(
            !err.detail().contains("500") && !err.detail().contains("127.0.0.1"),
            "{}",
            err.detail()
        );
        assert_eq!(err.status(), 503);
        assert_eq!(err.retry_after(), Some(7));
        let problem = err.problem();
        assert!(
            problem
                .headers()
                .iter()
                .any(|(name, value)| *name == "retry-after" && value == "7"),
            "{:?}",
            problem.headers()
        );
        assert!(!err.detail().contains(&token));

        // No new fetch within the retry interval.
        let err = expect_err(
            policy.validate(&token).await,
            ErrorKind::KeysUnavailable,
            "retry later",
        );
        assert!(matches!(err.retry_after(), Some(1..=7)));
        assert_eq!(issuer.discovery_requests(), 1);
        expect_err(
            policy.fetch_keys().await.map(|_| AadClaims::default()),
            ErrorKind::KeysUnavailable,
            "cannot be fetched",
        );

        // A stopped issuer (connection refused) as well.
        let stopped = OidcIssuer::start(&[&key]).await;
        stopped.stop();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let policy = tenant_policy(&stopped).build().unwrap();
        expect_err(
            policy.validate(&token).await,
            ErrorKind::KeysUnavailable,
            "cannot be fetched",
        );
    })
    .await;
}

#[tokio::test]
async fn fetches_time_out() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        issuer.set_delay(Duration::from_secs(20));
        let policy = tenant_policy(&issuer)
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        expect_err(
            policy.fetch_keys().await.map(|_| AadClaims::default()),
            ErrorKind::KeysUnavailable,
            "cannot be fetched",
        );
        assert!(started.elapsed() < Duration::from_secs(10));
    })
    .await;
}

#[tokio::test]
async fn unusable_keys_are_skipped() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let mut enc = key.jwk();
        enc["use"] = json!("enc");
        let mut ec = key.jwk();
        ec["kty"] = json!("EC");
        issuer.publish_raw(vec![enc, ec, json!({"kty": "RSA", "kid": 5})]);
        let policy = tenant_policy(&issuer).build().unwrap();
        expect_err(
            policy.fetch_keys().await.map(|_| AadClaims::default()),
            ErrorKind::KeysUnavailable,
            "has no usable key",
        );
        let mut usable = key.jwk();
        usable["kid"] = json!("key-a");
        let mut enc = key.jwk();
        enc["use"] = json!("enc");
        issuer.publish_raw(vec![enc, usable]);
        assert_eq!(policy.fetch_keys().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn roles_and_applications_are_403() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer)
            .required_roles([ROLE, "Webhook.Write"])
            .build()
            .unwrap();
        let token = key.sign(&OidcIssuer::v1_claims(TENANT));
        let err = expect_err(
            policy.validate(&token).await,
            ErrorKind::Forbidden,
            "the token lacks the required role `Webhook.Write`",
        );
        assert_eq!(err.status(), 403);
        // Every listed role must be present.
        let both = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"roles": ["Webhook.Write", ROLE]}),
        ));
        policy.validate(&both).await.unwrap();
        let none = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"roles": null})));
        expect_err(
            policy.validate(&none).await,
            ErrorKind::Forbidden,
            "required roles",
        );

        let apps = tenant_policy(&issuer)
            .allowed_app_ids([APP_ID.to_uppercase()])
            .build()
            .unwrap();
        apps.validate(&token).await.unwrap();
        let other = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"appid": "00000000-0000-0000-0000-00000000000a"}),
        ));
        expect_err(
            apps.validate(&other).await,
            ErrorKind::Forbidden,
            "application `00000000-0000-0000-0000-00000000000a` is not allowed",
        );
        // A cached token is authorized again on every hit.
        expect_err(
            apps.validate(&other).await,
            ErrorKind::Forbidden,
            "application",
        );
        assert_eq!(apps.stats().token_cache_hits, 1);
    })
    .await;
}

#[tokio::test]
async fn a_64_kib_token_is_refused_before_parsing() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();
        let filler = "A".repeat(64 * 1024);
        let big = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"x": filler})));
        assert!(big.len() > 64 * 1024);
        for token in [big.as_str(), &"a".repeat(64 * 1024)] {
            let err = expect_err(
                policy.validate(token).await,
                ErrorKind::InvalidCredentials,
                "over the limit of 16384 bytes",
            );
            let problem = err.problem();
            assert_eq!(problem.status(), 401);
            let www = problem
                .headers()
                .iter()
                .find(|(name, _)| *name == "www-authenticate")
                .map(|(_, v)| v.clone())
                .expect("WWW-Authenticate");
            assert!(www.starts_with("Bearer error=\"invalid_token\""), "{www}");
            assert!(www.len() < 200);
        }
        assert_eq!(issuer.discovery_requests() + issuer.jwks_requests(), 0);
    })
    .await;
}

#[tokio::test]
async fn verified_tokens_are_cached() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer).build().unwrap();
        let token = key.sign(&OidcIssuer::v1_claims(TENANT));
        let first = policy.validate(&token).await.unwrap();
        let second = policy.clone().validate(&token).await.unwrap();
        assert_eq!(first, second);
        let stats = policy.stats();
        assert_eq!(stats.signature_checks, 1);
        assert_eq!(stats.token_cache_hits, 1);
        assert_eq!(stats.token_cache_entries, 1);

        // Even with the key withdrawn and the issuer down, the cached token passes
        // without a fetch.
        issuer.publish(&[]);
        issuer.set_mode(Mode::Failing);
        policy.validate(&token).await.unwrap();
        assert_eq!(policy.stats().signature_checks, 1);
        assert_eq!(issuer.jwks_requests(), 1);

        // Without the cache, every request verifies.
        issuer.publish(&[&key]);
        issuer.set_mode(Mode::Up);
        let uncached = tenant_policy(&issuer)
            .token_cache_capacity(0)
            .build()
            .unwrap();
        uncached.validate(&token).await.unwrap();
        uncached.validate(&token).await.unwrap();
        let stats = uncached.stats();
        assert_eq!((stats.signature_checks, stats.token_cache_hits), (2, 0));
    })
    .await;
}

#[tokio::test]
async fn a_cached_token_expires_with_its_exp() {
    bounded(async {
        let key = TestKey::a();
        let issuer = OidcIssuer::start(&[&key]).await;
        let policy = tenant_policy(&issuer)
            .clock_skew(Duration::ZERO)
            .build()
            .unwrap();
        let exp = now() + 1;
        let token = key.sign(&with(OidcIssuer::v1_claims(TENANT), json!({"exp": exp})));
        policy.validate(&token).await.unwrap();
        while now() <= exp {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        expect_err(
            policy.validate(&token).await,
            ErrorKind::InvalidCredentials,
            "the token expired at",
        );
    })
    .await;
}

#[test]
fn configuration_errors() {
    let ok = || AadPolicy::builder().authority(TENANT).audience(AUDIENCE);
    assert!(ok().build().is_ok());
    for (builder, expected) in [
        (AadPolicy::builder().audience(AUDIENCE), "no authority"),
        (AadPolicy::builder().authority(TENANT), "no audience"),
        (
            ok().authority("contoso.onmicrosoft.com"),
            "neither a tenant id",
        ),
        (ok().authority("http://issuer.example/t"), "plain http"),
        (ok().authority_host("http://login.example/"), "plain http"),
        (ok().audience(" "), "an empty audience"),
        (ok().issuers(Vec::<String>::new()), "at least one issuer"),
        (ok().key_ttl(Duration::ZERO), "`key_ttl`"),
    ] {
        let err = builder.build().expect_err(expected).to_string();
        assert!(
            err.contains(expected),
            "`{err}` should contain `{expected}`"
        );
    }
    // A loopback host may use http (a local test issuer).
    assert!(ok().authority("http://127.0.0.1:1/t/v2.0").build().is_ok());
    assert!(ok().authority("http://[::1]:1/t").build().is_ok());
}

#[test]
fn explicit_issuers_and_a_custom_client() {
    use hookgate_core::client::{
        BoxFuture, ClientError, HttpClient, OutboundRequest, OutboundResponse,
    };

    /// Serves the discovery document and the JWKS from memory; records requests.
    #[derive(Debug, Default)]
    struct Memory {
        jwks: String,
        seen: std::sync::Mutex<Vec<(String, Duration, Duration, usize)>>,
    }

    impl HttpClient for Memory {
        fn send(&self, r: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>> {
            self.seen.lock().unwrap().push((
                r.url.to_string(),
                r.connect_timeout,
                r.timeout,
                r.body_limit,
            ));
            let body = if r.url.path().ends_with("openid-configuration") {
                json!({"jwks_uri": "https://keys.example/keys"}).to_string()
            } else {
                self.jwks.clone()
            };
            Box::pin(async move { Ok(OutboundResponse::new(200, body)) })
        }
    }

    let key = TestKey::a();
    let client = Arc::new(Memory {
        jwks: json!({"keys": [key.jwk()]}).to_string(),
        ..Memory::default()
    });
    let policy = AadPolicy::builder()
        .authority(TENANT)
        .audience(AUDIENCE)
        .issuers(["https://sts.chinacloudapi.cn/{tenantid}/"])
        .client(client.clone())
        .connect_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(2))
        .response_body_limit(4096)
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let china = key.sign(&with(
            OidcIssuer::v1_claims(TENANT),
            json!({"iss": format!("https://sts.chinacloudapi.cn/{TENANT}/")}),
        ));
        policy.validate(&china).await.unwrap();
        let public = key.sign(&OidcIssuer::v1_claims(TENANT));
        expect_err(
            policy.validate(&public).await,
            ErrorKind::InvalidCredentials,
            "is not accepted",
        );
        // `{tenantid}` is the configured tenant, not the token's.
        let other = key.sign(&with(
            OidcIssuer::v1_claims(OTHER_TENANT),
            json!({"iss": format!("https://sts.chinacloudapi.cn/{OTHER_TENANT}/")}),
        ));
        expect_err(
            policy.validate(&other).await,
            ErrorKind::InvalidCredentials,
            &format!("expected `https://sts.chinacloudapi.cn/{TENANT}/`"),
        );
    });
    let seen = client.seen.lock().unwrap().clone();
    let second = Duration::from_secs(1);
    assert_eq!(
        seen,
        [
            (
                format!(
                    "https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
                ),
                second,
                2 * second,
                4096
            ),
            (
                "https://keys.example/keys".to_owned(),
                second,
                2 * second,
                4096
            ),
        ]
    );
}
