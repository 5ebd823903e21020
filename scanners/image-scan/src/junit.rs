//! The JUnit XML report (`--format junit`), for CI test dashboards (Jenkins, GitLab's test
//! reports, Azure Pipelines, any JUnit reader). This module owns the mapping of each subject's
//! checks to test cases.
//!
//! - one `<testsuite>` per subject, named by the subject (its reference or directory), with
//!   the subject's start time and duration, and `properties` for the image's digests and
//!   `--fail-on`;
//! - **one `<testcase>` per check per subject**, always all three, in the order `verify`
//!   (tampered files, rpm -Va), `updates` (dnf check-update), `advisories` (dnf updateinfo),
//!   classname the subject, with the check's own start time and duration;
//! - `<failure>` when the check's findings fail the build (below): message the check's summary,
//!   type `tampered`/`updates`/`advisories`, body the findings one per line with the columns
//!   the table shows;
//! - `<error>` when the check could not run (no repository, no database, the subject could not
//!   be opened…), with the reason: a check that did not run never passes;
//! - `<skipped>` when the check was not selected (`--checks`);
//! - otherwise it passes (its summary in `<system-out>`).
//!
//! **Findings and `--fail-on`.** A dashboard should be red exactly when the build is. So:
//! without `--fail-on`, every check with findings fails (nothing was declared acceptable);
//! with `--fail-on`, a check fails only when a condition meets its findings (`tampered` →
//! verify, `updates` → updates, `advisories` or `severity=S` → advisories), and the failure
//! lists the findings that meet it. Findings below `--fail-on` do **not** fail the test case:
//! they are listed in its `<system-out>` (`below --fail-on: …`), never hidden.

use crate::findings::{severity_rank, Advisory, CheckResult, Findings, Tampered, Update};
use crate::options::Check;
use crate::policy::{parse_condition, Condition};
use crate::run::{RunReport, SubjectReport};
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// The whole JUnit document of a run: one test suite per subject, in command-line order.
pub fn render(run: &RunReport) -> String {
    let conditions: Vec<Condition> = run.fail_on.iter().filter_map(|c| parse_condition(c).ok()).collect();
    let mut report = Report::new("image-scan");
    if let Some((first, _)) = run.subjects.first() {
        report.set_timestamp(first.start.0.fixed_offset());
    }
    if let (Some((first, _)), Some((last, _))) = (run.subjects.first(), run.subjects.last()) {
        report.set_time(duration(&first.start, &last.finished));
    }
    for (i, (subject, findings)) in run.subjects.iter().enumerate() {
        let breaches = run.breaches.get(i).map(Vec::as_slice).unwrap_or_default();
        report.add_test_suite(suite(subject, findings, &conditions, run.fail_on, breaches));
    }
    match report.to_string() {
        Ok(mut s) => {
            if !s.ends_with('\n') {
                s.push('\n');
            }
            s
        }
        // quick-junit writes into a String: this cannot fail, but never panic on it either.
        Err(e) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"image-scan\" tests=\"0\" failures=\"0\" errors=\"1\"><!-- {} --></testsuites>\n",
            clean(&e.to_string()).replace("--", "- -")
        ),
    }
}

fn duration(start: &atomic_protocol::document::ScanTime, end: &atomic_protocol::document::ScanTime) -> Duration {
    (end.0 - start.0).to_std().unwrap_or_default()
}

/// Text XML 1.0 can carry: quick-junit drops the C0 controls and escapes markup; the
/// non-characters U+FFFE and U+FFFF (not allowed in XML either) are dropped here.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '\u{FFFE}' | '\u{FFFF}')).collect()
}

fn suite(
    report: &SubjectReport,
    f: &Findings,
    conditions: &[Condition],
    fail_on: &[String],
    breaches: &[String],
) -> TestSuite {
    let mut suite = TestSuite::new(clean(&report.name));
    suite.set_timestamp(report.start.0.fixed_offset());
    suite.set_time(duration(&report.start, &report.finished));
    suite.add_property(Property::new("subject", clean(&report.name)));
    if let Some(image) = &report.image {
        for (key, name) in [
            ("Reference", "image.reference"),
            ("Config Digest", "image.config-digest"),
            ("Manifest Digest", "image.manifest-digest"),
            ("Platform", "image.platform"),
        ] {
            if let Some(v) = image.get(key).and_then(serde_json::Value::as_str) {
                suite.add_property(Property::new(name, clean(v)));
            }
        }
    }
    suite.add_property(Property::new("fail-on", clean(&fail_on.join(","))));
    suite.add_property(Property::new("breaches", clean(&breaches.join("; "))));
    suite.add_property(Property::new("summary", clean(&crate::json::summary(report, f))));
    for check in Check::ALL {
        suite.add_test_case(case(report, f, check, conditions));
    }
    suite
}

/// The findings of one check, as lines, split into those that fail the build and the others.
struct Lines {
    failing: Vec<String>,
    below: Vec<String>,
}

fn split<T>(items: &[T], fails: impl Fn(&T) -> bool, line: impl Fn(&T) -> String) -> Lines {
    let mut l = Lines {
        failing: Vec::new(),
        below: Vec::new(),
    };
    for item in items {
        if fails(item) {
            l.failing.push(line(item));
        } else {
            l.below.push(line(item));
        }
    }
    l
}

fn tampered_line(t: &Tampered) -> String {
    let what = match &t.file {
        Some(p) if t.config => format!("c {p}"),
        Some(p) => p.clone(),
        None => "(database record)".to_string(),
    };
    let mut cells = vec![t.issue.clone(), what, t.package.clone()];
    if let Some(l) = &t.layer {
        cells.push(format!("layer {}", l.label()));
    }
    cells.join("  ")
}

fn update_line(u: &Update) -> String {
    let mut cells = vec![
        u.package.clone(),
        u.available.clone(),
        u.repository.clone(),
        if u.obsoletes {
            format!("obsoletes {}", u.installed)
        } else {
            format!("installed {}", u.installed)
        },
    ];
    if let Some(l) = &u.layer {
        cells.push(format!("layer {}", l.label()));
    }
    cells.join("  ")
}

fn advisory_line(a: &Advisory) -> String {
    let packages: Vec<String> = a
        .packages
        .iter()
        .map(|p| format!("{} -> {}", p.installed, p.fixed))
        .collect();
    let mut cells = vec![a.id.clone(), a.severity.clone(), a.kind.clone(), packages.join(", ")];
    if !a.cves.is_empty() {
        cells.push(a.cves.join(" "));
    }
    cells.join("  ")
}

fn lines(f: &Findings, check: Check, conditions: &[Condition]) -> Lines {
    let all = conditions.is_empty();
    match check {
        Check::Verify => {
            let fails = all || conditions.contains(&Condition::Tampered);
            split(f.tampered.findings(), |_| fails, tampered_line)
        }
        Check::Updates => {
            let fails = all || conditions.contains(&Condition::Updates);
            split(f.updates.findings(), |_| fails, update_line)
        }
        Check::Advisories => {
            let any = all || conditions.contains(&Condition::Advisories);
            let threshold = conditions
                .iter()
                .filter_map(|c| match c {
                    Condition::Severity(r) => Some(*r),
                    _ => None,
                })
                .max();
            split(
                f.advisories.findings(),
                |a| any || threshold.is_some_and(|r| severity_rank(&a.severity) <= r),
                advisory_line,
            )
        }
    }
}

/// A check's result, whatever its finding type, for the parts that do not depend on it.
enum Outcome<'a> {
    NotRun,
    Failed(&'a str),
    Found(&'a str),
}

fn outcome(f: &Findings, check: Check) -> Outcome<'_> {
    fn of<T>(r: &CheckResult<T>) -> Outcome<'_> {
        match r {
            CheckResult::NotRun => Outcome::NotRun,
            CheckResult::Failed(w) => Outcome::Failed(w),
            CheckResult::Found { summary, .. } => Outcome::Found(summary),
        }
    }
    match check {
        Check::Verify => of(&f.tampered),
        Check::Updates => of(&f.updates),
        Check::Advisories => of(&f.advisories),
    }
}

fn check_kind(check: Check) -> &'static str {
    match check {
        Check::Verify => "tampered",
        Check::Updates => "updates",
        Check::Advisories => "advisories",
    }
}

fn title(check: Check) -> &'static str {
    match check {
        Check::Verify => "tampered files (rpm -Va)",
        Check::Updates => "available updates (dnf check-update)",
        Check::Advisories => "applicable advisories (dnf updateinfo list)",
    }
}

fn case(report: &SubjectReport, f: &Findings, check: Check, conditions: &[Condition]) -> TestCase {
    let selected = report.checks.contains(&check);
    let status = match (selected, outcome(f, check)) {
        (false, _) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("{} not selected (--checks)", check.name()));
            s
        }
        (true, Outcome::Failed(why)) => error(check, why),
        (true, Outcome::NotRun) => error(
            check,
            &match &report.open_error {
                Some(e) => format!("the subject could not be opened: {e}"),
                None => "the check stopped before it wrote its document".to_string(),
            },
        ),
        (true, Outcome::Found(summary)) => {
            let l = lines(f, check, conditions);
            if l.failing.is_empty() {
                TestCaseStatus::success()
            } else {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(clean(summary));
                s.set_type(check_kind(check));
                let mut body = l.failing.join("\n");
                body.push('\n');
                s.set_description(clean(&body));
                s
            }
        }
    };
    let mut case = TestCase::new(format!("{}: {}", check.name(), title(check)), status);
    case.set_classname(clean(&report.name));
    if let Some(doc) = report.document(check) {
        case.set_timestamp(doc.start.0.fixed_offset());
        case.set_time(duration(&doc.start, &doc.finished));
    }
    if let (true, Outcome::Found(summary)) = (selected, outcome(f, check)) {
        let l = lines(f, check, conditions);
        let mut out = format!("{summary}\n");
        if !l.below.is_empty() {
            out.push_str("below --fail-on:\n");
            for line in &l.below {
                out.push_str(line);
                out.push('\n');
            }
        }
        case.set_system_out(clean(&out));
    }
    case
}

fn error(check: Check, why: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
    s.set_message(clean(&format!("{} not checked: {why}", check.name())));
    s.set_type("not-checked");
    s.set_description(clean(&format!("{why}\n")));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sarif::hostile;

    #[test]
    fn hostile_strings_give_well_formed_junit_with_a_case_per_check() {
        let (report, findings) = hostile::report();
        let subjects = [(report, findings)];
        // No --fail-on: every check with findings fails; severity=Critical: only the Critical
        // advisory meets it (a condition that does not parse, which the command line never
        // lets through, is ignored).
        for (fail_on, failures) in [
            (vec![], 3),
            (vec!["severity=Critical".to_string(), hostile::NASTY.to_string()], 1),
        ] {
            let run = RunReport {
                subjects: &subjects,
                documents: &[],
                fail_on: &fail_on,
                breaches: &[],
            };
            let xml = render(&run);
            let parsed = Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
            assert_eq!(parsed.test_suites.len(), 1);
            let suite = &parsed.test_suites[0];
            assert_eq!(suite.test_cases.len(), 3);
            assert_eq!(suite.failures, failures, "{xml}");
            assert!(!xml.contains('\u{FFFE}') && !xml.contains('\u{0}') && !xml.contains('\u{1b}'));
            assert!(suite.name.as_str().contains("</x>\"'&"), "markup kept as text");
        }
    }
}
