//! A response decided by the core, in plain terms: status, headers, body.
//!
//! The handshake, and every rejection, is answered with a [`Reply`]; each adapter has
//! one function that turns a `Reply` into its framework's response. A [`Problem`]
//! becomes a `Reply` with `From`, so rejection bodies are still built in one place.
//!
//! ```
//! use hookgate_core::{Problem, Reply};
//!
//! let grant = Reply::new(200).with_header("webhook-allowed-origin", "eventgrid.azure.net");
//! assert_eq!(grant.headers()[0].1, "eventgrid.azure.net");
//!
//! let refusal = Reply::from(&Problem::new(403, "origin-not-allowed", "Not allowed", "…"));
//! assert_eq!(refusal.status(), 403);
//! assert_eq!(refusal.content_type(), Some("application/problem+json"));
//! ```

use bytes::Bytes;

use crate::problem::{self, Problem};

/// A response: status, headers (lowercase names), and an optional typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, Bytes)>,
    problem: Option<Box<Problem>>,
}

impl Reply {
    /// An empty reply with `status`.
    #[must_use]
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
            problem: None,
        }
    }

    /// Adds a header; `name` in lowercase.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body and its media type.
    #[must_use]
    pub fn with_body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.body = Some((content_type, body.into()));
        self
    }

    /// The HTTP status code.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers, `Content-Type` aside.
    #[must_use]
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.headers
    }

    /// The media type of the body, if there is one.
    #[must_use]
    pub fn content_type(&self) -> Option<&'static str> {
        self.body.as_ref().map(|(ct, _)| *ct)
    }

    /// The problem this reply renders, when it is a rejection. Adapters put it into
    /// the response extensions, so that a logging layer can say why a request was
    /// refused without reading the body.
    #[must_use]
    pub fn problem(&self) -> Option<&Problem> {
        self.problem.as_deref()
    }

    /// The body (empty when there is none).
    #[must_use]
    pub fn body(&self) -> Bytes {
        self.body
            .as_ref()
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    }
}

impl From<&Problem> for Reply {
    fn from(problem: &Problem) -> Self {
        Self {
            status: problem.status(),
            headers: problem.headers().to_vec(),
            body: Some((problem::CONTENT_TYPE, problem.to_json().into())),
            problem: Some(Box::new(problem.clone())),
        }
    }
}

impl From<Problem> for Reply {
    fn from(problem: Problem) -> Self {
        Self {
            status: problem.status(),
            headers: problem.headers().to_vec(),
            body: Some((problem::CONTENT_TYPE, problem.to_json().into())),
            problem: Some(Box::new(problem)),
        }
    }
}
