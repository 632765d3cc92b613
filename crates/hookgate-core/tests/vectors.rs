//! Every request vector in `tests/vectors/*.json` (at the repository root) through
//! `hookgate_core::parse`. All failing vectors are reported together, by name.

#[path = "../../../tests/common/vectors.rs"]
mod vectors;

use bytes::Bytes;
use hookgate_core::{HeaderList, Mode, ParseConfig, parse};
use serde_json::Value;
use vectors::{MIN_VECTORS, Vector};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors");

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Binary => "binary",
        Mode::Structured => "structured",
        Mode::Batch => "batch",
        _ => "unknown",
    }
}

/// Runs one vector; `Err` says what differed.
fn run(v: &Vector) -> Result<(), String> {
    let headers = HeaderList::new(v.header_bytes());
    let mut config = ParseConfig::builder();
    if let Some(limit) = v.body_limit {
        config = config.body_limit(limit);
    }
    let config = config.build().map_err(|e| format!("config: {e}"))?;
    let result = parse(&headers, Bytes::from(v.body()), &config);
    let expect = &v.expect;
    match result {
        Ok(delivery) => {
            if !v.accepted() {
                return Err(format!(
                    "expected {} {}, got 200 {} with {} event(s): {}",
                    expect.status,
                    expect.kind.as_deref().unwrap_or(""),
                    mode_name(delivery.mode()),
                    delivery.len(),
                    delivery
                        .events()
                        .iter()
                        .map(|e| e.to_json())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let mut problems = Vec::new();
            let want_mode = expect.mode.map(|m| m.as_str()).unwrap_or_default();
            if mode_name(delivery.mode()) != want_mode {
                problems.push(format!(
                    "mode: expected {want_mode}, got {}",
                    mode_name(delivery.mode())
                ));
            }
            let got: Vec<Value> = delivery
                .events()
                .iter()
                .map(|e| {
                    serde_json::from_str(&e.to_json())
                        .unwrap_or_else(|err| Value::String(format!("to_json is not JSON: {err}")))
                })
                .collect();
            let want = v.expected_events();
            if got.len() != want.len() {
                problems.push(format!(
                    "events: expected {}, got {}",
                    want.len(),
                    got.len()
                ));
            }
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                if g != w {
                    problems.push(format!(
                        "event {i}:\n      expected {w}\n      got      {g}"
                    ));
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n    "))
            }
        }
        Err(error) => {
            let got = format!(
                "{} {} ({})",
                error.status(),
                error.kind().slug(),
                error.detail()
            );
            if v.accepted() {
                return Err(format!(
                    "expected 200 {}, got {got}",
                    expect.mode.map(|m| m.as_str()).unwrap_or_default()
                ));
            }
            let kind = expect.kind.as_deref().unwrap_or_default();
            if error.status() != expect.status || error.kind().slug() != kind {
                return Err(format!("expected {} {kind}, got {got}", expect.status));
            }
            if error.problem().type_uri() != format!("urn:hookgate:problem:{kind}") {
                return Err(format!(
                    "problem type `{}` does not end in the kind",
                    error.problem().type_uri()
                ));
            }
            let missing: Vec<&str> = expect
                .detail_contains
                .iter()
                .map(String::as_str)
                .filter(|s| !error.detail().contains(s))
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "the detail `{}` does not mention {missing:?}",
                    error.detail()
                ));
            }
            Ok(())
        }
    }
}

#[test]
fn request_vectors() {
    let all = vectors::load(DIR);
    assert!(all.len() >= MIN_VECTORS);
    let failures: Vec<String> = all
        .iter()
        .filter_map(|v| {
            run(v).err().map(|why| {
                let file = v.file.file_name().unwrap_or_default().to_string_lossy();
                format!("  {} ({file}): {why}", v.name)
            })
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} request vectors failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    eprintln!("{} request vectors passed", all.len());
}
