//! The applied image as an index in memory: one [`Node`] per inode, directories holding
//! their names, each name remembering the layer that wrote it; the paths that layers removed
//! and which layer removed them. Layer application rules are in [`super::apply`]; this module
//! only stores and looks up.

use super::entry::{Origin, Xattrs};
use crate::mode::*;
use crate::resolve::Kind;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

pub type NodeId = u32;

/// A name in a directory: the inode it names and the layer that last wrote it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub node: NodeId,
    pub layer: u16,
}

/// A regular file's bytes: where to read them again, their SHA-256 when hashed, and the
/// spool file when kept.
#[derive(Debug, Clone)]
pub struct Content {
    pub layer: u16,
    pub origin: Origin,
    pub sha256: Option<[u8; 32]>,
    pub spooled: Option<PathBuf>,
}

/// One inode of the image.
#[derive(Debug, Clone)]
pub struct Node {
    /// `st_mode`: type and permissions.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub rdev: u64,
    /// Names that refer to this inode.
    pub nlink: u32,
    pub xattrs: Xattrs,
    /// A directory's names.
    pub children: Option<BTreeMap<Box<[u8]>, Link>>,
    /// A symlink's target, as stored.
    pub target: Option<Box<[u8]>>,
    /// A regular file's content.
    pub content: Option<Content>,
}

impl Node {
    pub fn directory(perms: u32) -> Node {
        Node {
            mode: S_IFDIR | perms,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            rdev: 0,
            nlink: 1,
            xattrs: Vec::new(),
            children: Some(BTreeMap::new()),
            target: None,
            content: None,
        }
    }

    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    pub fn xattr(&self, name: &[u8]) -> Option<&[u8]> {
        self.xattrs.iter().find(|(n, _)| &**n == name).map(|(_, v)| &**v)
    }
}

/// The nodes, the root, and what was removed.
#[derive(Debug, Clone)]
pub struct Nodes {
    pub nodes: Vec<Node>,
    /// Paths (normalised) removed by a whiteout or an opaque directory, or replaced (with what
    /// was below them), with the layer that did it (the last one to do so). A path that the
    /// image still has is answered by its link's layer; this map answers for what is gone.
    pub removed: HashMap<Vec<u8>, u16>,
}

pub const ROOT: NodeId = 0;

impl Nodes {
    pub fn new() -> Nodes {
        Nodes {
            nodes: vec![Node::directory(0o755)],
            removed: HashMap::new(),
        }
    }

    pub fn get(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn get_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    pub fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        (self.nodes.len() - 1) as NodeId
    }

    /// The name `name` in directory `dir`.
    pub fn child(&self, dir: NodeId, name: &[u8]) -> Option<Link> {
        self.get(dir).children.as_ref()?.get(name).copied()
    }

    /// The link that resolved components name, without following any symlink (the
    /// components come from a resolution, so their parents are directories).
    pub fn lookup<C: AsRef<[u8]>>(&self, comps: &[C]) -> Option<Link> {
        let mut here = Link { node: ROOT, layer: 0 };
        for c in comps {
            here = self.child(here.node, c.as_ref())?;
        }
        Some(here)
    }

    /// What resolved components name, as resolution asks it.
    pub fn kind_of(&self, comps: &[Vec<u8>]) -> Kind {
        let Some(link) = self.lookup(comps) else {
            return Kind::Missing;
        };
        let node = self.get(link.node);
        match node.mode & S_IFMT {
            S_IFDIR => Kind::Dir,
            S_IFLNK => Kind::Symlink(node.target.as_deref().unwrap_or_default().to_vec()),
            _ => Kind::Other,
        }
    }
}

impl Default for Nodes {
    fn default() -> Self {
        Nodes::new()
    }
}

/// Split a normalised path into its components.
pub fn components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect()
}
