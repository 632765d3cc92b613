//! The real `hookgate` binary for tests: [`Hookgate::start`] runs `hookgate listen`
//! on an ephemeral loopback port with a clean environment, collects its stdout and
//! stderr, and kills it when dropped. Deliveries are built with the library's
//! encoders and sent with reqwest.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead as _, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hookgate::{CloudEvent, encode};

/// How long the binary may take to listen.
const START_WITHIN: Duration = Duration::from_secs(20);

/// A running `hookgate listen`.
#[derive(Debug)]
pub struct Hookgate {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `http://127.0.0.1:PORT` of the admin endpoints (the same unless `--admin-bind`).
    pub admin: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// `hookgate` with no `HOOKGATE_*` variable from the test's environment.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate"));
    for (name, _) in std::env::vars() {
        if name.starts_with("HOOKGATE_") {
            command.env_remove(name);
        }
    }
    command
}

fn collect(
    pipe: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = String::new();
        while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
            into.lock().unwrap().push_str(&line);
            line.clear();
        }
    })
}

/// The `http://ADDR` or `https://ADDR` after `marker` (`listening on `) in `text`,
/// if it is there.
fn address_after(text: &str, marker: &str) -> Option<String> {
    let at = text.find(marker)? + marker.len();
    let (scheme, rest) = text[at..].split_once("://")?;
    let end = rest.find(|c: char| c == '/' || c.is_whitespace())?;
    Some(format!("{scheme}://{}", &rest[..end]))
}

impl Hookgate {
    /// `hookgate listen --bind 127.0.0.1:0 ARGS` with the environment `env`.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = command();
        command
            .args(["listen", "--bind", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start hookgate");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        let deadline = Instant::now() + START_WITHIN;
        let admin_separate = args.contains(&"--admin-bind");
        loop {
            let log = stderr.lock().unwrap().clone();
            if let Some(base) = address_after(&log, "listening on ") {
                let admin = if admin_separate {
                    address_after(&log, "admin on ")
                } else {
                    Some(base.clone())
                };
                if let Some(admin) = admin {
                    return Self {
                        child,
                        base,
                        admin,
                        stdout,
                        stderr,
                        readers,
                    };
                }
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("hookgate exited with {status}: {}", stderr.lock().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "hookgate did not listen within {START_WITHIN:?}: {}",
                stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The events URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything logged on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The log once it holds every one of `needles` (the reader of the pipe may lag
    /// behind the answer; waits at most 10 s).
    pub fn stderr_wait(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.stderr();
            if needles.iter().all(|n| log.contains(n)) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The stdout lines, as JSON.
    pub fn stdout_events(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }

    /// The stdout lines as JSON, once there are at least `expected` of them (the
    /// reader of the pipe may lag behind the answer; waits at most 10 s).
    pub fn stdout_events_wait(&self, expected: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let events = self.stdout_events();
            if events.len() >= expected || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The sum of the `/metrics` series `selector` names (see [`sum_of`]), 0 when
    /// there is none.
    pub async fn metric(&self, selector: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.admin))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        sum_of(&text, selector)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends the signal `name` (`TERM`, `HUP`, `QUIT`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the exit, at most `within`.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the pipe readers reach the end (bounded).
                let until = Instant::now() + Duration::from_secs(5);
                while !self
                    .readers
                    .iter()
                    .all(std::thread::JoinHandle::is_finished)
                    && Instant::now() < until
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "hookgate did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Hookgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves `app` on a loopback port (for the test's life); its `http://ADDR`.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A fresh temporary directory for a test.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "hookgate-cli-{name}-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An event with data `{"n": n}`.
pub fn event(id: &str) -> CloudEvent {
    let data = hookgate::Data::json(format!("{{\"id\":\"{id}\"}}")).unwrap();
    CloudEvent::new(id, "/tests", "com.example.test")
        .with_data(data)
        .with_datacontenttype("application/json")
}

/// A client with a bound on every request.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// POSTs `event` in binary mode to `url`.
pub async fn send_binary(url: &str, event: &CloudEvent) -> reqwest::Response {
    send_binary_with(url, event, &[]).await
}

/// POSTs `event` in binary mode to `url`, with the `extra` headers.
pub async fn send_binary_with(
    url: &str,
    event: &CloudEvent,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let (headers, body) = encode::binary(event);
    let request = headers
        .into_iter()
        .fold(client().post(url), |r, (n, v)| r.header(n, v));
    extra
        .iter()
        .fold(request, |r, (n, v)| r.header(*n, *v))
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A sender's W3C trace context: its trace id, its span id, and the headers.
pub const SENDER_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
pub const SENDER_SPAN: &str = "b7ad6b7169203331";
pub const SENDER_TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
pub const SENDER_TRACESTATE: &str = "vendor=opaque";
/// The sender's `traceparent` and `tracestate` headers.
pub const SENDER_HEADERS: [(&str, &str); 2] = [
    ("traceparent", SENDER_TRACEPARENT),
    ("tracestate", SENDER_TRACESTATE),
];

/// The trace id, parent id and flags of a `traceparent` (version 00), checked.
pub fn traceparent(value: &str) -> (String, String, String) {
    let parts: Vec<&str> = value.split('-').collect();
    assert_eq!(parts.len(), 4, "{value}");
    assert_eq!(parts[0], "00", "{value}");
    let hex = |s: &str, len: usize| {
        assert!(
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{value}"
        );
        assert!(s.bytes().any(|b| b != b'0'), "an all-zero id: {value}");
        s.to_owned()
    };
    (hex(parts[1], 32), hex(parts[2], 16), parts[3].to_owned())
}

/// POSTs `event` in structured mode to `url`.
pub async fn send_structured(url: &str, event: &CloudEvent) -> reqwest::Response {
    let (content_type, body) = encode::structured(event);
    client()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// POSTs `events` as a batch to `url`.
pub async fn send_batch(url: &str, events: &[CloudEvent]) -> reqwest::Response {
    let (content_type, body) = encode::batch(events);
    client()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The lines of `path` (none when it does not exist).
pub fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The sum of the series of `/metrics` text that `selector` names: `name`, or
/// `name{label="value",...}` for those series that have at least these labels.
pub fn sum_of(text: &str, selector: &str) -> f64 {
    let (name, wanted) = split_series(selector);
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(series, value)| {
            let (n, labels) = split_series(series);
            (n == name && wanted.iter().all(|w| labels.contains(w)))
                .then(|| value.parse::<f64>().unwrap())
        })
        .sum()
}

/// `name{a="1",b="2"}` as `name` and its `a="1"` pairs.
fn split_series(series: &str) -> (&str, Vec<&str>) {
    match series.split_once('{') {
        Some((name, rest)) => (
            name,
            rest.trim_end_matches('}')
                .split(',')
                .filter(|l| !l.is_empty())
                .collect(),
        ),
        None => (series, Vec::new()),
    }
}
