//! The three documents read back as typed findings, for the summary, the tables and the
//! policy. The documents are the scanners' contract (the README documents their keys), so
//! what the combined report shows is exactly what each scanner wrote.

use crate::options::Check;
use crate::run::SubjectReport;
use atomic_protocol::document::Verdict;
use serde_json::Value;

/// Where a finding comes from in an image: `Index` (1 = bottom), `Digest`, `Created By`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub index: u64,
    pub digest: String,
    pub created_by: Option<String>,
}

impl Layer {
    fn of(v: &Value) -> Option<Layer> {
        Some(Layer {
            index: v.get("Index")?.as_u64()?,
            digest: v.get("Digest")?.as_str()?.to_string(),
            created_by: v.get("Created By").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// `2 (RUN patch /usr/bin/curl)` or `2 sha256:…` when no build step is recorded.
    pub fn label(&self) -> String {
        match &self.created_by {
            Some(c) => format!("{} ({c})", self.index),
            None => format!("{} {}", self.index, short_digest(&self.digest)),
        }
    }
}

pub fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        // By characters: a digest from a hostile image need not be ASCII.
        Some((algo, hex)) => format!("{algo}:{}", hex.chars().take(12).collect::<String>()),
        None => d.to_string(),
    }
}

/// A file (or database record) rpm-verify reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampered {
    /// The path, or `None` for a finding about a package's database record.
    pub file: Option<String>,
    /// rpm's verify columns (`S.5....T.`, `missing`) or the record's problem.
    pub issue: String,
    pub package: String,
    pub config: bool,
    pub layer: Option<Layer>,
}

/// A package with a newer version (or an obsoleting package) in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// `name.arch`, as `dnf check-update` prints it.
    pub package: String,
    pub available: String,
    pub repository: String,
    /// The installed `evr.arch`, or for an obsoleting package what it obsoletes.
    pub installed: String,
    pub obsoletes: bool,
    pub layer: Option<Layer>,
}

/// An advisory that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub id: String,
    pub title: String,
    /// Critical, Important, Moderate, Low, or what the feed said.
    pub severity: String,
    pub kind: String,
    pub cves: Vec<String>,
    pub packages: Vec<AdvisoryPackage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryPackage {
    pub installed: String,
    /// The fixed NEVRA (for a Red Hat VEX finding without a fix, what the scanner wrote
    /// instead; `status` says why).
    pub fixed: String,
    pub layer: Option<Layer>,
    /// A Red Hat VEX finding's status for this package (`fixed`, `affected`, `fix_deferred`,
    /// `will_not_fix`, `out_of_support`, `under_investigation`); none from updateinfo or OVAL.
    pub status: Option<String>,
}

impl AdvisoryPackage {
    /// Whether a fixed build exists: a Red Hat VEX status says so, else a named fix does.
    pub fn has_fix(&self) -> bool {
        match &self.status {
            Some(st) => st == "fixed",
            None => !self.fixed.is_empty(),
        }
    }

    /// What the "fixed" column shows: the fixed build, else why there is none
    /// (`no fix: will not fix`).
    pub fn fix_text(&self) -> String {
        match &self.status {
            Some(st) if !self.has_fix() => format!("no fix: {}", st.replace('_', " ")),
            _ => self.fixed.clone(),
        }
    }
}

/// A finding the image author's VEX statements took out (security-advisories'
/// `Scan Results.Suppressed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub advisory: String,
    pub cve: String,
    pub package: String,
    pub justification: String,
    /// `suppressed`, or `kept for its other packages or CVEs`.
    pub finding: String,
}

/// What one check said about a subject.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckResult<T> {
    /// The check was not selected.
    NotRun,
    /// The check could not run: why.
    Failed(String),
    Found {
        findings: Vec<T>,
        summary: String,
    },
}

impl<T> CheckResult<T> {
    pub fn findings(&self) -> &[T] {
        match self {
            CheckResult::Found { findings, .. } => findings,
            _ => &[],
        }
    }
}

/// Every finding of one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    pub tampered: CheckResult<Tampered>,
    pub updates: CheckResult<Update>,
    pub advisories: CheckResult<Advisory>,
    /// What the image author's `--vex` statements took out of the advisories.
    pub suppressed: Vec<Suppressed>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// `Scan Results.Suppressed` of the advisory document.
fn suppressed_in(o: &atomic_protocol::Outcome) -> Vec<Suppressed> {
    let list = o.scan_results.get("Suppressed").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .map(|s| Suppressed {
            advisory: text(s, "Advisory"),
            cve: text(s, "CVE"),
            package: text(s, "Package"),
            justification: text(s, "Justification"),
            finding: text(s, "Finding"),
        })
        .collect()
}

fn check<T>(report: &SubjectReport, c: Check, read: impl Fn(&atomic_protocol::Outcome) -> Vec<T>) -> CheckResult<T> {
    match report.document(c) {
        None => CheckResult::NotRun,
        Some(doc) => match &doc.verdict {
            Verdict::Failed(f) => CheckResult::Failed(f.0.clone()),
            Verdict::Scanned(o) => CheckResult::Found {
                findings: read(o),
                summary: o.summary.clone(),
            },
        },
    }
}

impl Findings {
    pub fn of(report: &SubjectReport) -> Findings {
        Findings {
            tampered: check(report, Check::Verify, |o| {
                o.results
                    .iter()
                    .map(|r| Tampered {
                        file: r.get("File").and_then(Value::as_str).map(str::to_string),
                        issue: text(r, "Issue"),
                        package: text(r, "Package"),
                        config: r.get("Config").and_then(Value::as_bool).unwrap_or(false),
                        layer: r.get("Layer").and_then(Layer::of),
                    })
                    .collect()
            }),
            updates: check(report, Check::Updates, |o| {
                o.results
                    .iter()
                    .map(|r| {
                        let obsoletes = r.get("Obsoletes").is_some();
                        Update {
                            package: text(r, "Package"),
                            available: text(r, "Available"),
                            repository: text(r, "Repository"),
                            installed: if obsoletes {
                                format!("{} {}", text(r, "Obsoletes"), text(r, "Obsoleted EVR"))
                            } else {
                                text(r, "Installed")
                            },
                            obsoletes,
                            layer: r.get("Installed By Layer").and_then(Layer::of),
                        }
                    })
                    .collect()
            }),
            advisories: check(report, Check::Advisories, |o| {
                o.vulnerabilities
                    .iter()
                    .map(|v| {
                        let c = &v.custom;
                        Advisory {
                            id: text(c, "Advisory"),
                            title: v.title.clone(),
                            severity: v.severity.clone(),
                            kind: text(c, "Type"),
                            cves: c
                                .get("CVEs")
                                .and_then(Value::as_array)
                                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                                .unwrap_or_default(),
                            packages: c
                                .get("Packages")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .map(|p| AdvisoryPackage {
                                            installed: text(p, "Installed"),
                                            fixed: text(p, "Fixed"),
                                            layer: p.get("Installed By Layer").and_then(Layer::of),
                                            status: p.get("Status").and_then(Value::as_str).map(str::to_string),
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        }
                    })
                    .collect()
            }),
            suppressed: check(report, Check::Advisories, suppressed_in).findings().to_vec(),
        }
    }

    /// The one line a person reads first: `10 updates, 2 advisories (1 Critical), 1 tampered
    /// file`, with each check that could not run named.
    pub fn summary_line(&self) -> String {
        let mut parts = Vec::new();
        match &self.updates {
            CheckResult::NotRun => {}
            CheckResult::Failed(_) => parts.push("updates not checked".to_string()),
            CheckResult::Found { findings, .. } => parts.push(count(findings.len(), "update", "updates")),
        }
        match &self.advisories {
            CheckResult::NotRun => {}
            CheckResult::Failed(_) => parts.push("advisories not checked".to_string()),
            CheckResult::Found { findings, .. } => {
                let mut s = count(findings.len(), "advisory", "advisories");
                let by: Vec<String> = severity_counts(findings)
                    .into_iter()
                    .map(|(sev, n)| format!("{n} {sev}"))
                    .collect();
                if !by.is_empty() {
                    s.push_str(&format!(" ({})", by.join(", ")));
                }
                parts.push(s);
            }
        }
        match &self.tampered {
            CheckResult::NotRun => {}
            CheckResult::Failed(_) => parts.push("files not verified".to_string()),
            CheckResult::Found { findings, .. } => parts.push(count(findings.len(), "tampered file", "tampered files")),
        }
        parts.join(", ")
    }
}

/// The severities in rank order, highest first.
pub const SEVERITIES: [&str; 4] = ["Critical", "Important", "Moderate", "Low"];

/// The rank of a severity (0 = Critical); unknown severities rank below Low.
pub fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|k| k.eq_ignore_ascii_case(s))
        .unwrap_or(SEVERITIES.len())
}

/// How many advisories of each known severity, highest first (zero counts left out).
pub fn severity_counts(advisories: &[Advisory]) -> Vec<(&'static str, usize)> {
    SEVERITIES
        .iter()
        .map(|s| {
            (
                *s,
                advisories.iter().filter(|a| a.severity.eq_ignore_ascii_case(s)).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_digest_cuts_on_characters() {
        assert_eq!(short_digest("sha256:0123456789abcdef"), "sha256:0123456789ab");
        assert_eq!(short_digest("sha256:ééééééééééééé"), "sha256:éééééééééééé");
        assert_eq!(short_digest("nodigest"), "nodigest");
    }
}
