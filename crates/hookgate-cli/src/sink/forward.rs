//! The `forward` sink: POSTs each delivery (or event) to a downstream URL.
//!
//! - The events go in the content mode they came in (`--forward-mode same`), or
//!   `structured` / `binary` (a batch of several stays a batch), with their
//!   CloudEvents attributes re-encoded by the library (`hookgate::encode`); the
//!   sender's credentials are not passed on.
//! - A 2xx acknowledges: its status, body (at most the body limit), content type and
//!   `ce-*` headers go back to the sender (Web PubSub reads them: a downstream's
//!   `ce-connectionState` sets the connection's state). A 2xx whose body is larger
//!   than the limit still acknowledges (the downstream did what it was asked): the
//!   sender gets the status and headers without the body, and a log line says so.
//! - A 4xx other than 408 and 429 is passed back as it is: the sender will not retry
//!   it (the claims are released, as for any non-2xx).
//! - A 5xx, 408, 429, a redirect, a timeout, no connection, or a 4xx whose body is
//!   over the limit fail the delivery: 503 with `Retry-After`, the claims released.
//! - The trace goes on: `traceparent` (and `tracestate`) name hookgate's span as
//!   the parent, in the sender's trace (a new one when it sent none); with tracing
//!   off (`OTEL_SDK_DISABLED=true`) the sender's own headers are passed on unchanged.
//! - What a downstream uses of the delivery goes with it, as received: Event Grid's
//!   `aeg-*` headers, `X-Request-Id`, and on a `webpubsub` route the service's
//!   `ce-*` connection context (the headers the event's own encoding would repeat
//!   are sent once, verbatim). Credentials (`Authorization`, `ce-signature`, the
//!   `secret_header`, `aeg-sas-*`) and hop-by-hop headers never are: the list is
//!   [`PassedOn`](super::PassedOn)'s.
//! - One pooled client (keep-alive), a connect timeout and a whole-request timeout.

use std::time::Duration;

use bytes::Bytes;
use hookgate::{CloudEvent, Mode, encode};
use reqwest::header::{CONTENT_TYPE, HeaderMap};

use super::{DeliveryContext, Handoff, Outcome, Sink};
use crate::config::ForwardMode;

/// Forwards deliveries downstream.
#[derive(Debug)]
pub(crate) struct ForwardSink {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The URL for the log: no user info, query or fragment (they may hold secrets).
    label: String,
    mode: ForwardMode,
    limit: usize,
}

#[async_trait::async_trait]
impl Sink for ForwardSink {
    fn name(&self) -> &'static str {
        "forward"
    }

    async fn deliver(&self, handoff: &Handoff<'_>) -> Outcome {
        self.send(handoff.mode, handoff.events, handoff.context)
            .await
    }
}

impl ForwardSink {
    pub(crate) fn new(
        url: reqwest::Url,
        mode: ForwardMode,
        timeout: Duration,
        limit: usize,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let mut label = url.clone();
        let _ = label.set_username("");
        let _ = label.set_password(None);
        label.set_query(None);
        label.set_fragment(None);
        Ok(Self {
            client,
            label: label.to_string(),
            url,
            mode,
            limit,
        })
    }

    async fn send(
        &self,
        mode: Mode,
        events: &[CloudEvent],
        context: &DeliveryContext<'_>,
    ) -> Outcome {
        let passed = context.passed_headers();
        let request = self.client.post(self.url.clone());
        let single = match events {
            [event] if mode != Mode::Batch || self.mode != ForwardMode::Same => Some(event),
            _ => None,
        };
        let binary = match self.mode {
            ForwardMode::Same => mode == Mode::Binary,
            ForwardMode::Binary => true,
            ForwardMode::Structured => false,
        };
        let request = match single {
            Some(event) if binary => {
                let (headers, body) = encode::binary(event);
                // A header passed on as received wins over its re-encoding (Web
                // PubSub's context, read verbatim).
                headers
                    .into_iter()
                    .filter(|(name, _)| !passed.contains_key(name.as_str()))
                    .fold(request, |r, (name, value)| r.header(name, value))
                    .body(body)
            }
            Some(event) => {
                let (content_type, body) = encode::structured(event);
                request.header(CONTENT_TYPE, content_type).body(body)
            }
            None => {
                let (content_type, body) = encode::batch(events);
                request.header(CONTENT_TYPE, content_type).body(body)
            }
        };
        let mut response = match request.headers(passed).send().await {
            Ok(response) => response,
            Err(e) => {
                return Outcome::Failed(format!("forward to {}: {}", self.label, describe(&e)));
            }
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let retryable = matches!(status, 408 | 429 | 500..);
        if retryable || !(200..500).contains(&status) || (300..400).contains(&status) {
            return Outcome::Failed(format!("forward to {}: answered {status}", self.label));
        }
        let headers = ce_headers(response.headers());
        let acknowledged = (200..300).contains(&status);
        let mut body = Vec::new();
        // The 2xx answer's body is not passed back (over the limit, or broken off).
        let mut oversized = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.limit {
                        if !acknowledged {
                            return Outcome::Failed(format!(
                                "forward to {}: the answer is larger than {} bytes",
                                self.label, self.limit
                            ));
                        }
                        // Acknowledged all the same: the rest is not read (the
                        // connection is dropped with the response).
                        tracing::warn!(
                            downstream = %self.label, status, limit = self.limit,
                            "the downstream's 2xx answer is larger than the limit: \
                             acknowledged without its body"
                        );
                        oversized = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if acknowledged => {
                    tracing::warn!(
                        downstream = %self.label, status, error = describe(&e),
                        "the downstream's 2xx answer broke off: acknowledged without its body"
                    );
                    oversized = true;
                    break;
                }
                Err(e) => {
                    return Outcome::Failed(format!("forward to {}: {}", self.label, describe(&e)));
                }
            }
        }
        if oversized {
            return Outcome::Ack {
                status,
                body: None,
                headers,
            };
        }
        let body = (!body.is_empty()).then(|| {
            (
                content_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                Bytes::from(body),
            )
        });
        if acknowledged {
            Outcome::Ack {
                status,
                body,
                headers,
            }
        } else {
            Outcome::Refused {
                status,
                body,
                headers,
            }
        }
    }
}

/// The most `ce-*` answer headers passed back.
const MAX_CE_HEADERS: usize = 64;

/// The downstream's `ce-*` answer headers (CloudEvents binary-mode attributes, Web
/// PubSub's `ce-connectionState`), at most [`MAX_CE_HEADERS`].
fn ce_headers(answer: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in answer {
        if name.as_str().starts_with("ce-") && headers.len() < MAX_CE_HEADERS {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// A short reason for a failed request (no URL query strings, which may hold secrets).
fn describe(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    }
}
