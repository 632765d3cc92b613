//! `hookgate listen`: the receiver.
//!
//! One axum router: for each route, `POST {path}` behind the library's
//! `WebhookLayer` built for its kind of sender (handshake, authentication, parsing,
//! deduplication in the route's namespace; its spans and metrics under the route's
//! name), the [`handler`] (the route's sink; [`trusted_app`] turns UCWA callbacks
//! into CloudEvents first), and
//! `GET /livez`, `GET /readyz` (alias `/healthz`) and `GET /metrics` outside the
//! layer (on `--admin-bind` when given).
//!
//! On SIGTERM, SIGINT or SIGQUIT it stops accepting connections, gives the
//! deliveries in flight `--shutdown-grace` to finish, then drops the rest (their
//! commands are killed, their requests cancelled) and releases their dedup claims,
//! so that the senders' retries are handled at once. SIGHUP loads the secret
//! files and the TLS pair again ([`reload`]). SIGKILL cannot be handled: the claims of the deliveries
//! in flight then stay until their lease ends (`--lease`), and the senders' retries
//! are answered 429 until then.

pub(crate) mod handler;
pub(crate) mod policy;
pub(crate) mod reload;
pub(crate) mod serve;
pub(crate) mod tls;
mod trusted_app;
mod watched;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::routing::{get, post};
use hookgate::dedup::{DedupPolicy, DedupStore};
use hookgate::redis::RedisStore;
use hookgate::tower::WebhookLayer;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

use crate::config::{RedisCa, RedisUrl, RouteSettings, SenderKind, Settings, SinkSettings};
use crate::sink::nats::NatsSink;
use crate::sink::redis_stream::RedisStreamSink;
use crate::sink::{PassedOn, Sink, exec::ExecSink, forward::ForwardSink, stdout::StdoutSink};
use handler::{Admin, Route};
use serve::Tls;
use tls::Certificates;

/// A failure after the configuration was accepted (exit code 1).
#[derive(Debug)]
pub(crate) struct RunError(pub(crate) String);

/// Runs the receiver until a stop signal.
pub(crate) async fn run(settings: Settings) -> Result<(), RunError> {
    // Before anything is announced: a signal sent once the start is logged is handled.
    let hangup = Arc::new(Notify::new());
    let stopped_by = stop_signal(Arc::clone(&hangup))?;
    let prometheus = crate::metrics::install().map_err(RunError)?;
    // The recorder's housekeeping (its histograms' buffers), bounded in time.
    let upkeep = prometheus.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let mut namespaces = Namespaces::default();
    let mut events = Router::new();
    let mut credentials = Vec::new();
    for route in &settings.routes {
        let dedup = match &route.dedup {
            Some(namespace) => Some(namespaces.policy(&settings, namespace).await?),
            None => None,
        };
        let webhook = policy::webhook(route, dedup).map_err(|e| RunError(e.to_string()))?;
        credentials.push((
            route.name.clone(),
            route.auth.clone(),
            webhook.auth().map(hookgate::auth::AuthPolicy::credentials),
        ));
        let sink = sink(&settings, route).await?;
        let handler = Arc::new(Route {
            name: route.name.as_str().into(),
            permits: sink
                .bounded()
                .then(|| Arc::new(Semaphore::new(route.max_concurrency))),
            sink,
            max_concurrency: route.max_concurrency,
            per_event: route.sink.per_event(),
            retry_after: settings.server.retry_after,
            passed: PassedOn::of(route),
        });
        route.auth.log_senders(&route.name);
        if !route.auth.any() {
            tracing::warn!(
                route = route.name,
                "no authentication configured on {}: every sender is accepted (set \
                 HOOKGATE_CODES, --code-file, HOOKGATE_WEBPUBSUB_KEYS, --webpubsub-key-file \
                 or --aad-authority, or their keys in its [[route]] table)",
                route.path
            );
        }
        let receive = match route.sender {
            SenderKind::TrustedApp => post(trusted_app::receive),
            _ => post(handler::receive),
        };
        tracing::info!(
            route = route.name,
            sender = %route.sender,
            sink = handler.sink.name(),
            dedup = route.dedup.as_ref().map(|ns| namespaces.describe(ns)),
            "POST {}",
            route.path
        );
        events = events.merge(
            Router::new()
                .route(&route.path, receive.fallback(handler::method_not_allowed))
                .with_state(handler)
                .layer(WebhookLayer::new(webhook)),
        );
    }
    let tls = match &settings.tls.files {
        Some(files) => {
            let certificates = Arc::new(Certificates::new(files).map_err(RunError)?);
            if let Some(every) = files.poll {
                tokio::spawn(Arc::clone(&certificates).poll(every));
            }
            Some(Arc::new(Tls {
                certificates,
                h2: settings.tls.h2,
            }))
        }
        None => None,
    };
    let reloader = Arc::new(reload::Reloader::new(
        credentials,
        tls.as_ref().map(|tls| Arc::clone(&tls.certificates)),
    ));
    tokio::spawn(async move {
        loop {
            hangup.notified().await;
            let reloader = Arc::clone(&reloader);
            let _ = tokio::task::spawn_blocking(move || reloader.reload("SIGHUP")).await;
        }
    });
    let admin = Arc::new(Admin {
        dedups: namespaces.policies(),
        prometheus,
        stopping: AtomicBool::new(false),
    });
    let admin_router = Router::new()
        .route("/livez", get(handler::livez))
        .route("/readyz", get(handler::readyz))
        .route("/healthz", get(handler::readyz))
        .route("/metrics", get(handler::metrics))
        .with_state(Arc::clone(&admin));

    let listener = bind(settings.server.bind, "bind").await?;
    let local = listener.local_addr().map_err(|e| RunError(e.to_string()))?;
    tracing::info!(
        routes = settings.routes.len(),
        dedup = if settings.dedup.redis.is_some() {
            "redis"
        } else {
            "memory"
        },
        "hookgate listening on {}://{local}{}",
        if tls.is_some() { "https" } else { "http" },
        match &settings.routes[..] {
            [one] => one.path.clone(),
            _ => String::new(),
        }
    );

    // The stop signal, for every waiter: the channel closes when the sender drops.
    let (stop, stopped) = watch::channel(());
    let wait = |mut stopped: watch::Receiver<()>| async move {
        let _ = stopped.changed().await;
    };

    let router = match settings.server.admin_bind {
        Some(addr) => {
            let admin_listener = bind(addr, "admin_bind").await?;
            let admin_local = admin_listener
                .local_addr()
                .map_err(|e| RunError(e.to_string()))?;
            tracing::info!("hookgate admin on http://{admin_local}/readyz, /livez and /metrics");
            tokio::spawn(serve::serve(
                admin_listener,
                admin_router,
                settings.server.connections,
                None,
                stopped.clone(),
            ));
            events
        }
        None => events.merge(admin_router),
    };
    let router = router.fallback(handler::not_found);

    let signal_admin = Arc::clone(&admin);
    tokio::spawn(async move {
        let signal = stopped_by.await;
        signal_admin.stopping.store(true, Ordering::Relaxed);
        tracing::info!(
            signal,
            "stopping: no new connections; finishing the deliveries in flight"
        );
        drop(stop);
    });
    let grace = settings.server.shutdown_grace;
    let serve = serve::serve(
        listener,
        router,
        settings.server.connections,
        tls,
        stopped.clone(),
    );
    tokio::select! {
        () = serve => {}
        () = async {
            wait(stopped).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("stopping: the grace period of {grace:?} is over; cancelling what is left"),
    }
    let mut released = 0;
    for dedup in &admin.dedups {
        released += dedup.shutdown().await;
    }
    tracing::info!(released, "stopped");
    Ok(())
}

/// The dedup policy of each namespace, made once: routes that share a namespace
/// share its claims. In memory, each namespace has a store of its own; on Redis,
/// a key prefix of its own (the default namespace keeps `hookgate:dedup:`).
#[derive(Default)]
struct Namespaces(Vec<(String, DedupPolicy)>);

impl Namespaces {
    async fn policy(&mut self, s: &Settings, namespace: &str) -> Result<DedupPolicy, RunError> {
        if let Some((_, policy)) = self.0.iter().find(|(ns, _)| ns == namespace) {
            return Ok(policy.clone());
        }
        let store = match &s.dedup.redis {
            Some(url) => Some(connect(url, s.dedup.redis_ca.as_ref(), &prefix(namespace)).await?),
            None => None,
        };
        let policy = policy::dedup(s, store).map_err(|e| RunError(e.to_string()))?;
        self.0.push((namespace.to_owned(), policy.clone()));
        Ok(policy)
    }

    /// The namespace, for the start-up log.
    fn describe(&self, namespace: &str) -> String {
        if namespace.is_empty() {
            "default namespace".to_owned()
        } else {
            format!("namespace {namespace}")
        }
    }

    fn policies(self) -> Vec<DedupPolicy> {
        self.0.into_iter().map(|(_, policy)| policy).collect()
    }
}

/// The Redis key prefix of a dedup namespace.
fn prefix(namespace: &str) -> String {
    if namespace.is_empty() {
        "hookgate:dedup:".to_owned()
    } else {
        format!("hookgate:dedup:{namespace}:")
    }
}

async fn sink(s: &Settings, route: &RouteSettings) -> Result<Box<dyn Sink>, RunError> {
    Ok(match &route.sink {
        SinkSettings::Stdout(stdout) => Box::new(
            StdoutSink::new(stdout.timeout)
                .map_err(|e| RunError(format!("cannot start the stdout writer: {e}")))?,
        ),
        SinkSettings::Exec(exec) => Box::new(ExecSink::new(
            exec.command.clone(),
            exec.timeout,
            route.body_limit,
            &exec.env,
        )),
        SinkSettings::Forward(forward) => Box::new(
            ForwardSink::new(
                forward.url.clone(),
                forward.mode,
                forward.timeout,
                route.body_limit,
            )
            .map_err(RunError)?,
        ),
        SinkSettings::Nats(nats) => Box::new(NatsSink::connect(nats).await.map_err(RunError)?),
        SinkSettings::RedisStream(stream) => Box::new(
            RedisStreamSink::connect(stream, s.dedup.remember)
                .await
                .map_err(RunError)?,
        ),
    })
}

async fn connect(
    url: &RedisUrl,
    ca: Option<&RedisCa>,
    prefix: &str,
) -> Result<Arc<dyn DedupStore>, RunError> {
    let mut store = RedisStore::builder(&url.0).prefix(prefix);
    if let Some(ca) = ca {
        store = store.ca_pem(ca.pem.clone());
    }
    match store.connect().await {
        Ok(store) => Ok(Arc::new(store)),
        Err(e) => {
            // The store's message may quote the URL: never its password.
            let mut message = e.to_string();
            if let Ok(parsed) = reqwest::Url::parse(&url.0)
                && let Some(password) = parsed.password()
                && !password.is_empty()
            {
                message = message.replace(password, "***");
            }
            Err(RunError(format!("cannot use Redis at {url}: {message}")))
        }
    }
}

async fn bind(addr: SocketAddr, key: &str) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| RunError(format!("cannot listen on {addr} (`{key}`): {e}")))
}

/// The stop signals, registered now (so that none arriving later kills the process):
/// the future resolves at the first SIGTERM, SIGINT or SIGQUIT with its name. Each
/// SIGHUP notifies `hangup` (the reload; one that comes before the reloader is
/// ready waits for it); without a handler it would kill the process with no grace.
/// Elsewhere than on Unix, Ctrl-C.
#[cfg(unix)]
fn stop_signal(hangup: Arc<Notify>) -> Result<impl Future<Output = &'static str>, RunError> {
    use tokio::signal::unix::{SignalKind, signal};
    let register = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| RunError(format!("cannot handle {name}: {e}")))
    };
    let mut terminate = register(SignalKind::terminate(), "SIGTERM")?;
    let mut interrupt = register(SignalKind::interrupt(), "SIGINT")?;
    let mut quit = register(SignalKind::quit(), "SIGQUIT")?;
    let mut hangup_signal = register(SignalKind::hangup(), "SIGHUP")?;
    Ok(async move {
        loop {
            tokio::select! {
                _ = terminate.recv() => return "SIGTERM",
                _ = interrupt.recv() => return "SIGINT",
                _ = quit.recv() => return "SIGQUIT",
                _ = hangup_signal.recv() => {
                    tracing::info!(signal = "SIGHUP", "loading the secret files and the TLS pair again");
                    hangup.notify_one();
                }
            }
        }
    })
}

/// Ctrl-C, elsewhere than on Unix.
#[cfg(not(unix))]
fn stop_signal(_hangup: Arc<Notify>) -> Result<impl Future<Output = &'static str>, RunError> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}
