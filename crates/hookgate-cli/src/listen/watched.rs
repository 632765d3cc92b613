//! A connection's socket (plain or TLS) with the idle timeout, and the count of
//! the requests it is handling, which the idle timeout and HTTP/2's idle close
//! read.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// How many requests a connection is handling; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Activity(Arc<watch::Sender<usize>>);

impl Activity {
    pub(crate) fn new() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }

    /// A request begins; it ends when the guard drops.
    pub(crate) fn enter(&self) -> Busy {
        self.0.send_modify(|n| *n += 1);
        Busy(Arc::clone(&self.0))
    }

    fn busy(&self) -> bool {
        *self.0.borrow() > 0
    }

    /// Resolves once no request has been open for `first` (counted from now), or,
    /// after a request, for `then`.
    pub(crate) async fn idle(&self, first: Duration, then: Duration) {
        let mut open = self.0.subscribe();
        let mut wait = first;
        loop {
            let _ = open.wait_for(|n| *n == 0).await;
            tokio::select! {
                () = tokio::time::sleep(wait) => return,
                _ = open.changed() => wait = then,
            }
        }
    }
}

/// One request being handled, while it lives.
#[derive(Debug)]
pub(crate) struct Busy(Arc<watch::Sender<usize>>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// The connection's socket, closed (`TimedOut`) after `idle` without a byte read or
/// written while no request is being handled.
#[derive(Debug)]
pub(crate) struct Watched<T> {
    io: T,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    busy: Activity,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Watched<T> {
    pub(crate) fn new(io: T, idle: Duration, busy: Activity) -> Self {
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
    fn waiting<R>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        if self.busy.busy() {
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

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Watched<T> {
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

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Watched<T> {
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
