//! The CloudEvents 1.0.2 HTTP protocol binding, receive side.
//!
//! [`parse`] turns request headers and a body into a [`Delivery`]: one event
//! (binary or structured mode) or a batch. The content mode is chosen by
//! `Content-Type` ([`detect_mode`]):
//!
//! | Content-Type (case-insensitive, parameters ignored) | mode |
//! |---|---|
//! | `application/cloudevents-batch+json` | [`Mode::Batch`] |
//! | `application/cloudevents+json` | [`Mode::Structured`] (a JSON array body is read as a batch) |
//! | another `application/cloudevents+<fmt>` | 415 |
//! | anything else, with a `ce-specversion` header | [`Mode::Binary`] |
//! | anything else | 415 |
//!
//! A sender known to send binary mode only (Azure Web PubSub, whose `Content-Type`
//! is the client's data type) is parsed with
//! [`ParseConfigBuilder::binary_only`]: every request with `ce-specversion` is then
//! binary mode, whatever its `Content-Type`, and
//! [`ParseConfigBuilder::verbatim_headers`] takes its `ce-*` values as they arrive.
//!
//! **Leniency.** Some senders pick the structured media type for batches and let the
//! receiver decide by the first JSON character; hookgate does the same: a body under
//! `application/cloudevents+json` that starts with `[` is read as a batch. In binary
//! mode, raw header bytes that are not UTF-8 are read as ISO-8859-1 (the HTTP
//! convention for obs-text: Node's `fetch` under the CloudEvents JavaScript SDK sends
//! `Zürich` as the byte 0xFC), while bytes that come out of percent-decoding must be
//! UTF-8 (400 otherwise).
//!
//! **Choices where the specification is silent.** In binary mode an empty body is an
//! event without data, and a `ce-datacontenttype` header is refused (the binding maps
//! `datacontenttype` to `Content-Type`). In the JSON format `"data": null` is the same
//! as no data, like any other `null` attribute. The authentication header
//! `ce-signature` (Azure Web PubSub) is not an extension: it is not event data, and
//! an event handed on with it could be replayed. `specversion` `0.3` is refused with a
//! 400 that says only `1.0` is supported.
//!
//! ```
//! use hookgate_core::{parse, HeaderList, Mode, ParseConfig};
//!
//! let headers = HeaderList::new([
//!     ("ce-specversion", "1.0"),
//!     ("ce-id", "1"),
//!     ("ce-source", "/sensors/7"),
//!     ("ce-type", "com.example.reading"),
//!     ("ce-subject", "%E2%82%AC%20price"),
//!     ("content-type", "application/json"),
//! ]);
//! let delivery = parse(&headers, r#"{"celsius": 21.5}"#.into(), &ParseConfig::default()).unwrap();
//! assert_eq!(delivery.mode(), Mode::Binary);
//! let event = delivery.into_single().unwrap();
//! assert_eq!(event.subject(), Some("€ price"));
//! assert_eq!(event.datacontenttype(), Some("application/json"));
//! ```

mod binary;
mod draft;
mod json;

use bytes::Bytes;

use crate::error::{ConfigError, Error, ErrorKind, excerpt};
use crate::event::{CloudEvent, EventData};
use crate::headers::HeaderSource;
use crate::request::{Incoming, ReadError, read_body};

/// How the event(s) travelled in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// Attributes in `ce-` headers, data in the body.
    Binary,
    /// One event in the JSON format (`application/cloudevents+json`).
    Structured,
    /// A JSON array of events (`application/cloudevents-batch+json`, or a JSON array
    /// under the structured media type).
    Batch,
}

/// The media type of a structured-mode event.
pub const STRUCTURED_MEDIA_TYPE: &str = "application/cloudevents+json";
/// The media type of a batch.
pub const BATCH_MEDIA_TYPE: &str = "application/cloudevents-batch+json";

/// Limits of the parser; validated when built.
///
/// Together they bound what one request can cost: time linear in the body, and a
/// peak heap (the body buffer, the events, the answer) of at most about 4 times
/// [`body_limit`](Self::body_limit) at the defaults, whatever the body holds and
/// however it is chunked. (The densest body, a batch of one-letter extensions, would
/// take about 9.5 times, each extension being 6 bytes of body and 56 bytes parsed;
/// [`max_batch_extensions`](Self::max_batch_extensions) bounds it.) The figures are
/// in `BENCHMARKS.md`, "Worst-case requests", measured by `tests/memory.rs`.
///
/// ```
/// use hookgate_core::ParseConfig;
///
/// let config = ParseConfig::builder().body_limit(256 * 1024).build().unwrap();
/// assert_eq!(config.body_limit(), 256 * 1024);
/// assert!(ParseConfig::builder().body_limit(0).build().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseConfig {
    body_limit: usize,
    max_attributes: usize,
    max_events: usize,
    max_batch_extensions: usize,
    body_timeout: std::time::Duration,
    binary_only: bool,
    verbatim_headers: bool,
}

impl ParseConfig {
    /// The default body limit: 1 MiB, Azure Event Grid's own limit for one event.
    pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

    /// The default [`body_timeout`](Self::body_timeout): 10 s.
    pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

    /// The longest the body of one request may take to arrive, from the first poll
    /// of its read to its end; past it the request is answered 408, which senders
    /// retry. It bounds what a sender that trickles its body, or never sends it,
    /// can hold: a connection and a buffer. (Server-level timeouts, such as hyper's
    /// header read timeout or actix-web's `client_request_timeout`, bound the
    /// headers; see the crate docs.)
    #[must_use]
    pub fn body_timeout(&self) -> std::time::Duration {
        self.body_timeout
    }

    /// The default [`max_attributes`](Self::max_attributes): 128, far above what
    /// real senders use (Azure's events carry about a dozen).
    pub const DEFAULT_MAX_ATTRIBUTES: usize = 128;

    /// The default [`max_events`](Self::max_events): 5,000, the most events Azure
    /// Event Grid puts in one batch.
    pub const DEFAULT_MAX_EVENTS: usize = 5000;

    /// The default [`max_batch_extensions`](Self::max_batch_extensions): 32,768, six
    /// per event in a batch of [`DEFAULT_MAX_EVENTS`](Self::DEFAULT_MAX_EVENTS)
    /// (Azure's events carry none to a few).
    pub const DEFAULT_MAX_BATCH_EXTENSIONS: usize = 32_768;

    /// The most extension attributes of all the events of one batch together; more
    /// is answered 400 `too-many-attributes`, which names the limit. With
    /// [`max_events`](Self::max_events) it bounds the memory of a batch whose body
    /// is dense with small extensions.
    #[must_use]
    pub fn max_batch_extensions(&self) -> usize {
        self.max_batch_extensions
    }

    /// A builder, starting from the defaults.
    pub fn builder() -> ParseConfigBuilder {
        ParseConfigBuilder {
            body_limit: Self::DEFAULT_BODY_LIMIT,
            max_attributes: Self::DEFAULT_MAX_ATTRIBUTES,
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_batch_extensions: Self::DEFAULT_MAX_BATCH_EXTENSIONS,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            binary_only: false,
            verbatim_headers: false,
        }
    }

    /// Whether only binary mode is accepted (off by default; see
    /// [`ParseConfigBuilder::binary_only`]).
    #[must_use]
    pub fn binary_only(&self) -> bool {
        self.binary_only
    }

    /// Whether binary-mode header values are taken verbatim (off by default; see
    /// [`ParseConfigBuilder::verbatim_headers`]).
    #[must_use]
    pub fn verbatim_headers(&self) -> bool {
        self.verbatim_headers
    }

    /// This configuration with [`binary_only`](ParseConfigBuilder::binary_only)
    /// set to `on` (the other limits kept).
    #[must_use]
    pub fn with_binary_only(mut self, on: bool) -> Self {
        self.binary_only = on;
        self
    }

    /// This configuration with
    /// [`verbatim_headers`](ParseConfigBuilder::verbatim_headers) set to `on` (the
    /// other limits kept).
    #[must_use]
    pub fn with_verbatim_headers(mut self, on: bool) -> Self {
        self.verbatim_headers = on;
        self
    }

    /// The content mode of a request under this configuration: [`detect_mode`], or
    /// with [`binary_only`](Self::binary_only) binary mode whatever `Content-Type`
    /// says (a request without `ce-specversion` is then 415
    /// [`ErrorKind::NotCloudEvent`], saying that binary-mode headers were expected).
    ///
    /// # Errors
    /// The 415 to answer with.
    pub fn detect_mode(&self, headers: &impl HeaderSource) -> Result<Mode, Error> {
        if !self.binary_only {
            return detect_mode(headers);
        }
        if headers.get("ce-specversion").is_some() {
            return Ok(Mode::Binary);
        }
        Err(Error::new(
            ErrorKind::NotCloudEvent,
            format!(
                "this receiver takes binary-mode CloudEvents only: expected the                  `ce-specversion`, `ce-id`, `ce-source` and `ce-type` headers; got {}                  and no `ce-specversion`",
                content_type_of(headers)
            ),
        ))
    }

    /// The most events one batch may hold; more is answered 400 `too-many-events`,
    /// which names the limit. The batch is refused as soon as its parser reaches the
    /// member past the limit, before that member is built, so the events a request
    /// can make (and the memory they take) are bounded by it.
    #[must_use]
    pub fn max_events(&self) -> usize {
        self.max_events
    }

    /// The most attributes (the context attributes and the extensions) one event
    /// may have; more is answered 400 `too-many-attributes`, which names the limit.
    /// Checking that no name is given twice costs time linear in the number of
    /// attributes, whatever this limit is.
    #[must_use]
    pub fn max_attributes(&self) -> usize {
        self.max_attributes
    }

    /// The largest body accepted, in bytes; larger ones are answered 413.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }

    /// Answers 413 early when `Content-Length` already says the body is too large,
    /// before any of it is read.
    pub fn check_content_length(&self, headers: &impl HeaderSource) -> Result<(), Error> {
        let declared = headers
            .get("content-length")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        match declared {
            Some(n) if n > self.body_limit as u64 => Err(self.too_large(Some(n))),
            _ => Ok(()),
        }
    }

    /// The 413 error for a body over the limit; `size` is its length when known
    /// (from `Content-Length`, or read in full).
    #[must_use]
    pub fn too_large(&self, size: Option<u64>) -> Error {
        let limit = self.body_limit;
        Error::new(
            ErrorKind::PayloadTooLarge,
            match size {
                Some(n) => {
                    format!("the body ({n} bytes) is larger than the limit of {limit} bytes")
                }
                None => format!("the body is larger than the limit of {limit} bytes"),
            },
        )
    }
}

impl Default for ParseConfig {
    fn default() -> Self {
        Self {
            body_limit: Self::DEFAULT_BODY_LIMIT,
            max_attributes: Self::DEFAULT_MAX_ATTRIBUTES,
            max_events: Self::DEFAULT_MAX_EVENTS,
            max_batch_extensions: Self::DEFAULT_MAX_BATCH_EXTENSIONS,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            binary_only: false,
            verbatim_headers: false,
        }
    }
}

/// Builds a [`ParseConfig`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ParseConfigBuilder {
    body_limit: usize,
    max_attributes: usize,
    max_events: usize,
    max_batch_extensions: usize,
    body_timeout: std::time::Duration,
    binary_only: bool,
    verbatim_headers: bool,
}

impl ParseConfigBuilder {
    /// Accepts binary mode only (default `false`): for a sender known to send
    /// every event in binary mode (Azure Web PubSub), whose `Content-Type` then
    /// describes only the data, never the delivery's shape. A request with a
    /// `ce-specversion` header is parsed in binary mode whatever its
    /// `Content-Type` (`application/cloudevents+json`,
    /// `application/cloudevents-batch+json` or another `application/cloudevents+…`
    /// is the data's type, as any other); one without it is 415
    /// [`ErrorKind::NotCloudEvent`] saying that binary-mode headers were expected.
    ///
    /// ```
    /// use hookgate_core::{HeaderList, Mode, ParseConfig, parse};
    ///
    /// let headers = HeaderList::new([
    ///     ("content-type", "application/cloudevents+json"),
    ///     ("ce-specversion", "1.0"),
    ///     ("ce-id", "1"),
    ///     ("ce-source", "/s"),
    ///     ("ce-type", "t"),
    /// ]);
    /// let body = r#"{"specversion":"1.0","id":"forged","source":"/x","type":"x"}"#;
    /// let config = ParseConfig::builder().binary_only(true).build().unwrap();
    /// let delivery = parse(&headers, body.into(), &config).unwrap();
    /// assert_eq!(delivery.mode(), Mode::Binary);
    /// assert_eq!(delivery.events()[0].id(), "1");
    /// ```
    pub fn binary_only(mut self, on: bool) -> Self {
        self.binary_only = on;
        self
    }

    /// Takes binary-mode `ce-*` header values verbatim (default `false`): no
    /// quoted-string unquoting and no percent-decoding, only the surrounding white
    /// space trimmed; raw bytes that are not UTF-8 are read as ISO-8859-1, as
    /// always. For a sender whose headers are meant as they are (Azure Web PubSub:
    /// Microsoft's handlers read `ce-userId` `%61dmin` as `%61dmin`).
    ///
    /// ```
    /// use hookgate_core::{HeaderList, ParseConfig, parse};
    ///
    /// let headers = HeaderList::new([
    ///     ("ce-specversion", "1.0"),
    ///     ("ce-id", "1"),
    ///     ("ce-source", "/s"),
    ///     ("ce-type", "t"),
    ///     ("ce-userid", "%61dmin"),
    /// ]);
    /// let config = ParseConfig::builder().verbatim_headers(true).build().unwrap();
    /// let event = parse(&headers, "".into(), &config).unwrap().into_single().unwrap();
    /// assert_eq!(event.extension("userid").unwrap().as_str(), Some("%61dmin"));
    /// ```
    pub fn verbatim_headers(mut self, on: bool) -> Self {
        self.verbatim_headers = on;
        self
    }

    /// The largest body accepted, in bytes (at least 1).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// The most attributes one event may have (default
    /// [`ParseConfig::DEFAULT_MAX_ATTRIBUTES`]; at least 4, the required ones).
    pub fn max_attributes(mut self, count: usize) -> Self {
        self.max_attributes = count;
        self
    }

    /// The most events one batch may hold (default
    /// [`ParseConfig::DEFAULT_MAX_EVENTS`]; at least 1).
    pub fn max_events(mut self, count: usize) -> Self {
        self.max_events = count;
        self
    }

    /// The most extension attributes of all the events of one batch together
    /// (default [`ParseConfig::DEFAULT_MAX_BATCH_EXTENSIONS`]).
    pub fn max_batch_extensions(mut self, count: usize) -> Self {
        self.max_batch_extensions = count;
        self
    }

    /// The longest the body may take to arrive (default
    /// [`ParseConfig::DEFAULT_BODY_TIMEOUT`]; not zero).
    pub fn body_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// Checks the values and builds the configuration.
    pub fn build(self) -> Result<ParseConfig, ConfigError> {
        if self.body_timeout.is_zero() {
            return Err(ConfigError("the body timeout must not be zero".into()));
        }
        if self.body_limit == 0 {
            return Err(ConfigError("the body limit must be at least 1 byte".into()));
        }
        if self.max_attributes < 4 {
            return Err(ConfigError(format!(
                "max_attributes must be at least 4 (the required attributes), got {}",
                self.max_attributes
            )));
        }
        if self.max_events == 0 {
            return Err(ConfigError("max_events must be at least 1".into()));
        }
        Ok(ParseConfig {
            body_limit: self.body_limit,
            max_attributes: self.max_attributes,
            max_events: self.max_events,
            max_batch_extensions: self.max_batch_extensions,
            body_timeout: self.body_timeout,
            binary_only: self.binary_only,
            verbatim_headers: self.verbatim_headers,
        })
    }
}

/// The parsed content of one request: one event or a batch.
///
/// Two deliveries are equal when their mode and events are (their
/// [`claims`](Self::claims) are not compared).
#[derive(Clone, Debug)]
pub struct Delivery {
    mode: Mode,
    events: Vec<CloudEvent>,
    /// The dedup claims of the events, one by one, when deduplicating.
    claims: Option<crate::dedup::EventClaims>,
    /// The events' processing spans, when the webhook stack opened them.
    pub(crate) spans: Option<std::sync::Arc<crate::observe::EventSpans>>,
}

impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        self.mode == other.mode && self.events == other.events
    }
}

impl Eq for Delivery {}

impl Delivery {
    /// A delivery of `events` that arrived in `mode`.
    #[must_use]
    pub fn new(mode: Mode, events: Vec<CloudEvent>) -> Self {
        Self {
            mode,
            events,
            claims: None,
            spans: None,
        }
    }

    /// The dedup claims of the events one by one, when the deduplication step put
    /// them here (see [`EventClaims`](crate::dedup::EventClaims)): event `i` of
    /// [`events`](Self::events) has claim `i`. Changing the events (removing,
    /// reordering) drops them, so that no claim is settled for another event (and
    /// the events' processing spans, for the same reason).
    #[must_use]
    pub fn claims(&self) -> Option<&crate::dedup::EventClaims> {
        self.claims.as_ref()
    }

    /// Takes the claims out (see [`claims`](Self::claims)).
    pub fn take_claims(&mut self) -> Option<crate::dedup::EventClaims> {
        self.claims.take()
    }

    /// Hands the per-event claims to what handles the events (the deduplication
    /// step does, right after filtering the delivery).
    pub fn set_claims(&mut self, claims: Option<crate::dedup::EventClaims>) {
        self.claims = claims;
    }

    /// How the events arrived.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The events, in the order they arrived.
    #[must_use]
    pub fn events(&self) -> &[CloudEvent] {
        &self.events
    }

    /// Mutable access to the events (a deduplicating layer removes the ones already
    /// handled).
    pub fn events_mut(&mut self) -> &mut Vec<CloudEvent> {
        self.claims = None;
        self.spans = None;
        &mut self.events
    }

    /// The events, owned.
    #[must_use]
    pub fn into_events(self) -> Vec<CloudEvent> {
        self.events
    }

    /// How many events there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are none (an empty batch).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The one event; a batch of one is accepted, any other count is a
    /// [`ErrorKind::WrongEventCount`].
    pub fn into_single(mut self) -> Result<CloudEvent, Error> {
        if self.events.len() == 1
            && let Some(event) = self.events.pop()
        {
            return Ok(event);
        }
        Err(Error::new(
            ErrorKind::WrongEventCount,
            format!(
                "expected exactly one event, got a batch of {}",
                self.events.len()
            ),
        ))
    }

    /// Every event with its data converted to `T`; the first failure names the
    /// batch member.
    pub fn into_typed<T: EventData>(self) -> Result<Vec<CloudEvent<T>>, Error> {
        let batch = self.mode == Mode::Batch;
        self.events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                e.into_typed().map_err(|err| {
                    if batch {
                        err.context(format_args!("batch member {i}"))
                    } else {
                        err
                    }
                })
            })
            .collect()
    }
}

/// Decides the content mode from the headers alone, so that an adapter can answer
/// 415 before it reads the body.
pub fn detect_mode(headers: &impl HeaderSource) -> Result<Mode, Error> {
    let content_type = headers.get("content-type");
    if let Some(ct) = content_type {
        let essence = media_essence(ct);
        if essence.eq_ignore_ascii_case(BATCH_MEDIA_TYPE.as_bytes()) {
            return Ok(Mode::Batch);
        }
        if essence.eq_ignore_ascii_case(STRUCTURED_MEDIA_TYPE.as_bytes()) {
            return Ok(Mode::Structured);
        }
        const PREFIXES: [&[u8]; 2] = [
            b"application/cloudevents+",
            b"application/cloudevents-batch+",
        ];
        if PREFIXES
            .iter()
            .any(|p| essence.len() > p.len() && essence[..p.len()].eq_ignore_ascii_case(p))
        {
            return Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "event format `{}` is not supported; send `{STRUCTURED_MEDIA_TYPE}`, \
                     `{BATCH_MEDIA_TYPE}` or binary mode",
                    excerpt(&String::from_utf8_lossy(essence))
                ),
            ));
        }
    }
    if headers.get("ce-specversion").is_some() {
        return Ok(Mode::Binary);
    }
    Err(Error::new(
        ErrorKind::NotCloudEvent,
        format!(
            "expected a `ce-specversion` header (binary mode) or Content-Type \
             `{STRUCTURED_MEDIA_TYPE}` / `{BATCH_MEDIA_TYPE}`; got {} and no `ce-specversion`",
            content_type_of(headers)
        ),
    ))
}

/// `Content-Type `…`` or `no Content-Type`, for a 415's detail.
fn content_type_of(headers: &impl HeaderSource) -> String {
    match headers.get("content-type") {
        Some(ct) => format!("Content-Type `{}`", excerpt(&String::from_utf8_lossy(ct))),
        None => "no Content-Type".to_owned(),
    }
}

/// Whether requests of `method` carry events: `POST`, `PUT` and `PATCH`. Other
/// methods (`GET`, `OPTIONS` for the validation handshake, …) are passed on
/// untouched by every layer that parses.
#[must_use]
pub fn carries_events(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH")
}

/// Reads and parses a request: the mode from the headers (415 before the body is
/// read), `Content-Length` against the limit (413 before the body is read), the body
/// within the limit (413 as soon as it is over), then [`parse_with_mode`]. Gives the
/// delivery and the body bytes, which the caller hands on to the handler.
///
/// This is the one sequence every layer, middleware and extractor runs; see
/// [`request`](crate::request) for an example.
///
/// # Errors
/// The [`Error`] to answer with.
pub async fn read_delivery<R: Incoming>(
    request: &mut R,
    config: &ParseConfig,
) -> Result<(Delivery, Bytes), Error> {
    let mode = {
        let headers = request.headers();
        let mode = config.detect_mode(&headers)?;
        config.check_content_length(&headers)?;
        mode
    };
    let read = read_body(request.take_body(), config.body_limit());
    let body = match crate::request::within(config.body_timeout(), read).await {
        Ok(Ok(body)) => body,
        Ok(Err(ReadError::TooLarge)) => return Err(config.too_large(None)),
        Ok(Err(ReadError::Body(e))) => {
            return Err(Error::new(
                ErrorKind::BodyRead,
                format!("the request body could not be read: {e}"),
            ));
        }
        Err(_) => {
            return Err(Error::new(
                ErrorKind::BodyTimeout,
                format!(
                    "the request body did not arrive within {} ms, the receiver's limit",
                    config.body_timeout().as_millis()
                ),
            ));
        }
    };
    let delivery = parse_with_mode(mode, &request.headers(), body.clone(), config)?;
    Ok((delivery, body))
}

/// Parses a request into a [`Delivery`].
///
/// `body` must already be bounded by [`ParseConfig::body_limit`] by whoever read it;
/// a longer one is refused here too.
pub fn parse(
    headers: &impl HeaderSource,
    body: Bytes,
    config: &ParseConfig,
) -> Result<Delivery, Error> {
    let mode = config.detect_mode(headers)?;
    parse_with_mode(mode, headers, body, config)
}

/// [`parse`] for a mode already found by [`detect_mode`].
pub fn parse_with_mode(
    mode: Mode,
    headers: &impl HeaderSource,
    body: Bytes,
    config: &ParseConfig,
) -> Result<Delivery, Error> {
    if body.len() > config.body_limit() {
        return Err(config.too_large(Some(body.len() as u64)));
    }
    let max = config.max_attributes();
    match mode {
        Mode::Binary => binary::parse(headers, body, max, config.verbatim_headers())
            .map(|e| Delivery::new(Mode::Binary, vec![e])),
        Mode::Structured | Mode::Batch => json::parse(mode, body, config),
    }
}

/// The media type without parameters and surrounding white space.
fn media_essence(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    value[..end].trim_ascii()
}

#[cfg(test)]
mod limit_tests {
    use super::*;
    use crate::HeaderList;

    fn structured(extensions: usize) -> Bytes {
        let mut event = String::from(r#"{"specversion":"1.0","id":"1","source":"/s","type":"t""#);
        for i in 0..extensions {
            event.push_str(&format!(r#","x{i}":"v""#));
        }
        event.push('}');
        event.into()
    }

    /// Exactly `max_attributes` attributes pass, one more is refused, in both
    /// content modes, and the limit is configurable.
    #[test]
    fn the_attribute_limit_is_exact_and_configurable() {
        let headers = HeaderList::new([("content-type", "application/cloudevents+json")]);
        let config = ParseConfig::default();
        assert!(parse(&headers, structured(124), &config).is_ok());
        let err = parse(&headers, structured(125), &config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyAttributes);
        assert!(err.detail().contains("128"), "{}", err.detail());

        let small = ParseConfig::builder().max_attributes(6).build().unwrap();
        assert!(parse(&headers, structured(2), &small).is_ok());
        assert!(parse(&headers, structured(3), &small).is_err());
        let mut binary = HeaderList::new([
            ("ce-specversion", "1.0"),
            ("ce-id", "1"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
            ("ce-a", "1"),
            ("ce-b", "2"),
        ]);
        assert!(parse(&binary, Bytes::new(), &small).is_ok());
        binary.push("ce-c", "3");
        let err = parse(&binary, Bytes::new(), &small).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyAttributes);
        assert!(ParseConfig::builder().max_attributes(3).build().is_err());
    }

    fn batch(events: usize) -> Bytes {
        let event = r#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#;
        format!("[{}]", vec![event; events].join(",")).into()
    }

    /// Exactly `max_batch_extensions` extensions (all events together) pass, one
    /// more is refused with a 400 that names the limit.
    #[test]
    fn the_batch_extension_limit_is_exact_and_configurable() {
        assert_eq!(ParseConfig::default().max_batch_extensions(), 32_768);
        let headers = HeaderList::new([("content-type", BATCH_MEDIA_TYPE)]);
        let event = |i: usize| {
            format!(r#"{{"specversion":"1.0","id":"{i}","source":"/s","type":"t","a":1,"b":"x"}}"#)
        };
        let batch = |n: usize| -> Bytes {
            format!("[{}]", (0..n).map(event).collect::<Vec<_>>().join(",")).into()
        };
        let five = ParseConfig::builder()
            .max_batch_extensions(5)
            .build()
            .unwrap();
        // Two extensions an event: two events carry 4, three carry 6.
        assert_eq!(parse(&headers, batch(2), &five).unwrap().len(), 2);
        let err = parse(&headers, batch(3), &five).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyAttributes);
        assert_eq!(err.status(), 400);
        assert!(
            err.detail().contains("more than 5 extension"),
            "{}",
            err.detail()
        );
        let six = ParseConfig::builder()
            .max_batch_extensions(6)
            .build()
            .unwrap();
        assert_eq!(parse(&headers, batch(3), &six).unwrap().len(), 3);
    }

    /// Exactly `max_events` events pass, one more is refused with a 400 that names
    /// the limit; the limit is configurable, and a member's error, or JSON that is
    /// not valid, is still reported as before.
    #[test]
    fn the_event_limit_is_exact_and_configurable() {
        let headers = HeaderList::new([("content-type", BATCH_MEDIA_TYPE)]);
        let config = ParseConfig::default();
        assert_eq!(config.max_events(), 5000);
        assert_eq!(parse(&headers, batch(5000), &config).unwrap().len(), 5000);
        let err = parse(&headers, batch(5001), &config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyEvents);
        assert_eq!(err.status(), 400);
        assert!(err.detail().contains("5000"), "{}", err.detail());

        let two = ParseConfig::builder().max_events(2).build().unwrap();
        assert_eq!(parse(&headers, batch(2), &two).unwrap().len(), 2);
        assert_eq!(parse(&headers, batch(0), &two).unwrap().len(), 0);
        let err = parse(&headers, batch(3), &two).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyEvents);
        assert!(err.detail().contains(" 2 "), "{}", err.detail());
        // A member before the limit is built and refused first.
        let err = parse(&headers, "[{},{},{}]".into(), &two).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingAttribute);
        assert!(
            err.detail().starts_with("batch member 0:"),
            "{}",
            err.detail()
        );
        // The member past the limit is refused whatever it is, without being built.
        let mut over = batch(2).to_vec();
        over.pop();
        over.extend_from_slice(b",7]");
        let err = parse(&headers, over.into(), &two).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyEvents);
        // Not JSON wins over a member's error and over the limit.
        let err = parse(&headers, "[{},{},{},".into(), &two).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        let err = parse(&headers, "[{}] x".into(), &two).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        let err = parse(&headers, r#"[{"specversion":"1.0"}, 1, 2"#.into(), &config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        assert!(ParseConfig::builder().max_events(0).build().is_err());
    }

    /// Past the few extensions that are compared one by one, duplicates are still
    /// found (in both modes), and many distinct names are accepted.
    #[test]
    fn duplicates_are_found_among_many_extensions() {
        let config = ParseConfig::builder()
            .max_attributes(100_000)
            .build()
            .unwrap();
        let headers = HeaderList::new([("content-type", "application/cloudevents+json")]);
        let many = parse(&headers, structured(50_000), &config).unwrap();
        assert_eq!(many.events()[0].extensions().count(), 50_000);
        for (count, twice) in [(17, 0), (17, 16), (40, 3), (40, 39), (1000, 500)] {
            let mut event =
                String::from(r#"{"specversion":"1.0","id":"1","source":"/s","type":"t""#);
            for i in 0..count {
                event.push_str(&format!(r#","x{i}":"v""#));
            }
            event.push_str(&format!(r#","x{twice}":"again"}}"#));
            let err = parse(&headers, event.into(), &config).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DuplicateAttribute, "{count} {twice}");
            assert!(
                err.detail().contains(&format!("`x{twice}`")),
                "{}",
                err.detail()
            );
        }
        let mut binary = HeaderList::new([
            ("ce-specversion", "1.0"),
            ("ce-id", "1"),
            ("ce-source", "/s"),
            ("ce-type", "t"),
        ]);
        for i in 0..40 {
            binary.push(format!("ce-x{i}"), "v");
        }
        assert!(parse(&binary, Bytes::new(), &config).is_ok());
        binary.push("ce-X7", "again");
        let err = parse(&binary, Bytes::new(), &config).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DuplicateAttribute);
    }
}
