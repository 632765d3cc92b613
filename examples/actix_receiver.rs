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
//! ```text
//! cargo run --example actix_receiver
//! ```

mod shared;

use std::io::Write as _;

use actix_web::dev::Service as _;
use actix_web::middleware::Condition;
use actix_web::{App, HttpResponse, HttpServer, web};
use hookgate::Problem;
use hookgate::actix::{Auth, CloudEvents, Dedup, Handshake, ParseCloudEvents};

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
    let handshake = shared::handshake_policy();
    let auth = shared::auth_policy();
    let dedup = shared::dedup_policy().await;
    let server = HttpServer::new(move || {
        // No policy in the environment: the middleware is switched off (the
        // placeholder policy is never consulted).
        let enabled = auth.is_some();
        let policy_or_placeholder = auth.clone().unwrap_or_else(shared::placeholder_auth);
        // The last `wrap` runs first: warn, handshake, authentication, parsing,
        // deduplication, then the handler.
        App::new()
            .wrap(Dedup::new(dedup.clone()))
            .wrap(ParseCloudEvents::default())
            .wrap(Condition::new(enabled, Auth::new(policy_or_placeholder)))
            .wrap(Handshake::new(handshake.clone()))
            .wrap_fn(|req, service| {
                let response = service.call(req);
                async move {
                    let response = response.await?;
                    // hookgate's rejections carry the problem in the response
                    // extensions: one line on stderr for each.
                    if let Some(problem) = response.response().extensions().get::<Problem>() {
                        eprintln!(
                            "warning: rejected request: {} {}: {}",
                            problem.status(),
                            problem.title(),
                            problem.detail()
                        );
                    }
                    Ok(response)
                }
            })
            .route("/api/events", web::post().to(receive))
    })
    .workers(2)
    .bind(&addr)?;
    for bound in server.addrs() {
        eprintln!("hookgate actix receiver listening on http://{bound}/api/events");
    }
    server.run().await
}
