//! Header-value decoding of binary mode (surrounding white space trimmed, an RFC
//! 7230 quoted-string unquoted, one round of percent-decoding that must give UTF-8,
//! raw bytes that are not UTF-8 read as ISO-8859-1), checked against an independent
//! model of those rules; a decoded value holding a character a CloudEvents String
//! must not (a control, a noncharacter) is refused as an attribute. The value
//! travels in `ce-subject` (a core attribute) and in `ce-fuzzext` (an extension)
//! through `hookgate_core::parse`.
//!
//! Input: the raw header value.
#![no_main]

use bytes::Bytes;
use hookgate_core::{ErrorKind, ExtensionValue, HeaderList};
use libfuzzer_sys::fuzz_target;

/// The model: what the value must decode to, or `None` when it must be refused.
fn model(raw: &[u8]) -> Option<String> {
    let raw = raw.trim_ascii();
    let quoted = raw.first() == Some(&b'"');
    if !quoted && !raw.contains(&b'%') {
        return Some(text(raw));
    }
    let inner = if quoted {
        // A quoted-string: closing quote, backslash escapes any byte, no bare quote.
        if raw.len() < 2 || raw[raw.len() - 1] != b'"' {
            return None;
        }
        let mut out = Vec::new();
        let mut i = 1;
        while i < raw.len() - 1 {
            match raw[i] {
                b'\\' if i + 1 < raw.len() - 1 => {
                    out.push(raw[i + 1]);
                    i += 2;
                }
                b'\\' | b'"' => return None,
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        out
    } else {
        raw.to_vec()
    };
    // Percent-decoding of the text (ISO-8859-1 when not UTF-8): `%` and two hex
    // digits is a byte, any other `%` stays.
    let text = text(&inner);
    let bytes = text.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Whether CloudEvents 1.0.2 forbids a character of `text` in a String (a control,
/// a noncharacter): the decoded value is then refused as an attribute.
fn forbidden(text: &str) -> bool {
    text.chars().any(|c| {
        let n = u32::from(c);
        c.is_control() || (0xfdd0..=0xfdef).contains(&n) || (n & 0xfffe) == 0xfffe
    })
}

/// UTF-8 when the bytes are, else ISO-8859-1.
fn text(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_owned(),
        Err(_) => raw.iter().map(|&b| char::from(b)).collect(),
    }
}

fn event_with(name: &str, value: &[u8]) -> HeaderList {
    let mut headers = HeaderList::new([
        ("ce-specversion", "1.0"),
        ("ce-id", "1"),
        ("ce-source", "/fuzz"),
        ("ce-type", "fuzz"),
    ]);
    headers.push(name, value);
    headers
}

fuzz_target!(|data: &[u8]| {
    let config = hookgate_fuzz::config();
    let expected = model(data);

    let subject = hookgate_core::parse(&event_with("ce-subject", data), Bytes::new(), &config);
    hookgate_fuzz::check_parse(&subject, &config);
    match (&expected, subject) {
        (Some(text), Ok(delivery)) => {
            assert_eq!(delivery.events()[0].subject(), Some(text.as_str()));
        }
        // `subject` must not be empty when present, and a String holds no control or
        // noncharacter.
        (Some(text), Err(e)) if text.is_empty() || forbidden(text) => {
            assert_eq!(e.kind(), ErrorKind::InvalidAttribute, "{e:?}");
        }
        (None, Err(e)) => assert_eq!(e.kind(), ErrorKind::InvalidHeader, "{e:?}"),
        (expected, got) => panic!("expected {expected:?}, got {got:?}"),
    }

    let extension = hookgate_core::parse(&event_with("CE-FuzzExt", data), Bytes::new(), &config);
    hookgate_fuzz::check_parse(&extension, &config);
    match (&expected, extension) {
        (Some(text), Ok(delivery)) => {
            let value = delivery.events()[0].extension("fuzzext").cloned();
            assert_eq!(value, Some(ExtensionValue::String(text.as_str().into())));
        }
        (Some(text), Err(e)) if forbidden(text) => {
            assert_eq!(e.kind(), ErrorKind::InvalidAttribute, "{e:?}");
        }
        (None, Err(e)) => assert_eq!(e.kind(), ErrorKind::InvalidHeader, "{e:?}"),
        (expected, got) => panic!("expected {expected:?}, got {got:?}"),
    }
});
