//! Worst-case requests (issue 9): the most a sender can make one request cost,
//! each beside a normal request of the same body size, so that the ratio reads as
//! "how much more than a normal request". Goal: no request costs more than 10x a
//! normal one of the same size.
//!
//! Run with `cargo bench -p hookgate-bench --bench worst`; results (with the peak
//! heap of the same requests, measured by `tests/memory.rs` through both
//! frameworks) are in `BENCHMARKS.md`, "Worst-case requests".
//!
//! Each group is one body size and holds `normal` (events as `benches/parse.rs`
//! sends them: all context attributes, two extensions, an object of data, about
//! 600 bytes each) and the worst cases of that size:
//!
//! - `batch_1mib`: `max_events`, 5,000 events (the default limit) padded to fill
//!   the megabyte; `dense_extensions`, 5,000 events filling it with one-letter
//!   extensions (`,"a":1`; refused at `max_batch_extensions`, 32,768);
//!   `dense_extensions_up_to_the_cap`, as many such events as carry 32,768
//!   extensions (about 270 KB, accepted); `empty_members`, `[{},{},...]` (refused at the first
//!   member); `many_members`, one structured event of small members (refused at
//!   the attribute limit); `structured`, one event whose data is the megabyte;
//! - `batch_300k`: `max_events`, 5,000 of the smallest events;
//! - `extensions_1k`: `max_extensions`, one event of 124 extensions (128
//!   attributes, the default limit), against one normal event padded to its size;
//! - `signature`: `WebPubSubKeys::verify` with two keys, a normal request (two
//!   candidates, a 36-byte connection id) against the largest the check reads
//!   (`MAX_SIGNATURES` candidates of 100 sent, none valid, a `MAX_CONNECTION_ID`
//!   connection id) and a 64 KiB header of separators;
//! - `read_1mib`: `read_body` of a 1 MiB body in one chunk (a body the server
//!   holds), in 16 KiB chunks and in one-byte chunks (no length known in advance);
//! - `webpubsub_1mib` (issue 18): Web PubSub `connect` bodies of a megabyte of
//!   empty values, entries and client certificates (refused at the
//!   `WebPubSubLimits` counts), of an unknown member of zeros, and user events of
//!   JSON (typed `application/json` and `application/cloudevents-batch+json`, read
//!   as data), beside a normal `connect` (claims of 1 KB) and a normal JSON
//!   message of the same size; `webpubsub_connect_48k`: the `connect` bodies at
//!   the limits, accepted, beside a normal one. These parse with
//!   `webpubsub::parse_config` and read the event with
//!   `WebPubSubEvent::from_delivery`.
//!
//! Every parse is `hookgate_core::parse` with the default `ParseConfig`, its result
//! dropped inside the timed code, as in `benches/parse.rs`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use divan::{Bencher, black_box, black_box_drop};
use hookgate_core::auth::{MAX_CONNECTION_ID, WebPubSubKeys};
use hookgate_core::request::{BodyError, BodyStream, read_body};
use hookgate_core::webpubsub::{self, CONNECT, WebPubSubEvent, WebPubSubLimits};
use hookgate_core::{ErrorKind, HeaderList, ParseConfig, parse};

fn main() {
    divan::Divan::default()
        .sample_count(200)
        .config_with_args()
        .main();
}

const LIMIT: usize = ParseConfig::DEFAULT_BODY_LIMIT;
const BATCH: &str = "application/cloudevents-batch+json";
const STRUCTURED: &str = "application/cloudevents+json";
/// The `ce-type` of a Web PubSub user event `message`.
const USER: &str = "azure.webpubsub.user.message";

/// A request for `parse`: its headers and body.
struct Request {
    headers: HeaderList,
    body: Bytes,
}

impl Request {
    fn new(content_type: &str, body: String) -> Self {
        let body = Bytes::from(body);
        // Share the buffer now, not in the first timed iteration (see
        // `hookgate_bench::Request`).
        drop(body.clone());
        Self {
            headers: HeaderList::new([("content-type", content_type)]),
            body,
        }
    }

    /// Parses, as a receiver does.
    fn parse(&self) -> Result<hookgate_core::Delivery, hookgate_core::Error> {
        parse(&self.headers, self.body.clone(), &ParseConfig::default())
    }
}

/// Times the parse of `req`, after checking that it is accepted (`None`) or refused
/// with the error `refused` says.
fn run(bencher: Bencher<'_, '_>, req: &Request, refused: Option<ErrorKind>) {
    assert_eq!(req.parse().err().map(|e| e.kind()), refused);
    bencher
        .counter(divan::counter::BytesCount::new(req.body.len()))
        .bench(|| black_box_drop(black_box(req).parse()));
}

fn minimal_event(i: usize) -> String {
    format!(r#"{{"specversion":"1.0","id":"{i}","source":"/s","type":"t"}}"#)
}

/// `event` with an extension `pad` added so that it is `len` bytes long.
fn padded(event: &str, len: usize) -> String {
    let open = &event[..event.len() - 1];
    let pad = len.saturating_sub(open.len() + r#","pad":""}"#.len());
    format!(r#"{open},"pad":"{}"}}"#, "x".repeat(pad))
}

/// `event` with `count` extensions: `a` to `z` valued 1, then `x26`, … valued
/// `"v"`.
fn with_extensions(event: &str, count: usize) -> String {
    let open = &event[..event.len() - 1];
    let extensions: String = (0..count)
        .map(|i| match u8::try_from(i) {
            Ok(i) if i < 26 => format!(r#","{}":1"#, char::from(b'a' + i)),
            _ => format!(r#","x{i}":"v""#),
        })
        .collect();
    format!("{open}{extensions}}}")
}

/// A batch of `events` as long as it comes.
fn batch(events: impl Iterator<Item = String>) -> String {
    format!("[{}]", events.collect::<Vec<_>>().join(","))
}

/// A batch of the normal events of `benches/parse.rs`, as many as fit in `len`.
fn normal_batch(len: usize) -> Request {
    let mut events = Vec::new();
    let mut total = 2;
    for i in 0.. {
        let event = hookgate_bench::event_json(i);
        if total + event.len() + 1 > len {
            break;
        }
        total += event.len() + 1;
        events.push(event);
    }
    Request::new(BATCH, batch(events.into_iter()))
}

/// 1 MiB bodies.
#[divan::bench_group(sample_size = 1)]
mod batch_1mib {
    use super::*;

    #[divan::bench]
    fn normal(b: Bencher<'_, '_>) {
        run(b, &normal_batch(LIMIT), None);
    }

    #[divan::bench]
    fn max_events(b: Bencher<'_, '_>) {
        let max = ParseConfig::DEFAULT_MAX_EVENTS;
        let per_event = LIMIT / max - 1;
        let body = batch((0..max).map(|i| padded(&minimal_event(i), per_event)));
        run(b, &Request::new(BATCH, body), None);
    }

    #[divan::bench]
    fn dense_extensions(b: Bencher<'_, '_>) {
        let max = ParseConfig::DEFAULT_MAX_EVENTS;
        let count = (LIMIT / max - 1 - minimal_event(max).len()) / 6;
        let body = batch((0..max).map(|i| with_extensions(&minimal_event(i), count)));
        // Refused at `max_batch_extensions` (32,768 of the 125,000).
        run(
            b,
            &Request::new(BATCH, body),
            Some(ErrorKind::TooManyAttributes),
        );
    }

    #[divan::bench]
    fn dense_extensions_up_to_the_cap(b: Bencher<'_, '_>) {
        let max = ParseConfig::DEFAULT_MAX_EVENTS;
        let count = (LIMIT / max - 1 - minimal_event(max).len()) / 6;
        let events = ParseConfig::DEFAULT_MAX_BATCH_EXTENSIONS / count;
        let body = batch((0..events).map(|i| with_extensions(&minimal_event(i), count)));
        run(b, &Request::new(BATCH, body), None);
    }

    #[divan::bench]
    fn empty_members(b: Bencher<'_, '_>) {
        let body = batch((0..(LIMIT - 2) / 3).map(|_| "{}".to_owned()));
        run(
            b,
            &Request::new(BATCH, body),
            Some(ErrorKind::MissingAttribute),
        );
    }

    #[divan::bench]
    fn many_members(b: Bencher<'_, '_>) {
        let body = with_extensions(&minimal_event(1), (LIMIT - 100) / 14);
        run(
            b,
            &Request::new(STRUCTURED, body),
            Some(ErrorKind::TooManyAttributes),
        );
    }

    #[divan::bench]
    fn structured(b: Bencher<'_, '_>) {
        let body = padded(&minimal_event(1), LIMIT);
        run(b, &Request::new(STRUCTURED, body), None);
    }
}

/// Bodies of about 300 KB: the 5,000 smallest events.
#[divan::bench_group(sample_size = 1)]
mod batch_300k {
    use super::*;

    fn smallest() -> String {
        batch((0..ParseConfig::DEFAULT_MAX_EVENTS).map(minimal_event))
    }

    #[divan::bench]
    fn normal(b: Bencher<'_, '_>) {
        run(b, &normal_batch(smallest().len()), None);
    }

    #[divan::bench]
    fn max_events(b: Bencher<'_, '_>) {
        run(b, &Request::new(BATCH, smallest()), None);
    }
}

/// One event of about 1 KB.
#[divan::bench_group(sample_size = 100)]
mod extensions_1k {
    use super::*;

    fn most() -> String {
        let max = ParseConfig::DEFAULT_MAX_ATTRIBUTES - 4;
        with_extensions(&minimal_event(1), max)
    }

    #[divan::bench]
    fn normal(b: Bencher<'_, '_>) {
        let body = padded(&hookgate_bench::event_json(0), most().len());
        run(b, &Request::new(STRUCTURED, body), None);
    }

    #[divan::bench]
    fn max_extensions(b: Bencher<'_, '_>) {
        run(b, &Request::new(STRUCTURED, most()), None);
    }
}

/// `WebPubSubKeys::verify` with two keys.
#[divan::bench_group(sample_size = 100)]
mod signature {
    use super::*;

    fn keys() -> WebPubSubKeys {
        WebPubSubKeys::new([
            "primary-access-key-0123456789",
            "secondary-access-key-9876543210",
        ])
        .unwrap()
    }

    fn candidates(count: usize) -> Vec<u8> {
        let one = format!("sha256={}", "ab".repeat(32));
        vec![one; count].join(",").into_bytes()
    }

    fn time(b: Bencher<'_, '_>, header: &[u8], connection_id: &[u8]) {
        let keys = keys();
        assert!(!keys.verify([header], connection_id, None));
        b.bench(|| black_box(&keys).verify([black_box(header)], black_box(connection_id), None));
    }

    #[divan::bench]
    fn normal(b: Bencher<'_, '_>) {
        time(b, &candidates(2), b"0f9a8b7c-6d5e-4f3a-2b1c-0d9e8f7a6b5c");
    }

    #[divan::bench]
    fn largest(b: Bencher<'_, '_>) {
        time(b, &candidates(100), &[b'c'; MAX_CONNECTION_ID]);
    }

    #[divan::bench]
    fn separators_64k(b: Bencher<'_, '_>) {
        time(b, &[b','; 64 * 1024], &[b'c'; MAX_CONNECTION_ID]);
    }
}

/// A body of chunks, all there at once (as a body the server already holds).
struct Chunks(VecDeque<Bytes>);

impl BodyStream for Chunks {
    fn poll_chunk(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        Poll::Ready(self.get_mut().0.pop_front().map(Ok))
    }
}

/// `read_body` of 1 MiB, one chunk, 16 KiB chunks, one-byte chunks. The chunks
/// (slices of one buffer) are made outside the timed code.
#[divan::bench_group(sample_size = 1)]
mod read_1mib {
    use super::*;

    fn time(b: Bencher<'_, '_>, size: usize) {
        let body = Bytes::from(vec![b'a'; LIMIT]);
        b.counter(divan::counter::BytesCount::new(LIMIT))
            .with_inputs(|| Chunks(body.chunks(size).map(|c| body.slice_ref(c)).collect()))
            .bench_local_values(|chunks| {
                let mut read = pin!(read_body(chunks, LIMIT));
                match read.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                    Poll::Ready(Ok(bytes)) => black_box_drop(bytes),
                    _ => unreachable!("every chunk is ready and the body within the limit"),
                }
            });
    }

    #[divan::bench]
    fn one_chunk(b: Bencher<'_, '_>) {
        time(b, LIMIT);
    }

    #[divan::bench]
    fn chunks_16k(b: Bencher<'_, '_>) {
        time(b, 16 * 1024);
    }

    #[divan::bench]
    fn chunks_1_byte(b: Bencher<'_, '_>) {
        time(b, 1);
    }
}

/// A Web PubSub event for [`wps_run`]: the service's headers and a body.
struct WpsRequest {
    headers: HeaderList,
    body: Bytes,
}

impl WpsRequest {
    fn new(ty: &str, content_type: &str, body: String) -> Self {
        let body = Bytes::from(body);
        drop(body.clone());
        Self {
            headers: HeaderList::new([
                ("content-type", content_type),
                ("ce-specversion", "1.0"),
                ("ce-type", ty),
                (
                    "ce-source",
                    "/hubs/chat/client/0f9c97a2f0bf4706afe87a14e0797b11",
                ),
                ("ce-id", "1"),
                ("ce-userId", "user1"),
                ("ce-connectionId", "0f9c97a2f0bf4706afe87a14e0797b11"),
                ("ce-hub", "chat"),
            ]),
            body,
        }
    }

    fn connect(body: String) -> Self {
        Self::new(CONNECT, "application/json", body)
    }

    /// Parses and reads the event, as the Web PubSub stack and extractor do.
    fn read(&self) -> Result<WebPubSubEvent, hookgate_core::Error> {
        let config = webpubsub::parse_config(ParseConfig::default());
        let delivery = parse(&self.headers, self.body.clone(), &config)?;
        WebPubSubEvent::from_delivery(delivery, &WebPubSubLimits::default())
    }
}

/// Times [`WpsRequest::read`], after checking that it is accepted (`None`) or
/// refused with the error `refused` says.
fn wps_run(bencher: Bencher<'_, '_>, req: &WpsRequest, refused: Option<ErrorKind>) {
    assert_eq!(req.read().err().map(|e| e.kind()), refused);
    bencher
        .counter(divan::counter::BytesCount::new(req.body.len()))
        .bench(|| black_box_drop(black_box(req).read()));
}

/// `prefix`, `item(i)` separated by commas while the body stays within `len`,
/// `suffix`.
fn fill(len: usize, prefix: &str, item: impl Fn(usize) -> String, suffix: &str) -> String {
    let mut body = String::from(prefix);
    for i in 0.. {
        let item = item(i);
        if body.len() + item.len() + 1 + suffix.len() > len {
            break;
        }
        if i > 0 {
            body.push(',');
        }
        body.push_str(&item);
    }
    body.push_str(suffix);
    body
}

/// A normal `connect` of about `len` bytes: claims of one value each, as long as
/// a token's (about 1.1 KB).
fn normal_connect(len: usize) -> String {
    fill(
        len,
        r#"{"query":{"room":["lobby"]},"subprotocols":["json.webpubsub.azure.v1"],"claims":{"#,
        |i| format!(r#""claim{i}":["{}"]"#, "x".repeat(1100)),
        "}}",
    )
}

/// Web PubSub `connect` and user events of 1 MiB (issue 18): the worst bodies a
/// client can make beside a normal `connect` and a normal JSON message of the
/// same size.
#[divan::bench_group(sample_size = 1)]
mod webpubsub_1mib {
    use super::*;

    #[divan::bench]
    fn normal_connect(b: Bencher<'_, '_>) {
        wps_run(b, &WpsRequest::connect(super::normal_connect(LIMIT)), None);
    }

    #[divan::bench]
    fn connect_empty_values(b: Bencher<'_, '_>) {
        let body = fill(LIMIT, r#"{"claims":{"a":["#, |_| r#""""#.into(), "]}}");
        let refused = Some(ErrorKind::InvalidData);
        wps_run(b, &WpsRequest::connect(body), refused);
    }

    #[divan::bench]
    fn connect_empty_entries(b: Bencher<'_, '_>) {
        let body = fill(
            LIMIT,
            r#"{"headers":{"#,
            |i| format!(r#""{i:x}":[""]"#),
            "}}",
        );
        let refused = Some(ErrorKind::InvalidData);
        wps_run(b, &WpsRequest::connect(body), refused);
    }

    #[divan::bench]
    fn connect_empty_certificates(b: Bencher<'_, '_>) {
        let body = fill(LIMIT, r#"{"clientCertificates":["#, |_| "{}".into(), "]}");
        let refused = Some(ErrorKind::InvalidData);
        wps_run(b, &WpsRequest::connect(body), refused);
    }

    #[divan::bench]
    fn connect_unknown_zeros(b: Bencher<'_, '_>) {
        let body = fill(LIMIT, r#"{"x":["#, |_| "0".into(), "]}");
        wps_run(b, &WpsRequest::connect(body), None);
    }

    #[divan::bench]
    fn normal_user_json(b: Bencher<'_, '_>) {
        let body = normal_batch(LIMIT).body;
        let body = String::from_utf8(body.to_vec()).unwrap();
        let req = WpsRequest::new(USER, "application/json", body);
        wps_run(b, &req, None);
    }

    #[divan::bench]
    fn user_json_zeros(b: Bencher<'_, '_>) {
        let body = fill(LIMIT, "[", |_| "0".into(), "]");
        wps_run(b, &WpsRequest::new(USER, "application/json", body), None);
    }

    #[divan::bench]
    fn user_structured_content_type(b: Bencher<'_, '_>) {
        let body = fill(LIMIT, "[", |_| "{}".into(), "]");
        let req = WpsRequest::new(USER, "application/cloudevents-batch+json", body);
        wps_run(b, &req, None);
    }
}

/// `connect` bodies at the default `WebPubSubLimits`, accepted (about 48 KB: the
/// most entries and values; about 27 KB: the most entries of each map), beside a
/// normal `connect` of the larger size: entries as real clients send them (about
/// 70 bytes each), and claims of 1.1 KB values.
#[divan::bench_group(sample_size = 10)]
mod webpubsub_connect_48k {
    use super::*;

    fn most_items() -> String {
        let limits = WebPubSubLimits::default();
        let values = limits.max_connect_values();
        let lists = (0..limits.max_connect_items() / values - 1)
            .map(|i| format!(r#""{i:x}":[{}]"#, vec![r#""""#; values - 1].join(",")))
            .collect::<Vec<_>>()
            .join(",");
        format!(r#"{{"claims":{{{lists}}}}}"#)
    }

    fn most_entries() -> String {
        let map = (0..WebPubSubLimits::default().max_connect_entries())
            .map(|i| format!(r#""{i:x}":[]"#))
            .collect::<Vec<_>>()
            .join(",");
        format!(r#"{{"claims":{{{map}}},"query":{{{map}}},"headers":{{{map}}}}}"#)
    }

    /// A normal `connect` of about `len` bytes made of entries as real clients
    /// send them: header-like names and values of a few dozen bytes, one value
    /// each, in `headers`, `claims` and `query` in turn.
    fn normal_small_entries(len: usize) -> String {
        let entry = |i: usize| {
            format!(r#""X-Forwarded-Header-{i}":["Mozilla/5.0 (X11; Linux x86_64) {i:08}"]"#)
        };
        let third = len / 3;
        let map = |name: &str, start: usize| {
            fill(third, &format!(r#""{name}":{{"#), |i| entry(start + i), "}")
        };
        format!(
            "{{{},{},{}}}",
            map("headers", 0),
            map("claims", 100_000),
            map("query", 200_000)
        )
    }

    #[divan::bench]
    fn normal_connect(b: Bencher<'_, '_>) {
        let len = most_items().len();
        let body = normal_small_entries(len);
        wps_run(b, &WpsRequest::connect(body), None);
    }

    #[divan::bench]
    fn normal_connect_large_values(b: Bencher<'_, '_>) {
        let len = most_items().len();
        wps_run(b, &WpsRequest::connect(super::normal_connect(len)), None);
    }

    #[divan::bench]
    fn most_items_accepted(b: Bencher<'_, '_>) {
        wps_run(b, &WpsRequest::connect(most_items()), None);
    }

    #[divan::bench]
    fn most_entries_accepted(b: Bencher<'_, '_>) {
        wps_run(b, &WpsRequest::connect(most_entries()), None);
    }
}

/// The request kinds of issue 18 beside a normal request of the same size: the
/// handshake (`HandshakePolicy::decide` of an `OPTIONS`; the Event Grid validation
/// body), the Trusted App callback (`parse_callback` into `UcwaEnvelope`) and a typed
/// data mismatch (`into_typed`, whose failure parses again for the JSON path). Each
/// group's `normal` is `parse` of a normal batch of about the same size.
mod kinds {
    use super::*;
    use hookgate_core::handshake::HandshakePolicy;
    use hookgate_core::trusted_app::{UcwaEnvelope, parse_callback};

    /// 64 KiB: the largest handshake headers (three of 64 KiB: 192 KiB) and the
    /// validation body limit.
    #[divan::bench_group(sample_size = 10)]
    mod handshake {
        use super::*;

        const HEADER: usize = 64 * 1024;

        fn policy() -> HandshakePolicy {
            HandshakePolicy::builder()
                .azure_event_grid()
                .event_grid_schema(true)
                .build()
                .unwrap()
        }

        fn decide(b: Bencher<'_, '_>, headers: &HeaderList) {
            let policy = policy();
            b.bench(|| black_box_drop(black_box(&policy).decide("OPTIONS", black_box(headers))));
        }

        fn validate(b: Bencher<'_, '_>, body: &[u8], ok: bool) {
            let policy = policy();
            assert_eq!(policy.event_grid_validation(body).is_ok(), ok);
            b.counter(divan::counter::BytesCount::new(body.len()))
                .bench(|| {
                    black_box_drop(black_box(&policy).event_grid_validation(black_box(body)))
                });
        }

        #[divan::bench]
        fn options_normal(b: Bencher<'_, '_>) {
            decide(
                b,
                &HeaderList::new([
                    ("webhook-request-origin", "eventgrid.azure.net"),
                    ("webhook-request-rate", "120"),
                ]),
            );
        }

        #[divan::bench]
        fn options_largest(b: Bencher<'_, '_>) {
            let origin = "a".repeat(HEADER);
            let rate = "*".repeat(HEADER);
            let callback = format!("https://{}", "c".repeat(HEADER - 8));
            decide(
                b,
                &HeaderList::new([
                    ("webhook-request-origin", origin.as_str()),
                    ("webhook-request-rate", rate.as_str()),
                    ("webhook-request-callback", callback.as_str()),
                ]),
            );
        }

        #[divan::bench]
        fn normal_192k(b: Bencher<'_, '_>) {
            run(b, &normal_batch(3 * HEADER), None);
        }

        #[divan::bench]
        fn normal_64k(b: Bencher<'_, '_>) {
            run(b, &normal_batch(HEADER), None);
        }

        #[divan::bench]
        fn validation_normal(b: Bencher<'_, '_>) {
            validate(
                b,
                br#"[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/x","subject":"","eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-01T00:00:00Z","data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6"},"dataVersion":"1","metadataVersion":"1"}]"#,
                true,
            );
        }

        #[divan::bench]
        fn validation_smallest_events_64k(b: Bencher<'_, '_>) {
            let event = r#"{"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{"validationCode":""}}"#;
            let body = batch(std::iter::repeat_n(
                event.to_owned(),
                HEADER / (event.len() + 1),
            ));
            validate(b, body.as_bytes(), false);
        }

        #[divan::bench]
        fn validation_members_64k(b: Bencher<'_, '_>) {
            let members: String = (0..HEADER / 10).map(|i| format!(r#","m{i}":0"#)).collect();
            let body = format!(
                r#"[{{"eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","data":{{"validationCode":"c"{members}}}}}]"#
            );
            validate(b, body.as_bytes(), true);
        }
    }

    /// 1 MiB: the Trusted App callback and typed data.
    #[divan::bench_group(sample_size = 1)]
    mod mib {
        use super::*;

        fn callback(b: Bencher<'_, '_>, body: &str) {
            let headers = HeaderList::new([("content-type", "application/json")]);
            let config = ParseConfig::default();
            assert!(body.len() <= LIMIT);
            parse_callback::<UcwaEnvelope>(&headers, body.as_bytes(), &config).unwrap();
            b.counter(divan::counter::BytesCount::new(body.len()))
                .bench(|| {
                    black_box_drop(parse_callback::<UcwaEnvelope>(
                        &headers,
                        black_box(body.as_bytes()),
                        &config,
                    ))
                });
        }

        /// `prefix`, `item` repeated with commas, `suffix`, within the body limit.
        fn fill(prefix: &str, item: &str, suffix: &str) -> String {
            let n = (LIMIT - prefix.len() - suffix.len()) / (item.len() + 1);
            format!("{prefix}{}{suffix}", vec![item; n].join(","))
        }

        #[divan::bench]
        fn normal(b: Bencher<'_, '_>) {
            run(b, &normal_batch(LIMIT), None);
        }

        #[divan::bench]
        fn trusted_app_normal(b: Bencher<'_, '_>) {
            let event = r#"{"link":{"rel":"message","href":"/ucwa/v1/applications/1/communication/messages/7"},"type":"added","_embedded":{"message":{"direction":"Incoming","timeStamp":"2026-01-31T12:34:56Z","_links":{"plainMessage":{"href":"data:text/plain;charset=utf-8,MESSAGE"}}}}}"#;
            // Messages of about 2 KB: a megabyte of them stays within the 5,000
            // items of `max_events` (six an event).
            let event = event.replace("MESSAGE", &"hello%20there%20".repeat(128));
            callback(
                b,
                &fill(
                    r#"{"_links":{"self":{"href":"/e"}},"sender":[{"rel":"conversation","href":"/c","events":["#,
                    &event,
                    "]}]}",
                ),
            );
        }

        #[divan::bench]
        fn trusted_app_zeros(b: Bencher<'_, '_>) {
            callback(b, &fill(r#"{"x":["#, "0", "]}"));
        }

        #[divan::bench]
        fn trusted_app_embedded_objects(b: Bencher<'_, '_>) {
            callback(
                b,
                &fill(
                    r#"{"sender":[{"rel":"r","href":"/h","events":[{"link":{"rel":"r","href":"/h"},"type":"added","_embedded":{"r":["#,
                    "{}",
                    "]}}]}]}",
                ),
            );
        }

        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Item {
            size: u64,
            name: String,
        }

        fn typed(b: Bencher<'_, '_>, data: &str, ok: bool) {
            let event = hookgate_core::CloudEvent::new("1", "/s", "t")
                .with_data(hookgate_core::Data::json(data.to_owned()).unwrap());
            assert_eq!(event.clone().into_typed::<Vec<Item>>().is_ok(), ok);
            b.counter(divan::counter::BytesCount::new(data.len()))
                .with_inputs(|| event.clone())
                .bench_local_values(|event| black_box_drop(event.into_typed::<Vec<Item>>()));
        }

        fn items(last: &str) -> String {
            let item = r#"{"size":12,"name":"abc"}"#;
            let n = LIMIT / (item.len() + 1) - 1;
            format!("[{},{last}]", vec![item; n].join(","))
        }

        #[divan::bench]
        fn typed_ok(b: Bencher<'_, '_>) {
            typed(b, &items(r#"{"size":12,"name":"abc"}"#), true);
        }

        /// The mismatch at the last item: the whole megabyte is parsed twice.
        #[divan::bench]
        fn typed_mismatch_at_the_end(b: Bencher<'_, '_>) {
            typed(b, &items(r#"{"size":"12","name":"abc"}"#), false);
        }
    }
}
