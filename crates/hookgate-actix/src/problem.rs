//! Rendering core replies as actix-web responses: the one place this adapter builds
//! handshake answers and rejection responses.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use hookgate_core::{Problem, Reply};

/// The response for a core [`Reply`]: its status, its headers, and its body with
/// its `Content-Type`. A rejection's [`Problem`] goes into the response extensions,
/// so that a logging middleware outside can say why a request was refused without
/// reading the body.
#[must_use]
pub fn reply_response(reply: &Reply) -> HttpResponse {
    let status = StatusCode::from_u16(reply.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut builder = HttpResponse::build(status);
    if let Some(content_type) = reply.content_type() {
        builder.content_type(content_type);
    }
    for (name, value) in reply.headers() {
        if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close") {
            // actix-http writes `Connection` from the connection type, never from
            // the header map (and drops it on HTTP/2).
            builder.force_close();
            continue;
        }
        builder.append_header((*name, value.as_str()));
    }
    let mut response = builder.body(reply.body());
    if let Some(problem) = reply.problem() {
        response.extensions_mut().insert(problem.clone());
    }
    response
}

/// The response for `problem`: its status, `Content-Type: application/problem+json`,
/// its extra headers, and the JSON body; the [`Problem`] in the extensions.
#[must_use]
pub fn problem_response(problem: &Problem) -> HttpResponse {
    reply_response(&Reply::from(problem))
}
