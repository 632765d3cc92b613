//! An Azure Event Grid receiver on axum, routing events by type.
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
//! Each event's deduplication claim is settled as its handler ends: a batch with a
//! failed event is answered with an error, Event Grid retries it, and only the
//! failed events run again. Deduplication is in memory, or on Redis with
//! `REDIS_URL`; the handshake, authentication (`WEBHOOK_CODES` for `?code=`, or
//! `AAD_AUTHORITY` and `AAD_AUDIENCES` for Azure AD) and origins are configured by
//! the environment as in the `axum_receiver` example.
//!
//! ```text
//! cargo run --example eventgrid_axum --features axum,redis
//! ```

mod eventgrid_shared;
mod shared;
mod stop_signal;

use axum::Router;
use axum::routing::post_service;
use hookgate::route::EventRouter;
use hookgate::tower::eventgrid::Delivery;
use hookgate::tower::{EventRoutes, WebhookLayer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("BIND_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let webhook = shared::webhook_policy().await;
    let router: EventRouter<Delivery> = eventgrid_shared::router();
    let app = Router::new()
        .route("/api/events", post_service(EventRoutes::new(router)))
        .layer(WebhookLayer::new(webhook.clone()));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "hookgate Event Grid receiver (axum) listening on http://{}/api/events",
        listener.local_addr()?
    );

    stop_signal::serve_with_grace(listener, app, shared::GRACE).await?;
    shared::release_unfinished(&webhook).await;
    Ok(())
}
