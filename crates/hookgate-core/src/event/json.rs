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
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("specversion", self.specversion().as_str())?;
        map.serialize_entry("id", self.id())?;
        map.serialize_entry("source", self.source())?;
        map.serialize_entry("type", self.ty())?;
        if let Some(v) = self.datacontenttype() {
            map.serialize_entry("datacontenttype", v)?;
        }
        if let Some(v) = self.dataschema() {
            map.serialize_entry("dataschema", v)?;
        }
        if let Some(v) = self.subject() {
            map.serialize_entry("subject", v)?;
        }
        if let Some(v) = self.time_str() {
            map.serialize_entry("time", v)?;
        }
        for (n, v) in self.extensions() {
            map.serialize_entry(n, v)?;
        }
        match &self.data {
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
}

impl CloudEvent<Data> {
    /// The event in the CloudEvents JSON format (structured mode), as one line.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Every part is valid JSON already; serializing into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
