//! Structured mode: one event in the JSON format under
//! `application/cloudevents+json` (a body that starts with `[` is read as a batch).
//!
//! Input: the body.
#![no_main]

use bytes::Bytes;
use hookgate_core::HeaderList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = hookgate_fuzz::config();
    let headers = HeaderList::new([("content-type", "application/cloudevents+json; charset=utf-8")]);
    let result = hookgate_core::parse(&headers, Bytes::copy_from_slice(data), &config);
    hookgate_fuzz::check_parse(&result, &config);
});
