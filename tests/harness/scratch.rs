//! Directories for fixtures that live as long as the test process — the packages and roots
//! a test file builds once in a `OnceLock`. Rust never drops statics, so a `TempDir` there
//! would be left behind by every run. These live under cargo's `CARGO_TARGET_TMPDIR`
//! (`target/tmp`) in `harness-<pid>/`; when a test process starts, it removes the
//! directories of processes that no longer exist.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch directory (created on first use, stale siblings removed).
pub fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(base).unwrap();
        if let Ok(entries) = std::fs::read_dir(base) {
            for e in entries.flatten() {
                let name = e.file_name();
                let pid = name
                    .to_str()
                    .and_then(|n| n.strip_prefix("harness-"))
                    .and_then(|p| p.parse::<u32>().ok());
                if let Some(pid) = pid {
                    if !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let dir = base.join(format!("harness-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// A new directory inside this process's scratch directory, kept until the process ends
/// (and removed by the next test process after that).
pub fn process_tempdir(prefix: &str) -> PathBuf {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(process_dir())
        .unwrap()
        .keep()
}

/// Every file under `dir`, recursively (directories themselves left out).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}
