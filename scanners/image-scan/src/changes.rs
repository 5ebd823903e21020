//! What changed since a subject's previous report (`--state`): the `Changes` section of the
//! combined document, its one-line summary (a mail's subject) and its lines for people. This
//! module owns the comparison; [`crate::state`] finds the previous report.
//!
//! Both reports are combined documents (the previous one read back from the state
//! directory), so the comparison reads the same keys the README documents:
//!
//! - updates: each result of the `updates` part, by `Package` and `Available`;
//! - advisories: each of `Vulnerabilities`, by `Advisory`;
//! - tampered files: each result of the `verify` part, by `File` (or the record's
//!   `Package`) and `Issue`.
//!
//! A kind is compared only when its check ran both times: a check that could not run is
//! listed under `Not Compared`, never read as "everything resolved". The image changed when
//! its config or manifest digest did; otherwise a change comes from the world around it
//! (the repositories' metadata: new updates and advisories).
//!
//! ```text
//! "Changes": {
//!   "First Scan": bool, "Previous Scan": time saved | null, "Previous Record": its id | null,
//!   "Compared By": "reference" | "digest" | null,
//!   "Image Changed": bool, "Previous Config Digest", "Previous Manifest Digest",
//!   "Cause": "first scan" | "image" | "repositories" | "none",
//!   "Summary": "2 new advisories (1 Critical), 1 new update",
//!   "New Updates", "Resolved Updates": [the update's result, as the updates part has it],
//!   "New Advisories", "Resolved Advisories": [{"Title", "Severity", "Custom"}],
//!   "New Tampered Files", "Resolved Tampered Files": [the verify part's result],
//!   "Not Compared": ["updates: the check did not run this time", ...]
//! }
//! ```

use crate::findings::{count, SEVERITIES};
use crate::state::Previous;
use serde_json::{json, Map, Value};

/// One finding, as both reports hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    key: String,
    /// How a person reads it: `curl.x86_64 7.29.0-59.el7_9.1 (demo)`.
    pub label: String,
    pub severity: String,
    /// The finding as the report holds it.
    pub entry: Value,
}

/// What one kind of finding gained and lost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    pub new: Vec<Item>,
    pub resolved: Vec<Item>,
}

impl Delta {
    fn between(before: &[Item], now: &[Item]) -> Delta {
        // Sets of keys: a report can hold thousands of findings.
        let keys = |l: &[Item]| {
            l.iter()
                .map(|i| i.key.clone())
                .collect::<std::collections::HashSet<String>>()
        };
        let (had, has) = (keys(before), keys(now));
        Delta {
            new: now.iter().filter(|i| !had.contains(&i.key)).cloned().collect(),
            resolved: before.iter().filter(|i| !has.contains(&i.key)).cloned().collect(),
        }
    }
    fn is_empty(&self) -> bool {
        self.new.is_empty() && self.resolved.is_empty()
    }
}

/// The kinds of findings compared, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Updates,
    Advisories,
    Tampered,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Updates, Kind::Advisories, Kind::Tampered];

    fn check(self) -> &'static str {
        match self {
            Kind::Updates => "updates",
            Kind::Advisories => "advisories",
            Kind::Tampered => "verify",
        }
    }
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Kind::Updates => ("New Updates", "Resolved Updates"),
            Kind::Advisories => ("New Advisories", "Resolved Advisories"),
            Kind::Tampered => ("New Tampered Files", "Resolved Tampered Files"),
        }
    }
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Kind::Updates => ("update", "updates"),
            Kind::Advisories => ("advisory", "advisories"),
            Kind::Tampered => ("tampered file", "tampered files"),
        }
    }
}

/// What changed for one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Changes {
    pub first_scan: bool,
    pub previous_scan: Option<String>,
    /// The previous record's id: what this change is relative to.
    pub previous_record: Option<String>,
    pub compared_by: Option<&'static str>,
    pub image_changed: bool,
    pub previous_config: Option<String>,
    pub previous_manifest: Option<String>,
    /// Each kind compared, with what it gained and lost.
    pub deltas: Vec<(Kind, Delta)>,
    pub not_compared: Vec<String>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn ran(doc: &Value, check: &str) -> Option<bool> {
    doc.pointer(&format!("/Scan Results/Checks/{check}/Ran"))
        .and_then(Value::as_bool)
}

fn items(doc: &Value, kind: Kind) -> Vec<Item> {
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    match kind {
        Kind::Advisories => list(doc.get("Vulnerabilities"))
            .into_iter()
            .map(|v| {
                let c = v.get("Custom").cloned().unwrap_or_default();
                let id = text(&c, "Advisory");
                let severity = text(&v, "Severity");
                Item {
                    key: id.clone(),
                    label: format!("{id} ({}): {}", severity_or_unknown(&severity), text(&v, "Title")),
                    severity,
                    entry: v,
                }
            })
            .collect(),
        Kind::Updates | Kind::Tampered => {
            list(doc.pointer(&format!("/Scan Results/Checks/{}/Document/Results", kind.check())))
                .into_iter()
                .map(|r| r.get("Custom").cloned().unwrap_or(r))
                .map(|c| {
                    let (key, label) = if kind == Kind::Updates {
                        let (p, a) = (text(&c, "Package"), text(&c, "Available"));
                        (format!("{p}\u{0}{a}"), format!("{p} {a} ({})", text(&c, "Repository")))
                    } else {
                        let what = match c.get("File").and_then(Value::as_str) {
                            Some(f) => f.to_string(),
                            None => format!("record of {}", text(&c, "Package")),
                        };
                        let issue = text(&c, "Issue");
                        (format!("{what}\u{0}{issue}"), format!("{issue} {what}"))
                    };
                    Item {
                        key,
                        label,
                        severity: String::new(),
                        entry: c,
                    }
                })
                .collect()
        }
    }
}

fn severity_or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown severity"
    } else {
        s
    }
}

fn digest(doc: &Value, key: &str) -> Option<String> {
    doc.get("Image")?.get(key)?.as_str().map(str::to_string)
}

impl Changes {
    /// What changed from `previous` (none: the subject's first scan) to `now`.
    pub fn between(previous: Option<&Previous>, now: &Value) -> Changes {
        let Some(p) = previous else {
            return Changes {
                first_scan: true,
                previous_scan: None,
                previous_record: None,
                compared_by: None,
                image_changed: false,
                previous_config: None,
                previous_manifest: None,
                deltas: Vec::new(),
                not_compared: Vec::new(),
            };
        };
        let before = &p.report;
        let (pc, pm) = (digest(before, "Config Digest"), digest(before, "Manifest Digest"));
        let (nc, nm) = (digest(now, "Config Digest"), digest(now, "Manifest Digest"));
        let mut deltas = Vec::new();
        let mut not_compared = Vec::new();
        for kind in Kind::ALL {
            let c = kind.check();
            match (ran(before, c), ran(now, c)) {
                (Some(true), Some(true)) => {
                    deltas.push((kind, Delta::between(&items(before, kind), &items(now, kind))))
                }
                (None, None) => {}
                (_, Some(true)) => not_compared.push(format!("{c}: the check did not run the previous time")),
                (_, Some(false)) => not_compared.push(format!("{c}: the check could not run this time")),
                (_, None) => not_compared.push(format!("{c}: the check was not selected this time")),
            }
        }
        Changes {
            first_scan: false,
            previous_scan: Some(p.saved.clone()),
            previous_record: p.id.clone(),
            compared_by: Some(p.found_by),
            image_changed: pc != nc || pm != nm,
            previous_config: pc,
            previous_manifest: pm,
            deltas,
            not_compared,
        }
    }

    /// Whether anything is worth telling under `--notify changes` (a first scan is).
    pub fn any(&self) -> bool {
        self.first_scan || self.image_changed || self.deltas.iter().any(|(_, d)| !d.is_empty())
    }

    pub fn delta(&self, kind: Kind) -> Option<&Delta> {
        self.deltas.iter().find(|(k, _)| *k == kind).map(|(_, d)| d)
    }

    fn cause(&self) -> &'static str {
        if self.first_scan {
            "first scan"
        } else if self.image_changed {
            "image"
        } else if self.any() {
            "repositories"
        } else {
            "none"
        }
    }

    /// `image rebuilt; 2 new advisories (1 Critical), 1 new update, 1 update resolved`;
    /// `first scan`; `no changes`.
    pub fn summary(&self) -> String {
        if self.first_scan {
            return "first scan".into();
        }
        let mut parts = Vec::new();
        for (kind, d) in &self.deltas {
            let (one, many) = kind.words();
            if !d.new.is_empty() {
                let mut s = format!("{} new {}", d.new.len(), if d.new.len() == 1 { one } else { many });
                if *kind == Kind::Advisories {
                    let by: Vec<String> = SEVERITIES
                        .iter()
                        .map(|sev| {
                            (
                                sev,
                                d.new.iter().filter(|i| i.severity.eq_ignore_ascii_case(sev)).count(),
                            )
                        })
                        .filter(|(_, n)| *n > 0)
                        .map(|(sev, n)| format!("{n} {sev}"))
                        .collect();
                    if !by.is_empty() {
                        s.push_str(&format!(" ({})", by.join(", ")));
                    }
                }
                parts.push(s);
            }
        }
        for (kind, d) in &self.deltas {
            let (one, many) = kind.words();
            if !d.resolved.is_empty() {
                parts.push(format!("{} resolved", count(d.resolved.len(), one, many)));
            }
        }
        let findings = if parts.is_empty() {
            "no changes".to_string()
        } else {
            parts.join(", ")
        };
        if self.image_changed {
            format!("image rebuilt; {findings}")
        } else {
            findings
        }
    }

    /// The `Changes` section.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("First Scan".into(), json!(self.first_scan));
        m.insert("Previous Scan".into(), json!(self.previous_scan));
        m.insert("Previous Record".into(), json!(self.previous_record));
        m.insert("Compared By".into(), json!(self.compared_by));
        m.insert("Image Changed".into(), json!(self.image_changed));
        m.insert("Previous Config Digest".into(), json!(self.previous_config));
        m.insert("Previous Manifest Digest".into(), json!(self.previous_manifest));
        m.insert("Cause".into(), json!(self.cause()));
        m.insert("Summary".into(), json!(self.summary()));
        for (kind, d) in &self.deltas {
            let (new, resolved) = kind.keys();
            let entries = |l: &[Item]| Value::Array(l.iter().map(|i| i.entry.clone()).collect());
            m.insert(new.into(), entries(&d.new));
            m.insert(resolved.into(), entries(&d.resolved));
        }
        m.insert("Not Compared".into(), json!(self.not_compared));
        Value::Object(m)
    }
}

/// The lines a person reads about a combined document's `Changes` (none without one):
/// `Changes since 2026-…: 1 new update`, then `+ …` / `- …` per finding.
pub fn lines(doc: &Value) -> Vec<String> {
    let Some(c) = doc.get("Changes") else {
        return Vec::new();
    };
    let summary = text(c, "Summary");
    if c.get("First Scan").and_then(Value::as_bool) == Some(true) {
        return vec!["Changes: first scan (nothing to compare with)".into()];
    }
    let mut out = vec![format!("Changes since {}: {summary}", text(c, "Previous Scan"))];
    for kind in Kind::ALL {
        let (new, resolved) = kind.keys();
        let (one, _) = kind.words();
        for (key, sign) in [(new, "+"), (resolved, "-")] {
            let now = items_of_section(c, key, kind);
            for label in now {
                out.push(format!("  {sign} {one} {label}"));
            }
        }
    }
    for n in c.get("Not Compared").and_then(Value::as_array).into_iter().flatten() {
        out.push(format!("  not compared: {}", n.as_str().unwrap_or_default()));
    }
    out
}

/// The labels of one list of a `Changes` section.
fn items_of_section(c: &Value, key: &str, kind: Kind) -> Vec<String> {
    let entries = c.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    // Read back through the same labelling as the comparison: wrap the entries as a
    // document holds them.
    let doc = match kind {
        Kind::Advisories => json!({ "Vulnerabilities": entries }),
        _ => {
            let results: Vec<Value> = entries.into_iter().map(|e| json!({ "Custom": e })).collect();
            let mut d = json!({});
            d["Scan Results"]["Checks"][kind.check()]["Document"]["Results"] = Value::Array(results);
            d
        }
    };
    items(&doc, kind).into_iter().map(|i| i.label).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(config: &str, updates: &[(&str, &str)], advisories: &[(&str, &str)], files: &[&str]) -> Value {
        let results = |v: Vec<Value>| -> Value { v.into_iter().map(|c| json!({ "Custom": c })).collect() };
        json!({
            "Image": { "Config Digest": config, "Manifest Digest": format!("m{config}") },
            "Scan Results": { "Checks": {
                "verify": { "Ran": true, "Document": { "Results": results(files.iter().map(|f| json!({"File": f, "Issue": "S.5....T.", "Package": "p"})).collect()) } },
                "updates": { "Ran": true, "Document": { "Results": results(updates.iter().map(|(p, a)| json!({"Package": p, "Available": a, "Repository": "r"})).collect()) } },
                "advisories": { "Ran": true, "Document": {} },
            }},
            "Vulnerabilities": advisories.iter().map(|(id, sev)| json!({"Title": id, "Severity": sev, "Custom": {"Advisory": id}})).collect::<Vec<_>>(),
        })
    }

    fn prev(report: Value) -> Previous {
        Previous {
            report,
            saved: "then".into(),
            id: Some("r1".into()),
            found_by: "reference",
        }
    }

    #[test]
    fn new_and_resolved_findings_of_an_unchanged_image() {
        let before = doc("c1", &[("curl.x86_64", "1")], &[("A-1", "Low")], &["/usr/bin/curl"]);
        let now = doc(
            "c1",
            &[("curl.x86_64", "1"), ("bash.x86_64", "2")],
            &[("A-2", "Critical"), ("A-3", "Important")],
            &["/usr/bin/curl"],
        );
        let c = Changes::between(Some(&prev(before)), &now);
        assert!(c.any() && !c.image_changed && !c.first_scan);
        assert_eq!(
            c.summary(),
            "1 new update, 2 new advisories (1 Critical, 1 Important), 1 advisory resolved"
        );
        let v = c.to_value();
        assert_eq!(v["Cause"], "repositories");
        assert_eq!(v["New Updates"][0]["Package"], "bash.x86_64");
        assert_eq!(v["Resolved Advisories"][0]["Custom"]["Advisory"], "A-1");
        assert_eq!(v["New Tampered Files"], json!([]));
        let l = lines(&json!({ "Changes": v }));
        assert_eq!(
            l[0],
            "Changes since then: 1 new update, 2 new advisories (1 Critical, 1 Important), 1 advisory resolved"
        );
        assert!(l.contains(&"  + update bash.x86_64 2 (r)".to_string()), "{l:?}");
        assert!(l.contains(&"  - advisory A-1 (Low): A-1".to_string()), "{l:?}");
    }

    #[test]
    fn nothing_changed_and_a_rebuilt_image() {
        let a = doc("c1", &[("curl.x86_64", "1")], &[], &[]);
        let c = Changes::between(Some(&prev(a.clone())), &a);
        assert!(!c.any());
        assert_eq!(c.summary(), "no changes");
        let b = doc("c2", &[("curl.x86_64", "1")], &[], &[]);
        let c = Changes::between(Some(&prev(a)), &b);
        assert!(c.any());
        assert_eq!(c.summary(), "image rebuilt; no changes");
        assert_eq!(c.to_value()["Cause"], "image");
        assert!(Changes::between(None, &b).any());
    }

    #[test]
    fn a_check_that_did_not_run_is_not_compared() {
        let before = doc("c1", &[("curl.x86_64", "1")], &[], &[]);
        let mut now = doc("c1", &[], &[], &[]);
        now["Scan Results"]["Checks"]["updates"]["Ran"] = json!(false);
        let c = Changes::between(Some(&prev(before)), &now);
        assert!(c.delta(Kind::Updates).is_none());
        assert_eq!(c.not_compared, vec!["updates: the check could not run this time"]);
        assert!(!c.any());
        // A hostile or hand-edited previous report: wrong types everywhere, no panic.
        let junk = json!({ "Image": 3, "Scan Results": { "Checks": { "updates": { "Ran": true, "Document": { "Results": [1, "x", null] } } } }, "Vulnerabilities": {"a": 1} });
        let c = Changes::between(Some(&prev(junk)), &doc("c1", &[("x", "1")], &[], &[]));
        assert!(c.image_changed);
        let _ = lines(&json!({ "Changes": c.to_value() }));
    }
}
