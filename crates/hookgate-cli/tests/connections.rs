//! Issue 19, item 1: slow clients cannot hold `hookgate listen`. The real binary on
//! a loopback port: connections that send nothing or half a head are closed after
//! `--header-timeout` while a normal delivery is answered at once; beyond
//! `--max-connections` a connection waits in the backlog until a place frees; a
//! request whose body never ends is answered 408 at `--request-timeout`. Every loop
//! is bounded in count and in time.

#![cfg(unix)]

mod common;

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Hookgate, event, send_binary};

/// `host:port` of a `http://host:port` base.
fn addr(hg: &Hookgate) -> String {
    hg.base.trim_start_matches("http://").to_owned()
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let deadline = Instant::now() + within;
    let mut buf = [0; 512];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 or any answer, then the close: read on.
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_headers_are_closed_in_time_while_a_delivery_is_answered_at_once() {
    let hg = Hookgate::start(&["--header-timeout", "3s"], &[]);
    let addr = addr(&hg);
    // 300 connections: half send nothing, half half a head.
    let mut slow: Vec<TcpStream> = (0..300)
        .map(|i| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            if i % 2 == 1 {
                stream
                    .write_all(b"POST /api/events HTTP/1.1\r\nHost: x\r\nce-id: 1\r\n")
                    .unwrap();
            }
            stream
        })
        .collect();
    let started = Instant::now();
    let answer = send_binary(&hg.url("/api/events"), &event("fast")).await;
    assert_eq!(answer.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "a delivery waited {:?} behind slow connections",
        started.elapsed()
    );
    let started = Instant::now();
    let mut open = 0;
    for stream in &mut slow {
        let left = Duration::from_secs(12).saturating_sub(started.elapsed());
        if !closed_within(stream, left) {
            open += 1;
        }
    }
    assert_eq!(
        open,
        0,
        "{open} slow connections still open after {:?}",
        started.elapsed()
    );
    assert!(hg.stdout().contains("fast"));
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_max_connections_a_connection_waits_for_a_place() {
    let hg = Hookgate::start(&["--max-connections", "2", "--header-timeout", "1s"], &[]);
    let addr = addr(&hg);
    // Two places taken by connections that send nothing: closed after 1 s.
    let _holders: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let answer = send_binary(&hg.url("/api/events"), &event("third")).await;
    let waited = started.elapsed();
    assert_eq!(answer.status(), 200);
    assert!(
        waited >= Duration::from_millis(700),
        "answered after {waited:?}: not capped"
    );
    assert!(
        waited < Duration::from_secs(5),
        "answered only after {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_never_ends_is_answered_408_at_the_request_timeout() {
    let hg = Hookgate::start(&["--request-timeout", "2s"], &[]);
    let mut stream = TcpStream::connect(addr(&hg)).unwrap();
    stream
        .write_all(
            b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/cloudevents+json\r\n\
              Content-Length: 1000\r\n\r\n{\"specversion\":",
        )
        .unwrap();
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).expect("no answer within 10 s");
        assert!(n > 0, "closed without an answer");
        answer.extend_from_slice(&buf[..n]);
    }
    let took = started.elapsed();
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    assert!(head.contains("application/problem+json"), "{head}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(8),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_its_answers_is_closed_at_the_idle_timeout() {
    let hg = Hookgate::start(&["--idle-timeout", "1s"], &[]);
    // A reader that takes little: a 4 KiB receive buffer, never read.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let to: std::net::SocketAddr = addr(&hg).parse().unwrap();
    socket.connect(&to.into()).unwrap();
    let mut stream: TcpStream = socket.into();
    // Pipelined requests whose answers (about 100 bytes each) are never read: once the
    // socket buffers are full, the server's writes wait, and the idle timeout ends it.
    let mut writer = stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let sent = std::thread::spawn(move || {
        let request = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
        // At most 3,000,000 requests (99 MB): more than the loopback socket buffers can
        // hold on any machine (Linux autotunes a receive buffer up to tcp_rmem's maximum,
        // 32 MiB on some), so only the server's close or the write timeout stops it.
        for batch in 0..3000 {
            if let Err(e) = writer.write_all(&request) {
                return (batch, Some(e.kind()));
            }
        }
        (3000, None)
    });
    let (batches, stopped_by) = tokio::task::spawn_blocking(move || sent.join().unwrap())
        .await
        .unwrap();
    assert!(
        batches < 3000,
        "the server took every request without being read"
    );
    assert!(
        !matches!(
            stopped_by,
            Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        ),
        "the writer stopped at its own timeout, not at the server's close"
    );
    // The server closed the connection: what is left to read ends.
    assert!(closed_within(&mut stream, Duration::from_secs(10)));
    // Others are served meanwhile.
    let answer = send_binary(&hg.url("/api/events"), &event("others")).await;
    assert_eq!(answer.status(), 200);
}

#[test]
fn connection_settings_are_checked() {
    let out = common::command()
        .args([
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--max-connections",
            "999999",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("max_connections") && err.contains("RLIMIT_NOFILE"),
        "{err}"
    );
    let out = common::command()
        .args([
            "listen",
            "--bind",
            "127.0.0.1:0",
            "--exec",
            "cat",
            "--request-timeout",
            "10s",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("request_timeout") && err.contains("exec_timeout"),
        "{err}"
    );
}
