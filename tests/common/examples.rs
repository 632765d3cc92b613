//! The example receivers as processes: the binaries `cargo test` built
//! (`target/<profile>/examples/`), started with a clean environment on an ephemeral
//! loopback port, and raw HTTP/1.1 to talk to them.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Every variable an example reads; [`command`] removes them all, so that a test
/// sets exactly what it means.
const VARIABLES: [&str; 10] = [
    "WEBHOOK_CODES",
    "WEBPUBSUB_KEYS",
    "WEBPUBSUB_HOST",
    "AAD_AUTHORITY",
    "AAD_AUDIENCES",
    "AAD_ROLES",
    "REDIS_URL",
    "ALLOWED_ORIGINS",
    "ALLOWED_RATE",
    "BIND_ADDR",
];

/// The example binary `name`, next to this test's directory.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps/<test>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the README's test command (`cargo test --workspace \
         --all-features`), which builds the examples",
        path.display()
    );
    path
}

/// The `hookgate` program (package `hookgate-cli`), next to the examples: the
/// README's test command, on the whole workspace, builds it.
pub fn hookgate_program() -> PathBuf {
    let path = example("axum_receiver")
        .parent()
        .and_then(|examples| examples.parent())
        .expect("target/<profile>/examples")
        .join("hookgate");
    assert!(
        path.exists(),
        "{} is missing: run the README's test command (`cargo test --workspace \
         --all-features`), which builds it",
        path.display()
    );
    path
}

/// A command for example `name` with a clean configuration, listening on an
/// ephemeral loopback port, its stdout and stderr piped.
pub fn command(name: &str) -> Command {
    let mut command = Command::new(example(name));
    for var in VARIABLES {
        command.env_remove(var);
    }
    command
        .env("BIND_ADDR", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Reads the started example's stderr up to its line `... http://<addr>/...` and
/// returns `<addr>`; panics when the example ends first.
pub fn listening_addr(name: &str, stderr: &mut BufReader<ChildStderr>) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let read = stderr.read_line(&mut line).unwrap();
        assert!(read > 0, "{name} ended before listening");
        if let Some(rest) = line.split("http://").nth(1) {
            return rest.split('/').next().unwrap().to_owned();
        }
    }
}

/// Waits for `child` to exit, at most `within`; kills it and panics otherwise.
pub fn exit_within(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the example did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one HTTP/1.1 request (which should say `Connection: close`) and returns the
/// status and the body.
pub fn http(addr: &str, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
