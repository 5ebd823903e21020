//! The one filesystem view every scanner reads: [`Root`].
//!
//! A root is either a directory on the host (an unpacked or mounted image, atomic's
//! `/scanin/<id>`) or an image whose layers were applied in memory ([`image::ImageTree`]:
//! an index of every path, with the small files scanners read kept in a private spool). The
//! scanners ask the same questions of both — resolve a path, `lstat` it, read a bounded
//! regular file, list a directory — and get the same answers, so no scanner has a second code
//! path for images.
//!
//! The rules, for both backings: symlinks are resolved **inside** the root (an absolute target
//! means `<root>/target`, `..` stops at the root), at most [`MAX_SYMLINKS`] of them per lookup
//! as the kernel allows; only regular files are opened (`O_NOFOLLOW | O_NONBLOCK` on the host),
//! so a FIFO or device can never block or be read; reads are bounded by a caller-given size.
//! Nothing here writes into the scanned root.
//!
//! [`osrelease`] reads the one thing every scanner asks of a root before its packages: which
//! OS it is (os-release, else the older release files), through the same bounded reads.

mod derived;
pub mod dir;
pub mod image;
pub mod osrelease;
pub mod read_ahead;
mod resolve;

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use dir::{
    lstat_at, open_dir_path, open_regular_nofollow, open_regular_nofollow_at, read_all_bounded, read_link_at,
};
pub use image::ImageTree;

/// The kernel's limit on symlinks followed in one lookup (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// An I/O error on a path inside the root, naming the path as the image sees it.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", .path.display())]
pub struct RootError {
    /// The path inside the image, e.g. `/var/lib/rpm/Packages`.
    pub path: PathBuf,
    pub source: io::Error,
}

impl RootError {
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> RootError {
        RootError {
            path: path.into(),
            source,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.source.kind() == io::ErrorKind::NotFound
    }
}

/// The `struct stat` fields scanners compare, from the host's `lstat` or from an image's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// `st_mode`: file type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    pub rdev: u64,
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
}

/// `S_IFMT` and the file types, as `st_mode` holds them.
pub mod mode {
    pub const S_IFMT: u32 = 0o170000;
    pub const S_IFSOCK: u32 = 0o140000;
    pub const S_IFLNK: u32 = 0o120000;
    pub const S_IFREG: u32 = 0o100000;
    pub const S_IFBLK: u32 = 0o060000;
    pub const S_IFDIR: u32 = 0o040000;
    pub const S_IFCHR: u32 = 0o020000;
    pub const S_IFIFO: u32 = 0o010000;
}

impl Meta {
    pub fn of(m: &std::fs::Metadata) -> Meta {
        use std::os::unix::fs::MetadataExt;
        Meta {
            mode: m.mode(),
            uid: m.uid(),
            gid: m.gid(),
            size: m.size(),
            mtime: m.mtime(),
            rdev: m.rdev(),
            dev: m.dev(),
            ino: m.ino(),
            nlink: m.nlink(),
        }
    }

    /// From a `struct stat` (`fstatat` and the like).
    pub fn of_stat(st: &libc::stat) -> Meta {
        Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            size: st.st_size as u64,
            mtime: st.st_mtime,
            rdev: st.st_rdev,
            dev: st.st_dev,
            ino: st.st_ino,
            nlink: st.st_nlink,
        }
    }

    pub fn file_type(&self) -> u32 {
        self.mode & mode::S_IFMT
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == mode::S_IFDIR
    }

    pub fn is_file(&self) -> bool {
        self.file_type() == mode::S_IFREG
    }

    pub fn is_symlink(&self) -> bool {
        self.file_type() == mode::S_IFLNK
    }
}

/// The root filesystem of a scan subject.
#[derive(Debug, Clone)]
pub struct Root {
    backing: Backing,
    /// Values derived from this root's content, shared by its clones ([`Root::keep`]).
    derived: Arc<derived::Derived>,
}

#[derive(Debug, Clone)]
enum Backing {
    /// A directory on the host.
    Dir(PathBuf),
    /// An image applied in memory; its spooled files live under the tree's own directory.
    Image(Arc<ImageTree>),
}

impl Root {
    /// A root at `dir`, which must be a directory.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Root, RootError> {
        let dir = dir.into();
        let meta = std::fs::metadata(&dir).map_err(|e| RootError::new(&dir, e))?;
        if !meta.is_dir() {
            return Err(RootError::new(&dir, io::Error::other("not a directory")));
        }
        Ok(Root {
            backing: Backing::Dir(dir),
            derived: Arc::default(),
        })
    }

    /// A root over an image whose layers were applied in memory.
    pub fn from_image(tree: Arc<ImageTree>) -> Root {
        Root {
            backing: Backing::Image(tree),
            derived: Arc::default(),
        }
    }

    /// Keep a value derived from this root's content (one per type; a second replaces the
    /// first), for every later user of this root and of its clones: what several judgements
    /// of one subject would otherwise each read again, such as the package database.
    pub fn keep<T: std::any::Any + Send + Sync>(&self, value: T) -> Arc<T> {
        self.derived.keep(value)
    }

    /// The value of type `T` kept with [`Root::keep`], if any.
    pub fn kept<T: std::any::Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.derived.kept()
    }

    /// The image behind this root, when it is one.
    pub fn image(&self) -> Option<&Arc<ImageTree>> {
        match &self.backing {
            Backing::Image(t) => Some(t),
            Backing::Dir(_) => None,
        }
    }

    /// The host directory that [`Root::host_path`] joins onto: the scanned directory, or an
    /// image's spool (where only the files kept from the image exist).
    pub fn dir(&self) -> &Path {
        match &self.backing {
            Backing::Dir(d) => d,
            Backing::Image(t) => t.spool_dir(),
        }
    }

    /// What the root is, for messages: the directory, or the image reference.
    pub fn describe(&self) -> String {
        match &self.backing {
            Backing::Dir(d) => d.display().to_string(),
            Backing::Image(t) => t.describe().to_string(),
        }
    }

    /// The host path of an image path, without resolving anything (for `lstat` of a path
    /// whose parents are already known to be real directories). For an image it exists only
    /// for spooled files (see [`Root::open_regular`]).
    pub fn host_path_unresolved(&self, image_path: &Path) -> PathBuf {
        let rel = image_path.strip_prefix("/").unwrap_or(image_path);
        self.dir().join(rel)
    }

    /// Host path for an already-resolved image path.
    pub fn host_path(&self, resolved: &Path) -> PathBuf {
        self.host_path_unresolved(resolved)
    }

    /// Resolve an image path, following symlinks inside the root. With `follow_last` false
    /// the last component is not followed (like `lstat`). Returns the resolved path inside
    /// the image (absolute, no symlinks in its parents).
    pub fn resolve(&self, image_path: &Path, follow_last: bool) -> Result<PathBuf, RootError> {
        match &self.backing {
            Backing::Dir(d) => resolve::resolve(image_path, follow_last, |comps| dir::kind_of(d, comps)),
            Backing::Image(t) => resolve::resolve(image_path, follow_last, |comps| Ok(t.kind_of(comps))),
        }
    }

    /// `lstat` of an image path: parents resolved inside the root, the last component not.
    pub fn symlink_metadata(&self, image_path: &Path) -> Result<Meta, RootError> {
        let r = self.resolve(image_path, false)?;
        self.meta_of_resolved(&r).map_err(|e| RootError::new(image_path, e))
    }

    /// `stat` of an image path, following every symlink inside the root.
    pub fn metadata(&self, image_path: &Path) -> Result<Meta, RootError> {
        let r = self.resolve(image_path, true)?;
        self.meta_of_resolved(&r).map_err(|e| RootError::new(image_path, e))
    }

    fn meta_of_resolved(&self, resolved: &Path) -> io::Result<Meta> {
        match &self.backing {
            Backing::Dir(_) => std::fs::symlink_metadata(self.host_path(resolved)).map(|m| Meta::of(&m)),
            Backing::Image(t) => t.lookup_path(resolved).map(|id| t.meta(id)).ok_or_else(not_found),
        }
    }

    /// `readlink` of an image path (its parents resolved inside the root).
    pub fn read_link(&self, image_path: &Path) -> Result<PathBuf, RootError> {
        let r = self.resolve(image_path, false)?;
        match &self.backing {
            Backing::Dir(_) => std::fs::read_link(self.host_path(&r)).map_err(|e| RootError::new(image_path, e)),
            Backing::Image(t) => t
                .lookup_path(&r)
                .ok_or_else(not_found)
                .and_then(|id| t.link_target(id).map(image::path_of_bytes))
                .map_err(|e| RootError::new(image_path, e)),
        }
    }

    /// Open a regular file for reading, following symlinks inside the root. Anything but a
    /// regular file (FIFO, socket, device, directory) is refused without blocking. For an
    /// image, the file's content is taken from the spool (read from its layer on first use).
    pub fn open_regular(&self, image_path: &Path) -> Result<File, RootError> {
        let r = self.resolve(image_path, true)?;
        match &self.backing {
            Backing::Dir(_) => open_regular_nofollow(&self.host_path(&r)).map_err(|e| RootError::new(image_path, e)),
            Backing::Image(t) => t.open_regular(&r).map_err(|e| RootError::new(image_path, e)),
        }
    }

    /// Read a whole regular file of at most `limit` bytes.
    pub fn read_bounded(&self, image_path: &Path, limit: u64) -> Result<Vec<u8>, RootError> {
        let f = self.open_regular(image_path)?;
        read_all_bounded(f, limit).map_err(|e| RootError::new(image_path, e))
    }

    /// The names in a directory of the image (symlinks inside the root followed), sorted.
    pub fn read_dir_names(&self, image_path: &Path) -> Result<Vec<OsString>, RootError> {
        let r = self.resolve(image_path, true)?;
        match &self.backing {
            Backing::Dir(_) => dir::read_dir_names(&self.host_path(&r)).map_err(|e| RootError::new(image_path, e)),
            Backing::Image(t) => t.read_dir_names(&r).map_err(|e| RootError::new(image_path, e)),
        }
    }
}

/// ENOENT, with its errno (callers that report errnos, as rpm-verify does, keep it).
pub(crate) fn not_found() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}
