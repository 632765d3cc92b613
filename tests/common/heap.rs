//! The heap harness of the `*_memory` tests: a request through each framework's
//! whole stack, its body streamed in chunks without `Content-Length`, measured by
//! `dhat` in testing mode from the call to the answer's last byte.
//!
//! Not part of `common/mod.rs`: each measuring test binary includes it with
//! `#[path = "common/heap.rs"] mod heap;` and installs `dhat::Alloc` as its global
//! allocator (the other tests keep the system one).

#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::fmt::Debug;
use std::future::Future;

use bytes::Bytes;
use futures_util::stream;
use http_body::Frame;
use http_body_util::{BodyExt as _, StreamBody};
use tower::ServiceExt as _;

/// The chunk size of most cases: what a server reads at a time.
pub const CHUNK: usize = 16 * 1024;

/// What one request through one framework cost.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// The peak heap (`HeapStats::max_bytes`).
    pub peak: usize,
    /// The blocks allocated in all.
    pub blocks: u64,
}

/// Readies `body` for a measure: a `Bytes` made from a `Vec` is promoted to a
/// shared buffer at its first clone, which must not be counted as the request's.
pub fn promote(body: &Bytes) {
    drop(body.clone());
}

/// `body` in chunks of `size` bytes (slices of it: no allocation per chunk).
pub fn chunks(body: &Bytes, size: usize) -> impl Iterator<Item = Bytes> + use<> {
    let body = body.clone();
    (0..body.len().div_ceil(size))
        .map(move |i| body.slice(i * size..((i + 1) * size).min(body.len())))
}

/// Runs `request` under a fresh profiler: its status and what it cost.
pub async fn measure<F: Future<Output = u16>>(request: F) -> (u16, Cost) {
    let profiler = dhat::Profiler::builder().testing().build();
    let status = request.await;
    let stats = dhat::HeapStats::get();
    drop(profiler);
    (
        status,
        Cost {
            peak: stats.max_bytes,
            blocks: stats.total_blocks,
        },
    )
}

/// The body [`tower`] streams: `body` in chunks, made before the measure.
pub type Chunked = StreamBody<stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// Calls the tower service `app` (`oneshot`) with `request` and `body` in chunks of
/// `chunk` bytes; the answer is read within the measure (it is part of the cost).
pub async fn tower<S, B>(
    app: S,
    request: http::request::Builder,
    body: &Bytes,
    chunk: usize,
) -> (u16, Cost)
where
    S: tower::Service<http::Request<Chunked>, Response = http::Response<B>>,
    S::Error: Debug,
    B: http_body::Body,
    B::Error: Debug,
{
    let frames: Vec<_> = chunks(body, chunk)
        .map(|c| Ok::<_, Infallible>(Frame::data(c)))
        .collect();
    let request = request.body(StreamBody::new(stream::iter(frames))).unwrap();
    measure(async move {
        let response = app.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        drop(response.into_body().collect().await.unwrap());
        status
    })
    .await
}

/// The actix-web request of `request` with `body` as a stream of chunks of `chunk`
/// bytes.
pub fn actix_request(
    request: actix_web::test::TestRequest,
    body: &Bytes,
    chunk: usize,
) -> actix_http::Request {
    let chunks = chunks(body, chunk).map(Ok::<_, actix_http::error::PayloadError>);
    let payload: actix_http::BoxedPayloadStream = Box::pin(stream::iter(chunks));
    request
        .to_request()
        .replace_payload(actix_http::Payload::Stream { payload })
        .0
}

/// Calls the actix-web service `app` (`call_service`) with `request` (see
/// [`actix_request`]); the answer is read within the measure.
pub async fn actix<S, B>(app: &S, request: actix_http::Request) -> (u16, Cost)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    measure(async {
        let response = actix_web::test::call_service(app, request).await;
        let status = response.status().as_u16();
        drop(actix_web::test::read_body(response).await);
        status
    })
    .await
}
