//! An Azure Event Grid receiver on actix-web, routing events by type.
//!
//! Listens on `BIND_ADDR` (default `127.0.0.1:8080`) and serves `POST /api/events`:
//! single events (`application/cloudevents+json`) and batches
//! (`application/cloudevents-batch+json`). An [`EventRouter`] sends
//! `com.example.order.created` and `com.example.order.shipped` to typed handlers
//! (data `{"orderId": string, "total": number}`, other members skipped); any other
//! type is acknowledged and logged on stderr. Each event handled is printed to
//! stdout as one JSON line
//! `{"handler": "created"|"shipped"|"unrouted", "deliveryCount": <aeg-delivery-count
//! or null>, "event": <the event in the CloudEvents JSON format>}`.
//!
//! The same router and behaviour as the `eventgrid_axum` example (the same
//! answers and the same stdout); configured by the same environment variables.
//!
//! ```text
//! cargo run --example eventgrid_actix --features actix,redis
//! ```

mod eventgrid_shared;
mod shared;

use actix_web::{App, HttpServer};
use hookgate::actix::eventgrid::Delivery;
use hookgate::actix::{EventRoutes, Webhook};
use hookgate::route::EventRouter;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let webhook = shared::webhook_policy().await;
    let router: EventRouter<Delivery> = eventgrid_shared::router();
    let app_webhook = webhook.clone();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Webhook::new(app_webhook.clone()))
            .service(EventRoutes::new(router.clone()).resource("/api/events"))
    })
    .workers(2)
    .shutdown_timeout(shared::GRACE.as_secs())
    .bind(&addr)?;
    for bound in server.addrs() {
        eprintln!(
            "hookgate Event Grid receiver (actix-web) listening on http://{bound}/api/events"
        );
    }
    server.run().await?;
    shared::release_unfinished(&webhook).await;
    Ok(())
}
