//! Azure Event Grid's own subscription validation (Event Grid schema).
//!
//! A subscription created with the Event Grid schema is validated with a POST that
//! carries `aeg-event-type: SubscriptionValidation` and a JSON array holding one
//! `Microsoft.EventGrid.SubscriptionValidationEvent`; the receiver proves itself by
//! answering `200 {"validationResponse": "<data.validationCode>"}`.

use std::fmt;

use serde::{Deserialize, de};

use super::policy::HandshakePolicy;
use crate::error::{Error, ErrorKind, excerpt};
use crate::reply::Reply;
use crate::shape;

/// The `aeg-event-type` value of a validation request.
pub const SUBSCRIPTION_VALIDATION: &str = "SubscriptionValidation";

/// The event type of the validation event.
pub const VALIDATION_EVENT_TYPE: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";

/// The most body bytes read for a validation request (the event is about 1 KiB).
pub const VALIDATION_BODY_LIMIT: usize = 64 * 1024;

/// The longest a validation request's body may take to arrive (10 s).
pub const VALIDATION_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "eventType", borrow)]
    event_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    data: Data<'a>,
}

/// The validation request's array: its first event, and how many members it has (the
/// others are skipped, not kept: a 64 KiB array of small events costs no more than one).
struct One<'a> {
    first: Option<Event<'a>>,
    count: usize,
}

impl<'de> Deserialize<'de> for One<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> de::Visitor<'de> for Visit {
            type Value = One<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<One<'de>, A::Error> {
                let first: Option<Event<'de>> = seq.next_element()?;
                let mut count = usize::from(first.is_some());
                while seq.next_element::<de::IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(One { first, count })
            }
        }
        deserializer.deserialize_seq(Visit)
    }
}

#[derive(Deserialize)]
struct Data<'a> {
    /// Borrowed from the body unless it has escapes: a long code is not copied.
    #[serde(rename = "validationCode", borrow)]
    validation_code: std::borrow::Cow<'a, str>,
}

#[derive(serde::Serialize)]
struct Answer<'a> {
    #[serde(rename = "validationResponse")]
    validation_response: &'a str,
}

/// The error for a validation request body that is over [`VALIDATION_BODY_LIMIT`],
/// did not arrive within [`VALIDATION_BODY_TIMEOUT`], or cannot be read.
pub(super) fn unreadable_validation_body() -> Error {
    invalid(format!(
        "the validation request body is over {VALIDATION_BODY_LIMIT} bytes, did not arrive \
         within {} s, or could not be read",
        VALIDATION_BODY_TIMEOUT.as_secs()
    ))
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidValidationEvent, detail)
}

impl HandshakePolicy {
    /// Answers an Event Grid `SubscriptionValidation` request whose body is `body`
    /// (read within [`VALIDATION_BODY_LIMIT`]).
    ///
    /// ```
    /// use hookgate_core::handshake::HandshakePolicy;
    ///
    /// let policy = HandshakePolicy::builder().event_grid_schema(true).build().unwrap();
    /// let body = br#"[{"id":"1","topic":"t","subject":"","eventType":
    ///     "Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-01T00:00:00Z",
    ///     "data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},
    ///     "dataVersion":"1","metadataVersion":"1"}]"#;
    /// let reply = policy.event_grid_validation(body).unwrap();
    /// assert_eq!(reply.status(), 200);
    /// assert_eq!(&reply.body()[..], br#"{"validationResponse":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"}"#);
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidValidationEvent`] when the body is not an array of one
    /// validation event with a string `data.validationCode`.
    pub fn event_grid_validation(&self, body: &[u8]) -> Result<Reply, Error> {
        let One { first, count } = serde_json::from_slice(body).map_err(|e| {
            invalid(format!(
                "expected a JSON array with one {VALIDATION_EVENT_TYPE} whose data has a string \
                 `validationCode`: {}",
                shape::explain::<One<'_>>(body, &e)
            ))
        })?;
        let (Some(event), 1) = (first, count) else {
            return Err(invalid(format!(
                "expected exactly one validation event, got {count}"
            )));
        };
        if event.event_type != VALIDATION_EVENT_TYPE {
            return Err(invalid(format!(
                "expected eventType `{VALIDATION_EVENT_TYPE}`, got `{}`",
                excerpt(&event.event_type)
            )));
        }
        // Sized once: the code, its quotes and escapes of a few characters.
        let code = &event.data.validation_code;
        let mut body = Vec::with_capacity(code.len() + code.len() / 8 + 32);
        serde_json::to_writer(
            &mut body,
            &Answer {
                validation_response: code,
            },
        )
        .unwrap_or_default();
        Ok(Reply::new(200).with_body("application/json", body))
    }
}
