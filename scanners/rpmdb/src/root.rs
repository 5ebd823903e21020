//! A safe, read-only view of a scanned root filesystem.
//!
//! Every path a scanner looks at in an image goes through [`Root`]: symlinks are resolved
//! **inside** the root (an absolute target means `<root>/target`, `..` stops at the root), at
//! most [`MAX_SYMLINKS`] of them per lookup as the kernel allows; files are opened with
//! `O_NOFOLLOW | O_NONBLOCK` and must be regular files, so a FIFO or device in the image can
//! never block or be read; reads are bounded by a caller-given size. Nothing here writes.

use std::ffi::OsStr;
use std::fmt;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// The kernel's limit on symlinks followed in one lookup (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// An I/O error on a path inside the root, naming the path as the image sees it.
#[derive(Debug)]
pub struct RootError {
    /// The path inside the image, e.g. `/var/lib/rpm/Packages`.
    pub path: PathBuf,
    pub source: io::Error,
}

impl fmt::Display for RootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.source)
    }
}

impl std::error::Error for RootError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
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

/// The root filesystem of an image, as a directory on the host.
#[derive(Debug, Clone)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// A root at `dir`, which must be a directory.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Root, RootError> {
        let dir = dir.into();
        let meta = std::fs::metadata(&dir).map_err(|e| RootError::new(&dir, e))?;
        if !meta.is_dir() {
            return Err(RootError::new(&dir, io::Error::other("not a directory")));
        }
        Ok(Root { dir })
    }

    /// The host directory of this root.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The host path of an image path, without resolving anything (for `lstat` of a path
    /// whose parents are already known to be real directories).
    pub fn host_path_unresolved(&self, image_path: &Path) -> PathBuf {
        let rel = image_path.strip_prefix("/").unwrap_or(image_path);
        self.dir.join(rel)
    }

    /// Resolve an image path to the host path it names, following symlinks inside the root.
    /// With `follow_last` false the last component is not followed (like `lstat`).
    /// Returns the resolved path inside the image (absolute, no symlinks in its parents).
    pub fn resolve(&self, image_path: &Path, follow_last: bool) -> Result<PathBuf, RootError> {
        let mut resolved: Vec<Vec<u8>> = Vec::new();
        // Components still to walk, last first so that pop() gives the next one.
        let mut pending: Vec<Vec<u8>> = components_rev(image_path);
        let mut links = 0usize;
        while let Some(comp) = pending.pop() {
            match comp.as_slice() {
                b"." | b"" => continue,
                b".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            let is_last = pending.is_empty();
            resolved.push(comp);
            if is_last && !follow_last {
                break;
            }
            let here = self.host_of(&resolved);
            let meta = match std::fs::symlink_metadata(&here) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound && is_last => break,
                Err(e) => return Err(RootError::new(image_of(&resolved), e)),
            };
            if meta.file_type().is_symlink() {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(RootError::new(
                        image_path,
                        io::Error::other(format!("more than {MAX_SYMLINKS} symlinks (a loop?)")),
                    ));
                }
                let target = std::fs::read_link(&here).map_err(|e| RootError::new(image_of(&resolved), e))?;
                resolved.pop();
                if target.is_absolute() {
                    resolved.clear();
                }
                pending.extend(components_rev(&target));
            } else if !is_last && !meta.is_dir() {
                return Err(RootError::new(
                    image_of(&resolved),
                    io::Error::from_raw_os_error(libc_enotdir()),
                ));
            }
        }
        Ok(image_of(&resolved))
    }

    fn host_of(&self, comps: &[Vec<u8>]) -> PathBuf {
        let mut p = self.dir.clone();
        for c in comps {
            p.push(OsStr::from_bytes(c));
        }
        p
    }

    /// Host path for an already-resolved image path.
    pub fn host_path(&self, resolved: &Path) -> PathBuf {
        self.host_path_unresolved(resolved)
    }

    /// `lstat` of an image path: parents resolved inside the root, the last component not.
    pub fn symlink_metadata(&self, image_path: &Path) -> Result<Metadata, RootError> {
        let r = self.resolve(image_path, false)?;
        std::fs::symlink_metadata(self.host_path(&r)).map_err(|e| RootError::new(image_path, e))
    }

    /// `stat` of an image path, following every symlink inside the root.
    pub fn metadata(&self, image_path: &Path) -> Result<Metadata, RootError> {
        let r = self.resolve(image_path, true)?;
        std::fs::symlink_metadata(self.host_path(&r)).map_err(|e| RootError::new(image_path, e))
    }

    /// `readlink` of an image path (its parents resolved inside the root).
    pub fn read_link(&self, image_path: &Path) -> Result<PathBuf, RootError> {
        let r = self.resolve(image_path, false)?;
        std::fs::read_link(self.host_path(&r)).map_err(|e| RootError::new(image_path, e))
    }

    /// Open a regular file for reading, following symlinks inside the root. Anything but a
    /// regular file (FIFO, socket, device, directory) is refused without blocking.
    pub fn open_regular(&self, image_path: &Path) -> Result<File, RootError> {
        let r = self.resolve(image_path, true)?;
        open_regular_nofollow(&self.host_path(&r)).map_err(|e| RootError::new(image_path, e))
    }

    /// Read a whole regular file of at most `limit` bytes.
    pub fn read_bounded(&self, image_path: &Path, limit: u64) -> Result<Vec<u8>, RootError> {
        let f = self.open_regular(image_path)?;
        read_all_bounded(f, limit).map_err(|e| RootError::new(image_path, e))
    }

    /// The names in a directory of the image (symlinks inside the root followed), sorted.
    pub fn read_dir_names(&self, image_path: &Path) -> Result<Vec<std::ffi::OsString>, RootError> {
        let r = self.resolve(image_path, true)?;
        let mut names: Vec<_> = std::fs::read_dir(self.host_path(&r))
            .map_err(|e| RootError::new(image_path, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        names.sort();
        Ok(names)
    }
}

fn libc_enotdir() -> i32 {
    nix::errno::Errno::ENOTDIR as i32
}

fn components_rev(p: &Path) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.as_bytes().to_vec()),
            Component::ParentDir => Some(b"..".to_vec()),
            _ => None,
        })
        .collect();
    v.reverse();
    v
}

fn image_of(comps: &[Vec<u8>]) -> PathBuf {
    let mut p = PathBuf::from("/");
    for c in comps {
        p.push(OsStr::from_bytes(c));
    }
    p
}

/// Open a host path that must be a regular file, never blocking on a FIFO or device and
/// never following a final symlink.
pub fn open_regular_nofollow(host_path: &Path) -> io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_flags())
        .open(host_path)?;
    let ft = f.metadata()?.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_block_device() || ft.is_char_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(io::Error::other(format!("is {what}, not a regular file")));
    }
    Ok(f)
}

fn libc_flags() -> i32 {
    use nix::fcntl::OFlag;
    (OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).bits()
}

/// Read at most `limit` bytes; more is an error, not a truncation.
pub fn read_all_bounded(f: File, limit: u64) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    f.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(io::Error::other(format!("larger than the {limit}-byte limit")));
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_stay_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("usr/lib/sysimage/rpm")).unwrap();
        std::fs::create_dir_all(r.join("var/lib")).unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        symlink("../../usr/lib/sysimage/rpm", r.join("var/lib/rpm")).unwrap();
        symlink("/etc/shadow", r.join("abs")).unwrap();
        symlink("../../../../../../etc/passwd", r.join("climb")).unwrap();
        symlink("loop2", r.join("loop1")).unwrap();
        symlink("loop1", r.join("loop2")).unwrap();
        let root = Root::new(r).unwrap();
        assert_eq!(
            root.resolve(Path::new("/var/lib/rpm"), true).unwrap(),
            Path::new("/usr/lib/sysimage/rpm")
        );
        assert_eq!(root.resolve(Path::new("/abs"), true).unwrap(), Path::new("/etc/shadow"));
        assert_eq!(
            root.resolve(Path::new("/climb"), true).unwrap(),
            Path::new("/etc/passwd")
        );
        assert!(root.read_bounded(Path::new("/abs"), 100).unwrap_err().is_not_found());
        assert!(root.read_bounded(Path::new("/climb"), 100).unwrap_err().is_not_found());
        assert!(root.resolve(Path::new("/loop1"), true).is_err());
        assert_eq!(root.resolve(Path::new("/loop1"), false).unwrap(), Path::new("/loop1"));
    }

    #[test]
    fn fifos_are_refused_without_blocking() {
        let t = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&t.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let root = Root::new(t.path()).unwrap();
        let e = root.read_bounded(Path::new("/fifo"), 10).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
    }

    #[test]
    fn reads_are_bounded() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("f"), vec![0u8; 100]).unwrap();
        let root = Root::new(t.path()).unwrap();
        assert_eq!(root.read_bounded(Path::new("/f"), 100).unwrap().len(), 100);
        assert!(root.read_bounded(Path::new("f"), 99).is_err());
    }
}
