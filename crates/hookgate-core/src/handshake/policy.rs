//! The handshake policy: which origins are granted, with which rate, and how.

use std::num::NonZeroU32;
use std::sync::Arc;

use super::callback::CallbackPolicy;
use crate::error::ConfigError;

/// The Azure Event Grid origins, sent in `WebHook-Request-Origin` by the public,
/// US government and China clouds.
pub const AZURE_EVENT_GRID_ORIGINS: [&str; 3] = [
    "eventgrid.azure.net",
    "eventgrid.azure.us",
    "eventgrid.azure.cn",
];

/// The delivery rate granted in `WebHook-Allowed-Rate`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rate {
    /// `*`: no limit.
    #[default]
    Any,
    /// At most this many requests per minute.
    PerMinute(NonZeroU32),
}

impl Rate {
    /// The header value: `*` or the number.
    #[must_use]
    pub fn header_value(self) -> String {
        match self {
            Self::Any => "*".to_owned(),
            Self::PerMinute(n) => n.to_string(),
        }
    }

    /// Parses `*` or a positive number of requests per minute, as the examples'
    /// `ALLOWED_RATE` variable is given.
    ///
    /// # Errors
    /// [`ConfigError`] for anything else.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text.trim() {
            "*" => Ok(Self::Any),
            n => n.parse::<NonZeroU32>().map(Self::PerMinute).map_err(|_| {
                ConfigError(format!(
                    "a rate is `*` or a positive number of requests per minute, got `{n}`"
                ))
            }),
        }
    }
}

#[derive(Debug)]
pub(super) enum Origins {
    Any,
    /// Lowercase names, matched exactly.
    List(Vec<String>),
}

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) origins: Origins,
    pub(super) answer_wildcard: bool,
    pub(super) rate: Rate,
    pub(super) answer_get: bool,
    pub(super) callback: Option<CallbackPolicy>,
    pub(super) event_grid_schema: bool,
}

/// How a receiver answers the webhook validation handshake; built once with
/// [`HandshakePolicy::builder`] and shared (cloning is cheap).
///
/// See the [module docs](super) for the decisions it makes.
#[derive(Clone, Debug)]
pub struct HandshakePolicy(pub(super) Arc<Inner>);

impl HandshakePolicy {
    /// A builder with no origin allowed yet.
    pub fn builder() -> HandshakePolicyBuilder {
        HandshakePolicyBuilder::default()
    }

    /// The rate this policy grants.
    #[must_use]
    pub fn rate(&self) -> Rate {
        self.0.rate
    }

    /// The callback policy, when grant by callback is enabled.
    #[must_use]
    pub fn callback(&self) -> Option<&CallbackPolicy> {
        self.0.callback.as_ref()
    }

    /// Whether `origin` is granted (exact, case-insensitive match; never a prefix).
    #[must_use]
    pub fn allows(&self, origin: &str) -> bool {
        match &self.0.origins {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

/// Builder of a [`HandshakePolicy`].
#[derive(Debug, Default)]
#[must_use]
pub struct HandshakePolicyBuilder {
    origins: Vec<String>,
    any_origin: bool,
    answer_wildcard: bool,
    rate: Rate,
    answer_get: bool,
    callback: Option<CallbackPolicy>,
    event_grid_schema: bool,
}

impl HandshakePolicyBuilder {
    /// Grants `origin` (a host name such as `eventgrid.azure.net`), matched exactly
    /// and case-insensitively.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Grants each of `origins`.
    pub fn allow_origins<I>(mut self, origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.origins.extend(origins.into_iter().map(Into::into));
        self
    }

    /// Grants every origin. Only sensible when the deliveries are authenticated.
    pub fn allow_any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Grants the Azure Event Grid origins ([`AZURE_EVENT_GRID_ORIGINS`]).
    pub fn azure_event_grid(self) -> Self {
        self.allow_origins(AZURE_EVENT_GRID_ORIGINS)
    }

    /// Grants an Azure Web PubSub resource: `host` is its host name, such as
    /// `myresource.webpubsub.azure.com`, which Web PubSub sends as its origin.
    pub fn web_pubsub_host(self, host: impl Into<String>) -> Self {
        self.allow_origin(host)
    }

    /// Answers `WebHook-Allowed-Origin: *` instead of echoing the requested origin
    /// (the origin must still be allowed).
    pub fn answer_wildcard_origin(mut self, yes: bool) -> Self {
        self.answer_wildcard = yes;
        self
    }

    /// The rate granted in `WebHook-Allowed-Rate` (default `*`). The header is sent
    /// on every grant, whether or not a rate was requested.
    pub fn rate(mut self, rate: Rate) -> Self {
        self.rate = rate;
        self
    }

    /// Answers a `GET` that carries `WebHook-Request-Origin` like an `OPTIONS` (the
    /// Web PubSub emulator validates with `GET` when `OPTIONS` fails). Off by default.
    pub fn answer_get(mut self, yes: bool) -> Self {
        self.answer_get = yes;
        self
    }

    /// Grants by callback when the request carries `WebHook-Request-Callback`: reply
    /// 200 without grant headers and confirm with a request to the callback URL, as
    /// `policy` says. Without this, a request with a callback is answered with the
    /// grant headers at once, which senders accept too.
    pub fn callback(mut self, policy: CallbackPolicy) -> Self {
        self.callback = Some(policy);
        self
    }

    /// Answers Azure Event Grid's own `SubscriptionValidation` POST (Event Grid
    /// schema subscriptions) with `{"validationResponse": "<code>"}`. Off by default.
    pub fn event_grid_schema(mut self, yes: bool) -> Self {
        self.event_grid_schema = yes;
        self
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] when no origin is allowed (and not every origin), or an
    /// origin is empty or not a visible-ASCII host name.
    pub fn build(self) -> Result<HandshakePolicy, ConfigError> {
        let origins = if self.any_origin {
            Origins::Any
        } else {
            if self.origins.is_empty() && !self.event_grid_schema {
                return Err(ConfigError(
                    "the handshake policy allows no origin: call allow_origin, \
                     azure_event_grid, web_pubsub_host or allow_any_origin"
                        .into(),
                ));
            }
            let mut list = Vec::with_capacity(self.origins.len());
            for origin in self.origins {
                let origin = origin.trim();
                if origin.is_empty() || !origin.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(ConfigError(format!(
                        "`{origin}` is not an origin: expected a host name such as eventgrid.azure.net"
                    )));
                }
                if origin == "*" {
                    return Err(ConfigError(
                        "`*` is not an origin: call allow_any_origin".into(),
                    ));
                }
                list.push(origin.to_ascii_lowercase());
            }
            Origins::List(list)
        };
        Ok(HandshakePolicy(Arc::new(Inner {
            origins,
            answer_wildcard: self.answer_wildcard,
            rate: self.rate,
            answer_get: self.answer_get,
            callback: self.callback,
            event_grid_schema: self.event_grid_schema,
        })))
    }
}
