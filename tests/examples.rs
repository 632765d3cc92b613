//! The example receivers as a user runs them: the binaries `cargo test` built
//! (`target/<profile>/examples/`), started as processes with their environment.
//!
//! - A secret variable that is set but blank (`WEBHOOK_CODES=`, `WEBPUBSUB_KEYS=,`: a
//!   secret that was not injected) stops the start with a message naming it (exit
//!   code 2), instead of running without authentication.
//! - A receiver started with a shared secret answers a delivery with the secret 200
//!   (and prints the event), one without it 401, and stops on SIGTERM with exit code
//!   0 (a graceful shutdown); `hookgate send validate` (the program of
//!   `crates/hookgate-cli`) judges its validation handshake.

#![cfg(unix)]

mod common;

use common::examples::{command, exit_within, hookgate_program, http, listening_addr};
use std::io::{BufReader, Read as _};
use std::process::Command;
use std::time::Duration;

const EXAMPLES: [&str; 2] = ["axum_receiver", "actix_receiver"];

#[test]
fn a_blank_secret_variable_stops_the_start() {
    for name in EXAMPLES {
        for (var, value) in [
            ("WEBHOOK_CODES", ""),
            ("WEBHOOK_CODES", " , "),
            ("WEBPUBSUB_KEYS", ","),
        ] {
            let mut child = command(name).env(var, value).spawn().expect("spawn");
            let status = exit_within(&mut child, Duration::from_secs(20));
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            assert_eq!(status.code(), Some(2), "{name} {var}={value:?}: {stderr}");
            assert!(
                stderr.contains(var) && stderr.contains("lists nothing"),
                "{name} {var}={value:?}: {stderr}"
            );
        }
    }
}

fn delivery(addr: &str, query: &str) -> String {
    let event = r#"{"specversion":"1.0","id":"example-1","source":"/tests","type":"t"}"#;
    format!(
        "POST /api/events{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/cloudevents+json\r\nContent-Length: {}\r\n\r\n{event}",
        event.len()
    )
}

#[test]
fn a_receiver_serves_and_stops_gracefully_on_sigterm() {
    for name in EXAMPLES {
        let mut child = command(name)
            .env("WEBHOOK_CODES", "s3cret")
            .spawn()
            .expect("spawn");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let addr = listening_addr(name, &mut stderr);

        let (status, _) = http(&addr, &delivery(&addr, "?code=s3cret"));
        assert_eq!(status, 200, "{name}: with the secret");
        let (status, body) = http(&addr, &delivery(&addr, ""));
        assert_eq!(status, 401, "{name}: without the secret: {body}");

        // `hookgate send validate` plays the handshake: granted to Event Grid's
        // origin (the examples' default), refused to another.
        let url = format!("http://{addr}/api/events");
        let granted = Command::new(hookgate_program())
            .args(["send", "validate", &url])
            .output()
            .expect("hookgate send validate");
        let said = String::from_utf8_lossy(&granted.stdout);
        assert!(granted.status.success(), "{name}: {said}");
        assert!(
            said.contains("granted: eventgrid.azure.net"),
            "{name}: {said}"
        );
        let refused = Command::new(hookgate_program())
            .args(["send", "validate", "--origin", "elsewhere.example", &url])
            .output()
            .expect("hookgate send validate");
        let said = String::from_utf8_lossy(&refused.stdout);
        assert!(!refused.status.success(), "{name}: {said}");
        assert!(said.starts_with("403"), "{name}: {said}");

        let killed = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = exit_within(&mut child, Duration::from_secs(20));
        assert!(status.success(), "{name}: SIGTERM gave {status}");
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        assert!(rest.contains("stopped"), "{name}: {rest}");
        let mut stdout = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        assert_eq!(
            stdout.lines().filter(|l| l.contains("example-1")).count(),
            1,
            "{name}: the event printed once: {stdout}"
        );
    }
}
