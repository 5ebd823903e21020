//! OpenVEX documents (https://github.com/openvex/spec, JSON-LD, `@context`
//! `https://openvex.dev/ns/v0.2.0`) as an image's author writes them, read with serde into
//! [`Statement`]s: `statements[]` with `vulnerability` (`name`, `aliases`), `products[]`
//! (`@id` purls, `identifiers.purl`, `subcomponents[]`), `status`, `justification`,
//! `impact_statement`, `timestamp`.
//!
//! The earlier drafts' forms are read too (`vulnerability` as a plain string, `products` as
//! purl strings); a `@context` other than v0.2.0 is a warning and the document is still read.

use super::{package_ref, parse_timestamp, Statement, Status, JUSTIFICATIONS};
use crate::finding::ScanWarning;
use serde::Deserialize;

/// The `@context` this reader is written against.
pub const CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

#[derive(Debug, Deserialize)]
struct Document {
    #[serde(rename = "@context", default)]
    context: Option<Context>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    last_updated: Option<String>,
    statements: Vec<RawStatement>,
}

/// `@context`: one IRI, or a list of them (and objects, which are not ours to read).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Context {
    One(String),
    Many(Vec<serde_json::Value>),
}

impl Context {
    fn iris(&self) -> Vec<&str> {
        match self {
            Context::One(s) => vec![s.as_str()],
            Context::Many(v) => v.iter().filter_map(serde_json::Value::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawStatement {
    vulnerability: Vulnerability,
    #[serde(default)]
    products: Vec<Product>,
    status: String,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    impact_statement: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    last_updated: Option<String>,
}

/// `vulnerability`: an object with a `name` (v0.2.0) or the name alone (earlier drafts).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Vulnerability {
    Name(String),
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        aliases: Vec<String>,
    },
}

/// A product or subcomponent: an object with an `@id` (v0.2.0) or a purl string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Product {
    Purl(String),
    Object {
        #[serde(rename = "@id", default)]
        id: Option<String>,
        #[serde(default)]
        identifiers: Option<Identifiers>,
        #[serde(default)]
        subcomponents: Vec<Product>,
    },
}

#[derive(Debug, Deserialize)]
struct Identifiers {
    #[serde(default)]
    purl: Option<String>,
}

/// Every purl a product names: its own and its subcomponents', depth first. A product with
/// subcomponents is usually the image itself (`pkg:oci/…`): only RPM purls are kept later.
fn purls<'a>(p: &'a Product, out: &mut Vec<&'a str>) {
    match p {
        Product::Purl(s) => out.push(s),
        Product::Object {
            id,
            identifiers,
            subcomponents,
        } => {
            if let Some(id) = id {
                out.push(id);
            }
            if let Some(purl) = identifiers.as_ref().and_then(|i| i.purl.as_deref()) {
                if Some(purl) != id.as_deref() {
                    out.push(purl);
                }
            }
            for s in subcomponents {
                purls(s, out);
            }
        }
    }
}

/// The statements of one document; `Err` when it is not an OpenVEX document at all (nothing
/// of it is used then). Statements that cannot be used are warnings of their own.
pub fn read(bytes: &[u8], source: &str, warnings: &mut Vec<ScanWarning>) -> Result<Vec<Statement>, String> {
    let doc: Document = serde_json::from_slice(bytes).map_err(|e| format!("not an OpenVEX document: {e}"))?;
    let iris = doc.context.as_ref().map(Context::iris).unwrap_or_default();
    if !iris.contains(&CONTEXT) {
        let found = if iris.is_empty() {
            "no @context".to_string()
        } else {
            format!("@context {}", iris.join(", "))
        };
        warnings.push(ScanWarning::new(
            "vex-unknown-context",
            Some(source),
            format!("{found}, not {CONTEXT}: read as OpenVEX v0.2.0"),
        ));
    }
    let document_time = doc.last_updated.as_deref().or(doc.timestamp.as_deref());
    let mut out = Vec::new();
    for (i, s) in doc.statements.iter().enumerate() {
        let problem = |message: String| {
            ScanWarning::new("vex-statement-error", Some(source), format!("statement {i}: {message}"))
        };
        let mut vulnerabilities: Vec<String> = match &s.vulnerability {
            Vulnerability::Name(n) => vec![n.clone()],
            Vulnerability::Object { name, aliases } => name.iter().chain(aliases).cloned().collect(),
        };
        vulnerabilities = vulnerabilities
            .iter()
            .map(|v| v.trim().to_ascii_uppercase())
            .filter(|v| !v.is_empty())
            .collect();
        if vulnerabilities.is_empty() {
            warnings.push(problem("no vulnerability name, not used".into()));
            continue;
        }
        let Some(status) = Status::parse(&s.status) else {
            warnings.push(problem(format!(
                "status {:?} is none of not_affected, affected, fixed, under_investigation; not used",
                s.status
            )));
            continue;
        };
        let mut all = Vec::new();
        for p in &s.products {
            purls(p, &mut all);
        }
        let packages: Vec<_> = all.iter().filter_map(|p| package_ref(p)).collect();
        if packages.is_empty() {
            if status == Status::NotAffected {
                warnings.push(problem(format!(
                    "{} names no RPM package (pkg:rpm/… purl), suppresses nothing",
                    vulnerabilities[0]
                )));
            }
            continue;
        }
        if status == Status::NotAffected {
            if s.justification.is_none() && s.impact_statement.is_none() {
                warnings.push(problem(format!(
                    "not_affected for {} without a justification or impact_statement (the spec requires one), \
                     not used",
                    vulnerabilities[0]
                )));
                continue;
            }
            if let Some(j) = s.justification.as_deref().filter(|j| !JUSTIFICATIONS.contains(j)) {
                warnings.push(problem(format!(
                    "justification {j:?} is not one of OpenVEX's ({}); the statement still counts",
                    JUSTIFICATIONS.join(", ")
                )));
            }
        }
        let time = s.last_updated.as_deref().or(s.timestamp.as_deref()).or(document_time);
        out.push(Statement {
            vulnerabilities,
            packages,
            status,
            justification: s.justification.clone(),
            impact_statement: s.impact_statement.clone(),
            source: source.to_string(),
            timestamp: time.and_then(parse_timestamp),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_ok(doc: &str) -> (Vec<Statement>, Vec<ScanWarning>) {
        let mut w = Vec::new();
        let s = read(doc.as_bytes(), "vex.json", &mut w).unwrap();
        (s, w)
    }

    #[test]
    fn a_v0_2_0_document() {
        let (s, w) = read_ok(
            r#"{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/ubi9-app-2024-001",
  "author": "Example Builds <builds@example.com>",
  "timestamp": "2024-11-20T10:00:00.123456789Z",
  "version": 1,
  "statements": [
    {
      "vulnerability": {"name": "cve-2024-50602", "aliases": ["GHSA-xxxx-yyyy-zzzz"]},
      "products": [
        {"@id": "pkg:oci/app@sha256%3Aabc?repository_url=quay.io/example/app",
         "subcomponents": [{"@id": "pkg:rpm/redhat/expat@2.5.0-2.el9?arch=x86_64"}]}
      ],
      "status": "not_affected",
      "justification": "vulnerable_code_not_in_execute_path",
      "impact_statement": "The application never parses XML."
    },
    {
      "vulnerability": {"name": "CVE-2024-0001"},
      "products": [{"@id": "pkg:rpm/redhat/openssl?epoch=1"}],
      "status": "under_investigation",
      "timestamp": "2024-11-21T10:00:00+01:00"
    }
  ]
}"#,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].vulnerabilities, ["CVE-2024-50602", "GHSA-XXXX-YYYY-ZZZZ"]);
        assert_eq!(s[0].status, Status::NotAffected);
        assert_eq!(s[0].packages.len(), 1, "the oci product itself is no package");
        let c = &s[0].packages[0].component;
        assert_eq!((c.name.as_str(), c.arch.as_deref()), ("expat", Some("x86_64")));
        assert_eq!(
            s[0].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert_eq!(
            s[0].impact_statement.as_deref(),
            Some("The application never parses XML.")
        );
        assert_eq!(s[0].timestamp, crate::csaf::parse_date("2024-11-20T10:00:00Z"));
        assert_eq!(s[1].status, Status::UnderInvestigation);
        assert_eq!(s[1].timestamp, crate::csaf::parse_date("2024-11-21T09:00:00Z"));
        assert!(s[1].packages[0].component.epoch_given);
    }

    #[test]
    fn earlier_drafts_are_read_with_a_warning() {
        let (s, w) = read_ok(
            r#"{"@context": "https://openvex.dev/ns", "statements": [
                {"vulnerability": "CVE-2023-1", "products": ["pkg:rpm/fedora/curl@8.0-1"],
                 "status": "not_affected", "justification": "component_not_present"}]}"#,
        );
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].packages[0].component.name, "curl");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, "vex-unknown-context");
        assert!(w[0].message.contains("https://openvex.dev/ns,"), "{}", w[0].message);
    }

    #[test]
    fn unusable_statements_are_warnings_and_are_left_out() {
        let (s, w) = read_ok(
            r#"{"@context": ["https://openvex.dev/ns/v0.2.0"], "statements": [
                {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:rpm/redhat/a"}], "status": "not_affected"},
                {"vulnerability": {"name": "CVE-2"}, "products": [{"@id": "pkg:rpm/redhat/a"}], "status": "maybe"},
                {"vulnerability": {"name": " "}, "products": [{"@id": "pkg:rpm/redhat/a"}], "status": "fixed"},
                {"vulnerability": {"name": "CVE-3"}, "products": [{"@id": "pkg:npm/left-pad"}], "status": "not_affected",
                 "justification": "component_not_present"},
                {"vulnerability": {"name": "CVE-4"}, "products": [{"@id": "pkg:rpm/redhat/a"}], "status": "not_affected",
                 "justification": "it_is_fine"}
            ]}"#,
        );
        assert_eq!(s.len(), 1, "only the statement with an unknown justification is kept");
        assert_eq!(s[0].vulnerabilities, ["CVE-4"]);
        let kinds: Vec<&str> = w.iter().map(|w| w.kind.as_str()).collect();
        assert_eq!(kinds, ["vex-statement-error"; 5]);
        assert!(
            w[0].message.starts_with("statement 0: not_affected for CVE-1 without"),
            "{}",
            w[0].message
        );
        assert!(w[1].message.contains("\"maybe\""));
        assert!(w[3].message.contains("names no RPM package"));
        assert!(w[4].message.contains("\"it_is_fine\""));
    }

    #[test]
    fn malformed_documents_are_errors() {
        let mut w = Vec::new();
        for bad in [
            "",
            "{",
            r#"{"@context": "https://openvex.dev/ns/v0.2.0"}"#,
            r#"{"statements": [{"vulnerability": {"name": "CVE-1"}, "status": 7}]}"#,
            r#"{"statements": {"a": 1}}"#,
        ] {
            let e = read(bad.as_bytes(), "vex.json", &mut w).unwrap_err();
            assert!(e.starts_with("not an OpenVEX document: "), "{e}");
        }
        // Nesting far beyond serde_json's limit: an error, no stack overflow.
        let mut deep = String::from(r#"{"statements": [{"vulnerability": "CVE-1", "status": "fixed", "products": ["#);
        for _ in 0..100_000 {
            deep.push_str(r#"{"subcomponents": ["#);
        }
        assert!(read(deep.as_bytes(), "vex.json", &mut w).is_err());
    }
}
