//! Typed data: converting an event's [`Data`] into the handler's own type.

use serde::de::DeserializeOwned;

use super::model::Data;
use super::rules::is_json_media_type;
use crate::error::{Error, ErrorKind, excerpt};
use crate::shape;

/// A type that an event's data converts into: [`Data`] itself (untyped), or any
/// `T: DeserializeOwned` (typed, deserialized from JSON).
///
/// The typed rules:
/// - JSON data is deserialized straight from its bytes (no `serde_json::Value`).
/// - Bytes with a JSON `datacontenttype` (e.g. decoded `data_base64`) too.
/// - Bytes of another content type are a [`ErrorKind::DataMismatch`]: take
///   `CloudEvent<Data>` to handle them.
/// - No data deserializes `T` from JSON `null`: `Option<U>` becomes `None`, `()` works,
///   anything else is a [`ErrorKind::DataMismatch`] that says the data is missing.
///
/// **What a mismatch says** (the 400 `data-mismatch` a sender reads): the JSON path of
/// the value at fault, as a JSON Pointer (RFC 6901) within the data (`/items/3/size`;
/// none for the data itself), and the JSON kinds (object, array, string, number,
/// boolean, null) expected and found, never a Rust type, module, variant or file.
/// serde's messages are mapped: "missing field", "duplicate field", "unknown field" and
/// "unknown variant" keep the JSON name (the list of accepted names is dropped), an
/// integer out of range says the range, and a message of your own `Deserialize` impl is
/// kept, shortened, with every `a::b` path and serde's `struct Name` / `enum Name` cut
/// out. The path costs a second parse, only after the first failed.
///
/// ```
/// use hookgate_core::{CloudEvent, Data};
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Order { items: Vec<Item> }
/// #[derive(Debug, serde::Deserialize)]
/// struct Item { size: u32 }
///
/// let event = CloudEvent::new("1", "/shop", "order")
///     .with_data(Data::json(r#"{"items": [{"size": 1}, {"size": "L"}]}"#).unwrap());
/// let error = event.into_typed::<Order>().unwrap_err();
/// assert_eq!(
///     error.detail(),
///     "the event's data does not match: at `/items/1/size`: expected a number, got a string"
/// );
/// ```
pub trait EventData: Sized {
    /// Converts the untyped data, given the event's `datacontenttype`.
    fn from_data(data: Data, datacontenttype: Option<&str>) -> Result<Self, Error>;
}

impl EventData for Data {
    fn from_data(data: Data, _: Option<&str>) -> Result<Self, Error> {
        Ok(data)
    }
}

impl<T: DeserializeOwned> EventData for T {
    fn from_data(data: Data, datacontenttype: Option<&str>) -> Result<Self, Error> {
        // The fast path is serde_json's alone; only a failure parses again, for the
        // JSON path of the value at fault (see the trait's docs), out of line.
        const MISMATCH: &str = "the event's data does not match:";
        match data {
            Data::Json(raw) => serde_json::from_str(raw.get())
                .map_err(|e| mismatch::<T>(raw.get().as_bytes(), &e, MISMATCH)),
            Data::Binary(bytes) if datacontenttype.is_some_and(is_json_media_type) => {
                serde_json::from_slice(&bytes).map_err(|e| mismatch::<T>(&bytes, &e, MISMATCH))
            }
            Data::Binary(_) => Err(Error::new(
                ErrorKind::DataMismatch,
                format!(
                    "the event's data is not JSON (datacontenttype `{}`); expected JSON data",
                    excerpt(datacontenttype.unwrap_or("none"))
                ),
            )),
            Data::Empty => serde_json::from_str("null")
                .map_err(|e| mismatch::<T>(b"null", &e, "the event has no data:")),
        }
    }
}

/// The [`ErrorKind::DataMismatch`] of `bytes`, which did not parse into a `T`.
#[cold]
#[inline(never)]
fn mismatch<T: DeserializeOwned>(bytes: &[u8], e: &serde_json::Error, what: &str) -> Error {
    Error::new(
        ErrorKind::DataMismatch,
        format!("{what} {}", shape::explain::<T>(bytes, e)),
    )
}
