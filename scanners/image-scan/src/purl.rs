//! Package URLs for installed RPMs, in the form Red Hat publishes in its security data and
//! Syft and Trivy write in their SBOMs:
//!
//! `pkg:rpm/<namespace>/<name>@<version>-<release>?arch=<arch>&distro=<id>-<version_id>&epoch=<e>`
//!
//! - namespace: the distribution, from os-release `ID` (`redhat` for `rhel`, as Red Hat's own
//!   purls name it; `centos`, `fedora`, `rocky`, `almalinux`, `amzn`, `opensuse-leap`... as
//!   Syft names them); without an os-release, the package's vendor is not a namespace and none
//!   is given;
//! - `epoch` only when it is not zero (Red Hat's rule);
//! - `distro` as Syft and Trivy add it (`centos-7`, `rhel-9.4`);
//! - qualifiers in key order and every component percent-encoded, by the `packageurl` crate.

use crate::inventory::{InstalledPackage, OsIdentity};
use packageurl::PackageUrl;

/// The purl namespace of a distribution's packages.
pub fn namespace(os: &OsIdentity) -> Option<String> {
    let id = os.id.as_deref()?.trim().to_ascii_lowercase();
    if id.is_empty() {
        return None;
    }
    Some(if id == "rhel" { "redhat".to_string() } else { id })
}

/// The `distro` qualifier: `ID-VERSION_ID`.
pub fn distro(os: &OsIdentity) -> Option<String> {
    Some(format!("{}-{}", os.id.as_deref()?, os.version_id.as_deref()?))
}

/// The package URL of an installed package.
pub fn of(package: &InstalledPackage, os: Option<&OsIdentity>) -> String {
    let ns = os.and_then(namespace);
    let version = format!("{}-{}", package.version, package.release);
    let name = if package.name.is_empty() {
        "(unnamed)"
    } else {
        &package.name
    };
    let Ok(mut purl) = PackageUrl::new("rpm", name) else {
        return format!("pkg:rpm/{name}");
    };
    let _ = purl.with_version(version.as_str());
    if let Some(ns) = &ns {
        let _ = purl.with_namespace(ns.as_str());
    }
    // Qualifiers are written in the order added; add them sorted as the spec asks.
    if let Some(arch) = &package.arch {
        let _ = purl.add_qualifier("arch", arch.as_str());
    }
    if let Some(d) = os.and_then(distro) {
        let _ = purl.add_qualifier("distro", d);
    }
    if let Some(e) = package.epoch.filter(|e| *e != 0) {
        let _ = purl.add_qualifier("epoch", e.to_string());
    }
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, epoch: Option<u32>, version: &str, release: &str, arch: Option<&str>) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            epoch,
            version: version.into(),
            release: release.into(),
            arch: arch.map(str::to_string),
            license: None,
            source_rpm: None,
            vendor: None,
            summary: None,
            header_sha256: None,
            layer: None,
        }
    }

    fn os(id: &str, version: &str) -> OsIdentity {
        OsIdentity {
            id: Some(id.into()),
            version_id: Some(version.into()),
            pretty_name: String::new(),
        }
    }

    #[test]
    fn red_hat_form_with_epoch_only_when_not_zero() {
        let rhel = os("rhel", "9.4");
        assert_eq!(
            of(&pkg("openssl", Some(1), "3.0.7", "27.el9", Some("x86_64")), Some(&rhel)),
            "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&distro=rhel-9.4&epoch=1"
        );
        assert_eq!(
            of(
                &pkg("curl", Some(0), "7.29.0", "59.el7", Some("x86_64")),
                Some(&os("centos", "7"))
            ),
            "pkg:rpm/centos/curl@7.29.0-59.el7?arch=x86_64&distro=centos-7"
        );
        assert_eq!(
            of(&pkg("gpg-pubkey", None, "f4a80eb5", "53a7ff4b", None), None),
            "pkg:rpm/gpg-pubkey@f4a80eb5-53a7ff4b"
        );
    }

    #[test]
    fn characters_outside_the_safe_set_are_encoded() {
        let p = of(
            &pkg("libstdc++", None, "1.0^git1", "1.fc40", Some("x86_64")),
            Some(&os("fedora", "40")),
        );
        assert!(p.starts_with("pkg:rpm/fedora/libstdc%2B%2B@1.0%5Egit1-1.fc40?"), "{p}");
    }
}
