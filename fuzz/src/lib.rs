//! What the fuzz targets share: the input format and the checks of what must hold.
//!
//! # Input format (the seeds in `fuzz/seed.py` follow it)
//!
//! Targets that take a request read the input as header lines, an empty line, then
//! the body: `name:value\n` per line (the value is everything after the first `:`,
//! raw bytes; a line without `:` or whose name is not UTF-8 is skipped), then
//! `\n`, then the body bytes. Targets say when their first line means something
//! else (a method, a query string, a connection id).

use hookgate_core::event::Data;
use hookgate_core::{CloudEvent, Delivery, Error, HeaderList, Mode, ParseConfig};

/// The parser configuration of every target: the defaults, except a body limit of
/// 64 KiB (the largest input the scripts give), so that the 413 path is reachable.
#[must_use]
pub fn config() -> ParseConfig {
    ParseConfig::builder()
        .body_limit(64 * 1024)
        .build()
        .expect("a valid configuration")
}

/// Splits `data` into header lines and a body (see the module docs).
#[must_use]
pub fn request(data: &[u8]) -> (HeaderList, &[u8]) {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &data[data.len()..]),
    };
    (headers(head), body)
}

/// Header lines `name:value`, separated by `\n`.
#[must_use]
pub fn headers(head: &[u8]) -> HeaderList {
    let mut list = HeaderList::default();
    for line in head.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let Ok(name) = std::str::from_utf8(&line[..colon]) else {
            continue;
        };
        list.push(name, &line[colon + 1..]);
    }
    list
}

/// The first line of `data` and the rest.
#[must_use]
pub fn first_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &data[data.len()..]),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A rejection a sender can cause: a 4xx whose problem says the same status, has a
/// type, a title and a detail, and serializes.
pub fn check_rejection(error: &Error, allowed: &[u16]) {
    let status = error.status();
    assert!(
        allowed.contains(&status),
        "status {status} not in {allowed:?} for {error:?}"
    );
    let problem = error.problem();
    assert_eq!(problem.status(), status);
    assert!(!problem.type_uri().is_empty(), "{error:?}");
    assert!(!problem.title().is_empty(), "{error:?}");
    assert!(!problem.detail().is_empty(), "{error:?}");
    let json: serde_json::Value =
        serde_json::from_slice(&problem.to_json()).expect("the problem body is JSON");
    assert_eq!(json["status"], status, "{json}");
}

/// The statuses the parser may answer: 400 (malformed), 413 (too large), 415 (not
/// an event format it reads).
pub const PARSE_STATUSES: [u16; 3] = [400, 413, 415];

/// Checks a parse result: a rejection is a 400/413/415 problem; a delivery holds
/// events that keep their invariants and survive a round trip through the JSON
/// format.
pub fn check_parse(result: &Result<Delivery, Error>, config: &ParseConfig) {
    match result {
        Err(error) => check_rejection(error, &PARSE_STATUSES),
        Ok(delivery) => {
            if delivery.mode() != Mode::Batch {
                assert_eq!(delivery.len(), 1, "one event outside a batch");
            }
            for event in delivery.events() {
                check_event(event, config);
            }
        }
    }
}

/// The invariants of a parsed event, then the round trip: its JSON form parses
/// (structured mode, same limits) to an event with the same JSON form.
pub fn check_event(event: &CloudEvent, config: &ParseConfig) {
    assert_eq!(event.specversion(), hookgate_core::SpecVersion::V1_0);
    assert!(!event.id().is_empty(), "empty id");
    assert!(!event.source().is_empty(), "empty source");
    assert!(!event.ty().is_empty(), "empty type");
    for (name, value) in [
        ("datacontenttype", event.datacontenttype()),
        ("dataschema", event.dataschema()),
        ("subject", event.subject()),
    ] {
        assert!(value.is_none_or(|v| !v.is_empty()), "empty {name}");
    }
    assert_eq!(
        event.time_str().is_some(),
        event.time().is_some(),
        "a time that did not parse"
    );
    let optional = [
        event.datacontenttype().is_some(),
        event.dataschema().is_some(),
        event.subject().is_some(),
        event.time_str().is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    let extensions: Vec<_> = event.extensions().collect();
    assert!(
        4 + optional + extensions.len() <= config.max_attributes(),
        "more attributes than max_attributes"
    );
    let mut names: Vec<&str> = extensions.iter().map(|(n, _)| *n).collect();
    for name in &names {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "extension name `{name}`"
        );
        assert!(
            !matches!(
                *name,
                "specversion"
                    | "id"
                    | "source"
                    | "type"
                    | "datacontenttype"
                    | "dataschema"
                    | "subject"
                    | "time"
                    | "data"
                    | "data_base64"
            ),
            "reserved extension name `{name}`"
        );
        assert!(event.extension(name).is_some(), "extension `{name}` not found");
        assert!(event.attribute(name).is_some(), "attribute `{name}` not found");
    }
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate extension names");

    // Round trip through the JSON format.
    let json = event.to_json();
    let headers = HeaderList::new([("content-type", "application/cloudevents+json")]);
    let again = hookgate_core::parse(&headers, json.clone().into(), config)
        .unwrap_or_else(|e| panic!("the JSON form of an event does not parse: {e:?}\n{json}"));
    assert_eq!(again.mode(), Mode::Structured);
    let again = again.into_single().expect("one event");
    let json_again = again.to_json();
    if json_again != json {
        // `"data": null` is no data in the JSON format; a binary-mode body `null`
        // under a JSON Content-Type is JSON data `null`.
        let null_data = matches!(&event.data, Data::Json(raw) if raw.get().trim() == "null");
        assert!(
            null_data && matches!(again.data, Data::Empty),
            "the round trip changed the event:\n{json}\n{json_again}"
        );
    }
}
