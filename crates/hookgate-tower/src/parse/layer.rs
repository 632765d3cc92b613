use hookgate_core::ParseConfig;
use tower_layer::Layer;

use super::ParseCloudEvents;

/// Applies [`ParseCloudEvents`] to a service; see the [module docs](super).
#[derive(Clone, Debug, Default)]
pub struct ParseCloudEventsLayer {
    config: ParseConfig,
}

impl ParseCloudEventsLayer {
    /// A layer that parses with `config`.
    #[must_use]
    pub fn new(config: ParseConfig) -> Self {
        Self { config }
    }
}

impl<S> Layer<S> for ParseCloudEventsLayer {
    type Service = ParseCloudEvents<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ParseCloudEvents::new(inner, self.config.clone())
    }
}
