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
//! ```text
//! cargo run --example axum_receiver
//! ```

mod shared;

use std::io::Write as _;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hookgate::tower::{AuthLayer, CloudEventRejection, CloudEvents, HandshakeLayer};

async fn receive(events: Result<CloudEvents, CloudEventRejection>) -> Response {
    match events {
        Ok(CloudEvents(events)) => {
            let mut out = std::io::stdout().lock();
            for event in &events {
                // A closed stdout must not take the receiver down with it.
                let _ = writeln!(out, "{}", event.to_json()).and_then(|()| out.flush());
            }
            axum::http::StatusCode::OK.into_response()
        }
        Err(rejection) => {
            eprintln!("warning: rejected request: {rejection}");
            rejection.into_response()
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let mut app = Router::new().route("/api/events", post(receive));
    if let Some(auth) = shared::auth_policy() {
        app = app.layer(AuthLayer::new(auth));
    }
    // Outside authentication: the handshake is answered first.
    let app = app.layer(HandshakeLayer::new(shared::handshake_policy()));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "hookgate axum receiver listening on http://{}/api/events",
        listener.local_addr()?
    );
    axum::serve(listener, app).await
}
