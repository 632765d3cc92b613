//! The typed answers to Web PubSub events, rendered as the protocol expects them.

use bytes::Bytes;
use serde::Serialize;

use crate::error::Error;
use crate::problem::Problem;
use crate::reply::Reply;

use super::event::UserData;
use super::state::{ConnectionState, StateChange};

/// The response header that sets the connection state.
pub const STATE_HEADER: &str = "ce-connectionstate";
/// The media type of a text answer and of refusal messages.
pub const TEXT: &str = "text/plain; charset=utf-8";
/// The media type of a JSON answer.
pub const JSON: &str = "application/json";
/// The media type of a binary answer.
pub const BINARY: &str = "application/octet-stream";

fn with_state(reply: Reply, state: &StateChange) -> Reply {
    match state.header_value() {
        Some(value) => reply.with_header(STATE_HEADER, value),
        None => reply,
    }
}

fn encode(state: &ConnectionState) -> Result<StateChange, WebPubSubError> {
    state
        .encode()
        .map(StateChange::Set)
        .map_err(|e| WebPubSubError::server_error(e.detail()))
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subprotocol: Option<String>,
}

/// The answer to a `connect` that accepts the client: 200 with JSON
/// `{userId, groups, roles, subprotocol}` (members not set are left out), or 204
/// ([`no_content`](Self::no_content)); optionally setting the connection state.
///
/// ```
/// use hookgate_core::webpubsub::ConnectResponse;
///
/// let reply = ConnectResponse::new()
///     .user_id("alice")
///     .groups(["room1"])
///     .roles(["webpubsub.joinLeaveGroup.room1"])
///     .to_reply();
/// assert_eq!(reply.status(), 200);
/// assert_eq!(reply.content_type(), Some("application/json"));
/// assert_eq!(
///     &reply.body()[..],
///     br#"{"userId":"alice","groups":["room1"],"roles":["webpubsub.joinLeaveGroup.room1"]}"#
/// );
/// assert_eq!(ConnectResponse::no_content().to_reply().status(), 204);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct ConnectResponse {
    body: Option<ConnectBody>,
    state: StateChange,
}

impl ConnectResponse {
    /// 200 with a JSON body (`{}` until members are set).
    pub fn new() -> Self {
        Self {
            body: Some(ConnectBody::default()),
            state: StateChange::Keep,
        }
    }

    /// 204: accepted, nothing to set.
    pub fn no_content() -> Self {
        Self::default()
    }

    fn body(&mut self) -> &mut ConnectBody {
        self.body.get_or_insert_with(ConnectBody::default)
    }

    /// The connection's user id (required by the service when the client's token
    /// has none).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.body().user_id = Some(user_id.into());
        self
    }

    /// Groups the connection joins.
    pub fn groups<I: IntoIterator<Item = S>, S: Into<String>>(mut self, groups: I) -> Self {
        self.body().groups = Some(groups.into_iter().map(Into::into).collect());
        self
    }

    /// Roles the connection has (`webpubsub.sendToGroup`, …).
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        self.body().roles = Some(roles.into_iter().map(Into::into).collect());
        self
    }

    /// The subprotocol chosen among the client's (never a blank one).
    pub fn subprotocol(mut self, subprotocol: impl Into<String>) -> Self {
        self.body().subprotocol = Some(subprotocol.into());
        self
    }

    /// Sets (replaces) the connection state.
    ///
    /// # Errors
    /// A 500 [`WebPubSubError`] when the encoded state is past its limit.
    pub fn state(mut self, state: &ConnectionState) -> Result<Self, WebPubSubError> {
        self.state = encode(state)?;
        Ok(self)
    }

    /// Clears the connection state.
    pub fn clear_state(mut self) -> Self {
        self.state = StateChange::Clear;
        self
    }

    /// The reply to send.
    #[must_use]
    pub fn to_reply(&self) -> Reply {
        let reply = match &self.body {
            // A struct of strings always serializes.
            Some(body) => {
                Reply::new(200).with_body(JSON, serde_json::to_vec(body).unwrap_or_default())
            }
            None => Reply::new(204),
        };
        with_state(reply, &self.state)
    }
}

/// The answer to a user event: 204, or 200 with data the service sends back to the
/// client (`text/plain; charset=utf-8`, `application/json` or
/// `application/octet-stream`); optionally setting the connection state.
///
/// ```
/// use hookgate_core::webpubsub::UserEventResponse;
///
/// let reply = UserEventResponse::text("hi").to_reply();
/// assert_eq!((reply.status(), reply.content_type()), (200, Some("text/plain; charset=utf-8")));
/// assert_eq!(UserEventResponse::no_content().to_reply().status(), 204);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct UserEventResponse {
    data: Option<(&'static str, Bytes)>,
    state: StateChange,
}

impl UserEventResponse {
    /// 204: nothing to send back.
    pub fn no_content() -> Self {
        Self::default()
    }

    /// 200 with text (a text frame).
    pub fn text(text: impl Into<String>) -> Self {
        Self::with(TEXT, Bytes::from(text.into()))
    }

    /// 200 with JSON text.
    pub fn json_text(json: impl Into<Bytes>) -> Self {
        Self::with(JSON, json.into())
    }

    /// 200 with `value` serialized to JSON.
    ///
    /// # Errors
    /// A 500 [`WebPubSubError`] when `value` does not serialize.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, WebPubSubError> {
        serde_json::to_vec(value)
            .map(|json| Self::with(JSON, json.into()))
            .map_err(|e| WebPubSubError::server_error(format!("the answer is not JSON: {e}")))
    }

    /// 200 with bytes (a binary frame).
    pub fn binary(bytes: impl Into<Bytes>) -> Self {
        Self::with(BINARY, bytes.into())
    }

    /// 200 with `data` as it came: the same bytes, of the same kind.
    pub fn echo(data: &UserData) -> Self {
        match data {
            UserData::Text(s) => Self::text(s.clone()),
            UserData::Json(j) => Self::json_text(j.as_bytes().clone()),
            UserData::Binary(b) => Self::binary(b.clone()),
        }
    }

    fn with(content_type: &'static str, body: Bytes) -> Self {
        Self {
            data: Some((content_type, body)),
            state: StateChange::Keep,
        }
    }

    /// Sets (replaces) the connection state.
    ///
    /// # Errors
    /// A 500 [`WebPubSubError`] when the encoded state is past its limit.
    pub fn state(mut self, state: &ConnectionState) -> Result<Self, WebPubSubError> {
        self.state = encode(state)?;
        Ok(self)
    }

    /// Clears the connection state.
    pub fn clear_state(mut self) -> Self {
        self.state = StateChange::Clear;
        self
    }

    /// The reply to send.
    #[must_use]
    pub fn to_reply(&self) -> Reply {
        let reply = match &self.data {
            Some((content_type, body)) => Reply::new(200).with_body(content_type, body.clone()),
            None => Reply::new(204),
        };
        with_state(reply, &self.state)
    }
}

/// A refusal in the protocol's form: a status and a plain-text message, which the
/// service passes on to the client (`connect`: the client's connection is refused;
/// a user event: the connection is dropped).
///
/// The protocol's statuses are 400 (the client's fault), 401 (not allowed) and 500
/// (the server's fault); a [`hookgate_core::Error`](crate::Error) converts with its
/// own 4xx/5xx status.
///
/// ```
/// use hookgate_core::webpubsub::WebPubSubError;
///
/// let reply = WebPubSubError::unauthorized("banned").to_reply();
/// assert_eq!(reply.status(), 401);
/// assert_eq!(reply.content_type(), Some("text/plain; charset=utf-8"));
/// assert_eq!(&reply.body()[..], b"banned");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebPubSubError {
    status: u16,
    message: String,
    headers: Vec<(&'static str, String)>,
    problem: Option<Box<Problem>>,
}

impl WebPubSubError {
    /// 400: the client's request is wrong.
    #[must_use]
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 401: the client is not allowed.
    #[must_use]
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, message)
    }

    /// 500: the server failed.
    #[must_use]
    pub fn server_error(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }

    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            headers: Vec::new(),
            problem: None,
        }
    }

    /// The problem this refusal renders, when it comes from a hookgate
    /// [`Error`](crate::Error) (a malformed event, a state past its limit): the
    /// adapters put it into the response extensions, so that the entry point
    /// reports it to the rejection hook.
    #[must_use]
    pub fn problem(&self) -> Option<&Problem> {
        self.problem.as_deref()
    }

    /// The status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The reply to send: the status, `text/plain; charset=utf-8`, the message.
    #[must_use]
    pub fn to_reply(&self) -> Reply {
        let reply = Reply::new(self.status).with_body(TEXT, self.message.clone());
        self.headers
            .iter()
            .fold(reply, |r, (name, value)| r.with_header(name, value.clone()))
    }
}

impl std::fmt::Display for WebPubSubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for WebPubSubError {}

impl From<&Problem> for WebPubSubError {
    fn from(problem: &Problem) -> Self {
        Self {
            status: problem.status(),
            message: problem.detail().to_owned(),
            headers: problem.headers().to_vec(),
            problem: Some(Box::new(problem.clone())),
        }
    }
}

impl From<Error> for WebPubSubError {
    fn from(error: Error) -> Self {
        Self::from(&error.problem())
    }
}

/// A rejection rendered in the protocol's form: the problem's status and headers
/// (`WWW-Authenticate`, `Retry-After`), and its detail as a plain-text message. The
/// hook [`WebPubSubPolicy`](super::WebPubSubPolicy) installs with
/// [`render_rejection`](crate::webhook::WebhookPolicyBuilder::render_rejection).
#[must_use]
pub fn plain_reply(problem: &Problem) -> Reply {
    WebPubSubError::from(problem).to_reply()
}

/// Any answer to a Web PubSub event, for a handler of the [`WebPubSubEvent`]
/// enum that answers each kind differently.
///
/// [`WebPubSubEvent`]: super::WebPubSubEvent
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum WebPubSubResponse {
    /// The answer to a `connect`.
    Connect(ConnectResponse),
    /// The answer to a user event.
    UserEvent(UserEventResponse),
    /// 204: the answer to `connected` and `disconnected` (whose answers the service
    /// only logs).
    Ack,
    /// A refusal.
    Error(WebPubSubError),
}

impl WebPubSubResponse {
    /// The problem of a refusal that comes from a hookgate error (see
    /// [`WebPubSubError::problem`]).
    #[must_use]
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Error(e) => e.problem(),
            _ => None,
        }
    }

    /// The reply to send.
    #[must_use]
    pub fn to_reply(&self) -> Reply {
        match self {
            Self::Connect(r) => r.to_reply(),
            Self::UserEvent(r) => r.to_reply(),
            Self::Ack => Reply::new(204),
            Self::Error(e) => e.to_reply(),
        }
    }
}

impl From<ConnectResponse> for WebPubSubResponse {
    fn from(r: ConnectResponse) -> Self {
        Self::Connect(r)
    }
}

impl From<UserEventResponse> for WebPubSubResponse {
    fn from(r: UserEventResponse) -> Self {
        Self::UserEvent(r)
    }
}

impl From<WebPubSubError> for WebPubSubResponse {
    fn from(e: WebPubSubError) -> Self {
        Self::Error(e)
    }
}

impl<T: Into<WebPubSubResponse>> From<Result<T, WebPubSubError>> for WebPubSubResponse {
    fn from(r: Result<T, WebPubSubError>) -> Self {
        r.map_or_else(Self::Error, Into::into)
    }
}
