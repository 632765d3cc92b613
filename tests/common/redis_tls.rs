//! A real `redis-server` serving TLS only, for tests of `rediss://`: a test CA and a
//! server certificate for 127.0.0.1 made with rcgen, the server on a free loopback
//! port, stopped (and its directory removed) when dropped. Needs `rcgen` as a
//! dev-dependency; include it, and the test CA it uses, at the test crate's root
//! with `#[path = ".../tests/common/redis_tls.rs"] mod redis_tls;` and
//! `#[path = ".../tests/common/test_ca.rs"] mod test_ca;`.

#![allow(dead_code, unreachable_pub)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::test_ca::TestCa;

/// A `redis-server` serving TLS only, stopped when dropped.
pub struct TlsRedis {
    child: Child,
    /// The TLS port.
    pub port: u16,
    dir: PathBuf,
    /// The test CA's certificate (PEM).
    pub ca_pem: String,
    /// The file holding it.
    pub ca_file: PathBuf,
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

impl TlsRedis {
    /// Starts the server; returns once its port accepts connections (bounded).
    pub fn start() -> Self {
        // The test CA, and a certificate for 127.0.0.1 that it signs.
        let ca = TestCa::new();
        let server = ca.issue(&["127.0.0.1"]);

        let dir = std::env::temp_dir().join(format!(
            "hookgate-redis-tls-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_pem = ca.pem.clone();
        let ca_file = write(&dir, "ca.crt", &ca_pem);
        let cert_file = write(&dir, "server.crt", &server.cert_pem);
        let key_file = write(&dir, "server.key", &server.key_pem);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--bind", "127.0.0.1"])
            .args(["--tls-port", &port.to_string()])
            .arg("--tls-cert-file")
            .arg(&cert_file)
            .arg("--tls-key-file")
            .arg(&key_file)
            .arg("--tls-ca-cert-file")
            .arg(&ca_file)
            .args([
                "--tls-auth-clients",
                "no",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (.ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server --tls-port did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            dir,
            ca_pem,
            ca_file,
        }
    }

    /// `scheme://127.0.0.1:port`.
    pub fn url(&self, scheme: &str) -> String {
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
}
