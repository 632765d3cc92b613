//! Bodies: reading a request body within a limit, and the body type of the
//! layers, which is either bytes hookgate holds or the inner body untouched.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hookgate_core::{Error, ErrorKind, ParseConfig};
use http_body::{Frame, SizeHint};
use http_body_util::LengthLimitError;
use pin_project_lite::pin_project;

pin_project! {
    /// A body that is either bytes hookgate already holds (a request body it read
    /// to parse, a problem+json response) or the inner body, untouched.
    #[derive(Debug)]
    pub struct Body<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[derive(Debug)]
    #[project = KindProj]
    enum Kind<B> {
        Full { data: Option<Bytes> },
        Inner { #[pin] inner: B },
    }
}

impl<B> Body<B> {
    /// A body of `bytes`.
    pub fn full(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full {
                data: (!bytes.is_empty()).then_some(bytes),
            },
        }
    }

    /// The inner body, passed through.
    pub fn inner(inner: B) -> Self {
        Self {
            kind: Kind::Inner { inner },
        }
    }
}

impl<B> http_body::Body for Body<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            KindProj::Inner { inner } => inner.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data } => data.is_none(),
            Kind::Inner { inner } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Inner { inner } => inner.size_hint(),
        }
    }
}

/// The error type bodies are converted into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Turns the error of a body limited to `config`'s limit into the core error: 413
/// when the limit was hit, 400 when the body could not be read.
pub(crate) fn read_error(config: &ParseConfig, err: &(dyn std::error::Error + 'static)) -> Error {
    if err.downcast_ref::<LengthLimitError>().is_some() {
        config.too_large(None)
    } else {
        Error::new(
            ErrorKind::BodyRead,
            format!("the request body could not be read: {err}"),
        )
    }
}

/// Reads a body of at most `config.body_limit()` bytes (for the extractors).
#[cfg(feature = "axum")]
pub(crate) async fn read_bounded<B>(body: B, config: &ParseConfig) -> Result<Bytes, Error>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    use http_body_util::BodyExt as _;
    http_body_util::Limited::new(body, config.body_limit())
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .map_err(|e| read_error(config, &*e))
}
