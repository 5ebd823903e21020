//! The CSAF VEX path against Debian's `dnf updateinfo list --security` (issue 17's
//! differential): for the fixed CVEs of the real documents (cve-2024-50602 expat: RHSA-2024:9541,
//! :9502, :11200; cve-2023-2454 PostgreSQL: RHSA-2023:3714, :4327, :4527, :4535, :4539, :5269),
//! an updateinfo.xml in the shape Red Hat's repositories publish, written here from the VEX
//! document itself — for each RHSA, exactly the packages and EVRs the document's `fixed`
//! entries name for it in the image's products (x86_64, i686, noarch builds; module RHSAs in a
//! collection naming their module stream, with a modules.yaml listing the same builds) — is
//! put in a repository by the real `createrepo_c` and `modifyrepo_c`, and dnf is run on the
//! same root (built by the real `rpm`, module streams enabled in `/etc/dnf/modules.d` as dnf
//! leaves them). The set of (RHSA, fixed NEVRA) dnf prints must equal the set of (`Fixed By`,
//! `Fixed`) of the packages our CSAF path reports `fixed`, over roots before the fixes, at
//! them, newer, and mixed, main stream, module streams and EUS.
//!
//! What the VEX documents do not say, written here: the module streams' `version` and
//! `context` (the same in the updateinfo, modules.yaml and the installed MODULARITYLABELs),
//! each module RHSA's stream (the stream of its postgresql build's version), titles and dates.
//!
//! Tools: rpm, rpmbuild (rpm), createrepo_c and modifyrepo_c (createrepo-c), dnf (dnf).

use crate::advisories_csaf::{doc, options, rhel_root, scan, EXPAT};
use crate::advisories_csaf_postgresql::{pkg, POSTGRESQL};
use crate::harness::advisory::{advisory_repo, dnf_updateinfo};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// A module stream as the repository and the root carry it.
struct Stream {
    rhsa: &'static str,
    name: &'static str,
    stream: &'static str,
    version: &'static str,
    context: &'static str,
}

/// The module RHSAs of cve-2023-2454 and their streams (the version of each RHSA's postgresql
/// build: 10.23, 12.15, 13.11, 15.3), with a version and context written here.
const STREAMS: &[Stream] = &[
    Stream {
        rhsa: "RHSA-2023:4539",
        name: "postgresql",
        stream: "10",
        version: "8080020230613092232",
        context: "c0ffee10",
    },
    Stream {
        rhsa: "RHSA-2023:4535",
        name: "postgresql",
        stream: "12",
        version: "8080020230613100405",
        context: "c0ffee12",
    },
    Stream {
        rhsa: "RHSA-2023:4527",
        name: "postgresql",
        stream: "13",
        version: "8080020230613094527",
        context: "c0ffee13",
    },
    Stream {
        rhsa: "RHSA-2023:5269",
        name: "postgresql",
        stream: "15",
        version: "8080020230607093837",
        context: "c0ffee15",
    },
    Stream {
        rhsa: "RHSA-2023:4327",
        name: "postgresql",
        stream: "15",
        version: "9020020230601160416",
        context: "rhel9",
    },
];

fn stream_of(rhsa: &str) -> Option<&'static Stream> {
    STREAMS.iter().find(|s| s.rhsa == rhsa)
}

/// `NAME:STREAM:VERSION:CONTEXT` of a stream, as a module build's MODULARITYLABEL.
fn label(rhsa: &str) -> String {
    let s = stream_of(rhsa).unwrap();
    format!("{}:{}:{}:{}", s.name, s.stream, s.version, s.context)
}

/// (name, epoch, version, release, arch).
type Build = (String, String, String, String, String);

/// (advisory id, NEVRA) pairs.
type Pairs = BTreeSet<(String, String)>;

fn cpe5(cpe: &str) -> String {
    cpe.split(':').take(5).collect::<Vec<_>>().join(":")
}

/// RHSA → (name, epoch, version, release, arch) of every build a document's `fixed` entries
/// name for it in products of these CPEs (first five parts), binary builds of x86_64 repos.
fn rhsa_builds(doc: &Value, cpes: &[&str]) -> BTreeMap<String, BTreeSet<Build>> {
    let image: BTreeSet<String> = cpes.iter().map(|c| cpe5(c)).collect();
    let mut products = BTreeMap::new();
    let mut purls = BTreeMap::new();
    let mut stack: Vec<&Value> = doc["product_tree"]["branches"].as_array().unwrap().iter().collect();
    while let Some(b) = stack.pop() {
        if let Some(p) = b.get("product") {
            let id = p["product_id"].as_str().unwrap().to_string();
            let helper = &p["product_identification_helper"];
            if let Some(cpe) = helper["cpe"].as_str() {
                products.insert(id.clone(), cpe.to_string());
            }
            if let Some(purl) = helper["purl"].as_str() {
                purls.insert(id, purl.to_string());
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
    let mut out: BTreeMap<String, BTreeSet<_>> = BTreeMap::new();
    for v in doc["vulnerabilities"].as_array().unwrap() {
        let fixed: BTreeSet<&str> = v["product_status"]["fixed"]
            .as_array()
            .map(|a| a.iter().map(|i| i.as_str().unwrap()).collect())
            .unwrap_or_default();
        for r in v["remediations"].as_array().unwrap() {
            if r["category"] != "vendor_fix" {
                continue;
            }
            let rhsa = r["url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            for id in r["product_ids"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()) {
                let (component, product) = &joints[id];
                if !fixed.contains(id) || !image.contains(&cpe5(&products[product])) {
                    continue;
                }
                // pkg:rpm/redhat/NAME@V-R?arch=A[&epoch=E]
                let purl = &purls[component];
                let rest = purl.strip_prefix("pkg:rpm/redhat/").unwrap();
                let (nv, q) = rest.split_once('?').unwrap();
                let (name, vr) = nv.split_once('@').unwrap();
                let vr = vr.replace("%2B", "+");
                let (version, release) = vr.rsplit_once('-').unwrap();
                let mut arch = "";
                let mut epoch = "0";
                for kv in q.split('&') {
                    if let Some(a) = kv.strip_prefix("arch=") {
                        arch = a;
                    }
                    if let Some(e) = kv.strip_prefix("epoch=") {
                        epoch = e;
                    }
                }
                if ["x86_64", "i686", "noarch"].contains(&arch) {
                    out.entry(rhsa.clone()).or_default().insert((
                        name.to_string(),
                        epoch.to_string(),
                        version.to_string(),
                        release.to_string(),
                        arch.to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// The updateinfo.xml and modules.yaml of a repository carrying these RHSAs of `cve`.
fn repository_metadata(docs: &[(&Value, &str)], cpes: &[&str], release: &str) -> (String, String) {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n");
    let mut modules = String::new();
    for (doc, cve) in docs {
        let severity = doc["document"]["aggregate_severity"]["text"].as_str().unwrap();
        for (rhsa, builds) in rhsa_builds(doc, cpes) {
            let first = &builds.iter().next().unwrap().0;
            let stream = stream_of(&rhsa);
            let what = stream
                .map(|s| format!("{}:{}", s.name, s.stream))
                .unwrap_or(first.clone());
            write!(
                xml,
                r#"  <update from="release-engineering@redhat.com" status="final" type="security" version="1">
    <id>{rhsa}</id>
    <title>{severity}: {what} security update</title>
    <issued date="2024-01-01 00:00:00"/>
    <updated date="2024-01-01 00:00:00"/>
    <rights>Copyright 2024 Red Hat Inc</rights>
    <release>{release}</release>
    <pushcount>1</pushcount>
    <severity>{severity}</severity>
    <summary>An update for {what} is now available.</summary>
    <description>Security fix for {cve}.</description>
    <solution>For details on how to apply this update, refer to Red Hat's documentation.</solution>
    <references>
      <reference href="https://access.redhat.com/errata/{rhsa}" id="{rhsa}" title="{rhsa}" type="self"/>
      <reference href="https://access.redhat.com/security/cve/{cve}" id="{cve}" title="{cve}" type="cve"/>
    </references>
    <pkglist>
      <collection short="">
        <name>{release}</name>
"#
            )
            .unwrap();
            if let Some(s) = stream {
                writeln!(
                    xml,
                    r#"        <module name="{}" stream="{}" version="{}" context="{}" arch="x86_64"/>"#,
                    s.name, s.stream, s.version, s.context
                )
                .unwrap();
                write!(
                    modules,
                    "---\ndocument: modulemd\nversion: 2\ndata:\n  name: {}\n  stream: \"{}\"\n  version: {}\n  \
                     context: {}\n  arch: x86_64\n  summary: {} module\n  description: {} {} as Red Hat ships it\n  \
                     license:\n    module:\n    - MIT\n  artifacts:\n    rpms:\n",
                    s.name, s.stream, s.version, s.context, s.name, s.name, s.stream
                )
                .unwrap();
                for (n, e, v, r, a) in &builds {
                    writeln!(modules, "    - {n}-{e}:{v}-{r}.{a}").unwrap();
                }
                modules.push_str("...\n");
            }
            for (n, e, v, r, a) in &builds {
                writeln!(
                    xml,
                    r#"        <package name="{n}" version="{v}" release="{r}" epoch="{e}" arch="{a}"><filename>{n}-{v}-{r}.{a}.rpm</filename></package>"#
                )
                .unwrap();
            }
            xml.push_str("      </collection>\n    </pkglist>\n  </update>\n");
        }
    }
    xml.push_str("</updates>\n");
    (xml, modules)
}

/// One root: its os-release VERSION_ID, content sets, the CPEs those sets map to (the
/// products whose RHSAs its repositories carry), packages `(name, evr, source, RHSA of the
/// module stream it is installed from)`, and the module stream enabled in modules.d.
struct Case {
    what: &'static str,
    version_id: &'static str,
    sets: &'static [&'static str],
    cpes: &'static [&'static str],
    packages: &'static [(&'static str, &'static str, &'static str, Option<&'static str>)],
    enabled: Option<&'static str>,
}

fn pair(id: &str, nevra: &str) -> (String, String) {
    (id.to_string(), nevra.to_string())
}

/// Our CSAF path and dnf on one case: both sets, after checking dnf saw the repository.
fn both(case: &Case) -> (Pairs, Pairs) {
    let specs: Vec<_> = case
        .packages
        .iter()
        .map(|(n, e, s, m)| pkg(n, e, s, m.map(label).as_deref()))
        .collect();
    let root = rhel_root(case.version_id, &specs, Some(case.sets), false);
    if let Some(rhsa) = case.enabled {
        let s = stream_of(rhsa).unwrap();
        root.write_file(
            format!("/etc/dnf/modules.d/{}.module", s.name),
            format!(
                "[{0}]\nname={0}\nstream={1}\nprofiles=\nstate=enabled\n",
                s.name, s.stream
            ),
        );
    }
    let major = case.version_id.split('.').next().unwrap();
    let (expat, postgresql) = (doc(EXPAT), doc(POSTGRESQL));
    let (xml, modules) = repository_metadata(
        &[(&expat, "CVE-2024-50602"), (&postgresql, "CVE-2023-2454")],
        case.cpes,
        &format!("Red Hat Enterprise Linux {major}"),
    );
    let repo = tempfile::tempdir().unwrap();
    advisory_repo(
        repo.path(),
        &[],
        &xml,
        (!modules.is_empty()).then_some(modules.as_str()),
    );
    let theirs = dnf_updateinfo(&root, repo.path(), major, &["--security"]);

    let o = scan(&root, &options(&[EXPAT, POSTGRESQL], true)).unwrap();
    let mut mine = BTreeSet::new();
    for a in o.scan_results["Advisories"].as_array().unwrap() {
        for p in a["Packages"].as_array().unwrap() {
            if p["Status"] == "fixed" {
                mine.insert(pair(p["Fixed By"].as_str().unwrap(), p["Fixed"].as_str().unwrap()));
            }
        }
    }
    (mine, theirs)
}

const RHEL9_SETS: &[&str] = &["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"];
const RHEL9_CPES: &[&str] = &[
    "cpe:/o:redhat:enterprise_linux:9::baseos",
    "cpe:/a:redhat:enterprise_linux:9::appstream",
];
const RHEL8_SETS: &[&str] = &["rhel-8-for-x86_64-baseos-rpms", "rhel-8-for-x86_64-appstream-rpms"];
const RHEL8_CPES: &[&str] = &[
    "cpe:/o:redhat:enterprise_linux:8::baseos",
    "cpe:/a:redhat:enterprise_linux:8::appstream",
];

#[test]
fn fixed_cves_equal_dnf_updateinfo_list_security() {
    let cases = [
        Case {
            what: "RHEL 9 main stream, mixed: before, at and after the fixes",
            version_id: "9.5",
            sets: RHEL9_SETS,
            cpes: RHEL9_CPES,
            packages: &[
                ("expat", "2.5.0-2.el9", "expat", None),
                ("expat-devel", "2.5.0-3.el9_5.1", "expat", None),
                ("postgresql", "13.10-1.el9", "postgresql", None),
                ("postgresql-server", "13.11-1.el9_2", "postgresql", None),
                ("postgresql-contrib", "13.14-1.el9_3", "postgresql", None),
            ],
            enabled: None,
        },
        Case {
            what: "RHEL 9, postgresql:15 before its module fix",
            version_id: "9.5",
            sets: RHEL9_SETS,
            cpes: RHEL9_CPES,
            packages: &[
                (
                    "postgresql",
                    "15.2-1.module+el9.2.0+1+d0000004",
                    "postgresql",
                    Some("RHSA-2023:4327"),
                ),
                (
                    "postgresql-server",
                    "15.2-1.module+el9.2.0+1+d0000004",
                    "postgresql",
                    Some("RHSA-2023:4327"),
                ),
            ],
            enabled: Some("RHSA-2023:4327"),
        },
        Case {
            what: "RHEL 8, expat before its fix, postgresql:12 before and at its fix",
            version_id: "8.10",
            sets: RHEL8_SETS,
            cpes: RHEL8_CPES,
            packages: &[
                ("expat", "2.2.5-15.el8", "expat", None),
                (
                    "postgresql",
                    "12.14-1.module+el8.7.0+1+a0000001",
                    "postgresql",
                    Some("RHSA-2023:4535"),
                ),
                (
                    "postgresql-server",
                    "12.15-1.module+el8.8.0+19427+d1071523",
                    "postgresql",
                    Some("RHSA-2023:4535"),
                ),
                (
                    "pg_repack",
                    "1.4.6-3.module+el8.5.0+11354+78b3c9c5",
                    "pg_repack",
                    Some("RHSA-2023:4535"),
                ),
            ],
            enabled: Some("RHSA-2023:4535"),
        },
        Case {
            what: "RHEL 8, postgresql:10 before its fix",
            version_id: "8.10",
            sets: RHEL8_SETS,
            cpes: RHEL8_CPES,
            packages: &[
                (
                    "postgresql",
                    "10.21-2.module+el8.6.0+1+b0000002",
                    "postgresql",
                    Some("RHSA-2023:4539"),
                ),
                ("expat", "2.2.5-16.el8_10", "expat", None),
            ],
            enabled: Some("RHSA-2023:4539"),
        },
        Case {
            what: "RHEL 8, at every fix or newer: nothing",
            version_id: "8.10",
            sets: RHEL8_SETS,
            cpes: RHEL8_CPES,
            packages: &[
                ("expat", "2.2.5-17.el8_10", "expat", None),
                (
                    "postgresql",
                    "13.11-1.module+el8.8.0+19081+0a277c66",
                    "postgresql",
                    Some("RHSA-2023:4527"),
                ),
                (
                    "postgresql-server",
                    "13.12-1.module+el8.9.0+1+e0000005",
                    "postgresql",
                    Some("RHSA-2023:4527"),
                ),
            ],
            enabled: Some("RHSA-2023:4527"),
        },
        Case {
            what: "RHEL 9.4 EUS: the EUS stream's own fix",
            version_id: "9.4",
            sets: &[
                "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_4",
                "rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_4",
            ],
            cpes: &[
                "cpe:/o:redhat:rhel_eus:9.4::baseos",
                "cpe:/a:redhat:rhel_eus:9.4::appstream",
            ],
            packages: &[("expat", "2.5.0-2.el9", "expat", None)],
            enabled: None,
        },
    ];
    let mut listed = 0;
    for case in &cases {
        let (mine, theirs) = both(case);
        assert_eq!(
            mine, theirs,
            "{}: ours (left) and dnf updateinfo list --security (right)",
            case.what
        );
        listed += theirs.len();
    }
    // Facts of dnf's answers, so that the oracle cannot pass by seeing nothing.
    let (_, rhel9) = both(&cases[0]);
    assert_eq!(
        rhel9,
        [
            pair("RHSA-2023:3714", "postgresql-13.11-1.el9_2.x86_64"),
            pair("RHSA-2024:9541", "expat-2.5.0-3.el9_5.1.x86_64"),
        ]
        .into()
    );
    let (_, rhel8) = both(&cases[2]);
    assert_eq!(
        rhel8,
        [
            pair(
                "RHSA-2023:4535",
                "postgresql-12.15-1.module+el8.8.0+19427+d1071523.x86_64"
            ),
            pair("RHSA-2024:9502", "expat-2.2.5-16.el8_10.x86_64"),
        ]
        .into()
    );
    let (_, eus) = both(&cases[5]);
    assert_eq!(eus, [pair("RHSA-2024:11200", "expat-2.5.0-2.el9_4.2.x86_64")].into());
    assert!(listed >= 7, "{listed}");
}
