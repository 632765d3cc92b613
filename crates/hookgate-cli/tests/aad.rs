//! `hookgate listen --aad-authority`: Azure AD bearer tokens checked against a local
//! OpenID Connect issuer (the workspace's test issuer), sent with `hookgate send
//! --bearer`.

#![cfg(unix)]

mod common;
#[path = "../../../tests/common/oidc.rs"]
mod oidc;

use common::{Hookgate, command, event, send_binary};
use oidc::{CLIENT_ID, OidcIssuer, ROLE, TestKey};

#[tokio::test(flavor = "multi_thread")]
async fn azure_ad_tokens_are_checked() {
    let issuer = OidcIssuer::start(&[&TestKey::a()]).await;
    let authority = issuer.custom_authority();
    let hg = Hookgate::start(
        &[
            "--aad-authority",
            &authority,
            "--aad-audience",
            CLIENT_ID,
            "--aad-role",
            ROLE,
        ],
        &[],
    );
    let url = hg.url("/api/events");
    assert_eq!(send_binary(&url, &event("a1")).await.status(), 401);
    let token = TestKey::a().sign(&issuer.custom_claims());
    let answer = common::client()
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/cloudevents+json")
        .body(hookgate::encode::structured(&event("a2")).1)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // A token without the role is refused.
    let mut claims = issuer.custom_claims();
    claims["roles"] = serde_json::json!([]);
    let no_role = TestKey::a().sign(&claims);
    let (send_ok, send_refused) = tokio::task::spawn_blocking(move || {
        let run = |token: &str| {
            command()
                .args([
                    "send",
                    &url,
                    "--type",
                    "t",
                    "--source",
                    "/aad",
                    "--attempts",
                    "1",
                    "--bearer",
                    token,
                ])
                .output()
                .unwrap()
                .status
                .code()
        };
        (run(&token), run(&no_role))
    })
    .await
    .unwrap();
    assert_eq!(send_ok, Some(0));
    assert_eq!(send_refused, Some(1));
    assert_eq!(hg.stdout_events_wait(2).len(), 2);
}
