//! End to end: both adapters behind real HTTP servers on loopback ports, spoken to
//! over raw TCP, including a chunked body with no `Content-Length` that grows past
//! the limit (only the streaming read can catch it).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use hookgate::ParseConfig;

fn config() -> ParseConfig {
    ParseConfig::builder()
        .body_limit(1024)
        .body_timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

async fn start_axum() -> SocketAddr {
    use axum::{Router, routing::post};
    use hookgate::tower::{CloudEvents, ParseCloudEventsLayer};
    let app =
        Router::new()
            .route(
                "/api/events",
                post(|CloudEvents(events): CloudEvents| async move {
                    format!("{} events", events.len())
                }),
            )
            .layer(ParseCloudEventsLayer::new(config()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn start_actix() -> SocketAddr {
    use actix_web::{App, HttpServer, web};
    use hookgate::actix::{CloudEvents, ParseCloudEvents};
    let server = HttpServer::new(|| {
        App::new().wrap(ParseCloudEvents::new(config())).route(
            "/api/events",
            web::post().to(|CloudEvents(events): CloudEvents| async move {
                format!("{} events", events.len())
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    addr
}

/// Sends raw request bytes and reads the whole response (the request says
/// `Connection: close`), within a time bound.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let work = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut response = Vec::new();
        // The server may answer before it has read everything and then close.
        let _ = stream.read_to_end(&mut response).await;
        String::from_utf8_lossy(&response).into_owned()
    };
    tokio::time::timeout(Duration::from_secs(10), work)
        .await
        .expect("server answered within 10 s")
}

fn binary_request(body_len: usize) -> Vec<u8> {
    let body = format!("\"{}\"", "x".repeat(body_len.saturating_sub(2)));
    format!(
        "POST /api/events HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\nce-specversion: 1.0\r\n\
         ce-id: 1\r\nce-source: /e2e\r\nce-type: t\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A chunked body of `chunks` chunks of 256 bytes, with no `Content-Length`.
fn chunked_request(chunks: usize) -> Vec<u8> {
    let mut request = b"POST /api/events HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\
        ce-specversion: 1.0\r\nce-id: 1\r\nce-source: /e2e\r\nce-type: t\r\n\
        content-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..chunks {
        request.extend_from_slice(b"100\r\n");
        request.extend_from_slice(&[b'a'; 256]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

fn status_of(response: &str) -> &str {
    response.split(' ').nth(1).unwrap_or("")
}

#[actix_web::test]
async fn real_servers_receive_and_bound_bodies() {
    let servers = [("axum", start_axum().await), ("actix", start_actix())];
    for (name, addr) in servers {
        let ok = exchange(addr, &binary_request(100)).await;
        assert_eq!(status_of(&ok), "200", "{name}: {ok}");
        assert!(ok.ends_with("1 events"), "{name}: {ok}");

        let declared_too_large = exchange(addr, &binary_request(2000)).await;
        assert_eq!(
            status_of(&declared_too_large),
            "413",
            "{name}: {declared_too_large}"
        );
        assert!(
            declared_too_large.contains("application/problem+json"),
            "{name}"
        );

        let small_chunked = exchange(addr, &chunked_request(2)).await;
        assert_eq!(status_of(&small_chunked), "200", "{name}: {small_chunked}");

        let streamed_too_large = exchange(addr, &chunked_request(8)).await;
        assert_eq!(
            status_of(&streamed_too_large),
            "413",
            "{name}: {streamed_too_large}"
        );
        assert!(
            streamed_too_large.contains("the body is larger than the limit of 1024 bytes"),
            "{name}: {streamed_too_large}"
        );
    }
}

/// A sender that declares a body and never finishes it holds its connection and
/// buffer only until the body timeout: 408 (which senders retry), on both frameworks.
#[actix_web::test]
async fn a_body_that_never_arrives_is_answered_408() {
    let servers = [("axum", start_axum().await), ("actix", start_actix())];
    for (name, addr) in servers {
        let mut request = binary_request(100);
        // Headers and 10 of the 100 declared body bytes; then silence.
        let head_end = request.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        request.truncate(head_end + 10);
        let work = async {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(&request).await.unwrap();
            let mut response = vec![0u8; 4096];
            let n = stream.read(&mut response).await.unwrap();
            String::from_utf8_lossy(&response[..n]).into_owned()
        };
        let response = tokio::time::timeout(Duration::from_secs(10), work)
            .await
            .expect("answered within 10 s");
        assert_eq!(status_of(&response), "408", "{name}: {response}");
        assert!(response.contains("body-timeout"), "{name}: {response}");
    }
}
