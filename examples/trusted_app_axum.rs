//! A Skype for Business Trusted Application API callback receiver on axum.
//!
//! Listens on `BIND_ADDR` (default `127.0.0.1:8080`) and serves `POST /callback`,
//! the application's callback URL. The service posts plain JSON (a UCWA event
//! envelope) with an Azure AD bearer token whose audience is the application's App
//! ID URI. Each callback accepted is printed to stdout as one JSON line
//! `{"callbackContext": <the query value or null>, "event": <the body>}` and
//! answered `200` with `{"CallbackContext": "<n>"}`, n counting the callbacks this
//! process accepted (1, 2, …): the service sends the next callbacks of that
//! conversation with `?callbackContext=<n>`.
//!
//! Authentication, required: `AAD_AUTHORITY` (the tenant id) with `AAD_AUDIENCES`
//! (the App ID URI) for the service's tokens, and/or `WEBHOOK_CODES` (comma list of
//! shared secrets in `?code=`) to try it by hand. A request without valid
//! credentials is answered 401, a malformed body 400, another content type 415,
//! each with an `application/problem+json` body.
//!
//! ```text
//! WEBHOOK_CODES=s3cret cargo run --example trusted_app_axum --features axum
//! ```
//!
//! `trusted_app_actix` is the same receiver on actix-web.

#[path = "trusted_app_shared/mod.rs"]
mod shared;
mod stop_signal;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use hookgate::tower::{AuthLayer, CallbackContext, Ucwa};
use shared::Counter;

async fn callback(
    State(counter): State<Arc<Counter>>,
    context: Option<CallbackContext>,
    Ucwa(envelope): Ucwa,
) -> CallbackContext {
    shared::print_callback(context.as_ref().map(|c| c.0.as_str()), &envelope);
    CallbackContext(counter.next().to_string())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let auth = shared::auth_policy();
    // The authentication layer alone: the callbacks are not CloudEvents.
    let app = Router::new()
        .route("/callback", post(callback))
        .with_state(Arc::new(Counter::default()))
        .layer(AuthLayer::new(auth));
    let listener = tokio::net::TcpListener::bind(shared::bind_addr()).await?;
    eprintln!(
        "hookgate Trusted Application API receiver (axum) listening on http://{}/callback",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal::stop_signal())
        .await?;
    eprintln!("stopped");
    Ok(())
}
