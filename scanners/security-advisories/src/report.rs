//! The findings as atomic's result: one `Vulnerabilities` entry per advisory (so that
//! `atomic scan` prints "The following issues were found" and counts the image as
//! vulnerable), the details under `Scan Results`, a one-sentence `Summary`, and
//! `CVE Feed Last Updated` from the feeds' own dates.

use crate::author_vex::{Declared, Suppression};
use crate::finding::{Finding, ScanWarning};
use atomic_protocol::{Outcome, Vulnerability};
use repodata::updateinfo::{format_unix_utc, AdvisoryKind};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// At most this many warnings of one kind from one source are listed; the rest are counted.
const MAX_WARNINGS_PER_KIND: usize = 20;

/// One feed read for the scan, as the result lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    /// `updateinfo`, `oval` or `csaf-vex`.
    pub format: &'static str,
    pub source: String,
    pub entries: u64,
    pub newest: Option<i64>,
    pub error: Option<String>,
    /// For a CSAF VEX feed URL: how its copy was synced (`Sources[].Feed`).
    pub feed: Option<Value>,
}

/// Everything a scan established, before it becomes an [`Outcome`].
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub scan_type: String,
    pub os_release: String,
    pub installed_packages: usize,
    pub findings: Vec<Finding>,
    pub sources: Vec<SourceReport>,
    pub warnings: Vec<ScanWarning>,
    /// OVAL definitions that could not be decided (an unsupported test on the way).
    pub undecided: Vec<Value>,
    pub min_severity: Option<String>,
    /// How the products of CSAF VEX documents were matched to the image (when `--csaf-vex`).
    pub csaf_products: Option<Value>,
    /// What the image author's `--vex` statements suppressed (when `--vex`).
    pub author_vex: Option<Suppression>,
    /// For an image: the layer that installed each package, by `name-version-release.arch`.
    pub install_layers: std::collections::HashMap<String, Value>,
    /// `name:stream` of the module streams active in the image (`repodata::modularity`), as
    /// pipeline-scanner reports them.
    pub active_modules: Vec<String>,
}

impl Report {
    /// The newest date any feed carries, as `YYYY-MM-DDTHH:MM:SSZ`, or "NA".
    pub fn feed_last_updated(&self) -> String {
        self.sources
            .iter()
            .filter_map(|s| s.newest)
            .max()
            .map(format_unix_utc)
            .unwrap_or_else(|| "NA".to_string())
    }

    fn complete_sources(&self) -> Vec<&SourceReport> {
        self.sources.iter().filter(|s| s.error.is_none()).collect()
    }

    pub fn summary(&self) -> String {
        let partial: Vec<&str> = self
            .sources
            .iter()
            .filter(|s| s.error.is_some())
            .map(|s| s.source.as_str())
            .collect();
        let what = if self.scan_type == "all" {
            "advisories"
        } else {
            "security advisories"
        };
        let mut s = if self.findings.is_empty() {
            format!(
                "No {what} apply to the {} installed packages (feed last updated {}).",
                self.installed_packages,
                self.feed_last_updated()
            )
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &self.findings {
                *counts.entry(f.severity_label()).or_default() += 1;
            }
            let order = ["Critical", "Important", "Moderate", "Low", "Unknown", "None"];
            let parts: Vec<String> = order
                .iter()
                .filter_map(|k| counts.get(k).map(|n| format!("{n} {k}")))
                .collect();
            let cves: std::collections::BTreeSet<&str> = self
                .findings
                .iter()
                .flat_map(|f| f.cves.iter().map(String::as_str))
                .collect();
            let n = self.findings.len();
            let (what, verb) = match (n, self.scan_type.as_str()) {
                (1, "all") => ("advisory", "applies"),
                (1, _) => ("security advisory", "applies"),
                _ => (what, "apply"),
            };
            let cve_word = if cves.len() == 1 { "CVE" } else { "CVEs" };
            format!(
                "{n} {what} {verb} to the image ({}), fixing {} {cve_word}.",
                parts.join(", "),
                cves.len()
            )
        };
        // Inside the first sentence: "…, fixing 3 CVEs; 1 finding suppressed by …".
        if let Some(v) = &self.author_vex {
            if s.ends_with('.') {
                s.pop();
            }
            s.push_str(&format!("; {}.", v.summary_clause()));
        }
        let unfixed = self
            .findings
            .iter()
            .filter(|f| {
                f.vex
                    .as_ref()
                    .is_some_and(|v| v.status != crate::finding::VexStatus::Fixed)
            })
            .count();
        if unfixed > 0 {
            s.push_str(&format!(
                " {unfixed} of them {} no fix (CSAF VEX: affected, fix deferred, will not fix, out of support or under \
                 investigation).",
                if unfixed == 1 { "has" } else { "have" }
            ));
        }
        for f in self.sources.iter().filter_map(|s| s.feed.as_ref()) {
            if f["Offline"] == true {
                s.push_str(&format!(
                    " The CSAF VEX feed {} could not be synced: read from the cache's copy synced {} ({} ago).",
                    f["URL"].as_str().unwrap_or("?"),
                    f["Synced"].as_str().unwrap_or("?"),
                    f["Age"].as_str().unwrap_or("?")
                ));
            }
        }
        if !partial.is_empty() {
            s.push_str(&format!(
                " The answer is partial: {} could not be read to the end.",
                partial.join(", ")
            ));
        }
        s
    }

    fn vulnerability(&self, f: &Finding) -> Vulnerability {
        let title = match &f.title {
            // OVAL titles already start with the id ("RHSA-2020:1980: git security update").
            Some(t) if t.starts_with(&f.id) => t.clone(),
            Some(t) => format!("{}: {t}", f.id),
            None => f.id.clone(),
        };
        let packages: Vec<Value> = f
            .packages
            .iter()
            .map(|p| {
                let mut m = Map::new();
                m.insert("Installed".into(), json!(p.installed));
                if let Some(layer) = self.install_layers.get(&p.installed) {
                    m.insert("Installed By Layer".into(), layer.clone());
                }
                m.insert(
                    "Fixed".into(),
                    json!(p.fixed.clone().unwrap_or_else(|| "no fix published".into())),
                );
                if let Some(st) = &p.status {
                    m.insert("Status".into(), json!(st));
                }
                if let Some(a) = &p.advisory {
                    m.insert("Fixed By".into(), json!(a));
                }
                if let Some(e) = &p.fixed_evr {
                    m.insert("Fixed EVR".into(), json!(e));
                }
                if let Some(mo) = &p.module {
                    m.insert("Module".into(), json!(mo));
                }
                Value::Object(m)
            })
            .collect();
        let mut custom = Map::new();
        custom.insert("Advisory".into(), json!(f.id));
        custom.insert("Type".into(), json!(f.kind.as_str()));
        custom.insert("CVEs".into(), json!(f.cves));
        custom.insert("Packages".into(), Value::Array(packages));
        if let Some(r) = &f.severity_raw {
            custom.insert("Severity in feed".into(), json!(r));
        }
        if let Some(d) = &f.issued {
            custom.insert("Issued".into(), json!(d));
        }
        if let Some(d) = &f.updated {
            custom.insert("Updated".into(), json!(d));
        }
        custom.insert("Source".into(), json!(f.sources.iter().collect::<Vec<_>>()));
        if let Some(v) = &f.vex {
            custom.insert("Status".into(), json!(v.status.as_str()));
            let fixed_by: std::collections::BTreeSet<&str> =
                f.packages.iter().filter_map(|p| p.advisory.as_deref()).collect();
            if !fixed_by.is_empty() {
                custom.insert("Fixed By".into(), json!(fixed_by));
            }
            if let Some(c) = &v.cvss_score {
                custom.insert("CVSS v3 Score".into(), json!(c));
            }
            if let Some(c) = &v.cvss_vector {
                custom.insert("CVSS v3 Vector".into(), json!(c));
            }
            if let Some(c) = &v.cwe {
                custom.insert("CWE".into(), json!(c));
            }
            custom.insert("VEX Document".into(), json!(v.document));
        }
        if let Some(declared) = self.author_vex.as_ref().and_then(|v| v.declared.get(&f.id)) {
            custom.insert(
                "Declared Not Affected".into(),
                Value::Array(declared.iter().map(declared_json).collect()),
            );
        }
        Vulnerability {
            title,
            severity: f.severity_label().to_string(),
            custom: Value::Object(custom),
        }
    }

    /// Warnings, at most [`MAX_WARNINGS_PER_KIND`] per kind and source, the rest counted.
    fn warnings_json(&self) -> Vec<Value> {
        let mut seen: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
        let mut out = Vec::new();
        for w in &self.warnings {
            let n = seen.entry((w.kind.as_str(), w.source.as_deref())).or_default();
            *n += 1;
            if *n <= MAX_WARNINGS_PER_KIND {
                let mut m = Map::new();
                m.insert("Kind".into(), json!(w.kind));
                if let Some(s) = &w.source {
                    m.insert("Source".into(), json!(s));
                }
                m.insert("Message".into(), json!(w.message));
                out.push(Value::Object(m));
            }
        }
        for ((kind, source), n) in seen {
            if n > MAX_WARNINGS_PER_KIND {
                out.push(json!({
                    "Kind": kind,
                    "Source": source,
                    "Message": format!("{} more {kind} warnings not listed", n - MAX_WARNINGS_PER_KIND),
                }));
            }
        }
        out
    }

    pub fn into_outcome(self) -> Outcome {
        let vulnerabilities: Vec<Vulnerability> = self.findings.iter().map(|f| self.vulnerability(f)).collect();
        let sources: Vec<Value> = self
            .sources
            .iter()
            .map(|s| {
                let mut m = Map::new();
                m.insert("Format".into(), json!(s.format));
                m.insert("Source".into(), json!(s.source));
                m.insert("Entries".into(), json!(s.entries));
                m.insert(
                    "Last Updated".into(),
                    json!(s.newest.map(format_unix_utc).unwrap_or("NA".into())),
                );
                if let Some(e) = &s.error {
                    m.insert("Error".into(), json!(e));
                }
                if let Some(f) = &s.feed {
                    m.insert("Feed".into(), f.clone());
                }
                Value::Object(m)
            })
            .collect();
        let warnings = self.warnings_json();
        let mut results = Map::new();
        results.insert("OS Release".into(), json!(self.os_release));
        results.insert(
            "Advisories".into(),
            Value::Array(vulnerabilities.iter().map(|v| v.custom.clone()).collect()),
        );
        results.insert("Sources".into(), Value::Array(sources));
        results.insert("Warnings".into(), Value::Array(warnings.clone()));
        if !self.undecided.is_empty() {
            results.insert("Undecided".into(), Value::Array(self.undecided.clone()));
        }
        if !self.active_modules.is_empty() {
            results.insert("Active Module Streams".into(), json!(self.active_modules));
        }
        if let Some(p) = &self.csaf_products {
            results.insert("CSAF VEX Products".into(), p.clone());
        }
        if let Some(v) = &self.author_vex {
            results.insert(
                "Suppressed".into(),
                Value::Array(v.suppressed.iter().map(declared_json).collect()),
            );
            results.insert(
                "VEX Files".into(),
                Value::Array(v.files.iter().map(vex_file_json).collect()),
            );
        }
        results.insert(
            "Minimum Severity".into(),
            json!(self.min_severity.clone().unwrap_or_else(|| "none".into())),
        );
        let summary = self.summary();
        let feed = self.feed_last_updated();
        let complete = self.complete_sources().len();
        let mut custom = Map::new();
        custom.insert(
            "Feeds".into(),
            json!(format!("{complete} of {} read completely", self.sources.len())),
        );
        if !warnings.is_empty() {
            custom.insert(
                "Warnings".into(),
                Value::Array(
                    warnings
                        .iter()
                        .map(|w| {
                            json!(format!(
                                "{}: {}",
                                w["Kind"].as_str().unwrap_or(""),
                                w["Message"].as_str().unwrap_or("")
                            ))
                        })
                        .collect(),
                ),
            );
        }
        let has_findings = !vulnerabilities.is_empty();
        let mut outcome = Outcome::new(Value::Object(results), summary);
        outcome.cve_feed_last_updated = feed;
        outcome.vulnerabilities = vulnerabilities;
        outcome.custom = Some(Value::Object(custom));
        outcome.has_findings = has_findings;
        outcome
    }
}

/// A CVE declared not affected, as `Suppressed` and `Declared Not Affected` list it.
fn declared_json(d: &Declared) -> Value {
    let mut m = Map::new();
    m.insert("Advisory".into(), json!(d.advisory));
    m.insert("CVE".into(), json!(d.cve));
    m.insert("Package".into(), json!(d.package));
    m.insert("Status".into(), json!(d.status.as_str()));
    m.insert("Justification".into(), json!(d.justification));
    m.insert("Statement".into(), json!(d.impact_statement));
    m.insert("Source".into(), json!(d.source));
    m.insert(
        "Finding".into(),
        json!(if d.finding_suppressed {
            "suppressed"
        } else {
            "kept for its other packages or CVEs"
        }),
    );
    Value::Object(m)
}

fn vex_file_json(f: &crate::author_vex::VexFile) -> Value {
    let mut m = Map::new();
    m.insert("Source".into(), json!(f.source));
    m.insert("Format".into(), json!(f.format.unwrap_or("unknown")));
    m.insert("Statements".into(), json!(f.statements));
    if let Some(e) = &f.error {
        m.insert("Error".into(), json!(e));
    }
    Value::Object(m)
}

/// The ordering of findings in the result: severity (highest first), then id.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let rank = |f: &Finding| match (f.severity, &f.kind) {
            (Some(s), _) => 3 - s as i32,
            (None, AdvisoryKind::Security) => 4,
            (None, _) => 5,
        };
        rank(a).cmp(&rank(b)).then_with(|| a.id.cmp(&b.id))
    });
}
