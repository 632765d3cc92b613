//! The heap one Trusted Application API callback can cost when it is parsed into the
//! typed `UcwaEnvelope`, measured by `dhat` in testing mode, for the worst bodies a
//! sender can make within the default limits (1 MiB, 5,000 items): megabytes of
//! small JSON values in members kept raw and in embedded resources, the most events,
//! members and links allowed, and a megabyte of events past the item limit (refused
//! 400 `too-many-events`). What is measured is what the parse allocated and held at
//! its peak, beside the body (which the adapter's reader holds: one more times the
//! body). Each must stay within [`MULTIPLE`] times the body limit; the figures are
//! printed with `--nocapture` (before the envelope kept raw JSON instead of
//! `serde_json::Value`, the worst was 32 times).

use hookgate::trusted_app::{UcwaEnvelope, parse_callback};
use hookgate::{HeaderList, ParseConfig};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const LIMIT: usize = ParseConfig::DEFAULT_BODY_LIMIT;

fn fill(prefix: &str, item: &str, suffix: &str) -> String {
    let mut body = String::from(prefix);
    let mut first = true;
    while body.len() + item.len() + 1 + suffix.len() <= LIMIT {
        if !first {
            body.push(',');
        }
        first = false;
        body.push_str(item);
    }
    body.push_str(suffix);
    body
}

/// The bound asserted on one parse's peak heap, in multiples of the body limit
/// (the CloudEvents parser's is 4, see `tests/memory.rs`).
const MULTIPLE: usize = 4;

#[test]
fn peak_heap_of_worst_case_callbacks() {
    let headers = HeaderList::new([("content-type", "application/json")]);
    let config = ParseConfig::default();
    let max = config.max_events();
    let event = r#"{"link":{"href":""},"type":""}"#;
    let items =
        |n: usize, item: &dyn Fn(usize) -> String| (0..n).map(item).collect::<Vec<_>>().join(",");
    let cases = [
        (
            "unknown member: array of zeros",
            fill(r#"{"x":["#, "0", "]}"),
            true,
        ),
        (
            "unknown member: array of empty objects",
            fill(r#"{"x":["#, "{}", "]}"),
            true,
        ),
        (
            "embedded: array of zeros",
            fill(
                r#"{"sender":[{"rel":"r","href":"/h","events":[{"link":{"rel":"r","href":"/h"},"type":"added","_embedded":{"r":["#,
                "0",
                "]}}]}]}",
            ),
            true,
        ),
        (
            "one string",
            format!(r#"{{"x":"{}"}}"#, "a".repeat(LIMIT - 10)),
            true,
        ),
        (
            "the most events (one sender, 4,999 of the smallest events)",
            format!(
                r#"{{"sender":[{{"rel":"","href":"","events":[{}]}}]}}"#,
                items(max - 1, &|_| event.to_owned())
            ),
            true,
        ),
        (
            "the most unknown members (5,000 small ones)",
            format!("{{{}}}", items(max, &|i| format!(r#""m{i}":0"#))),
            true,
        ),
        (
            "the most links, with long names",
            format!(
                r#"{{"_links":{{{}}}}}"#,
                items(max, &|i| format!(r#""{i:0>150}":{{"href":""}}"#))
            ),
            true,
        ),
        (
            "a megabyte of the smallest events (refused: too many)",
            fill(
                r#"{"sender":[{"rel":"","href":"","events":["#,
                event,
                "]}]}",
            ),
            false,
        ),
    ];
    // One profiler per case (dhat allows one at a time): what counts is what the
    // parse allocated and held at its peak.
    for (name, body, ok) in cases {
        assert!(body.len() <= LIMIT, "{name}: {} bytes", body.len());
        let profiler = dhat::Profiler::builder().testing().build();
        let parsed = parse_callback::<UcwaEnvelope>(&headers, body.as_bytes(), &config);
        let stats = dhat::HeapStats::get();
        assert_eq!(parsed.is_ok(), ok, "{name}: {:?}", parsed.as_ref().err());
        if let Err(e) = &parsed {
            assert_eq!(e.kind(), hookgate::ErrorKind::TooManyEvents, "{name}");
        }
        drop(parsed);
        drop(profiler);
        println!(
            "{name}: body {} bytes, peak heap {} bytes ({:.2} x the body limit), {} blocks",
            body.len(),
            stats.max_bytes,
            stats.max_bytes as f64 / LIMIT as f64,
            stats.total_blocks
        );
        assert!(
            stats.max_bytes <= MULTIPLE * LIMIT,
            "{name}: {} bytes at the peak",
            stats.max_bytes
        );
    }
}
