//! A real Redis for tests.
//!
//! [`RedisServer::start`] uses `REDIS_URL` when it is set (and not empty); else it
//! starts its own `redis-server` (the binary from `PATH`) on a free loopback port, in
//! a temporary directory, without persistence, and stops it when dropped.
//! [`RedisServer::start_own`] always starts its own, which a fault test can
//! [`stop`](RedisServer::stop) and [`start_again`](RedisServer::start_again) on the
//! same port.
//!
//! When `redis-server` is not on `PATH` (and `REDIS_URL` is unset), it is installed
//! once with `apt-get install -y redis-server` (after `apt-get update` when that
//! fails), serialized across test binaries by a file lock in the temp directory; if
//! that fails too, the test PANICS: a missing Redis never lets a suite pass.
//!
//! Several tests may share one server (`REDIS_URL`): give each its own key prefix
//! ([`unique_prefix`]).
//!
//! Self-contained (std only), so that any test crate can include it with
//! `#[path = ".../tests/common/redis.rs"] mod redis_server;`. Its calls block for a
//! moment (starting a server takes ~50 ms); call them from async tests freely.

#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a started server may take to answer `PING`.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// A Redis server for a test: `REDIS_URL`'s or one of its own.
#[derive(Debug)]
pub struct RedisServer {
    url: String,
    own: Option<Own>,
}

/// A `redis-server` this harness started.
#[derive(Debug)]
struct Own {
    binary: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    /// Every write in the append-only file, fsynced (`start_own_persistent`).
    persistent: bool,
}

impl RedisServer {
    /// `REDIS_URL` when it is set, else a `redis-server` of its own.
    ///
    /// # Panics
    /// When no server can be had (see the module docs).
    pub fn start() -> Self {
        match std::env::var("REDIS_URL") {
            Ok(url) if !url.trim().is_empty() => {
                let server = Self {
                    url: url.trim().to_owned(),
                    own: None,
                };
                if let Err(e) = server.try_cmd(&["PING"]) {
                    panic!("REDIS_URL={} does not answer PING: {e}", server.url);
                }
                server
            }
            _ => Self::start_own(),
        }
    }

    /// A `redis-server` of its own even when `REDIS_URL` is set (for a test that
    /// stops and restarts it).
    ///
    /// # Panics
    /// When `redis-server` cannot be found, installed or started.
    pub fn start_own() -> Self {
        Self::own(false)
    }

    /// [`start_own`](Self::start_own) with every write fsynced to an append-only
    /// file in its directory: after a [`stop`](Self::stop) (a kill),
    /// [`start_again`](Self::start_again) finds every acknowledged write.
    ///
    /// # Panics
    /// When `redis-server` cannot be found, installed or started.
    pub fn start_own_persistent() -> Self {
        Self::own(true)
    }

    fn own(persistent: bool) -> Self {
        let binary = redis_server_binary();
        let dir = temp_dir();
        let mut last = String::new();
        // A free port can be taken by someone else before the server binds it: retry.
        for _ in 0..5 {
            let port = free_port();
            let mut own = Own {
                binary: binary.clone(),
                dir: dir.clone(),
                port,
                child: None,
                persistent,
            };
            match own.spawn() {
                Ok(()) => {
                    return Self {
                        url: format!("redis://127.0.0.1:{port}/"),
                        own: Some(own),
                    };
                }
                Err(e) => last = e,
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("could not start {}: {last}", binary.display());
    }

    /// The URL to connect to, like `redis://127.0.0.1:PORT/` (owned, to move
    /// into a server task).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Whether this harness started the server (so it can stop it).
    pub fn is_own(&self) -> bool {
        self.own.is_some()
    }

    /// The port of a server of its own.
    pub fn port(&self) -> Option<u16> {
        self.own.as_ref().map(|o| o.port)
    }

    /// Stops the server (a kill, as a crash would): connections are cut, the data
    /// is lost (unless it is [persistent](Self::start_own_persistent)).
    ///
    /// # Panics
    /// On `REDIS_URL`'s server, which this harness does not own.
    pub fn stop(&mut self) {
        let own = self
            .own
            .as_mut()
            .expect("stop() needs a server of its own: use RedisServer::start_own()");
        own.kill();
    }

    /// Starts the stopped server again on the same port (empty, unless it is
    /// [persistent](Self::start_own_persistent)).
    ///
    /// # Panics
    /// On `REDIS_URL`'s server, or when it cannot be started.
    pub fn start_again(&mut self) {
        let own = self
            .own
            .as_mut()
            .expect("start_again() needs a server of its own: use RedisServer::start_own()");
        own.kill();
        // The port was just released; give a racing process's bind a chance to fail.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match own.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!(
                        "could not start redis-server again on port {}: {e}",
                        own.port
                    )
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Freezes the server (`SIGSTOP`): connections stay open but nothing is
    /// answered, as with a hung or overloaded Redis. [`thaw`](Self::thaw) resumes it.
    ///
    /// # Panics
    /// On `REDIS_URL`'s server, or when `kill` cannot be run.
    pub fn freeze(&mut self) {
        self.signal("-STOP");
    }

    /// Resumes a [frozen](Self::freeze) server (`SIGCONT`).
    ///
    /// # Panics
    /// On `REDIS_URL`'s server, or when `kill` cannot be run.
    pub fn thaw(&mut self) {
        self.signal("-CONT");
    }

    fn signal(&mut self, signal: &str) {
        let pid = self
            .own
            .as_ref()
            .and_then(|own| own.child.as_ref())
            .map(Child::id)
            .expect("freeze()/thaw() need a running server of its own: RedisServer::start_own()");
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill {signal} {pid}: {status}");
    }

    /// Whether the server answers `PING` now.
    pub fn is_up(&self) -> bool {
        self.try_cmd(&["PING"]).is_ok()
    }

    /// Sends one command and returns the reply (a tiny blocking client, for checks).
    ///
    /// # Panics
    /// When the server cannot be reached or answers with an error.
    pub fn cmd(&self, args: &[&str]) -> Reply {
        match self.try_cmd(args) {
            Ok(Reply::Error(e)) => panic!("redis {args:?}: {e}"),
            Ok(reply) => reply,
            Err(e) => panic!("redis {args:?}: {e}"),
        }
    }

    /// Sends one command; `Err` when the server cannot be reached.
    pub fn try_cmd(&self, args: &[&str]) -> Result<Reply, String> {
        let target = Target::parse(&self.url)?;
        let mut stream = connect(&target.addr)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
        let mut send = |args: &[&str]| -> Result<Reply, String> {
            stream.write_all(&encode(args)).map_err(|e| e.to_string())?;
            read_reply(&mut reader)
        };
        if let Some((user, password)) = &target.auth {
            let reply = match user {
                Some(user) => send(&["AUTH", user, password])?,
                None => send(&["AUTH", password])?,
            };
            if let Reply::Error(e) = reply {
                return Err(format!("AUTH: {e}"));
            }
        }
        if let Some(db) = &target.db
            && let Reply::Error(e) = send(&["SELECT", db])?
        {
            return Err(format!("SELECT: {e}"));
        }
        send(args)
    }

    /// The keys that start with `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let pattern = format!("{}*", glob_escape(prefix));
        match self.cmd(&["KEYS", &pattern]) {
            Reply::Array(items) => items.into_iter().filter_map(Reply::into_string).collect(),
            other => panic!("KEYS: unexpected reply {other:?}"),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(own) = &mut self.own {
            own.kill();
            let _ = std::fs::remove_dir_all(&own.dir);
        }
    }
}

impl Own {
    fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let log = self.dir.join("redis.log");
        let _ = std::fs::remove_file(&log);
        let mut child = Command::new(&self.binary)
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", ""])
            .args(if self.persistent {
                ["--appendonly", "yes", "--appendfsync", "always"]
            } else {
                ["--appendonly", "no", "--appendfsync", "everysec"]
            })
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "redis-server on port {port} exited ({status}): {}{}",
                    stderr.trim(),
                    last_lines(&log, 5)
                ));
            }
            if ping(&addr) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "redis-server on port {port} did not answer PING within {READY_WITHIN:?}{}",
                    last_lines(&std::fs::read_to_string(&log).unwrap_or_default(), 5)
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A reply of the tiny client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK` and the like.
    Status(String),
    /// `-ERR ...`.
    Error(String),
    /// `:1`.
    Int(i64),
    /// A bulk string (lossy UTF-8).
    Bulk(String),
    /// The null bulk string or array.
    Nil,
    /// `*N ...`.
    Array(Vec<Reply>),
}

impl Reply {
    /// The text of a status or bulk reply.
    pub fn into_string(self) -> Option<String> {
        match self {
            Reply::Status(s) | Reply::Bulk(s) => Some(s),
            _ => None,
        }
    }

    /// The number of an integer reply.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Int(n) => Some(*n),
            _ => None,
        }
    }
}

/// A key prefix no other test (or test binary) uses: `test:<label>:<pid>:<n>-<ns>:`.
pub fn unique_prefix(label: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "test:{label}:{}:{}-{nanos:09}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The `redis-server` binary: from `PATH`, or installed once.
///
/// # Panics
/// When it is not on `PATH` and cannot be installed.
pub fn redis_server_binary() -> PathBuf {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(find_or_install) {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

/// `redis-server` on `PATH` (or in the usual directories), without installing it.
pub fn find_redis_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

fn find_or_install() -> Result<PathBuf, String> {
    if let Some(path) = find_redis_server() {
        return Ok(path);
    }
    // Test binaries run in parallel: one installs, the others wait on the lock and
    // then find the binary.
    let lock_path = std::env::temp_dir().join("hookgate-redis-install.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    if let Some(path) = find_redis_server() {
        return Ok(path);
    }
    eprintln!("redis-server is not on PATH and REDIS_URL is not set: installing redis-server");
    let mut log = String::new();
    let install = ["install", "-y", "-q", "redis-server"];
    if !apt_get(&install, &mut log) {
        let _ = apt_get(&["update", "-q"], &mut log);
        let _ = apt_get(&install, &mut log);
    }
    drop(lock);
    find_redis_server().ok_or_else(|| {
        format!(
            "Redis is needed by these tests: redis-server is not on PATH, REDIS_URL is \
             not set, and `apt-get install -y redis-server` did not provide it. Install \
             redis-server or set REDIS_URL=redis://HOST:PORT/.\n{}",
            last_lines(&log, 20)
        )
    })
}

fn apt_get(args: &[&str], log: &mut String) -> bool {
    match Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => {
            log.push_str(&format!("$ apt-get {}\n", args.join(" ")));
            log.push_str(&String::from_utf8_lossy(&out.stdout));
            log.push_str(&String::from_utf8_lossy(&out.stderr));
            out.status.success()
        }
        Err(e) => {
            log.push_str(&format!("$ apt-get {}: {e}\n", args.join(" ")));
            false
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(n)..].join("\n");
    if tail.is_empty() {
        tail
    } else {
        format!("\n{tail}")
    }
}

fn temp_dir() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hookgate-redis-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

fn connect(addr: &str) -> Result<TcpStream, String> {
    use std::net::ToSocketAddrs as _;
    let addrs = addr.to_socket_addrs().map_err(|e| format!("{addr}: {e}"))?;
    let mut last = format!("{addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(2)) {
            Ok(stream) => {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
                return Ok(stream);
            }
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(last)
}

fn ping(addr: &SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(&encode(&["PING"])).is_err() {
        return false;
    }
    matches!(read_reply(&mut BufReader::new(stream)), Ok(Reply::Status(s)) if s == "PONG")
}

/// `redis://[user:password@]host[:port][/db]`, as far as the harness needs it.
struct Target {
    addr: String,
    auth: Option<(Option<String>, String)>,
    db: Option<String>,
}

impl Target {
    fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| format!("{url}: only redis:// URLs are supported here"))?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (auth, host) = match authority.rsplit_once('@') {
            Some((auth, host)) => {
                let auth = match auth.split_once(':') {
                    Some((user, password)) => (
                        (!user.is_empty()).then(|| user.to_owned()),
                        password.to_owned(),
                    ),
                    None => (None, auth.to_owned()),
                };
                (Some(auth), host)
            }
            None => (None, authority),
        };
        let addr = if host
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            host.to_owned()
        } else {
            format!("{host}:6379")
        };
        let db = path
            .split('?')
            .next()
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        Ok(Self { addr, auth, db })
    }
}

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn read_reply(reader: &mut impl BufRead) -> Result<Reply, String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).ok_or("connection closed")?;
    let number = || {
        rest.parse::<i64>()
            .map_err(|e| format!("bad reply {line:?}: {e}"))
    };
    Ok(match kind {
        "+" => Reply::Status(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(number()?),
        "$" => match usize::try_from(number()?) {
            Err(_) => Reply::Nil,
            Ok(len) => {
                let mut buf = vec![0; len + 2];
                reader.read_exact(&mut buf).map_err(|e| e.to_string())?;
                buf.truncate(len);
                Reply::Bulk(String::from_utf8_lossy(&buf).into_owned())
            }
        },
        "*" => match usize::try_from(number()?) {
            Err(_) => Reply::Nil,
            Ok(len) => Reply::Array(
                (0..len)
                    .map(|_| read_reply(reader))
                    .collect::<Result<_, _>>()?,
            ),
        },
        _ => return Err(format!("unexpected reply {line:?}")),
    })
}

fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
