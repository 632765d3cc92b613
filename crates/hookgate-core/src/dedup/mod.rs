//! Deduplication by `(source, id)`: each event reaches the handler once, and no
//! event that was not handled is acknowledged.
//!
//! Senders deliver at least once (Azure Event Grid retries for up to 24 hours). A
//! [`DedupPolicy`] claims every event of a parsed [`Delivery`] in a [`DedupStore`]
//! before the handler runs ([`DedupPolicy::claim`]), and the [`DedupGuard`] it gives
//! finishes the claims with the handler's status ([`DedupGuard::finish`]):
//!
//! | claims | what happens |
//! |---|---|
//! | all `New` | the handler runs; a 2xx answer marks them done for the remember window (default 24 h), anything else — an error status, a panic, a dropped or cancelled request — releases them so the sender's retry is handled |
//! | some `Done` (a batch) | the delivery is filtered: the handler sees only the new events |
//! | all `Done` | 200 without calling the handler |
//! | any `InFlight` | what this request claimed is released, 429 with `Retry-After` (the sender retries; Event Grid treats a batch as all or none) |
//! | the store fails | 503 with `Retry-After` (fail closed, the default), or the handler runs without deduplication when [`fail_open`](DedupPolicyBuilder::fail_open) is set (with a warning in the logs) |
//!
//! A router tells which events of a batch were handled instead, as each handler ends
//! ([`DedupGuard::event_claims`], [`EventClaims::mark_handled`], handed on in the
//! [`Delivery`]): when the guard finishes, whatever the status, or is dropped, or the
//! policy shuts down, the handled events are completed and the others follow the
//! status (one store call for each part), so a retried batch runs only the events
//! whose handlers failed (see [`route`](crate::route)).
//!
//! Members of one batch with the same `(source, id)` count once. Outcomes are
//! `tracing` events (target `hookgate::dedup`) with `source`, `id` and `outcome`.
//! The adapters (`DedupLayer` in hookgate-tower, `Dedup` in hookgate-actix) run
//! this behind the parse layer, which puts the delivery into the request extensions;
//! the whole-stack `WebhookLayer` / `Webhook` runs it right after parsing. A dedup
//! layer that finds no parsed delivery on a request that carries CloudEvents (it was
//! put outside the parse layer, or without one) passes the request on and logs a
//! warning, once per policy: see [`DedupPolicy::unparsed`].
//!
//! ```
//! use hookgate_core::dedup::{ClaimOutcome, DedupPolicy};
//! use hookgate_core::{parse, HeaderList, ParseConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let policy = DedupPolicy::builder().build()?; // in memory
//! let headers = HeaderList::new([
//!     ("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/s"), ("ce-type", "t"),
//! ]);
//! let mut delivery = parse(&headers, "".into(), &ParseConfig::default())?;
//! let ClaimOutcome::Handle(guard) = policy.claim(&mut delivery).await? else { panic!() };
//! // ... the handler runs and answers 200:
//! guard.finish(200).await;
//!
//! let mut again = parse(&headers, "".into(), &ParseConfig::default())?;
//! assert!(matches!(policy.claim(&mut again).await?, ClaimOutcome::AllDuplicates));
//! # Ok(()) }
//! ```

mod memory;
mod store;
mod unfinished;

pub use memory::MemoryStore;
pub use store::{Claim, ClaimToken, DedupKey, DedupStore, StoreError};

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::future::{self, Either};

use crate::auth::Identity;
use crate::binding::Delivery;
use crate::error::{ConfigError, Error, ErrorKind};
use crate::event::CloudEvent;
use crate::headers::HeaderSource;
use unfinished::{Claims, Parted, Ticket, Unfinished};

#[derive(Debug)]
struct Inner {
    store: Arc<dyn DedupStore>,
    /// The store's [`DedupStore::process_local`], asked once.
    local_keys: bool,
    lease: Duration,
    remember: Duration,
    in_flight_retry_after: u32,
    unavailable_retry_after: u32,
    fail_open: bool,
    /// Whether the misplaced-layer warning was logged.
    warned_unparsed: AtomicBool,
    /// The claims of the deliveries being handled, for [`DedupPolicy::shutdown`].
    unfinished: Unfinished,
}

/// How a receiver deduplicates; see the [module docs](self). Cheap to clone.
#[derive(Clone, Debug)]
pub struct DedupPolicy(Arc<Inner>);

/// Builder of a [`DedupPolicy`].
#[derive(Debug)]
#[must_use]
pub struct DedupPolicyBuilder {
    store: Option<Arc<dyn DedupStore>>,
    lease: Duration,
    remember: Duration,
    in_flight_retry_after: u32,
    unavailable_retry_after: u32,
    fail_open: bool,
}

impl DedupPolicyBuilder {
    /// The store (default: a [`MemoryStore`] of 1,000,000 entries).
    pub fn store(mut self, store: Arc<dyn DedupStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// How long a claim holds without being completed or released (default 5
    /// minutes): the longest a handler may take. A claim whose holder crashed
    /// is given to a retry after this.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// How long a handled event is remembered (default 24 hours, Event Grid's
    /// retry window).
    pub fn remember(mut self, remember: Duration) -> Self {
        self.remember = remember;
        self
    }

    /// The `Retry-After` seconds of a 429 for an event in flight (default 5).
    pub fn in_flight_retry_after(mut self, seconds: u32) -> Self {
        self.in_flight_retry_after = seconds;
        self
    }

    /// The `Retry-After` seconds of a 503 when the store fails (default 10).
    pub fn unavailable_retry_after(mut self, seconds: u32) -> Self {
        self.unavailable_retry_after = seconds;
        self
    }

    /// When the store fails, run the handler without deduplication (a warning is
    /// logged) instead of answering 503. Off by default: fail closed.
    pub fn fail_open(mut self, yes: bool) -> Self {
        self.fail_open = yes;
        self
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] for a zero lease, a remember window shorter than the lease,
    /// or a zero `Retry-After`.
    pub fn build(self) -> Result<DedupPolicy, ConfigError> {
        if self.lease.is_zero() {
            return Err(ConfigError("the dedup lease must not be zero".into()));
        }
        if self.remember < self.lease {
            return Err(ConfigError(
                "the dedup remember window must not be shorter than the lease".into(),
            ));
        }
        if self.in_flight_retry_after == 0 || self.unavailable_retry_after == 0 {
            return Err(ConfigError(
                "a Retry-After must be at least 1 second".into(),
            ));
        }
        let store = match self.store {
            Some(store) => store,
            None => Arc::new(MemoryStore::default()),
        };
        Ok(DedupPolicy(Arc::new(Inner {
            local_keys: store.process_local(),
            store,
            lease: self.lease,
            remember: self.remember,
            in_flight_retry_after: self.in_flight_retry_after,
            unavailable_retry_after: self.unavailable_retry_after,
            fail_open: self.fail_open,
            warned_unparsed: AtomicBool::new(false),
            unfinished: Unfinished::default(),
        })))
    }
}

/// What to do after the claims; see [`DedupPolicy::claim`].
#[derive(Debug)]
#[must_use]
pub enum ClaimOutcome {
    /// Run the handler on the (filtered) delivery, then [`DedupGuard::finish`] with
    /// its status.
    Handle(DedupGuard),
    /// Every event was handled before: answer 200 without calling the handler.
    AllDuplicates,
}

impl DedupPolicy {
    /// A builder: in memory, 5 minute lease, 24 hour remember window, fail closed.
    pub fn builder() -> DedupPolicyBuilder {
        DedupPolicyBuilder {
            store: None,
            lease: Duration::from_secs(300),
            remember: Duration::from_secs(24 * 3600),
            in_flight_retry_after: 5,
            unavailable_retry_after: 10,
            fail_open: false,
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn DedupStore> {
        &self.0.store
    }

    /// Claims the events of `delivery` and leaves in it only those this request
    /// must handle; see the [module docs](self).
    ///
    /// # Errors
    /// 429 [`ErrorKind::DuplicateInFlight`] when an event is in flight elsewhere,
    /// 503 [`ErrorKind::StoreUnavailable`] when the store fails (unless fail-open);
    /// both with `Retry-After`.
    pub async fn claim(&self, delivery: &mut Delivery) -> Result<ClaimOutcome, Error> {
        self.claim_scoped(&[], delivery).await
    }

    /// [`claim`](Self::claim) for the events of the authenticated caller `identity`:
    /// the keys are scoped by its principal (see [`claim_scoped`](Self::claim_scoped)):
    ///
    /// | authenticated by | scope |
    /// |---|---|
    /// | an Azure AD token | the tenant and the application (or object, or subject) |
    /// | a Web PubSub signature | the host its key is bound to (the resource) and the `ce-hub` |
    /// | a labeled shared secret | the label (which survives a rotation) |
    /// | an unlabeled shared secret, or nothing | none: its holders are one sender |
    ///
    /// The whole-stack entry point and the dedup layers of both adapters call it with
    /// the identity the authentication put on the request. The scope is computed at
    /// once: the future does not borrow `identity`.
    ///
    /// # Errors
    /// As [`claim`](Self::claim).
    pub fn claim_for<'a>(
        &'a self,
        identity: Option<&Identity>,
        delivery: &'a mut Delivery,
    ) -> impl Future<Output = Result<ClaimOutcome, Error>> + Send + 'a {
        let scope = scope_of(identity);
        async move { self.claim_scoped(scope.as_bytes(), delivery).await }
    }

    /// [`claim`](Self::claim) for the events of the principal `scope` (the
    /// authenticated caller; see [`DedupKey::scoped`]): the same `(source, id)` from
    /// two principals are two events, so that one sender cannot claim, and so
    /// suppress, another's. An empty scope is no scope.
    ///
    /// # Errors
    /// As [`claim`](Self::claim).
    pub fn claim_scoped<'a>(
        &'a self,
        scope: &'a [u8],
        delivery: &'a mut Delivery,
    ) -> impl Future<Output = Result<ClaimOutcome, Error>> + Send + 'a {
        // Chosen now, so that the future of a delivery of one event (most of them)
        // is that of one claim, polled in place; a batch's bookkeeping is in a
        // future of its own.
        if self.0.unfinished.is_closed() {
            Either::Left(future::ready(Err(self.shutting_down())))
        } else if delivery.len() == 1 {
            let delivery: &'a Delivery = delivery;
            Either::Right(Either::Left(self.claim_one(scope, &delivery.events()[0])))
        } else {
            Either::Right(Either::Right(Box::pin(self.claim_batch(scope, delivery))))
        }
    }

    /// [`claim_scoped`](Self::claim_scoped) for a batch of events.
    async fn claim_batch(
        &self,
        scope: &[u8],
        delivery: &mut Delivery,
    ) -> Result<ClaimOutcome, Error> {
        let p = &self.0;
        // One claim per distinct (source, id); later repeats in a batch are dropped.
        let mut seen = HashSet::with_capacity(delivery.len());
        let mut keep = Vec::with_capacity(delivery.len());
        let mut keys = Vec::with_capacity(delivery.len());
        for event in delivery.events() {
            let key = self.key(scope, event);
            let first = seen.insert(key);
            keep.push(first);
            if first {
                keys.push(key);
            } else {
                trace(event.source(), event.id(), "repeated in the batch");
            }
        }
        // A store that need not wait (in memory) answers at once, without a future
        // or a copy of the keys.
        let claimed = match p.store.claim_all_now(&keys, p.lease) {
            Some(result) => result,
            None => p.store.claim_all(keys.clone(), p.lease).await,
        };
        let claims = match claimed {
            Ok(claims) if claims.len() == keys.len() => claims,
            Ok(_) => return self.store_failed(StoreError("wrong number of claims".into())),
            Err(error) => return self.store_failed(error),
        };
        let mut new = Claims::with_capacity(keys.len());
        let mut in_flight = false;
        let mut claimed = keys.iter().zip(&claims);
        for (event, keep) in delivery.events().iter().zip(&mut keep) {
            if !*keep {
                continue;
            }
            match claimed.next() {
                Some((key, Claim::New(token))) => new.push((*key, *token)),
                Some((_, Claim::Done)) => {
                    trace(event.source(), event.id(), "duplicate");
                    *keep = false;
                }
                // `None` cannot happen (as many claims as keys, checked above); were it
                // to, a retry is the safe answer.
                Some((_, Claim::InFlight)) | None => {
                    trace(event.source(), event.id(), "in flight");
                    in_flight = true;
                    *keep = false;
                }
            }
        }
        if in_flight {
            self.settle(new, false).await;
            return Err(self.in_flight());
        }
        if new.is_empty() {
            return Ok(ClaimOutcome::AllDuplicates);
        }
        let guard = self.guard(new).await?;
        let mut keep = keep.into_iter();
        delivery
            .events_mut()
            .retain(|_| keep.next().unwrap_or(false));
        for event in delivery.events() {
            trace(event.source(), event.id(), "new");
        }
        Ok(ClaimOutcome::Handle(guard))
    }

    /// [`claim`](Self::claim) for a delivery of one event (most of them): one claim,
    /// no batch bookkeeping.
    async fn claim_one(&self, scope: &[u8], event: &CloudEvent) -> Result<ClaimOutcome, Error> {
        let p = &self.0;
        let key = self.key(scope, event);
        // A store that need not wait (in memory) answers at once, without a future.
        let claimed = match p.store.claim_now(key, p.lease) {
            Some(claimed) => claimed,
            None => p.store.claim(key, p.lease).await,
        };
        let outcome = match claimed {
            Ok(claim) => claim,
            Err(error) => return self.store_failed(error),
        };
        match outcome {
            Claim::New(token) => {
                trace(event.source(), event.id(), "new");
                Ok(ClaimOutcome::Handle(
                    self.guard(smallvec::smallvec![(key, token)]).await?,
                ))
            }
            Claim::Done => {
                trace(event.source(), event.id(), "duplicate");
                Ok(ClaimOutcome::AllDuplicates)
            }
            Claim::InFlight => {
                trace(event.source(), event.id(), "in flight");
                Err(self.in_flight())
            }
        }
    }

    /// The key of `event` sent by `scope`: [`DedupKey::local`] for a store of this
    /// process, else [`DedupKey::scoped`].
    fn key(&self, scope: &[u8], event: &CloudEvent) -> DedupKey {
        if self.0.local_keys {
            DedupKey::local(scope, event.source(), event.id())
        } else {
            DedupKey::scoped(scope, event.source(), event.id())
        }
    }

    /// The guard of the new `claims` of a delivery, registered for
    /// [`shutdown`](Self::shutdown); when the shutdown has begun, the claims are
    /// released and the answer is 503.
    fn guard(&self, claims: Claims) -> impl Future<Output = Result<DedupGuard, Error>> + Send {
        match self.0.unfinished.register(claims) {
            Ok(ticket) => Either::Left(future::ready(Ok(DedupGuard {
                policy: self.clone(),
                ticket: Some(ticket),
            }))),
            // Shutting down (rare): the release is the only wait, in a future of its own.
            Err(claims) => Either::Right(Box::pin(async move {
                self.settle(claims, false).await;
                Err(self.shutting_down())
            })),
        }
    }

    /// Settles a delivery's claims when it ends: the handled ones completed and the
    /// others completed or released as `success` says; a store call each (two at
    /// most, side by side).
    async fn settle_parted(&self, parted: Parted, success: bool) {
        if success {
            let mut all = parted.handled;
            all.extend(parted.rest);
            self.settle(all, true).await;
        } else {
            future::join(
                self.settle(parted.handled, true),
                self.settle(parted.rest, false),
            )
            .await;
        }
    }

    /// Completes (`success`) or releases `claims` in the store; a failure is logged.
    async fn settle(&self, claims: Claims, success: bool) {
        let p = &self.0;
        let (outcome, result) = match (success, claims.as_slice()) {
            (_, []) => return,
            // One event (most deliveries): the store's single-key call.
            // A store that need not wait answers at once, without a future.
            (true, &[(key, token)]) => (
                "completed",
                match p.store.complete_now(key, token, p.remember) {
                    Some(done) => done,
                    None => p.store.complete(key, token, p.remember).await,
                },
            ),
            (false, &[(key, token)]) => (
                "released",
                match p.store.release_now(key, token) {
                    Some(done) => done,
                    None => p.store.release(key, token).await,
                },
            ),
            (true, _) => (
                "completed",
                p.store.complete_all(claims.into_vec(), p.remember).await,
            ),
            (false, _) => ("released", p.store.release_all(claims.into_vec()).await),
        };
        match result {
            Ok(()) => tracing::debug!(target: "hookgate::dedup", outcome, "claims finished"),
            Err(error) => tracing::error!(
                target: "hookgate::dedup", outcome, %error,
                "dedup store failed to finish the claims; they end with their lease"
            ),
        }
    }

    /// Releases the claims of every delivery still being handled, and from then on
    /// answers 503 `shutting-down` (with `Retry-After`) instead of claiming: call it
    /// when the server has stopped (after its graceful-shutdown period), before the
    /// runtime goes away, so that the sender's retry of an unfinished delivery is
    /// handled at once (by another replica, or this one restarted) rather than after
    /// the lease. Returns how many claims it released.
    ///
    /// A handler still running when it is called is not stopped: should it finish,
    /// its answer stands, but its events are not remembered as done (at least once,
    /// never lost). A request dropped or cancelled while the runtime runs releases its
    /// own claims in the background; those not released yet are released here too
    /// (releasing twice is harmless: a claim is released only with its token).
    ///
    /// ```
    /// # use hookgate_core::dedup::DedupPolicy;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let policy = DedupPolicy::builder().build().unwrap();
    /// // ... serve until a shutdown signal, give in-flight requests a grace period ...
    /// let released = policy.shutdown().await;
    /// assert_eq!(released, 0);
    /// # }
    /// ```
    pub async fn shutdown(&self) -> usize {
        let left = self.0.unfinished.close();
        let released = left.rest.len();
        if !left.is_empty() {
            tracing::warn!(
                target: "hookgate::dedup",
                events = released,
                handled = left.handled.len(),
                "shutting down with deliveries unfinished; releasing their claims \
                 (completing those of events already handled)"
            );
        }
        self.settle_parted(left, false).await;
        released
    }

    fn shutting_down(&self) -> Error {
        Error::new(
            ErrorKind::ShuttingDown,
            "the receiver is shutting down; retry later",
        )
        .with_retry_after(self.0.unavailable_retry_after)
    }

    fn in_flight(&self) -> Error {
        Error::new(
            ErrorKind::DuplicateInFlight,
            "an event of this delivery is being handled by another request; retry later",
        )
        .with_retry_after(self.0.in_flight_retry_after)
    }

    /// For a dedup layer that found no parsed delivery on a request: when the request
    /// carries CloudEvents (the layer sits outside the parse layer, or has none in
    /// front), logs a warning, the first time for this policy, that duplicates are not
    /// being filtered. Returns whether it was such a request. The request is passed
    /// on either way: nothing is lost, but nothing is deduplicated either.
    pub fn unparsed(&self, method: &str, headers: &impl HeaderSource) -> bool {
        let events =
            crate::binding::carries_events(method) && crate::binding::detect_mode(headers).is_ok();
        if events && !self.0.warned_unparsed.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "hookgate::dedup",
                "a CloudEvents request reached the dedup layer unparsed, so it is NOT \
                 deduplicated: put the dedup layer inside the parse layer (axum: add \
                 DedupLayer before ParseCloudEventsLayer; actix-web: wrap Dedup before \
                 ParseCloudEvents), or use the one WebhookLayer / Webhook"
            );
        }
        events
    }

    fn store_failed(&self, error: StoreError) -> Result<ClaimOutcome, Error> {
        if self.0.fail_open {
            tracing::warn!(
                target: "hookgate::dedup",
                %error,
                "dedup store failed; handling the delivery without deduplication (fail-open)"
            );
            return Ok(ClaimOutcome::Handle(DedupGuard {
                policy: self.clone(),
                ticket: None,
            }));
        }
        tracing::error!(target: "hookgate::dedup", %error, "dedup store failed; answering 503");
        Err(Error::new(
            ErrorKind::StoreUnavailable,
            "the deduplication store is unavailable; retry later",
        )
        .with_retry_after(self.0.unavailable_retry_after))
    }
}

/// The principal that scopes a delivery's dedup keys
/// ([`DedupPolicy::claim_scoped`]), so that one sender cannot claim, and so
/// suppress, another's events:
///
/// | authenticated by | scope |
/// |---|---|
/// | an Azure AD token | the tenant and the application (or object, or subject) |
/// | a Web PubSub signature | the host its key is bound to (the resource) and the `ce-hub` |
/// | a labeled shared secret | the label (which survives a rotation) |
/// | an unlabeled shared secret, or nothing | none: its holders are one sender |
///
/// Each kind has its own prefix, and the fields are length-prefixed, so no two
/// principals share a scope.
fn scope_of(identity: Option<&Identity>) -> String {
    fn scope(kind: &str, fields: &[&str]) -> String {
        use std::fmt::Write as _;
        let mut scope = String::from(kind);
        for field in fields {
            let _ = write!(scope, "\n{}:{field}", field.len());
        }
        scope
    }
    match identity {
        #[cfg(feature = "aad")]
        Some(Identity::Aad(claims)) => {
            let caller = [&claims.app_id, &claims.object_id, &claims.subject]
                .into_iter()
                .find_map(Option::as_deref)
                .unwrap_or_default();
            let tenant = claims.tenant_id.as_deref().unwrap_or_default();
            scope("aad", &[tenant, caller])
        }
        Some(Identity::WebPubSub { host, hub }) => scope(
            "web-pubsub",
            &[
                host.as_deref().unwrap_or_default(),
                hub.as_deref().unwrap_or_default(),
            ],
        ),
        Some(Identity::SharedSecret {
            label: Some(label), ..
        }) => scope("secret", &[label]),
        _ => String::new(),
    }
}

fn trace(source: &str, id: &str, outcome: &str) {
    tracing::debug!(target: "hookgate::dedup", source, id, outcome, "dedup");
}

/// The claims of a request being handled. [`finish`](Self::finish) it with the
/// handler's status; dropped unfinished (a panic, a cancelled request) it releases the claims
/// in the background, so the sender's retry is handled (on a tokio runtime; without
/// one, or when the runtime stops first, they are released by
/// [`DedupPolicy::shutdown`], or end with their lease).
#[derive(Debug)]
#[must_use]
pub struct DedupGuard {
    policy: DedupPolicy,
    /// Where the claims are registered; `None` when there are none (fail-open).
    ticket: Option<Ticket>,
}

impl DedupGuard {
    /// A handle on the claims of each event, for a router that completes or releases
    /// them one by one as its handlers finish (see [`EventClaims`]); `None` when
    /// there are no claims (fail-open). The claims settled through it are left out
    /// when the guard finishes or is dropped; the others still follow the status.
    /// One reference count, no lock and no allocation.
    #[must_use]
    pub fn event_claims(&self) -> Option<EventClaims> {
        let ticket = self.ticket?;
        Some(EventClaims {
            policy: self.policy.clone(),
            ticket,
        })
    }

    /// Finishes the claims with the handler's HTTP `status`: a 2xx completes them
    /// (the events are remembered as done), anything else releases them (the
    /// sender's retry is handled). A store failure here is logged: the answer stands
    /// (the events were handled, or will be retried).
    pub fn finish(self, status: u16) -> impl Future<Output = ()> + Send {
        let settle = self.settle((200..300).contains(&status));
        async move {
            settle.await;
        }
    }

    /// [`finish`](Self::finish), answering how many claims it completed (all of
    /// them on a 2xx, the ones marked handled otherwise), for the metrics.
    pub(crate) fn finish_counted(self, status: u16) -> impl Future<Output = usize> + Send {
        self.settle((200..300).contains(&status))
    }

    /// Releases the claims without an answer from the handler.
    pub fn release(self) -> impl Future<Output = ()> + Send {
        let settle = self.settle(false);
        async move {
            settle.await;
        }
    }

    /// The future holds the guard itself (not a copy of it beside, as an `async fn`
    /// would): dropped before it is polled, the guard releases the claims as a
    /// dropped guard does.
    #[expect(
        clippy::manual_async_fn,
        reason = "an `async fn` future would hold a second copy of the guard"
    )]
    fn settle(mut self, success: bool) -> impl Future<Output = usize> + Send {
        async move {
            let Some(ticket) = self.ticket.take() else {
                return 0;
            };
            let parted = self.policy.0.unfinished.take(ticket);
            let completed = parted.handled.len() + if success { parted.rest.len() } else { 0 };
            self.policy.settle_parted(parted, success).await;
            completed
        }
    }
}

/// The claims of a delivery's events, one by one: event `index` (in the order of the
/// delivery handed to the handler, after deduplication) can be marked handled
/// ([`mark_handled`](Self::mark_handled): completed when the delivery ends, however
/// it ends, in one store call with the other handled events), or completed or
/// released at once ([`complete`](Self::complete), [`release`](Self::release): a
/// store call each), while the others wait for the answer's status
/// ([`DedupGuard::finish`]). The router of [`route`](crate::route) finds it in the
/// [`Delivery`] ([`Delivery::claims`]) and marks each event whose handler succeeds,
/// so that the sender's retry of a batch runs only the events that failed, and a
/// batch costs two store calls to settle, not one per event.
///
/// Settling an event twice, or after the guard finished, does nothing: a claim is
/// taken out of the registry once.
///
/// ```
/// use hookgate_core::dedup::{ClaimOutcome, DedupPolicy};
/// use hookgate_core::{parse, HeaderList, ParseConfig};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let policy = DedupPolicy::builder().build()?;
/// let batch = r#"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},
///                 {"specversion":"1.0","id":"2","source":"/s","type":"t"}]"#;
/// let headers = HeaderList::new([("content-type", "application/cloudevents-batch+json")]);
/// let mut delivery = parse(&headers, batch.into(), &ParseConfig::default())?;
/// let ClaimOutcome::Handle(guard) = policy.claim(&mut delivery).await? else { panic!() };
/// let claims = guard.event_claims().unwrap();
/// claims.mark_handled(0); // event "1" was handled; event "2" failed
/// guard.finish(500).await; // completes "1", releases "2": a store call each
///
/// // The sender retries the batch: only event "2" is new.
/// let mut retry = parse(&headers, batch.into(), &ParseConfig::default())?;
/// let ClaimOutcome::Handle(guard) = policy.claim(&mut retry).await? else { panic!() };
/// assert_eq!(retry.events()[0].id(), "2");
/// guard.finish(200).await;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct EventClaims {
    policy: DedupPolicy,
    ticket: Ticket,
}

impl EventClaims {
    /// Marks event `index` as handled, without a store call: whatever ends the
    /// delivery completes its claim, in one store call with the others, so that a
    /// retry skips it. The delivery's answer does (a non-2xx answer completes the
    /// handled events and releases the others), a request dropped or cancelled
    /// before its answer does (in the background, as it releases the others), and
    /// so does [`DedupPolicy::shutdown`]. A process killed first leaves the claim to
    /// end with its lease (the event is then handled again: at least once).
    ///
    /// This is what the [router](crate::route) does as each handler succeeds; see
    /// [`complete`](Self::complete) for a store call at once.
    pub fn mark_handled(&self, index: usize) {
        self.policy.0.unfinished.mark_handled(self.ticket, index);
    }

    /// Completes the claim of event `index` at once (a store call): it was handled,
    /// and a retry skips it.
    pub async fn complete(&self, index: usize) {
        self.settle(index, true).await;
    }

    /// Releases the claim of event `index`: it was not handled, and a retry runs it.
    pub async fn release(&self, index: usize) {
        self.settle(index, false).await;
    }

    async fn settle(&self, index: usize, success: bool) {
        if let Some(claim) = self.policy.0.unfinished.take_one(self.ticket, index) {
            self.policy
                .settle(smallvec::smallvec![claim], success)
                .await;
        }
    }
}

impl Drop for DedupGuard {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let parted = self.policy.0.unfinished.copy(ticket);
        if parted.is_empty() {
            return;
        }
        tracing::warn!(
            target: "hookgate::dedup",
            events = parted.rest.len(),
            handled = parted.handled.len(),
            "request dropped before it finished; releasing its claims \
             (completing those of events already handled)"
        );
        // Released in the background, then taken out of the registry: a shutdown that
        // comes first (the runtime stopping) still finds them.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let policy = self.policy.clone();
            runtime.spawn(async move {
                policy.settle_parted(parted, false).await;
                let _ = policy.0.unfinished.take(ticket);
            });
        }
    }
}
