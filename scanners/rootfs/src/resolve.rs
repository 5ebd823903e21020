//! Path resolution inside a root, written once for both backings: the walk asks its backing
//! only what one component is ([`Kind`]), given the components resolved so far.

use crate::{RootError, MAX_SYMLINKS};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// What a resolved path names, as far as resolution cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    /// A symlink and its target, as stored.
    Symlink(Vec<u8>),
    /// A file of any other type.
    Other,
    Missing,
}

/// Walk `image_path` inside the root: `..` stops at the root, an absolute symlink target
/// restarts at the root, at most [`MAX_SYMLINKS`] links are followed, a missing last
/// component resolves to where it would be, a missing or non-directory parent is an error
/// (ENOENT, ENOTDIR) as the kernel's would be. `kind_of` names one path given as components.
pub fn resolve(
    image_path: &Path,
    follow_last: bool,
    mut kind_of: impl FnMut(&[Vec<u8>]) -> io::Result<Kind>,
) -> Result<PathBuf, RootError> {
    let mut resolved: Vec<Vec<u8>> = Vec::new();
    // Components still to walk, last first so that pop() gives the next one.
    let mut pending: Vec<Vec<u8>> = components_rev(image_path.as_os_str().as_bytes());
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
        let kind = kind_of(&resolved).map_err(|e| RootError::new(image_of(&resolved), e))?;
        match kind {
            Kind::Missing if is_last => break,
            Kind::Missing => return Err(RootError::new(image_of(&resolved), crate::not_found())),
            Kind::Symlink(target) => {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(RootError::new(
                        image_path,
                        io::Error::other(format!("more than {MAX_SYMLINKS} symlinks (a loop?)")),
                    ));
                }
                resolved.pop();
                if target.first() == Some(&b'/') {
                    resolved.clear();
                }
                pending.extend(components_rev(&target));
            }
            Kind::Other if !is_last => {
                return Err(RootError::new(
                    image_of(&resolved),
                    io::Error::from_raw_os_error(nix::errno::Errno::ENOTDIR as i32),
                ))
            }
            Kind::Dir | Kind::Other => {}
        }
    }
    Ok(image_of(&resolved))
}

fn components_rev(p: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = Path::new(OsStr::from_bytes(p))
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

/// The absolute image path of resolved components.
pub fn image_of(comps: &[Vec<u8>]) -> PathBuf {
    let mut p = PathBuf::from("/");
    for c in comps {
        p.push(OsStr::from_bytes(c));
    }
    p
}
