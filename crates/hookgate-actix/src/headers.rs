//! [`HeaderSource`] over actix-web's header map (http 0.2 types).

use actix_web::http::header::HeaderMap;
use hookgate_core::HeaderSource;

/// Lets the core read actix-web's [`HeaderMap`].
///
/// ```
/// use actix_web::test::TestRequest;
/// use hookgate_actix::ActixHeaders;
/// use hookgate_core::HeaderSource;
///
/// let req = TestRequest::default().insert_header(("ce-id", "1")).to_http_request();
/// assert_eq!(ActixHeaders(req.headers()).get("ce-id"), Some(&b"1"[..]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ActixHeaders<'a>(pub &'a HeaderMap);

impl HeaderSource for ActixHeaders<'_> {
    fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))
    }

    /// A map lookup: actix-web's header map iterates its lines in hash order, so a
    /// scan costs more here than the name's parse and hash (measured under
    /// callgrind), unlike with http 1's `HeaderMap`.
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0
            .get(name)
            .map(actix_web::http::header::HeaderValue::as_bytes)
    }
}

/// Sets `headers` on a response (core-decided header names and values), replacing
/// any of the same name.
pub(crate) fn set_headers(map: &mut HeaderMap, headers: &[(&'static str, &'static str)]) {
    use actix_web::http::header::{HeaderName, HeaderValue};
    for (name, value) in headers {
        map.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}
