//! The installed packages an advisory is judged against, as dnf's `updateinfo list` takes
//! them: `query().installed().latest(1)`, the newest installed EVR of each `name.arch`.
//!
//! Packages without an arch (`gpg-pubkey`) are left out: no advisory lists them. A database
//! record that cannot be read is reported, and the other packages are still judged.

use repodata::config;
use rpmdb::package::Package;
use rpmdb::root::Root;
use rpmdb::version::Evr;
use rpmdb::InstalledPackages;
use std::collections::HashMap;

/// One installed package, reduced to what the judgements need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    pub name: String,
    pub evr: Evr,
    pub arch: String,
    /// `name-version-release.arch`.
    pub nvra: String,
    /// The OpenPGP key id of the package signature (16 lowercase hex), for OVAL.
    pub key_id: Option<String>,
    /// `name:stream:version:context` of a modular build.
    pub modularity_label: Option<String>,
    /// The name of the source package it was built from (from `SOURCERPM`), for feeds that
    /// name source packages (CSAF VEX's unfixed components).
    pub source_name: Option<String>,
}

impl InstalledPackage {
    /// `name-[epoch:]version-release.arch` as dnf prints it: the form every advisory finding
    /// shows for the installed package, beside the fixed one in the same form (without the
    /// epoch, an installed `2:3.4` would read as older than a fixed `3:1.0`... or newer).
    pub fn nevra(&self) -> String {
        rpmdb::version::dnf_nevra(&self.name, &self.evr, &self.arch)
    }

    pub fn from_package(p: &Package) -> Option<InstalledPackage> {
        let arch = p.arch.clone()?;
        let key_id = match p.signature() {
            rpmdb::package::Signature::Parsed(s) => Some(s.key_id.iter().map(|b| format!("{b:02x}")).collect()),
            _ => None,
        };
        Some(InstalledPackage {
            name: p.name.clone(),
            evr: p.evr(),
            arch,
            nvra: p.nvra(),
            key_id,
            modularity_label: p.modularity_label().filter(|l| !l.is_empty()),
            source_name: p.source_rpm().as_deref().and_then(source_rpm_name).map(str::to_string),
        })
    }
}

/// The name in a `SOURCERPM` value, `name-version-release.src.rpm` (or `.nosrc.rpm`).
pub fn source_rpm_name(source_rpm: &str) -> Option<&str> {
    let nvr = source_rpm
        .strip_suffix(".src.rpm")
        .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))?;
    let (nv, _release) = nvr.rsplit_once('-')?;
    let (name, _version) = nv.rsplit_once('-')?;
    Some(name).filter(|n| !n.is_empty())
}

/// Every installed package, indexed by name, with the newest of each `name.arch` at hand.
#[derive(Debug, Default)]
pub struct InstalledIndex {
    /// All installed packages of a name (several versions of an install-only package, or
    /// several arches), in database order.
    by_name: HashMap<String, Vec<InstalledPackage>>,
    /// How many packages the database holds (including those without arch).
    pub count: usize,
    /// Records that could not be read: `file: header #n: reason`.
    pub errors: Vec<String>,
    /// The database file, as the image sees it.
    pub database: String,
    /// `$releasever` as dnf derives it from the packages (see
    /// [`repodata::config::releasever_from_packages`]).
    pub releasever: Option<String>,
}

impl InstalledIndex {
    /// Every installed package, name by name.
    pub fn packages(&self) -> impl Iterator<Item = &InstalledPackage> {
        self.by_name.values().flatten()
    }

    /// Read the root's RPM database. Fails only when there is no readable database at all.
    pub fn read(root: &Root) -> Result<InstalledIndex, String> {
        let mut db = InstalledPackages::open(root).map_err(|e| format!("no RPM database could be read: {e}"))?;
        let database = db.path.display().to_string();
        let mut index = InstalledIndex {
            database,
            ..InstalledIndex::default()
        };
        // Packages that may name the release, in database order, for $releasever.
        let mut release_packages = Vec::new();
        for p in db.iter() {
            match p {
                Ok(p) => {
                    index.count += 1;
                    if let Some(i) = InstalledPackage::from_package(&p) {
                        index.insert(i);
                    }
                    let names_release = p
                        .provides()
                        .map(|deps| deps.iter().any(|d| config::DISTROVERPKG.contains(&d.name.as_str())))
                        .unwrap_or(false);
                    if names_release {
                        release_packages.push(p);
                    }
                }
                Err(e) => index.errors.push(e.to_string()),
            }
        }
        index.releasever = config::releasever_from_packages(&release_packages);
        Ok(index)
    }

    pub fn insert(&mut self, p: InstalledPackage) {
        self.by_name.entry(p.name.clone()).or_default().push(p);
    }

    pub fn from_packages(pkgs: impl IntoIterator<Item = InstalledPackage>) -> InstalledIndex {
        let mut index = InstalledIndex::default();
        for p in pkgs {
            index.count += 1;
            index.insert(p);
        }
        index
    }

    /// All installed packages named `name`.
    pub fn named(&self, name: &str) -> &[InstalledPackage] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The newest installed `name.arch` (dnf's `latest(1)` per name and arch).
    pub fn latest(&self, name: &str, arch: &str) -> Option<&InstalledPackage> {
        self.named(name)
            .iter()
            .filter(|p| p.arch == arch)
            .max_by(|a, b| a.evr.cmp(&b.evr))
    }

    pub fn iter(&self) -> impl Iterator<Item = &InstalledPackage> {
        self.by_name.values().flatten()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The installed packages that own each of `paths` (for OVAL's `rpmverifyfile` objects),
/// and the records that could not be read. Reads every package's file list: only asked for
/// when a feed needs it.
pub fn owners_of(root: &Root, paths: &[String]) -> (HashMap<String, Vec<InstalledPackage>>, Vec<String>) {
    let mut owners: HashMap<String, Vec<InstalledPackage>> = HashMap::new();
    let mut errors = Vec::new();
    if paths.is_empty() {
        return (owners, errors);
    }
    let mut db = match InstalledPackages::open(root) {
        Ok(db) => db,
        Err(e) => {
            errors.push(e.to_string());
            return (owners, errors);
        }
    };
    for p in db.iter() {
        let p = match p {
            Ok(p) => p,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let files = match p.files() {
            Ok(f) => f,
            Err(e) => {
                errors.push(format!("{}: file list: {}", p.nvra(), e.0));
                continue;
            }
        };
        for f in files {
            let path = f.path.to_string_lossy();
            if let Some(wanted) = paths.iter().find(|w| **w == path) {
                if let Some(i) = InstalledPackage::from_package(&p) {
                    owners.entry(wanted.clone()).or_default().push(i);
                }
            }
        }
    }
    (owners, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_form_keeps_a_non_zero_epoch_as_the_fixed_form_does() {
        let p = InstalledPackage {
            name: "hx-daemon".to_string(),
            evr: Evr::new(Some(2), "3.4~rc1".to_string(), "5.el7".to_string()),
            arch: "x86_64".to_string(),
            nvra: "hx-daemon-3.4~rc1-5.el7.x86_64".to_string(),
            key_id: None,
            modularity_label: None,
            source_name: None,
        };
        assert_eq!(p.nevra(), "hx-daemon-2:3.4~rc1-5.el7.x86_64");
        let zero = InstalledPackage {
            evr: Evr::new(Some(0), "1.0".to_string(), "1".to_string()),
            ..p
        };
        assert_eq!(zero.nevra(), "hx-daemon-1.0-1.x86_64");
    }

    #[test]
    fn source_names() {
        assert_eq!(source_rpm_name("mingw-expat-2.2.5-1.el8.src.rpm"), Some("mingw-expat"));
        assert_eq!(source_rpm_name("a-1-2.nosrc.rpm"), Some("a"));
        assert_eq!(source_rpm_name("-1-2.src.rpm"), None);
        assert_eq!(source_rpm_name("expat.rpm"), None);
    }
}
