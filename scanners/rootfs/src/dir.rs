//! The directory backing of [`crate::Root`]: a root filesystem that is a folder on the host.
//! Host-side primitives every reader of the host's files shares: opening a path that must be
//! a regular file without blocking or following a final symlink, and bounded reads. The
//! `*_at` forms do the same relative to an open directory ([`open_dir_path`]), so that a
//! caller looking at many files of one directory walks only their names, not the whole host
//! path again for each system call.

use crate::resolve::Kind;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
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
    only_regular(f)
}

/// [`open_regular_nofollow`] of `name` (one path component, no `/`) in the directory `dir`:
/// `openat(2)` with the same flags, then the same check of what was opened.
pub fn open_regular_nofollow_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<File> {
    let fd = with_c_name(name, |c| {
        // SAFETY: `c` is NUL-terminated and `dir` an open descriptor.
        unsafe { libc::openat(dir.as_raw_fd(), c, libc::O_RDONLY | open_flags()) as isize }
    })?;
    // SAFETY: openat returned a new descriptor (an int) that nothing else owns.
    only_regular(unsafe { File::from_raw_fd(fd as libc::c_int) })
}

/// `lstat` of `name` (one path component) in the directory `dir`: `fstatat(2)` with
/// `AT_SYMLINK_NOFOLLOW`.
pub fn lstat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<crate::Meta> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    with_c_name(name, |c| {
        // SAFETY: `c` is NUL-terminated, `dir` open, and `st` valid for a `struct stat`.
        unsafe { libc::fstatat(dir.as_raw_fd(), c, st.as_mut_ptr(), libc::AT_SYMLINK_NOFOLLOW) as isize }
    })?;
    // SAFETY: fstatat succeeded, so it filled `st`.
    Ok(crate::Meta::of_stat(&unsafe { st.assume_init() }))
}

/// `readlink` of `name` (one path component) in the directory `dir`: `readlinkat(2)`, the
/// whole target however long.
pub fn read_link_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        let n = with_c_name(name, |c| {
            // SAFETY: `c` is NUL-terminated, `dir` open, and `buf` valid for its length.
            unsafe { libc::readlinkat(dir.as_raw_fd(), c, buf.as_mut_ptr().cast(), buf.len()) }
        })? as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        let bigger = buf.len() * 4;
        buf.resize(bigger, 0);
    }
}

/// A host directory opened with `O_PATH` (no read permission needed, nothing read), for the
/// `*_at` calls; its last component is not followed, so it must already be resolved.
pub fn open_dir_path(host_path: &Path) -> io::Result<OwnedFd> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(host_path)?;
    Ok(OwnedFd::from(f))
}

/// Run `call` with `name` as a NUL-terminated string (on the stack for names up to 255
/// bytes, the longest a Linux filesystem takes); a negative result is the errno's error.
fn with_c_name(name: &[u8], call: impl FnOnce(*const libc::c_char) -> isize) -> io::Result<isize> {
    if name.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut stack = [0u8; 256];
    let heap;
    let c: &[u8] = if name.len() < stack.len() {
        stack[..name.len()].copy_from_slice(name);
        &stack[..=name.len()]
    } else {
        heap = [name, &[0]].concat();
        &heap
    };
    let r = call(c.as_ptr().cast());
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `f` if it is a regular file; what it is otherwise, as the error.
/// The `fstat` system call itself: std's `metadata()` and glibc's `fstat()` both ask for an
/// empty path relative to the descriptor (`statx`/`newfstatat` with `AT_EMPTY_PATH`), which
/// the kernel first copies and checks as a name. rpm-verify makes this call once per file:
/// its share of the benchmark's CPU time fell from 1.6% to 1.1% (perf).
fn only_regular(f: File) -> io::Result<File> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `f` is an open descriptor and `st` valid for a `struct stat`.
    if unsafe { libc::syscall(libc::SYS_fstat, f.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat succeeded, so it filled `st`.
    let meta = crate::Meta::of_stat(&unsafe { st.assume_init() });
    if !meta.is_file() {
        use crate::mode;
        let what = match meta.file_type() {
            mode::S_IFDIR => "a directory",
            mode::S_IFIFO => "a FIFO",
            mode::S_IFSOCK => "a socket",
            mode::S_IFBLK | mode::S_IFCHR => "a device",
            _ => "not a regular file",
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

    #[test]
    fn at_calls_answer_as_the_path_calls() {
        use super::*;
        use std::os::fd::AsFd;
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("f"), b"data").unwrap();
        nix::unistd::mkfifo(&t.path().join("fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let long = "x".repeat(3000);
        symlink(&long, t.path().join("link")).unwrap();
        let dir = open_dir_path(t.path()).unwrap();
        for name in ["f", "fifo", "link"] {
            let by_path = crate::Meta::of(&std::fs::symlink_metadata(t.path().join(name)).unwrap());
            assert_eq!(lstat_at(dir.as_fd(), name.as_bytes()).unwrap(), by_path, "{name}");
        }
        assert_eq!(read_link_at(dir.as_fd(), b"link").unwrap(), long.as_bytes());
        let mut got = String::new();
        open_regular_nofollow_at(dir.as_fd(), b"f")
            .unwrap()
            .read_to_string(&mut got)
            .unwrap();
        assert_eq!(got, "data");
        let e = open_regular_nofollow_at(dir.as_fd(), b"fifo").unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        // A final symlink is not followed; a missing name is ENOENT.
        assert_eq!(
            open_regular_nofollow_at(dir.as_fd(), b"link")
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ELOOP)
        );
        assert_eq!(
            lstat_at(dir.as_fd(), b"missing").unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        assert_eq!(
            lstat_at(dir.as_fd(), b"a\0b").unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
    }
}
