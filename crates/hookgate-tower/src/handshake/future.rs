use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hookgate_core::Reply;
use http::Response;
use pin_project_lite::pin_project;

use crate::body::Body;
use crate::problem::reply_response;

type BoxReply = Pin<Box<dyn Future<Output = Reply> + Send>>;

pin_project! {
    /// Response future of [`Handshake`](super::Handshake).
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response<Bytes>> },
        Answering { future: BoxReply },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(super) fn ready(reply: &Reply) -> Self {
        Self {
            state: State::Ready {
                response: Some(reply_response(reply)),
            },
        }
    }

    pub(super) fn boxed(future: impl Future<Output = Reply> + Send + 'static) -> Self {
        Self {
            state: State::Answering {
                future: Box::pin(future),
            },
        }
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<Body<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => {
                future.poll(cx).map(|r| r.map(|res| res.map(Body::inner)))
            }
            StateProj::Ready { response } => {
                let response = response.take().expect("future polled after completion");
                Poll::Ready(Ok(response.map(Body::full)))
            }
            StateProj::Answering { future } => future
                .as_mut()
                .poll(cx)
                .map(|reply| Ok(reply_response(&reply).map(Body::full))),
        }
    }
}
