//! The typed Web PubSub events: one enum over `ce-type`.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Deserialize;

use crate::binding::{Delivery, Mode};
use crate::error::{Error, ErrorKind, excerpt};
use crate::event::{CloudEvent, Data, RawJson, is_json_media_type};

use super::context::{ConnectionContext, ext};
use super::state::DEFAULT_MAX_STATE_LEN;

/// `ce-type` of the `connect` event.
pub const CONNECT: &str = "azure.webpubsub.sys.connect";
/// `ce-type` of the `connected` event.
pub const CONNECTED: &str = "azure.webpubsub.sys.connected";
/// `ce-type` of the `disconnected` event.
pub const DISCONNECTED: &str = "azure.webpubsub.sys.disconnected";
/// The `ce-type` prefix of user events: `azure.webpubsub.user.<eventName>`.
pub const USER_PREFIX: &str = "azure.webpubsub.user.";

/// Maps of string lists, as `claims`, `query` and `headers` of a `connect` arrive.
pub type StringLists = BTreeMap<String, Vec<String>>;

/// A client certificate of a `connect` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ClientCertificate {
    /// The certificate's SHA-1 thumbprint.
    #[serde(default)]
    pub thumbprint: Option<String>,
    /// The certificate, PEM.
    #[serde(default)]
    pub content: Option<String>,
}

/// The body of a `connect` event; each member is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConnectBody {
    /// The claims of the client's access token.
    #[serde(default)]
    pub claims: Option<StringLists>,
    /// The query of the client's connect URL.
    #[serde(default)]
    pub query: Option<StringLists>,
    /// The headers of the client's connect request.
    #[serde(default)]
    pub headers: Option<StringLists>,
    /// The subprotocols the client offers; answer with one of them, or none.
    #[serde(default)]
    pub subprotocols: Option<Vec<String>>,
    /// The client certificates.
    #[serde(default)]
    pub client_certificates: Option<Vec<ClientCertificate>>,
}

impl ConnectBody {
    /// The first value of query parameter `name`.
    #[must_use]
    pub fn query_value(&self, name: &str) -> Option<&str> {
        first(self.query.as_ref(), name)
    }

    /// The first value of claim `name`.
    #[must_use]
    pub fn claim(&self, name: &str) -> Option<&str> {
        first(self.claims.as_ref(), name)
    }
}

fn first<'a>(map: Option<&'a StringLists>, name: &str) -> Option<&'a str> {
    map?.get(name)?.first().map(String::as_str)
}

/// The body of a `disconnected` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct DisconnectedBody {
    /// Why the client disconnected, when the service says.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The data of a user event, by its `Content-Type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserData {
    /// `text/plain`: a text frame (UTF-8).
    Text(String),
    /// `application/json` (any JSON media type): JSON data, as raw text.
    Json(RawJson),
    /// `application/octet-stream` (or any other type): a binary frame.
    Binary(Bytes),
}

impl UserData {
    /// The data's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(s) => s.as_bytes(),
            Self::Json(j) => j.as_bytes(),
            Self::Binary(b) => b,
        }
    }
}

/// A `connect` event: the client asks to connect; the answer decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The context.
    pub context: ConnectionContext,
    /// Claims, query, headers, subprotocols and client certificates.
    pub body: ConnectBody,
}

/// A `connected` event: the client's WebSocket is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectedRequest {
    /// The context.
    pub context: ConnectionContext,
}

/// A `disconnected` event: the client's connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisconnectedRequest {
    /// The context.
    pub context: ConnectionContext,
    /// The reason.
    pub body: DisconnectedBody,
}

/// A user event `azure.webpubsub.user.<name>`: a message from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEventRequest {
    /// The context; [`ConnectionContext::event_name`] is the event's name.
    pub context: ConnectionContext,
    /// The data.
    pub data: UserData,
}

/// One Web PubSub event, by `ce-type`; see the [module docs](super).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebPubSubEvent {
    /// `azure.webpubsub.sys.connect`.
    Connect(ConnectRequest),
    /// `azure.webpubsub.sys.connected`.
    Connected(ConnectedRequest),
    /// `azure.webpubsub.sys.disconnected`.
    Disconnected(DisconnectedRequest),
    /// `azure.webpubsub.user.<name>`.
    User(UserEventRequest),
}

/// Limits of the Web PubSub extractors. A [`WebPubSubPolicy`](super::WebPubSubPolicy)
/// carries them and its middleware hands them on in each request's extensions; a
/// registration of their own (tower: `Extension(limits)`, actix-web:
/// `app_data(limits)`) is deprecated and still read where no middleware ran, and
/// the defaults apply without either.
///
/// Besides the state's length, they bound what a `connect` body can cost: its
/// `claims`, `query` and `headers` maps and its lists (each map entry's values,
/// `subprotocols`, `clientCertificates`) are counted while they are read, and a
/// body past a count is refused 400 naming the limit (in plain text, as every Web
/// PubSub refusal) before more of it is built. Strings are not capped beyond the
/// body limit: each costs at most its own bytes. With the defaults a `connect` of
/// the largest body (1 MiB) takes at most about 3 times the body limit of heap,
/// whatever it holds (`tests/webpubsub_memory.rs`, BENCHMARKS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebPubSubLimits {
    pub(super) max_state_len: usize,
    pub(super) max_connect_entries: usize,
    pub(super) max_connect_values: usize,
    pub(super) max_connect_items: usize,
}

impl Default for WebPubSubLimits {
    fn default() -> Self {
        Self {
            max_state_len: DEFAULT_MAX_STATE_LEN,
            max_connect_entries: Self::DEFAULT_MAX_CONNECT_ENTRIES,
            max_connect_values: Self::DEFAULT_MAX_CONNECT_VALUES,
            max_connect_items: Self::DEFAULT_MAX_CONNECT_ITEMS,
        }
    }
}

impl WebPubSubLimits {
    /// The default [`max_connect_entries`](Self::max_connect_entries): 1,024 (a
    /// browser sends a few dozen headers, a token a few dozen claims).
    pub const DEFAULT_MAX_CONNECT_ENTRIES: usize = 1024;

    /// The default [`max_connect_values`](Self::max_connect_values): 1,024 (room
    /// for a token's `groups` or `roles` claim, which Azure AD caps at 200 groups).
    pub const DEFAULT_MAX_CONNECT_VALUES: usize = 1024;

    /// The default [`max_connect_items`](Self::max_connect_items): 16,384.
    pub const DEFAULT_MAX_CONNECT_ITEMS: usize = 16_384;

    /// The longest `ce-connectionState`, in bytes of base64.
    #[must_use]
    pub fn max_state_len(&self) -> usize {
        self.max_state_len
    }

    /// The most entries of each of a `connect` body's `claims`, `query` and
    /// `headers` maps (default [`DEFAULT_MAX_CONNECT_ENTRIES`](Self::DEFAULT_MAX_CONNECT_ENTRIES)).
    #[must_use]
    pub fn max_connect_entries(&self) -> usize {
        self.max_connect_entries
    }

    /// The most values of each list of a `connect` body: a map entry's values,
    /// `subprotocols`, `clientCertificates` (default
    /// [`DEFAULT_MAX_CONNECT_VALUES`](Self::DEFAULT_MAX_CONNECT_VALUES)).
    #[must_use]
    pub fn max_connect_values(&self) -> usize {
        self.max_connect_values
    }

    /// The most entries and values of a `connect` body together: the entries of
    /// its maps, their values, the subprotocols and the client certificates
    /// (default [`DEFAULT_MAX_CONNECT_ITEMS`](Self::DEFAULT_MAX_CONNECT_ITEMS)).
    #[must_use]
    pub fn max_connect_items(&self) -> usize {
        self.max_connect_items
    }
}

fn invalid(kind: ErrorKind, detail: String) -> Error {
    Error::new(kind, detail)
}

impl WebPubSubEvent {
    /// The event of a delivery: exactly one event, in binary mode (parse with
    /// [`parse_config`](super::parse_config), as [`WebPubSubPolicy`](super::WebPubSubPolicy)
    /// and the extractors do).
    ///
    /// # Errors
    /// See [`from_cloud_event`](Self::from_cloud_event); a delivery read in
    /// structured or batch mode (by a parser not told that Web PubSub sends binary
    /// mode only, which took the client's `Content-Type` for the delivery's) is 415
    /// [`ErrorKind::UnsupportedMediaType`], never read as the service's event.
    pub fn from_delivery(delivery: Delivery, limits: &WebPubSubLimits) -> Result<Self, Error> {
        if delivery.mode() != Mode::Binary {
            return Err(invalid(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "Web PubSub sends events in binary mode only, and this request was read \
                     as a {} CloudEvent: its `Content-Type` is the client's data type; parse \
                     Web PubSub routes with `WebPubSubPolicy` (or `webpubsub::parse_config`)",
                    if delivery.mode() == Mode::Batch {
                        "batch of"
                    } else {
                        "structured"
                    }
                ),
            ));
        }
        Self::from_cloud_event(delivery.into_single()?, limits)
    }

    /// Reads a parsed CloudEvent as a Web PubSub event.
    ///
    /// # Errors
    /// 400 for a `ce-type` that is not one of Web PubSub's, a missing `ce-hub` or
    /// `ce-connectionId`, a state past the limit, a `connect` or `disconnected` body
    /// that is not the expected JSON object, a `text/plain` user event that is not
    /// UTF-8, a JSON user event without a body, a `connect` body past a limit of
    /// `limits` (the detail names it).
    pub fn from_cloud_event(event: CloudEvent, limits: &WebPubSubLimits) -> Result<Self, Error> {
        let ty = event.ty().to_owned();
        let name_of = |event: &CloudEvent, fallback: &str| {
            event
                .extension(ext::EVENT_NAME)
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .unwrap_or(fallback)
                .to_owned()
        };
        let system = |event: CloudEvent, name: &str| {
            let event_name = name_of(&event, name);
            ConnectionContext::read(event, event_name, limits.max_state_len)
        };
        match ty.as_str() {
            CONNECT => {
                let body = match &event.data {
                    Data::Json(json) => super::connect::read(json, limits)?,
                    _ => json_body::<ConnectBody>(&event, "connect")?,
                };
                Ok(Self::Connect(ConnectRequest {
                    context: system(event, "connect")?,
                    body,
                }))
            }
            CONNECTED => Ok(Self::Connected(ConnectedRequest {
                context: system(event, "connected")?,
            })),
            DISCONNECTED => {
                let body = json_body::<DisconnectedBody>(&event, "disconnected")?;
                Ok(Self::Disconnected(DisconnectedRequest {
                    context: system(event, "disconnected")?,
                    body,
                }))
            }
            _ => {
                let Some(name) = ty.strip_prefix(USER_PREFIX).filter(|n| !n.is_empty()) else {
                    return Err(invalid(
                        ErrorKind::InvalidAttribute,
                        format!(
                            "`ce-type` `{}` is not a Web PubSub event: expected \
                             {CONNECT}, {CONNECTED}, {DISCONNECTED} or {USER_PREFIX}<name>",
                            excerpt(&ty)
                        ),
                    ));
                };
                let data = user_data(&event)?;
                let event_name = name_of(&event, name);
                Ok(Self::User(UserEventRequest {
                    context: ConnectionContext::read(event, event_name, limits.max_state_len)?,
                    data,
                }))
            }
        }
    }

    /// The context.
    #[must_use]
    pub fn context(&self) -> &ConnectionContext {
        match self {
            Self::Connect(r) => &r.context,
            Self::Connected(r) => &r.context,
            Self::Disconnected(r) => &r.context,
            Self::User(r) => &r.context,
        }
    }

    /// The `{event}` segment of a URL template this event goes to: `connect`,
    /// `connected`, `disconnected` or the user event's name.
    #[must_use]
    pub fn path_event(&self) -> &str {
        match self {
            Self::Connect(_) => "connect",
            Self::Connected(_) => "connected",
            Self::Disconnected(_) => "disconnected",
            Self::User(r) => r.context.event_name(),
        }
    }

    /// Checks that the `{event}` segment of the URL (`/api/{event}`) names this
    /// event, case-insensitively.
    ///
    /// # Errors
    /// 400 ([`ErrorKind::InvalidAttribute`]) when it names another.
    pub fn check_path_event(&self, segment: &str) -> Result<(), Error> {
        if segment.eq_ignore_ascii_case(self.path_event()) {
            return Ok(());
        }
        Err(invalid(
            ErrorKind::InvalidAttribute,
            format!(
                "the URL names the event `{}`, the request is a `{}` event",
                excerpt(segment),
                excerpt(self.path_event())
            ),
        ))
    }
}

fn json_body<T: Default + for<'de> Deserialize<'de>>(
    event: &CloudEvent,
    what: &str,
) -> Result<T, Error> {
    match &event.data {
        Data::Empty => Ok(T::default()),
        Data::Json(json) => json.deserialize().map_err(|e| {
            invalid(
                ErrorKind::InvalidData,
                format!(
                    "the `{what}` body is not the expected JSON object: {}",
                    crate::shape::explain::<T>(json.get().as_bytes(), &e)
                ),
            )
        }),
        Data::Binary(_) => Err(invalid(
            ErrorKind::InvalidData,
            format!("the `{what}` body must be JSON (`Content-Type: application/json`)"),
        )),
    }
}

fn user_data(event: &CloudEvent) -> Result<UserData, Error> {
    let ct = event
        .datacontenttype()
        .unwrap_or("application/octet-stream");
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if is_json_media_type(ct) {
        return match &event.data {
            Data::Json(json) => Ok(UserData::Json(json.clone())),
            _ => Err(invalid(
                ErrorKind::InvalidData,
                "a user event of type application/json has no body".into(),
            )),
        };
    }
    let bytes = match &event.data {
        Data::Binary(b) => b.clone(),
        other => Bytes::copy_from_slice(other.as_bytes()),
    };
    if essence.eq_ignore_ascii_case("text/plain") {
        return String::from_utf8(bytes.to_vec())
            .map(UserData::Text)
            .map_err(|_| {
                invalid(
                    ErrorKind::InvalidData,
                    "a text/plain user event is not valid UTF-8".into(),
                )
            });
    }
    Ok(UserData::Binary(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HeaderList, ParseConfig, parse};

    fn read(headers: &[(&str, &str)], body: &'static str) -> Result<WebPubSubEvent, Error> {
        let delivery = parse(
            &HeaderList::new(headers.iter().copied()),
            body.into(),
            &super::super::parse_config(ParseConfig::default()),
        )?;
        WebPubSubEvent::from_delivery(delivery, &WebPubSubLimits::default())
    }

    const BASE: [(&str, &str); 6] = [
        ("ce-specversion", "1.0"),
        ("ce-source", "/hubs/chat/client/c1"),
        ("ce-id", "1"),
        ("CE-CONNECTIONID", "c1"),
        ("Ce-Hub", "chat"),
        ("ce-awpsversion", "1.0"),
    ];

    #[test]
    fn the_mqtt_context_and_header_casing() {
        let mut headers = BASE.to_vec();
        headers.extend([
            ("content-type", "application/json"),
            ("ce-type", CONNECT),
            ("ce-userid", "u"),
            ("ce-subprotocol", "mqtt"),
            ("ce-physicalConnectionId", "p1"),
            ("ce-sessionId", "s1"),
        ]);
        let WebPubSubEvent::Connect(connect) = read(&headers, r#"{"mqtt": {}}"#).unwrap() else {
            panic!("a connect")
        };
        let c = &connect.context;
        assert_eq!(
            (c.hub(), c.connection_id(), c.user_id()),
            ("chat", "c1", Some("u"))
        );
        assert_eq!(
            (c.event_name(), c.subprotocol(), c.awps_version()),
            ("connect", Some("mqtt"), Some("1.0"))
        );
        assert_eq!(
            (c.physical_connection_id(), c.session_id()),
            (Some("p1"), Some("s1"))
        );
        assert!(c.state().is_empty() && c.raw_state().is_none());
        assert_eq!(connect.body, ConnectBody::default());
    }

    #[test]
    fn user_data_by_content_type_and_refusals() {
        let user = |ct: &'static str, body: &'static str| {
            let mut headers = BASE.to_vec();
            headers.extend([
                ("content-type", ct),
                ("ce-type", "azure.webpubsub.user.chat"),
            ]);
            read(&headers, body)
        };
        let data = |event: WebPubSubEvent| match event {
            WebPubSubEvent::User(u) => (u.context.event_name().to_owned(), u.data),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            data(user("text/plain; charset=utf-8", "hi").unwrap()),
            ("chat".into(), UserData::Text("hi".into()))
        );
        assert!(matches!(
            data(user("application/json", "[1]").unwrap()).1,
            UserData::Json(_)
        ));
        assert_eq!(
            data(user("application/octet-stream", "x").unwrap()).1,
            UserData::Binary("x".into())
        );
        assert_eq!(
            data(user("text/plain", "").unwrap()).1,
            UserData::Text(String::new())
        );
        assert!(user("application/json", "").is_err());

        let mut headers = BASE.to_vec();
        headers.push(("ce-type", "azure.webpubsub.user."));
        assert!(
            read(&headers, "")
                .unwrap_err()
                .detail()
                .contains("not a Web PubSub event")
        );
        let mut headers = BASE.to_vec();
        headers.extend([
            ("ce-type", CONNECTED),
            ("ce-connectionState", "a"),
            ("ce-connectionstate", "b"),
        ]);
        assert_eq!(
            read(&headers, "").unwrap_err().kind(),
            ErrorKind::DuplicateAttribute
        );
    }
}
