//! Collecting attributes, whichever mode they came in, and checking them once.

use std::collections::HashSet;
use std::hash::BuildHasher as _;

use bytestring::ByteString;

use crate::error::{Error, ErrorKind, excerpt};
use crate::event::{
    Attributes, ExtensionValue, SpecVersion, Str, Time, check_attribute_name, check_media_type,
    check_string,
};

/// The attributes of an event under construction. `origin` names where attribute
/// `name` was found, for error details (`header ce-id`, `member "id"`).
///
/// Values are [`Str`]s: ranges of `text` (the body, in structured and batch mode;
/// in binary mode the values [`kept`](Self::keep) one after another, which
/// [`finish`](Self::finish) makes the text: one allocation for all of them) or
/// strings of their own (unescaped values in the JSON modes).
#[derive(Default)]
pub(super) struct Draft {
    text: ByteString,
    /// Binary mode: the values kept so far (the ranges are ranges of it until
    /// `finish`).
    kept: String,
    specversion: Option<Str>,
    id: Option<Str>,
    source: Option<Str>,
    ty: Option<Str>,
    datacontenttype: Option<Str>,
    dataschema: Option<Str>,
    subject: Option<Str>,
    time: Option<Str>,
    extensions: Vec<(Str, ExtensionValue)>,
    /// The hashes of the extension names, once there are more than [`SCAN_LIMIT`]
    /// (foldhash, seeded at random per process and per set: a sender cannot aim at
    /// collisions, and one costs only a scan).
    seen: Option<HashSet<u64, foldhash::fast::RandomState>>,
    /// The most attributes the event may have (`ParseConfig::max_attributes`).
    max_attributes: usize,
}

/// Up to this many extensions, a new name is compared with each one already seen
/// (cheaper than hashing for the few extensions real senders use); past it, the
/// names are looked up in a hash set, so the check stays linear in the number of
/// attributes whatever `ParseConfig::max_attributes` allows.
const SCAN_LIMIT: usize = 8;

thread_local! {
    /// The buffer binary mode keeps an event's values in while it parses them (see
    /// [`Draft::keeping`]).
    static SCRATCH: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

/// The largest scratch buffer given back to its thread.
const SCRATCH_MAX: usize = 16 * 1024;

/// A core attribute: one that must be a string when present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Core {
    SpecVersion,
    Id,
    Source,
    Type,
    DataContentType,
    DataSchema,
    Subject,
    Time,
}

impl Core {
    /// The core attribute called `name`, if it is one.
    pub(super) fn of(name: &str) -> Option<Self> {
        Some(match name {
            "specversion" => Self::SpecVersion,
            "id" => Self::Id,
            "source" => Self::Source,
            "type" => Self::Type,
            "datacontenttype" => Self::DataContentType,
            "dataschema" => Self::DataSchema,
            "subject" => Self::Subject,
            "time" => Self::Time,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::SpecVersion => "specversion",
            Self::Id => "id",
            Self::Source => "source",
            Self::Type => "type",
            Self::DataContentType => "datacontenttype",
            Self::DataSchema => "dataschema",
            Self::Subject => "subject",
            Self::Time => "time",
        }
    }
}

impl Draft {
    /// A draft whose [`Str`] ranges are ranges of `text`, of at most
    /// `max_attributes` attributes.
    pub(super) fn over(text: ByteString, max_attributes: usize) -> Self {
        Self {
            text,
            max_attributes,
            ..Self::default()
        }
    }

    /// A draft of at most `max_attributes` attributes whose values will be
    /// [`kept`](Self::keep) in one buffer: the thread's scratch buffer, which
    /// [`finish`](Self::finish) copies into a text of the exact size and gives back
    /// (so a binary event's values cost one allocation; a `String` made the text
    /// would need a second for `Bytes`' shared header whenever its capacity is not
    /// its length). A draft dropped on an error takes the buffer with it.
    pub(super) fn keeping(max_attributes: usize) -> Self {
        let mut kept = SCRATCH.with(|scratch| scratch.take());
        kept.clear();
        Self {
            kept,
            max_attributes,
            ..Self::default()
        }
    }

    /// Appends `value` to the kept text and gives its range (a string of its own
    /// should the text outgrow the ranges' 4 GiB).
    pub(super) fn keep(&mut self, value: &str) -> Str {
        let start = self.kept.len();
        match u32::try_from(start + value.len()) {
            Ok(end) => {
                self.kept.push_str(value);
                Str::Range(start as u32, end)
            }
            Err(_) => Str::from(value),
        }
    }

    /// The text the ranges are ranges of.
    fn text(&self) -> &str {
        if self.kept.is_empty() {
            &self.text
        } else {
            &self.kept
        }
    }

    /// How many attributes are set.
    fn count(&self) -> usize {
        [
            &self.specversion,
            &self.id,
            &self.source,
            &self.ty,
            &self.datacontenttype,
            &self.dataschema,
            &self.subject,
            &self.time,
        ]
        .iter()
        .filter(|a| a.is_some())
        .count()
            + self.extensions.len()
    }

    fn get<'a>(&'a self, s: &'a Str) -> &'a str {
        s.resolve_in(self.text())
    }

    /// Sets core attribute `attr`.
    pub(super) fn set_core(&mut self, attr: Core, value: Str) -> Result<(), Error> {
        if self.slot(attr).is_some() {
            return Err(duplicate(attr.name()));
        }
        self.room()?;
        *self.slot(attr) = Some(value);
        Ok(())
    }

    fn slot(&mut self, attr: Core) -> &mut Option<Str> {
        match attr {
            Core::SpecVersion => &mut self.specversion,
            Core::Id => &mut self.id,
            Core::Source => &mut self.source,
            Core::Type => &mut self.ty,
            Core::DataContentType => &mut self.datacontenttype,
            Core::DataSchema => &mut self.dataschema,
            Core::Subject => &mut self.subject,
            Core::Time => &mut self.time,
        }
    }

    /// Whether one more attribute fits under `max_attributes`.
    fn room(&self) -> Result<(), Error> {
        if self.count() < self.max_attributes {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::TooManyAttributes,
            format!(
                "the event has more than {} attributes, the receiver's limit \
                 (ParseConfig::max_attributes)",
                self.max_attributes
            ),
        ))
    }

    /// Adds extension `name`, checking its name.
    pub(super) fn set_extension(&mut self, name: Str, value: ExtensionValue) -> Result<(), Error> {
        let body = if self.kept.is_empty() {
            &*self.text
        } else {
            &*self.kept
        };
        let text = name.resolve_in(body);
        check_attribute_name(text)?;
        if text == "data" {
            return Err(Error::new(
                ErrorKind::InvalidAttributeName,
                "`data` is not an attribute: in binary mode the data is the body",
            ));
        }
        self.room()?;
        let extensions = &self.extensions;
        let given = if extensions.len() < SCAN_LIMIT {
            extensions.iter().any(|(n, _)| n.resolve_in(body) == text)
        } else {
            let seen = self.seen.get_or_insert_with(|| {
                let mut seen = HashSet::with_capacity_and_hasher(
                    4 * SCAN_LIMIT,
                    foldhash::fast::RandomState::default(),
                );
                for (n, _) in extensions {
                    seen.insert(seen.hasher().hash_one(n.resolve_in(body)));
                }
                seen
            });
            // A hash seen before is the same name but with a negligible chance: the
            // names are compared to be sure (once, as a duplicate ends the parse).
            !seen.insert(seen.hasher().hash_one(text))
                && extensions.iter().any(|(n, _)| n.resolve_in(body) == text)
        };
        if given {
            return Err(duplicate(text));
        }
        let len = self.extensions.len();
        if len == self.extensions.capacity() {
            // Doubling, but never past `max_attributes` (no room that cannot be used).
            let target = (2 * len).max(4).min(self.max_attributes);
            self.extensions
                .reserve_exact(target.saturating_sub(len).max(1));
        }
        self.extensions.push((name, value));
        Ok(())
    }

    /// Puts the extensions in name order: for binary mode, where the order of header
    /// lines is not kept by every HTTP stack (actix-web's header map is unordered), so
    /// that one request gives the same event on every framework.
    pub(super) fn sort_extensions(&mut self) {
        let text = if self.kept.is_empty() {
            &*self.text
        } else {
            &*self.kept
        };
        self.extensions
            .sort_unstable_by(|(a, _), (b, _)| a.resolve_in(text).cmp(b.resolve_in(text)));
    }

    /// Whether `datacontenttype` was set.
    pub(super) fn datacontenttype(&self) -> Option<&str> {
        self.datacontenttype.as_ref().map(|s| self.get(s))
    }

    /// Checks the required attributes and the formats, and builds the attributes.
    pub(super) fn finish(mut self) -> Result<Attributes, Error> {
        if !self.kept.is_empty() {
            self.text = ByteString::from(self.kept.as_str());
            let mut kept = std::mem::take(&mut self.kept);
            // A buffer grown by an event of very long values is not kept.
            if kept.capacity() <= SCRATCH_MAX {
                kept.clear();
                SCRATCH.with(|scratch| scratch.replace(kept));
            }
        }
        // Room left over by the doubling is given back for an event of many
        // extensions: a batch of such events would otherwise hold up to twice what
        // its extensions need. The usual few extensions are kept as they are.
        if self.extensions.len() > SCAN_LIMIT {
            self.extensions.shrink_to_fit();
        }
        let specversion = match self.specversion.as_ref().map(|s| self.get(s)) {
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
        let empty_or = |value: &Option<Str>| value.as_ref().map(|s| self.get(s).is_empty());
        for (name, value) in [
            ("id", &self.id),
            ("source", &self.source),
            ("type", &self.ty),
        ] {
            match empty_or(value) {
                None => return Err(missing(name)),
                Some(true) => return Err(empty(name)),
                Some(false) => {}
            }
        }
        for (name, value) in [
            ("dataschema", &self.dataschema),
            ("datacontenttype", &self.datacontenttype),
            ("subject", &self.subject),
        ] {
            if empty_or(value) == Some(true) {
                return Err(empty(name));
            }
        }
        // Every String a CloudEvents String (`time` is checked as a timestamp, and
        // `specversion` is `1.0` by now).
        for (name, value) in [
            ("id", &self.id),
            ("source", &self.source),
            ("type", &self.ty),
            ("dataschema", &self.dataschema),
            ("subject", &self.subject),
        ] {
            if let Some(value) = value {
                check_string(name, self.get(value))?;
            }
        }
        for (name, value) in &self.extensions {
            if let ExtensionValue::String(value) = value {
                check_string(self.get(name), value)?;
            }
        }
        // What nearly every event carries is valid as it is.
        if let Some(media_type) = self.datacontenttype()
            && media_type != "application/json"
        {
            check_string("datacontenttype", media_type)?;
            check_media_type(media_type)?;
        }
        let time = match &self.time {
            Some(s) => Some(Time::parse(s.clone(), self.get(s))?),
            None => None,
        };
        let (Some(id), Some(source), Some(ty)) = (self.id, self.source, self.ty) else {
            return Err(missing("id"));
        };
        Ok(Attributes {
            text: self.text,
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
