//! Batch mode: a JSON array of events under `application/cloudevents-batch+json`.
//! Each member is checked, and the batch must be all or nothing: accepted, every
//! member is an event; refused, the problem is a 400/413.
//!
//! Input: the body.
#![no_main]

use bytes::Bytes;
use hookgate_core::{HeaderList, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = hookgate_fuzz::config();
    let headers = HeaderList::new([("content-type", "application/cloudevents-batch+json")]);
    let result = hookgate_core::parse(&headers, Bytes::copy_from_slice(data), &config);
    hookgate_fuzz::check_parse(&result, &config);
    match &result {
        Ok(delivery) => assert_eq!(delivery.mode(), Mode::Batch),
        Err(e) => assert_ne!(e.status(), 415, "{e:?}"),
    }
});
