//! The metrics of the webhook stack, through the `metrics` facade (feature
//! `metrics`; without it every method here is empty and nothing is compiled in).

use std::sync::Arc;

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

/// The metrics of one policy: its keys, built once (so that recording with no
/// recorder installed allocates nothing), and its problem types seen.
#[derive(Clone, Debug)]
pub(crate) struct Meter {
    #[cfg(feature = "metrics")]
    inner: Arc<record::Keys>,
}

#[cfg(feature = "metrics")]
mod record {
    use std::sync::{Arc, RwLock};

    use metrics::{Key, Label, Level, Metadata, SharedString};

    use super::{
        ACTIVE, DELIVERIES, DUPLICATES, EVENTS, HANDLER_DURATION, MAX_PROBLEM_TYPES, Outcome,
        REJECTIONS,
    };

    static METADATA: Metadata<'static> =
        Metadata::new("hookgate", Level::INFO, Some(module_path!()));

    /// The most sender labels whose keys are kept; a policy has a few (they are
    /// configured), and past this bound keys are built per call.
    const MAX_SENDERS: usize = 256;

    const OUTCOMES: [Outcome; 4] = [
        Outcome::Accepted,
        Outcome::Duplicate,
        Outcome::Refused,
        Outcome::Handshake,
    ];

    fn index(outcome: Outcome) -> usize {
        match outcome {
            Outcome::Accepted => 0,
            Outcome::Duplicate => 1,
            Outcome::Refused => 2,
            Outcome::Handshake => 3,
        }
    }

    fn shared(value: &Arc<str>) -> SharedString {
        SharedString::from_shared(Arc::clone(value))
    }

    /// The keys of one sender (or of none).
    #[derive(Debug)]
    pub(super) struct SenderKeys {
        deliveries: [Key; 4],
        events: Key,
        duplicates: Key,
    }

    impl SenderKeys {
        fn new(route: Option<&Arc<str>>, sender: Option<&Arc<str>>) -> Self {
            let labels = |more: Option<Label>| {
                let mut labels: Vec<Label> = more.into_iter().collect();
                labels.extend(route.map(|r| Label::new("route", shared(r))));
                labels.extend(sender.map(|s| Label::new("sender", shared(s))));
                labels
            };
            Self {
                deliveries: OUTCOMES.map(|o| {
                    Key::from_parts(DELIVERIES, labels(Some(Label::new("outcome", o.as_str()))))
                }),
                events: Key::from_parts(EVENTS, labels(None)),
                duplicates: Key::from_parts(DUPLICATES, labels(None)),
            }
        }
    }

    /// Every key of a policy.
    #[derive(Debug)]
    pub(super) struct Keys {
        route: Option<Arc<str>>,
        /// Without a sender label.
        anonymous: SenderKeys,
        senders: RwLock<Vec<(Arc<str>, Arc<SenderKeys>)>>,
        active: Key,
        handler_duration: [Key; 4],
        problems: RwLock<Vec<Arc<str>>>,
    }

    impl Keys {
        pub(super) fn new(route: Option<&Arc<str>>) -> Self {
            let route_only = |name: &'static str, more: Option<Label>| {
                let mut labels: Vec<Label> = more.into_iter().collect();
                labels.extend(route.map(|r| Label::new("route", shared(r))));
                Key::from_parts(name, labels)
            };
            Self {
                route: route.cloned(),
                anonymous: SenderKeys::new(route, None),
                senders: RwLock::default(),
                active: route_only(ACTIVE, None),
                handler_duration: OUTCOMES
                    .map(|o| route_only(HANDLER_DURATION, Some(Label::new("outcome", o.as_str())))),
                problems: RwLock::default(),
            }
        }

        /// Runs `f` with the keys of `sender`.
        fn with_sender<T>(&self, sender: Option<&Arc<str>>, f: impl FnOnce(&SenderKeys) -> T) -> T {
            let Some(sender) = sender else {
                return f(&self.anonymous);
            };
            let find = |known: &[(Arc<str>, Arc<SenderKeys>)]| {
                known
                    .iter()
                    .find(|(label, _)| label == sender)
                    .map(|(_, keys)| Arc::clone(keys))
            };
            if let Some(keys) = find(&self.senders.read().unwrap_or_else(|e| e.into_inner())) {
                return f(&keys);
            }
            let mut known = self.senders.write().unwrap_or_else(|e| e.into_inner());
            if let Some(keys) = find(&known) {
                return f(&keys);
            }
            let keys = SenderKeys::new(self.route.as_ref(), Some(sender));
            if known.len() >= MAX_SENDERS {
                drop(known);
                return f(&keys);
            }
            let keys = Arc::new(keys);
            known.push((Arc::clone(sender), Arc::clone(&keys)));
            drop(known);
            f(&keys)
        }

        pub(super) fn delivery(&self, outcome: Outcome, sender: Option<&Arc<str>>) {
            self.with_sender(sender, |keys| count(&keys.deliveries[index(outcome)], 1));
        }

        pub(super) fn events(&self, n: u64, sender: Option<&Arc<str>>) {
            self.with_sender(sender, |keys| count(&keys.events, n));
        }

        pub(super) fn duplicates(&self, n: u64, sender: Option<&Arc<str>>) {
            self.with_sender(sender, |keys| count(&keys.duplicates, n));
        }

        pub(super) fn rejection(&self, stage: &'static str, problem_type: &str) {
            let mut labels = vec![
                Label::new("problem_type", self.problem_label(problem_type)),
                Label::new("stage", stage),
            ];
            labels.extend(self.route.as_ref().map(|r| Label::new("route", shared(r))));
            count(&Key::from_parts(REJECTIONS, labels), 1);
        }

        pub(super) fn active(&self, delta: f64) {
            let key = &self.active;
            metrics::with_recorder(|r| r.register_gauge(key, &METADATA).increment(delta));
        }

        pub(super) fn handler_duration(&self, outcome: Outcome, seconds: f64) {
            let key = &self.handler_duration[index(outcome)];
            metrics::with_recorder(|r| r.register_histogram(key, &METADATA).record(seconds));
        }

        /// The label of a problem type: itself while fewer than
        /// [`MAX_PROBLEM_TYPES`] are known, else `other`.
        fn problem_label(&self, problem_type: &str) -> SharedString {
            let known = |seen: &[Arc<str>]| seen.iter().find(|t| &***t == problem_type).map(shared);
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
            shared(&name)
        }
    }

    fn count(key: &Key, n: u64) {
        metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(n));
    }
}

impl Meter {
    pub(crate) fn new(route: Option<&Arc<str>>) -> Self {
        #[cfg(not(feature = "metrics"))]
        let _ = route;
        Self {
            #[cfg(feature = "metrics")]
            inner: Arc::new(record::Keys::new(route)),
        }
    }

    /// A request ended with `outcome`.
    pub(crate) fn delivery(&self, outcome: Outcome, sender: Option<&Arc<str>>) {
        #[cfg(feature = "metrics")]
        self.inner.delivery(outcome, sender);
        #[cfg(not(feature = "metrics"))]
        let _ = (outcome, sender);
    }

    /// `n` events the handler took.
    pub(crate) fn events(&self, n: usize, sender: Option<&Arc<str>>) {
        #[cfg(feature = "metrics")]
        if n > 0 {
            self.inner.events(n as u64, sender);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (n, sender);
    }

    /// `n` events answered as duplicates.
    pub(crate) fn duplicates(&self, n: usize, sender: Option<&Arc<str>>) {
        #[cfg(feature = "metrics")]
        if n > 0 {
            self.inner.duplicates(n as u64, sender);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = (n, sender);
    }

    /// A rejection of `problem_type` by `stage`.
    pub(crate) fn rejection(&self, stage: &'static str, problem_type: &str) {
        #[cfg(feature = "metrics")]
        self.inner.rejection(stage, problem_type);
        #[cfg(not(feature = "metrics"))]
        let _ = (stage, problem_type);
    }

    /// A handler started: the gauge is up until the returned value is dropped.
    pub(crate) fn active(&self) -> Active {
        #[cfg(feature = "metrics")]
        self.inner.active(1.0);
        Active {
            #[cfg(feature = "metrics")]
            keys: Arc::clone(&self.inner),
        }
    }

    /// A handler took `elapsed` and ended with `outcome` (the caller measures only
    /// with the feature: no clock read without it).
    #[cfg(feature = "metrics")]
    pub(crate) fn handler_duration(&self, elapsed: std::time::Duration, outcome: Outcome) {
        self.inner.handler_duration(outcome, elapsed.as_secs_f64());
    }
}

/// A running handler, counted in [`ACTIVE`] until dropped (finished, failed,
/// panicked or cancelled alike).
#[derive(Debug)]
pub(crate) struct Active {
    #[cfg(feature = "metrics")]
    keys: Arc<record::Keys>,
}

impl Drop for Active {
    fn drop(&mut self) {
        #[cfg(feature = "metrics")]
        self.keys.active(-1.0);
    }
}
