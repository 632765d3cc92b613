//! The Web PubSub receiver, built once: the entry point configured for the
//! protocol.

use crate::auth::{AuthPolicy, WebPubSubKeys};
use crate::binding::ParseConfig;
use crate::dedup::DedupPolicy;
use crate::error::ConfigError;
use crate::handshake::HandshakePolicy;
use crate::webhook::{Rejection, WebhookPolicy};

use super::event::WebPubSubLimits;
use super::response::plain_reply;

/// A Web PubSub event handler: a [`WebhookPolicy`] configured for the protocol
/// (the resource's origin granted, signatures checked when keys are given, no
/// deduplication, rejections as plain text), and the [`WebPubSubLimits`] of the
/// extractors. Cheap to clone. See the [module docs](super).
#[derive(Clone, Debug)]
pub struct WebPubSubPolicy {
    webhook: WebhookPolicy,
    limits: WebPubSubLimits,
}

impl WebPubSubPolicy {
    /// A builder; a [`host`](WebPubSubPolicyBuilder::host) (or
    /// [`any_origin`](WebPubSubPolicyBuilder::any_origin)) is required.
    pub fn builder() -> WebPubSubPolicyBuilder {
        WebPubSubPolicyBuilder::default()
    }

    /// The whole stack, for `hookgate_tower::WebhookLayer::new` or
    /// `hookgate_actix::Webhook::new`.
    #[must_use]
    pub fn webhook(&self) -> &WebhookPolicy {
        &self.webhook
    }

    /// The extractors' limits. [`webhook`](Self::webhook) carries them too, and its
    /// middleware hands them to the extractors in each request's extensions: the
    /// separate registration (`axum::Extension(policy.limits())`, actix-web's
    /// `app_data(policy.limits())`) is no longer needed (deprecated, still read when
    /// the middleware did not run).
    #[must_use]
    pub fn limits(&self) -> WebPubSubLimits {
        self.limits
    }
}

type Hook = Box<dyn Fn(&Rejection<'_>) + Send + Sync>;

/// Builder of a [`WebPubSubPolicy`].
#[derive(Default)]
#[must_use]
pub struct WebPubSubPolicyBuilder {
    hosts: Vec<String>,
    any_origin: bool,
    keys: Option<WebPubSubKeys>,
    parse: Option<ParseConfig>,
    dedup: Option<DedupPolicy>,
    max_state_len: Option<usize>,
    connect: WebPubSubLimits,
    on_rejection: Option<Hook>,
    name: Option<String>,
}

impl std::fmt::Debug for WebPubSubPolicyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebPubSubPolicyBuilder")
            .field("hosts", &self.hosts)
            .field("any_origin", &self.any_origin)
            .field("keys", &self.keys)
            .field("max_state_len", &self.max_state_len)
            .field("connect", &self.connect)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl WebPubSubPolicyBuilder {
    /// Grants the abuse-protection handshake to the resource `host`
    /// (`<name>.webpubsub.azure.com`, which the service sends as
    /// `WebHook-Request-Origin`); call it again for several resources.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.hosts.push(host.into());
        self
    }

    /// Grants the handshake to any origin: for development, or when the events
    /// are authenticated by [`keys`](Self::keys).
    pub fn any_origin(mut self) -> Self {
        self.any_origin = true;
        self
    }

    /// Checks `ce-signature` with these access keys (on by default as soon as keys
    /// are given); a request without a valid signature is answered 401.
    pub fn keys(mut self, keys: impl Into<Option<WebPubSubKeys>>) -> Self {
        self.keys = keys.into();
        self
    }

    /// The parse limits (default: [`ParseConfig::default`], a 1 MiB body).
    /// Whatever `config` says, the policy parses in binary mode only with the
    /// `ce-*` headers read verbatim ([`parse_config`](super::parse_config)): Web
    /// PubSub sends every event so, and a user event's `Content-Type` is the
    /// client's.
    pub fn parse(mut self, config: ParseConfig) -> Self {
        self.parse = Some(config);
        self
    }

    /// Deduplicates by `(source, id)` (off by default: the service does not
    /// redeliver, and a `connect` answered as a duplicate with an empty 200 would
    /// drop the client).
    pub fn dedup(mut self, policy: impl Into<Option<DedupPolicy>>) -> Self {
        self.dedup = policy.into();
        self
    }

    /// The longest `ce-connectionState` read or written, in bytes of base64
    /// (default [`DEFAULT_MAX_STATE_LEN`](super::DEFAULT_MAX_STATE_LEN)).
    pub fn max_state_len(mut self, bytes: usize) -> Self {
        self.max_state_len = Some(bytes);
        self
    }

    /// The most entries of each of a `connect` body's `claims`, `query` and
    /// `headers` maps (default
    /// [`WebPubSubLimits::DEFAULT_MAX_CONNECT_ENTRIES`]; at least 1); more is a
    /// 400 naming the limit.
    pub fn max_connect_entries(mut self, count: usize) -> Self {
        self.connect.max_connect_entries = count;
        self
    }

    /// The most values of each list of a `connect` body (a map entry's values,
    /// `subprotocols`, `clientCertificates`; default
    /// [`WebPubSubLimits::DEFAULT_MAX_CONNECT_VALUES`]; at least 1); more is a
    /// 400 naming the limit.
    pub fn max_connect_values(mut self, count: usize) -> Self {
        self.connect.max_connect_values = count;
        self
    }

    /// The most entries and values of a `connect` body together (default
    /// [`WebPubSubLimits::DEFAULT_MAX_CONNECT_ITEMS`]; at least 1); more is a 400
    /// naming the limit. With the body limit it bounds a `connect`'s memory.
    pub fn max_connect_items(mut self, count: usize) -> Self {
        self.connect.max_connect_items = count;
        self
    }

    /// Calls `hook` for every rejection of the stack (see
    /// [`WebhookPolicyBuilder::on_rejection`](crate::webhook::WebhookPolicyBuilder::on_rejection)).
    pub fn on_rejection(mut self, hook: impl Fn(&Rejection<'_>) + Send + Sync + 'static) -> Self {
        self.on_rejection = Some(Box::new(hook));
        self
    }

    /// Names the receiver (default: unnamed): the `hookgate.route` field of its
    /// spans and the `route` label of its metrics (see
    /// [`WebhookPolicyBuilder::name`](crate::webhook::WebhookPolicyBuilder::name)).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Checks the configuration and builds the policy.
    ///
    /// # Errors
    /// [`ConfigError`] without a host (and not any origin), for a host given as a
    /// URL rather than a host name, a state or `connect` limit of 0, or a
    /// [`name`](Self::name) the webhook builder refuses.
    pub fn build(self) -> Result<WebPubSubPolicy, ConfigError> {
        let mut handshake = HandshakePolicy::builder();
        if self.any_origin {
            handshake = handshake.allow_any_origin();
        } else if self.hosts.is_empty() {
            return Err(ConfigError(
                "the Web PubSub handler grants no origin: call host(\"<name>.webpubsub.azure.com\") \
                 or any_origin()"
                    .into(),
            ));
        }
        for host in self.hosts {
            if host.contains('/') {
                return Err(ConfigError(format!(
                    "`{host}` is not a host name: give the resource's host, such as \
                     myresource.webpubsub.azure.com, without scheme or path"
                )));
            }
            handshake = handshake.web_pubsub_host(host);
        }
        let max_state_len = self
            .max_state_len
            .unwrap_or(super::state::DEFAULT_MAX_STATE_LEN);
        if max_state_len == 0 {
            return Err(ConfigError("max_state_len must be at least 1 byte".into()));
        }
        let connect = self.connect;
        for (name, value) in [
            ("max_connect_entries", connect.max_connect_entries),
            ("max_connect_values", connect.max_connect_values),
            ("max_connect_items", connect.max_connect_items),
        ] {
            if value == 0 {
                return Err(ConfigError(format!("{name} must be at least 1")));
            }
        }
        let auth = match self.keys {
            Some(keys) => Some(AuthPolicy::builder().web_pubsub_keys(keys).build()?),
            None => None,
        };
        let limits = WebPubSubLimits {
            max_state_len,
            ..connect
        };
        let mut webhook = WebhookPolicy::builder()
            .handshake(handshake.build()?)
            .auth(auth)
            .parse(super::parse_config(self.parse.unwrap_or_default()))
            .dedup(self.dedup)
            .webpubsub_limits(limits)
            .render_rejection(plain_reply);
        if let Some(hook) = self.on_rejection {
            webhook = webhook.on_rejection(hook);
        }
        if let Some(name) = self.name {
            webhook = webhook.name(name);
        }
        Ok(WebPubSubPolicy {
            webhook: webhook.build()?,
            limits,
        })
    }
}
