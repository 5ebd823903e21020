//! Red Hat OVAL v2 definitions (`--oval FILE`), for images whose repositories publish no
//! updateinfo (CentOS 7 among them): [`parse`] reads the document, [`eval`] evaluates each
//! definition's criteria against the installed packages.
//!
//! What is evaluated, as OVAL 5.10 defines it:
//! - `criteria` trees with `operator` AND / OR / ONE / XOR and `negate`, `criterion` (a test)
//!   and `extend_definition` (another definition), in three-valued logic (true, false,
//!   unknown);
//! - `rpminfo_test` over `rpminfo_object` (the installed packages of a name) and
//!   `rpminfo_state` entities `name`, `arch`, `epoch`, `version`, `release`, `evr`
//!   (`evr_string`/`rpmevr`, compared as rpm does) and `signature_keyid`, with `check`
//!   and `check_existence`;
//! - `rpmverifyfile_test` over the packages that own a file (`/etc/redhat-release`: Red Hat's
//!   "Red Hat Enterprise Linux N is installed" and "must be installed" guards);
//! - Red Hat's module criteria, the tests commented "Module NAME:STREAM is enabled", answered
//!   from the image's `etc/dnf/modules.d` (the test itself reads those files with a
//!   `textfilecontent54` pattern; we read the same files with dnf's own parser).
//!
//! Any other test kind, and entities tied to variables, are *unknown*: a definition that
//! depends on one is listed as undecided, never silently as not applying.
//!
//! On a rebuild of RHEL (CentOS, Rocky, Alma, Oracle: `/etc/redhat-release` is not owned by a
//! `redhat-release*` package) Red Hat's release guards and signature checks can never hold as
//! written — the guard "must be installed" would make *every* definition apply, and the
//! packages are signed with another key. Unless `--oval-strict`, such an image is evaluated as
//! a rebuild: the release tests accept the image's own release package (by version), and
//! `signature_keyid` is not checked. The result says so (warning `oval-rebuild`).

pub mod eval;
pub mod parse;

use crate::finding::{AffectedPackage, Finding, ScanWarning, Selection};
use crate::installed::{owners_of, InstalledIndex};
use crate::modules::ModuleStates;
use crate::release;
use crate::report::SourceReport;
use repodata::compression;
use repodata::updateinfo::{parse_date, AdvisoryKind, Severity};
use rootfs::osrelease::OsRelease;
use rpmdb::root::Root;
use rpmdb::version::Evr;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// The most an OVAL file may decompress to (RHEL 8's whole v2 feed is a few hundred MB).
pub const MAX_OVAL_BYTES: u64 = 4 << 30;

/// A criteria operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operator {
    #[default]
    And,
    Or,
    One,
    Xor,
}

impl Operator {
    pub fn parse(s: Option<&str>) -> Operator {
        match s.map(str::to_ascii_uppercase).as_deref() {
            Some("OR") => Operator::Or,
            Some("ONE") => Operator::One,
            Some("XOR") => Operator::Xor,
            _ => Operator::And,
        }
    }
}

/// A `criteria` element.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Criteria {
    pub operator: Operator,
    pub negate: bool,
    pub children: Vec<Node>,
}

/// A child of `criteria`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Criteria(Criteria),
    Criterion { test_ref: String, negate: bool },
    Extend { definition_ref: String, negate: bool },
}

/// A `definition` with its metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Definition {
    pub id: String,
    /// `patch`, `vulnerability`, `inventory`…
    pub class: String,
    pub title: String,
    /// `(source, ref_id)`: ("RHSA", "RHSA-2020:1980"), ("CVE", "CVE-2020-11008").
    pub references: Vec<(String, String)>,
    pub severity: Option<String>,
    pub cves: Vec<String>,
    pub issued: Option<String>,
    pub updated: Option<String>,
    pub platforms: Vec<String>,
    pub criteria: Option<Criteria>,
    pub line: u64,
}

impl Definition {
    /// The advisory id: the RHSA/RHBA/RHEA reference, else the CVE (unpatched
    /// definitions), else the definition id.
    pub fn advisory_id(&self) -> String {
        self.references
            .iter()
            .find(|(s, _)| matches!(s.as_str(), "RHSA" | "RHBA" | "RHEA"))
            .or_else(|| self.references.iter().find(|(s, _)| s == "CVE"))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| self.id.clone())
    }

    pub fn all_cves(&self) -> Vec<String> {
        let mut out = self.cves.clone();
        for (s, r) in &self.references {
            if s == "CVE" && !out.contains(r) {
                out.push(r.clone());
            }
        }
        out
    }
}

/// A test (`rpminfo_test`, `rpmverifyfile_test`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Test {
    pub id: String,
    /// The element's local name, e.g. `rpminfo_test`.
    pub kind: String,
    pub comment: String,
    pub check: String,
    pub check_existence: String,
    pub state_operator: String,
    pub object_ref: Option<String>,
    pub state_refs: Vec<String>,
}

/// An entity of an object or a state: `<evr datatype="evr_string" operation="less than">…`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entity {
    pub name: String,
    pub value: String,
    pub operation: String,
    pub datatype: Option<String>,
    pub var_ref: Option<String>,
}

/// An object (`rpminfo_object`, `rpmverifyfile_object`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object {
    pub id: String,
    pub kind: String,
    pub entities: Vec<Entity>,
}

impl Object {
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }
}

/// A state (`rpminfo_state`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: String,
    pub kind: String,
    pub entities: Vec<Entity>,
}

/// A whole OVAL definitions document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OvalDocument {
    /// The generator's `timestamp`, e.g. `2022-06-02T08:52:56`.
    pub timestamp: Option<String>,
    pub definitions: Vec<Definition>,
    pub tests: HashMap<String, Test>,
    pub objects: HashMap<String, Object>,
    pub states: HashMap<String, State>,
}

impl OvalDocument {
    /// The files `rpmverifyfile` objects ask about.
    pub fn verified_files(&self) -> BTreeSet<String> {
        self.objects
            .values()
            .filter(|o| o.kind == "rpmverifyfile_object")
            .filter_map(|o| o.entity("filepath").map(|e| e.value.clone()))
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// What one OVAL file gave.
#[derive(Debug)]
pub struct OvalResult {
    pub findings: Vec<Finding>,
    pub undecided: Vec<Value>,
    pub warnings: Vec<ScanWarning>,
    pub source: SourceReport,
}

/// Read and evaluate one OVAL file against the image.
pub fn judge_file(
    root: &Root,
    path: &Path,
    installed: &InstalledIndex,
    modules: &ModuleStates,
    selection: Selection,
    strict: bool,
    os: Option<&OsRelease>,
) -> OvalResult {
    let source = path.display().to_string();
    let mut result = OvalResult {
        findings: Vec::new(),
        undecided: Vec::new(),
        warnings: Vec::new(),
        source: SourceReport {
            format: "oval",
            source: source.clone(),
            entries: 0,
            newest: None,
            error: None,
            feed: None,
        },
    };
    let doc = File::open(path)
        .map_err(|e| format!("{source}: cannot open: {e}"))
        .and_then(|f| {
            compression::decompress(BufReader::with_capacity(256 * 1024, f), MAX_OVAL_BYTES)
                .map_err(|e| format!("{source}: cannot read: {e}"))
        })
        .and_then(|(_, xml)| parse::parse(xml).map_err(|e| format!("{source}: {e}")));
    let doc = match doc {
        Ok(d) => d,
        Err(e) => {
            result.source.error = Some(e);
            return result;
        }
    };
    result.source.entries = doc.definitions.len() as u64;
    result.source.newest = doc.timestamp.as_deref().and_then(parse_date);
    let platforms: BTreeSet<String> = doc
        .definitions
        .iter()
        .flat_map(|d| d.platforms.iter().cloned())
        .collect();
    release::check_names(&source, &platforms, os, &mut result.warnings);

    let files: Vec<String> = doc.verified_files().into_iter().collect();
    let (owners, owner_errors) = owners_of(root, &files);
    for e in owner_errors {
        result
            .warnings
            .push(ScanWarning::new("package-error", Some(&source), e));
    }
    let release_owner = owners.get("/etc/redhat-release").and_then(|o| o.first());
    let is_rhel = release_owner.is_some_and(|p| p.name.starts_with("redhat-release"));
    let rebuild = !strict && !is_rhel;
    if rebuild {
        let who = release_owner
            .map(|p| format!("/etc/redhat-release belongs to {}", p.nvra))
            .unwrap_or_else(|| "no installed package owns /etc/redhat-release".to_string());
        result.warnings.push(ScanWarning::new(
            "oval-rebuild",
            Some(&source),
            format!(
                "the image is not Red Hat Enterprise Linux ({who}): evaluated as a rebuild — Red Hat's release checks \
                 accept the image's own release package and signature key ids are not checked (--oval-strict to \
                 evaluate as written)"
            ),
        ));
    }

    let mut evaluator = eval::Evaluator::new(&doc, installed, &owners, modules, rebuild);
    for def in &doc.definitions {
        let kind = match def.class.as_str() {
            "patch" | "vulnerability" => AdvisoryKind::Security,
            "inventory" | "compliance" | "miscellaneous" => continue,
            other => AdvisoryKind::Other(other.to_string()),
        };
        let severity = def.severity.as_deref().and_then(Severity::parse);
        if let Some(s) = def.severity.as_deref() {
            if severity.is_none() && !s.eq_ignore_ascii_case("none") {
                result.warnings.push(ScanWarning::new(
                    "unknown-severity",
                    Some(&source),
                    format!(
                        "line {}, {}: severity {s:?} is not Critical, Important, Moderate or Low",
                        def.line, def.id
                    ),
                ));
            }
        }
        if !selection.keeps(&kind, severity) {
            continue;
        }
        let outcome = evaluator.definition(&def.id);
        match outcome.result {
            eval::Tri::False => {}
            eval::Tri::Unknown => {
                result.undecided.push(json!({
                    "Definition": def.id,
                    "Advisory": def.advisory_id(),
                    "Title": def.title,
                    "Reason": outcome.unknown_because.iter().take(5).cloned().collect::<Vec<_>>(),
                }));
            }
            eval::Tri::True => {
                let mut finding = Finding {
                    id: def.advisory_id(),
                    kind: kind.clone(),
                    title: Some(def.title.clone()).filter(|t| !t.is_empty()),
                    severity,
                    severity_raw: if severity.is_none() { def.severity.clone() } else { None },
                    cves: def.all_cves(),
                    issued: def.issued.clone(),
                    updated: def.updated.clone(),
                    packages: BTreeSet::new(),
                    sources: [source.clone()].into(),
                    vex: None,
                };
                for ev in outcome.evidence {
                    let fixed_evr = ev.less_than.as_ref().map(|e| Evr::parse(e).dnf_text());
                    finding.packages.insert(AffectedPackage {
                        installed: ev.package.nevra(),
                        fixed: fixed_evr
                            .as_ref()
                            .map(|e| format!("{}-{}.{}", ev.package.name, e, ev.package.arch)),
                        fixed_evr,
                        module: None,
                        status: None,
                        advisory: None,
                    });
                }
                // Several evidences for one package (signature test and EVR test): keep the
                // one that names the fix.
                let with_fix: BTreeSet<String> = finding
                    .packages
                    .iter()
                    .filter(|p| p.fixed.is_some())
                    .map(|p| p.installed.clone())
                    .collect();
                finding
                    .packages
                    .retain(|p| p.fixed.is_some() || !with_fix.contains(&p.installed));
                result.findings.push(finding);
            }
        }
    }
    if !result.undecided.is_empty() {
        result.warnings.push(ScanWarning::new(
            "oval-undecided",
            Some(&source),
            format!(
                "{} definitions could not be decided (unsupported tests); they are listed under Undecided",
                result.undecided.len()
            ),
        ));
    }
    result
}
