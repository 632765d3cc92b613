//! [`HeaderSource`] over http 1's [`HeaderMap`].

use hookgate_core::HeaderSource;
use http::HeaderMap;

/// Lets the core read an http 1 [`HeaderMap`].
///
/// ```
/// use hookgate_core::HeaderSource;
/// use hookgate_tower::HttpHeaders;
///
/// let mut map = http::HeaderMap::new();
/// map.insert("ce-id", "1".parse().unwrap());
/// assert_eq!(HttpHeaders(&map).get("ce-id"), Some(&b"1"[..]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HttpHeaders<'a>(pub &'a HeaderMap);

impl HeaderSource for HttpHeaders<'_> {
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
    }

    /// A scan of the lines (names are stored in lowercase, and the core asks in
    /// lowercase): cheaper than `HeaderMap::get(&str)`, which parses and hashes the
    /// name on every call, for the handful of lines a request has; the count is
    /// bounded by the server (hyper: 100 lines).
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.as_bytes())
    }
}

/// Sets `headers` on a response (core-decided header names and values), replacing
/// any of the same name.
pub(crate) fn set_headers(map: &mut HeaderMap, headers: &[(&'static str, &'static str)]) {
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
    }
}
