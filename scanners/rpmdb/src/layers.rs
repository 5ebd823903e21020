//! Which layer of an image installed each package: the lowest layer whose package database
//! holds that package's header, as long as every layer above it that rewrote the database
//! kept it (a package removed and installed again counts from where it came back). This is
//! what tells an image's author which build step brought a package in.
//!
//! Each layer that wrote the database left its own copy in the image's spool
//! ([`crate::root::ImageTree::layer_versions`]); each copy is read as a database of its own.
//! A header is known by its name, EVR, arch and INSTALLTIME: the same package installed again
//! has a new install time.

use crate::db::{Database, DB_DIRS};
use crate::package::Package;
use crate::root::Root;
use crate::tag;
use crate::version::Evr;
use std::collections::HashMap;

/// The install layer (index from 0, bottom first) of each package of an image.
#[derive(Debug, Clone, Default)]
pub struct InstallLayers {
    by_header: HashMap<(String, u64), usize>,
    /// The same by `name-evr.arch` alone (the lowest layer of its records), for scanners that
    /// keep no install time.
    by_nevra: HashMap<String, usize>,
}

fn key_of(p: &Package) -> (String, u64) {
    let installed = p
        .header
        .entry(tag::INSTALLTIME)
        .and_then(|e| p.header.int_of(e).ok().flatten())
        .unwrap_or(0);
    (
        format!("{}-{}.{}", p.name, p.evr(), p.arch.as_deref().unwrap_or("(none)")),
        installed,
    )
}

impl InstallLayers {
    /// For an image root, read every layer's copy of the database; `None` for a directory
    /// root or when no layer's database can be read. Read once per root: every later call
    /// for the same root (or a clone of it) shares the first answer.
    pub fn of(root: &Root) -> Option<std::sync::Arc<InstallLayers>> {
        root.image()?;
        if let Some(known) = root.kept::<Option<std::sync::Arc<InstallLayers>>>() {
            return (*known).clone();
        }
        let layers = InstallLayers::read(root).map(std::sync::Arc::new);
        root.keep(layers.clone());
        layers
    }

    fn read(root: &Root) -> Option<InstallLayers> {
        let tree = root.image()?;
        let mut by_header: HashMap<(String, u64), usize> = HashMap::new();
        let mut any = false;
        for (layer, folder) in tree.layer_versions(&DB_DIRS) {
            let Ok(layer_root) = Root::new(&folder) else { continue };
            let Ok(db) = Database::locate(&layer_root) else {
                continue;
            };
            any = true;
            let mut seen: HashMap<(String, u64), usize> = HashMap::new();
            let mut installed = crate::InstalledPackages::from_database(db);
            for pkg in installed.iter().flatten() {
                let key = key_of(&pkg);
                let first = by_header.get(&key).copied().unwrap_or(layer);
                seen.insert(key, first);
            }
            // A database rewritten by this layer: what it no longer holds was removed here.
            by_header = seen;
        }
        let mut by_nevra: HashMap<String, usize> = HashMap::new();
        for ((nevra, _), &layer) in &by_header {
            let lowest = by_nevra.entry(nevra.clone()).or_insert(layer);
            *lowest = (*lowest).min(layer);
        }
        any.then_some(InstallLayers { by_header, by_nevra })
    }

    /// The layer that installed `package`, when known.
    pub fn layer_of(&self, package: &Package) -> Option<usize> {
        self.by_header.get(&key_of(package)).copied()
    }

    /// The layer that installed the package named `name-evr.arch` (the lowest of its
    /// records).
    pub fn layer_of_nevra(&self, nevra: &str) -> Option<usize> {
        self.by_nevra.get(nevra).copied()
    }

    /// The same for a package known by its parts; an empty `arch` is rpm's `(none)`.
    pub fn layer_of_parts(&self, name: &str, evr: &Evr, arch: &str) -> Option<usize> {
        let arch = if arch.is_empty() { "(none)" } else { arch };
        self.layer_of_nevra(&format!("{name}-{evr}.{arch}"))
    }
}
