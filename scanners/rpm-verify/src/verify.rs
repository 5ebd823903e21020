//! `rpm -V` of one file: rpm 4.18's `rpmfilesVerify` (lib/verify.c), in its order, one
//! comment per rule. Everything on disk is looked at through the scanned [`Root`]: parents
//! are resolved inside the root, the file itself is never followed (except a directory that
//! was replaced by a symlink to a directory, as rpm does), only regular files are opened, with
//! `O_NOFOLLOW | O_NONBLOCK`.
//!
//! The function comes in two halves because of one rpm detail: rpm's owner-name cache
//! (see [`crate::owners`]) can make the expected owner of a file depend on the files verified
//! before it (only for empty names, but exactly so), so [`locate`] (file state, `lstat`,
//! expected attributes) runs on one thread in rpm's order, and [`check`] (everything else,
//! the file digest above all) runs on any worker thread.

use crate::acl;
use crate::caps;
use crate::digest::{FileDigester, FileIdentity};
use crate::files::{attr, state, PackageFiles};
use crate::owners::{ExpectedOwner, OwnerCache};
use rpmdb::root::image::tree::NodeId;
use rpmdb::root::{lstat_at, open_dir_path, open_regular_nofollow, open_regular_nofollow_at, read_link_at, Root};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// `rpmVerifyAttrs` bits, as rpm numbers them (defined once, in rpmdb).
pub use rpmdb::package::verify_flags as vf;

const S_IFMT: u32 = 0o170000;
const S_IFDIR: u32 = 0o040000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;
const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;

fn is_type(mode: u32, t: u32) -> bool {
    mode & S_IFMT == t
}

/// `readlink(fn, buf, 1024 + 1 - 1)`: rpm compares at most 1024 bytes of a link target.
const LINK_BUFFER: usize = 1024;

/// The `struct stat` fields verify compares, from the host or from an image's index.
pub use rpmdb::root::Meta as Stat;

/// Where a file that `lstat` found is: a host path (a directory root), the file's basename in
/// a resolved host directory, or an inode of an image applied in memory.
#[derive(Debug, Clone)]
pub enum Place {
    Host(PathBuf),
    /// The file named by its package's BASENAMES entry in this directory.
    InDir(Arc<HostDir>),
    Node(NodeId),
}

/// At most this many directories are held open at once (by the [`DirCache`] and by the files
/// in flight to the workers); beyond it, directories are used by path, as before, so that a
/// root of many small directories cannot take the descriptors the files need.
const MAX_OPEN_DIRS: usize = 64;
/// Directories the cache keeps open: the files of a package come sorted by path, so the
/// last few directories are nearly all the lookups.
const RECENT_DIRS: usize = 8;

static OPEN_DIRS: AtomicUsize = AtomicUsize::new(0);

/// A resolved host directory (no symlink in its path), and when it could be opened, an
/// `O_PATH` descriptor of it: the files in it are then looked at, opened and read as
/// `*at(fd, basename)` — one name looked up per system call instead of the whole host path,
/// and no host path built per file. Without a descriptor (the directory is missing or not a
/// directory, or [`MAX_OPEN_DIRS`] are open) everything goes by path, and fails as the
/// kernel's walk of that path fails.
#[derive(Debug)]
pub struct HostDir {
    path: PathBuf,
    fd: Option<OwnedFd>,
}

impl HostDir {
    fn new(path: PathBuf) -> HostDir {
        let fd = if OPEN_DIRS.fetch_add(1, Ordering::Relaxed) < MAX_OPEN_DIRS {
            open_dir_path(&path).ok()
        } else {
            None
        };
        if fd.is_none() {
            OPEN_DIRS.fetch_sub(1, Ordering::Relaxed);
        }
        HostDir { path, fd }
    }

    /// The host path of `name` in this directory.
    pub fn host_path(&self, name: &[u8]) -> PathBuf {
        self.path.join(OsStr::from_bytes(name))
    }

    fn lstat(&self, name: &[u8]) -> io::Result<Stat> {
        match &self.fd {
            Some(fd) => lstat_at(fd.as_fd(), name),
            None => std::fs::symlink_metadata(self.host_path(name)).map(|m| Stat::of(&m)),
        }
    }

    fn open_regular(&self, name: &[u8]) -> io::Result<File> {
        match &self.fd {
            Some(fd) => open_regular_nofollow_at(fd.as_fd(), name),
            None => open_regular_nofollow(&self.host_path(name)),
        }
    }

    fn read_link(&self, name: &[u8]) -> io::Result<Vec<u8>> {
        match &self.fd {
            Some(fd) => read_link_at(fd.as_fd(), name),
            None => std::fs::read_link(self.host_path(name)).map(|t| t.into_os_string().into_vec()),
        }
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        if self.fd.is_some() {
            OPEN_DIRS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A regular file opened for its checks.
#[derive(Debug)]
pub enum Opened {
    File(File),
    Node(NodeId),
}

/// What `rpmfilesStat` builds from the header: the file as it was packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// FILESIZES for regular files and symlinks, 0 otherwise.
    pub size: u64,
    pub mtime: u32,
    pub rdev: u16,
}

impl Expected {
    /// `rpmfilesStat`: the header's mode, size, mtime and rdev, and the owner as resolved;
    /// an owner that does not resolve costs the set-id bit.
    pub fn of(files: &PackageFiles, ix: usize, owner: ExpectedOwner) -> Expected {
        let mut mode = files.mode(ix) as u32;
        let size = if is_type(mode, S_IFREG) || is_type(mode, S_IFLNK) {
            files.size(ix)
        } else {
            0
        };
        if !owner.user_found {
            mode &= !S_ISUID;
        }
        if !owner.group_found {
            mode &= !S_ISGID;
        }
        Expected {
            mode,
            uid: owner.uid,
            gid: owner.gid,
            size,
            mtime: files.mtime(ix),
            rdev: files.rdev(ix),
        }
    }
}

/// A file found on disk, with the checks still to make.
#[derive(Debug, Clone)]
pub struct Present {
    /// The checks that apply after the file state (`rpmfilesVFlags` as masked so far).
    pub flags: u32,
    /// `lstat` of the file.
    pub lstat: Stat,
    pub expected: Expected,
    /// The file: parents resolved inside the root, last component not followed.
    pub place: Place,
}

/// The first half of `rpmfilesVerify`.
#[derive(Debug, Clone)]
pub enum Located {
    /// Not installed or on a net-shared path: rpm pretends all is well.
    Skipped,
    /// `lstat` failed with this errno: rpm's `missing`.
    Missing {
        errno: i32,
    },
    Present(Present),
}

/// Resolved directories of the root: each directory is looked at once, below its parent's
/// resolution, so a lookup costs one `lstat` per new directory, and one per file (relative to
/// the directory, held open: see [`HostDir`]).
#[derive(Debug, Default)]
pub struct DirCache {
    /// `/a/b` (no trailing slash) → the host directory, or the errno every lookup below it gets.
    dirs: HashMap<Vec<u8>, Result<PathBuf, i32>>,
    /// The last directories files were looked up in, by their DIRNAMES entry, newest last.
    recent: Vec<(Vec<u8>, Arc<HostDir>)>,
}

/// The errno of a failed lookup inside the root. Root reports a symlink loop without one:
/// the kernel's is ELOOP.
fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::ELOOP)
}

/// A resolved path of the root and its `lstat`.
fn place_of(root: &Root, resolved: &Path) -> Option<(Place, Stat)> {
    match root.image() {
        Some(tree) => tree.lookup_path(resolved).map(|id| (Place::Node(id), tree.meta(id))),
        None => {
            let host = root.host_path(resolved);
            let m = std::fs::symlink_metadata(&host).ok()?;
            Some((Place::Host(host), Stat::of(&m)))
        }
    }
}

impl DirCache {
    pub fn new() -> DirCache {
        DirCache::default()
    }

    /// The host directory of an image directory, every symlink in it resolved inside the root;
    /// an errno when a lookup below it must fail (ENOTDIR, ELOOP, EACCES…). A directory that
    /// does not exist resolves to where it would be, so that the lookup below it fails with
    /// ENOENT, as the kernel's would.
    fn resolve_dir(&mut self, root: &Root, dir: &[u8]) -> Result<PathBuf, i32> {
        // A clean DIRNAMES entry ("/usr/lib/") is its own key without the final slash.
        let clean = dir.strip_suffix(b"/").unwrap_or(dir);
        if !clean.is_empty() && !clean.windows(2).any(|w| w == b"//") && !clean.ends_with(b"/.") {
            if let Some(r) = self.dirs.get(clean) {
                return r.clone();
            }
        }
        let comps: Vec<&[u8]> = dir.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
        let key_of = |n: usize| -> Vec<u8> {
            let mut k = Vec::new();
            for c in &comps[..n] {
                k.push(b'/');
                k.extend_from_slice(c);
            }
            k
        };
        if let Some(r) = self.dirs.get(&key_of(comps.len())) {
            return r.clone();
        }
        if comps.iter().any(|c| *c == b"." || *c == b"..") {
            // Dots: let the root walk all of it.
            let r = root
                .resolve(Path::new(OsStr::from_bytes(dir)), true)
                .map(|p| root.host_path(&p))
                .map_err(|e| errno_of(&e.source));
            self.dirs.insert(key_of(comps.len()), r.clone());
            return r;
        }
        // The deepest directory already known, then one component at a time.
        let mut depth = comps.len();
        let mut current = Ok(root.dir().to_path_buf());
        while depth > 0 {
            if let Some(r) = self.dirs.get(&key_of(depth)) {
                current = r.clone();
                break;
            }
            depth -= 1;
        }
        for d in depth + 1..=comps.len() {
            let key = key_of(d);
            current = match current {
                Err(e) => Err(e),
                Ok(parent) => {
                    let candidate = parent.join(OsStr::from_bytes(comps[d - 1]));
                    match std::fs::symlink_metadata(&candidate) {
                        Ok(m) if m.file_type().is_symlink() => root
                            .resolve(Path::new(OsStr::from_bytes(&key)), true)
                            .map(|p| root.host_path(&p))
                            .map_err(|e| errno_of(&e.source)),
                        Ok(_) => Ok(candidate),
                        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(candidate),
                        Err(e) => Err(errno_of(&e)),
                    }
                }
            };
            self.dirs.insert(key, current.clone());
        }
        current
    }

    /// `lstat` of a packaged path, as rpm does after `chroot`: every parent resolved inside
    /// the root, the last component not followed. Returns the host path and its metadata.
    pub fn lstat(&mut self, root: &Root, path: &[u8], base_start: usize) -> Result<(Place, Stat), i32> {
        if let Some(tree) = root.image() {
            // The image's index answers from memory; no directory cache needed.
            let resolved = root
                .resolve(Path::new(OsStr::from_bytes(path)), false)
                .map_err(|e| errno_of(&e.source))?;
            let id = tree.lookup_path(&resolved).ok_or(libc::ENOENT)?;
            return Ok((Place::Node(id), tree.meta(id)));
        }
        let (dir, base) = path.split_at(base_start.min(path.len()));
        let plain_base = !base.is_empty() && base != b"." && base != b".." && !base.contains(&b'/');
        if plain_base && dir.first() == Some(&b'/') {
            // The basename in its resolved directory: the `Place` a worker opens it by.
            let host_dir = self.host_dir(root, dir)?;
            let meta = host_dir.lstat(base).map_err(|e| errno_of(&e))?;
            return Ok((Place::InDir(host_dir), meta));
        }
        // An odd path (a basename with a slash or dots, a relative directory): let the root
        // resolve all of it.
        let resolved = root
            .resolve(Path::new(OsStr::from_bytes(path)), false)
            .map_err(|e| errno_of(&e.source))?;
        let host = root.host_path(&resolved);
        let meta = std::fs::symlink_metadata(&host).map_err(|e| errno_of(&e))?;
        Ok((Place::Host(host), Stat::of(&meta)))
    }

    /// The resolved directory of a DIRNAMES entry, from the recent ones or resolved (an
    /// errno when lookups below it fail).
    fn host_dir(&mut self, root: &Root, dir: &[u8]) -> Result<Arc<HostDir>, i32> {
        if let Some(i) = self.recent.iter().rposition(|(k, _)| k == dir) {
            return Ok(Arc::clone(&self.recent[i].1));
        }
        let resolved = Arc::new(HostDir::new(self.resolve_dir(root, dir)?));
        if self.recent.len() == RECENT_DIRS {
            self.recent.remove(0);
        }
        self.recent.push((dir.to_vec(), Arc::clone(&resolved)));
        Ok(resolved)
    }
}

/// `rpmfilesVerify`, first half: the file state, then `lstat`, then what the header expects.
/// Call it for every file of every package in rpm's order (database order, header order):
/// the owner cache sees the files rpm's `rpmfilesStat` sees, in the same order.
pub fn locate(root: &Root, dirs: &mut DirCache, owners: &mut OwnerCache, files: &PackageFiles, ix: usize) -> Located {
    let mut flags = files.verify_flags(ix);

    // Check to see if the file was installed - if not pretend all is OK.
    match files.state(ix) {
        state::NET_SHARED | state::NOT_INSTALLED => return Located::Skipped,
        // For replaced files we can only verify if it exists at all.
        state::REPLACED => flags = vf::LSTATFAIL,
        // Files with wrong color share some attributes with the installed file.
        state::WRONG_COLOR => flags &= !(vf::DIGEST | vf::FILESIZE | vf::MTIME | vf::RDEV),
        // Normal, "no state" and unknown values: verify.
        _ => {}
    }

    // lstat fails: missing. rpmfilesStat (and its owner lookups) only runs when it succeeds.
    let path = files.path(ix);
    let (place, lstat) = match dirs.lstat(root, path, files.dirname(ix).len()) {
        Ok(found) => found,
        Err(errno) => return Located::Missing { errno },
    };
    let owner = owners.expected(files.user(ix), files.group(ix));
    Located::Present(Present {
        flags,
        lstat,
        expected: Expected::of(files, ix, owner),
        place,
    })
}

/// How [`check`] reads the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Report an extended POSIX ACL as a mode change (rpm built with libacl).
    pub acls: bool,
}

/// `rpmfilesVerify`, second half: which checks apply, then each check. Returns the
/// `rpmVerifyAttrs` bits that differ (with `READFAIL` / `READLINKFAIL` where a check could
/// not be made). `digester` is the worker's means to read files.
pub fn check(
    root: &Root,
    files: &PackageFiles,
    ix: usize,
    p: &Present,
    options: CheckOptions,
    digester: &mut FileDigester,
) -> u32 {
    let file_attrs = files.flags(ix);
    let fsb = p.expected;
    let mut flags = p.flags;
    let mut sb = p.lstat;
    let mut vfy = 0u32;
    // The followed target, when a directory symlink is followed: its attributes count.
    let mut followed: Option<Place> = None;

    // If we expected a directory but got a symlink to one, follow the link, if it actually
    // points to a directory and is owned by root or by the directory's owner (as fsmVerify).
    if is_type(fsb.mode, S_IFDIR) && is_type(sb.mode, S_IFLNK) {
        let path = Path::new(OsStr::from_bytes(files.path(ix)));
        if let Some((target, dsb)) = root.resolve(path, true).ok().and_then(|r| place_of(root, &r)) {
            if is_type(dsb.mode, S_IFDIR) && (sb.uid == 0 || sb.uid == dsb.uid) {
                sb = dsb;
                followed = Some(target);
            }
        }
    }

    // Links have no mode, other types have no linkto.
    if is_type(sb.mode, S_IFLNK) {
        flags &= !vf::MODE;
    } else {
        flags &= !vf::LINKTO;
    }

    // Not all attributes of non-regular files can be verified.
    if !is_type(sb.mode, S_IFREG) {
        flags &= !(vf::DIGEST | vf::FILESIZE | vf::MTIME | vf::CAPS);
    }

    // Content checks of %ghost files are meaningless.
    if file_attrs & attr::GHOST != 0 {
        flags &= !(vf::DIGEST | vf::FILESIZE | vf::MTIME | vf::LINKTO);
    }

    // rpm -Va omits nothing else; the failure bits are never checks.
    flags &= !vf::FAILURES;

    // A regular file is opened once, for its digest and its xattrs (read through the
    // descriptor rather than by path again). Not a check of its own: a file that cannot be
    // opened is judged below as rpm judges it.
    let file = if is_type(sb.mode, S_IFREG) && flags & (vf::DIGEST | vf::CAPS | vf::MODE) != 0 {
        match &p.place {
            Place::Host(host) => open_regular_nofollow(host).ok().map(Opened::File),
            Place::InDir(dir) => dir.open_regular(files.basename(ix)).ok().map(Opened::File),
            Place::Node(id) => Some(Opened::Node(*id)),
        }
    } else {
        None
    };

    // The names of the file's xattrs, read once: most files have neither capabilities nor
    // an ACL, and then neither value is read. `None`: not listed, read each one.
    let xattr_names = match &file {
        Some(f) if flags & (vf::CAPS | vf::MODE) != 0 => list_xattrs(root, f),
        _ => None,
    };
    let may_have = |name: &std::ffi::CStr| {
        xattr_names
            .as_ref()
            .is_none_or(|names| names.split(|&b| b == 0).any(|n| n == name.to_bytes()))
    };

    if flags & vf::DIGEST != 0 {
        vfy |= check_digest(root, files, ix, file.as_ref(), sb, digester);
    }

    if flags & vf::LINKTO != 0 {
        let link = match &p.place {
            Place::Host(host) => std::fs::read_link(host).map(|t| t.into_os_string().into_vec()),
            Place::InDir(dir) => dir.read_link(files.basename(ix)),
            Place::Node(id) => root
                .image()
                .map_or(Err(io::Error::other("no image")), |t| t.link_target(*id)),
        };
        match link {
            Err(_) => vfy |= vf::READLINKFAIL | vf::LINKTO,
            Ok(target) => {
                let target = target.as_slice();
                let target = &target[..target.len().min(LINK_BUFFER)];
                if files.link_target(ix) != Some(target) {
                    vfy |= vf::LINKTO;
                }
            }
        }
    }

    if flags & vf::FILESIZE != 0 && sb.size != fsb.size {
        vfy |= vf::FILESIZE;
    }

    if flags & vf::MODE != 0 {
        let mut metamode = fsb.mode;
        let mut filemode = sb.mode;
        // Comparing the type of %ghost files is meaningless, but perms are OK.
        if file_attrs & attr::GHOST != 0 {
            metamode &= !S_IFMT;
            filemode &= !S_IFMT;
        }
        if metamode != filemode {
            vfy |= vf::MODE;
        }
        // Any non-default ACL is a difference, as rpm cannot have set it.
        if options.acls
            && may_have(c"system.posix_acl_access")
            && read_xattr(
                root,
                file.as_ref(),
                followed.as_ref().unwrap_or(&p.place),
                files.basename(ix),
                c"system.posix_acl_access",
                1 << 20,
            )
            .is_some_and(|v| acl::is_extended(&v))
        {
            vfy |= vf::MODE;
        }
    }

    // Same shape as rpm's: a type change, else a device number change.
    #[allow(clippy::if_same_then_else)]
    if flags & vf::RDEV != 0 {
        let chr = |m: u32| is_type(m, S_IFCHR);
        let blk = |m: u32| is_type(m, S_IFBLK);
        if chr(fsb.mode) != chr(sb.mode) || blk(fsb.mode) != blk(sb.mode) {
            vfy |= vf::RDEV;
        } else if (chr(fsb.mode) || blk(fsb.mode)) && (sb.rdev & 0xffff) != u64::from(fsb.rdev) {
            vfy |= vf::RDEV;
        }
    }

    if flags & vf::CAPS != 0 {
        let header = caps::from_header(files.caps(ix));
        // cap_get_file reads at most a revision-3 value (24 bytes); more is no set.
        let file = if may_have(c"security.capability") {
            read_xattr(
                root,
                file.as_ref(),
                &p.place,
                files.basename(ix),
                c"security.capability",
                24,
            )
            .and_then(|raw| caps::from_xattr(&raw))
        } else {
            None
        };
        if caps::differ(header, file) {
            vfy |= vf::CAPS;
        }
    }

    if flags & vf::MTIME != 0 && sb.mtime != i64::from(fsb.mtime) {
        vfy |= vf::MTIME;
    }

    if flags & vf::USER != 0 && sb.uid != fsb.uid {
        vfy |= vf::USER;
    }

    if flags & vf::GROUP != 0 && sb.gid != fsb.gid {
        vfy |= vf::GROUP;
    }

    vfy
}

/// The digest check. A file that cannot be opened or read gives `?` (READFAIL). A file whose
/// size already differs from the header's cannot have the packaged digest, so it is not
/// read: rpm would hash it and print `5`, and so do we, without the I/O.
fn check_digest(
    root: &Root,
    files: &PackageFiles,
    ix: usize,
    file: Option<&Opened>,
    sb: Stat,
    digester: &mut FileDigester,
) -> u32 {
    let Some(want) = files.digest(ix) else {
        // No digest in the header to compare with.
        return vf::DIGEST;
    };
    let Some(file) = file else {
        return vf::READFAIL | vf::DIGEST;
    };
    // An empty header digest is all zeros, which no content hashes to.
    let zero_digest = want.iter().all(|&b| b == 0);
    if zero_digest || sb.size != files.size(ix) {
        return vf::DIGEST;
    }
    let id = FileIdentity {
        dev: sb.dev,
        ino: sb.ino,
        nlink: sb.nlink,
        size: sb.size,
    };
    let got = match file {
        Opened::File(f) => digester.digest(files.digest_algo(), f, id),
        Opened::Node(node) => digester.image_digest(root, files.digest_algo(), *node),
    };
    match got {
        Err(_) => vf::READFAIL | vf::DIGEST,
        Ok(got) if got != want => vf::DIGEST,
        Ok(_) => 0,
    }
}

/// The NUL-separated names of an open file's extended attributes (`flistxattr`, or the
/// image's record); `None` when they cannot be listed in 4 KiB (the caller then asks for
/// each value).
fn list_xattrs(root: &Root, file: &Opened) -> Option<Vec<u8>> {
    let f = match file {
        Opened::File(f) => f,
        Opened::Node(id) => {
            let node = root.image()?.node(*id);
            let mut names = Vec::new();
            for (name, _) in &node.xattrs {
                names.extend_from_slice(name);
                names.push(0);
            }
            return Some(names);
        }
    };
    let mut buf = [0u8; 4096];
    // SAFETY: the descriptor is open and the buffer valid for its length.
    let n = unsafe { libc::flistxattr(f.as_raw_fd(), buf.as_mut_ptr().cast::<libc::c_char>(), buf.len()) };
    // Most files have none: no allocation then.
    let names = buf.get(..usize::try_from(n).ok()?)?;
    Some(names.to_vec())
}

/// An extended attribute of at most `limit` bytes: through the open file when there is one
/// (`fgetxattr`), else by path without following a final symlink (`lgetxattr`), or from the
/// image's record of the inode; `None` when absent, unsupported, or larger. `base` is the
/// file's basename, for a [`Place::InDir`].
pub fn read_xattr(
    root: &Root,
    file: Option<&Opened>,
    place: &Place,
    base: &[u8],
    name: &std::ffi::CStr,
    limit: usize,
) -> Option<Vec<u8>> {
    let node = match (file, place) {
        (Some(Opened::Node(id)), _) | (None, Place::Node(id)) => Some(*id),
        _ => None,
    };
    if let Some(id) = node {
        let value = root.image()?.node(id).xattr(name.to_bytes())?;
        return (value.len() <= limit).then(|| value.to_vec());
    }
    let file = match file {
        Some(Opened::File(f)) => Some(f),
        _ => None,
    };
    let c_path = match (file, place) {
        (Some(_), _) => None,
        (None, Place::Host(host_path)) => Some(std::ffi::CString::new(host_path.as_os_str().as_bytes()).ok()?),
        // No lgetxattrat: by the host path, as for Place::Host.
        (None, Place::InDir(dir)) => {
            Some(std::ffi::CString::new(dir.host_path(base).into_os_string().into_vec()).ok()?)
        }
        (None, Place::Node(_)) => return None,
    };
    let mut buf = vec![0u8; limit.clamp(1, 256)];
    loop {
        let dest = buf.as_mut_ptr().cast::<libc::c_void>();
        // SAFETY: the name and path are NUL-terminated, the descriptor is open, and the
        // buffer is valid for its length.
        let n = unsafe {
            match (file, &c_path) {
                (Some(f), _) => libc::fgetxattr(f.as_raw_fd(), name.as_ptr(), dest, buf.len()),
                (None, Some(p)) => libc::lgetxattr(p.as_ptr(), name.as_ptr(), dest, buf.len()),
                (None, None) => return None,
            }
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Some(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ERANGE) && buf.len() < limit {
            let bigger = (buf.len() * 4).min(limit);
            buf.resize(bigger, 0);
            continue;
        }
        return None;
    }
}
