//! Reading a request payload within a limit.

use actix_web::dev::Payload;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use hookgate_core::{Error, ErrorKind, ParseConfig};

/// Reads a payload of at most `config.body_limit()` bytes: 413 past the limit,
/// 400 when it cannot be read.
pub(crate) async fn read_bounded(
    mut payload: Payload,
    config: &ParseConfig,
) -> Result<Bytes, Error> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Error::new(
                ErrorKind::BodyRead,
                format!("the request body could not be read: {e}"),
            )
        })?;
        if buf.len() + chunk.len() > config.body_limit() {
            return Err(config.too_large(None));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
