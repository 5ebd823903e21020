//! OVAL: Red Hat's published OVAL v2 documents (tests/fixtures/advisories) evaluated by
//! security-advisories and by OpenSCAP (`oscap oval eval`, whose probes read the same root
//! through `OSCAP_PROBE_ROOT`) on roots built with the real `rpm`. Every definition and every
//! test must get the same verdict.
//!
//! Roots: a RHEL-like one (a `redhat-release` 8.2 owning /etc/redhat-release) with older,
//! fixed, noarch and i686 builds of the advisory's packages; a CentOS one (the real, signed
//! `centos-release` owns /etc/redhat-release); one where no package owns that file; and the
//! real CentOS-signed `curl` against the RHSA document rewritten for curl and CentOS's key (the
//! only way to have a signature key id that matches: no Red Hat-signed package is in the
//! fixtures).
//!
//! Tools: rpm, rpmbuild (rpm), oscap (openscap-scanner).

use crate::harness;

use harness::advisory::oscap_eval;
use harness::{build_rpms, FileSpec, PackageSpec, TestRoot};
use rpmdb::root::Root;
use security_advisories::installed::{owners_of, InstalledIndex};
use security_advisories::modules::ModuleStates;
use security_advisories::oval::eval::{Evaluator, Tri};
use security_advisories::oval::{parse, OvalDocument};
use security_advisories::{AdvisoryArgs, Options};
use std::collections::BTreeMap;
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

const RHSA: &str = "tests/fixtures/advisories/rhsa-2020-1980-oval/com.redhat.rhsa-20201980.xml";
const UNPATCHED: &str = "tests/fixtures/advisories/rhel8-oval-v2-unpatched-excerpt/rhel-8-rpm-unpatched.xml";
const CENTOS_RELEASE: &str =
    "tests/fixtures/rpms/centos7-centos-release/centos-release-7-2.1511.el7.centos.2.10.x86_64.rpm";
const CENTOS_CURL: &str = "tests/fixtures/rpms/centos7-curl/curl-7.29.0-59.el7.x86_64.rpm";

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn read_doc(path: &Path) -> OvalDocument {
    parse::parse(BufReader::new(fs::File::open(path).unwrap())).unwrap()
}

fn redhat_release(version: &str) -> PackageSpec {
    PackageSpec::new("redhat-release", version, "1.0.el8").file(FileSpec::regular(
        "/etc/redhat-release",
        format!("Red Hat Enterprise Linux release {version} (Ootpa)\n"),
    ))
}

/// A root with these packages built and installed, plus real `.rpm` files.
fn root_with(specs: &[PackageSpec], real: &[&str]) -> TestRoot {
    let work = tempfile::tempdir().unwrap();
    let mut rpms = if specs.is_empty() {
        Vec::new()
    } else {
        build_rpms(specs, &work.path().join("rpms"))
    };
    rpms.extend(real.iter().map(|r| fixture(r)));
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    root
}

fn verdict(t: Tri) -> &'static str {
    match t {
        Tri::True => "true",
        Tri::False => "false",
        Tri::Unknown => "unknown",
    }
}

/// Our verdicts on every definition and every test of `doc` for the root, strict.
fn ours(root: &TestRoot, doc: &OvalDocument, rebuild: bool) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let r = Root::new(root.path()).unwrap();
    let installed = InstalledIndex::read(&r).unwrap();
    let files: Vec<String> = doc.verified_files().into_iter().collect();
    let (owners, errors) = owners_of(&r, &files);
    assert!(errors.is_empty(), "{errors:?}");
    let modules = ModuleStates::default();
    let mut ev = Evaluator::new(doc, &installed, &owners, &modules, rebuild);
    let defs = doc
        .definitions
        .iter()
        .map(|d| (d.id.clone(), verdict(ev.definition(&d.id).result).to_string()))
        .collect();
    let tests = doc
        .tests
        .keys()
        .map(|id| (id.clone(), verdict(ev.test(id).result).to_string()))
        .collect();
    (defs, tests)
}

fn same_as_oscap(root: &TestRoot, path: &Path) -> BTreeMap<String, String> {
    let doc = read_doc(path);
    let theirs = oscap_eval(root, path);
    assert_eq!(
        theirs.definitions.len(),
        doc.definitions.len(),
        "oscap evaluated every definition"
    );
    assert_eq!(theirs.tests.len(), doc.tests.len(), "oscap evaluated every test");
    let (defs, tests) = ours(root, &doc, false);
    assert_eq!(tests, theirs.tests, "test verdicts: ours (left), oscap (right)");
    assert_eq!(
        defs, theirs.definitions,
        "definition verdicts: ours (left), oscap (right)"
    );
    defs
}

fn git_packages() -> Vec<PackageSpec> {
    vec![
        PackageSpec::new("git", "2.18.2", "1.el8"),
        PackageSpec::new("git-core", "2.18.2", "1.el8").arch("i686"),
        PackageSpec::new("perl-Git", "2.18.4", "2.el8_2").arch("noarch"),
        PackageSpec::new("gitk", "2.18.2", "1.el8").arch("noarch"),
        PackageSpec::new("rpm-libs", "4.14.3", "19.el8"),
        PackageSpec::new("rpm", "4.14.3", "19.el8"),
    ]
}

#[test]
fn documents_parse_with_their_metadata() {
    let doc = read_doc(&fixture(RHSA));
    assert_eq!(doc.definitions.len(), 1);
    let d = &doc.definitions[0];
    assert_eq!(d.advisory_id(), "RHSA-2020:1980");
    assert_eq!(d.title, "RHSA-2020:1980: git security update (Important)");
    assert_eq!(d.severity.as_deref(), Some("Important"));
    assert_eq!(d.all_cves(), ["CVE-2020-11008"]);
    assert_eq!(d.platforms, ["Red Hat Enterprise Linux 8"]);
    assert_eq!(doc.timestamp.as_deref(), Some("2020-04-30T14:16:09"));
    // Independent counts of the document's elements.
    let text = fs::read_to_string(fixture(RHSA)).unwrap();
    let count = |needle: &str| text.matches(needle).count();
    assert_eq!(doc.tests.len(), count("<rpminfo_test ") + count("<rpmverifyfile_test "));
    assert_eq!(
        doc.objects.len(),
        count("<rpminfo_object ") + count("<rpmverifyfile_object ")
    );
    assert_eq!(
        doc.states.len(),
        count("<rpminfo_state ") + count("<rpmverifyfile_state ")
    );

    let doc = read_doc(&fixture(UNPATCHED));
    assert_eq!(doc.definitions.len(), 1);
    let d = &doc.definitions[0];
    assert_eq!(d.class, "vulnerability");
    assert_eq!(d.advisory_id(), "CVE-2021-35937");
    assert_eq!(d.severity.as_deref(), Some("Moderate"));
    let text = fs::read_to_string(fixture(UNPATCHED)).unwrap();
    assert_eq!(doc.tests.len(), text.matches("_test check=").count());
}

#[test]
fn rhel_like_root_agrees_with_oscap() {
    let mut specs = git_packages();
    specs.push(redhat_release("8.2"));
    let root = root_with(&specs, &[]);
    let rhsa = same_as_oscap(&root, &fixture(RHSA));
    // Unsigned builds are not Red Hat's: nothing applies.
    assert_eq!(rhsa["oval:com.redhat.rhsa:def:20201980"], "false");
    same_as_oscap(&root, &fixture(UNPATCHED));
}

#[test]
fn centos_root_agrees_with_oscap_where_the_guard_makes_everything_apply() {
    let root = root_with(&git_packages(), &[CENTOS_RELEASE]);
    let rhsa = same_as_oscap(&root, &fixture(RHSA));
    assert_eq!(rhsa["oval:com.redhat.rhsa:def:20201980"], "true");
    same_as_oscap(&root, &fixture(UNPATCHED));
}

#[test]
fn root_without_a_release_file_agrees_with_oscap() {
    let root = root_with(&git_packages(), &[]);
    same_as_oscap(&root, &fixture(RHSA));
    same_as_oscap(&root, &fixture(UNPATCHED));
}

/// The RHSA document with git's object renamed to curl, Red Hat's key id replaced by
/// CentOS's and the fixed EVR by one above the real curl's.
fn rhsa_for_centos_curl(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(fixture(RHSA)).unwrap();
    let text = text
        .replace("<name>git</name>", "<name>curl</name>")
        .replace("199e2f91fd431d51", "24c6a8a7f4a80eb5")
        .replace("0:2.18.4-2.el8_2", "0:7.29.0-60.el7");
    let path = dir.join("rhsa-curl.xml");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_signed_package_matches_its_key_id_as_oscap_says() {
    let root = root_with(&[redhat_release("8.2")], &[CENTOS_CURL]);
    let dir = tempfile::tempdir().unwrap();
    let doc = rhsa_for_centos_curl(dir.path());
    let defs = same_as_oscap(&root, &doc);
    assert_eq!(defs["oval:com.redhat.rhsa:def:20201980"], "true");

    // The scan reports it, with the installed and the fixed build.
    let r = Root::new(root.path()).unwrap();
    let options = Options {
        advisory: AdvisoryArgs {
            oval: vec![doc.clone()],
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let outcome = security_advisories::scan(&r, "security", &options).unwrap();
    assert_eq!(outcome.vulnerabilities.len(), 1);
    let v = &outcome.vulnerabilities[0];
    assert_eq!(v.title, "RHSA-2020:1980: git security update (Important)");
    assert_eq!(v.severity, "Important");
    assert_eq!(v.custom["CVEs"], serde_json::json!(["CVE-2020-11008"]));
    assert_eq!(v.custom["Packages"][0]["Installed"], "curl-7.29.0-59.el7.x86_64");
    assert_eq!(v.custom["Packages"][0]["Fixed"], "curl-7.29.0-60.el7.x86_64");
    assert_eq!(outcome.cve_feed_last_updated, "2020-04-30T14:16:09Z");
}

#[test]
fn rebuild_mode_on_a_rhel_rebuild() {
    // A Rocky-like image: its own release package owns /etc/redhat-release.
    let rocky_release = PackageSpec::new("rocky-release", "8.4", "32.el8").file(FileSpec::regular(
        "/etc/redhat-release",
        "Rocky Linux release 8.4 (Green Obsidian)\n",
    ));
    let mut specs = git_packages();
    specs.push(rocky_release);
    let root = root_with(&specs, &[]);
    let doc = read_doc(&fixture(RHSA));
    // As written (and as oscap says), the "must be installed" guard makes it apply.
    let (strict, _) = ours(&root, &doc, false);
    assert_eq!(strict["oval:com.redhat.rhsa:def:20201980"], "true");
    assert_eq!(oscap_eval(&root, &fixture(RHSA)).definitions, strict);
    // As a rebuild: the release test accepts rocky-release 8.4, the key is not checked, and
    // the older git (x86_64) and gitk (noarch) apply; perl-Git is fixed, git-core is i686.
    let r = Root::new(root.path()).unwrap();
    let options = Options {
        advisory: AdvisoryArgs {
            oval: vec![fixture(RHSA)],
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    };
    let outcome = security_advisories::scan(&r, "security", &options).unwrap();
    assert_eq!(outcome.vulnerabilities.len(), 1, "{:#?}", outcome.scan_results);
    let installed: Vec<&str> = outcome.vulnerabilities[0].custom["Packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Installed"].as_str().unwrap())
        .collect();
    assert_eq!(installed, ["git-2.18.2-1.el8.x86_64", "gitk-2.18.2-1.el8.noarch"]);
    let warnings = outcome.scan_results["Warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w["Kind"] == "oval-rebuild"), "{warnings:?}");

    // A CentOS 7 image against the RHEL 8 document: the release test fails, nothing applies,
    // and the mismatch is named.
    let root7 = root_with(&git_packages(), &[CENTOS_RELEASE]);
    root7.write_file(
        "/etc/os-release",
        "NAME=\"CentOS Linux\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n",
    );
    let r7 = Root::new(root7.path()).unwrap();
    let outcome = security_advisories::scan(&r7, "security", &options).unwrap();
    assert!(outcome.vulnerabilities.is_empty(), "{:#?}", outcome.scan_results);
    let warnings = outcome.scan_results["Warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w["Kind"] == "release-mismatch"), "{warnings:?}");
}
