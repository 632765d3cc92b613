//! `hookgate listen --tls-cert --tls-key`: HTTPS over HTTP/1.1 and HTTP/2 with a
//! test CA made here, plain HTTP on the TLS port refused, and the certificate
//! rotated by SIGHUP and by a Kubernetes-style symlink swap, a broken pair kept out.

mod common;
#[path = "../../../tests/common/test_ca.rs"]
mod test_ca;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Hookgate, event, temp_dir};
use hookgate::encode;
use test_ca::{Issued, TestCa};

/// Writes a pair into `dir` (the key readable by its owner only); the two paths.
fn write_pair(dir: &Path, pair: &Issued) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    std::fs::write(&cert, &pair.cert_pem).unwrap();
    std::fs::write(&key, &pair.key_pem).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}

/// An HTTPS client that trusts only `ca`, opens a new connection per request
/// unless `pooled`, and speaks HTTP/1.1 only when `http1`.
fn client(ca: &TestCa, http1: bool, pooled: bool) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap());
    if http1 {
        builder = builder.http1_only();
    }
    if !pooled {
        builder = builder.pool_max_idle_per_host(0);
    }
    builder.build().unwrap()
}

/// POSTs `event(id)` in binary mode.
async fn deliver(
    client: &reqwest::Client,
    hg: &Hookgate,
    id: &str,
) -> reqwest::Result<reqwest::Response> {
    let (headers, body) = encode::binary(&event(id));
    headers
        .into_iter()
        .fold(client.post(hg.url("/api/events")), |r, (n, v)| {
            r.header(n, v)
        })
        .body(body)
        .send()
        .await
}

fn start(cert: &Path, key: &Path, more: &[&str]) -> Hookgate {
    let mut args = vec![
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    Hookgate::start(&args, &[])
}

#[tokio::test(flavor = "multi_thread")]
async fn https_over_http1_and_http2_and_plain_http_refused() {
    let ca = TestCa::new();
    let dir = temp_dir("tls");
    let (cert, key) = write_pair(&dir, &ca.issue(&["127.0.0.1", "localhost"]));
    let hg = start(&cert, &key, &[]);
    assert!(hg.base.starts_with("https://"), "{}", hg.base);

    let h1 = deliver(&client(&ca, true, true), &hg, "over-h1")
        .await
        .unwrap();
    assert_eq!(h1.status(), 200);
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);
    let h2 = deliver(&client(&ca, false, true), &hg, "over-h2")
        .await
        .unwrap();
    assert_eq!(h2.status(), 200);
    assert_eq!(h2.version(), reqwest::Version::HTTP_2, "ALPN h2");
    let ids: Vec<String> = hg
        .stdout_events_wait(2)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["over-h1", "over-h2"]);

    // A request in plain HTTP on the TLS port: a 400 that says so, then closed.
    let addr = hg.base.trim_start_matches("https://");
    let mut plain = TcpStream::connect(addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    plain.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        answer.contains("plain-http") && answer.contains("https://"),
        "{answer}"
    );

    // A client that does not trust the CA gets no answer at all.
    let stranger = TestCa::new();
    assert!(
        deliver(&client(&stranger, true, false), &hg, "x")
            .await
            .is_err()
    );

    // The handshake counts against the header timeout: a connection that sends
    // half a ClientHello is closed within it.
    let hg = start(&cert, &key, &["--header-timeout", "1s"]);
    let addr = hg.base.trim_start_matches("https://");
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let took = started.elapsed();
    assert!(
        took > Duration::from_millis(800) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_broken_pair_is_refused_at_the_start() {
    let ca = TestCa::new();
    let dir = temp_dir("tls-broken");
    let (cert, _) = write_pair(&dir.join("a"), &ca.issue(&["127.0.0.1"]));
    let (_, other_key) = write_pair(&dir.join("b"), &ca.issue(&["127.0.0.1"]));
    let run = |args: &[&str]| {
        let out = common::command()
            .args(["listen", "--bind", "127.0.0.1:0"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        other_key.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("tls_key") && err.contains("not a usable pair"),
        "{err}"
    );
    assert!(!err.contains("PRIVATE KEY"), "{err}");
    let (code, err) = run(&["--tls-cert", cert.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("tls_key"), "{err}");
    // The key file follows the secret-file rule.
    std::fs::set_permissions(&other_key, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, err) = run(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        other_key.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("writable"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits (at most 10 s) until a new connection trusting only `ca` is answered.
async fn served_by(ca: &TestCa, hg: &Hookgate, id: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    let fresh = client(ca, true, false);
    loop {
        if let Ok(answer) = deliver(&fresh, hg, id).await {
            return answer.status() == 200;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_rotates_by_sighup_and_a_broken_pair_keeps_the_old_one() {
    let (first, second) = (TestCa::new(), TestCa::new());
    let dir = temp_dir("tls-sighup");
    let (cert, key) = write_pair(&dir, &first.issue(&["127.0.0.1"]));
    let hg = start(
        &cert,
        &key,
        &["--tls-poll", "0", "--admin-bind", "127.0.0.1:0"],
    );
    // A kept-alive connection, opened with the first certificate.
    let kept = client(&first, true, true);
    assert_eq!(deliver(&kept, &hg, "before").await.unwrap().status(), 200);

    // The new pair in place, then SIGHUP: new connections get it.
    write_pair(&dir, &second.issue(&["127.0.0.1"]));
    hg.signal("HUP");
    assert!(
        served_by(&second, &hg, "after-sighup").await,
        "{}",
        hg.stderr()
    );
    hg.stderr_wait(&["TLS certificate loaded"]);
    // The connection opened before is not dropped.
    assert_eq!(deliver(&kept, &hg, "kept").await.unwrap().status(), 200);
    assert!(
        deliver(&client(&first, true, false), &hg, "x")
            .await
            .is_err()
    );

    // A broken pair (a key that is not the certificate's): the second one stays.
    let third = TestCa::new();
    std::fs::write(&cert, third.issue(&["127.0.0.1"]).cert_pem).unwrap();
    hg.signal("HUP");
    let log = hg.stderr_wait(&["TLS certificate not reloaded"]);
    assert!(log.contains("not a usable pair"), "{log}");
    assert!(!log.contains("PRIVATE KEY"), "{log}");
    assert!(served_by(&second, &hg, "still-second").await);
    let metrics = reqwest::get(format!("{}/metrics", hg.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        common::sum_of(
            &metrics,
            "hookgate_reloads_total{what=\"tls\",result=\"ok\"}"
        ),
        2.0,
        "{metrics}"
    );
    assert_eq!(
        common::sum_of(
            &metrics,
            "hookgate_reloads_total{what=\"tls\",result=\"failed\"}"
        ),
        1.0,
        "{metrics}"
    );
    assert!(common::sum_of(&metrics, "hookgate_loaded_timestamp_seconds{what=\"tls\"}") > 1.7e9);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A Kubernetes secret volume: `tls.crt -> ..data/tls.crt`, `..data -> ..<version>`;
/// an update writes a new version directory and renames a new `..data` over the old.
fn swap_data(volume: &Path, version: &str) {
    let tmp = volume.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version, &tmp).unwrap();
    std::fs::rename(&tmp, volume.join("..data")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_rotates_when_the_volume_s_symlink_is_swapped() {
    let (first, second) = (TestCa::new(), TestCa::new());
    let volume = temp_dir("tls-volume");
    write_pair(&volume.join("..v1"), &first.issue(&["127.0.0.1"]));
    swap_data(&volume, "..v1");
    for name in ["tls.crt", "tls.key"] {
        std::os::unix::fs::symlink(format!("..data/{name}"), volume.join(name)).unwrap();
    }
    let hg = start(
        &volume.join("tls.crt"),
        &volume.join("tls.key"),
        &["--tls-poll", "1s"],
    );
    assert!(served_by(&first, &hg, "v1").await);
    write_pair(&volume.join("..v2"), &second.issue(&["127.0.0.1"]));
    swap_data(&volume, "..v2");
    assert!(served_by(&second, &hg, "v2").await, "{}", hg.stderr());
    let log = hg.stderr_wait(&["reason=\"changed\""]);
    assert!(log.contains("TLS certificate loaded"), "{log}");
    std::fs::remove_dir_all(&volume).unwrap();
}

/// A bare HTTP/2 client over TLS (trusting `ca`); its connection is driven in a
/// task, which reports the server's `SETTINGS_MAX_CONCURRENT_STREAMS` after a
/// moment, then how the connection ended, and how long it lasted.
struct H2 {
    client: h2::client::SendRequest<bytes::Bytes>,
    max_streams: tokio::sync::oneshot::Receiver<usize>,
    ended: tokio::sync::oneshot::Receiver<(Result<(), h2::Error>, Duration)>,
}

async fn h2_client(ca: &TestCa, addr: &str) -> H2 {
    use std::sync::Arc;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let started = Instant::now();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let (client, mut connection) = h2::client::handshake(tls).await.unwrap();
    let (max_tx, max_streams) = tokio::sync::oneshot::channel();
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        tokio::select! {
            result = &mut connection => {
                let _ = ended_tx.send((result, started.elapsed()));
                return;
            }
            () = tokio::time::sleep(Duration::from_millis(300)) => {}
        }
        let _ = max_tx.send(connection.max_concurrent_send_streams());
        let result = connection.await;
        let _ = ended_tx.send((result, started.elapsed()));
    });
    H2 {
        client,
        max_streams,
        ended,
    }
}

/// A binary-mode POST of `event(id)` over HTTP/2.
fn h2_request(id: &str, extra: &[(&str, String)]) -> (http::Request<()>, bytes::Bytes) {
    let (headers, body) = encode::binary(&event(id));
    let mut request = http::Request::post("https://127.0.0.1/api/events");
    for (name, value) in headers {
        request = request.header(name, value);
    }
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    (request.body(()).unwrap(), body)
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_limits_hold() {
    let ca = TestCa::new();
    let dir = temp_dir("tls-h2");
    let (cert, key) = write_pair(&dir, &ca.issue(&["127.0.0.1"]));
    let hg = start(
        &cert,
        &key,
        &["--h2-max-streams", "7", "--header-timeout", "1s"],
    );
    let addr = hg.base.trim_start_matches("https://").to_owned();

    // The stream limit is announced; a request is answered; with no request open
    // for the header timeout, the server ends the connection (GOAWAY).
    let H2 {
        client,
        max_streams,
        ended,
    } = h2_client(&ca, &addr).await;
    assert_eq!(max_streams.await.unwrap(), 7);
    let mut client = client.ready().await.unwrap();
    let (request, body) = h2_request("h2-1", &[]);
    let (answer, mut send) = client.send_request(request, false).unwrap();
    send.send_data(body, true).unwrap();
    assert_eq!(answer.await.unwrap().status(), 200);
    let (result, lasted) = tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("the idle connection was not closed")
        .unwrap();
    // After its GOAWAY the server closes the socket: the client may see that
    // as the end, or as a broken pipe on its last write.
    assert!(
        result
            .as_ref()
            .map_or_else(|e| e.is_io() || e.is_go_away(), |()| true),
        "{result:?}"
    );
    assert!(
        lasted >= Duration::from_millis(900) && lasted < Duration::from_secs(5),
        "closed after {lasted:?}"
    );

    // A header list over 16 KiB is not taken.
    let H2 { client, .. } = h2_client(&ca, &addr).await;
    let mut client = client.ready().await.unwrap();
    let (request, _) = h2_request("h2-2", &[("x-big", "a".repeat(20 << 10))]);
    let refused = match client.send_request(request, true) {
        Ok((answer, _)) => match answer.await {
            Ok(answer) => answer.status().as_u16(),
            Err(_) => 0,
        },
        Err(_) => 0,
    };
    assert_ne!(refused, 200, "an oversized header list was handled");

    // Rapid reset: streams opened and reset at once, many more than
    // --h2-max-pending-resets (20), end the connection.
    let H2 { client, ended, .. } = h2_client(&ca, &addr).await;
    let mut client = client.ready().await.unwrap();
    for i in 0..200 {
        let Ok(ready) = client.clone().ready().await else {
            break;
        };
        client = ready;
        let (request, _) = h2_request(&format!("reset-{i}"), &[]);
        let Ok((answer, mut send)) = client.send_request(request, false) else {
            break;
        };
        send.send_reset(h2::Reason::CANCEL);
        drop(answer);
    }
    let (result, _) = tokio::time::timeout(Duration::from_secs(10), ended)
        .await
        .expect("a rapid reset was not stopped")
        .unwrap();
    let error = result.expect_err("the server ended the connection");
    assert_eq!(
        error.reason(),
        Some(h2::Reason::ENHANCE_YOUR_CALM),
        "{error:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
