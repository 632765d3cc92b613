use hookgate_core::handshake::HandshakePolicy;
use tower_layer::Layer;

use super::Handshake;

/// Applies [`Handshake`] to a service; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct HandshakeLayer {
    policy: HandshakePolicy,
}

impl HandshakeLayer {
    /// A layer that answers handshakes as `policy` says.
    #[must_use]
    pub fn new(policy: HandshakePolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for HandshakeLayer {
    type Service = Handshake<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Handshake::new(inner, self.policy.clone())
    }
}
