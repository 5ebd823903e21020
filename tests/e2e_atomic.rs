//! End to end: the scanner images, run by podman exactly as `atomic scan` runs them, against
//! roots built with the real `rpm`, judged against the real `rpm -Va` and `dnf`.
//!
//! `make test` (CI) builds the static binaries and the images first, then runs this file with
//! `--ignored`, passing `E2E_SCANNERS` (the binaries), `E2E_BIN_DIR`, `E2E_IMAGE_PREFIX` and
//! `E2E_IMAGE_TAG`. Run alone: `make test-e2e`. The tests are `#[ignore]`d only so that a bare
//! `cargo test --workspace` does not run them without images; without those variables they
//! fail and say so.
//!
//! What is covered:
//! - the binaries are static (`ldd`), each image holds exactly one file and weighs at most
//!   10 MiB (image-scan, the three in one: 12 MiB, and less than the three together), and
//!   carries name/version/description/INSTALL/UNINSTALL/RUN labels;
//! - the `INSTALL` and `UNINSTALL` labels, run as atomic runs them (`${IMAGE}` substituted,
//!   split on white space) against a temporary folder bound as `/etc/atomic.d`, write the
//!   manifest (read back with PyYAML, as atomic reads it, `image_name` substituted) and remove it;
//! - atomic's exact command line (`podman run -t --rm -v /etc/localtime:/etc/localtime
//!   -v <dir>:/scanin -v <out>:/scanout:rw,Z --security-opt label:disable <image> <args>`, the
//!   args from the installed manifest's `scans`, plus `--scanner_args`-style flags), with no
//!   terminal on stdin (so `-t` without a tty is exercised), over five subjects: a clean root, a
//!   tampered root, a root with pending updates from a local repository (with an updateinfo
//!   advisory), a root with no RPM database, and a clean root in a folder named like an image
//!   id; every `json` is checked for atomic's rules (string `Successful`, `Time` format and
//!   local time, `UUID`), `/scanin` is checked unchanged, and each scanner's findings are
//!   compared with the real tool: rpm-verify with `rpm -Va`, pipeline-scanner with
//!   `dnf check-update`, security-advisories with `dnf updateinfo list --security`;
//! - zero subjects, no `/scanin` at all, and a read-only `/scanout`: exit 2 with a message.
//!
//! Needs (Debian packages): podman, runc, rpm, dnf, createrepo-c, python3-yaml.

use crate::harness;

use harness::{build_rpms, require_tool, FileSpec, PackageSpec, TestRoot};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// image-scan is the three scanners and the report formats (HTML, SARIF, JUnit, SBOMs, mail)
/// in one binary: its image is held to 12 MiB, and to less than the three images it stands
/// in for together.
const MAX_COMBINED_IMAGE_BYTES: u64 = 12 * 1024 * 1024;
const COMBINED_SCANNER: &str = "image-scan";
/// The name of the subject folder that stands for an image id (64 hex digits, as atomic
/// mounts images).
const IMAGE_ID: &str = "0e2e0e2e4c1a6c4b1bd5b2f32c2b4e4e8f3a6d4a3e6f0a1b2c3d4e5f60718293";

// ---------------------------------------------------------------------------------------------
// The images under test

struct Setup {
    scanners: Vec<String>,
    bin_dir: PathBuf,
    prefix: String,
    tag: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run these tests with `make test-e2e` (it builds the static binaries and the images first)")
            })
        };
        let scanners: Vec<String> = var("E2E_SCANNERS").split_whitespace().map(str::to_string).collect();
        assert!(!scanners.is_empty(), "E2E_SCANNERS names no scanner");
        for tool in ["podman", "runc", "rpm", "rpmbuild", "dnf", "createrepo_c", "modifyrepo_c", "python3", "ldd"] {
            require_tool(tool);
        }
        Setup {
            scanners,
            bin_dir: PathBuf::from(var("E2E_BIN_DIR")),
            prefix: var("E2E_IMAGE_PREFIX"),
            tag: var("E2E_IMAGE_TAG"),
        }
    })
}

impl Setup {
    fn image(&self, scanner: &str) -> String {
        format!("{}{}:{}", self.prefix, scanner, self.tag)
    }
    fn bin(&self, scanner: &str) -> PathBuf {
        self.bin_dir.join(scanner)
    }
}

fn containers_conf() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/containers.conf")
}

fn podman() -> Command {
    let mut cmd = Command::new(require_tool("podman"));
    cmd.env("CONTAINERS_CONF", containers_conf()).stdin(Stdio::null());
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn ok_stdout(cmd: &mut Command) -> String {
    let out = output(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn label(image: &str, name: &str) -> String {
    let format = format!("{{{{index .Config.Labels \"{name}\"}}}}");
    ok_stdout(podman().args(["image", "inspect", "--format", &format, image]))
        .trim()
        .to_string()
}

/// What the scanner calls itself (`"Scanner"` in its documents): the first word of --version.
fn scanner_name(bin: &Path) -> String {
    let v = ok_stdout(Command::new(bin).arg("--version"));
    v.split_whitespace().next().unwrap_or_default().to_string()
}

/// A YAML file as atomic reads it (PyYAML), as JSON.
fn yaml(path: &Path) -> Value {
    let script = "import sys, json, yaml\nprint(json.dumps(yaml.safe_load(open(sys.argv[1]))))";
    let out = output(Command::new(require_tool("python3")).args(["-c", script]).arg(path));
    assert!(
        out.status.success(),
        "PyYAML cannot read {} (install python3-yaml): {}",
        path.display(),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A label command as `atomic install` runs it (Atomic/install.py and atomic.py): split on
/// white space, the word `IMAGE` and `$IMAGE`/`${IMAGE}` replaced by the image name, other
/// variables deleted; then the host's /etc/atomic.d swapped for `atomic_d`.
fn label_command(label: &str, image: &str, atomic_d: &Path) -> Vec<String> {
    label
        .split_whitespace()
        .map(|w| {
            let w = if w == "IMAGE" {
                image.to_string()
            } else {
                w.replace("${IMAGE}", image).replace("$IMAGE", image)
            };
            assert!(!w.contains('$'), "label word {w:?} uses a variable atomic would delete");
            w.replace("/etc/atomic.d/:", &format!("{}/:", atomic_d.display()))
        })
        .collect()
}

/// A PATH whose first `docker` runs podman, as podman-docker's does on a podman host (this
/// machine's `/usr/local/bin/docker` is a client with no engine): the labels call `docker`.
fn docker_is_podman() -> std::ffi::OsString {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = harness::scratch::process_tempdir("docker-is-podman");
        let shim = dir.join("docker");
        fs::write(
            &shim,
            format!("#!/bin/sh\nexec {} \"$@\"\n", require_tool("podman").display()),
        )
        .unwrap();
        fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).unwrap();
        dir
    });
    let mut path = dir.clone().into_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

/// `atomic scan`'s own command line (Atomic/scan.py), through podman.
fn atomic_scan(image: &str, scanin: &Path, scanout: &Path, args: &[String]) -> Output {
    let mut cmd = podman();
    cmd.args(["run", "-t", "--rm", "-v", "/etc/localtime:/etc/localtime", "-v"])
        .arg(format!("{}:/scanin", scanin.display()))
        .arg("-v")
        .arg(format!("{}:/scanout:rw,Z", scanout.display()))
        .args(["--security-opt", "label:disable", image])
        .args(args);
    output(&mut cmd)
}

fn local_now() -> String {
    ok_stdout(Command::new("date").arg("+%Y-%m-%d-%H-%M-%S-%6N"))
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// The test roots, built once with the real rpm

struct Roots {
    _dir: tempfile::TempDir,
    scanin: PathBuf,
}

const OS_RELEASE: &str = "NAME=\"E2E Linux\"\nVERSION=\"9\"\nID=e2e\nVERSION_ID=\"9\"\nPRETTY_NAME=\"E2E Linux 9\"\n";

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="e2e@example.org" status="final" type="security" version="2.0">
    <id>E2E-2026:0001</id>
    <title>Important: e2e-lib security update</title>
    <severity>Important</severity>
    <issued date="2026-01-02 00:00:00"/>
    <updated date="2026-01-02 00:00:00"/>
    <references>
      <reference href="https://example.org/CVE-2026-0001" id="CVE-2026-0001" type="cve" title="CVE-2026-0001"/>
    </references>
    <description>Fixes CVE-2026-0001.</description>
    <pkglist>
      <collection short="e2e">
        <name>e2e</name>
        <package name="e2e-lib" version="1.1" release="1" epoch="0" arch="x86_64" src="e2e-lib-1.1-1.src.rpm">
          <filename>e2e-lib-1.1-1.x86_64.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
  <update from="e2e@example.org" status="final" type="bugfix" version="2.0">
    <id>E2E-2026:0002</id>
    <title>e2e-data bug fix</title>
    <issued date="2026-01-03 00:00:00"/>
    <description>Not a security advisory, and nothing to update anyway.</description>
    <pkglist>
      <collection short="e2e">
        <name>e2e</name>
        <package name="e2e-data" version="1.0" release="1" epoch="0" arch="noarch" src="e2e-data-1.0-1.src.rpm">
          <filename>e2e-data-1.0-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
"#;

fn lib_package(version: &str) -> PackageSpec {
    PackageSpec::new("e2e-lib", version, "1")
        .vendor("E2E")
        .packager("E2E Builders <builders@example.org>")
        .file(FileSpec::dir("/usr/lib64/e2e"))
        .file(FileSpec::regular("/usr/lib64/e2e/libe2e.so.1", format!("library {version}\n")).mode(0o755))
        .file(FileSpec::regular("/usr/bin/e2e-tool", format!("#!/bin/sh\necho {version}\n")).mode(0o755))
        .file(FileSpec::regular("/usr/share/e2e/data", b"data\n"))
        .file(FileSpec::regular("/etc/e2e.conf", b"setting=1\n").config_noreplace())
}

fn data_package() -> PackageSpec {
    PackageSpec::new("e2e-data", "1.0", "1")
        .arch("noarch")
        .file(FileSpec::regular("/usr/share/e2e-data/a.txt", b"a\n"))
        .file(FileSpec::regular("/usr/share/e2e-data/b.txt", b"b\n"))
}

fn new_package() -> PackageSpec {
    PackageSpec::new("e2e-new", "2.0", "1").file(FileSpec::regular("/usr/share/e2e-new/x", b"x\n"))
}

fn rpm_root(scanin: &Path, folder: &str, rpms: &[PathBuf]) -> TestRoot {
    let dir = scanin.join(folder);
    fs::create_dir_all(dir.join("var/lib/rpm")).unwrap();
    let root = TestRoot::at(&dir, "/var/lib/rpm");
    root.install(rpms, &[]);
    root.write_file("/etc/os-release", OS_RELEASE);
    root
}

fn roots() -> &'static Roots {
    static ROOTS: OnceLock<Roots> = OnceLock::new();
    ROOTS.get_or_init(|| {
        setup();
        let dir = tempfile::Builder::new().prefix("e2e-atomic-").tempdir().unwrap();
        let rpms_dir = dir.path().join("rpms");
        let built = build_rpms(
            &[lib_package("1.0"), data_package(), lib_package("1.1"), new_package()],
            &rpms_dir,
        );
        let (installed, repo_rpms) = (
            [built[0].clone(), built[1].clone()],
            [built[1].clone(), built[2].clone(), built[3].clone()],
        );
        let scanin = dir.path().join("scanin");

        rpm_root(&scanin, "_clean", &installed);
        rpm_root(&scanin, IMAGE_ID, &installed);

        let tampered = rpm_root(&scanin, "_tampered", &installed);
        fs::write(tampered.host_path("/usr/bin/e2e-tool"), b"#!/bin/sh\necho tampered\n").unwrap();
        fs::set_permissions(
            tampered.host_path("/usr/share/e2e/data"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs::remove_file(tampered.host_path("/usr/share/e2e-data/b.txt")).unwrap();
        fs::write(tampered.host_path("/etc/e2e.conf"), b"setting=2\n").unwrap();

        let updates = rpm_root(&scanin, "_updates", &installed);
        let repo = updates.host_path("/srv/repo");
        fs::create_dir_all(&repo).unwrap();
        for rpm in &repo_rpms {
            fs::copy(rpm, repo.join(rpm.file_name().unwrap())).unwrap();
        }
        ok_stdout(
            Command::new(require_tool("createrepo_c"))
                .args(["--no-database", "--quiet"])
                .arg(&repo),
        );
        let updateinfo = dir.path().join("updateinfo.xml");
        fs::write(&updateinfo, UPDATEINFO).unwrap();
        ok_stdout(
            Command::new(require_tool("modifyrepo_c"))
                .args(["--mdtype=updateinfo"])
                .arg(&updateinfo)
                .arg(repo.join("repodata")),
        );
        updates.write_file(
            "/etc/yum.repos.d/e2e.repo",
            "[e2e]\nname=E2E local repository\nbaseurl=file:///srv/repo\nenabled=1\ngpgcheck=0\n",
        );
        // Debian's dnf looks for the database at <root>/root/.rpmdb (rpm-internals.md §6).
        fs::create_dir_all(updates.host_path("/root")).unwrap();
        std::os::unix::fs::symlink("../var/lib/rpm", updates.host_path("/root/.rpmdb")).unwrap();

        let nonrpm = scanin.join("_nonrpm");
        fs::create_dir_all(nonrpm.join("etc")).unwrap();
        fs::create_dir_all(nonrpm.join("bin")).unwrap();
        fs::write(
            nonrpm.join("etc/os-release"),
            "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.0\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
        )
        .unwrap();
        fs::write(nonrpm.join("bin/busybox"), b"\x7fELF not really").unwrap();

        Roots { _dir: dir, scanin }
    })
}

/// Every path under `dir` with its mode, size and a hash of its contents: the test proves no
/// scanner run changed anything under /scanin (the oracles, rpm and dnf, may: they run between).
fn snapshot(dir: &Path) -> Vec<String> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            let mut line = format!("{} {:o} {}", p.display(), meta.permissions().mode(), meta.len());
            if meta.is_dir() {
                stack.push(p.clone());
            } else if meta.is_file() {
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                std::hash::Hash::hash(&fs::read(&p).unwrap(), &mut hasher);
                line.push_str(&format!(" {:016x}", std::hash::Hasher::finish(&hasher)));
            }
            all.push(line);
        }
    }
    all.sort();
    all
}

// ---------------------------------------------------------------------------------------------
// The real tools' answers

/// `rpm -Va` lines of a root as (columns, config?, path).
fn rpm_va(root: &Path) -> BTreeSet<(String, bool, String)> {
    let out =
        output(
            Command::new(require_tool("rpm"))
                .arg("--root")
                .arg(root)
                .args(["--dbpath", "/var/lib/rpm", "-Va"]),
        );
    let mut lines = BTreeSet::new();
    for line in text(&out.stdout).lines() {
        let (columns, rest) = if let Some(rest) = line.strip_prefix("missing   ") {
            ("missing".to_string(), rest)
        } else {
            (line.get(..9).unwrap_or(line).to_string(), line.get(11..).unwrap_or(""))
        };
        let attr = rest.chars().next().unwrap_or(' ');
        let path = rest.get(2..).unwrap_or("").to_string();
        lines.insert((columns, attr == 'c', path));
    }
    lines
}

fn dnf(root: &Path, args: &[&str]) -> String {
    let repo = format!("e2e,file://{}", root.join("srv/repo").display());
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        Command::new(require_tool("dnf"))
            .arg(format!("--installroot={}", root.display()))
            .args([
                "--setopt=reposdir=/dev/null",
                "--disableplugin=*",
                "--setopt=gpgcheck=0",
                "--releasever=9",
                "-q",
            ])
            .arg(format!("--setopt=cachedir={}", cache.path().display()))
            .arg(format!("--repofrompath={repo}"))
            .args(args),
    );
    assert!(
        matches!(out.status.code(), Some(0) | Some(100)),
        "dnf {args:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `dnf check-update`: the name.arch of each update.
fn dnf_check_update(root: &Path) -> BTreeSet<String> {
    dnf(root, &["check-update"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.contains('.'))
        .map(str::to_string)
        .collect()
}

/// `dnf updateinfo list --security`: the advisory ids.
fn dnf_security_advisories(root: &Path) -> BTreeSet<String> {
    dnf(root, &["updateinfo", "list", "--security"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Checks of one result document

fn is_atomic_time(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    parts.len() == 7
        && parts
            .iter()
            .zip([4, 2, 2, 2, 2, 2, 6])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_digit()))
}

/// atomic's rules for every `json`; returns the document.
fn check_document(scanout: &Path, folder: &str, scanner: &str, before: &str, after: &str) -> Value {
    let path = scanout.join(folder).join("json");
    let doc: Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ctx = format!("{scanner} {folder}: {doc:#}");
    for key in [
        "Scanner",
        "Successful",
        "Time",
        "Start Time",
        "Finished Time",
        "Scan Type",
        "CVE Feed Last Updated",
        "UUID",
        "Summary",
    ] {
        assert!(doc[key].is_string(), "{key} must be a string: {ctx}");
    }
    assert!(doc["Scan Results"].is_object(), "{ctx}");
    assert_eq!(doc["Scanner"], scanner, "{ctx}");
    let successful = doc["Successful"].as_str().unwrap();
    assert!(successful == "true" || successful == "false", "{ctx}");
    if successful == "false" {
        assert!(
            !doc["Error"].as_str().unwrap_or("").is_empty(),
            "a failed subject says why: {ctx}"
        );
    }
    let uuid = folder.strip_prefix('_').unwrap_or(folder);
    assert_eq!(doc["UUID"], uuid, "{ctx}");
    for key in ["Time", "Start Time", "Finished Time"] {
        let t = doc[key].as_str().unwrap();
        assert!(is_atomic_time(t), "{key} {t:?} is not %Y-%m-%d-%H-%M-%S-%f: {ctx}");
        assert!(
            before <= t && t <= after,
            "{key} {t} is not the host's local time between {before} and {after}: {ctx}"
        );
    }
    assert!(doc["Start Time"].as_str() <= doc["Finished Time"].as_str(), "{ctx}");
    for v in doc["Vulnerabilities"].as_array().into_iter().flatten() {
        assert!(
            v["Title"].is_string() && v["Severity"].is_string() && v.get("Custom").is_some(),
            "{ctx}"
        );
    }
    for r in doc["Results"].as_array().into_iter().flatten() {
        assert!(r.get("Custom").is_some(), "{ctx}");
    }
    doc
}

fn rpm_va_issues(doc: &Value) -> BTreeSet<(String, bool, String)> {
    doc["Scan Results"]["rpmVa_issues"]
        .as_array()
        .unwrap_or_else(|| panic!("no rpmVa_issues list: {doc:#}"))
        .iter()
        .map(|i| {
            (
                i["issue"].as_str().unwrap().to_string(),
                i["config"].as_bool().unwrap(),
                i["filename"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// What each scanner must say about each root, against the real tools.
fn check_findings(scanner_bin: &str, scan: &str, folder: &str, doc: &Value, roots: &Roots) {
    let root = roots.scanin.join(folder);
    let ctx = format!("{scanner_bin} --scan-type {scan} on {folder}: {doc:#}");
    if folder == "_nonrpm" {
        assert_eq!(doc["Successful"], "false", "{ctx}");
        return;
    }
    match scanner_bin {
        "scanner-rpm-verify" => {
            assert_eq!(doc["Successful"], "true", "{ctx}");
            let real = rpm_va(&root);
            if folder == "_tampered" {
                assert_eq!(
                    real.len(),
                    4,
                    "the tampered root has four changed files for rpm -Va: {real:?}"
                );
            } else {
                assert!(real.is_empty(), "rpm -Va finds {folder} intact: {real:?}");
            }
            let expected: BTreeSet<_> = match scan {
                "rpm-verify-all" => real,
                // The pipeline's policy drops config files (none of ours are under /var etc.).
                _ => real.into_iter().filter(|(_, config, _)| !config).collect(),
            };
            assert_eq!(rpm_va_issues(doc), expected, "{ctx}");
        }
        "pipeline-scanner" => {
            if folder != "_updates" {
                // No repository to look in: nothing was checked, which is not a pass.
                assert_eq!(doc["Successful"], "false", "{ctx}");
                let error = doc["Error"].as_str().unwrap_or_default();
                assert!(error.contains("no enabled repository"), "{ctx}");
                return;
            }
            assert_eq!(doc["Successful"], "true", "{ctx}");
            let ours: BTreeSet<String> = doc["Scan Results"]["Package Updates"]
                .as_array()
                .unwrap_or_else(|| panic!("no Package Updates: {ctx}"))
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(doc["Scan Results"]["OS Release"], "E2E Linux 9", "{ctx}");
            if folder == "_updates" {
                let real = dnf_check_update(&root);
                assert_eq!(real, BTreeSet::from(["e2e-lib.x86_64".to_string()]), "dnf's answer");
                assert_eq!(ours, real, "{ctx}");
                assert_eq!(doc["Summary"], "RPM updates available for the image.", "{ctx}");
            }
        }
        "security-advisories" => {
            if folder == "_updates" {
                assert_eq!(doc["Successful"], "true", "{ctx}");
                let ours: BTreeSet<String> = doc["Vulnerabilities"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| v["Custom"]["Advisory"].as_str().unwrap_or_default().to_string())
                    .collect();
                let real = dnf_security_advisories(&root);
                assert_eq!(real, BTreeSet::from(["E2E-2026:0001".to_string()]), "dnf's answer");
                if scan == "security" {
                    assert_eq!(ours, real, "{ctx}");
                } else {
                    assert!(ours.is_superset(&real), "{ctx}");
                }
            } else {
                assert!(doc["Vulnerabilities"].as_array().is_none_or(|v| v.is_empty()), "{ctx}");
            }
        }
        "image-scan" => {
            // The combined document: each part is that scanner's own document, held to what
            // the real tools say exactly as the stand-alone scanner is; the whole succeeds
            // only where every part ran (without a repository, the update check cannot).
            let (verify_scan, advisory_scan) = match scan {
                "image-scan-all" => ("rpm-verify-all", "all"),
                _ => ("rpm-verify", "security"),
            };
            let checks = &doc["Scan Results"]["Checks"];
            for (check, scanner, part_scan) in [
                ("verify", "scanner-rpm-verify", verify_scan),
                ("updates", "pipeline-scanner", "yum-update"),
                ("advisories", "security-advisories", advisory_scan),
            ] {
                let part = &checks[check]["Document"];
                assert_eq!(part["Scanner"], scanner, "{ctx}");
                assert_eq!(checks[check]["Ran"], part["Successful"] == "true", "{ctx}");
                check_findings(scanner, part_scan, folder, part, roots);
            }
            let all_ran = ["verify", "updates", "advisories"]
                .iter()
                .all(|c| checks[*c]["Document"]["Successful"] == "true");
            assert_eq!(doc["Successful"], if all_ran { "true" } else { "false" }, "{ctx}");
            assert_eq!(all_ran, folder == "_updates", "only _updates has a repository: {ctx}");
            let summary = doc["Summary"].as_str().unwrap_or_default();
            if folder == "_updates" && scan == "image-scan" {
                assert!(
                    summary.ends_with(": 1 update, 1 advisory (1 Important), 0 tampered files"),
                    "{ctx}"
                );
            }
        }
        other => panic!("no expectations written for the scanner {other}: add them here"),
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
#[ignore = "needs the images: run with `make test-e2e`"]
fn binaries_are_static() {
    let s = setup();
    for scanner in &s.scanners {
        let out = output(Command::new(require_tool("ldd")).arg(s.bin(scanner)));
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(
            said.contains("not a dynamic executable") || said.contains("statically linked"),
            "ldd says {scanner} is dynamic:\n{said}"
        );
    }
}

#[test]
#[ignore = "needs the images: run with `make test-e2e`"]
fn images_hold_one_file_fit_in_10_mib_and_carry_the_labels() {
    let s = setup();
    let mut sizes: Vec<(String, u64)> = Vec::new();
    for scanner in &s.scanners {
        let image = s.image(scanner);
        let size: u64 = ok_stdout(podman().args(["image", "inspect", "--format", "{{.Size}}", &image]))
            .trim()
            .parse()
            .unwrap();
        let limit = if scanner == COMBINED_SCANNER {
            MAX_COMBINED_IMAGE_BYTES
        } else {
            MAX_IMAGE_BYTES
        };
        assert!(
            size <= limit,
            "{image} weighs {size} bytes, over {} MiB",
            limit / 1024 / 1024
        );
        eprintln!("{image}: {:.2} MiB", size as f64 / 1048576.0);
        sizes.push((scanner.clone(), size));

        let mount = ok_stdout(podman().args(["image", "mount", &image])).trim().to_string();
        let (mut files, mut dirs) = (Vec::new(), Vec::new());
        let mut stack = vec![PathBuf::from(&mount)];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let inside = p.strip_prefix(&mount).unwrap().to_path_buf();
                if fs::symlink_metadata(&p).unwrap().is_dir() {
                    stack.push(p);
                    dirs.push(inside);
                } else {
                    files.push(inside);
                }
            }
        }
        ok_stdout(podman().args(["image", "unmount", &image]));
        assert_eq!(
            files,
            vec![PathBuf::from("scanner")],
            "{image} holds exactly one file, the binary"
        );
        assert_eq!(dirs, vec![PathBuf::from("tmp")], "{image}: and an empty /tmp folder");

        assert_eq!(label(&image, "name"), *scanner);
        for name in ["version", "description", "INSTALL", "UNINSTALL", "RUN"] {
            assert!(!label(&image, name).is_empty(), "{image} has no {name} label");
        }
        let run = label(&image, "RUN");
        assert!(
            run.contains(":/scanin") && run.contains(":/scanout:rw,Z"),
            "RUN label: {run}"
        );
        let entrypoint =
            ok_stdout(podman().args(["image", "inspect", "--format", "{{json .Config.Entrypoint}}", &image]));
        assert_eq!(entrypoint.trim(), "[\"/scanner\"]");
    }
    if let Some((_, combined)) = sizes.iter().find(|(s, _)| s == COMBINED_SCANNER) {
        let parts: u64 = sizes
            .iter()
            .filter(|(s, _)| ["scanner-rpm-verify", "pipeline-scanner", "security-advisories"].contains(&s.as_str()))
            .map(|(_, size)| size)
            .sum();
        assert!(
            *combined < parts,
            "{COMBINED_SCANNER} ({combined} bytes) is not smaller than the three scanners' images together ({parts})"
        );
    }
}

#[test]
#[ignore = "needs the images: run with `make test-e2e`"]
fn install_and_uninstall_labels_write_and_remove_the_manifest() {
    let s = setup();
    for scanner in &s.scanners {
        let image = s.image(scanner);
        let host = tempfile::tempdir().unwrap();
        let atomic_d = host.path().join("etc/atomic.d");
        fs::create_dir_all(&atomic_d).unwrap();
        fs::write(atomic_d.join("other-scanner"), "type: scanner\n").unwrap();

        let install = label_command(&label(&image, "INSTALL"), &image, &atomic_d);
        assert_eq!(
            install[..2],
            ["docker", "run"],
            "{image}: INSTALL calls docker, as atomic scan does: it works wherever atomic scan works"
        );
        let out = output(
            Command::new(&install[0])
                .env("PATH", docker_is_podman())
                .env("CONTAINERS_CONF", containers_conf())
                .stdin(Stdio::null())
                .args(&install[1..]),
        );
        assert!(
            out.status.success(),
            "{install:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );

        let expected = ok_stdout(
            Command::new(s.bin(scanner))
                .env_remove("IMAGE")
                .args(["manifest", "--image", &image]),
        );
        let manifest = yaml(&expected_path_of(&atomic_d, &expected));
        let written_path = atomic_d.join(manifest["scanner_name"].as_str().unwrap());
        assert_eq!(
            fs::read_to_string(&written_path).unwrap(),
            expected,
            "{image}: the embedded manifest, image_name substituted"
        );
        assert_eq!(manifest["type"], "scanner");
        assert_eq!(
            manifest["image_name"],
            image.as_str(),
            "image_name names the installed image"
        );
        let scans = manifest["scans"].as_array().unwrap();
        let names: Vec<&str> = scans.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert!(
            names.contains(&manifest["default_scan"].as_str().unwrap()),
            "default_scan is one of the scans: {manifest}"
        );
        for scan in scans {
            assert_eq!(
                scan["args"],
                serde_json::json!(["--scan-type", scan["name"]]),
                "args convention: {manifest}"
            );
            assert!(scan["description"].is_string());
        }
        assert_eq!(
            fs::read_dir(&atomic_d).unwrap().count(),
            2,
            "one file added, nothing else"
        );

        let uninstall = label_command(&label(&image, "UNINSTALL"), &image, &atomic_d);
        assert_eq!(uninstall[..2], ["docker", "run"], "{image}: UNINSTALL calls docker");
        let out = output(
            Command::new(&uninstall[0])
                .env("PATH", docker_is_podman())
                .env("CONTAINERS_CONF", containers_conf())
                .stdin(Stdio::null())
                .args(&uninstall[1..]),
        );
        assert!(
            out.status.success(),
            "{uninstall:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            !written_path.exists(),
            "{image}: UNINSTALL removed {}",
            written_path.display()
        );
        assert!(
            atomic_d.join("other-scanner").exists(),
            "other manifests are left alone"
        );
    }
}

/// The installed manifest's path, found by its `scanner_name:` line.
fn expected_path_of(atomic_d: &Path, manifest: &str) -> PathBuf {
    let name = manifest
        .lines()
        .find_map(|l| l.strip_prefix("scanner_name:"))
        .unwrap_or_else(|| panic!("no scanner_name in {manifest}"))
        .trim();
    atomic_d.join(name)
}

/// Extra `--scanner_args` each scanner gets in one of its runs (atomic's `k=v` → `--k v`).
fn scanner_args(scanner: &str) -> Vec<String> {
    let args: &[&str] = match scanner {
        "pipeline-scanner" | "image-scan" => &["--connect_timeout", "5"],
        _ => &["--jobs", "2"],
    };
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
#[ignore = "needs the images: run with `make test-e2e`"]
fn atomic_scan_command_line_over_every_root() {
    let s = setup();
    let roots = roots();
    let folders = ["_clean", "_nonrpm", "_tampered", "_updates", IMAGE_ID];
    for scanner in &s.scanners {
        let image = s.image(scanner);
        let name = scanner_name(&s.bin(scanner));
        let manifest_text = ok_stdout(
            Command::new(s.bin(scanner))
                .env_remove("IMAGE")
                .args(["manifest", "--image", &image]),
        );
        let manifest_file = tempfile::NamedTempFile::new().unwrap();
        fs::write(manifest_file.path(), &manifest_text).unwrap();
        let manifest = yaml(manifest_file.path());
        for (i, scan) in manifest["scans"].as_array().unwrap().iter().enumerate() {
            let scan_name = scan["name"].as_str().unwrap();
            let mut args: Vec<String> = scan["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            if i == 0 {
                args.extend(scanner_args(scanner));
            }
            let scanout = tempfile::tempdir().unwrap();
            let unchanged = snapshot(&roots.scanin);
            let before = local_now();
            let out = atomic_scan(&image, &roots.scanin, scanout.path(), &args);
            let after = local_now();
            let now = snapshot(&roots.scanin);
            let changed: Vec<&String> = now.iter().filter(|l| !unchanged.contains(l)).collect();
            let gone: Vec<&String> = unchanged.iter().filter(|l| !now.contains(l)).collect();
            assert!(
                changed.is_empty() && gone.is_empty(),
                "{image} {args:?} wrote under /scanin: {changed:?} {gone:?}"
            );
            let said = text(&out.stdout);
            assert!(
                out.status.success(),
                "{image} {args:?} exited {}: {said}{}",
                out.status,
                text(&out.stderr)
            );
            let mut written: Vec<String> = fs::read_dir(scanout.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            written.sort();
            let mut expected_folders = folders.to_vec();
            expected_folders.sort();
            assert_eq!(written, expected_folders, "{image}: one folder per subject");
            for folder in folders {
                let doc = check_document(scanout.path(), folder, &name, &before, &after);
                check_findings(scanner, scan_name, folder, &doc, roots);
                if scanner == "pipeline-scanner" {
                    let extra = scanout.path().join(folder).join("image_scan_results.json");
                    assert!(
                        extra.is_file(),
                        "the seed's image_scan_results.json beside json for {folder}"
                    );
                }
            }
            assert_eq!(
                check_document(scanout.path(), IMAGE_ID, &name, &before, &after)["UUID"],
                IMAGE_ID,
                "an image id stays whole"
            );
            assert_eq!(
                check_document(scanout.path(), "_clean", &name, &before, &after)["UUID"],
                "clean"
            );
        }
    }
}

#[test]
#[ignore = "needs the images: run with `make test-e2e`"]
fn no_subjects_no_scanin_and_read_only_scanout_are_errors() {
    let s = setup();
    let roots = roots();
    for scanner in &s.scanners {
        let image = s.image(scanner);
        let empty = tempfile::tempdir().unwrap();
        let scanout = tempfile::tempdir().unwrap();
        let out = atomic_scan(&image, empty.path(), scanout.path(), &[]);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{image} with an empty /scanin: {said}");
        assert!(said.contains("no subjects to scan"), "{image}: {said}");
        assert_eq!(fs::read_dir(scanout.path()).unwrap().count(), 0);

        let out = output(podman().args(["run", "-t", "--rm", &image]));
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{image} with no /scanin: {said}");
        assert!(
            said.contains("cannot read the subjects folder /scanin"),
            "{image}: {said}"
        );

        let mut cmd = podman();
        cmd.args(["run", "-t", "--rm", "-v"])
            .arg(format!("{}:/scanin", roots.scanin.display()))
            .arg("-v")
            .arg(format!("{}:/scanout:ro", scanout.path().display()))
            .args(["--security-opt", "label:disable", &image]);
        let out = output(&mut cmd);
        let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{image} with a read-only /scanout: {said}");
        assert!(
            said.contains("cannot write in the output folder /scanout"),
            "{image}: {said}"
        );
    }
}
