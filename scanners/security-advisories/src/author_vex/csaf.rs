//! CSAF 2.0 VEX documents (`document.category = "csaf_vex"`) as an image's author writes
//! them, turned into [`Statement`]s: one per CVE and product id of `product_status`
//! (`known_not_affected`, `known_affected`, `fixed`, `under_investigation`).
//!
//! The document is read by the same serde model as Red Hat's ([`crate::csaf::document`]) and
//! its product ids resolved by the same product tree index ([`crate::csaf::products`]): a
//! joint `<product>:<component>` id through its relationship, or a component's own id
//! (`product_version` branch or `full_product_names` entry) to its purl, or to its name when it
//! has none. A `known_not_affected` product's justification is the `flags[].label` naming it
//! (or a product group holding it), its statement the `threats[category=impact].details`.

use super::{parse_timestamp, PackageRef, Statement, Status, JUSTIFICATIONS};
use crate::csaf::document::{self, VexDocument, Vulnerability};
use crate::csaf::products::ProductIndex;
use crate::finding::ScanWarning;

/// The label of the flag that names `id`, directly or through a product group.
fn justification<'d>(doc: &'d VexDocument, vuln: &'d Vulnerability, id: &str) -> Option<&'d str> {
    let groups: Vec<&str> = doc
        .product_tree
        .product_groups
        .iter()
        .filter(|g| g.product_ids.iter().any(|p| p == id))
        .map(|g| g.group_id.as_str())
        .collect();
    vuln.flags
        .iter()
        .find(|f| f.product_ids.iter().any(|p| p == id) || f.group_ids.iter().any(|g| groups.contains(&g.as_str())))
        .map(|f| f.label.as_str())
}

/// The details of the impact threat that names `id`.
fn impact<'d>(vuln: &'d Vulnerability, id: &str) -> Option<&'d str> {
    vuln.threats
        .iter()
        .find(|t| t.category == "impact" && t.product_ids.iter().any(|p| p == id))
        .and_then(|t| t.details.as_deref())
}

/// The statements of one document; `Err` when it is not a CSAF VEX document (nothing of it
/// is used then).
pub fn read(bytes: &[u8], source: &str, warnings: &mut Vec<ScanWarning>) -> Result<Vec<Statement>, String> {
    let doc = document::parse(bytes).map_err(|e| e.to_string())?;
    let index = ProductIndex::of(&doc.product_tree);
    if index.truncated {
        return Err(format!(
            "more than {} product tree branches",
            crate::csaf::products::MAX_BRANCHES
        ));
    }
    let time = doc
        .document
        .tracking
        .as_ref()
        .and_then(|t| t.current_release_date.as_deref())
        .and_then(parse_timestamp);
    let mut out = Vec::new();
    for (i, vuln) in doc.vulnerabilities.iter().enumerate() {
        let problem = |m: String| {
            ScanWarning::new(
                "vex-statement-error",
                Some(source),
                format!("vulnerabilities[{i}]: {m}"),
            )
        };
        let Some(cve) = vuln
            .cve
            .as_deref()
            .map(|c| c.trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
        else {
            warnings.push(problem("no cve, not used".into()));
            continue;
        };
        let ps = &vuln.product_status;
        let lists = [
            (Status::NotAffected, &ps.known_not_affected),
            (Status::Affected, &ps.known_affected),
            (Status::Fixed, &ps.fixed),
            (Status::UnderInvestigation, &ps.under_investigation),
        ];
        for (status, ids) in lists {
            for id in ids {
                let Some(component) = index.component(id) else {
                    if status == Status::NotAffected {
                        warnings.push(problem(format!(
                            "{cve}: known_not_affected product {id:?} is no RPM component of the product tree, \
                             suppresses nothing"
                        )));
                    }
                    continue;
                };
                let justification = justification(&doc, vuln, id).map(str::to_string);
                let impact_statement = impact(vuln, id).map(str::to_string);
                if status == Status::NotAffected {
                    if justification.is_none() && impact_statement.is_none() {
                        warnings.push(problem(format!(
                            "{cve}: known_not_affected product {id:?} has neither a flag nor an impact threat \
                             (the VEX profile requires one), not used"
                        )));
                        continue;
                    }
                    if let Some(j) = justification.as_deref().filter(|j| !JUSTIFICATIONS.contains(j)) {
                        warnings.push(problem(format!(
                            "{cve}: flag label {j:?} is not one of CSAF's ({}); the statement still counts",
                            JUSTIFICATIONS.join(", ")
                        )));
                    }
                }
                out.push(Statement {
                    vulnerabilities: vec![cve.clone()],
                    packages: vec![PackageRef {
                        id: id.clone(),
                        component: component.clone(),
                    }],
                    status,
                    justification,
                    impact_statement,
                    source: source.to_string(),
                    timestamp: time,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpmdb::version::Evr;

    const DOC: &str = r#"{
  "document": {
    "category": "csaf_vex",
    "csaf_version": "2.0",
    "publisher": {"category": "vendor", "name": "Example Builds", "namespace": "https://example.com"},
    "title": "VEX for the example app image",
    "notes": [{"category": "summary", "title": "About", "text": "The example app image's RPMs."}],
    "tracking": {"id": "EX-VEX-2024-001", "status": "final", "version": "1",
                 "initial_release_date": "2024-11-20T10:00:00Z", "current_release_date": "2024-11-20T10:00:00Z",
                 "revision_history": [{"date": "2024-11-20T10:00:00Z", "number": "1", "summary": "first"}]}
  },
  "product_tree": {
    "branches": [{"category": "vendor", "name": "Example", "branches": [
      {"category": "product_name", "name": "app image",
       "product": {"name": "app image", "product_id": "app-image",
                   "product_identification_helper": {"purl": "pkg:oci/app?repository_url=quay.io/example/app"}}},
      {"category": "product_version", "name": "expat-2.5.0-2.el9",
       "product": {"name": "expat-2.5.0-2.el9.x86_64", "product_id": "expat-2.5.0-2.el9.x86_64",
                   "product_identification_helper": {"purl": "pkg:rpm/redhat/expat@2.5.0-2.el9?arch=x86_64"}}}
    ]}],
    "full_product_names": [
      {"name": "openssl", "product_id": "openssl-any",
       "product_identification_helper": {"purl": "pkg:rpm/redhat/openssl?epoch=1"}}
    ],
    "relationships": [
      {"category": "default_component_of", "product_reference": "expat-2.5.0-2.el9.x86_64",
       "relates_to_product_reference": "app-image",
       "full_product_name": {"name": "expat in the app image", "product_id": "app-image:expat-2.5.0-2.el9.x86_64"}}
    ],
    "product_groups": [{"group_id": "ssl", "product_ids": ["openssl-any"]}]
  },
  "vulnerabilities": [
    {"cve": "CVE-2024-50602",
     "product_status": {"known_not_affected": ["app-image:expat-2.5.0-2.el9.x86_64"]},
     "flags": [{"label": "vulnerable_code_not_in_execute_path", "product_ids": ["app-image:expat-2.5.0-2.el9.x86_64"]}],
     "threats": [{"category": "impact", "details": "XML is never parsed.", "product_ids": ["app-image:expat-2.5.0-2.el9.x86_64"]}]},
    {"cve": "CVE-2024-0001",
     "product_status": {"known_not_affected": ["openssl-any", "app-image", "nothing"], "known_affected": ["expat-2.5.0-2.el9.x86_64"]},
     "flags": [{"label": "component_not_present", "group_ids": ["ssl"]}]}
  ]
}"#;

    #[test]
    fn statuses_flags_threats_and_product_ids() {
        let mut w = Vec::new();
        let s = read(DOC.as_bytes(), "csaf.json", &mut w).unwrap();
        assert_eq!(s.len(), 3, "{s:#?}");
        assert_eq!(s[0].vulnerabilities, ["CVE-2024-50602"]);
        assert_eq!(s[0].status, Status::NotAffected);
        let c = &s[0].packages[0].component;
        assert_eq!(c.name, "expat");
        assert_eq!(c.evr, Some(Evr::new(Some(0), "2.5.0", "2.el9")));
        assert_eq!(
            s[0].justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert_eq!(s[0].impact_statement.as_deref(), Some("XML is never parsed."));
        assert_eq!(s[0].timestamp, crate::csaf::parse_date("2024-11-20T10:00:00Z"));
        // A full_product_names entry, justified through its product group.
        assert_eq!(s[1].packages[0].component.name, "openssl");
        assert_eq!(s[1].justification.as_deref(), Some("component_not_present"));
        // A component's own id in known_affected.
        assert_eq!(
            (s[2].status, s[2].packages[0].component.name.as_str()),
            (Status::Affected, "expat")
        );
        // The image product and an unknown id name no package: a warning each.
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w
            .iter()
            .all(|w| w.kind == "vex-statement-error" && w.message.contains("no RPM component")));
    }

    #[test]
    fn not_affected_without_flag_or_threat_is_not_used() {
        let doc = DOC.replace(
            r#""flags": [{"label": "vulnerable_code_not_in_execute_path", "product_ids": ["app-image:expat-2.5.0-2.el9.x86_64"]}],"#,
            "",
        ).replace(r#""details": "XML is never parsed.", "#, "");
        let mut w = Vec::new();
        let s = read(doc.as_bytes(), "csaf.json", &mut w).unwrap();
        assert!(s.iter().all(|s| s.vulnerabilities != ["CVE-2024-50602"]), "{s:#?}");
        assert!(
            w.iter()
                .any(|w| w.message.contains("neither a flag nor an impact threat")),
            "{w:?}"
        );
    }

    #[test]
    fn other_documents_are_errors() {
        let mut w = Vec::new();
        let advisory = DOC.replace("\"csaf_vex\"", "\"csaf_security_advisory\"");
        let e = read(advisory.as_bytes(), "x", &mut w).unwrap_err();
        assert!(e.contains("not \"csaf_vex\""), "{e}");
        let e = read(
            br#"{"document": {"category": "csaf_vex"}, "vulnerabilities": [{"flags": "x"}]}"#,
            "x",
            &mut w,
        )
        .unwrap_err();
        assert!(e.starts_with("not a CSAF document"), "{e}");
    }
}
