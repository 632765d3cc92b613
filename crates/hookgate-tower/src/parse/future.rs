use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hookgate_core::{Error, Mode, ParseConfig};
use http::{Request, Response};
use http_body_util::combinators::Collect;
use http_body_util::{BodyExt as _, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::body::{Body, BoxError, read_error};
use crate::headers::HttpHeaders;
use crate::problem::problem_response;

pin_project! {
    /// Response future of [`ParseCloudEvents`](super::ParseCloudEvents).
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<Body<B>>>,
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<Body<B>>>,
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        Reading {
            #[pin]
            collect: Collect<Limited<B>>,
            parts: Option<http::request::Parts>,
            inner: Option<S>,
            mode: Mode,
            config: ParseConfig,
        },
        Calling {
            #[pin]
            future: S::Future,
        },
        Rejected {
            response: Option<Response<Bytes>>,
        },
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<Body<B>>>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    pub(super) fn call(inner: &mut S, req: Request<Body<B>>) -> Self {
        Self {
            state: State::Calling {
                future: inner.call(req),
            },
        }
    }

    pub(super) fn reject(error: &Error) -> Self {
        Self {
            state: State::Rejected {
                response: Some(problem_response(&error.problem())),
            },
        }
    }

    pub(super) fn read(inner: S, req: Request<B>, mode: Mode, config: ParseConfig) -> Self {
        let (parts, body) = req.into_parts();
        Self {
            state: State::Reading {
                collect: Limited::new(body, config.body_limit()).collect(),
                parts: Some(parts),
                inner: Some(inner),
                mode,
                config,
            },
        }
    }
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<Body<B>>, Response = Response<ResBody>>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body<ResBody>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Reading {
                    collect,
                    parts,
                    inner,
                    mode,
                    config,
                } => {
                    let collected = ready!(collect.poll(cx));
                    let mut parts = parts.take().expect("future polled after completion");
                    let inner = inner.take().expect("future polled after completion");
                    let parsed = collected
                        .map_err(|e| read_error(config, &*e))
                        .map(http_body_util::Collected::to_bytes)
                        .and_then(|bytes| {
                            let headers = HttpHeaders(&parts.headers);
                            hookgate_core::parse_with_mode(*mode, &headers, bytes.clone(), config)
                                .map(|delivery| (delivery, bytes))
                        });
                    match parsed {
                        Ok((delivery, bytes)) => {
                            parts.extensions.insert(delivery);
                            let mut inner = inner;
                            State::Calling {
                                future: inner.call(Request::from_parts(parts, Body::full(bytes))),
                            }
                        }
                        Err(error) => State::Rejected {
                            response: Some(problem_response(&error.problem())),
                        },
                    }
                }
                StateProj::Calling { future } => {
                    return future.poll(cx).map(|r| r.map(|res| res.map(Body::inner)));
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
