//! A CloudEvents webhook receiver on actix-web.
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
//! flight up to 10 seconds to finish (actix-web's own signal handling), then releases
//! the dedup claims of any still unfinished (so that the sender's retry is handled at
//! once, by another replica or this one restarted) and exits 0.
//!
//! ```text
//! cargo run --example actix_receiver --features actix,redis
//! ```

mod shared;

use std::io::Write as _;

use actix_web::{App, HttpResponse, HttpServer, web};
use hookgate::actix::{CloudEvents, Webhook};

async fn receive(CloudEvents(events): CloudEvents) -> HttpResponse {
    let mut out = std::io::stdout().lock();
    for event in &events {
        // A closed stdout must not take the receiver down with it.
        let _ = writeln!(out, "{}", event.to_json()).and_then(|()| out.flush());
    }
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let webhook = shared::webhook_policy().await;
    let app_webhook = webhook.clone();
    let server = HttpServer::new(move || {
        // One middleware: handshake, authentication, parsing, deduplication, in that
        // order.
        App::new()
            .wrap(Webhook::new(app_webhook.clone()))
            .route("/api/events", web::post().to(receive))
    })
    .workers(2)
    // actix-web stops gracefully on SIGTERM, SIGINT and SIGQUIT: no new connections,
    // and the requests in flight get this long to finish.
    .shutdown_timeout(shared::GRACE.as_secs())
    .bind(&addr)?;
    for bound in server.addrs() {
        eprintln!("hookgate actix receiver listening on http://{bound}/api/events");
    }
    server.run().await?;
    shared::release_unfinished(&webhook).await;
    Ok(())
}
