//! security-advisories with the image author's VEX statements (`--vex FILE`, issue 17): a
//! RHEL 9.5 root built with the real `rpm`, judged against Red Hat's CSAF VEX document for
//! CVE-2024-50602 (tests/fixtures/vex, see advisories_csaf) and an updateinfo written here,
//! once without `--vex` and then with OpenVEX and CSAF VEX documents written here by hand in
//! the shape of their specs (they are the image author's documents, not Red Hat's):
//! OpenVEX v0.2.0 (https://github.com/openvex/spec, `OPENVEX.md`) and CSAF 2.0 with the VEX
//! profile (`document.category = "csaf_vex"`, `product_status.known_not_affected`, `flags`,
//! `threats` of category `impact`).
//!
//! Without `--vex` the root has three findings:
//! - CVE-2024-50602 for expat-2.5.0-2.el9.x86_64 (Red Hat's VEX: fixed by RHSA-2024:9541);
//! - RHSA-2099:0001 (updateinfo) with CVE-2099-1111 and CVE-2099-2222 for curl and libcurl
//!   (both built from curl) 7.76.1-29.el9;
//! - RHSA-2099:0002 (updateinfo) with CVE-2099-3333 for openssl-libs-1:3.0.7-27.el9 (built
//!   from openssl).
//!
//! Tools: rpm, rpmbuild (rpm).

use crate::advisories_csaf::{fixture, rhel_root, EXPAT, REPO_TO_CPE};
use crate::harness::{PackageSpec, TestRoot};
use rpmdb::root::Root;
use security_advisories::{AdvisoryArgs, Options};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="release-engineering@redhat.com" status="final" type="security" version="1">
    <id>RHSA-2099:0001</id><title>Important: curl security update</title><severity>Important</severity>
    <release>Red Hat Enterprise Linux 9</release>
    <issued date="2099-01-02 00:00:00"/><updated date="2099-01-02 00:00:00"/>
    <references>
      <reference href="https://access.redhat.com/security/cve/CVE-2099-1111" id="CVE-2099-1111" type="cve"/>
      <reference href="https://access.redhat.com/security/cve/CVE-2099-2222" id="CVE-2099-2222" type="cve"/>
    </references>
    <pkglist><collection short="">
      <package name="curl" version="7.76.1" release="30.el9" epoch="0" arch="x86_64"><filename>curl-7.76.1-30.el9.x86_64.rpm</filename></package>
      <package name="libcurl" version="7.76.1" release="30.el9" epoch="0" arch="x86_64"><filename>libcurl-7.76.1-30.el9.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="release-engineering@redhat.com" status="final" type="security" version="1">
    <id>RHSA-2099:0002</id><title>Moderate: openssl security update</title><severity>Moderate</severity>
    <release>Red Hat Enterprise Linux 9</release>
    <issued date="2099-01-03 00:00:00"/><updated date="2099-01-03 00:00:00"/>
    <references>
      <reference href="https://access.redhat.com/security/cve/CVE-2099-3333" id="CVE-2099-3333" type="cve"/>
    </references>
    <pkglist><collection short="">
      <package name="openssl-libs" version="3.0.7" release="28.el9" epoch="1" arch="x86_64"><filename>openssl-libs-3.0.7-28.el9.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
"#;

/// The root and the files of its feeds.
struct Case {
    root: TestRoot,
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let specs = [
            PackageSpec::new("expat", "2.5.0", "2.el9"),
            PackageSpec::new("curl", "7.76.1", "29.el9"),
            PackageSpec::new("libcurl", "7.76.1", "29.el9").source_name("curl"),
            PackageSpec::new("openssl-libs", "3.0.7", "27.el9")
                .epoch(1)
                .source_name("openssl"),
        ];
        let sets = ["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"];
        let root = rhel_root("9.5", &specs, Some(&sets), false);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("updateinfo.xml"), UPDATEINFO).unwrap();
        Case { root, dir }
    }

    /// A `--vex` file of this case.
    fn file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        fs::write(&p, content).unwrap();
        p
    }

    fn scan(&self, vex: &[&Path]) -> atomic_protocol::Outcome {
        let options = Options {
            advisory: AdvisoryArgs {
                updateinfo: vec![self.dir.path().join("updateinfo.xml")],
                csaf_vex: vec![fixture(EXPAT)],
                repository_to_cpe: Some(fixture(REPO_TO_CPE)),
                vex: vex.iter().map(|p| p.to_path_buf()).collect(),
                ..AdvisoryArgs::default()
            },
            ..Options::default()
        };
        security_advisories::scan(&Root::new(self.root.path()).unwrap(), "security", &options)
            .unwrap_or_else(|e| panic!("{}", e.0))
    }
}

/// `Vulnerabilities`: advisory (or CVE) → the installed packages it lists.
fn findings(o: &atomic_protocol::Outcome) -> BTreeMap<String, Vec<String>> {
    o.vulnerabilities
        .iter()
        .map(|v| {
            let packages = v.custom["Packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["Installed"].as_str().unwrap().to_string())
                .collect();
            (v.custom["Advisory"].as_str().unwrap().to_string(), packages)
        })
        .collect()
}

fn expected(rows: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    rows.iter()
        .map(|(id, pkgs)| (id.to_string(), pkgs.iter().map(|p| p.to_string()).collect()))
        .collect()
}

const EXPAT_PKG: &str = "expat-2.5.0-2.el9.x86_64";
const CURL_PKG: &str = "curl-7.76.1-29.el9.x86_64";
const LIBCURL_PKG: &str = "libcurl-7.76.1-29.el9.x86_64";
const OPENSSL_PKG: &str = "openssl-libs-1:3.0.7-27.el9.x86_64";

fn baseline() -> BTreeMap<String, Vec<String>> {
    expected(&[
        ("CVE-2024-50602", &[EXPAT_PKG]),
        ("RHSA-2099:0001", &[CURL_PKG, LIBCURL_PKG]),
        ("RHSA-2099:0002", &[OPENSSL_PKG]),
    ])
}

/// `Suppressed`: (advisory, CVE, package, status, justification, statement, source file name,
/// finding).
fn suppressed(o: &atomic_protocol::Outcome) -> Vec<[String; 8]> {
    let s = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    o.scan_results["Suppressed"]
        .as_array()
        .unwrap_or_else(|| panic!("no Suppressed list: {:#}", o.scan_results))
        .iter()
        .map(|e| {
            let file = Path::new(e["Source"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            [
                s(&e["Advisory"]),
                s(&e["CVE"]),
                s(&e["Package"]),
                s(&e["Status"]),
                s(&e["Justification"]),
                s(&e["Statement"]),
                file,
                s(&e["Finding"]),
            ]
        })
        .collect()
}

fn row(a: &str, cve: &str, pkg: &str, justification: &str, statement: &str, file: &str, finding: &str) -> [String; 8] {
    [a, cve, pkg, "not_affected", justification, statement, file, finding].map(str::to_string)
}

fn warnings(o: &atomic_protocol::Outcome) -> Vec<(String, String)> {
    o.scan_results["Warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["Kind"].as_str().unwrap().to_string(),
                w["Message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An OpenVEX v0.2.0 document of the image's author with these statements.
fn openvex(statements: Value) -> String {
    serde_json::to_string_pretty(&json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/app-image-2099-001",
        "author": "Example Builds <builds@example.com>",
        "timestamp": "2099-01-05T12:00:00.000000000Z",
        "version": 1,
        "tooling": "written by hand",
        "statements": statements,
    }))
    .unwrap()
}

/// The image itself, whose subcomponents the statements name.
fn image_product(subcomponents: &[&str]) -> Value {
    json!([{
        "@id": "pkg:oci/app@sha256%3A0b8c4b7a5e3f?repository_url=quay.io/example/app",
        "subcomponents": subcomponents.iter().map(|p| json!({"@id": p})).collect::<Vec<_>>(),
    }])
}

const EXPAT_STATEMENT: &str = "The application never parses untrusted XML.";

/// The statements that suppress: expat's CVE, both of libcurl's, one of curl's two.
fn suppressing_statements() -> Value {
    json!([
        {
            "vulnerability": {"name": "CVE-2024-50602"},
            "products": image_product(&["pkg:rpm/redhat/expat@2.5.0-2.el9?arch=x86_64"]),
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
            "impact_statement": EXPAT_STATEMENT,
        },
        {
            // The source package: curl and libcurl, both built from it.
            "vulnerability": {"name": "GHSA-0000-1111-2222", "aliases": ["CVE-2099-1111"]},
            "products": image_product(&["pkg:rpm/redhat/curl?arch=src"]),
            "status": "not_affected",
            "justification": "vulnerable_code_not_present",
        },
        {
            "vulnerability": {"name": "CVE-2099-2222"},
            "products": [{"@id": "pkg:rpm/redhat/libcurl@7.76.1-29.el9"}],
            "status": "not_affected",
            "justification": "vulnerable_code_cannot_be_controlled_by_adversary",
            "impact_statement": "libcurl is only given fixed URLs.",
        },
    ])
}

/// Statements that name the installed packages' CVEs but suppress nothing: another version,
/// epoch, arch, CVE or package, or a status other than not_affected.
fn statements_that_suppress_nothing() -> Value {
    let na = |cve: &str, purl: &str| {
        json!({"vulnerability": {"name": cve}, "products": [{"@id": purl}], "status": "not_affected",
               "justification": "component_not_present"})
    };
    json!([
        na("CVE-2099-3333", "pkg:rpm/redhat/openssl-libs@3.0.7-26.el9?epoch=1"),
        na("CVE-2099-3333", "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?epoch=2"),
        na("CVE-2099-3333", "pkg:rpm/redhat/openssl-libs?arch=aarch64"),
        na("CVE-2099-3333", "pkg:rpm/redhat/openssl-devel"),
        na("CVE-2099-9999", "pkg:rpm/redhat/openssl-libs"),
        na("CVE-2024-50602", "pkg:rpm/redhat/expat@2.5.0-3.el9_5.1"),
        {"vulnerability": {"name": "CVE-2024-50602"}, "products": [{"@id": "pkg:rpm/redhat/expat"}],
         "status": "affected", "action_statement": "Update expat."},
        {"vulnerability": {"name": "CVE-2099-1111"}, "products": [{"@id": "pkg:rpm/redhat/curl"}],
         "status": "under_investigation"},
        {"vulnerability": {"name": "CVE-2099-2222"}, "products": [{"@id": "pkg:rpm/redhat/curl"}],
         "status": "fixed"},
    ])
}

#[test]
fn openvex_not_affected_statements_suppress_exactly_the_findings_they_match() {
    let case = Case::new();
    let without = case.scan(&[]);
    assert_eq!(findings(&without), baseline(), "{:#}", without.scan_results);
    assert!(without.scan_results.get("Suppressed").is_none());
    assert!(!without.summary.contains("VEX statements"), "{}", without.summary);

    let vex = case.file("app.openvex.json", openvex(suppressing_statements()));
    let o = case.scan(&[&vex]);
    // expat's finding is gone; libcurl's package is gone from RHSA-2099:0001, curl stays
    // with CVE-2099-1111 declared not affected; openssl-libs is untouched.
    assert_eq!(
        findings(&o),
        expected(&[("RHSA-2099:0001", &[CURL_PKG]), ("RHSA-2099:0002", &[OPENSSL_PKG])]),
        "{:#}",
        o.scan_results
    );
    let file = "app.openvex.json";
    assert_eq!(
        suppressed(&o),
        [
            row(
                "CVE-2024-50602",
                "CVE-2024-50602",
                EXPAT_PKG,
                "vulnerable_code_not_in_execute_path",
                EXPAT_STATEMENT,
                file,
                "suppressed"
            ),
            row(
                "RHSA-2099:0001",
                "CVE-2099-1111",
                LIBCURL_PKG,
                "vulnerable_code_not_present",
                "null",
                file,
                "kept for its other packages or CVEs"
            ),
            row(
                "RHSA-2099:0001",
                "CVE-2099-2222",
                LIBCURL_PKG,
                "vulnerable_code_cannot_be_controlled_by_adversary",
                "libcurl is only given fixed URLs.",
                file,
                "kept for its other packages or CVEs"
            ),
        ]
    );
    let curl = o
        .vulnerabilities
        .iter()
        .find(|v| v.custom["Advisory"] == "RHSA-2099:0001")
        .unwrap();
    let declared = curl.custom["Declared Not Affected"].as_array().unwrap();
    assert_eq!(declared.len(), 1, "{declared:?}");
    assert_eq!(
        (&declared[0]["CVE"], &declared[0]["Package"]),
        (&json!("CVE-2099-1111"), &json!(CURL_PKG))
    );
    assert_eq!(curl.custom["CVEs"], json!(["CVE-2099-1111", "CVE-2099-2222"]));
    assert!(
        o.summary.starts_with(
            "2 security advisories apply to the image (1 Important, 1 Moderate), fixing 3 CVEs; 1 finding and 1 \
             package of a finding that still applies suppressed by the image's VEX statements."
        ),
        "{}",
        o.summary
    );
    assert_eq!(
        o.scan_results["VEX Files"],
        json!([{"Source": vex.display().to_string(), "Format": "openvex", "Statements": 3}])
    );
    assert!(warnings(&o).is_empty(), "{:?}", warnings(&o));
    // The advisories list of Scan Results is Vulnerabilities'.
    assert_eq!(o.scan_results["Advisories"].as_array().unwrap().len(), 2);
}

#[test]
fn statements_for_other_packages_versions_cves_or_statuses_suppress_nothing() {
    let case = Case::new();
    let vex = case.file("nothing.openvex.json", openvex(statements_that_suppress_nothing()));
    let o = case.scan(&[&vex]);
    assert_eq!(findings(&o), baseline(), "{:#}", o.scan_results);
    assert!(suppressed(&o).is_empty());
    assert!(o
        .vulnerabilities
        .iter()
        .all(|v| v.custom.get("Declared Not Affected").is_none()));
    assert!(
        o.summary
            .contains("; 0 findings suppressed by the image's VEX statements."),
        "{}",
        o.summary
    );
    assert_eq!(o.scan_results["VEX Files"][0]["Statements"], 9);
    assert!(warnings(&o).is_empty(), "{:?}", warnings(&o));

    // The control: the affected statement on expat, made not_affected, does suppress; so does
    // the newer of two statements, whichever comes first in the file.
    let mut statements = statements_that_suppress_nothing();
    statements[6]["status"] = json!("not_affected");
    statements[6]["justification"] = json!("component_not_present");
    let vex = case.file("control.openvex.json", openvex(statements));
    let o = case.scan(&[&vex]);
    assert!(!findings(&o).contains_key("CVE-2024-50602"), "{:#}", o.scan_results);
    assert_eq!(findings(&o).len(), 2);

    let newer_affected = json!([
        {"vulnerability": {"name": "CVE-2099-3333"}, "products": [{"@id": "pkg:rpm/redhat/openssl"}],
         "status": "affected", "timestamp": "2099-02-01T00:00:00Z"},
        {"vulnerability": {"name": "CVE-2099-3333"}, "products": [{"@id": "pkg:rpm/redhat/openssl"}],
         "status": "not_affected", "justification": "component_not_present", "timestamp": "2099-01-01T00:00:00Z"},
    ]);
    let vex = case.file("newer.openvex.json", openvex(newer_affected));
    let o = case.scan(&[&vex]);
    assert_eq!(findings(&o), baseline(), "the newer statement (affected) decides");
}

/// A CSAF 2.0 VEX document of the image's author: openssl-libs known_not_affected for
/// CVE-2099-3333 (a `product_version` branch with its purl, joined to the image product by a
/// relationship), expat known_affected for CVE-2024-50602.
fn csaf_vex() -> String {
    let openssl = "openssl-libs-1:3.0.7-27.el9.x86_64";
    let joint = format!("app-image:{openssl}");
    serde_json::to_string_pretty(&json!({
        "document": {
            "category": "csaf_vex",
            "csaf_version": "2.0",
            "title": "VEX statements for the app image",
            "notes": [{"category": "summary", "title": "About", "text": "What the app image's author knows of its RPMs."}],
            "publisher": {"category": "vendor", "name": "Example Builds", "namespace": "https://example.com"},
            "tracking": {
                "id": "EXAMPLE-VEX-2099-0001",
                "status": "final",
                "version": "1",
                "initial_release_date": "2099-01-06T00:00:00+00:00",
                "current_release_date": "2099-01-06T00:00:00+00:00",
                "revision_history": [{"date": "2099-01-06T00:00:00+00:00", "number": "1", "summary": "Initial version"}],
                "generator": {"engine": {"name": "hand"}}
            }
        },
        "product_tree": {
            "branches": [{
                "category": "vendor", "name": "Example",
                "branches": [
                    {"category": "product_name", "name": "app image",
                     "product": {"name": "app image", "product_id": "app-image",
                                 "product_identification_helper": {"purl": "pkg:oci/app?repository_url=quay.io/example/app"}}},
                    {"category": "product_version", "name": openssl,
                     "product": {"name": openssl, "product_id": openssl,
                                 "product_identification_helper": {"purl": "pkg:rpm/redhat/openssl-libs@3.0.7-27.el9?arch=x86_64&epoch=1"}}},
                    {"category": "product_version", "name": "expat",
                     "product": {"name": "expat", "product_id": "expat",
                                 "product_identification_helper": {"purl": "pkg:rpm/redhat/expat"}}}
                ]
            }],
            "relationships": [{
                "category": "default_component_of",
                "full_product_name": {"name": "openssl-libs in the app image", "product_id": joint},
                "product_reference": openssl,
                "relates_to_product_reference": "app-image"
            }]
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2099-3333",
                "product_status": {"known_not_affected": [joint]},
                "flags": [{"label": "inline_mitigations_already_exist", "product_ids": [joint]}],
                "threats": [{"category": "impact", "details": "The image disables the affected cipher.", "product_ids": [joint]}]
            },
            {
                "cve": "CVE-2024-50602",
                "product_status": {"known_affected": ["expat"]},
                "remediations": [{"category": "vendor_fix", "details": "Update expat.", "product_ids": ["expat"]}]
            }
        ]
    }))
    .unwrap()
}

#[test]
fn csaf_vex_known_not_affected_suppresses_and_files_add_up() {
    let case = Case::new();
    let csaf = case.file("app.csaf.json", csaf_vex());
    let o = case.scan(&[&csaf]);
    assert_eq!(
        findings(&o),
        expected(&[
            ("CVE-2024-50602", &[EXPAT_PKG]),
            ("RHSA-2099:0001", &[CURL_PKG, LIBCURL_PKG]),
        ]),
        "{:#}",
        o.scan_results
    );
    assert_eq!(
        suppressed(&o),
        [row(
            "RHSA-2099:0002",
            "CVE-2099-3333",
            OPENSSL_PKG,
            "inline_mitigations_already_exist",
            "The image disables the affected cipher.",
            "app.csaf.json",
            "suppressed"
        )]
    );
    assert!(
        o.summary
            .contains("; 1 finding suppressed by the image's VEX statements."),
        "{}",
        o.summary
    );
    assert_eq!(o.scan_results["VEX Files"][0]["Format"], "csaf");
    assert_eq!(o.scan_results["VEX Files"][0]["Statements"], 2);

    // Both documents: each suppresses what it declares, except that the CSAF document's
    // known_affected for expat (current_release_date 2099-01-06) is newer than the OpenVEX
    // not_affected (timestamp 2099-01-05), so it decides and expat's finding stays.
    let openvex = case.file("app.openvex.json", openvex(suppressing_statements()));
    let o = case.scan(&[&openvex, &csaf]);
    assert_eq!(
        findings(&o),
        expected(&[("CVE-2024-50602", &[EXPAT_PKG]), ("RHSA-2099:0001", &[CURL_PKG])]),
        "{:#}",
        o.scan_results
    );
    let gone: Vec<(String, String)> = suppressed(&o).into_iter().map(|[a, c, ..]| (a, c)).collect();
    assert_eq!(
        gone,
        [
            ("RHSA-2099:0001", "CVE-2099-1111"),
            ("RHSA-2099:0001", "CVE-2099-2222"),
            ("RHSA-2099:0002", "CVE-2099-3333"),
        ]
        .map(|(a, c)| (a.to_string(), c.to_string()))
    );
    assert!(
        o.summary.contains(
            "; 1 finding and 1 package of a finding that still applies suppressed by the image's VEX statements."
        ),
        "{}",
        o.summary
    );
}

#[test]
fn a_broken_vex_file_is_a_named_warning_and_suppresses_nothing() {
    let case = Case::new();
    let whole = openvex(suppressing_statements());
    let truncated = case.file("truncated.openvex.json", &whole[..whole.len() / 2]);
    let wrong_type = case.file(
        "wrong-type.openvex.json",
        whole.replace("\"status\": \"not_affected\"", "\"status\": 1"),
    );
    let not_vex = case.file("sbom.json", r#"{"bomFormat": "CycloneDX", "specVersion": "1.5"}"#);
    let missing = case.dir.path().join("missing.json");
    let o = case.scan(&[&truncated, &wrong_type, &not_vex, &missing]);
    assert_eq!(findings(&o), baseline(), "{:#}", o.scan_results);
    assert!(suppressed(&o).is_empty());
    let w = warnings(&o);
    assert_eq!(w.len(), 4, "{w:?}");
    for ((kind, message), (file, why)) in w.iter().zip([
        ("truncated.openvex.json", "not JSON"),
        ("wrong-type.openvex.json", "not an OpenVEX document: invalid type"),
        ("sbom.json", "neither an OpenVEX document"),
        ("missing.json", "cannot read"),
    ]) {
        assert_eq!(kind, "vex-file-error");
        assert!(message.contains(file) && message.contains(why), "{message}");
        assert!(message.ends_with("none of its statements are used"), "{message}");
    }
    let files = o.scan_results["VEX Files"].as_array().unwrap();
    assert!(files.iter().all(|f| f.get("Error").is_some()), "{files:?}");
    assert!(o.custom.as_ref().unwrap()["Warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with("vex-file-error: ")));

    // A broken file beside a good one: the good one still counts.
    let good = case.file("app.openvex.json", whole.clone());
    let o = case.scan(&[&truncated, &good]);
    assert_eq!(findings(&o).len(), 2);
    assert_eq!(warnings(&o).len(), 1);

    // An earlier @context: a warning, and the statements still count.
    let old = case.file(
        "old.openvex.json",
        whole.replace("https://openvex.dev/ns/v0.2.0", "https://openvex.dev/ns/v0.0.1"),
    );
    let o = case.scan(&[&old]);
    assert_eq!(findings(&o).len(), 2);
    let w = warnings(&o);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].0, "vex-unknown-context");
    assert!(w[0].1.contains("https://openvex.dev/ns/v0.0.1"), "{}", w[0].1);
}
