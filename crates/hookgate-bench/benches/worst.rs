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
