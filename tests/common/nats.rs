//! A real `nats-server -js` for tests: its own on a free loopback port, JetStream
//! with file storage in a temporary directory, stopped (and the directory removed)
//! when dropped; [`stop`](NatsServer::stop) kills it as a crash would and
//! [`start_again`](NatsServer::start_again) starts it on the same port and store.
//!
//! When `nats-server` is not on `PATH` (or in `/usr/sbin`, where Debian puts it), it
//! is installed once with `apt-get install -y nats-server` (after `apt-get update`
//! when that fails), serialized across test binaries by a file lock; if that fails
//! too, the test PANICS: a missing broker never lets a suite pass.
//!
//! Std only; include it with `#[path = ".../tests/common/nats.rs"] mod nats_server;`.

#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A `nats-server -js` of the test's own.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    dir: PathBuf,
    /// Its client port.
    pub port: u16,
    child: Option<Child>,
    /// More arguments (`--auth TOKEN`).
    extra: Vec<String>,
}

impl NatsServer {
    /// Starts one; returns once its port accepts connections.
    ///
    /// # Panics
    /// When `nats-server` cannot be found, installed or started.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`start`](Self::start) with more `nats-server` arguments (`--auth TOKEN`).
    ///
    /// # Panics
    /// When `nats-server` cannot be found, installed or started.
    pub fn start_with(extra: &[&str]) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("hookgate-nats-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            binary: nats_server_binary(),
            dir,
            port,
            child: None,
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.spawn();
        server
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL, as a crash would).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn start_again(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.binary.display()));
        self.child = Some(child);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `nats-server`, installed once when missing.
///
/// # Panics
/// When it cannot be found or installed.
pub fn nats_server_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(find_or_install) {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

fn find_or_install() -> Result<PathBuf, String> {
    if let Some(path) = find() {
        return Ok(path);
    }
    let lock_path = std::env::temp_dir().join("hookgate-nats-install.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if let Some(path) = find() {
        return Ok(path);
    }
    eprintln!("nats-server is not on PATH: installing nats-server");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let install = ["install", "-y", "-q", "nats-server"];
    if !apt(&install) {
        let _ = apt(&["update", "-q"]);
        let _ = apt(&install);
    }
    drop(lock);
    find().ok_or_else(|| {
        "NATS is needed by these tests: nats-server is not on PATH and `apt-get install -y \
         nats-server` did not provide it"
            .to_owned()
    })
}
