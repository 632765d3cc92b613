//! An Azure Web PubSub event handler on actix-web: a chat hub at `/api/{event}`.
//!
//! Configure the hub's event handler with the URL template
//! `https://<this host>/api/{event}`: the service validates it with an `OPTIONS`
//! at `/api/validate` and sends `connect`, `connected`, `disconnected` and user
//! events to `/api/<event name>`. The behaviour (the same as `webpubsub_axum`) and
//! the environment (`WEBPUBSUB_KEYS`, `WEBPUBSUB_HOST`, `BIND_ADDR`) are described
//! in `webpubsub_shared/mod.rs`.
//!
//! ```text
//! cargo run --example webpubsub_actix --features actix
//! ```

mod webpubsub_shared;

use actix_web::{App, HttpServer, web};
use hookgate::actix::Webhook;
use hookgate::actix::webpubsub::{WebPubSub, WebPubSubRejection, WebPubSubReply};

async fn event(
    segment: web::Path<String>,
    WebPubSub(event): WebPubSub,
) -> Result<WebPubSubReply, WebPubSubRejection> {
    Ok(webpubsub_shared::handle(&segment, event)?.into())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let policy = webpubsub_shared::policy();
    let server = HttpServer::new(move || {
        // The stack (validation, signatures, parsing; rejections in plain text),
        // which hands the extractors the policy's limits.
        App::new()
            .wrap(Webhook::new(policy.webhook().clone()))
            .route("/api/{event}", web::post().to(event))
    })
    .workers(2)
    .shutdown_timeout(10)
    .bind(webpubsub_shared::bind_addr())?;
    for bound in server.addrs() {
        eprintln!("hookgate Web PubSub handler (actix) listening on http://{bound}/api/{{event}}");
    }
    server.run().await?;
    eprintln!("stopped");
    Ok(())
}
