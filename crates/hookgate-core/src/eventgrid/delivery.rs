//! The `aeg-*` delivery headers of Azure Event Grid.

use crate::error::{Error, ErrorKind, excerpt};
use crate::headers::HeaderSource;

/// The kind of an Event Grid delivery, from `aeg-event-type`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventGridEventType {
    /// `Notification`: events.
    Notification,
    /// `SubscriptionValidation`: the validation handshake of an Event Grid schema
    /// subscription.
    SubscriptionValidation,
    /// `SubscriptionDeletion`: the subscription was deleted.
    SubscriptionDeletion,
    /// Another value, as sent.
    Other(String),
}

impl EventGridEventType {
    fn parse(value: &str) -> Self {
        match value {
            "Notification" => Self::Notification,
            "SubscriptionValidation" => Self::SubscriptionValidation,
            "SubscriptionDeletion" => Self::SubscriptionDeletion,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The value as Event Grid sends it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionValidation => "SubscriptionValidation",
            Self::SubscriptionDeletion => "SubscriptionDeletion",
            Self::Other(other) => other,
        }
    }
}

/// The delivery metadata Azure Event Grid sends with each push delivery to a
/// webhook, from its `aeg-*` headers (names matched case-insensitively). Each field
/// is `None` when its header is absent; a header that is present but malformed is a
/// 400 [`ErrorKind::InvalidDeliveryHeader`].
///
/// | header | field | form |
/// |---|---|---|
/// | `aeg-delivery-count` | [`delivery_count`](Self::delivery_count) | the attempts made before this one (`0` on the first delivery): a decimal `u32` |
/// | `aeg-subscription-name` | [`subscription_name`](Self::subscription_name) | the event subscription (Event Grid upper-cases it) |
/// | `aeg-event-type` | [`event_type`](Self::event_type) | `Notification`, `SubscriptionValidation`, `SubscriptionDeletion`, or another value kept as is |
/// | `aeg-data-version` | [`data_version`](Self::data_version) | the Event Grid schema's `dataVersion`; empty (as sent for CloudEvents) is `None` |
/// | `aeg-metadata-version` | [`metadata_version`](Self::metadata_version) | the schema's metadata version (`1`), or the CloudEvents `specversion` |
/// | `aeg-output-event-id` | [`output_event_id`](Self::output_event_id) | the id of the event delivered |
/// | `aeg-compatibility-mode-enabled` | [`compatibility_mode_enabled`](Self::compatibility_mode_enabled) | Event Grid namespaces: `true` or `false` (any case) |
///
/// Values must be visible ASCII and spaces (RFC 9110 field values without
/// obs-text), at most 1024 bytes.
///
/// ```
/// use hookgate_core::eventgrid::{EventGridDelivery, EventGridEventType};
/// use hookgate_core::{ErrorKind, HeaderList};
///
/// let headers = HeaderList::new([
///     ("aeg-subscription-name", "ORDERS"),
///     ("aeg-delivery-count", "2"),
///     ("aeg-data-version", ""),
///     ("aeg-metadata-version", "1"),
///     ("aeg-event-type", "Notification"),
/// ]);
/// let delivery = EventGridDelivery::from_headers(&headers).unwrap();
/// assert_eq!(delivery.delivery_count(), Some(2));
/// assert_eq!(delivery.subscription_name(), Some("ORDERS"));
/// assert_eq!(delivery.event_type(), Some(&EventGridEventType::Notification));
/// assert_eq!(delivery.data_version(), None);
/// assert!(delivery.is_present());
///
/// let bad = HeaderList::new([("aeg-delivery-count", "two")]);
/// let error = EventGridDelivery::from_headers(&bad).unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::InvalidDeliveryHeader);
/// assert_eq!(error.status(), 400);
///
/// let none = EventGridDelivery::from_headers(&HeaderList::default()).unwrap();
/// assert!(!none.is_present());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventGridDelivery {
    delivery_count: Option<u32>,
    subscription_name: Option<String>,
    event_type: Option<EventGridEventType>,
    data_version: Option<String>,
    metadata_version: Option<String>,
    output_event_id: Option<String>,
    compatibility_mode_enabled: Option<bool>,
}

/// The longest value accepted in an `aeg-*` header.
const MAX_VALUE: usize = 1024;

fn text<'a>(headers: &'a impl HeaderSource, name: &str) -> Result<Option<&'a str>, Error> {
    let Some(value) = headers.get(name) else {
        return Ok(None);
    };
    let invalid = |what: &str| {
        Error::new(
            ErrorKind::InvalidDeliveryHeader,
            format!("the `{name}` header {what}"),
        )
    };
    if value.len() > MAX_VALUE {
        return Err(invalid(&format!("is longer than {MAX_VALUE} bytes")));
    }
    if !value
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | 0x21..=0x7e))
    {
        return Err(invalid("holds bytes other than visible ASCII and spaces"));
    }
    // Checked as ASCII above.
    let value = std::str::from_utf8(value).map_err(|_| invalid("is not text"))?;
    Ok(Some(value.trim_matches([' ', '\t'])))
}

impl EventGridDelivery {
    /// Reads the `aeg-*` headers; see the [type docs](Self).
    ///
    /// # Errors
    /// 400 [`ErrorKind::InvalidDeliveryHeader`] for a malformed header, saying which.
    pub fn from_headers(headers: &impl HeaderSource) -> Result<Self, Error> {
        let delivery_count = match text(headers, "aeg-delivery-count")? {
            None => None,
            Some(value) => Some(
                value
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| value.parse::<u32>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidDeliveryHeader,
                            format!(
                                "the `aeg-delivery-count` header must be a count of attempts \
                                 (a decimal number), not `{}`",
                                excerpt(value)
                            ),
                        )
                    })?,
            ),
        };
        let compatibility_mode_enabled = match text(headers, "aeg-compatibility-mode-enabled")? {
            None => None,
            Some(v) if v.eq_ignore_ascii_case("true") => Some(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Some(false),
            Some(v) => {
                return Err(Error::new(
                    ErrorKind::InvalidDeliveryHeader,
                    format!(
                        "the `aeg-compatibility-mode-enabled` header must be `true` or `false`, not `{}`",
                        excerpt(v)
                    ),
                ));
            }
        };
        let owned = |name| -> Result<Option<String>, Error> {
            Ok(text(headers, name)?
                .filter(|v| !v.is_empty())
                .map(str::to_owned))
        };
        Ok(Self {
            delivery_count,
            subscription_name: owned("aeg-subscription-name")?,
            event_type: text(headers, "aeg-event-type")?
                .filter(|v| !v.is_empty())
                .map(EventGridEventType::parse),
            data_version: owned("aeg-data-version")?,
            metadata_version: owned("aeg-metadata-version")?,
            output_event_id: owned("aeg-output-event-id")?,
            compatibility_mode_enabled,
        })
    }

    /// Whether any `aeg-*` header was there: `false` for a request that did not
    /// come from Event Grid (or came through something that dropped them).
    #[must_use]
    pub fn is_present(&self) -> bool {
        *self != Self::default()
    }

    /// `aeg-delivery-count`: the attempts Event Grid made before this one.
    #[must_use]
    pub fn delivery_count(&self) -> Option<u32> {
        self.delivery_count
    }

    /// `aeg-subscription-name`.
    #[must_use]
    pub fn subscription_name(&self) -> Option<&str> {
        self.subscription_name.as_deref()
    }

    /// `aeg-event-type`.
    #[must_use]
    pub fn event_type(&self) -> Option<&EventGridEventType> {
        self.event_type.as_ref()
    }

    /// `aeg-data-version` (`None` when empty).
    #[must_use]
    pub fn data_version(&self) -> Option<&str> {
        self.data_version.as_deref()
    }

    /// `aeg-metadata-version`.
    #[must_use]
    pub fn metadata_version(&self) -> Option<&str> {
        self.metadata_version.as_deref()
    }

    /// `aeg-output-event-id`.
    #[must_use]
    pub fn output_event_id(&self) -> Option<&str> {
        self.output_event_id.as_deref()
    }

    /// `aeg-compatibility-mode-enabled` (Event Grid namespaces).
    #[must_use]
    pub fn compatibility_mode_enabled(&self) -> Option<bool> {
        self.compatibility_mode_enabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HeaderList;

    #[test]
    fn every_header() {
        let headers = HeaderList::new([
            ("AEG-Subscription-Name", "SUB"),
            ("aeg-delivery-count", " 0 "),
            ("aeg-data-version", "2"),
            ("aeg-metadata-version", "1"),
            ("aeg-event-type", "SubscriptionDeletion"),
            ("aeg-output-event-id", "e-1"),
            ("aeg-compatibility-mode-enabled", "False"),
        ]);
        let d = EventGridDelivery::from_headers(&headers).unwrap();
        assert_eq!(d.delivery_count(), Some(0));
        assert_eq!(d.subscription_name(), Some("SUB"));
        assert_eq!(d.data_version(), Some("2"));
        assert_eq!(d.metadata_version(), Some("1"));
        assert_eq!(
            d.event_type(),
            Some(&EventGridEventType::SubscriptionDeletion)
        );
        assert_eq!(d.output_event_id(), Some("e-1"));
        assert_eq!(d.compatibility_mode_enabled(), Some(false));
        let other = HeaderList::new([("aeg-event-type", "Custom")]);
        let d = EventGridDelivery::from_headers(&other).unwrap();
        assert_eq!(
            d.event_type().map(EventGridEventType::as_str),
            Some("Custom")
        );
    }

    #[test]
    fn malformed_headers() {
        for (name, value) in [
            ("aeg-delivery-count", "-1"),
            ("aeg-delivery-count", "+1"),
            ("aeg-delivery-count", "99999999999"),
            ("aeg-delivery-count", ""),
            ("aeg-compatibility-mode-enabled", "yes"),
            ("aeg-subscription-name", "caf\u{e9}"),
        ] {
            let error =
                EventGridDelivery::from_headers(&HeaderList::new([(name, value)])).unwrap_err();
            assert_eq!(error.status(), 400, "{name}: {value}");
            assert!(error.detail().contains(name), "{}", error.detail());
        }
        let long = "a".repeat(MAX_VALUE + 1);
        assert!(
            EventGridDelivery::from_headers(&HeaderList::new([("aeg-output-event-id", long)]))
                .is_err()
        );
    }
}
