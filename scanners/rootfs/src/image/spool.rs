//! The private temporary directory an image's small files are kept in, and which files go
//! there while the layers are read: the package database, `/etc` (repository configuration,
//! os-release, accounts, module state) and the build metadata scanners read. Everything else
//! is only indexed; a file nobody expected can still be read later, from its layer
//! ([`crate::ImageTree::open_regular`]).
//!
//! Layout: `L<n>/<path>` holds what layer `n` wrote at `<path>` (each layer's database as it
//! left it, for attribution), `view/<path>` hard links to the files of the applied image, so
//! that a reader that needs a file's siblings (SQLite's `-wal`) finds them beside it. The
//! directory is removed when the image is dropped; nothing is written anywhere else.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Which paths are kept, and how large a file may be.
#[derive(Debug, Clone)]
pub struct SpoolRules {
    /// A path prefix (no leading `/`; a trailing `/` names a directory) and its per-file limit.
    pub prefixes: Vec<(Vec<u8>, u64)>,
    /// All spooled bytes together, the on-demand reads included.
    pub max_total: u64,
}

const MIB: u64 = 1 << 20;

impl Default for SpoolRules {
    fn default() -> Self {
        let database = 1024 * MIB;
        SpoolRules {
            prefixes: vec![
                (b"var/lib/rpm/".to_vec(), database),
                (b"usr/lib/sysimage/rpm/".to_vec(), database),
                (b"usr/share/rpm/".to_vec(), database),
                (b"etc/".to_vec(), 4 * MIB),
                (b"usr/lib/os-release".to_vec(), MIB),
                (b"usr/share/buildinfo/".to_vec(), 16 * MIB),
                (b"root/buildinfo/".to_vec(), 16 * MIB),
            ],
            max_total: 4096 * MIB,
        }
    }
}

impl SpoolRules {
    /// The size limit for a path that is kept, `None` for a path that is not.
    pub fn limit_for(&self, path: &[u8]) -> Option<u64> {
        self.prefixes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map(|(_, limit)| *limit)
    }
}

/// The spool directory of one image.
#[derive(Debug)]
pub struct Spool {
    dir: tempfile::TempDir,
    view: PathBuf,
    used: AtomicU64,
    max_total: u64,
}

impl Spool {
    /// A new, empty spool under the system's temporary directory (`$TMPDIR`, else `/tmp`).
    pub fn new(max_total: u64) -> io::Result<Spool> {
        let dir = tempfile::Builder::new().prefix("atomic-scanners-image-").tempdir()?;
        Ok(Spool {
            view: dir.path().join("view"),
            dir,
            used: AtomicU64::new(0),
            max_total,
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The folder of the applied image's files.
    pub fn view_dir(&self) -> &Path {
        &self.view
    }

    /// The folder of what one layer wrote.
    pub fn layer_dir(&self, layer: usize) -> PathBuf {
        self.dir.path().join(format!("L{layer}"))
    }

    /// Count `bytes` against the total; false (and nothing counted) when they do not fit.
    pub fn reserve(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|&n| n <= self.max_total)
            })
            .is_ok()
    }

    /// Create the file for `path` (normalised) as layer `layer` wrote it, replacing an earlier
    /// one of the same layer. `path`'s components are plain names (see
    /// [`super::entry::normalise`]), so the file is inside this layer's folder.
    pub fn create(&self, layer: usize, path: &[u8]) -> io::Result<(PathBuf, File)> {
        let host = under(&self.layer_dir(layer), path);
        if let Some(parent) = host.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&host)?;
        Ok((host, file))
    }

    /// Make `view/<path>` name the spooled file `spooled` (a hard link; both are ours).
    pub fn link_into_view(&self, spooled: &Path, path: &[u8]) -> io::Result<PathBuf> {
        let host = under(&self.view, path);
        if let Some(parent) = host.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match std::fs::remove_file(&host) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::fs::hard_link(spooled, &host)?;
        Ok(host)
    }
}

/// `base` joined with a normalised image path.
pub fn under(base: &Path, path: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    base.join(std::ffi::OsStr::from_bytes(path))
}
