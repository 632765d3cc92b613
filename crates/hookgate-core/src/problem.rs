//! RFC 9457 problem details: the one place where rejection bodies are built.
//!
//! Adapters render a [`Problem`] as a response with [`Problem::status`],
//! `Content-Type: application/problem+json` ([`CONTENT_TYPE`]), the extra
//! [`Problem::headers`] and [`Problem::to_json`] as the body.
//!
//! ```
//! use hookgate_core::problem::Problem;
//!
//! let p = Problem::new(400, "missing-attribute", "A required attribute is missing", "`id` is absent");
//! let body: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
//! assert_eq!(body["type"], "urn:hookgate:problem:missing-attribute");
//! assert_eq!(body["status"], 400);
//! assert_eq!(body["detail"], "`id` is absent");
//! ```

use serde::Serialize;

/// The media type of every rejection body.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// The prefix of every problem `type` URI hookgate produces.
pub const TYPE_PREFIX: &str = "urn:hookgate:problem:";

/// An RFC 9457 problem document plus the response headers that go with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    detail: String,
    #[serde(skip)]
    headers: Vec<(&'static str, String)>,
}

impl Problem {
    /// A problem of HTTP `status` whose `type` is `urn:hookgate:problem:<slug>`.
    #[must_use]
    pub fn new(status: u16, slug: &str, title: &str, detail: &str) -> Self {
        Self {
            type_uri: format!("{TYPE_PREFIX}{slug}"),
            title: title.to_owned(),
            status,
            detail: detail.to_owned(),
            headers: Vec::new(),
        }
    }

    /// Adds a response header (`Retry-After`, `WWW-Authenticate`, …).
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The stable `type` URI.
    #[must_use]
    pub fn type_uri(&self) -> &str {
        &self.type_uri
    }

    /// The fixed summary of the problem type.
    #[must_use]
    pub fn title(&self) -> &str {
        &self.title
    }

    /// What was wrong in this request.
    #[must_use]
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Extra response headers (lowercase names).
    #[must_use]
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The JSON body.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of strings and a number into a Vec cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
