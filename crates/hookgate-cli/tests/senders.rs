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
