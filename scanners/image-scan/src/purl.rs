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

/// The `pkg:oci` package URL of a registry image (`docker://HOST/PATH[:TAG][@DIGEST]` or a
/// bare `NAME[:TAG]`, normalised as docker does), as the purl spec's `oci` type writes one:
///
/// `pkg:oci/<last path component>@sha256%3A<hex>?arch=<arch>&repository_url=<host>/<path>&tag=<tag>`
///
/// `None` for an image that is not in a registry (an OCI layout, an archive, local storage):
/// the `oci` type names an artifact by its repository, which those have not.
pub fn of_image(reference: &str, manifest_digest: &str, platform: Option<&str>) -> Option<String> {
    let hex = manifest_digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let rest = match reference.strip_prefix("docker://") {
        Some(r) => r,
        None if !reference.contains(':') || !reference.split_once(':').is_some_and(|(t, _)| is_transport(t)) => {
            reference
        }
        None => return None,
    };
    let rest = rest.split_once('@').map_or(rest, |(r, _)| r);
    let (path, tag) = match rest.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (rest, None),
    };
    let mut parts: Vec<&str> = path.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let first = parts[0];
    let domain = if parts.len() > 1 && (first.contains('.') || first.contains(':') || first == "localhost") {
        parts.remove(0).to_string()
    } else {
        "docker.io".to_string()
    };
    if domain == "docker.io" && parts.len() == 1 {
        parts.insert(0, "library");
    }
    let name = parts.last()?.to_ascii_lowercase();
    // Written by hand, not by the `packageurl` crate: the spec's `oci` examples (and Trivy)
    // encode the digest's `:` and leave the `/` of repository_url as it is; the crate does the
    // opposite. Both decode to the same purl.
    let mut purl = format!("pkg:oci/{}@sha256%3A{}", encode(&name), hex.to_ascii_lowercase());
    let mut separator = '?';
    let mut qualifier = |key: &str, value: &str| {
        purl.push(separator);
        purl.push_str(key);
        purl.push('=');
        purl.push_str(&encode(value));
        separator = '&';
    };
    if let Some(arch) = platform.and_then(|p| p.split('/').nth(1)).filter(|a| !a.is_empty()) {
        qualifier("arch", arch);
    }
    qualifier("repository_url", &format!("{domain}/{}", parts.join("/")));
    if let Some(t) = tag.filter(|t| !t.is_empty()) {
        qualifier("tag", t);
    }
    Some(purl)
}

/// Percent-encoding of every byte outside `A-Z a-z 0-9 . - _ ~ /`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"._-~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The transports of containers/image other than `docker://` (their references are not
/// registry names).
fn is_transport(prefix: &str) -> bool {
    matches!(
        prefix,
        "oci" | "oci-archive" | "docker-archive" | "containers-storage" | "dir" | "docker-daemon"
    )
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

    #[test]
    fn registry_images_have_the_oci_form_of_the_purl_spec() {
        let d = "sha256:244fd47e07d1004f0aed9c156aa09083b1d5ba2c1f3b3c5d1b3f3e1b0a1a2b3c";
        assert_eq!(
            of_image("docker://docker.io/library/debian:latest", d, Some("linux/amd64")).as_deref(),
            Some(
                "pkg:oci/debian@sha256%3A244fd47e07d1004f0aed9c156aa09083b1d5ba2c1f3b3c5d1b3f3e1b0a1a2b3c\
                 ?arch=amd64&repository_url=docker.io/library/debian&tag=latest"
            )
        );
        assert_eq!(
            of_image("centos:7", d, None).as_deref(),
            Some(
                "pkg:oci/centos@sha256%3A244fd47e07d1004f0aed9c156aa09083b1d5ba2c1f3b3c5d1b3f3e1b0a1a2b3c\
                 ?repository_url=docker.io/library/centos&tag=7"
            )
        );
        let p = of_image("docker://localhost:5000/Team/App@sha256:00", d, Some("linux/arm64/v8")).unwrap();
        assert!(p.starts_with("pkg:oci/app@sha256%3A244f"), "{p}");
        assert!(
            p.ends_with("?arch=arm64&repository_url=localhost%3A5000/Team/App"),
            "{p}"
        );
        for local in ["oci:/tmp/layout:demo", "oci-archive:a.tar", "containers-storage:x"] {
            assert_eq!(of_image(local, d, None), None, "{local}");
        }
        assert_eq!(of_image("docker://quay.io/a/b:1", "sha256:xyz", None), None);
        assert_eq!(of_image("docker://quay.io//b:1", d, None), None);
    }
}
