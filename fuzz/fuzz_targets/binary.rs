//! Binary mode: `ce-*` header lines (names in any case, repeated, quoted,
//! percent-encoded, ISO-8859-1 bytes) and a body, through `hookgate_core::parse`
//! (which first picks the mode from the headers, so the other modes and the 415s are
//! reached too).
//!
//! Input: header lines, an empty line, the body (see `hookgate_fuzz`).
#![no_main]

use bytes::Bytes;
use hookgate_core::{HeaderSource as _, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = hookgate_fuzz::config();
    let (headers, body) = hookgate_fuzz::request(data);
    let result = hookgate_core::parse(&headers, Bytes::copy_from_slice(body), &config);
    hookgate_fuzz::check_parse(&result, &config);
    if let Ok(delivery) = &result
        && delivery.mode() == Mode::Binary
    {
        let event = &delivery.events()[0];
        // Authentication headers never become event data.
        assert!(event.extension("signature").is_none(), "ce-signature became an extension");
        // The data's type is the Content-Type header, nothing else.
        let content_type = headers
            .get("content-type")
            .map(|c| std::str::from_utf8(c).expect("an accepted Content-Type is UTF-8").trim());
        assert_eq!(event.datacontenttype(), content_type);
        assert_eq!(event.data.is_empty(), body.is_empty());
    }
});
