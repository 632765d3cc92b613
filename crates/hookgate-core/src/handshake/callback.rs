//! Grant by callback: confirm a handshake with a request to `WebHook-Request-Callback`.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Uri;

use crate::client::{BoxFuture, ClientError, HttpClient, OutboundMethod, OutboundRequest};
use crate::error::{ConfigError, Error, ErrorKind, excerpt};
use crate::reply::Reply;

use super::special_purpose::special_block;

/// How validation callbacks are confirmed and guarded.
///
/// The callback URL comes from the request, so calling it is a server-side request
/// forgery risk. [`CallbackPolicy`] guards it: the origin must be allowed, the URL
/// must be `https` (unless [`allow_http`](CallbackPolicyBuilder::allow_http)), its
/// host must be in the allowlist when one is set, and every address its host resolves
/// to must be public: in no block of the IANA IPv4 and IPv6 special-purpose address
/// registries (loopback, private, link-local, unique-local, shared address space,
/// documentation, benchmarking, translation prefixes such as NAT64, 6to4 and Teredo,
/// discard-only, …, every entry, whole, with IPv4-mapped addresses judged by the
/// IPv4 address they map), nor multicast, site-local, IPv4-compatible or
/// IPv4-translated IPv6, unless
/// [`allow_private_addresses`](CallbackPolicyBuilder::allow_private_addresses). The
/// request then goes to exactly the addresses that were checked. The table, one row
/// per registry entry with its RFC, is in the source file
/// `handshake/special_purpose.rs`; a refusal's log line names the row.
///
/// What a callback may cost is bounded too:
/// - the host name is resolved within
///   [`resolve_timeout`](CallbackPolicyBuilder::resolve_timeout) (default 5 s); a
///   name that does not resolve in time is refused (403 `callback-refused`) and
///   the expiry is logged;
/// - at most [`max_concurrent`](CallbackPolicyBuilder::max_concurrent) callbacks
///   (default 64) are in progress at once, from the lookup of the host to the
///   last attempt of the confirmation; a handshake beyond that is answered 429
///   `callback-busy` with `Retry-After: 10`, and the sender retries it later;
/// - each attempt has [`timeout`](CallbackPolicyBuilder::timeout) in all, body
///   included, and reads at most 64 KiB of the answer; the attempts and the waits
///   between them are bounded ([`attempts`](CallbackPolicyBuilder::attempts),
///   [`backoff`](CallbackPolicyBuilder::backoff)): with the defaults a callback
///   target that never answers holds its place for at most about 50 s (4 attempts
///   of 10 s, 7 s of waits between them);
/// - the HTTP client is built once, with the policy, and shared by every
///   confirmation.
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
    resolve_timeout: Duration,
    resolver: Option<Arc<dyn CallbackResolver>>,
    slots: Arc<Slots>,
}

/// The `Retry-After` seconds of a handshake refused because too many callbacks
/// are in progress.
const BUSY_RETRY_AFTER: u32 = 10;

/// The most bytes read from the answer to a confirmation.
const CONFIRMATION_BODY_LIMIT: usize = 64 * 1024;

impl CallbackPolicy {
    /// A builder: `GET`, 10 s per attempt, 4 attempts 1 s apart then doubling,
    /// https only, public addresses only, any host, the system resolver within 5 s,
    /// at most 64 callbacks at once.
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
            resolve_timeout: Duration::from_secs(5),
            resolver: None,
            max_concurrent: 64,
        }
    }

    /// How many callbacks are in progress now (looking up their host or
    /// confirming), out of [`max_concurrent`](CallbackPolicyBuilder::max_concurrent).
    #[must_use]
    pub fn in_progress(&self) -> usize {
        self.0.slots.used.load(Ordering::Acquire)
    }
}

/// Resolves the host names of callback URLs; see
/// [`CallbackPolicyBuilder::resolver`]. The default is the system resolver
/// (`getaddrinfo`, on tokio's blocking pool).
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// use hookgate_core::client::BoxFuture;
/// use hookgate_core::handshake::CallbackResolver;
///
/// /// Every name is one public address (for a test).
/// #[derive(Debug)]
/// struct Fixed;
///
/// impl CallbackResolver for Fixed {
///     fn resolve(&self, _host: &str, port: u16) -> BoxFuture<std::io::Result<Vec<SocketAddr>>> {
///         Box::pin(async move { Ok(vec![SocketAddr::from((Ipv4Addr::new(20, 1, 2, 3), port))]) })
///     }
/// }
/// ```
pub trait CallbackResolver: fmt::Debug + Send + Sync + 'static {
    /// The addresses of `host` (a lowercase DNS name, never an IP address), each
    /// with `port`. The policy waits for at most its
    /// [`resolve_timeout`](CallbackPolicyBuilder::resolve_timeout), then drops the
    /// future. What the error says is logged, never answered to the caller.
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<io::Result<Vec<SocketAddr>>>;
}

/// The count of callbacks in progress.
#[derive(Debug)]
struct Slots {
    max: usize,
    used: AtomicUsize,
}

/// One callback in progress: taken before the host is looked up, given back when
/// dropped (when the confirmation ends, or when the handshake is refused).
#[derive(Debug)]
struct Slot(Arc<Slots>);

impl Slot {
    fn take(slots: &Arc<Slots>) -> Option<Self> {
        slots
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < slots.max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(Arc::clone(slots)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.used.fetch_sub(1, Ordering::AcqRel);
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
    resolve_timeout: Duration,
    resolver: Option<Arc<dyn CallbackResolver>>,
    max_concurrent: usize,
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

    /// Allows callbacks to loopback, private, link-local and the other
    /// special-purpose addresses (see [`CallbackPolicy`]). Off by default.
    pub fn allow_private_addresses(mut self, yes: bool) -> Self {
        self.allow_private = yes;
        self
    }

    /// The HTTP client to confirm with (default: a `client::ReqwestClient` built
    /// with the policy, with the `callback` feature). It must connect to the
    /// [`addrs`](crate::client::OutboundRequest::addrs) of each request and no
    /// others, and honour its timeout and body limit.
    pub fn client(mut self, client: Arc<dyn HttpClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// The time allowed to resolve the callback host (default 5 s). A host that
    /// does not resolve in time is refused (403 `callback-refused`, which says so)
    /// and the expiry is logged; no confirmation is sent. The handshake's answer
    /// waits for the lookup, so this bounds it too.
    ///
    /// The system resolver cannot be interrupted: a lookup that outlives the
    /// timeout keeps its place among the [`max_concurrent`](Self::max_concurrent)
    /// callbacks until it returns, so slow names cannot pile up threads.
    pub fn resolve_timeout(mut self, timeout: Duration) -> Self {
        self.resolve_timeout = timeout;
        self
    }

    /// Resolves callback hosts with `resolver` instead of the system resolver
    /// (a resolver of the application's own, or a fixed one in tests).
    pub fn resolver(mut self, resolver: Arc<dyn CallbackResolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The most callbacks in progress at once (default 64), from the lookup of
    /// the host to the end of the confirmation. When that many are in progress, a
    /// new handshake with `WebHook-Request-Callback` is answered 429
    /// `callback-busy` with `Retry-After: 10` (the sender retries it) and nothing is
    /// looked up or sent. A handshake whose callback is refused does not count.
    pub fn max_concurrent(mut self, max: usize) -> Self {
        self.max_concurrent = max;
        self
    }

    /// Checks the configuration and builds the policy, with its HTTP client.
    ///
    /// # Errors
    /// [`ConfigError`] for a zero timeout or resolve timeout, 0 or more than 10
    /// attempts, a zero `max_concurrent`, an empty host allowlist, no client
    /// (neither given nor the `callback` feature), or a default client that cannot
    /// be built.
    pub fn build(self) -> Result<CallbackPolicy, ConfigError> {
        if self.timeout.is_zero() {
            return Err(ConfigError("the callback timeout must not be zero".into()));
        }
        if self.resolve_timeout.is_zero() {
            return Err(ConfigError(
                "the callback resolve timeout must not be zero".into(),
            ));
        }
        if self.max_concurrent == 0 {
            return Err(ConfigError(
                "max_concurrent callbacks must be at least 1".into(),
            ));
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
            None => default_client(self.timeout)?,
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
            resolve_timeout: self.resolve_timeout,
            resolver: self.resolver,
            slots: Arc::new(Slots {
                max: self.max_concurrent,
                used: AtomicUsize::new(0),
            }),
        })))
    }
}

/// The client of every confirmation of a policy: built once, with the policy.
#[cfg(feature = "callback")]
fn default_client(connect_timeout: Duration) -> Result<Arc<dyn HttpClient>, ConfigError> {
    Ok(Arc::new(
        crate::client::ReqwestClient::with_connect_timeout(connect_timeout)?,
    ))
}

#[cfg(not(feature = "callback"))]
fn default_client(_: Duration) -> Result<Arc<dyn HttpClient>, ConfigError> {
    Err(ConfigError(
        "no HTTP client for callbacks: enable the `callback` feature or call client()".into(),
    ))
}

/// A handshake to be granted by callback, once its URL has passed the address check;
/// see [`PendingCallback::answer`].
#[derive(Debug)]
#[must_use]
pub struct PendingCallback {
    url: Uri,
    host: Host,
    port: u16,
    policy: CallbackPolicy,
}

/// The host of a callback URL, in the form the WHATWG URL parser gives it.
#[derive(Debug)]
enum Host {
    Ip(IpAddr),
    /// Lowercase ASCII.
    Domain(String),
}

/// A confirmation to send after the handshake was answered: run
/// [`Confirmation::run`] in the background.
#[derive(Debug)]
#[must_use]
pub struct Confirmation {
    request: OutboundRequest,
    policy: CallbackPolicy,
    /// Its place among the callbacks in progress, until it is dropped.
    _slot: Slot,
}

fn refused(why: impl fmt::Display) -> Error {
    Error::new(ErrorKind::CallbackRefused, why.to_string())
}

impl PendingCallback {
    /// Checks the URL against the policy's scheme and host rules (the address check
    /// needs DNS and happens in [`answer`](Self::answer)).
    pub(super) fn new(raw: &str, policy: &CallbackPolicy) -> Result<Self, Error> {
        let p = &policy.0;
        let malformed = |why: &dyn fmt::Display| {
            Error::new(
                ErrorKind::InvalidHandshakeHeader,
                format!(
                    "`WebHook-Request-Callback` is not an absolute URL ({why}): `{}`",
                    excerpt(raw)
                ),
            )
        };
        let scheme = scheme_of(raw).ok_or_else(|| malformed(&"no scheme"))?;
        match scheme.as_str() {
            "https" => {}
            "http" if p.allow_http => {}
            other => {
                return Err(refused(format_args!(
                    "the callback URL must be https, got `{}`",
                    excerpt(other)
                )));
            }
        }
        let uri: Uri = raw.parse().map_err(|e| malformed(&e))?;
        let authority = uri
            .authority()
            .ok_or_else(|| malformed(&"no host"))?
            .as_str();
        if authority.contains('@') {
            return Err(refused("the callback URL must not carry credentials"));
        }
        let (host_text, port_text) = split_authority(authority);
        let host = parse_host(host_text).map_err(|why| malformed(&why))?;
        let default_port = if scheme == "https" { 443 } else { 80 };
        let port = match port_text {
            None | Some("") => default_port,
            Some(digits) => digits
                .parse::<u16>()
                .ok()
                .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| malformed(&"the port is not a number from 0 to 65535"))?,
        };
        let host_str = host.to_string();
        if let Some(hosts) = &p.hosts
            && !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host_str))
        {
            return Err(refused(format_args!(
                "the callback host `{}` is not in the allowlist",
                excerpt(&host_str)
            )));
        }
        // The URL that is called: the scheme and host as checked, the port unless
        // it is the default, the path and query as given (no fragment).
        let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let canonical = if port == default_port {
            format!("{scheme}://{host_str}{path}")
        } else {
            format!("{scheme}://{host_str}:{port}{path}")
        };
        let url = canonical.parse().map_err(|e| malformed(&e))?;
        Ok(Self {
            url,
            host,
            port,
            policy: policy.clone(),
        })
    }

    /// The callback URL, as it will be called: scheme and host normalized as the
    /// WHATWG URL parser does (lowercase; an IPv4 address in dotted form), the
    /// port only when it is not the scheme's default, no fragment.
    #[must_use]
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// Resolves the callback host and checks its addresses, then answers: 200
    /// without grant headers and the [`Confirmation`] to run, the 403 refusal, or
    /// 429 with `Retry-After` when the policy's
    /// [`max_concurrent`](CallbackPolicyBuilder::max_concurrent) callbacks are in
    /// progress. The confirmation keeps its place among them until it is dropped.
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
        let (addrs, slot) = match &self.host {
            // An address is checked before it takes a place: a refusal costs none.
            Host::Ip(ip) => {
                let addrs = vec![SocketAddr::new(*ip, self.port)];
                self.guard(&addrs)?;
                (addrs, self.take_slot()?)
            }
            Host::Domain(name) => {
                let slot = self.take_slot()?;
                let (addrs, slot) = self.resolve(name, slot).await?;
                self.guard(&addrs)?;
                (addrs, slot)
            }
        };
        let mut request = OutboundRequest::new(p.method, self.url.clone());
        request.addrs = addrs;
        request.timeout = p.timeout;
        request.connect_timeout = p.timeout;
        request.body_limit = CONFIRMATION_BODY_LIMIT;
        Ok(Confirmation {
            request,
            policy: self.policy.clone(),
            _slot: slot,
        })
    }

    /// A place among the callbacks in progress, or the 429 refusal.
    fn take_slot(&self) -> Result<Slot, Error> {
        let slots = &self.policy.0.slots;
        Slot::take(slots).ok_or_else(|| {
            Error::new(
                ErrorKind::CallbackBusy,
                format!(
                    "{} validation callbacks are in progress, the most this receiver \
                     runs at once; retry the handshake later",
                    slots.max
                ),
            )
            .with_retry_after(BUSY_RETRY_AFTER)
        })
    }

    /// Refuses addresses that are internal or special-purpose, unless allowed.
    fn guard(&self, addrs: &[SocketAddr]) -> Result<(), Error> {
        if addrs.is_empty() {
            return Err(refused("the callback host resolves to no address"));
        }
        if !self.policy.0.allow_private
            && let Some((bad, block)) = addrs
                .iter()
                .find_map(|a| special_block(a.ip()).map(|block| (a.ip(), block)))
        {
            tracing::warn!(
                target: "hookgate::handshake", address = %bad, block = %block,
                "callback refused: an internal or special-purpose address"
            );
            return Err(refused(
                "the callback URL leads to a loopback, private, link-local or other \
                 special-purpose address",
            ));
        }
        Ok(())
    }

    /// Resolves `name` within the policy's resolve timeout. The slot comes back
    /// with the addresses; a lookup of the system resolver that outlives the
    /// timeout keeps it until the lookup returns.
    async fn resolve(&self, name: &str, slot: Slot) -> Result<(Vec<SocketAddr>, Slot), Error> {
        let p = &self.policy.0;
        let port = self.port;
        let lookup: BoxFuture<io::Result<(Vec<SocketAddr>, Slot)>> = match &p.resolver {
            Some(resolver) => {
                let addrs = resolver.resolve(name, port);
                Box::pin(async move { addrs.await.map(|addrs| (addrs, slot)) })
            }
            None => system_lookup(name.to_owned(), port, slot),
        };
        // What the resolver said, and which addresses a name has, is logged, not
        // told to the (unauthenticated) caller: it would map the network for them.
        match tokio::time::timeout(p.resolve_timeout, lookup).await {
            Ok(Ok(found)) => Ok(found),
            Ok(Err(error)) => {
                tracing::warn!(
                    target: "hookgate::handshake", host = %name, %error,
                    "callback host does not resolve"
                );
                Err(refused(format_args!(
                    "the callback host `{}` could not be resolved",
                    excerpt(name)
                )))
            }
            Err(_) => {
                tracing::warn!(
                    target: "hookgate::handshake", host = %name,
                    timeout = ?p.resolve_timeout,
                    "callback host lookup timed out; no confirmation is sent"
                );
                Err(refused(format_args!(
                    "the callback host `{}` did not resolve within {:?}",
                    excerpt(name),
                    p.resolve_timeout
                )))
            }
        }
    }
}

/// Resolves `name` with the system resolver on the blocking pool (as
/// `tokio::net::lookup_host` does).
fn system_lookup(
    name: String,
    port: u16,
    slot: Slot,
) -> BoxFuture<io::Result<(Vec<SocketAddr>, Slot)>> {
    on_blocking_pool(
        move || {
            (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
        },
        slot,
    )
}

/// Runs `lookup` on the blocking pool. It holds `slot` until it returns, even
/// when nobody waits for it any more (a blocking call cannot be interrupted).
fn on_blocking_pool(
    lookup: impl FnOnce() -> io::Result<Vec<SocketAddr>> + Send + 'static,
    slot: Slot,
) -> BoxFuture<io::Result<(Vec<SocketAddr>, Slot)>> {
    let task = tokio::task::spawn_blocking(move || lookup().map(|addrs| (addrs, slot)));
    Box::pin(async move { task.await.map_err(io::Error::other)? })
}

impl fmt::Display for Host {
    /// As the WHATWG URL parser serializes a host: an IPv6 address in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(IpAddr::V6(ip)) => write_ipv6(f, *ip),
            Self::Ip(IpAddr::V4(ip)) => ip.fmt(f),
            Self::Domain(name) => f.write_str(name),
        }
    }
}

/// An IPv6 address as WHATWG serializes it: in brackets, hex pieces, the first
/// longest run of two or more zero pieces as `::`, never a dotted IPv4 tail
/// (`[::ffff:7f00:1]`, where `Ipv6Addr`'s `Display` writes `::ffff:127.0.0.1`).
fn write_ipv6(f: &mut fmt::Formatter<'_>, ip: Ipv6Addr) -> fmt::Result {
    let pieces = ip.segments();
    // The first longest run of zero pieces, if it is at least two long.
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &piece) in pieces.iter().enumerate() {
        if piece == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    f.write_str("[")?;
    let mut i = 0;
    while i < pieces.len() {
        if best.1 >= 2 && i == best.0 {
            f.write_str(if i == 0 { "::" } else { ":" })?;
            i += best.1;
            continue;
        }
        write!(f, "{:x}", pieces[i])?;
        if i + 1 < pieces.len() {
            f.write_str(":")?;
        }
        i += 1;
    }
    f.write_str("]")
}

/// The lowercase scheme of an absolute URL (RFC 3986: a letter, then letters,
/// digits, `+`, `-` or `.`, then `:`).
fn scheme_of(raw: &str) -> Option<String> {
    let (scheme, _) = raw.trim_start().split_once(':')?;
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    (first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))
    .then(|| scheme.to_ascii_lowercase())
}

/// The host and the port text (after the last `:` outside brackets) of an
/// authority without user information.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    let after_brackets = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[after_brackets..].rfind(':') {
        Some(i) => (
            &authority[..after_brackets + i],
            Some(&authority[after_brackets + i + 1..]),
        ),
        None => (authority, None),
    }
}

/// Parses a URL host as the WHATWG URL parser does for `http` and `https`, for
/// the hosts a callback may have: an IPv6 address in brackets; a name whose last
/// label is a number, read as an IPv4 address (`127.1`, `0x7f.0.0.1` and
/// `2130706433` are all 127.0.0.1); else a DNS name, lowercased. Stricter than
/// WHATWG where no callback server can be meant: a name with characters other
/// than ASCII letters, digits, `-`, `_` and `.` is malformed (WHATWG would map
/// Unicode and some punctuation), and so is a percent-encoded one (`http::Uri`
/// refuses `%` in a host; WHATWG would decode it).
fn parse_host(text: &str) -> Result<Host, String> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("an IPv6 host needs its closing `]`")?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| format!("`[{}]` is not an IPv6 address", excerpt(inner)));
    }
    let name = text.to_ascii_lowercase();
    if name.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(format!(
            "the host `{}` is not a DNS name or an IP address",
            excerpt(&name)
        ));
    }
    if ends_in_a_number(&name) {
        return whatwg_ipv4(&name)
            .map(|ip| Host::Ip(IpAddr::V4(ip)))
            .ok_or_else(|| format!("the host `{}` is not an IPv4 address", excerpt(&name)));
    }
    Ok(Host::Domain(name))
}

/// WHATWG "ends in a number": the last label (a trailing empty one ignored) is
/// decimal digits, or `0x` and hex digits.
fn ends_in_a_number(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let last = name.rsplit('.').next().unwrap_or_default();
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    last.strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// WHATWG IPv4 parsing: one to four parts, each decimal, octal (leading `0`) or
/// hex (`0x`); all but the last at most 255, the last filling the remaining bytes.
fn whatwg_ipv4(name: &str) -> Option<Ipv4Addr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if part.is_empty() {
            return None;
        }
        let n = if digits.is_empty() {
            0
        } else {
            u64::from_str_radix(digits, radix).ok()?
        };
        numbers.push(n);
    }
    let (last, init) = numbers.split_last()?;
    if init.iter().any(|&n| n > 255) {
        return None;
    }
    let free_bits = 8 * (4 - init.len() as u32);
    if free_bits < 64 && *last >= 1u64 << free_bits {
        return None;
    }
    let mut ip = *last;
    for (i, &n) in init.iter().enumerate() {
        ip += n << (8 * (3 - i as u32));
    }
    u32::try_from(ip).ok().map(Ipv4Addr::from)
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
    /// The callback URL, as it will be called.
    #[must_use]
    pub fn url(&self) -> &Uri {
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

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use super::{CallbackPolicy, CallbackResolver, PendingCallback, special_block};

    fn is_internal(ip: std::net::IpAddr) -> bool {
        special_block(ip).is_some()
    }
    use crate::ErrorKind;
    use crate::client::{BoxFuture, ClientError, HttpClient, OutboundRequest, OutboundResponse};

    #[derive(Debug)]
    struct NoClient;

    impl HttpClient for NoClient {
        fn send(&self, _: OutboundRequest) -> BoxFuture<Result<OutboundResponse, ClientError>> {
            Box::pin(async { Err(ClientError("no client in this test".into())) })
        }
    }

    fn lenient() -> CallbackPolicy {
        CallbackPolicy::builder()
            .allow_http(true)
            .client(Arc::new(NoClient))
            .build()
            .unwrap()
    }

    /// The host, port and URL the callback parser gives agree with the WHATWG
    /// parser (the `url` crate) it replaced, and it fails where that one fails.
    #[test]
    fn callback_urls_parse_as_whatwg_does() {
        let policy = lenient();
        for raw in [
            "https://example.com/cb",
            "https://EXAMPLE.Com/cb?x=1",
            "https://example.com:443/a?b=c#fragment",
            "https://example.com:8443",
            "http://example.com:80/",
            "http://example.com:8080/x",
            "https://example.com./",
            "https://a_b.example/",
            "https://xn--bcher-kva.example/",
            "https://127.0.0.1/",
            "https://127.1/",
            "https://0x7f.0.0.1/",
            "https://0x7F.1/",
            "https://2130706433/",
            "https://0177.0.0.1/",
            "https://0/",
            "https://0x/",
            "https://10.0.0.1./",
            "https://[::1]/",
            "https://[::1]:8443/x",
            "https://[0:0:0:0:0:ffff:7f00:1]/",
            "https://[64:ff9b::a00:1]/",
            "https://[1:0:0:2:0:0:0:3]/",
            "https://[1:0:0:2:0:0:3:4]/",
            "https://[1:2:3:4:5:6:7:0]/",
            "https://[0:0:1:2:3:4:5:6]/",
            "https://[::]/",
            "https://[1:2:3:4:5:6:7:8]/",
            "https://[::1.2.3.4]/",
            "HTTPS://example.com/",
            "https://1.2.3.4.5/",
            "https://256.0.0.1/",
            "https://1.2.3.09/",
            "https://0x100000000/",
            "https://4294967296/",
            "https://foo.0x1/",
            "https://1..2/",
            "https://[::1/",
            "https://[1.2.3.4]/",
            "https://example.com:65536/",
            "https://example.com:x/",
            "https://",
        ] {
            let ours = PendingCallback::new(raw, &policy);
            match url::Url::parse(raw) {
                Ok(theirs) => {
                    let ours = ours.unwrap_or_else(|e| panic!("{raw}: {e:?}"));
                    assert_eq!(
                        ours.host.to_string(),
                        theirs.host_str().unwrap(),
                        "host of {raw}"
                    );
                    assert_eq!(
                        Some(ours.port),
                        theirs.port_or_known_default(),
                        "port of {raw}"
                    );
                    let mut theirs = theirs;
                    theirs.set_fragment(None);
                    assert_eq!(ours.url().to_string(), theirs.as_str(), "URL of {raw}");
                }
                Err(_) => {
                    let err = ours.map(|p| p.url().to_string()).unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::InvalidHandshakeHeader, "{raw}");
                }
            }
        }
    }

    #[test]
    fn callback_url_refusals() {
        let strict = CallbackPolicy::builder()
            .client(Arc::new(NoClient))
            .allow_hosts(["callbacks.example"])
            .build()
            .unwrap();
        for (raw, why) in [
            ("http://callbacks.example/", "https"),
            ("file:///etc/passwd", "https"),
            ("mailto:someone@example.com", "https"),
            ("https://user:pw@callbacks.example/", "credentials"),
            ("https://@callbacks.example/", "credentials"),
            ("https://other.example/", "allowlist"),
            ("https://CALLBACKS.example.evil/", "allowlist"),
        ] {
            let err = PendingCallback::new(raw, &strict).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::CallbackRefused, "{raw}");
            assert!(err.detail().contains(why), "{raw}: {}", err.detail());
        }
        let ok = PendingCallback::new("https://CallBacks.Example/cb", &strict).unwrap();
        assert_eq!(ok.url().to_string(), "https://callbacks.example/cb");
        // Malformed (400). The last four are URLs to WHATWG, which is lenient
        // with the slashes of `https` and decodes or maps odd hosts; a sender
        // writes `https://host/path`.
        for raw in [
            "not a url",
            "https://",
            "https://callbacks.example:99999/",
            "https://%63allbacks.example/",
            "https://callbacks!.example/",
            "https:///callbacks.example/cb",
            "https:callbacks.example/cb",
        ] {
            let err = PendingCallback::new(raw, &strict).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidHandshakeHeader, "{raw}");
        }
    }

    /// A resolver that never answers.
    #[derive(Debug)]
    struct Silent;

    impl CallbackResolver for Silent {
        fn resolve(&self, _: &str, _: u16) -> BoxFuture<std::io::Result<Vec<SocketAddr>>> {
            Box::pin(std::future::pending())
        }
    }

    /// Every name is `to`.
    #[derive(Debug)]
    struct Fixed(SocketAddr);

    impl CallbackResolver for Fixed {
        fn resolve(&self, _: &str, _: u16) -> BoxFuture<std::io::Result<Vec<SocketAddr>>> {
            let to = self.0;
            Box::pin(async move { Ok(vec![to]) })
        }
    }

    #[tokio::test]
    async fn a_lookup_that_does_not_end_is_refused_in_time_and_frees_its_slot() {
        let policy = CallbackPolicy::builder()
            .client(Arc::new(NoClient))
            .resolver(Arc::new(Silent))
            .resolve_timeout(Duration::from_millis(50))
            .max_concurrent(1)
            .build()
            .unwrap();
        for _ in 0..3 {
            let pending = PendingCallback::new("https://slow.example/cb", &policy).unwrap();
            let (reply, confirmation) = pending.answer().await;
            assert!(confirmation.is_none());
            let problem = reply.problem().expect("a problem");
            assert_eq!(reply.status(), 403);
            assert_eq!(problem.type_uri(), "urn:hookgate:problem:callback-refused");
            assert!(
                problem.detail().contains("did not resolve within 50ms"),
                "{problem:?}"
            );
            assert_eq!(policy.in_progress(), 0);
        }
    }

    /// A blocking lookup that outlives the timeout keeps its place until it
    /// returns: slow names cannot pile up blocking threads beyond the cap.
    #[tokio::test]
    async fn a_blocking_lookup_keeps_its_slot_until_it_returns() {
        let policy = lenient();
        let slot = super::Slot::take(&policy.0.slots).unwrap();
        let lookup = super::on_blocking_pool(
            || {
                std::thread::sleep(Duration::from_secs(1));
                Ok(Vec::new())
            },
            slot,
        );
        assert!(
            tokio::time::timeout(Duration::from_millis(20), lookup)
                .await
                .is_err()
        );
        assert_eq!(policy.in_progress(), 1, "the lookup still runs");
        for _ in 0..500 {
            if policy.in_progress() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the lookup did not give its place back within 5 s");
    }

    #[tokio::test]
    async fn callbacks_beyond_the_cap_are_429_until_one_ends() {
        let policy = CallbackPolicy::builder()
            .client(Arc::new(NoClient))
            .resolver(Arc::new(Fixed("20.1.2.3:443".parse().unwrap())))
            .max_concurrent(2)
            .build()
            .unwrap();
        let answer = |url: &str| PendingCallback::new(url, &policy).unwrap().answer();
        let (first, one) = answer("https://a.example/").await;
        let (second, two) = answer("https://20.1.2.4/").await;
        assert_eq!((first.status(), second.status()), (200, 200));
        assert_eq!(policy.in_progress(), 2);
        for url in ["https://c.example/", "https://20.1.2.5/"] {
            let (busy, none) = answer(url).await;
            assert!(none.is_none());
            assert_eq!(busy.status(), 429);
            assert!(busy.headers().contains(&("retry-after", "10".into())));
        }
        // A refused address takes no place, and says why even when all are taken.
        let (refused, _) = answer("https://10.0.0.1/").await;
        assert_eq!(refused.status(), 403);
        drop(one);
        assert_eq!(policy.in_progress(), 1);
        let (third, three) = answer("https://c.example/").await;
        assert_eq!(third.status(), 200);
        drop((two, three));
        assert_eq!(policy.in_progress(), 0);
        assert!(CallbackPolicy::builder().max_concurrent(0).build().is_err());
        assert!(
            CallbackPolicy::builder()
                .resolve_timeout(Duration::ZERO)
                .build()
                .is_err()
        );
    }

    /// A loopback server on a thread of its own that serves `connections`
    /// connections with `serve`, each on a thread, then stops.
    #[cfg(feature = "callback")]
    fn loopback_server(
        connections: usize,
        serve: fn(std::net::TcpStream),
    ) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = std::thread::spawn(move || {
            let mut handlers = Vec::new();
            for stream in listener.incoming().take(connections) {
                let stream = stream.unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                handlers.push(std::thread::spawn(move || serve(stream)));
            }
            for handler in handlers {
                handler.join().unwrap();
            }
        });
        (addr, thread)
    }

    /// Reads the request head (it has no body).
    #[cfg(feature = "callback")]
    fn read_head(stream: &mut std::net::TcpStream) -> String {
        use std::io::Read as _;
        let mut head = Vec::new();
        let mut byte = [0; 1];
        while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            head.push(byte[0]);
        }
        String::from_utf8_lossy(&head).into_owned()
    }

    /// The default client is built once, with the policy: confirmations, to an
    /// address or to a name, share it. A name goes to the address it was checked
    /// with (`.invalid` never resolves, so a second lookup could not reach the
    /// server).
    #[cfg(feature = "callback")]
    #[tokio::test]
    async fn confirmations_share_the_client_built_with_the_policy() {
        use std::io::Write as _;

        let builds = || crate::client::REQWEST_CLIENT_BUILDS.with(std::cell::Cell::get);
        let (addr, server) = loopback_server(4, |mut stream| {
            let head = read_head(&mut stream);
            assert!(head.starts_with("GET /cb"), "{head}");
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        });
        let before = builds();
        let policy = CallbackPolicy::builder()
            .allow_http(true)
            .allow_private_addresses(true)
            .resolver(Arc::new(Fixed(addr)))
            .build()
            .unwrap();
        assert_eq!(builds(), before + 1, "one client, built with the policy");
        for url in [
            format!("http://{addr}/cb1"),
            format!("http://pinned.invalid:{}/cb2", addr.port()),
            format!("http://{addr}/cb3"),
            format!("http://Pinned.Invalid:{}/cb4", addr.port()),
        ] {
            let (reply, confirmation) = PendingCallback::new(&url, &policy).unwrap().answer().await;
            assert_eq!(reply.status(), 200, "{url}");
            confirmation.unwrap().run().await.unwrap();
        }
        assert_eq!(builds(), before + 1, "no client built per confirmation");
        assert_eq!(policy.in_progress(), 0);
        join(server).await;
    }

    /// A callback target that streams an endless body, or never answers, costs
    /// at most the body limit and the attempts' timeouts.
    #[cfg(feature = "callback")]
    #[tokio::test]
    async fn endless_bodies_and_silent_targets_are_bounded() {
        use std::io::Write as _;

        let policy = CallbackPolicy::builder()
            .allow_http(true)
            .allow_private_addresses(true)
            .timeout(Duration::from_millis(300))
            .attempts(2)
            .backoff(Duration::from_millis(10))
            .build()
            .unwrap();
        let confirm = async |addr: SocketAddr| {
            let (reply, confirmation) = PendingCallback::new(&format!("http://{addr}/"), &policy)
                .unwrap()
                .answer()
                .await;
            assert_eq!(reply.status(), 200);
            confirmation.unwrap().run().await.unwrap_err()
        };

        // 1 GiB announced, sent in 64 KiB writes until the client goes away.
        let (addr, server) = loopback_server(2, |mut stream| {
            read_head(&mut stream);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n");
            stream
                .set_write_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..16 * 1024 {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let error = confirm(addr).await;
        assert_eq!(error.attempts, 2);
        assert!(error.last.contains("over 65536 bytes"), "{error}");
        join(server).await;

        // Reads the request and answers nothing for 3 s.
        let (addr, server) = loopback_server(2, |mut stream| {
            read_head(&mut stream);
            std::thread::sleep(Duration::from_secs(3));
        });
        // Both attempts time out while the target still holds the connection.
        let error = confirm(addr).await;
        assert_eq!(error.attempts, 2);
        assert!(
            error.last.contains("timed out") || error.last.contains("timeout"),
            "{error}"
        );
        assert_eq!(policy.in_progress(), 0);
        join(server).await;
    }

    /// Waits for a server thread without blocking the runtime, which still has
    /// to close the client's connections.
    #[cfg(feature = "callback")]
    async fn join(server: std::thread::JoinHandle<()>) {
        tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
    }

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
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "::10.0.0.1",
            "::8.8.8.8",
            "fec0::1",
            "2001:db8::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2002:a00:1::1",
            "2002:7f00:1::1",
            "2002:1401:203::1",
            "::ffff:0:7f00:1",
            "100::1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "20.1.2.3",
            "8.8.8.8",
            "100.128.0.1",
            "2603:1000::1",
            "::ffff:20.1.2.3",
            "198.20.0.1",
            "2001:4860::8888",
        ] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
