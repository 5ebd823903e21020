//! security-advisories on real feeds and real databases, and on bad input.
//!
//! - The real openSUSE 11.0 updateinfo (164 updates) and the Rocky 8.4 excerpt are read to
//!   the end, and their counts and fields checked against counts taken from the raw text
//!   (decompressed by `zcat`, not by our code).
//! - A real Amazon Linux 2023 database (tests/fixtures/rpmdb) judged against a feed about its
//!   packages, in every compression (gzip, xz, bzip2, zstd by their own tools).
//! - Bad input: malformed and truncated feeds, a feed for another release, missing fields and
//!   an unknown severity, no feed at all, no RPM database: a failure with the reason or a
//!   named warning, never an empty list that reads as "no vulnerabilities".
//!
//! Tools: zcat (gzip), xz (xz-utils), bzip2, zstd.

use crate::harness;

use harness::require_tool;
use repodata::compression;
use repodata::updateinfo::{Advisory, AdvisoryKind, Severity, UpdateinfoReader, WarningKind};
use rpmdb::root::Root;
use security_advisories::{AdvisoryArgs, MinSeverity, Options};
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

const OPENSUSE: &str = "tests/fixtures/repodata/opensuse-11.0-updateinfo/updateinfo.xml.gz";
const ROCKY: &str = "tests/fixtures/repodata/rocky8.4-updateinfo-excerpt/updateinfo.xml";
const AL2023_DB: &str = "tests/fixtures/rpmdb/amazonlinux2023-plain-sqlite/rpmdb.sqlite";

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn read_feed(path: &Path) -> (Vec<Advisory>, Vec<repodata::updateinfo::Warning>) {
    let f = BufReader::new(fs::File::open(path).unwrap());
    let (_, xml) = compression::decompress(f, 1 << 30).unwrap();
    let mut r = UpdateinfoReader::new(xml);
    let mut out = Vec::new();
    while let Some(a) = r.next_advisory().unwrap() {
        out.push(a);
    }
    (out, r.take_warnings())
}

/// The `type` attribute of every `<update ...>` tag of a document, read from the raw text.
fn raw_update_types(text: &str) -> Vec<String> {
    text.split("<update ")
        .skip(1)
        .map(|chunk| {
            let tag = &chunk[..chunk.find('>').unwrap()];
            let i = tag.find("type=\"").unwrap() + 6;
            tag[i..i + tag[i..].find('"').unwrap()].to_string()
        })
        .collect()
}

#[test]
fn opensuse_11_0_updateinfo_is_read_whole() {
    let path = fixture(OPENSUSE);
    let out = Command::new(require_tool("zcat")).arg(&path).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let types = raw_update_types(&text);
    assert_eq!(types.len(), 164);

    let (advisories, warnings) = read_feed(&path);
    assert_eq!(advisories.len(), types.len());
    let kinds: Vec<String> = advisories.iter().map(|a| a.kind.as_str().to_string()).collect();
    assert_eq!(kinds, types, "every advisory's type, in order");
    let packages: usize = advisories
        .iter()
        .flat_map(|a| &a.collections)
        .map(|c| c.packages.len())
        .sum();
    assert_eq!(packages, text.matches("<package ").count());
    let references: usize = advisories.iter().map(|a| a.references.len()).sum();
    assert_eq!(references, text.matches("<reference ").count());

    let first = &advisories[0];
    assert_eq!(first.id, "xorg-x11-Xvnc");
    assert_eq!(first.kind, AdvisoryKind::Security);
    assert_eq!(
        first.title.as_deref(),
        Some("Multiple Xorg vulnerabilities reported by iDefense")
    );
    assert_eq!(first.release.as_deref(), Some("openSUSE 11.0"));
    assert_eq!(first.issued.as_ref().unwrap().unix, Some(1213630432));
    assert_eq!(first.collections[0].packages.len(), 12);
    assert_eq!(first.collections[0].packages[0].nevra(), "xorg-x11-Xvnc-7.3-110.2.i586");
    assert_eq!(
        first.collections[0].packages[0].filename.as_deref(),
        Some("xorg-x11-Xvnc-7.3-110.2.i586.rpm")
    );
    // openSUSE 11.0 gives no severities: each of its security advisories is named.
    let no_severity = warnings
        .iter()
        .filter(|w| w.kind == WarningKind::MissingField && w.message.contains("without a <severity>"))
        .count();
    assert_eq!(no_severity, types.iter().filter(|t| *t == "security").count());
}

#[test]
fn rocky_8_4_excerpt_fields() {
    let path = fixture(ROCKY);
    let text = fs::read_to_string(&path).unwrap();
    let (advisories, warnings) = read_feed(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(advisories.len(), text.matches("<update ").count());
    let cves: usize = advisories.iter().map(|a| a.cves().len()).sum();
    assert_eq!(cves, text.matches("type=\"cve\"").count());
    let ids: Vec<&str> = advisories.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["RLBA-2021:2580", "RLSA-2021:2575", "RLSA-2021:3057", "RLSA-2019:1972"]
    );
    assert_eq!(advisories[0].severity, None, "Rocky writes None for bug fixes");
    assert_eq!(advisories[1].severity, Some(Severity::Moderate));
    assert_eq!(
        advisories[2].cves(),
        ["CVE-2021-22543", "CVE-2021-22555", "CVE-2021-3609"]
    );
    let ruby = &advisories[3].collections[0];
    assert_eq!(ruby.modules[0].name, "ruby");
    assert_eq!(ruby.modules[0].stream, "2.6");
    assert_eq!(ruby.modules[0].context.as_deref(), Some("d63f516d"));
    assert_eq!(ruby.packages.len(), 2);
    assert_eq!(
        advisories[3].newest_date(),
        Some(1675342531),
        "updated 2023-02-02 12:55:31"
    );
}

/// A root holding the real Amazon Linux 2023 database, and an os-release.
fn al2023_root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("var/lib/rpm")).unwrap();
    fs::create_dir_all(t.path().join("etc")).unwrap();
    fs::copy(fixture(AL2023_DB), t.path().join("var/lib/rpm/rpmdb.sqlite")).unwrap();
    fs::write(
        t.path().join("etc/os-release"),
        "NAME=\"Amazon Linux\"\nVERSION_ID=\"2023\"\nPRETTY_NAME=\"Amazon Linux 2023\"\n",
    )
    .unwrap();
    t
}

/// A feed about packages of that database (installed: bash 5.2.15-1.amzn2023.0.2,
/// openssl-libs 1:3.0.8-1.amzn2023.0.4, glibc 2.34-52.amzn2023.0.3).
const AL2023_FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update type="security" status="final" from="al">
    <id>ALAS2023-2023-0001</id><title>Important: bash</title><severity>Important</severity>
    <release>Amazon Linux 2023</release>
    <issued date="2023-09-01 00:00:00"/><updated date="2023-09-02 08:00:00"/>
    <references><reference type="cve" id="CVE-2023-1000" href="h"/></references>
    <pkglist><collection><package name="bash" epoch="0" version="5.2.15" release="1.amzn2023.0.3" arch="x86_64"/></collection></pkglist>
  </update>
  <update type="security" status="final" from="al">
    <id>ALAS2023-2023-0002</id><title>Critical: openssl</title><severity>Critical</severity>
    <release>Amazon Linux 2023</release><issued date="2023-09-03 00:00:00"/>
    <references><reference type="cve" id="CVE-2023-2000" href="h"/><reference type="cve" id="CVE-2023-2001" href="h"/></references>
    <pkglist><collection>
      <package name="openssl-libs" epoch="1" version="3.0.8" release="1.amzn2023.0.5" arch="x86_64"/>
      <package name="openssl-libs" epoch="0" version="3.0.9" release="1.amzn2023.0.1" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update type="security" status="final" from="al">
    <id>ALAS2023-2023-0003</id><title>Low: glibc, already applied</title><severity>Low</severity>
    <release>Amazon Linux 2023</release><issued date="2023-08-01 00:00:00"/>
    <pkglist><collection><package name="glibc" epoch="0" version="2.34" release="52.amzn2023.0.3" arch="x86_64"/></collection></pkglist>
  </update>
  <update type="bugfix" status="final" from="al">
    <id>ALBA2023-2023-0004</id><title>bash bug fix</title>
    <release>Amazon Linux 2023</release><issued date="2023-09-04 00:00:00"/>
    <pkglist><collection><package name="bash" epoch="0" version="5.2.15" release="1.amzn2023.0.4" arch="x86_64"/></collection></pkglist>
  </update>
</updates>
"#;

fn scan(root: &Path, scan_type: &str, options: &Options) -> Result<atomic_protocol::Outcome, String> {
    security_advisories::scan(&Root::new(root).unwrap(), scan_type, options).map_err(|e| e.0)
}

fn with_feeds(paths: Vec<PathBuf>) -> Options {
    Options {
        advisory: AdvisoryArgs {
            updateinfo: paths,
            ..AdvisoryArgs::default()
        },
        ..Options::default()
    }
}

fn ids(o: &atomic_protocol::Outcome) -> Vec<String> {
    o.scan_results["Advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["Advisory"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn real_database_against_a_feed_in_every_compression() {
    let root = al2023_root();
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("updateinfo.xml");
    fs::write(&plain, AL2023_FEED).unwrap();
    let mut feeds = vec![plain.clone()];
    for (tool, args, ext) in [
        ("gzip", &["-k", "-f"][..], "gz"),
        ("xz", &["-k", "-f"][..], "xz"),
        ("bzip2", &["-k", "-f"][..], "bz2"),
        ("zstd", &["-q", "-k", "-f"][..], "zst"),
    ] {
        let st = Command::new(require_tool(tool))
            .args(args)
            .arg(&plain)
            .status()
            .unwrap();
        assert!(st.success());
        // Named without the extension: the compression is told by the bytes.
        let renamed = dir.path().join(format!("feed-{ext}"));
        fs::rename(dir.path().join(format!("updateinfo.xml.{ext}")), &renamed).unwrap();
        feeds.push(renamed);
    }
    for feed in &feeds {
        let o = scan(root.path(), "security", &with_feeds(vec![feed.clone()])).unwrap();
        assert_eq!(
            ids(&o),
            ["ALAS2023-2023-0002", "ALAS2023-2023-0001"],
            "{}",
            feed.display()
        );
        let warnings = o.scan_results["Warnings"].as_array().unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        // The feed's newest date, whatever the scan type keeps (the bug fix of 09-04).
        assert_eq!(o.cve_feed_last_updated, "2023-09-04T00:00:00Z");
        assert_eq!(o.vulnerabilities[0].severity, "Critical");
        assert_eq!(o.vulnerabilities[0].title, "ALAS2023-2023-0002: Critical: openssl");
        let pkgs = o.vulnerabilities[0].custom["Packages"].as_array().unwrap();
        let fixed: Vec<&str> = pkgs.iter().map(|p| p["Fixed"].as_str().unwrap()).collect();
        assert_eq!(
            fixed,
            ["openssl-libs-1:3.0.8-1.amzn2023.0.5.x86_64"],
            "the 0:3.0.9 build is older than epoch 1"
        );
        // dnf's NEVRA form, as the fixed package beside it: the installed epoch 1 is kept
        // (issue 14: without it the line read like a downgrade).
        assert_eq!(pkgs[0]["Installed"], "openssl-libs-1:3.0.8-1.amzn2023.0.4.x86_64");
        assert!(o.summary.starts_with("2 security advisories apply"), "{}", o.summary);
    }
    let all = scan(root.path(), "all", &with_feeds(vec![plain.clone()])).unwrap();
    assert_eq!(
        ids(&all),
        ["ALAS2023-2023-0002", "ALAS2023-2023-0001", "ALBA2023-2023-0004"]
    );
    assert_eq!(all.vulnerabilities[2].severity, "None");
    let min = {
        let mut o = with_feeds(vec![plain]);
        o.advisory.min_severity = Some(MinSeverity::Critical);
        o
    };
    let critical = scan(root.path(), "security", &min).unwrap();
    assert_eq!(ids(&critical), ["ALAS2023-2023-0002"]);
}

#[test]
fn malformed_and_truncated_feeds_fail_with_the_reason() {
    let root = al2023_root();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xml");
    fs::write(
        &bad,
        AL2023_FEED.replace("</title><severity>Critical", "</titl><severity>Critical"),
    )
    .unwrap();
    let e = scan(root.path(), "security", &with_feeds(vec![bad.clone()])).unwrap_err();
    assert!(e.contains("no advisory feed could be read"), "{e}");
    assert!(e.contains("malformed XML") && e.contains("line 11"), "{e}");

    let gz = dir.path().join("truncated.gz");
    let full = Command::new(require_tool("gzip"))
        .arg("-c")
        .arg(fixture(ROCKY))
        .output()
        .unwrap()
        .stdout;
    fs::write(&gz, &full[..full.len() / 2]).unwrap();
    let e = scan(root.path(), "security", &with_feeds(vec![gz])).unwrap_err();
    assert!(e.contains("truncated.gz"), "{e}");

    // One good feed and one bad: the answer is given, and said to be partial.
    let good = dir.path().join("good.xml");
    fs::write(&good, AL2023_FEED).unwrap();
    let o = scan(root.path(), "security", &with_feeds(vec![good, bad])).unwrap();
    assert_eq!(ids(&o).len(), 2);
    assert!(o.summary.contains("partial"), "{}", o.summary);
    let sources = o.scan_results["Sources"].as_array().unwrap();
    assert!(sources[1]["Error"].as_str().unwrap().contains("malformed XML"));
}

#[test]
fn missing_fields_unknown_severity_and_release_mismatch_are_named() {
    let root = al2023_root();
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("odd.xml");
    fs::write(
        &feed,
        r#"<updates>
<update type="security"><id>X-1</id><title>bash</title><severity>Severe</severity><release>Rocky Linux 8</release>
 <pkglist><collection>
  <package name="bash" arch="x86_64" version="5.2.15" release="1.amzn2023.0.9"/>
  <package name="bash" arch="x86_64" release="2"/>
 </collection></pkglist></update>
<update type="security"><title>no id</title></update>
</updates>"#,
    )
    .unwrap();
    let o = scan(root.path(), "security", &with_feeds(vec![feed])).unwrap();
    assert_eq!(ids(&o), ["X-1"]);
    assert_eq!(o.vulnerabilities[0].severity, "Unknown");
    assert_eq!(o.vulnerabilities[0].custom["Severity in feed"], "Severe");
    let kinds: Vec<&str> = o.scan_results["Warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["Kind"].as_str().unwrap())
        .collect();
    for k in ["unknown-severity", "missing-field", "release-mismatch"] {
        assert!(kinds.contains(&k), "{k} not in {kinds:?}");
    }
    // The same warnings reach atomic's Custom tree.
    assert!(o.custom.unwrap()["Warnings"].as_array().unwrap().len() >= 3);
}

#[test]
fn no_feed_and_no_database_are_failures() {
    let root = al2023_root();
    let e = scan(root.path(), "security", &Options::default()).unwrap_err();
    assert!(e.contains("no advisory data"), "{e}");
    assert!(e.contains("not known to be free of vulnerabilities"), "{e}");

    // Repositories without updateinfo: still no data.
    let repo = tempfile::tempdir().unwrap();
    harness::repo::createrepo(repo.path(), &[], "gz");
    let options = Options {
        repos: security_advisories::repos::RepoOptions {
            repos: vec![format!("empty=file://{}", repo.path().display())],
            no_image_repos: true,
            cache_dir: None,
            ..Default::default()
        },
        ..Options::default()
    };
    let e = scan(root.path(), "security", &options).unwrap_err();
    assert!(e.contains("publish no updateinfo"), "{e}");

    let empty = tempfile::tempdir().unwrap();
    let e = scan(empty.path(), "security", &with_feeds(vec![fixture(ROCKY)])).unwrap_err();
    assert!(e.contains("no RPM database"), "{e}");
}
