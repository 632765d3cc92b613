//! The framework-free core of [hookgate](https://docs.rs/hookgate): receiver-side
//! CloudEvents webhooks. The CloudEvents 1.0.2 HTTP binding (receive side) and the
//! event model, the validation handshake ([`handshake`]), sender authentication
//! ([`auth`]), deduplication ([`dedup`]), the whole stack in the right order
//! ([`webhook`]), and RFC 9457 errors.
//!
//! Nothing here names a web framework. The core reads a request through
//! [`request::Incoming`] (method, path, query, [`HeaderSource`] headers, a body
//! stream it reads within a limit) and answers with plain decisions: a [`Delivery`],
//! a [`Reply`] (status, headers, body), or an [`Error`] that knows its status (4xx
//! for what the sender got wrong, 429 and 503 with `Retry-After` for what a retry
//! repairs) and its `application/problem+json` body. The adapters, `hookgate-tower`
//! (tower and axum) and `hookgate-actix` (actix-web), only translate requests and
//! responses.
//!
//! # Parsing a request
//!
//! ```
//! use hookgate_core::{parse, HeaderList, Mode, ParseConfig};
//!
//! let body = r#"{
//!     "specversion": "1.0", "id": "A234-1234-1234", "source": "/mycontext",
//!     "type": "com.example.someevent", "time": "2018-04-05T17:31:00Z",
//!     "comexampleextension1": "value", "datacontenttype": "application/json",
//!     "data": {"appinfoA": "abc", "appinfoB": 123}
//! }"#;
//! let headers = HeaderList::new([("content-type", "application/cloudevents+json")]);
//! let delivery = parse(&headers, body.into(), &ParseConfig::default())?;
//! assert_eq!(delivery.mode(), Mode::Structured);
//!
//! #[derive(serde::Deserialize)]
//! struct AppInfo {
//!     #[serde(rename = "appinfoB")]
//!     b: u32,
//! }
//! let event = delivery.into_single()?.into_typed::<AppInfo>()?;
//! assert_eq!(event.id(), "A234-1234-1234");
//! assert_eq!(event.data.b, 123);
//! # Ok::<(), hookgate_core::Error>(())
//! ```
//!
//! # Errors
//!
//! Every [`Error`] has a stable [`ErrorKind`], an [`Error::status`] and a
//! [`Error::problem`] to send back; see [`error`] and [`problem`].

pub mod auth;
pub mod binding;
pub mod client;
pub mod dedup;
pub mod encode;
pub mod error;
pub mod event;
pub mod eventgrid;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod handshake;
pub mod headers;
mod keyed;
pub mod observe;
pub mod problem;
pub mod reply;
pub mod request;
pub mod route;
mod shape;
pub mod trusted_app;
pub mod webhook;
pub mod webpubsub;

pub use binding::{
    Delivery, Mode, ParseConfig, ParseConfigBuilder, detect_mode, parse, parse_with_mode,
};
pub use error::{Challenge, ConfigError, Error, ErrorKind};
pub use event::{
    AttributeValue, CloudEvent, Data, EventData, ExtensionValue, RawJson, SpecVersion,
};
pub use headers::{HeaderList, HeaderSource};
pub use problem::Problem;
pub use reply::Reply;
pub use webhook::{WebhookPolicy, WebhookPolicyBuilder};
