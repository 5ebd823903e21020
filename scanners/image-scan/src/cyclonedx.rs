//! The run as a CycloneDX **1.6** JSON SBOM: each subject a `container` component, the RPM
//! packages installed in it `library` components.
//!
//! Written through a small serde model of the fields this report uses (the `cyclonedx-bom`
//! crate writes specVersion 1.3–1.5 only). Shape:
//!
//! - one subject: `metadata.component` is the container; `components` are its operating
//!   system (`operating-system`, from os-release) and its packages, flat;
//! - several subjects: `metadata.component` is the run (an `application` named `image-scan
//!   run`), each subject a top-level `container` with its OS and packages nested in its own
//!   `components`;
//! - `dependencies`: the container depends on its OS and on each package, the OS on each
//!   package (the run on each container); a package's own requirements are not read, so it
//!   has no entry (CycloneDX: dependencies unknown);
//! - the container's purl is `pkg:oci/...` for a registry image ([`crate::purl::of_image`]),
//!   none for a layout or archive;
//! - a package's `bom-ref` is its purl ([`crate::purl::of`]), `#2`, `#3`... added to a repeat;
//! - what the format has no field for is a property named `atomic-scanners:...`
//!   ([`PROPERTY_PREFIX`]): the source RPM, epoch, install layer and header digest of a
//!   package; the config digest, platform and transport of an image;
//! - a subject whose package database could not be read says so: a property
//!   `atomic-scanners:inventory:error` on it and in `metadata`, and a `compositions` entry
//!   with aggregate `incomplete` for its container. No composition is claimed for a database
//!   read in full: the inventory is the RPM database, not every file of the image.

use crate::inventory::{InstalledPackage, Inventory};
use crate::run::{RunReport, SubjectReport};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// The prefix of every property this report defines.
pub const PROPERTY_PREFIX: &str = "atomic-scanners:";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    compositions: Vec<Composition>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Organization>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publisher: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    components: Vec<Component>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Organization {
    name: String,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
struct Property {
    name: String,
    value: String,
}

fn property(name: &str, value: impl Into<String>) -> Property {
    Property {
        name: format!("{PROPERTY_PREFIX}{name}"),
        value: value.into(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

#[derive(Serialize)]
struct Composition {
    aggregate: &'static str,
    assemblies: Vec<String>,
    dependencies: Vec<String>,
}

/// Unique `bom-ref`s: the first use of a value as it is, a repeat with `#2`, `#3`...
#[derive(Default)]
struct Refs {
    seen: HashMap<String, usize>,
}

impl Refs {
    fn unique(&mut self, wanted: String) -> String {
        let mut n = *self.seen.get(&wanted).unwrap_or(&0);
        loop {
            n += 1;
            let candidate = if n == 1 {
                wanted.clone()
            } else {
                format!("{wanted}#{n}")
            };
            if !self.seen.contains_key(&candidate) {
                self.seen.insert(wanted.clone(), n);
                self.seen.insert(candidate.clone(), 1);
                return candidate;
            }
        }
    }
}

/// A string field of the image summary (`Manifest Digest`, `Platform`...).
pub(crate) fn image_field<'a>(report: &'a SubjectReport, key: &str) -> Option<&'a str> {
    report.image.as_ref()?.get(key)?.as_str().filter(|s| !s.is_empty())
}

/// The hex digits of a `sha256:` digest, when it is one.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

/// The licence of a package: one SPDX expression, or the rpm tag as a licence name.
fn licenses(p: &InstalledPackage) -> Vec<Value> {
    match (p.spdx_license(), p.license.as_deref()) {
        (Some(e), _) => vec![serde_json::json!({ "expression": e })],
        (None, Some(raw)) if !raw.trim().is_empty() => {
            vec![serde_json::json!({ "license": { "name": raw } })]
        }
        _ => Vec::new(),
    }
}

fn package(p: &InstalledPackage, inventory: &Inventory, refs: &mut Refs) -> Component {
    let purl = crate::purl::of(p, inventory.os.as_ref());
    let mut properties = Vec::new();
    if let Some(s) = &p.source_rpm {
        properties.push(property("rpm:source-rpm", s.as_str()));
    }
    if let Some(e) = p.epoch {
        properties.push(property("rpm:epoch", e.to_string()));
    }
    if let Some(a) = &p.arch {
        properties.push(property("rpm:arch", a.as_str()));
    }
    if let Some(h) = &p.header_sha256 {
        properties.push(property("rpm:header-sha256", h.as_str()));
    }
    if let Some(l) = &p.layer {
        properties.push(property("layer:index", l.index.to_string()));
        properties.push(property("layer:digest", l.digest.as_str()));
        if let Some(c) = &l.created_by {
            properties.push(property("layer:created-by", c.as_str()));
        }
    }
    let vendor = p.vendor.as_deref().filter(|v| !v.trim().is_empty());
    Component {
        kind: "library",
        bom_ref: Some(refs.unique(purl.clone())),
        supplier: vendor.map(|v| Organization { name: v.to_string() }),
        publisher: vendor.map(str::to_string),
        name: if p.name.is_empty() {
            "(unnamed)".into()
        } else {
            p.name.clone()
        },
        version: Some(p.sbom_version()),
        description: p.summary.clone().filter(|s| !s.trim().is_empty()),
        licenses: licenses(p),
        purl: Some(purl),
        properties,
        ..Component::default()
    }
}

/// One subject: its container component (with its OS and packages in `components`) and the
/// dependencies it states.
fn container(report: &SubjectReport, refs: &mut Refs, deps: &mut Vec<Dependency>) -> Component {
    let inventory = &report.inventory;
    let container_ref = refs.unique(format!("{PROPERTY_PREFIX}subject:{}", report.uuid));
    let mut children = Vec::new();
    let mut depends_on = Vec::new();
    let mut os_ref = None;
    if let Some(os) = &inventory.os {
        if let Some(id) = os.id.as_deref().filter(|i| !i.is_empty()) {
            let r = refs.unique(format!("{PROPERTY_PREFIX}os:{}:{id}", report.uuid));
            os_ref = Some(r.clone());
            depends_on.push(r.clone());
            children.push(Component {
                kind: "operating-system",
                bom_ref: Some(r),
                name: id.to_string(),
                version: os.version_id.clone(),
                description: Some(os.pretty_name.clone()).filter(|s| !s.is_empty()),
                ..Component::default()
            });
        }
    }
    for p in &inventory.packages {
        let c = package(p, inventory, refs);
        // A package's own requirements are not read: it has no entry of its own in the
        // graph, which CycloneDX reads as "dependencies unknown" (an empty one would say
        // "none").
        if let Some(r) = &c.bom_ref {
            depends_on.push(r.clone());
        }
        children.push(c);
    }
    // The OS is made of the packages too (the graph Trivy writes and reads: container → OS
    // → packages), beside the container's direct dependency on each.
    if let Some(r) = os_ref {
        deps.push(Dependency {
            depends_on: depends_on.iter().filter(|d| **d != r).cloned().collect(),
            reference: r,
        });
    }
    deps.push(Dependency {
        reference: container_ref.clone(),
        depends_on,
    });
    let mut properties = Vec::new();
    let manifest = image_field(report, "Manifest Digest");
    for (key, name) in [
        ("Config Digest", "image:config-digest"),
        ("Platform", "image:platform"),
        ("Transport", "image:transport"),
    ] {
        if let Some(v) = image_field(report, key) {
            properties.push(property(name, v));
        }
    }
    if report.image.is_none() {
        properties.push(property("rootfs", report.subject.dir.display().to_string()));
    }
    if let Some(e) = &inventory.error {
        properties.push(property("inventory:error", e.as_str()));
    }
    let purl = manifest.and_then(|m| crate::purl::of_image(&report.name, m, image_field(report, "Platform")));
    Component {
        kind: "container",
        bom_ref: Some(container_ref),
        name: report.name.clone(),
        version: manifest.map(str::to_string),
        purl,
        hashes: manifest
            .and_then(sha256_hex)
            .map(|h| Hash {
                alg: "SHA-256",
                content: h.to_ascii_lowercase(),
            })
            .into_iter()
            .collect(),
        components: children,
        properties,
        ..Component::default()
    }
}

/// The CycloneDX 1.6 JSON of a run.
pub fn render(run: &RunReport) -> String {
    let mut refs = Refs::default();
    let mut dependencies = Vec::new();
    let mut containers: Vec<Component> = run
        .subjects
        .iter()
        .map(|(r, _)| container(r, &mut refs, &mut dependencies))
        .collect();
    let mut compositions = Vec::new();
    let mut notes = Vec::new();
    for ((report, _), c) in run.subjects.iter().zip(&containers) {
        if let (Some(e), Some(r)) = (&report.inventory.error, &c.bom_ref) {
            notes.push(property("inventory:error", format!("{}: {e}", report.name)));
            compositions.push(Composition {
                aggregate: "incomplete",
                assemblies: vec![r.clone()],
                dependencies: vec![r.clone()],
            });
        }
    }
    let tool = Component {
        kind: "application",
        name: "image-scan".into(),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        description: Some("atomic-scanners image-scan".into()),
        ..Component::default()
    };
    let (subject, components) = if containers.len() == 1 {
        let mut c = containers.remove(0);
        let children = std::mem::take(&mut c.components);
        (c, children)
    } else {
        let run_ref = refs.unique(format!("{PROPERTY_PREFIX}run"));
        dependencies.push(Dependency {
            reference: run_ref.clone(),
            depends_on: containers.iter().filter_map(|c| c.bom_ref.clone()).collect(),
        });
        let run_component = Component {
            kind: "application",
            bom_ref: Some(run_ref),
            name: "image-scan run".into(),
            description: Some(format!("{} subjects scanned by image-scan", containers.len())),
            ..Component::default()
        };
        (run_component, containers)
    };
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        version: 1,
        metadata: Metadata {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            tools: Tools { components: vec![tool] },
            component: subject,
            properties: notes,
        },
        components,
        dependencies,
        compositions,
    };
    let mut s = serde_json::to_string_pretty(&bom).unwrap_or_default();
    s.push('\n');
    s
}
