//! The human summary (`--format table`): the same [`ResultDocument`]s the JSON printer
//! writes, laid out the way `atomic scan` prints a summary — a heading per subject, the one
//! sentence `Summary`, then the issues (`Vulnerabilities`) or the results (`Results`) and the
//! `Custom` tree, indented as atomic indents them.

use crate::document::{ResultDocument, Verdict};
use serde_json::Value;
use std::io::{self, Write};

/// Print every document, a blank line between subjects.
pub fn print(out: &mut dyn Write, docs: &[ResultDocument]) -> io::Result<()> {
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        print_one(out, doc)?;
    }
    Ok(())
}

fn print_one(out: &mut dyn Write, doc: &ResultDocument) -> io::Result<()> {
    let status = if doc.successful() { "scanned" } else { "NOT SCANNED" };
    writeln!(
        out,
        "{} ({}): {status} — {}",
        doc.uuid,
        doc.source.display(),
        doc.scan_type()
    )?;
    writeln!(out, "   {}", doc.summary())?;
    let Verdict::Scanned(outcome) = &doc.verdict else {
        return Ok(());
    };
    if let Some(custom) = &outcome.custom {
        tree(out, custom, 3)?;
    }
    if !outcome.vulnerabilities.is_empty() {
        writeln!(
            out,
            "   The following issues were found ({}):",
            outcome.vulnerabilities.len()
        )?;
        for v in &outcome.vulnerabilities {
            writeln!(out, "     [{}] {}", v.severity, v.title)?;
            tree(out, &v.custom, 7)?;
        }
    } else if !outcome.results.is_empty() {
        writeln!(out, "   The following results were found ({}):", outcome.results.len())?;
        for r in &outcome.results {
            writeln!(out, "     -")?;
            tree(out, r, 7)?;
        }
    }
    Ok(())
}

/// A JSON tree as atomic's `_output_custom` prints it: `key: value` for scalars, `key:` and
/// two more spaces of indent for objects and lists.
fn tree(out: &mut dyn Write, value: &Value, indent: usize) -> io::Result<()> {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) | Value::Array(_) => {
                        writeln!(out, "{pad}{k}:")?;
                        tree(out, v, indent + 2)?;
                    }
                    scalar => writeln!(out, "{pad}{k}: {}", scalar_text(scalar))?,
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => tree(out, item, indent + 2)?,
                    scalar => writeln!(out, "{pad}{}", scalar_text(scalar))?,
                }
            }
        }
        Value::Null => {}
        scalar => writeln!(out, "{pad}{}", scalar_text(scalar))?,
    }
    Ok(())
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::ScanTime;
    use crate::{Outcome, ScanFailure, Vulnerability};
    use serde_json::json;

    fn doc(uuid: &str, label: &str, verdict: Verdict) -> ResultDocument {
        let now = ScanTime::now();
        ResultDocument {
            scanner: "scanner-test".into(),
            folder: format!("_{uuid}").into(),
            source: format!("/{uuid}").into(),
            uuid: uuid.into(),
            scan_type_label: label.into(),
            start: now,
            finished: now,
            verdict,
            image: None,
            extra_files: Vec::new(),
        }
    }

    #[test]
    fn prints_issues_results_custom_and_failures() {
        let mut o = Outcome::new(json!({}), "1 package needs an update.");
        o.custom = Some(json!({"OS Release": "CentOS Linux 7 (Core)"}));
        o.vulnerabilities.push(Vulnerability {
            title: "curl".into(),
            severity: "Moderate".into(),
            custom: json!({"Installed": "7.29.0-59.el7", "Available": ["7.29.0-60.el7"]}),
        });
        let mut r = Outcome::new(json!({}), "1 file modified.");
        r.results.push(json!({"filename": "/usr/bin/x", "issue": "S.5......"}));
        let docs = vec![
            doc("a", "Image Scan", Verdict::Scanned(o)),
            doc("b", "Verify", Verdict::Scanned(r)),
            doc(
                "c",
                "Test scan",
                Verdict::Failed(ScanFailure("no RPM database found".into())),
            ),
        ];
        let mut out = Vec::new();
        print(&mut out, &docs).unwrap();
        let text = String::from_utf8(out).unwrap();
        let expected = "\
a (/a): scanned — Image Scan
   1 package needs an update.
   OS Release: CentOS Linux 7 (Core)
   The following issues were found (1):
     [Moderate] curl
       Available:
         7.29.0-60.el7
       Installed: 7.29.0-59.el7

b (/b): scanned — Verify
   1 file modified.
   The following results were found (1):
     -
       filename: /usr/bin/x
       issue: S.5......

c (/c): NOT SCANNED — Test scan
   Not scanned: no RPM database found
";
        assert_eq!(text, expected);
    }
}
