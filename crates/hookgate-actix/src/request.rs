//! The core's view of an actix-web request: [`Incoming`] over the request head and
//! its payload.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpRequest;
use actix_web::dev::Payload;
use bytes::Bytes;
use futures_util::Stream as _;
use hookgate_core::request::{BodyError, BodyStream, Incoming};

use crate::headers::ActixHeaders;

/// A request borrowed for the core: its head and its payload (which the core may take).
pub(crate) struct ActixRequest<'a> {
    head: &'a HttpRequest,
    payload: &'a mut Payload,
}

impl<'a> ActixRequest<'a> {
    pub(crate) fn new(head: &'a HttpRequest, payload: &'a mut Payload) -> Self {
        Self { head, payload }
    }
}

impl Incoming for ActixRequest<'_> {
    type Headers<'h>
        = ActixHeaders<'h>
    where
        Self: 'h;
    type Body = PayloadBody;

    fn method(&self) -> &str {
        self.head.method().as_str()
    }

    fn path(&self) -> &str {
        self.head.path()
    }

    fn query(&self) -> Option<&str> {
        self.head.uri().query()
    }

    fn headers(&self) -> ActixHeaders<'_> {
        ActixHeaders(self.head.headers())
    }

    fn take_body(&mut self) -> PayloadBody {
        // actix-web's HTTP/1 decoder reads exactly `Content-Length` bytes: the reader
        // can size its buffer once (the core checked the length against the limit).
        let length = self
            .head
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        PayloadBody(self.payload.take(), length)
    }

    fn is_http1(&self) -> bool {
        self.head.version() < actix_web::http::Version::HTTP_2
    }

    fn body_unread(&self) -> bool {
        !matches!(self.payload, Payload::None)
    }
}

/// An actix-web payload as the core's [`BodyStream`], with its declared length.
pub(crate) struct PayloadBody(Payload, Option<u64>);

impl BodyStream for PayloadBody {
    fn poll_chunk(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|chunk| chunk.map(|c| c.map_err(|e| BodyError(Box::new(e)))))
    }

    fn exact_len(&self) -> Option<u64> {
        self.1
    }
}
