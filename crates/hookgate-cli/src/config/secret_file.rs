//! The one rule for every file that holds secrets (`--code-file`,
//! `--webpubsub-key-file`, and every such setting added later).
//!
//! After symlinks are followed (a Kubernetes secret volume is symlinks), the file
//! must be a regular file (not a directory, a device such as `/dev/zero`, or a
//! pipe), and on Unix not writable by its group or by others (someone else could
//! put their own secret in): refused otherwise (exit 2). A file others can read is
//! accepted with a warning. At most [`LIMIT`] bytes are read, whatever length the
//! file reports (`/proc` and device files report 0).

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

/// The most bytes a secret file may hold (64 KiB).
pub(crate) const LIMIT: u64 = 64 * 1024;

/// A secret file's text and, when it is readable by others, a warning.
#[derive(Debug)]
pub(crate) struct SecretFile {
    pub(crate) text: String,
    pub(crate) warning: Option<String>,
}

/// Reads `path` by the rule; the error names the file and what is wrong with it,
/// never its content.
pub(crate) fn read(path: &Path) -> Result<SecretFile, String> {
    let shown = path.display();
    let file = File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    // The opened file's own metadata: what is read is what was checked.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file (after following symlinks)"
        ));
    }
    let warning = check_mode(&meta).map_err(|why| format!("{shown} is {why}"))?;
    let mut bytes = Vec::new();
    file.take(LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > LIMIT {
        return Err(format!("{shown} is larger than 64 KiB"));
    }
    let text = String::from_utf8(bytes).map_err(|_| format!("{shown} is not UTF-8 text"))?;
    Ok(SecretFile {
        text,
        warning: warning.map(|why| {
            format!("{shown} is {why}: a secret file should be readable by its owner only")
        }),
    })
}

impl SecretFile {
    /// Its entries: the lines that are not empty or `#` comments, trimmed.
    pub(crate) fn entries(&self) -> impl Iterator<Item = &str> {
        self.text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
    }
}

/// `Err` when the group or others may write the file; a warning when others may
/// read it.
#[cfg(unix)]
fn check_mode(meta: &std::fs::Metadata) -> Result<Option<&'static str>, &'static str> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err("writable by its group or by others (chmod go-w)");
    }
    Ok((mode & 0o004 != 0).then_some("readable by others"))
}

#[cfg(not(unix))]
fn check_mode(_meta: &std::fs::Metadata) -> Result<Option<&'static str>, &'static str> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn with_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_rule_for_secret_files() {
        let dir = std::env::temp_dir().join(format!("hookgate-secret-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("codes");
        std::fs::write(&path, "s3cret\n").unwrap();
        with_mode(&path, 0o600);
        let read_ok = read(&path).unwrap();
        assert_eq!(read_ok.text, "s3cret\n");
        assert!(read_ok.warning.is_none());
        // Through a symlink (a Kubernetes secret volume): the target is checked.
        let link = dir.join("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert_eq!(read(&link).unwrap().text, "s3cret\n");
        // Readable by others: accepted, with a warning.
        with_mode(&path, 0o644);
        let warned = read(&path).unwrap().warning.unwrap();
        assert!(warned.contains("readable by others"), "{warned}");
        // Writable by the group or others: refused, its content not shown.
        for mode in [0o620, 0o602, 0o666] {
            with_mode(&path, mode);
            let e = read(&path).unwrap_err();
            assert!(e.contains("writable") && !e.contains("s3cret"), "{e}");
        }
        // Not a regular file: a directory, a device that never ends.
        assert!(read(&dir).unwrap_err().contains("not a regular file"));
        assert!(
            read(Path::new("/dev/zero"))
                .unwrap_err()
                .contains("not a regular file")
        );
        // At most 64 KiB.
        with_mode(&path, 0o600);
        std::fs::write(&path, vec![b'a'; 64 * 1024 + 1]).unwrap();
        assert!(read(&path).unwrap_err().contains("larger than 64 KiB"));
        std::fs::write(&path, vec![b'a'; 64 * 1024]).unwrap();
        assert!(read(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
