//! The webhook validation handshake (CloudEvents "HTTP 1.1 Web Hooks", section 4:
//! abuse protection), decided without a framework.
//!
//! Before a sender such as Azure Event Grid or Azure Web PubSub delivers to a
//! webhook, it asks for permission with an `OPTIONS` request that carries
//! `WebHook-Request-Origin` (and optionally `WebHook-Request-Rate` and
//! `WebHook-Request-Callback`). [`HandshakePolicy::decide`] looks at the method and the
//! headers and answers a [`Decision`]:
//!
//! | request | decision |
//! |---|---|
//! | `OPTIONS` with an allowed origin | [`Decision::Reply`]: 200, `WebHook-Allowed-Origin` (the origin as requested, or `*`), `WebHook-Allowed-Rate` (always), `Allow: POST, OPTIONS` |
//! | `OPTIONS` with another origin (a look-alike such as `eventgrid.azure.net.evil.example` included) | [`Decision::Reply`]: 403 problem+json, no grant headers |
//! | `OPTIONS` without `WebHook-Request-Origin` (a CORS preflight, say) | [`Decision::Pass`] to the inner service |
//! | an origin, rate or callback header that is empty, not visible ASCII, repeated or malformed | [`Decision::Reply`]: 400 problem+json |
//! | allowed origin with `WebHook-Request-Callback`, callback mode on | [`Decision::Callback`]: check the URL, reply 200 without grant headers, confirm in the background |
//! | … whose URL or address is refused, or whose host does not resolve within the [resolve timeout](CallbackPolicyBuilder::resolve_timeout) | 403 problem+json `callback-refused` |
//! | … when [`max_concurrent`](CallbackPolicyBuilder::max_concurrent) callbacks are in progress | 429 problem+json `callback-busy`, `Retry-After: 10` |
//! | `GET` with `WebHook-Request-Origin`, when [`answer_get`](HandshakePolicyBuilder::answer_get) is on | as `OPTIONS` |
//! | `POST` with `aeg-event-type: SubscriptionValidation`, when [`event_grid_schema`](HandshakePolicyBuilder::event_grid_schema) is on | [`Decision::EventGridValidation`]: read the body, answer with [`HandshakePolicy::event_grid_validation`] |
//! | anything else | [`Decision::Pass`] |
//!
//! [`HandshakePolicy::respond`] carries a decision out over any [`Incoming`] request:
//! it answers a grant or a refusal, checks a callback URL and spawns the confirmation
//! on the tokio runtime, reads an Event Grid validation body (at most
//! [`VALIDATION_BODY_LIMIT`] bytes) and answers it, or says the request is not a
//! handshake. The adapters (`HandshakeLayer` in hookgate-tower, `Handshake` in
//! hookgate-actix, and the whole-stack `WebhookLayer` / `Webhook`) only turn its
//! [`Reply`] into their framework's response. The handshake is answered before
//! authentication: senders do not all authenticate it.
//!
//! ```
//! use hookgate_core::handshake::{Decision, HandshakePolicy, Rate};
//! use hookgate_core::HeaderList;
//!
//! let policy = HandshakePolicy::builder()
//!     .azure_event_grid()
//!     .rate(Rate::parse("120").unwrap())
//!     .build()
//!     .unwrap();
//! let request = HeaderList::new([("WebHook-Request-Origin", "EventGrid.Azure.Net")]);
//! let Decision::Reply(reply) = policy.decide("OPTIONS", &request) else { panic!() };
//! assert_eq!(reply.status(), 200);
//! assert!(reply.headers().contains(&("webhook-allowed-origin", "EventGrid.Azure.Net".into())));
//! assert!(reply.headers().contains(&("webhook-allowed-rate", "120".into())));
//!
//! let look_alike = HeaderList::new([("WebHook-Request-Origin", "eventgrid.azure.net.evil.example")]);
//! let Decision::Reply(reply) = policy.decide("OPTIONS", &look_alike) else { panic!() };
//! assert_eq!(reply.status(), 403);
//!
//! assert!(matches!(policy.decide("OPTIONS", &HeaderList::default()), Decision::Pass));
//! ```

mod callback;
mod event_grid;
mod policy;
mod special_purpose;

pub use callback::{
    CallbackPolicy, CallbackPolicyBuilder, CallbackResolver, ConfirmError, Confirmation,
    PendingCallback,
};
pub use event_grid::{
    SUBSCRIPTION_VALIDATION, VALIDATION_BODY_LIMIT, VALIDATION_BODY_TIMEOUT, VALIDATION_EVENT_TYPE,
};
pub use policy::{AZURE_EVENT_GRID_ORIGINS, HandshakePolicy, HandshakePolicyBuilder, Rate};

use futures_util::FutureExt as _;
use futures_util::future::{self, Either};

use crate::error::{Error, ErrorKind, excerpt};
use crate::headers::HeaderSource;
use crate::reply::Reply;
use crate::request::{BodyStream, Incoming, read_body};

/// The request header that asks for permission.
pub const REQUEST_ORIGIN: &str = "webhook-request-origin";
/// The request header with the rate the sender would like.
pub const REQUEST_RATE: &str = "webhook-request-rate";
/// The request header with the URL to confirm by callback.
pub const REQUEST_CALLBACK: &str = "webhook-request-callback";
/// The response header that grants an origin.
pub const ALLOWED_ORIGIN: &str = "webhook-allowed-origin";
/// The response header with the granted rate.
pub const ALLOWED_RATE: &str = "webhook-allowed-rate";

/// What to do with a request; see the [module docs](self).
/// [`HandshakePolicy::respond`] carries it out.
#[derive(Debug)]
#[must_use]
pub enum Decision {
    /// Not a handshake: pass the request on.
    Pass,
    /// Answer with this reply (a grant or a refusal).
    Reply(Reply),
    /// Grant by callback: answer with [`PendingCallback::answer`], then run the
    /// [`Confirmation`] it gives, if any, in the background.
    Callback(PendingCallback),
    /// An Event Grid validation request: read the body (at most
    /// [`VALIDATION_BODY_LIMIT`] bytes) and answer with
    /// [`HandshakePolicy::event_grid_validation`].
    EventGridValidation,
}

impl From<Error> for Decision {
    fn from(error: Error) -> Self {
        Self::Reply(Reply::from(error.problem()))
    }
}

/// The one value of header `name`: `None` when absent, an error when repeated,
/// empty or not visible ASCII.
fn single<'h>(headers: &'h impl HeaderSource, name: &str) -> Result<Option<&'h str>, Error> {
    let mut values = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |why: &str| {
        Error::new(
            ErrorKind::InvalidHandshakeHeader,
            format!("header `{name}` {why}"),
        )
    };
    if values.next().is_some() {
        return Err(bad("is given more than once; expected one value"));
    }
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err(bad("is empty"));
    }
    if !value.iter().all(u8::is_ascii_graphic) {
        return Err(bad("must be visible ASCII without spaces"));
    }
    // Visible ASCII is UTF-8.
    Ok(std::str::from_utf8(value).ok())
}

impl HandshakePolicy {
    /// Decides what to do with a request of `method` (`"OPTIONS"`, `"POST"`, …) with
    /// `headers`; see the [module docs](self).
    pub fn decide(&self, method: &str, headers: &impl HeaderSource) -> Decision {
        match method {
            "OPTIONS" => self.validation(headers),
            "GET" if self.0.answer_get => self.validation(headers),
            "POST" if self.0.event_grid_schema => {
                let validation = headers.get("aeg-event-type").is_some_and(|v| {
                    v.trim_ascii()
                        .eq_ignore_ascii_case(SUBSCRIPTION_VALIDATION.as_bytes())
                });
                if validation {
                    Decision::EventGridValidation
                } else {
                    Decision::Pass
                }
            }
            _ => Decision::Pass,
        }
    }

    /// Answers `request` when it is a handshake: decides at once, then the future
    /// carries the decision out (see the [module docs](self)). `None` when the
    /// request is not a handshake and goes on to the inner service, untouched (its
    /// body not read).
    pub fn respond<'a, R: Incoming>(
        &'a self,
        request: &'a mut R,
    ) -> impl Future<Output = Option<Reply>> + 'a {
        // Most requests are no handshake: their future holds a decision, not the
        // (boxed, larger) futures of a callback or of a validation body.
        let decision = self.decide(request.method(), &request.headers());
        match decision {
            Decision::Pass => Either::Left(future::ready(None)),
            Decision::Reply(reply) => Either::Left(future::ready(Some(reply))),
            Decision::Callback(pending) => Either::Right(Either::Left(
                Box::pin(Self::answer_callback(pending)).map(Some),
            )),
            Decision::EventGridValidation => Either::Right(Either::Right(
                Box::pin(self.answer_event_grid(request.take_body())).map(Some),
            )),
        }
    }

    /// The answer to a callback validation; the confirmation, if any, goes on in
    /// the background.
    async fn answer_callback(pending: PendingCallback) -> Reply {
        let (reply, confirmation) = pending.answer().await;
        if let Some(confirmation) = confirmation {
            match tokio::runtime::Handle::try_current() {
                // The outcome is traced by `run`; nobody waits for it.
                Ok(runtime) => drop(runtime.spawn(confirmation.run())),
                Err(_) => tracing::error!(
                    target: "hookgate::handshake",
                    "no tokio runtime to send the callback confirmation from"
                ),
            }
        }
        reply
    }

    /// The answer to an Event Grid validation request, whose body is `body`.
    async fn answer_event_grid<B: BodyStream>(&self, body: B) -> Reply {
        let read = read_body(body, VALIDATION_BODY_LIMIT);
        let answer = match crate::request::within(VALIDATION_BODY_TIMEOUT, read).await {
            Ok(Ok(body)) => self.event_grid_validation(&body),
            Ok(Err(_)) | Err(_) => Err(event_grid::unreadable_validation_body()),
        };
        answer.unwrap_or_else(|error| Reply::from(error.problem()))
    }

    fn validation(&self, headers: &impl HeaderSource) -> Decision {
        match self.try_validation(headers) {
            Ok(decision) => decision,
            Err(error) => error.into(),
        }
    }

    fn try_validation(&self, headers: &impl HeaderSource) -> Result<Decision, Error> {
        let Some(origin) = single(headers, REQUEST_ORIGIN)? else {
            return Ok(Decision::Pass);
        };
        let rate = single(headers, REQUEST_RATE)?;
        if let Some(rate) = rate
            && !(rate == "*" || rate.parse::<u32>().is_ok_and(|n| n > 0))
        {
            return Err(Error::new(
                ErrorKind::InvalidHandshakeHeader,
                format!(
                    "header `{REQUEST_RATE}` must be a positive number of requests per minute, got `{}`",
                    excerpt(rate)
                ),
            ));
        }
        let callback = single(headers, REQUEST_CALLBACK)?;
        if !self.allows(origin) {
            return Err(Error::new(
                ErrorKind::OriginNotAllowed,
                format!(
                    "origin `{}` (header `WebHook-Request-Origin`) is not allowed to deliver to this webhook",
                    excerpt(origin)
                ),
            ));
        }
        if let (Some(url), Some(policy)) = (callback, self.callback()) {
            return Ok(Decision::Callback(PendingCallback::new(url, policy)?));
        }
        let answer = if self.0.answer_wildcard { "*" } else { origin };
        Ok(Decision::Reply(
            Reply::new(200)
                .with_header(ALLOWED_ORIGIN, answer)
                .with_header(ALLOWED_RATE, self.rate().header_value())
                .with_header("allow", "POST, OPTIONS"),
        ))
    }
}
