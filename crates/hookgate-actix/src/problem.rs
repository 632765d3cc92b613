//! Rendering a core [`Problem`] as an actix-web response: the one place this
//! adapter builds rejection responses.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use hookgate_core::Problem;
use hookgate_core::problem::CONTENT_TYPE;

/// The response for `problem`: its status, `Content-Type: application/problem+json`,
/// its extra headers, and the JSON body.
#[must_use]
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut builder = HttpResponse::build(status);
    builder.content_type(CONTENT_TYPE);
    for (name, value) in problem.headers() {
        builder.append_header((*name, value.as_str()));
    }
    builder.body(problem.to_json())
}
