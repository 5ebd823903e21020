//! Paths owned by several packages. rpm drops a timestamp difference (`T`) when more than one
//! database entry names the file: `verifyHeader` asks the Basenames index for the path and
//! `rpmdbFindByFile` keeps the entries whose directory has the same **fingerprint**
//! (lib/fprint.c): the `(st_dev, st_ino)` of the longest existing directory prefix (symlinks
//! followed, inside the root), the part below it that does not exist, and the basename. So
//! `/lib64/x` and `/usr/lib64/x` are one file when `/lib64` links to `usr/lib64`.
//!
//! Only needed for files that showed a `T`, so it is a second pass over the database, which
//! costs no memory during the main one.

use crate::header_digest::{self, HeaderDigest};
use rpmdb::root::Root;
use rpmdb::{tag, InstalledPackages};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A directory's fingerprint (`struct fingerPrint_s` without the basename).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Fingerprint {
    dev: u64,
    ino: u64,
    /// The trailing part that does not exist (`None` when the whole directory exists).
    subdir: Option<Vec<u8>>,
}

/// `canonDir`: an absolute, cleaned directory name with one trailing slash.
fn canonical_dir(dir: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(dir.len() + 2);
    out.push(b'/');
    for comp in dir.split(|&b| b == b'/') {
        if comp.is_empty() || comp == b"." {
            continue;
        }
        out.extend_from_slice(comp);
        out.push(b'/');
    }
    out
}

#[derive(Default)]
struct FingerprintCache {
    known: HashMap<Vec<u8>, Fingerprint>,
}

impl FingerprintCache {
    fn of(&mut self, root: &Root, dir: &[u8]) -> Fingerprint {
        if let Some(fp) = self.known.get(dir) {
            return fp.clone();
        }
        let cdn = canonical_dir(dir);
        let mut len = cdn.len();
        let fp = loop {
            let prefix = Path::new(std::ffi::OsStr::from_bytes(&cdn[..len]));
            // stat(2) of "prefix/" follows symlinks and succeeds only on a directory.
            if let Ok(m) = root.metadata(prefix) {
                if m.is_dir() {
                    let sub = &cdn[len - 1..];
                    break Fingerprint {
                        dev: m.dev,
                        ino: m.ino,
                        subdir: (sub.len() > 1).then(|| sub.to_vec()),
                    };
                }
            }
            if len <= 1 {
                // "/" itself cannot be looked at (rpm aborts here): compare by name.
                break Fingerprint {
                    dev: 0,
                    ino: 0,
                    subdir: Some(cdn.clone()),
                };
            }
            len -= 1;
            while len > 1 && cdn[len - 1] != b'/' {
                len -= 1;
            }
        };
        self.known.insert(dir.to_vec(), fp.clone());
        fp
    }
}

/// For each `(dirname, basename)`, how many file entries of the installed packages name the
/// same file as rpm's fingerprints see it (the path's own package included). Packages whose
/// header fails its digest are left out, as rpm's iterator skips them.
pub fn owner_counts(root: &Root, wanted: &[(Vec<u8>, Vec<u8>)]) -> Result<Vec<usize>, rpmdb::db::DbError> {
    let mut counts = vec![0usize; wanted.len()];
    if wanted.is_empty() {
        return Ok(counts);
    }
    let mut cache = FingerprintCache::default();
    let mut by_base: HashMap<&[u8], Vec<(usize, Fingerprint)>> = HashMap::new();
    for (i, (dir, base)) in wanted.iter().enumerate() {
        let fp = cache.of(root, dir);
        by_base.entry(base.as_slice()).or_default().push((i, fp));
    }
    let mut installed = InstalledPackages::open(root)?;
    for pkg in installed.iter().flatten() {
        let h = &pkg.header;
        if matches!(header_digest::check(h), HeaderDigest::Mismatch { .. }) {
            continue;
        }
        let (Ok(Some(bases)), Ok(Some(dirs)), Ok(Some(indexes))) = (
            h.strings(tag::BASENAMES),
            h.strings(tag::DIRNAMES),
            h.ints(tag::DIRINDEXES),
        ) else {
            continue;
        };
        for (base, di) in bases.iter().zip(indexes.iter()) {
            let Some(targets) = by_base.get(base) else { continue };
            let Some(dir) = dirs.get(*di as usize) else { continue };
            let fp = cache.of(root, dir);
            for (i, want) in targets {
                if *want == fp {
                    counts[*i] += 1;
                }
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_canonical() {
        assert_eq!(canonical_dir(b"/usr/lib/"), b"/usr/lib/");
        assert_eq!(canonical_dir(b"/usr//./lib"), b"/usr/lib/");
        assert_eq!(canonical_dir(b"/"), b"/");
    }

    #[test]
    fn a_symlinked_directory_has_its_targets_fingerprint() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("usr/lib64")).unwrap();
        std::os::unix::fs::symlink("usr/lib64", t.path().join("lib64")).unwrap();
        let root = Root::new(t.path()).unwrap();
        let mut c = FingerprintCache::default();
        assert_eq!(c.of(&root, b"/lib64/"), c.of(&root, b"/usr/lib64/"));
        assert_ne!(c.of(&root, b"/lib64/"), c.of(&root, b"/usr/"));
        let missing = c.of(&root, b"/usr/lib64/a/b/");
        assert_eq!(missing.subdir.as_deref(), Some(&b"/a/b/"[..]));
        assert_eq!(missing.ino, c.of(&root, b"/usr/lib64/").ino);
    }
}
