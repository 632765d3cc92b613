//! Issue 19, item 6: a stdout nobody reads stalls nothing else. The real binary
//! with its stdout a pipe that is never read: deliveries fill the pipe, the next
//! one is answered 503 within the stdout timeout (`--stdout-timeout 2s`; its claims released), `/healthz`
//! still answers at once meanwhile, and SIGTERM still stops the program in time.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{command, event, send_batch};

#[tokio::test]
async fn a_stdout_nobody_reads_fails_deliveries_in_time_and_stalls_nothing_else() {
    let mut child = command()
        .args(["listen", "--bind", "127.0.0.1:0", "--stdout-timeout", "2s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hookgate");
    // Held, never read: the pipe fills (64 KiB on Linux) and the writer blocks.
    let _unread = child.stdout.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().unwrap();
    let into = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            into.lock().unwrap().push_str(&line);
            into.lock().unwrap().push('\n');
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let base = loop {
        let text = log.lock().unwrap().clone();
        if let Some(at) = text.find("listening on http://") {
            let rest = &text[at + "listening on ".len()..];
            break rest[..rest.find(|c: char| c.is_whitespace()).unwrap()]
                .trim_end_matches('/')
                .to_owned();
        }
        assert!(Instant::now() < deadline, "no listen line: {text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let base = base.split("/api").next().unwrap().to_owned();
    let url = format!("{base}/api/events");

    // Batches of 16 events of 1 KiB each (about 17 KB a delivery): the pipe is
    // full after a handful; at most 40 are sent.
    let padding = "x".repeat(1024);
    let mut refused = None;
    for n in 0..40 {
        let events: Vec<_> = (0..16)
            .map(|i| {
                event(&format!("{n}-{i}"))
                    .with_data(hookgate::Data::json(format!("{{\"pad\":\"{padding}\"}}")).unwrap())
            })
            .collect();
        let started = Instant::now();
        let answer = send_batch(&url, &events).await;
        if answer.status() == 503 {
            refused = Some((n, started.elapsed(), answer.text().await.unwrap(), events));
            break;
        }
        assert_eq!(answer.status(), 200, "delivery {n}");
    }
    let (n, took, body, events) = refused.expect("no delivery was refused with stdout stalled");
    assert!(n > 0, "the first delivery was refused: {body}");
    assert!(
        took >= Duration::from_millis(1500),
        "refused after {took:?}"
    );
    assert!(
        took < Duration::from_secs(10),
        "refused only after {took:?}"
    );
    assert!(body.contains("stdout"), "{body}");

    // The writer is still blocked: the runtime is not.
    let started = Instant::now();
    let health = common::client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2));

    // The refused delivery's claims were released: its retry is handled again (and
    // refused again, the pipe still full), not answered 429 "in flight".
    let retry = send_batch(&url, &events).await;
    assert_eq!(retry.status(), 503);

    // SIGTERM stops it within the grace period (10 s by default).
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "hookgate did not stop: {}",
            log.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}: {}", log.lock().unwrap());
}
