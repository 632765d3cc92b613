//! Structured and batch content modes: the CloudEvents JSON format.
//!
//! The body is scanned once by serde_json, and each event is built from its
//! members as they are read (each value borrowed as a `&RawValue`; no list of
//! members is kept); strings without escapes become slices of the body's buffer, so
//! an event costs few allocations. A batch is built event by event the same way:
//! only the events built so far are held, the count is checked before each one is
//! built (`ParseConfig::max_events`), and after the first refused member the rest is
//! only checked to be JSON (which keeps "not JSON" ahead of a member's error, and
//! costs no memory).

use std::borrow::Cow;
use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use super::draft::{Core, Draft};
use super::{Delivery, Mode, ParseConfig};
use crate::error::{Error, ErrorKind, excerpt};
use crate::event::{
    CloudEvent, Data, ExtensionValue, RawJson, Str, check_attribute_name, is_json_media_type,
};

/// Standard base64 that accepts a missing `=` padding too.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub(super) fn parse(mode: Mode, body: Bytes, config: &ParseConfig) -> Result<Delivery, Error> {
    let max_attributes = config.max_attributes();
    let text = ByteString::try_from(body).map_err(|_| {
        Error::new(
            ErrorKind::MalformedJson,
            "the body is not valid UTF-8 (JSON must be UTF-8)",
        )
    })?;
    let first = text.bytes().find(|b| !b.is_ascii_whitespace());
    let malformed = |e: serde_json::Error| {
        Error::new(
            ErrorKind::MalformedJson,
            format!("the body is not valid JSON: {e}"),
        )
    };
    match (mode, first) {
        // A structured body that is an array is read as a batch (see the module docs).
        (Mode::Batch, _) | (Mode::Structured, Some(b'[')) => {
            if first != Some(b'[') {
                // Say "not JSON" for a body that is not JSON at all, "not an array"
                // for JSON of another shape.
                serde_json::from_str::<IgnoredAny>(&text).map_err(malformed)?;
                return Err(Error::new(
                    ErrorKind::NotAnArray,
                    "a `application/cloudevents-batch+json` body must be a JSON array of events",
                ));
            }
            let batch = Batch {
                body: &text,
                max_attributes,
                max_events: config.max_events(),
                max_extensions: config.max_batch_extensions(),
            };
            let mut json = serde_json::Deserializer::from_str(&text);
            let events = batch.deserialize(&mut json).map_err(malformed)?;
            json.end().map_err(malformed)?;
            Ok(Delivery::new(Mode::Batch, events?))
        }
        _ => {
            let seed = EventSeed {
                body: &text,
                max_attributes,
            };
            let mut json = serde_json::Deserializer::from_str(&text);
            let event = seed.deserialize(&mut json).map_err(malformed)?;
            json.end().map_err(malformed)?;
            Ok(Delivery::new(Mode::Structured, vec![event?]))
        }
    }
}

/// The length of the smallest valid event in the JSON format,
/// `{"id":"1","source":"s","type":"t","specversion":"1.0"}`, and its separator: a
/// body of `n` bytes holds at most `n / SMALLEST_EVENT + 1` events.
const SMALLEST_EVENT: usize = 55;

/// The events of a batch, built while the array is scanned.
struct Batch<'b> {
    body: &'b ByteString,
    max_attributes: usize,
    max_events: usize,
    /// The most extensions of all the events together.
    max_extensions: usize,
}

impl<'de> DeserializeSeed<'de> for Batch<'_> {
    /// The events, or the first refused member's error (the JSON is valid either way).
    type Value = Result<Vec<CloudEvent>, Error>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Batch<'_> {
    type Value = Result<Vec<CloudEvent>, Error>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of CloudEvents")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut events = Vec::new();
        let mut extensions = 0usize;
        let refused = loop {
            if events.len() == self.max_events {
                // The limit is reached: one more member is refused, not built.
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(Ok(events));
                }
                break Error::new(
                    ErrorKind::TooManyEvents,
                    format!(
                        "the batch has more than {} events, the receiver's limit \
                         (ParseConfig::max_events)",
                        self.max_events
                    ),
                );
            }
            let Some(event) = seq.next_element_seed(EventSeed {
                body: self.body,
                max_attributes: self.max_attributes,
            })?
            else {
                return Ok(Ok(events));
            };
            match event {
                Ok(event) => {
                    extensions += event.extensions().len();
                    if extensions > self.max_extensions {
                        break Error::new(
                            ErrorKind::TooManyAttributes,
                            format!(
                                "the batch has more than {} extension attributes in all, the \
                                 receiver's limit (ParseConfig::max_batch_extensions)",
                                self.max_extensions
                            ),
                        );
                    }
                    if events.len() == events.capacity() {
                        // Doubling, but never past the most events the body can hold.
                        let most = self.max_events.min(self.body.len() / SMALLEST_EVENT + 1);
                        let room = (2 * events.len()).clamp(4, most.max(4)) - events.len();
                        events.reserve_exact(room);
                    }
                    events.push(event);
                }
                Err(e) => break e.context(format_args!("batch member {}", events.len())),
            }
        };
        // Free the events at once; the rest of the array is only checked to be JSON.
        drop(events);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err(refused))
    }
}

/// One JSON value where an event is expected, built into an event as its members
/// are read (no list of members is kept). After the first refused member the rest of
/// the object is only checked to be JSON.
#[derive(Clone, Copy)]
struct EventSeed<'b> {
    body: &'b ByteString,
    max_attributes: usize,
}

impl<'de> DeserializeSeed<'de> for EventSeed<'_> {
    /// The event, or why it is refused (the JSON is valid either way).
    type Value = Result<CloudEvent, Error>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A member name, borrowed from the body unless it had escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn not_an_object(what: &str) -> Result<CloudEvent, Error> {
    Err(Error::new(
        ErrorKind::NotAnObject,
        format!("expected a CloudEvent JSON object, got {what}"),
    ))
}

impl<'de> Visitor<'de> for EventSeed<'_> {
    type Value = Result<CloudEvent, Error>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudEvent JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut builder = Builder::new(self.body, self.max_attributes);
        while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
            let raw = map.next_value::<&'de RawValue>()?;
            if let Err(e) = builder.member(name, raw) {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(Err(e));
            }
        }
        Ok(builder.finish())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(not_an_object("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(not_an_object("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(not_an_object("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(not_an_object("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(not_an_object("null"))
    }
}

/// A JSON value, classified by its first character.
enum Value<'a> {
    Null,
    String(&'a str),
    Bool(bool),
    Number(&'a str),
    Composite(&'a str),
}

fn classify(raw: &RawValue) -> Value<'_> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => Value::String(text),
        Some(b'n') => Value::Null,
        Some(b't') => Value::Bool(true),
        Some(b'f') => Value::Bool(false),
        Some(b'{' | b'[') | None => Value::Composite(text),
        Some(_) => Value::Number(text),
    }
}

fn type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::Null => "null",
        Value::String(_) => "a string",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Composite(t) if t.starts_with('[') => "an array",
        Value::Composite(_) => "an object",
    }
}

fn unescape_str(body: &ByteString, quoted: &str) -> Str {
    let inner = &quoted[1..quoted.len() - 1];
    if inner.contains('\\') {
        // serde_json already checked the literal; decoding it again cannot fail.
        Str::Own(
            serde_json::from_str::<String>(quoted)
                .unwrap_or_default()
                .into_boxed_str(),
        )
    } else {
        Str::of(body, inner)
    }
}

/// The content of a JSON string literal, shared with the body when it has no escapes.
fn unescape(body: &ByteString, quoted: &str) -> ByteString {
    let inner = &quoted[1..quoted.len() - 1];
    if inner.contains('\\') {
        // serde_json already checked the literal; decoding it again cannot fail.
        serde_json::from_str::<String>(quoted)
            .unwrap_or_default()
            .into()
    } else {
        body.slice_ref(inner)
    }
}

/// An event under construction from its JSON members, in the order they come.
struct Builder<'a> {
    body: &'a ByteString,
    draft: Draft,
    data: Option<&'a RawValue>,
    data_base64: Option<&'a RawValue>,
}

impl<'a> Builder<'a> {
    fn new(body: &'a ByteString, max_attributes: usize) -> Self {
        Self {
            body,
            draft: Draft::over(body.clone(), max_attributes),
            data: None,
            data_base64: None,
        }
    }

    /// Takes member `name` of value `raw` (a part of the body).
    fn member(&mut self, name: Cow<'_, str>, raw: &'a RawValue) -> Result<(), Error> {
        let body = self.body;
        let value = classify(raw);
        // One match on the name decides where the member goes.
        let slot = match &*name {
            "data" => &mut self.data,
            "data_base64" => &mut self.data_base64,
            other => {
                if let Some(core) = Core::of(other) {
                    return match value {
                        Value::Null => Ok(()),
                        Value::String(s) => self.draft.set_core(core, unescape_str(body, s)),
                        other => Err(Error::new(
                            ErrorKind::InvalidAttribute,
                            format!(
                                "attribute `{name}` must be a string, got {}",
                                type_name(&other)
                            ),
                        )),
                    };
                }
                return self.extension(name, value);
            }
        };
        if slot.is_some() {
            return Err(Error::new(
                ErrorKind::DuplicateAttribute,
                format!("member `{name}` is given more than once"),
            ));
        }
        if !matches!(value, Value::Null) {
            *slot = Some(raw);
        }
        Ok(())
    }

    fn extension(&mut self, name: Cow<'_, str>, value: Value<'_>) -> Result<(), Error> {
        let body = self.body;
        let ext = match value {
            // A null member means "absent", but its name must still be a valid one.
            Value::Null => return check_attribute_name(&name),
            Value::String(s) => ExtensionValue::String(unescape(body, s)),
            Value::Bool(b) => ExtensionValue::Boolean(b),
            Value::Number(n) => match n.parse::<i64>() {
                Ok(i) => ExtensionValue::Integer(i),
                Err(_) => ExtensionValue::Json(RawJson::trusted(body.slice_ref(n))),
            },
            Value::Composite(c) => ExtensionValue::Json(RawJson::trusted(body.slice_ref(c))),
        };
        let name = match name {
            Cow::Borrowed(n) => Str::of(body, n),
            Cow::Owned(n) => Str::Own(n.into_boxed_str()),
        };
        self.draft.set_extension(name, ext)
    }

    /// Checks the whole event and builds it.
    fn finish(self) -> Result<CloudEvent, Error> {
        let body = self.body;
        let data = match (self.data, self.data_base64) {
            (Some(_), Some(_)) => {
                return Err(Error::new(
                    ErrorKind::ConflictingData,
                    "`data` and `data_base64` are both present; an event carries one of them",
                ));
            }
            (None, None) => Data::Empty,
            (None, Some(raw)) => decode_base64(body, classify(raw))?,
            (Some(raw), None) => match classify(raw) {
                // Under a non-JSON content type a JSON string is the data's text.
                Value::String(s)
                    if self
                        .draft
                        .datacontenttype()
                        .is_some_and(|ct| !is_json_media_type(ct)) =>
                {
                    Data::Binary(unescape(body, s).into_bytes())
                }
                _ => Data::Json(RawJson::trusted(body.slice_ref(raw.get()))),
            },
        };
        Ok(CloudEvent::from_parts(self.draft.finish()?, data))
    }
}

fn decode_base64(body: &ByteString, value: Value<'_>) -> Result<Data, Error> {
    let Value::String(s) = value else {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "`data_base64` must be a base64 string, got {}",
                type_name(&value)
            ),
        ));
    };
    let encoded = unescape(body, s);
    let decoded = BASE64.decode(encoded.as_bytes()).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "`data_base64` is not valid base64 ({e}): `{}`",
                excerpt(&encoded)
            ),
        )
    })?;
    Ok(Data::Binary(Bytes::from(decoded)))
}
