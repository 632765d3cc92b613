//! The UCWA event envelope of a Trusted Application API callback: [`UcwaEnvelope`],
//! its [`UcwaSender`]s and their [`UcwaEvent`]s, each kept open for members this
//! crate does not name.
//!
//! Deserialization is written out (no `#[serde(flatten)]`, which would buffer the
//! whole object as serde's `Content` first): members this crate does not name, and
//! the embedded resources, are kept as [`RawJson`] (a copy of their text, not a
//! `serde_json::Value`), and every item made (a sender, an event, a link, a member
//! kept raw) is counted against the budget [`read_callback`](super::read_callback)
//! sets, so that what a body can make stays a small multiple of its size.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use bytestring::ByteString;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::event::RawJson;

/// Members kept as they came, by name.
pub type Members = BTreeMap<String, RawJson>;

thread_local! {
    /// The items the envelope being parsed on this thread may still make; `None`:
    /// no budget (an envelope deserialized outside [`read_callback`](super::read_callback)).
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
    /// Whether the budget ran out during the last parse.
    static EXHAUSTED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `parse` with a budget of `items`; answers its result and whether the
/// budget ran out.
pub(super) fn with_budget<T>(items: usize, parse: impl FnOnce() -> T) -> (T, bool) {
    struct Reset(Option<usize>);
    impl Drop for Reset {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(self.0));
        }
    }
    let _reset = Reset(BUDGET.with(|b| b.replace(Some(items))));
    EXHAUSTED.with(|e| e.set(false));
    let out = parse();
    (out, EXHAUSTED.with(|e| e.replace(false)))
}

/// Counts one item against the budget.
fn take<E: de::Error>() -> Result<(), E> {
    BUDGET.with(|b| match b.get() {
        None => Ok(()),
        Some(0) => {
            EXHAUSTED.with(|e| e.set(true));
            Err(E::custom("too many items"))
        }
        Some(n) => {
            b.set(Some(n - 1));
            Ok(())
        }
    })
}

/// One JSON value kept as its text.
struct Raw(RawJson);

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text: Box<str> = raw.into();
        Ok(Self(RawJson::trusted(ByteString::from(String::from(text)))))
    }
}

/// A JSON array whose every element is counted.
struct Counted<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Counted<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Counted<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    take()?;
                    items.push(item);
                }
                Ok(Counted(items))
            }
        }
        d.deserialize_seq(V(PhantomData))
    }
}

/// A JSON object whose every member is counted.
struct CountedMap<T>(BTreeMap<String, T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for CountedMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = CountedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut items = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    take()?;
                    let value = map.next_value()?;
                    items.insert(key, value);
                }
                Ok(CountedMap(items))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// Sets a known member once; a member given twice is an error, as with derived
/// `Deserialize`.
fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Keeps an unknown member as raw JSON, counted.
fn keep<'de, A: MapAccess<'de>>(
    map: &mut A,
    other: &mut Members,
    key: String,
) -> Result<(), A::Error> {
    take()?;
    let Raw(value) = map.next_value()?;
    other.insert(key, value);
    Ok(())
}

/// `Deserialize` through a map visitor: `$build` turns the visited map into the
/// value.
macro_rules! object {
    ($ty:ident, $what:literal, |$map:ident| $build:block) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut $map: A,
                    ) -> Result<Self::Value, A::Error> {
                        $build
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

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
/// out. Deserialize it with serde_json (from JSON text, or from a
/// `serde_json::Value`): keeping members as their JSON text needs serde_json's own
/// deserializers, so other data formats cannot make one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UcwaEnvelope {
    /// `_links`: links by relation (`self`, `next`, …).
    #[serde(rename = "_links", skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, Link>,
    /// `sender`: the resources that sent events, each with its events.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sender: Vec<UcwaSender>,
    /// `baseuri`: the base the relative `href`s are relative to.
    #[serde(rename = "baseuri", skip_serializing_if = "Option::is_none")]
    pub base_uri: Option<String>,
    /// The members not named above, as they came.
    #[serde(flatten)]
    pub other: Members,
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UcwaSender {
    /// `rel`: what the sender is, e.g. `ms:rtc:saas:conversation`.
    pub rel: String,
    /// `href`: where the sender is.
    pub href: String,
    /// `events`: what happened.
    pub events: Vec<UcwaEvent>,
    /// The members not named above, as they came.
    #[serde(flatten)]
    pub other: Members,
}

/// One event of a sender: which resource (`link`) had what happen to it (`type`),
/// with the outcome of an operation (`status`) and the resource itself when the
/// service embeds it (`_embedded`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UcwaEvent {
    /// `link`: the resource the event is about.
    pub link: Link,
    /// `in`: the resource that holds it, when given.
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    pub in_: Option<Link>,
    /// `type`: `added`, `updated`, `deleted` (resources), `started`, `completed`
    /// (operations).
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// `status`: `Success` or `Failure`, for a completed operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<EventStatus>,
    /// `_embedded`: resources by relation, as JSON text (the one the event is about
    /// is under its `link.rel`; see [`resource`](Self::resource)).
    #[serde(rename = "_embedded", skip_serializing_if = "BTreeMap::is_empty")]
    pub embedded: Members,
    /// The members not named above (`reason`, …), as they came.
    #[serde(flatten)]
    pub other: Members,
}

impl UcwaEvent {
    /// The embedded resource the event is about (`_embedded[link.rel]`), if the
    /// service embedded it.
    #[must_use]
    pub fn resource(&self) -> Option<&RawJson> {
        self.link
            .rel
            .as_deref()
            .and_then(|rel| self.embedded.get(rel))
    }

    /// The embedded resource the event is about, deserialized into `T` (your type
    /// for a `messagingInvitation`, say, or `serde_json::Value`); `None` when it is
    /// not embedded.
    pub fn resource_as<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Option<Result<T, serde_json::Error>> {
        self.resource().map(RawJson::deserialize)
    }
}

/// A web link: `href`, and the relation and title when given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// `rel`: the relation (absent in `_links`, where it is the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rel: Option<String>,
    /// `href`: where the resource is (relative to the envelope's `baseuri`, or
    /// absolute).
    pub href: String,
    /// `title`: a display name, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The members not named above, as they came.
    #[serde(flatten)]
    pub other: Members,
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

object!(
    UcwaEnvelope,
    "a UCWA event envelope (a JSON object)",
    |map| {
        let mut links: Option<CountedMap<Link>> = None;
        let mut sender: Option<Counted<UcwaSender>> = None;
        let mut base_uri: Option<Option<String>> = None;
        let mut other = Members::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "_links" => once(&mut map, &mut links, "_links")?,
                "sender" => once(&mut map, &mut sender, "sender")?,
                "baseuri" => once(&mut map, &mut base_uri, "baseuri")?,
                _ => keep(&mut map, &mut other, key)?,
            }
        }
        Ok(UcwaEnvelope {
            links: links.map(|l| l.0).unwrap_or_default(),
            sender: sender.map(|s| s.0).unwrap_or_default(),
            base_uri: base_uri.flatten(),
            other,
        })
    }
);

object!(
    UcwaSender,
    "a sender (an object with `rel`, `href`, `events`)",
    |map| {
        let mut rel: Option<String> = None;
        let mut href: Option<String> = None;
        let mut events: Option<Counted<UcwaEvent>> = None;
        let mut other = Members::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "rel" => once(&mut map, &mut rel, "rel")?,
                "href" => once(&mut map, &mut href, "href")?,
                "events" => once(&mut map, &mut events, "events")?,
                _ => keep(&mut map, &mut other, key)?,
            }
        }
        Ok(UcwaSender {
            rel: rel.ok_or_else(|| de::Error::missing_field("rel"))?,
            href: href.ok_or_else(|| de::Error::missing_field("href"))?,
            events: events.map(|e| e.0).unwrap_or_default(),
            other,
        })
    }
);

object!(
    UcwaEvent,
    "an event (an object with `link` and `type`)",
    |map| {
        let mut link: Option<Link> = None;
        let mut in_: Option<Option<Link>> = None;
        let mut event_type: Option<EventType> = None;
        let mut status: Option<Option<EventStatus>> = None;
        let mut embedded: Option<CountedMap<Raw>> = None;
        let mut other = Members::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "link" => once(&mut map, &mut link, "link")?,
                "in" => once(&mut map, &mut in_, "in")?,
                "type" => once(&mut map, &mut event_type, "type")?,
                "status" => once(&mut map, &mut status, "status")?,
                "_embedded" => once(&mut map, &mut embedded, "_embedded")?,
                _ => keep(&mut map, &mut other, key)?,
            }
        }
        Ok(UcwaEvent {
            link: link.ok_or_else(|| de::Error::missing_field("link"))?,
            in_: in_.flatten(),
            event_type: event_type.ok_or_else(|| de::Error::missing_field("type"))?,
            status: status.flatten(),
            embedded: embedded
                .map(|e| e.0.into_iter().map(|(k, Raw(v))| (k, v)).collect())
                .unwrap_or_default(),
            other,
        })
    }
);

object!(Link, "a link (an object with `href`)", |map| {
    let mut rel: Option<Option<String>> = None;
    let mut href: Option<String> = None;
    let mut title: Option<Option<String>> = None;
    let mut other = Members::new();
    while let Some(key) = map.next_key::<String>()? {
        match key.as_str() {
            "rel" => once(&mut map, &mut rel, "rel")?,
            "href" => once(&mut map, &mut href, "href")?,
            "title" => once(&mut map, &mut title, "title")?,
            _ => keep(&mut map, &mut other, key)?,
        }
    }
    Ok(Link {
        rel: rel.flatten(),
        href: href.ok_or_else(|| de::Error::missing_field("href"))?,
        title: title.flatten(),
        other,
    })
});
