//! Collecting attributes, whichever mode they came in, and checking them once.

use bytestring::ByteString;

use crate::error::{Error, ErrorKind, excerpt};
use crate::event::{Attributes, ExtensionValue, SpecVersion, Time, check_attribute_name};

/// The attributes of an event under construction. `origin` names where attribute
/// `name` was found, for error details (`header ce-id`, `member "id"`).
#[derive(Default)]
pub(super) struct Draft {
    specversion: Option<ByteString>,
    id: Option<ByteString>,
    source: Option<ByteString>,
    ty: Option<ByteString>,
    datacontenttype: Option<ByteString>,
    dataschema: Option<ByteString>,
    subject: Option<ByteString>,
    time: Option<ByteString>,
    extensions: Vec<(ByteString, ExtensionValue)>,
}

/// Whether `name` is a core attribute that must be a string.
pub(super) fn is_core(name: &str) -> bool {
    matches!(
        name,
        "specversion"
            | "id"
            | "source"
            | "type"
            | "datacontenttype"
            | "dataschema"
            | "subject"
            | "time"
    )
}

impl Draft {
    /// Sets core attribute `name` (one for which [`is_core`] holds).
    pub(super) fn set_core(&mut self, name: &str, value: ByteString) -> Result<(), Error> {
        let slot = match name {
            "specversion" => &mut self.specversion,
            "id" => &mut self.id,
            "source" => &mut self.source,
            "type" => &mut self.ty,
            "datacontenttype" => &mut self.datacontenttype,
            "dataschema" => &mut self.dataschema,
            "subject" => &mut self.subject,
            _ => &mut self.time,
        };
        if slot.is_some() {
            return Err(duplicate(name));
        }
        *slot = Some(value);
        Ok(())
    }

    /// Adds extension `name`, checking its name.
    pub(super) fn set_extension(
        &mut self,
        name: ByteString,
        value: ExtensionValue,
    ) -> Result<(), Error> {
        check_attribute_name(&name)?;
        if name == "data" {
            return Err(Error::new(
                ErrorKind::InvalidAttributeName,
                "`data` is not an attribute: in binary mode the data is the body",
            ));
        }
        if self.extensions.iter().any(|(n, _)| *n == name) {
            return Err(duplicate(&name));
        }
        self.extensions.push((name, value));
        Ok(())
    }

    /// Puts the extensions in name order: for binary mode, where the order of header
    /// lines is not kept by every HTTP stack (actix-web's header map is unordered), so
    /// that one request gives the same event on every framework.
    pub(super) fn sort_extensions(&mut self) {
        self.extensions.sort_unstable_by(|(a, _), (b, _)| a.cmp(b));
    }

    /// Whether `datacontenttype` was set.
    pub(super) fn datacontenttype(&self) -> Option<&str> {
        self.datacontenttype.as_deref()
    }

    /// Checks the required attributes and the formats, and builds the attributes.
    pub(super) fn finish(self) -> Result<Attributes, Error> {
        let specversion = match self.specversion.as_deref() {
            Some("1.0") => SpecVersion::V1_0,
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::UnsupportedSpecVersion,
                    format!(
                        "specversion `{}` is not supported; expected `1.0`",
                        excerpt(other)
                    ),
                ));
            }
            None => return Err(missing("specversion")),
        };
        let id = required(self.id, "id")?;
        let source = required(self.source, "source")?;
        let ty = required(self.ty, "type")?;
        for (name, value) in [
            ("dataschema", &self.dataschema),
            ("datacontenttype", &self.datacontenttype),
            ("subject", &self.subject),
        ] {
            if value.as_ref().is_some_and(|v| v.is_empty()) {
                return Err(empty(name));
            }
        }
        let time = self.time.map(Time::parse).transpose()?;
        Ok(Attributes {
            specversion,
            id,
            source,
            ty,
            datacontenttype: self.datacontenttype,
            dataschema: self.dataschema,
            subject: self.subject,
            time,
            extensions: self.extensions,
        })
    }
}

fn required(value: Option<ByteString>, name: &str) -> Result<ByteString, Error> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(empty(name)),
        None => Err(missing(name)),
    }
}

fn missing(name: &str) -> Error {
    Error::new(
        ErrorKind::MissingAttribute,
        format!(
            "required attribute `{name}` is missing (the `id`, `source`, `specversion` and `type` attributes are required)"
        ),
    )
}

fn empty(name: &str) -> Error {
    Error::new(
        ErrorKind::InvalidAttribute,
        format!("attribute `{name}` must not be empty"),
    )
}

fn duplicate(name: &str) -> Error {
    Error::new(
        ErrorKind::DuplicateAttribute,
        format!("attribute `{}` is given more than once", excerpt(name)),
    )
}
