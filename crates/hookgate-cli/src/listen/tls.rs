//! The listen address's certificate: loaded from `--tls-cert` and `--tls-key`,
//! and loaded again on SIGHUP and when the poll sees either file change.
//!
//! rustls on the `ring` provider (the one reqwest brings), TLS 1.2 and 1.3 only,
//! ALPN `h2` then `http/1.1`. Each new connection takes the pair in place when it
//! is accepted; a connection keeps the pair it was accepted with, so a rotation
//! drops none. A pair that fails to load (a file half written, a key that is not
//! the certificate's) leaves the one in place, and the log says why.
//!
//! The poll compares each file's modification time, inode and size, after
//! following symlinks: cert-manager and Kubernetes replace a secret by pointing the
//! volume's `..data` symlink at a new directory, which leaves the path's own
//! metadata (and an inotify watch on it) unchanged, but not the target's.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ServerConfig, crypto, version};

use crate::config::TlsFiles;
use crate::config::secret_file;

/// The largest certificate chain file read (1 MiB: a chain is a few kB).
const CHAIN_LIMIT: u64 = 1 << 20;

/// Why a pair did not load: the setting to blame and what is wrong (never the key).
#[derive(Debug)]
pub(crate) struct LoadError {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

impl LoadError {
    fn cert(message: String) -> Self {
        Self {
            key: "tls_cert",
            message,
        }
    }

    fn key(message: String) -> Self {
        Self {
            key: "tls_key",
            message,
        }
    }
}

/// A pair loaded: the server configuration, how many certificates the chain has,
/// and what the secret-file rule warns about the key.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) config: ServerConfig,
    pub(crate) chain: usize,
    pub(crate) warning: Option<String>,
}

/// Loads and checks the pair of `files`.
pub(crate) fn load(files: &TlsFiles) -> Result<Loaded, LoadError> {
    let chain_pem = read_chain(&files.cert).map_err(LoadError::cert)?;
    let chain = CertificateDer::pem_slice_iter(&chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LoadError::cert(format!("{}: {e}", files.cert.display())))?;
    if chain.is_empty() {
        return Err(LoadError::cert(format!(
            "{} holds no PEM certificate",
            files.cert.display()
        )));
    }
    let key_file = secret_file::read(&files.key).map_err(LoadError::key)?;
    let key = PrivateKeyDer::from_pem_slice(key_file.text.as_bytes()).map_err(|_| {
        LoadError::key(format!(
            "{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        ))
    })?;
    let count = chain.len();
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_protocol_versions(&[&version::TLS13, &version::TLS12])
            .map_err(|e| LoadError::cert(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                LoadError::key(format!(
                    "{} and {} are not a usable pair: {e}",
                    files.cert.display(),
                    files.key.display()
                ))
            })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Loaded {
        config,
        chain: count,
        warning: key_file.warning,
    })
}

/// The chain file: a regular file (symlinks followed), at most [`CHAIN_LIMIT`].
fn read_chain(path: &Path) -> Result<Vec<u8>, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file (after following symlinks)"
        ));
    }
    let mut pem = Vec::new();
    file.take(CHAIN_LIMIT + 1)
        .read_to_end(&mut pem)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if pem.len() as u64 > CHAIN_LIMIT {
        return Err(format!("{shown} is larger than 1 MiB"));
    }
    Ok(pem)
}

/// What the poll compares of a file, symlinks followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    inode: u64,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: meta.modified().ok(),
        inode,
        len: meta.len(),
    })
}

/// The pair in place, for every new connection; reloaded by [`reload`](Self::reload).
#[derive(Debug)]
pub(crate) struct Certificates {
    files: TlsFiles,
    current: ArcSwap<ServerConfig>,
    /// The files' stamps when they were last loaded (or tried).
    stamps: Mutex<[Option<Stamp>; 2]>,
}

impl Certificates {
    /// Loads the pair (already checked with the settings: loaded again here, so
    /// that what is served is what the files hold now).
    pub(crate) fn new(files: &TlsFiles) -> Result<Self, String> {
        let stamps = [stamp(&files.cert), stamp(&files.key)];
        let loaded = load(files).map_err(|e| e.message)?;
        crate::metrics::reloaded("tls", true);
        Ok(Self {
            files: files.clone(),
            current: ArcSwap::from_pointee(loaded.config),
            stamps: Mutex::new(stamps),
        })
    }

    /// The acceptor of the pair in place.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.current.load_full())
    }

    /// Loads the pair again (`why`: `SIGHUP`, `changed`); a pair that fails keeps
    /// the one in place. Logs either way.
    pub(crate) fn reload(&self, why: &'static str) {
        let stamps = [stamp(&self.files.cert), stamp(&self.files.key)];
        *self.stamps.lock().unwrap_or_else(|e| e.into_inner()) = stamps;
        match load(&self.files) {
            Ok(loaded) => {
                self.current.store(Arc::new(loaded.config));
                crate::metrics::reloaded("tls", true);
                if let Some(warning) = loaded.warning {
                    tracing::warn!("{warning}");
                }
                tracing::info!(
                    reason = why,
                    certificates = loaded.chain,
                    cert = %self.files.cert.display(),
                    "TLS certificate loaded: new connections use it"
                );
            }
            Err(e) => {
                crate::metrics::reloaded("tls", false);
                tracing::warn!(
                    reason = why,
                    "TLS certificate not reloaded, the previous one stays in use: {}",
                    e.message
                );
            }
        }
    }

    /// Whether either file changed since it was last loaded.
    fn changed(&self) -> bool {
        let now = [stamp(&self.files.cert), stamp(&self.files.key)];
        *self.stamps.lock().unwrap_or_else(|e| e.into_inner()) != now
    }

    /// Checks the files every `every`, and reloads when one changed; forever.
    pub(crate) async fn poll(self: Arc<Self>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            // Stat calls on the blocking pool: a slow volume must not hold a worker.
            let this = Arc::clone(&self);
            let changed = tokio::task::spawn_blocking(move || this.changed())
                .await
                .unwrap_or(false);
            if changed {
                let this = Arc::clone(&self);
                let _ = tokio::task::spawn_blocking(move || this.reload("changed")).await;
            }
        }
    }
}
