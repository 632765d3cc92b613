//! The context every Web PubSub event carries: the `ce-*` extensions of the
//! service.

use crate::error::{Error, ErrorKind};
use crate::event::CloudEvent;

use super::state::ConnectionState;

/// The extension attributes Web PubSub sends (header names lowercased, as the
/// parser reads `ce-userId` and `ce-connectionId` case-insensitively).
pub(super) mod ext {
    pub(crate) const HUB: &str = "hub";
    pub(crate) const CONNECTION_ID: &str = "connectionid";
    pub(crate) const USER_ID: &str = "userid";
    pub(crate) const EVENT_NAME: &str = "eventname";
    pub(crate) const SUBPROTOCOL: &str = "subprotocol";
    pub(crate) const AWPS_VERSION: &str = "awpsversion";
    pub(crate) const CONNECTION_STATE: &str = "connectionstate";
    pub(crate) const PHYSICAL_CONNECTION_ID: &str = "physicalconnectionid";
    pub(crate) const SESSION_ID: &str = "sessionid";
}

/// Who sent an event, on which connection: the Web PubSub context of every event.
///
/// Read from the event's `ce-*` headers, matched case-insensitively (the service
/// sends `ce-userId`, `ce-connectionId`, `ce-eventName`). `ce-signature` is checked by
/// authentication and is never part of it (nor of the event's extensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionContext {
    pub(super) event: CloudEvent,
    pub(super) hub: String,
    pub(super) connection_id: String,
    pub(super) event_name: String,
    pub(super) state: ConnectionState,
}

fn text<'a>(event: &'a CloudEvent, name: &str) -> Option<&'a str> {
    event
        .extension(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}

impl ConnectionContext {
    /// The context of `event`, whose connection state may be at most `max_state_len`
    /// bytes of base64.
    ///
    /// # Errors
    /// 400 ([`ErrorKind::MissingAttribute`]) without `ce-hub` or `ce-connectionId`;
    /// 400 ([`ErrorKind::InvalidHeader`]) for a state past the limit.
    pub(super) fn read(
        event: CloudEvent,
        event_name: String,
        max_state_len: usize,
    ) -> Result<Self, Error> {
        let required = |name: &str, header: &str| {
            text(&event, name).map(str::to_owned).ok_or_else(|| {
                Error::new(
                    ErrorKind::MissingAttribute,
                    format!("a Web PubSub event needs the header `{header}`"),
                )
            })
        };
        let hub = required(ext::HUB, "ce-hub")?;
        let connection_id = required(ext::CONNECTION_ID, "ce-connectionId")?;
        let state = ConnectionState::decode(
            event
                .extension(ext::CONNECTION_STATE)
                .and_then(|v| v.as_str())
                .map(str::as_bytes),
            max_state_len,
        )?;
        Ok(Self {
            event,
            hub,
            connection_id,
            event_name,
            state,
        })
    }

    /// The hub (`ce-hub`).
    #[must_use]
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// The connection id (`ce-connectionId`); for MQTT clients, the client id.
    #[must_use]
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// The user id (`ce-userId`), when the connection has one.
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        text(&self.event, ext::USER_ID)
    }

    /// The event name without prefix (`ce-eventName`, or the end of `ce-type`):
    /// `connect`, `connected`, `disconnected`, `message`, a custom event's name.
    #[must_use]
    pub fn event_name(&self) -> &str {
        &self.event_name
    }

    /// The subprotocol the client uses (`ce-subprotocol`), if any.
    #[must_use]
    pub fn subprotocol(&self) -> Option<&str> {
        text(&self.event, ext::SUBPROTOCOL)
    }

    /// The version of the Web PubSub extension (`ce-awpsversion`, `1.0`), if sent.
    #[must_use]
    pub fn awps_version(&self) -> Option<&str> {
        text(&self.event, ext::AWPS_VERSION)
    }

    /// MQTT clients: the physical connection id (`ce-physicalConnectionId`).
    #[must_use]
    pub fn physical_connection_id(&self) -> Option<&str> {
        text(&self.event, ext::PHYSICAL_CONNECTION_ID)
    }

    /// MQTT clients: the session id (`ce-sessionId`).
    #[must_use]
    pub fn session_id(&self) -> Option<&str> {
        text(&self.event, ext::SESSION_ID)
    }

    /// The connection state the service sent (`ce-connectionState`), typed; empty
    /// when there is none.
    #[must_use]
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// The connection state, to change and send back with an answer.
    #[must_use]
    pub fn into_state(self) -> ConnectionState {
        self.state
    }

    /// The raw `ce-connectionState` value, when there is one.
    #[must_use]
    pub fn raw_state(&self) -> Option<&str> {
        text(&self.event, ext::CONNECTION_STATE)
    }

    /// The event id (`ce-id`; unique among the events of one connection).
    #[must_use]
    pub fn event_id(&self) -> &str {
        self.event.id()
    }

    /// The CloudEvent as it arrived (the context as its extensions, the data,
    /// never the signature): to log or forward it, `cloud_event().to_json()`.
    #[must_use]
    pub fn cloud_event(&self) -> &CloudEvent {
        &self.event
    }
}
