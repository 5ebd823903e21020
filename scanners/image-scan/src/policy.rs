//! `--fail-on`: which findings make a CI job fail (exit status 1).
//!
//! Conditions, any combination, comma-separated: `tampered` (rpm-verify reported anything),
//! `updates` (an update or an obsoleting package is available), `advisories` (any advisory
//! applies), `severity=S` (an advisory of severity S or higher applies; Critical > Important >
//! Moderate > Low; an advisory of unknown severity does not meet a threshold).

use crate::findings::{severity_rank, Findings, SEVERITIES};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    Tampered,
    Updates,
    Advisories,
    /// Rank into [`SEVERITIES`] (0 = Critical).
    Severity(usize),
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Tampered => f.write_str("tampered"),
            Condition::Updates => f.write_str("updates"),
            Condition::Advisories => f.write_str("advisories"),
            Condition::Severity(r) => write!(f, "severity={}", SEVERITIES[*r]),
        }
    }
}

/// Parse one `--fail-on` item.
pub fn parse_condition(s: &str) -> Result<Condition, String> {
    match s.trim() {
        "tampered" => Ok(Condition::Tampered),
        "updates" => Ok(Condition::Updates),
        "advisories" => Ok(Condition::Advisories),
        other => match other.split_once('=') {
            Some(("severity", sev)) => {
                let rank = severity_rank(sev);
                if rank < SEVERITIES.len() {
                    Ok(Condition::Severity(rank))
                } else {
                    Err(format!("unknown severity {sev:?} (one of {})", SEVERITIES.join(", ")))
                }
            }
            _ => Err(format!(
                "unknown condition {other:?} (tampered, updates, advisories, severity=Critical|Important|Moderate|Low)"
            )),
        },
    }
}

/// The conditions a subject's findings meet, each with what met it.
pub fn breaches(conditions: &[Condition], f: &Findings) -> Vec<String> {
    conditions
        .iter()
        .filter_map(|c| {
            let n = match c {
                Condition::Tampered => f.tampered.findings().len(),
                Condition::Updates => f.updates.findings().len(),
                Condition::Advisories => f.advisories.findings().len(),
                Condition::Severity(rank) => f
                    .advisories
                    .findings()
                    .iter()
                    .filter(|a| severity_rank(&a.severity) <= *rank)
                    .count(),
            };
            (n > 0).then(|| format!("{c} ({n})"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Advisory, CheckResult};

    fn advisory(sev: &str) -> Advisory {
        Advisory {
            id: "X".into(),
            title: "X".into(),
            severity: sev.into(),
            kind: "security".into(),
            cves: vec![],
            packages: vec![],
        }
    }

    #[test]
    fn severity_threshold_counts_that_severity_and_higher_only() {
        let f = Findings {
            tampered: CheckResult::Found {
                findings: vec![],
                summary: String::new(),
            },
            updates: CheckResult::NotRun,
            advisories: CheckResult::Found {
                findings: vec![advisory("Moderate"), advisory("Unknown"), advisory("Critical")],
                summary: String::new(),
            },
            suppressed: Vec::new(),
        };
        let important = parse_condition("severity=important").unwrap();
        assert_eq!(breaches(&[important], &f), vec!["severity=Important (1)"]);
        let low = parse_condition("severity=Low").unwrap();
        assert_eq!(breaches(&[low], &f), vec!["severity=Low (2)"]);
        assert!(breaches(&[Condition::Tampered, Condition::Updates], &f).is_empty());
        assert!(parse_condition("severity=Huge").is_err());
        assert!(parse_condition("cves").is_err());
    }
}
