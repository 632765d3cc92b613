//! Benchmarks of hookgate against other crates (not published).
//!
//! # What is measured
//!
//! `benches/parse.rs` parses the same HTTP requests with three parsers:
//!
//! - [`hookgate`]: [`hookgate_core::parse`] over the request's http 1 [`HeaderMap`]
//!   (through [`hookgate::HttpHeaders`], the same adapter as a tower/axum
//!   receiver's `hookgate_tower::HttpHeaders`) and its [`Bytes`] body, then
//!   [`Delivery::into_single`](hookgate_core::Delivery::into_single) or, for typed
//!   data, `into_typed::<Order>()`.
//! - [`sdk`]: the CloudEvents Rust SDK, `cloudevents-sdk` 0.9, through its http
//!   binding, `cloudevents::binding::http::to_event(&HeaderMap, Vec<u8>)`. The
//!   SDK has **no batch receive**: its batch numbers are `serde_json::from_slice`
//!   into a `Vec<cloudevents::Event>`, which is what a receiver using the SDK
//!   would have to write.
//! - [`floor`]: what the JSON alone costs: `serde_json::from_slice` of the same
//!   bytes into a plain `#[derive(Deserialize)]` struct with borrowed `&str`
//!   fields ([`floor::Event`]), its data as `&RawValue` (untyped) or as [`Order`]
//!   (typed). In binary mode the floor reads the header strings and deserializes
//!   the body. The floor validates nothing (no required attributes, no
//!   timestamp, no attribute names): it is a lower bound, not a parser.
//!
//! The requests ([`Case`]):
//!
//! | case | request |
//! |---|---|
//! | `structured` | one event in `application/cloudevents+json`, [`STRUCTURED_LEN`] bytes |
//! | `binary` | the same event in binary mode: `ce-` headers and its JSON data as the body |
//! | `batch` | [`BATCH_LEN`] such events in `application/cloudevents-batch+json` |
//!
//! Each event has all eight context attributes of CloudEvents 1.0 (`specversion`,
//! `id`, `source`, `type`, `subject`, `time`, `datacontenttype`, `dataschema`), two
//! string extensions (`traceparent`, `partitionkey`) and a JSON object of eight
//! fields as `data` (see [`Order`]). Every case is measured untyped (data kept as
//! raw JSON, or the SDK's `Data`) and typed (data deserialized into [`Order`]).
//!
//! # What one iteration includes
//!
//! What a receiver pays once its HTTP stack has handed over the headers and the
//! body, nothing less:
//!
//! - the body handed over: a clone of the [`Bytes`] (a reference count increment)
//!   for hookgate; `Bytes::to_vec` (a copy) for the SDK, because `to_event` takes a
//!   `Vec<u8>` and that is what the SDK's own axum extractor does; a borrow for the
//!   floor;
//! - the header lookups (mode detection, `ce-` attributes);
//! - the parse and, for the typed cases, the conversion of the data into [`Order`];
//! - dropping the result (`divan::black_box_drop`): freeing what a parser allocated
//!   is part of its cost.
//!
//! The [`Request`] (its [`HeaderMap`] and body) is built once, outside the timed
//! code: it is the input, and the same for all three parsers.
//!
//! # Running
//!
//! ```text
//! cargo bench -p hookgate-bench --bench parse
//! ```
//!
//! Results and their analysis are recorded in `BENCHMARKS.md` at the workspace root.
//! `cargo test -p hookgate-bench` checks that every request parses with all three
//! parsers and that they agree, so that no benchmark measures an error path.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

/// The error type of the [`sdk`] and [`floor`] functions (the error path is not
/// measured; only its type must hold every error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many events the batch request carries.
pub const BATCH_LEN: usize = 100;

/// The length in bytes of the structured request's body (event 0).
pub const STRUCTURED_LEN: usize = 612;

/// The `source` of every event.
pub const SOURCE: &str = "https://orders.example.com/shop/eu-west-1";
/// The `type` of every event.
pub const TYPE: &str = "com.example.shop.order.created";
/// The `time` of every event.
pub const TIME: &str = "2026-01-31T12:34:56.789Z";
/// The `datacontenttype` of every event.
pub const DATACONTENTTYPE: &str = "application/json";
/// The `dataschema` of every event.
pub const DATASCHEMA: &str = "https://schemas.example.com/shop/order-created/v1.json";
/// The `traceparent` extension of every event (W3C Trace Context).
pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The typed data of the events: a JSON object of eight fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order number, `ORD-2026-<index>`.
    pub order_id: String,
    /// The customer number.
    pub customer_id: String,
    /// The total (a multiple of 0.25, so that it round-trips exactly).
    pub amount: f64,
    /// An ISO 4217 currency code.
    pub currency: String,
    /// How many items were ordered.
    pub items: u32,
    /// Whether the order ships express.
    pub express: bool,
    /// The warehouse that ships it.
    pub warehouse: String,
    /// A free-text note.
    pub note: String,
}

/// The data of event `index`.
#[must_use]
pub fn order(index: usize) -> Order {
    Order {
        order_id: format!("ORD-2026-{index:06}"),
        customer_id: format!("CUST-{:05}", 98765 + index),
        amount: 129.5 + 0.25 * index as f64,
        currency: "EUR".to_owned(),
        items: 1 + (index % 7) as u32,
        express: index.is_multiple_of(2),
        warehouse: "AMS-02".to_owned(),
        note: "leave at the front door".to_owned(),
    }
}

/// The `id` of event `index` (a UUID; every event of the batch has its own).
#[must_use]
pub fn event_id(index: usize) -> String {
    format!("2f9c1e4a-7b3d-4c8e-9a61-{index:012x}")
}

/// The `subject` of event `index`.
#[must_use]
pub fn subject(index: usize) -> String {
    format!("orders/ORD-2026-{index:06}")
}

/// The `partitionkey` extension of event `index`.
#[must_use]
pub fn partition_key(index: usize) -> String {
    format!("customer-{:05}", 98765 + index)
}

/// The JSON text of event `index`'s data, on one line.
#[must_use]
pub fn data_json(index: usize) -> String {
    serde_json::to_string(&order(index)).expect("an Order always serializes")
}

/// Event `index` in the CloudEvents JSON format, on one line as senders send it.
#[must_use]
pub fn event_json(index: usize) -> String {
    let s = |value: &str| serde_json::to_string(value).expect("a string serializes");
    format!(
        concat!(
            r#"{{"specversion":"1.0","id":{},"source":{},"type":{},"subject":{},"#,
            r#""time":{},"datacontenttype":{},"dataschema":{},"traceparent":{},"#,
            r#""partitionkey":{},"data":{}}}"#,
        ),
        s(&event_id(index)),
        s(SOURCE),
        s(TYPE),
        s(&subject(index)),
        s(TIME),
        s(DATACONTENTTYPE),
        s(DATASCHEMA),
        s(TRACEPARENT),
        s(&partition_key(index)),
        data_json(index),
    )
}

/// The request cases of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// One event in structured mode (`application/cloudevents+json`).
    Structured,
    /// The same event in binary mode (`ce-` headers, JSON data as the body).
    Binary,
    /// [`BATCH_LEN`] events in `application/cloudevents-batch+json`.
    Batch,
}

impl Case {
    /// Every case.
    pub const ALL: [Self; 3] = [Self::Structured, Self::Binary, Self::Batch];

    /// The request of this case.
    #[must_use]
    pub fn request(self) -> Request {
        match self {
            Self::Structured => Request::structured(),
            Self::Binary => Request::binary(),
            Self::Batch => Request::batch(),
        }
    }

    /// How many events the request carries.
    #[must_use]
    pub fn len(self) -> usize {
        match self {
            Self::Structured | Self::Binary => 1,
            Self::Batch => BATCH_LEN,
        }
    }

    /// Whether the request carries no event (never: every case has at least one).
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// One HTTP request as the receiver's HTTP stack hands it over: headers and body.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request headers, with a few that every real request has (`host`,
    /// `user-agent`, `content-length`) besides the CloudEvents ones.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Request {
    /// Event 0 in structured mode.
    #[must_use]
    pub fn structured() -> Self {
        Self::new(
            [(CONTENT_TYPE, "application/cloudevents+json".to_owned())],
            event_json(0),
        )
    }

    /// Event 0 in binary mode.
    #[must_use]
    pub fn binary() -> Self {
        let ce = |name: &'static str| HeaderName::from_static(name);
        Self::new(
            [
                (ce("ce-specversion"), "1.0".to_owned()),
                (ce("ce-id"), event_id(0)),
                (ce("ce-source"), SOURCE.to_owned()),
                (ce("ce-type"), TYPE.to_owned()),
                (ce("ce-subject"), subject(0)),
                (ce("ce-time"), TIME.to_owned()),
                (ce("ce-dataschema"), DATASCHEMA.to_owned()),
                (ce("ce-traceparent"), TRACEPARENT.to_owned()),
                (ce("ce-partitionkey"), partition_key(0)),
                (CONTENT_TYPE, DATACONTENTTYPE.to_owned()),
            ],
            data_json(0),
        )
    }

    /// Events `0..BATCH_LEN` as a batch.
    #[must_use]
    pub fn batch() -> Self {
        let events: Vec<String> = (0..BATCH_LEN).map(event_json).collect();
        Self::new(
            [(
                CONTENT_TYPE,
                "application/cloudevents-batch+json".to_owned(),
            )],
            format!("[{}]", events.join(",")),
        )
    }

    fn new(ce_headers: impl IntoIterator<Item = (HeaderName, String)>, body: String) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("orders.example.com"));
        headers.insert(USER_AGENT, HeaderValue::from_static("hookgate-bench/0.1"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        for (name, value) in ce_headers {
            let value = HeaderValue::try_from(value).expect("fixture header values are valid");
            headers.insert(name, value);
        }
        let body = Bytes::from(body);
        // The first clone of a `Bytes` made from a `Vec` turns it into a shared buffer
        // (one allocation); do it here so that no timed iteration pays for it. An HTTP
        // stack hands over bodies that are already shared.
        drop(body.clone());
        Self { headers, body }
    }
}

/// hookgate: [`hookgate_core::parse`] over the request's [`HeaderMap`] and [`Bytes`].
pub mod hookgate {
    use hookgate_core::{CloudEvent, Error, ParseConfig, parse};

    use crate::{Order, Request};

    /// The tower adapter's view of an http 1 [`HeaderMap`](http::HeaderMap), as a tower/axum
    /// receiver reads headers.
    pub use hookgate_tower::HttpHeaders;

    /// The parse as a receiver does it: the body is handed over as a clone of the
    /// [`bytes::Bytes`] (a reference count increment). `ParseConfig::default()` is
    /// a plain value (the body limit), free to build.
    fn delivery(req: &Request) -> Result<hookgate_core::Delivery, Error> {
        parse(
            &HttpHeaders(&req.headers),
            req.body.clone(),
            &ParseConfig::default(),
        )
    }

    /// One event (structured or binary mode), data untyped.
    pub fn one(req: &Request) -> Result<CloudEvent, Error> {
        delivery(req)?.into_single()
    }

    /// One event, data deserialized into [`Order`].
    pub fn one_typed(req: &Request) -> Result<CloudEvent<Order>, Error> {
        delivery(req)?.into_single()?.into_typed()
    }

    /// A batch, data untyped.
    pub fn batch(req: &Request) -> Result<Vec<CloudEvent>, Error> {
        Ok(delivery(req)?.into_events())
    }

    /// A batch, every event's data deserialized into [`Order`].
    pub fn batch_typed(req: &Request) -> Result<Vec<CloudEvent<Order>>, Error> {
        delivery(req)?.into_typed()
    }
}

/// The CloudEvents Rust SDK, `cloudevents-sdk` 0.9, through its http binding.
pub mod sdk {
    use cloudevents::binding::http::to_event;
    use cloudevents::{Data, Event};
    use http::header::CONTENT_TYPE;
    use serde::de::DeserializeOwned;

    use crate::{BoxError, Order, Request};

    /// One event (structured or binary mode) with `to_event`, which takes the body
    /// as a `Vec<u8>`: the copy out of the [`bytes::Bytes`] is what the SDK's own
    /// axum extractor does (`to_event(&parts.headers, body.to_vec())`).
    pub fn one(req: &Request) -> Result<Event, cloudevents::message::Error> {
        to_event(&req.headers, req.body.to_vec())
    }

    /// One event and its data as [`Order`].
    pub fn one_typed(req: &Request) -> Result<(Event, Order), BoxError> {
        let event = one(req)?;
        let data = typed_data(&event)?;
        Ok((event, data))
    }

    /// A batch. The SDK has no batch receive: a receiver checks the media type and
    /// deserializes a `Vec<Event>` itself, as here (no copy of the body needed).
    pub fn batch(req: &Request) -> Result<Vec<Event>, BoxError> {
        let batch = req.headers.get(CONTENT_TYPE).is_some_and(|ct| {
            ct.as_bytes()
                .starts_with(b"application/cloudevents-batch+json")
        });
        if !batch {
            return Err("not a batch".into());
        }
        Ok(serde_json::from_slice(&req.body)?)
    }

    /// A batch, every event with its data as [`Order`].
    pub fn batch_typed(req: &Request) -> Result<Vec<(Event, Order)>, BoxError> {
        batch(req)?
            .into_iter()
            .map(|event| {
                let data = typed_data(&event)?;
                Ok((event, data))
            })
            .collect()
    }

    /// An event's data as `T`. JSON data (a `serde_json::Value` in the SDK) is
    /// deserialized from a borrow of the `Value`: no clone, no re-serialization, and
    /// the event keeps its data and `datacontenttype` (`Event::take_data` would
    /// strip them). Bytes (binary mode: the SDK keeps the body as it came) go
    /// through `serde_json::from_slice`.
    pub fn typed_data<T: DeserializeOwned>(event: &Event) -> Result<T, BoxError> {
        Ok(match event.data() {
            Some(Data::Json(value)) => T::deserialize(value)?,
            Some(Data::Binary(bytes)) => serde_json::from_slice(bytes)?,
            Some(Data::String(text)) => serde_json::from_str(text)?,
            None => return Err("the event has no data".into()),
        })
    }
}

/// The floor: the JSON deserialization alone, into borrowed fields.
pub mod floor {
    use serde::Deserialize;
    use serde_json::value::RawValue;

    use crate::{BoxError, Order, Request};

    /// An event with every field borrowed from the body (or, in binary mode, the
    /// header values); `D` is `&RawValue` (untyped) or [`Order`] (typed).
    ///
    /// The extensions are named fields, as a hand-written struct for this one
    /// event would have them. Escaped strings would fail to borrow: the floor is
    /// for these fixtures only.
    #[derive(Debug, Deserialize)]
    pub struct Event<'a, D> {
        /// `specversion`.
        pub specversion: &'a str,
        /// `id`.
        pub id: &'a str,
        /// `source`.
        pub source: &'a str,
        /// `type`.
        #[serde(rename = "type")]
        pub ty: &'a str,
        /// `subject`.
        pub subject: Option<&'a str>,
        /// `time`, as text (not parsed).
        pub time: Option<&'a str>,
        /// `datacontenttype`.
        pub datacontenttype: Option<&'a str>,
        /// `dataschema`.
        pub dataschema: Option<&'a str>,
        /// The `traceparent` extension.
        pub traceparent: Option<&'a str>,
        /// The `partitionkey` extension.
        pub partitionkey: Option<&'a str>,
        /// `data`.
        pub data: D,
    }

    /// One structured-mode event, data as raw JSON.
    pub fn structured(req: &Request) -> serde_json::Result<Event<'_, &RawValue>> {
        serde_json::from_slice(&req.body)
    }

    /// One structured-mode event, data as [`Order`].
    pub fn structured_typed(req: &Request) -> serde_json::Result<Event<'_, Order>> {
        serde_json::from_slice(&req.body)
    }

    /// A batch, data as raw JSON.
    pub fn batch(req: &Request) -> serde_json::Result<Vec<Event<'_, &RawValue>>> {
        serde_json::from_slice(&req.body)
    }

    /// A batch, data as [`Order`].
    pub fn batch_typed(req: &Request) -> serde_json::Result<Vec<Event<'_, Order>>> {
        serde_json::from_slice(&req.body)
    }

    /// One binary-mode event, data as raw JSON.
    pub fn binary(req: &Request) -> Result<Event<'_, &RawValue>, BoxError> {
        binary_with(req)
    }

    /// One binary-mode event, data as [`Order`].
    pub fn binary_typed(req: &Request) -> Result<Event<'_, Order>, BoxError> {
        binary_with(req)
    }

    /// Reads the `ce-` header strings in one pass over the headers (cheaper than one
    /// hash lookup per attribute) and deserializes the body.
    fn binary_with<'a, D: Deserialize<'a>>(req: &'a Request) -> Result<Event<'a, D>, BoxError> {
        let mut attrs: [Option<&'a str>; 10] = [None; 10];
        for (name, value) in &req.headers {
            let slot = match name.as_str() {
                "ce-specversion" => 0,
                "ce-id" => 1,
                "ce-source" => 2,
                "ce-type" => 3,
                "ce-subject" => 4,
                "ce-time" => 5,
                "content-type" => 6,
                "ce-dataschema" => 7,
                "ce-traceparent" => 8,
                "ce-partitionkey" => 9,
                _ => continue,
            };
            attrs[slot] = Some(value.to_str()?);
        }
        let required = |i: usize| attrs[i].ok_or("a required ce- header is missing");
        Ok(Event {
            specversion: required(0)?,
            id: required(1)?,
            source: required(2)?,
            ty: required(3)?,
            subject: attrs[4],
            time: attrs[5],
            datacontenttype: attrs[6],
            dataschema: attrs[7],
            traceparent: attrs[8],
            partitionkey: attrs[9],
            data: serde_json::from_slice(&req.body)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use cloudevents::AttributesReader as _;
    use cloudevents::event::ExtensionValue as SdkExtension;
    use hookgate_core::{CloudEvent, ExtensionValue};

    use super::*;

    /// The attributes that all three parsers must agree on, with the data as
    /// [`Order`].
    #[derive(Debug, PartialEq)]
    struct Seen {
        id: String,
        source: String,
        ty: String,
        subject: Option<String>,
        time: Option<String>,
        datacontenttype: Option<String>,
        traceparent: Option<String>,
        partitionkey: Option<String>,
        data: Order,
    }

    fn expected(index: usize) -> Seen {
        Seen {
            id: event_id(index),
            source: SOURCE.to_owned(),
            ty: TYPE.to_owned(),
            subject: Some(subject(index)),
            time: Some(TIME.to_owned()),
            datacontenttype: Some(DATACONTENTTYPE.to_owned()),
            traceparent: Some(TRACEPARENT.to_owned()),
            partitionkey: Some(partition_key(index)),
            data: order(index),
        }
    }

    fn from_hookgate<T>(event: &CloudEvent<T>, data: Order) -> Seen {
        let ext = |name: &str| match event.extension(name) {
            Some(ExtensionValue::String(s)) => Some(s.to_string()),
            other => panic!("extension {name}: {other:?}"),
        };
        assert_eq!(event.dataschema(), Some(DATASCHEMA));
        assert!(event.time().is_some());
        Seen {
            id: event.id().to_owned(),
            source: event.source().to_owned(),
            ty: event.ty().to_owned(),
            subject: event.subject().map(str::to_owned),
            time: event.time_str().map(str::to_owned),
            datacontenttype: event.datacontenttype().map(str::to_owned),
            traceparent: ext("traceparent"),
            partitionkey: ext("partitionkey"),
            data,
        }
    }

    fn from_sdk(event: &cloudevents::Event, data: Order) -> Seen {
        let ext = |name: &str| match event.extension(name) {
            Some(SdkExtension::String(s)) => Some(s.clone()),
            other => panic!("extension {name}: {other:?}"),
        };
        assert_eq!(event.dataschema().map(|u| u.as_str()), Some(DATASCHEMA));
        Seen {
            id: event.id().to_owned(),
            source: event.source().to_string(),
            ty: event.ty().to_owned(),
            subject: event.subject().map(str::to_owned),
            // The SDK parses `time` into a chrono value; compare it as RFC 3339 in
            // UTC with milliseconds, which is how the fixture writes it.
            time: event
                .time()
                .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
            datacontenttype: event.datacontenttype().map(str::to_owned),
            traceparent: ext("traceparent"),
            partitionkey: ext("partitionkey"),
            data,
        }
    }

    fn from_floor<D>(event: &floor::Event<'_, D>, data: Order) -> Seen {
        assert_eq!(event.specversion, "1.0");
        assert_eq!(event.dataschema, Some(DATASCHEMA));
        Seen {
            id: event.id.to_owned(),
            source: event.source.to_owned(),
            ty: event.ty.to_owned(),
            subject: event.subject.map(str::to_owned),
            time: event.time.map(str::to_owned),
            datacontenttype: event.datacontenttype.map(str::to_owned),
            traceparent: event.traceparent.map(str::to_owned),
            partitionkey: event.partitionkey.map(str::to_owned),
            data,
        }
    }

    fn order_of(json: &[u8]) -> Order {
        serde_json::from_slice(json).expect("the data is an Order")
    }

    /// Every parser's view of every event of `case`, untyped and typed.
    fn seen(case: Case) -> Vec<(&'static str, Vec<Seen>)> {
        let req = case.request();
        let raw_hookgate: Vec<CloudEvent> = match case {
            Case::Batch => hookgate::batch(&req).unwrap(),
            _ => vec![hookgate::one(&req).unwrap()],
        };
        let typed_hookgate: Vec<CloudEvent<Order>> = match case {
            Case::Batch => hookgate::batch_typed(&req).unwrap(),
            _ => vec![hookgate::one_typed(&req).unwrap()],
        };
        let raw_sdk: Vec<cloudevents::Event> = match case {
            Case::Batch => sdk::batch(&req).unwrap(),
            _ => vec![sdk::one(&req).unwrap()],
        };
        let typed_sdk: Vec<(cloudevents::Event, Order)> = match case {
            Case::Batch => sdk::batch_typed(&req).unwrap(),
            _ => vec![sdk::one_typed(&req).unwrap()],
        };
        let raw_floor = match case {
            Case::Structured => vec![floor::structured(&req).unwrap()],
            Case::Binary => vec![floor::binary(&req).unwrap()],
            Case::Batch => floor::batch(&req).unwrap(),
        };
        let typed_floor = match case {
            Case::Structured => vec![floor::structured_typed(&req).unwrap()],
            Case::Binary => vec![floor::binary_typed(&req).unwrap()],
            Case::Batch => floor::batch_typed(&req).unwrap(),
        };
        vec![
            (
                "hookgate",
                raw_hookgate
                    .iter()
                    .map(|e| from_hookgate(e, order_of(e.data.as_bytes())))
                    .collect(),
            ),
            (
                "hookgate typed",
                typed_hookgate
                    .iter()
                    .map(|e| from_hookgate(e, e.data.clone()))
                    .collect(),
            ),
            (
                "sdk",
                raw_sdk
                    .iter()
                    .map(|e| from_sdk(e, sdk::typed_data(e).unwrap()))
                    .collect(),
            ),
            (
                "sdk typed",
                typed_sdk
                    .iter()
                    .map(|(e, d)| from_sdk(e, d.clone()))
                    .collect(),
            ),
            (
                "floor",
                raw_floor
                    .iter()
                    .map(|e| from_floor(e, order_of(e.data.get().as_bytes())))
                    .collect(),
            ),
            (
                "floor typed",
                typed_floor
                    .iter()
                    .map(|e| from_floor(e, e.data.clone()))
                    .collect(),
            ),
        ]
    }

    #[test]
    fn all_parsers_agree_on_every_case() {
        for case in Case::ALL {
            let want: Vec<Seen> = (0..case.len()).map(expected).collect();
            for (parser, got) in seen(case) {
                assert_eq!(got.len(), want.len(), "{case:?} with {parser}");
                for (i, (got, want)) in got.iter().zip(&want).enumerate() {
                    assert_eq!(got, want, "{case:?} event {i} with {parser}");
                }
            }
        }
    }

    #[test]
    fn hookgate_detects_the_intended_mode() {
        use hookgate_core::{HeaderSource as _, Mode, detect_mode};

        use crate::hookgate::HttpHeaders;
        for (case, mode) in [
            (Case::Structured, Mode::Structured),
            (Case::Binary, Mode::Binary),
            (Case::Batch, Mode::Batch),
        ] {
            let req = case.request();
            let headers = HttpHeaders(&req.headers);
            assert_eq!(detect_mode(&headers).unwrap(), mode, "{case:?}");
            assert_eq!(
                headers.get("content-length"),
                Some(req.body.len().to_string().as_bytes())
            );
        }
    }

    #[test]
    fn fixtures_have_the_documented_shape() {
        let structured = Request::structured();
        assert_eq!(structured.body.len(), STRUCTURED_LEN);
        let text = std::str::from_utf8(&structured.body).unwrap();
        assert!(
            !text.contains('\\'),
            "no escapes: the floor borrows every string"
        );
        assert!(text.ends_with(&format!(r#""data":{}}}"#, data_json(0))));
        let members: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).unwrap();
        assert_eq!(
            members.len(),
            11,
            "8 context attributes, 2 extensions, data"
        );
        assert_eq!(members["data"].as_object().unwrap().len(), 8);
        let batch: Vec<serde_json::Value> = serde_json::from_slice(&Request::batch().body).unwrap();
        assert_eq!(batch.len(), BATCH_LEN);
        assert_eq!(Request::binary().body, data_json(0).as_bytes());
    }
}
