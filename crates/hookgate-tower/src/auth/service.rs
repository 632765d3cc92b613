use std::task::{Context, Poll};

use hookgate_core::auth::AuthPolicy;
use http::{Request, Response};
use tower_service::Service;

use super::{AuthLayer, ResponseFuture};
use crate::headers::HttpHeaders;

/// Middleware that authenticates the sender before the inner service runs; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    policy: AuthPolicy,
}

impl<S> Auth<S> {
    /// Wraps `inner`, authenticating as `policy` says.
    pub fn new(inner: S, policy: AuthPolicy) -> Self {
        Self { inner, policy }
    }

    /// An [`AuthLayer`] with `policy`.
    #[must_use]
    pub fn layer(policy: AuthPolicy) -> AuthLayer {
        AuthLayer::new(policy)
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Auth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
{
    type Response = Response<crate::body::Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let check = self
            .policy
            .authenticate(req.uri().query(), &HttpHeaders(req.headers()));
        // Use the service that was driven to readiness, leave a clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(check, inner, req)
    }
}
