//! The metadata cache (`--cache-dir`): one folder per repository source, one file per metadata
//! file named by its checksum, so that scanning a hundred images that share a repository
//! downloads its `primary` once. Files appear atomically (written aside, then renamed): a
//! cache shared by concurrent scanners never shows a half-written file. `repomd.xml` is not
//! cached: it is what tells whether the cached files are still current.
//!
//! [`aside_path`] and [`write_atomically`] are the one atomic writer of the workspace: every
//! file the scanners put in a cache — downloaded metadata, and what is derived from it
//! (pipeline-scanner's primary and modules indexes, security-advisories' parsed updateinfo)
//! — is written under a name unique to the process **and** to the write (pid and a
//! per-process sequence), then renamed. The pid alone is not enough: the subjects of one run
//! share a cache and are judged in parallel, so two writes of one file in one process would
//! share a temporary name and truncate each other.

use crate::checksum::{Algorithm, Checksum};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A cache directory, or a temporary one removed when dropped.
pub struct Cache {
    dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Keep names short and plain: letters, digits, `-`, `_`, `.`; anything else becomes `_`.
fn plain(name: &str, max: usize) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

impl Cache {
    /// Use (and create) a cache directory.
    pub fn open(dir: &Path) -> io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        Ok(Cache {
            dir: dir.to_path_buf(),
            _temporary: None,
        })
    }

    /// A cache for one run only.
    pub fn temporary() -> io::Result<Cache> {
        let t = tempfile::Builder::new().prefix("pipeline-scanner-cache").tempdir()?;
        Ok(Cache {
            dir: t.path().to_path_buf(),
            _temporary: Some(t),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The folder of a repository: its id and a digest of where it comes from (its base URLs,
    /// mirror list or metalink), so two images with the same repository id pointing at
    /// different places never share files.
    pub fn repo_dir(&self, repo_id: &str, source: &str) -> PathBuf {
        let digest = crate::checksum::digest_hex(Algorithm::Sha256, source.as_bytes());
        self.dir.join(format!("{}-{}", plain(repo_id, 64), &digest[..16]))
    }

    /// The cache file of a metadata file with this checksum.
    pub fn file_path(repo_dir: &Path, checksum: &Checksum, href: &str) -> PathBuf {
        let base = href.rsplit('/').next().unwrap_or(href);
        // createrepo names files `<checksum>-primary.xml.gz`: don't repeat it.
        let base = base.strip_prefix(&format!("{}-", checksum.hex)).unwrap_or(base);
        repo_dir.join(format!(
            "{}-{}-{}",
            checksum.algorithm.name(),
            checksum.hex,
            plain(base, 80)
        ))
    }

    /// The cached file if present (and of the expected size, when known); otherwise `fill`
    /// writes a fresh copy beside it, which is renamed into place once complete.
    /// Returns the path and whether it came from the cache.
    pub fn get_or_fill<E: From<io::Error>>(
        &self,
        path: &Path,
        expected_size: Option<u64>,
        fill: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<(PathBuf, bool), E> {
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if meta.is_file() && expected_size.is_none_or(|s| s == meta.len()) {
                return Ok((path.to_path_buf(), true));
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        write_atomically(path, fill)?;
        Ok((path.to_path_buf(), false))
    }
}

/// A name beside `target` for writing it aside: hidden, and unique to this process and this
/// call (see the module documentation).
pub fn aside_path(target: &Path) -> PathBuf {
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    target.with_file_name(format!(
        ".{name}.part.{}.{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Write `target` atomically: `fill` writes a file at [`aside_path`], renamed onto `target`
/// once complete and removed when `fill` fails.
pub fn write_atomically<E: From<io::Error>>(target: &Path, fill: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), E> {
    let partial = aside_path(target);
    match fill(&partial) {
        Ok(()) => std::fs::rename(&partial, target).map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            E::from(e)
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_once_then_hits() {
        let t = tempfile::tempdir().unwrap();
        let c = Cache::open(&t.path().join("c")).unwrap();
        let sum = Checksum::parse("sha256", &"ab".repeat(32)).unwrap();
        let dir = c.repo_dir("base os/../x", "http://mirror/");
        assert!(dir.starts_with(c.dir()));
        assert!(!dir.file_name().unwrap().to_str().unwrap().contains('/'));
        let p = Cache::file_path(&dir, &sum, &format!("repodata/{}-primary.xml.gz", "ab".repeat(32)));
        assert!(p
            .to_str()
            .unwrap()
            .ends_with(&format!("sha256-{}-primary.xml.gz", "ab".repeat(32))));
        let (got, hit) = c
            .get_or_fill::<io::Error>(&p, Some(3), |tmp| std::fs::write(tmp, b"abc"))
            .unwrap();
        assert!(!hit);
        assert_eq!(std::fs::read(&got).unwrap(), b"abc");
        let (_, hit) = c
            .get_or_fill::<io::Error>(&p, Some(3), |_| panic!("must not refetch"))
            .unwrap();
        assert!(hit);
        // A file of the wrong size is fetched again.
        let (_, hit) = c
            .get_or_fill::<io::Error>(&p, Some(4), |tmp| std::fs::write(tmp, b"abcd"))
            .unwrap();
        assert!(!hit);
        // A failed fill leaves nothing behind.
        let q = dir.join("other");
        assert!(c
            .get_or_fill::<io::Error>(&q, None, |tmp| {
                std::fs::write(tmp, b"x")?;
                Err(io::Error::other("boom"))
            })
            .is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    }

    #[test]
    fn two_writes_of_one_file_in_one_process_do_not_share_a_temporary_name() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("x.index");
        assert_ne!(aside_path(&target), aside_path(&target));
        write_atomically::<io::Error>(&target, |outer| {
            std::fs::write(outer, b"outer")?;
            write_atomically::<io::Error>(&target, |inner| std::fs::write(inner, b"inner"))
        })
        .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"outer");
        let left: Vec<_> = std::fs::read_dir(t.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }
}
