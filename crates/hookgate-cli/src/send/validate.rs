//! `hookgate send validate URL`: the CloudEvents abuse-protection handshake, as a
//! sender plays it: `OPTIONS` with `WebHook-Request-Origin` (and optionally
//! `WebHook-Request-Rate` and `WebHook-Request-Callback`), then a verdict:
//!
//! - granted: 200 or 204 with `WebHook-Allowed-Origin` naming the origin (or `*`);
//! - accepted for a callback: with `--callback`, a 200 or 202 without it (the receiver
//!   will call the URL back);
//! - refused: anything else (exit code 1).

use std::time::Duration;

use super::{UsageError, target};

/// The flags of `hookgate send validate`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ValidateArgs {
    /// The receiver's URL.
    pub(crate) url: String,

    /// The origin asking (`WebHook-Request-Origin`).
    #[arg(long, default_value = "eventgrid.azure.net")]
    pub(crate) origin: String,

    /// The rate asked for, requests per minute (`WebHook-Request-Rate`).
    #[arg(long)]
    pub(crate) rate: Option<u32>,

    /// A callback URL (`WebHook-Request-Callback`).
    #[arg(long)]
    pub(crate) callback: Option<String>,

    /// A shared secret, sent as `?code=`.
    #[arg(long, env = "HOOKGATE_SEND_CODE", hide_env_values = true)]
    pub(crate) code: Option<String>,

    /// A bearer token, sent as `Authorization: Bearer`.
    #[arg(long, env = "HOOKGATE_SEND_BEARER", hide_env_values = true)]
    pub(crate) bearer: Option<String>,

    /// How long the request may take.
    #[arg(long, default_value = "30s", value_parser = super::parse_duration)]
    pub(crate) timeout: Duration,
}

/// The verdict on a handshake answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Granted,
    CallbackAccepted,
    Refused(String),
}

/// Judges an answer: `status`, its `WebHook-Allowed-Origin`, and whether a callback
/// was asked for.
pub(crate) fn judge(
    status: u16,
    allowed_origin: Option<&str>,
    origin: &str,
    callback: bool,
) -> Verdict {
    let names_us = allowed_origin.is_some_and(|a| a == "*" || a.eq_ignore_ascii_case(origin));
    match status {
        200 | 204 if names_us => Verdict::Granted,
        200 | 204 => Verdict::Refused(match allowed_origin {
            Some(other) => format!("WebHook-Allowed-Origin is {other:?}, not {origin:?}"),
            None if callback => return Verdict::CallbackAccepted,
            None => "no WebHook-Allowed-Origin in the answer".into(),
        }),
        202 if callback => Verdict::CallbackAccepted,
        other => Verdict::Refused(format!("answered {other}")),
    }
}

/// Runs the handshake; the exit code.
pub(crate) async fn run(args: ValidateArgs) -> Result<u8, UsageError> {
    let url = target(&args.url, args.code.as_deref())?;
    let client = super::client(args.timeout)?;
    let mut request = client
        .request(reqwest::Method::OPTIONS, url)
        .header("webhook-request-origin", &args.origin);
    if let Some(rate) = args.rate {
        request = request.header("webhook-request-rate", rate.to_string());
    }
    if let Some(callback) = &args.callback {
        request = request.header("webhook-request-callback", callback);
    }
    if let Some(token) = &args.bearer {
        request = request.bearer_auth(token);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            println!(
                "refused: {}",
                if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "the request failed"
                }
            );
            return Ok(1);
        }
    };
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let allowed_origin = header("webhook-allowed-origin");
    let allowed_rate = header("webhook-allowed-rate");
    println!(
        "{status} WebHook-Allowed-Origin: {} WebHook-Allowed-Rate: {}",
        allowed_origin.as_deref().unwrap_or("-"),
        allowed_rate.as_deref().unwrap_or("-")
    );
    match judge(
        status,
        allowed_origin.as_deref(),
        &args.origin,
        args.callback.is_some(),
    ) {
        Verdict::Granted => {
            println!("granted: {} may send", args.origin);
            Ok(0)
        }
        Verdict::CallbackAccepted => {
            println!("accepted: the receiver will call the callback URL to grant");
            Ok(0)
        }
        Verdict::Refused(why) => {
            println!("refused: {why}");
            Ok(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(
            judge(200, Some("a.example"), "a.example", false),
            Verdict::Granted
        );
        assert_eq!(judge(204, Some("*"), "a.example", false), Verdict::Granted);
        assert!(matches!(
            judge(200, Some("b.example"), "a.example", false),
            Verdict::Refused(_)
        ));
        assert!(matches!(
            judge(200, None, "a.example", false),
            Verdict::Refused(_)
        ));
        assert_eq!(
            judge(200, None, "a.example", true),
            Verdict::CallbackAccepted
        );
        assert_eq!(
            judge(202, None, "a.example", true),
            Verdict::CallbackAccepted
        );
        assert!(matches!(
            judge(403, None, "a.example", false),
            Verdict::Refused(_)
        ));
    }
}
