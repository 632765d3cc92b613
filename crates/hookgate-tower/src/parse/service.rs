use std::task::{Context, Poll};

use bytes::Bytes;
use hookgate_core::ParseConfig;
use http::{Method, Request, Response};
use tower_service::Service;

use super::{ParseCloudEventsLayer, ResponseFuture};
use crate::body::Body;
use crate::headers::HttpHeaders;

/// Middleware that parses CloudEvents once and puts the
/// [`Delivery`](hookgate_core::Delivery) into the request extensions; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct ParseCloudEvents<S> {
    inner: S,
    config: ParseConfig,
}

impl<S> ParseCloudEvents<S> {
    /// Wraps `inner`, parsing with `config`.
    pub fn new(inner: S, config: ParseConfig) -> Self {
        Self { inner, config }
    }

    /// A [`ParseCloudEventsLayer`] that parses with `config`.
    #[must_use]
    pub fn layer(config: ParseConfig) -> ParseCloudEventsLayer {
        ParseCloudEventsLayer::new(config)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, owned.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Whether requests of `method` carry events.
fn carries_events(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PUT | Method::PATCH)
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ParseCloudEvents<S>
where
    S: Service<Request<Body<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: http_body::Body<Data = Bytes>,
    ReqBody::Error: Into<crate::body::BoxError>,
{
    type Response = Response<Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if !carries_events(req.method()) {
            return ResponseFuture::call(&mut self.inner, req.map(Body::inner));
        }
        let headers = HttpHeaders(req.headers());
        let early = hookgate_core::detect_mode(&headers)
            .and_then(|mode| self.config.check_content_length(&headers).map(|()| mode));
        match early {
            Err(err) => ResponseFuture::reject(&err),
            Ok(mode) => {
                // Use the service that was driven to readiness, leave a clone in its place.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::read(inner, req, mode, self.config.clone())
            }
        }
    }
}
