//! Rendering core replies as http 1 responses: the one place this adapter builds
//! handshake answers and rejection responses.

use bytes::Bytes;
use hookgate_core::{Problem, Reply};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Response, StatusCode};

/// The response for a core [`Reply`]: its status, its headers, and its body with
/// its `Content-Type`. A rejection's [`Problem`] goes into the response extensions,
/// so that a logging layer outside can say why a request was refused without
/// reading the body.
#[must_use]
pub fn reply_response(reply: &Reply) -> Response<Bytes> {
    let mut response = Response::new(reply.body());
    *response.status_mut() =
        StatusCode::from_u16(reply.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    if let Some(content_type) = reply.content_type() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in reply.headers() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    if let Some(problem) = reply.problem() {
        response.extensions_mut().insert(problem.clone());
    }
    response
}

/// The response for `problem`: its status, `Content-Type: application/problem+json`,
/// its extra headers, and the JSON body; the [`Problem`] in the extensions.
#[must_use]
pub fn problem_response(problem: &Problem) -> Response<Bytes> {
    reply_response(&Reply::from(problem))
}
