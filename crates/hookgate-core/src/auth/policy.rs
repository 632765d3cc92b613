//! One authentication policy: any of the configured methods may accept a request.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use futures_util::future::{self, Either};

#[cfg(feature = "aad")]
use super::aad::{AadClaims, AadPolicy};
use super::reload::CredentialsHandle;
use super::secret::{SecretPlace, SharedSecrets};
use super::signature::WebPubSubKeys;
use crate::error::{Challenge, ConfigError, Error, ErrorKind};
use crate::headers::HeaderSource;

/// Who the request was authenticated as; put into the request extensions by the
/// adapters, and read by the `Authenticated` and (feature `aad`) `AadCaller`
/// extractors.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identity {
    /// A shared secret matched.
    SharedSecret {
        /// Where it was found.
        place: SecretPlace,
        /// The label of the sender that holds it (see
        /// [`SharedSecrets::labeled`]); `None` for a secret without one.
        label: Option<Arc<str>>,
    },
    /// An Azure AD access token was validated (feature `aad`).
    #[cfg(feature = "aad")]
    Aad(AadClaims),
    /// A Web PubSub `ce-signature` matched.
    WebPubSub {
        /// The host (the Web PubSub resource) the matching key is bound to (see
        /// [`WebPubSubKeys::per_host`]); `None` for a key bound to none.
        host: Option<Arc<str>>,
        /// The request's `ce-hub`, when it has one.
        hub: Option<String>,
    },
}

impl Identity {
    /// Whether the credentials came in the URL: the response then carries
    /// `Cache-Control: private`.
    #[must_use]
    pub fn from_query(&self) -> bool {
        matches!(self, Self::SharedSecret { place, .. } if place.in_query())
    }

    /// The sender's label when the configuration gave it: a shared secret's label,
    /// the host a Web PubSub key is bound to. A bounded set, fit for a metric label
    /// and a span field; never a value a request chose (an Azure AD caller's app id
    /// is the token's), never a secret.
    #[must_use]
    pub fn configured_label(&self) -> Option<&Arc<str>> {
        match self {
            Self::SharedSecret { label, .. } => label.as_ref(),
            Self::WebPubSub { host, .. } => host.as_ref(),
            #[cfg(feature = "aad")]
            Self::Aad(_) => None,
        }
    }

    /// The token's claims, for [`Identity::Aad`] (feature `aad`).
    #[cfg(feature = "aad")]
    #[must_use]
    pub fn aad_claims(&self) -> Option<&AadClaims> {
        match self {
            Self::Aad(claims) => Some(claims),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub(super) struct Inner {
    /// Replaced whole by a [`CredentialsHandle`].
    pub(super) secrets: ArcSwapOption<SharedSecrets>,
    #[cfg(feature = "aad")]
    aad: Option<AadPolicy>,
    /// Replaced whole by a [`CredentialsHandle`].
    pub(super) webpubsub: ArcSwapOption<WebPubSubKeys>,
}

/// How a receiver authenticates its senders: any of shared secrets, Azure AD bearer
/// tokens and Web PubSub signatures, as configured. A request is accepted when one
/// configured method accepts its credentials; configure one method to require it.
/// Cheap to clone.
///
/// Answers, as [`Error`]s whose problem carries the right headers:
/// 401 `missing-credentials` / `invalid-credentials` with a `WWW-Authenticate`
/// challenge for the scheme of each method that was checked ([`Challenge`]):
/// `Bearer error="invalid_token", error_description="…"` for Azure AD tokens and
/// shared secrets (in `Authorization: Bearer`, `?access_token=` or `?code=`: the
/// secret may be sent as a bearer token, so that is the scheme to answer with),
/// `WebPubSub-Signature error="invalid_signature", error_description="…"` for a
/// Web PubSub `ce-signature`; a request with no credentials at all is challenged
/// with the bare scheme of every configured method (`Bearer, WebPubSub-Signature`,
/// no error code, as RFC 6750 asks),
/// 403 `forbidden` for a valid caller lacking a role, tenant or app id, and 503
/// `keys-unavailable` with `Retry-After` when no signing keys can be had. Details say
/// what failed and never echo a secret.
#[derive(Clone, Debug)]
pub struct AuthPolicy(Arc<Inner>);

/// Builder of an [`AuthPolicy`].
#[derive(Debug, Default)]
#[must_use]
pub struct AuthPolicyBuilder {
    secrets: Option<SharedSecrets>,
    #[cfg(feature = "aad")]
    aad: Option<AadPolicy>,
    webpubsub: Option<WebPubSubKeys>,
}

impl AuthPolicyBuilder {
    /// Accepts these shared secrets.
    pub fn shared_secrets(mut self, secrets: SharedSecrets) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// Accepts Azure AD access tokens that `policy` validates (feature `aad`).
    #[cfg(feature = "aad")]
    pub fn aad(mut self, policy: AadPolicy) -> Self {
        self.aad = Some(policy);
        self
    }

    /// Accepts Web PubSub requests signed with one of `keys`.
    pub fn web_pubsub_keys(mut self, keys: WebPubSubKeys) -> Self {
        self.webpubsub = Some(keys);
        self
    }

    /// Builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] when no method is configured.
    pub fn build(self) -> Result<AuthPolicy, ConfigError> {
        #[cfg(feature = "aad")]
        let (aad, methods) = (self.aad.is_some(), "shared_secrets, aad or web_pubsub_keys");
        #[cfg(not(feature = "aad"))]
        let (aad, methods) = (
            false,
            "shared_secrets or web_pubsub_keys (or aad, with the `aad` feature)",
        );
        if self.secrets.is_none() && !aad && self.webpubsub.is_none() {
            return Err(ConfigError(format!(
                "the auth policy has no method: call {methods}"
            )));
        }
        Ok(AuthPolicy(Arc::new(Inner {
            secrets: ArcSwapOption::from_pointee(self.secrets),
            #[cfg(feature = "aad")]
            aad: self.aad,
            webpubsub: ArcSwapOption::from_pointee(self.webpubsub),
        })))
    }
}

/// The credentials a request carries, read from it at once so that checking them can
/// happen later without borrowing the request.
#[derive(Debug, Default)]
struct Presented {
    code: Option<String>,
    access_token: Option<String>,
    bearer: Option<String>,
    header: Option<String>,
    malformed_authorization: bool,
    signatures: Vec<Vec<u8>>,
    connection_id: Option<Vec<u8>>,
    origin: Option<String>,
    hub: Option<String>,
}

impl AuthPolicy {
    /// A builder with no method yet.
    pub fn builder() -> AuthPolicyBuilder {
        AuthPolicyBuilder::default()
    }

    /// A handle that replaces this policy's shared secrets and Web PubSub keys
    /// while requests run (every clone of the policy, and every layer or middleware
    /// built on it, sees the new set at its next request). See [`CredentialsHandle`].
    #[must_use]
    pub fn credentials(&self) -> CredentialsHandle {
        CredentialsHandle(Arc::clone(&self.0))
    }

    /// Whether Azure AD tokens are accepted.
    #[cfg(feature = "aad")]
    fn has_aad(&self) -> bool {
        self.0.aad.is_some()
    }

    /// Whether Azure AD tokens are accepted: never without the `aad` feature.
    #[cfg(not(feature = "aad"))]
    fn has_aad(&self) -> bool {
        false
    }

    fn presented(&self, query: Option<&str>, headers: &impl HeaderSource) -> Presented {
        let mut p = Presented::default();
        let secrets = self.0.secrets.load();
        if let (Some(query), Some(secrets)) = (query, &*secrets) {
            for (name, value) in form_urlencoded::parse(query.as_bytes()) {
                if name == secrets.param() {
                    p.code.get_or_insert_with(|| value.into_owned());
                } else if name == "access_token" {
                    p.access_token.get_or_insert_with(|| value.into_owned());
                }
            }
        }
        if let Some(name) = secrets.as_deref().and_then(SharedSecrets::header) {
            p.header = headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v).trim().to_owned());
        }
        if let Some(value) = headers.get("authorization") {
            match std::str::from_utf8(value).ok().and_then(bearer_token) {
                Some(token) => p.bearer = Some(token.to_owned()),
                None => p.malformed_authorization = true,
            }
        }
        if self.0.webpubsub.load().is_some() {
            for (name, value) in headers.iter() {
                if name.eq_ignore_ascii_case("ce-signature") {
                    p.signatures.push(value.to_vec());
                }
            }
            p.connection_id = headers.get("ce-connectionid").map(<[u8]>::to_vec);
            p.origin = headers
                .get("webhook-request-origin")
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(|v| v.trim().to_owned());
            p.hub = headers
                .get("ce-hub")
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_owned);
        }
        p
    }

    /// Authenticates a request from its query string and headers. What is needed is
    /// read at once; the returned future owns it (an Azure AD token may need the
    /// signing keys fetched).
    ///
    /// # Errors
    /// A 401, 403 or 503 [`Error`] as described on [`AuthPolicy`].
    pub fn authenticate(
        &self,
        query: Option<&str>,
        headers: &impl HeaderSource,
    ) -> impl Future<Output = Result<Identity, Error>> + Send + 'static {
        // A shared secret that matches (most requests of a receiver that uses them)
        // is found in place, with nothing copied; anything else is read out for the
        // full check, which also says what was wrong, in a future of its own (a
        // token's check is the larger one), so that the usual request's is small.
        match self.secret_match(query, headers) {
            Some(identity) => Either::Left(future::ready(Ok(identity))),
            None => {
                let (policy, presented) = (self.clone(), self.presented(query, headers));
                Either::Right(Box::pin(async move { policy.check(presented).await }))
            }
        }
    }

    /// The identity of a request whose shared secret matches, in the order the full
    /// check tries the places (`?code=`, `?access_token=`, `Authorization: Bearer`;
    /// the first value of each), read without copying.
    fn secret_match(&self, query: Option<&str>, headers: &impl HeaderSource) -> Option<Identity> {
        let secrets = self.0.secrets.load();
        let secrets = secrets.as_deref()?;
        let (mut code, mut access_token) = (None, None);
        for pair in query.unwrap_or_default().split('&') {
            // A pair with an escape (`%`, `+`) is decoded as the full check decodes it;
            // a plain one (the usual `code=<secret>`) is read in place.
            let (name, value) = if pair.contains(['%', '+']) {
                match form_urlencoded::parse(pair.as_bytes()).next() {
                    Some(decoded) => decoded,
                    None => continue,
                }
            } else {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (Cow::Borrowed(name), Cow::Borrowed(value))
            };
            if name.is_empty() && value.is_empty() {
                continue;
            }
            if name == secrets.param() {
                code.get_or_insert(value);
            } else if name == "access_token" {
                access_token.get_or_insert(value);
            }
        }
        let bearer = headers
            .get("authorization")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(bearer_token);
        let header = secrets
            .header()
            .and_then(|name| headers.get(name))
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim);
        [
            (SecretPlace::Code, code.as_deref()),
            (SecretPlace::AccessToken, access_token.as_deref()),
            (SecretPlace::Bearer, bearer),
            (SecretPlace::Header, header),
        ]
        .into_iter()
        .find_map(|(place, value)| {
            let index = secrets.find(value?)?;
            Some(Identity::SharedSecret {
                place,
                label: secrets.label(index),
            })
        })
    }

    async fn check(&self, p: Presented) -> Result<Identity, Error> {
        // The sets of this moment: a replacement while the check waits for Azure AD
        // keys applies to the next request.
        let (secrets, webpubsub) = (self.0.secrets.load_full(), self.0.webpubsub.load_full());
        let mut failure: Option<Error> = None;
        // The schemes of every method that refused the request: its 401 challenges
        // them all.
        let mut checked: Vec<Challenge> = Vec::new();
        let mut fail = |error: Error| {
            checked.extend(error.challenges());
            // Keep the most telling failure: 503 (retry) over 403 over 401.
            let rank = |e: &Error| match e.kind() {
                ErrorKind::KeysUnavailable => 3,
                ErrorKind::Forbidden => 2,
                _ => 1,
            };
            if failure.as_ref().is_none_or(|f| rank(&error) > rank(f)) {
                failure = Some(error);
            }
        };
        if let Some(secrets) = &secrets {
            let places = [
                (SecretPlace::Code, &p.code),
                (SecretPlace::AccessToken, &p.access_token),
                (SecretPlace::Bearer, &p.bearer),
                (SecretPlace::Header, &p.header),
            ];
            for (place, value) in places {
                if let Some(value) = value {
                    if let Some(index) = secrets.find(value) {
                        return Ok(Identity::SharedSecret {
                            place,
                            label: secrets.label(index),
                        });
                    }
                    if place != SecretPlace::Bearer || !self.has_aad() {
                        fail(
                            invalid(format!(
                                "the shared secret in {} is not accepted",
                                place_name(place, secrets)
                            ))
                            .with_challenge(Challenge::Bearer),
                        );
                    }
                }
            }
        }
        #[cfg(feature = "aad")]
        if let (Some(aad), Some(token)) = (&self.0.aad, &p.bearer) {
            match aad.validate(token).await {
                Ok(claims) => return Ok(Identity::Aad(claims)),
                Err(error) => fail(error),
            }
        }
        if let Some(keys) = &webpubsub
            && !p.signatures.is_empty()
        {
            let signatures = p.signatures.iter().map(Vec::as_slice);
            let matched = p
                .connection_id
                .as_ref()
                .map(|id| keys.find(signatures, id, p.origin.as_deref()));
            match matched {
                Some(Some(index)) => {
                    return Ok(Identity::WebPubSub {
                        host: keys.host(index),
                        hub: p.hub,
                    });
                }
                Some(_) => fail(
                    invalid(
                        "no `ce-signature` value matches the `ce-connectionId` under a configured access key",
                    )
                    .with_challenge(Challenge::WebPubSubSignature),
                ),
                None => fail(
                    invalid(
                        "`ce-signature` is present but `ce-connectionId`, which it signs, is missing",
                    )
                    .with_challenge(Challenge::WebPubSubSignature),
                ),
            }
        }
        if p.malformed_authorization {
            fail(
                invalid("the `Authorization` header is not `Bearer <token>`")
                    .with_challenge(Challenge::Bearer),
            );
        }
        Err(match failure {
            Some(error) if error.status() == 401 => checked
                .into_iter()
                .fold(error, |error, scheme| error.with_challenge(scheme)),
            Some(error) => error,
            None => self.missing(secrets.as_deref(), webpubsub.is_some()),
        })
    }

    fn missing(&self, secrets: Option<&SharedSecrets>, webpubsub: bool) -> Error {
        let mut expected = Vec::new();
        if let Some(secrets) = secrets {
            let header = secrets
                .header()
                .map(|name| format!(", the `{name}` header"))
                .unwrap_or_default();
            expected.push(format!(
                "a shared secret in `?{}=`, `?access_token=`{header} or `Authorization: Bearer`",
                secrets.param()
            ));
        }
        if self.has_aad() {
            expected.push("an Azure AD access token in `Authorization: Bearer`".to_owned());
        }
        if webpubsub {
            expected.push("a Web PubSub `ce-signature`".to_owned());
        }
        if expected.is_empty() {
            // Every method's credentials were taken away by a `CredentialsHandle`.
            return Error::new(
                ErrorKind::MissingCredentials,
                "no credentials are accepted at the moment: the receiver has no secret or key configured",
            )
            .with_challenge(Challenge::Bearer);
        }
        let error = Error::new(
            ErrorKind::MissingCredentials,
            format!("no credentials; expected {}", expected.join(", or ")),
        );
        // One challenge per configured method's scheme.
        let error = if secrets.is_some() || self.has_aad() {
            error.with_challenge(Challenge::Bearer)
        } else {
            error
        };
        if webpubsub {
            error.with_challenge(Challenge::WebPubSubSignature)
        } else {
            error
        }
    }
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidCredentials, detail)
}

fn place_name(place: SecretPlace, secrets: &SharedSecrets) -> String {
    match place {
        SecretPlace::Code => format!("`?{}=`", secrets.param()),
        SecretPlace::AccessToken => "`?access_token=`".to_owned(),
        SecretPlace::Header => format!("the `{}` header", secrets.header().unwrap_or_default()),
        _ => "`Authorization: Bearer`".to_owned(),
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::HeaderList;

    /// The in-place reading of the query finds exactly what the full check finds.
    #[tokio::test]
    async fn the_fast_path_reads_the_query_as_the_full_check_does() {
        let policy = AuthPolicy::builder()
            .shared_secrets(SharedSecrets::new(["s3cret", "a b"]).unwrap())
            .build()
            .unwrap();
        let none = HeaderList::default();
        for (query, accepted) in [
            ("code=s3cret", true),
            ("code=s3%63ret", true),
            ("c%6Fde=s3cret", true),
            ("code=a+b", true),
            ("code=a%20b", true),
            ("x&&=&code=s3cret", true),
            ("code=s3cret&code=guess", true),
            ("code=guess&code=s3cret", false),
            ("access_token=s3cret", true),
            ("code=guess&access_token=s3cret", true),
            ("code", false),
            ("code=", false),
            ("code=s3cret%", false),
            ("", false),
        ] {
            let fast = policy.secret_match(Some(query), &none);
            let full = policy.check(policy.presented(Some(query), &none)).await;
            assert_eq!(fast.is_some(), accepted, "{query}");
            assert_eq!(full.is_ok(), accepted, "{query}");
            if let Some(fast) = fast {
                assert_eq!(Ok(fast), full, "{query}");
            }
        }
    }
}
