//! Which Red Hat products an image is, as Red Hat tells scanner vendors to decide it
//! (security-data-guidelines, `scanning-vendors.md`):
//!
//! 1. The image's *content sets* — the repositories its packages came from —
//!    `/usr/share/buildinfo/content-sets.json` (images since 2025) or every
//!    `/root/buildinfo/content_manifests/*.json` (older ones), each with a `content_sets` list.
//! 2. Each repository mapped to its CPEs through Red Hat's `repository-to-cpe.json`
//!    (`--repository-to-cpe FILE`).
//! 3. Without content sets or without the mapping: the CPEs the os-release of a RHEL image
//!    implies, `cpe:/o:redhat:enterprise_linux:N` and `cpe:/a:redhat:enterprise_linux:N` (the
//!    guidelines' "CPEs that should be checked" for a RHEL N image). The result says which.
//!
//! CPEs are compared on their first five parts — part, vendor, product, version, update — so
//! that the channel (`::baseos`, `::appstream`) is left out, as the guidelines' "CPE Matching
//! Logic" asks: unfixed products carry `cpe:/o:redhat:enterprise_linux:9`, fixed ones
//! `cpe:/o:redhat:enterprise_linux:9::baseos`. An EUS/AUS/E4S/TUS stream
//! (`cpe:/o:redhat:rhel_eus:9.4::baseos`) also gets the main stream's CPE, used only where the
//! stream itself has no fix (see [`super::judge`]).

use rpmdb::root::Root;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The most a content manifest or repository-to-cpe.json may be.
const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// A CPE reduced to what is compared: `part:vendor:product:version:update`, lowercased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpeKey(pub String);

/// The key of a CPE 2.2 URI (`cpe:/o:redhat:enterprise_linux:9::baseos`); `None` when it is
/// not one.
pub fn cpe_key(cpe: &str) -> Option<CpeKey> {
    let lower = cpe.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("cpe:/")?;
    let mut parts: Vec<String> = rest.split(':').take(5).map(str::to_string).collect();
    if parts.len() < 3 || parts[..3].iter().any(|p| p.is_empty()) {
        return None;
    }
    parts.resize(5, String::new());
    Some(CpeKey(parts.join(":")))
}

/// The main stream of an extended-support stream's CPE: `rhel_eus:9.4` → `enterprise_linux:9`.
fn main_stream(key: &CpeKey) -> Option<CpeKey> {
    let p: Vec<&str> = key.0.split(':').collect();
    if p.len() != 5 || p[1] != "redhat" || !matches!(p[2], "rhel_eus" | "rhel_aus" | "rhel_e4s" | "rhel_tus") {
        return None;
    }
    let major = p[3].split('.').next().unwrap_or("");
    if major.is_empty() {
        return None;
    }
    Some(CpeKey(format!("{}:redhat:enterprise_linux:{major}:{}", p[0], p[4])))
}

/// Red Hat's `repository-to-cpe.json`: repository id → CPEs.
#[derive(Debug, Clone, Default)]
pub struct RepositoryToCpe {
    pub source: String,
    pub map: BTreeMap<String, Vec<String>>,
}

impl RepositoryToCpe {
    /// Read `{"data": {"REPO": {"cpes": [...]}, ...}}`.
    pub fn read(path: &Path) -> Result<RepositoryToCpe, String> {
        let source = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| format!("{source}: cannot open: {e}"))?;
        let bytes = super::document::read_bounded(file, MAX_MANIFEST_BYTES).map_err(|e| format!("{source}: {e}"))?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{source}: not JSON: {e}"))?;
        let data = v
            .get("data")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{source}: no \"data\" object: not a repository-to-cpe.json"))?;
        let mut map = BTreeMap::new();
        for (repo, entry) in data {
            let cpes: Vec<String> = entry
                .get("cpes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            map.insert(repo.clone(), cpes);
        }
        Ok(RepositoryToCpe { source, map })
    }
}

/// The image's products, and how they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Platform {
    /// CPEs that match directly.
    pub direct: BTreeSet<CpeKey>,
    /// Main-stream CPEs of the image's extended-support streams (not already direct).
    pub main_stream: BTreeSet<CpeKey>,
    /// The CPEs as found, for the result.
    pub cpes: Vec<String>,
    /// The content sets found.
    pub content_sets: Vec<String>,
    /// `content-sets` or `os-release`.
    pub method: &'static str,
    /// One sentence for the result.
    pub explanation: String,
    /// Content sets the mapping does not know.
    pub unmapped: Vec<String>,
}

impl Platform {
    pub fn from_cpes(cpes: Vec<String>, method: &'static str, explanation: String) -> Platform {
        let direct: BTreeSet<CpeKey> = cpes.iter().filter_map(|c| cpe_key(c)).collect();
        let main_stream = direct
            .iter()
            .filter_map(main_stream)
            .filter(|k| !direct.contains(k))
            .collect();
        Platform {
            direct,
            main_stream,
            cpes,
            method,
            explanation,
            ..Platform::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.direct.is_empty()
    }
}

/// Add the `content_sets` of one manifest (or a bare list) to `sets`.
fn read_manifest(
    root: &Root,
    path: &str,
    sets: &mut BTreeSet<String>,
    files: &mut Vec<String>,
    errors: &mut Vec<String>,
) {
    match root.read_bounded(Path::new(path), MAX_MANIFEST_BYTES) {
        Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => match v.get("content_sets").unwrap_or(&v).as_array() {
                Some(list) => {
                    sets.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
                    files.push(path.to_string());
                }
                None => errors.push(format!("{path}: no content_sets list")),
            },
            Err(e) => errors.push(format!("{path}: not JSON: {e}")),
        },
        Err(e) if e.is_not_found() => {}
        Err(e) => errors.push(format!("{path}: {e}")),
    }
}

/// The content sets of the image, the files they came from, and the files that could not be
/// read.
pub fn content_sets(root: &Root) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut sets = BTreeSet::new();
    let mut files = Vec::new();
    let mut errors = Vec::new();
    read_manifest(
        root,
        "/usr/share/buildinfo/content-sets.json",
        &mut sets,
        &mut files,
        &mut errors,
    );
    if files.is_empty() {
        let dir = "/root/buildinfo/content_manifests";
        if let Ok(mut names) = root.read_dir_names(Path::new(dir)) {
            names.sort();
            for n in names {
                let n = n.to_string_lossy();
                if n.ends_with(".json") {
                    read_manifest(root, &format!("{dir}/{n}"), &mut sets, &mut files, &mut errors);
                }
            }
        }
    }
    (sets.into_iter().collect(), files, errors)
}

/// The CPEs of a RHEL image's os-release (`ID=rhel`), `None` for another OS or no version.
pub fn os_release_cpes(id: Option<&str>, id_like: &[String], version_id: Option<&str>) -> Option<Vec<String>> {
    // Only Red Hat's own images: a rebuild (Rocky, Alma: ID_LIKE="rhel …") ships other builds.
    let _ = id_like;
    let rhel = id == Some("rhel");
    let version = version_id?;
    let major = version
        .split('.')
        .next()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))?;
    if !rhel {
        return None;
    }
    let mut cpes = vec![
        format!("cpe:/o:redhat:enterprise_linux:{major}"),
        format!("cpe:/a:redhat:enterprise_linux:{major}"),
    ];
    // RHEL 10's fixed products name the minor release too (guidelines: "Fixed products will
    // include a major and minor version for both main and xUS streams").
    if major.parse::<u32>().is_ok_and(|m| m >= 10) && version.contains('.') {
        cpes.push(format!("cpe:/o:redhat:enterprise_linux:{version}"));
        cpes.push(format!("cpe:/a:redhat:enterprise_linux:{version}"));
    }
    Some(cpes)
}

/// Map content sets through repository-to-cpe.json.
pub fn from_content_sets(sets: &[String], files: &[String], mapping: &RepositoryToCpe) -> Platform {
    let mut cpes = BTreeSet::new();
    let mut unmapped = Vec::new();
    for s in sets {
        match mapping.map.get(s) {
            Some(c) => cpes.extend(c.iter().cloned()),
            None => unmapped.push(s.clone()),
        }
    }
    let mut p = Platform::from_cpes(
        cpes.into_iter().collect(),
        "content-sets",
        format!("content sets of {} mapped through {}", files.join(", "), mapping.source),
    );
    p.content_sets = sets.to_vec();
    p.unmapped = unmapped;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_five_parts() {
        let k = |c| cpe_key(c).unwrap();
        assert_eq!(
            k("cpe:/o:redhat:enterprise_linux:9::baseos"),
            k("cpe:/o:redhat:enterprise_linux:9")
        );
        assert_ne!(
            k("cpe:/o:redhat:enterprise_linux:9"),
            k("cpe:/a:redhat:enterprise_linux:9")
        );
        assert_ne!(
            k("cpe:/o:redhat:enterprise_linux:9"),
            k("cpe:/o:redhat:enterprise_linux:8")
        );
        assert_ne!(
            k("cpe:/o:redhat:rhel_eus:9.4::baseos"),
            k("cpe:/o:redhat:enterprise_linux:9")
        );
        assert_eq!(
            k("CPE:/O:RedHat:Enterprise_Linux:9"),
            k("cpe:/o:redhat:enterprise_linux:9")
        );
        assert!(cpe_key("cpe:2.3:o:redhat:enterprise_linux:9").is_none());
        assert!(cpe_key("cpe:/::").is_none());
        let p = Platform::from_cpes(vec!["cpe:/o:redhat:rhel_eus:9.4::baseos".into()], "x", String::new());
        assert_eq!(
            p.main_stream.into_iter().collect::<Vec<_>>(),
            [k("cpe:/o:redhat:enterprise_linux:9")]
        );
    }

    #[test]
    fn os_release_of_rhel_only() {
        assert_eq!(
            os_release_cpes(Some("rhel"), &[], Some("9.4")).unwrap(),
            ["cpe:/o:redhat:enterprise_linux:9", "cpe:/a:redhat:enterprise_linux:9"]
        );
        assert_eq!(os_release_cpes(Some("rhel"), &[], Some("10.0")).unwrap().len(), 4);
        assert!(os_release_cpes(Some("fedora"), &[], Some("40")).is_none());
        assert!(os_release_cpes(Some("rhel"), &[], None).is_none());
    }
}
