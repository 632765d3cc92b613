//! An Azure Web PubSub event handler on axum: a chat hub at `/api/{event}`.
//!
//! Configure the hub's event handler with the URL template
//! `https://<this host>/api/{event}`: the service validates it with an `OPTIONS`
//! at `/api/validate` and sends `connect`, `connected`, `disconnected` and user
//! events to `/api/<event name>`. The behaviour (the same as `webpubsub_actix`) and
//! the environment (`WEBPUBSUB_KEYS`, `WEBPUBSUB_HOST`, `BIND_ADDR`) are described
//! in `webpubsub_shared/mod.rs`.
//!
//! ```text
//! cargo run --example webpubsub_axum --features axum
//! ```

mod stop_signal;
mod webpubsub_shared;

use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use hookgate::tower::WebhookLayer;
use hookgate::tower::webpubsub::{WebPubSub, WebPubSubRejection, WebPubSubReply};

async fn event(
    Path(segment): Path<String>,
    WebPubSub(event): WebPubSub,
) -> Result<WebPubSubReply, WebPubSubRejection> {
    Ok(webpubsub_shared::handle(&segment, event)?.into())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let policy = webpubsub_shared::policy();
    // The stack (validation, signatures, parsing; rejections in plain text), which
    // hands the extractors the policy's limits.
    let app = Router::new()
        .route("/api/{event}", post(event))
        .layer(WebhookLayer::new(policy.webhook().clone()));
    let listener = tokio::net::TcpListener::bind(webpubsub_shared::bind_addr()).await?;
    eprintln!(
        "hookgate Web PubSub handler (axum) listening on http://{}/api/{{event}}",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal::stop_signal())
        .await?;
    eprintln!("stopped");
    Ok(())
}
