//! Azure Event Grid: the delivery metadata of a push delivery.
//!
//! Event Grid sends each delivery to a webhook with `aeg-*` headers that say which
//! subscription delivered it and how many times it tried before; they are parsed by
//! [`EventGridDelivery::from_headers`] (the adapters' `eventgrid::Delivery`
//! extractors call it). The validation handshake lives in
//! [`handshake`](crate::handshake), secure delivery with Azure AD in
//! [`auth`](crate::auth).

mod delivery;

pub use delivery::{EventGridDelivery, EventGridEventType};
