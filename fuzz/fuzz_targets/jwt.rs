//! Azure AD bearer tokens, the part before any key lookup: the split at the dots,
//! the base64url header, the JSON header (algorithm pinned to RS256, `crit`
//! refused, `kid` or `x5t`), the base64url signature
//! (`hookgate_core::fuzzing::aad_token_header`, the same code `AadPolicy::validate`
//! runs). A refusal is a 401; an accepted header really is an RS256 header with a
//! key id, from a token of three parts.
//!
//! Input: the token (the part after `Bearer `).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookgate_core::ErrorKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    match hookgate_core::fuzzing::aad_token_header(token) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidCredentials, "{e:?}");
            hookgate_fuzz::check_rejection(&e, &[401]);
        }
        Ok((kid, signature)) => {
            assert!(!kid.is_empty());
            assert!(!signature.is_empty());
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts.len(), 3, "{token}");
            assert!(parts.iter().all(|p| !p.is_empty()), "{token}");
            let header = URL_SAFE_NO_PAD.decode(parts[0]).expect("base64url header");
            // serde_json does not check the UTF-8 of strings it skips (an unknown
            // member such as `typ`), so the header may hold bytes that are not
            // UTF-8 there; the members read are strings all the same.
            let header: serde_json::Value = serde_json::from_slice(&header)
                .or_else(|_| serde_json::from_str(&String::from_utf8_lossy(&header)))
                .expect("JSON header");
            assert_eq!(header["alg"], "RS256");
            assert!(header.get("crit").is_none_or(serde_json::Value::is_null));
            assert!(header["kid"] == kid.as_str() || header["x5t"] == kid.as_str());
            assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url"), signature);
        }
    }
});
