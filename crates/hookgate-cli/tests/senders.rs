//! `--code-dir` with the real binary: one dedup namespace per sender (the file's
//! name its label), read from a Kubernetes-style secret volume (`..data` a
//! symlinked directory, each file a symlink into it), combined with the one
//! unlabeled sender of `HOOKGATE_CODES`; labels shown, secrets never.

#![cfg(unix)]

mod common;

use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::Path;

use common::{Hookgate, command, event, lines, send_binary, temp_dir};

/// A secret volume as the kubelet mounts it: the files in a timestamped
/// directory, `..data` a symlink to it, each key a symlink `KEY -> ..data/KEY`.
fn secret_volume(dir: &Path, files: &[(&str, &str)]) {
    let stamped = dir.join("..2026_12_07_12_00_00.123456789");
    std::fs::create_dir(&stamped).unwrap();
    for (name, text) in files {
        let path = stamped.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    symlink(stamped.file_name().unwrap(), dir.join("..data")).unwrap();
    for (name, _) in files {
        symlink(Path::new("..data").join(name), dir.join(name)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_sender_of_a_code_dir_has_its_own_dedup_namespace() {
    let dir = temp_dir("code-dir");
    let senders = dir.join("senders");
    std::fs::create_dir(&senders).unwrap();
    secret_volume(
        &senders,
        &[
            ("orders", "# rotation: the new one first\no-new\n\no-old\n"),
            ("billing", "b-secret\n"),
        ],
    );
    let out = dir.join("out.txt");
    let exec = format!(
        "cat > /dev/null; printf '%s %s\\n' \"${{WEBHOOK_SENDER:-none}}\" \"$CE_ID\" >> {}",
        out.display()
    );
    let hg = Hookgate::start(
        &["--code-dir", senders.to_str().unwrap(), "--exec", &exec],
        &[("HOOKGATE_CODES", "legacy")],
    );
    let url = |code: &str| format!("{}?code={code}", hg.url("/api/events"));
    // The same source and id from two senders: handled twice.
    assert_eq!(send_binary(&url("o-new"), &event("e1")).await.status(), 200);
    assert_eq!(
        send_binary(&url("b-secret"), &event("e1")).await.status(),
        200
    );
    // From one sender twice (its two secrets): once.
    assert_eq!(send_binary(&url("o-old"), &event("e1")).await.status(), 200);
    // HOOKGATE_CODES is one more sender, without a label.
    assert_eq!(
        send_binary(&url("legacy"), &event("e1")).await.status(),
        200
    );
    assert_eq!(
        send_binary(&url("legacy"), &event("e1")).await.status(),
        200
    );
    // Not a secret: refused; nor is the name of a file one.
    for wrong in ["orders", "..data", "nope"] {
        assert_eq!(send_binary(&url(wrong), &event("e2")).await.status(), 401);
    }
    assert_eq!(lines(&out), ["orders e1", "billing e1", "none e1"]);
    assert_eq!(hg.metric("hookgate_duplicates_total").await, 2.0);
    // The start-up log names the senders, never a secret.
    let log = hg.stderr();
    assert!(
        log.contains("billing (1 secret(s)), orders (2 secret(s))"),
        "{log}"
    );
    for secret in ["o-new", "o-old", "b-secret", "legacy"] {
        assert!(!log.contains(secret), "{secret} logged: {log}");
    }
    drop(hg);

    // `config check` shows the labels, never a secret.
    let file = dir.join("hookgate.toml");
    std::fs::write(&file, "code_dir = \"senders\"\n").unwrap();
    let out = command()
        .args(["config", "check", file.to_str().unwrap()])
        .output()
        .unwrap();
    let meaning = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{meaning}");
    assert!(
        meaning.contains("senders billing (1 secret(s)), orders (2 secret(s))"),
        "{meaning}"
    );
    for secret in ["o-new", "o-old", "b-secret"] {
        assert!(!meaning.contains(secret), "{secret} shown: {meaning}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_code_dir_that_breaks_the_secret_file_rule_is_refused() {
    let dir = temp_dir("code-dir-bad");
    let refused = |dir: &Path| {
        let out = command()
            .args(["listen", "--bind", "127.0.0.1:0", "--code-dir"])
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Empty (a volume that was not mounted): refused, not "no authentication".
    let err = refused(&dir);
    assert!(
        err.contains("`code_dir`") && err.contains("holds no sender"),
        "{err}"
    );
    // Missing.
    let err = refused(&dir.join("missing"));
    assert!(err.contains("cannot read"), "{err}");
    // A sender's file writable by others: the secret-file rule, its secret not shown.
    let path = dir.join("orders");
    std::fs::write(&path, "o-secret\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let err = refused(&dir);
    assert!(
        err.contains("writable") && !err.contains("o-secret"),
        "{err}"
    );
    // A file that lists no secret.
    std::fs::write(&path, "# nothing yet\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = refused(&dir);
    assert!(err.contains("lists no secret"), "{err}");
    // One secret held by two senders.
    std::fs::write(&path, "same\n").unwrap();
    let other = dir.join("billing");
    std::fs::write(&other, "same\n").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = refused(&dir);
    assert!(err.contains("two labels") && !err.contains("same"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `text` to `path`, readable by its owner only.
fn secret(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// SIGHUP reads `--code-file`, `--code-dir` and `--webpubsub-key-file` again: a
/// sender added, one removed, a secret rotated, the keys replaced; a file that no
/// longer reads keeps the sets in force; the log and `/metrics` show each load.
#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_the_secret_files() {
    let dir = temp_dir("reload");
    let senders = dir.join("senders");
    std::fs::create_dir(&senders).unwrap();
    secret(&senders.join("orders"), "o-1\n");
    secret(&senders.join("billing"), "b-1\n");
    let codes = dir.join("codes");
    secret(&codes, "legacy-1\n");
    let keys = dir.join("keys");
    secret(&keys, "key-1\n");
    let hg = Hookgate::start(
        &[
            "--code-dir",
            senders.to_str().unwrap(),
            "--code-file",
            codes.to_str().unwrap(),
            "--webpubsub-key-file",
            keys.to_str().unwrap(),
            "--admin-bind",
            "127.0.0.1:0",
        ],
        &[],
    );
    let status = async |code: &str, id: &str| {
        let url = format!("{}?code={code}", hg.url("/api/events"));
        send_binary(&url, &event(id)).await.status().as_u16()
    };
    let signed = async |key: &str, id: &str| {
        use hmac::{Hmac, Mac as _};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(b"conn-1");
        let signature = format!("sha256={}", hex(&mac.finalize().into_bytes()));
        let headers = [
            ("ce-connectionId", "conn-1"),
            ("ce-signature", signature.as_str()),
        ];
        common::send_binary_with(&hg.url("/api/events"), &event(id), &headers)
            .await
            .status()
            .as_u16()
    };
    assert_eq!(status("o-1", "a").await, 200);
    assert_eq!(status("b-1", "b").await, 200);
    assert_eq!(signed("key-1", "w1").await, 200);
    assert_eq!(status("legacy-1", "c").await, 200);
    assert_eq!(hg.metric("hookgate_secrets{sender=\"billing\"}").await, 1.0);

    // billing removed, shipping added, orders and the unlabeled secret rotated.
    std::fs::remove_file(senders.join("billing")).unwrap();
    secret(&senders.join("shipping"), "s-1\n");
    secret(&senders.join("orders"), "o-2\no-1\n");
    secret(&codes, "legacy-2\n");
    secret(&keys, "key-2\n");
    hg.signal("HUP");
    let log = hg.stderr_wait(&["secrets loaded"]);
    assert!(
        log.contains("orders (2 secret(s)), shipping (1 secret(s))"),
        "{log}"
    );
    for hidden in ["o-2", "s-1", "legacy-2", "key-2"] {
        assert!(!log.contains(hidden), "the log shows {hidden}: {log}");
    }
    assert_eq!(status("b-1", "d").await, 401, "a removed sender");
    assert_eq!(status("s-1", "e").await, 200, "an added sender");
    assert_eq!(status("o-2", "f").await, 200);
    assert_eq!(status("o-1", "g").await, 200, "still listed");
    assert_eq!(status("legacy-2", "h").await, 200);
    assert_eq!(status("legacy-1", "i").await, 401);
    assert_eq!(signed("key-2", "w2").await, 200);
    assert_eq!(signed("key-1", "w3").await, 401, "the replaced key");
    assert_eq!(hg.metric("hookgate_secrets{sender=\"billing\"}").await, 0.0);
    assert_eq!(hg.metric("hookgate_secrets{sender=\"orders\"}").await, 2.0);
    assert_eq!(hg.metric("hookgate_webpubsub_keys").await, 1.0);
    assert_eq!(
        hg.metric("hookgate_reloads_total{what=\"secrets\",result=\"ok\"}")
            .await,
        2.0
    );

    // A file that no longer reads (it lists no secret): the sets in force stay.
    secret(&codes, "# emptied by mistake\n");
    secret(&senders.join("late"), "l-1\n");
    hg.signal("HUP");
    let log = hg.stderr_wait(&["secrets not reloaded"]);
    assert!(log.contains("lists no secret"), "{log}");
    assert_eq!(status("legacy-2", "j").await, 200);
    assert_eq!(
        status("l-1", "k").await,
        401,
        "nothing of that reload applies"
    );
    assert_eq!(
        hg.metric("hookgate_reloads_total{what=\"secrets\",result=\"failed\"}")
            .await,
        1.0
    );
    assert!(
        hg.metric("hookgate_loaded_timestamp_seconds{what=\"secrets\"}")
            .await
            > 1.7e9
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Secrets from the environment cannot change while the process runs: SIGHUP
/// says so.
#[tokio::test(flavor = "multi_thread")]
async fn sighup_says_the_environment_cannot_change() {
    let hg = Hookgate::start(&[], &[("HOOKGATE_CODES", "from-env")]);
    hg.signal("HUP");
    let log = hg.stderr_wait(&["HOOKGATE_CODES comes from the environment"]);
    assert!(log.contains("restart hookgate"), "{log}");
    let url = format!("{}?code=from-env", hg.url("/api/events"));
    assert_eq!(send_binary(&url, &event("x")).await.status(), 200);
}
