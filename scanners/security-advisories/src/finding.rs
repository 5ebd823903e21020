//! The data model between the judgements (updateinfo, OVAL, CSAF VEX) and the result document:
//! an advisory — or, from VEX, a CVE — that applies to the image, with the installed packages
//! it concerns.

use repodata::updateinfo::{format_unix_utc, Advisory, AdvisoryKind, Severity, Warning, WarningKind};
use std::collections::BTreeSet;

/// One installed package an advisory concerns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AffectedPackage {
    /// The installed `name-version-release.arch`.
    pub installed: String,
    /// The fixed build, `name-[epoch:]version-release.arch` (`None` when the feed knows of no
    /// fix, as in OVAL "unpatched" definitions).
    pub fixed: Option<String>,
    /// The fixed `[epoch:]version-release`.
    pub fixed_evr: Option<String>,
    /// `name:stream` of the module collection the fix comes from.
    pub module: Option<String>,
    /// CSAF VEX only: this package's status ([`VexStatus::as_str`]).
    pub status: Option<String>,
    /// CSAF VEX only: the advisory that fixes this package (`RHSA-2024:9541`).
    pub advisory: Option<String>,
}

/// A CVE's status for an installed package, from a CSAF VEX document (the names Trivy uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VexStatus {
    /// `fixed`: a fixed build exists and the installed one is older.
    Fixed,
    /// `known_affected` with `none_available` "Affected" (or no remediation).
    Affected,
    /// `known_affected` with `none_available` "Deferred".
    FixDeferred,
    /// `known_affected` with `no_fix_planned` "Will not fix".
    WillNotFix,
    /// `known_affected` with `no_fix_planned` "Out of support scope".
    OutOfSupport,
    /// `under_investigation`.
    UnderInvestigation,
}

impl VexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::Fixed => "fixed",
            VexStatus::Affected => "affected",
            VexStatus::FixDeferred => "fix_deferred",
            VexStatus::WillNotFix => "will_not_fix",
            VexStatus::OutOfSupport => "out_of_support",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

/// What a CSAF VEX document says of a CVE beyond an advisory's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexDetail {
    /// The status for the image: `fixed` when any package has a fix, else the first of the
    /// packages' statuses in [`VexStatus`] order.
    pub status: VexStatus,
    /// CVSS v3 base score as written (`5.9`) and vector.
    pub cvss_score: Option<String>,
    pub cvss_vector: Option<String>,
    /// `CWE-754`.
    pub cwe: Option<String>,
    /// The VEX document the CVE was read from.
    pub document: String,
}

/// An advisory that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub kind: AdvisoryKind,
    pub title: Option<String>,
    pub severity: Option<Severity>,
    /// The severity as the feed wrote it, when it is off the scale.
    pub severity_raw: Option<String>,
    pub cves: Vec<String>,
    pub issued: Option<String>,
    pub updated: Option<String>,
    pub packages: BTreeSet<AffectedPackage>,
    /// The feeds it came from (repository ids, files).
    pub sources: BTreeSet<String>,
    /// CSAF VEX findings only.
    pub vex: Option<VexDetail>,
}

impl Finding {
    pub fn from_advisory(a: &Advisory, source: &str) -> Finding {
        let date = |d: &Option<repodata::updateinfo::AdvisoryDate>| {
            d.as_ref()
                .map(|d| d.unix.map(format_unix_utc).unwrap_or_else(|| d.raw.clone()))
        };
        Finding {
            id: a.id.clone(),
            kind: a.kind.clone(),
            title: a.title.clone(),
            severity: a.severity,
            severity_raw: if a.severity.is_none() {
                a.severity_raw.clone()
            } else {
                None
            },
            cves: a.cves().into_iter().map(str::to_string).collect(),
            issued: date(&a.issued),
            updated: date(&a.updated),
            packages: BTreeSet::new(),
            sources: [source.to_string()].into(),
            vex: None,
        }
    }

    /// atomic's `Severity`: the scale's name; "Unknown" for a security advisory without one,
    /// "None" for bug fixes and enhancements without one.
    pub fn severity_label(&self) -> &str {
        match (self.severity, &self.kind) {
            (Some(s), _) => s.as_str(),
            (None, AdvisoryKind::Security) => "Unknown",
            (None, _) => "None",
        }
    }

    /// Merge the same advisory met in another feed (dnf lists an id once).
    pub fn merge(&mut self, other: Finding) {
        self.packages.extend(other.packages);
        self.sources.extend(other.sources);
        for c in other.cves {
            if !self.cves.contains(&c) {
                self.cves.push(c);
            }
        }
    }
}

/// Which advisories a scan type and the severity threshold keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    /// `all`: bug fixes and enhancements too; otherwise security advisories only.
    pub all_types: bool,
    /// Keep advisories of this severity or higher. An advisory whose severity is unknown is
    /// kept: it cannot be shown to be below the threshold.
    pub min_severity: Option<Severity>,
}

impl Selection {
    pub fn keeps(&self, kind: &AdvisoryKind, severity: Option<Severity>) -> bool {
        if !self.all_types && *kind != AdvisoryKind::Security {
            return false;
        }
        match (self.min_severity, severity) {
            (Some(min), Some(s)) => s >= min,
            (Some(_), None) => *kind == AdvisoryKind::Security,
            (None, _) => true,
        }
    }
}

/// A warning about the scan as a whole, with a stable name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanWarning {
    pub kind: String,
    pub source: Option<String>,
    pub message: String,
}

impl ScanWarning {
    pub fn new(kind: &str, source: Option<&str>, message: impl Into<String>) -> ScanWarning {
        ScanWarning {
            kind: kind.to_string(),
            source: source.map(str::to_string),
            message: message.into(),
        }
    }

    pub fn from_feed(w: &Warning, source: &str) -> ScanWarning {
        let message = match &w.advisory {
            Some(a) => format!("line {}, {a}: {}", w.line, w.message),
            None => format!("line {}: {}", w.line, w.message),
        };
        ScanWarning::new(w.kind.as_str(), Some(source), message)
    }

    pub fn release_mismatch(source: &str, message: impl Into<String>) -> ScanWarning {
        ScanWarning::new(WarningKind::ReleaseMismatch.as_str(), Some(source), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection() {
        let sec = Selection {
            all_types: false,
            min_severity: Some(Severity::Important),
        };
        assert!(sec.keeps(&AdvisoryKind::Security, Some(Severity::Critical)));
        assert!(sec.keeps(&AdvisoryKind::Security, Some(Severity::Important)));
        assert!(!sec.keeps(&AdvisoryKind::Security, Some(Severity::Moderate)));
        assert!(sec.keeps(&AdvisoryKind::Security, None), "unknown severity is kept");
        assert!(!sec.keeps(&AdvisoryKind::Bugfix, Some(Severity::Critical)));
        let all = Selection {
            all_types: true,
            min_severity: None,
        };
        assert!(all.keeps(&AdvisoryKind::Bugfix, None));
        assert!(all.keeps(&AdvisoryKind::Other("x".into()), None));
        let all_min = Selection {
            all_types: true,
            min_severity: Some(Severity::Low),
        };
        assert!(
            !all_min.keeps(&AdvisoryKind::Bugfix, None),
            "a threshold leaves out what has no severity"
        );
    }
}
