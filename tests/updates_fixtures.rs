//! Real repository metadata (tests/fixtures/repodata): CentOS Stream 9 AppStream (17,000+
//! packages, modularity) and openSUSE 11.0 updates. The parsers must read every package as an
//! independent reader does (Python's ElementTree over the same file, and `grep -c`), and the
//! scanner must agree with Debian's dnf on a root whose packages are older versions of real
//! AppStream packages, with and without enabled module streams.
//!
//! Tools (Debian packages): python3, gzip, xz-utils, rpm, dnf.

use crate::harness;

use atomic_protocol::Scanner;
use harness::repo;
use harness::{build_rpms, PackageSpec, TestRoot};
use pipeline_scanner::{Options, PipelineScanner};
use repodata::checksum;
use repodata::compression;
use repodata::primary::{self, ParseOptions};
use repodata::repomd::Repomd;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/repodata")
        .join(name)
}

/// repomd.xml of a fixture, its primary verified against the checksum repomd gives.
fn verified_data(dir: &Path, kind: &str) -> PathBuf {
    let repomd = Repomd::parse(&std::fs::read(dir.join("repodata/repomd.xml")).unwrap()).unwrap();
    let data = repomd
        .data(kind)
        .unwrap_or_else(|| panic!("no {kind} in {}", dir.display()));
    let path = dir.join(&data.href);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        checksum::matches(data.checksum.as_ref().unwrap(), &bytes),
        "{} fails its repomd checksum",
        path.display()
    );
    assert_eq!(data.size.unwrap_or(bytes.len() as u64), bytes.len() as u64);
    path
}

/// Every package as `name epoch ver rel arch <number of obsoletes>`, sorted, by our parser.
fn ours(primary_file: &Path) -> Vec<String> {
    let f = BufReader::new(std::fs::File::open(primary_file).unwrap());
    let (_, xml) = compression::decompress(f, 1 << 32).unwrap();
    let mut lines = Vec::new();
    let summary = primary::parse(xml, ParseOptions::default(), |p| {
        lines.push(format!(
            "{} {} {} {} {} {}",
            p.name,
            p.epoch,
            p.version,
            p.release,
            p.arch,
            p.obsoletes.len()
        ))
    })
    .unwrap();
    assert!(summary.skipped.is_empty(), "{:?}", summary.skipped);
    assert_eq!(summary.declared, Some(summary.packages), "the file's packages= count");
    lines.sort();
    lines
}

/// The same, by Python's ElementTree (an independent XML reader).
fn python(primary_file: &Path) -> Vec<String> {
    let script = r#"
import gzip, sys, xml.etree.ElementTree as ET
C = '{http://linux.duke.edu/metadata/common}'
R = '{http://linux.duke.edu/metadata/rpm}'
for ev, el in ET.iterparse(gzip.open(sys.argv[1]), events=('end',)):
    if el.tag == C + 'package':
        v = el.find(C + 'version')
        obs = el.findall(C + 'format/' + R + 'obsoletes/' + R + 'entry')
        print(el.find(C + 'name').text, v.get('epoch') or '0', v.get('ver'), v.get('rel'), el.find(C + 'arch').text, len(obs))
        el.clear()
"#;
    let out = Command::new(harness::require_tool("python3"))
        .arg("-c")
        .arg(script)
        .arg(primary_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// `zcat FILE | grep -c PATTERN`.
fn zgrep_count(tool: &str, file: &Path, pattern: &str) -> usize {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} -dc '{}' | grep -c -- '{pattern}'", tool, file.display()))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

#[test]
fn centos_stream9_appstream_primary_as_python_reads_it() {
    let primary = verified_data(&fixture("centos-stream9-appstream"), "primary");
    let ours = ours(&primary);
    assert_eq!(ours.len(), zgrep_count("gzip", &primary, "<package type=\"rpm\">"));
    assert!(ours.len() > 17_000);
    assert_eq!(ours, python(&primary));
}

#[test]
fn opensuse_primary_as_python_reads_it() {
    let primary = verified_data(&fixture("opensuse-11.0-primary"), "primary");
    let ours = ours(&primary);
    assert_eq!(ours.len(), 2430);
    // openSUSE writes `<package xmlns="..." type="rpm">`.
    assert_eq!(ours.len(), zgrep_count("gzip", &primary, "<package "));
    assert_eq!(ours, python(&primary));
}

#[test]
fn centos_stream9_modules_yaml() {
    let file = verified_data(&fixture("centos-stream9-appstream"), "modules");
    let f = BufReader::new(std::fs::File::open(&file).unwrap());
    let (kind, yaml) = compression::decompress(f, 1 << 30).unwrap();
    assert_eq!(kind, compression::Compression::Xz);
    let m = repodata::modules::parse(yaml).unwrap();
    assert!(m.skipped.is_empty(), "{:?}", m.skipped);
    assert_eq!(m.streams.len(), zgrep_count("xz", &file, "^document: modulemd$"));
    assert_eq!(
        m.defaults.len(),
        zgrep_count("xz", &file, "^document: modulemd-defaults$")
    );
    let artifacts: usize = m.streams.iter().map(|s| s.artifacts.len()).sum();
    // Artifact lines are the only ones of the form "    - name-epoch:version-release.arch".
    assert_eq!(
        artifacts,
        zgrep_count("xz", &file, "^    - [^ ]*-[0-9]*:[^ ]*\\.[a-z0-9_]*$")
    );
    for s in &m.streams {
        assert!(!s.context.is_empty() && s.version > 0, "{}:{}", s.name, s.stream);
        for a in &s.artifacts {
            assert!(repodata::modules::split_nevra(a).is_some(), "{a}");
        }
    }
    assert!(m.streams.iter().any(|s| s.name == "nodejs" && s.stream == "20"));
}

/// The repository without the files repomd.xml lists but the fixture does not have
/// (filelists, other, *_db): dnf would fail on them.
fn appstream_copy(dir: &Path) -> PathBuf {
    let src = fixture("centos-stream9-appstream");
    let dst = dir.join("appstream");
    std::fs::create_dir_all(dst.join("repodata")).unwrap();
    let repomd = std::fs::read_to_string(src.join("repodata/repomd.xml")).unwrap();
    let mut kept = String::new();
    let mut rest = repomd.as_str();
    while let Some(start) = rest.find("<data type=\"") {
        let end = start + rest[start..].find("</data>").unwrap() + "</data>".len();
        let block = &rest[start..end];
        kept.push_str(&rest[..start]);
        if block.starts_with("<data type=\"primary\"") || block.starts_with("<data type=\"modules\"") {
            kept.push_str(block);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    std::fs::write(dst.join("repodata/repomd.xml"), kept).unwrap();
    for kind in ["primary", "modules"] {
        let f = verified_data(&src, kind);
        std::fs::copy(&f, dst.join("repodata").join(f.file_name().unwrap())).unwrap();
    }
    dst
}

/// A root with older versions of real AppStream packages: the scanner and dnf must offer the
/// same updates from the real metadata, without module state and with enabled and disabled
/// streams.
#[test]
fn real_appstream_metadata_matches_dnf() {
    let work = tempfile::tempdir().unwrap();
    let repo_dir = appstream_copy(work.path());
    let pkgs = vec![
        PackageSpec::new("centos-stream-release", "9.0", "1.el9")
            .arch("noarch")
            .provides("system-release(releasever) = 9"),
        PackageSpec::new("nodejs", "16.20.2", "3.el9").epoch(1),
        PackageSpec::new("nginx", "1.20.1", "13.el9").epoch(1),
        PackageSpec::new("postgresql", "13.10", "1.el9"),
        PackageSpec::new("git", "2.39.1", "1.el9"),
        PackageSpec::new("python3-pip", "21.2.3", "5.el9").arch("noarch"),
        PackageSpec::new("vim-enhanced", "8.2.2637", "14.el9").epoch(2),
    ];
    let rpms = build_rpms(&pkgs, &work.path().join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    root.write_file(
        "/etc/os-release",
        "NAME=\"CentOS Stream\"\nVERSION_ID=\"9\"\nPRETTY_NAME=\"CentOS Stream 9\"\nPLATFORM_ID=\"platform:el9\"\n",
    );
    let url = format!("file://{}", repo_dir.display());
    // One cache for both scans: the second reads the index the first wrote.
    let cache = tempfile::tempdir().unwrap();
    let options = Options {
        no_image_repos: true,
        repos: vec![format!("appstream={url}")],
        cache_dir: Some(cache.path().to_path_buf()),
        ..Options::default()
    };
    let module_states = [
        None,
        Some([
            ("nodejs", "20", "enabled"),
            ("postgresql", "16", "enabled"),
            ("nginx", "1.24", "disabled"),
        ]),
    ];
    for states in module_states {
        if let Some(states) = states {
            for (name, stream, state) in states {
                root.write_file(
                    format!("/etc/dnf/modules.d/{name}.module"),
                    format!("[{name}]\nname={name}\nstream={stream}\nprofiles=\nstate={state}\n"),
                );
            }
        }
        let dnf = repo::dnf_check_update(
            root.path(),
            &[
                "--setopt=reposdir=/dev/null".to_string(),
                format!("--repofrompath=appstream,{url}"),
            ],
        );
        let r = PipelineScanner::default()
            .scan(&rpmdb::root::Root::new(root.path()).unwrap(), "yum-update", &options)
            .unwrap()
            .scan_results;
        assert!(
            r["Repository Errors"].as_array().unwrap().is_empty(),
            "{}",
            r["Repository Errors"]
        );
        let ours: std::collections::BTreeSet<(String, String)> = r["Update Details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["Package"].as_str().unwrap().to_string(),
                    d["Available"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(ours, dnf.updates, "module states {states:?}; dnf said:\n{}", dnf.output);
        assert!(dnf.updates.len() >= 5, "{}", dnf.output);
        if states.is_some() {
            assert!(
                dnf.updates
                    .iter()
                    .any(|(n, evr)| n == "nodejs.x86_64" && evr.starts_with("1:20.")),
                "{}",
                dnf.output
            );
        }
    }
}
