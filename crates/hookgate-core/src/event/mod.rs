//! The event model: [`CloudEvent<T>`], its attributes, extensions and data.
//!
//! A parsed event keeps its string attributes as ranges of the request body when
//! they need no unescaping (one shared reference to the body per event), so parsing
//! allocates little.
//! `CloudEvent` (that is, `CloudEvent<Data>`) is the untyped form: [`Data`] holds the
//! raw JSON text or the raw bytes. [`CloudEvent::into_typed`] deserializes the data
//! into your own type, straight from those bytes.
//!
//! **What a parsed event's attributes are checked for** (a failure is a 400
//! `invalid-attribute` or `invalid-attribute-name` naming the attribute), and where a
//! real sender's value is accepted although it breaks a MUST of CloudEvents 1.0.2, its
//! meaning being clear:
//!
//! | attribute | checked | accepted although not to the letter |
//! |---|---|---|
//! | every String value (`id`, `source`, `type`, `subject`, `dataschema`, `datacontenttype`, string extensions) | no control character (U+0000–U+001F, U+007F–U+009F) and no Unicode noncharacter (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF); surrogates cannot occur (values are UTF-8) | — |
//! | `id`, `source`, `type`, `specversion` | present, non-empty | `source` is not parsed as a URI-reference: it is an opaque name (the dedup key), and a sender's `my source` means the same as `my%20source` |
//! | `datacontenttype` | RFC 2046 `type/subtype`, each an RFC 2045 token, then parameters | parameters are not parsed (a stray `;` or a parameter without `=`, as in `application/json;`, is read as no parameter) |
//! | `dataschema` | non-empty | a relative reference (Azure Event Grid sends `#`) and characters a URI does not allow |
//! | `subject` | non-empty | — |
//! | `time` | RFC 3339 | — |
//! | extension names | `[a-z0-9]+`, not a core name | longer than the 20 characters the spec recommends (a SHOULD) |
//! | extension values | — | an Integer wider than 32 bits, and JSON values the type system does not have (kept as raw JSON) |
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
// - `rules.rs`: what an attribute name or value must be (names, `time`, media types,
//   the characters of a String).

mod json;
mod model;
mod rules;
mod typed;

pub use model::{AttributeValue, CloudEvent, Data, ExtensionValue, RawJson, SpecVersion};
pub use rules::is_json_media_type;
pub use typed::EventData;

pub(crate) use model::{Attributes, Str, Time};
pub(crate) use rules::{check_attribute_name, check_media_type, check_string};
