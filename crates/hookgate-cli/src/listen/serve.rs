//! Serving with hyper directly, so that no stranger can hold a connection:
//! `axum::serve` installs no hyper timer, so a connection that sends half a request,
//! or nothing, was held for as long as it liked (a file descriptor and ~21 kB each,
//! with no cap on their number). Plain HTTP/1.1, or with `--tls-cert` HTTPS with
//! HTTP/2 and HTTP/1.1 (ALPN; `config/tls.rs` has HTTP/2's limits).
//!
//! | limit | what it bounds | default |
//! |---|---|---|
//! | `--header-timeout` | the time to send a request's head (request line and headers) from when the connection is ready for one: a new connection that sends nothing, one that sends half a head, and the idle wait of a kept-alive connection between requests (hyper's header timer covers that wait too). HTTPS: the TLS handshake counts against it (what the handshake took is taken off the connection's header timeout); an HTTP/2 connection with no request open for this long is closed with GOAWAY | 10 s |
//! | `--idle-timeout` | the time without a byte read or written on a connection while no request is being handled: an answer whose client does not read it | 60 s |
//! | `--request-timeout` | a request in all, from its head to its answer (its body read and its delivery handled): past it, 408 problem+json, the claims released | 60 s |
//! | `--max-connections` | connections open at once; more wait in the listen backlog (the kernel's) until one closes | 4096 |
//!
//! A closed connection gets no answer (hyper closes it; a 408 is optional in HTTP).
//! Plain HTTP sent to an HTTPS port is answered 400 problem+json (`plain-http`) and
//! closed, so the mistake is plain to whoever made it. At the stop signal the
//! listener stops accepting, every connection finishes the request it is in and
//! closes (hyper's graceful shutdown; GOAWAY on HTTP/2), and [`serve`] returns when
//! all are closed.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use hookgate::Problem;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tokio_rustls::server::TlsStream;
use tower::ServiceExt as _;

use super::tls::Certificates;
use super::watched::{Activity, Watched};
use crate::config::H2Limits;

/// What a connection may hold; see the [module docs](self) (the defaults are the
/// settings', in `config/server.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// HTTPS on a listener: the certificate in place and HTTP/2's limits.
#[derive(Debug)]
pub(crate) struct Tls {
    pub(crate) certificates: Arc<Certificates>,
    pub(crate) h2: H2Limits,
}

/// Serves `router` on `listener` within `limits` (with `tls`, HTTPS) until
/// `stopped` changes (or its sender is dropped), then until every connection has
/// closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    tls: Option<Arc<Tls>>,
    mut stopped: watch::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // A place first: beyond the cap, connections wait in the backlog.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stopped.changed() => break,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE) or a connection reset before it was
                    // taken: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stopped = stopped.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => http1(stream, router, limits, limits.header_timeout, stopped).await,
                Some(tls) => https(stream, router, limits, &tls, stopped).await,
            }
            drop(permit);
        });
    }
    drop(listener);
    // Every connection gives its place back when it closes.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// What came in on an HTTPS port.
enum Accepted {
    Tls(Box<TlsStream<TcpStream>>),
    /// A request in plain HTTP (its first byte a letter, not a TLS record).
    Plain(TcpStream),
}

/// An HTTPS connection: the handshake within the header timeout, then HTTP/2 or
/// HTTP/1.1 as ALPN chose, with what is left of the header timeout for the first
/// request's head.
async fn https(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    tls: &Tls,
    stopped: watch::Receiver<()>,
) {
    let started = Instant::now();
    let acceptor = tls.certificates.acceptor();
    let accepted = tokio::time::timeout(limits.header_timeout, async move {
        let mut first = [0u8; 1];
        if !matches!(stream.peek(&mut first).await, Ok(1)) {
            return None;
        }
        if first[0].is_ascii_alphabetic() {
            return Some(Accepted::Plain(stream));
        }
        match acceptor.accept(stream).await {
            Ok(tls) => Some(Accepted::Tls(Box::new(tls))),
            Err(e) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                None
            }
        }
    })
    .await;
    let left = limits.header_timeout.saturating_sub(started.elapsed());
    match accepted {
        Ok(Some(Accepted::Tls(stream))) if !left.is_zero() => {
            if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                http2(*stream, router, limits, left, tls.h2, stopped).await;
            } else {
                http1(*stream, router, limits, left, stopped).await;
            }
        }
        Ok(Some(Accepted::Plain(stream))) => plain_http_refused(stream, limits).await,
        // Timed out, failed, or closed before a byte.
        _ => {}
    }
}

/// One HTTP/1.1 connection, until it closes; `first_head` is the header timeout
/// of this connection (less what a TLS handshake took).
async fn http1<T>(
    io: T,
    router: Router,
    limits: Limits,
    first_head: Duration,
    mut stopped: watch::Receiver<()>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = Watched::new(io, limits.idle_timeout, activity.clone());
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(first_head)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service(router, limits, activity));
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    closed(result);
}

/// One HTTP/2 connection, until it closes or has had no request open for the
/// header timeout (`first_head` for the first).
async fn http2<T>(
    io: T,
    router: Router,
    limits: Limits,
    first_head: Duration,
    h2: H2Limits,
    mut stopped: watch::Receiver<()>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Activity::new();
    let io = Watched::new(io, limits.idle_timeout, activity.clone());
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(h2.max_streams)
        .max_header_list_size(h2.max_header_list)
        .max_pending_accept_reset_streams(h2.max_pending_resets)
        .keep_alive_interval(h2.ping_interval)
        .keep_alive_timeout(h2.ping_timeout);
    let conn =
        builder.serve_connection(TokioIo::new(io), service(router, limits, activity.clone()));
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
        () = activity.idle(first_head, limits.header_timeout) => {
            // GOAWAY; a stream that began meanwhile finishes within its timeout.
            conn.as_mut().graceful_shutdown();
            tokio::time::timeout(limits.request_timeout, conn)
                .await
                .unwrap_or(Ok(()))
        }
    };
    closed(result);
}

/// The end of a connection, in the log.
fn closed(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // A timeout, a reset or a malformed request: the connection is gone; nothing
        // a stranger sends is worth more than a debug line.
        tracing::debug!(error = %e, "connection closed");
    }
}

/// Each request of a connection: through `router` within the request timeout,
/// counted in `activity` while it runs.
fn service(
    router: Router,
    limits: Limits,
    activity: Activity,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send + 'static,
> + Clone
+ Send
+ 'static {
    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let guard = activity.enter();
        async move {
            let answer = tokio::time::timeout(
                limits.request_timeout,
                router.oneshot(request.map(Body::new)),
            )
            .await;
            drop(guard);
            Ok::<_, Infallible>(match answer {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => too_slow(limits.request_timeout),
            })
        }
    })
}

/// Plain HTTP on an HTTPS port: its request answered 400 problem+json, then the
/// connection closed. Up to 64 KiB of its body is read first (within the header
/// timeout), so that a client still sending gets the answer rather than a reset.
async fn plain_http_refused(stream: TcpStream, limits: Limits) {
    let refuse = hyper::service::service_fn(move |request: hyper::Request<Incoming>| async move {
        let body = axum::body::to_bytes(Body::new(request.into_body()), 64 << 10);
        let _ = tokio::time::timeout(limits.header_timeout, body).await;
        let problem = Problem::new(
            400,
            "plain-http",
            "Plain HTTP sent to an HTTPS port",
            "this port speaks HTTPS only: send the request with https://",
        );
        Ok::<_, Infallible>(hookgate::tower::problem_response(&problem).map(Body::from))
    });
    let io = Watched::new(stream, limits.idle_timeout, Activity::new());
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(false)
        .serve_connection(TokioIo::new(io), refuse);
    closed(conn.await);
}

/// 408 problem+json for a request past `--request-timeout`.
fn too_slow(deadline: Duration) -> axum::response::Response {
    let problem = Problem::new(
        408,
        "request-timeout",
        "The request took too long",
        &format!(
            "the request was not received and handled within {} s; send it again",
            deadline.as_secs()
        ),
    );
    hookgate::tower::problem_response(&problem).map(Body::from)
}
