//! A CloudEvents webhook receiver on axum.
//!
//! Listens on `BIND_ADDR` (default `127.0.0.1:8080`) and serves `POST /api/events`.
//! Every accepted event is printed to stdout as one JSON line in the CloudEvents JSON
//! format; every rejected request gets an `application/problem+json` answer and a
//! one-line warning on stderr.
//!
//! It answers the webhook validation handshake (`OPTIONS` with
//! `WebHook-Request-Origin`) for the origins in `ALLOWED_ORIGINS` (a comma list, or
//! `*`; default: the Azure Event Grid origins) with the rate in `ALLOWED_RATE`
//! (requests per minute or `*`, the default).
//!
//! It authenticates senders when any of `WEBHOOK_CODES` (comma list of shared
//! secrets), `WEBPUBSUB_KEYS` (comma list of Web PubSub access keys) or
//! `AAD_AUTHORITY` with `AAD_AUDIENCES` (and optionally `AAD_ROLES`) is set.
//!
//! It deduplicates by `(source, id)`: in memory by default, on Redis when `REDIS_URL`
//! is set. A duplicate is answered 200 and not printed again.
//!
//! On SIGTERM or SIGINT (Ctrl-C) it stops taking connections, gives the requests in
//! flight up to 10 seconds to finish, then releases the dedup claims of any still
//! unfinished (so that the sender's retry is handled at once, by another replica or
//! this one restarted) and exits 0.
//!
//! ```text
//! cargo run --example axum_receiver --features axum,redis
//! ```

mod shared;
mod stop_signal;

use std::io::Write as _;

use axum::Router;
use axum::routing::post;
use hookgate::tower::{CloudEvents, WebhookLayer};

async fn receive(CloudEvents(events): CloudEvents) -> axum::http::StatusCode {
    let mut out = std::io::stdout().lock();
    for event in &events {
        // A closed stdout must not take the receiver down with it.
        let _ = writeln!(out, "{}", event.to_json()).and_then(|()| out.flush());
    }
    axum::http::StatusCode::OK
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let webhook = shared::webhook_policy().await;
    // One layer: handshake, authentication, parsing, deduplication, in that order.
    let app = Router::new()
        .route("/api/events", post(receive))
        .layer(WebhookLayer::new(webhook.clone()));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "hookgate axum receiver listening on http://{}/api/events",
        listener.local_addr()?
    );

    stop_signal::serve_with_grace(listener, app, shared::GRACE).await?;
    shared::release_unfinished(&webhook).await;
    Ok(())
}
