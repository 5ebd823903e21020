//! The judgement of one VEX document against the installed packages, in the order Red Hat's
//! scanning-vendors.md lays it out:
//!
//! 1. **Products.** A joint id of a product status names a product and a component through a
//!    `default_component_of` relationship; the product counts when its CPE matches the image's
//!    on the first five parts ([`super::platform`]). A main-stream CPE of an EUS/AUS/E4S/TUS
//!    image counts only where the stream has no fix of its own for the package ("it is also
//!    necessary to check for the existence of a main stream CPE … if the vulnerability is
//!    unfixed or did not release a fix to the xUS stream").
//! 2. **Fixed components** (`fixed`), by name and arch exactly as dnf's updateinfo compares
//!    (`name.arch`, the newest installed EVR, rpm's version order): the installed build is
//!    older than the fixed one → `fixed`, with the RHSA of the `vendor_fix` remediation naming
//!    the joint id. An installed build at or above any fix that applies is not reported. A
//!    fixed *source* component covers the installed binaries built from it (`SOURCERPM`) that
//!    no binary entry names.
//! 3. **Unfixed components** (`known_affected`, `under_investigation`) by package name: the
//!    binary name, or the source-RPM name of installed binaries ("match … against any
//!    component entries based on component name"), the newest build of each `name.arch`. The
//!    status comes from the remediation naming the joint id: `no_fix_planned` "Will not fix"
//!    → `will_not_fix`, "Out of support scope" → `out_of_support`; `none_available`
//!    "Deferred" or "Fix deferred" → `fix_deferred`, "Affected" (or none) → `affected`;
//!    `under_investigation` → `under_investigation`. A package that a fix already covers (2) is not listed again.
//! 4. `known_not_affected` reports nothing. A component of a module stream (`rpmmod=`, or an
//!    id `MODULE:STREAM/NAME`) counts only for installed packages of that module `name:stream`
//!    (their `MODULARITYLABEL`).
//! 5. **Module streams of fixes without `rpmmod`** (older documents, cve-2023-2454): as dnf's
//!    modular filtering, a module build (release `.module+el…`) fixes only packages installed
//!    from a module stream, and a plain build only packages installed outside modules. The
//!    stream of a module build is its advisory's: Red Hat publishes one RHSA per module
//!    stream, and the RHSA's build of the module's own package (`postgresql` of
//!    `postgresql:12`) has the stream's version (`12.15`). So for a package installed from
//!    `NAME:STREAM`, a module build counts when its RHSA's build of `NAME` has the version
//!    `STREAM` or `STREAM.…`; not when that build has another version (another stream's RHSA);
//!    and, when the RHSA has no build of `NAME` (a stream not named by a version,
//!    `container-tools:rhel8`), it counts as if the package had one stream.
//!
//! Severity is the `impact` threat naming the joint id (Red Hat's Low … Critical), else the
//! document's `aggregate_severity`; CVSS v3 is the score naming the joint id, else the first.

use super::document::{VexDocument, Vulnerability};
use super::platform::{cpe_key, Platform};
use super::products::{Component, ProductIndex};
use crate::finding::{AffectedPackage, Finding, Selection, VexDetail, VexStatus};
use crate::installed::{InstalledIndex, InstalledPackage};
use repodata::updateinfo::{AdvisoryKind, Severity};
use rpmdb::version::Evr;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a product matched the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Via {
    Direct,
    MainStream,
}

/// The installed packages by the name of their source package.
#[derive(Debug, Default)]
pub struct SourceIndex<'a> {
    by_source: HashMap<&'a str, Vec<&'a InstalledPackage>>,
}

impl<'a> SourceIndex<'a> {
    pub fn of(installed: &'a InstalledIndex) -> SourceIndex<'a> {
        let mut by_source: HashMap<&str, Vec<&InstalledPackage>> = HashMap::new();
        for p in installed.iter() {
            if let Some(s) = p.source_name.as_deref() {
                by_source.entry(s).or_default().push(p);
            }
        }
        SourceIndex { by_source }
    }

    fn built_from(&self, source: &str) -> &[&'a InstalledPackage] {
        self.by_source.get(source).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// What the judgement needs besides the document.
pub struct Context<'a> {
    pub installed: &'a InstalledIndex,
    pub sources: &'a SourceIndex<'a>,
    pub platform: &'a Platform,
    pub selection: Selection,
    pub ignore_unfixed: bool,
    /// The `--csaf-vex` source, for the findings' `Source`.
    pub source: &'a str,
    /// The document's path.
    pub document: &'a str,
}

/// A product-status entry that concerns the image.
struct Entry<'d> {
    joint: &'d str,
    component: &'d Component,
    via: Via,
}

/// A fix of one installed package.
#[derive(Debug, Clone)]
struct Fix {
    evr: Evr,
    advisory: Option<String>,
    via: Via,
    joint: String,
}

/// The newest installed build of each `name.arch` of a name.
fn latest_of_name<'a>(installed: &'a InstalledIndex, name: &str) -> Vec<&'a InstalledPackage> {
    let arches: BTreeSet<&str> = installed.named(name).iter().map(|p| p.arch.as_str()).collect();
    arches.into_iter().filter_map(|a| installed.latest(name, a)).collect()
}

/// `(name, stream)` of `name:stream[:version:context]`.
fn name_stream(s: &str) -> (Option<&str>, Option<&str>) {
    let mut it = s.split(':');
    (it.next(), it.next())
}

/// Whether a package is of the module stream a component names (`name:stream[:…]`).
fn module_fits(component: &Component, p: &InstalledPackage) -> bool {
    let Some(m) = &component.module else {
        return true;
    };
    match &p.modularity_label {
        Some(label) => name_stream(label) == name_stream(m),
        None => false,
    }
}

/// Whether a stream name is the beginning of a version: `12` of `12.15`, `1.14` of `1.14.1`.
fn version_fits_stream(version: &str, stream: &str) -> bool {
    version
        .strip_prefix(stream)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// Per advisory, the module builds without `rpmmod` it fixes in the image's products: what
/// tells a fix's module stream in documents that do not name it (rule 5 above).
type ModuleBuilds<'d> = HashMap<&'d str, Vec<&'d Component>>;

/// The fixed binary entries by `(name, arch)`, with their advisories.
type BinaryEntries<'d> = HashMap<(&'d str, &'d str), Vec<(&'d Component, Option<&'d str>)>>;

/// Whether a fix (of `advisory`) may update installed package `p`, as dnf's modular
/// filtering allows (rules 4 and 5 above).
fn fix_fits(component: &Component, advisory: Option<&str>, p: &InstalledPackage, builds: &ModuleBuilds) -> bool {
    if component.module.is_some() {
        return module_fits(component, p);
    }
    let Some(label) = p.modularity_label.as_deref() else {
        return !component.is_module_build();
    };
    if !component.is_module_build() {
        return false;
    }
    let (Some(module), Some(stream)) = name_stream(label) else {
        return true;
    };
    let own: Vec<&Component> = advisory
        .and_then(|a| builds.get(a))
        .map(|b| b.iter().copied().filter(|c| c.name == module).collect())
        .unwrap_or_default();
    own.is_empty()
        || own
            .iter()
            .any(|c| c.evr.as_ref().is_some_and(|e| version_fits_stream(&e.version, stream)))
}

/// `RHSA-2024:9541` from `https://access.redhat.com/errata/RHSA-2024:9541`.
fn advisory_of(url: &str) -> String {
    url.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(url)
        .to_string()
}

/// The status of a `known_affected` joint id from its remediations.
fn unfixed_status(vuln: &Vulnerability, joint: &str) -> VexStatus {
    for r in &vuln.remediations {
        if !r.product_ids.iter().any(|i| i == joint) {
            continue;
        }
        let details = r.details.as_deref().unwrap_or("").trim().to_ascii_lowercase();
        match r.category.as_str() {
            "no_fix_planned" if details == "out of support scope" => return VexStatus::OutOfSupport,
            "no_fix_planned" => return VexStatus::WillNotFix,
            // csaf-vex.md (Remediations) writes "Deferred"; scanning-vendors.md's example
            // of the same status, "Fix deferred" (the wording of Red Hat's CVE pages).
            "none_available" if details == "deferred" || details == "fix deferred" => return VexStatus::FixDeferred,
            "none_available" => return VexStatus::Affected,
            _ => {}
        }
    }
    VexStatus::Affected
}

/// Red Hat's severity for a joint id, as written.
fn severity_text<'d>(doc: &'d VexDocument, vuln: &'d Vulnerability, joint: &str) -> Option<&'d str> {
    let impacts = || vuln.threats.iter().filter(|t| t.category == "impact");
    impacts()
        .find(|t| t.product_ids.iter().any(|i| i == joint))
        .or_else(|| impacts().find(|t| t.product_ids.is_empty()))
        .and_then(|t| t.details.as_deref())
        .or_else(|| doc.document.aggregate_severity.as_ref().and_then(|a| a.text.as_deref()))
}

/// The entries of a status list whose product is one of the image's.
fn entries<'d>(index: &'d ProductIndex, platform: &Platform, ids: &'d [String]) -> Vec<Entry<'d>> {
    ids.iter()
        .filter_map(|id| {
            let (product, component) = index.resolve(id)?;
            let key = cpe_key(product.cpe.as_deref()?)?;
            let via = if platform.direct.contains(&key) {
                Via::Direct
            } else if platform.main_stream.contains(&key) {
                Via::MainStream
            } else {
                return None;
            };
            Some(Entry {
                joint: id.as_str(),
                component,
                via,
            })
        })
        .collect()
}

/// Judge one document; findings keyed by CVE.
pub fn judge(doc: &VexDocument, index: &ProductIndex, cx: &Context, findings: &mut BTreeMap<String, Finding>) {
    for vuln in &doc.vulnerabilities {
        let Some(cve) = vuln.cve.as_deref().filter(|c| !c.is_empty()) else {
            continue;
        };
        let fixed = entries(index, cx.platform, &vuln.product_status.fixed);
        let affected = entries(index, cx.platform, &vuln.product_status.known_affected);
        let investigating = entries(index, cx.platform, &vuln.product_status.under_investigation);
        if fixed.is_empty() && affected.is_empty() && investigating.is_empty() {
            continue;
        }

        // 2. Fixed components, per installed name.arch.
        let mut fixes: BTreeMap<String, (&InstalledPackage, Vec<Fix>)> = BTreeMap::new();
        let fixed: Vec<(&Entry, Option<String>)> = fixed
            .iter()
            .map(|e| {
                let advisory = vuln
                    .remediations
                    .iter()
                    .find(|r| r.category == "vendor_fix" && r.product_ids.iter().any(|i| i == e.joint))
                    .and_then(|r| r.url.as_deref())
                    .map(advisory_of);
                (e, advisory)
            })
            .collect();
        let mut builds: ModuleBuilds = HashMap::new();
        for (e, advisory) in &fixed {
            if let Some(a) = advisory.as_deref() {
                if e.component.module.is_none() && e.component.is_module_build() {
                    builds.entry(a).or_default().push(e.component);
                }
            }
        }
        // The binary entries by name.arch: a source fix covers only binaries none of them
        // names for the package's module stream.
        let mut binary_named: BinaryEntries = HashMap::new();
        for (e, advisory) in &fixed {
            if let (false, Some(arch)) = (e.component.is_source(), e.component.arch.as_deref()) {
                binary_named
                    .entry((e.component.name.as_str(), arch))
                    .or_default()
                    .push((e.component, advisory.as_deref()));
            }
        }
        let named_for = |p: &InstalledPackage| {
            binary_named
                .get(&(p.name.as_str(), p.arch.as_str()))
                .is_some_and(|all| all.iter().any(|(c, a)| fix_fits(c, *a, p, &builds)))
        };
        for (e, advisory) in &fixed {
            let Some(evr) = &e.component.evr else {
                continue;
            };
            let targets: Vec<&InstalledPackage> = if e.component.is_source() {
                cx.sources
                    .built_from(&e.component.name)
                    .iter()
                    .copied()
                    .filter(|p| !named_for(p))
                    .filter(|p| cx.installed.latest(&p.name, &p.arch).map(|l| l.nvra == p.nvra) == Some(true))
                    .collect()
            } else {
                e.component
                    .arch
                    .as_deref()
                    .and_then(|a| cx.installed.latest(&e.component.name, a))
                    .into_iter()
                    .collect()
            };
            for p in targets {
                if !fix_fits(e.component, advisory.as_deref(), p, &builds) {
                    continue;
                }
                fixes.entry(p.nevra()).or_insert((p, Vec::new())).1.push(Fix {
                    evr: evr.clone(),
                    advisory: advisory.clone(),
                    via: e.via,
                    joint: e.joint.to_string(),
                });
            }
        }
        let mut packages: BTreeSet<AffectedPackage> = BTreeSet::new();
        let mut covered: BTreeSet<String> = BTreeSet::new();
        let mut joints: Vec<&str> = Vec::new();
        let mut fix_joints: Vec<String> = Vec::new();
        for (nevra, (p, all)) in &fixes {
            // A fix released to the image's own (xUS) stream decides alone.
            let best_via = all.iter().map(|f| f.via).min().unwrap_or(Via::Direct);
            let applicable: Vec<&Fix> = all.iter().filter(|f| f.via == best_via).collect();
            covered.insert(nevra.clone());
            if applicable.iter().any(|f| p.evr.compare(&f.evr) != Ordering::Less) {
                continue;
            }
            let Some(fix) = applicable.iter().min_by(|a, b| a.evr.compare(&b.evr)) else {
                continue;
            };
            fix_joints.push(fix.joint.clone());
            packages.insert(AffectedPackage {
                installed: nevra.clone(),
                fixed: Some(rpmdb::version::dnf_nevra(&p.name, &fix.evr, &p.arch)),
                fixed_evr: Some(fix.evr.dnf_text()),
                module: None,
                status: Some(VexStatus::Fixed.as_str().to_string()),
                advisory: fix.advisory.clone(),
            });
        }
        joints.extend(fix_joints.iter().map(String::as_str));

        // 3. Unfixed components by name (binary, then source), direct products first.
        if !cx.ignore_unfixed {
            let mut unfixed: Vec<(VexStatus, &Entry)> = affected
                .iter()
                .map(|e| (unfixed_status(vuln, e.joint), e))
                .chain(investigating.iter().map(|e| (VexStatus::UnderInvestigation, e)))
                .collect();
            unfixed.sort_by_key(|(_, e)| e.via);
            for (status, e) in unfixed {
                let mut targets = Vec::new();
                if !e.component.is_source() {
                    targets.extend(latest_of_name(cx.installed, &e.component.name));
                }
                if e.component.arch.is_none() || e.component.is_source() {
                    for p in cx.sources.built_from(&e.component.name) {
                        if cx.installed.latest(&p.name, &p.arch).map(|l| l.nvra == p.nvra) == Some(true) {
                            targets.push(p);
                        }
                    }
                }
                for p in targets {
                    let nevra = p.nevra();
                    if !module_fits(e.component, p) || !covered.insert(nevra.clone()) {
                        continue;
                    }
                    joints.push(e.joint);
                    packages.insert(AffectedPackage {
                        installed: nevra,
                        fixed: None,
                        fixed_evr: None,
                        module: e.component.module.clone(),
                        status: Some(status.as_str().to_string()),
                        advisory: None,
                    });
                }
            }
        }
        if packages.is_empty() {
            continue;
        }

        let raw_severities: Vec<&str> = joints.iter().filter_map(|j| severity_text(doc, vuln, j)).collect();
        let severity = raw_severities.iter().filter_map(|s| Severity::parse(s)).max();
        if !cx.selection.keeps(&AdvisoryKind::Security, severity) {
            continue;
        }
        let status = packages
            .iter()
            .filter_map(|p| p.status.as_deref())
            .filter_map(status_of)
            .min()
            .unwrap_or(VexStatus::Affected);
        let score = joints
            .iter()
            .find_map(|j| vuln.scores.iter().find(|s| s.products.iter().any(|p| p == j)))
            .or_else(|| vuln.scores.first())
            .and_then(|s| s.cvss_v3.as_ref());
        let finding = Finding {
            id: cve.to_string(),
            kind: AdvisoryKind::Security,
            title: vuln.title.clone().or_else(|| doc.document.title.clone()),
            severity,
            severity_raw: if severity.is_none() {
                raw_severities.first().map(|s| s.to_string())
            } else {
                None
            },
            cves: vec![cve.to_string()],
            issued: vuln.release_date.clone(),
            updated: doc
                .document
                .tracking
                .as_ref()
                .and_then(|t| t.current_release_date.clone()),
            packages,
            sources: [cx.source.to_string()].into(),
            vex: Some(VexDetail {
                status,
                cvss_score: score.and_then(|s| s.base_score).map(|s| format!("{s:.1}")),
                cvss_vector: score.and_then(|s| s.vector_string.clone()),
                cwe: vuln.cwe.as_ref().and_then(|c| c.id.clone()),
                document: cx.document.to_string(),
            }),
        };
        match findings.get_mut(cve) {
            Some(existing) => {
                let status = existing.vex.as_ref().map(|v| v.status.min(status)).unwrap_or(status);
                existing.merge(finding);
                if let Some(v) = existing.vex.as_mut() {
                    v.status = status;
                }
            }
            None => {
                findings.insert(cve.to_string(), finding);
            }
        }
    }
}

/// The status named by [`VexStatus::as_str`].
pub fn status_of(s: &str) -> Option<VexStatus> {
    [
        VexStatus::Fixed,
        VexStatus::Affected,
        VexStatus::FixDeferred,
        VexStatus::WillNotFix,
        VexStatus::OutOfSupport,
        VexStatus::UnderInvestigation,
    ]
    .into_iter()
    .find(|v| v.as_str() == s)
}

#[cfg(test)]
mod tests {
    //! Statuses no real fixture carries (tests/fixtures/PROVENANCE.md): hand-written documents
    //! in Red Hat's shapes.
    use super::*;
    use crate::csaf::document::parse;
    use crate::csaf::platform::Platform;
    use serde_json::json;

    fn inst(name: &str, evr: &str, arch: &str, source: &str, label: Option<&str>) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            evr: Evr::parse(evr),
            arch: arch.into(),
            nvra: format!("{name}-{evr}.{arch}"),
            key_id: None,
            modularity_label: label.map(str::to_string),
            source_name: Some(source.into()),
        }
    }

    /// A document: RHEL 9 (unfixed) and BaseOS/AppStream 9 main stream and 9.4 EUS (fixed)
    /// products, `components` as (id, purl), and one vulnerability.
    fn document(components: &[(&str, &str)], vulnerability: serde_json::Value) -> VexDocument {
        let product = |id: &str, cpe: &str| {
            json!({"category": "product_name", "name": id,
                   "product": {"name": id, "product_id": id, "product_identification_helper": {"cpe": cpe}}})
        };
        let versions: Vec<serde_json::Value> = components
            .iter()
            .map(|(id, purl)| {
                json!({"category": "product_version", "name": id,
                       "product": {"name": id, "product_id": id, "product_identification_helper": {"purl": purl}}})
            })
            .collect();
        let mut relationships = Vec::new();
        for p in [
            "red_hat_enterprise_linux_9",
            "BaseOS-9.5.0.Z.MAIN",
            "BaseOS-9.4.0.Z.EUS",
        ] {
            for (id, _) in components {
                relationships.push(json!({"category": "default_component_of",
                    "full_product_name": {"name": "x", "product_id": format!("{p}:{id}")},
                    "product_reference": id, "relates_to_product_reference": p}));
            }
        }
        let doc = json!({
            "document": {"category": "csaf_vex", "aggregate_severity": {"text": "Low"}},
            "product_tree": {
                "branches": [{"category": "vendor", "name": "Red Hat", "branches": [
                    {"category": "product_family", "name": "RHEL", "branches": [
                        product("red_hat_enterprise_linux_9", "cpe:/o:redhat:enterprise_linux:9"),
                        product("BaseOS-9.5.0.Z.MAIN", "cpe:/o:redhat:enterprise_linux:9::baseos"),
                        product("BaseOS-9.4.0.Z.EUS", "cpe:/o:redhat:rhel_eus:9.4::baseos"),
                    ]},
                    {"category": "architecture", "name": "x86_64", "branches": versions},
                ]}],
                "relationships": relationships,
            },
            "vulnerabilities": [vulnerability],
        });
        parse(&serde_json::to_vec(&doc).unwrap()).unwrap()
    }

    fn run(
        doc: &VexDocument,
        cpes: &[&str],
        installed: Vec<InstalledPackage>,
        ignore_unfixed: bool,
    ) -> Vec<(String, String)> {
        let installed = InstalledIndex::from_packages(installed);
        let sources = SourceIndex::of(&installed);
        let platform = Platform::from_cpes(cpes.iter().map(|c| c.to_string()).collect(), "test", String::new());
        let cx = Context {
            installed: &installed,
            sources: &sources,
            platform: &platform,
            selection: Selection {
                all_types: false,
                min_severity: None,
            },
            ignore_unfixed,
            source: "s",
            document: "d",
        };
        let mut findings = BTreeMap::new();
        judge(doc, &ProductIndex::of(&doc.product_tree), &cx, &mut findings);
        findings
            .values()
            .flat_map(|f| {
                f.packages.iter().map(|p| {
                    let fix = p
                        .fixed
                        .clone()
                        .map(|x| format!(" {x} {}", p.advisory.clone().unwrap_or_default()));
                    (
                        p.installed.clone(),
                        format!("{}{}", p.status.clone().unwrap(), fix.unwrap_or_default()),
                    )
                })
            })
            .collect()
    }

    const RHEL9: &[&str] = &["cpe:/o:redhat:enterprise_linux:9::baseos"];
    const EUS94: &[&str] = &["cpe:/o:redhat:rhel_eus:9.4::baseos"];

    #[test]
    fn deferred_affected_and_under_investigation() {
        let components = [
            ("bash", "pkg:rpm/redhat/bash?arch=src"),
            ("vim-minimal", "pkg:rpm/redhat/vim-minimal"),
            ("tar", "pkg:rpm/redhat/tar?arch=src"),
        ];
        let vuln = json!({
            "cve": "CVE-2099-0001",
            "product_status": {
                "known_affected": ["red_hat_enterprise_linux_9:bash", "red_hat_enterprise_linux_9:vim-minimal"],
                "under_investigation": ["red_hat_enterprise_linux_9:tar"],
            },
            "remediations": [
                {"category": "none_available", "details": "Deferred", "product_ids": ["red_hat_enterprise_linux_9:bash"]},
                {"category": "none_available", "details": "Affected", "product_ids": ["red_hat_enterprise_linux_9:vim-minimal"]},
            ],
        });
        let doc = document(&components, vuln);
        let installed = vec![
            inst("bash", "5.1.8-9.el9", "x86_64", "bash", None),
            inst("vim-minimal", "8.2.2637-20.el9", "x86_64", "vim", None),
            inst("tar", "1.34-6.el9", "x86_64", "tar", None),
            inst("nano", "5.6.1-5.el9", "x86_64", "nano", None),
        ];
        assert_eq!(
            run(&doc, RHEL9, installed.clone(), false),
            [
                ("bash-5.1.8-9.el9.x86_64".to_string(), "fix_deferred".to_string()),
                ("tar-1.34-6.el9.x86_64".to_string(), "under_investigation".to_string()),
                ("vim-minimal-8.2.2637-20.el9.x86_64".to_string(), "affected".to_string()),
            ]
        );
        assert!(run(&doc, RHEL9, installed.clone(), true).is_empty());
        // The wording of the guidelines' scanning-vendors.md example: the same status.
        let mut worded = doc.clone();
        worded.vulnerabilities[0].remediations[0].details = Some("Fix deferred".into());
        assert_eq!(run(&worded, RHEL9, installed.clone(), false)[0].1, "fix_deferred");
        // Another release's image: nothing.
        assert!(run(&doc, &["cpe:/o:redhat:enterprise_linux:8::baseos"], installed, false).is_empty());
    }

    #[test]
    fn older_documents_without_purls_match_by_name() {
        let mut doc = document(
            &[("ghostscript", "pkg:rpm/redhat/ghostscript")],
            json!({
                "cve": "CVE-2099-0006",
                "product_status": {"known_affected": ["red_hat_enterprise_linux_9:ghostscript"]},
            }),
        );
        // As older documents write it: the component's product has no identification helper.
        fn strip(branches: &mut [crate::csaf::document::Branch]) {
            for b in branches {
                if let Some(p) = b.product.as_mut() {
                    if p.product_id == "ghostscript" {
                        p.product_identification_helper = None;
                    }
                }
                strip(&mut b.branches);
            }
        }
        strip(&mut doc.product_tree.branches);
        let installed = vec![inst("libgs", "9.54.0-14.el9", "x86_64", "ghostscript", None)];
        assert_eq!(
            run(&doc, RHEL9, installed, false),
            [("libgs-9.54.0-14.el9.x86_64".to_string(), "affected".to_string())]
        );
    }

    #[test]
    fn fixed_source_component_covers_binaries_no_entry_names() {
        let components = [
            (
                "openssl-1:3.0.7-27.el9.src",
                "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=src&epoch=1",
            ),
            (
                "openssl-1:3.0.7-27.el9.x86_64",
                "pkg:rpm/redhat/openssl@3.0.7-27.el9?arch=x86_64&epoch=1",
            ),
        ];
        let vuln = json!({
            "cve": "CVE-2099-0002",
            "product_status": {"fixed": ["BaseOS-9.5.0.Z.MAIN:openssl-1:3.0.7-27.el9.src", "BaseOS-9.5.0.Z.MAIN:openssl-1:3.0.7-27.el9.x86_64"]},
            "remediations": [{"category": "vendor_fix", "url": "https://access.redhat.com/errata/RHSA-2099:1",
                "product_ids": ["BaseOS-9.5.0.Z.MAIN:openssl-1:3.0.7-27.el9.src", "BaseOS-9.5.0.Z.MAIN:openssl-1:3.0.7-27.el9.x86_64"]}],
        });
        let doc = document(&components, vuln);
        let installed = vec![
            inst("openssl", "1:3.0.7-24.el9", "x86_64", "openssl", None),
            inst("openssl-libs", "1:3.0.7-24.el9", "x86_64", "openssl", None),
            // An epoch-less build is older than any epoch-1 fix.
            inst("openssl-perl", "3.0.7-30.el9", "x86_64", "openssl", None),
        ];
        assert_eq!(
            run(&doc, RHEL9, installed, false),
            [
                (
                    "openssl-1:3.0.7-24.el9.x86_64".to_string(),
                    "fixed openssl-1:3.0.7-27.el9.x86_64 RHSA-2099:1".to_string()
                ),
                (
                    "openssl-libs-1:3.0.7-24.el9.x86_64".to_string(),
                    "fixed openssl-libs-1:3.0.7-27.el9.x86_64 RHSA-2099:1".to_string()
                ),
                (
                    "openssl-perl-3.0.7-30.el9.x86_64".to_string(),
                    "fixed openssl-perl-1:3.0.7-27.el9.x86_64 RHSA-2099:1".to_string()
                ),
            ]
        );
    }

    #[test]
    fn module_components_need_their_stream() {
        let components = [("nodejs:18/nodejs", "pkg:rpm/redhat/nodejs?rpmmod=nodejs:18")];
        let vuln = json!({
            "cve": "CVE-2099-0003",
            "product_status": {"known_affected": ["red_hat_enterprise_linux_9:nodejs:18/nodejs"]},
        });
        let doc = document(&components, vuln);
        let stream18 = inst(
            "nodejs",
            "1:18.20.2-1.module+el9.4.0+1+a",
            "x86_64",
            "nodejs",
            Some("nodejs:18:9040020240101:abc"),
        );
        let stream20 = inst(
            "nodejs",
            "1:20.12.2-1.module+el9.4.0+1+b",
            "x86_64",
            "nodejs",
            Some("nodejs:20:9040020240101:abc"),
        );
        assert_eq!(run(&doc, RHEL9, vec![stream18], false).len(), 1);
        assert!(run(&doc, RHEL9, vec![stream20], false).is_empty());
    }

    /// Fixed module builds without `rpmmod`, in cve-2023-2454's shape (its RHEL 8 postgresql
    /// builds and RHSAs; a plain RHEL 9 build; container-tools written here): each stream's
    /// RHSA decides for its own packages only (rule 5).
    #[test]
    fn module_builds_without_rpmmod_keep_to_their_stream() {
        let builds = [
            (
                "postgresql-0:10.23-2.module+el8.8.0+19493+5804baf6.x86_64",
                "RHSA-2023:4539",
            ),
            (
                "postgresql-0:12.15-1.module+el8.8.0+19427+d1071523.x86_64",
                "RHSA-2023:4535",
            ),
            (
                "pg_repack-0:1.4.6-3.module+el8.5.0+11354+78b3c9c5.x86_64",
                "RHSA-2023:4535",
            ),
            (
                "postgresql-0:13.11-1.module+el8.8.0+19081+0a277c66.x86_64",
                "RHSA-2023:4527",
            ),
            (
                "pg_repack-0:1.4.6-3.module+el8.5.0+11357+bcc62552.x86_64",
                "RHSA-2023:4527",
            ),
            ("postgresql-0:13.11-1.el9_2.x86_64", "RHSA-2023:3714"),
            ("podman-0:4.4.1-14.module+el8.8.0+1+aaaaaaaa.x86_64", "RHSA-2099:9"),
        ];
        let purls: Vec<(String, String)> = builds
            .iter()
            .map(|(id, _)| {
                let c = crate::csaf::products::component_from_id(id);
                let evr = c.evr.unwrap();
                let purl = format!(
                    "pkg:rpm/redhat/{}@{}-{}?arch=x86_64",
                    c.name,
                    evr.version,
                    evr.release.replace('+', "%2B")
                );
                (id.to_string(), purl)
            })
            .collect();
        let components: Vec<(&str, &str)> = purls.iter().map(|(i, p)| (i.as_str(), p.as_str())).collect();
        let joint = |id: &str| format!("BaseOS-9.5.0.Z.MAIN:{id}");
        let mut remediations: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (id, rhsa) in builds {
            remediations.entry(rhsa).or_default().push(joint(id));
        }
        let vuln = json!({
            "cve": "CVE-2023-2454",
            "product_status": {"fixed": builds.iter().map(|(id, _)| joint(id)).collect::<Vec<_>>()},
            "remediations": remediations.iter().map(|(rhsa, ids)| json!({"category": "vendor_fix",
                "url": format!("https://access.redhat.com/errata/{rhsa}"), "product_ids": ids})).collect::<Vec<_>>(),
        });
        let doc = document(&components, vuln);
        let one = |name: &str, evr: &str, source: &str, label: Option<&str>| {
            run(&doc, RHEL9, vec![inst(name, evr, "x86_64", source, label)], false)
        };
        let fixed = |installed: &str, by: &str| vec![(installed.to_string(), by.to_string())];
        let pg12 = Some("postgresql:12:8070020230131:ad008a3a");
        // Before its stream's fix: the 12 RHSA, although 10.23 is older than the installed build.
        assert_eq!(
            one("postgresql", "12.14-1.module+el8.7.0+1+b", "postgresql", pg12),
            fixed(
                "postgresql-12.14-1.module+el8.7.0+1+b.x86_64",
                "fixed postgresql-12.15-1.module+el8.8.0+19427+d1071523.x86_64 RHSA-2023:4535"
            )
        );
        // At its stream's fix: nothing, although 13.11 is newer.
        assert!(one(
            "postgresql",
            "12.15-1.module+el8.8.0+19427+d1071523",
            "postgresql",
            pg12
        )
        .is_empty());
        // pg_repack of the 12 stream at its RHSA's build: the 13 RHSA's newer build does not count.
        assert!(one("pg_repack", "1.4.6-3.module+el8.5.0+11354+78b3c9c5", "pg_repack", pg12).is_empty());
        assert_eq!(
            one("pg_repack", "1.4.6-2.module+el8.5.0+1+c", "pg_repack", pg12),
            fixed(
                "pg_repack-1.4.6-2.module+el8.5.0+1+c.x86_64",
                "fixed pg_repack-1.4.6-3.module+el8.5.0+11354+78b3c9c5.x86_64 RHSA-2023:4535"
            )
        );
        // A stream the document has no fix for: no other stream's fix decides.
        assert!(one(
            "postgresql",
            "9.6.22-1.module+el8.4.0+1+d",
            "postgresql",
            Some("postgresql:9.6:8040020210101:x")
        )
        .is_empty());
        // Installed outside modules: only the plain build, although 10.23 (a module build) is older.
        assert_eq!(
            one("postgresql", "13.10-1.el9", "postgresql", None),
            fixed(
                "postgresql-13.10-1.el9.x86_64",
                "fixed postgresql-13.11-1.el9_2.x86_64 RHSA-2023:3714"
            )
        );
        // A stream not named by a version (no build named container-tools): as one stream.
        assert_eq!(
            one(
                "podman",
                "4.4.1-12.module+el8.8.0+1+e",
                "podman",
                Some("container-tools:rhel8:8080020230101:f")
            ),
            fixed(
                "podman-4.4.1-12.module+el8.8.0+1+e.x86_64",
                "fixed podman-4.4.1-14.module+el8.8.0+1+aaaaaaaa.x86_64 RHSA-2099:9"
            )
        );
        // A module build never fixes a package installed outside modules.
        assert!(one("podman", "4.4.1-12.el8", "podman", None).is_empty());
    }

    #[test]
    fn module_stream_ids_count_for_their_stream() {
        // cve-2023-2454's form: a product_version `postgresql:15/postgresql` without a purl.
        let mut doc = document(
            &[("postgresql:15/postgresql", "pkg:rpm/redhat/postgresql")],
            json!({
                "cve": "CVE-2023-2454",
                "product_status": {"known_affected": ["red_hat_enterprise_linux_9:postgresql:15/postgresql"]},
                "remediations": [{"category": "none_available", "details": "Affected",
                    "product_ids": ["red_hat_enterprise_linux_9:postgresql:15/postgresql"]}],
            }),
        );
        fn strip(branches: &mut [crate::csaf::document::Branch]) {
            for b in branches {
                if let Some(p) = b
                    .product
                    .as_mut()
                    .filter(|p| p.product_id == "postgresql:15/postgresql")
                {
                    p.product_identification_helper = None;
                }
                strip(&mut b.branches);
            }
        }
        let with_purl = run(
            &doc,
            RHEL9,
            vec![inst(
                "postgresql",
                "15.2-1.module+el9.2.0+1+a",
                "x86_64",
                "postgresql",
                Some("postgresql:15:9020020230101:rhel9"),
            )],
            false,
        );
        strip(&mut doc.product_tree.branches);
        let stream15 = inst(
            "postgresql-server",
            "15.2-1.module+el9.2.0+1+a",
            "x86_64",
            "postgresql",
            Some("postgresql:15:9020020230101:rhel9"),
        );
        let stream16 = inst(
            "postgresql-server",
            "16.1-1.module+el9.4.0+1+b",
            "x86_64",
            "postgresql",
            Some("postgresql:16:9040020240101:rhel9"),
        );
        let plain = inst("postgresql-server", "13.10-1.el9", "x86_64", "postgresql", None);
        assert_eq!(
            run(&doc, RHEL9, vec![stream15], false),
            [(
                "postgresql-server-15.2-1.module+el9.2.0+1+a.x86_64".to_string(),
                "affected".to_string()
            )]
        );
        assert!(run(&doc, RHEL9, vec![stream16], false).is_empty());
        assert!(run(&doc, RHEL9, vec![plain], false).is_empty());
        // A purl without rpmmod: the id still names the stream.
        assert_eq!(
            with_purl,
            [(
                "postgresql-15.2-1.module+el9.2.0+1+a.x86_64".to_string(),
                "affected".to_string()
            )]
        );
    }

    #[test]
    fn eus_stream_falls_back_to_the_main_stream_only_without_its_own_fix() {
        let components = [
            (
                "curl-0:7.76.1-29.el9_4.x86_64",
                "pkg:rpm/redhat/curl@7.76.1-29.el9_4?arch=x86_64",
            ),
            ("curl", "pkg:rpm/redhat/curl?arch=src"),
        ];
        let only_main = json!({
            "cve": "CVE-2099-0004",
            "product_status": {"fixed": ["BaseOS-9.5.0.Z.MAIN:curl-0:7.76.1-29.el9_4.x86_64"]},
            "remediations": [{"category": "vendor_fix", "url": "https://access.redhat.com/errata/RHSA-2099:2", "product_ids": ["BaseOS-9.5.0.Z.MAIN:curl-0:7.76.1-29.el9_4.x86_64"]}],
        });
        let installed = vec![inst("curl", "7.76.1-26.el9", "x86_64", "curl", None)];
        // No fix released to 9.4 EUS: the main stream's fix is what the image can get.
        assert_eq!(
            run(&document(&components, only_main), EUS94, installed.clone(), false),
            [(
                "curl-7.76.1-26.el9.x86_64".to_string(),
                "fixed curl-7.76.1-29.el9_4.x86_64 RHSA-2099:2".to_string()
            )]
        );
        // Unfixed for RHEL 9: an EUS image is affected too.
        let unfixed = json!({
            "cve": "CVE-2099-0005",
            "product_status": {"known_affected": ["red_hat_enterprise_linux_9:curl"]},
            "remediations": [{"category": "no_fix_planned", "details": "Will not fix", "product_ids": ["red_hat_enterprise_linux_9:curl"]}],
        });
        assert_eq!(
            run(&document(&components, unfixed), EUS94, installed, false),
            [("curl-7.76.1-26.el9.x86_64".to_string(), "will_not_fix".to_string())]
        );
    }
}
