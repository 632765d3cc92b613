//! Binary content mode: attributes in `ce-` headers, data in the body.

use std::borrow::Cow;

use bytes::Bytes;
use bytestring::ByteString;
use percent_encoding::percent_decode;

use super::draft::{Core, Draft};
use crate::error::{Error, ErrorKind, excerpt};
use crate::event::{CloudEvent, Data, ExtensionValue, RawJson, is_json_media_type};
use crate::headers::HeaderSource;

pub(super) fn parse(
    headers: &impl HeaderSource,
    body: Bytes,
    max_attributes: usize,
    verbatim: bool,
) -> Result<CloudEvent, Error> {
    // Every value in one buffer, then one text: one allocation, not one a value.
    let mut draft = Draft::keeping(max_attributes);
    for (name, value) in headers.iter() {
        let Some(attr) = attribute_of(name) else {
            continue;
        };
        let attr: Cow<'_, str> = if attr.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(attr.to_ascii_lowercase())
        } else {
            Cow::Borrowed(attr)
        };
        // Authentication headers are not event data: `ce-signature` (Web PubSub)
        // would otherwise become a `signature` extension that handlers print or
        // forward, where anyone who sees it could replay it with another event.
        if AUTHENTICATION.contains(&&*attr) {
            continue;
        }
        if attr == "datacontenttype" {
            return Err(Error::new(
                ErrorKind::ConflictingData,
                "header `ce-datacontenttype` is not allowed in binary mode: the data's type is the `Content-Type` header",
            ));
        }
        let decoded = if verbatim {
            text_of(value.trim_ascii())
        } else {
            decode_value(value).map_err(|e| e.context(format_args!("header `{name}`")))?
        };
        if let Some(core) = Core::of(&attr) {
            let value = draft.keep(&decoded);
            draft.set_core(core, value)?;
        } else {
            let value = ByteString::from(decoded.into_owned());
            let name = draft.keep(&attr);
            draft.set_extension(name, ExtensionValue::String(value))?;
        }
    }
    if let Some(ct) = headers.get("content-type") {
        let ct = std::str::from_utf8(ct).map_err(|_| {
            Error::new(
                ErrorKind::InvalidHeader,
                "header `Content-Type` is not valid UTF-8",
            )
        })?;
        let value = draft.keep(ct.trim());
        draft.set_core(Core::DataContentType, value)?;
    }
    draft.sort_extensions();
    let data = if body.is_empty() {
        Data::Empty
    } else if draft.datacontenttype().is_some_and(is_json_media_type) {
        let text = ByteString::try_from(body).map_err(|_| {
            Error::new(
                ErrorKind::InvalidData,
                "the body has a JSON Content-Type but is not valid UTF-8",
            )
        })?;
        Data::Json(RawJson::new(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidData,
                format!("the body has a JSON Content-Type but is not valid JSON: {e}"),
            )
        })?)
    } else {
        Data::Binary(body)
    };
    Ok(CloudEvent::from_parts(draft.finish()?, data))
}

/// `ce-` headers that authenticate the request and never become extensions.
const AUTHENTICATION: [&str; 1] = ["signature"];

/// The attribute name of a `ce-` header, or `None` for other headers.
fn attribute_of(header: &str) -> Option<&str> {
    let prefix = header.get(..3)?;
    prefix.eq_ignore_ascii_case("ce-").then(|| &header[3..])
}

/// Decodes a header value: an RFC 7230 quoted-string is unquoted, then one round
/// of percent-decoding is applied, and the result must be UTF-8.
pub(super) fn decode_value(raw: &[u8]) -> Result<Cow<'_, str>, Error> {
    let raw = raw.trim_ascii();
    let not_utf8 = |bytes: &[u8]| {
        Error::new(
            ErrorKind::InvalidHeader,
            format!(
                "the value `{}` is not UTF-8 after percent-decoding",
                excerpt(&String::from_utf8_lossy(bytes))
            ),
        )
    };
    // The usual case: nothing to unquote or percent-decode.
    if raw.first() != Some(&b'"') && !raw.contains(&b'%') {
        return Ok(text_of(raw));
    }
    let unquoted: Cow<'_, [u8]> = match raw.first() {
        Some(b'"') => Cow::Owned(unquote(raw)?),
        _ => Cow::Borrowed(raw),
    };
    let text = text_of(&unquoted);
    let decoded = percent_decode(text.as_bytes())
        .decode_utf8()
        .map_err(|_| not_utf8(text.as_bytes()))?;
    // Owned either way: a borrowed result would borrow `unquoted`.
    Ok(Cow::Owned(decoded.into_owned()))
}

/// The text of raw header bytes: UTF-8 when they are, else ISO-8859-1, the HTTP
/// convention for obs-text (senders that do not percent-encode, such as Node's
/// `fetch` under the CloudEvents JavaScript SDK, send `Zürich` as the byte 0xFC).
/// Bytes that come out of percent-decoding must be UTF-8; see [`decode_value`].
fn text_of(raw: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(raw.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Removes the quotes of a quoted-string and its backslash escapes.
fn unquote(raw: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidHeader,
            format!("malformed quoted-string: {why}"),
        )
    };
    if raw.len() < 2 || raw[raw.len() - 1] != b'"' {
        return Err(bad("no closing quote"));
    }
    let inner = &raw[1..raw.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(&escaped) => out.push(escaped),
                None => return Err(bad("a backslash at the end")),
            },
            b'"' => return Err(bad("an unescaped quote inside")),
            _ => out.push(b),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::decode_value;
    use crate::HeaderList;

    /// Verbatim: no unquoting, no percent-decoding, ISO-8859-1 for raw bytes
    /// that are not UTF-8; decoded otherwise.
    #[test]
    fn verbatim_values_are_kept_as_they_are() {
        let headers = HeaderList::new([
            ("ce-specversion", b"1.0".as_slice()),
            ("ce-id", b"%31"),
            ("ce-source", b"/s"),
            ("ce-type", b"t"),
            ("ce-userid", b" %61dmin "),
            ("ce-quoted", b"\"a\""),
            ("ce-latin", b"Z\xfcrich"),
            ("ce-bad", b"%C0%A0"),
        ]);
        let event = super::parse(&headers, bytes::Bytes::new(), 128, true).unwrap();
        let ext = |name: &str| event.extension(name).unwrap().as_str().unwrap().to_owned();
        assert_eq!(event.id(), "%31");
        assert_eq!(ext("userid"), "%61dmin");
        assert_eq!(ext("quoted"), "\"a\"");
        assert_eq!(ext("latin"), "Zürich");
        assert_eq!(ext("bad"), "%C0%A0");
        assert!(super::parse(&headers, bytes::Bytes::new(), 128, false).is_err());
    }

    #[test]
    fn decodes_header_values() {
        let ok = |raw: &[u8]| decode_value(raw).unwrap().to_string();
        assert_eq!(ok(b"plain"), "plain");
        assert_eq!(ok(b"a%20b"), "a b");
        assert_eq!(ok(b"%e2%82%ac"), "€");
        assert_eq!(ok(b"\"quoted \\\"x\\\"\""), "quoted \"x\"");
        assert_eq!(ok(b"\"%41\""), "A");
        assert_eq!(ok(b"100%"), "100%");
        assert!(decode_value(b"%C0%A0").is_err());
        assert!(decode_value(b"\"open").is_err());
        assert!(decode_value(b"\"a\\\"").is_err());
        assert!(decode_value(b"\"a\"b\"").is_err());
    }
}
