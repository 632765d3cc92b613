//! Grant by callback: confirm a handshake with a request to `WebHook-Request-Callback`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::policy::HandshakePolicy;
use crate::client::{ClientError, HttpClient, OutboundMethod, OutboundRequest};
use crate::error::{ConfigError, Error, ErrorKind, excerpt};
use crate::reply::Reply;

/// How validation callbacks are confirmed and guarded.
///
/// The callback URL comes from the request, so calling it is a server-side request
/// forgery risk. [`CallbackPolicy`] guards it: the origin must be allowed, the URL
/// must be `https` (unless [`allow_http`](CallbackPolicyBuilder::allow_http)), its
/// host must be in the allowlist when one is set, and every address its host resolves
/// to must be public — not loopback, private, link-local, unique-local, CGNAT,
/// multicast, broadcast or unspecified — unless
/// [`allow_private_addresses`](CallbackPolicyBuilder::allow_private_addresses). The
/// request then goes to exactly the addresses that were checked.
#[derive(Clone, Debug)]
pub struct CallbackPolicy(Arc<CallbackInner>);

#[derive(Debug)]
struct CallbackInner {
    method: OutboundMethod,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
    allow_http: bool,
    hosts: Option<Vec<String>>,
    allow_private: bool,
    client: Arc<dyn HttpClient>,
}

impl CallbackPolicy {
    /// A builder: `GET`, 10 s per attempt, 4 attempts 1 s apart then doubling,
    /// https only, public addresses only, any host.
    pub fn builder() -> CallbackPolicyBuilder {
        CallbackPolicyBuilder {
            method: OutboundMethod::Get,
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_secs(1),
            allow_http: false,
            hosts: None,
            allow_private: false,
            client: None,
        }
    }
}

/// Builder of a [`CallbackPolicy`].
#[derive(Debug)]
#[must_use]
pub struct CallbackPolicyBuilder {
    method: OutboundMethod,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
    allow_http: bool,
    hosts: Option<Vec<String>>,
    allow_private: bool,
    client: Option<Arc<dyn HttpClient>>,
}

impl CallbackPolicyBuilder {
    /// Confirms with `GET` (the default) or `POST`.
    pub fn method(mut self, method: OutboundMethod) -> Self {
        self.method = method;
        self
    }

    /// The time allowed for one attempt (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many attempts in all (default 4, at most 10); an attempt fails on a
    /// transport error, a timeout or a status other than 2xx.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    /// The wait before the first retry (default 1 s); it doubles for each next one.
    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// Allows `http` callback URLs (for tests and private networks). Off by default.
    pub fn allow_http(mut self, yes: bool) -> Self {
        self.allow_http = yes;
        self
    }

    /// Only these callback hosts (exact, case-insensitive match).
    pub fn allow_hosts<I>(mut self, hosts: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let list = self.hosts.get_or_insert_with(Vec::new);
        list.extend(hosts.into_iter().map(|h| h.into().to_ascii_lowercase()));
        self
    }

    /// Allows callbacks to loopback, private and link-local addresses. Off by default.
    pub fn allow_private_addresses(mut self, yes: bool) -> Self {
        self.allow_private = yes;
        self
    }

    /// The HTTP client to confirm with (default: [`ReqwestClient`](crate::client::ReqwestClient)
    /// with the `reqwest` feature).
    pub fn client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] for a zero timeout, 0 or more than 10 attempts, an empty host
    /// allowlist, or no client (without the `reqwest` feature).
    pub fn build(self) -> Result<CallbackPolicy, ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError("the callback timeout must not be zero".into()));
        }
        if !(1..=10).contains(&self.attempts) {
            return Err(ConfigError(format!(
                "callback attempts must be 1 to 10, got {}",
                self.attempts
            )));
        }
        if self.hosts.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError("the callback host allowlist is empty".into()));
        }
        let client = match self.client {
            Some(client) => client,
            None => default_client()?,
        };
        Ok(CallbackPolicy(Arc::new(CallbackInner {
            method: self.method,
            timeout: self.timeout,
            attempts: self.attempts,
            backoff: self.backoff,
            allow_http: self.allow_http,
            hosts: self.hosts,
            allow_private: self.allow_private,
            client,
        })))
    }
}

#[cfg(feature = "reqwest")]
#[allow(clippy::unnecessary_wraps)]
fn default_client() -> Result<Arc<dyn HttpClient>, ConfigError> {
    Ok(Arc::new(crate::client::ReqwestClient::new()))
}

#[cfg(not(feature = "reqwest"))]
fn default_client() -> Result<Arc<dyn HttpClient>, ConfigError> {
    Err(ConfigError(
        "no HTTP client for callbacks: enable the `reqwest` feature or call client()".into(),
    ))
}

/// A handshake to be granted by callback, once its URL has passed the address check;
/// see [`PendingCallback::answer`].
#[derive(Debug)]
#[must_use]
pub struct PendingCallback {
    url: Url,
    policy: CallbackPolicy,
}

/// A confirmation to send after the handshake was answered: run
/// [`Confirmation::run`] in the background.
#[derive(Debug)]
#[must_use]
pub struct Confirmation {
    request: OutboundRequest,
    policy: CallbackPolicy,
}

fn refused(why: impl fmt::Display) -> Error {
    Error::new(ErrorKind::CallbackRefused, why.to_string())
}

/// Whether `ip` is an address a callback must not reach by default.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_internal_v4(v4),
            None => is_internal_v6(v6),
        },
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        // 100.64.0.0/10: carrier-grade NAT, internal to a provider.
        || (a == 100 && (64..128).contains(&b))
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
}

impl PendingCallback {
    /// Checks the URL against the policy's scheme and host rules (the address check
    /// needs DNS and happens in [`answer`](Self::answer)).
    pub(super) fn new(raw: &str, policy: &CallbackPolicy) -> Result<Self, Error> {
        let url = Url::parse(raw).map_err(|e| {
            Error::new(
                ErrorKind::InvalidHandshakeHeader,
                format!(
                    "`WebHook-Request-Callback` is not an absolute URL ({e}): `{}`",
                    excerpt(raw)
                ),
            )
        })?;
        let p = &policy.0;
        match url.scheme() {
            "https" => {}
            "http" if p.allow_http => {}
            other => {
                return Err(refused(format_args!(
                    "the callback URL must be https, got `{other}`"
                )));
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused("the callback URL must not carry credentials"));
        }
        let Some(host) = url.host_str() else {
            return Err(refused("the callback URL has no host"));
        };
        if let Some(hosts) = &p.hosts
            && !hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
        {
            return Err(refused(format_args!(
                "the callback host `{}` is not in the allowlist",
                excerpt(host)
            )));
        }
        Ok(Self {
            url,
            policy: policy.clone(),
        })
    }

    /// The callback URL.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Resolves the callback host and checks its addresses, then answers: 200
    /// without grant headers and the [`Confirmation`] to run, or the 403 refusal.
    pub async fn answer(self) -> (Reply, Option<Confirmation>) {
        match self.check().await {
            Ok(confirmation) => (Reply::new(200), Some(confirmation)),
            Err(error) => {
                tracing::warn!(
                    target: "hookgate::handshake",
                    url = %self.url,
                    reason = %error.detail(),
                    "validation callback refused"
                );
                (Reply::from(error.problem()), None)
            }
        }
    }

    async fn check(&self) -> Result<Confirmation, Error> {
        let p = &self.policy.0;
        let port = self.url.port_or_known_default().unwrap_or(443);
        let addrs: Vec<SocketAddr> = match self.url.host() {
            Some(url::Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(url::Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
                .await
                .map_err(|e| {
                    refused(format_args!(
                        "the callback host `{}` does not resolve: {e}",
                        excerpt(name)
                    ))
                })?
                .collect(),
            None => return Err(refused("the callback URL has no host")),
        };
        if addrs.is_empty() {
            return Err(refused("the callback host resolves to no address"));
        }
        if !p.allow_private
            && let Some(bad) = addrs.iter().find(|a| is_internal(a.ip()))
        {
            return Err(refused(format_args!(
                "the callback host resolves to {}, a loopback, private or link-local address",
                bad.ip()
            )));
        }
        let mut request = OutboundRequest::new(p.method, self.url.clone());
        request.addrs = addrs;
        request.timeout = p.timeout;
        request.connect_timeout = p.timeout;
        Ok(Confirmation {
            request,
            policy: self.policy.clone(),
        })
    }
}

/// Why a confirmation gave up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the validation callback was not confirmed after {attempts} attempt(s): {last}")]
pub struct ConfirmError {
    /// How many attempts were made.
    pub attempts: u32,
    /// What the last attempt ended with.
    pub last: String,
}

impl Confirmation {
    /// The callback URL.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.request.url
    }

    /// Sends the confirmation, retrying with backoff until a 2xx answer or the
    /// policy's attempts run out. Each attempt is a `tracing` event (target
    /// `hookgate::handshake`). Needs a tokio runtime (its timer).
    ///
    /// # Errors
    /// [`ConfirmError`] when no attempt got a 2xx answer.
    pub async fn run(self) -> Result<(), ConfirmError> {
        let p = &self.policy.0;
        let mut wait = p.backoff;
        let mut last = String::new();
        for attempt in 1..=p.attempts {
            let outcome = tokio::time::timeout(p.timeout, p.client.send(self.request.clone()))
                .await
                .unwrap_or_else(|_| Err(ClientError(format!("timed out after {:?}", p.timeout))));
            match outcome {
                Ok(response) if (200..300).contains(&response.status) => {
                    tracing::info!(
                        target: "hookgate::handshake",
                        url = %self.request.url, attempt, status = response.status,
                        "validation callback confirmed"
                    );
                    return Ok(());
                }
                Ok(response) => last = format!("status {}", response.status),
                Err(error) => last = error.0,
            }
            tracing::warn!(
                target: "hookgate::handshake",
                url = %self.request.url, attempt, of = p.attempts, outcome = %last,
                "validation callback attempt failed"
            );
            if attempt < p.attempts {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
            }
        }
        Err(ConfirmError {
            attempts: p.attempts,
            last,
        })
    }
}

impl HandshakePolicy {
    /// The callback policy, when grant by callback is enabled.
    #[must_use]
    pub fn callback(&self) -> Option<&CallbackPolicy> {
        self.0.callback.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::is_internal;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "20.1.2.3",
            "8.8.8.8",
            "100.128.0.1",
            "2603:1000::1",
            "::ffff:20.1.2.3",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
