//! Typed data: converting an event's [`Data`] into the handler's own type.

use serde::de::DeserializeOwned;

use super::model::Data;
use super::rules::is_json_media_type;
use crate::error::{Error, ErrorKind, excerpt};

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
        let mismatch = |e: serde_json::Error, what: &str| {
            Error::new(
                ErrorKind::DataMismatch,
                format!(
                    "{what} does not match the expected type `{}`: {e}",
                    std::any::type_name::<T>()
                ),
            )
        };
        match data {
            Data::Json(raw) => serde_json::from_str(raw.get()).map_err(|e| mismatch(e, "data")),
            Data::Binary(bytes) if datacontenttype.is_some_and(is_json_media_type) => {
                serde_json::from_slice(&bytes).map_err(|e| mismatch(e, "data"))
            }
            Data::Binary(_) => Err(Error::new(
                ErrorKind::DataMismatch,
                format!(
                    "data is not JSON (datacontenttype `{}`); expected JSON for `{}`",
                    excerpt(datacontenttype.unwrap_or("none")),
                    std::any::type_name::<T>()
                ),
            )),
            Data::Empty => {
                serde_json::from_str("null").map_err(|e| mismatch(e, "the event has no data; it"))
            }
        }
    }
}
