use std::task::{Context, Poll};

use bytes::Bytes;
use hookgate_core::Delivery;
use hookgate_core::Reply;
use hookgate_core::dedup::{Begin, DedupPolicy};
use http::{Request, Response};
use tower_service::Service;

use super::{DedupLayer, ResponseFuture};
use crate::body::Body;
use crate::problem::{problem_response, reply_response};

/// Middleware that deduplicates parsed deliveries by `(source, id)`; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct Dedup<S> {
    inner: S,
    policy: DedupPolicy,
}

impl<S> Dedup<S> {
    /// Wraps `inner`, deduplicating as `policy` says.
    pub fn new(inner: S, policy: DedupPolicy) -> Self {
        Self { inner, policy }
    }

    /// A [`DedupLayer`] with `policy`.
    #[must_use]
    pub fn layer(policy: DedupPolicy) -> DedupLayer {
        DedupLayer::new(policy)
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Dedup<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Use the service that was driven to readiness, leave a clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let policy = self.policy.clone();
        let full = |response: Response<Bytes>| response.map(Body::full);
        ResponseFuture {
            inner: Box::pin(async move {
                // No parsed delivery (not a CloudEvents request, or no parse layer in
                // front): nothing to deduplicate.
                let Some(mut delivery) = req.extensions_mut().remove::<Delivery>() else {
                    return inner.call(req).await.map(|r| r.map(Body::inner));
                };
                match policy.begin(&mut delivery).await {
                    Err(error) => Ok(full(problem_response(&error.problem()))),
                    Ok(Begin::Handle(guard)) => {
                        req.extensions_mut().insert(delivery);
                        // An error, a panic or a drop here drops the guard: released.
                        let response = inner.call(req).await?;
                        guard.finish(response.status().is_success()).await;
                        Ok(response.map(Body::inner))
                    }
                    Ok(_) => Ok(full(reply_response(&Reply::new(200)))),
                }
            }),
        }
    }
}
