use std::task::{Context, Poll};

use bytes::Bytes;
use hookgate_core::Reply;
use hookgate_core::handshake::{
    Decision, HandshakePolicy, VALIDATION_BODY_LIMIT, unreadable_validation_body,
};
use http::{Request, Response};
use http_body_util::{BodyExt as _, Limited};
use tower_service::Service;

use super::{HandshakeLayer, ResponseFuture};
use crate::body::{Body, BoxError};
use crate::headers::HttpHeaders;

/// Middleware that answers the webhook validation handshake; see the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct Handshake<S> {
    inner: S,
    policy: HandshakePolicy,
}

impl<S> Handshake<S> {
    /// Wraps `inner`, answering handshakes as `policy` says.
    pub fn new(inner: S, policy: HandshakePolicy) -> Self {
        Self { inner, policy }
    }

    /// A [`HandshakeLayer`] with `policy`.
    #[must_use]
    pub fn layer(policy: HandshakePolicy) -> HandshakeLayer {
        HandshakeLayer::new(policy)
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

/// Reads the validation request's body (bounded) and answers it.
async fn event_grid<B>(policy: HandshakePolicy, body: B) -> Reply
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let answer = match Limited::new(body, VALIDATION_BODY_LIMIT).collect().await {
        Ok(collected) => policy.event_grid_validation(&collected.to_bytes()),
        Err(_) => Err(unreadable_validation_body()),
    };
    answer.unwrap_or_else(|error| Reply::from(error.problem()))
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Handshake<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<Body<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let decision = self
            .policy
            .decide(req.method().as_str(), &HttpHeaders(req.headers()));
        match decision {
            Decision::Reply(reply) => ResponseFuture::ready(&reply),
            Decision::Callback(pending) => ResponseFuture::boxed(async move {
                let (reply, confirmation) = pending.answer().await;
                if let Some(confirmation) = confirmation {
                    tokio::spawn(async move {
                        // The outcome is traced by `run`; nobody waits for it.
                        let _ = confirmation.run().await;
                    });
                }
                reply
            }),
            Decision::EventGridValidation => {
                ResponseFuture::boxed(event_grid(self.policy.clone(), req.into_body()))
            }
            _ => ResponseFuture::inner(self.inner.call(req)),
        }
    }
}
