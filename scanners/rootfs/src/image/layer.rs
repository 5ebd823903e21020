//! Reading one layer into [`Entry`] values, in one streaming pass: a tar stream (PAX long
//! names, sizes, numeric ids, `SCHILY.xattr.*`, GNU long names, hard links) or a
//! containers-storage diff directory (overlay whiteout devices, opaque-directory xattrs).
//! Regular files are hashed (SHA-256) and, when the spool rules keep them, copied to the
//! spool as they stream past; nothing else of their content is held.

use super::entry::{normalise, whiteout_of, Entry, EntryKind, Origin, Xattrs};
use super::spool::{Spool, SpoolRules};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What one layer pass does besides indexing.
pub struct LayerPass<'a> {
    pub layer: usize,
    /// Host ids to image ids, for layer folders (a rootless user's storage).
    pub ids: Option<&'a super::IdMap>,
    /// Hash every regular file (rpm-verify needs the digests).
    pub hash: bool,
    pub spool: &'a Spool,
    pub rules: &'a SpoolRules,
    /// The most entries one layer may hold (a bound on memory for hostile layers).
    pub max_entries: usize,
}

/// The most bytes of path names (and link targets) one layer may hold in memory: a bound
/// for layers of millions of entries with names of kilobytes.
pub const MAX_NAME_BYTES: usize = 256 << 20;

/// A layer that cannot be read: the message names the entry where it went wrong.
pub type LayerError = String;

const BUFFER: usize = 256 << 10;

impl LayerPass<'_> {
    /// Stream a regular file's content: hash it, keep it when the rules say so.
    fn take_content(
        &self,
        path: &[u8],
        size: u64,
        content: &mut dyn Read,
    ) -> io::Result<(Option<[u8; 32]>, Option<PathBuf>)> {
        let mut spool = match self.rules.limit_for(path) {
            Some(limit) if size <= limit && self.spool.reserve(size) => Some(self.spool.create(self.layer, path)?),
            _ => None,
        };
        let mut hasher = self.hash.then(Sha256::new);
        let mut buf = vec![0u8; BUFFER.min(size.max(1) as usize)];
        let mut total = 0u64;
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n as u64;
            if total > size {
                return Err(io::Error::other("the file is longer than its header says"));
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            if let Some((_, f)) = spool.as_mut() {
                f.write_all(&buf[..n])?;
            }
        }
        if total != size {
            return Err(io::Error::other(format!("the file ends after {total} of {size} bytes")));
        }
        Ok((hasher.map(|h| h.finalize().into()), spool.map(|(p, _)| p)))
    }
}

/// Read a layer's tar stream (already decompressed). Reading to the end matters: the stream
/// checks its digest there, and an error then discards the whole layer.
pub fn read_tar(reader: impl Read, pass: &LayerPass) -> Result<Vec<Entry>, LayerError> {
    let guard = StreamGuard::new(reader);
    let (ended, allowance) = (Arc::clone(&guard.ended), Arc::clone(&guard.allowance));
    let mut archive = tar::Archive::new(guard);
    let mut entries = Vec::new();
    let mut names = 0usize;
    let mut iter = archive
        .entries()
        .map_err(|e| format!("not a tar stream: {e}"))?
        .enumerate();
    loop {
        // Between two entries the tar reader reads headers, long names and PAX records, and
        // holds them in memory: bounded here, so that a hostile 8 GiB "long name" is an error.
        allowance.store(MAX_HEADER_BYTES, Ordering::Relaxed);
        let Some((seq, item)) = iter.next() else { break };
        allowance.store(UNLIMITED, Ordering::Relaxed);
        let mut item = match item {
            Ok(item) => item,
            // The stream ended cleanly (its digest checked) right after an entry's data, with
            // no padding or end-of-archive blocks: Go's archive/tar, and so umoci and the
            // engines, read that as the end (`umoci insert` writes such layers).
            Err(e) if ended.load(Ordering::Relaxed) && e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) if ended.load(Ordering::Relaxed) && e.to_string().contains("unexpected EOF") => break,
            Err(e) => return Err(format!("entry {seq}: {e}")),
        };
        if entries.len() >= pass.max_entries {
            return Err(format!("more than {} entries in one layer", pass.max_entries));
        }
        let raw_path = item.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let entry = tar_entry(&mut item, &raw_path, seq as u32, pass).map_err(|e| format!("{shown}: {e}"))?;
        if let Some(entry) = entry {
            names += entry.path.len() + link_len(&entry.kind);
            if names > MAX_NAME_BYTES {
                return Err(format!("more than {MAX_NAME_BYTES} bytes of names in one layer"));
            }
            entries.push(entry);
        }
    }
    // The tar's end-of-archive blocks are read; whatever follows (padding) must be read too,
    // so that the stream's digest check runs.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| format!("after the last entry: {e}"))?;
    Ok(entries)
}

fn tar_entry<R: Read>(
    item: &mut tar::Entry<R>,
    raw_path: &[u8],
    seq: u32,
    pass: &LayerPass,
) -> Result<Option<Entry>, String> {
    use tar::EntryType as T;
    let header = item.header().clone();
    let ty = header.entry_type();
    let mut xattrs = Vec::new();
    let mut pax_mtime = None;
    if let Some(exts) = item.pax_extensions().map_err(|e| e.to_string())? {
        for ext in exts {
            let ext = ext.map_err(|e| format!("PAX header: {e}"))?;
            let key = ext.key_bytes();
            if let Some(name) = key.strip_prefix(b"SCHILY.xattr.") {
                xattrs.push((Box::from(name), Box::from(ext.value_bytes())));
            } else if key == b"mtime" {
                pax_mtime = parse_pax_time(ext.value_bytes());
            }
        }
    }
    let path = normalise(raw_path)?;
    if let Some((kind, target)) = whiteout_of(&path)? {
        return Ok(Some(bare(target, kind, Origin::Tar { seq })));
    }
    let link = || -> Result<Vec<u8>, String> {
        item.link_name_bytes()
            .map(|l| l.into_owned())
            .ok_or_else(|| "a link without a target".to_string())
    };
    let kind = match ty {
        T::Regular | T::Continuous | T::GNUSparse => EntryKind::Regular,
        T::Directory => EntryKind::Dir,
        T::Symlink => EntryKind::Symlink(link()?),
        T::Link => EntryKind::HardLink(normalise(&link()?).map_err(|e| format!("hard link target: {e}"))?),
        T::Char => EntryKind::Char,
        T::Block => EntryKind::Block,
        T::Fifo => EntryKind::Fifo,
        // Global PAX headers and unknown types change nothing in the tree.
        _ => return Ok(None),
    };
    let mut entry = bare(path, kind, Origin::Tar { seq });
    let old = header.as_old();
    entry.perms = numeric(header.mode().map(u64::from), &old.mode)? as u32 & 0o7777;
    entry.uid = u32::try_from(numeric(header.uid(), &old.uid)?).map_err(|_| "uid out of range")?;
    entry.gid = u32::try_from(numeric(header.gid(), &old.gid)?).map_err(|_| "gid out of range")?;
    entry.mtime = match pax_mtime {
        Some(t) => t,
        None => i64::try_from(numeric(header.mtime(), &old.mtime)?).unwrap_or(i64::MAX),
    };
    entry.xattrs = xattrs;
    if matches!(entry.kind, EntryKind::Char | EntryKind::Block) {
        let major = header.device_major().ok().flatten().unwrap_or(0);
        let minor = header.device_minor().ok().flatten().unwrap_or(0);
        entry.rdev = libc::makedev(major, minor);
    }
    if entry.kind == EntryKind::Regular {
        entry.size = item.size();
        // A sparse entry's holes cost nothing in the stream: a 1 KiB layer can claim a file
        // of a terabyte of zeros. No package ships sparse files; a large one is hostile.
        if ty == T::GNUSparse && entry.size > MAX_SPARSE_BYTES {
            return Err(format!(
                "a sparse file expanding to {} bytes (more than {MAX_SPARSE_BYTES})",
                entry.size
            ));
        }
        let (sha, spooled) = pass
            .take_content(&entry.path, entry.size, item)
            .map_err(|e| format!("reading the content: {e}"))?;
        entry.sha256 = sha;
        entry.spooled = spooled;
    }
    Ok(Some(entry))
}

/// A numeric header field; an empty one (all NULs or spaces) reads as 0, as Go's
/// `archive/tar` (which wrote most layers) reads it. Garbage is an error.
fn numeric(parsed: io::Result<u64>, raw: &[u8]) -> Result<u64, String> {
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(e.to_string()),
    }
}

fn link_len(kind: &EntryKind) -> usize {
    match kind {
        EntryKind::Symlink(t) | EntryKind::HardLink(t) => t.len(),
        _ => 0,
    }
}

/// A PAX time, `SECONDS[.FRACTION]`, possibly negative: the whole seconds (rounded down, as
/// `st_mtime` holds them).
fn parse_pax_time(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = whole.parse().ok()?;
    let has_fraction = frac.bytes().any(|b| b != b'0');
    Some(if secs < 0 && has_fraction { secs - 1 } else { secs })
}

fn bare(path: Vec<u8>, kind: EntryKind, origin: Origin) -> Entry {
    Entry {
        path,
        kind,
        perms: 0,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 0,
        rdev: 0,
        xattrs: Vec::new(),
        origin,
        sha256: None,
        spooled: None,
    }
}

/// The largest file a GNU sparse entry may expand to.
pub const MAX_SPARSE_BYTES: u64 = 256 << 20;

/// The most bytes read between two entries (headers, GNU long names, PAX records).
pub const MAX_HEADER_BYTES: u64 = 16 << 20;
const UNLIMITED: u64 = u64::MAX;

/// The tar stream as the tar reader sees it: notes when it has ended cleanly, and refuses to
/// hand out more than `allowance` bytes while the allowance is set.
struct StreamGuard<R> {
    inner: R,
    ended: Arc<AtomicBool>,
    allowance: Arc<AtomicU64>,
}

impl<R> StreamGuard<R> {
    fn new(inner: R) -> StreamGuard<R> {
        StreamGuard {
            inner,
            ended: Arc::new(AtomicBool::new(false)),
            allowance: Arc::new(AtomicU64::new(UNLIMITED)),
        }
    }
}

impl<R: Read> Read for StreamGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended.store(true, Ordering::Relaxed);
        }
        let left = self.allowance.load(Ordering::Relaxed);
        if left != UNLIMITED {
            if n as u64 > left {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("more than {MAX_HEADER_BYTES} bytes of headers and names before an entry"),
                ));
            }
            self.allowance.store(left - n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Re-read a tar stream for the content of some of its entries (by `seq`), handing each to
/// `visit`. The stream is read to its end, so its digest is checked again before the caller
/// believes what `visit` saw: an `Err` means discard it all.
pub fn visit_tar(
    reader: impl Read,
    wanted: &HashMap<u32, ()>,
    visit: &mut dyn FnMut(u32, &mut dyn Read) -> io::Result<()>,
) -> io::Result<()> {
    let guard = StreamGuard::new(reader);
    let ended = Arc::clone(&guard.ended);
    let mut archive = tar::Archive::new(guard);
    for (seq, item) in archive.entries()?.enumerate() {
        let mut item = match item {
            Ok(item) => item,
            Err(_) if ended.load(Ordering::Relaxed) => break, // as in read_tar
            Err(e) => return Err(e),
        };
        if wanted.contains_key(&(seq as u32)) {
            visit(seq as u32, &mut item)?;
        }
    }
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    Ok(())
}

/// Read a containers-storage layer directory (`overlay/<id>/diff`): every entry below it, in
/// name order, never following a symlink; a character device 0/0 is a whiteout, a directory
/// with `trusted.overlay.opaque` (or `user.overlay.opaque`) `y` is opaque; files with several
/// links inside the layer become hard links to the first name met.
pub fn read_dir(dir: &Path, pass: &LayerPass) -> Result<Vec<Entry>, LayerError> {
    let mut entries = Vec::new();
    let mut inodes: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let mut stack: Vec<(PathBuf, Vec<u8>)> = vec![(dir.to_path_buf(), Vec::new())];
    while let Some((host_dir, image_dir)) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&host_dir)
            .map_err(|e| format!("{}: {e}", host_dir.display()))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", host_dir.display()))?;
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            if entries.len() >= pass.max_entries {
                return Err(format!("more than {} entries in one layer", pass.max_entries));
            }
            let host = host_dir.join(&name);
            let mut path = image_dir.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name.as_bytes());
            let shown_path = String::from_utf8_lossy(&path).into_owned();
            let shown = || shown_path.clone();
            if let Some((kind, target)) = whiteout_of(&path).map_err(|e| e.to_string())? {
                entries.push(bare(target, kind, Origin::Host(host)));
                continue;
            }
            let meta = std::fs::symlink_metadata(&host).map_err(|e| format!("{}: {e}", shown()))?;
            let ft = meta.file_type();
            let kind = if ft.is_symlink() {
                let target = std::fs::read_link(&host).map_err(|e| format!("{}: {e}", shown()))?;
                EntryKind::Symlink(target.as_os_str().as_bytes().to_vec())
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_char_device() && meta.rdev() == 0 {
                entries.push(bare(path, EntryKind::Whiteout, Origin::Host(host)));
                continue;
            } else if ft.is_char_device() {
                EntryKind::Char
            } else if ft.is_block_device() {
                EntryKind::Block
            } else if ft.is_fifo() {
                EntryKind::Fifo
            } else if ft.is_file() {
                EntryKind::Regular
            } else {
                continue; // sockets are never packaged
            };
            let xattrs = host_xattrs(&host);
            if kind == EntryKind::Dir {
                let opaque = xattrs.iter().any(|(n, v)| {
                    (&**n == b"trusted.overlay.opaque" || &**n == b"user.overlay.opaque") && &**v == b"y"
                });
                if opaque {
                    entries.push(bare(path.clone(), EntryKind::Opaque, Origin::Host(host.clone())));
                }
                subdirs.push((host.clone(), path.clone()));
            }
            let mut entry = bare(path, kind, Origin::Host(host.clone()));
            if entry.kind == EntryKind::Regular && meta.nlink() > 1 {
                if let Some(first) = inodes.get(&(meta.dev(), meta.ino())) {
                    entry.kind = EntryKind::HardLink(first.clone());
                } else {
                    inodes.insert((meta.dev(), meta.ino()), entry.path.clone());
                }
            }
            entry.perms = meta.mode() & 0o7777;
            (entry.uid, entry.gid) = match pass.ids {
                Some(ids) => (ids.uid(meta.uid()), ids.gid(meta.gid())),
                None => (meta.uid(), meta.gid()),
            };
            entry.mtime = meta.mtime();
            entry.rdev = meta.rdev();
            entry.xattrs = xattrs
                .into_iter()
                .filter(|(n, _)| !n.starts_with(b"trusted.overlay.") && !n.starts_with(b"user.overlay."))
                .collect();
            if entry.kind == EntryKind::Regular {
                entry.size = meta.len();
                let mut f = crate::open_regular_nofollow(&host).map_err(|e| format!("{}: {e}", shown()))?;
                let (sha, spooled) = pass
                    .take_content(&entry.path, entry.size, &mut f)
                    .map_err(|e| format!("{}: {e}", shown()))?;
                entry.sha256 = sha;
                entry.spooled = spooled;
            }
            entries.push(entry);
        }
        // Depth first, in name order.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(entries)
}

/// Every extended attribute of a host path (not following a final symlink), each at most
/// 64 KiB; an attribute that cannot be read is left out.
fn host_xattrs(host: &Path) -> Xattrs {
    let Ok(c_path) = CString::new(host.as_os_str().as_bytes()) else {
        return Vec::new();
    };
    let mut names = vec![0u8; 64 << 10];
    // SAFETY: the path is NUL-terminated and the buffer valid for its length.
    let n = unsafe { libc::llistxattr(c_path.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    let Ok(n) = usize::try_from(n) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in names[..n].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(c_name) = CString::new(name) else { continue };
        let mut value = vec![0u8; 64 << 10];
        // SAFETY: as above; the value buffer is valid for its length.
        let len = unsafe { libc::lgetxattr(c_path.as_ptr(), c_name.as_ptr(), value.as_mut_ptr().cast(), value.len()) };
        if let Ok(len) = usize::try_from(len) {
            value.truncate(len);
            out.push((Box::from(name), value.into_boxed_slice()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_round_down() {
        assert_eq!(parse_pax_time(b"1700000000.5"), Some(1700000000));
        assert_eq!(parse_pax_time(b"-3.25"), Some(-4));
        assert_eq!(parse_pax_time(b"12"), Some(12));
        assert_eq!(parse_pax_time(b"x"), None);
    }
}
