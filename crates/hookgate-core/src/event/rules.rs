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
/// one branch-free pass over the bytes; anything else is looked at by character.
pub(crate) fn check_string(name: &str, value: &str) -> Result<(), Error> {
    // Whether any byte is a C0 control, DEL or not ASCII: OR-ed without an early exit,
    // so that the loop vectorizes.
    let unusual = value
        .bytes()
        .fold(false, |any, b| any | !(0x20..0x7f).contains(&b));
    if !unusual {
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
