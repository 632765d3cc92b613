//! Round trips: an event encoded by `hookgate_core::encode` (binary, structured,
//! batch) and parsed back by `hookgate_core::parse` is the same event.
//!
//! Binary mode has no types in headers, so there every extension comes back as a
//! string, and an empty body is no data; the expectations say so.

use bytes::Bytes;
use hookgate_core::{
    CloudEvent, Data, ErrorKind, ExtensionValue, HeaderList, Mode, ParseConfig, encode, parse,
};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::Value;

/// Core attribute names and `data`, which an extension may not take.
const RESERVED: [&str; 9] = [
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

/// JSON content types that binary mode can carry in `Content-Type`.
const JSON_TYPES: [&str; 4] = [
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.example+json",
    "text/json",
];

fn config() -> Config {
    Config {
        cases: 256,
        // Do not write regression files into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text of `min..=max` pieces: any character, with extra weight on the ones that
/// need care in headers and JSON (space, quotes, `%`, backslash, controls,
/// non-ASCII) and on ready-made percent and quoting sequences that must come
/// back literally, not decoded.
fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => any::<char>().prop_map(String::from),
        3 => proptest::char::range('a', 'z').prop_map(String::from),
        2 => prop::sample::select(vec![
            ' ', '"', '%', '\\', '\'', '\t', '\n', '\r', '\u{0}', '\u{7f}', '\u{85}',
            '\u{a0}', '€', '😀', ',', ';', '=', '/', '#', '{', '[',
        ])
        .prop_map(String::from),
        1 => prop::sample::select(vec![
            "%20", "%25", "%2541", "%E2%82%AC", "%e2%82%ac", "%C0%A0", "%", "%%", "%zz",
            "\\\"", "\"quoted\"", "\"", "  ", "\\u0041",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(piece, min..=max).prop_map(|pieces| pieces.concat())
}

/// [`text`] as a CloudEvents String: the characters a String must not hold (controls,
/// noncharacters) become `?`. (That they are refused is checked in
/// `strings_with_a_forbidden_character_are_refused`.)
fn attr_text(min: usize, max: usize) -> impl Strategy<Value = String> {
    text(min, max).prop_map(|s| {
        s.chars()
            .map(|c| if forbidden(c) { '?' } else { c })
            .collect()
    })
}

/// Whether CloudEvents 1.0.2 forbids `c` in a String.
fn forbidden(c: char) -> bool {
    let n = u32::from(c);
    c.is_control() || (0xfdd0..=0xfdef).contains(&n) || (n & 0xfffe) == 0xfffe
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A valid RFC 3339 timestamp: `T` or `t`, an optional fraction of 1 to 9 digits,
/// `Z`, `z` or a numeric offset.
fn rfc3339() -> impl Strategy<Value = String> {
    let offset = prop_oneof![
        Just("Z".to_owned()),
        Just("z".to_owned()),
        (prop::bool::ANY, 0u32..24, 0u32..60)
            .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
    ];
    (
        (1u32..=9999, 1u32..=12, 1u32..=31),
        (0u32..24, 0u32..60, 0u32..60),
        prop::option::of("[0-9]{1,9}"),
        prop::sample::select(vec!['T', 't']),
        offset,
    )
        .prop_map(|((y, mo, d), (h, mi, s), fraction, sep, offset)| {
            let d = d.min(days_in_month(y, mo));
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}{sep}{h:02}:{mi:02}:{s:02}{fraction}{offset}")
        })
}

fn extension_value() -> impl Strategy<Value = ExtensionValue> {
    prop_oneof![
        attr_text(0, 12).prop_map(|s| ExtensionValue::from(s.as_str())),
        any::<bool>().prop_map(ExtensionValue::Boolean),
        any::<i64>().prop_map(ExtensionValue::Integer),
    ]
}

fn extension_name() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,20}".prop_filter("a core attribute name", |n| !RESERVED.contains(&n.as_str()))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("not finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        text(0, 8).prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(0, 6), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What the generated event carries as data.
#[derive(Clone, Debug)]
enum DataSpec {
    None,
    /// A JSON object and its datacontenttype (`None` = implied JSON).
    Json(Value, Option<&'static str>),
    /// Bytes under `application/octet-stream`.
    Bytes(Vec<u8>),
}

fn data_spec(implied_json: bool) -> impl Strategy<Value = DataSpec> {
    let json_type = if implied_json {
        prop::option::of(prop::sample::select(JSON_TYPES.to_vec())).boxed()
    } else {
        prop::sample::select(JSON_TYPES.to_vec())
            .prop_map(Some)
            .boxed()
    };
    prop_oneof![
        Just(DataSpec::None),
        (
            prop::collection::btree_map(text(0, 8), json_value(), 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            json_type,
        )
            .prop_map(|(v, ct)| DataSpec::Json(v, ct)),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(DataSpec::Bytes),
    ]
}

/// A generated event, kept in parts so that a failing case prints readably.
#[derive(Clone, Debug)]
struct EventSpec {
    id: String,
    source: String,
    ty: String,
    subject: Option<String>,
    dataschema: Option<String>,
    time: Option<String>,
    extensions: Vec<(String, ExtensionValue)>,
    data: DataSpec,
}

impl EventSpec {
    fn build(&self) -> CloudEvent {
        let mut event = CloudEvent::new(self.id.as_str(), self.source.as_str(), self.ty.as_str());
        if let Some(v) = &self.subject {
            event = event.with_subject(v.as_str());
        }
        if let Some(v) = &self.dataschema {
            event = event.with_dataschema(v.as_str());
        }
        if let Some(v) = &self.time {
            event = event
                .with_time(v.as_str())
                .expect("a generated RFC 3339 time");
        }
        for (name, value) in &self.extensions {
            event = event
                .with_extension(name.as_str(), value.clone())
                .expect("a generated extension name");
        }
        match &self.data {
            DataSpec::None => event,
            DataSpec::Json(value, ct) => {
                let event = event.with_data(Data::json(value.to_string()).expect("JSON"));
                match ct {
                    Some(ct) => event.with_datacontenttype(*ct),
                    None => event,
                }
            }
            DataSpec::Bytes(bytes) => event
                .with_datacontenttype("application/octet-stream")
                .with_data(Data::Binary(Bytes::from(bytes.clone()))),
        }
    }
}

/// Events whose attributes may hold any Unicode (non-empty where required).
/// `implied_json`: JSON data may come without a datacontenttype.
fn event_spec(implied_json: bool) -> impl Strategy<Value = EventSpec> {
    (
        (attr_text(1, 12), attr_text(1, 12), attr_text(1, 12)),
        (
            prop::option::of(attr_text(1, 12)),
            prop::option::of(prop_oneof![
                Just("#".to_owned()),
                Just("https://example.com/schemas/order.json".to_owned()),
                attr_text(1, 12),
            ]),
            prop::option::of(rfc3339()),
        ),
        prop::collection::vec((extension_name(), extension_value()), 0..5),
        data_spec(implied_json),
    )
        .prop_map(
            |((id, source, ty), (subject, dataschema, time), extensions, data)| EventSpec {
                id,
                source,
                ty,
                subject,
                dataschema,
                time,
                extensions,
                data,
            },
        )
}

fn parse_with(headers: Vec<(String, String)>, body: Bytes) -> hookgate_core::Delivery {
    let headers = HeaderList::new(headers);
    parse(&headers, body, &ParseConfig::default())
        .unwrap_or_else(|e| panic!("the parser refused an encoded event: {e}"))
}

/// What binary mode gives back: extensions as strings (in name order), an empty body
/// as no data.
fn as_binary_reads_it(event: &CloudEvent) -> CloudEvent {
    let mut expected = event.clone();
    for (name, value) in event.extensions() {
        expected = expected
            .with_extension(name, value.to_string().as_str())
            .expect("a valid extension name");
    }
    if matches!(&expected.data, Data::Binary(b) if b.is_empty()) {
        expected.data = Data::Empty;
    }
    expected
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn binary_round_trip(mut spec in event_spec(false)) {
        // Binary mode gives extensions in name order (header order is not kept by
        // every HTTP stack).
        spec.extensions.sort_by(|a, b| a.0.cmp(&b.0));
        let event = spec.build();
        let (headers, body) = encode::binary(&event);
        let delivery = parse_with(headers, body);
        prop_assert_eq!(delivery.mode(), Mode::Binary);
        let parsed = delivery.into_single().expect("one event");
        prop_assert_eq!(parsed, as_binary_reads_it(&event));
    }

    #[test]
    fn structured_round_trip(spec in event_spec(true)) {
        let event = spec.build();
        let (content_type, body) = encode::structured(&event);
        let delivery = parse_with(vec![("content-type".into(), content_type.into())], body);
        prop_assert_eq!(delivery.mode(), Mode::Structured);
        let parsed = delivery.into_single().expect("one event");
        prop_assert_eq!(parsed.to_json(), event.to_json());
        prop_assert_eq!(parsed, event);
    }

    #[test]
    fn batch_round_trip(specs in prop::collection::vec(event_spec(true), 0..5)) {
        let events: Vec<CloudEvent> = specs.iter().map(EventSpec::build).collect();
        let (content_type, body) = encode::batch(&events);
        let delivery = parse_with(vec![("content-type".into(), content_type.into())], body);
        prop_assert_eq!(delivery.mode(), Mode::Batch);
        prop_assert_eq!(delivery.into_events(), events);
    }

    /// A String attribute holding a character CloudEvents forbids (a control, a
    /// noncharacter) is refused with `invalid-attribute` naming the attribute, in every
    /// mode (binary carries it percent-encoded, as an encoder must).
    #[test]
    fn strings_with_a_forbidden_character_are_refused(
        spec in event_spec(false),
        which in 0usize..4,
        bad in prop_oneof![
            (0u32..0x20).prop_map(|n| char::from_u32(n).unwrap()),
            (0x7fu32..0xa0).prop_map(|n| char::from_u32(n).unwrap()),
            prop::sample::select(vec!['\u{fdd0}', '\u{fdef}', '\u{fffe}', '\u{ffff}', '\u{10ffff}']),
        ],
        at in any::<prop::sample::Index>(),
    ) {
        let mut spec = spec;
        let (name, value) = match which {
            0 => ("id", &mut spec.id),
            1 => ("source", &mut spec.source),
            2 => ("type", &mut spec.ty),
            _ => ("subject", spec.subject.get_or_insert_with(|| "s".to_owned())),
        };
        let mut chars: Vec<char> = value.chars().collect();
        chars.insert(at.index(chars.len() + 1), bad);
        *value = chars.into_iter().collect();
        let event = spec.build();
        for (mode, (headers, body)) in [
            ("binary", encode::binary(&event)),
            ("structured", {
                let (ct, body) = encode::structured(&event);
                (vec![("content-type".to_owned(), ct.to_owned())], body)
            }),
            ("batch", {
                let (ct, body) = encode::batch(std::slice::from_ref(&event));
                (vec![("content-type".to_owned(), ct.to_owned())], body)
            }),
        ] {
            let error = parse(&HeaderList::new(headers), body, &ParseConfig::default())
                .expect_err("a forbidden character must be refused");
            prop_assert_eq!(error.kind(), ErrorKind::InvalidAttribute, "{}: {}", mode, error);
            let named = format!("`{name}`");
            prop_assert!(error.detail().contains(&named), "{}: {}", mode, error);
        }
    }
}

/// JSON data without a datacontenttype is JSON ("a JSON-format event with no
/// datacontenttype is exactly equivalent to one with application/json"); in binary
/// mode it must still come back as JSON, not as opaque bytes. (The CloudEvents spec
/// says the implied type SHOULD be set explicitly when changing format/binding.)
#[test]
fn binary_keeps_json_data_without_datacontenttype() {
    let event = CloudEvent::new("1", "/s", "t").with_data(Data::json(r#"{"a":1}"#).unwrap());
    let (headers, body) = encode::binary(&event);
    let parsed = parse_with(headers, body).into_single().unwrap();
    assert_eq!(
        parsed.data,
        event.data,
        "JSON data came back as {:?} with datacontenttype {:?}",
        parsed.data,
        parsed.datacontenttype()
    );
    assert!(
        matches!(parsed.datacontenttype(), None | Some("application/json")),
        "datacontenttype {:?}",
        parsed.datacontenttype()
    );
}

#[test]
fn the_time_strategy_gives_valid_times() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for _ in 0..512 {
        let t = rfc3339().new_tree(&mut runner).unwrap().current();
        assert!(
            CloudEvent::new("1", "/s", "t")
                .with_time(t.as_str())
                .is_ok(),
            "{t}"
        );
    }
}
