//! Rendering a core [`Problem`] as an http 1 response: the one place this adapter
//! builds rejection responses.

use bytes::Bytes;
use hookgate_core::Problem;
use hookgate_core::problem::CONTENT_TYPE as PROBLEM_JSON;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};

/// The response for `problem`: its status, `Content-Type: application/problem+json`,
/// its extra headers, and the JSON body.
#[must_use]
pub fn problem_response(problem: &Problem) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(problem.to_json()));
    *response.status_mut() =
        StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    for (name, value) in problem.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    response
}
