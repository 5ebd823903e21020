//! The CSAF VEX path against Debian's `dnf updateinfo list --security` and against the OVAL v2
//! path (issue 17's differential): for the fixed CVEs of the real documents (cve-2024-50602
//! expat: RHSA-2024:9541, :9502, :11200; cve-2023-2454 PostgreSQL: RHSA-2023:3714, :4327, :4527,
//! :4535, :4539, :5269), the metadata Red Hat publishes for each RHSA is written here from the
//! VEX document itself — for each RHSA, exactly the packages and EVRs the document's `fixed`
//! entries name for it in the image's products (x86_64, i686, noarch builds):
//!
//! - an updateinfo.xml in the shape of Red Hat's repositories (module RHSAs in a collection
//!   naming their module stream, with a modules.yaml listing the same builds), put in a
//!   repository by the real `createrepo_c` and `modifyrepo_c`, for dnf;
//! - an OVAL document whose definitions have the shape of Red Hat's (the criteria, tests,
//!   objects and states of tests/fixtures/advisories/rhsa-2020-1980-oval, and OVAL v2's
//!   "Module NAME:STREAM is enabled" textfilecontent54 test on /etc/dnf/modules.d), for our
//!   OVAL path and for OpenSCAP.
//!
//! dnf, `oscap oval eval` and both our paths run on the same root (built by the real `rpm`, a
//! `redhat-release` owning /etc/redhat-release, module streams enabled in
//! `/etc/dnf/modules.d` as dnf leaves them). The set of (RHSA, fixed NEVRA) dnf prints must
//! equal the (`Fixed By`, `Fixed`) of the packages our CSAF path reports `fixed`, and the
//! (`Advisory`, `Fixed`) of our OVAL path; the RHSAs of the definitions OpenSCAP finds true
//! must be those our OVAL path reports — over roots before the fixes, at them, newer, and
//! mixed, main stream, module streams and EUS.
//!
//! What the VEX documents do not say, written here: the module streams' `version` and
//! `context` (the same in the updateinfo, modules.yaml and the installed MODULARITYLABELs),
//! each module RHSA's stream (the stream of its postgresql build's version), titles and dates;
//! and the signing key: no Red Hat-signed build of these packages is in the fixtures, so the
//! packages are signed here with a throw-away key (the harness's `rpmsign`) and the
//! definitions' "signed with Red Hat redhatrelease2 key" states name that key's id instead of
//! 199e2f91fd431d51, as advisories_oval.rs does for CentOS's curl.
//!
//! Tools: rpm, rpmbuild, rpmsign (rpm), gpg, gpg-agent (gnupg), createrepo_c and modifyrepo_c
//! (createrepo-c), dnf (dnf), oscap (openscap-scanner).

use crate::advisories_csaf::{cpe5, doc, options, plain_tree, rhel_root_of, scan, PlainTree, EXPAT};
use crate::advisories_csaf_postgresql::{pkg, POSTGRESQL};
use crate::harness::advisory::{advisory_repo, dnf_updateinfo, oscap_eval};
use crate::harness::sign::{SignOptions, SigningKey};
use crate::harness::{build_rpms, FileSpec, PackageSpec};
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

/// RHSA → (name, epoch, version, release, arch) of every build a document's `fixed` entries
/// name for it in products of these CPEs (first five parts), binary builds of x86_64 repos.
fn rhsa_builds(doc: &Value, cpes: &[&str]) -> BTreeMap<String, BTreeSet<Build>> {
    let image: BTreeSet<String> = cpes.iter().map(|c| cpe5(c)).collect();
    let PlainTree {
        products,
        versions,
        joints,
    } = plain_tree(doc);
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
                let purl = versions[component].as_ref().expect("a fixed component has a purl");
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

/// An OVAL document with one definition per RHSA, in the shape of Red Hat's (see the module
/// comment), its signature states naming `key_id`.
fn oval_document(docs: &[(&Value, &str)], cpes: &[&str], major: &str, key_id: &str) -> String {
    const LINUX: &str = "http://oval.mitre.org/XMLSchema/oval-definitions-5#linux";
    const IND: &str = "http://oval.mitre.org/XMLSchema/oval-definitions-5#independent";
    let (mut definitions, mut tests, mut objects, mut states) =
        (String::new(), String::new(), String::new(), String::new());
    for (doc, cve) in docs {
        let severity = doc["document"]["aggregate_severity"]["text"].as_str().unwrap();
        for (rhsa, builds) in rhsa_builds(doc, cpes) {
            // RHSA-2024:9541 → 20249541, Red Hat's id numbers.
            let num: String = rhsa.chars().filter(char::is_ascii_digit).collect();
            let id = |kind: &str, n: usize| format!("oval:com.redhat.rhsa:{kind}:{num}{n:03}");
            let stream = stream_of(&rhsa);
            let what = stream
                .map(|s| format!("{}:{}", s.name, s.stream))
                .unwrap_or(builds.iter().next().unwrap().0.clone());
            // The release guards: tests 1 and 2, object 1, states 1 and 2.
            write!(
                tests,
                r#"<rpmverifyfile_test id="{}" version="635" comment="Red Hat Enterprise Linux {major} is installed" check="at least one" xmlns="{LINUX}">
  <object object_ref="{}" />
    <state state_ref="{}" />
</rpmverifyfile_test>
<rpmverifyfile_test id="{}" version="635" comment="Red Hat Enterprise Linux must be installed" check="none satisfy" xmlns="{LINUX}">
  <object object_ref="{}" />
    <state state_ref="{}" />
</rpmverifyfile_test>
"#,
                id("tst", 1), id("obj", 1), id("ste", 1), id("tst", 2), id("obj", 1), id("ste", 2)
            )
            .unwrap();
            write!(
                objects,
                r#"<rpmverifyfile_object id="{}" version="635" xmlns="{LINUX}">
  <behaviors nolinkto='true' nomd5='true' nosize='true' nouser='true' nogroup='true' nomtime='true' nomode='true' nordev='true' noconfigfiles='true' noghostfiles='true' />
  <name operation="pattern match"/>
  <epoch operation="pattern match"/>
  <version operation="pattern match"/>
  <release operation="pattern match"/>
  <arch operation="pattern match"/>
  <filepath>/etc/redhat-release</filepath>
</rpmverifyfile_object>
"#,
                id("obj", 1)
            )
            .unwrap();
            write!(
                states,
                r#"<rpmverifyfile_state id="{}" version="635" xmlns="{LINUX}">
    <name operation="pattern match">^redhat-release</name>
    <version operation="pattern match">^{major}[^\d]</version>
</rpmverifyfile_state>
<rpmverifyfile_state id="{}" version="635" xmlns="{LINUX}">
    <name operation="pattern match">^redhat-release</name>
</rpmverifyfile_state>
<rpminfo_state id="{}" version="635" xmlns="{LINUX}">
  <signature_keyid  operation="equals">{key_id}</signature_keyid>
</rpminfo_state>
"#,
                id("ste", 1),
                id("ste", 2),
                id("ste", 3)
            )
            .unwrap();
            let mut module_criterion = String::new();
            if let Some(s) = stream {
                module_criterion = format!(
                    "<criterion test_ref=\"{}\" comment=\"Module {}:{} is enabled\" />\n",
                    id("tst", 3),
                    s.name,
                    s.stream
                );
                write!(
                    tests,
                    r#"<textfilecontent54_test id="{}" version="635" comment="Module {}:{} is enabled" check="at least one" xmlns="{IND}">
  <object object_ref="{}" />
  <state state_ref="{}" />
</textfilecontent54_test>
"#,
                    id("tst", 3), s.name, s.stream, id("obj", 2), id("ste", 4)
                )
                .unwrap();
                write!(
                    objects,
                    r#"<textfilecontent54_object id="{}" version="635" xmlns="{IND}">
  <filepath datatype="string" operation="pattern match">/etc/dnf/modules.d/.*\.module</filepath>
  <pattern operation="pattern match">\[{}\][\w\W]*</pattern>
  <instance datatype="int" operation="greater than or equal">1</instance>
</textfilecontent54_object>
"#,
                    id("obj", 2),
                    s.name
                )
                .unwrap();
                write!(
                    states,
                    r#"<textfilecontent54_state id="{}" version="635" xmlns="{IND}">
  <text operation="pattern match">\nstream\s*=\s*{st}\b[\w\W]*\nstate\s*=\s*(enabled|1|true)|\nstate\s*=\s*(enabled|1|true)\b[\w\W]*\nstream\s*=\s*{st}\b</text>
</textfilecontent54_state>
"#,
                    id("ste", 4),
                    st = s.stream.replace('.', "\\.")
                )
                .unwrap();
            }
            // Per package name: "NAME is earlier than E:V-R" (its arches) and "NAME is signed".
            let mut by_name: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
            for (n, e, v, r, a) in &builds {
                by_name
                    .entry((n.clone(), format!("{e}:{v}-{r}")))
                    .or_default()
                    .insert(a.clone());
            }
            let mut package_criteria = String::new();
            for (i, ((name, evr), arches)) in by_name.iter().enumerate() {
                let (t_earlier, t_signed, obj, ste) = (10 + 2 * i, 11 + 2 * i, 10 + i, 10 + i);
                write!(
                    package_criteria,
                    "<criteria operator=\"AND\">\n <criterion test_ref=\"{}\" comment=\"{name} is earlier than {evr}\" /><criterion test_ref=\"{}\" comment=\"{name} is signed with Red Hat redhatrelease2 key\" />\n</criteria>\n",
                    id("tst", t_earlier), id("tst", t_signed)
                )
                .unwrap();
                write!(
                    tests,
                    r#"<rpminfo_test id="{}" version="635" comment="{name} is earlier than {evr}" check='at least one' xmlns='{LINUX}'>
  <object object_ref="{}" />
    <state state_ref="{}" />
</rpminfo_test>
<rpminfo_test id="{}" version="635" comment="{name} is signed with Red Hat redhatrelease2 key" check='at least one' xmlns='{LINUX}'>
  <object object_ref="{}" />
    <state state_ref="{}" />
</rpminfo_test>
"#,
                    id("tst", t_earlier), id("obj", obj), id("ste", ste), id("tst", t_signed), id("obj", obj), id("ste", 3)
                )
                .unwrap();
                write!(
                    objects,
                    "<rpminfo_object id=\"{}\" version=\"635\" xmlns=\"{LINUX}\">\n  <name>{name}</name>\n</rpminfo_object>\n",
                    id("obj", obj)
                )
                .unwrap();
                let arch_pattern = arches.iter().cloned().collect::<Vec<_>>().join("|");
                write!(
                    states,
                    r#"<rpminfo_state id="{}" version="635" xmlns="{LINUX}">
  <arch datatype="string" operation="pattern match">{arch_pattern}</arch>
  <evr datatype="evr_string" operation="less than">{evr}</evr>
</rpminfo_state>
"#,
                    id("ste", ste)
                )
                .unwrap();
            }
            let def_id = format!("oval:com.redhat.rhsa:def:{num}");
            let cpe_list: String = cpes.iter().map(|c| format!("        <cpe>{c}</cpe>\n")).collect();
            write!(
                definitions,
                r#"    <definition id="{}" version="635" class="patch">
      <metadata>
        <title>{rhsa}: {what} security update ({severity})</title>
    <affected family="unix">
          <platform>Red Hat Enterprise Linux {major}</platform>
    </affected>
    <reference source="RHSA" ref_id="{rhsa}" ref_url="https://access.redhat.com/errata/{rhsa}"/>
      <reference source="CVE" ref_id="{cve}" ref_url="https://access.redhat.com/security/cve/{cve}"/>
    <description>An update for {what} is now available.</description>
<advisory from="secalert@redhat.com">
        <severity>{severity}</severity>
        <rights>Copyright 2024 Red Hat, Inc.</rights>
        <issued date="2024-01-01"/>
        <updated date="2024-01-01"/>
        <cve href="https://access.redhat.com/security/cve/{cve}">{cve}</cve>
    <affected_cpe_list>
{cpe_list}    </affected_cpe_list>
</advisory>
      </metadata>
      <criteria operator="OR">
 <criterion test_ref="{}" comment="Red Hat Enterprise Linux must be installed" />
 <criteria operator="AND">
 <criterion test_ref="{}" comment="Red Hat Enterprise Linux {major} is installed" />
{module_criterion} <criteria operator="OR">
{package_criteria} </criteria>
 </criteria>
      </criteria>
    </definition>
"#,
                def_id,
                id("tst", 2),
                id("tst", 1)
            )
            .unwrap();
        }
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>

<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:oval="http://oval.mitre.org/XMLSchema/oval-common-5" xmlns:oval-def="http://oval.mitre.org/XMLSchema/oval-definitions-5" xmlns:unix-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#unix" xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux" xmlns:ind-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <generator>
    <oval:product_name>Red Hat Errata System</oval:product_name>
    <oval:schema_version>5.10.1</oval:schema_version>
    <oval:timestamp>2024-01-01T00:00:00</oval:timestamp>
  </generator>

  <definitions>
{definitions}  </definitions>
  <tests>
{tests}  </tests>
  <objects>
{objects}  </objects>
  <states>
{states}  </states>
</oval_definitions>
"#
    )
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

/// The answers on one case: dnf's, our CSAF path's, our OVAL path's (as (RHSA, fixed NEVRA))
/// and the RHSAs of the definitions OpenSCAP finds true.
struct Answers {
    dnf: Pairs,
    csaf: Pairs,
    oval: Pairs,
    oscap: BTreeSet<String>,
    /// OpenSCAP's verdict on each test, for the message when they differ.
    oscap_tests: BTreeMap<String, String>,
}

/// (`Advisory` or `Fixed By`, `Fixed`) of a result's packages that `keep`.
fn pairs(o: &atomic_protocol::Outcome, by: &str, keep: impl Fn(&Value) -> bool) -> Pairs {
    let mut out = Pairs::new();
    for a in o.scan_results["Advisories"].as_array().unwrap() {
        for p in a["Packages"].as_array().unwrap() {
            if keep(p) {
                let id = if by == "Advisory" { &a[by] } else { &p[by] };
                out.insert(pair(id.as_str().unwrap(), p["Fixed"].as_str().unwrap()));
            }
        }
    }
    out
}

fn answers(case: &Case, key: &SigningKey) -> Answers {
    let major = case.version_id.split('.').next().unwrap();
    let mut specs: Vec<PackageSpec> = case
        .packages
        .iter()
        .map(|(n, e, s, m)| pkg(n, e, s, m.map(label).as_deref()))
        .collect();
    // What OVAL's release guards look for: /etc/redhat-release owned by redhat-release.
    specs.push(
        PackageSpec::new("redhat-release", case.version_id, &format!("1.0.el{major}")).file(FileSpec::regular(
            "/etc/redhat-release",
            format!("Red Hat Enterprise Linux release {} (test)\n", case.version_id),
        )),
    );
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(&specs, &work.path().join("rpms"));
    for r in &rpms {
        // With the legacy header+payload signature too (`--rpmv3`): from the v4 header
        // signature alone OpenSCAP's rpminfo probe finds no key id (every "signed" test false).
        key.sign(
            r,
            &SignOptions {
                rpmv3: true,
                ..SignOptions::default()
            },
        );
    }
    let root = rhel_root_of(case.version_id, &rpms, Some(case.sets), false);
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
    let (expat, postgresql) = (doc(EXPAT), doc(POSTGRESQL));
    let docs = [(&expat, "CVE-2024-50602"), (&postgresql, "CVE-2023-2454")];
    let (xml, modules) = repository_metadata(&docs, case.cpes, &format!("Red Hat Enterprise Linux {major}"));
    let repo = tempfile::tempdir().unwrap();
    advisory_repo(
        repo.path(),
        &[],
        &xml,
        (!modules.is_empty()).then_some(modules.as_str()),
    );
    let dnf = dnf_updateinfo(&root, repo.path(), major, &["--security"]);

    let csaf_outcome = scan(&root, &options(&[EXPAT, POSTGRESQL], true)).unwrap();
    let csaf = pairs(&csaf_outcome, "Fixed By", |p| p["Status"] == "fixed");

    let oval_path = work.path().join("rhsa.oval.xml");
    let oval_xml = oval_document(&docs, case.cpes, major, &key.key_id.to_ascii_lowercase());
    std::fs::write(&oval_path, oval_xml).unwrap();
    let oval_outcome = scan(
        &root,
        &security_advisories::Options {
            advisory: security_advisories::AdvisoryArgs {
                oval: vec![oval_path.clone()],
                ..Default::default()
            },
            ..security_advisories::Options::default()
        },
    )
    .unwrap();
    let oval = pairs(&oval_outcome, "Advisory", |_| true);
    let results = oscap_eval(&root, &oval_path);
    let oscap = results
        .definitions
        .iter()
        .filter(|(_, r)| *r == "true")
        .map(|(id, _)| {
            let num = id.rsplit(':').next().unwrap();
            format!("RHSA-{}:{}", &num[..4], &num[4..])
        })
        .collect();
    Answers {
        dnf,
        csaf,
        oval,
        oscap,
        oscap_tests: results.tests,
    }
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
fn fixed_cves_equal_dnf_updateinfo_list_security_and_the_oval_path() {
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
    let key = SigningKey::generate("rsa2048");
    let all: Vec<Answers> = cases.iter().map(|c| answers(c, &key)).collect();
    let mut listed = 0;
    for (case, a) in cases.iter().zip(&all) {
        assert_eq!(
            a.csaf, a.dnf,
            "{}: our CSAF path (left) and dnf updateinfo list --security (right)",
            case.what
        );
        assert_eq!(a.oval, a.dnf, "{}: our OVAL path (left) and dnf (right)", case.what);
        let rhsas: BTreeSet<String> = a.oval.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(
            rhsas, a.oscap,
            "{}: our OVAL path's RHSAs (left) and oscap's true definitions (right); oscap's tests: {:#?}",
            case.what, a.oscap_tests
        );
        listed += a.dnf.len();
    }
    // Facts of dnf's answers, so that the oracle cannot pass by seeing nothing.
    assert_eq!(
        all[0].dnf,
        [
            pair("RHSA-2023:3714", "postgresql-13.11-1.el9_2.x86_64"),
            pair("RHSA-2024:9541", "expat-2.5.0-3.el9_5.1.x86_64"),
        ]
        .into()
    );
    assert_eq!(
        all[2].dnf,
        [
            pair(
                "RHSA-2023:4535",
                "postgresql-12.15-1.module+el8.8.0+19427+d1071523.x86_64"
            ),
            pair("RHSA-2024:9502", "expat-2.2.5-16.el8_10.x86_64"),
        ]
        .into()
    );
    assert_eq!(
        all[5].dnf,
        [pair("RHSA-2024:11200", "expat-2.5.0-2.el9_4.2.x86_64")].into()
    );
    assert!(listed >= 7, "{listed}");
}
