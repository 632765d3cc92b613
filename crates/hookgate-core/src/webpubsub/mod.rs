//! Azure Web PubSub's event handler protocol ("CloudEvents extension for Azure Web
//! PubSub event handler with HTTP protocol"), decided without a framework.
//!
//! The service sends every event as a binary-mode CloudEvent: `ce-type` says which
//! (`azure.webpubsub.sys.connect`, `…sys.connected`, `…sys.disconnected`,
//! `azure.webpubsub.user.<eventName>`), the other `ce-*` headers carry the
//! [`ConnectionContext`] (`ce-hub`, `ce-connectionId`, `ce-userId`, `ce-eventName`,
//! `ce-subprotocol`, `ce-awpsversion`, `ce-connectionState`, and for MQTT clients
//! `ce-physicalConnectionId` and `ce-sessionId`), and `ce-signature` authenticates
//! it. The pieces:
//!
//! - [`WebPubSubPolicy`]: the receiver, built once. It is the entry point
//!   ([`WebhookPolicy`](crate::WebhookPolicy)) configured for the protocol: the
//!   abuse-protection `OPTIONS` granted to the resource's host
//!   (`<name>.webpubsub.azure.com`), `ce-signature` checked when access keys are
//!   given, no deduplication, and every rejection rendered as the protocol wants it.
//!   Mount `policy.webhook()` with `hookgate_tower::WebhookLayer` or
//!   `hookgate_actix::Webhook`: the policy carries the extractors' limits
//!   ([`WebPubSubPolicy::limits`]) and the middleware hands them on in each
//!   request's extensions (registering `policy.limits()` with `axum::Extension` or
//!   actix-web's `app_data` is deprecated: no longer needed, still read).
//! - [`WebPubSubEvent`]: one enum over `ce-type`, with typed bodies ([`ConnectBody`],
//!   [`DisconnectedBody`], [`UserData`]); the adapters offer it as an extractor, and
//!   one extractor per event.
//! - [`ConnectResponse`], [`UserEventResponse`], [`WebPubSubError`] (and
//!   [`WebPubSubResponse`], any of them): the answers, as [`Reply`](crate::Reply)s the
//!   adapters render.
//! - [`ConnectionState`]: the state, both ways.
//!
//! ```
//! use hookgate_core::webpubsub::{ConnectResponse, WebPubSubEvent, WebPubSubLimits, parse_config};
//! use hookgate_core::{HeaderList, ParseConfig, parse};
//!
//! let headers = HeaderList::new([
//!     ("Content-Type", "application/json; charset=utf-8"),
//!     ("ce-specversion", "1.0"),
//!     ("ce-type", "azure.webpubsub.sys.connect"),
//!     ("ce-source", "/hubs/chat/client/conn1"),
//!     ("ce-id", "1"),
//!     ("ce-userId", "alice"),
//!     ("ce-connectionId", "conn1"),
//!     ("ce-hub", "chat"),
//!     ("ce-eventName", "connect"),
//! ]);
//! let body = r#"{"claims": {"role": ["admin"]}, "query": {"room": ["lobby"]}, "subprotocols": []}"#;
//! let delivery = parse(&headers, body.into(), &parse_config(ParseConfig::default()))?;
//! let WebPubSubEvent::Connect(connect) =
//!     WebPubSubEvent::from_delivery(delivery, &WebPubSubLimits::default())?
//! else {
//!     unreachable!()
//! };
//! assert_eq!(connect.context.user_id(), Some("alice"));
//! assert_eq!(connect.body.query_value("room"), Some("lobby"));
//!
//! let reply = ConnectResponse::new().groups([connect.body.query_value("room").unwrap()]).to_reply();
//! assert_eq!(&reply.body()[..], br#"{"groups":["lobby"]}"#);
//! # Ok::<(), hookgate_core::Error>(())
//! ```
//!
//! # What was decided where the protocol's documents leave room
//!
//! - **Binary mode only.** The service sends every event in binary mode, and the
//!   `Content-Type` of a user event is the client's (a WebSocket client's data
//!   type, an MQTT 5 client's content-type property). So Web PubSub requests are
//!   parsed in binary mode whatever their `Content-Type` says ([`parse_config`]:
//!   [`WebPubSubPolicy`] parses so, also with a `ParseConfig` given to
//!   [`parse`](WebPubSubPolicyBuilder::parse), and so do the extractors when no
//!   layer parsed): a client whose message is typed
//!   `application/cloudevents+json` or `application/cloudevents-batch+json`
//!   sends data, never the event, and cannot replace the service's `ce-userId`,
//!   `ce-connectionId`, `ce-hub` or `ce-connectionState` with its own. A request
//!   without `ce-specversion` is 415 saying that binary-mode headers were
//!   expected; a delivery another parser read in structured or batch mode is 415
//!   too ([`WebPubSubEvent::from_delivery`]).
//! - **Headers verbatim.** The `ce-*` headers (`ce-userId`, `ce-connectionId`,
//!   `ce-hub`, `ce-eventName`, `ce-subprotocol`, `ce-connectionState`, …, and
//!   `ce-id`, `ce-source`, `ce-type`) are read as they arrive, as Microsoft's
//!   handlers (JavaScript, .NET) read them: no percent-decoding and no
//!   quoted-string unquoting, only the surrounding white space trimmed, so a
//!   client-chosen user id `%61dmin` stays `%61dmin`. Raw bytes that are not
//!   UTF-8 are read as ISO-8859-1, as the binding reads raw header bytes. The
//!   signature is checked over the raw `ce-connectionId` bytes, the same value.
//!   (A delivery that a parse layer of its own put on the request, such as
//!   `ParseCloudEventsLayer` with a default `ParseConfig`, was read with that
//!   layer's configuration: give it [`parse_config`], or mount the Web PubSub
//!   routes behind the policy's stack only.)
//! - **Header names** are matched case-insensitively (`ce-userId` and `ce-userid`
//!   are one header), as for every CloudEvents header. A missing `ce-hub` or
//!   `ce-connectionId` is 400; `ce-eventName` defaults to the end of `ce-type`.
//! - **Answers.** `connect`: 200 `application/json` with the members set (never a
//!   blank `subprotocol`), or 204. A user event: 204, or 200 with
//!   `text/plain; charset=utf-8`, `application/json` or `application/octet-stream`
//!   (the three types the service maps to text, JSON and binary frames).
//!   `connected` and `disconnected` (which the service does not wait for, and whose
//!   answer it only logs) are answered 204 by [`WebPubSubResponse::Ack`].
//! - **Errors** on these routes are never problem+json: the service passes the
//!   answer of a `connect` on to the client. A refusal is the status and a plain
//!   `text/plain; charset=utf-8` message ([`WebPubSubError`]: 400, 401 or 500, as
//!   the JavaScript and .NET server SDKs do), and the stack's own rejections (a bad
//!   signature: 401; a body over the limit: 413; a malformed event: 400) are
//!   rendered the same way ([`plain_reply`]), keeping their status and headers.
//! - **Connection state** travels in `ce-connectionState` as base64 of a JSON
//!   object, as both SDKs write it. An answer without the header leaves the state
//!   as it is; [`ConnectResponse::state`] / [`UserEventResponse::state`] replace it
//!   whole (start from [`ConnectionContext::into_state`] to keep the other values);
//!   `clear_state` sends `e30=`, the base64 of `{}` (an empty header would be
//!   ambiguous, and an empty object is what the SDKs' "clear" leaves). A value
//!   that is not base64 of a JSON object (the protocol allows any string, which
//!   another upstream may have set) is read as an empty state, as the SDKs do, and
//!   kept raw in [`ConnectionContext::raw_state`]. Both ways the value is at most
//!   [`max_state_len`](WebPubSubPolicyBuilder::max_state_len) bytes
//!   ([`DEFAULT_MAX_STATE_LEN`]); a longer one sent is 400 naming the limit, a
//!   longer one to set is a 500 refusal naming it.
//! - **`connect` bodies are bounded.** The `claims`, `query` and `headers` maps
//!   and the lists (a map entry's values, `subprotocols`, `clientCertificates`)
//!   are counted while they are read ([`WebPubSubLimits`]: at most
//!   [`max_connect_entries`](WebPubSubPolicyBuilder::max_connect_entries) entries
//!   a map, [`max_connect_values`](WebPubSubPolicyBuilder::max_connect_values)
//!   values a list, [`max_connect_items`](WebPubSubPolicyBuilder::max_connect_items)
//!   in all); past one the body is refused 400 naming the limit before more of it
//!   is built, so that a megabyte of tiny entries (which took 10 to 25 times the
//!   body in heap) costs about its body. Every Web PubSub request stays within
//!   about 3 times the body limit (`tests/webpubsub_memory.rs`).
//! - **User data** by `Content-Type`: `text/plain` is [`UserData::Text`] (UTF-8, or
//!   400), any JSON type [`UserData::Json`] (valid JSON, or 400), anything else
//!   [`UserData::Binary`].
//! - **Deduplication is off** by default: the service does not redeliver an event,
//!   so there is nothing to deduplicate, and a `connect` taken for a duplicate
//!   would be answered with an empty 200, which drops the connecting client.
//!   [`dedup`](WebPubSubPolicyBuilder::dedup) turns it on for those who want it.
//! - **Signatures**: with [`keys`](WebPubSubPolicyBuilder::keys) every event must
//!   carry a valid `ce-signature` (HMAC-SHA256 of `ce-connectionId`, see
//!   [`WebPubSubKeys`](crate::auth::WebPubSubKeys)); without keys nothing is
//!   checked. The abuse-protection `OPTIONS` carries no signature and is answered
//!   before authentication.
//!
//! # URL templates
//!
//! The service's event handler URL may hold `{event}`, which it replaces with the
//! event's name: mounted at `/api/{event}`, a receiver gets the abuse-protection
//! `OPTIONS` at `/api/validate`, and events at `/api/connect`, `/api/connected`,
//! `/api/disconnected` and `/api/<user event name>` (`/api/message` for plain
//! WebSocket clients). Route `/api/{event}` to one handler (the stack answers the
//! `OPTIONS` of any path it wraps) and, to refuse an event sent to the wrong URL,
//! check the segment with [`WebPubSubEvent::check_path_event`]:
//!
//! ```text
//! axum:      Router::new().route("/api/{event}", post(handler))
//!                .layer(WebhookLayer::new(policy.webhook().clone()))
//! actix-web: App::new().wrap(Webhook::new(policy.webhook().clone()))
//!                .route("/api/{event}", web::post().to(handler))
//! ```

mod connect;
mod context;
mod event;
mod policy;
mod response;
mod state;

pub use context::ConnectionContext;
pub use event::{
    CONNECT, CONNECTED, ClientCertificate, ConnectBody, ConnectRequest, ConnectedRequest,
    DISCONNECTED, DisconnectedBody, DisconnectedRequest, StringLists, USER_PREFIX, UserData,
    UserEventRequest, WebPubSubEvent, WebPubSubLimits,
};
pub use policy::{WebPubSubPolicy, WebPubSubPolicyBuilder};
pub use response::{
    BINARY, ConnectResponse, JSON, STATE_HEADER, TEXT, UserEventResponse, WebPubSubError,
    WebPubSubResponse, plain_reply,
};
pub use state::{CLEARED_STATE, ConnectionState, DEFAULT_MAX_STATE_LEN, StateChange};

/// `config` as Web PubSub deliveries are parsed: binary mode only
/// ([`ParseConfigBuilder::binary_only`](crate::ParseConfigBuilder::binary_only)),
/// the `ce-*` headers verbatim
/// ([`ParseConfigBuilder::verbatim_headers`](crate::ParseConfigBuilder::verbatim_headers)),
/// the limits of `config` kept. [`WebPubSubPolicy`] parses so, and so do the
/// adapters' extractors when no layer parsed the request.
#[must_use]
pub fn parse_config(config: crate::ParseConfig) -> crate::ParseConfig {
    config.with_binary_only(true).with_verbatim_headers(true)
}

/// The error of a per-event extractor that got another event (400), the same on
/// every adapter.
#[must_use]
pub fn wrong_event(expected: &str, got: &WebPubSubEvent) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::InvalidAttribute,
        format!(
            "this route takes `{expected}` events, the request is a `{}` event",
            crate::error::excerpt(got.path_event())
        ),
    )
}
