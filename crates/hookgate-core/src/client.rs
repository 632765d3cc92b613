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
    /// The time allowed to connect, for clients that can set it per request
    /// (`ReqwestClient` connects within the timeout it was built with).
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
#[cfg(all(test, feature = "callback"))]
pub(crate) use self::reqwest_client::tests::BUILDS as REQWEST_CLIENT_BUILDS;

#[cfg(feature = "callback")]
mod reqwest_client {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Duration;

    use super::{
        BoxFuture, ClientError, HttpClient, OutboundMethod, OutboundRequest, OutboundResponse,
    };
    use crate::error::ConfigError;

    /// [`HttpClient`] on reqwest, with rustls and the Mozilla roots (feature
    /// `callback`). No redirects are followed.
    ///
    /// It is built once, with [`new`](Self::new) or
    /// [`with_connect_timeout`](Self::with_connect_timeout), and every request shares
    /// it (cloning shares it too). A request with [`addrs`](OutboundRequest::addrs)
    /// goes straight to those addresses: no proxy, whatever the environment says,
    /// no pooled connection and no DNS lookup (a validation callback must reach the
    /// address that was checked, not one that a second lookup would give; requests
    /// in progress to the same host at once may use any of the addresses checked for
    /// it, all of which passed the same guard when the client is its policy's). Other
    /// requests (Azure AD key fetches) use the system resolver, a connection pool and
    /// the proxy of the environment (`HTTPS_PROXY`, …) as reqwest does.
    ///
    /// Timeouts: the connect timeout is the client's, set when it is built (a
    /// request's own [`connect_timeout`](OutboundRequest::connect_timeout) is not
    /// applied on its own); the whole exchange of each request, connecting and the
    /// body included, is bounded by its [`timeout`](OutboundRequest::timeout), and a
    /// body longer than its [`body_limit`](OutboundRequest::body_limit) is an error
    /// as soon as the limit is passed.
    #[derive(Clone, Debug)]
    pub struct ReqwestClient {
        /// For requests without addresses: proxy of the environment, system DNS, a pool.
        open: reqwest::Client,
        /// For requests with addresses: no proxy, no pool, names looked up in `pins`.
        pinned: reqwest::Client,
        pins: Arc<Pins>,
    }

    impl ReqwestClient {
        /// A new client that allows 5 s to connect.
        ///
        /// # Errors
        /// [`ConfigError`] when reqwest cannot build a client (its TLS backend fails
        /// to start).
        pub fn new() -> Result<Self, ConfigError> {
            Self::with_connect_timeout(Duration::from_secs(5))
        }

        /// A new client that allows `timeout` to connect (the TCP connection and the
        /// TLS handshake).
        ///
        /// # Errors
        /// [`ConfigError`] for a zero timeout, or when reqwest cannot build a client.
        pub fn with_connect_timeout(timeout: Duration) -> Result<Self, ConfigError> {
            if timeout.is_zero() {
                return Err(ConfigError("the connect timeout must not be zero".into()));
            }
            #[cfg(test)]
            tests::BUILDS.with(|n| n.set(n.get() + 1));
            let base = || {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(timeout)
            };
            let pins = Arc::new(Pins::default());
            let failed =
                |e: reqwest::Error| ConfigError(format!("cannot build the HTTP client: {e}"));
            Ok(Self {
                open: base().build().map_err(failed)?,
                pinned: base()
                    .no_proxy()
                    .pool_max_idle_per_host(0)
                    .dns_resolver(Arc::new(PinnedResolver(Arc::clone(&pins))))
                    .build()
                    .map_err(failed)?,
                pins,
            })
        }
    }

    /// The addresses that requests in progress were pinned to, by host name.
    #[derive(Debug, Default)]
    struct Pins {
        next_id: AtomicU64,
        live: Mutex<Vec<PinEntry>>,
    }

    #[derive(Debug)]
    struct PinEntry {
        id: u64,
        host: String,
        addrs: Vec<SocketAddr>,
    }

    /// Removes its entry from [`Pins`] when the request ends, however it ends.
    struct PinGuard<'p> {
        pins: &'p Pins,
        id: u64,
    }

    impl Pins {
        fn pin(&self, host: &str, addrs: &[SocketAddr]) -> PinGuard<'_> {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            self.lock().push(PinEntry {
                id,
                host: host.to_ascii_lowercase(),
                addrs: addrs.to_vec(),
            });
            PinGuard { pins: self, id }
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PinEntry>> {
            self.live.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// The addresses pinned for `host` by the requests in progress. Several
        /// requests to one host at once each passed their check, so any of their
        /// addresses may be used.
        fn lookup(&self, host: &str) -> Vec<SocketAddr> {
            let mut addrs: Vec<SocketAddr> = Vec::new();
            for entry in self.lock().iter() {
                if entry.host.eq_ignore_ascii_case(host) {
                    for addr in &entry.addrs {
                        if !addrs.contains(addr) {
                            addrs.push(*addr);
                        }
                    }
                }
            }
            addrs
        }
    }

    impl Drop for PinGuard<'_> {
        fn drop(&mut self) {
            self.pins.lock().retain(|entry| entry.id != self.id);
        }
    }

    /// The resolver of the pinned client: the pinned addresses, never DNS.
    struct PinnedResolver(Arc<Pins>);

    impl reqwest::dns::Resolve for PinnedResolver {
        fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            let addrs = self.0.lookup(name.as_str());
            Box::pin(async move {
                if addrs.is_empty() {
                    return Err("no address was checked for this host".into());
                }
                Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
            })
        }
    }

    impl HttpClient for ReqwestClient {
        fn send(
            &self,
            request: OutboundRequest,
        ) -> BoxFuture<Result<OutboundResponse, ClientError>> {
            let this = self.clone();
            Box::pin(async move { this.exchange(&request).await })
        }
    }

    impl ReqwestClient {
        async fn exchange(
            &self,
            request: &OutboundRequest,
        ) -> Result<OutboundResponse, ClientError> {
            let failed = |e: &dyn std::fmt::Display| {
                ClientError(format!("{} {}: {e}", request.method.as_str(), request.url))
            };
            let failed_by = |e: reqwest::Error| failed(&Chain(&e));
            let method = match request.method {
                OutboundMethod::Get => reqwest::Method::GET,
                OutboundMethod::Post => reqwest::Method::POST,
            };
            let url = reqwest::Url::parse(&request.url.to_string()).map_err(|e| failed(&e))?;
            // A request with addresses goes to those: the host is pinned to them
            // while the request is in progress.
            let (client, _pin) = match (request.url.host(), request.addrs.is_empty()) {
                (_, true) => (&self.open, None),
                (Some(host), false) => (&self.pinned, Some(self.pins.pin(host, &request.addrs))),
                (None, false) => return Err(failed(&"the URL has no host")),
            };
            let mut response = client
                .request(method, url)
                .timeout(request.timeout)
                .send()
                .await
                .map_err(failed_by)?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| ClientError(format!("reading the body: {}", Chain(&e))))?
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
        }
    }

    /// An error and its sources, as `a: b: c` (reqwest's own message leaves out
    /// why, such as a timeout or a refused connection).
    struct Chain<'e>(&'e (dyn std::error::Error + 'static));

    impl std::fmt::Display for Chain<'_> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{}", self.0)?;
            let mut source = self.0.source();
            while let Some(error) = source {
                write!(f, ": {error}")?;
                source = error.source();
            }
            Ok(())
        }
    }

    #[cfg(test)]
    pub(super) mod tests {
        use std::cell::Cell;

        thread_local! {
            /// How many clients this thread built.
            pub(crate) static BUILDS: Cell<usize> = const { Cell::new(0) };
        }
    }
}
