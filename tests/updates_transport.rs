//! How pipeline-scanner gets repository metadata, and what it does when that fails: HTTP from a
//! server this test starts on 127.0.0.1, `$releasever`/`$basearch` in URLs, metalinks and
//! mirror lists (checked against Debian's dnf, which reads the same image configuration), every
//! compression, the metadata cache, and the failures — a server that never answers, a corrupted
//! or truncated primary, a metalink whose hash does not match — each named in the result while
//! the other repositories are still reported. Also images that are not RPM-based.
//!
//! Tools (Debian packages): rpm, createrepo-c, dnf, zstd.

use crate::harness;

use atomic_protocol::Scanner;
use harness::repo::{self, HttpServer, Serve};
use harness::root::root_with_available;
use harness::{PackageSpec, TestRoot};
use pipeline_scanner::{Options, PipelineScanner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const OS_RELEASE: &str = "NAME=\"Test Linux\"\nPRETTY_NAME=\"Test Linux 8\"\nPLATFORM_ID=\"platform:el8\"\n";

/// A root with a few packages installed and the rpms of their updates, built once per test.
struct Fixture {
    root: TestRoot,
    work: tempfile::TempDir,
    updates: Vec<PathBuf>,
}

fn fixture() -> Fixture {
    let work = tempfile::tempdir().unwrap();
    let installed = vec![
        PackageSpec::new("test-release", "8.4", "1")
            .arch("noarch")
            .provides("system-release(releasever) = 8"),
        PackageSpec::new("alpha", "1.0", "1"),
        PackageSpec::new("beta", "1.0", "1").arch("noarch"),
        PackageSpec::new("gamma", "1.0", "1"),
    ];
    let updates = [
        PackageSpec::new("alpha", "1.1", "1"),
        PackageSpec::new("beta", "2.0", "1").arch("noarch").epoch(1),
        PackageSpec::new("gamma", "0.9", "1"),
        PackageSpec::new("unrelated", "1.0", "1"),
    ];
    let (root, updates) = root_with_available(&installed, &updates, work.path());
    root.write_file("/etc/os-release", OS_RELEASE);
    Fixture { root, updates, work }
}

impl Fixture {
    /// A repository of the updates at `served/<rel>` (createrepo_c compression `compress`, or
    /// "zst").
    fn repo(&self, rel: &str, compress: &str) -> PathBuf {
        let dir = self.work.path().join("served").join(rel);
        repo::createrepo(&dir, &self.updates, if compress == "zst" { "gz" } else { compress });
        if compress == "zst" {
            repo::primary_to_zstd(&dir);
        }
        dir
    }
    fn served(&self) -> PathBuf {
        self.work.path().join("served")
    }
    fn scan(&self, options: &Options) -> serde_json::Value {
        self.try_scan(options).expect("scan")
    }
    /// The scan results, or why the subject could not be scanned.
    fn try_scan(&self, options: &Options) -> Result<serde_json::Value, String> {
        let root = rpmdb::root::Root::new(self.root.path()).unwrap();
        PipelineScanner::default()
            .scan(&root, "yum-update", options)
            .map(|o| o.scan_results)
            .map_err(|e| e.0)
    }
}

fn updates_of(results: &serde_json::Value) -> BTreeSet<(String, String)> {
    results["Update Details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["Package"].as_str().unwrap().to_string(),
                d["Available"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn errors_of(results: &serde_json::Value) -> Vec<(String, String)> {
    results["Repository Errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["Repository"].as_str().unwrap().to_string(),
                e["Error"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected() -> BTreeSet<(String, String)> {
    BTreeSet::from([
        ("alpha.x86_64".to_string(), "1.1-1".to_string()),
        ("beta.noarch".to_string(), "1:2.0-1".to_string()),
    ])
}

/// `$releasever` and `$basearch` in a baseurl, a metalink whose first mirror is missing, and a
/// mirror list whose first mirror refuses connections: dnf and the scanner read the same image
/// configuration and must agree.
#[test]
fn metalink_mirrorlist_and_variables_match_dnf() {
    let f = fixture();
    let dir = f.repo("pub/8/x86_64", "xz");
    let server = HttpServer::start(&f.served(), Serve::Files);
    let repomd = std::fs::read(dir.join("repodata/repomd.xml")).unwrap();
    let sha = repodata::checksum::digest_hex(repodata::checksum::Algorithm::Sha256, &repomd);
    let metalink = |hash: &str| {
        format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic">
 <files>
  <file name="repomd.xml">
   <size>{}</size>
   <verification><hash type="sha256">{hash}</hash></verification>
   <resources maxconnections="1">
    <url protocol="http" type="http" location="XX" preference="100">{}</url>
    <url protocol="http" type="http" location="XX" preference="90">{}</url>
   </resources>
  </file>
 </files>
</metalink>
"#,
            repomd.len(),
            server.url("missing/repodata/repomd.xml"),
            server.url("pub/8/x86_64/repodata/repomd.xml")
        )
    };
    std::fs::write(f.served().join("metalink.xml"), metalink(&sha)).unwrap();
    std::fs::write(f.served().join("badmetalink.xml"), metalink(&"0".repeat(64))).unwrap();
    // A port nothing listens on: connection refused.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        f.served().join("mirrors.txt"),
        format!(
            "# mirrors\nhttp://127.0.0.1:{refused}/pub/8/x86_64/\n{}\n",
            server.url("pub/$releasever/$basearch/")
        ),
    )
    .unwrap();

    for (kind, line) in [
        (
            "baseurl",
            format!("baseurl={}", server.url("pub/$releasever/$basearch/")),
        ),
        ("metalink", format!("metalink={}", server.url("metalink.xml"))),
        ("mirrorlist", format!("mirrorlist={}", server.url("mirrors.txt"))),
    ] {
        f.root
            .write_file("/etc/yum.repos.d/t.repo", format!("[t]\nname=t\n{line}\ngpgcheck=0\n"));
        let dnf = repo::dnf_check_update(f.root.path(), &[]);
        assert_eq!(dnf.updates, expected(), "{kind}: dnf said:\n{}", dnf.output);
        let ours = f.scan(&Options {
            timeout: 5,
            network: repo::allow_test_servers(),
            ..Options::default()
        });
        assert!(errors_of(&ours).is_empty(), "{kind}: {:?}", errors_of(&ours));
        assert_eq!(updates_of(&ours), dnf.updates, "{kind}");
    }

    // A metalink whose hash does not match what the mirrors serve: the repository fails,
    // named; it was the only one, so nothing was checked and the subject is not scanned.
    f.root.write_file(
        "/etc/yum.repos.d/t.repo",
        format!("[t]\nname=t\nmetalink={}\ngpgcheck=0\n", server.url("badmetalink.xml")),
    );
    let e = f
        .try_scan(&Options {
            network: repo::allow_test_servers(),
            ..Options::default()
        })
        .unwrap_err();
    assert!(
        e.contains("no repository could be read")
            && e.contains("repository t: ")
            && e.contains("does not match any hash of the metalink"),
        "{e}"
    );
}

/// The same repository in every compression, over HTTP and file://, gives dnf's answer.
#[test]
fn every_compression_over_http_and_file() {
    let f = fixture();
    let dnf_dir = f.repo("gz", "gz");
    let dnf = repo::dnf_check_update(
        f.root.path(),
        &[
            "--setopt=reposdir=/dev/null".to_string(),
            format!("--repofrompath=t,file://{}", dnf_dir.display()),
        ],
    );
    assert_eq!(dnf.updates, expected(), "dnf said:\n{}", dnf.output);
    let server = HttpServer::start(&f.served(), Serve::Files);
    for c in ["xz", "bz2", "zst"] {
        let dir = f.repo(c, c);
        let primary = repo::data_path(&dir, "primary");
        let bytes = std::fs::read(&primary).unwrap();
        let want: &[u8] = match c {
            "xz" => &[0xfd, b'7', b'z', b'X'],
            "bz2" => b"BZh",
            _ => &[0x28, 0xb5, 0x2f, 0xfd],
        };
        assert!(bytes.starts_with(want), "{c}: {}", primary.display());
    }
    for c in ["gz", "xz", "bz2", "zst"] {
        for url in [format!("file://{}", f.served().join(c).display()), server.url(c)] {
            let options = Options {
                no_image_repos: true,
                repos: vec![format!("t={url}")],
                ..Options::default()
            };
            let ours = f.scan(&options);
            assert!(errors_of(&ours).is_empty(), "{url}: {:?}", errors_of(&ours));
            assert_eq!(updates_of(&ours), dnf.updates, "{url}");
        }
    }
}

/// A repository on a server that accepts connections and never answers fails within the
/// timeout; the other repository's updates are still reported and the summary says partial.
#[test]
fn a_repository_that_never_answers_is_named_and_bounded() {
    let f = fixture();
    f.repo("good", "gz");
    let server = HttpServer::start(&f.served(), Serve::Files);
    let hang = HttpServer::start(&f.served(), Serve::Hang);
    f.root.write_file(
        "/etc/yum.repos.d/t.repo",
        format!(
            "[slow]\nname=slow\nbaseurl={}\n\n[good]\nname=good\nbaseurl={}\n",
            hang.url("good/"),
            server.url("good/")
        ),
    );
    let started = Instant::now();
    let root = rpmdb::root::Root::new(f.root.path()).unwrap();
    let options = Options {
        timeout: 2,
        connect_timeout: 2,
        attempts: 2,
        network: repo::allow_test_servers(),
        ..Options::default()
    };
    let outcome = PipelineScanner::default().scan(&root, "yum-update", &options).unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let errors = errors_of(&outcome.scan_results);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "slow");
    assert!(errors[0].1.contains("timed out"), "{}", errors[0].1);
    assert_eq!(updates_of(&outcome.scan_results), expected());
    assert!(
        outcome.summary.contains("partial") && outcome.summary.contains("slow"),
        "{}",
        outcome.summary
    );
    assert!(outcome.summary.starts_with("RPM updates available for the image."));
}

/// A primary whose bytes were changed fails its repomd checksum; a truncated primary whose
/// checksums were updated to match fails to parse. Both are named; the good repository counts.
#[test]
fn corrupted_and_truncated_primaries_are_named() {
    let f = fixture();
    f.repo("good", "gz");
    let bad = f.repo("bad", "gz");
    let cut = f.repo("cut", "gz");
    // Corrupt: flip bytes in the middle of the compressed primary.
    let primary = repo::data_path(&bad, "primary");
    let mut bytes = std::fs::read(&primary).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&primary, bytes).unwrap();
    // Truncated: half of the XML, re-compressed, repomd.xml updated to match.
    let primary = repo::data_path(&cut, "primary");
    let xml = {
        let (_, mut r) =
            repodata::compression::decompress(std::io::BufReader::new(std::fs::File::open(&primary).unwrap()), 1 << 30)
                .unwrap();
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut r, &mut v).unwrap();
        v
    };
    let half = cut.join("repodata/primary.xml");
    std::fs::write(&half, &xml[..xml.len() / 2]).unwrap();
    let status = std::process::Command::new(harness::require_tool("xz"))
        .arg("-f")
        .arg(&half)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(&primary).unwrap();
    repo::replace_data_file(&cut, "primary", &primary, &cut.join("repodata/primary.xml.xz"));

    let server = HttpServer::start(&f.served(), Serve::Files);
    let options = Options {
        no_image_repos: true,
        repos: vec![
            format!("bad={}", server.url("bad")),
            format!("cut=file://{}", cut.display()),
            format!("good={}", server.url("good")),
        ],
        ..Options::default()
    };
    let ours = f.scan(&options);
    let errors = errors_of(&ours);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, "bad");
    assert!(errors[0].1.contains("checksum mismatch"), "{}", errors[0].1);
    assert_eq!(errors[1].0, "cut");
    assert!(
        errors[1].1.contains("truncated XML") || errors[1].1.contains("malformed XML"),
        "{}",
        errors[1].1
    );
    assert_eq!(updates_of(&ours), expected());
}

/// With `--cache-dir`, a second image using the same repository downloads only repomd.xml.
#[test]
fn the_cache_downloads_primary_once() {
    let f = fixture();
    f.repo("r", "gz");
    let server = HttpServer::start(&f.served(), Serve::Files);
    let cache = tempfile::tempdir().unwrap();
    let options = Options {
        cache_dir: Some(cache.path().to_path_buf()),
        no_image_repos: true,
        repos: vec![format!("r={}", server.url("r"))],
        ..Options::default()
    };
    let first = f.scan(&options);
    let after_first = server.requests();
    assert_eq!(
        after_first.iter().filter(|r| r.contains("primary")).count(),
        1,
        "{after_first:?}"
    );
    // A separate scanner value, as a later run would be.
    let second = f.scan(&options);
    let all = server.requests();
    let later = &all[after_first.len()..];
    assert_eq!(later, ["/r/repodata/repomd.xml"], "the second scan fetched {later:?}");
    assert_eq!(updates_of(&first), updates_of(&second));
    assert_eq!(updates_of(&second), expected());
    // The second scan read the compact index the first one wrote beside the primary.
    let repo_dir = std::fs::read_dir(cache.path()).unwrap().next().unwrap().unwrap().path();
    let names: Vec<String> = std::fs::read_dir(&repo_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("-primary.index")), "{names:?}");
    assert!(!names.iter().any(|n| n.contains(".part")), "{names:?}");
}

/// Images that are not RPM-based fail with a message saying what is missing; through the
/// command line, atomic mode writes `json` and `image_scan_results.json` for every subject.
#[test]
fn non_rpm_images_fail_clearly_and_atomic_mode_writes_both_files() {
    let f = fixture();
    let scanin = tempfile::tempdir().unwrap();
    let scanout = tempfile::tempdir().unwrap();
    // A Go image: one static binary, no os-release, no database.
    std::fs::create_dir_all(scanin.path().join("goimage/app")).unwrap();
    std::fs::write(scanin.path().join("goimage/app/server"), b"\x7fELF").unwrap();
    // An Alpine-like image: os-release but no RPM database.
    std::fs::create_dir_all(scanin.path().join("alpine/etc")).unwrap();
    std::fs::write(
        scanin.path().join("alpine/etc/os-release"),
        "NAME=\"Alpine Linux\"\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    )
    .unwrap();
    // The RPM root, as a symlink would not be followed: copy it with cp -a.
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(f.root.path())
        .arg(scanin.path().join("rpmimage"))
        .status()
        .unwrap();
    assert!(status.success());
    let dir = f.repo("r", "gz");
    let args = [
        "pipeline-scanner".to_string(),
        "--scan-type".to_string(),
        "yum-update".to_string(),
        "--scanin".to_string(),
        scanin.path().display().to_string(),
        "--scanout".to_string(),
        scanout.path().display().to_string(),
        "--repo".to_string(),
        format!("r=file://{}", dir.display()),
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = atomic_protocol::cli::run(&PipelineScanner::default(), args, &mut out, &mut err);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let read = |subject: &str, file: &str| -> serde_json::Value {
        let p: &Path = &scanout.path().join(subject).join(file);
        serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
    };
    let go = read("goimage", "json");
    assert_eq!(go["Successful"], "false");
    assert!(go["Summary"].as_str().unwrap().contains("os-release"), "{go}");
    let alpine = read("alpine", "json");
    assert_eq!(alpine["Successful"], "false");
    let why = alpine["Summary"].as_str().unwrap();
    assert!(
        why.contains("no RPM database") && why.contains("Alpine Linux v3.19"),
        "{why}"
    );
    let rpm = read("rpmimage", "json");
    assert_eq!(rpm["Successful"], "true", "{rpm}");
    assert_eq!(rpm["Scan Type"], "Image Scan");
    assert_eq!(rpm["CVE Feed Last Updated"], "NA");
    assert_eq!(rpm["Summary"], "RPM updates available for the image.");
    assert_eq!(
        rpm["Scan Results"]["Package Updates"],
        serde_json::json!(["alpha.x86_64", "beta.noarch"])
    );
    assert_eq!(rpm["Scan Results"]["OS Release"], "Test Linux 8");
    assert_eq!(read("rpmimage", "image_scan_results.json"), rpm);
}

/// `--image-ca-bundle`: https repositories are checked against the image's own bundle; a
/// bundle without a certificate is named as the repository's error, and a repository's own
/// `sslcacert` is read inside the image, never on the host.
#[test]
fn ca_bundles_come_from_the_image() {
    let f = fixture();
    f.root
        .write_file("/etc/pki/tls/certs/ca-bundle.crt", "not a certificate\n");
    f.root.write_file(
        "/etc/yum.repos.d/t.repo",
        "[tls]\nname=tls\nbaseurl=https://127.0.0.1:9/repo/\n\n[own]\nname=own\nbaseurl=https://127.0.0.1:9/own/\nsslcacert=/etc/ssl/certs/ca-certificates.crt\n",
    );
    // Neither repository can be read: the subject is not scanned, and both are named.
    let e = f
        .try_scan(&Options {
            image_ca_bundle: true,
            network: repo::allow_test_servers(),
            ..Options::default()
        })
        .unwrap_err();
    let (tls, own) = e.split_once("; repository own: ").unwrap_or_else(|| panic!("{e}"));
    assert!(
        tls.contains(
            "repository tls: CA bundle /etc/pki/tls/certs/ca-bundle.crt: the CA bundle holds no PEM certificate"
        ),
        "{e}"
    );
    // The host has /etc/ssl/certs/ca-certificates.crt; the image does not.
    assert!(
        own.contains("/etc/ssl/certs/ca-certificates.crt") && own.contains("No such file"),
        "{e}"
    );
}
