//! The Skype for Business Trusted Application API's callbacks ("webhooks"): plain
//! JSON, not CloudEvents.
//!
//! The service posts each event to the application's callback URL as a UCWA event
//! envelope ([`UcwaEnvelope`]), with
//! `Content-Type: application/json; type="application/vnd.microsoft.com.ucwa+json"`
//! and an Azure AD bearer token whose audience is the application's App ID URI
//! (a v1 token: `iss` `https://sts.windows.net/{tid}/`). The application may answer
//! `200` with `{"CallbackContext": "<value>"}`; later callbacks of the same
//! conversation then come with `?callbackContext=<value>` on the URL.
//!
//! This module decides, once, for every adapter:
//!
//! - [`read_callback`]: the `Content-Type` (`application/json` or
//!   `application/vnd.microsoft.com.ucwa+json`, parameters ignored; anything else
//!   is 415 `unexpected-content-type` before the body is read), the body read
//!   within [`ParseConfig::body_limit`] (413) and
//!   [`ParseConfig::body_timeout`] (408), then the JSON into any `T`: invalid JSON
//!   is 400 `malformed-json`, JSON of another shape 400 `data-mismatch`, both with
//!   the line and column. Into the [`UcwaEnvelope`], the senders, events, links and
//!   members kept as raw JSON together are at most [`ParseConfig::max_events`]
//!   (5,000; more is 400 `too-many-events`), members not named and embedded
//!   resources are kept as their JSON text, and serde_json's nesting limit (128)
//!   bounds the depth: a 1 MiB body costs at most a few MiB (measured by
//!   `tests/trusted_app_memory.rs`). Another `T` costs what its `Deserialize` makes
//!   (a `serde_json::Value` of many small values: up to about 30 times the body).
//! - [`callback_context`]: the `callbackContext` query parameter (percent-decoded;
//!   given twice or longer than [`MAX_CALLBACK_CONTEXT`] is 400 `invalid-query`).
//! - [`callback_context_reply`]: the `200` answer that sets the context.
//!
//! The adapters offer these as extractors and responses (`Ucwa<T>` and
//! `CallbackContext` in `hookgate-tower` and `hookgate-actix`).
//!
//! **Authentication.** Put the authentication layer in front of the route with an
//! Azure AD policy whose audience is the App ID URI; it does not need
//! CloudEvents. With the one webhook layer, build the policy with
//! [`without_parsing`](crate::webhook::WebhookPolicyBuilder::without_parsing): the
//! CloudEvents parser would refuse the UCWA body (415), and there is nothing to
//! deduplicate by.
//!
//! ```
//! use hookgate_core::trusted_app::{self, EventType, UcwaEnvelope};
//! use hookgate_core::{HeaderList, ParseConfig};
//!
//! let headers = HeaderList::new([(
//!     "content-type",
//!     r#"application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8"#,
//! )]);
//! let body = r#"{
//!   "_links": {"self": {"href": "/platformservice/v1/applications/1393347000/events?ack=1"}},
//!   "sender": [{
//!     "rel": "ms:rtc:saas:conversation",
//!     "href": "/platformservice/v1/applications/1393347000/communication/conversations/869c",
//!     "events": [{
//!       "link": {"rel": "ms:rtc:saas:message", "href": "/platformservice/v1/applications/1393347000/communication/conversations/869c/messaging/messages/3"},
//!       "status": "Success",
//!       "_embedded": {"ms:rtc:saas:message": {"direction": "Incoming"}},
//!       "type": "completed"
//!     }]
//!   }],
//!   "baseuri": "https://webpoolbl20r04.infra.lync.com"
//! }"#;
//! let envelope: UcwaEnvelope =
//!     trusted_app::parse_callback(&headers, body.as_bytes(), &ParseConfig::default())?;
//! let (sender, event) = envelope.events().next().unwrap();
//! assert_eq!(sender.rel, "ms:rtc:saas:conversation");
//! assert_eq!(event.event_type, EventType::Completed);
//! let message: serde_json::Value = event.resource_as().unwrap().unwrap();
//! assert_eq!(message["direction"], "Incoming");
//!
//! let context = trusted_app::callback_context(Some("callbackContext=0"))?;
//! assert_eq!(context.as_deref(), Some("0"));
//! let reply = trusted_app::callback_context_reply("1");
//! assert_eq!(&reply.body()[..], br#"{"CallbackContext":"1"}"#);
//!
//! let plain = HeaderList::new([("content-type", "text/plain")]);
//! let err = trusted_app::parse_callback::<UcwaEnvelope>(&plain, b"{}", &ParseConfig::default())
//!     .unwrap_err();
//! assert_eq!(err.status(), 415);
//! # Ok::<(), hookgate_core::Error>(())
//! ```

mod envelope;

use serde::de::DeserializeOwned;

use crate::ParseConfig;
use crate::error::{Error, ErrorKind, excerpt};
use crate::headers::HeaderSource;
use crate::reply::Reply;
use crate::request::{Incoming, ReadError, read_body};

pub use envelope::{EventStatus, EventType, Link, Members, UcwaEnvelope, UcwaEvent, UcwaSender};

/// The UCWA media type, as the `type` parameter of the callbacks' `Content-Type`
/// (and accepted as a media type of its own).
pub const UCWA_MEDIA_TYPE: &str = "application/vnd.microsoft.com.ucwa+json";

/// The query parameter that carries the callback context.
pub const CALLBACK_CONTEXT_PARAM: &str = "callbackContext";

/// The longest `callbackContext` accepted, in bytes after percent-decoding (the
/// context is the application's own value, set by its answers).
pub const MAX_CALLBACK_CONTEXT: usize = 2048;

/// Checks the `Content-Type` of a callback: `application/json` or
/// [`UCWA_MEDIA_TYPE`], case-insensitive, parameters ignored.
///
/// # Errors
/// 415 `unexpected-content-type`, naming what was expected.
pub fn check_content_type(headers: &impl HeaderSource) -> Result<(), Error> {
    let value = headers.get("content-type");
    if let Some(value) = value {
        let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
        let essence = value[..end].trim_ascii();
        if essence.eq_ignore_ascii_case(b"application/json")
            || essence.eq_ignore_ascii_case(UCWA_MEDIA_TYPE.as_bytes())
        {
            return Ok(());
        }
    }
    let got = match value {
        Some(v) => format!("`{}`", excerpt(&String::from_utf8_lossy(v))),
        None => "none".to_owned(),
    };
    Err(Error::new(
        ErrorKind::UnexpectedContentType,
        format!(
            "expected Content-Type `application/json; type=\"{UCWA_MEDIA_TYPE}\"` (or \
             `application/json`); got {got}"
        ),
    ))
}

/// Parses a callback body already read (within [`ParseConfig::body_limit`]) into
/// `T`: the [`UcwaEnvelope`], or any type of the caller's (`serde_json::Value`, a
/// `Box<RawValue>` to keep the bytes, …).
///
/// # Errors
/// 415 for another `Content-Type`, 413 for a body over the limit, 400
/// `malformed-json` or `data-mismatch`.
pub fn parse_callback<T: DeserializeOwned>(
    headers: &impl HeaderSource,
    body: &[u8],
    config: &ParseConfig,
) -> Result<T, Error> {
    check_content_type(headers)?;
    if body.len() > config.body_limit() {
        return Err(config.too_large(Some(body.len() as u64)));
    }
    from_json(body, config)
}

fn from_json<T: DeserializeOwned>(body: &[u8], config: &ParseConfig) -> Result<T, Error> {
    if body.trim_ascii().is_empty() {
        return Err(Error::new(
            ErrorKind::MalformedJson,
            "the body is empty; expected a UCWA event envelope (a JSON object)",
        ));
    }
    let max = config.max_events();
    let (parsed, exhausted) = envelope::with_budget(max, || serde_json::from_slice(body));
    if exhausted {
        return Err(Error::new(
            ErrorKind::TooManyEvents,
            format!(
                "the UCWA event envelope has more than {max} senders, events, links and \
                 other members together (the receiver's max_events)"
            ),
        ));
    }
    parsed.map_err(|e: serde_json::Error| {
        let kind = match e.classify() {
            serde_json::error::Category::Data => ErrorKind::DataMismatch,
            _ => ErrorKind::MalformedJson,
        };
        let what = match kind {
            ErrorKind::DataMismatch => "the body is not a UCWA event envelope",
            _ => "the body is not valid JSON",
        };
        // The path of the value at fault: a second parse, within a budget of its own.
        let (detail, _) = envelope::with_budget(max, || crate::shape::explain::<T>(body, &e));
        Error::new(kind, format!("{what}: {detail}"))
    })
}

/// Reads and parses a callback: the `Content-Type` and `Content-Length` (415 and
/// 413 before the body is read), the body within the limit and the deadline of
/// `config`, then [`parse_callback`]. The one sequence every adapter runs.
///
/// # Errors
/// The [`Error`] to answer with.
pub async fn read_callback<T: DeserializeOwned, R: Incoming>(
    request: &mut R,
    config: &ParseConfig,
) -> Result<T, Error> {
    {
        let headers = request.headers();
        check_content_type(&headers)?;
        config.check_content_length(&headers)?;
    }
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
        Err(()) => {
            return Err(Error::new(
                ErrorKind::BodyTimeout,
                format!(
                    "the request body did not arrive within {} ms, the receiver's limit",
                    config.body_timeout().as_millis()
                ),
            ));
        }
    };
    from_json(&body, config)
}

/// The `callbackContext` query parameter of `query` (the query string without
/// `?`), percent-decoded; `None` when absent. The name is matched exactly.
///
/// # Errors
/// 400 `invalid-query` when it is given twice or is longer than
/// [`MAX_CALLBACK_CONTEXT`] bytes.
pub fn callback_context(query: Option<&str>) -> Result<Option<String>, Error> {
    let Some(query) = query else {
        return Ok(None);
    };
    let mut found: Option<String> = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != CALLBACK_CONTEXT_PARAM {
            continue;
        }
        if found.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidQuery,
                format!("`{CALLBACK_CONTEXT_PARAM}` is given more than once"),
            ));
        }
        if value.len() > MAX_CALLBACK_CONTEXT {
            return Err(Error::new(
                ErrorKind::InvalidQuery,
                format!(
                    "`{CALLBACK_CONTEXT_PARAM}` is {} bytes long; at most \
                     {MAX_CALLBACK_CONTEXT} are accepted",
                    value.len()
                ),
            ));
        }
        found = Some(value.into_owned());
    }
    Ok(found)
}

/// The error of the required form of the `CallbackContext` extractors when the
/// parameter is absent (400 `invalid-query`).
#[must_use]
pub fn missing_callback_context() -> Error {
    Error::new(
        ErrorKind::InvalidQuery,
        format!(
            "the callback has no `{CALLBACK_CONTEXT_PARAM}` query parameter (take the \
             optional form for callbacks that may come without one)"
        ),
    )
}

/// The answer that sets the callback context of later callbacks: `200`,
/// `Content-Type: application/json`, `{"CallbackContext": "<context>"}`.
#[must_use]
pub fn callback_context_reply(context: &str) -> Reply {
    let body =
        serde_json::to_vec(&serde_json::json!({ "CallbackContext": context })).unwrap_or_default();
    Reply::new(200).with_body("application/json", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderList;

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "Application/JSON; charset=utf-8",
            r#"application/json; type="application/vnd.microsoft.com.ucwa+json"; charset=utf-8"#,
            "application/vnd.microsoft.com.ucwa+json",
        ] {
            assert!(
                check_content_type(&HeaderList::new([("content-type", ok)])).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "text/plain",
            "application/cloudevents+json",
            "application/jsonx",
        ] {
            let err = check_content_type(&HeaderList::new([("content-type", bad)])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedContentType);
            assert!(err.detail().contains(bad), "{}", err.detail());
        }
        let err = check_content_type(&HeaderList::default()).unwrap_err();
        assert!(err.detail().ends_with("got none"), "{}", err.detail());
    }

    #[test]
    fn bodies() {
        let json = HeaderList::new([("content-type", "application/json")]);
        let config = ParseConfig::default();
        let parse = |body: &str| parse_callback::<UcwaEnvelope>(&json, body.as_bytes(), &config);
        let err = parse(r#"{"sender": [}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedJson);
        assert!(err.detail().contains("line 1"), "{}", err.detail());
        let err = parse(r#"{"sender": "x"}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataMismatch);
        let err = parse("[]").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataMismatch);
        assert_eq!(parse(" ").unwrap_err().kind(), ErrorKind::MalformedJson);
        let small = ParseConfig::builder().body_limit(4).build().unwrap();
        let err = parse_callback::<UcwaEnvelope>(&json, b"{    }", &small).unwrap_err();
        assert_eq!(err.status(), 413);

        // Unknown members are kept and written back.
        let body = r#"{"_links":{"next":{"href":"/n","extra":1}},"sender":[{"rel":"r","href":"/h",
            "events":[{"link":{"rel":"x","href":"/x"},"in":{"rel":"c","href":"/c"},
            "type":"deleted","status":"Failure","reason":{"code":"Gone"},"x":[1]}],"y":true}],
            "baseuri":"https://b","z":null}"#;
        let envelope = parse(body).unwrap();
        assert_eq!(envelope.link("next"), Some("/n"));
        assert_eq!(envelope.event_count(), 1);
        let (_, event) = envelope.events().next().unwrap();
        assert_eq!(event.event_type, EventType::Deleted);
        assert_eq!(event.status, Some(EventStatus::Failure));
        let reason: serde_json::Value = event.other["reason"].deserialize().unwrap();
        assert_eq!(reason["code"], "Gone");
        assert!(event.resource().is_none());
        let again = serde_json::to_value(&envelope).unwrap();
        let original: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(again, original);

        let odd = parse(r#"{"sender":[{"rel":"r","href":"/h","events":[{"link":{"href":"/x"},"type":"moved","status":"Partial"}]}]}"#).unwrap();
        let (_, event) = odd.events().next().unwrap();
        assert_eq!(event.event_type, EventType::Other("moved".into()));
        assert_eq!(event.status.as_ref().unwrap().as_str(), "Partial");
    }

    #[test]
    fn the_item_budget() {
        let json = HeaderList::new([("content-type", "application/json")]);
        let body = br#"{"_links":{"a":{"href":"/a"}},"sender":[{"rel":"r","href":"/h","events":[
            {"link":{"href":"/x"},"type":"added","_embedded":{"x":{"big":[1,2,3]}}}]}],"z":1}"#;
        // A link, a sender, an event, an embedded resource, a member: five items.
        let five = ParseConfig::builder().max_events(5).build().unwrap();
        let envelope: UcwaEnvelope = parse_callback(&json, body, &five).unwrap();
        assert_eq!(envelope.other["z"].get(), "1");
        let (_, event) = envelope.events().next().unwrap();
        assert_eq!(event.embedded["x"].get(), r#"{"big":[1,2,3]}"#);
        let four = ParseConfig::builder().max_events(4).build().unwrap();
        let err = parse_callback::<UcwaEnvelope>(&json, body, &four).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyEvents);
        assert!(err.detail().contains("more than 4"), "{}", err.detail());
        // The budget is for this parse only.
        let again: UcwaEnvelope = serde_json::from_slice(body).unwrap();
        assert_eq!(again, envelope);
        // Known members given twice are refused, as derived `Deserialize` does.
        let err = parse_callback::<UcwaEnvelope>(&json, br#"{"sender":[],"sender":[]}"#, &five)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataMismatch);
        assert!(err.detail().contains("duplicate field"), "{}", err.detail());
    }

    #[test]
    fn contexts() {
        assert_eq!(callback_context(None).unwrap(), None);
        assert_eq!(callback_context(Some("a=1")).unwrap(), None);
        assert_eq!(
            callback_context(Some("a=1&callbackContext=x%20y%2B1")).unwrap(),
            Some("x y+1".to_owned())
        );
        assert_eq!(
            callback_context(Some("callbackcontext=1")).unwrap(),
            None,
            "the name is matched exactly"
        );
        let err = callback_context(Some("callbackContext=1&callbackContext=2")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidQuery);
        let long = format!("callbackContext={}", "a".repeat(MAX_CALLBACK_CONTEXT + 1));
        assert_eq!(callback_context(Some(&long)).unwrap_err().status(), 400);
        let reply = callback_context_reply("say \"hi\"");
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.content_type(), Some("application/json"));
        assert_eq!(&reply.body()[..], br#"{"CallbackContext":"say \"hi\""}"#);
    }
}
