//! image-scan's SBOM reports (issue 15), `cyclonedx` (CycloneDX 1.6) and `spdx` (SPDX 2.3), on
//! the bundled sample:
//!
//! - both validate against the schemas their maintainers publish (python3-jsonschema), and
//!   what the schemas leave loose is checked here: the versions, the time formats, unique
//!   `bom-ref`s and SPDX ids, every dependency and relationship naming an element that exists;
//! - differential: the packages they list are what the real rpm lists on the unpacked image
//!   (`rpm -qa --qf`), with the same versions, licences, source RPMs and vendors; each purl is
//!   the Red Hat form, built here from rpm's output; each package's layer is the one that
//!   installed it (layer 1 in the sample);
//! - a root with no RPM database still gives valid SBOMs, marked incomplete;
//! - `--report cyclonedx=A --report spdx=B` writes both in one run.

use super::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

struct Sboms {
    cyclonedx: PathBuf,
    spdx: PathBuf,
    stdout: Value,
}

impl Sboms {
    fn cyclonedx(&self) -> Value {
        read_json(&self.cyclonedx)
    }
    fn spdx(&self) -> Value {
        read_json(&self.spdx)
    }
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// Both SBOMs of the sample, written by one run of image-scan.
fn sample_sboms() -> &'static Sboms {
    static SBOMS: OnceLock<Sboms> = OnceLock::new();
    SBOMS.get_or_init(|| {
        let s = sample();
        let dir = harness::scratch::process_tempdir("image-scan-sbom");
        let cyclonedx = dir.join("bom.cdx.json");
        let spdx = dir.join("bom.spdx.json");
        let out = image_scan(&[
            "--image",
            &s.image(),
            "--no-image-repos",
            "--repo",
            &s.repo_arg(),
            "--format",
            "json",
            "--report",
            &format!("cyclonedx={}", cyclonedx.display()),
            "--report",
            &format!("spdx={}", spdx.display()),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        Sboms {
            cyclonedx,
            spdx,
            stdout: json_of(&out),
        }
    })
}

fn assert_utc_seconds(created: &str) {
    // YYYY-MM-DDThh:mm:ssZ, as SPDX 2.3 writes a date.
    let b = created.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    assert!(
        b.len() == 20
            && digits(0..4)
            && b[4] == b'-'
            && digits(5..7)
            && b[7] == b'-'
            && digits(8..10)
            && b[10] == b'T'
            && digits(11..13)
            && b[13] == b':'
            && digits(14..16)
            && b[16] == b':'
            && digits(17..19)
            && b[19] == b'Z',
        "{created:?} is not YYYY-MM-DDThh:mm:ssZ"
    );
}

fn assert_rfc3339(timestamp: &str) {
    // The UTC form of RFC 3339 with whole seconds, `2026-12-03T14:05:06Z`, written now.
    assert_utc_seconds(timestamp);
    let year: u32 = timestamp[..4].parse().unwrap();
    assert!(year >= 2024, "{timestamp}");
}

/// Every component of a BOM, nested ones included, with the `bom-ref`s (asserting they are
/// unique).
fn cyclonedx_components(bom: &Value) -> (Vec<Value>, HashSet<String>) {
    fn walk(list: &Value, out: &mut Vec<Value>) {
        for c in list.as_array().into_iter().flatten() {
            out.push(c.clone());
            walk(&c["components"], out);
        }
    }
    let mut all = vec![bom["metadata"]["component"].clone()];
    walk(&bom["metadata"]["component"]["components"], &mut all);
    walk(&bom["components"], &mut all);
    let mut refs = HashSet::new();
    for c in &all {
        if let Some(r) = c["bom-ref"].as_str() {
            assert!(refs.insert(r.to_string()), "bom-ref {r} is not unique");
        }
    }
    (all, refs)
}

/// The structural checks the CycloneDX schema leaves to the writer.
fn check_cyclonedx(bom: &Value) -> (Vec<Value>, HashSet<String>) {
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["version"], 1);
    let serial = bom["serialNumber"].as_str().unwrap();
    let uuid = serial.strip_prefix("urn:uuid:").unwrap();
    assert_eq!(uuid.len(), 36, "{serial}");
    assert_rfc3339(bom["metadata"]["timestamp"].as_str().unwrap());
    let tool = &bom["metadata"]["tools"]["components"][0];
    assert_eq!(tool["name"], "image-scan");
    assert!(!tool["version"].as_str().unwrap().is_empty());
    let (all, refs) = cyclonedx_components(bom);
    for d in bom["dependencies"].as_array().unwrap() {
        let r = d["ref"].as_str().unwrap();
        assert!(refs.contains(r), "dependency of unknown {r}");
        for on in d["dependsOn"].as_array().unwrap() {
            assert!(refs.contains(on.as_str().unwrap()), "{r} depends on unknown {on}");
        }
    }
    for c in &all {
        let licenses = c["licenses"].as_array().cloned().unwrap_or_default();
        let expressions = licenses.iter().filter(|l| l.get("expression").is_some()).count();
        assert!(
            expressions == 0 || licenses.len() == 1,
            "{} mixes expression and license entries: {licenses:?}",
            c["name"]
        );
    }
    (all, refs)
}

/// The structural checks the SPDX schema leaves to the writer; the packages by SPDX id.
fn check_spdx(doc: &Value) -> BTreeMap<String, Value> {
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["dataLicense"], "CC0-1.0");
    assert_eq!(doc["SPDXID"], "SPDXRef-DOCUMENT");
    assert!(!doc["name"].as_str().unwrap().is_empty());
    let ns = doc["documentNamespace"].as_str().unwrap();
    assert!(ns.contains(':') && !ns.contains('#'), "{ns}");
    assert_utc_seconds(doc["creationInfo"]["created"].as_str().unwrap());
    let creators = doc["creationInfo"]["creators"].as_array().unwrap();
    assert!(
        creators
            .iter()
            .any(|c| c.as_str().unwrap().starts_with("Tool: image-scan-")),
        "{creators:?}"
    );
    let mut packages = BTreeMap::new();
    for p in doc["packages"].as_array().unwrap() {
        let id = p["SPDXID"].as_str().unwrap().to_string();
        let tail = id.strip_prefix("SPDXRef-").unwrap();
        assert!(
            !tail.is_empty() && tail.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'),
            "{id}"
        );
        assert!(
            packages.insert(id.clone(), p.clone()).is_none(),
            "SPDXID {id} is not unique"
        );
    }
    for r in doc["relationships"].as_array().unwrap() {
        for side in ["spdxElementId", "relatedSpdxElement"] {
            let id = r[side].as_str().unwrap();
            assert!(
                id == "SPDXRef-DOCUMENT" || packages.contains_key(id),
                "relationship names unknown {id}: {r}"
            );
        }
    }
    packages
}

fn relationships<'a>(doc: &'a Value, kind: &str, from: &str) -> Vec<&'a str> {
    doc["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["relationshipType"] == kind && r["spdxElementId"] == from)
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect()
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str())
}

#[test]
fn sbom_reports_of_the_sample_validate_against_the_published_schemas() {
    let sboms = sample_sboms();
    harness::schema::assert_valid(
        &harness::schema::bundled("cyclonedx-1.6/bom-1.6.schema.json"),
        &sboms.cyclonedx,
    );
    harness::schema::assert_valid(&harness::schema::bundled("spdx-2.3/spdx-schema.json"), &sboms.spdx);

    let bom = sboms.cyclonedx();
    let (_, refs) = check_cyclonedx(&bom);
    let subject = &bom["metadata"]["component"];
    assert_eq!(subject["type"], "container");
    assert_eq!(subject["name"], sample().image());
    let manifest = combined()["Image"]["Manifest Digest"].as_str().unwrap();
    assert_eq!(subject["version"], manifest);
    assert_eq!(subject["hashes"][0]["alg"], "SHA-256");
    assert_eq!(
        subject["hashes"][0]["content"].as_str().unwrap(),
        manifest.strip_prefix("sha256:").unwrap()
    );
    assert_eq!(
        property(subject, "atomic-scanners:image:config-digest"),
        combined()["Image"]["Config Digest"].as_str()
    );
    assert_eq!(
        property(subject, "atomic-scanners:image:platform"),
        combined()["Image"]["Platform"].as_str()
    );
    // The container depends on every package; nothing says the inventory is incomplete.
    let container_ref = subject["bom-ref"].as_str().unwrap();
    let deps = bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == container_ref)
        .unwrap();
    let libraries: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "library")
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let depended: BTreeSet<&str> = deps["dependsOn"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(libraries.is_subset(&depended), "{libraries:?} vs {depended:?}");
    assert!(libraries.len() >= 2 && refs.len() > libraries.len());
    assert!(bom.get("compositions").is_none(), "{}", bom["compositions"]);

    let doc = sboms.spdx();
    let packages = check_spdx(&doc);
    let described = relationships(&doc, "DESCRIBES", "SPDXRef-DOCUMENT");
    assert_eq!(described.len(), 1);
    let container = &packages[described[0]];
    assert_eq!(container["primaryPackagePurpose"], "CONTAINER");
    assert_eq!(container["name"], sample().image());
    assert_eq!(container["versionInfo"], manifest);
    let contained: BTreeSet<&str> = relationships(&doc, "CONTAINS", described[0]).into_iter().collect();
    let rpms: BTreeSet<&str> = packages
        .keys()
        .filter(|id| id.as_str() != described[0])
        .map(String::as_str)
        .collect();
    assert_eq!(contained, rpms);
    assert!(doc.get("comment").is_none(), "{}", doc["comment"]);
}

/// One line of `rpm -qa --qf` on the unpacked image.
#[derive(Debug)]
struct RpmLine {
    name: String,
    epoch: u64,
    version: String,
    release: String,
    arch: String,
    license: String,
    source_rpm: String,
    vendor: String,
}

fn rpm_packages(root: &Path) -> Vec<RpmLine> {
    let out = run_ok(
        Command::new(require_tool("rpm"))
            .arg("--root")
            .arg(root)
            .args(["--dbpath", "/var/lib/rpm", "-qa", "--qf"])
            .arg("%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{LICENSE}\t%{SOURCERPM}\t%{VENDOR}\n"),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 8, "{l}");
            RpmLine {
                name: f[0].into(),
                epoch: f[1].parse().unwrap(),
                version: f[2].into(),
                release: f[3].into(),
                arch: f[4].into(),
                license: f[5].into(),
                source_rpm: f[6].into(),
                vendor: f[7].into(),
            }
        })
        .collect()
}

impl RpmLine {
    /// The Red Hat-form purl, written here from the purl spec's rules (the sample's names and
    /// versions need no percent-encoding).
    fn purl(&self) -> String {
        let epoch = if self.epoch == 0 {
            String::new()
        } else {
            format!("&epoch={}", self.epoch)
        };
        format!(
            "pkg:rpm/centos/{}@{}-{}?arch={}&distro=centos-7{epoch}",
            self.name, self.version, self.release, self.arch
        )
    }
    fn version(&self) -> String {
        if self.epoch == 0 {
            format!("{}-{}", self.version, self.release)
        } else {
            format!("{}:{}-{}", self.epoch, self.version, self.release)
        }
    }
}

#[test]
fn sbom_packages_agree_with_rpm_on_the_unpacked_image() {
    let s = sample();
    let bundle = harness::scratch::process_tempdir("image-scan-sbom-bundle").join("b");
    run_ok(
        Command::new(require_tool("umoci"))
            .args([
                "unpack",
                "--rootless",
                "--image",
                &format!("{}/layout:demo", s.dir.display()),
            ])
            .arg(&bundle),
    );
    let rpm = rpm_packages(&bundle.join("rootfs"));
    assert!(rpm.len() >= 2, "{rpm:?}");
    let names: BTreeSet<&str> = rpm.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains("curl") && names.contains("centos-release"), "{names:?}");
    // make-sample.sh installs every package in its first layer of three (the second patches
    // curl, the third removes the man pages): each package's layer must be layer 1.
    assert_eq!(combined()["Image"]["Layers"], 3);

    let sboms = sample_sboms();
    let bom = sboms.cyclonedx();
    let libraries: Vec<&Value> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "library")
        .collect();
    let ours: BTreeSet<String> = libraries
        .iter()
        .map(|c| c["purl"].as_str().unwrap().to_string())
        .collect();
    let theirs: BTreeSet<String> = rpm.iter().map(RpmLine::purl).collect();
    assert_eq!(ours, theirs, "CycloneDX purls against rpm -qa");
    assert_eq!(libraries.len(), rpm.len());
    for p in &rpm {
        let c = libraries.iter().find(|c| c["purl"] == p.purl()).unwrap();
        assert_eq!(c["name"], p.name.as_str());
        assert_eq!(c["version"], p.version());
        let licenses = c["licenses"].as_array().unwrap();
        assert_eq!(licenses.len(), 1, "{licenses:?}");
        let written = licenses[0]["expression"]
            .as_str()
            .or(licenses[0]["license"]["name"].as_str())
            .unwrap();
        assert_eq!(written, p.license, "{}", p.name);
        // The sample's two licences: "MIT" is an SPDX id, "GPLv2" is not (GPL-2.0-only is).
        match p.license.as_str() {
            "MIT" => assert_eq!(licenses[0]["expression"], "MIT"),
            "GPLv2" => assert_eq!(licenses[0]["license"]["name"], "GPLv2"),
            other => panic!("the sample has a licence {other:?} this test does not know"),
        }
        assert_eq!(
            property(c, "atomic-scanners:rpm:source-rpm"),
            Some(p.source_rpm.as_str())
        );
        assert_eq!(c["publisher"], p.vendor.as_str());
        assert_eq!(c["supplier"]["name"], p.vendor.as_str());
        assert_eq!(property(c, "atomic-scanners:layer:index"), Some("1"), "{}", p.name);
        assert_eq!(
            property(c, "atomic-scanners:layer:created-by"),
            Some("RUN rpm -i centos-release curl")
        );
        assert_eq!(c["bom-ref"], p.purl().as_str());
    }

    let doc = sboms.spdx();
    let packages = check_spdx(&doc);
    let rpms: Vec<&Value> = packages
        .values()
        .filter(|p| p["primaryPackagePurpose"] == "LIBRARY")
        .collect();
    assert_eq!(rpms.len(), rpm.len());
    for p in &rpm {
        let ours = rpms
            .iter()
            .find(|s| {
                s["externalRefs"].as_array().unwrap().iter().any(|r| {
                    r["referenceCategory"] == "PACKAGE-MANAGER"
                        && r["referenceType"] == "purl"
                        && r["referenceLocator"] == p.purl()
                })
            })
            .unwrap_or_else(|| panic!("no SPDX package with purl {}", p.purl()));
        assert_eq!(ours["name"], p.name.as_str());
        assert_eq!(ours["versionInfo"], p.version());
        assert_eq!(ours["supplier"], format!("Organization: {}", p.vendor));
        assert_eq!(ours["sourceInfo"], format!("built from source RPM {}", p.source_rpm));
        assert_eq!(ours["downloadLocation"], "NOASSERTION");
        assert_eq!(ours["filesAnalyzed"], false);
        assert_eq!(ours["licenseConcluded"], "NOASSERTION");
        assert_eq!(ours["copyrightText"], "NOASSERTION");
        match p.license.as_str() {
            "MIT" => {
                assert_eq!(ours["licenseDeclared"], "MIT");
                assert!(ours.get("licenseComments").is_none());
            }
            raw => {
                assert_eq!(ours["licenseDeclared"], "NOASSERTION");
                let comment = ours["licenseComments"].as_str().unwrap();
                assert!(comment.contains(&format!("{raw:?}")), "{comment}");
            }
        }
        let comment = ours["comment"].as_str().unwrap();
        assert!(comment.starts_with("Installed in layer 1 (sha256:"), "{comment}");
        assert!(comment.contains("RUN rpm -i centos-release curl"), "{comment}");
    }
}

/// A root with an os-release and no RPM database.
fn root_without_database(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "ID=centos\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n",
    )
    .unwrap();
    root
}

#[test]
fn sbom_of_a_root_without_an_rpm_database_is_valid_and_marked_incomplete() {
    let dir = harness::scratch::process_tempdir("image-scan-sbom-nodb");
    let root = root_without_database(&dir);
    let cyclonedx = dir.join("bom.cdx.json");
    let spdx = dir.join("bom.spdx.json");
    let out = image_scan(&[
        "--rootfs",
        root.to_str().unwrap(),
        "--checks",
        "verify",
        "--format",
        "json",
        "--report",
        &format!("cyclonedx={}", cyclonedx.display()),
        "--report",
        &format!("spdx={}", spdx.display()),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    harness::schema::assert_valid(
        &harness::schema::bundled("cyclonedx-1.6/bom-1.6.schema.json"),
        &cyclonedx,
    );
    harness::schema::assert_valid(&harness::schema::bundled("spdx-2.3/spdx-schema.json"), &spdx);

    let bom = read_json(&cyclonedx);
    check_cyclonedx(&bom);
    let subject = &bom["metadata"]["component"];
    assert_eq!(subject["type"], "container");
    let container_ref = subject["bom-ref"].as_str().unwrap();
    let libraries = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "library")
        .count();
    assert_eq!(libraries, 0);
    let compositions = bom["compositions"].as_array().unwrap();
    assert!(
        compositions.iter().any(|c| c["aggregate"] == "incomplete"
            && c["assemblies"].as_array().unwrap().iter().any(|a| a == container_ref)),
        "{compositions:?}"
    );
    assert!(property(subject, "atomic-scanners:inventory:error").is_some_and(|e| !e.is_empty()));
    assert!(property(&bom["metadata"], "atomic-scanners:inventory:error").is_some());

    let doc = read_json(&spdx);
    let packages = check_spdx(&doc);
    assert_eq!(packages.len(), 1);
    assert!(
        doc["comment"].as_str().unwrap().starts_with("INCOMPLETE"),
        "{}",
        doc["comment"]
    );
    let container = packages.values().next().unwrap();
    assert!(container["comment"].as_str().unwrap().contains("INCOMPLETE"));
}

#[test]
fn sbom_reports_of_both_formats_are_written_in_one_run() {
    let sboms = sample_sboms();
    // The one run above wrote both files and still printed the combined document.
    assert_eq!(sboms.stdout["Summary"], combined()["Summary"]);
    let bom = sboms.cyclonedx();
    let doc = sboms.spdx();
    let cdx_purls: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    let spdx_purls: BTreeSet<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["externalRefs"].as_array().into_iter().flatten())
        .filter_map(|r| r["referenceLocator"].as_str())
        .collect();
    assert!(!cdx_purls.is_empty());
    assert_eq!(cdx_purls, spdx_purls);
}

#[test]
fn sbom_of_several_subjects_is_one_valid_document_with_each_subject_apart() {
    let s = sample();
    let dir = harness::scratch::process_tempdir("image-scan-sbom-several");
    let root = root_without_database(&dir);
    let cyclonedx = dir.join("bom.cdx.json");
    let spdx = dir.join("bom.spdx.json");
    // The same image twice: the same packages twice, each still a component of its own.
    let out = image_scan(&[
        "--rootfs",
        root.to_str().unwrap(),
        "--image",
        &s.image(),
        "--image",
        &s.image(),
        "--checks",
        "verify",
        "--format",
        "json",
        "--report",
        &format!("cyclonedx={}", cyclonedx.display()),
        "--report",
        &format!("spdx={}", spdx.display()),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    harness::schema::assert_valid(
        &harness::schema::bundled("cyclonedx-1.6/bom-1.6.schema.json"),
        &cyclonedx,
    );
    harness::schema::assert_valid(&harness::schema::bundled("spdx-2.3/spdx-schema.json"), &spdx);

    let bom = read_json(&cyclonedx);
    let (all, _) = check_cyclonedx(&bom);
    assert_eq!(bom["metadata"]["component"]["name"], "image-scan run");
    let containers = bom["components"].as_array().unwrap();
    assert_eq!(containers.len(), 3);
    assert!(containers.iter().all(|c| c["type"] == "container"));
    let packages = |c: &Value| -> BTreeSet<String> {
        c["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["type"] == "library")
            .map(|p| p["purl"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(packages(&containers[0]).is_empty());
    assert!(!packages(&containers[1]).is_empty());
    assert_eq!(packages(&containers[1]), packages(&containers[2]));
    assert_eq!(
        all.iter().filter(|c| c["type"] == "library").count(),
        2 * packages(&containers[1]).len()
    );
    // Only the root without a database is incomplete.
    let compositions = bom["compositions"].as_array().unwrap();
    assert_eq!(compositions.len(), 1, "{compositions:?}");
    assert_eq!(compositions[0]["aggregate"], "incomplete");
    assert_eq!(
        compositions[0]["assemblies"],
        serde_json::json!([containers[0]["bom-ref"]])
    );
    // Each container depends on its own packages.
    for c in &containers[1..] {
        let own: BTreeSet<&str> = c["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["type"] == "library")
            .map(|p| p["bom-ref"].as_str().unwrap())
            .collect();
        let dep = bom["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["ref"] == c["bom-ref"])
            .unwrap();
        let on: BTreeSet<&str> = dep["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        assert!(own.is_subset(&on) && !own.is_empty(), "{own:?} {on:?}");
    }

    let doc = read_json(&spdx);
    let packages = check_spdx(&doc);
    let described = relationships(&doc, "DESCRIBES", "SPDXRef-DOCUMENT");
    assert_eq!(described.len(), 3);
    assert!(relationships(&doc, "CONTAINS", described[0]).is_empty());
    let first = relationships(&doc, "CONTAINS", described[1]);
    let second = relationships(&doc, "CONTAINS", described[2]);
    assert!(!first.is_empty() && first.len() == second.len());
    assert!(first.iter().all(|id| !second.contains(id)));
    assert_eq!(packages.len(), 3 + first.len() + second.len());
    let comment = doc["comment"].as_str().unwrap();
    assert!(
        comment.starts_with("INCOMPLETE") && comment.contains(root.to_str().unwrap()),
        "{comment}"
    );
}
