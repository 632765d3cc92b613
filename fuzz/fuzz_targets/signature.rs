//! Azure Web PubSub `ce-signature`: `WebPubSubKeys::verify` over fuzzed signature
//! lines, connection id and origin, for keys that apply everywhere and keys bound to
//! a host. Checked against a model (one HMAC-SHA256 per applicable key, at most
//! `MAX_SIGNATURES` non-blank candidates among the first `MAX_SIGNATURE_ITEMS`
//! items split at commas and spaces, each `sha256=<64 hex digits>`, a connection
//! id of at most `MAX_CONNECTION_ID` bytes),
//! and a valid signature put first must always be accepted.
//!
//! Input: the connection id (first line), the origin (second line; empty for none),
//! then one `ce-signature` value per line.
#![no_main]

use hmac::{Hmac, Mac as _};
use hookgate_core::auth::{MAX_CONNECTION_ID, MAX_SIGNATURE_ITEMS, MAX_SIGNATURES, WebPubSubKeys};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const UNBOUND: [&str; 2] = ["primary-key", "secondary-key"];
const BOUND: [(&str, &str); 2] = [("hub.webpubsub.azure.com", "k1"), ("other.example", "k2")];

fn mac(key: &str, message: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn origin_host(origin: &str) -> &str {
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// The keys of `keys` that apply to `origin`.
fn applicable<'k>(keys: &[(Option<&str>, &'k str)], origin: Option<&str>) -> Vec<&'k str> {
    keys.iter()
        .filter(|(host, _)| match host {
            None => true,
            Some(h) => origin.is_some_and(|o| origin_host(o).eq_ignore_ascii_case(h)),
        })
        .map(|(_, key)| *key)
        .collect()
}

fn model(keys: &[&str], lines: &[&[u8]], connection_id: &[u8]) -> bool {
    if connection_id.len() > MAX_CONNECTION_ID {
        return false;
    }
    let macs: Vec<[u8; 32]> = keys.iter().map(|k| mac(k, connection_id)).collect();
    lines
        .iter()
        .flat_map(|line| line.split(|b| *b == b',' || *b == b' '))
        .take(MAX_SIGNATURE_ITEMS)
        .filter(|item| !item.trim_ascii().is_empty())
        .take(MAX_SIGNATURES)
        .filter_map(|item| {
            let hex = item.trim_ascii().strip_prefix(b"sha256=")?;
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hex, &mut digest).ok()?;
            Some(digest)
        })
        .any(|d| macs.contains(&d))
}

fuzz_target!(|data: &[u8]| {
    let (connection_id, rest) = hookgate_fuzz::first_line(data);
    let (origin, rest) = hookgate_fuzz::first_line(rest);
    let origin = std::str::from_utf8(origin).ok().filter(|o| !o.is_empty());
    let lines: Vec<&[u8]> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.split(|&b| b == b'\n').collect()
    };

    let unbound = WebPubSubKeys::new(UNBOUND).expect("valid keys");
    let bound = WebPubSubKeys::per_host(BOUND).expect("valid keys");
    let unbound_model: Vec<_> = UNBOUND.iter().map(|k| (None, *k)).collect();
    let bound_model: Vec<_> = BOUND.iter().map(|(h, k)| (Some(*h), *k)).collect();

    for (keys, model_keys) in [(&unbound, &unbound_model), (&bound, &bound_model)] {
        let keys_here = applicable(model_keys, origin);
        let got = keys.verify(lines.iter().copied(), connection_id, origin);
        assert_eq!(
            got,
            model(&keys_here, &lines, connection_id),
            "lines {lines:?}"
        );

        // A valid signature first is accepted whatever follows, when a key applies
        // and the connection id is within the limit.
        if let Some(key) = keys_here.first() {
            let valid = format!("sha256={}", hex::encode_upper(mac(key, connection_id)));
            let mut with_valid = vec![valid.as_bytes()];
            with_valid.extend(lines.iter().copied());
            let got = keys.verify(with_valid.iter().copied(), connection_id, origin);
            assert_eq!(got, connection_id.len() <= MAX_CONNECTION_ID);
        }
    }
});
