//! The directory backing of [`crate::Root`]: a root filesystem that is a folder on the host.
//! Host-side primitives every reader of the host's files shares: opening a path that must be
//! a regular file without blocking or following a final symlink, and bounded reads.

use crate::resolve::Kind;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// What the host path of resolved components is (its last component not followed).
pub(crate) fn kind_of(dir: &Path, comps: &[Vec<u8>]) -> io::Result<Kind> {
    let mut here = dir.to_path_buf();
    for c in comps {
        here.push(OsStr::from_bytes(c));
    }
    let meta = match std::fs::symlink_metadata(&here) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Kind::Missing),
        Err(e) => return Err(e),
    };
    Ok(if meta.file_type().is_symlink() {
        Kind::Symlink(std::fs::read_link(&here)?.into_os_string().into_vec())
    } else if meta.is_dir() {
        Kind::Dir
    } else {
        Kind::Other
    })
}

/// The names in a host directory, sorted.
pub(crate) fn read_dir_names(host: &PathBuf) -> io::Result<Vec<OsString>> {
    let mut names: Vec<_> = std::fs::read_dir(host)?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    Ok(names)
}

/// Open a host path that must be a regular file, never blocking on a FIFO or device and
/// never following a final symlink.
pub fn open_regular_nofollow(host_path: &Path) -> io::Result<File> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(open_flags())
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

fn open_flags() -> i32 {
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
    use crate::Root;
    use std::os::unix::fs::symlink;
    use std::path::Path;

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
