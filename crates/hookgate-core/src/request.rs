//! What the core needs of a request, so that every decision and every sequence of
//! steps lives here once and the adapters only translate.
//!
//! An adapter implements [`Incoming`] for its framework's request (the tower adapter
//! for `http::Request` parts and body, the actix-web adapter for `ServiceRequest`)
//! and [`BodyStream`] for its body type. The core then runs whole steps over it:
//! [`read_delivery`](crate::binding::read_delivery) (detect the mode, check
//! `Content-Length`, read the body within the limit, parse),
//! [`HandshakePolicy::respond`](crate::handshake::HandshakePolicy::respond), and the
//! whole stack in [`WebhookPolicy::admit`](crate::webhook::WebhookPolicy::admit).
//!
//! **A refusal before the body is read.** When the stack refuses a request whose
//! body it has not read (a 401 or 403 of authentication, a 413 for a
//! `Content-Length` over the limit, a 415, a handshake answer to a request with a
//! body), the adapters hand the reply to [`settle_refusal`]: it reads and discards up
//! to [`DRAIN_LIMIT`] (64 KiB) of the body within [`DRAIN_TIME`] (1 s), so that the
//! connection stays usable for the client's next request; when the body is not
//! finished by then (or is declared longer), or when the stack stopped reading it
//! midway (a 413 past the limit, a 408), the answer gets `Connection: close` on
//! HTTP/1.x (never on HTTP/2, where the header is forbidden; [`Incoming::is_http1`]).
//! What the servers do with a body left unread, as of hyper 1.x and actix-http
//! 3.20: hyper reads only what it already holds, then stops reading and closes the
//! connection after the answer, with the rest unread, which the client's kernel may
//! take as a reset (hyper's own `Connection: close` is added only when it knew
//! before writing the answer); actix-http's h1 dispatcher marks the answer
//! `Connection: close` itself and lingers, reading until the client is done, before
//! it closes (a dropped chunked payload it drains). The drain costs nothing on an
//! accepted request: its future is boxed, and only a refusal builds it.
//!
//! **No event.** [`carries_no_event`] says when a request carries no event at all,
//! for the optional extractors (`OptionalCloudEvent<T>` of hookgate-actix, axum's
//! `Option<CloudEvent<T>>`): they are `None` then, and refuse any other request
//! exactly as the plain extractor does.
//!
//! ```
//! use hookgate_core::request::{Incoming, read_body};
//! use hookgate_core::{HeaderList, ParseConfig, binding::read_delivery};
//!
//! /// A request held in memory (a test double; adapters wrap their framework's type).
//! struct Memory { headers: HeaderList, body: Option<bytes::Bytes> }
//!
//! impl Incoming for Memory {
//!     type Headers<'a> = &'a HeaderList;
//!     type Body = Option<bytes::Bytes>;
//!     fn method(&self) -> &str { "POST" }
//!     fn path(&self) -> &str { "/api/events" }
//!     fn query(&self) -> Option<&str> { None }
//!     fn headers(&self) -> &HeaderList { &self.headers }
//!     fn take_body(&mut self) -> Option<bytes::Bytes> { self.body.take() }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), hookgate_core::Error> {
//! let mut request = Memory {
//!     headers: HeaderList::new([("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t")]),
//!     body: Some("hello".into()),
//! };
//! let (delivery, body) = read_delivery(&mut request, &ParseConfig::default()).await?;
//! assert_eq!(delivery.events()[0].id(), "1");
//! assert_eq!(&body[..], b"hello"); // to hand on to the handler
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;

use crate::binding::carries_events;
use crate::headers::HeaderSource;
use crate::reply::Reply;

/// How much of a refused request's unread body [`settle_refusal`] reads and
/// discards, at most, to keep the connection usable: 64 KiB.
pub const DRAIN_LIMIT: usize = 64 * 1024;

/// How long [`settle_refusal`] waits for a refused request's body to end: 1 s.
pub const DRAIN_TIME: Duration = Duration::from_secs(1);

/// A request as the core sees it: method, path, query, headers and a body that can be
/// taken once.
pub trait Incoming {
    /// The header view.
    type Headers<'a>: HeaderSource
    where
        Self: 'a;
    /// The body.
    type Body: BodyStream;

    /// The method, in uppercase (`"POST"`).
    fn method(&self) -> &str;
    /// The path, without the query.
    fn path(&self) -> &str;
    /// The query string, without `?`.
    fn query(&self) -> Option<&str>;
    /// The headers.
    fn headers(&self) -> Self::Headers<'_>;
    /// Takes the body out of the request (an empty one when it was taken before).
    fn take_body(&mut self) -> Self::Body;

    /// Whether the request came over HTTP/1.0 or HTTP/1.1, where an answer may say
    /// `Connection: close` (default: `false`, and [`settle_refusal`] never adds it).
    fn is_http1(&self) -> bool {
        false
    }

    /// Whether the body is still in the request: not taken yet (default: `false`,
    /// and [`settle_refusal`] does not drain it).
    fn body_unread(&self) -> bool {
        false
    }
}

/// The reply to a refused request, once its body is dealt with; see the
/// [module docs](self). A body still in the request is read and discarded, up to
/// [`DRAIN_LIMIT`] within [`DRAIN_TIME`]; when it did not end there (or was
/// declared longer), or the stack had stopped reading it midway (a `413` or `408`
/// reply to a request whose body was taken), the reply gets `Connection: close` on
/// HTTP/1.x. The future is boxed: only a refusal builds it.
pub fn settle_refusal<R: Incoming>(
    request: &mut R,
    reply: Reply,
) -> Pin<Box<impl Future<Output = Reply> + '_>> {
    Box::pin(async move {
        let finished = if request.body_unread() {
            drain(request.take_body()).await
        } else {
            !matches!(reply.status(), 408 | 413)
        };
        if finished || !request.is_http1() {
            reply
        } else {
            reply.with_header("connection", "close")
        }
    })
}

/// Reads and discards `body`, up to [`DRAIN_LIMIT`] within [`DRAIN_TIME`]: `true`
/// when it ended there.
async fn drain<B: BodyStream>(body: B) -> bool {
    if body.exact_len().is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return false;
    }
    let mut body = std::pin::pin!(body);
    let read = async {
        let mut left = DRAIN_LIMIT;
        loop {
            match poll_fn(|cx| body.as_mut().poll_chunk(cx)).await {
                None => return true,
                Some(Err(_)) => return false,
                Some(Ok(chunk)) if chunk.len() > left => return false,
                Some(Ok(chunk)) => left -= chunk.len(),
            }
        }
    };
    within(DRAIN_TIME, read).await.unwrap_or(false)
}

/// Whether `request` carries no event at all: its method does not carry events
/// (anything but `POST`, `PUT` and `PATCH`), or it has no `ce-specversion`, no
/// `Content-Type` and an empty body (`Content-Length: 0`, or on HTTP/1.x neither
/// `Content-Length` nor `Transfer-Encoding`). The optional extractors are `None` for
/// such a request and refuse any other that is not a good delivery, as the plain
/// extractors do: a body that is not a CloudEvent is a 415, not "no event".
#[must_use]
pub fn carries_no_event<R: Incoming>(request: &R) -> bool {
    if !carries_events(request.method()) {
        return true;
    }
    let headers = request.headers();
    if headers.get("ce-specversion").is_some() || headers.get("content-type").is_some() {
        return false;
    }
    match headers.get("content-length") {
        Some(length) => length.trim_ascii() == b"0",
        None => request.is_http1() && headers.get("transfer-encoding").is_none(),
    }
}

/// A request body as a stream of chunks.
pub trait BodyStream {
    /// Polls for the next chunk; `None` at the end.
    fn poll_chunk(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>>;

    /// The body's length when it is known in advance (from `Content-Length`, say).
    /// Only a hint: [`read_body`] sizes its buffer with it (when it is within the
    /// limit) and still reads the body to its end.
    fn exact_len(&self) -> Option<u64> {
        None
    }
}

/// A body held in memory; `None` is an empty body.
impl BodyStream for Option<Bytes> {
    fn poll_chunk(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        Poll::Ready(self.get_mut().take().map(Ok))
    }

    fn exact_len(&self) -> Option<u64> {
        Some(self.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// A body could not be read: the transport failed, or the client went away.
#[derive(Debug)]
pub struct BodyError(pub Box<dyn std::error::Error + Send + Sync>);

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// Why [`read_body`] stopped.
#[derive(Debug)]
pub enum ReadError {
    /// The body is longer than the limit; reading stopped at the first chunk past it.
    TooLarge,
    /// The body could not be read.
    Body(BodyError),
}

/// Reads `body` in full, refusing it as soon as it is longer than `limit` bytes.
///
/// Memory and time stay linear in the body, whatever the chunking: a body that
/// arrives in one chunk is kept as it is (no copy); one in many chunks (down to one
/// byte each) is copied into one buffer, sized in advance when the length is known,
/// else grown by doubling but never past `limit` (so the buffer is at most twice the
/// body and never larger than the limit, and a one-byte-chunked megabyte costs about
/// twenty allocations). Reading stops at the first chunk past the limit.
///
/// # Errors
/// [`ReadError::TooLarge`] past `limit`, [`ReadError::Body`] when the body fails.
pub async fn read_body<B: BodyStream>(body: B, limit: usize) -> Result<Bytes, ReadError> {
    let mut body = std::pin::pin!(body);
    let hint = body.exact_len().and_then(|n| usize::try_from(n).ok());
    let mut first: Option<Bytes> = None;
    let mut buf: Option<Vec<u8>> = None;
    let mut len = 0usize;
    while let Some(chunk) = poll_fn(|cx| body.as_mut().poll_chunk(cx)).await {
        let chunk = chunk.map_err(ReadError::Body)?;
        len = len.saturating_add(chunk.len());
        if len > limit {
            return Err(ReadError::TooLarge);
        }
        if chunk.is_empty() {
            continue;
        }
        match (&mut buf, first.take()) {
            (Some(buf), _) => {
                if buf.capacity() - buf.len() < chunk.len() {
                    // `len <= limit`, so the target holds the chunk.
                    let target = (2 * buf.capacity()).max(len).min(limit);
                    buf.reserve_exact(target - buf.len());
                }
                buf.extend_from_slice(&chunk);
            }
            (None, None) => first = Some(chunk),
            (None, Some(head)) => {
                let capacity = hint.filter(|&n| n <= limit).unwrap_or(len).max(len);
                let mut joined = Vec::with_capacity(capacity);
                joined.extend_from_slice(&head);
                joined.extend_from_slice(&chunk);
                buf = Some(joined);
            }
        }
    }
    Ok(match buf {
        Some(buf) => Bytes::from(buf),
        None => first.unwrap_or_default(),
    })
}

/// `future` within `deadline`, counted from its first wait; `Err(())` past it. A
/// future that is ready at once (a body the server already holds: most requests on
/// hyper) arms no timer.
pub(crate) fn within<F: Future>(deadline: Duration, future: F) -> Within<F> {
    Within {
        future,
        deadline,
        timer: None,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`within`]: the inner future in place (no second copy of it,
    /// as an `async fn` that pins its argument would keep) and a timer allocated
    /// only when the inner future waits.
    pub(crate) struct Within<F> {
        #[pin]
        future: F,
        deadline: Duration,
        timer: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let deadline = *this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(deadline)));
        timer.as_mut().poll(cx).map(|()| Err(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body in the given chunks.
    struct Chunks(std::collections::VecDeque<Bytes>);

    impl BodyStream for Chunks {
        fn poll_chunk(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Bytes, BodyError>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(Ok))
        }
    }

    fn chunks(parts: &[&'static str]) -> Chunks {
        Chunks(
            parts
                .iter()
                .map(|p| Bytes::from_static(p.as_bytes()))
                .collect(),
        )
    }

    /// A request with a chunked body, for the refusal and "no event" helpers.
    struct Fake {
        method: &'static str,
        headers: crate::HeaderList,
        body: Option<Chunks>,
        http1: bool,
    }

    impl Fake {
        fn new(headers: &[(&str, &str)], body: Option<&[&'static str]>) -> Self {
            Self {
                method: "POST",
                headers: crate::HeaderList::new(headers.iter().copied()),
                body: body.map(chunks),
                http1: true,
            }
        }
    }

    impl Incoming for Fake {
        type Headers<'a> = &'a crate::HeaderList;
        type Body = Chunks;
        fn method(&self) -> &str {
            self.method
        }
        fn path(&self) -> &str {
            "/"
        }
        fn query(&self) -> Option<&str> {
            None
        }
        fn headers(&self) -> &crate::HeaderList {
            &self.headers
        }
        fn take_body(&mut self) -> Chunks {
            self.body.take().unwrap_or_else(|| chunks(&[]))
        }
        fn is_http1(&self) -> bool {
            self.http1
        }
        fn body_unread(&self) -> bool {
            self.body.is_some()
        }
    }

    fn closes(reply: &Reply) -> bool {
        reply
            .headers()
            .iter()
            .any(|(n, v)| *n == "connection" && v == "close")
    }

    #[tokio::test]
    async fn a_refusal_drains_a_short_body_and_closes_after_a_long_one() {
        // Drained: the connection stays.
        let mut short = Fake::new(&[], Some(&["a", "b"]));
        let reply = settle_refusal(&mut short, Reply::new(401)).await;
        assert!(!closes(&reply) && !short.body_unread());
        // Past 64 KiB: closed, on HTTP/1.x only.
        let big: &'static str = "x".repeat(DRAIN_LIMIT + 1).leak();
        let mut long = Fake::new(&[], Some(&[big]));
        assert!(closes(&settle_refusal(&mut long, Reply::new(401)).await));
        let mut h2 = Fake::new(&[], Some(&[big]));
        h2.http1 = false;
        assert!(!closes(&settle_refusal(&mut h2, Reply::new(401)).await));
        // A body the stack stopped reading midway (413 past the limit, 408).
        for (status, close) in [(413, true), (408, true), (400, false)] {
            let mut read = Fake::new(&[], None);
            let reply = settle_refusal(&mut read, Reply::new(status)).await;
            assert_eq!(closes(&reply), close, "{status}");
        }
    }

    #[tokio::test]
    async fn a_refusal_closes_after_a_body_slower_than_a_second() {
        struct Never;
        impl BodyStream for Never {
            fn poll_chunk(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Bytes, BodyError>>> {
                Poll::Pending
            }
        }
        assert!(!drain(Never).await);
        assert!(drain(chunks(&["done"])).await);
    }

    #[test]
    fn no_event_is_an_empty_request_without_cloudevents_headers() {
        assert!(carries_no_event(&Fake::new(&[], None)));
        assert!(carries_no_event(&Fake::new(
            &[("content-length", "0")],
            None
        )));
        let mut get = Fake::new(&[("ce-specversion", "1.0")], None);
        get.method = "GET";
        assert!(carries_no_event(&get));
        for headers in [
            &[("ce-specversion", "1.0")][..],
            &[("content-type", "application/json")],
            &[("content-length", "2")],
            &[("transfer-encoding", "chunked")],
        ] {
            assert!(!carries_no_event(&Fake::new(headers, None)), "{headers:?}");
        }
        let mut h2 = Fake::new(&[], None);
        h2.http1 = false;
        assert!(
            !carries_no_event(&h2),
            "HTTP/2 without a length may have a body"
        );
    }

    #[tokio::test]
    async fn one_chunk_many_chunks_and_the_limit() {
        let one = read_body(chunks(&["hello"]), 5).await.unwrap();
        assert_eq!(&one[..], b"hello");
        let many = read_body(chunks(&["he", "", "l", "lo"]), 5).await.unwrap();
        assert_eq!(&many[..], b"hello");
        assert!(matches!(
            read_body(chunks(&["hel", "lo!"]), 5).await,
            Err(ReadError::TooLarge)
        ));
        assert!(read_body(chunks(&[]), 0).await.unwrap().is_empty());
    }
}
