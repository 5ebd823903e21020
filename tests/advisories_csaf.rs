//! security-advisories on Red Hat's CSAF VEX documents (tests/fixtures/vex, CC BY 4.0) and
//! roots built with the real `rpm` whose packages carry the names and EVRs the documents name.
//!
//! Every expected finding is written out with the line of the fixture that decides it, and is
//! also checked against [`oracle`]: a plain reading of the JSON with `serde_json::Value` in this
//! file (not the scanner's reader), comparing EVRs with rpm's order.
//!
//! - cve-2024-50602 (expat): fixed for RHEL 9 main stream (RHSA-2024:9541), RHEL 9.4 EUS
//!   (RHSA-2024:11200) and RHEL 8 (RHSA-2024:9502); known_affected for RHEL 7 expat ("Out of
//!   support scope") and RHEL 8 mingw-expat ("Will not fix").
//! - cve-2024-0208 (wireshark): known_not_affected for RHEL 6–9.
//! - repository-to-cpe-excerpt.json: the RHEL 7/8/9 and UBI 8/9 x86_64 entries of Red Hat's
//!   repository-to-cpe.json, unchanged.
//!
//! Tools: rpm, rpmbuild (rpm), tar, zstd (the whole-feed archive).

use crate::harness;

use harness::{build_rpms, require_tool, PackageSpec, TestRoot};
use rpmdb::root::Root;
use rpmdb::version::Evr;
use security_advisories::{AdvisoryArgs, MinSeverity, Options};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

pub(crate) const EXPAT: &str = "tests/fixtures/vex/cve-2024-50602.json";
pub(crate) const WIRESHARK: &str = "tests/fixtures/vex/cve-2024-0208.json";
pub(crate) const REPO_TO_CPE: &str = "tests/fixtures/vex/repository-to-cpe-excerpt.json";

pub(crate) fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A RHEL root with these packages, an os-release and (maybe) content sets (advisories_author_vex
/// builds its roots with it too).
pub(crate) fn rhel_root(
    version_id: &str,
    specs: &[PackageSpec],
    content_sets: Option<&[&str]>,
    old_layout: bool,
) -> TestRoot {
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(specs, &work.path().join("rpms"));
    rhel_root_of(version_id, &rpms, content_sets, old_layout)
}

/// [`rhel_root`] with these already built `.rpm` files (signed ones, for OVAL).
pub(crate) fn rhel_root_of(
    version_id: &str,
    rpms: &[PathBuf],
    content_sets: Option<&[&str]>,
    old_layout: bool,
) -> TestRoot {
    let root = TestRoot::new();
    root.install(rpms, &[]);
    let major = version_id.split('.').next().unwrap();
    root.write_file(
        "/etc/os-release",
        format!(
            "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"{version_id}\"\n\
             PRETTY_NAME=\"Red Hat Enterprise Linux {version_id}\"\n\
             CPE_NAME=\"cpe:/o:redhat:enterprise_linux:{major}::baseos\"\n"
        ),
    );
    if let Some(sets) = content_sets {
        let json = serde_json::json!({
            "metadata": {"icm_version": 1, "image_layer_index": 0},
            "content_sets": sets,
            "image_contents": [],
        });
        let path = if old_layout {
            "/root/buildinfo/content_manifests/ubi-container-1-1.json"
        } else {
            "/usr/share/buildinfo/content-sets.json"
        };
        root.write_file(path, serde_json::to_vec_pretty(&json).unwrap());
    }
    root
}

pub(crate) fn options(sources: &[&str], mapping: bool) -> Options {
    Options {
        advisory: AdvisoryArgs {
            csaf_vex: sources.iter().map(|s| fixture(s)).collect(),
            repository_to_cpe: mapping.then(|| fixture(REPO_TO_CPE)),
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    }
}

pub(crate) fn scan(root: &TestRoot, options: &Options) -> Result<atomic_protocol::Outcome, String> {
    security_advisories::scan(&Root::new(root.path()).unwrap(), "security", options).map_err(|e| e.0)
}

/// Per finding: CVE → [(installed, status, fixed by, fixed)], as the result shows them.
pub(crate) type Shown = BTreeMap<String, Vec<(String, String, Option<String>, Option<String>)>>;

pub(crate) fn shown(o: &atomic_protocol::Outcome) -> Shown {
    let mut out = Shown::new();
    for a in o.scan_results["Advisories"].as_array().unwrap() {
        let pkgs = a["Packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["Installed"].as_str().unwrap().to_string(),
                    p["Status"].as_str().unwrap().to_string(),
                    p["Fixed By"].as_str().map(str::to_string),
                    p.get("Fixed EVR").and_then(Value::as_str).map(str::to_string),
                )
            })
            .collect();
        out.insert(a["Advisory"].as_str().unwrap().to_string(), pkgs);
    }
    out
}

/// An installed package as the oracle sees it: name, EVR, arch, source name, and the
/// `MODULE:STREAM` of its MODULARITYLABEL for a module build.
pub(crate) struct Inst<'a>(pub &'a str, pub &'a str, pub &'a str, pub &'a str, pub Option<&'a str>);

/// A VEX document's product tree read plainly: each `product_name`'s CPE, each
/// `product_version`'s purl (none in older documents), and each relationship's joint id →
/// (component id, product id). The test oracles' one reading of it.
pub(crate) struct PlainTree {
    pub products: BTreeMap<String, String>,
    pub versions: BTreeMap<String, Option<String>>,
    pub joints: BTreeMap<String, (String, String)>,
}

pub(crate) fn plain_tree(doc: &Value) -> PlainTree {
    let mut products = BTreeMap::new();
    let mut versions = BTreeMap::new();
    let mut stack: Vec<&Value> = doc["product_tree"]["branches"].as_array().unwrap().iter().collect();
    while let Some(b) = stack.pop() {
        if let Some(p) = b.get("product") {
            let id = p["product_id"].as_str().unwrap().to_string();
            let helper = &p["product_identification_helper"];
            match b["category"].as_str() {
                Some("product_name") => {
                    products.insert(id, helper["cpe"].as_str().unwrap().to_string());
                }
                Some("product_version") => {
                    versions.insert(id, helper["purl"].as_str().map(str::to_string));
                }
                _ => {}
            }
        }
        if let Some(bs) = b.get("branches").and_then(Value::as_array) {
            stack.extend(bs);
        }
    }
    let mut joints = BTreeMap::new();
    for r in doc["product_tree"]["relationships"].as_array().unwrap() {
        joints.insert(
            r["full_product_name"]["product_id"].as_str().unwrap().to_string(),
            (
                r["product_reference"].as_str().unwrap().to_string(),
                r["relates_to_product_reference"].as_str().unwrap().to_string(),
            ),
        );
    }
    PlainTree {
        products,
        versions,
        joints,
    }
}

pub(crate) fn cpe5(cpe: &str) -> String {
    cpe.split(':').take(5).collect::<Vec<_>>().join(":")
}

/// A component as the oracle reads it: (name, `V-R` of a fixed purl, arch, `MODULE:STREAM`).
/// From its purl `pkg:rpm/redhat/NAME[@V-R]?arch=A` (`%2B` is `+`), else from the id:
/// `MODULE:STREAM/NAME`, or the name itself.
fn oracle_component(id: &str, purl: Option<&str>) -> (String, Option<String>, Option<String>, Option<String>) {
    match purl {
        Some(purl) => {
            let rest = purl.strip_prefix("pkg:rpm/redhat/").unwrap();
            let (nv, q) = rest.split_once('?').unwrap_or((rest, ""));
            let (name, vr) = match nv.split_once('@') {
                Some((n, v)) => (n, Some(v.replace("%2B", "+"))),
                None => (nv, None),
            };
            let arch = q.split('&').find_map(|kv| kv.strip_prefix("arch=")).map(str::to_string);
            (name.to_string(), vr, arch, None)
        }
        None => match id.split_once('/') {
            Some((module, name)) if module.contains(':') => (name.to_string(), None, None, Some(module.to_string())),
            _ => (id.to_string(), None, None, None),
        },
    }
}

/// The plain reading of a VEX document for an image of these CPEs (compared on their first
/// five colon-separated fields, `cpe:/o:redhat:enterprise_linux:9`) and these packages:
/// fixed entries by name and arch with an older installed EVR; known_affected by binary or
/// source name, status from the remediation naming the id. No EUS rule here. Module streams:
/// a build whose release has `.module+` only for a package with a stream, and then only when
/// its RHSA's build of the module's own package has the stream's version (`postgresql`
/// 12.15 for `postgresql:12`) or the RHSA has none; a plain build only for a package without
/// one; a `MODULE:STREAM/NAME` component only for packages of that stream.
pub(crate) fn oracle(doc: &Value, image_cpes: &[&str], installed: &[Inst]) -> Shown {
    let image: BTreeSet<String> = image_cpes.iter().map(|c| cpe5(c)).collect();
    let PlainTree {
        products,
        versions,
        joints,
    } = plain_tree(doc);
    let components: BTreeMap<String, _> = versions
        .iter()
        .map(|(id, purl)| (id.clone(), oracle_component(id, purl.as_deref())))
        .collect();
    let mut out = Shown::new();
    for v in doc["vulnerabilities"].as_array().unwrap() {
        let cve = v["cve"].as_str().unwrap().to_string();
        let remediation = |id: &str, cat: &str| {
            v["remediations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["category"] == cat && r["product_ids"].as_array().unwrap().iter().any(|i| i == id))
        };
        let rhsa_of = |id: &str| {
            let url = remediation(id, "vendor_fix").unwrap()["url"].as_str().unwrap();
            url.rsplit('/').next().unwrap().to_string()
        };
        let status = &v["product_status"];
        let ids = |k: &str| -> Vec<String> {
            status
                .get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|i| i.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let in_image = |id: &str| {
            let (c, p) = &joints[id];
            image.contains(&cpe5(&products[p])).then(|| components[c].clone())
        };
        let is_module_build = |vr: &str| vr.contains(".module+");
        // RHSA → (name, version) of the module builds it fixes in the image's products.
        let mut rhsa_builds: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for id in ids("fixed") {
            if let Some((name, Some(vr), _, _)) = in_image(&id) {
                if is_module_build(&vr) {
                    let version = vr.split('-').next().unwrap().to_string();
                    rhsa_builds.entry(rhsa_of(&id)).or_default().push((name, version));
                }
            }
        }
        let mut rows = Vec::new();
        let mut covered = BTreeSet::new();
        let mut fixes: BTreeMap<String, (Evr, String)> = BTreeMap::new();
        for id in ids("fixed") {
            let Some((name, Some(vr), Some(arch), _)) = in_image(&id) else {
                continue;
            };
            let rhsa = rhsa_of(&id);
            for p in installed.iter().filter(|p| p.0 == name && p.2 == arch) {
                let fits = match p.4 {
                    None => !is_module_build(&vr),
                    Some(label) => {
                        let (module, stream) = label.split_once(':').unwrap();
                        let own: Vec<&String> = rhsa_builds
                            .get(&rhsa)
                            .into_iter()
                            .flatten()
                            .filter(|(n, _)| n == module)
                            .map(|(_, v)| v)
                            .collect();
                        is_module_build(&vr)
                            && (own.is_empty()
                                || own.iter().any(|v| *v == stream || v.starts_with(&format!("{stream}."))))
                    }
                };
                if !fits {
                    continue;
                }
                let nevra = format!("{}-{}.{}", p.0, p.1, p.2);
                covered.insert(nevra.clone());
                let fixed = Evr::parse(&vr);
                if Evr::parse(p.1) < fixed {
                    let e = fixes.entry(nevra).or_insert((fixed.clone(), rhsa.clone()));
                    if fixed < e.0 {
                        *e = (fixed, rhsa.clone());
                    }
                }
            }
        }
        for (nevra, (evr, rhsa)) in fixes {
            rows.push((nevra, "fixed".to_string(), Some(rhsa), Some(evr.dnf_text())));
        }
        for id in ids("known_affected") {
            let Some((name, _, _, module)) = in_image(&id) else {
                continue;
            };
            let st = match (remediation(&id, "no_fix_planned"), remediation(&id, "none_available")) {
                (Some(r), _) if r["details"] == "Out of support scope" => "out_of_support",
                (Some(_), _) => "will_not_fix",
                (None, Some(r)) if r["details"] == "Deferred" => "fix_deferred",
                _ => "affected",
            };
            for p in installed.iter().filter(|p| p.0 == name || p.3 == name) {
                if module.is_some() && module.as_deref() != p.4 {
                    continue;
                }
                let nevra = format!("{}-{}.{}", p.0, p.1, p.2);
                if covered.insert(nevra.clone()) {
                    rows.push((nevra, st.to_string(), None, None));
                }
            }
        }
        rows.sort();
        if !rows.is_empty() {
            out.insert(cve, rows);
        }
    }
    out
}

pub(crate) fn doc(p: &str) -> Value {
    serde_json::from_slice(&fs::read(fixture(p)).unwrap()).unwrap()
}

pub(crate) fn row(
    i: &str,
    s: &str,
    by: Option<&str>,
    evr: Option<&str>,
) -> (String, String, Option<String>, Option<String>) {
    (i.into(), s.into(), by.map(str::to_string), evr.map(str::to_string))
}

#[test]
fn rhel9_main_stream_older_expat_is_fixed_by_its_rhsa() {
    let specs = [
        // Older than the fix (line 2014 fixed, line 2146 + 2163 RHSA-2024:9541).
        PackageSpec::new("expat", "2.5.0", "2.el9"),
        // At the fix: nothing.
        PackageSpec::new("expat-devel", "2.5.0", "3.el9_5.1"),
        // Newer than the i686 fix: nothing.
        PackageSpec::new("expat", "2.5.0", "4.el9").arch("i686"),
        // known_not_affected for RHEL 9 (cve-2024-0208 line 250): nothing.
        PackageSpec::new("wireshark-cli", "3.4.10", "7.el9").source_name("wireshark"),
    ];
    let sets = ["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"];
    let root = rhel_root("9.5", &specs, Some(&sets), false);
    let o = scan(&root, &options(&[EXPAT, WIRESHARK], true)).unwrap();
    let expected: Shown = [(
        "CVE-2024-50602".to_string(),
        vec![row(
            "expat-2.5.0-2.el9.x86_64",
            "fixed",
            Some("RHSA-2024:9541"),
            Some("2.5.0-3.el9_5.1"),
        )],
    )]
    .into();
    assert_eq!(shown(&o), expected, "{:#?}", o.scan_results);
    // What the JSON says for the CPEs repository-to-cpe gives these content sets.
    let image = [
        "cpe:/o:redhat:enterprise_linux:9::baseos",
        "cpe:/a:redhat:enterprise_linux:9::appstream",
    ];
    let installed = [
        Inst("expat", "2.5.0-2.el9", "x86_64", "expat", None),
        Inst("expat-devel", "2.5.0-3.el9_5.1", "x86_64", "expat", None),
        Inst("expat", "2.5.0-4.el9", "i686", "expat", None),
        Inst("wireshark-cli", "3.4.10-7.el9", "x86_64", "wireshark", None),
    ];
    let mut theirs = oracle(&doc(EXPAT), &image, &installed);
    theirs.extend(oracle(&doc(WIRESHARK), &image, &installed));
    assert_eq!(shown(&o), theirs);

    let v = &o.vulnerabilities[0];
    assert_eq!(v.severity, "Moderate", "line 2452");
    assert_eq!(v.custom["Status"], "fixed");
    assert_eq!(v.custom["CVSS v3 Score"], "5.9", "line 2328");
    assert_eq!(
        v.custom["CVSS v3 Vector"], "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H",
        "line 2335"
    );
    assert_eq!(v.custom["CWE"], "CWE-754", "line 1896");
    assert_eq!(v.custom["Packages"][0]["Fixed"], "expat-2.5.0-3.el9_5.1.x86_64");
    let products = &o.scan_results["CSAF VEX Products"];
    assert_eq!(products["Method"], "content-sets", "{products:#}");
    assert_eq!(
        products["CPEs"],
        serde_json::json!([
            "cpe:/a:redhat:enterprise_linux:9::appstream",
            "cpe:/o:redhat:enterprise_linux:9::baseos"
        ])
    );
    let sources = o.scan_results["Sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    assert!(sources
        .iter()
        .all(|s| s["Format"] == "csaf-vex" && s["Entries"] == 1 && s.get("Error").is_none()));
    // The newer of the two documents' current_release_date (2024-08-20T16:26:29+00:00 and
    // the expat one).
    let expat_date = doc(EXPAT)["document"]["tracking"]["current_release_date"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        o.cve_feed_last_updated,
        format!("{}Z", &expat_date[..19]),
        "{expat_date}"
    );
    let warnings = o.scan_results["Warnings"].as_array().unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// A RHEL 8.10 root (the older image layout: /root/buildinfo/content_manifests/*.json) with
/// expat older than 2.2.5-16.el8_10 (line 1972; RHSA-2024:9502, line 2192) and mingw32-expat,
/// built from mingw-expat, known_affected for RHEL 8 (line 2033), "Will not fix" (lines
/// 2316-2318): matched through its source-RPM name.
fn rhel8_expat_and_mingw_expat() -> TestRoot {
    let specs = [
        PackageSpec::new("expat", "2.2.5", "15.el8"),
        PackageSpec::new("mingw32-expat", "2.2.5", "3.el8")
            .arch("noarch")
            .source_name("mingw-expat"),
    ];
    let sets = ["rhel-8-for-x86_64-baseos-rpms", "rhel-8-for-x86_64-appstream-rpms"];
    rhel_root("8.10", &specs, Some(&sets), true)
}

#[test]
fn rhel8_will_not_fix_through_the_source_name_and_ignore_unfixed() {
    let root = rhel8_expat_and_mingw_expat();
    let expected: Shown = [(
        "CVE-2024-50602".to_string(),
        vec![
            row(
                "expat-2.2.5-15.el8.x86_64",
                "fixed",
                Some("RHSA-2024:9502"),
                Some("2.2.5-16.el8_10"),
            ),
            row("mingw32-expat-2.2.5-3.el8.noarch", "will_not_fix", None, None),
        ],
    )]
    .into();
    let o = scan(&root, &options(&[EXPAT], true)).unwrap();
    assert_eq!(shown(&o), expected, "{:#?}", o.scan_results);
    let image = [
        "cpe:/o:redhat:enterprise_linux:8::baseos",
        "cpe:/a:redhat:enterprise_linux:8::appstream",
    ];
    let installed = [
        Inst("expat", "2.2.5-15.el8", "x86_64", "expat", None),
        Inst("mingw32-expat", "2.2.5-3.el8", "noarch", "mingw-expat", None),
    ];
    assert_eq!(shown(&o), oracle(&doc(EXPAT), &image, &installed));
    assert_eq!(o.vulnerabilities[0].custom["Status"], "fixed");
    assert_eq!(o.scan_results["CSAF VEX Products"]["Method"], "content-sets");

    // Without the mapping: the os-release's RHEL 8 products, and the result says so.
    let o = scan(&root, &options(&[EXPAT], false)).unwrap();
    assert_eq!(shown(&o), expected);
    let products = &o.scan_results["CSAF VEX Products"];
    assert_eq!(products["Method"], "os-release");
    assert!(
        products["How"].as_str().unwrap().contains("no --repository-to-cpe"),
        "{products:#}"
    );

    // The mapping beside the documents is found without the flag.
    let feed = tempfile::tempdir().unwrap();
    fs::create_dir_all(feed.path().join("2024")).unwrap();
    fs::copy(fixture(EXPAT), feed.path().join("2024/cve-2024-50602.json")).unwrap();
    fs::copy(fixture(REPO_TO_CPE), feed.path().join("repository-to-cpe.json")).unwrap();
    let beside = Options {
        advisory: AdvisoryArgs {
            csaf_vex: vec![feed.path().to_path_buf()],
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let o = scan(&root, &beside).unwrap();
    assert_eq!(shown(&o), expected);
    let products = &o.scan_results["CSAF VEX Products"];
    assert_eq!(products["Method"], "content-sets", "{products:#}");
    assert!(products["How"].as_str().unwrap().contains("repository-to-cpe.json"));
    assert_eq!(
        o.scan_results["Sources"][0]["Entries"], 1,
        "the mapping is not read as a VEX document"
    );
    assert!(o.scan_results["Warnings"].as_array().unwrap().is_empty());

    // --ignore-unfixed keeps only what has a fix.
    let o = scan(&root, &{
        let mut o = options(&[EXPAT], true);
        o.advisory.ignore_unfixed = true;
        o
    })
    .unwrap();
    assert_eq!(
        shown(&o)["CVE-2024-50602"],
        [row(
            "expat-2.2.5-15.el8.x86_64",
            "fixed",
            Some("RHSA-2024:9502"),
            Some("2.2.5-16.el8_10")
        )]
    );
}

#[test]
fn image_scan_shows_why_a_package_has_no_fix_in_its_table_and_page() {
    // Through image-scan: expat is fixed by RHSA-2024:9502 (line 2192), mingw32-expat "Will
    // not fix" (lines 2316-2318); the combined report's table and HTML say so per package.
    let root = rhel8_expat_and_mingw_expat();
    let run = |format: &str| {
        let out = std::process::Command::new(&crate::harness::hostile::scanner_binaries().image_scan)
            .args([
                "--rootfs",
                root.path().to_str().unwrap(),
                "--checks",
                "advisories",
                "--format",
                format,
            ])
            .arg("--csaf-vex")
            .arg(fixture(EXPAT))
            .arg("--repository-to-cpe")
            .arg(fixture(REPO_TO_CPE))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run("table");
    let row = |needle: &str| {
        table
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} row:\n{table}"))
            .to_string()
    };
    assert!(
        row("expat-2.2.5-15.el8.x86_64").contains("expat-2.2.5-16.el8_10.x86_64"),
        "{table}"
    );
    assert!(
        row("mingw32-expat-2.2.5-3.el8.noarch").contains("no fix: will not fix"),
        "{table}"
    );
    let html = run("html");
    assert!(html.contains("no fix: will not fix"), "the page names the status");
    assert!(html.contains(">expat-2.2.5-16.el8_10.x86_64<"), "and the fixed build");
}

#[test]
fn rhel7_expat_is_out_of_support_by_the_os_release() {
    // RHEL 7 expat: known_affected (line 2032), "Out of support scope" (lines 2309-2311). No
    // content sets: the products of os-release VERSION_ID 7.
    let root = rhel_root("7.9", &[PackageSpec::new("expat", "2.1.0", "15.el7_9")], None, false);
    let o = scan(&root, &options(&[EXPAT], true)).unwrap();
    let expected: Shown = [(
        "CVE-2024-50602".to_string(),
        vec![row("expat-2.1.0-15.el7_9.x86_64", "out_of_support", None, None)],
    )]
    .into();
    assert_eq!(shown(&o), expected, "{:#?}", o.scan_results);
    let image = ["cpe:/o:redhat:enterprise_linux:7", "cpe:/a:redhat:enterprise_linux:7"];
    assert_eq!(
        shown(&o),
        oracle(
            &doc(EXPAT),
            &image,
            &[Inst("expat", "2.1.0-15.el7_9", "x86_64", "expat", None)]
        )
    );
    let v = &o.vulnerabilities[0];
    assert_eq!(v.custom["Status"], "out_of_support");
    assert_eq!(v.severity, "Moderate");
    assert_eq!(v.custom["Packages"][0]["Fixed"], "no fix published");
    assert!(o.summary.contains("1 of them has no fix"), "{}", o.summary);
    assert_eq!(o.scan_results["CSAF VEX Products"]["Method"], "os-release");

    let unfixed_dropped = {
        let mut o = options(&[EXPAT], true);
        o.advisory.ignore_unfixed = true;
        o
    };
    assert!(scan(&root, &unfixed_dropped).unwrap().vulnerabilities.is_empty());
    let important = {
        let mut o = options(&[EXPAT], true);
        o.advisory.min_severity = Some(MinSeverity::Important);
        o
    };
    assert!(
        scan(&root, &important).unwrap().vulnerabilities.is_empty(),
        "Moderate is below Important"
    );
}

#[test]
fn an_eus_image_takes_its_own_streams_fix() {
    // The 9.4 EUS content sets map to cpe:/o:redhat:rhel_eus:9.4::baseos: the EUS fix
    // 2.5.0-2.el9_4.2 (line 1993, RHSA-2024:11200 line 2113) decides, not the main stream's
    // newer 2.5.0-3.el9_5.1.
    let sets = [
        "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4",
        "rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_4",
    ];
    let older = rhel_root(
        "9.4",
        &[PackageSpec::new("expat", "2.5.0", "2.el9")],
        Some(&sets),
        false,
    );
    let o = scan(&older, &options(&[EXPAT], true)).unwrap();
    assert_eq!(
        shown(&o)["CVE-2024-50602"],
        [row(
            "expat-2.5.0-2.el9.x86_64",
            "fixed",
            Some("RHSA-2024:11200"),
            Some("2.5.0-2.el9_4.2")
        )],
        "{:#?}",
        o.scan_results
    );
    let image = [
        "cpe:/o:redhat:rhel_eus:9.4::baseos",
        "cpe:/a:redhat:rhel_eus:9.4::appstream",
    ];
    assert_eq!(
        shown(&o),
        oracle(
            &doc(EXPAT),
            &image,
            &[Inst("expat", "2.5.0-2.el9", "x86_64", "expat", None)]
        )
    );
    assert_eq!(
        o.scan_results["CSAF VEX Products"]["Main-stream CPEs also matched where the stream has no fix"],
        serde_json::json!(["cpe:/a:redhat:enterprise_linux:9", "cpe:/o:redhat:enterprise_linux:9"])
    );
    // At the EUS fix: nothing, although the main stream has a newer build.
    let at_fix = rhel_root(
        "9.4",
        &[PackageSpec::new("expat", "2.5.0", "2.el9_4.2")],
        Some(&sets),
        false,
    );
    let o = scan(&at_fix, &options(&[EXPAT], true)).unwrap();
    assert!(o.vulnerabilities.is_empty(), "{:#?}", o.scan_results);
}

#[test]
fn hostile_documents_are_named_errors_and_the_others_still_count() {
    let root = rhel_root(
        "9.5",
        &[PackageSpec::new("expat", "2.5.0", "2.el9")],
        Some(&["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"]),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(fixture(EXPAT)).unwrap();
    let truncated = dir.path().join("2024/cve-truncated.json");
    fs::create_dir_all(truncated.parent().unwrap()).unwrap();
    fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    let wrong_type = dir.path().join("2024/cve-wrong-type.json");
    fs::write(
        &wrong_type,
        text.replacen("\"known_affected\": [", "\"known_affected\": 7, \"x\": [", 1),
    )
    .unwrap();
    let huge = dir.path().join("2024/cve-huge.json");
    let f = fs::File::create(&huge).unwrap();
    f.set_len(security_advisories::csaf::document::MAX_DOCUMENT_BYTES + 1)
        .unwrap();
    drop(f);
    // Many branches, all empty: read, judged, nothing applies.
    let mut wide = String::from(r#"{"document": {"category": "csaf_vex"}, "product_tree": {"branches": ["#);
    for i in 0..200_000 {
        if i > 0 {
            wide.push(',');
        }
        wide.push_str(r#"{"category": "product_version", "name": "x"}"#);
    }
    wide.push_str("]}, \"vulnerabilities\": [{\"cve\": \"CVE-0000-0001\"}]}");
    fs::write(dir.path().join("wide.json"), wide).unwrap();
    fs::copy(fixture(EXPAT), dir.path().join("2024/cve-2024-50602.json")).unwrap();
    fs::write(dir.path().join("README.txt"), "not a document").unwrap();

    let opts = Options {
        advisory: AdvisoryArgs {
            csaf_vex: vec![dir.path().to_path_buf()],
            repository_to_cpe: Some(fixture(REPO_TO_CPE)),
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let o = scan(&root, &opts).unwrap();
    assert_eq!(
        shown(&o)["CVE-2024-50602"],
        [row(
            "expat-2.5.0-2.el9.x86_64",
            "fixed",
            Some("RHSA-2024:9541"),
            Some("2.5.0-3.el9_5.1")
        )]
    );
    let source = &o.scan_results["Sources"][0];
    assert_eq!(source["Entries"], 2, "{source:#}");
    assert!(source.get("Error").is_none());
    let warnings: Vec<String> = o.scan_results["Warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["Kind"] == "csaf-document-error")
        .map(|w| w["Message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    let find = |name: &str| {
        warnings
            .iter()
            .find(|w| w.contains(name))
            .unwrap_or_else(|| panic!("{name}: {warnings:#?}"))
    };
    assert!(
        find("cve-truncated.json").contains("EOF while parsing"),
        "{warnings:#?}"
    );
    assert!(
        find("cve-wrong-type.json").contains("invalid type: integer `7`"),
        "{warnings:#?}"
    );
    assert!(
        find("cve-huge.json").contains("larger than 134217728 bytes"),
        "{warnings:#?}"
    );

    // A single hostile file is a failed source, named in the result; alone, a failed scan.
    let only_bad = Options {
        advisory: AdvisoryArgs {
            csaf_vex: vec![truncated.clone()],
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let e = scan(&root, &only_bad).unwrap_err();
    assert!(
        e.contains("cve-truncated.json") && e.contains("EOF while parsing"),
        "{e}"
    );
    let mixed = Options {
        advisory: AdvisoryArgs {
            csaf_vex: vec![truncated, fixture(EXPAT)],
            repository_to_cpe: Some(fixture(REPO_TO_CPE)),
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let o = scan(&root, &mixed).unwrap();
    assert!(o.scan_results["Sources"][0]["Error"]
        .as_str()
        .unwrap()
        .contains("EOF while parsing"));
    assert!(o.summary.contains("could not be read to the end"), "{}", o.summary);
    assert_eq!(shown(&o).len(), 1);
}

#[test]
fn an_image_that_is_not_rhel_gets_a_named_error() {
    let root = rhel_root("9.5", &[PackageSpec::new("expat", "2.5.0", "2.el9")], None, false);
    root.write_file(
        "/etc/os-release",
        "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.5\"\n",
    );
    let e = scan(&root, &options(&[EXPAT], true)).unwrap_err();
    assert!(e.contains("does not name Red Hat Enterprise Linux"), "{e}");
}

/// The reader, the product tree index and the judgement on the real document cut short and
/// with bytes changed, through the public API the fuzz target (fuzz/fuzz_targets/csaf_vex.rs)
/// uses: errors or findings, never a panic.
#[test]
fn mutated_documents_never_panic() {
    use security_advisories::csaf::{document, judge, platform::Platform, products::ProductIndex};
    use security_advisories::finding::Selection;
    use security_advisories::installed::{InstalledIndex, InstalledPackage};
    let package = |name: &str, evr: &str, arch: &str, source: &str| InstalledPackage {
        name: name.into(),
        evr: Evr::parse(evr),
        arch: arch.into(),
        nvra: format!("{name}-{evr}.{arch}"),
        key_id: None,
        modularity_label: None,
        source_name: Some(source.into()),
    };
    let installed = InstalledIndex::from_packages([
        package("expat", "2.5.0-2.el9", "x86_64", "expat"),
        package("mingw32-expat", "2.2.5-3.el8", "noarch", "mingw-expat"),
    ]);
    let sources = judge::SourceIndex::of(&installed);
    let platform = Platform::from_cpes(
        vec![
            "cpe:/o:redhat:enterprise_linux:9::baseos".into(),
            "cpe:/o:redhat:enterprise_linux:8".into(),
        ],
        "test",
        String::new(),
    );
    let cx = judge::Context {
        installed: &installed,
        sources: &sources,
        platform: &platform,
        selection: Selection {
            all_types: false,
            min_severity: None,
        },
        ignore_unfixed: false,
        source: "t",
        document: "t",
    };
    let original = fs::read(fixture(EXPAT)).unwrap();
    let (mut parsed, mut refused) = (0, 0);
    let mut judge_one = |bytes: &[u8]| match document::parse(bytes) {
        Ok(doc) => {
            parsed += 1;
            let mut findings = BTreeMap::new();
            judge::judge(&doc, &ProductIndex::of(&doc.product_tree), &cx, &mut findings);
        }
        Err(e) => {
            refused += 1;
            assert!(!e.to_string().is_empty());
        }
    };
    let step = original.len() / 150;
    for cut in (0..original.len()).step_by(step) {
        judge_one(&original[..cut]);
    }
    // Digits, quotes and brackets changed: other EVRs, other ids, broken structure.
    for (i, pos) in (0..original.len()).step_by(step / 2 + 1).enumerate() {
        let mut m = original.clone();
        m[pos] = [b'9', b'"', b']', b'{', b':', b'0'][i % 6];
        judge_one(&m);
    }
    judge_one(&original);
    assert!(parsed > 10 && refused > 100, "parsed {parsed}, refused {refused}");
}

/// Red Hat's whole-feed archive layout (`csaf_vex_<date>.tar.zst` holding `YEAR/cve-….json`),
/// made by tar and zstd themselves: read as a stream, the same answer as the directory; cut
/// short, a named source error after the documents before the cut.
#[test]
fn the_whole_feed_archive_is_read_as_a_stream() {
    let root = rhel_root(
        "9.5",
        &[PackageSpec::new("expat", "2.5.0", "2.el9")],
        Some(&["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"]),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    fs::create_dir_all(tree.join("2024")).unwrap();
    fs::copy(fixture(WIRESHARK), tree.join("2024/cve-2024-0208.json")).unwrap();
    fs::copy(fixture(EXPAT), tree.join("2024/cve-2024-50602.json")).unwrap();
    fs::write(
        tree.join("index.txt"),
        "2024/cve-2024-0208.json\n2024/cve-2024-50602.json\n",
    )
    .unwrap();
    let tar_path = dir.path().join("csaf_vex_2025-02-12.tar");
    let st = std::process::Command::new(require_tool("tar"))
        .arg("-C")
        .arg(&tree)
        .args(["-cf"])
        .arg(&tar_path)
        // Named one by one: this order in the archive (a directory is listed in readdir order).
        .args(["2024/cve-2024-0208.json", "2024/cve-2024-50602.json", "index.txt"])
        .status()
        .unwrap();
    assert!(st.success());
    let st = std::process::Command::new(require_tool("zstd"))
        .args(["-q", "-k", "-f"])
        .arg(&tar_path)
        .status()
        .unwrap();
    assert!(st.success());
    let zst = dir.path().join("csaf_vex_2025-02-12.tar.zst");
    let expected = [row(
        "expat-2.5.0-2.el9.x86_64",
        "fixed",
        Some("RHSA-2024:9541"),
        Some("2.5.0-3.el9_5.1"),
    )];
    for archive in [&zst, &tar_path] {
        let o = scan(
            &root,
            &Options {
                advisory: AdvisoryArgs {
                    csaf_vex: vec![archive.clone()],
                    repository_to_cpe: Some(fixture(REPO_TO_CPE)),
                    ..AdvisoryArgs::default()
                },
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(shown(&o)["CVE-2024-50602"], expected, "{}", archive.display());
        let source = &o.scan_results["Sources"][0];
        assert_eq!(source["Entries"], 2, "{source:#}");
        assert!(source.get("Error").is_none(), "{source:#}");
        let document = o.vulnerabilities[0].custom["VEX Document"].as_str().unwrap();
        assert!(
            document.ends_with(".tar.zst!2024/cve-2024-50602.json")
                || document.ends_with(".tar!2024/cve-2024-50602.json"),
            "{document}"
        );
    }
    // Cut inside the second document: the first (wireshark) still read, the source failed
    // by name, and with it the scan (its only source).
    let bytes = fs::read(&tar_path).unwrap();
    // Header, wireshark (padded to 512), header, 4 KiB of expat.
    let wireshark = fs::metadata(fixture(WIRESHARK)).unwrap().len() as usize;
    let at = 512 + wireshark.div_ceil(512) * 512 + 512 + 4096;
    let cut = dir.path().join("cut.tar");
    fs::write(&cut, &bytes[..at]).unwrap();
    let opts = Options {
        advisory: AdvisoryArgs {
            csaf_vex: vec![cut.clone(), fixture(WIRESHARK)],
            repository_to_cpe: Some(fixture(REPO_TO_CPE)),
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let o = scan(&root, &opts).unwrap();
    let error = o.scan_results["Sources"][0]["Error"].as_str().unwrap();
    assert!(
        error.contains("cut short") && error.contains("after 1 documents"),
        "{error}"
    );
    assert!(o.summary.contains("could not be read to the end"), "{}", o.summary);
}

/// Layers given as directories (containers-storage's `diff` folders), for an image built in
/// memory by rootfs' own ImageTree.
struct DirLayers(Vec<PathBuf>);

impl rpmdb::root::image::LayerSource for DirLayers {
    fn open(&self, index: usize) -> std::io::Result<rpmdb::root::image::LayerStream> {
        Ok(rpmdb::root::image::LayerStream::Dir(self.0[index].clone()))
    }
}

/// On an image, each package of a finding names the layer that installed it: the base layer
/// (wireshark-cli: nothing applies) and the layer that added expat (fixed by RHSA-2024:9541).
#[test]
fn on_an_image_each_package_names_its_install_layer() {
    use rpmdb::root::image::{BuildOptions, ImageTree, LayerInfo};
    let sets = ["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"];
    let base_pkg = PackageSpec::new("wireshark-cli", "3.4.10", "7.el9").source_name("wireshark");
    let expat = PackageSpec::new("expat", "2.5.0", "2.el9");
    let base = rhel_root("9.5", std::slice::from_ref(&base_pkg), Some(&sets), false);
    let top = rhel_root("9.5", &[base_pkg, expat], Some(&sets), false);
    let infos = vec![
        LayerInfo {
            index: 0,
            digest: format!("sha256:{:064}", 0),
            created_by: Some("ADD ubi9 base".into()),
        },
        LayerInfo {
            index: 1,
            digest: format!("sha256:{:064}", 1),
            created_by: Some("RUN dnf install -y expat".into()),
        },
    ];
    let tree = ImageTree::build(
        "test image",
        infos,
        std::sync::Arc::new(DirLayers(vec![base.path().to_path_buf(), top.path().to_path_buf()])),
        &BuildOptions::default(),
    )
    .unwrap();
    let root = Root::from_image(std::sync::Arc::new(tree));
    let o = security_advisories::scan(&root, "security", &options(&[EXPAT, WIRESHARK], true)).unwrap();
    let pkgs = o.vulnerabilities[0].custom["Packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 1, "{:#?}", o.scan_results);
    assert_eq!(pkgs[0]["Installed"], "expat-2.5.0-2.el9.x86_64");
    assert_eq!(pkgs[0]["Fixed By"], "RHSA-2024:9541");
    let layer = &pkgs[0]["Installed By Layer"];
    // Counted from 1 in the result: the second layer.
    assert_eq!(layer["Index"], 2, "{layer:#}");
    assert_eq!(layer["Digest"], format!("sha256:{:064}", 1));
    assert!(
        layer["Created By"].as_str().unwrap().contains("dnf install -y expat"),
        "{layer:#}"
    );
}

/// An updateinfo in the shape Red Hat's repositories publish, for the RHSA the VEX document
/// names as the RHEL 9 fix of CVE-2024-50602 (written here; not a fixture).
fn updateinfo_for(rhsa: &str, cve: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="release-engineering@redhat.com" status="final" type="security" version="1">
    <id>{rhsa}</id><title>Moderate: expat security update</title><severity>Moderate</severity>
    <release>Red Hat Enterprise Linux 9</release>
    <issued date="2024-11-12 00:00:00"/><updated date="2024-11-12 00:00:00"/>
    <references><reference href="https://access.redhat.com/security/cve/{cve}" id="{cve}" type="cve"/></references>
    <pkglist><collection short="">
      <package name="expat" version="2.5.0" release="3.el9_5.1" epoch="0" arch="x86_64"><filename>expat-2.5.0-3.el9_5.1.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
"#
    )
}

/// updateinfo and VEX agreeing on a fix (same RHSA, the CVE, the installed package): one
/// finding, the RHSA, with both sources named. Disagreeing (another CVE): both are listed.
#[test]
fn updateinfo_and_vex_on_the_same_fix_make_one_finding() {
    let sets = ["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"];
    let root = rhel_root(
        "9.5",
        &[PackageSpec::new("expat", "2.5.0", "2.el9")],
        Some(&sets),
        false,
    );
    let dir = tempfile::tempdir().unwrap();
    let same = dir.path().join("updateinfo-same.xml");
    fs::write(&same, updateinfo_for("RHSA-2024:9541", "CVE-2024-50602")).unwrap();
    let other = dir.path().join("updateinfo-other.xml");
    fs::write(&other, updateinfo_for("RHSA-2024:9541", "CVE-2099-0001")).unwrap();
    let with = |feed: &Path| {
        let mut o = options(&[EXPAT], true);
        o.advisory.updateinfo = vec![feed.to_path_buf()];
        o
    };
    let o = scan(&root, &with(&same)).unwrap();
    let ids: Vec<&str> = o
        .vulnerabilities
        .iter()
        .map(|v| v.custom["Advisory"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["RHSA-2024:9541"], "{:#?}", o.scan_results);
    let sources: Vec<&str> = o.vulnerabilities[0].custom["Source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
    assert!(
        sources.iter().any(|s| s.ends_with("updateinfo-same.xml")),
        "{sources:?}"
    );
    assert!(
        sources.iter().any(|s| s.ends_with("cve-2024-50602.json")),
        "{sources:?}"
    );

    let o = scan(&root, &with(&other)).unwrap();
    let mut ids: Vec<&str> = o
        .vulnerabilities
        .iter()
        .map(|v| v.custom["Advisory"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["CVE-2024-50602", "RHSA-2024:9541"]);
}
