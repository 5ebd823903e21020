//! What a person reads first: one summary line per subject, then compact aligned tables —
//! tampered files with rpm's verify columns, package and layer; updates laid out as
//! `dnf check-update` lays them out; advisories by severity with their CVEs (a Red Hat VEX
//! finding without a fix says why: `no fix: will not fix`); what the image author's VEX
//! statements suppressed; and every check that could not run, with why. Colour only on a terminal, never with `NO_COLOR`.

use crate::findings::{CheckResult, Findings};
use crate::run::SubjectReport;
use std::fmt::Write;

/// Whether to colour: stdout is a terminal and `NO_COLOR` is unset or empty.
pub fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn severity(&self, sev: &str, s: &str) -> String {
        match sev {
            "Critical" => self.paint("1;31", s),
            "Important" => self.paint("31", s),
            "Moderate" => self.paint("33", s),
            _ => s.to_string(),
        }
    }
}

/// Rows padded to the widest cell of each column (the last column is not padded).
fn aligned(out: &mut String, header: &[&str], rows: &[Vec<String>], paint: impl Fn(usize, usize, &str) -> String) {
    let cols = header.len();
    let mut width = vec![0usize; cols];
    for row in std::iter::once(header.iter().map(|s| s.to_string()).collect::<Vec<_>>()).chain(rows.iter().cloned()) {
        for (i, c) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String], row: Option<usize>| -> String {
        let mut s = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            let pad = if i + 1 < cols {
                width[i] - c.chars().count() + 2
            } else {
                0
            };
            let painted = match row {
                Some(r) => paint(r, i, c),
                None => c.clone(),
            };
            s.push_str(&painted);
            s.push_str(&" ".repeat(pad));
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        line(&header.iter().map(|s| s.to_string()).collect::<Vec<_>>(), None)
    );
    for (r, row) in rows.iter().enumerate() {
        let _ = writeln!(out, "{}", line(row, Some(r)));
    }
}

fn failed<T>(out: &mut String, style: &Style, what: &str, r: &CheckResult<T>) -> bool {
    if let CheckResult::Failed(why) = r {
        let _ = writeln!(out, "  {} {why}", style.paint("1;31", &format!("{what} not checked:")));
        return true;
    }
    false
}

/// The whole table text for a run.
pub fn render(reports: &[(SubjectReport, Findings)], colour: bool) -> String {
    let style = Style { on: colour };
    let mut out = String::new();
    for (report, f) in reports {
        let _ = writeln!(out, "{}", style.bold(&crate::json::summary(report, f)));
    }
    for (report, f) in reports {
        if report.open_error.is_some() {
            continue;
        }
        let _ = writeln!(out, "\n{}", style.bold(&format!("== {}", report.name)));
        subject(&mut out, &style, f);
    }
    out
}

/// The tables, then what changed for each subject whose document has `Changes` (`--state`).
pub fn render_run(run: &crate::run::RunReport, colour: bool) -> String {
    let style = Style { on: colour };
    let mut out = render(run.subjects, colour);
    for ((report, _), doc) in run.subjects.iter().zip(run.documents) {
        let lines = crate::changes::lines(doc);
        if !lines.is_empty() {
            let _ = writeln!(out, "\n{}", style.bold(&format!("== {}: changes", report.name)));
            for l in lines {
                let _ = writeln!(out, "  {l}");
            }
        }
    }
    out
}

fn subject(out: &mut String, style: &Style, f: &Findings) {
    if !failed(out, style, "Files", &f.tampered) && !f.tampered.findings().is_empty() {
        let _ = writeln!(out, "\nTampered files (rpm -Va):");
        let rows: Vec<Vec<String>> = f
            .tampered
            .findings()
            .iter()
            .map(|t| {
                let what = match &t.file {
                    Some(p) if t.config => format!("c {p}"),
                    Some(p) => format!("  {p}"),
                    None => "  (database record)".to_string(),
                };
                vec![
                    t.issue.clone(),
                    what,
                    t.package.clone(),
                    t.layer.as_ref().map(|l| l.label()).unwrap_or_default(),
                ]
            })
            .collect();
        aligned(out, &["FLAGS", "  FILE", "PACKAGE", "LAYER"], &rows, |_, _, s| {
            s.to_string()
        });
    }
    if !failed(out, style, "Updates", &f.updates) && !f.updates.findings().is_empty() {
        let _ = writeln!(out, "\nUpdates (dnf check-update):");
        let rows: Vec<Vec<String>> = f
            .updates
            .findings()
            .iter()
            .map(|u| {
                vec![
                    u.package.clone(),
                    u.available.clone(),
                    u.repository.clone(),
                    if u.obsoletes {
                        format!("obsoletes {}", u.installed)
                    } else {
                        format!("installed {}", u.installed)
                    },
                    u.layer.as_ref().map(|l| l.label()).unwrap_or_default(),
                ]
            })
            .collect();
        aligned(
            out,
            &["PACKAGE", "AVAILABLE", "REPOSITORY", "INSTALLED", "LAYER"],
            &rows,
            |_, _, s| s.to_string(),
        );
    }
    if !failed(out, style, "Advisories", &f.advisories) && !f.advisories.findings().is_empty() {
        let _ = writeln!(out, "\nAdvisories (dnf updateinfo list):");
        let advisories = f.advisories.findings();
        let mut rows = Vec::new();
        let mut severities = Vec::new();
        for a in advisories {
            let first = a.packages.first();
            rows.push(vec![
                a.id.clone(),
                a.severity.clone(),
                a.kind.clone(),
                first.map(|p| p.installed.clone()).unwrap_or_default(),
                first.map(|p| p.fix_text()).unwrap_or_default(),
                a.cves.join(" "),
            ]);
            severities.push(a.severity.clone());
            for p in a.packages.iter().skip(1) {
                rows.push(vec![
                    String::new(),
                    String::new(),
                    String::new(),
                    p.installed.clone(),
                    p.fix_text(),
                    String::new(),
                ]);
                severities.push(String::new());
            }
        }
        aligned(
            out,
            &["ADVISORY", "SEVERITY", "TYPE", "INSTALLED", "FIXED", "CVES"],
            &rows,
            |r, c, s| {
                if c == 1 {
                    style.severity(&severities[r], s)
                } else {
                    s.to_string()
                }
            },
        );
    }
    if !f.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "\nSuppressed by the image's VEX statements ({}):",
            f.suppressed.len()
        );
        let rows: Vec<Vec<String>> = f
            .suppressed
            .iter()
            .map(|x| {
                vec![
                    x.advisory.clone(),
                    x.cve.clone(),
                    x.package.clone(),
                    x.justification.clone(),
                    x.finding.clone(),
                ]
            })
            .collect();
        aligned(
            out,
            &["ADVISORY", "CVE", "PACKAGE", "JUSTIFICATION", "FINDING"],
            &rows,
            |_, _, s| s.to_string(),
        );
    }
}
