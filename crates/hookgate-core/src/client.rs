//! The outbound HTTP client hookgate uses (validation callbacks, Azure AD key
//! fetches), behind a trait so that tests and applications can bring their own.
//!
//! [`HttpClient`] sends one [`OutboundRequest`] and answers an [`OutboundResponse`]
//! with a body read within [`OutboundRequest::body_limit`]. With the `callback`
//! feature (which `aad` enables) `ReqwestClient` implements it with rustls and the
//! Mozilla root certificates, so it works the same on every machine. Without it
//! the core has no HTTP client and no TLS: inject one where a policy needs it.
//!
//! [`BoxFuture`] is the one boxed future of the workspace: the [`HttpClient`] and
//! [`DedupStore`](crate::dedup::DedupStore) traits answer it.
//!
//! ```
//! use std::time::Duration;
//! use hookgate_core::client::{BoxFuture, ClientError, HttpClient, OutboundRequest, OutboundResponse};
//!
//! /// A client that answers 200 to everything (for a test).
//! #[derive(Debug)]
//! struct AlwaysOk;
//!
//! impl HttpClient for AlwaysOk {
//!     fn send(&self, _: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>> {
//!         Box::pin(async { Ok(OutboundResponse::new(200, "")) })
//!     }
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
/// The URL type of an [`OutboundRequest`] (`http::Uri`, re-exported).
pub use http::Uri;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The method of an outbound request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboundMethod {
    /// `GET`.
    #[default]
    Get,
    /// `POST` with an empty body.
    Post,
}

impl OutboundMethod {
    /// `GET` or `POST`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// One request to send.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct OutboundRequest {
    /// The method.
    pub method: OutboundMethod,
    /// Where to: an absolute `http` or `https` URL.
    pub url: Uri,
    /// When not empty, the addresses the URL's host resolved to when it was
    /// checked; the client must connect to these (and no others), so that a DNS
    /// answer that changes between the check and the request cannot redirect it.
    pub addrs: Vec<SocketAddr>,
    /// The time allowed to connect.
    pub connect_timeout: Duration,
    /// The time allowed for the whole exchange, body included.
    pub timeout: Duration,
    /// The most body bytes to read; a longer body is an error.
    pub body_limit: usize,
}

impl OutboundRequest {
    /// A request with 5 s to connect, 10 s in all and a 64 KiB body limit.
    #[must_use]
    pub fn new(method: OutboundMethod, url: Uri) -> Self {
        Self {
            method,
            url,
            addrs: Vec::new(),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            body_limit: 64 * 1024,
        }
    }
}

/// The answer to an [`OutboundRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboundResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The body, at most the request's `body_limit` bytes.
    pub body: Bytes,
}

impl OutboundResponse {
    /// A response with `status` and `body`.
    #[must_use]
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }
}

/// Why an outbound request failed (connection, timeout, TLS, a body over the limit).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// Sends outbound requests; see the [module docs](self).
pub trait HttpClient: fmt::Debug + Send + Sync + 'static {
    /// Sends `request`. Implementations honour its timeouts, its addresses and its
    /// body limit.
    fn send(&self, request: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>>;
}

#[cfg(feature = "callback")]
pub use self::reqwest_client::ReqwestClient;

#[cfg(feature = "callback")]
mod reqwest_client {
    use super::{
        BoxFuture, ClientError, HttpClient, OutboundMethod, OutboundRequest, OutboundResponse,
    };

    /// [`HttpClient`] on reqwest, with rustls and the Mozilla roots (feature
    /// `callback`). No redirects are followed. A request with
    /// [`addrs`](OutboundRequest::addrs) goes straight to those addresses: no
    /// proxy, whatever the environment says (a validation callback must reach the
    /// address that was checked); other requests (Azure AD key fetches) use the
    /// proxy of the environment (`HTTPS_PROXY`, …) as reqwest does.
    #[derive(Clone, Debug, Default)]
    pub struct ReqwestClient {
        _private: (),
    }

    impl ReqwestClient {
        /// A new client.
        #[must_use]
        pub fn new() -> Self {
            Self::default()
        }
    }

    fn client_for(request: &OutboundRequest) -> Result<reqwest::Client, ClientError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(request.connect_timeout)
            .timeout(request.timeout);
        if let (Some(host), false) = (request.url.host(), request.addrs.is_empty()) {
            builder = builder.no_proxy().resolve_to_addrs(host, &request.addrs);
        }
        builder
            .build()
            .map_err(|e| ClientError(format!("cannot build the HTTP client: {e}")))
    }

    impl HttpClient for ReqwestClient {
        fn send(
            &self,
            request: OutboundRequest,
        ) -> BoxFuture<Result<OutboundResponse, ClientError>> {
            Box::pin(async move {
                let client = client_for(&request)?;
                let method = match request.method {
                    OutboundMethod::Get => reqwest::Method::GET,
                    OutboundMethod::Post => reqwest::Method::POST,
                };
                let url = reqwest::Url::parse(&request.url.to_string()).map_err(|e| {
                    ClientError(format!("{} {}: {e}", request.method.as_str(), request.url))
                })?;
                let mut response = client.request(method, url).send().await.map_err(|e| {
                    ClientError(format!("{} {}: {e}", request.method.as_str(), request.url))
                })?;
                let status = response.status().as_u16();
                let mut body = Vec::new();
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|e| ClientError(format!("reading the body: {e}")))?
                {
                    if body.len() + chunk.len() > request.body_limit {
                        return Err(ClientError(format!(
                            "the response body is over {} bytes",
                            request.body_limit
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(OutboundResponse::new(status, body))
            })
        }
    }
}
