//! Applying a layer's entries to the tree, as the OCI image spec's `layer.md` says:
//!
//! 1. The layer's whiteouts and opaque directories first, so that they hide only what lower
//!    layers made (`.wh.NAME` removes NAME and everything below it; `.wh..wh..opq` empties
//!    its directory of lower layers' entries).
//! 2. Then its entries in order; a later entry replaces an earlier one at the same path,
//!    except that a directory over a directory keeps the children and takes the new
//!    attributes. Missing parents are made (0755, root), as extraction tools make them.
//! 3. A parent that is a symlink is resolved inside the image (as `umoci` and containerd's
//!    root-confined extraction do); a parent that is neither a directory nor a symlink to one,
//!    or a hard link to a missing file or to a directory, is an error of the layer.

use super::entry::{Entry, EntryKind};
use super::tree::{components, Content, Link, Node, NodeId, Nodes, ROOT};
use crate::mode::*;
use crate::resolve;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Apply one layer. `layer` is its index, bottom first.
pub fn apply_layer(nodes: &mut Nodes, layer: u16, entries: Vec<Entry>, max_nodes: usize) -> Result<(), String> {
    let shown = |p: &[u8]| format!("/{}", String::from_utf8_lossy(p));
    let (hiding, adding): (Vec<Entry>, Vec<Entry>) = entries
        .into_iter()
        .partition(|e| matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque));
    for e in &hiding {
        hide(nodes, layer, e).map_err(|m| format!("{}: {m}", shown(&e.path)))?;
    }
    for e in adding {
        if nodes.nodes.len() >= max_nodes {
            return Err(format!("the image holds more than {max_nodes} files"));
        }
        let path = e.path.clone();
        add(nodes, layer, e).map_err(|m| format!("{}: {m}", shown(&path)))?;
    }
    Ok(())
}

/// Apply a layer that is the whole tree as of itself (a vfs snapshot): paths of the tree it
/// lacks are removed by it; its entries that equal what the tree holds (type, permissions,
/// owner, size, mtime, symlink target, xattrs) are left as they are, with the layer that wrote
/// them; the others are applied as a layer's entries are.
pub fn apply_snapshot(nodes: &mut Nodes, layer: u16, entries: Vec<Entry>, max_nodes: usize) -> Result<(), String> {
    let present: std::collections::HashSet<Vec<u8>> = entries.iter().map(|e| e.path.clone()).collect();
    // Remove, top down, what the snapshot lacks.
    let mut stack: Vec<(NodeId, Vec<u8>)> = vec![(ROOT, Vec::new())];
    while let Some((dir, path)) = stack.pop() {
        let names: Vec<(Box<[u8]>, Link)> = nodes
            .get(dir)
            .children
            .as_ref()
            .map(|c| c.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default();
        for (name, link) in names {
            let mut p = path.clone();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(&name);
            if !present.contains(&p) {
                unlink(nodes, dir, &name);
                nodes.removed.insert(p, layer);
            } else if nodes.get(link.node).is_dir() {
                stack.push((link.node, p));
            }
        }
    }
    let changed: Vec<Entry> = entries.into_iter().filter(|e| !unchanged(nodes, e)).collect();
    apply_layer(nodes, layer, changed, max_nodes)
}

/// Whether the tree already holds `e` as it is.
fn unchanged(nodes: &Nodes, e: &Entry) -> bool {
    let comps = components(&e.path);
    let Some(link) = nodes.lookup(&comps) else {
        return false;
    };
    let n = nodes.get(link.node);
    let file_type = match &e.kind {
        EntryKind::Regular => S_IFREG,
        EntryKind::Dir => S_IFDIR,
        EntryKind::Symlink(_) => S_IFLNK,
        EntryKind::Char => S_IFCHR,
        EntryKind::Block => S_IFBLK,
        EntryKind::Fifo => S_IFIFO,
        // A second name of an inode: unchanged when the tree already has both names on one
        // inode (the inode itself is judged at its first name).
        EntryKind::HardLink(target) => return nodes.lookup(&components(target)).is_some_and(|t| t.node == link.node),
        EntryKind::Whiteout | EntryKind::Opaque => return false,
    };
    let target_same = match &e.kind {
        EntryKind::Symlink(t) => n.target.as_deref() == Some(t.as_slice()),
        _ => true,
    };
    n.mode == file_type | e.perms
        && n.uid == e.uid
        && n.gid == e.gid
        && (file_type != S_IFREG || (n.size == e.size && n.mtime == e.mtime))
        && (file_type == S_IFDIR || n.rdev == e.rdev || file_type != S_IFCHR && file_type != S_IFBLK)
        && target_same
        && n.xattrs == e.xattrs
}

fn hide(nodes: &mut Nodes, layer: u16, e: &Entry) -> Result<(), String> {
    let comps = components(&e.path);
    match e.kind {
        EntryKind::Whiteout => {
            let Some((base, dir)) = comps.split_last() else {
                return Err("a whiteout of the root".into());
            };
            let Some(parent) = existing_dir(nodes, dir)? else {
                return Ok(()); // nothing below a missing directory to hide
            };
            unlink(nodes, parent, base);
            nodes.removed.insert(e.path.clone(), layer);
        }
        EntryKind::Opaque => {
            let Some(dir) = existing_dir(nodes, &comps)? else {
                return Ok(());
            };
            let names: Vec<Box<[u8]>> = nodes
                .get(dir)
                .children
                .as_ref()
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            for name in names {
                unlink(nodes, dir, &name);
                let mut removed = e.path.clone();
                if !removed.is_empty() {
                    removed.push(b'/');
                }
                removed.extend_from_slice(&name);
                nodes.removed.insert(removed, layer);
            }
        }
        _ => {}
    }
    Ok(())
}

fn add(nodes: &mut Nodes, layer: u16, e: Entry) -> Result<(), String> {
    let comps = components(&e.path);
    let Some((base, dir)) = comps.split_last() else {
        // The root itself ("./"): its attributes.
        if e.kind == EntryKind::Dir {
            set_attributes(nodes.get_mut(ROOT), &e);
        }
        return Ok(());
    };
    let base: Box<[u8]> = Box::from(*base);
    let parent = make_dirs(nodes, dir, layer)?;
    let existing = nodes.child(parent, &base);
    let new_node = match &e.kind {
        EntryKind::Dir => {
            if let Some(link) = existing.filter(|l| nodes.get(l.node).is_dir()) {
                set_attributes(nodes.get_mut(link.node), &e);
                insert(nodes, parent, base, Link { node: link.node, layer });
                return Ok(());
            }
            let mut node = Node::directory(0);
            set_attributes(&mut node, &e);
            node
        }
        EntryKind::HardLink(target) => {
            let target_comps = components(target);
            let Some((tbase, tdir)) = target_comps.split_last() else {
                return Err("a hard link to the root".into());
            };
            let tparent = existing_dir(nodes, tdir)?.ok_or_else(|| {
                format!(
                    "hard link to /{}, which does not exist",
                    String::from_utf8_lossy(target)
                )
            })?;
            let link = nodes.child(tparent, tbase).ok_or_else(|| {
                format!(
                    "hard link to /{}, which does not exist",
                    String::from_utf8_lossy(target)
                )
            })?;
            if nodes.get(link.node).is_dir() {
                return Err(format!(
                    "hard link to the directory /{}",
                    String::from_utf8_lossy(target)
                ));
            }
            if existing.map(|l| l.node) == Some(link.node) {
                insert(nodes, parent, base, Link { node: link.node, layer });
                return Ok(());
            }
            if existing.is_some() {
                unlink(nodes, parent, &base);
                nodes.removed.insert(e.path.clone(), layer);
            }
            nodes.get_mut(link.node).nlink += 1;
            insert(nodes, parent, base, Link { node: link.node, layer });
            return Ok(());
        }
        EntryKind::Whiteout | EntryKind::Opaque => return Ok(()),
        kind => {
            let file_type = match kind {
                EntryKind::Regular => S_IFREG,
                EntryKind::Symlink(_) => S_IFLNK,
                EntryKind::Char => S_IFCHR,
                EntryKind::Block => S_IFBLK,
                _ => S_IFIFO,
            };
            let mut node = Node::directory(0);
            node.children = None;
            set_attributes(&mut node, &e);
            node.mode = file_type | e.perms;
            node.rdev = e.rdev;
            if let EntryKind::Symlink(target) = kind {
                node.size = target.len() as u64;
                node.target = Some(Box::from(target.as_slice()));
            }
            if *kind == EntryKind::Regular {
                node.size = e.size;
                node.content = Some(Content {
                    layer,
                    origin: e.origin.clone(),
                    sha256: e.sha256,
                    spooled: e.spooled.clone(),
                });
            }
            node
        }
    };
    if existing.is_some() {
        unlink(nodes, parent, &base);
        // What lay below the replaced path is gone, removed by this layer.
        nodes.removed.insert(e.path.clone(), layer);
    }
    let id = nodes.push(new_node);
    insert(nodes, parent, base, Link { node: id, layer });
    Ok(())
}

fn set_attributes(node: &mut Node, e: &Entry) {
    node.mode = (node.mode & S_IFMT) | e.perms;
    node.uid = e.uid;
    node.gid = e.gid;
    node.mtime = e.mtime;
    node.xattrs = e.xattrs.clone();
}

fn insert(nodes: &mut Nodes, dir: NodeId, name: Box<[u8]>, link: Link) {
    if let Some(children) = nodes.get_mut(dir).children.as_mut() {
        children.insert(name, link);
    }
}

/// Remove a name; an inode left with no name loses its own names too (a directory's tree).
fn unlink(nodes: &mut Nodes, dir: NodeId, name: &[u8]) {
    let Some(link) = nodes.get_mut(dir).children.as_mut().and_then(|c| c.remove(name)) else {
        return;
    };
    let mut orphans = vec![link.node];
    while let Some(id) = orphans.pop() {
        let node = nodes.get_mut(id);
        node.nlink = node.nlink.saturating_sub(1);
        if node.nlink == 0 {
            if let Some(children) = node.children.take() {
                orphans.extend(children.values().map(|l| l.node));
            }
            node.content = None;
        }
    }
}

/// The directory that `comps` name, symlinks resolved inside the image; `None` when some
/// part of it does not exist; an error when a part is not a directory.
fn existing_dir(nodes: &Nodes, comps: &[&[u8]]) -> Result<Option<NodeId>, String> {
    let mut current = ROOT;
    for (i, c) in comps.iter().enumerate() {
        let Some(link) = nodes.child(current, c) else {
            return Ok(None);
        };
        current = match follow_dir(nodes, &comps[..=i], link.node)? {
            Some(id) => id,
            None => return Ok(None),
        };
    }
    Ok(Some(current))
}

/// The directories `comps` name, made where missing.
fn make_dirs(nodes: &mut Nodes, comps: &[&[u8]], layer: u16) -> Result<NodeId, String> {
    let mut current = ROOT;
    for (i, c) in comps.iter().enumerate() {
        current = match nodes.child(current, c) {
            None => {
                let id = nodes.push(Node::directory(0o755));
                insert(nodes, current, Box::from(*c), Link { node: id, layer });
                id
            }
            Some(link) => follow_dir(nodes, &comps[..=i], link.node)?.ok_or_else(|| {
                format!(
                    "the parent /{} is a symlink to nothing",
                    String::from_utf8_lossy(&comps[..=i].join(&b'/'))
                )
            })?,
        };
    }
    Ok(current)
}

/// A node met as a parent: itself if a directory, its target (resolved inside the image) if
/// a symlink; `None` for a dangling symlink; an error for anything else.
fn follow_dir(nodes: &Nodes, path: &[&[u8]], id: NodeId) -> Result<Option<NodeId>, String> {
    let node = nodes.get(id);
    let shown = || format!("/{}", String::from_utf8_lossy(&path.join(&b'/')));
    match node.mode & S_IFMT {
        S_IFDIR => Ok(Some(id)),
        S_IFLNK => {
            let joined = path.join(&b'/');
            let resolved = resolve::resolve(Path::new(OsStr::from_bytes(&joined)), true, |c| Ok(nodes.kind_of(c)))
                .map_err(|e| format!("resolving the parent {}: {}", shown(), e.source))?;
            let comps: Vec<&[u8]> = components(resolved.as_os_str().as_bytes());
            match nodes.lookup(&comps) {
                Some(l) if nodes.get(l.node).is_dir() => Ok(Some(l.node)),
                Some(_) => Err(format!("the parent {} is not a directory", shown())),
                None => Ok(None),
            }
        }
        _ => Err(format!("the parent {} is not a directory", shown())),
    }
}
