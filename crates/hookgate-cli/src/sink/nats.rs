//! The `nats` sink: each event published to NATS JetStream, and the delivery
//! acknowledged only once JetStream acknowledged every event.
//!
//! Each event is one message in the CloudEvents NATS binding's binary mode: its
//! attributes in `ce-` headers (as the HTTP binding writes them, `content-type` for
//! `datacontenttype`), its data as the payload, plus the trace context
//! (`traceparent`, `tracestate`) and `Nats-Msg-Id`: the [stable id](super::stable_id)
//! of its sender, source and id, so that JetStream's own duplicate window drops the
//! same event accepted by two replicas. That window is the stream's
//! `duplicate_window` (2 minutes unless the stream says otherwise), much shorter
//! than hookgate's `--remember` (24 h): a sender's retry a day later is caught by
//! hookgate's dedup, two replicas' copies within the window by JetStream's.
//!
//! The subject may end in `{type}`, replaced by the event's type, whose dots
//! separate tokens (`events.{type}` and `com.example.created` give
//! `events.com.example.created`). At the start some stream's subjects must cover
//! the subject with `{type}` as `>`, or the start stops (exit 1). At run time an
//! event type that cannot be a subject's tail (empty, a space, `*`, `>`, an empty
//! token) is answered 400 `invalid-subject` (the sender's problem: it is not
//! retried); a subject no stream covers any more answers 503 (an operator's
//! problem, logged as an error, retried).
//!
//! A batch's events are all published, then their acknowledgements awaited in
//! order, each event marked stored as its acknowledgement comes; the first failure
//! (no ack within `--nats-timeout`, the connection lost) answers 503 with the
//! stored events' claims completed. The client reconnects by itself.

use std::future::IntoFuture as _;
use std::time::Duration;

use async_nats::jetstream::{self, Context};
use bytes::Bytes;
use futures_util::StreamExt as _;
use hookgate::{CloudEvent, Problem, encode};

use super::{Handoff, Outcome, Sink, stable_id};
use crate::config::NatsSettings;

/// Publishes events to JetStream.
pub(crate) struct NatsSink {
    jetstream: Context,
    /// The subject before `{type}` (with its dot), or the whole subject.
    prefix: String,
    /// Whether the subject ends in `{type}`.
    typed: bool,
    timeout: Duration,
}

impl std::fmt::Debug for NatsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSink")
            .field("prefix", &self.prefix)
            .field("typed", &self.typed)
            .finish_non_exhaustive()
    }
}

impl NatsSink {
    /// Connects within the timeout and checks that a stream covers the subject.
    pub(crate) async fn connect(settings: &NatsSettings) -> Result<Self, String> {
        let mut options = async_nats::ConnectOptions::new()
            .name("hookgate")
            .connection_timeout(settings.timeout)
            .request_timeout(Some(settings.timeout));
        if let Some(token) = &settings.token {
            options = options.token(token.clone());
        }
        if let Some(creds) = &settings.creds {
            options = options
                .credentials_file(creds)
                .await
                .map_err(|e| format!("the NATS credentials file {}: {e}", creds.display()))?;
        }
        if let Some(ca) = &settings.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if settings.url.scheme() == "tls" {
            options = options.require_tls(true);
        }
        let shown = crate::config::redact_url(&settings.url);
        let client =
            tokio::time::timeout(settings.timeout * 2, options.connect(settings.url.as_str()))
                .await
                .map_err(|_| format!("NATS at {shown} did not answer in time"))?
                .map_err(|e| format!("cannot connect to NATS at {shown}: {e}"))?;
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(settings.timeout)
            .build(client);
        let (prefix, typed) = match settings.subject.strip_suffix("{type}") {
            Some(prefix) => (prefix.to_owned(), true),
            None => (settings.subject.clone(), false),
        };
        let wanted = if typed {
            format!("{prefix}>")
        } else {
            prefix.clone()
        };
        let mut streams = jetstream.streams();
        let mut covered = None;
        while let Some(info) = tokio::time::timeout(settings.timeout, streams.next())
            .await
            .map_err(|_| format!("NATS at {shown} did not list its streams in time"))?
        {
            let info = info.map_err(|e| format!("cannot list the JetStream streams: {e}"))?;
            if info.config.subjects.iter().any(|s| covers(s, &wanted)) {
                covered = Some(info.config.name.clone());
                break;
            }
        }
        let Some(stream) = covered else {
            return Err(format!(
                "no JetStream stream on {shown} covers the subject {wanted:?}: add it to a \
                 stream's subjects (nats stream add --subjects {wanted:?})"
            ));
        };
        tracing::info!(stream, subject = %settings.subject, "publishing to NATS JetStream");
        Ok(Self {
            jetstream,
            prefix,
            typed,
            timeout: settings.timeout,
        })
    }

    /// The subject of `event`, or why its type cannot be in one.
    fn subject(&self, event: &CloudEvent) -> Result<String, String> {
        if !self.typed {
            return Ok(self.prefix.clone());
        }
        let ty = event.ty();
        let bad = ty.is_empty()
            || ty.split('.').any(|token| {
                token.is_empty()
                    || token.contains(['*', '>'])
                    || token.chars().any(|c| c.is_whitespace() || c.is_control())
            });
        if bad {
            return Err(format!(
                "the event type {ty:?} cannot be part of a NATS subject (its dot-separated \
                 tokens must not be empty or hold a space, `*` or `>`)"
            ));
        }
        Ok(format!("{}{ty}", self.prefix))
    }
}

/// The message of `event` in the NATS binding's binary mode.
fn message(
    event: &CloudEvent,
    sender: Option<&str>,
    trace: &http::HeaderMap,
) -> (async_nats::HeaderMap, Bytes) {
    let (fields, payload) = encode::binary(event);
    let mut headers = async_nats::HeaderMap::new();
    for (name, value) in fields {
        headers.insert(name.as_str(), value.as_str());
    }
    for (name, value) in trace {
        if let Ok(value) = value.to_str() {
            headers.insert(name.as_str(), value);
        }
    }
    headers.insert("Nats-Msg-Id", stable_id(sender, event).as_str());
    (headers, payload)
}

#[async_trait::async_trait]
impl Sink for NatsSink {
    fn name(&self) -> &'static str {
        "nats"
    }

    async fn deliver(&self, handoff: &Handoff<'_>) -> Outcome {
        let total = handoff.events.len();
        // Every subject first: an event that cannot be published is the sender's
        // problem, and nothing of the delivery goes out.
        let mut subjects = Vec::with_capacity(total);
        for event in handoff.events {
            match self.subject(event) {
                Ok(subject) => subjects.push(subject),
                Err(why) => {
                    let problem = Problem::new(
                        400,
                        "invalid-subject",
                        "The event cannot be published",
                        &why,
                    );
                    return Outcome::Refused {
                        status: 400,
                        body: Some(("application/problem+json".into(), problem.to_json().into())),
                        headers: http::HeaderMap::new(),
                    };
                }
            }
        }
        let trace = handoff.context.trace_headers();
        let mut acks = Vec::with_capacity(total);
        for (event, subject) in handoff.events.iter().zip(subjects) {
            let (headers, payload) = message(event, handoff.context.sender, &trace);
            let sent = tokio::time::timeout(
                self.timeout,
                self.jetstream
                    .publish_with_headers(subject, headers, payload),
            )
            .await;
            match sent {
                Ok(Ok(ack)) => acks.push(ack),
                Ok(Err(e)) => return failed(handoff, acks.len(), total, &e.to_string()),
                Err(_) => return failed(handoff, acks.len(), total, "not sent in time"),
            }
        }
        for (index, ack) in acks.into_iter().enumerate() {
            match tokio::time::timeout(self.timeout, ack.into_future()).await {
                Ok(Ok(_)) => handoff.stored(index),
                Ok(Err(e)) => {
                    let why = e.to_string();
                    if matches!(
                        e.kind(),
                        jetstream::context::PublishErrorKind::StreamNotFound
                    ) {
                        tracing::error!(
                            "no JetStream stream takes the subject of event {} any more: {why}",
                            handoff.events[index].id()
                        );
                    }
                    return failed(handoff, index, total, &why);
                }
                Err(_) => return failed(handoff, index, total, "no acknowledgement in time"),
            }
        }
        Outcome::Ack {
            status: 200,
            body: None,
            headers: http::HeaderMap::new(),
        }
    }
}

/// A 503 for event `index` (of `total`) and the reason.
fn failed(handoff: &Handoff<'_>, index: usize, total: usize, why: &str) -> Outcome {
    let id = handoff.events.get(index).map_or("", CloudEvent::id);
    Outcome::Failed(format!(
        "NATS JetStream: event {} of {total} (id {id:?}): {why}",
        index + 1
    ))
}

/// Whether the stream subject `filter` takes every subject `wanted` matches (both
/// may hold `*` and `>`).
fn covers(filter: &str, wanted: &str) -> bool {
    let (mut f, mut w) = (filter.split('.'), wanted.split('.'));
    loop {
        match (f.next(), w.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(token)) if token != ">" => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn stream_subjects_cover_what_they_take() {
        for (filter, wanted) in [
            ("events.>", "events.>"),
            (">", "events.>"),
            ("events.*", "events.x"),
            ("events.>", "events.a.b"),
            ("*.>", "events.>"),
            ("events", "events"),
        ] {
            assert!(covers(filter, wanted), "{filter} {wanted}");
        }
        for (filter, wanted) in [
            ("events.*", "events.>"),
            ("events.a", "events.>"),
            ("other.>", "events.>"),
            ("events.>", "events"),
            ("events", "events.x"),
        ] {
            assert!(!covers(filter, wanted), "{filter} {wanted}");
        }
    }
}
