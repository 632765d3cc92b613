//! The metrics of the webhook stack, through the `metrics` facade (feature
//! `metrics`; without it every method here is empty and nothing is compiled in).

use std::sync::Arc;
#[cfg(feature = "metrics")]
use std::sync::RwLock;
use std::time::Duration;

use super::Outcome;

/// Requests through the stack, a counter; labels `outcome` (`accepted`,
/// `duplicate`, `refused`, `handshake`), `route` and `sender` when known.
pub const DELIVERIES: &str = "hookgate.deliveries";
/// Events the handler took: those of the deliveries it accepted (answered with a
/// 2xx), and of another those it marked handled one by one (an
/// [`EventRouter`](crate::route::EventRouter)'s); a counter, labels `route`,
/// `sender`.
pub const EVENTS: &str = "hookgate.events";
/// Events answered as duplicates without the handler, a counter; labels `route`,
/// `sender`.
pub const DUPLICATES: &str = "hookgate.duplicates";
/// Rejections, a counter; labels `problem_type` (the problem's `type` URI: the
/// first [`MAX_PROBLEM_TYPES`] distinct ones, then `other`), `stage`, `route`.
pub const REJECTIONS: &str = "hookgate.rejections";
/// Deliveries whose handler is running, a gauge; label `route`.
pub const ACTIVE: &str = "hookgate.deliveries.active";
/// How long the handler took (and the settling of its claims), in seconds, a
/// histogram; labels `outcome`, `route`.
pub const HANDLER_DURATION: &str = "hookgate.handler.duration";

/// The most distinct problem types a policy labels by name; later ones are
/// counted as `other`, so a handler that makes up types cannot grow the label set.
pub const MAX_PROBLEM_TYPES: usize = 64;

/// The metrics of one policy: its route label and its problem types seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meter {
    #[cfg(feature = "metrics")]
    route: Option<Arc<str>>,
    #[cfg(feature = "metrics")]
    problems: Arc<RwLock<Vec<Arc<str>>>>,
}

#[cfg(feature = "metrics")]
mod record {
    use std::sync::Arc;

    use metrics::{Key, Label, Level, Metadata, SharedString};

    static METADATA: Metadata<'static> =
        Metadata::new("hookgate", Level::INFO, Some(module_path!()));

    pub(super) fn shared(value: &Arc<str>) -> SharedString {
        SharedString::from_shared(Arc::clone(value))
    }

    pub(super) fn labels(
        route: Option<&Arc<str>>,
        sender: Option<&Arc<str>>,
        more: &[(&'static str, SharedString)],
    ) -> Vec<Label> {
        let mut labels = Vec::with_capacity(2 + more.len());
        labels.extend(more.iter().cloned().map(|(k, v)| Label::new(k, v)));
        if let Some(route) = route {
            labels.push(Label::new("route", shared(route)));
        }
        if let Some(sender) = sender {
            labels.push(Label::new("sender", shared(sender)));
        }
        labels
    }

    pub(super) fn count(name: &'static str, labels: Vec<Label>, n: u64) {
        let key = Key::from_parts(name, labels);
        metrics::with_recorder(|r| r.register_counter(&key, &METADATA).increment(n));
    }

    pub(super) fn gauge(name: &'static str, labels: Vec<Label>, delta: f64) {
        let key = Key::from_parts(name, labels);
        metrics::with_recorder(|r| r.register_gauge(&key, &METADATA).increment(delta));
    }

    pub(super) fn histogram(name: &'static str, labels: Vec<Label>, value: f64) {
        let key = Key::from_parts(name, labels);
        metrics::with_recorder(|r| r.register_histogram(&key, &METADATA).record(value));
    }
}

impl Meter {
    pub(crate) fn new(route: Option<&Arc<str>>) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = route;
        Self {
            #[cfg(feature = "metrics")]
            route: route.cloned(),
            #[cfg(feature = "metrics")]
            problems: Arc::default(),
        }
    }

    /// A request ended with `outcome`.
    pub(crate) fn delivery(&self, outcome: Outcome, sender: Option<&Arc<str>>) {
        #[cfg(feature = "metrics")]
        record::count(
            DELIVERIES,
            record::labels(
                self.route.as_ref(),
                sender,
                &[("outcome", outcome.as_str().into())],
            ),
            1,
        );
        #[cfg(not(feature = "metrics"))]
        let _ = (outcome, sender);
    }

    /// `n` events handed to the handler.
    pub(crate) fn events(&self, n: usize, sender: Option<&Arc<str>>) {
        #[cfg(feature = "metrics")]
        if n > 0 {
            record::count(
                EVENTS,
                record::labels(self.route.as_ref(), sender, &[]),
                n as u64,
            );
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (n, sender);
    }

    /// `n` events answered as duplicates.
    pub(crate) fn duplicates(&self, n: usize, sender: Option<&Arc<str>>) {
        #[cfg(feature = "metrics")]
        if n > 0 {
            record::count(
                DUPLICATES,
                record::labels(self.route.as_ref(), sender, &[]),
                n as u64,
            );
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (n, sender);
    }

    /// A rejection of `problem_type` by `stage`.
    pub(crate) fn rejection(&self, stage: &'static str, problem_type: &str) {
        #[cfg(feature = "metrics")]
        {
            let problem = self.problem_label(problem_type);
            record::count(
                REJECTIONS,
                record::labels(
                    self.route.as_ref(),
                    None,
                    &[("problem_type", problem), ("stage", stage.into())],
                ),
                1,
            );
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (stage, problem_type);
    }

    /// A handler started: the gauge is up until the returned value is dropped.
    pub(crate) fn active(&self) -> Active {
        #[cfg(feature = "metrics")]
        record::gauge(ACTIVE, record::labels(self.route.as_ref(), None, &[]), 1.0);
        Active {
            #[cfg(feature = "metrics")]
            route: self.route.clone(),
        }
    }

    /// A handler took `elapsed` and ended with `outcome`.
    pub(crate) fn handler_duration(&self, elapsed: Duration, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        record::histogram(
            HANDLER_DURATION,
            record::labels(
                self.route.as_ref(),
                None,
                &[("outcome", outcome.as_str().into())],
            ),
            elapsed.as_secs_f64(),
        );
        #[cfg(not(feature = "metrics"))]
        let _ = (elapsed, outcome);
    }

    /// The label of a problem type: itself while fewer than
    /// [`MAX_PROBLEM_TYPES`] are known, else `other`.
    #[cfg(feature = "metrics")]
    fn problem_label(&self, problem_type: &str) -> metrics::SharedString {
        let known = |seen: &[Arc<str>]| {
            seen.iter()
                .find(|t| &***t == problem_type)
                .map(record::shared)
        };
        if let Some(label) = known(&self.problems.read().unwrap_or_else(|e| e.into_inner())) {
            return label;
        }
        let mut seen = self.problems.write().unwrap_or_else(|e| e.into_inner());
        if let Some(label) = known(&seen) {
            return label;
        }
        if seen.len() >= MAX_PROBLEM_TYPES {
            return "other".into();
        }
        let name: Arc<str> = problem_type.into();
        seen.push(Arc::clone(&name));
        record::shared(&name)
    }
}

/// A running handler, counted in [`ACTIVE`] until dropped (finished, failed,
/// panicked or cancelled alike).
#[derive(Debug)]
pub(crate) struct Active {
    #[cfg(feature = "metrics")]
    route: Option<Arc<str>>,
}

impl Drop for Active {
    fn drop(&mut self) {
        #[cfg(feature = "metrics")]
        record::gauge(ACTIVE, record::labels(self.route.as_ref(), None, &[]), -1.0);
    }
}
