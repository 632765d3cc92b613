//! The event model: [`CloudEvent<T>`], its attributes, extensions and data.
//!
//! A parsed event keeps its string attributes as ranges of the request body when
//! they need no unescaping (one shared reference to the body per event), so parsing
//! allocates little.
//! `CloudEvent` (that is, `CloudEvent<Data>`) is the untyped form: [`Data`] holds the
//! raw JSON text or the raw bytes. [`CloudEvent::into_typed`] deserializes the data
//! into your own type, straight from those bytes.
//!
//! ```
//! use hookgate_core::{CloudEvent, Data, ExtensionValue};
//!
//! let event = CloudEvent::new("42", "/orders", "com.example.order.created")
//!     .with_subject("order/42")
//!     .with_extension("priority", ExtensionValue::Integer(3))
//!     .unwrap()
//!     .with_data(Data::json(r#"{"total": 12}"#).unwrap());
//!
//! #[derive(serde::Deserialize)]
//! struct Order { total: u32 }
//!
//! let typed = event.into_typed::<Order>().unwrap();
//! assert_eq!(typed.data.total, 12);
//! assert_eq!(typed.subject(), Some("order/42"));
//! assert_eq!(typed.extension("priority"), Some(&ExtensionValue::Integer(3)));
//! ```

// The files of this module, by concern:
// - `model.rs`: `CloudEvent`, its attributes (`Attributes`, `Str`, `Time`) and values
//   (`SpecVersion`, `RawJson`, `ExtensionValue`, `AttributeValue`), `Data`;
// - `typed.rs`: `EventData`, the conversion of `Data` into a handler's type;
// - `json.rs`: JSON writing (`Serialize`, `CloudEvent::to_json`);
// - `rules.rs`: what an attribute name or value must be (names, `time`, media types).

mod json;
mod model;
mod rules;
mod typed;

pub use model::{AttributeValue, CloudEvent, Data, ExtensionValue, RawJson, SpecVersion};
pub use rules::is_json_media_type;
pub use typed::EventData;

pub(crate) use model::{Attributes, Str, Time};
pub(crate) use rules::check_attribute_name;
