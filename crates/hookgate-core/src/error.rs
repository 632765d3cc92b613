//! The one error type of hookgate (parsing, handshake, authentication,
//! deduplication) and its stable kinds.
//!
//! Every [`Error`] knows its HTTP status ([`Error::status`]: 4xx for what the sender
//! got wrong, 429 or 503 with `Retry-After` for what a retry repairs) and renders as an
//! RFC 9457 `application/problem+json` body through [`Problem`]. Adapters turn it
//! into their framework's response; nothing here names a framework.
//!
//! ```
//! use hookgate_core::{parse, HeaderList, ErrorKind, ParseConfig};
//!
//! let headers = HeaderList::new([("content-type", "text/plain")]);
//! let err = parse(&headers, "hi".into(), &ParseConfig::default()).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotCloudEvent);
//! assert_eq!(err.status(), 415);
//! assert_eq!(err.problem().type_uri(), "urn:hookgate:problem:not-a-cloudevent");
//! ```

use std::fmt;

use crate::problem::Problem;

/// What went wrong, as a stable, machine-readable kind.
///
/// Each kind has a fixed HTTP status and a fixed problem `type` URI
/// (`urn:hookgate:problem:<slug>`); the human-readable [`Error::detail`] says which
/// attribute or header was at fault and what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is not a CloudEvent: no CloudEvents media type and no
    /// `ce-specversion` header (415).
    NotCloudEvent,
    /// A CloudEvents media type other than JSON, e.g. `application/cloudevents+avro` (415).
    UnsupportedMediaType,
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// The body could not be read (the client went away, a transport error) (400).
    BodyRead,
    /// The body did not arrive within
    /// [`ParseConfig::body_timeout`](crate::ParseConfig::body_timeout) (408; a sender
    /// retries it).
    BodyTimeout,
    /// A structured or batch body that is not valid JSON (400).
    MalformedJson,
    /// A structured body, or a batch member, that is not a JSON object (400).
    NotAnObject,
    /// A batch body that is not a JSON array (400).
    NotAnArray,
    /// A required attribute (`id`, `source`, `specversion`, `type`) is absent or `null` (400).
    MissingAttribute,
    /// An attribute has the wrong JSON type, is empty where it must not be, or is
    /// not of its format (e.g. `time` is not RFC 3339) (400).
    InvalidAttribute,
    /// An attribute name that is not `[a-z0-9]+`, or that is reserved (400).
    InvalidAttributeName,
    /// The same attribute given twice (two JSON members, two header lines) (400).
    DuplicateAttribute,
    /// An event with more attributes than
    /// [`ParseConfig::max_attributes`](crate::ParseConfig::max_attributes) allows (400).
    TooManyAttributes,
    /// A batch with more events than
    /// [`ParseConfig::max_events`](crate::ParseConfig::max_events) allows (400).
    TooManyEvents,
    /// `specversion` is not `1.0` (400).
    UnsupportedSpecVersion,
    /// A `ce-` header value that cannot be decoded (bad quoting, invalid UTF-8) (400).
    InvalidHeader,
    /// The data is given twice: `data` and `data_base64`, or `Content-Type` and
    /// `ce-datacontenttype` (400).
    ConflictingData,
    /// The data cannot be read: invalid base64 in `data_base64`, invalid JSON in a
    /// binary-mode body with a JSON content type (400).
    InvalidData,
    /// The data does not deserialize into the type the handler asked for (400); the
    /// detail names the JSON path and kinds, never the type (see
    /// [`EventData`](crate::event::EventData)).
    DataMismatch,
    /// An extractor that takes exactly one event got a batch of another size (400).
    WrongEventCount,
    /// A validation handshake header (`WebHook-Request-Origin`, `-Rate`, `-Callback`)
    /// that is empty, not visible ASCII, given more than once, or not of its format
    /// (400).
    InvalidHandshakeHeader,
    /// The validation handshake came from an origin the receiver does not allow (403).
    OriginNotAllowed,
    /// The validation handshake asked for a callback that the receiver will not call:
    /// not https, a host outside the allowlist, a loopback or private address (403).
    CallbackRefused,
    /// The validation handshake asked for a callback while the receiver already
    /// runs as many as it allows at once (429, with `Retry-After`).
    CallbackBusy,
    /// An Azure Event Grid `SubscriptionValidation` request whose body is not the
    /// expected validation event (400).
    InvalidValidationEvent,
    /// No credentials where the receiver requires them (401, with
    /// `WWW-Authenticate`).
    MissingCredentials,
    /// Credentials that are wrong: an unknown secret, a bad signature, an expired or
    /// otherwise invalid token (401, with `WWW-Authenticate`).
    InvalidCredentials,
    /// A valid caller that lacks a required role, tenant or application id (403).
    Forbidden,
    /// The signing keys needed to check the credentials cannot be had right now
    /// (503, with `Retry-After`); the sender's retry will do.
    KeysUnavailable,
    /// An event of the delivery is being handled by another request (429, with
    /// `Retry-After`).
    DuplicateInFlight,
    /// The deduplication store cannot be reached (503, with `Retry-After`).
    StoreUnavailable,
    /// The receiver is shutting down and takes no new delivery (503, with
    /// `Retry-After`); see `DedupPolicy::shutdown`.
    ShuttingDown,
    /// A plain-JSON callback (the Trusted Application API's) whose `Content-Type`
    /// is not one the route accepts (415).
    UnexpectedContentType,
    /// A query parameter the route needs is missing, given twice, or too long,
    /// e.g. the Trusted Application API's `callbackContext` (400).
    InvalidQuery,
    /// An event's handler failed (500 unless the handler said otherwise); see
    /// `route::HandlerError`.
    HandlerFailed,
    /// No route matches the event's `type` and `subject`, and the router rejects
    /// unrouted events (400: a retry would not be routed either).
    UnroutedEvent,
    /// An Azure Event Grid delivery header (`aeg-*`) is malformed (400).
    InvalidDeliveryHeader,
}

impl ErrorKind {
    /// The HTTP status code of this kind.
    ///
    /// 400, 403, 413 and 415 are for input that a retry cannot repair (Azure Event
    /// Grid does not retry them), 401 for missing or wrong credentials; 429 and 503 only
    /// for what a retry repairs: an event in flight, too many callbacks in progress,
    /// keys or a store unavailable.
    #[must_use]
    pub const fn status(self) -> u16 {
        match self {
            Self::NotCloudEvent | Self::UnsupportedMediaType | Self::UnexpectedContentType => 415,
            Self::PayloadTooLarge => 413,
            Self::BodyTimeout => 408,
            Self::OriginNotAllowed | Self::CallbackRefused | Self::Forbidden => 403,
            Self::MissingCredentials | Self::InvalidCredentials => 401,
            Self::KeysUnavailable | Self::StoreUnavailable | Self::ShuttingDown => 503,
            Self::HandlerFailed => 500,
            Self::DuplicateInFlight | Self::CallbackBusy => 429,
            Self::BodyRead
            | Self::MalformedJson
            | Self::NotAnObject
            | Self::NotAnArray
            | Self::MissingAttribute
            | Self::InvalidAttribute
            | Self::InvalidAttributeName
            | Self::DuplicateAttribute
            | Self::TooManyAttributes
            | Self::TooManyEvents
            | Self::UnsupportedSpecVersion
            | Self::InvalidHeader
            | Self::ConflictingData
            | Self::InvalidData
            | Self::DataMismatch
            | Self::WrongEventCount
            | Self::InvalidHandshakeHeader
            | Self::InvalidValidationEvent
            | Self::InvalidQuery
            | Self::UnroutedEvent
            | Self::InvalidDeliveryHeader => 400,
        }
    }

    /// The stable slug of this kind; the problem `type` is `urn:hookgate:problem:<slug>`.
    #[must_use]
    pub const fn slug(self) -> &'static str {
        match self {
            Self::NotCloudEvent => "not-a-cloudevent",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::PayloadTooLarge => "payload-too-large",
            Self::BodyRead => "body-read-failed",
            Self::BodyTimeout => "body-timeout",
            Self::MalformedJson => "malformed-json",
            Self::NotAnObject => "not-an-object",
            Self::NotAnArray => "not-an-array",
            Self::MissingAttribute => "missing-attribute",
            Self::InvalidAttribute => "invalid-attribute",
            Self::InvalidAttributeName => "invalid-attribute-name",
            Self::DuplicateAttribute => "duplicate-attribute",
            Self::TooManyAttributes => "too-many-attributes",
            Self::TooManyEvents => "too-many-events",
            Self::UnsupportedSpecVersion => "unsupported-specversion",
            Self::InvalidHeader => "invalid-header",
            Self::ConflictingData => "conflicting-data",
            Self::InvalidData => "invalid-data",
            Self::DataMismatch => "data-mismatch",
            Self::WrongEventCount => "wrong-event-count",
            Self::InvalidHandshakeHeader => "invalid-handshake-header",
            Self::OriginNotAllowed => "origin-not-allowed",
            Self::CallbackRefused => "callback-refused",
            Self::CallbackBusy => "callback-busy",
            Self::InvalidValidationEvent => "invalid-validation-event",
            Self::MissingCredentials => "missing-credentials",
            Self::InvalidCredentials => "invalid-credentials",
            Self::Forbidden => "forbidden",
            Self::KeysUnavailable => "keys-unavailable",
            Self::DuplicateInFlight => "duplicate-in-flight",
            Self::StoreUnavailable => "dedup-store-unavailable",
            Self::ShuttingDown => "shutting-down",
            Self::UnexpectedContentType => "unexpected-content-type",
            Self::InvalidQuery => "invalid-query",
            Self::HandlerFailed => "handler-failed",
            Self::UnroutedEvent => "unrouted-event",
            Self::InvalidDeliveryHeader => "invalid-delivery-header",
        }
    }

    /// A short, fixed, human-readable summary (the problem `title`).
    #[must_use]
    pub const fn title(self) -> &'static str {
        match self {
            Self::NotCloudEvent => "The request is not a CloudEvent",
            Self::UnsupportedMediaType => "Unsupported CloudEvents format",
            Self::PayloadTooLarge => "Payload too large",
            Self::BodyRead => "The request body could not be read",
            Self::BodyTimeout => "The request body was not received in time",
            Self::MalformedJson => "Malformed JSON",
            Self::NotAnObject => "A CloudEvent must be a JSON object",
            Self::NotAnArray => "A batch must be a JSON array",
            Self::MissingAttribute => "A required attribute is missing",
            Self::InvalidAttribute => "An attribute has an invalid value",
            Self::InvalidAttributeName => "Invalid attribute name",
            Self::DuplicateAttribute => "An attribute is given twice",
            Self::TooManyAttributes => "The event has too many attributes",
            Self::TooManyEvents => "The batch has too many events",
            Self::UnsupportedSpecVersion => "Unsupported CloudEvents specversion",
            Self::InvalidHeader => "A CloudEvents header cannot be decoded",
            Self::ConflictingData => "The event data is given twice",
            Self::InvalidData => "The event data cannot be read",
            Self::DataMismatch => "The event data does not have the expected shape",
            Self::WrongEventCount => "Unexpected number of events",
            Self::InvalidHandshakeHeader => "A validation handshake header is invalid",
            Self::OriginNotAllowed => "The webhook origin is not allowed",
            Self::CallbackRefused => "The validation callback is refused",
            Self::CallbackBusy => "Too many validation callbacks are in progress",
            Self::InvalidValidationEvent => "Invalid Event Grid subscription validation event",
            Self::MissingCredentials => "Credentials are required",
            Self::InvalidCredentials => "The credentials are not valid",
            Self::Forbidden => "The caller is not allowed",
            Self::KeysUnavailable => "Signing keys are unavailable",
            Self::DuplicateInFlight => "The event is being handled",
            Self::StoreUnavailable => "The deduplication store is unavailable",
            Self::ShuttingDown => "The receiver is shutting down",
            Self::UnexpectedContentType => "The request's content type is not accepted",
            Self::InvalidQuery => "A query parameter is missing or invalid",
            Self::HandlerFailed => "An event handler failed",
            Self::UnroutedEvent => "No handler for the event",
            Self::InvalidDeliveryHeader => "An Event Grid delivery header is invalid",
        }
    }
}

/// A rejected request: a stable [`ErrorKind`] and a detail that names the
/// offending attribute or header and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    detail: String,
    retry_after: Option<u32>,
    /// The schemes a 401 challenges, one bit per [`Challenge`]; none = Bearer.
    challenges: u8,
}

/// An authentication scheme a 401 answer challenges in `WWW-Authenticate`
/// (RFC 9110, section 11.6.1): the scheme of the method that was checked.
///
/// - [`Bearer`](Self::Bearer): `Bearer error="invalid_token", error_description="…"`
///   (RFC 6750), for Azure AD tokens and for shared secrets. A shared secret is
///   accepted in `Authorization: Bearer` as well as in `?code=` and
///   `?access_token=` (RFC 6750's query form), so a refused `?code=` secret is
///   challenged with `Bearer` too: a scheme the client can answer, where a scheme
///   of hookgate's own for a query parameter would be one no client knows.
/// - [`WebPubSubSignature`](Self::WebPubSubSignature):
///   `WebPubSub-Signature error="invalid_signature", error_description="…"`, for
///   Azure Web PubSub's `ce-signature` (an HMAC of `ce-connectionId`), never
///   Bearer: no token would help.
///
/// A 401 of a receiver that accepts both (no credentials at all) challenges both,
/// Bearer first, in one header. An [`Error`] given no challenge answers Bearer. A
/// request that sent no credentials at all (`missing-credentials`) is challenged
/// with the bare schemes (`Bearer, WebPubSub-Signature`), without an `error`
/// parameter, as RFC 6750 (section 3.1) asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Challenge {
    /// `Bearer` (RFC 6750): tokens and shared secrets.
    Bearer,
    /// `WebPubSub-Signature`: Azure Web PubSub's `ce-signature`.
    WebPubSubSignature,
}

impl Challenge {
    /// Every scheme, in the order a header lists them.
    const ALL: [Self; 2] = [Self::Bearer, Self::WebPubSubSignature];

    const fn bit(self) -> u8 {
        match self {
            Self::Bearer => 1,
            Self::WebPubSubSignature => 2,
        }
    }

    /// The scheme's name, as `WWW-Authenticate` writes it.
    #[must_use]
    pub const fn scheme(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::WebPubSubSignature => "WebPubSub-Signature",
        }
    }

    /// The `error` parameter of the challenge.
    const fn error(self) -> &'static str {
        match self {
            Self::Bearer => "invalid_token",
            Self::WebPubSubSignature => "invalid_signature",
        }
    }
}

impl Error {
    /// A new error of `kind` with a human-readable `detail`.
    #[must_use]
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            retry_after: None,
            challenges: 0,
        }
    }

    /// Challenges `scheme` when the error is a 401 (call again for several); an
    /// error given none challenges [`Challenge::Bearer`]. See [`Challenge`].
    #[must_use]
    pub fn with_challenge(mut self, scheme: Challenge) -> Self {
        self.challenges |= scheme.bit();
        self
    }

    /// The schemes a 401 of this error challenges, in header order.
    pub fn challenges(&self) -> impl Iterator<Item = Challenge> + '_ {
        let bits = if self.challenges == 0 {
            Challenge::Bearer.bit()
        } else {
            self.challenges
        };
        Challenge::ALL
            .into_iter()
            .filter(move |c| bits & c.bit() != 0)
    }

    /// Asks the sender to retry after `seconds` (a `Retry-After` header).
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The `Retry-After` seconds, if the error asks for a retry.
    #[must_use]
    pub fn retry_after(&self) -> Option<u32> {
        self.retry_after
    }

    /// The stable kind.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status code: 4xx, or 503 for what a retry repairs (see [`ErrorKind::status`]).
    #[must_use]
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// What was wrong and what was expected.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The RFC 9457 problem document for this error, with the headers its status
    /// calls for: `WWW-Authenticate` on a 401 (a challenge per scheme, see
    /// [`Challenge`]), `Retry-After` when set.
    #[must_use]
    pub fn problem(&self) -> Problem {
        let mut problem = Problem::new(
            self.status(),
            self.kind.slug(),
            self.kind.title(),
            &self.detail,
        );
        if self.status() == 401 {
            let description = quoted_string_content(&self.detail);
            // RFC 6750, section 3.1: a request that sent no credentials is
            // challenged with the bare scheme, no error code.
            let missing = self.kind == ErrorKind::MissingCredentials;
            let challenges: Vec<String> = self
                .challenges()
                .map(|c| {
                    if missing {
                        c.scheme().to_owned()
                    } else {
                        format!(
                            "{} error=\"{}\", error_description=\"{description}\"",
                            c.scheme(),
                            c.error()
                        )
                    }
                })
                .collect();
            problem = problem.with_header("www-authenticate", challenges.join(", "));
        }
        if let Some(seconds) = self.retry_after {
            problem = problem.with_header("retry-after", seconds.to_string());
        }
        problem
    }

    /// Prefixes the detail with where the error happened (a batch member, say).
    pub(crate) fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.detail = format!("{prefix}: {}", self.detail);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.title(), self.detail)
    }
}

impl std::error::Error for Error {}

/// A configuration value that was refused when it was built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid hookgate configuration: {0}")]
pub struct ConfigError(pub(crate) String);

/// `text` made safe inside an RFC 7230 quoted-string in a header: visible ASCII and
/// spaces only (others become `?`), quotes and backslashes escaped.
fn quoted_string_content(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// Shortens a value that is echoed in an error detail, so that a client cannot
/// make the server reflect large inputs back.
pub(crate) fn excerpt(value: &str) -> String {
    const MAX: usize = 64;
    if value.len() <= MAX {
        return value.to_owned();
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &value[..end])
}
