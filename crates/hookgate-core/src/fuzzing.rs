//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, not part of the
//! public API): code that the targets must reach but that is private.
//!
//! Everything else the targets drive (`parse`, `WebPubSubKeys::verify`,
//! `HandshakePolicy::decide`, `AuthPolicy::authenticate`, …) is public and called
//! as users call it.

/// The Azure AD token module, compiled a second time here so that its private
/// parsing functions can be called without widening their visibility: this is the
/// same source file as `auth::aad::token`, not a copy.
#[cfg(feature = "aad")]
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)]
#[path = "auth/aad/token.rs"]
mod token;

/// What `AadPolicy::validate` does with a bearer token before it looks up a
/// signing key: split it at its dots, decode and check the header (algorithm
/// pinned to RS256, `crit` refused, a `kid` or `x5t`), decode the signature.
/// Answers the key id that would be looked up and the decoded signature.
///
/// # Errors
/// The 401 [`Error`](crate::Error) the token is refused with.
#[cfg(feature = "aad")]
pub fn aad_token_header(token: &str) -> Result<(String, Vec<u8>), crate::Error> {
    let parts = token::split(token)?;
    let header = token::header(&parts)?;
    let signature = token::b64(parts.signature, "signature")?;
    Ok((header.kid, signature))
}
