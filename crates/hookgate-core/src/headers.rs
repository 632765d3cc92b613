//! Header lookups: how the core reads request headers without naming a framework.
//!
//! Adapters implement [`HeaderSource`] over their framework's header map (http 1's
//! in `hookgate-tower`, actix-web's http 0.2 one in `hookgate-actix`). [`HeaderList`]
//! is a plain list for tests and tools.
//!
//! ```
//! use hookgate_core::{HeaderList, HeaderSource};
//!
//! let headers = HeaderList::new([("CE-Id", "1"), ("ce-source", "/s")]);
//! assert_eq!(headers.get("ce-id"), Some(&b"1"[..]));
//! assert_eq!(headers.iter().count(), 2);
//! ```

/// Read access to request headers.
pub trait HeaderSource {
    /// Every header line as `(name, value)`; one pair per line, so a header sent
    /// twice appears twice. Names may be in any case.
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])>;

    /// The first value of header `name` (given in lowercase), matched
    /// case-insensitively.
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

impl<H: HeaderSource + ?Sized> HeaderSource for &H {
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        (**self).iter()
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        (**self).get(name)
    }
}

/// A plain list of header lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeaderList(Vec<(String, Vec<u8>)>);

impl HeaderList {
    /// A list from `(name, value)` pairs.
    pub fn new<N, V>(lines: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: Into<String>,
        V: AsRef<[u8]>,
    {
        Self(
            lines
                .into_iter()
                .map(|(n, v)| (n.into(), v.as_ref().to_vec()))
                .collect(),
        )
    }

    /// Appends a header line.
    pub fn push(&mut self, name: impl Into<String>, value: impl AsRef<[u8]>) {
        self.0.push((name.into(), value.as_ref().to_vec()));
    }
}

impl HeaderSource for HeaderList {
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }
}
