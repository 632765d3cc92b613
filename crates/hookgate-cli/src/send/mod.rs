//! `hookgate send`: plays the sender, to test any receiver from a terminal or CI.
//!
//! - `hookgate send URL [FILE|-]` sends deliveries read from a file or stdin (one
//!   event, a batch, or JSON lines: one delivery per line), or one event built from
//!   flags (`--type --source [--data --subject --id]`, the id generated);
//!   `--mode binary|structured|batch` (default structured: each event on its own;
//!   batch: each delivery as one request).
//! - It signs as asked: `--code` (`?code=`), `--bearer TOKEN`, `--webpubsub-key KEY
//!   --connection-id ID` (the `ce-signature`; implies binary mode). For a test tool
//!   secrets may be flags, or `HOOKGATE_SEND_*` variables.
//! - It retries 408, 429, 5xx and failed connections, honouring `Retry-After` (at
//!   most 5 minutes), on Event Grid's schedule (10 s, 30 s, 1 min, 5 min, 10 min,
//!   30 min, 1 h) scaled by `--retry-base` (default 10 s), up to `--attempts`.
//! - It prints one line per answer and a summary, and exits 1 when any event was not
//!   accepted (2 for a bad command line or input).
//! - `hookgate send validate URL` plays the abuse-protection handshake
//!   ([`validate`]); `hookgate send --load ...` is a load generator ([`load`]).

pub(crate) mod load;
pub(crate) mod validate;

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookgate::{CloudEvent, Data, HeaderList, ParseConfig, encode};

/// Event Grid's retry schedule, for a base of 10 s.
const SCHEDULE: [Duration; 7] = [
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
];

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The most deliveries read from one input.
const MAX_DELIVERIES: usize = 100_000;

/// The largest input read.
const MAX_INPUT: u64 = 64 << 20;

/// The content mode of the requests.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SendMode {
    /// `ce-` headers, the data as the body (one event per request).
    Binary,
    /// `application/cloudevents+json` (one event per request).
    Structured,
    /// `application/cloudevents-batch+json` (one delivery per request).
    Batch,
}

/// The flags of `hookgate send`.
#[derive(clap::Args, Debug, Clone)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct SendArgs {
    #[command(subcommand)]
    pub(crate) command: Option<SendCommand>,

    /// The receiver's URL.
    #[arg(required = true)]
    pub(crate) url: Option<String>,

    /// A file of deliveries (`-` for stdin): one event (a JSON object), a batch (an
    /// array), or JSON lines (one delivery per line). Without it, one event is built
    /// from --type and --source.
    pub(crate) input: Option<PathBuf>,

    /// The content mode.
    #[arg(long, value_enum, default_value = "structured")]
    pub(crate) mode: SendMode,

    /// The built event's type.
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) ty: Option<String>,

    /// The built event's source.
    #[arg(long, value_name = "URI")]
    pub(crate) source: Option<String>,

    /// The built event's id [default: generated].
    #[arg(long)]
    pub(crate) id: Option<String>,

    /// The built event's data: JSON (or a text, sent as a JSON string).
    #[arg(long)]
    pub(crate) data: Option<String>,

    /// The built event's subject.
    #[arg(long)]
    pub(crate) subject: Option<String>,

    /// A shared secret, sent as `?code=`.
    #[arg(long, env = "HOOKGATE_SEND_CODE", hide_env_values = true)]
    pub(crate) code: Option<String>,

    /// A bearer token, sent as `Authorization: Bearer`.
    #[arg(long, env = "HOOKGATE_SEND_BEARER", hide_env_values = true)]
    pub(crate) bearer: Option<String>,

    /// A Web PubSub access key: signs `ce-connectionId` (`ce-signature`); implies
    /// binary mode and needs --connection-id.
    #[arg(
        long,
        env = "HOOKGATE_SEND_WEBPUBSUB_KEY",
        hide_env_values = true,
        requires = "connection_id"
    )]
    pub(crate) webpubsub_key: Option<String>,

    /// The Web PubSub connection id (`ce-connectionId`).
    #[arg(long, env = "HOOKGATE_SEND_CONNECTION_ID")]
    pub(crate) connection_id: Option<String>,

    /// The Web PubSub hub (`ce-hub`) of a signed event.
    #[arg(long, env = "HOOKGATE_SEND_HUB")]
    pub(crate) hub: Option<String>,

    /// How many times each request is tried.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub(crate) attempts: u32,

    /// The first wait of Event Grid's retry schedule (10 s, 30 s, 1 min, ... scaled).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) retry_base: Duration,

    /// How long one request may take.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,

    /// Load mode: send new events as fast as the receiver takes them, and report the
    /// rate and latency percentiles.
    #[arg(long)]
    pub(crate) load: bool,

    /// Load mode: the connections (concurrent senders).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) connections: u32,

    /// Load mode: how long to send.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,

    /// Load mode: the share of requests that repeat an event already sent (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    pub(crate) duplicates: f64,
}

/// `hookgate send validate`.
#[derive(clap::Subcommand, Debug, Clone)]
pub(crate) enum SendCommand {
    /// Play the abuse-protection handshake (`OPTIONS` with `WebHook-Request-Origin`)
    /// and judge the answer.
    Validate(validate::ValidateArgs),
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::config::parse_duration("duration", Some(text.to_owned()), Duration::ZERO)
        .map_err(|e| e.message)
}

/// A failure of the command line or the input (exit 2).
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

/// One delivery of the input: its events, and whether it was a batch.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    events: Vec<CloudEvent>,
}

/// A request to send: headers and body, and the ids it carries.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) ids: Vec<String>,
    pub(crate) mode: SendMode,
}

/// A new event id: unique in this process and across processes in practice.
pub(crate) fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}-{:x}-{:x}",
        nanos,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The event the flags describe.
pub(crate) fn event_from_flags(args: &SendArgs, id: String) -> Result<CloudEvent, UsageError> {
    let (Some(ty), Some(source)) = (&args.ty, &args.source) else {
        return Err(UsageError(
            "give a FILE (or - for stdin), or --type and --source to build an event".into(),
        ));
    };
    let mut event = CloudEvent::new(id, source.clone(), ty.clone());
    if let Some(data) = &args.data {
        let json = match Data::json(data.clone()) {
            Ok(json) => json,
            Err(_) => Data::json(serde_json::Value::String(data.clone()).to_string())
                .map_err(|e| UsageError(format!("--data: {e}")))?,
        };
        event = event
            .with_data(json)
            .with_datacontenttype("application/json");
    }
    if let Some(subject) = &args.subject {
        event = event.with_subject(subject.clone());
    }
    Ok(event)
}

/// The deliveries of `text`: one JSON value (an event or a batch), or JSON lines.
fn parse_input(text: &str) -> Result<Vec<Delivery>, UsageError> {
    let config = ParseConfig::builder()
        .body_limit(MAX_INPUT as usize)
        .max_events(100_000)
        .build()
        .map_err(|e| UsageError(e.to_string()))?;
    let one = |value: &str, line: Option<usize>| -> Result<Delivery, UsageError> {
        let trimmed = value.trim_start();
        let content_type = if trimmed.starts_with('[') {
            "application/cloudevents-batch+json"
        } else {
            "application/cloudevents+json"
        };
        let headers = HeaderList::new(vec![("content-type".to_owned(), content_type.to_owned())]);
        let delivery =
            hookgate::parse(&headers, Bytes::from(value.to_owned()), &config).map_err(|e| {
                let place = line.map_or_else(String::new, |n| format!("line {n}: "));
                UsageError(format!("{place}not a CloudEvent: {}", e.detail()))
            })?;
        Ok(Delivery {
            events: delivery.into_events(),
        })
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(UsageError("the input is empty".into()));
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return Ok(vec![one(text, None)?]);
    }
    let mut deliveries = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if deliveries.len() == MAX_DELIVERIES {
            return Err(UsageError(format!("more than {MAX_DELIVERIES} deliveries")));
        }
        deliveries.push(one(line, Some(n + 1))?);
    }
    Ok(deliveries)
}

fn read_input(path: &PathBuf) -> Result<String, UsageError> {
    let mut text = String::new();
    let result = if path.as_os_str() == "-" {
        std::io::stdin().take(MAX_INPUT).read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT).read_to_string(&mut text))
    };
    result.map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    Ok(text)
}

/// The requests for `deliveries` in `mode`, signed for Web PubSub when asked.
pub(crate) fn requests(deliveries: Vec<Delivery>, mode: SendMode, args: &SendArgs) -> Vec<Request> {
    let mut out = Vec::new();
    for delivery in deliveries {
        if mode == SendMode::Batch {
            let (content_type, body) = encode::batch(&delivery.events);
            out.push(Request {
                headers: vec![("content-type".into(), content_type.into())],
                body,
                ids: delivery.events.iter().map(|e| e.id().to_owned()).collect(),
                mode,
            });
            continue;
        }
        for event in delivery.events {
            out.push(request_for(event, mode, args));
        }
    }
    out
}

/// One request for one event.
pub(crate) fn request_for(event: CloudEvent, mode: SendMode, args: &SendArgs) -> Request {
    let id = event.id().to_owned();
    match mode {
        SendMode::Binary => {
            let mut event = event;
            if let Some(connection) = &args.connection_id {
                event = with_extension(event, "connectionid", connection);
                if let Some(hub) = &args.hub {
                    event = with_extension(event, "hub", hub);
                }
            }
            let (mut headers, body) = encode::binary(&event);
            if let (Some(key), Some(connection)) = (&args.webpubsub_key, &args.connection_id) {
                headers.push(("ce-signature".into(), signature(key, connection)));
            }
            Request {
                headers,
                body,
                ids: vec![id],
                mode,
            }
        }
        SendMode::Structured | SendMode::Batch => {
            let (content_type, body) = encode::structured(&event);
            Request {
                headers: vec![("content-type".into(), content_type.into())],
                body,
                ids: vec![id],
                mode: SendMode::Structured,
            }
        }
    }
}

fn with_extension(event: CloudEvent, name: &str, value: &str) -> CloudEvent {
    match event.clone().with_extension(name, value) {
        Ok(event) => event,
        Err(_) => event,
    }
}

/// Web PubSub's `ce-signature`: `sha256=` and the hex HMAC-SHA256 of the connection
/// id keyed by the access key.
pub(crate) fn signature(key: &str, connection_id: &str) -> String {
    use hmac::{Hmac, Mac as _};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(connection_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::from("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The URL with `?code=` when asked.
pub(crate) fn target(url: &str, code: Option<&str>) -> Result<reqwest::Url, UsageError> {
    let mut url = reqwest::Url::parse(url).map_err(|e| UsageError(format!("URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UsageError("URL: must be http:// or https://".into()));
    }
    if let Some(code) = code {
        url.query_pairs_mut().append_pair("code", code);
    }
    Ok(url)
}

/// The client: one pool, a timeout per request, no redirects.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, UsageError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| UsageError(format!("cannot build the HTTP client: {e}")))
}

/// The answer to one request after its attempts.
#[derive(Debug)]
struct Answer {
    status: Option<u16>,
    attempts: u32,
}

/// Runs `hookgate send`; the exit code.
pub(crate) async fn run(args: SendArgs) -> Result<u8, UsageError> {
    let Some(url) = args.url.clone() else {
        return Err(UsageError("give the receiver's URL".into()));
    };
    let url = target(&url, args.code.as_deref())?;
    let mode = if args.webpubsub_key.is_some() {
        SendMode::Binary
    } else {
        args.mode
    };
    if args.load {
        return load::run(&args, url, mode).await;
    }
    let deliveries = match &args.input {
        Some(path) => parse_input(&read_input(path)?)?,
        None => vec![Delivery {
            events: vec![event_from_flags(
                &args,
                args.id.clone().unwrap_or_else(new_id),
            )?],
        }],
    };
    let client = client(args.timeout)?;
    let requests = requests(deliveries, mode, &args);
    let (mut accepted, mut refused) = (0_usize, 0_usize);
    for request in &requests {
        let started = Instant::now();
        let answer = send_with_retries(&client, &url, request, &args).await;
        let took = started.elapsed();
        let ids = request.ids.join(",");
        let status = answer
            .status
            .map_or_else(|| "---".to_owned(), |s| s.to_string());
        println!(
            "{status} {mode:?} {n} event(s) [{ids}] after {a} attempt(s), {took:.0?}",
            mode = request.mode,
            n = request.ids.len(),
            a = answer.attempts
        );
        if answer.status.is_some_and(|s| (200..300).contains(&s)) {
            accepted += request.ids.len();
        } else {
            refused += request.ids.len();
        }
    }
    println!(
        "sent {} request(s), {} event(s): {accepted} accepted, {refused} not accepted",
        requests.len(),
        accepted + refused
    );
    Ok(u8::from(refused > 0))
}

/// One request, tried up to `--attempts` times.
async fn send_with_retries(
    client: &reqwest::Client,
    url: &reqwest::Url,
    request: &Request,
    args: &SendArgs,
) -> Answer {
    let scale = args.retry_base.as_secs_f64() / 10.0;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut builder = client.post(url.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(token) = &args.bearer {
            builder = builder.bearer_auth(token);
        }
        let (status, retry_after) = match builder.body(request.body.clone()).send().await {
            Ok(response) => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let status = response.status().as_u16();
                // The body is read (bounded) so the connection can be reused.
                let detail = read_detail(response).await;
                if !(200..300).contains(&status) {
                    eprintln!("  attempt {attempt}: {status} {detail}");
                }
                (Some(status), retry_after)
            }
            Err(e) => {
                eprintln!(
                    "  attempt {attempt}: {}",
                    if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "cannot connect"
                    } else {
                        "request failed"
                    }
                );
                (None, None)
            }
        };
        let retryable = match status {
            None => true,
            Some(s) => matches!(s, 408 | 429 | 500..),
        };
        if !retryable || attempt >= args.attempts {
            return Answer {
                status,
                attempts: attempt,
            };
        }
        let step = SCHEDULE[(attempt as usize - 1).min(SCHEDULE.len() - 1)];
        let wait = retry_after
            .map(|r| r.min(MAX_RETRY_AFTER))
            .unwrap_or_else(|| step.mul_f64(scale));
        tokio::time::sleep(wait).await;
    }
}

/// The first 300 bytes of an answer's body, on one line.
async fn read_detail(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() < 4096 {
            body.extend_from_slice(&chunk[..chunk.len().min(4096 - body.len())]);
        }
    }
    detail_line(&body)
}

/// What a receiver's answer says, for the terminal: one line of at most 300
/// characters, with control characters (escape sequences, carriage returns) and
/// other unprintable ones such as bidirectional overrides escaped (`\u{1b}`), so a
/// receiver cannot paint or rewrite the operator's terminal.
fn detail_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let short: String = one_line.chars().take(300).collect();
    short.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receivers_answer_is_printed_escaped() {
        let line = detail_line(b"bad\x1b[2J\x1b[31mred\r\x07 \xe2\x80\xae{\"detail\":\"x\"}");
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{line:?}"
        );
        assert!(
            line.contains("\\u{1b}[2J") && line.contains("\\u{202e}"),
            "{line}"
        );
        assert!(detail_line(&[b'a'; 10_000]).len() <= 300);
    }

    #[test]
    fn inputs() {
        let one =
            parse_input(r#"{"specversion":"1.0","id":"1","source":"/s","type":"t"}"#).unwrap();
        assert_eq!(one.len(), 1);
        let batch = parse_input(
            r#"[{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"1.0","id":"2","source":"/s","type":"t"}]"#,
        )
        .unwrap();
        assert_eq!(batch[0].events.len(), 2);
        let lines = parse_input(
            "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s\",\"type\":\"t\"}\n\n{\"specversion\":\"1.0\",\"id\":\"2\",\"source\":\"/s\",\"type\":\"t\"}\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        let bad = parse_input("{\"specversion\":\"1.0\",\"id\":\"1\"}\n{}\n").unwrap_err();
        assert!(bad.0.contains("not a CloudEvent"), "{}", bad.0);
    }

    #[test]
    fn the_web_pubsub_signature_is_what_the_library_accepts() {
        let keys = hookgate::auth::WebPubSubKeys::new(["key1"]).unwrap();
        let signature = signature("key1", "conn-1");
        assert!(keys.verify([signature.as_bytes()], b"conn-1", None));
        assert!(!keys.verify([signature.as_bytes()], b"conn-2", None));
    }
}
