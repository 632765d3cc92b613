//! The servers of the load benchmark (issue 8): one release binary, one variant per
//! process, driven by `crates/hookgate-bench/load/run.sh`.
//!
//! ```text
//! load_server <variant> <addr>     serve one variant on addr (127.0.0.1:0 = any port)
//! load_server --list               print the variant names, one a line
//! ```
//!
//! Once listening, the server prints `listening on <addr>` (the bound address) as
//! its first line on stdout, and serves until it is killed.
//!
//! Every variant serves:
//!
//! - `POST /api/events`: the handler, behind the variant's middleware. The
//!   CloudEvents handlers take the events with an extractor and add how many they
//!   saw to a process-wide counter; the bare handlers read the body bytes and add 1.
//! - `GET /count`: that counter, as decimal text. It is mounted outside the
//!   middleware (after the axum `.layer` calls, outside the actix scope), so
//!   authentication never rejects it and it costs the measured route nothing.
//!
//! The variants ([`VARIANTS`]):
//!
//! | variant | `POST /api/events` |
//! |---|---|
//! | `axum-bare` | axum, a handler that takes the body as `Bytes` |
//! | `axum-sdk` | axum, cloudevents-sdk 0.9's own axum extractor (`cloudevents::Event`) |
//! | `axum-extractor` | axum, hookgate's [`CloudEvents`](hookgate_tower::CloudEvents) extractor, no layer |
//! | `axum-parse` | `axum-extractor` + `ParseCloudEventsLayer` |
//! | `axum-handshake` | `axum-parse` + `HandshakeLayer` (outside it) |
//! | `axum-auth` | `axum-handshake` + `AuthLayer` (`?code=` [`CODE`], between the two) |
//! | `axum-full-manual` | `axum-auth` + `DedupLayer` (in-memory store, under the parse layer) |
//! | `axum-dedup` | `axum-parse` + `DedupLayer` alone (no handshake, no authentication) |
//! | `actix-bare` | actix-web, a handler that takes the body as `Bytes` |
//! | `actix-extractor` | actix-web, hookgate's [`CloudEvents`](hookgate_actix::CloudEvents) extractor, no middleware |
//! | `actix-full-manual` | actix-web, handshake, auth, parse and dedup `wrap`ped by hand |
//! | `axum-full` / `actix-full` | the one entry point (`WebhookLayer` / `Webhook`): handshake, `?code=`, parse, in-memory dedup |
//! | `axum-bare-redis` | `axum-bare` that also makes the two Redis round trips of a dedup claim and completion (`SET NX PX`, then `SET PX`) on a key from `ce-id`, through the client the Redis store uses |
//! | `axum-full-redis` | `axum-full` with its dedup on a [`RedisStore`](hookgate_redis::RedisStore) |
//!
//! The Redis variants connect to `HOOKGATE_LOAD_REDIS` (default
//! `redis://127.0.0.1:6379`) and use a prefix of their own per process.
//!
//! `axum-extractor` → `axum-parse` → `axum-handshake` → `axum-auth` →
//! `axum-full-manual` adds one layer at a time, in the documented order;
//! `axum-dedup` measures the dedup layer without authentication (its key is then not
//! scoped by a principal).
//!
//! Each server runs on one thread for its requests: axum on a tokio current-thread
//! runtime, actix-web with one worker (actix-server also keeps an accept thread and
//! the system thread, mostly idle). The script pins the whole process to one core.
//!
//! cloudevents-sdk's `axum` feature depends on axum with its default features, so
//! every axum variant here is built with them (`matched-path`, `original-uri`,
//! `tracing`, ...): the same for all axum variants, and what a user of the SDK's
//! extractor gets.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::HttpServiceFactory;
use axum::Router;
use axum::routing::{get, post};
use hookgate_core::auth::{AuthPolicy, SharedSecrets};
use hookgate_core::dedup::DedupPolicy;
use hookgate_core::handshake::HandshakePolicy;

/// The shared secret every authenticating variant accepts as `?code=`; `load/run.sh`
/// sends it on every request.
pub const CODE: &str = "hookgate-load-secret";

/// The variant names `--list` prints, in the order `load/run.sh` runs them.
pub const VARIANTS: &[&str] = &[
    "axum-bare",
    "axum-sdk",
    "axum-extractor",
    "axum-parse",
    "axum-handshake",
    "axum-auth",
    "axum-full-manual",
    "axum-dedup",
    "axum-full",
    "actix-bare",
    "actix-extractor",
    "actix-full-manual",
    "actix-full",
    "axum-bare-redis",
    "axum-full-redis",
];

/// Events (or, for the bare handlers, requests) the handler has seen.
static EVENTS: AtomicU64 = AtomicU64::new(0);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag] if flag == "--list" => {
            for name in VARIANTS {
                println!("{name}");
            }
        }
        [variant, addr] => {
            let addr: SocketAddr = addr
                .parse()
                .unwrap_or_else(|e| fail(&format!("{addr}: {e}")));
            if let Err(e) = serve(variant, addr) {
                fail(&format!("{variant} on {addr}: {e}"));
            }
        }
        _ => fail("usage: load_server <variant> <addr> | load_server --list"),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("load_server: {message}");
    std::process::exit(2)
}

/// Serves one variant until the process is killed.
fn serve(variant: &str, addr: SocketAddr) -> std::io::Result<()> {
    match variant {
        "axum-bare" => serve_axum(addr, Router::new().route("/api/events", post(axum_bare))),
        "axum-sdk" => serve_axum(addr, Router::new().route("/api/events", post(axum_sdk))),
        "axum-extractor" => serve_axum(addr, axum_events()),
        "axum-parse" => serve_axum(addr, axum_events().layer(parse_tower())),
        "axum-handshake" => serve_axum(
            addr,
            axum_events()
                .layer(parse_tower())
                .layer(hookgate_tower::HandshakeLayer::new(handshake())),
        ),
        "axum-auth" => serve_axum(
            addr,
            axum_events()
                .layer(parse_tower())
                .layer(hookgate_tower::AuthLayer::new(auth()))
                .layer(hookgate_tower::HandshakeLayer::new(handshake())),
        ),
        // `.layer` calls go innermost first: handshake, auth, parse, dedup, handler.
        "axum-full-manual" => serve_axum(
            addr,
            axum_events()
                .layer(hookgate_tower::DedupLayer::new(dedup()))
                .layer(parse_tower())
                .layer(hookgate_tower::AuthLayer::new(auth()))
                .layer(hookgate_tower::HandshakeLayer::new(handshake())),
        ),
        "axum-dedup" => serve_axum(
            addr,
            axum_events()
                .layer(hookgate_tower::DedupLayer::new(dedup()))
                .layer(parse_tower()),
        ),
        "actix-bare" => serve_actix(addr, actix_bare),
        "actix-extractor" => serve_actix(addr, actix_extractor),
        "actix-full-manual" => serve_actix(addr, actix_full_manual),
        // The one entry point: the same four parts in one layer / middleware.
        "axum-full" => serve_axum(
            addr,
            axum_events().layer(hookgate_tower::WebhookLayer::new(webhook())),
        ),
        "actix-full" => serve_actix(addr, actix_full),
        "axum-bare-redis" => serve_axum_with(addr, async {
            let conn = redis_connection().await?;
            Ok(Router::new()
                .route("/api/events", post(axum_bare_redis))
                .with_state(conn))
        }),
        "axum-full-redis" => serve_axum_with(addr, async {
            let store = hookgate_redis::RedisStore::builder(redis_url())
                .prefix(redis_prefix())
                .connect()
                .await
                .map_err(std::io::Error::other)?;
            let dedup = DedupPolicy::builder()
                .store(std::sync::Arc::new(store))
                .build()
                .map_err(std::io::Error::other)?;
            let policy = hookgate_core::WebhookPolicy::builder()
                .handshake(handshake())
                .auth(auth())
                .dedup(dedup)
                .build()
                .map_err(std::io::Error::other)?;
            Ok(axum_events().layer(hookgate_tower::WebhookLayer::new(policy)))
        }),
        other => Err(std::io::Error::other(format!(
            "unknown variant {other:?}; `load_server --list` names them"
        ))),
    }
}

// ---- the parts, built as a receiver builds them ---------------------------------

/// The handshake policy: the Azure Event Grid origins (the default of the examples);
/// the load is all POSTs, which the handshake passes on.
fn handshake() -> HandshakePolicy {
    HandshakePolicy::builder()
        .azure_event_grid()
        .build()
        .unwrap_or_else(|e| fail(&format!("handshake policy: {e}")))
}

/// `?code=` [`CODE`] (also `access_token` and `Authorization: Bearer`).
fn auth() -> AuthPolicy {
    SharedSecrets::new([CODE])
        .and_then(|secrets| AuthPolicy::builder().shared_secrets(secrets).build())
        .unwrap_or_else(|e| fail(&format!("auth policy: {e}")))
}

/// The default dedup policy: the in-memory store, bounded at its default size.
fn dedup() -> DedupPolicy {
    DedupPolicy::builder()
        .build()
        .unwrap_or_else(|e| fail(&format!("dedup policy: {e}")))
}

/// The whole receiver in one value: the same handshake, auth and dedup policies.
fn webhook() -> hookgate_core::WebhookPolicy {
    hookgate_core::WebhookPolicy::builder()
        .handshake(handshake())
        .auth(auth())
        .dedup(dedup())
        .build()
        .unwrap_or_else(|e| fail(&format!("webhook policy: {e}")))
}

fn parse_tower() -> hookgate_tower::ParseCloudEventsLayer {
    hookgate_tower::ParseCloudEventsLayer::default()
}

// ---- axum ------------------------------------------------------------------------

/// Serves `events` (the `POST /api/events` router with its layers) and `GET /count`
/// (added after the layers, so outside them) on a current-thread runtime.
fn serve_axum(addr: SocketAddr, events: Router) -> std::io::Result<()> {
    serve_axum_with(addr, async { Ok(events) })
}

/// [`serve_axum`] with a router made on the serving runtime (a Redis client's
/// connection task must run there).
fn serve_axum_with(
    addr: SocketAddr,
    events: impl Future<Output = std::io::Result<Router>>,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = events.await?.route("/count", get(axum_count));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        announce(listener.local_addr()?);
        let listener = listener.tap_io(|tcp| {
            // As actix-web does for every connection.
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await
    })
}

/// `POST /api/events` with hookgate's extractor, before any layer.
fn axum_events() -> Router {
    Router::new().route("/api/events", post(axum_hookgate))
}

async fn axum_bare(body: bytes::Bytes) -> http::StatusCode {
    std::hint::black_box(body);
    EVENTS.fetch_add(1, Ordering::Relaxed);
    http::StatusCode::OK
}

/// The Redis server of the Redis variants.
fn redis_url() -> String {
    std::env::var("HOOKGATE_LOAD_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix of this process's own, so that runs never see each other's keys.
fn redis_prefix() -> String {
    format!("hookgate-load:{}:", std::process::id())
}

/// The connection `axum-bare-redis` uses: a `ConnectionManager`, as the store's.
async fn redis_connection() -> std::io::Result<(redis::aio::ConnectionManager, String)> {
    let client = redis::Client::open(redis_url()).map_err(std::io::Error::other)?;
    let conn = redis::aio::ConnectionManager::new(client)
        .await
        .map_err(std::io::Error::other)?;
    Ok((conn, redis_prefix()))
}

/// The bare handler with a dedup's two round trips: claim (`SET NX PX`), complete
/// (`SET PX`), on the `ce-id` of the request.
async fn axum_bare_redis(
    axum::extract::State((mut conn, prefix)): axum::extract::State<(
        redis::aio::ConnectionManager,
        String,
    )>,
    headers: http::HeaderMap,
    body: bytes::Bytes,
) -> http::StatusCode {
    let id = headers
        .get("ce-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let key = format!("{prefix}{id}");
    let claimed: Result<Option<String>, _> = redis::cmd("SET")
        .arg(&key)
        .arg("claim")
        .arg("NX")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut conn)
        .await;
    if claimed.is_err() {
        return http::StatusCode::SERVICE_UNAVAILABLE;
    }
    std::hint::black_box(body);
    EVENTS.fetch_add(1, Ordering::Relaxed);
    let done: Result<(), _> = redis::cmd("SET")
        .arg(&key)
        .arg("done")
        .arg("PX")
        .arg(86_400_000)
        .query_async(&mut conn)
        .await;
    match done {
        Ok(()) => http::StatusCode::OK,
        Err(_) => http::StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn axum_sdk(event: cloudevents::Event) -> http::StatusCode {
    std::hint::black_box(event);
    EVENTS.fetch_add(1, Ordering::Relaxed);
    http::StatusCode::OK
}

async fn axum_hookgate(
    hookgate_tower::CloudEvents(events): hookgate_tower::CloudEvents,
) -> http::StatusCode {
    EVENTS.fetch_add(events.len() as u64, Ordering::Relaxed);
    std::hint::black_box(events);
    http::StatusCode::OK
}

async fn axum_count() -> String {
    EVENTS.load(Ordering::Relaxed).to_string()
}

// ---- actix-web -------------------------------------------------------------------

/// Serves the `/api` scope that `events` builds and `GET /count` (outside the
/// scope, so outside its middleware) with one worker.
fn serve_actix<F>(addr: SocketAddr, events: fn() -> F) -> std::io::Result<()>
where
    F: HttpServiceFactory + 'static,
{
    actix_web::rt::System::new().block_on(async move {
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .service(events())
                .route("/count", actix_web::web::get().to(actix_count))
        })
        .workers(1)
        .bind(addr)?;
        for bound in server.addrs() {
            announce(bound);
        }
        server.run().await
    })
}

fn actix_bare() -> impl HttpServiceFactory {
    actix_web::web::scope("/api").route("/events", actix_web::web::post().to(actix_bare_handler))
}

fn actix_extractor() -> impl HttpServiceFactory {
    actix_events()
}

/// The last `.wrap` runs first: handshake, auth, parse, dedup, handler.
fn actix_full_manual() -> impl HttpServiceFactory {
    actix_events()
        .wrap(hookgate_actix::Dedup::new(dedup()))
        .wrap(hookgate_actix::ParseCloudEvents::default())
        .wrap(hookgate_actix::Auth::new(auth()))
        .wrap(hookgate_actix::Handshake::new(handshake()))
}

/// The one entry point: handshake, auth, parse, dedup in one middleware.
fn actix_full() -> impl HttpServiceFactory {
    actix_events().wrap(hookgate_actix::Webhook::new(webhook()))
}

/// `POST /api/events` with hookgate's extractor, in an `/api` scope for the
/// middleware.
fn actix_events() -> actix_web::Scope {
    actix_web::web::scope("/api").route("/events", actix_web::web::post().to(actix_hookgate))
}

async fn actix_bare_handler(body: actix_web::web::Bytes) -> actix_web::HttpResponse {
    std::hint::black_box(body);
    EVENTS.fetch_add(1, Ordering::Relaxed);
    actix_web::HttpResponse::Ok().finish()
}

async fn actix_hookgate(
    hookgate_actix::CloudEvents(events): hookgate_actix::CloudEvents,
) -> actix_web::HttpResponse {
    EVENTS.fetch_add(events.len() as u64, Ordering::Relaxed);
    std::hint::black_box(events);
    actix_web::HttpResponse::Ok().finish()
}

async fn actix_count() -> String {
    EVENTS.load(Ordering::Relaxed).to_string()
}

/// The first line on stdout: the address the script connects to.
fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {addr}").and_then(|()| out.flush());
}
