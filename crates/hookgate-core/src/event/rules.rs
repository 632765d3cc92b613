//! Attribute rules: names (`[a-z0-9]+`, no core name as an extension), `time`
//! (RFC 3339) and JSON media types.

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
    subtype.eq_ignore_ascii_case("json")
        || (subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for yes in [
            "application/json",
            "text/json; charset=utf-8",
            "application/vnd.foo+JSON",
            "Application/JSON",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "text/plain",
            "application/jsonx",
            "json",
            "+json",
            "application/octet-stream",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }
}
