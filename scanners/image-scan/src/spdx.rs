//! The run as an SPDX **2.3** JSON document: one `CONTAINER` package per subject, one
//! `LIBRARY` package per RPM installed in it.
//!
//! Written through a small serde model of the fields this report uses (the `spdx-rs` crate
//! models SPDX 2.2 only, without `primaryPackagePurpose`). Shape:
//!
//! - `SPDXRef-DOCUMENT` `DESCRIBES` each container; each container `CONTAINS` each of its
//!   packages;
//! - SPDX ids: `SPDXRef-Container-<subject>` and `SPDXRef-Package-rpm-<name>-<evr>-<arch>`,
//!   every other character than `[A-Za-z0-9.-]` made `-`, `-2`, `-3`... added to a repeat;
//! - a package: `versionInfo` `[epoch:]version-release`, `supplier` `Organization: <vendor>`
//!   (else `NOASSERTION`), `licenseDeclared` the rpm `License` tag when it is an SPDX license
//!   expression, else `NOASSERTION` with the tag as written in `licenseComments`;
//!   `sourceInfo` the source RPM, the purl as a `PACKAGE-MANAGER` external reference, the
//!   install layer and header digest in `comment`;
//! - a subject whose package database could not be read says so in the document's
//!   `comment` and in its container's: its package list is not complete.

use crate::inventory::InstalledPackage;
use crate::run::{RunReport, SubjectReport};
use serde::Serialize;
use std::collections::HashSet;

const NOASSERTION: &str = "NOASSERTION";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: String,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_comments: Option<String>,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// Unique SPDX ids made of `[A-Za-z0-9.-]` only.
#[derive(Default)]
struct Ids {
    seen: HashSet<String>,
}

impl Ids {
    fn unique(&mut self, prefix: &str, text: &str) -> String {
        let mut clean: String = text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        if clean.is_empty() {
            clean.push('-');
        }
        let base = format!("{prefix}{clean}");
        let mut id = base.clone();
        let mut n = 1;
        while self.seen.contains(&id) {
            n += 1;
            id = format!("{base}-{n}");
        }
        self.seen.insert(id.clone());
        id
    }
}

/// A one-line value (an agent name, a comment) from text that may hold line breaks.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn package(p: &InstalledPackage, report: &SubjectReport, ids: &mut Ids) -> Package {
    let inventory = &report.inventory;
    let name = if p.name.is_empty() { "(unnamed)" } else { &p.name };
    let id_text = format!(
        "rpm-{name}-{}-{}",
        p.sbom_version(),
        p.arch.as_deref().unwrap_or("noarch-none")
    );
    let (declared, comments) = match (p.spdx_license(), p.license.as_deref()) {
        (Some(e), _) => (e.to_string(), None),
        (None, Some(raw)) if !raw.trim().is_empty() => (
            NOASSERTION.to_string(),
            Some(format!(
                "The rpm License tag is {raw:?}, which is not an SPDX license expression."
            )),
        ),
        _ => (NOASSERTION.to_string(), None),
    };
    let mut comment = Vec::new();
    if let Some(l) = &p.layer {
        let step = l
            .created_by
            .as_deref()
            .map(|c| format!(", {}", one_line(c)))
            .unwrap_or_default();
        comment.push(format!("Installed in layer {} ({}{step}).", l.index, l.digest));
    }
    if let Some(h) = &p.header_sha256 {
        comment.push(format!("rpm header SHA-256: {h}."));
    }
    Package {
        spdx_id: ids.unique("SPDXRef-Package-", &id_text),
        name: name.to_string(),
        version_info: Some(p.sbom_version()),
        supplier: match p.vendor.as_deref().map(one_line) {
            Some(v) if !v.is_empty() => format!("Organization: {v}"),
            _ => NOASSERTION.to_string(),
        },
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: declared,
        license_comments: comments,
        copyright_text: NOASSERTION,
        summary: p.summary.clone().filter(|s| !s.trim().is_empty()),
        source_info: p.source_rpm.as_ref().map(|s| format!("built from source RPM {s}")),
        external_refs: vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: crate::purl::of(p, inventory.os.as_ref()),
        }],
        primary_package_purpose: "LIBRARY",
        comment: (!comment.is_empty()).then(|| comment.join(" ")),
    }
}

fn container(report: &SubjectReport, ids: &mut Ids) -> Package {
    let manifest = crate::cyclonedx::image_field(report, "Manifest Digest");
    let mut comment = Vec::new();
    for (key, label) in [
        ("Config Digest", "config digest"),
        ("Platform", "platform"),
        ("Transport", "transport"),
    ] {
        if let Some(v) = crate::cyclonedx::image_field(report, key) {
            comment.push(format!("Image {label}: {v}."));
        }
    }
    if report.image.is_none() {
        comment.push(format!("Root filesystem {}.", report.subject.dir.display()));
    }
    if let Some(os) = &report.inventory.os {
        comment.push(format!("Operating system: {}.", one_line(&os.pretty_name)));
    }
    if let Some(e) = &report.inventory.error {
        comment.push(format!(
            "INCOMPLETE: the RPM database could not be read ({}); the packages listed are not all the packages installed.",
            one_line(e)
        ));
    }
    Package {
        spdx_id: ids.unique("SPDXRef-Container-", &report.name),
        name: report.name.clone(),
        version_info: manifest.map(str::to_string),
        supplier: NOASSERTION.to_string(),
        download_location: NOASSERTION,
        files_analyzed: false,
        checksums: manifest
            .and_then(crate::cyclonedx::sha256_hex)
            .map(|h| Checksum {
                algorithm: "SHA256",
                checksum_value: h.to_ascii_lowercase(),
            })
            .into_iter()
            .collect(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION.to_string(),
        license_comments: None,
        copyright_text: NOASSERTION,
        summary: None,
        source_info: None,
        external_refs: manifest
            .and_then(|m| crate::purl::of_image(&report.name, m, crate::cyclonedx::image_field(report, "Platform")))
            .map(|purl| ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: purl,
            })
            .into_iter()
            .collect(),
        primary_package_purpose: "CONTAINER",
        comment: (!comment.is_empty()).then(|| comment.join(" ")),
    }
}

/// The SPDX 2.3 JSON of a run.
pub fn render(run: &RunReport) -> String {
    let mut ids = Ids::default();
    ids.seen.insert("SPDXRef-DOCUMENT".into());
    let mut packages = Vec::new();
    let mut relationships = Vec::new();
    let mut incomplete = Vec::new();
    for (report, _) in run.subjects {
        let c = container(report, &mut ids);
        relationships.push(Relationship {
            spdx_element_id: "SPDXRef-DOCUMENT".into(),
            relationship_type: "DESCRIBES",
            related_spdx_element: c.spdx_id.clone(),
        });
        let container_id = c.spdx_id.clone();
        packages.push(c);
        for p in &report.inventory.packages {
            let p = package(p, report, &mut ids);
            relationships.push(Relationship {
                spdx_element_id: container_id.clone(),
                relationship_type: "CONTAINS",
                related_spdx_element: p.spdx_id.clone(),
            });
            packages.push(p);
        }
        if let Some(e) = &report.inventory.error {
            incomplete.push(format!("{} ({})", report.name, one_line(e)));
        }
    }
    let names: Vec<&str> = run.subjects.iter().map(|(r, _)| r.name.as_str()).collect();
    let uuid = uuid::Uuid::new_v4();
    let doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("image-scan {}", names.join(", ")),
        document_namespace: format!("urn:uuid:{uuid}"),
        creation_info: CreationInfo {
            created: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            creators: vec![format!("Tool: image-scan-{}", env!("CARGO_PKG_VERSION"))],
        },
        comment: (!incomplete.is_empty()).then(|| {
            format!(
                "INCOMPLETE: the RPM database of {} could not be read: its packages are missing from this document.",
                incomplete.join("; ")
            )
        }),
        packages,
        relationships,
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use crate::findings::{Findings, Layer};
    use crate::inventory::{InstalledPackage, Inventory, OsIdentity};
    use crate::run::{RunReport, SubjectReport};
    use atomic_protocol::document::ScanTime;
    use atomic_protocol::subjects::Subject;
    use serde_json::Value;
    use std::collections::HashSet;

    fn hostile_package(name: &str, license: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            epoch: Some(3),
            version: "1.0/../\u{0}".into(),
            release: "1\n2".into(),
            arch: None,
            license: Some(license.into()),
            source_rpm: Some("\"quoted\" \u{7f}".into()),
            vendor: Some("Evil\nCorp (x@example.org)".into()),
            summary: Some(String::new()),
            header_sha256: None,
            layer: Some(Layer {
                index: 2,
                digest: "not a digest".into(),
                created_by: Some("RUN\n\techo \u{202e}".into()),
            }),
        }
    }

    fn report(name: &str, packages: Vec<InstalledPackage>, error: Option<&str>) -> SubjectReport {
        let subject = Subject {
            folder: name.into(),
            dir: name.into(),
            image: Some(name.into()),
        };
        SubjectReport {
            subject,
            name: name.into(),
            image: Some(serde_json::json!({ "Manifest Digest": "sha256:short", "Platform": 7 })),
            labels: Default::default(),
            uuid: name.into(),
            start: ScanTime::now(),
            finished: ScanTime::now(),
            open_error: None,
            checks: Vec::new(),
            documents: Vec::new(),
            inventory: Inventory {
                os: Some(OsIdentity {
                    id: Some("we ird/ID".into()),
                    version_id: None,
                    pretty_name: "\n".into(),
                }),
                packages,
                error: error.map(str::to_string),
            },
        }
    }

    /// Hostile names, versions, licences and duplicates: both formats still write JSON with
    /// unique ids and no panic.
    #[test]
    fn hostile_inventories_give_well_formed_documents_with_unique_ids() {
        let long = "MIT AND ".repeat(2000) + "MIT";
        let packages = vec![
            hostile_package("", "GPLv2+"),
            hostile_package("", "GPLv2+"),
            hostile_package("a b", "(MIT"),
            hostile_package("a-b", &long),
            hostile_package("ünï©ode", "MIT or Apache-2.0"),
            hostile_package("x#2", "MIT"),
            hostile_package("x", "MIT"),
            hostile_package("x", "MIT"),
        ];
        let subjects: Vec<(SubjectReport, Findings)> = [
            report("docker://reg/a:b", packages.clone(), None),
            report("docker://reg/a:b", packages, Some("bad\ndatabase")),
            report("", Vec::new(), Some("")),
        ]
        .into_iter()
        .map(|r| {
            let f = Findings::of(&r);
            (r, f)
        })
        .collect();
        let run = RunReport {
            subjects: &subjects,
            documents: &[],
            fail_on: &[],
            breaches: &[],
        };
        let doc: Value = serde_json::from_str(&super::render(&run)).unwrap();
        let mut ids = HashSet::new();
        for p in doc["packages"].as_array().unwrap() {
            let id = p["SPDXID"].as_str().unwrap();
            assert!(
                id[8..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
                "{id}"
            );
            assert!(ids.insert(id.to_string()), "{id}");
            assert!(!p["supplier"].as_str().unwrap().contains('\n'));
        }
        assert_eq!(ids.len(), 3 + 16);
        for r in doc["relationships"].as_array().unwrap() {
            assert!(ids.contains(r["relatedSpdxElement"].as_str().unwrap()));
        }
        assert!(doc["comment"].as_str().unwrap().starts_with("INCOMPLETE"));
        let long_one = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "a-b")
            .unwrap();
        assert_eq!(long_one["licenseDeclared"], "NOASSERTION");

        let bom: Value = serde_json::from_str(&crate::cyclonedx::render(&run)).unwrap();
        let mut refs = HashSet::new();
        let mut stack: Vec<&Value> = bom["components"].as_array().unwrap().iter().collect();
        while let Some(c) = stack.pop() {
            if let Some(r) = c["bom-ref"].as_str() {
                assert!(refs.insert(r.to_string()), "{r}");
            }
            let licenses = c["licenses"].as_array().cloned().unwrap_or_default();
            assert!(licenses.len() <= 1, "{licenses:?}");
            stack.extend(c["components"].as_array().into_iter().flatten());
        }
        assert_eq!(bom["compositions"].as_array().unwrap().len(), 2);
        for d in bom["dependencies"].as_array().unwrap() {
            for on in d["dependsOn"].as_array().unwrap() {
                assert!(refs.contains(on.as_str().unwrap()), "{on}");
            }
        }
    }
}
