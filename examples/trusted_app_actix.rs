//! A Skype for Business Trusted Application API callback receiver on actix-web.
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
//! WEBHOOK_CODES=s3cret cargo run --example trusted_app_actix --features actix
//! ```
//!
//! `trusted_app_axum` is the same receiver on axum.

#[path = "trusted_app_shared/mod.rs"]
mod shared;

use actix_web::{App, HttpServer, web};
use hookgate::actix::{Auth, CallbackContext, Ucwa};
use shared::Counter;

async fn callback(
    counter: web::Data<Counter>,
    context: Option<CallbackContext>,
    Ucwa(envelope): Ucwa,
) -> CallbackContext {
    shared::print_callback(context.as_ref().map(|c| c.0.as_str()), &envelope);
    CallbackContext(counter.next().to_string())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let auth = shared::auth_policy();
    // One counter for the process, whatever the worker.
    let counter = web::Data::new(Counter::default());
    let server = HttpServer::new(move || {
        // The authentication middleware alone: the callbacks are not CloudEvents.
        App::new()
            .app_data(counter.clone())
            .wrap(Auth::new(auth.clone()))
            .route("/callback", web::post().to(callback))
    })
    .workers(2)
    .bind(shared::bind_addr())?;
    for bound in server.addrs() {
        eprintln!(
            "hookgate Trusted Application API receiver (actix) listening on http://{bound}/callback"
        );
    }
    // actix-web stops gracefully on SIGTERM, SIGINT and SIGQUIT.
    server.run().await?;
    eprintln!("stopped");
    Ok(())
}
