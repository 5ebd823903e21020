//! One change a layer makes to the tree, whatever the layer's form (a tar stream or a
//! containers-storage diff directory), and the checks every layer path passes.

use std::path::PathBuf;

/// Extended attributes: each name (without the `SCHILY.xattr.` prefix) and its value.
pub type Xattrs = Vec<(Box<[u8]>, Box<[u8]>)>;

/// What an entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Regular,
    Dir,
    /// A symlink; its target is data, resolved inside the image at lookup time.
    Symlink(Vec<u8>),
    /// A hard link to a path (normalised) that must exist when the entry is applied.
    HardLink(Vec<u8>),
    Char,
    Block,
    Fifo,
    /// `.wh.NAME` (or an overlay whiteout device): `path` and everything below it goes.
    Whiteout,
    /// `.wh..wh..opq` (or an overlay opaque directory): nothing of lower layers below `path`.
    Opaque,
}

/// Where a regular file's bytes can be read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The `seq`-th entry of its layer's tar stream.
    Tar { seq: u32 },
    /// A file on the host (a containers-storage layer directory).
    Host(PathBuf),
}

/// One entry of a layer.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Normalised: components joined by `/`, no leading `/`; empty for the root itself.
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// Permission bits (with set-id and sticky bits); the type comes from `kind`.
    pub perms: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub rdev: u64,
    /// Extended attributes (`SCHILY.xattr.*`), name without the prefix.
    pub xattrs: Xattrs,
    pub origin: Origin,
    /// SHA-256 of a regular file's content, when the layer pass hashed it.
    pub sha256: Option<[u8; 32]>,
    /// Where the layer pass kept a regular file's content.
    pub spooled: Option<PathBuf>,
}

/// The longest path and component accepted (Linux's `PATH_MAX` and `NAME_MAX`).
pub const MAX_PATH: usize = 4096;
pub const MAX_NAME: usize = 255;

/// A layer path made canonical: `./`, a leading `/` and empty components dropped (an
/// absolute name is relative to the image's root, as containerd and GNU tar read it; `umoci
/// insert` writes such names); `..`, an over-long path or name, or a NUL byte are refused as
/// hostile.
pub fn normalise(raw: &[u8]) -> Result<Vec<u8>, String> {
    let shown = || String::from_utf8_lossy(raw).into_owned();
    if raw.len() > MAX_PATH || raw.contains(&0) {
        return Err(format!("path {:?} is too long or holds a NUL byte", shown()));
    }
    let mut out = Vec::with_capacity(raw.len());
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => continue,
            b".." => return Err(format!("path {:?} climbs out with '..'", shown())),
            c if c.len() > MAX_NAME => return Err(format!("a name in {:?} is longer than {MAX_NAME} bytes", shown())),
            c => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(c);
            }
        }
    }
    Ok(out)
}

/// The whiteout an entry's name makes, if any: `(kind, path it applies to)`.
pub fn whiteout_of(path: &[u8]) -> Result<Option<(EntryKind, Vec<u8>)>, String> {
    let (dir, base) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&path[..0], path),
    };
    if base == b".wh..wh..opq" {
        return Ok(Some((EntryKind::Opaque, dir.to_vec())));
    }
    let Some(name) = base.strip_prefix(b".wh.") else {
        return Ok(None);
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(format!(
            "whiteout {:?} names no file (a whiteout of the directory itself or of '/')",
            String::from_utf8_lossy(path)
        ));
    }
    let mut target = dir.to_vec();
    if !target.is_empty() {
        target.push(b'/');
    }
    target.extend_from_slice(name);
    Ok(Some((EntryKind::Whiteout, target)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(normalise(b"./usr//bin/./x").unwrap(), b"usr/bin/x");
        assert_eq!(normalise(b"./").unwrap(), b"");
        assert_eq!(normalise(b"/etc/passwd").unwrap(), b"etc/passwd");
        assert!(normalise(b"usr/../../etc").unwrap_err().contains(".."));
        assert!(normalise(&[b'a'; 300]).is_err());
    }

    #[test]
    fn whiteouts_are_recognised() {
        assert_eq!(
            whiteout_of(b"etc/.wh.passwd").unwrap(),
            Some((EntryKind::Whiteout, b"etc/passwd".to_vec()))
        );
        assert_eq!(
            whiteout_of(b".wh.opt").unwrap(),
            Some((EntryKind::Whiteout, b"opt".to_vec()))
        );
        assert_eq!(
            whiteout_of(b"var/cache/.wh..wh..opq").unwrap(),
            Some((EntryKind::Opaque, b"var/cache".to_vec()))
        );
        assert_eq!(whiteout_of(b"usr/bin/x").unwrap(), None);
        assert!(whiteout_of(b"usr/.wh.").is_err());
        assert!(whiteout_of(b".wh...").is_err());
    }
}
