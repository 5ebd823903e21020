//! What the scanned image has installed: its packages (name, arch, EVR) from the RPM
//! database, its OS name from os-release, and the facts dnf's variables come from (machine
//! arch, `$releasever`). An image without an RPM database or os-release is not an RPM-based
//! image this scanner can judge.

use repodata::config::{self, SystemFacts};
use rootfs::osrelease::OsRelease;
use rpmdb::package::Package;
use rpmdb::root::Root;
use rpmdb::version::Evr;

/// One installed package, as the judgement needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    /// Empty for packages without ARCH (gpg-pubkey), which nothing updates.
    pub arch: String,
    pub evr: Evr,
}

/// The image as the scanner sees it.
#[derive(Debug, Clone)]
pub struct Image {
    pub installed: Vec<Installed>,
    pub os: OsRelease,
    pub facts: SystemFacts,
    /// Database records that could not be read (the others were).
    pub unreadable: Vec<String>,
}

/// Why an image cannot be judged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAnRpmImage(pub String);

impl Image {
    /// Read the installed packages and facts of a root. `host_arch` is used only when every
    /// installed package is `noarch`.
    pub fn read(root: &Root, host_arch: &str) -> Result<Image, NotAnRpmImage> {
        let os = OsRelease::read(root).ok_or_else(|| {
            NotAnRpmImage(
                "no /etc/os-release, /usr/lib/os-release or /etc/redhat-release in the image: not an RPM-based \
                 distribution (a Go, scratch or Alpine image?)"
                    .to_string(),
            )
        })?;
        let mut db = rpmdb::InstalledPackages::open(root).map_err(|e| {
            NotAnRpmImage(format!(
                "no RPM database in the image ({e}): {} is not RPM-based, or its database was removed",
                os.display_name()
            ))
        })?;
        let mut packages: Vec<Package> = Vec::new();
        let mut unreadable = Vec::new();
        for p in db.iter() {
            match p {
                Ok(p) => packages.push(p),
                Err(e) => unreadable.push(e.to_string()),
            }
        }
        if packages.is_empty() {
            let why = unreadable
                .first()
                .cloned()
                .unwrap_or_else(|| "it lists no package".to_string());
            return Err(NotAnRpmImage(format!(
                "the RPM database of the image has no readable package: {why}"
            )));
        }
        let facts = SystemFacts::from_installed(
            packages.iter().filter_map(|p| p.arch.as_deref()),
            config::releasever_from_packages(&packages),
            host_arch,
        );
        let installed = packages
            .iter()
            .map(|p| Installed {
                name: p.name.clone(),
                arch: p.arch.clone().unwrap_or_default(),
                evr: p.evr(),
            })
            .collect();
        Ok(Image {
            installed,
            os,
            facts,
            unreadable,
        })
    }
}
