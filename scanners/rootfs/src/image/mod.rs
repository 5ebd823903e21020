//! The image backing of [`crate::Root`]: an image's layers applied in memory, never unpacked.
//!
//! [`ImageTree::build`] reads every layer once, several at a time (each layer's stream is
//! decompressed and parsed on its own thread), into [`entry::Entry`] lists ([`layer`]): the
//! path, the attributes, a SHA-256 of each regular file, and a copy of the few files scanners
//! read ([`spool`]). The lists are applied bottom layer first ([`apply`]) into the index
//! ([`tree`]). Memory is bounded by the number of files, not their size.
//!
//! What the index knows beyond a directory: for each path the layer that last wrote it, and
//! for each removed path the layer that removed it ([`ImageTree::writer_of`],
//! [`ImageTree::remover_of`]) — what tells an image's author which build step to fix.

pub mod apply;
pub mod entry;
pub mod layer;
pub mod spool;
pub mod tree;

use crate::mode::*;
use crate::resolve::Kind;
use crate::Meta;
use entry::Origin;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tree::{components, Link, NodeId, Nodes};

pub use spool::SpoolRules;

/// One layer of the image, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInfo {
    /// Bottom layer first, from 0.
    pub index: usize,
    /// The layer's digest, as the image names it (`sha256:…`).
    pub digest: String,
    /// The build step that made it (the config's history entry).
    pub created_by: Option<String>,
}

/// A layer's content, as its source hands it out.
pub enum LayerStream {
    /// The layer's tar, decompressed. Reading it to its end checks its digest: an error
    /// there means nothing read from it may be believed.
    Tar(Box<dyn Read + Send>),
    /// A directory holding the layer (containers-storage's `diff`), overlay conventions.
    Dir(PathBuf),
    /// A directory holding the whole tree as of this layer (containers-storage's vfs driver):
    /// what it lacks of the tree below was removed by this layer, what it holds unchanged
    /// (type, attributes, size, mtime, target) keeps the layer that wrote it.
    Snapshot(PathBuf),
}

/// Where the layers come from; opened once per layer for the index, and again only for
/// content that was not kept.
pub trait LayerSource: Send + Sync {
    fn open(&self, index: usize) -> io::Result<LayerStream>;

    /// For layer folders whose files are owned by host ids other than the image's (a
    /// rootless user's containers-storage): how to map them back.
    fn id_map(&self) -> Option<IdMap> {
        None
    }
}

/// Image ids and host ids, range by range: `(container, host, len)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdMap {
    pub uids: Vec<(u32, u32, u32)>,
    pub gids: Vec<(u32, u32, u32)>,
}

/// The id the kernel shows for a host id that no range maps (`overflowuid`).
pub const OVERFLOW_ID: u32 = 65534;

impl IdMap {
    fn map(ranges: &[(u32, u32, u32)], host: u32) -> u32 {
        ranges
            .iter()
            .find(|&&(_, h, len)| host >= h && host - h < len)
            .map_or(OVERFLOW_ID, |&(c, h, _)| c + (host - h))
    }

    /// The image's uid of a host uid.
    pub fn uid(&self, host: u32) -> u32 {
        IdMap::map(&self.uids, host)
    }

    /// The image's gid of a host gid.
    pub fn gid(&self, host: u32) -> u32 {
        IdMap::map(&self.gids, host)
    }
}

/// Limits and choices of one build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Hash every regular file with SHA-256 as it streams past (rpm-verify needs it).
    pub hash: bool,
    pub rules: SpoolRules,
    pub max_entries_per_layer: usize,
    pub max_nodes: usize,
    /// Layers read at once.
    pub threads: usize,
    /// The largest file [`ImageTree::open_regular`] reads from its layer on demand.
    pub max_on_demand: u64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            hash: false,
            rules: SpoolRules::default(),
            max_entries_per_layer: 2_000_000,
            max_nodes: 2_000_000,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_on_demand: 256 << 20,
        }
    }
}

/// An image applied in memory.
pub struct ImageTree {
    describe: String,
    nodes: Nodes,
    layers: Vec<LayerInfo>,
    spool: spool::Spool,
    source: Arc<dyn LayerSource>,
    max_on_demand: u64,
    /// Whether every regular file's SHA-256 was taken.
    hashed: bool,
    /// Files read from their layer after the build, by node.
    on_demand: Mutex<HashMap<NodeId, PathBuf>>,
}

impl std::fmt::Debug for ImageTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageTree")
            .field("describe", &self.describe)
            .field("nodes", &self.nodes.nodes.len())
            .field("layers", &self.layers.len())
            .finish()
    }
}

/// The device number every image file reports (no real device holds them).
pub const IMAGE_DEV: u64 = 0x1d1d;

impl ImageTree {
    /// Read and apply every layer of `layers` from `source`. `describe` names the image in
    /// messages. An error names the layer and the entry.
    pub fn build(
        describe: impl Into<String>,
        layers: Vec<LayerInfo>,
        source: Arc<dyn LayerSource>,
        options: &BuildOptions,
    ) -> Result<ImageTree, String> {
        let describe = describe.into();
        let spool = spool::Spool::new(options.rules.max_total)
            .map_err(|e| format!("cannot make a temporary directory for the image's files: {e}"))?;
        let mut nodes = Nodes::new();
        let count = layers.len();
        if count > usize::from(u16::MAX) {
            return Err(format!("{count} layers is more than this reader takes"));
        }
        let ids = source.id_map();
        // Read one layer into its entries (true: a whole-tree snapshot).
        let read_layer = |i: usize| -> Result<(bool, Vec<entry::Entry>), String> {
            let pass = layer::LayerPass {
                ids: ids.as_ref(),
                layer: i,
                hash: options.hash,
                spool: &spool,
                rules: &options.rules,
                max_entries: options.max_entries_per_layer,
            };
            match source.open(i) {
                Err(e) => Err(e.to_string()),
                Ok(LayerStream::Tar(r)) => {
                    layer::read_tar(crate::read_ahead::ReadAhead::new(r), &pass).map(|e| (false, e))
                }
                Ok(LayerStream::Dir(d)) => layer::read_dir(&d, &pass).map(|e| (false, e)),
                // A whole tree: hashed only where it changed, after it is applied.
                Ok(LayerStream::Snapshot(d)) => {
                    let pass = layer::LayerPass { hash: false, ..pass };
                    layer::read_dir(&d, &pass).map(|e| (true, e))
                }
            }
        };
        let apply_one = |nodes: &mut Nodes, i: usize, read: Result<(bool, Vec<entry::Entry>), String>| {
            let name = |e: String| format!("layer {} ({}): {e}", i + 1, layers[i].digest);
            let (snapshot, entries) = read.map_err(name)?;
            let applied = if snapshot {
                apply::apply_snapshot(nodes, i as u16, entries, options.max_nodes)
            } else {
                apply::apply_layer(nodes, i as u16, entries, options.max_nodes)
            };
            applied.map_err(name)
        };
        let threads = options.threads.clamp(1, count.max(1));
        let applied: Result<(), String> = if threads == 1 {
            // One at a time, on this thread.
            (0..count).try_for_each(|i| apply_one(&mut nodes, i, read_layer(i)))
        } else {
            let next = AtomicUsize::new(0);
            let abort = AtomicBool::new(false);
            type Read = Result<(bool, Vec<entry::Entry>), String>;
            let (tx, rx) = mpsc::channel::<(usize, Read)>();
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    let tx = tx.clone();
                    let (next, abort, read_layer) = (&next, &abort, &read_layer);
                    scope.spawn(move || loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count || abort.load(Ordering::Relaxed) {
                            break;
                        }
                        if tx.send((i, read_layer(i))).is_err() {
                            break;
                        }
                    });
                }
                drop(tx);
                // Apply in layer order as the layers arrive.
                let mut waiting: BTreeMap<usize, Read> = BTreeMap::new();
                let mut next_to_apply = 0;
                for (i, read) in rx.iter() {
                    waiting.insert(i, read);
                    while let Some(read) = waiting.remove(&next_to_apply) {
                        apply_one(&mut nodes, next_to_apply, read)
                            .inspect_err(|_| abort.store(true, Ordering::Relaxed))?;
                        next_to_apply += 1;
                    }
                }
                if next_to_apply < count {
                    return Err(format!("layer {} was not read", next_to_apply + 1));
                }
                Ok(())
            })
        };
        applied?;
        if options.hash {
            hash_host_files(&mut nodes)?;
        }
        let tree = ImageTree {
            describe,
            nodes,
            layers,
            spool,
            source,
            max_on_demand: options.max_on_demand,
            hashed: options.hash,
            on_demand: Mutex::new(HashMap::new()),
        };
        tree.link_view()
            .map_err(|e| format!("cannot lay out the image's kept files: {e}"))?;
        Ok(tree)
    }

    /// Hard-link every kept file of the applied image at its path under the view folder.
    fn link_view(&self) -> io::Result<()> {
        let mut stack: Vec<(NodeId, Vec<u8>)> = vec![(tree::ROOT, Vec::new())];
        while let Some((dir, path)) = stack.pop() {
            let Some(children) = self.nodes.get(dir).children.as_ref() else {
                continue;
            };
            for (name, link) in children {
                let mut p = path.clone();
                if !p.is_empty() {
                    p.push(b'/');
                }
                p.extend_from_slice(name);
                let node = self.nodes.get(link.node);
                if node.is_dir() {
                    stack.push((link.node, p));
                } else if let Some(spooled) = node.content.as_ref().and_then(|c| c.spooled.as_ref()) {
                    self.spool.link_into_view(spooled, &p)?;
                }
            }
        }
        Ok(())
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    pub fn layers(&self) -> &[LayerInfo] {
        &self.layers
    }

    /// The folder whose `<path>` holds each kept file of the applied image (made when the
    /// first file is kept).
    pub fn spool_dir(&self) -> &Path {
        self.spool.view_dir()
    }

    /// Whether the build took every regular file's SHA-256 ([`tree::Content::sha256`]).
    pub fn hashed(&self) -> bool {
        self.hashed
    }

    /// Every regular file of the applied image (each inode once).
    pub fn regular_files(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![tree::ROOT];
        let mut seen = std::collections::HashSet::new();
        while let Some(dir) = stack.pop() {
            for link in self.nodes.get(dir).children.iter().flat_map(|c| c.values()) {
                let node = self.nodes.get(link.node);
                if node.is_dir() {
                    stack.push(link.node);
                } else if node.content.is_some() && seen.insert(link.node) {
                    out.push(link.node);
                }
            }
        }
        out
    }

    /// The number of inodes indexed.
    pub fn node_count(&self) -> usize {
        self.nodes.nodes.len()
    }

    pub(crate) fn kind_of(&self, comps: &[Vec<u8>]) -> Kind {
        self.nodes.kind_of(comps)
    }

    fn link_of(&self, resolved: &Path) -> Option<Link> {
        self.nodes.lookup(&components(resolved.as_os_str().as_bytes()))
    }

    /// The inode a resolved path names.
    pub fn lookup_path(&self, resolved: &Path) -> Option<NodeId> {
        self.link_of(resolved).map(|l| l.node)
    }

    pub fn node(&self, id: NodeId) -> &tree::Node {
        self.nodes.get(id)
    }

    /// The `lstat` an unpacked copy of the image would give.
    pub fn meta(&self, id: NodeId) -> Meta {
        let n = self.nodes.get(id);
        Meta {
            mode: n.mode,
            uid: n.uid,
            gid: n.gid,
            size: n.size,
            mtime: n.mtime,
            rdev: n.rdev,
            dev: IMAGE_DEV,
            ino: u64::from(id) + 1,
            nlink: u64::from(n.nlink.max(1)),
        }
    }

    /// A symlink's target.
    pub fn link_target(&self, id: NodeId) -> io::Result<Vec<u8>> {
        self.nodes
            .get(id)
            .target
            .as_ref()
            .map(|t| t.to_vec())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
    }

    /// The layer (index from 0) that last wrote a resolved path.
    pub fn writer_of(&self, resolved: &Path) -> Option<usize> {
        self.link_of(resolved).map(|l| usize::from(l.layer))
    }

    /// The layer that removed a path (or the nearest of its parents) that the image no longer
    /// has; `None` when no layer removed it (it never existed).
    pub fn remover_of(&self, image_path: &Path) -> Option<usize> {
        let path = image_path.as_os_str().as_bytes();
        let mut p: &[u8] = path.strip_prefix(b"/").unwrap_or(path);
        loop {
            if let Some(&layer) = self.nodes.removed.get(p) {
                return Some(usize::from(layer));
            }
            p = &p[..p.iter().rposition(|&b| b == b'/')?];
        }
    }

    /// The names in a resolved directory, sorted.
    pub fn read_dir_names(&self, resolved: &Path) -> io::Result<Vec<OsString>> {
        let id = self.lookup_path(resolved).ok_or_else(crate::not_found)?;
        let children = self
            .nodes
            .get(id)
            .children
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOTDIR))?;
        // BTreeMap order is byte order, as sorting OsStrings is.
        Ok(children.keys().map(|k| OsString::from_vec(k.to_vec())).collect())
    }

    /// Open a resolved path that must be a regular file: its kept copy, else its content read
    /// from its layer now (once; then kept), else for a containers-storage layer the file in
    /// the layer's folder.
    pub fn open_regular(&self, resolved: &Path) -> io::Result<File> {
        let id = self.lookup_path(resolved).ok_or_else(crate::not_found)?;
        let node = self.nodes.get(id);
        let what = match node.mode & S_IFMT {
            S_IFREG => None,
            S_IFDIR => Some("a directory"),
            S_IFIFO => Some("a FIFO"),
            S_IFCHR | S_IFBLK => Some("a device"),
            S_IFSOCK => Some("a socket"),
            _ => Some("not a regular file"),
        };
        if let Some(what) = what {
            return Err(io::Error::other(format!("is {what}, not a regular file")));
        }
        let content = node.content.as_ref().ok_or_else(crate::not_found)?;
        if let Some(p) = &content.spooled {
            return File::open(p);
        }
        if let Origin::Host(p) = &content.origin {
            return crate::open_regular_nofollow(p);
        }
        if let Some(p) = self.on_demand.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return File::open(p);
        }
        if node.size > self.max_on_demand || !self.spool.reserve(node.size) {
            return Err(io::Error::other(format!(
                "{} bytes is more than is read from an image's layer on demand",
                node.size
            )));
        }
        let path = resolved.as_os_str().as_bytes();
        let path = path.strip_prefix(b"/").unwrap_or(path);
        let (host, mut out) = self.spool.create(usize::from(content.layer), path)?;
        let copied = self.read_contents(&[id], &|_, r| io::copy(r, &mut &out).map(|_| ()));
        copied?;
        use std::io::Write;
        out.flush()?;
        let view = self.spool.link_into_view(&host, path).unwrap_or(host);
        self.on_demand
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, view.clone());
        File::open(view)
    }

    /// Read the content of regular files from their layers (each layer once, several at a
    /// time), handing each to `visit`. Each layer is read to its end and its digest checked
    /// before this returns `Ok`: on `Err`, discard what `visit` saw.
    pub fn read_contents(
        &self,
        wanted: &[NodeId],
        visit: &(dyn Fn(NodeId, &mut dyn Read) -> io::Result<()> + Sync),
    ) -> io::Result<()> {
        let mut by_layer: BTreeMap<u16, HashMap<u32, NodeId>> = BTreeMap::new();
        for &id in wanted {
            let Some(c) = self.nodes.get(id).content.as_ref() else {
                continue;
            };
            match &c.origin {
                Origin::Tar { seq } => {
                    by_layer.entry(c.layer).or_default().insert(*seq, id);
                }
                Origin::Host(p) => visit(id, &mut crate::open_regular_nofollow(p)?)?,
            }
        }
        let jobs: Vec<(u16, HashMap<u32, NodeId>)> = by_layer.into_iter().collect();
        let next = AtomicUsize::new(0);
        let failure: Mutex<Option<io::Error>> = Mutex::new(None);
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, jobs.len().max(1));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((layer, seqs)) = jobs.get(i) else { break };
                    let result = self.source.open(usize::from(*layer)).and_then(|s| match s {
                        LayerStream::Tar(r) => {
                            let wanted: HashMap<u32, ()> = seqs.keys().map(|&k| (k, ())).collect();
                            layer::visit_tar(crate::read_ahead::ReadAhead::new(r), &wanted, &mut |seq, content| {
                                match seqs.get(&seq) {
                                    Some(&id) => visit(id, content),
                                    None => Ok(()),
                                }
                            })
                        }
                        LayerStream::Dir(_) | LayerStream::Snapshot(_) => {
                            Err(io::Error::other("a layer folder has no tar entries"))
                        }
                    });
                    if let Err(e) = result {
                        let msg = format!("layer {} ({}): {e}", layer + 1, self.layers[usize::from(*layer)].digest);
                        failure
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get_or_insert(io::Error::other(msg));
                    }
                });
            }
        });
        match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// For each layer that wrote kept files below one of `dirs` (image paths such as
    /// `/var/lib/rpm`), that layer's folder in the spool: `<folder>/<dir>/<name>` is the file
    /// as that layer wrote it (each layer's package database, for attribution).
    pub fn layer_versions(&self, dirs: &[&str]) -> Vec<(usize, PathBuf)> {
        (0..self.layers.len())
            .filter_map(|i| {
                let folder = self.spool.layer_dir(i);
                let wrote = dirs.iter().any(|d| folder.join(d.trim_start_matches('/')).is_dir());
                wrote.then_some((i, folder))
            })
            .collect()
    }
}

/// The SHA-256 of every regular file read from a host folder that the layer pass did not hash
/// (files of vfs snapshots, hashed once, where they last changed).
fn hash_host_files(nodes: &mut Nodes) -> Result<(), String> {
    use sha2::{Digest, Sha256};
    for node in &mut nodes.nodes {
        let Some(content) = node.content.as_mut() else { continue };
        let Origin::Host(path) = &content.origin else { continue };
        if content.sha256.is_some() || node.nlink == 0 {
            continue;
        }
        let mut file = crate::open_regular_nofollow(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut hasher = Sha256::new();
        io::copy(&mut (&mut file).take(node.size), &mut hasher).map_err(|e| format!("{}: {e}", path.display()))?;
        content.sha256 = Some(hasher.finalize().into());
    }
    Ok(())
}

/// Image path bytes as a path.
pub fn path_of_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes))
}
