//! Serving HTTP/1 with hyper directly, so that no stranger can hold a connection:
//! `axum::serve` installs no hyper timer, so a connection that sends half a request,
//! or nothing, was held for as long as it liked (a file descriptor and ~21 kB each,
//! with no cap on their number).
//!
//! | limit | what it bounds | default |
//! |---|---|---|
//! | `--header-timeout` | the time to send a request's head (request line and headers) from when the connection is ready for one: a new connection that sends nothing, one that sends half a head, and the idle wait of a kept-alive connection between requests (hyper's header timer covers that wait too) | 10 s |
//! | `--idle-timeout` | the time without a byte read or written on a connection while no request is being handled: an answer whose client does not read it | 60 s |
//! | `--request-timeout` | a request in all, from its head to its answer (its body read and its delivery handled): past it, 408 problem+json, the claims released | 60 s |
//! | `--max-connections` | connections open at once; more wait in the listen backlog (the kernel's) until one closes | 4096 |
//!
//! A closed connection gets no answer (hyper closes it; a 408 is optional in HTTP).
//! At the stop signal the listener stops accepting, every connection finishes the
//! request it is in and closes (hyper's graceful shutdown), and [`serve`] returns
//! when all are closed.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hookgate::Problem;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

/// What a connection may hold; see the [module docs](self) (the defaults are the
/// settings', in `config/server.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) header_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) max_connections: usize,
}

/// Serves `router` on `listener` within `limits` until `stopped` changes (or its
/// sender is dropped), then until every connection has closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
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
        tokio::spawn(async move {
            connection(stream, router, limits, stopped).await;
            drop(permit);
        });
    }
    drop(listener);
    // Every connection gives its place back when it closes.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// One connection, until it closes.
async fn connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    mut stopped: watch::Receiver<()>,
) {
    let busy = Arc::new(AtomicUsize::new(0));
    let io = Watched::new(stream, limits.idle_timeout, Arc::clone(&busy));
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        let guard = Busy::enter(&busy);
        async move {
            let answer = tokio::time::timeout(
                limits.request_timeout,
                router.oneshot(request.map(Body::new)),
            )
            .await;
            drop(guard);
            Ok::<_, std::convert::Infallible>(match answer {
                Ok(Ok(response)) => response,
                Ok(Err(never)) => match never {},
                Err(_) => too_slow(limits.request_timeout),
            })
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // A timeout, a reset or a malformed request: the connection is gone; nothing
        // a stranger sends is worth more than a debug line.
        tracing::debug!(error = %e, "connection closed");
    }
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

/// Counts the requests a connection is handling while one is alive.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(count))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The connection's socket, closed (`TimedOut`) after `idle` without a byte read or
/// written while no request is being handled (`busy` is 0).
struct Watched {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    busy: Arc<AtomicUsize>,
}

impl Watched {
    fn new(io: TcpStream, idle: Duration, busy: Arc<AtomicUsize>) -> Self {
        Self {
            io,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            busy,
        }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    /// For an operation that is waiting: an error once the deadline passed with no
    /// request being handled.
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        if self.busy.load(Ordering::Acquire) > 0 {
            self.touch();
            return Poll::Pending;
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no byte read or written within the idle timeout",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// What a write gave: bytes written keep the connection alive; a write that
    /// waits is [`waiting`](Self::waiting).
    fn wrote(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(result) => {
                if matches!(result, Ok(n) if n > 0) {
                    self.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => self.waiting(cx),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.waiting(cx),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        this.wrote(cx, written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Pending => this.waiting(cx),
            ready => ready,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.wrote(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}
