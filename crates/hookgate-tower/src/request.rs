//! The core's view of an http 1 request: [`Incoming`] over request parts and a body.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hookgate_core::request::{BodyError, BodyStream, Incoming};
use http::Request;
use http::request::Parts;
use pin_project_lite::pin_project;

use crate::body::{Body, BoxError};
use crate::headers::HttpHeaders;
use crate::problem::reply_response;

/// The response to a refusal, once
/// [`settle_refusal`](hookgate_core::request::settle_refusal) drained the body (or
/// closed the connection). The callers build that boxed future in a `match` arm
/// and await it after the `match`, so that their futures do not also keep the
/// matched value (an `Admission`, a `Result`) across that await.
pub(crate) fn refused<ResBody>(reply: &hookgate_core::Reply) -> http::Response<Body<ResBody>> {
    reply_response(reply).map(Body::full)
}

/// A request taken apart for the core: its parts, and its body until the core takes it.
pub(crate) struct TowerRequest<B> {
    pub(crate) parts: Parts,
    body: Option<B>,
}

impl<B> TowerRequest<B> {
    pub(crate) fn new(request: Request<B>) -> Self {
        let (parts, body) = request.into_parts();
        Self {
            parts,
            body: Some(body),
        }
    }

    /// The request again, for the inner service: with `read` as its body when the core
    /// read the body, else with the body untouched.
    pub(crate) fn into_request(self, read: Option<Bytes>) -> Request<Body<B>> {
        let body = match (read, self.body) {
            (Some(bytes), _) => Body::full(bytes),
            (None, Some(body)) => Body::inner(body),
            (None, None) => Body::full(Bytes::new()),
        };
        Request::from_parts(self.parts, body)
    }
}

impl<B> Incoming for TowerRequest<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Headers<'a>
        = HttpHeaders<'a>
    where
        Self: 'a;
    type Body = HttpBody<B>;

    fn method(&self) -> &str {
        self.parts.method.as_str()
    }

    fn path(&self) -> &str {
        self.parts.uri.path()
    }

    fn query(&self) -> Option<&str> {
        self.parts.uri.query()
    }

    fn headers(&self) -> HttpHeaders<'_> {
        HttpHeaders(&self.parts.headers)
    }

    fn take_body(&mut self) -> HttpBody<B> {
        HttpBody {
            body: self.body.take(),
        }
    }

    fn is_http1(&self) -> bool {
        self.parts.version < http::Version::HTTP_2
    }

    fn body_unread(&self) -> bool {
        self.body.is_some()
    }
}

pin_project! {
    /// An http 1 body as the core's [`BodyStream`]: data frames, trailers skipped.
    pub(crate) struct HttpBody<B> {
        #[pin]
        body: Option<B>,
    }
}

impl<B> BodyStream for HttpBody<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    fn poll_chunk(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        let Some(mut body) = self.project().body.as_pin_mut() else {
            return Poll::Ready(None);
        };
        loop {
            return match std::task::ready!(body.as_mut().poll_frame(cx)) {
                None => Poll::Ready(None),
                Some(Err(e)) => Poll::Ready(Some(Err(BodyError(e.into())))),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => Poll::Ready(Some(Ok(data))),
                    Err(_trailers) => continue,
                },
            };
        }
    }

    fn exact_len(&self) -> Option<u64> {
        self.body.as_ref().and_then(|b| b.size_hint().exact())
    }
}
