//! TLS on the listen address and the limits of HTTP/2, which TLS brings (ALPN `h2`).
//!
//! `--tls-cert FILE --tls-key FILE` (a PEM chain, leaf first, and its PEM key) turn
//! TLS on for the listen address; the admin address (`--admin-bind`) stays plain
//! HTTP. The key file follows the secret-file rule (a regular file, not writable by
//! its group or others, at most 64 KiB); the pair is loaded and checked (the key must
//! be the certificate's) when the settings are, so `config check` finds a bad pair.
//! SIGHUP, and a change of either file's modification time, inode or size seen by
//! the poll (`--tls-poll`, symlinks followed), load the pair again; see
//! `listen/tls.rs`.
//!
//! | limit | what it bounds | default |
//! |---|---|---|
//! | `--h2-max-streams` | streams (requests) open at once on one HTTP/2 connection: with the body limit, what one connection may hold in memory | 32 |
//! | `--h2-max-header-list` | the size of a request's header list (HPACK-decoded, RFC 9113's `SETTINGS_MAX_HEADER_LIST_SIZE`) | 16k |
//! | `--h2-max-pending-resets` | streams a client opened and reset before they were answered, pending at once (hyper's `max_pending_accept_reset_streams`: the rapid-reset attack, CVE-2023-44487); past it, the connection is closed | 20 |
//! | `--h2-ping-interval` | how often an HTTP/2 connection with a request in progress is pinged; one whose client does not answer within `--h2-ping-timeout` is closed | 20s |
//! | `--h2-ping-timeout` | see above | 20s |
//!
//! The connection limits apply to HTTPS too: the TLS handshake and the first
//! request's head together within `--header-timeout`, and an HTTP/2 connection
//! with no request open for `--header-timeout` is closed (GOAWAY), as a kept-alive
//! HTTP/1.1 connection is.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::value::{Scalar, parse_count, parse_duration, parse_size, text};
use super::{ConfigProblem, Describe};

/// The TLS and HTTP/2 flags.
#[derive(clap::Args, Debug, Default, Clone)]
#[group(skip)]
pub(crate) struct Args {
    /// Serve HTTPS (TLS 1.2 and 1.3; HTTP/2 and HTTP/1.1) with this PEM certificate
    /// chain, leaf first; with --tls-key. Reloaded on SIGHUP and when it changes.
    #[arg(long, env = "HOOKGATE_TLS_CERT", value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1); a secret file:
    /// readable by its owner only.
    #[arg(long, env = "HOOKGATE_TLS_KEY", value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,

    /// How often the certificate and key files are checked for a change (their
    /// modification time, inode and size, symlinks followed); 0 turns the check
    /// off (SIGHUP still reloads) [default: 60s].
    #[arg(long, env = "HOOKGATE_TLS_POLL", value_name = "DURATION")]
    pub(crate) tls_poll: Option<String>,

    /// HTTP/2: the most requests open at once on one connection [default: 32].
    #[arg(long, env = "HOOKGATE_H2_MAX_STREAMS", value_name = "N")]
    pub(crate) h2_max_streams: Option<String>,

    /// HTTP/2: the largest header list of a request, decoded (`k` suffix)
    /// [default: 16k].
    #[arg(long, env = "HOOKGATE_H2_MAX_HEADER_LIST", value_name = "BYTES")]
    pub(crate) h2_max_header_list: Option<String>,

    /// HTTP/2: the most streams a client reset before their answer, pending at once;
    /// more close the connection (rapid reset) [default: 20].
    #[arg(long, env = "HOOKGATE_H2_MAX_PENDING_RESETS", value_name = "N")]
    pub(crate) h2_max_pending_resets: Option<String>,

    /// HTTP/2: how often a connection with a request in progress is pinged
    /// [default: 20s].
    #[arg(long, env = "HOOKGATE_H2_PING_INTERVAL", value_name = "DURATION")]
    pub(crate) h2_ping_interval: Option<String>,

    /// HTTP/2: how long a ping may go unanswered before the connection is closed
    /// [default: 20s].
    #[arg(long, env = "HOOKGATE_H2_PING_TIMEOUT", value_name = "DURATION")]
    pub(crate) h2_ping_timeout: Option<String>,
}

/// The TLS and HTTP/2 keys in the file.
#[derive(Deserialize, Debug, Default, Clone)]
pub(crate) struct File {
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_poll: Option<Scalar>,
    h2_max_streams: Option<Scalar>,
    h2_max_header_list: Option<Scalar>,
    h2_max_pending_resets: Option<Scalar>,
    h2_ping_interval: Option<Scalar>,
    h2_ping_timeout: Option<Scalar>,
}

impl File {
    /// Files the configuration file names are relative to it (`dir`).
    pub(crate) fn relative_to(&mut self, dir: &Path) {
        for named in [&mut self.tls_cert, &mut self.tls_key]
            .into_iter()
            .flatten()
        {
            if named.is_relative() {
                *named = dir.join(&*named);
            }
        }
    }
}

/// The certificate and key files, and how often they are checked.
#[derive(Clone, Debug)]
pub(crate) struct TlsFiles {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
    /// `None`: no polling (SIGHUP only).
    pub(crate) poll: Option<Duration>,
}

/// What an HTTP/2 connection may hold; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct H2Limits {
    pub(crate) max_streams: u32,
    pub(crate) max_header_list: u32,
    pub(crate) max_pending_resets: usize,
    pub(crate) ping_interval: Duration,
    pub(crate) ping_timeout: Duration,
}

/// The TLS settings, checked; the pair was loaded once.
#[derive(Clone, Debug)]
pub(crate) struct TlsSettings {
    pub(crate) files: Option<TlsFiles>,
    pub(crate) h2: H2Limits,
}

/// `warnings` gets what the secret-file rule warns about the key.
pub(crate) fn resolve(
    args: Args,
    file: File,
    warnings: &mut Vec<String>,
) -> Result<TlsSettings, ConfigProblem> {
    // `0` (or `off`) turns the poll off; any other duration must be one.
    let poll = match text(args.tls_poll, file.tls_poll) {
        Some(t) if matches!(t.trim(), "0" | "off") => Duration::ZERO,
        given => parse_duration("tls_poll", given, Duration::from_secs(60))?,
    };
    let files = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
    ) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigProblem::new(
                "tls_key",
                "is required with tls_cert: the certificate's private key",
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigProblem::new(
                "tls_cert",
                "is required with tls_key: the certificate chain of the key",
            ));
        }
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert,
            key,
            poll: (!poll.is_zero()).then_some(poll),
        }),
    };
    if let Some(files) = &files {
        let loaded =
            crate::listen::tls::load(files).map_err(|e| ConfigProblem::new(e.key, e.message))?;
        warnings.extend(loaded.warning);
    }
    let h2_max_streams = parse_count(
        "h2_max_streams",
        text(args.h2_max_streams, file.h2_max_streams),
        32,
        1..=1000,
    )?;
    let h2_max_header_list = parse_size(
        "h2_max_header_list",
        text(args.h2_max_header_list, file.h2_max_header_list),
        16 << 10,
    )?;
    if !(1 << 10..=1 << 20).contains(&h2_max_header_list) {
        return Err(ConfigProblem::new(
            "h2_max_header_list",
            "must be between 1k and 1M",
        ));
    }
    let h2_max_pending_resets = parse_count(
        "h2_max_pending_resets",
        text(args.h2_max_pending_resets, file.h2_max_pending_resets),
        20,
        1..=1000,
    )?;
    let ping = |key, flag, file| {
        let d = parse_duration(key, text(flag, file), Duration::from_secs(20))?;
        if d < Duration::from_secs(1) {
            return Err(ConfigProblem::new(key, "must be at least 1s"));
        }
        Ok(d)
    };
    let h2 = H2Limits {
        max_streams: u32::try_from(h2_max_streams).unwrap_or(32),
        max_header_list: u32::try_from(h2_max_header_list).unwrap_or(16 << 10),
        max_pending_resets: h2_max_pending_resets,
        ping_interval: ping(
            "h2_ping_interval",
            args.h2_ping_interval,
            file.h2_ping_interval,
        )?,
        ping_timeout: ping(
            "h2_ping_timeout",
            args.h2_ping_timeout,
            file.h2_ping_timeout,
        )?,
    };
    Ok(TlsSettings { files, h2 })
}

impl TlsSettings {
    pub(crate) fn describe(&self, line: Describe<'_>) {
        let Some(files) = &self.files else {
            line("tls", "off: plain HTTP/1.1".into());
            return;
        };
        line(
            "tls",
            format!(
                "TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1; certificate {}, key {}; reloaded on \
                 SIGHUP{}",
                files.cert.display(),
                files.key.display(),
                files
                    .poll
                    .map(|every| format!(" and checked for a change every {every:?}"))
                    .unwrap_or_default()
            ),
        );
        let h2 = &self.h2;
        line(
            "http2",
            format!(
                "at most {} streams a connection, header lists of {} bytes, {} pending \
                 resets; pinged every {:?}, closed after {:?} without an answer",
                h2.max_streams,
                h2.max_header_list,
                h2.max_pending_resets,
                h2.ping_interval,
                h2.ping_timeout
            ),
        );
    }
}

/// The TLS part of `hookgate config example`.
pub(crate) const EXAMPLE: &str = r#"# HTTPS on the listen address (TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1): a PEM
# chain (leaf first) and its key (readable by its owner only). Both are loaded
# again on SIGHUP and when either file changes (checked every tls_poll; 0 is off).
# tls_cert = "/etc/hookgate/tls/tls.crt"
# tls_key = "/etc/hookgate/tls/tls.key"
# tls_poll = "60s"

# HTTP/2: requests open at once on a connection, the largest header list, the
# client resets pending at once (rapid reset), and the keep-alive ping.
# h2_max_streams = 32
# h2_max_header_list = "16k"
# h2_max_pending_resets = 20
# h2_ping_interval = "20s"
# h2_ping_timeout = "20s"
"#;
