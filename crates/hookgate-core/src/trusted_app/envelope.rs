//! The UCWA event envelope of a Trusted Application API callback: [`UcwaEnvelope`],
//! its [`UcwaSender`]s and their [`UcwaEvent`]s, each kept open for members this
//! crate does not name.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The body of one callback: links, and the events grouped by the resource that
/// sent them.
///
/// ```json
/// {
///   "_links": {"self": {"href": "/platformservice/v1/applications/1393347000/events?ack=1"}},
///   "sender": [{
///     "rel": "ms:rtc:saas:communication",
///     "href": "/platformservice/v1/applications/1393347000/communication",
///     "events": [{
///       "link": {"rel": "ms:rtc:saas:messagingInvitation", "href": "/platformservice/v1/…/messagingInvitations/5453"},
///       "_embedded": {"ms:rtc:saas:messagingInvitation": {"direction": "Incoming", "state": "Connecting"}},
///       "type": "started"
///     }]
///   }],
///   "baseuri": "https://webpoolbl20r04.infra.lync.com"
/// }
/// ```
///
/// Members not named here are kept in [`other`](Self::other) and written back by
/// `Serialize`, so an envelope read and written again is the same JSON (member
/// order aside), except that an empty `_links`, `sender` or `_embedded` is left
/// out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UcwaEnvelope {
    /// `_links`: links by relation (`self`, `next`, …).
    #[serde(rename = "_links", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, Link>,
    /// `sender`: the resources that sent events, each with its events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sender: Vec<UcwaSender>,
    /// `baseuri`: the base the relative `href`s are relative to.
    #[serde(rename = "baseuri", default, skip_serializing_if = "Option::is_none")]
    pub base_uri: Option<String>,
    /// The members not named above, as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl UcwaEnvelope {
    /// Every event of every sender, with its sender, in the order of the body.
    pub fn events(&self) -> impl Iterator<Item = (&UcwaSender, &UcwaEvent)> {
        self.sender
            .iter()
            .flat_map(|sender| sender.events.iter().map(move |event| (sender, event)))
    }

    /// The number of events of all senders together.
    #[must_use]
    pub fn event_count(&self) -> usize {
        self.sender.iter().map(|s| s.events.len()).sum()
    }

    /// The `href` of link `rel` of `_links` (`"next"`, say).
    #[must_use]
    pub fn link(&self, rel: &str) -> Option<&str> {
        self.links.get(rel).map(|l| l.href.as_str())
    }
}

/// One resource that sent events (`sender[]`): a conversation, the communication
/// resource, …
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UcwaSender {
    /// `rel`: what the sender is, e.g. `ms:rtc:saas:conversation`.
    pub rel: String,
    /// `href`: where the sender is.
    pub href: String,
    /// `events`: what happened.
    #[serde(default)]
    pub events: Vec<UcwaEvent>,
    /// The members not named above, as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One event of a sender: which resource (`link`) had what happen to it (`type`),
/// with the outcome of an operation (`status`) and the resource itself when the
/// service embeds it (`_embedded`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UcwaEvent {
    /// `link`: the resource the event is about.
    pub link: Link,
    /// `in`: the resource that holds it, when given.
    #[serde(rename = "in", default, skip_serializing_if = "Option::is_none")]
    pub in_: Option<Link>,
    /// `type`: `added`, `updated`, `deleted` (resources), `started`, `completed`
    /// (operations).
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// `status`: `Success` or `Failure`, for a completed operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EventStatus>,
    /// `_embedded`: resources by relation, as JSON (the one the event is about is
    /// under its `link.rel`; see [`resource`](Self::resource)).
    #[serde(rename = "_embedded", default, skip_serializing_if = "Map::is_empty")]
    pub embedded: Map<String, Value>,
    /// The members not named above (`reason`, …), as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl UcwaEvent {
    /// The embedded resource the event is about (`_embedded[link.rel]`), if the
    /// service embedded it.
    #[must_use]
    pub fn resource(&self) -> Option<&Value> {
        self.link
            .rel
            .as_deref()
            .and_then(|rel| self.embedded.get(rel))
    }
}

/// A web link: `href`, and the relation and title when given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// `rel`: the relation (absent in `_links`, where it is the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// `href`: where the resource is (relative to the envelope's `baseuri`, or
    /// absolute).
    pub href: String,
    /// `title`: a display name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The members not named above, as they came.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

macro_rules! open_enum {
    (
        $(#[$doc:meta])*
        $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// Another value, kept as it came.
            Other(String),
        }

        impl $name {
            /// The value as it travels.
            #[must_use]
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(other) => other,
                }
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                match value.as_str() {
                    $($text => Self::$variant,)*
                    _ => Self::Other(value),
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                match value {
                    $name::Other(other) => other,
                    known => known.as_str().to_owned(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

open_enum! {
    /// What happened: UCWA's `type` of an event.
    EventType {
        /// `added`: a resource was created.
        Added = "added",
        /// `updated`: a resource changed.
        Updated = "updated",
        /// `deleted`: a resource is gone.
        Deleted = "deleted",
        /// `started`: an operation (an invitation, say) started.
        Started = "started",
        /// `completed`: an operation ended; see its `status`.
        Completed = "completed",
    }
}

impl Default for EventType {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

open_enum! {
    /// The outcome of a completed operation: UCWA's `status` of an event.
    EventStatus {
        /// `Success`.
        Success = "Success",
        /// `Failure` (the event's `reason` says why).
        Failure = "Failure",
    }
}
