//! The compact JWS form of a token, its header and the RS256 signature check.
//!
//! The signature is checked by jsonwebtoken's RustCrypto backend, called directly
//! (`jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER`) rather than through
//! jsonwebtoken's process-wide provider: see "Crypto backend" in the
//! [module docs](super).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::error::{Error, ErrorKind, excerpt};

/// The one accepted algorithm.
pub(super) const ALGORITHM: &str = "RS256";

/// A token split at its two dots.
#[derive(Debug)]
pub(super) struct Parts<'a> {
    /// `header.payload`, the signed bytes.
    pub(super) signed: &'a str,
    pub(super) header: &'a str,
    pub(super) payload: &'a str,
    pub(super) signature: &'a str,
}

/// What the header says.
#[derive(Debug)]
pub(super) struct Header {
    /// The key id: `kid`, or `x5t` when there is no `kid` (Azure AD v1 tokens carry
    /// both, with the same value).
    pub(super) kid: String,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    x5t: Option<String>,
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidCredentials, detail)
}

/// Splits `token` into its three parts.
pub(super) fn split(token: &str) -> Result<Parts<'_>, Error> {
    let not_jwt =
        || invalid("the bearer token is not a JWT (three base64url parts separated by dots)");
    let (signed, signature) = token.rsplit_once('.').ok_or_else(not_jwt)?;
    let (header, payload) = signed.split_once('.').ok_or_else(not_jwt)?;
    if header.is_empty() || payload.is_empty() || payload.contains('.') {
        return Err(not_jwt());
    }
    Ok(Parts {
        signed,
        header,
        payload,
        signature,
    })
}

/// Decodes base64url without padding (what JWS uses).
pub(super) fn b64(part: &str, what: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid(format!("the token {what} is not base64url")))
}

/// Parses the header and pins the algorithm: anything but RS256 (`none`, `HS256`,
/// …) is refused here, before any key is looked up.
pub(super) fn header(parts: &Parts<'_>) -> Result<Header, Error> {
    let bytes = b64(parts.header, "header")?;
    let raw: RawHeader = serde_json::from_slice(&bytes)
        .map_err(|_| invalid("the token header is not a JSON object with a string `alg`"))?;
    if raw.alg != ALGORITHM {
        return Err(invalid(format!(
            "the token is signed with `{}`; only {ALGORITHM} is accepted",
            excerpt(&raw.alg)
        )));
    }
    if raw.crit.is_some() {
        return Err(invalid(
            "the token header has `crit` extensions, which are not supported",
        ));
    }
    let kid = raw
        .kid
        .filter(|k| !k.is_empty())
        .or(raw.x5t.filter(|k| !k.is_empty()))
        .ok_or_else(|| invalid("the token header has no `kid`"))?;
    if parts.signature.is_empty() {
        return Err(invalid("the token has no signature"));
    }
    Ok(Header { kid })
}

/// Checks an RS256 signature over `signed`.
pub(super) fn verify(signed: &[u8], signature: &[u8], key: &DecodingKey) -> bool {
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    match (provider.verifier_factory)(&Algorithm::RS256, key) {
        Ok(verifier) => verifier.verify(signed, &signature.to_vec()).is_ok(),
        Err(_) => false,
    }
}

/// A known answer: an RS256 signature (RSA 2048, e = 65537) of [`SELF_CHECK_MESSAGE`].
pub(super) const SELF_CHECK_N: &str = "nf2j8tYPRtyazcXKZwUhnEaJLnQwRnE2j4yrSLOvB-2lwGKzcRSSvLXN1uEzQ1LOooBlwHfwYTyo6eJOdF4TSEjdMt68Y57kt0NTcpVg6CxOkBAstjM1Us-z6x-R66RNYANQBVnRUdZvf5l84h2OKiDvUUuoP8vi7gVxawEMMj8cYggKDAIXLvIkhlZzrLgzqpsUEYF2KfekdrAwpAN_6gS8lno1xHcwov0G9lt900dIl3IFLdWyWU3F9HdaguU40FN2YaV_vLx5GdEG2QCO31HnWdzccOjhlVE39ExLYKr1SC89uRPr2xNjryshfyL-z204at_okPaLK7Er_C6daQ";
const SELF_CHECK_MESSAGE: &[u8] = b"hookgate jsonwebtoken self-check";
const SELF_CHECK_SIGNATURE: &str = "NIdFgSgQIfGqijPIZQn5Fjt8SWsKw1m3dOVtjRCXYu4c_O1pn9Sfl30ZPiu-bizXuqlxi3qaWNTizgKfe9neqotlb3BSOi42NdwxodnH7TM4shafWZxdQyEwOPHxAmIr2nEeKuqYmQyHFQ79T5DMYQFE74-k422iaTgx6ruIXaaRjBy9V5p66BuiMBNb204Rhqm9M0buGglt3xD16kXRNYVSHNptuP5N8_ILzhDiPMNkenCRzd_N8eYY5zDomn6JPYvKhk2H2BnPUbGFnSUw2C43DofeawbzhutcK91N7Ct1XRSOoKMV7AEDJfpjrSXom3ibGVM4iP95rDv08DTFHA";

/// Verifies the known answer once per process (and refuses a tampered message), so
/// that a crypto backend that cannot verify shows when a policy is built, not at the
/// first request.
pub(super) fn self_check() -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            let key = DecodingKey::from_rsa_components(SELF_CHECK_N, "AQAB")
                .map_err(|e| format!("jsonwebtoken refused the self-check key: {e}"))?;
            let signature = URL_SAFE_NO_PAD
                .decode(SELF_CHECK_SIGNATURE)
                .map_err(|e| format!("self-check signature: {e}"))?;
            let good = verify(SELF_CHECK_MESSAGE, &signature, &key);
            let tampered = verify(b"hookgate jsonwebtoken self-check!", &signature, &key);
            if good && !tampered {
                Ok(())
            } else {
                Err(format!(
                    "jsonwebtoken's RustCrypto backend failed its RS256 self-check \
                     (known answer accepted: {good}, tampered message accepted: {tampered})"
                ))
            }
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_check_passes() {
        assert_eq!(self_check(), Ok(()));
    }

    #[test]
    fn splitting() {
        assert!(split("a.b.c").is_ok());
        assert!(split("a.b.").is_ok());
        for bad in ["", "abc", "a.b", ".b.c", "a..c", "a.b.c.d"] {
            assert!(split(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn algorithms_are_pinned() {
        let enc = |json: &str| URL_SAFE_NO_PAD.encode(json);
        let parts = |h: &str| format!("{}.e30.c2ln", enc(h));
        for (h, expected) in [
            (r#"{"alg":"none","kid":"k"}"#, "`none`"),
            (r#"{"alg":"HS256","kid":"k"}"#, "`HS256`"),
            (r#"{"alg":"RS512","kid":"k"}"#, "`RS512`"),
            (r#"{"alg":"rs256","kid":"k"}"#, "`rs256`"),
            (r#"{"alg":"RS256"}"#, "no `kid`"),
            (r#"{"alg":"RS256","kid":"k","crit":["b64"]}"#, "`crit`"),
            (r#"{"kid":"k"}"#, "not a JSON object"),
        ] {
            let token = parts(h);
            let err = header(&split(&token).unwrap()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidCredentials);
            assert!(err.detail().contains(expected), "{h}: {}", err.detail());
        }
        let token = parts(r#"{"alg":"RS256","x5t":"thumb"}"#);
        assert_eq!(header(&split(&token).unwrap()).unwrap().kid, "thumb");
        let unsigned = format!("{}.e30.", enc(r#"{"alg":"RS256","kid":"k"}"#));
        let err = header(&split(&unsigned).unwrap()).unwrap_err();
        assert!(err.detail().contains("no signature"));
    }
}
