//! The `connect` body, read within [`WebPubSubLimits`]: its maps and lists are
//! counted while they are deserialized, so that a body of a megabyte of tiny
//! entries is refused before it is built (each empty string of 3 body bytes would
//! otherwise take a 24-byte `String` in a list grown by doubling: 10 times the body
//! and more).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorKind, excerpt};
use crate::event::RawJson;

use super::event::{ClientCertificate, ConnectBody, StringLists, WebPubSubLimits};

/// Reads a `connect` body within `limits`.
///
/// # Errors
/// 400 ([`ErrorKind::InvalidData`]) for a body that is not the expected JSON
/// object, or one past a limit (the detail names it).
pub(super) fn read(json: &RawJson, limits: &WebPubSubLimits) -> Result<ConnectBody, Error> {
    let budget = Budget {
        limits,
        items: Cell::new(0),
        over: Cell::new(None),
    };
    let mut de = serde_json::Deserializer::from_str(json.get());
    let read = Body(&budget)
        .deserialize(&mut de)
        .and_then(|body| de.end().map(|()| body));
    match (read, budget.over.take()) {
        (_, Some(over)) => Err(Error::new(ErrorKind::InvalidData, over)),
        (Ok(body), None) => Ok(body),
        (Err(e), None) => Err(Error::new(
            ErrorKind::InvalidData,
            format!("the `connect` body is not the expected JSON object: {e}"),
        )),
    }
}

/// What one body may still hold, and the refusal once it held too much.
struct Budget<'a> {
    limits: &'a WebPubSubLimits,
    items: Cell<usize>,
    over: Cell<Option<String>>,
}

impl Budget<'_> {
    /// Refuses with `detail` (kept for the answer; serde's error only stops the
    /// read).
    fn refuse<E: de::Error>(&self, detail: String) -> E {
        self.over.set(Some(detail));
        E::custom("over a Web PubSub limit")
    }

    /// Counts one item (a map entry, a value, a subprotocol, a certificate).
    fn item<E: de::Error>(&self) -> Result<(), E> {
        let items = self.items.get() + 1;
        self.items.set(items);
        let max = self.limits.max_connect_items();
        if items > max {
            return Err(self.refuse(format!(
                "the `connect` body holds more than {max} entries and values (`claims`, \
                 `query`, `headers`, `subprotocols` and `clientCertificates` together), \
                 the receiver's limit (max_connect_items)"
            )));
        }
        Ok(())
    }

    /// Counts the `count`th value of the list `what`.
    fn value<E: de::Error>(&self, count: usize, what: &dyn Fn() -> String) -> Result<(), E> {
        let max = self.limits.max_connect_values();
        if count > max {
            return Err(self.refuse(format!(
                "{} has more than {max} values, the receiver's limit (max_connect_values)",
                what()
            )));
        }
        self.item()
    }
}

/// The members of the body.
#[derive(Clone, Copy)]
enum Member {
    Claims,
    Query,
    Headers,
    Subprotocols,
    ClientCertificates,
    Other,
}

impl Member {
    fn name(self) -> &'static str {
        match self {
            Self::Claims => "claims",
            Self::Query => "query",
            Self::Headers => "headers",
            Self::Subprotocols => "subprotocols",
            Self::ClientCertificates => "clientCertificates",
            Self::Other => "",
        }
    }
}

impl<'de> de::Deserialize<'de> for Member {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Member, E> {
                Ok(match name {
                    "claims" => Member::Claims,
                    "query" => Member::Query,
                    "headers" => Member::Headers,
                    "subprotocols" => Member::Subprotocols,
                    "clientCertificates" => Member::ClientCertificates,
                    _ => Member::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Name)
    }
}

/// The body: an object of the members, each optional (`null` is absent).
struct Body<'b, 'a>(&'b Budget<'a>);

impl<'de> DeserializeSeed<'de> for Body<'_, '_> {
    type Value = ConnectBody;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ConnectBody, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Body<'_, '_> {
    type Value = ConnectBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ConnectBody, A::Error> {
        let budget = self.0;
        let mut body = ConnectBody::default();
        let mut seen = [false; 5];
        while let Some(member) = map.next_key::<Member>()? {
            let index = match member {
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                m => m as usize,
            };
            if std::mem::replace(&mut seen[index], true) {
                return Err(de::Error::duplicate_field(member.name()));
            }
            let lists = |map: &mut A| map.next_value_seed(Nullable(Lists { budget, member }));
            match member {
                Member::Claims => body.claims = lists(&mut map)?,
                Member::Query => body.query = lists(&mut map)?,
                Member::Headers => body.headers = lists(&mut map)?,
                Member::Subprotocols => {
                    body.subprotocols = map.next_value_seed(Nullable(Strings {
                        budget,
                        what: &|| "`subprotocols`".to_owned(),
                    }))?;
                }
                Member::ClientCertificates => {
                    body.client_certificates =
                        map.next_value_seed(Nullable(Certificates(budget)))?;
                }
                Member::Other => {}
            }
        }
        Ok(body)
    }
}

/// A seed whose value may be `null` (then `None`).
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(d).map(Some)
    }
}

/// `claims`, `query` or `headers`: an object of string lists.
struct Lists<'b, 'a> {
    budget: &'b Budget<'a>,
    member: Member,
}

impl<'de> DeserializeSeed<'de> for Lists<'_, '_> {
    type Value = StringLists;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<StringLists, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Lists<'_, '_> {
    type Value = StringLists;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of string lists")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringLists, A::Error> {
        let (budget, name) = (self.budget, self.member.name());
        let max = budget.limits.max_connect_entries();
        let mut lists = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if lists.len() >= max && !lists.contains_key(&key) {
                return Err(budget.refuse(format!(
                    "the `connect` body's `{name}` has more than {max} entries, the \
                     receiver's limit (max_connect_entries)"
                )));
            }
            budget.item()?;
            let what = || format!("`{name}.{}`", excerpt(&key));
            let values = map.next_value_seed(Strings {
                budget,
                what: &what,
            })?;
            lists.insert(key, values);
        }
        Ok(lists)
    }
}

/// A list of strings (a map entry's values, `subprotocols`).
struct Strings<'b, 'a, 'w> {
    budget: &'b Budget<'a>,
    what: &'w dyn Fn() -> String,
}

impl<'de> DeserializeSeed<'de> for Strings<'_, '_, '_> {
    type Value = Vec<String>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Strings<'_, '_, '_> {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut values = Vec::new();
        while let Some(value) = seq.next_element::<String>()? {
            self.budget.value(values.len() + 1, self.what)?;
            values.push(value);
        }
        Ok(values)
    }
}

/// `clientCertificates`: a list of certificate objects.
struct Certificates<'b, 'a>(&'b Budget<'a>);

impl<'de> DeserializeSeed<'de> for Certificates<'_, '_> {
    type Value = Vec<ClientCertificate>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Certificates<'_, '_> {
    type Value = Vec<ClientCertificate>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of client certificates")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut certificates = Vec::new();
        let what = || "`clientCertificates`".to_owned();
        while let Some(certificate) = seq.next_element_seed(Certificate)? {
            self.0.value(certificates.len() + 1, &what)?;
            certificates.push(certificate);
        }
        Ok(certificates)
    }
}

/// One certificate, as its derived `Deserialize` reads it.
struct Certificate;

impl<'de> DeserializeSeed<'de> for Certificate {
    type Value = ClientCertificate;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ClientCertificate, D::Error> {
        ClientCertificate::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(entries: usize, values: usize, items: usize) -> WebPubSubLimits {
        WebPubSubLimits {
            max_connect_entries: entries,
            max_connect_values: values,
            max_connect_items: items,
            ..WebPubSubLimits::default()
        }
    }

    fn read_with(body: &str, limits: &WebPubSubLimits) -> Result<ConnectBody, Error> {
        read(&RawJson::new(body.to_owned()).unwrap(), limits)
    }

    /// The same body as the derived `Deserialize` reads, within the limits.
    #[test]
    fn reads_what_the_derived_impl_reads() {
        let body = r#"{"claims":{"role":["a","b"]},"query":{"room":["lobby"]},"headers":null,
            "subprotocols":["json.webpubsub.azure.v1"],"x":[1,{"y":2}],
            "clientCertificates":[{"thumbprint":"T","content":"C","other":1}]}"#;
        let read = read_with(body, &WebPubSubLimits::default()).unwrap();
        assert_eq!(read, serde_json::from_str::<ConnectBody>(body).unwrap());
        assert_eq!(read.claim("role"), Some("a"));
        assert!(read.headers.is_none());
        // An array is not the object (the derived impl would read it as the
        // members in order).
        assert!(read_with("[]", &WebPubSubLimits::default()).is_err());
        for bad in [
            r#"{"claims":[]}"#,
            r#"{"claims":{"a":"b"}}"#,
            r#"{"claims":{"a":[1]}}"#,
            r#"{"subprotocols":{}}"#,
            r#"{"claims":{},"claims":{}}"#,
        ] {
            let err = read_with(bad, &WebPubSubLimits::default()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData, "{bad}");
            assert!(
                err.detail()
                    .starts_with("the `connect` body is not the expected JSON"),
                "{bad}: {}",
                err.detail()
            );
            assert!(serde_json::from_str::<ConnectBody>(bad).is_err(), "{bad}");
        }
    }

    /// Each limit is exact, and its refusal names it.
    #[test]
    fn each_limit_is_exact_and_named() {
        let small = limits(2, 3, 6);
        // Two entries pass, a third is refused; a repeated key is not a new entry.
        assert!(read_with(r#"{"query":{"a":[],"b":[],"a":[]}}"#, &small).is_ok());
        let err = read_with(r#"{"query":{"a":[],"b":[],"c":[]}}"#, &small).unwrap_err();
        assert_eq!((err.kind(), err.status()), (ErrorKind::InvalidData, 400));
        assert!(
            err.detail().contains("`query` has more than 2 entries"),
            "{}",
            err.detail()
        );
        assert!(err.detail().contains("max_connect_entries"));
        // Three values a list pass, a fourth is refused, in each kind of list.
        assert!(read_with(r#"{"claims":{"r":["1","2","3"]}}"#, &small).is_ok());
        for (body, what) in [
            (r#"{"claims":{"r":["1","2","3","4"]}}"#, "`claims.r`"),
            (r#"{"subprotocols":["1","2","3","4"]}"#, "`subprotocols`"),
            (
                r#"{"clientCertificates":[{},{},{},{}]}"#,
                "`clientCertificates`",
            ),
        ] {
            let err = read_with(body, &small).unwrap_err();
            assert!(
                err.detail()
                    .contains(&format!("{what} has more than 3 values"))
                    && err.detail().contains("max_connect_values"),
                "{body}: {}",
                err.detail()
            );
        }
        // Six items (entries and values) together pass, a seventh is refused.
        assert!(
            read_with(
                r#"{"claims":{"a":["1","2"]},"subprotocols":["x","y"],"clientCertificates":[{}]}"#,
                &small
            )
            .is_ok()
        );
        let err = read_with(
            r#"{"claims":{"a":["1","2"]},"subprotocols":["x","y"],"clientCertificates":[{},{}]}"#,
            &small,
        )
        .unwrap_err();
        assert!(
            err.detail().contains("more than 6 entries and values"),
            "{}",
            err.detail()
        );
        assert!(err.detail().contains("max_connect_items"));
    }
}
