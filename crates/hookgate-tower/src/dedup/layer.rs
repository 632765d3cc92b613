use hookgate_core::dedup::DedupPolicy;
use tower_layer::Layer;

use super::Dedup;

/// Applies [`Dedup`] to a service; see the [module docs](super).
#[derive(Clone, Debug)]
pub struct DedupLayer {
    policy: DedupPolicy,
}

impl DedupLayer {
    /// A layer that deduplicates as `policy` says.
    #[must_use]
    pub fn new(policy: DedupPolicy) -> Self {
        Self { policy }
    }
}

impl<S> Layer<S> for DedupLayer {
    type Service = Dedup<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Dedup::new(inner, self.policy.clone())
    }
}
