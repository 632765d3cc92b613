//! The stop signal of the axum examples, and serving until it with a grace period
//! (actix-web's server handles SIGINT and SIGTERM itself).

/// Resolves when the process is asked to stop: SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub(crate) async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// Serves `app` until the stop signal, then gives the requests in flight `grace` to
/// finish before it returns (the caller then releases the dedup claims of what
/// did not finish). Used by the examples that deduplicate; the others only need
/// [`stop_signal`].
#[allow(dead_code)]
pub(crate) async fn serve_with_grace(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    grace: std::time::Duration,
) -> std::io::Result<()> {
    use tokio::sync::watch;
    // The stop signal, for two waiters: the server and the grace period. The channel
    // closes (`changed` returns) when the signal task drops its sender.
    let (stop, stopped) = watch::channel(());
    tokio::spawn(async move {
        stop_signal().await;
        eprintln!("stopping: finishing the requests in flight");
        drop(stop);
    });
    let wait = |mut stopped: watch::Receiver<()>| async move {
        let _ = stopped.changed().await;
    };
    let serve = axum::serve(listener, app).with_graceful_shutdown(wait(stopped.clone()));
    tokio::select! {
        result = serve => result?,
        () = async {
            wait(stopped).await;
            tokio::time::sleep(grace).await;
        } => eprintln!("stopping: grace period over"),
    }
    Ok(())
}
