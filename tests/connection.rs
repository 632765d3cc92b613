//! Issue 18, item 3, on REAL loopback servers (axum through `axum::serve`, actix-web
//! through `HttpServer`, both on `127.0.0.1:0`) with a raw `TcpStream` client: a
//! refusal before the body is read
//!
//! - (a) reaches a client still sending a 100 KB body whole (status line, headers,
//!   the whole problem+json body), with `Connection: close` since the body was not
//!   drained;
//! - (b) leaves a persistent connection usable when the body was drained: a 2 KB
//!   body refused 401, then a second request on the same connection is handled.
//!
//! Every loop is bounded in count and in time (socket timeouts).

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use hookgate::WebhookPolicy;
use hookgate::auth::{AuthPolicy, SharedSecrets};

const TIMEOUT: Duration = Duration::from_secs(10);

fn policy() -> WebhookPolicy {
    common::event_grid_webhook().auth(auth()).build().unwrap()
}

fn auth() -> AuthPolicy {
    AuthPolicy::builder()
        .shared_secrets(SharedSecrets::new(["s3cret"]).unwrap())
        .build()
        .unwrap()
}

/// Which stack the servers mount: the whole one, or the separate auth layer.
#[derive(Clone, Copy)]
enum Stack {
    Webhook,
    AuthOnly,
}

/// An axum server on a runtime of its own; lives until the test process ends.
fn axum_server(stack: Stack) -> SocketAddr {
    use axum::{Router, routing::post};
    use hookgate::tower::{AuthLayer, CloudEvents, WebhookLayer};

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = Router::new().route(
                "/api/events",
                post(|CloudEvents(events): CloudEvents| async move {
                    format!("{} events", events.len())
                }),
            );
            let app = match stack {
                Stack::Webhook => app.layer(WebhookLayer::new(policy())),
                Stack::AuthOnly => app.layer(AuthLayer::new(auth())),
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv_timeout(TIMEOUT).unwrap()
}

/// An actix-web server (one worker) on a system of its own.
fn actix_server(stack: Stack) -> (SocketAddr, actix_web::dev::ServerHandle) {
    use actix_web::middleware::Condition;
    use actix_web::{App, HttpServer, web};
    use hookgate::actix::{Auth, CloudEvents, Webhook};

    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let whole = matches!(stack, Stack::Webhook);
                App::new()
                    .wrap(Condition::new(whole, Webhook::new(policy())))
                    .wrap(Condition::new(!whole, Auth::new(auth())))
                    .route(
                        "/api/events",
                        web::post().to(|CloudEvents(events): CloudEvents| async move {
                            format!("{} events", events.len())
                        }),
                    )
            })
            .workers(1)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).unwrap();
            server.await.unwrap();
        });
    });
    rx.recv_timeout(TIMEOUT).unwrap()
}

/// A response as read off the wire.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn closes(&self) -> bool {
        self.header("connection")
            .iter()
            .any(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Reads one whole response (head, then a `Content-Length` body) from `stream`;
/// `Err` for any error of the socket before it is complete (a reset included).
fn read_response(stream: &mut TcpStream) -> std::io::Result<Response> {
    let deadline = Instant::now() + TIMEOUT;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        assert!(
            Instant::now() < deadline,
            "no response head within the time"
        );
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .expect("a Content-Length");
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        assert!(Instant::now() < deadline, "no whole body within the time");
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

fn head(query: &str, length: usize) -> String {
    format!(
        "POST /api/events{query} HTTP/1.1\r\nHost: localhost\r\nce-specversion: 1.0\r\n\
         ce-id: 1\r\nce-source: /s\r\nce-type: t\r\ncontent-type: text/plain\r\n\
         content-length: {length}\r\n\r\n"
    )
}

/// (a): a 100 KB body sent in 10 KB pieces, 5 ms apart, refused 401 (no secret)
/// while the client is still sending, read by the client as it sends.
fn refusal_reaches_a_client_still_sending(addr: SocketAddr) {
    const TOTAL: usize = 100 * 1000;
    let mut stream = connect(addr);
    stream.write_all(head("", TOTAL).as_bytes()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let sender = thread::spawn(move || {
        let piece = vec![b'x'; 10 * 1000];
        for _ in 0..TOTAL / piece.len() {
            // The server may close once it answered: the rest is not wanted.
            if writer.write_all(&piece).is_err() {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
        true
    });
    let response = read_response(&mut stream).expect("the whole answer, no reset before it");
    sender.join().unwrap();
    assert_eq!(response.status, 401, "{response:?}");
    assert_eq!(
        response.header("content-type"),
        ["application/problem+json"],
        "{response:?}"
    );
    let problem: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(problem["status"], 401, "{problem}");
    assert!(problem["detail"].is_string(), "{problem}");
    assert!(
        response.closes(),
        "not drained: the answer closes: {response:?}"
    );
}

/// (b): a 2 KB body sent a little after the head (so the server does not hold it
/// yet when it refuses), refused 401 and drained: the connection stays open and
/// the next request on it is handled.
fn drained_connection_stays_usable(addr: SocketAddr) {
    let mut stream = connect(addr);
    stream.write_all(head("", 2000).as_bytes()).unwrap();
    thread::sleep(Duration::from_millis(50));
    stream.write_all(&[b'x'; 2000]).unwrap();
    let refused = read_response(&mut stream).unwrap();
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(
        !refused.closes(),
        "drained: the connection stays: {refused:?}"
    );
    stream
        .write_all(format!("{}{}", head("?code=s3cret", 5), "hello").as_bytes())
        .unwrap();
    let handled = read_response(&mut stream).expect("the same connection, usable");
    assert_eq!(handled.status, 200, "{handled:?}");
    assert_eq!(handled.body, b"1 events");
}

#[test]
fn axum_refusal_reaches_a_client_still_sending() {
    refusal_reaches_a_client_still_sending(axum_server(Stack::Webhook));
}

#[test]
fn axum_drained_connection_stays_usable() {
    drained_connection_stays_usable(axum_server(Stack::Webhook));
}

#[test]
fn actix_refusal_reaches_a_client_still_sending() {
    let (addr, handle) = actix_server(Stack::Webhook);
    refusal_reaches_a_client_still_sending(addr);
    drop(handle.stop(false));
}

#[test]
fn actix_drained_connection_stays_usable() {
    let (addr, handle) = actix_server(Stack::Webhook);
    drained_connection_stays_usable(addr);
    drop(handle.stop(false));
}

/// The separate auth layer (`AuthLayer`, actix-web's `Auth`) refuses the same way.
#[test]
fn separate_auth_layer_drains_or_closes_on_both_frameworks() {
    refusal_reaches_a_client_still_sending(axum_server(Stack::AuthOnly));
    drained_connection_stays_usable(axum_server(Stack::AuthOnly));
    let (addr, handle) = actix_server(Stack::AuthOnly);
    refusal_reaches_a_client_still_sending(addr);
    drained_connection_stays_usable(addr);
    drop(handle.stop(false));
}
