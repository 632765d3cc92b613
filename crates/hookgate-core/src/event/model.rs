//! The model: [`CloudEvent`], its attributes and their values, and [`Data`].

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::rules::check_extension_name;
use super::typed::EventData;
use crate::error::Error;

/// The CloudEvents specification version of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SpecVersion {
    /// CloudEvents 1.0 (`"1.0"`, covering 1.0.x).
    #[default]
    V1_0,
}

impl SpecVersion {
    /// The `specversion` attribute value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0",
        }
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Validated JSON text, kept as it arrived (no re-encoding, no `serde_json::Value`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(ByteString);

impl RawJson {
    /// Checks that `text` is one JSON value.
    pub fn new(text: impl Into<ByteString>) -> Result<Self, serde_json::Error> {
        let text = text.into();
        serde_json::from_str::<serde::de::IgnoredAny>(&text)?;
        Ok(Self(text))
    }

    /// Wraps text that the parser has already checked.
    pub(crate) fn trusted(text: ByteString) -> Self {
        Self(text)
    }

    /// The JSON text.
    #[must_use]
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The JSON text as shared bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Deserializes the JSON text into `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawJson({})", &*self.0)
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The value of an extension attribute, with the JSON type it arrived with.
///
/// Binary-mode headers carry no type, so extensions read from headers are
/// always [`ExtensionValue::String`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionValue {
    /// A JSON string (or any header value).
    String(ByteString),
    /// A JSON `true` / `false`.
    Boolean(bool),
    /// A JSON whole number that fits in an `i64`. (The specification's Integer is
    /// 32-bit; wider values are accepted rather than rejected.)
    Integer(i64),
    /// Any other JSON value (a fraction, an object, an array), kept as raw JSON.
    Json(RawJson),
}

impl ExtensionValue {
    /// The string, if this is a [`ExtensionValue::String`].
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for ExtensionValue {
    fn from(value: &str) -> Self {
        Self::String(value.into())
    }
}

impl fmt::Display for ExtensionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Boolean(b) => write!(f, "{b}"),
            Self::Integer(i) => write!(f, "{i}"),
            Self::Json(j) => f.write_str(j.get()),
        }
    }
}

/// The untyped data of an event.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Data {
    /// The event has no data.
    #[default]
    Empty,
    /// JSON data (`data` member of a JSON-typed event, or a binary-mode body
    /// with a JSON content type), as raw JSON text.
    Json(RawJson),
    /// Bytes: a binary-mode body with a non-JSON content type, decoded
    /// `data_base64`, or a JSON string `data` under a non-JSON content type.
    Binary(Bytes),
}

impl Data {
    /// JSON data from its text; fails when `text` is not one JSON value.
    pub fn json(text: impl Into<ByteString>) -> Result<Self, serde_json::Error> {
        RawJson::new(text).map(Self::Json)
    }

    /// Whether the event has no data.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// The data's bytes: JSON text or raw bytes; empty for [`Data::Empty`].
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Empty => &[],
            Self::Json(j) => j.as_bytes(),
            Self::Binary(b) => b,
        }
    }
}

/// An event's `time`: the text as sent and its parsed value.
#[derive(Clone, Debug)]
pub(crate) struct Time {
    /// The text, over the attributes' text (see [`Str`]).
    pub(super) text: Str,
    pub(super) value: OffsetDateTime,
}

/// A string attribute: a range of the event's shared text (the request body, when
/// the value needed no unescaping), or a string of its own.
///
/// Ranges keep a parsed event to one reference on the body's buffer instead of one
/// per attribute: each reference is an atomic increment when built and a decrement
/// when dropped.
#[derive(Clone, Debug)]
pub(crate) enum Str {
    Range(u32, u32),
    Own(Box<str>),
}

impl Str {
    /// The range of `part` within `text`, when `part` is a slice of it (it lies in
    /// `text`'s memory); a copy otherwise.
    pub(crate) fn of(text: &str, part: &str) -> Self {
        let start = (part.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        let range = start
            .checked_add(part.len())
            .filter(|end| text.get(start..*end).is_some())
            .and_then(|end| Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?)));
        match range {
            Some((a, b)) => Self::Range(a, b),
            None => Self::from(part),
        }
    }

    pub(crate) fn resolve<'a>(&'a self, text: &'a ByteString) -> &'a str {
        self.resolve_in(text)
    }

    /// [`resolve`](Self::resolve) over text that is not (yet) a `ByteString`.
    pub(crate) fn resolve_in<'a>(&'a self, text: &'a str) -> &'a str {
        match self {
            Self::Range(a, b) => text.get(*a as usize..*b as usize).unwrap_or_default(),
            Self::Own(s) => s,
        }
    }
}

impl From<&str> for Str {
    fn from(value: &str) -> Self {
        Self::Own(value.into())
    }
}

/// The context attributes of an event: the required ones, the optional ones
/// and the extensions. String attributes are [`Str`]s over `text`.
#[derive(Clone)]
pub(crate) struct Attributes {
    pub(crate) text: ByteString,
    pub(crate) specversion: SpecVersion,
    pub(crate) id: Str,
    pub(crate) source: Str,
    pub(crate) ty: Str,
    pub(crate) datacontenttype: Option<Str>,
    pub(crate) dataschema: Option<Str>,
    pub(crate) subject: Option<Str>,
    pub(crate) time: Option<Time>,
    pub(crate) extensions: Vec<(Str, ExtensionValue)>,
}

/// The attributes as plain values, for comparing and hashing.
type AttributesKey<'a> = (
    SpecVersion,
    [&'a str; 3],
    [Option<&'a str>; 3],
    Option<&'a str>,
    Vec<(&'a str, &'a ExtensionValue)>,
);

impl Attributes {
    pub(crate) fn get<'a>(&'a self, s: &'a Str) -> &'a str {
        s.resolve(&self.text)
    }

    pub(crate) fn get_opt<'a>(&'a self, s: Option<&'a Str>) -> Option<&'a str> {
        s.map(|s| self.get(s))
    }

    fn key(&self) -> AttributesKey<'_> {
        (
            self.specversion,
            [
                self.get(&self.id),
                self.get(&self.source),
                self.get(&self.ty),
            ],
            [
                self.get_opt(self.datacontenttype.as_ref()),
                self.get_opt(self.dataschema.as_ref()),
                self.get_opt(self.subject.as_ref()),
            ],
            self.time.as_ref().map(|t| self.get(&t.text)),
            self.extensions
                .iter()
                .map(|(n, v)| (self.get(n), v))
                .collect(),
        )
    }
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Attributes {}

impl std::hash::Hash for Attributes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

/// A reference to the value of any attribute, as returned by [`CloudEvent::attribute`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue<'a> {
    /// A string attribute (every core attribute, and string extensions).
    String(&'a str),
    /// A boolean extension.
    Boolean(bool),
    /// An integer extension.
    Integer(i64),
    /// An extension with another JSON value, as raw JSON text.
    Json(&'a str),
}

/// A CloudEvent whose data is of type `T`.
///
/// `CloudEvent` alone is `CloudEvent<Data>`, the untyped form. Attributes are read
/// through accessors; `data` is a public field.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CloudEvent<T = Data> {
    attrs: Attributes,
    /// The event's data.
    pub data: T,
}

impl CloudEvent<Data> {
    /// An event with the required attributes and no data; `specversion` is 1.0.
    ///
    /// Meant for tests and senders; received events come from [`crate::parse`].
    #[must_use]
    pub fn new(
        id: impl Into<ByteString>,
        source: impl Into<ByteString>,
        ty: impl Into<ByteString>,
    ) -> Self {
        Self {
            attrs: Attributes {
                text: ByteString::new(),
                specversion: SpecVersion::V1_0,
                id: Str::from(&*id.into()),
                source: Str::from(&*source.into()),
                ty: Str::from(&*ty.into()),
                datacontenttype: None,
                dataschema: None,
                subject: None,
                time: None,
                extensions: Vec::new(),
            },
            data: Data::Empty,
        }
    }

    /// Converts the data into `T`, straight from its JSON bytes.
    ///
    /// See [`EventData`] for the rules.
    pub fn into_typed<T: EventData>(self) -> Result<CloudEvent<T>, Error> {
        let content_type = self.attrs.get_opt(self.attrs.datacontenttype.as_ref());
        let data = T::from_data(self.data, content_type)?;
        Ok(CloudEvent {
            attrs: self.attrs,
            data,
        })
    }
}

impl<T> CloudEvent<T> {
    pub(crate) fn from_parts(attrs: Attributes, data: T) -> Self {
        Self { attrs, data }
    }

    /// The `specversion`.
    #[must_use]
    pub fn specversion(&self) -> SpecVersion {
        self.attrs.specversion
    }

    /// The `id`.
    #[must_use]
    pub fn id(&self) -> &str {
        self.attrs.get(&self.attrs.id)
    }

    /// The `source` (a URI-reference, as sent).
    #[must_use]
    pub fn source(&self) -> &str {
        self.attrs.get(&self.attrs.source)
    }

    /// The `type`.
    #[must_use]
    pub fn ty(&self) -> &str {
        self.attrs.get(&self.attrs.ty)
    }

    /// The `datacontenttype`, as sent (parameters included).
    #[must_use]
    pub fn datacontenttype(&self) -> Option<&str> {
        self.attrs.get_opt(self.attrs.datacontenttype.as_ref())
    }

    /// The `dataschema`, as sent (relative references such as `#` are kept).
    #[must_use]
    pub fn dataschema(&self) -> Option<&str> {
        self.attrs.get_opt(self.attrs.dataschema.as_ref())
    }

    /// The `subject`.
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        self.attrs.get_opt(self.attrs.subject.as_ref())
    }

    /// The `time`, parsed.
    #[must_use]
    pub fn time(&self) -> Option<OffsetDateTime> {
        self.attrs.time.as_ref().map(|t| t.value)
    }

    /// The `time` as it was sent.
    #[must_use]
    pub fn time_str(&self) -> Option<&str> {
        self.attrs.time.as_ref().map(|t| self.attrs.get(&t.text))
    }

    /// The value of extension `name`.
    #[must_use]
    pub fn extension(&self, name: &str) -> Option<&ExtensionValue> {
        self.attrs
            .extensions
            .iter()
            .find(|(n, _)| self.attrs.get(n) == name)
            .map(|(_, v)| v)
    }

    /// The event's own trace context: its `traceparent` and `tracestate`
    /// extensions (the CloudEvents distributed-tracing extension), when
    /// `traceparent` is a valid W3C value; the context the event was created in,
    /// for a handler that passes it on (hookgate links the event's processing
    /// span to it, see [`observe`](crate::observe)). Parsed on each call.
    #[must_use]
    pub fn trace_context(&self) -> Option<crate::observe::TraceContext> {
        let traceparent = self.extension("traceparent")?.as_str()?;
        let tracestate = self
            .extension("tracestate")
            .and_then(ExtensionValue::as_str);
        crate::observe::TraceContext::parse(traceparent, tracestate)
    }

    /// All extensions: in the order of the JSON members for structured and batch
    /// mode, in name order for binary mode (header order is not kept by every HTTP
    /// stack).
    pub fn extensions(&self) -> impl ExactSizeIterator<Item = (&str, &ExtensionValue)> {
        self.attrs
            .extensions
            .iter()
            .map(|(n, v)| (self.attrs.get(n), v))
    }

    /// Any attribute by name: the core ones and the extensions.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<AttributeValue<'_>> {
        let s = AttributeValue::String;
        match name {
            "specversion" => Some(s(self.specversion().as_str())),
            "id" => Some(s(self.id())),
            "source" => Some(s(self.source())),
            "type" => Some(s(self.ty())),
            "datacontenttype" => self.datacontenttype().map(s),
            "dataschema" => self.dataschema().map(s),
            "subject" => self.subject().map(s),
            "time" => self.time_str().map(s),
            _ => self.extension(name).map(|v| match v {
                ExtensionValue::String(v) => AttributeValue::String(v),
                ExtensionValue::Boolean(b) => AttributeValue::Boolean(*b),
                ExtensionValue::Integer(i) => AttributeValue::Integer(*i),
                ExtensionValue::Json(j) => AttributeValue::Json(j.get()),
            }),
        }
    }

    /// Replaces the data, keeping the attributes.
    #[must_use]
    pub fn with_data<U>(self, data: U) -> CloudEvent<U> {
        CloudEvent {
            attrs: self.attrs,
            data,
        }
    }

    /// Maps the data, keeping the attributes.
    pub fn map_data<U>(self, f: impl FnOnce(T) -> U) -> CloudEvent<U> {
        CloudEvent {
            data: f(self.data),
            attrs: self.attrs,
        }
    }

    /// Sets `datacontenttype`.
    #[must_use]
    pub fn with_datacontenttype(mut self, value: impl Into<ByteString>) -> Self {
        self.attrs.datacontenttype = Some(Str::from(&*value.into()));
        self
    }

    /// Sets `dataschema`.
    #[must_use]
    pub fn with_dataschema(mut self, value: impl Into<ByteString>) -> Self {
        self.attrs.dataschema = Some(Str::from(&*value.into()));
        self
    }

    /// Sets `subject`.
    #[must_use]
    pub fn with_subject(mut self, value: impl Into<ByteString>) -> Self {
        self.attrs.subject = Some(Str::from(&*value.into()));
        self
    }

    /// Sets `time`; fails unless `value` is an RFC 3339 timestamp.
    pub fn with_time(mut self, value: impl Into<ByteString>) -> Result<Self, Error> {
        let value: ByteString = value.into();
        self.attrs.time = Some(Time::parse(Str::from(&*value), &value)?);
        Ok(self)
    }

    /// Adds or replaces an extension; fails unless `name` is `[a-z0-9]+` and not
    /// the name of a core attribute.
    pub fn with_extension(
        mut self,
        name: impl Into<ByteString>,
        value: impl Into<ExtensionValue>,
    ) -> Result<Self, Error> {
        let name = name.into();
        check_extension_name(&name)?;
        let value = value.into();
        let a = &mut self.attrs;
        match a
            .extensions
            .iter()
            .position(|(n, _)| n.resolve(&a.text) == &*name)
        {
            Some(i) => a.extensions[i].1 = value,
            None => a.extensions.push((Str::from(&*name), value)),
        }
        Ok(self)
    }
}

impl<T: fmt::Debug> fmt::Debug for CloudEvent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CloudEvent");
        d.field("specversion", &self.specversion().as_str())
            .field("id", &self.id())
            .field("source", &self.source())
            .field("type", &self.ty());
        if let Some(v) = self.datacontenttype() {
            d.field("datacontenttype", &v);
        }
        if let Some(v) = self.dataschema() {
            d.field("dataschema", &v);
        }
        if let Some(v) = self.subject() {
            d.field("subject", &v);
        }
        if let Some(v) = self.time_str() {
            d.field("time", &v);
        }
        for (n, v) in self.extensions() {
            d.field(n, v);
        }
        d.field("data", &self.data).finish()
    }
}
