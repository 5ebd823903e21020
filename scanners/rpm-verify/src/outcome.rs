//! The result document's parts for a verification: the seed's `Scan Results`
//! (`rpmVa_issues`, one object per reported file), the `Summary` sentence, and atomic's
//! `Results` and `Custom` so that `atomic scan` prints something readable.
//!
//! File names are bytes in an image and JSON strings must be UTF-8, so a name is written as
//! its UTF-8 text where it is valid, with each byte that is not as `\xNN` (two lowercase hex
//! digits) and a backslash as `\\`: the original bytes can always be recovered, and ordinary
//! names are unchanged.

use crate::policy::Policy;
use crate::report::{FileFinding, PackageInfo, Report};
use atomic_protocol::Outcome;
use serde_json::{json, Map, Value};

/// The seed's `Scan Type`.
pub const SCAN_TYPE_LABEL: &str = "RPM Verify scan for finding tampered files.";

/// The seed's summary of a clean image.
pub const INTACT: &str = "Libraries and binaries in the image are intact.";

/// A file name for JSON: valid UTF-8 kept, other bytes `\xNN`, backslash `\\`.
pub fn display_path(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for chunk in path.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The seed's `rpm` object.
pub fn rpm_object(p: &PackageInfo) -> Value {
    json!({
        "VENDOR": p.vendor,
        "PACKAGER": p.packager,
        "BUILDHOST": p.buildhost,
        "RPM": p.nvra,
        "SIGNATURE": p.signature,
    })
}

fn issue_object(report: &Report, f: &FileFinding) -> Value {
    let mut o = Map::new();
    o.insert("config".into(), Value::Bool(f.is_config()));
    o.insert("issue".into(), Value::String(f.columns()));
    o.insert("filename".into(), Value::String(display_path(&f.path)));
    if let Some(p) = report.packages.get(f.package) {
        o.insert("rpm".into(), rpm_object(p));
    }
    let notes = f.notes();
    if !notes.is_empty() {
        o.insert("note".into(), Value::String(notes.join("; ")));
    }
    if let Some(layer) = &f.layer {
        o.insert("layer".into(), layer.clone());
    }
    Value::Object(o)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The `Summary` sentence.
pub fn summary(files: &[&FileFinding], report: &Report) -> String {
    let mut parts = Vec::new();
    if !files.is_empty() {
        let mut packages: Vec<usize> = files.iter().map(|f| f.package).collect();
        packages.sort_unstable();
        packages.dedup();
        parts.push(format!(
            "RPM verify found {} in {}",
            plural(
                files.len(),
                "modified, replaced or missing file",
                "modified, replaced or missing files"
            ),
            plural(packages.len(), "package", "packages")
        ));
    }
    if !report.tampered_headers.is_empty() {
        parts.push(format!(
            "{} no longer {} the digest recorded at install time (the RPM database was modified)",
            plural(report.tampered_headers.len(), "package header", "package headers"),
            if report.tampered_headers.len() == 1 {
                "matches"
            } else {
                "match"
            }
        ));
    }
    if !report.bad_packages.is_empty() {
        parts.push(format!(
            "{} could not be verified",
            plural(report.bad_packages.len(), "package", "packages")
        ));
    }
    if parts.is_empty() {
        INTACT.to_string()
    } else {
        let mut s = parts.join("; ");
        s.push('.');
        s
    }
}

/// The whole outcome of a scan under a policy.
pub fn outcome(report: &Report, policy: Policy, scan_name: &str) -> Outcome {
    let kept: Vec<&FileFinding> = report.files.iter().filter(|f| policy.keeps(f)).collect();
    let issues: Vec<Value> = kept.iter().map(|f| issue_object(report, f)).collect();

    let mut results = Map::new();
    results.insert("rpmVa_issues".into(), Value::Array(issues));
    let headers: Vec<Value> = report
        .tampered_headers
        .iter()
        .map(|h| {
            json!({
                "issue": format!("{} does not match the header", h.tag),
                "header_number": h.package.header_number,
                "recorded": h.recorded,
                "computed": h.computed,
                "rpm": rpm_object(&h.package),
            })
        })
        .collect();
    results.insert("rpmdb_header_issues".into(), Value::Array(headers));
    let bad: Vec<Value> = report
        .bad_packages
        .iter()
        .map(|b| {
            json!({
                "header_number": b.header_number,
                "RPM": b.nvra,
                "error": b.message,
            })
        })
        .collect();
    results.insert("unverified_packages".into(), Value::Array(bad));
    if !report.warnings.is_empty() {
        results.insert("warnings".into(), json!(report.warnings));
    }

    let summary = summary(&kept, report);
    let mut atomic_results: Vec<Value> = kept
        .iter()
        .map(|f| {
            let package = report.packages.get(f.package).map_or("", |p| p.nvra.as_str());
            let mut o = json!({ "File": display_path(&f.path), "Issue": f.columns(), "Package": package, "Config": f.is_config() });
            if let Some(layer) = &f.layer {
                o["Layer"] = layer.clone();
            }
            o
        })
        .collect();
    atomic_results.extend(report.tampered_headers.iter().map(|h| {
        json!({ "Package": h.package.nvra, "Issue": format!("RPM database header modified: {} does not match", h.tag) })
    }));
    atomic_results.extend(report.bad_packages.iter().map(|b| {
        json!({ "Package": b.nvra.clone().unwrap_or_else(|| format!("header #{}", b.header_number.unwrap_or(0))), "Issue": format!("not verified: {}", b.message) })
    }));

    let mut out = Outcome::new(Value::Object(results), summary.clone());
    out.has_findings = !atomic_results.is_empty();
    out.results = atomic_results;
    out.custom = Some(json!({
        "Summary": summary,
        "Scan type": scan_name,
        "Database": report.database,
        "Packages verified": report.packages.len(),
        "Files verified": report.files_verified,
        "Files reported": kept.len(),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reversible_and_plain_ones_unchanged() {
        assert_eq!(display_path(b"/usr/bin/ls"), "/usr/bin/ls");
        assert_eq!(display_path("/tmp/é".as_bytes()), "/tmp/é");
        assert_eq!(display_path(b"/a\xff\\b"), "/a\\xff\\\\b");
    }
}
