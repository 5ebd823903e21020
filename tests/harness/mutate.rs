//! Changes to an installed [`TestRoot`], one per `rpm -V` column, made the way an attacker or
//! a careless image build would make them: with ordinary file operations and the usual tools
//! (`setcap`, `mknod`, `mkfifo`, `touch`). Paths are the packaged paths (inside the root).
//!
//! Each helper panics with the path and the error when the change cannot be made, so a test
//! never compares two unmutated roots by accident.

use super::root::TestRoot;
use super::tools::{require_tool, run_ok};
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Replace a file's content with the same number of bytes, then restore its mtime: only the
/// digest changes (`..5......`).
pub fn rewrite_same_size(root: &TestRoot, path: &str) {
    let p = root.host_path(path);
    let meta = fs::metadata(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut bytes = fs::read(&p).unwrap();
    assert!(!bytes.is_empty(), "{path} is empty: nothing to rewrite");
    for b in bytes.iter_mut() {
        *b = b.wrapping_add(1);
    }
    fs::write(&p, bytes).unwrap();
    set_mtime(root, path, mtime_of(&meta));
}

/// Append bytes (size, digest and mtime change: `S.5....T.`).
pub fn append(root: &TestRoot, path: &str, extra: &[u8]) {
    let p = root.host_path(path);
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    f.write_all(extra).unwrap();
}

/// `chmod` (permission bits only).
pub fn chmod(root: &TestRoot, path: &str, mode: u32) {
    fs::set_permissions(root.host_path(path), fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// `lchown` to numeric ids (`None` keeps one).
pub fn lchown(root: &TestRoot, path: &str, uid: Option<u32>, gid: Option<u32>) {
    std::os::unix::fs::lchown(root.host_path(path), uid, gid).unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// Set the modification time without following a final symlink.
pub fn set_mtime(root: &TestRoot, path: &str, secs: i64) {
    run_ok(
        Command::new("touch")
            .arg("-h")
            .arg("-d")
            .arg(format!("@{secs}"))
            .arg(root.host_path(path)),
    );
}

fn mtime_of(meta: &fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
}

/// Remove a file, a symlink or an empty directory.
pub fn remove(root: &TestRoot, path: &str) {
    let p = root.host_path(path);
    let meta = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
    if meta.is_dir() {
        fs::remove_dir(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
    } else {
        fs::remove_file(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
}

/// Replace whatever is at `path` with a symlink to `target` (target bytes kept as given).
pub fn replace_with_symlink(root: &TestRoot, path: &str, target: impl AsRef<Path>) {
    let p = root.host_path(path);
    if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(&p).unwrap();
    } else {
        let _ = fs::remove_file(&p);
    }
    std::os::unix::fs::symlink(target, &p).unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// Move a packaged directory aside (to `moved_to`, inside the root) and put a symlink to it
/// in its place: the "directory replaced by a symlink to a directory" case.
pub fn replace_dir_with_symlink(root: &TestRoot, path: &str, moved_to: &str, link_text: &str) {
    fs::rename(root.host_path(path), root.host_path(moved_to)).unwrap_or_else(|e| panic!("{path}: {e}"));
    std::os::unix::fs::symlink(link_text, root.host_path(path)).unwrap();
}

/// Replace a file with a FIFO (a scanner that opens it without O_NONBLOCK would hang).
pub fn replace_with_fifo(root: &TestRoot, path: &str) {
    let p = root.host_path(path);
    let _ = fs::remove_file(&p);
    run_ok(Command::new("mkfifo").arg(&p));
}

/// Replace a file with a device node (`c` or `b`, major, minor).
pub fn replace_with_device(root: &TestRoot, path: &str, kind: char, major: u32, minor: u32) {
    let p = root.host_path(path);
    let _ = fs::remove_file(&p);
    run_ok(
        Command::new("mknod")
            .arg(&p)
            .arg(kind.to_string())
            .arg(major.to_string())
            .arg(minor.to_string()),
    );
}

/// Replace a file with a directory.
pub fn replace_with_dir(root: &TestRoot, path: &str) {
    let p = root.host_path(path);
    fs::remove_file(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
    fs::create_dir(&p).unwrap();
}

/// `setcap TEXT path` (e.g. `cap_net_admin=ep`), or remove the capabilities with `None`.
pub fn setcap(root: &TestRoot, path: &str, caps: Option<&str>) {
    let mut cmd = Command::new(require_tool("setcap"));
    match caps {
        Some(text) => cmd.arg(text),
        None => cmd.arg("-r"),
    };
    run_ok(cmd.arg(root.host_path(path)));
}
