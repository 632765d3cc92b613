//! One webhook receiver, built once: the whole stack in the only correct order.
//!
//! A [`WebhookPolicy`] describes a receiver: which origins the validation handshake
//! grants ([`HandshakePolicy`]), how senders authenticate ([`AuthPolicy`], optional),
//! how CloudEvents are parsed ([`ParseConfig`]), and how they are deduplicated
//! ([`DedupPolicy`], optional). [`WebhookPolicyBuilder::build`] checks it all. The
//! same value gives one tower layer (`hookgate_tower::WebhookLayer`, one
//! `Router::layer`) and one actix-web middleware (`hookgate_actix::Webhook`, one
//! `App::wrap`), so moving a receiver between frameworks changes one line.
//!
//! [`WebhookPolicy::admit`] runs the parts for one request, in this order:
//!
//! | step | answers without the handler |
//! |---|---|
//! | 1. the validation handshake | a grant, a refusal (403), a callback grant, Event Grid's validation |
//! | 2. authentication (when configured) | 401, 403, or 503 with `Retry-After` |
//! | 3. parsing (`POST`, `PUT`, `PATCH`) | 413, 415, 400 |
//! | 4. deduplication (when configured) | 200 for all duplicates, 429 for an event in flight, 503 for a failed store |
//! | 5. the handler | — |
//!
//! The handshake comes first because senders do not all authenticate it
//! ([`handshake_after_auth`](WebhookPolicyBuilder::handshake_after_auth) changes that).
//! Deduplication comes after parsing by construction, and its keys are scoped by the
//! authenticated caller where the caller has a name of its own, so one sender cannot
//! claim, and so suppress, another's events: an Azure AD application (its tenant and
//! app id), a Web PubSub resource and hub (the host its key is bound to, and
//! `ce-hub`), the sender a shared secret is labeled with
//! ([`SharedSecrets::labeled`](crate::auth::SharedSecrets::labeled); the label, not
//! the secret, so a rotation keeps it). The holders of unlabeled shared secrets are
//! one sender. After the handler,
//! [`Admitted::finish`] completes the claims on a 2xx and releases them on anything
//! else (leaving out those an [`EventRouter`](crate::route::EventRouter) settled one
//! by one, as each event's handler ended), and says which headers the answer needs (`Cache-Control: private` for a
//! request authenticated by a secret in its URL).
//!
//! **Shutting down.** Call [`WebhookPolicy::shutdown`] when the server has stopped
//! and before the runtime ends: the claims of deliveries that were still being
//! handled are released, so the sender's retry is handled at once rather than after
//! the dedup lease.
//!
//! **Observing rejections.** Every rejection (of any step, and one a handler's
//! extractor answers with a hookgate problem) is a `tracing` event, target
//! `hookgate::rejection` (level `warn` for 5xx, `debug` for 429, `info` for the other
//! 4xx), and is passed to the [`on_rejection`](WebhookPolicyBuilder::on_rejection)
//! hook, the same way on both frameworks.
//!
//! ```
//! use hookgate_core::auth::{AuthPolicy, SharedSecrets};
//! use hookgate_core::dedup::DedupPolicy;
//! use hookgate_core::handshake::HandshakePolicy;
//! use hookgate_core::webhook::WebhookPolicy;
//!
//! # fn main() -> Result<(), hookgate_core::ConfigError> {
//! let webhook = WebhookPolicy::builder()
//!     .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!     .auth(AuthPolicy::builder().shared_secrets(SharedSecrets::new(["s3cret"])?).build()?)
//!     .dedup(DedupPolicy::builder().build()?)
//!     .on_rejection(|rejection| eprintln!("refused {}: {}", rejection.path(), rejection.problem().detail()))
//!     .build()?;
//! # let _ = webhook;
//! // axum:      Router::new().route(...).layer(hookgate_tower::WebhookLayer::new(webhook))
//! // actix-web: App::new().wrap(hookgate_actix::Webhook::new(webhook)).route(...)
//!
//! // Deduplication needs parsed events:
//! let error = WebhookPolicy::builder()
//!     .handshake(HandshakePolicy::builder().azure_event_grid().build()?)
//!     .without_parsing()
//!     .dedup(DedupPolicy::builder().build()?)
//!     .build()
//!     .unwrap_err();
//! assert!(error.to_string().contains("parsing"));
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use tracing::Span;

use crate::auth::{AuthPolicy, Identity};
use crate::binding::{Delivery, ParseConfig, carries_events, read_delivery};
use crate::dedup::{ClaimOutcome, DedupGuard, DedupPolicy};
use crate::error::{ConfigError, Error};
use crate::handshake::HandshakePolicy;
use crate::observe::{self, Active, EventSpans, Meter, Outcome};
use crate::problem::Problem;
use crate::reply::Reply;
use crate::request::Incoming;
use crate::webpubsub::WebPubSubLimits;

/// The step of the stack that refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The validation handshake (a refused origin, a malformed header, a refused
    /// callback, a bad Event Grid validation event).
    Handshake,
    /// Authentication.
    Auth,
    /// Reading and parsing the CloudEvents.
    Parse,
    /// Deduplication (an event in flight, a failed store).
    Dedup,
    /// The handler, through one of hookgate's extractors.
    Handler,
}

impl Stage {
    /// The stage's name, as in the `tracing` events: `handshake`, `auth`, `parse`,
    /// `dedup`, `handler`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Handshake => "handshake",
            Self::Auth => "auth",
            Self::Parse => "parse",
            Self::Dedup => "dedup",
            Self::Handler => "handler",
        }
    }
}

/// A refused request, as the [`on_rejection`](WebhookPolicyBuilder::on_rejection) hook
/// sees it. The query string is left out: it may hold a secret.
#[derive(Clone, Copy, Debug)]
pub struct Rejection<'a> {
    problem: &'a Problem,
    stage: Stage,
    method: &'a str,
    path: &'a str,
}

impl<'a> Rejection<'a> {
    /// The problem the request was answered with (its status, type and detail).
    #[must_use]
    pub fn problem(&self) -> &'a Problem {
        self.problem
    }

    /// The step that refused it.
    #[must_use]
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The request's method.
    #[must_use]
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The request's path, without the query string.
    #[must_use]
    pub fn path(&self) -> &'a str {
        self.path
    }
}

type RejectionHook = Arc<dyn Fn(&Rejection<'_>) + Send + Sync>;
type RenderRejection = Arc<dyn Fn(&Problem) -> Reply + Send + Sync>;

struct Inner {
    handshake: HandshakePolicy,
    auth: Option<AuthPolicy>,
    parse: Option<ParseConfig>,
    /// The limits of the extractors: `parse`, or those given with
    /// `without_parsing`, or the defaults.
    extractor_config: ParseConfig,
    webpubsub: Option<WebPubSubLimits>,
    dedup: Option<DedupPolicy>,
    handshake_after_auth: bool,
    on_rejection: Option<RejectionHook>,
    render: Option<RenderRejection>,
    name: Option<Arc<str>>,
    meter: Meter,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookPolicy")
            .field("handshake", &self.handshake)
            .field("auth", &self.auth)
            .field("parse", &self.parse)
            .field("extractor_config", &self.extractor_config)
            .field("webpubsub", &self.webpubsub)
            .field("dedup", &self.dedup)
            .field("handshake_after_auth", &self.handshake_after_auth)
            .field("on_rejection", &self.on_rejection.is_some())
            .field("render_rejection", &self.render.is_some())
            .field("name", &self.name)
            .finish()
    }
}

/// A whole webhook receiver: handshake, authentication, parsing and deduplication,
/// applied in the only correct order; see the [module docs](self). Cheap to clone.
#[derive(Clone, Debug)]
pub struct WebhookPolicy(Arc<Inner>);

/// Builder of a [`WebhookPolicy`]; [`handshake`](Self::handshake) is required.
#[derive(Default)]
#[must_use]
pub struct WebhookPolicyBuilder {
    handshake: Option<HandshakePolicy>,
    auth: Option<AuthPolicy>,
    parse: Option<ParseConfig>,
    without_parsing: bool,
    dedup: Option<DedupPolicy>,
    handshake_after_auth: bool,
    webpubsub: Option<WebPubSubLimits>,
    on_rejection: Option<RejectionHook>,
    render: Option<RenderRejection>,
    name: Option<String>,
}

impl fmt::Debug for WebhookPolicyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookPolicyBuilder")
            .field("handshake", &self.handshake)
            .field("auth", &self.auth)
            .field("parse", &self.parse)
            .field("without_parsing", &self.without_parsing)
            .field("dedup", &self.dedup)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl WebhookPolicyBuilder {
    /// The validation handshake (required): which origins are granted, and how.
    pub fn handshake(mut self, policy: HandshakePolicy) -> Self {
        self.handshake = Some(policy);
        self
    }

    /// Authenticates senders as `policy` says. Takes an `Option` too, for a receiver
    /// whose configuration may or may not ask for authentication; `None` (the
    /// default) authenticates nobody.
    pub fn auth(mut self, policy: impl Into<Option<AuthPolicy>>) -> Self {
        self.auth = policy.into();
        self
    }

    /// The parse limits (default: [`ParseConfig::default`]). With
    /// [`without_parsing`](Self::without_parsing), the limits of the extractors that
    /// read the body themselves (`Ucwa<T>` of a Trusted Application route): the
    /// middleware hands them on in each request's extensions.
    pub fn parse(mut self, config: ParseConfig) -> Self {
        self.parse = Some(config);
        self
    }

    /// Does not parse: for routes that authenticate but carry no CloudEvents (the
    /// Trusted Application API's plain-JSON callbacks). Deduplication then cannot be
    /// configured; [`parse`](Self::parse) then gives the extractors' limits.
    pub fn without_parsing(mut self) -> Self {
        self.without_parsing = true;
        self
    }

    /// Deduplicates as `policy` says. Takes an `Option` too; `None` (the default)
    /// does not deduplicate.
    pub fn dedup(mut self, policy: impl Into<Option<DedupPolicy>>) -> Self {
        self.dedup = policy.into();
        self
    }

    /// The Web PubSub extractors' limits, which the middleware hands on in each
    /// request's extensions ([`WebPubSubPolicy`](crate::webpubsub::WebPubSubPolicy)
    /// sets its own; default: none, and the extractors use
    /// [`WebPubSubLimits::default`]).
    pub fn webpubsub_limits(mut self, limits: WebPubSubLimits) -> Self {
        self.webpubsub = Some(limits);
        self
    }

    /// Authenticates the handshake too (off by default: senders do not all
    /// authenticate it; Azure Event Grid and Web PubSub send the `?code=` of the
    /// webhook URL with it, so turning this on is safe with shared secrets).
    pub fn handshake_after_auth(mut self, yes: bool) -> Self {
        self.handshake_after_auth = yes;
        self
    }

    /// Calls `hook` for every rejection (after its `tracing` event), on both
    /// frameworks alike: to count rejections by [`Problem::type_uri`], or log them
    /// your way. It runs on the request's task: keep it short.
    pub fn on_rejection(mut self, hook: impl Fn(&Rejection<'_>) + Send + Sync + 'static) -> Self {
        self.on_rejection = Some(Arc::new(hook));
        self
    }

    /// Renders rejections with `render` instead of as `application/problem+json`:
    /// for senders that pass the receiver's answer on to their own clients and expect
    /// a plain message (Azure Web PubSub). The status should stay the problem's.
    pub fn render_rejection(
        mut self,
        render: impl Fn(&Problem) -> Reply + Send + Sync + 'static,
    ) -> Self {
        self.render = Some(Arc::new(render));
        self
    }

    /// Names the receiver (default: unnamed): the `hookgate.route` field of its
    /// spans and the `route` label of its metrics (see [`observe`]),
    /// so that the receivers of one process are told apart. 1 to 64 characters of
    /// `A-Z a-z 0-9 _ - . /`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] when no handshake policy is given, deduplication is asked
    /// for without parsing, or the [`name`](Self::name) is empty, longer than 64
    /// characters or has others than `A-Z a-z 0-9 _ - . /`.
    pub fn build(self) -> Result<WebhookPolicy, ConfigError> {
        let Some(handshake) = self.handshake else {
            return Err(ConfigError(
                "the webhook has no handshake policy: call handshake(HandshakePolicy::builder()...build()?)"
                    .into(),
            ));
        };
        if self.without_parsing && self.dedup.is_some() {
            return Err(ConfigError(
                "deduplication needs parsing: it claims the parsed events' (source, id); \
                 drop without_parsing() or the dedup policy"
                    .into(),
            ));
        }
        if let Some(name) = &self.name {
            let fits = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/');
            if name.is_empty() || name.len() > 64 || !name.chars().all(fits) {
                return Err(ConfigError(format!(
                    "the webhook's name {name:?} is not 1 to 64 characters of A-Z a-z 0-9 _ - . / \
                     (it is a metric label)"
                )));
            }
        }
        let name: Option<Arc<str>> = self.name.map(Into::into);
        let meter = Meter::new(name.as_ref());
        let extractor_config = self.parse.unwrap_or_default();
        let parse = (!self.without_parsing).then(|| extractor_config.clone());
        Ok(WebhookPolicy(Arc::new(Inner {
            handshake,
            auth: self.auth,
            parse,
            extractor_config,
            webpubsub: self.webpubsub,
            dedup: self.dedup,
            handshake_after_auth: self.handshake_after_auth,
            on_rejection: self.on_rejection,
            render: self.render,
            name,
            meter,
        })))
    }
}

/// What to do with a request; see [`WebhookPolicy::admit`].
#[derive(Debug)]
#[must_use]
// Large only with the `aad` feature (its claims): `allow`, not `expect`.
#[allow(
    clippy::large_enum_variant,
    reason = "returned once per request and matched at once; boxing would allocate on the hot path"
)]
pub enum Admission {
    /// Answer with this reply; the handler is not called.
    Reply(Reply),
    /// Call the handler, with what [`Admitted`] hands over, then
    /// [`Admitted::finish`] with its answer.
    Forward(Admitted),
}

/// A request the stack let through. The adapter puts the identity and the delivery
/// into the request extensions and the body bytes (when they were read) back as the
/// body, calls the handler, and [`finish`](Self::finish)es with its answer. Dropped
/// without finishing (a panic, a cancelled request), it releases its claims.
#[derive(Debug)]
#[must_use]
pub struct Admitted {
    policy: WebhookPolicy,
    identity: Option<Identity>,
    delivery: Option<Delivery>,
    body: Option<Bytes>,
    guard: Option<DedupGuard>,
    private: bool,
    /// What the spans and metrics need at the end; `None` (8 bytes moved, nothing
    /// allocated) when neither is on.
    observed: Option<Box<Observed>>,
    /// The handler is running: counted until this is dropped.
    _active: Active,
}

/// What [`Admitted::finish`] records.
#[derive(Debug)]
struct Observed {
    /// The delivery span (current when admitted), its events' spans.
    span: Span,
    event_spans: Option<Arc<EventSpans>>,
    sender: Option<Arc<str>>,
    /// How many events the handler got (counted when it accepts them).
    events: usize,
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Admitted {
    /// The policy that admitted the request: the adapter puts a clone (one `Arc`)
    /// into the request extensions, where the extractors find their limits
    /// ([`WebhookPolicy::extractor_config`], [`WebhookPolicy::webpubsub_limits`]).
    #[must_use]
    pub fn policy(&self) -> &WebhookPolicy {
        &self.policy
    }

    /// Who the request was authenticated as (once; `None` without authentication).
    pub fn take_identity(&mut self) -> Option<Identity> {
        self.identity.take()
    }

    /// The parsed events, filtered to the new ones when deduplicating (once; `None`
    /// for a request that carries no events).
    pub fn take_delivery(&mut self) -> Option<Delivery> {
        self.delivery.take()
    }

    /// The body, when the stack read it (once): hand it on as the request body.
    /// `None` when the body was not touched.
    pub fn take_body(&mut self) -> Option<Bytes> {
        self.body.take()
    }

    /// The span the handler runs in: the event's processing span when the
    /// delivery holds one event; else none (`Span::none()`), and the handler runs
    /// in the delivery span (an [`EventRouter`](crate::route::EventRouter) enters
    /// each event's span itself). See [`observe`].
    #[must_use]
    pub fn handler_span(&self) -> Span {
        self.observed
            .as_ref()
            .and_then(|o| o.event_spans.as_deref())
            .and_then(EventSpans::single)
            .cloned()
            .unwrap_or_else(Span::none)
    }

    /// Finishes with the handler's answer: reports a rejection the handler answered
    /// with (at once), then the future completes the dedup claims on a 2xx and
    /// releases them otherwise, and gives the headers the answer needs. The future
    /// borrows nothing of `answer`.
    pub fn finish(self, answer: HandlerAnswer<'_>) -> impl Future<Output = Finished> + use<> {
        let Self {
            policy,
            identity: _,
            delivery: _,
            body: _,
            guard,
            private,
            observed,
            _active,
        } = self;
        if let Some(problem) = answer.problem {
            policy.report(&Rejection {
                problem,
                stage: Stage::Handler,
                method: answer.method,
                path: answer.path,
            });
        }
        let outcome = answer
            .outcome
            .unwrap_or(if (200..300).contains(&answer.status) {
                Outcome::Accepted
            } else {
                Outcome::Refused
            });
        let refusal =
            (outcome == Outcome::Refused).then_some((Stage::Handler.as_str(), answer.problem));
        if let Some(o) = &observed {
            observe::record_end(&o.span, outcome, answer.status, refusal);
            if let Some(spans) = &o.event_spans {
                spans.finish(answer.status, answer.problem);
            }
        }
        let sender = observed.as_ref().and_then(|o| o.sender.as_ref());
        policy.0.meter.delivery(outcome, sender);
        // The answer is read now: the future holds the guard of the claims to settle,
        // nothing of the request or the response (and the guard, not its settling
        // future beside the one it awaits).
        let status = answer.status;
        async move {
            // The events the handler took: all of an accepted delivery's; of another,
            // those it marked handled one by one (a router's, `--per-event`'s).
            let completed = match guard {
                Some(guard) => guard.finish_counted(status).await,
                None => 0,
            };
            if let Some(o) = &observed {
                let accepted = match outcome {
                    Outcome::Accepted => o.events,
                    // Duplicates the handler found itself: it took none.
                    Outcome::Duplicate | Outcome::Handshake => 0,
                    Outcome::Refused => completed,
                };
                policy.0.meter.events(accepted, o.sender.as_ref());
                #[cfg(feature = "metrics")]
                policy
                    .0
                    .meter
                    .handler_duration(o.started.elapsed(), outcome);
            }
            #[cfg(not(feature = "metrics"))]
            let _ = completed;
            // The handler's spans end with the answer, the gauge with them.
            drop((observed, _active));
            Finished { private }
        }
    }
}

/// The handler's answer, for [`Admitted::finish`].
#[derive(Clone, Copy, Debug)]
pub struct HandlerAnswer<'a> {
    /// The HTTP status.
    pub status: u16,
    /// The [`Problem`] in the response extensions, when one of hookgate's extractors
    /// refused the request.
    pub problem: Option<&'a Problem>,
    /// The request's method.
    pub method: &'a str,
    /// The request's path, without the query string.
    pub path: &'a str,
    /// The [`Outcome`] in the response extensions, when the handler put one there
    /// to say what its answer means for the spans and metrics (a handler that
    /// deduplicates by itself answers a duplicate 200 with `Outcome::Duplicate`);
    /// `None`: accepted for a 2xx, refused otherwise.
    pub outcome: Option<Outcome>,
}

/// What the answer to an admitted request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Finished {
    private: bool,
}

impl Finished {
    /// Headers to set on the answer (replacing any of the same name).
    #[must_use]
    pub fn headers(&self) -> &'static [(&'static str, &'static str)] {
        answer_headers(self.private)
    }
}

/// The headers an answer to an authenticated request needs: `Cache-Control: private`
/// when the credentials came in the URL (`?code=`), so that no shared cache keeps it.
#[must_use]
pub fn identity_headers(identity: &Identity) -> &'static [(&'static str, &'static str)] {
    answer_headers(identity.from_query())
}

fn with_headers(reply: Reply, headers: &'static [(&'static str, &'static str)]) -> Reply {
    headers.iter().fold(reply, |reply, (name, value)| {
        reply.with_header(name, *value)
    })
}

fn answer_headers(private: bool) -> &'static [(&'static str, &'static str)] {
    if private {
        &[("cache-control", "private")]
    } else {
        &[]
    }
}

impl WebhookPolicy {
    /// A builder; [`handshake`](WebhookPolicyBuilder::handshake) is required.
    pub fn builder() -> WebhookPolicyBuilder {
        WebhookPolicyBuilder::default()
    }

    /// The handshake policy.
    #[must_use]
    pub fn handshake(&self) -> &HandshakePolicy {
        &self.0.handshake
    }

    /// The authentication policy, when there is one.
    #[must_use]
    pub fn auth(&self) -> Option<&AuthPolicy> {
        self.0.auth.as_ref()
    }

    /// The parse limits; `None` when the webhook does not parse.
    #[must_use]
    pub fn parse(&self) -> Option<&ParseConfig> {
        self.0.parse.as_ref()
    }

    /// The limits of the extractors that read the body themselves, for requests
    /// this policy admitted: the parse limits, or those given with
    /// [`without_parsing`](WebhookPolicyBuilder::without_parsing), or the defaults.
    /// The middleware puts the policy into each request's extensions, so the
    /// extractors find these without a registration of their own.
    #[must_use]
    pub fn extractor_config(&self) -> &ParseConfig {
        &self.0.extractor_config
    }

    /// The Web PubSub extractors' limits, when the policy has them (one built by
    /// [`WebPubSubPolicy`](crate::webpubsub::WebPubSubPolicy) does).
    #[must_use]
    pub fn webpubsub_limits(&self) -> Option<WebPubSubLimits> {
        self.0.webpubsub
    }

    /// The deduplication policy, when there is one.
    #[must_use]
    pub fn dedup(&self) -> Option<&DedupPolicy> {
        self.0.dedup.as_ref()
    }

    /// Ends the receiver's deduplication for a shutdown: releases the claims of every
    /// delivery still being handled and answers later deliveries 503 with
    /// `Retry-After` (see [`DedupPolicy::shutdown`]). Call it once the server has
    /// stopped (after its graceful-shutdown period) and before the runtime goes away;
    /// returns how many claims it released (0 without deduplication).
    ///
    /// ```no_run
    /// # async fn serve() {}
    /// # async fn run(webhook: hookgate_core::webhook::WebhookPolicy) {
    /// // axum: axum::serve(listener, app).with_graceful_shutdown(signal), with a
    /// //       grace period; actix-web: HttpServer::run().await (SIGTERM, SIGINT).
    /// serve().await;
    /// webhook.shutdown().await;
    /// # }
    /// ```
    pub async fn shutdown(&self) -> usize {
        match &self.0.dedup {
            Some(dedup) => dedup.shutdown().await,
            None => 0,
        }
    }

    /// The receiver's [`name`](WebhookPolicyBuilder::name), when it has one.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The span of one request through the stack, to run [`admit`](Self::admit),
    /// the handler and [`Admitted::finish`] in (the adapters instrument the
    /// request's future with it): a child of the current span when there is one,
    /// else the span that continues the request's `traceparent` (feature `otel`).
    /// Its fields are recorded as the steps go; see [`observe`].
    pub fn span<R: Incoming>(&self, request: &R) -> Span {
        if !observe::enabled() {
            return Span::none();
        }
        observe::delivery_span(
            request.method(),
            request.path(),
            &request.headers(),
            self.0.name.as_deref(),
        )
    }

    /// Runs the stack on `request` up to the handler; see the [module docs](self).
    /// Records what it decides on the current span (the one of
    /// [`span`](Self::span), when the adapter runs it there) and in the metrics.
    pub async fn admit<R: Incoming>(&self, request: &mut R) -> Admission {
        let p = &*self.0;
        // The span is looked up where it is recorded on (a level check when spans
        // are off), so that this future does not keep a copy of it.
        if !p.handshake_after_auth
            && let Some(reply) = p.handshake.respond(request).await
        {
            return Admission::Reply(self.replied(None, Stage::Handshake, reply, request));
        }
        let mut identity = None;
        if let Some(auth) = &p.auth {
            let check = auth.authenticate(request.query(), &request.headers());
            match check.await {
                Ok(who) => {
                    observe::record_identity(&observe::current(), &who);
                    identity = Some(who);
                }
                Err(error) => {
                    return Admission::Reply(self.reject(None, Stage::Auth, &error, request));
                }
            }
        }
        let private = identity.as_ref().is_some_and(Identity::from_query);
        // Every answer from here on goes to an authenticated request.
        let answer = |reply: Reply| Admission::Reply(with_headers(reply, answer_headers(private)));
        if p.handshake_after_auth
            && let Some(reply) = p.handshake.respond(request).await
        {
            return answer(self.replied(
                sender_of(identity.as_ref()),
                Stage::Handshake,
                reply,
                request,
            ));
        }
        // What goes on to the handler is put together at the end: the futures of
        // the steps before do not also hold it.
        let admitted = |identity: Option<Identity>, delivery: Option<Delivery>, body, guard| {
            let observed = (observe::enabled() || cfg!(feature = "metrics")).then(|| {
                Box::new(Observed {
                    span: observe::current(),
                    event_spans: delivery.as_ref().and_then(|d| d.spans.clone()),
                    sender: sender_of(identity.as_ref()).cloned(),
                    events: delivery.as_ref().map_or(0, Delivery::len),
                    #[cfg(feature = "metrics")]
                    started: std::time::Instant::now(),
                })
            });
            Admitted {
                policy: self.clone(),
                private,
                identity,
                delivery,
                body,
                guard,
                observed,
                _active: p.meter.active(),
            }
        };
        let Some(config) = &p.parse else {
            return Admission::Forward(admitted(identity, None, None, None));
        };
        if !carries_events(request.method()) {
            return Admission::Forward(admitted(identity, None, None, None));
        }
        let (mut delivery, body) = match read_delivery(request, config).await {
            Ok(read) => read,
            Err(error) => {
                return answer(self.reject(
                    sender_of(identity.as_ref()),
                    Stage::Parse,
                    &error,
                    request,
                ));
            }
        };
        observe::record_delivery(&observe::current(), delivery.mode(), delivery.len());
        let mut guard = None;
        if let Some(dedup) = &p.dedup {
            let before = delivery.len();
            let claimed = dedup.claim_for(identity.as_ref(), &mut delivery).await;
            // All duplicates leave the delivery as it was; some, without them.
            let duplicates = match &claimed {
                Ok(ClaimOutcome::AllDuplicates) => before,
                _ => before - delivery.len(),
            };
            if duplicates > 0 {
                observe::current().record("hookgate.duplicates", duplicates as i64);
                p.meter.duplicates(duplicates, sender_of(identity.as_ref()));
            }
            match claimed {
                Ok(ClaimOutcome::Handle(claimed)) => {
                    // For a router that settles each event as its handler ends.
                    delivery.set_claims(claimed.event_claims());
                    guard = Some(claimed);
                }
                Ok(ClaimOutcome::AllDuplicates) => {
                    observe::record_end(&observe::current(), Outcome::Duplicate, 200, None);
                    p.meter
                        .delivery(Outcome::Duplicate, sender_of(identity.as_ref()));
                    return answer(Reply::new(200));
                }
                Err(error) => {
                    return answer(self.reject(
                        sender_of(identity.as_ref()),
                        Stage::Dedup,
                        &error,
                        request,
                    ));
                }
            }
        }
        delivery.spans = EventSpans::new(&observe::current(), delivery.events());
        Admission::Forward(admitted(identity, Some(delivery), Some(body), guard))
    }

    fn reject<R: Incoming>(
        &self,
        sender: Option<&Arc<str>>,
        stage: Stage,
        error: &Error,
        request: &R,
    ) -> Reply {
        let problem = error.problem();
        self.refused(sender, stage, &problem);
        self.report(&Rejection {
            problem: &problem,
            stage,
            method: request.method(),
            path: request.path(),
        });
        match &self.0.render {
            Some(render) => render(&problem),
            None => Reply::from(problem),
        }
    }

    /// A refusal by a step, on the span and in the metrics.
    fn refused(&self, sender: Option<&Arc<str>>, stage: Stage, problem: &Problem) {
        observe::record_end(
            &observe::current(),
            Outcome::Refused,
            problem.status(),
            Some((stage.as_str(), Some(problem))),
        );
        self.0.meter.delivery(Outcome::Refused, sender);
    }

    /// A reply of a step: reported when it is a rejection.
    fn replied<R: Incoming>(
        &self,
        sender: Option<&Arc<str>>,
        stage: Stage,
        reply: Reply,
        request: &R,
    ) -> Reply {
        let Some(problem) = reply.problem() else {
            observe::record_end(
                &observe::current(),
                Outcome::Handshake,
                reply.status(),
                None,
            );
            self.0.meter.delivery(Outcome::Handshake, sender);
            return reply;
        };
        self.refused(sender, stage, problem);
        self.report(&Rejection {
            problem,
            stage,
            method: request.method(),
            path: request.path(),
        });
        match &self.0.render {
            Some(render) => render(problem),
            None => reply,
        }
    }

    fn report(&self, rejection: &Rejection<'_>) {
        trace_rejection(rejection);
        self.0
            .meter
            .rejection(rejection.stage.as_str(), rejection.problem.type_uri());
        if let Some(hook) = &self.0.on_rejection {
            hook(rejection);
        }
    }
}

/// The sender's configured label, for the metrics (read where it is needed: the
/// admission's future keeps the identity, not a copy of the label).
fn sender_of(identity: Option<&Identity>) -> Option<&Arc<str>> {
    identity.and_then(Identity::configured_label)
}

/// The parse limits of an extractor that reads the body itself: those of the
/// policy whose middleware admitted the request (found in the request extensions),
/// else a [`ParseConfig`] registered for the extractors (`axum::Extension`,
/// actix-web's `app_data`: deprecated, still read), else the defaults. The one
/// lookup order of both adapters.
#[must_use]
pub fn extractor_config(
    policy: Option<&WebhookPolicy>,
    registered: Option<&ParseConfig>,
) -> ParseConfig {
    policy
        .map(WebhookPolicy::extractor_config)
        .or(registered)
        .cloned()
        .unwrap_or_default()
}

/// The Web PubSub extractors' limits: those of the policy whose middleware
/// admitted the request, when it has them, else [`WebPubSubLimits`] registered for
/// the extractors (deprecated, still read), else the defaults.
#[must_use]
pub fn extractor_webpubsub_limits(
    policy: Option<&WebhookPolicy>,
    registered: Option<&WebPubSubLimits>,
) -> WebPubSubLimits {
    policy
        .and_then(WebhookPolicy::webpubsub_limits)
        .or_else(|| registered.copied())
        .unwrap_or_default()
}

/// The `tracing` event of a rejection: target `hookgate::rejection`, `warn` for 5xx,
/// `debug` for 429 (a duplicate in flight, which the sender retries), `info` for the
/// other 4xx.
fn trace_rejection(r: &Rejection<'_>) {
    let p = r.problem;
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                target: "hookgate::rejection",
                $level,
                stage = r.stage.as_str(),
                status = p.status(),
                problem = p.type_uri(),
                method = r.method,
                path = r.path,
                detail = p.detail(),
                "request rejected"
            )
        };
    }
    match p.status() {
        500.. => event!(tracing::Level::WARN),
        429 => event!(tracing::Level::DEBUG),
        _ => event!(tracing::Level::INFO),
    }
}
