//! The protocol's rules, through the whole command line, with a tiny test scanner whose
//! verdict each subject chooses with `/etc/marker`: `ok`, `finding`, `fail`, `panic`; no
//! marker means "not a test image" (the scanner's ScanFailure).

use atomic_protocol::cli::{command, run};
use atomic_protocol::{Outcome, ScanFailure, ScanType, Scanner, Vulnerability};
use rootfs::Root;
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

struct Marker;

#[derive(Debug, Clone, clap::Args)]
struct MarkerOptions {
    /// A scanner option spelled with a dash (atomic may pass --cache_dir).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

const SCANS: &[ScanType] = &[
    ScanType {
        name: "marker",
        description: "Reads /etc/marker",
        label: "Marker scan",
    },
    ScanType {
        name: "marker-twice",
        description: "Reads /etc/marker twice",
        label: "Marker scan",
    },
];

const MANIFEST: &str = "type: scanner\nscanner_name: marker\nimage_name: localhost/scanner-marker\ndefault_scan: marker\nscans:\n  - name: marker\n    args: [\"--scan-type\", \"marker\"]\n    description: \"Reads /etc/marker\"\n";

impl Scanner for Marker {
    type Options = MarkerOptions;
    fn name(&self) -> &'static str {
        "scanner-marker"
    }
    fn atomic_name(&self) -> &'static str {
        "marker"
    }
    fn scan_types(&self) -> &'static [ScanType] {
        SCANS
    }
    fn default_scan(&self) -> &'static str {
        "marker"
    }
    fn manifest(&self) -> &'static str {
        MANIFEST
    }
    fn scan(&self, root: &Root, scan_type: &str, options: &MarkerOptions) -> Result<Outcome, ScanFailure> {
        let marker = root
            .read_bounded(Path::new("/etc/marker"), 64)
            .map_err(|e| ScanFailure(format!("not a test image: {e}")))?;
        let marker = String::from_utf8_lossy(&marker).trim().to_string();
        let results = json!({"scan type": scan_type, "cache dir": options.cache_dir});
        match marker.as_str() {
            "ok" => Ok(Outcome::new(results, "Nothing found.")),
            "finding" => {
                let mut o = Outcome::new(results, "1 finding.");
                o.vulnerabilities.push(Vulnerability {
                    title: "marker found".into(),
                    severity: "Low".into(),
                    custom: json!({"file": "/etc/marker"}),
                });
                o.has_findings = true;
                Ok(o)
            }
            "panic" => panic!("marker says panic"),
            other => Err(ScanFailure(format!("/etc/marker says {other:?}"))),
        }
    }
    fn extra_files(&self, document: &atomic_protocol::ResultDocument) -> Vec<atomic_protocol::ExtraFile> {
        vec![atomic_protocol::ExtraFile {
            name: "image_scan_results.json".into(),
            contents: document.to_value(),
        }]
    }
}

struct Run {
    status: u8,
    stdout: String,
    stderr: String,
}

fn run_marker(args: &[&str]) -> Run {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut argv = vec!["scanner-marker"];
    argv.extend_from_slice(args);
    let status = run(&Marker, argv, &mut out, &mut err);
    Run {
        status,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

fn subject(scanin: &Path, folder: &str, marker: Option<&str>) -> PathBuf {
    let dir = scanin.join(folder);
    fs::create_dir_all(dir.join("etc")).unwrap();
    if let Some(m) = marker {
        fs::write(dir.join("etc/marker"), m).unwrap();
    }
    dir
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Every file under `dir` with its contents, to prove a run wrote nothing there.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p.clone());
                all.push((p, Vec::new()));
            } else if meta.is_file() {
                let bytes = fs::read(&p).unwrap();
                all.push((p, bytes));
            } else {
                all.push((p, Vec::new()));
            }
        }
    }
    all.sort();
    all
}

const IMAGE_ID: &str = "4c1a6c4b1bd5b2f32c2b4e4e8f3a6d4a3e6f0a1b2c3d4e5f60718293a4b5c6d7";

#[test]
fn command_line_is_consistent() {
    command(&Marker).debug_assert();
}

#[test]
fn atomic_mode_writes_one_json_per_subject_and_a_failure_stops_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let scanin = tmp.path().join("scanin");
    let scanout = tmp.path().join("scanout");
    fs::create_dir_all(&scanout).unwrap();
    subject(&scanin, "_mnt", Some("ok"));
    subject(&scanin, IMAGE_ID, Some("finding"));
    subject(&scanin, "_refused", Some("nope"));
    subject(&scanin, "_panics", Some("panic"));
    subject(&scanin, "_not_rpm", None);
    fs::write(scanin.join("_a_file"), b"not a root").unwrap();
    std::os::unix::fs::symlink("/", scanin.join("_a_link")).unwrap();
    let before = snapshot(&scanin);

    let r = run_marker(&[
        "--scanin",
        scanin.to_str().unwrap(),
        "--scanout",
        scanout.to_str().unwrap(),
        "--scan-type",
        "marker-twice",
        "--jobs",
        "3",
    ]);
    assert_eq!(
        r.status, 0,
        "atomic mode exits 0 even with failed subjects; stderr: {}",
        r.stderr
    );
    assert_eq!(snapshot(&scanin), before, "nothing is written under /scanin");

    let ok = read_json(&scanout.join("_mnt/json"));
    assert_eq!(ok["Successful"], "true");
    assert_eq!(ok["UUID"], "mnt");
    assert_eq!(ok["Scanner"], "scanner-marker");
    assert_eq!(ok["Scan Type"], "Marker scan");
    assert_eq!(ok["Scan Results"]["scan type"], "marker-twice");
    assert_eq!(ok["Summary"], "Nothing found.");
    assert!(ok.get("Vulnerabilities").is_none());

    let image = read_json(&scanout.join(IMAGE_ID).join("json"));
    assert_eq!(image["UUID"], IMAGE_ID, "an image id stays whole");
    assert_eq!(image["Successful"], "true");
    assert_eq!(image["Vulnerabilities"][0]["Title"], "marker found");
    assert_eq!(image["Vulnerabilities"][0]["Severity"], "Low");

    for (folder, needle) in [
        ("_refused", "/etc/marker says \"nope\""),
        ("_panics", "panicked: marker says panic"),
        ("_not_rpm", "not a test image"),
        ("_a_file", "not a directory"),
        ("_a_link", "symbolic link"),
    ] {
        let doc = read_json(&scanout.join(folder).join("json"));
        assert_eq!(doc["Successful"], "false", "{folder}");
        assert_eq!(doc["UUID"], folder.strip_prefix('_').unwrap());
        let error = doc["Error"].as_str().unwrap();
        assert!(error.contains(needle), "{folder}: {error}");
        assert!(doc["Summary"].as_str().unwrap().contains(needle));
        assert_eq!(
            doc["Scan Type"], ok["Scan Type"],
            "one Scan Type per scan type, scanned or failed: {folder}"
        );
    }

    for doc in fs::read_dir(&scanout).unwrap() {
        let dir = doc.unwrap().path();
        let v = read_json(&dir.join("json"));
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
            assert!(v[key].is_string(), "{}: {key} must be a string: {v}", dir.display());
        }
        assert!(v["Scan Results"].is_object());
        assert!(v["Start Time"].as_str() <= v["Finished Time"].as_str());
        assert_eq!(
            read_json(&dir.join("image_scan_results.json")),
            v,
            "the extra file the scanner asked for"
        );
        let names: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(
            names.len(),
            2,
            "json and image_scan_results.json only, no partial files: {names:?}"
        );
    }
    assert_eq!(fs::read_dir(&scanout).unwrap().count(), 7);
    assert!(
        r.stdout.contains("mnt (") && r.stdout.contains("NOT SCANNED"),
        "summary on stdout: {}",
        r.stdout
    );
}

#[test]
fn zero_subjects_is_an_error_with_a_message_and_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let scanin = tmp.path().join("scanin");
    let scanout = tmp.path().join("scanout");
    fs::create_dir_all(&scanin).unwrap();
    fs::create_dir_all(&scanout).unwrap();
    let r = run_marker(&[
        "--scanin",
        scanin.to_str().unwrap(),
        "--scanout",
        scanout.to_str().unwrap(),
    ]);
    assert_eq!(r.status, 2);
    assert!(
        r.stderr.contains("no subjects to scan") && r.stderr.contains("is empty"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read_dir(&scanout).unwrap().count(), 0);
}

#[test]
fn missing_scanin_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run_marker(&[
        "--scanin",
        tmp.path().join("absent").to_str().unwrap(),
        "--scanout",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("cannot read the subjects folder"), "{}", r.stderr);
}

#[test]
fn unwritable_scanout_is_an_error_before_any_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let scanin = tmp.path().join("scanin");
    subject(&scanin, "_mnt", Some("ok"));
    // Even root cannot create files in /proc/self; a regular file and a missing folder neither.
    let file = tmp.path().join("a-file");
    fs::write(&file, b"").unwrap();
    for (scanout, needle) in [
        (PathBuf::from("/proc/self"), "cannot write in the output folder"),
        (file, "is not a directory"),
        (tmp.path().join("absent"), "cannot use the output folder"),
    ] {
        let r = run_marker(&[
            "--scanin",
            scanin.to_str().unwrap(),
            "--scanout",
            scanout.to_str().unwrap(),
        ]);
        assert_eq!(r.status, 2, "{}", scanout.display());
        assert!(r.stderr.contains(needle), "{}: {}", scanout.display(), r.stderr);
    }
}

#[test]
fn scanout_inside_a_scanned_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let scanin = tmp.path().join("scanin");
    let root = subject(&scanin, "_mnt", Some("ok"));
    let r = run_marker(&[
        "--scanin",
        scanin.to_str().unwrap(),
        "--scanout",
        root.join("etc").to_str().unwrap(),
    ]);
    assert_eq!(r.status, 2);
    assert!(
        r.stderr.contains("refusing to write into a scanned root"),
        "{}",
        r.stderr
    );
    let r = run_marker(&["--rootfs", root.to_str().unwrap(), "--output", root.to_str().unwrap()]);
    assert_eq!(r.status, 2);
    assert!(
        r.stderr.contains("refusing to write into a scanned root"),
        "{}",
        r.stderr
    );
}

#[test]
fn stand_alone_prints_one_document_or_an_array() {
    let tmp = tempfile::tempdir().unwrap();
    let a = subject(tmp.path(), "a", Some("ok"));
    let b = subject(tmp.path(), "b", Some("finding"));

    let r = run_marker(&["--rootfs", a.to_str().unwrap()]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let one: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(one["Successful"], "true");
    let expected_uuid = a.to_str().unwrap().trim_start_matches('/').replace('/', "_");
    assert_eq!(
        one["UUID"],
        expected_uuid.as_str(),
        "UUID as atomic --rootfs would name it"
    );
    assert!(
        r.stderr.is_empty(),
        "no progress when stderr is not a terminal: {:?}",
        r.stderr
    );

    let r = run_marker(&["--rootfs", b.to_str().unwrap(), "--rootfs", a.to_str().unwrap()]);
    assert_eq!(r.status, 0, "findings alone do not change the status: {}", r.stderr);
    let many: Value = serde_json::from_str(&r.stdout).unwrap();
    let many = many.as_array().unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many[0]["Vulnerabilities"][0]["Title"], "marker found", "order as given");
    assert_eq!(many[1]["Summary"], "Nothing found.");

    let r = run_marker(&["--rootfs", b.to_str().unwrap(), "--fail-on-findings"]);
    assert_eq!(r.status, 1);
    let r = run_marker(&["--rootfs", a.to_str().unwrap(), "--fail-on-findings"]);
    assert_eq!(r.status, 0);
}

#[test]
fn stand_alone_follows_a_symlink_the_user_gives_but_names_the_folder_by_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let a = subject(tmp.path(), "a", Some("ok"));
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let r = run_marker(&["--rootfs", link.to_str().unwrap()]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["Successful"], "true");
    assert_eq!(
        doc["UUID"],
        link.to_str()
            .unwrap()
            .trim_start_matches('/')
            .replace('/', "_")
            .as_str()
    );
}

#[test]
fn stand_alone_failure_exits_2_and_still_prints_the_document() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = subject(tmp.path(), "bad", None);
    let r = run_marker(&[
        "--rootfs",
        bad.to_str().unwrap(),
        "--rootfs",
        tmp.path().join("missing").to_str().unwrap(),
    ]);
    assert_eq!(r.status, 2);
    let docs: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(docs[0]["Successful"], "false");
    assert!(
        docs[1]["Error"].as_str().unwrap().contains("No such file"),
        "{}",
        docs[1]
    );
    assert!(r.stderr.contains("not a test image"), "{}", r.stderr);
}

#[test]
fn stand_alone_output_writes_the_atomic_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let a = subject(tmp.path(), "a", Some("ok"));
    let out = tmp.path().join("out/new");
    let r = run_marker(&["--rootfs", a.to_str().unwrap(), "--output", out.to_str().unwrap()]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let folder = a.to_str().unwrap().replace('/', "_");
    let doc = read_json(&out.join(&folder).join("json"));
    assert_eq!(doc["UUID"], folder.strip_prefix('_').unwrap());

    let r = run_marker(&[
        "--rootfs",
        a.to_str().unwrap(),
        "--rootfs",
        a.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("would both be written"), "{}", r.stderr);
}

#[test]
fn table_format_is_the_human_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let b = subject(tmp.path(), "b", Some("finding"));
    let r = run_marker(&["--rootfs", b.to_str().unwrap(), "--format", "table"]);
    assert_eq!(r.status, 0);
    assert!(
        r.stdout
            .contains("The following issues were found (1):\n     [Low] marker found\n       file: /etc/marker\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn scanner_args_from_atomic_are_accepted_with_underscores() {
    let tmp = tempfile::tempdir().unwrap();
    let a = subject(tmp.path(), "a", Some("ok"));
    for flag in ["--cache-dir", "--cache_dir"] {
        let r = run_marker(&["--rootfs", a.to_str().unwrap(), flag, "/var/cache/x"]);
        assert_eq!(r.status, 0, "{flag}: {}", r.stderr);
        let doc: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(doc["Scan Results"]["cache dir"], "/var/cache/x");
    }
    let r = run_marker(&["--rootfs", a.to_str().unwrap(), "--fail_on_findings"]);
    assert_eq!(r.status, 0, "shared flags too: {}", r.stderr);
    let r = run_marker(&["--rootfs", a.to_str().unwrap(), "--bogus", "1"]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("--bogus"), "{}", r.stderr);
    let r = run_marker(&["--rootfs", a.to_str().unwrap(), "--scan-type", "nope"]);
    assert_eq!(r.status, 2);
    assert!(r.stderr.contains("marker-twice"), "lists the scan types: {}", r.stderr);
}

#[test]
fn help_has_examples_and_exit_codes() {
    let r = run_marker(&["--help"]);
    assert_eq!(r.status, 0);
    assert!(
        r.stdout.contains("Examples:") && r.stdout.contains("--rootfs /mnt/image"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("Exit status:") && r.stdout.contains("--scan-type"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("--cache-dir"));
    let r = run_marker(&["install", "--help"]);
    assert_eq!(r.status, 0);
    assert!(
        r.stdout.contains("--host") && r.stdout.contains("IMAGE"),
        "{}",
        r.stdout
    );
}

#[test]
fn install_and_uninstall_subcommands() {
    let tmp = tempfile::tempdir().unwrap();
    let host = tmp.path();
    let r = run_marker(&[
        "install",
        "--host",
        host.to_str().unwrap(),
        "--image",
        "localhost/marker:1",
    ]);
    assert_eq!(r.status, 2, "no etc/atomic.d bind-mounted");
    assert!(r.stderr.contains("etc/atomic.d"), "{}", r.stderr);
    fs::create_dir_all(host.join("etc/atomic.d")).unwrap();
    let r = run_marker(&[
        "install",
        "--host",
        host.to_str().unwrap(),
        "--image",
        "localhost/marker:1",
    ]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let written = fs::read_to_string(host.join("etc/atomic.d/marker")).unwrap();
    assert_eq!(
        written,
        MANIFEST.replace("localhost/scanner-marker", "localhost/marker:1")
    );
    let r = run_marker(&["manifest", "--image", "localhost/marker:1"]);
    assert_eq!(r.stdout, written);
    let r = run_marker(&["uninstall", "--host", host.to_str().unwrap()]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(!host.join("etc/atomic.d/marker").exists());
    let r = run_marker(&["install", "--host", host.to_str().unwrap(), "--image", "bad image"]);
    assert_eq!(r.status, 2);
}
