//! security-advisories against Debian's `dnf updateinfo list` on the same root and the same
//! repository: a root built by the real `rpm`, a repository by `createrepo_c` with an
//! updateinfo (and modules metadata) added by `modifyrepo_c`. The sets of (advisory id,
//! fixed package NEVRA) must be equal.
//!
//! The feed covers: security and non-security advisories, several packages per advisory,
//! an advisory already applied, an epoch-only fix, `noarch` against `x86_64` (dnf wants the
//! same arch), a multilib i686 package, an older fix for an install-only package of which a
//! newer version is installed, `~` and `^` versions, module advisories whose stream is
//! enabled, enabled with another stream, the repository's default, disabled, and one whose
//! context the repository does not have, and an advisory with two collections of which only
//! the plain one applies.
//!
//! Tools: rpm, rpmbuild (rpm), createrepo_c and modifyrepo_c (createrepo-c), dnf (dnf).

use crate::harness;

use harness::advisory::{advisory_repo, dnf_updateinfo};
use harness::{build_rpms, PackageSpec, TestRoot};
use security_advisories::repos::RepoOptions;
use security_advisories::{AdvisoryArgs, MinSeverity, Options};
use std::collections::BTreeSet;
use std::path::Path;

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-1</id><title>Important: a and b security update</title>
    <issued date="2024-01-10 10:00:00"/><updated date="2024-01-11 10:00:00"/>
    <severity>Important</severity>
    <references>
      <reference href="https://example.org/CVE-2024-0001" id="CVE-2024-0001" type="cve" title="CVE-2024-0001"/>
      <reference href="https://example.org/CVE-2024-0002" id="CVE-2024-0002" type="cve" title="CVE-2024-0002"/>
      <reference href="https://example.org/1" id="1" type="bugzilla" title="bug"/>
    </references>
    <pkglist><collection short="t"><name>t</name>
      <package name="a" epoch="0" version="1.0" release="2" arch="x86_64"><filename>a-1.0-2.x86_64.rpm</filename></package>
      <package name="a" epoch="0" version="1.0" release="2" arch="i686"><filename>a-1.0-2.i686.rpm</filename></package>
      <package name="b" epoch="0" version="2.0" release="2" arch="x86_64"><filename>b-2.0-2.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-2</id><title>Critical: e, already applied</title>
    <issued date="2024-01-12 10:00:00"/><severity>Critical</severity>
    <references><reference href="h" id="CVE-2024-0003" type="cve"/></references>
    <pkglist><collection>
      <package name="e" epoch="0" version="1.0" release="1" arch="x86_64"/>
      <package name="e" version="0.9" release="1" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-3</id><title>Moderate: d epoch-only fix</title>
    <issued date="2024-01-13 10:00:00"/><severity>Moderate</severity>
    <references><reference href="h" id="CVE-2024-0004" type="cve"/></references>
    <pkglist><collection><package name="d" epoch="1" version="3.0" release="1" arch="x86_64"/></collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="bugfix" version="2">
    <id>TEST-BA-1</id><title>c bug fix</title><issued date="2024-01-14 10:00:00"/>
    <pkglist><collection>
      <package name="c" epoch="0" version="1.0" release="2" arch="noarch"/>
      <package name="c" epoch="0" version="1.0" release="3" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="enhancement" version="2">
    <id>TEST-EA-1</id><title>k and p enhancement</title><issued date="2024-01-15 10:00:00"/>
    <pkglist><collection>
      <package name="k" epoch="0" version="5.1" release="1" arch="x86_64"/>
      <package name="p" epoch="0" version="1.0" release="2" arch="i686"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-4</id><title>Important: m in the enabled stream mod:2</title>
    <issued date="2024-01-16 10:00:00"/><severity>Important</severity>
    <pkglist><collection>
      <module name="mod" stream="2" version="20240101" context="c0ffee42" arch="x86_64"/>
      <package name="m" epoch="0" version="1.0" release="2.module_el8" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-5</id><title>Important: n in mod2:1, while mod2:2 is enabled</title>
    <issued date="2024-01-17 10:00:00"/><severity>Important</severity>
    <pkglist><collection>
      <module name="mod2" stream="1" version="20240101" context="aaaaaaaa" arch="x86_64"/>
      <package name="n" epoch="0" version="1.0" release="2" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-6</id><title>Low: z, not installed</title>
    <issued date="2024-01-18 10:00:00"/><severity>Low</severity>
    <pkglist><collection><package name="z" epoch="0" version="1" release="1" arch="x86_64"/></collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-7</id><title>Moderate: two collections, the modular one inactive</title>
    <issued date="2024-01-19 10:00:00"/><severity>Moderate</severity>
    <pkglist>
      <collection>
        <module name="mod2" stream="1" version="20240101" context="aaaaaaaa" arch="x86_64"/>
        <package name="n" epoch="0" version="1.0" release="3" arch="x86_64"/>
      </collection>
      <collection><package name="a" epoch="0" version="1.0" release="3" arch="x86_64"/></collection>
    </pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-8</id><title>b with a severity off the scale</title>
    <issued date="2024-01-20 10:00:00"/><severity>Urgent</severity>
    <pkglist><collection><package name="b" epoch="0" version="2.0" release="3" arch="x86_64"/></collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-9</id><title>Important: q in def:1, the default stream</title>
    <issued date="2024-01-21 10:00:00"/><severity>Important</severity>
    <pkglist><collection>
      <module name="def" stream="1" version="20240101" context="dddddddd" arch="x86_64"/>
      <package name="q" epoch="0" version="1.0" release="2" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-10</id><title>Important: r in mod:2 with a context the repository lacks</title>
    <issued date="2024-01-22 10:00:00"/><severity>Important</severity>
    <pkglist><collection>
      <module name="mod" stream="2" version="20240101" context="ffffffff" arch="x86_64"/>
      <package name="r" epoch="0" version="1.0" release="2" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-11</id><title>Low: s, a pre-release (older)</title>
    <issued date="2024-01-23 10:00:00"/><severity>Low</severity>
    <pkglist><collection><package name="s" epoch="0" version="2.0~rc1" release="1" arch="x86_64"/></collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-12</id><title>Low: s, a post-release snapshot (newer)</title>
    <issued date="2024-01-24 10:00:00"/><severity>Low</severity>
    <pkglist><collection><package name="s" epoch="0" version="2.0^post1" release="1" arch="x86_64"/></collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-13</id><title>Important: t in dis:1, a disabled module with that default stream</title>
    <issued date="2024-01-25 10:00:00"/><severity>Important</severity>
    <pkglist><collection>
      <module name="dis" stream="1" version="20240101" context="eeeeeeee" arch="x86_64"/>
      <package name="t" epoch="0" version="1" release="2" arch="x86_64"/>
    </collection></pkglist>
  </update>
</updates>
"#;

fn module_doc(name: &str, stream: &str, context: &str, artifacts: &[&str]) -> String {
    let mut s = format!(
        "---\ndocument: modulemd\nversion: 2\ndata:\n  name: {name}\n  stream: \"{stream}\"\n  version: 20240101\n  \
         context: {context}\n  arch: x86_64\n  summary: {name} module\n  description: {name} module for tests\n  \
         license:\n    module:\n    - MIT\n"
    );
    if !artifacts.is_empty() {
        s.push_str("  artifacts:\n    rpms:\n");
        for a in artifacts {
            s.push_str(&format!("    - {a}\n"));
        }
    }
    s.push_str("...\n");
    s
}

fn defaults_doc(module: &str, stream: &str) -> String {
    format!("---\ndocument: modulemd-defaults\nversion: 1\ndata:\n  module: {module}\n  stream: \"{stream}\"\n...\n")
}

fn modules_yaml() -> String {
    [
        module_doc("mod", "2", "c0ffee42", &["m-0:1.0-2.module_el8.x86_64"]),
        module_doc("mod2", "1", "aaaaaaaa", &["n-0:1.0-2.x86_64"]),
        module_doc("mod2", "2", "bbbbbbbb", &[]),
        module_doc("def", "1", "dddddddd", &["q-0:1.0-2.x86_64"]),
        module_doc("dis", "1", "eeeeeeee", &["t-0:1-2.x86_64"]),
        defaults_doc("def", "1"),
        defaults_doc("dis", "1"),
    ]
    .concat()
}

fn installed_packages() -> Vec<PackageSpec> {
    vec![
        PackageSpec::new("test-release", "8.4", "1")
            .arch("noarch")
            .provides("system-release(releasever) = 8"),
        PackageSpec::new("a", "1.0", "1"),
        PackageSpec::new("b", "2.0", "1"),
        PackageSpec::new("c", "1.0", "1").arch("noarch"),
        PackageSpec::new("d", "3.0", "1"),
        PackageSpec::new("e", "1.0", "1"),
        PackageSpec::new("k", "5.0", "1"),
        PackageSpec::new("k", "5.2", "1"),
        PackageSpec::new("m", "1.0", "1.module_el8"),
        PackageSpec::new("n", "1.0", "1"),
        PackageSpec::new("p", "1.0", "1").arch("i686"),
        PackageSpec::new("p", "1.0", "1"),
        PackageSpec::new("q", "1.0", "1"),
        PackageSpec::new("r", "1.0", "1"),
        PackageSpec::new("s", "2.0", "1"),
        PackageSpec::new("t", "1", "1"),
    ]
}

/// The root (packages and modules.d) and the repository, built once per test.
struct Setup {
    root: TestRoot,
    repo: tempfile::TempDir,
}

fn setup() -> Setup {
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(&installed_packages(), &work.path().join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    root.write_file(
        "/etc/dnf/modules.d/mod.module",
        "[mod]\nname=mod\nstream=2\nprofiles=\nstate=enabled\n",
    );
    root.write_file(
        "/etc/dnf/modules.d/mod2.module",
        "[mod2]\nname=mod2\nstream=2\nprofiles=\nstate=enabled\n",
    );
    root.write_file(
        "/etc/dnf/modules.d/dis.module",
        "[dis]\nname=dis\nstream=\nprofiles=\nstate=disabled\n",
    );
    let repo = tempfile::tempdir().unwrap();
    advisory_repo(repo.path(), &[], UPDATEINFO, Some(&modules_yaml()));
    Setup { root, repo }
}

/// Our scanner on the root with the repository, as `(advisory id, fixed nevra)`. It runs
/// twice with one metadata cache: from the XML (writing the parsed cache), then from the
/// parsed cache; both must say the same.
fn ours(
    s: &Setup,
    scan_type: &str,
    min_severity: Option<MinSeverity>,
) -> (BTreeSet<(String, String)>, serde_json::Value) {
    let cache = tempfile::tempdir().unwrap();
    let options = Options {
        advisory: AdvisoryArgs {
            min_severity,
            ..AdvisoryArgs::default()
        },
        repos: RepoOptions {
            repos: vec![format!("t=file://{}", s.repo.path().display())],
            no_image_repos: true,
            cache_dir: Some(cache.path().to_path_buf()),
            ..RepoOptions::default()
        },
        ..Options::default()
    };
    let root = rpmdb::root::Root::new(s.root.path()).unwrap();
    let run = || security_advisories::scan(&root, scan_type, &options).unwrap_or_else(|e| panic!("scan failed: {e}"));
    let cold = run();
    let parsed_caches = harness::scratch::files_under(cache.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".advisories"))
        .count();
    assert_eq!(parsed_caches, 1, "the parsed feed is cached");
    let outcome = run();
    assert_eq!(
        cold.scan_results, outcome.scan_results,
        "from the XML and from the parsed cache"
    );
    assert_eq!(cold.vulnerabilities, outcome.vulnerabilities);
    let mut set = BTreeSet::new();
    for adv in outcome.scan_results["Advisories"].as_array().unwrap() {
        let id = adv["Advisory"].as_str().unwrap().to_string();
        for p in adv["Packages"].as_array().unwrap() {
            set.insert((id.clone(), p["Fixed"].as_str().unwrap().to_string()));
        }
    }
    (set, outcome.scan_results)
}

fn pair(id: &str, nevra: &str) -> (String, String) {
    (id.to_string(), nevra.to_string())
}

fn dnf(s: &Setup, args: &[&str]) -> BTreeSet<(String, String)> {
    dnf_updateinfo(&s.root, s.repo.path(), "8", args)
}

#[test]
fn all_advisory_types_match_dnf_updateinfo_list() {
    let s = setup();
    let theirs = dnf(&s, &[]);
    // The oracle itself must have seen the feed: these are facts about dnf's answer.
    assert!(theirs.contains(&pair("TEST-SA-1", "a-1.0-2.x86_64")), "{theirs:?}");
    assert!(theirs.contains(&pair("TEST-BA-1", "c-1.0-2.noarch")), "{theirs:?}");
    assert!(theirs.contains(&pair("TEST-SA-3", "d-1:3.0-1.x86_64")), "{theirs:?}");
    assert!(
        theirs.contains(&pair("TEST-SA-4", "m-1.0-2.module_el8.x86_64")),
        "{theirs:?}"
    );
    let (mine, _) = ours(&s, "all", None);
    assert_eq!(mine, theirs, "ours (left) and dnf updateinfo list (right) differ");
}

#[test]
fn security_advisories_match_dnf_updateinfo_list_security() {
    let s = setup();
    let theirs = dnf(&s, &["--security"]);
    assert!(theirs.contains(&pair("TEST-SA-1", "b-2.0-2.x86_64")), "{theirs:?}");
    assert!(!theirs.iter().any(|(id, _)| id == "TEST-BA-1"), "{theirs:?}");
    let (mine, results) = ours(&s, "security", None);
    assert_eq!(
        mine, theirs,
        "ours (left) and dnf updateinfo list --security (right) differ"
    );
    // The off-scale severity is a named warning.
    let warnings = results["Warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["Kind"] == "unknown-severity" && w["Message"].as_str().unwrap().contains("TEST-SA-8")),
        "{warnings:?}"
    );
}

#[test]
fn severity_threshold_matches_dnf_sec_severity() {
    let s = setup();
    let theirs = dnf(&s, &["--sec-severity", "Important", "--sec-severity", "Critical"]);
    assert!(!theirs.is_empty());
    let (mine, _) = ours(&s, "security", Some(MinSeverity::Important));
    // Deliberate difference: an advisory whose severity is off the scale (TEST-SA-8,
    // "Urgent") is kept by our threshold, because it cannot be shown to be below it; dnf's
    // exact-match filter leaves it out. Everything else must be equal.
    let urgent = pair("TEST-SA-8", "b-2.0-3.x86_64");
    assert!(mine.contains(&urgent), "{mine:?}");
    let mine_rated: BTreeSet<_> = mine.into_iter().filter(|p| *p != urgent).collect();
    assert_eq!(
        mine_rated, theirs,
        "ours (left) and dnf --sec-severity Important/Critical (right) differ"
    );
}

#[test]
fn result_names_cves_installed_and_fixed_versions() {
    let s = setup();
    let (_, results) = ours(&s, "security", None);
    let advisories = results["Advisories"].as_array().unwrap();
    let sa1 = advisories.iter().find(|a| a["Advisory"] == "TEST-SA-1").unwrap();
    assert_eq!(sa1["CVEs"], serde_json::json!(["CVE-2024-0001", "CVE-2024-0002"]));
    let pkgs = sa1["Packages"].as_array().unwrap();
    let a = pkgs.iter().find(|p| p["Installed"] == "a-1.0-1.x86_64").unwrap();
    assert_eq!(a["Fixed EVR"], "1.0-2");
    let sa4 = advisories.iter().find(|a| a["Advisory"] == "TEST-SA-4").unwrap();
    assert_eq!(sa4["Packages"][0]["Module"], "mod:2");
    assert!(Path::new(s.repo.path()).join("repodata/repomd.xml").is_file());
}

/// Copy the test repository into the image at `dir` (an absolute image path).
fn copy_repo_into_image(s: &Setup, dir: &str) {
    let inside = s.root.path().join(dir.trim_start_matches('/'));
    std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(s.repo.path())
        .arg(&inside)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A security scan of the image with its own configuration: the outcome, and its
/// `(advisory id, fixed nevra)` pairs.
fn ours_from_image_config(s: &Setup) -> (atomic_protocol::Outcome, BTreeSet<(String, String)>) {
    let root = rpmdb::root::Root::new(s.root.path()).unwrap();
    let outcome = security_advisories::scan(&root, "security", &Options::default()).unwrap();
    let mut pairs = BTreeSet::new();
    for adv in outcome.scan_results["Advisories"].as_array().unwrap() {
        for p in adv["Packages"].as_array().unwrap() {
            pairs.insert(pair(adv["Advisory"].as_str().unwrap(), p["Fixed"].as_str().unwrap()));
        }
    }
    (outcome, pairs)
}

#[test]
fn the_image_own_repositories_are_read_like_dnf() {
    let s = setup();
    // The same repository, now inside the image and configured there.
    copy_repo_into_image(&s, "/srv/repo");
    s.root.write_file(
        "/etc/yum.repos.d/local.repo",
        "[local]\nname=local\nbaseurl=file:///srv/repo\nenabled=1\ngpgcheck=0\n",
    );
    let theirs = dnf(&s, &["--security"]);
    let (outcome, mine) = ours_from_image_config(&s);
    assert_eq!(mine, theirs);
    assert_eq!(outcome.scan_results["Sources"][0]["Source"], "local");
    assert!(outcome.vulnerabilities.len() >= 5);
    assert_eq!(outcome.cve_feed_last_updated, "2024-01-25T10:00:00Z");
}

/// A mirror list inside the image whose entry uses `$releasever`: its variables are
/// substituted as dnf does (and as pipeline-scanner does; security-advisories did not).
#[test]
fn a_mirror_list_with_variables_is_read_like_dnf() {
    let s = setup();
    copy_repo_into_image(&s, "/srv/8/repo");
    s.root
        .write_file("/srv/mirrors.txt", "# mirrors\nfile:///srv/$releasever/repo/\n");
    s.root.write_file(
        "/etc/yum.repos.d/local.repo",
        "[local]\nname=local\nmirrorlist=file:///srv/mirrors.txt\nenabled=1\ngpgcheck=0\n",
    );
    let theirs = dnf(&s, &["--security"]);
    assert!(!theirs.is_empty(), "dnf found the repository through the mirror list");
    let (outcome, mine) = ours_from_image_config(&s);
    assert_eq!(mine, theirs);
    assert_eq!(outcome.scan_results["Sources"][0]["Source"], "local");
}
