//! JSON writing: the CloudEvents JSON format (structured mode) of an event, on one
//! line.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::model::{CloudEvent, Data, ExtensionValue, RawJson};

/// Serializes as the JSON value itself, with white space between tokens removed.
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_raw(self.get(), serializer)
    }
}

impl Serialize for ExtensionValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(s) => serializer.serialize_str(s),
            Self::Boolean(b) => serializer.serialize_bool(*b),
            Self::Integer(i) => serializer.serialize_i64(*i),
            Self::Json(j) => j.serialize(serializer),
        }
    }
}

/// Serializes validated JSON text as it is, but without line breaks or other white
/// space outside strings, so that a serialized event stays on one line.
fn serialize_raw<S: Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let compact = compact_json(text);
    let raw: &serde_json::value::RawValue =
        serde_json::from_str(&compact).map_err(serde::ser::Error::custom)?;
    raw.serialize(serializer)
}

/// JSON text without the white space between tokens (strings are kept intact).
fn compact_json(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .bytes()
        .any(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Serializes in the CloudEvents JSON format (structured mode); binary data as
/// `data_base64`.
impl Serialize for CloudEvent<Data> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_event(self, serializer, true)
    }
}

/// The event without its data (see [`CloudEvent::to_json`]).
struct Attributes<'a>(&'a CloudEvent<Data>);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_event(self.0, serializer, false)
    }
}

/// The event's members in the JSON format, its data (`data` or `data_base64`) too
/// when `with_data`.
fn serialize_event<S: Serializer>(
    this: &CloudEvent<Data>,
    serializer: S,
    with_data: bool,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("specversion", this.specversion().as_str())?;
    map.serialize_entry("id", this.id())?;
    map.serialize_entry("source", this.source())?;
    map.serialize_entry("type", this.ty())?;
    if let Some(v) = this.datacontenttype() {
        map.serialize_entry("datacontenttype", v)?;
    }
    if let Some(v) = this.dataschema() {
        map.serialize_entry("dataschema", v)?;
    }
    if let Some(v) = this.subject() {
        map.serialize_entry("subject", v)?;
    }
    if let Some(v) = this.time_str() {
        map.serialize_entry("time", v)?;
    }
    for (n, v) in this.extensions() {
        map.serialize_entry(n, v)?;
    }
    match &this.data {
        _ if !with_data => {}
        Data::Empty => {}
        Data::Json(j) => map.serialize_entry("data", j)?,
        Data::Binary(b) => {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(b);
            map.serialize_entry("data_base64", &encoded)?;
        }
    }
    map.end()
}

impl CloudEvent<Data> {
    /// The event in the CloudEvents JSON format (structured mode), as one line.
    #[must_use]
    pub fn to_json(&self) -> String {
        // JSON data (the usual case) is spliced in as its text, compacted: it was
        // validated when the event was made, and serializing it as a `RawValue`
        // would parse it once more (the same text, at about twice the cost).
        if let Data::Json(data) = &self.data
            && let Ok(mut out) = serde_json::to_string(&Attributes(self))
            && out.ends_with('}')
        {
            out.pop();
            out.push_str(",\"data\":");
            out.push_str(&compact_json(data.get()));
            out.push('}');
            return out;
        }
        // Every part is valid JSON already; serializing into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_json_is_what_the_serializer_writes() {
        let json = |text: &str| Data::json(text).unwrap();
        let events = [
            CloudEvent::new("1", "/s", "t"),
            CloudEvent::new("2", "/s", "t").with_data(json("{ \"a\" : [1, \"x y\"] }")),
            CloudEvent::new("3", "/s", "t")
                .with_subject("sub")
                .with_data(json("\"text\"")),
            CloudEvent::new("4", "/s", "t")
                .with_data(Data::Binary(bytes::Bytes::from_static(b"\0\x01"))),
            CloudEvent::new("5", "/s", "t")
                .with_extension("ext", "v")
                .unwrap()
                .with_data(json("[]")),
        ];
        for event in &events {
            assert_eq!(event.to_json(), serde_json::to_string(event).unwrap());
        }
    }

    #[test]
    fn serialized_events_stay_on_one_line() {
        let event = CloudEvent::new("1", "/s", "t")
            .with_data(Data::json("{\n  \"a\": \"x \\\" \\n y\",\n  \"b\": [1, 2]\n}").unwrap());
        assert_eq!(
            event.to_json(),
            r#"{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"a":"x \" \n y","b":[1,2]}}"#
        );
    }
}
