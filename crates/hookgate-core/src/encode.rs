//! Encoding events for sending: the other side of [`crate::parse`].
//!
//! hookgate receives; these helpers exist so that tests, benchmarks and tools can
//! produce requests in each content mode that the parser reads back unchanged.
//!
//! ```
//! use hookgate_core::{encode, parse, CloudEvent, HeaderList, ParseConfig};
//!
//! let event = CloudEvent::new("1", "/s", "t").with_subject("a b");
//! let (headers, body) = encode::binary(&event);
//! let parsed = parse(&HeaderList::new(headers), body, &ParseConfig::default()).unwrap();
//! assert_eq!(parsed.into_single().unwrap(), event);
//! ```

use bytes::Bytes;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::binding::{BATCH_MEDIA_TYPE, STRUCTURED_MEDIA_TYPE};
use crate::event::{CloudEvent, Data};

/// What a binary-mode header value must percent-encode: controls, space, `"`, `%`
/// (and every non-ASCII byte, which is always encoded).
const HEADER_VALUE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'%');

/// The event in binary mode: header lines and the body.
#[must_use]
pub fn binary(event: &CloudEvent) -> (Vec<(String, String)>, Bytes) {
    let mut headers = Vec::with_capacity(8 + event.extensions().len());
    let mut push = |name: &str, value: &str| {
        headers.push((
            format!("ce-{name}"),
            utf8_percent_encode(value, HEADER_VALUE).to_string(),
        ));
    };
    push("specversion", event.specversion().as_str());
    push("id", event.id());
    push("source", event.source());
    push("type", event.ty());
    if let Some(v) = event.dataschema() {
        push("dataschema", v);
    }
    if let Some(v) = event.subject() {
        push("subject", v);
    }
    if let Some(v) = event.time_str() {
        push("time", v);
    }
    for (name, value) in event.extensions() {
        push(name, &value.to_string());
    }
    // JSON data without a datacontenttype is implicitly `application/json`; in binary
    // mode that must be said, or the receiver sees opaque bytes.
    let content_type = match (event.datacontenttype(), &event.data) {
        (Some(ct), _) => Some(ct),
        (None, Data::Json(_)) => Some("application/json"),
        (None, _) => None,
    };
    if let Some(ct) = content_type {
        headers.push(("content-type".to_owned(), ct.to_owned()));
    }
    let body = match &event.data {
        Data::Json(j) => j.as_bytes().clone(),
        Data::Binary(b) => b.clone(),
        _ => Bytes::new(),
    };
    (headers, body)
}

/// The event in structured mode: the `Content-Type` value and the body.
#[must_use]
pub fn structured(event: &CloudEvent) -> (&'static str, Bytes) {
    (STRUCTURED_MEDIA_TYPE, event.to_json().into())
}

/// The events as a batch: the `Content-Type` value and the body.
#[must_use]
pub fn batch(events: &[CloudEvent]) -> (&'static str, Bytes) {
    // Events serialize infallibly (see `CloudEvent::to_json`).
    (
        BATCH_MEDIA_TYPE,
        serde_json::to_vec(events).unwrap_or_default().into(),
    )
}
