//! Attribute rules: names (`[a-z0-9]+`, no core name as an extension), `time`
//! (RFC 3339), media types (RFC 2046 `type/subtype`), the characters of a String
//! (CloudEvents 1.0.2, "Type System"), and JSON media types.
//!
//! The table of what is checked is in the [`event` module docs](super).

use std::fmt;

use time::OffsetDateTime;

use super::model::{Str, Time};
use crate::error::{Error, ErrorKind, excerpt};

impl Time {
    /// Parses `text`, which is `stored` resolved.
    pub(crate) fn parse(stored: Str, text: &str) -> Result<Self, Error> {
        let invalid = |why: &dyn fmt::Display| {
            Error::new(
                ErrorKind::InvalidAttribute,
                format!(
                    "attribute `time` must be an RFC 3339 timestamp such as \
                     2026-01-31T12:00:00Z, got `{}` ({why})",
                    excerpt(text)
                ),
            )
        };
        // RFC 3339 separates date and time with `T` (or `t`); the time crate takes
        // any character there.
        if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
            return Err(invalid(&"the date and the time must be separated by `T`"));
        }
        let value = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| invalid(&e))?;
        Ok(Self {
            text: stored,
            value,
        })
    }
}

/// Checks that `value`, the value of attribute `name`, is a CloudEvents String: no
/// control character and no noncharacter. Printable ASCII (nearly every value) is
/// one pass over the bytes, eight at a time ([`is_printable_ascii`]); anything else
/// is looked at by character.
pub(crate) fn check_string(name: &str, value: &str) -> Result<(), Error> {
    if is_printable_ascii(value.as_bytes()) {
        return Ok(());
    }
    let forbidden = value.chars().find(|&c| {
        let n = u32::from(c);
        c.is_control() || (0xfdd0..=0xfdef).contains(&n) || (n & 0xfffe) == 0xfffe
    });
    match forbidden {
        None => Ok(()),
        Some(c) => Err(Error::new(
            ErrorKind::InvalidAttribute,
            format!(
                "attribute `{name}` contains U+{:04X}: CloudEvents strings must not contain \
                 control characters (U+0000–U+001F, U+007F–U+009F) or Unicode noncharacters",
                u32::from(c)
            ),
        )),
    }
}

/// The RFC 2045 token characters: visible ASCII but the tspecials
/// `()<>@,;:\"/[]?=`.
static TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = true;
        b += 1;
    }
    let tspecials = b"()<>@,;:\\\"/[]?=";
    let mut i = 0;
    while i < tspecials.len() {
        table[tspecials[i] as usize] = false;
        i += 1;
    }
    table
};

/// Whether every byte is printable ASCII (0x20 to 0x7e), eight bytes a step: in a
/// word of eight bytes, a byte of 0x80 or more has its high bit set, a byte below
/// 0x20 sets it when 0x20 is subtracted, and 0x7f sets it when 1 is added. Borrows
/// and carries cross into the next byte only from a byte that is already flagged,
/// so the answer for the word is exact.
fn is_printable_ascii(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let mut flagged = 0u64;
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        let x = u64::from_le_bytes(eight);
        flagged |= x | x.wrapping_sub(0x20 * ONES) | x.wrapping_add(ONES);
    }
    // The last bytes, padded with spaces (printable) to a word.
    let mut last = [b' '; 8];
    let tail = words.remainder();
    last[..tail.len()].copy_from_slice(tail);
    let x = u64::from_le_bytes(last);
    flagged |= x | x.wrapping_sub(0x20 * ONES) | x.wrapping_add(ONES);
    flagged & HIGH == 0
}

/// Checks a `datacontenttype` against RFC 2046: `type/subtype` (RFC 2045 tokens), then
/// optional parameters after `;`, which are not parsed (see the [module docs](self)).
/// One pass over the essence, a table lookup per byte.
pub(crate) fn check_media_type(value: &str) -> Result<(), Error> {
    let bytes = value.as_bytes();
    let end = bytes.iter().position(|&b| b == b';').unwrap_or(bytes.len());
    let essence = bytes[..end].trim_ascii();
    let slash = essence.iter().position(|&b| b == b'/');
    let valid = slash.is_some_and(|slash| {
        let (ty, subtype) = (&essence[..slash], &essence[slash + 1..]);
        !ty.is_empty()
            && !subtype.is_empty()
            && ty.iter().chain(subtype).all(|&b| TOKEN[usize::from(b)])
    });
    if valid {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidAttribute,
        format!(
            "attribute `datacontenttype` must be a media type `type/subtype` (RFC 2046) \
             such as application/json, got `{}`",
            excerpt(value)
        ),
    ))
}

/// Checks an attribute name against the specification's `[a-z0-9]+`.
pub(crate) fn check_attribute_name(name: &str) -> Result<(), Error> {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidAttributeName,
            format!(
                "attribute name `{}` is invalid: names are lowercase letters and digits ([a-z0-9]+)",
                excerpt(name)
            ),
        ))
    }
}

/// Names that an extension may not take: the core attributes and `data`.
pub(crate) const RESERVED: [&str; 9] = [
    "specversion",
    "id",
    "source",
    "type",
    "datacontenttype",
    "dataschema",
    "subject",
    "time",
    "data",
];

pub(super) fn check_extension_name(name: &str) -> Result<(), Error> {
    check_attribute_name(name)?;
    if RESERVED.contains(&name) {
        return Err(Error::new(
            ErrorKind::InvalidAttributeName,
            format!("`{name}` is a core attribute, not an extension"),
        ));
    }
    Ok(())
}

/// Whether a media type is JSON: `*/json` or `*/*+json`, parameters ignored,
/// case-insensitively.
#[must_use]
pub fn is_json_media_type(media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or_default().trim();
    let Some((_, subtype)) = essence.split_once('/') else {
        return false;
    };
    // Compared as bytes: the subtype may hold non-ASCII characters, and a cut five
    // bytes from its end may fall inside one (found by the `structured` fuzz target).
    let subtype = subtype.as_bytes();
    subtype.eq_ignore_ascii_case(b"json")
        || (subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_without_controls_or_noncharacters() {
        for yes in [
            "",
            "plain",
            "Zürich",
            "emoji 🎉",
            "quote \" and \\",
            "\u{a0}nbsp",
        ] {
            assert!(check_string("x", yes).is_ok(), "{yes:?}");
        }
        for no in [
            "a\nb",
            "tab\t",
            "nul\0",
            "del\x7f",
            "c1\u{85}",
            "c1\u{9f}",
            "\u{fdd0}",
            "\u{fdef}",
            "\u{fffe}",
            "\u{ffff}",
            "\u{1fffe}",
            "\u{10ffff}",
        ] {
            let error = check_string("subject", no).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidAttribute, "{no:?}");
            assert!(error.detail().contains("`subject`"), "{no:?}");
        }
        assert!(check_string("x", "\u{fdcf}\u{fdf0}\u{fffd}").is_ok());
    }

    #[test]
    fn printable_ascii_word_by_word_agrees_with_byte_by_byte() {
        let byte_by_byte = |s: &[u8]| s.iter().all(|b| (0x20..0x7f).contains(b));
        let mut text = b"com.example.order.created/0123456789 ~!".to_vec();
        for len in 0..text.len() {
            for at in 0..len {
                for b in [0x00, 0x1f, 0x20, 0x7e, 0x7f, 0x80, 0xff] {
                    let saved = text[at];
                    text[at] = b;
                    let s = &text[..len];
                    assert_eq!(is_printable_ascii(s), byte_by_byte(s), "{s:?}");
                    text[at] = saved;
                }
            }
            assert!(is_printable_ascii(&text[..len]));
        }
    }

    #[test]
    fn media_types() {
        for yes in [
            "application/json",
            "text/plain; charset=utf-8",
            "application/vnd.api+json",
            "application/json;",
            "multipart/mixed; boundary=\"a b\"",
            "Application/XML",
            " text/csv ",
            "application/x-www-form-urlencoded",
        ] {
            assert!(check_media_type(yes).is_ok(), "{yes:?}");
        }
        for no in [
            "json",
            "application/",
            "/json",
            "application json",
            "application/json/x",
            "app lication/json",
            "text/(plain)",
            "",
            ";",
            "a/b@c",
        ] {
            assert!(check_media_type(no).is_err(), "{no:?}");
        }
    }

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "text/json; charset=utf-8",
            "application/vnd.foo+JSON",
            "Application/JSON",
            "application/\u{e9}t\u{e9}+json",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/plain",
            // Non-ASCII where the `+json` suffix would start: no panic, not JSON.
            "text/\u{40f}abcd",
            "text/\u{40f}+jsoN\u{e9}",
            "application/jsonx",
            "json",
            "+json",
            "application/octet-stream",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }
}
