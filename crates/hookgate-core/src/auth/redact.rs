//! Keeping secrets out of logs.
//!
//! A [`Redactor`] replaces the values of secret query parameters (`code`,
//! `access_token` by default) in a URI and tells which headers must not be logged
//! (`Authorization`, `ce-signature` by default). hookgate's own `tracing` events never
//! carry secrets; use a `Redactor` wherever your app logs requests.
//!
//! ```
//! use hookgate_core::auth::Redactor;
//!
//! let redactor = Redactor::default();
//! assert_eq!(
//!     redactor.uri("/api/events?code=s3cret&x=1&access_token=abc"),
//!     "/api/events?code=REDACTED&x=1&access_token=REDACTED"
//! );
//! assert!(redactor.is_secret_header("Authorization"));
//! ```
//!
//! With tower-http's `TraceLayer`, log the redacted URI in the span:
//!
//! ```ignore
//! let redactor = Redactor::default();
//! let trace = TraceLayer::new_for_http().make_span_with(move |req: &http::Request<_>| {
//!     tracing::info_span!("request", method = %req.method(), uri = %redactor.uri(&req.uri().to_string()))
//! });
//! ```
//!
//! With actix-web's `Logger`, replace `%U` by a custom field:
//!
//! ```ignore
//! let redactor = Redactor::default();
//! let logger = Logger::new("%a \"%r\" %s %T")
//!     .custom_request_replace("uri", move |req| redactor.uri(&req.uri().to_string()).into_owned());
//! // and use `%{uri}xi` instead of `%r`/`%U` in the format: Logger::new("%a %{uri}xi %s %T")
//! ```

use std::borrow::Cow;

/// What to hide from logs; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Redactor {
    params: Vec<String>,
    headers: Vec<String>,
}

impl Default for Redactor {
    /// Hides the `code` and `access_token` parameters and the `Authorization` and
    /// `ce-signature` headers.
    fn default() -> Self {
        Self {
            params: vec!["code".into(), "access_token".into()],
            headers: vec!["authorization".into(), "ce-signature".into()],
        }
    }
}

/// What replaces a secret value.
pub const REDACTED: &str = "REDACTED";

impl Redactor {
    /// Also hides query parameter `name` (a renamed code parameter, say).
    #[must_use]
    pub fn param(mut self, name: impl Into<String>) -> Self {
        self.params.push(name.into());
        self
    }

    /// Also hides header `name`.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>) -> Self {
        self.headers.push(name.into().to_ascii_lowercase());
        self
    }

    /// `uri` (a path with a query, or a whole URL) with the values of the secret
    /// query parameters replaced by [`REDACTED`]; borrowed when there is nothing to
    /// hide.
    #[must_use]
    pub fn uri<'a>(&self, uri: &'a str) -> Cow<'a, str> {
        let Some((head, rest)) = uri.split_once('?') else {
            return Cow::Borrowed(uri);
        };
        let (query, fragment) = match rest.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (rest, None),
        };
        let secret = |pair: &str| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
            self.params.iter().any(|p| *p == name)
        };
        if !query.split('&').any(secret) {
            return Cow::Borrowed(uri);
        }
        let query: Vec<Cow<'_, str>> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) if secret(pair) => Cow::Owned(format!("{name}={REDACTED}")),
                _ => Cow::Borrowed(pair),
            })
            .collect();
        let mut out = format!("{head}?{}", query.join("&"));
        if let Some(fragment) = fragment {
            out.push('#');
            out.push_str(fragment);
        }
        Cow::Owned(out)
    }

    /// Whether header `name` must not be logged.
    #[must_use]
    pub fn is_secret_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}
