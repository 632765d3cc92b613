use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hookgate_core::Error;
use hookgate_core::auth::Identity;
use http::header::{CACHE_CONTROL, HeaderValue};
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::Body;
use crate::problem::problem_response;

type Check = Pin<Box<dyn Future<Output = Result<Identity, Error>> + Send>>;

pin_project! {
    /// Response future of [`Auth`](super::Auth).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        Checking {
            check: Check,
            inner: Option<S>,
            req: Option<Request<B>>,
        },
        Calling {
            #[pin]
            future: S::Future,
            private: bool,
        },
        Rejected {
            response: Option<Response<Bytes>>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(super) fn new(
        check: impl Future<Output = Result<Identity, Error>> + Send + 'static,
        inner: S,
        req: Request<B>,
    ) -> Self {
        Self {
            state: State::Checking {
                check: Box::pin(check),
                inner: Some(inner),
                req: Some(req),
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
{
    type Output = Result<Response<Body<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Checking { check, inner, req } => {
                    let outcome = ready!(check.as_mut().poll(cx));
                    let mut req = req.take().expect("future polled after completion");
                    let mut inner = inner.take().expect("future polled after completion");
                    match outcome {
                        Ok(identity) => {
                            let private = identity.from_query();
                            req.extensions_mut().insert(identity);
                            State::Calling {
                                future: inner.call(req),
                                private,
                            }
                        }
                        Err(error) => State::Rejected {
                            response: Some(problem_response(&error.problem())),
                        },
                    }
                }
                StateProj::Calling { future, private } => {
                    let mut response = ready!(future.poll(cx))?;
                    if *private {
                        // Credentials in the URL: no shared cache may keep the answer.
                        response
                            .headers_mut()
                            .insert(CACHE_CONTROL, HeaderValue::from_static("private"));
                    }
                    return Poll::Ready(Ok(response.map(Body::inner)));
                }
                StateProj::Rejected { response } => {
                    let response = response.take().expect("future polled after completion");
                    return Poll::Ready(Ok(response.map(Body::full)));
                }
            };
            this.state.set(next);
        }
    }
}
