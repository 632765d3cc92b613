//! Connection state: `ce-connectionState`, base64 of a JSON object, both ways.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind};

/// The default [`max_state_len`](super::WebPubSubPolicyBuilder::max_state_len): the
/// longest `ce-connectionState` value read or written, in bytes of its base64 text
/// (4 KiB of text, about 3 KiB of JSON).
pub const DEFAULT_MAX_STATE_LEN: usize = 4096;

/// The base64 of `{}`: the header value that clears a connection's state.
pub const CLEARED_STATE: &str = "e30=";

/// A connection's state: a map from names to JSON values, carried by the service in
/// `ce-connectionState` as the base64 of a JSON object, and set, replaced or
/// cleared by an answer with the same header; see the [module docs](super).
///
/// It remembers the size limit it was read with, and [`encode`](Self::encode)
/// checks the same limit.
///
/// ```
/// use hookgate_core::webpubsub::ConnectionState;
///
/// let mut state = ConnectionState::new();
/// state.set("messages", &3)?;
/// assert_eq!(state.get::<u32>("messages")?, Some(3));
/// let header = state.encode()?;
/// assert_eq!(header, "eyJtZXNzYWdlcyI6M30="); // base64 of {"messages":3}
///
/// let back = ConnectionState::decode(Some(header.as_bytes()), 4096)?;
/// assert_eq!(back, state);
/// # Ok::<(), hookgate_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionState {
    values: BTreeMap<String, serde_json::Value>,
    limit: usize,
}

impl Default for ConnectionState {
    fn default() -> Self {
        Self {
            values: BTreeMap::new(),
            limit: DEFAULT_MAX_STATE_LEN,
        }
    }
}

impl ConnectionState {
    /// An empty state, with the [default limit](DEFAULT_MAX_STATE_LEN).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The limit, in bytes of base64 text, this state is read and written within.
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Reads a `ce-connectionState` value (`None`: the header is absent, an empty
    /// state).
    ///
    /// A value longer than `limit` bytes is refused (400). A value that is not the
    /// base64 of a JSON object (a plain string some other upstream set: the protocol
    /// allows any string) is read as an empty state, as the Microsoft server SDKs
    /// do; the raw value stays available in the context.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidHeader`] (400) past `limit`.
    pub fn decode(value: Option<&[u8]>, limit: usize) -> Result<Self, Error> {
        let mut state = Self {
            values: BTreeMap::new(),
            limit,
        };
        let Some(value) = value else {
            return Ok(state);
        };
        if value.len() > limit {
            return Err(too_large("`ce-connectionState`", value.len(), limit));
        }
        let value = value.trim_ascii();
        if value.is_empty() {
            return Ok(state);
        }
        let decoded = STANDARD.decode(value).ok().and_then(|json| {
            serde_json::from_slice::<BTreeMap<String, serde_json::Value>>(&json).ok()
        });
        match decoded {
            Some(values) => state.values = values,
            None => tracing::debug!(
                target: "hookgate::webpubsub",
                "`ce-connectionState` is not base64 of a JSON object; read as an empty state"
            ),
        }
        Ok(state)
    }

    /// The header value for this state: base64 of its JSON object (`e30=`, the
    /// base64 of `{}`, for an empty one).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidHeader`] when the value would be longer than
    /// [`limit`](Self::limit).
    pub fn encode(&self) -> Result<String, Error> {
        // A map of strings to JSON values always serializes.
        let json = serde_json::to_vec(&self.values).unwrap_or_default();
        let encoded = STANDARD.encode(json);
        if encoded.len() > self.limit() {
            return Err(too_large(
                "the connection state to set",
                encoded.len(),
                self.limit(),
            ));
        }
        Ok(encoded)
    }

    /// The value of `name`, deserialized into `T`; `Ok(None)` when it is not set.
    ///
    /// # Errors
    /// [`ErrorKind::DataMismatch`] (400) when the value is not a `T`.
    pub fn get<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, Error> {
        self.values
            .get(name)
            .map(|v| {
                T::deserialize(v).map_err(|e| {
                    Error::new(
                        ErrorKind::DataMismatch,
                        format!("connection state `{name}`: {}", crate::shape::message(&e)),
                    )
                })
            })
            .transpose()
    }

    /// The raw JSON value of `name`.
    #[must_use]
    pub fn get_json(&self, name: &str) -> Option<&serde_json::Value> {
        self.values.get(name)
    }

    /// Sets `name` to `value` (replacing what was there).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidData`] when `value` does not serialize to JSON (a map
    /// with non-string keys, say).
    pub fn set<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        let value = serde_json::to_value(value).map_err(|e| {
            Error::new(
                ErrorKind::InvalidData,
                format!("connection state `{name}` is not JSON: {e}"),
            )
        })?;
        self.values.insert(name.to_owned(), value);
        Ok(())
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<serde_json::Value> {
        self.values.remove(name)
    }

    /// Removes every value.
    pub fn clear(&mut self) {
        self.values.clear();
    }

    /// The names and values, in name order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &serde_json::Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many values are set.
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn too_large(what: &str, len: usize, limit: usize) -> Error {
    Error::new(
        ErrorKind::InvalidHeader,
        format!("{what} is {len} bytes of base64, over the limit of {limit} bytes"),
    )
}

/// What an answer does to the connection state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StateChange {
    /// Leaves it as it is (no header).
    #[default]
    Keep,
    /// Replaces it with this value (the header value, already encoded).
    Set(String),
    /// Clears it (`ce-connectionState: e30=`, the base64 of `{}`).
    Clear,
}

impl StateChange {
    /// The header value to send, if any.
    #[must_use]
    pub fn header_value(&self) -> Option<&str> {
        match self {
            Self::Keep => None,
            Self::Set(value) => Some(value),
            Self::Clear => Some(CLEARED_STATE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_limits_and_leniency() {
        let mut state = ConnectionState::new();
        state.set("key", "a").unwrap();
        assert_eq!(state.encode().unwrap(), "eyJrZXkiOiJhIn0="); // the docs' sample
        let read = ConnectionState::decode(Some(b"eyJrZXkiOiJhIn0="), 64).unwrap();
        assert_eq!(read.get::<String>("key").unwrap().as_deref(), Some("a"));
        assert!(
            ConnectionState::decode(Some(&[b'A'; 65]), 64)
                .unwrap_err()
                .detail()
                .contains("over the limit of 64")
        );
        assert!(
            ConnectionState::decode(Some(b"plain"), 64)
                .unwrap()
                .is_empty()
        );
        assert!(ConnectionState::decode(None, 64).unwrap().is_empty());
        let mut big = ConnectionState::decode(None, 16).unwrap();
        big.set("k", &"x".repeat(32)).unwrap();
        assert!(big.encode().is_err());
        assert_eq!(ConnectionState::new().encode().unwrap(), CLEARED_STATE);
    }
}
