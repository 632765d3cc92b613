//! Where accepted events go: [`stdout`], [`exec`] or [`forward`].
//!
//! A sink gets the events of one delivery (or of one event, with `--per-event`)
//! that deduplication left, and answers with an [`Outcome`]: acknowledge (the claims
//! are completed), refuse as the downstream did (a 4xx passed back), or fail (503
//! with `Retry-After`, the claims released so that the sender's retry is handled).

pub(crate) mod exec;
pub(crate) mod forward;
pub(crate) mod stdout;

use bytes::Bytes;
use hookgate::auth::Identity;
use hookgate::{CloudEvent, Mode};
use http::HeaderMap;

/// What a sink made of a delivery.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Handled: answer `status` (a 2xx), with this body and content type if any,
    /// and these headers (a downstream's `ce-*` answer headers).
    Ack {
        status: u16,
        body: Option<(String, Bytes)>,
        headers: HeaderMap,
    },
    /// Refused for good by the downstream (a 4xx other than 408 and 429): passed
    /// back as it is.
    Refused {
        status: u16,
        body: Option<(String, Bytes)>,
        headers: HeaderMap,
    },
    /// Not handled: 503 with `Retry-After`; the reason goes to the log and the
    /// problem's detail.
    Failed(String),
}

/// The configured sink.
#[derive(Debug)]
pub(crate) enum Sink {
    Stdout(stdout::StdoutSink),
    Exec(exec::ExecSink),
    Forward(forward::ForwardSink),
}

impl Sink {
    /// The sink's name, for the metrics.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Stdout(_) => "stdout",
            Self::Exec(_) => "exec",
            Self::Forward(_) => "forward",
        }
    }

    /// Hands the events of one delivery over; `sender` is the sender's label, if any.
    pub(crate) async fn deliver(
        &self,
        mode: Mode,
        events: &[CloudEvent],
        sender: Option<&str>,
    ) -> Outcome {
        match self {
            Self::Stdout(sink) => sink.deliver(events).await,
            Self::Exec(sink) => sink.deliver(mode, events, sender).await,
            Self::Forward(sink) => sink.deliver(mode, events).await,
        }
    }
}

/// The sender's label, for `WEBHOOK_SENDER`: the label of the shared secret it used,
/// the Web PubSub host its key is bound to, or the Azure AD caller's application id;
/// `None` when there is none.
pub(crate) fn sender_label(identity: Option<&Identity>) -> Option<&str> {
    match identity? {
        Identity::SharedSecret { label, .. } => label.as_deref(),
        Identity::WebPubSub { host, .. } => host.as_deref(),
        Identity::Aad(claims) => claims.app_id.as_deref(),
        _ => None,
    }
}
