//! The combined document of one subject: the shape atomic reads (so `atomic scan` prints its
//! summary), with each check's document exactly as that scanner writes it.
//!
//! ```text
//! {
//!   "Scanner": "image-scan",
//!   "Successful": "true" | "false",     every selected check ran
//!   "Time", "Start Time", "Finished Time", "Scan Type": "Combined image scan",
//!   "CVE Feed Last Updated",            the advisory check's value, or "NA"
//!   "UUID", "Image" (image subjects only), "Summary": the summary line,
//!   "Error": why checks could not run  (only when one could not),
//!   "Scan Results": {
//!     "Subject": reference or directory,
//!     "Checks": { "verify" | "updates" | "advisories": {
//!         "Ran": bool, "Findings": n, "Summary": text,
//!         "Document": that scanner's own result document } },
//!     "Policy": { "Fail On": [conditions], "Breaches": [conditions met] }
//!   },
//!   "Vulnerabilities": the advisory check's list, as it writes it,
//!   "Changes": what changed since the previous report (`--state` only; [`crate::changes`]),
//!   "Notifications": [{"Channel", "Subject", "Delivered", "To" | "Error"}]
//!                                       (`--state` with a notification only; [`crate::rescan`])
//! }
//! ```
//! Several subjects: a JSON array of these documents, in the order given.

use crate::findings::Findings;
use crate::run::SubjectReport;
use atomic_protocol::document::Verdict;
use serde_json::{json, Map, Value};

pub const SCAN_TYPE: &str = "Combined image scan";

pub fn document(report: &SubjectReport, findings: &Findings, fail_on: &[String], breaches: &[String]) -> Value {
    let mut checks = Map::new();
    let mut errors = Vec::new();
    if let Some(e) = &report.open_error {
        errors.push(e.clone());
    }
    let mut feed = "NA".to_string();
    let mut vulnerabilities = Value::Null;
    for (check, doc) in &report.documents {
        let value = doc.to_value();
        let n = match check {
            crate::options::Check::Verify => findings.tampered.findings().len(),
            crate::options::Check::Updates => findings.updates.findings().len(),
            crate::options::Check::Advisories => findings.advisories.findings().len(),
        };
        if let Verdict::Failed(f) = &doc.verdict {
            if report.open_error.is_none() {
                errors.push(format!("{}: {f}", check.name()));
            }
        }
        if *check == crate::options::Check::Advisories {
            if let Some(f) = value.get("CVE Feed Last Updated") {
                feed = f.as_str().unwrap_or("NA").to_string();
            }
            vulnerabilities = value.get("Vulnerabilities").cloned().unwrap_or(Value::Null);
        }
        checks.insert(
            check.name().to_string(),
            json!({ "Ran": doc.successful(), "Findings": n, "Summary": doc.summary(), "Document": value }),
        );
    }
    let start = report.start.format();
    let mut m = Map::new();
    m.insert("Scanner".into(), json!("image-scan"));
    m.insert(
        "Successful".into(),
        json!(if report.complete() { "true" } else { "false" }),
    );
    m.insert("Time".into(), json!(start));
    m.insert("Start Time".into(), json!(start));
    m.insert("Finished Time".into(), json!(report.finished.format()));
    m.insert("Scan Type".into(), json!(SCAN_TYPE));
    m.insert("CVE Feed Last Updated".into(), json!(feed));
    m.insert("UUID".into(), json!(report.uuid));
    if let Some(i) = &report.image {
        m.insert("Image".into(), i.clone());
    }
    m.insert("Summary".into(), json!(summary(report, findings)));
    if !errors.is_empty() {
        m.insert("Error".into(), json!(errors.join("; ")));
    }
    m.insert(
        "Scan Results".into(),
        json!({
            "Subject": report.name,
            "Checks": checks,
            "Policy": { "Fail On": fail_on, "Breaches": breaches },
        }),
    );
    if !vulnerabilities.is_null() {
        m.insert("Vulnerabilities".into(), vulnerabilities);
    }
    Value::Object(m)
}

/// `centos:7 (sha256:…): 10 updates, 2 advisories (1 Critical), 1 tampered file`.
pub fn summary(report: &SubjectReport, findings: &Findings) -> String {
    let id = report
        .image
        .as_ref()
        .and_then(|i| i.get("Config Digest"))
        .and_then(Value::as_str)
        .map(|d| format!(" ({})", crate::findings::short_digest(d)))
        .unwrap_or_default();
    match &report.open_error {
        Some(e) => format!("{}{id}: not scanned: {e}", report.name),
        None => format!("{}{id}: {}", report.name, findings.summary_line()),
    }
}

/// The documents of a run: one object for one subject, an array for several.
pub fn render(docs: &[Value]) -> String {
    let v = match docs {
        [one] => one.clone(),
        many => Value::Array(many.to_vec()),
    };
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}
