use hookgate_core::auth::AuthPolicy;
use tower_layer::Layer;

use super::Auth;

/// Applies [`Auth`] to a service; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct AuthLayer {
    policy: AuthPolicy,
}

impl AuthLayer {
    /// A layer that authenticates as `policy` says.
    #[must_use]
    pub fn new(policy: AuthPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::new(inner, self.policy.clone())
    }
}
