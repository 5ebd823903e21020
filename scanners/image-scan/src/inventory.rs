//! The installed packages of a subject, for the SBOMs: what `rpm -qa` lists, with the
//! fields an SBOM carries (licence, source RPM, vendor, summary) and the layer that installed
//! each package, plus the OS identity the package URLs name.
//!
//! Read from the same preloaded database the three checks judge, so the SBOM and the findings
//! describe one reading of the subject.

use crate::findings::Layer;
use rpmdb::root::Root;
use rpmdb::version::Evr;

/// One installed package, as an SBOM describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// `None` for a package without an arch (gpg-pubkey).
    pub arch: Option<String>,
    /// rpm's `License` tag as written (often an SPDX or Fedora short-name expression).
    pub license: Option<String>,
    pub source_rpm: Option<String>,
    pub vendor: Option<String>,
    pub summary: Option<String>,
    /// The header's SHA-256 as rpm recorded it (`%{SHA256HEADER}`), when it did.
    pub header_sha256: Option<String>,
    /// The layer that installed the package, for an image.
    pub layer: Option<Layer>,
}

impl InstalledPackage {
    /// `[epoch:]version-release` as dnf prints it (no `0:`).
    pub fn evr(&self) -> String {
        Evr::new(self.epoch, self.version.clone(), self.release.clone()).dnf_text()
    }

    /// `version-release`, or `epoch:version-release` when the epoch is not zero: the
    /// version an SBOM gives.
    pub fn sbom_version(&self) -> String {
        match self.epoch.filter(|e| *e != 0) {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// The `License` tag when it is a valid SPDX license expression as written (see
    /// [`spdx_expression`]), else `None`.
    pub fn spdx_license(&self) -> Option<&str> {
        self.license.as_deref().filter(|l| spdx_expression(l))
    }

    /// `name-version-release.arch`, as `rpm -qa` prints it (no epoch; `(none)` without an
    /// arch).
    pub fn nvra(&self) -> String {
        format!(
            "{}-{}-{}.{}",
            self.name,
            self.version,
            self.release,
            self.arch.as_deref().unwrap_or("(none)")
        )
    }
}

/// Whether `text` is an SPDX license expression as the SPDX specification writes one:
/// identifiers of the SPDX license list (case-sensitive, not deprecated) joined by `AND`,
/// `OR` and `WITH` in capitals. Fedora's and older rpm short names (`GPLv2+`, `MIT and BSD`)
/// are not: mapping them would put a licence in the SBOM that the packager did not write.
/// `LicenseRef-`/`DocumentRef-` terms are refused too: this document defines none.
pub fn spdx_expression(text: &str) -> bool {
    let words = text.split(|c: char| c.is_whitespace() || c == '(' || c == ')');
    for w in words {
        let operator = ["and", "or", "with"].iter().any(|o| w.eq_ignore_ascii_case(o));
        if (operator && w != w.to_ascii_uppercase()) || w.contains("LicenseRef-") || w.contains("DocumentRef-") {
            return false;
        }
    }
    !text.trim().is_empty() && text.len() <= 4096 && spdx::Expression::parse(text).is_ok()
}

/// The OS identity of the subject, from os-release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsIdentity {
    /// os-release `ID` (`centos`, `rhel`, `fedora`, `opensuse-leap`...).
    pub id: Option<String>,
    pub version_id: Option<String>,
    /// What to show a person (`PRETTY_NAME`).
    pub pretty_name: String,
}

/// The package inventory of one subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub os: Option<OsIdentity>,
    /// Sorted by name, then EVR text, then arch (the order `rpm -qa | sort` gives by name).
    pub packages: Vec<InstalledPackage>,
    /// Why the package database could not be read in full (then the SBOM is incomplete and
    /// says so).
    pub error: Option<String>,
}

impl Inventory {
    /// Read the inventory of an opened root (its database preloaded or not).
    pub fn of(root: &Root) -> Inventory {
        let os = rootfs::osrelease::OsRelease::read(root).map(|o| OsIdentity {
            pretty_name: o.display_name(),
            id: o.id,
            version_id: o.version_id,
        });
        let layers = rpmdb::layers::InstallLayers::of(root);
        let tree = root.image();
        let mut inventory = Inventory {
            os,
            ..Inventory::default()
        };
        let mut db = match rpmdb::InstalledPackages::open(root) {
            Ok(db) => db,
            Err(e) => {
                inventory.error = Some(e.to_string());
                return inventory;
            }
        };
        for p in db.iter() {
            let p = match p {
                Ok(p) => p,
                Err(e) => {
                    inventory.error.get_or_insert_with(|| e.to_string());
                    continue;
                }
            };
            let layer = layers.as_ref().zip(tree).and_then(|(l, t)| {
                let index = l.layer_of(&p)?;
                let info = t.layers().get(index)?;
                Some(Layer {
                    index: index as u64 + 1,
                    digest: info.digest.clone(),
                    created_by: info.created_by.clone(),
                })
            });
            inventory.packages.push(InstalledPackage {
                license: p.license(),
                source_rpm: p.source_rpm(),
                vendor: p.vendor(),
                summary: p.summary(),
                header_sha256: p.sha256_header(),
                layer,
                name: p.name,
                epoch: p.epoch,
                version: p.version,
                release: p.release,
                arch: p.arch,
            });
        }
        // The EVR text is made once per package, not twice per comparison.
        inventory
            .packages
            .sort_by_cached_key(|p| (p.name.clone(), p.evr(), p.arch.clone()));
        inventory
    }
}

#[cfg(test)]
mod tests {
    use super::spdx_expression;

    #[test]
    fn only_spdx_license_expressions_as_the_spec_writes_them() {
        for ok in [
            "MIT",
            "MIT AND BSD-3-Clause",
            "(MIT OR Apache-2.0) AND Zlib",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
        ] {
            assert!(spdx_expression(ok), "{ok}");
        }
        for not in [
            "",
            " ",
            "GPLv2",
            "GPLv2+",
            "MIT and BSD",
            "MIT And BSD-3-Clause",
            "GPL-2.0+",
            "mit",
            "(MIT",
            "LicenseRef-rpm-GPLv2",
            "Public Domain",
        ] {
            assert!(!spdx_expression(not), "{not}");
        }
    }
}
