//! The image author's VEX statements (`--vex FILE`, repeatable): what the author of the image
//! declares of a vulnerability in one of its packages, and the findings those declarations
//! suppress. This module owns reading the files (bounded; each failure a named warning, and
//! then nothing of that file is used), the statements they make ([`openvex`], [`csaf`]), the
//! rule that matches a statement to a finding, and the record of what was suppressed and why
//! ([`Suppression`], which [`crate::report`] shows). The findings themselves come from the
//! judgements before it (updateinfo, OVAL, Red Hat's CSAF VEX); Red Hat's own VEX documents
//! are [`crate::csaf`]'s, not this module's.
//!
//! # The matching rule
//! - Only `not_affected` (OpenVEX) / `known_not_affected` (CSAF) statements suppress; the
//!   other statuses are read, and count when they are the newest word on a CVE and package.
//! - A statement *covers* a CVE of an installed package when one of its vulnerability names
//!   (OpenVEX `name` or `aliases`, CSAF `cve`; case aside) is the CVE and one of its products
//!   is an RPM purl (`pkg:rpm/…`) that names the package: the purl's name is the package's
//!   name or its source RPM's; a purl version `V-R` must equal the installed version and
//!   release (a version without `-R`, the version alone), an `epoch` qualifier the installed
//!   epoch; an `arch` qualifier the installed arch, except `arch=src`, which names the source
//!   package and so covers every package built from it. Other qualifiers are not compared.
//! - Of several statements covering the same CVE and package, the newest decides (statement
//!   `timestamp`/`last_updated`, else the document's; none is oldest), and of equal times the
//!   later one given (later file, later in the file).
//! - A package of a finding is suppressed when *every* CVE of the finding is covered for it by
//!   a deciding `not_affected` statement. A finding is suppressed — left out of
//!   `Vulnerabilities` — when all its packages are; otherwise it stays with the packages that
//!   remain, and the CVEs declared not affected for them are listed with it. A finding without
//!   CVEs is never suppressed.
//! - A `not_affected` statement with neither a justification nor an impact statement (both
//!   specs require one) is a warning and is not used.

pub mod csaf;
pub mod openvex;

use crate::csaf::products::{parse_rpm_purl, Component};
use crate::finding::{Finding, ScanWarning};
use crate::installed::{InstalledIndex, InstalledPackage};
use rpmdb::version::Evr;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// The largest `--vex` file read.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// The justifications both specs name (OpenVEX `justification`, CSAF VEX `flags[].label`).
pub const JUSTIFICATIONS: &[&str] = &[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// A statement's status (OpenVEX's names; CSAF's `known_not_affected` is `NotAffected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "not_affected" => Status::NotAffected,
            "affected" => Status::Affected,
            "fixed" => Status::Fixed,
            "under_investigation" => Status::UnderInvestigation,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotAffected => "not_affected",
            Status::Affected => "affected",
            Status::Fixed => "fixed",
            Status::UnderInvestigation => "under_investigation",
        }
    }
}

/// A product a statement names that is an RPM package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    /// The purl, or the CSAF product id, as written.
    pub id: String,
    pub component: Component,
}

/// The RPM package a purl names; `None` for other purls (`pkg:oci/…`, `pkg:npm/…`). A version
/// written `EPOCH:V-R` counts as `V-R` with that epoch.
pub fn package_ref(purl: &str) -> Option<PackageRef> {
    let mut component = parse_rpm_purl(purl)?;
    if let Some(evr) = component.evr.as_mut() {
        if let Some((e, v)) = evr.version.split_once(':') {
            if let Ok(e) = e.parse::<u32>() {
                *evr = Evr::new(Some(e), v, evr.release.clone());
                component.epoch_given = true;
            }
        }
    }
    Some(PackageRef {
        id: purl.to_string(),
        component,
    })
}

/// One statement about one or more vulnerabilities and packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The vulnerability's name and aliases, upper-case.
    pub vulnerabilities: Vec<String>,
    pub packages: Vec<PackageRef>,
    pub status: Status,
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    /// The `--vex` file.
    pub source: String,
    /// Unix seconds.
    pub timestamp: Option<i64>,
}

/// A date of either spec (RFC 3339, fractional seconds allowed) as Unix seconds.
pub fn parse_timestamp(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    // `…:SS.fffffffff` → `…:SS`: fractions of a second never decide between statements here.
    let without_fraction = match raw.find('T').and_then(|t| raw[t..].find('.').map(|d| t + d)) {
        Some(dot) => {
            let digits = raw[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
            format!("{}{}", &raw[..dot], &raw[dot + 1 + digits..])
        }
        None => raw.to_string(),
    };
    crate::csaf::parse_date(&without_fraction)
}

/// Does the package ref name this installed package (the rule in the module documentation)?
pub fn covers(r: &PackageRef, p: &InstalledPackage) -> bool {
    let c = &r.component;
    let by_source = p.source_name.as_deref() == Some(c.name.as_str());
    let named = match c.arch.as_deref() {
        Some("src") => by_source,
        Some(arch) => arch == p.arch && (c.name == p.name || by_source),
        None => c.name == p.name || by_source,
    };
    if !named {
        return false;
    }
    match &c.evr {
        None => true,
        Some(evr) => {
            evr.version == p.evr.version
                && (evr.release.is_empty() || evr.release == p.evr.release)
                && (!c.epoch_given || evr.epoch_or_zero() == p.evr.epoch_or_zero())
        }
    }
}

/// One `--vex` file as the result lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexFile {
    pub source: String,
    /// `openvex` or `csaf`; `None` when it could not be told.
    pub format: Option<&'static str>,
    pub statements: usize,
    pub error: Option<String>,
}

/// Every statement of the `--vex` files, in the order given.
#[derive(Debug, Clone, Default)]
pub struct Statements {
    pub list: Vec<Statement>,
    pub files: Vec<VexFile>,
}

/// Which of the two formats a document is, by its top-level members.
#[derive(Deserialize)]
struct Sniff {
    #[serde(rename = "@context", default)]
    context: Option<IgnoredAny>,
    #[serde(default)]
    statements: Option<IgnoredAny>,
    #[serde(default)]
    document: Option<IgnoredAny>,
}

fn read_bytes(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let too_large = || format!("larger than {MAX_FILE_BYTES} bytes, the most a --vex file may be");
    if file.metadata().is_ok_and(|m| m.len() > MAX_FILE_BYTES) {
        return Err(too_large());
    }
    crate::csaf::document::read_bounded(file, MAX_FILE_BYTES).map_err(|e| match e {
        crate::csaf::document::DocumentError::TooLarge { .. } => too_large(),
        e => e.to_string(),
    })
}

/// Read one document's statements (`Err`: none of it is used).
pub fn read_document(
    bytes: &[u8],
    source: &str,
    warnings: &mut Vec<ScanWarning>,
) -> (Option<&'static str>, Result<Vec<Statement>, String>) {
    let sniff: Sniff = match serde_json::from_slice(bytes) {
        Ok(s) => s,
        Err(e) => return (None, Err(format!("not JSON: {e}"))),
    };
    if sniff.context.is_some() || sniff.statements.is_some() {
        (Some("openvex"), openvex::read(bytes, source, warnings))
    } else if sniff.document.is_some() {
        (Some("csaf"), csaf::read(bytes, source, warnings))
    } else {
        (
            None,
            Err("neither an OpenVEX document (@context, statements) nor a CSAF VEX document (document)".into()),
        )
    }
}

/// Read every `--vex` file. A file that cannot be read or is no VEX document is a
/// `vex-file-error` warning and gives no statement.
pub fn read_files(paths: &[PathBuf], warnings: &mut Vec<ScanWarning>) -> Statements {
    let mut out = Statements::default();
    for path in paths {
        let source = path.display().to_string();
        let (format, read) = match read_bytes(path) {
            Ok(bytes) => {
                // The document's own warnings count only when the document is read.
                let mut own = Vec::new();
                let r = read_document(&bytes, &source, &mut own);
                if r.1.is_ok() {
                    warnings.extend(own);
                }
                r
            }
            Err(e) => (None, Err(e)),
        };
        let mut file = VexFile {
            source: source.clone(),
            format,
            statements: 0,
            error: None,
        };
        match read {
            Ok(statements) => {
                file.statements = statements.len();
                out.list.extend(statements);
            }
            Err(e) => {
                warnings.push(ScanWarning::new(
                    "vex-file-error",
                    Some(&source),
                    format!("{source}: {e}; none of its statements are used"),
                ));
                file.error = Some(e);
            }
        }
        out.files.push(file);
    }
    out
}

/// A CVE of a finding that a statement declared not affected for an installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The finding: an advisory id, or a CVE (Red Hat's VEX findings).
    pub advisory: String,
    pub cve: String,
    /// The installed `name-[epoch:]version-release.arch`.
    pub package: String,
    pub status: Status,
    pub justification: Option<String>,
    pub impact_statement: Option<String>,
    pub source: String,
    /// True when the whole finding was left out.
    pub finding_suppressed: bool,
}

/// What the statements did to the findings.
#[derive(Debug, Clone, Default)]
pub struct Suppression {
    pub files: Vec<VexFile>,
    /// Per CVE and package taken out of the result (whole findings and single packages).
    pub suppressed: Vec<Declared>,
    /// Findings that stay, by id: their CVEs declared not affected for packages that stay.
    pub declared: BTreeMap<String, Vec<Declared>>,
    /// Findings left out entirely.
    pub findings_suppressed: usize,
    /// Packages taken out of findings that stay.
    pub packages_suppressed: usize,
}

impl Suppression {
    /// The Summary's clause: `3 findings suppressed by the image's VEX statements`.
    pub fn summary_clause(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = Vec::new();
        if self.findings_suppressed > 0 || self.packages_suppressed == 0 {
            parts.push(plural(self.findings_suppressed, "finding", "findings"));
        }
        if self.packages_suppressed > 0 {
            parts.push(plural(
                self.packages_suppressed,
                "package of a finding that still applies",
                "packages of findings that still apply",
            ));
        }
        format!("{} suppressed by the image's VEX statements", parts.join(" and "))
    }
}

/// The statements by vulnerability name, each with its place in the order given.
struct ByCve<'s>(HashMap<&'s str, Vec<(usize, &'s Statement)>>);

impl<'s> ByCve<'s> {
    fn of(list: &'s [Statement]) -> ByCve<'s> {
        let mut m: HashMap<&str, Vec<(usize, &Statement)>> = HashMap::new();
        for (i, s) in list.iter().enumerate() {
            for v in &s.vulnerabilities {
                m.entry(v.as_str()).or_default().push((i, s));
            }
        }
        ByCve(m)
    }

    /// The statement that decides `cve` for `p`: the newest covering it, the later given of
    /// equal times.
    fn deciding(&self, cve: &str, p: &InstalledPackage) -> Option<&'s Statement> {
        self.0
            .get(cve.to_ascii_uppercase().as_str())?
            .iter()
            .filter(|(_, s)| s.packages.iter().any(|r| covers(r, p)))
            .max_by_key(|(i, s)| (s.timestamp.unwrap_or(i64::MIN), *i))
            .map(|(_, s)| *s)
    }
}

/// Apply the statements to the findings (the rule in the module documentation): suppressed
/// findings are removed, suppressed packages taken out of the findings that stay.
pub fn apply(statements: Statements, findings: &mut Vec<Finding>, installed: &InstalledIndex) -> Suppression {
    let mut out = Suppression {
        files: statements.files,
        ..Suppression::default()
    };
    if statements.list.is_empty() {
        return out;
    }
    let by_cve = ByCve::of(&statements.list);
    let by_nevra: HashMap<String, &InstalledPackage> = installed.packages().map(|p| (p.nevra(), p)).collect();
    findings.retain_mut(|f| {
        if f.cves.is_empty() || f.packages.is_empty() {
            return true;
        }
        let mut gone = Vec::new();
        let mut kept_declared = Vec::new();
        for pkg in &f.packages {
            let Some(p) = by_nevra.get(&pkg.installed) else {
                continue;
            };
            let declared: Vec<Declared> = f
                .cves
                .iter()
                .filter_map(|cve| {
                    let s = by_cve.deciding(cve, p).filter(|s| s.status == Status::NotAffected)?;
                    Some(Declared {
                        advisory: f.id.clone(),
                        cve: cve.clone(),
                        package: pkg.installed.clone(),
                        status: s.status,
                        justification: s.justification.clone(),
                        impact_statement: s.impact_statement.clone(),
                        source: s.source.clone(),
                        finding_suppressed: false,
                    })
                })
                .collect();
            if declared.len() == f.cves.len() {
                gone.push((pkg.clone(), declared));
            } else {
                kept_declared.extend(declared);
            }
        }
        let whole = gone.len() == f.packages.len();
        for (pkg, declared) in gone {
            if !whole {
                f.packages.remove(&pkg);
                out.packages_suppressed += 1;
            }
            out.suppressed.extend(declared.into_iter().map(|d| Declared {
                finding_suppressed: whole,
                ..d
            }));
        }
        if whole {
            out.findings_suppressed += 1;
            return false;
        }
        if !kept_declared.is_empty() {
            out.declared.insert(f.id.clone(), kept_declared);
        }
        true
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::AffectedPackage;
    use repodata::updateinfo::AdvisoryKind;

    fn inst(name: &str, evr: &str, arch: &str, source: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            evr: Evr::parse(evr),
            arch: arch.into(),
            nvra: String::new(),
            key_id: None,
            modularity_label: None,
            source_name: Some(source.into()),
        }
    }

    fn covers_purl(purl: &str, p: &InstalledPackage) -> bool {
        covers(&package_ref(purl).unwrap(), p)
    }

    #[test]
    fn purls_name_packages_by_name_source_version_epoch_and_arch() {
        let libs = inst("openssl-libs", "1:1.1.1k-7.el8", "x86_64", "openssl");
        for yes in [
            "pkg:rpm/redhat/openssl-libs",
            "pkg:rpm/redhat/openssl",
            "pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8",
            "pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8?arch=x86_64",
            "pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8?arch=x86_64&epoch=1",
            "pkg:rpm/redhat/openssl-libs@1:1.1.1k-7.el8",
            "pkg:rpm/redhat/openssl-libs@1.1.1k",
            "pkg:rpm/redhat/openssl@1.1.1k-7.el8?arch=src",
            "pkg:rpm/redhat/openssl?arch=src&distro=rhel-8",
        ] {
            assert!(covers_purl(yes, &libs), "{yes}");
        }
        for no in [
            "pkg:rpm/redhat/openssl-devel",
            "pkg:rpm/redhat/openssl-libs@1.1.1k-8.el8",
            "pkg:rpm/redhat/openssl-libs@1.1.1l",
            "pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8?arch=i686",
            "pkg:rpm/redhat/openssl-libs@1.1.1k-7.el8?epoch=0",
            "pkg:rpm/redhat/openssl-libs@0:1.1.1k-7.el8",
            "pkg:rpm/redhat/openssl-libs?arch=src",
        ] {
            assert!(!covers_purl(no, &libs), "{no}");
        }
        assert!(package_ref("pkg:oci/ubi9").is_none());
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse_timestamp("2023-01-08T18:02:03.647787998-06:00"),
            parse_timestamp("2023-01-09T00:02:03Z")
        );
        assert_eq!(
            parse_timestamp("2024-11-20T10:00:00Z"),
            crate::csaf::parse_date("2024-11-20T10:00:00Z")
        );
        assert!(parse_timestamp("2024-11-20T10:00:00Z").is_some());
        assert_eq!(parse_timestamp("yesterday"), None);
    }

    fn statement(cve: &str, purl: &str, status: Status, ts: Option<i64>) -> Statement {
        Statement {
            vulnerabilities: vec![cve.to_ascii_uppercase()],
            packages: vec![package_ref(purl).unwrap()],
            status,
            justification: Some("vulnerable_code_not_present".into()),
            impact_statement: None,
            source: "vex.json".into(),
            timestamp: ts,
        }
    }

    fn finding(id: &str, cves: &[&str], packages: &[&InstalledPackage]) -> Finding {
        Finding {
            id: id.into(),
            kind: AdvisoryKind::Security,
            title: None,
            severity: None,
            severity_raw: None,
            cves: cves.iter().map(|c| c.to_string()).collect(),
            issued: None,
            updated: None,
            packages: packages
                .iter()
                .map(|p| AffectedPackage {
                    installed: p.nevra(),
                    fixed: None,
                    fixed_evr: None,
                    module: None,
                    status: None,
                    advisory: None,
                })
                .collect(),
            sources: Default::default(),
            vex: None,
        }
    }

    #[test]
    fn the_rule_for_several_cves_and_packages() {
        let expat = inst("expat", "2.5.0-2.el9", "x86_64", "expat");
        // Built from another source package: "expat" purls do not name it.
        let devel = inst("expat-devel", "2.5.0-2.el9", "x86_64", "expat-extras");
        let curl = inst("curl", "7.76.1-29.el9", "x86_64", "curl");
        let installed = InstalledIndex::from_packages([expat.clone(), devel.clone(), curl.clone()]);
        let na = Status::NotAffected;
        let list = vec![
            // Both CVEs of RHSA-A for expat (not expat-devel): only that package goes.
            statement("CVE-1", "pkg:rpm/redhat/expat?arch=x86_64", na, None),
            statement("cve-2", "pkg:rpm/redhat/expat@2.5.0-2.el9", na, None),
            // One of curl's two CVEs: curl stays, CVE-3 listed as declared.
            statement("CVE-3", "pkg:rpm/redhat/curl", na, None),
            // CVE-5: not_affected, then a newer affected: the newer decides.
            statement("CVE-5", "pkg:rpm/redhat/curl", na, Some(100)),
            statement("CVE-5", "pkg:rpm/redhat/curl", Status::Affected, Some(200)),
            // CVE-6: affected, then not_affected given later at the same time: suppressed.
            statement("CVE-6", "pkg:rpm/redhat/expat", Status::Affected, Some(100)),
            statement("CVE-6", "pkg:rpm/redhat/expat", na, Some(100)),
            // CVE-7: not_affected for another version.
            statement("CVE-7", "pkg:rpm/redhat/expat@2.5.0-3.el9", na, None),
        ];
        let mut findings = vec![
            finding("RHSA-A", &["CVE-1", "CVE-2"], &[&expat, &devel]),
            finding("RHSA-B", &["CVE-3", "CVE-4"], &[&curl]),
            finding("CVE-5", &["CVE-5"], &[&curl]),
            finding("CVE-6", &["CVE-6"], &[&expat]),
            finding("CVE-7", &["CVE-7"], &[&expat]),
            finding("RHBA-C", &[], &[&expat]),
        ];
        let s = apply(Statements { list, files: vec![] }, &mut findings, &installed);
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["RHSA-A", "RHSA-B", "CVE-5", "CVE-7", "RHBA-C"]);
        let a_packages: Vec<&str> = findings[0].packages.iter().map(|p| p.installed.as_str()).collect();
        assert_eq!(a_packages, ["expat-devel-2.5.0-2.el9.x86_64"]);
        assert_eq!((s.findings_suppressed, s.packages_suppressed), (1, 1));
        let gone: Vec<(&str, &str, &str, bool)> = s
            .suppressed
            .iter()
            .map(|d| {
                (
                    d.advisory.as_str(),
                    d.cve.as_str(),
                    d.package.as_str(),
                    d.finding_suppressed,
                )
            })
            .collect();
        assert_eq!(
            gone,
            [
                ("RHSA-A", "CVE-1", "expat-2.5.0-2.el9.x86_64", false),
                ("RHSA-A", "CVE-2", "expat-2.5.0-2.el9.x86_64", false),
                ("CVE-6", "CVE-6", "expat-2.5.0-2.el9.x86_64", true),
            ]
        );
        let declared: Vec<(&str, &str)> = s
            .declared
            .values()
            .flatten()
            .map(|d| (d.advisory.as_str(), d.cve.as_str()))
            .collect();
        assert_eq!(declared, [("RHSA-B", "CVE-3")]);
    }

    #[test]
    fn unreadable_and_foreign_files_are_named_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("sbom.json");
        std::fs::write(&json, br#"{"bomFormat": "CycloneDX"}"#).unwrap();
        let truncated = dir.path().join("truncated.json");
        std::fs::write(
            &truncated,
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"#,
        )
        .unwrap();
        let huge = dir.path().join("huge.json");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let missing = dir.path().join("missing.json");
        let mut w = Vec::new();
        let s = read_files(&[json, truncated, huge, missing], &mut w);
        assert!(s.list.is_empty());
        let kinds: Vec<&str> = w.iter().map(|w| w.kind.as_str()).collect();
        assert_eq!(kinds, ["vex-file-error"; 4], "{w:?}");
        assert!(w[0].message.contains("neither an OpenVEX document"), "{}", w[0].message);
        assert!(w[1].message.contains("not JSON"), "{}", w[1].message);
        assert!(w[2].message.contains("larger than 67108864 bytes"), "{}", w[2].message);
        assert!(w[3].message.contains("cannot read"), "{}", w[3].message);
        assert!(s.files.iter().all(|f| f.error.is_some()));
    }
}
