//! `image-scan` (issue 15) on the bundled sample (`tests/demo/make-sample.sh`: real CentOS 7
//! packages installed by the real rpm, `/usr/bin/curl` tampered in a second layer, the man
//! pages removed in a third, and a local repository offering a curl update and its advisory).
//!
//! - each part of the combined JSON is the stand-alone scanner's document (same `Scan
//!   Results`, `Summary`, `Vulnerabilities`) on the same image;
//! - the parts agree with the real tools on the unpacked image: `rpm -Va`, `dnf check-update`
//!   and `dnf updateinfo list`;
//! - `--fail-on` gives 1 only for conditions met, and a check that could not run gives 2 with
//!   `"Successful": "false"` (a scan that checked nothing never passes);
//! - `--report` writes the same report as stdout.
//!
//! Tools: rpm, rpmbuild, createrepo-c, umoci, dnf (Debian packages).

use crate::harness;

use harness::hostile::scanner_binaries;
use harness::tools::{require_tool, run_ok};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

struct Sample {
    dir: PathBuf,
}

impl Sample {
    fn image(&self) -> String {
        format!("oci:{}/layout:demo", self.dir.display())
    }
    fn repo_arg(&self) -> String {
        format!("demo=file://{}/repo", self.dir.display())
    }
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        for t in ["rpm", "rpmbuild", "createrepo_c", "modifyrepo_c", "umoci"] {
            require_tool(t);
        }
        let dir = harness::scratch::process_tempdir("image-scan-sample");
        let out = dir.join("sample");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        run_ok(
            Command::new("bash")
                .arg(manifest.join("tests/demo/make-sample.sh"))
                .arg(&out),
        );
        Sample { dir: out }
    })
}

fn image_scan(args: &[&str]) -> Output {
    Command::new(&scanner_binaries().image_scan)
        .args(args)
        .output()
        .expect("run image-scan")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn combined() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let s = sample();
        let out = image_scan(&[
            "--image",
            &s.image(),
            "--no-image-repos",
            "--repo",
            &s.repo_arg(),
            "--format",
            "json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        json_of(&out)
    })
}

fn part<'a>(doc: &'a Value, check: &str) -> &'a Value {
    &doc["Scan Results"]["Checks"][check]["Document"]
}

// Each report format's own tests, on the same sample.
mod html;
mod sarif_junit;
mod sbom;

#[test]
fn each_part_is_the_stand_alone_scanners_document() {
    let s = sample();
    let doc = combined();
    assert_eq!(doc["Successful"], "true");
    let bins = scanner_binaries();
    let repo = s.repo_arg();
    let cases: [(&str, &Path, Vec<&str>); 3] = [
        ("verify", &bins.rpm_verify, vec![]),
        ("updates", &bins.pipeline, vec!["--no-image-repos", "--repo", &repo]),
        (
            "advisories",
            &bins.advisories,
            vec!["--no-image-repos", "--repo", &repo],
        ),
    ];
    let image = s.image();
    for (check, bin, extra) in cases {
        let mut args = vec!["--image", image.as_str()];
        args.extend(extra);
        let out = Command::new(bin).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{check}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let alone = json_of(&out);
        let ours = part(doc, check);
        for key in [
            "Scanner",
            "Successful",
            "Scan Type",
            "UUID",
            "Summary",
            "Scan Results",
            "Vulnerabilities",
            "Results",
            "Image",
        ] {
            assert_eq!(ours.get(key), alone.get(key), "{check}: {key}");
        }
    }
}

#[test]
fn the_parts_agree_with_rpm_and_dnf_on_the_unpacked_image() {
    let s = sample();
    let doc = combined();
    let bundle = harness::scratch::process_tempdir("image-scan-bundle").join("b");
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image", &format!("{}/layout:demo", s.dir.display())])
            .arg(&bundle),
    );
    let root = bundle.join("rootfs");

    // rpm -Va: every line is one finding of the verify part.
    let va = Command::new("rpm")
        .arg("--root")
        .arg(&root)
        .args(["--dbpath", "/var/lib/rpm", "-Va", "--nodeps", "--noscripts"])
        .output()
        .unwrap();
    let rpm_lines: Vec<String> = String::from_utf8_lossy(&va.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let ours: Vec<String> = part(doc, "verify")["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["Custom"]["Issue"].as_str().unwrap(),
                r["Custom"]["File"].as_str().unwrap()
            )
        })
        .collect();
    // The pipeline policy leaves out what rpm-verify-all reports beyond it (the removed man page).
    assert!(
        rpm_lines.iter().any(|l| l == "S.5....T. /usr/bin/curl"),
        "{rpm_lines:?}"
    );
    assert_eq!(ours, vec!["S.5....T. /usr/bin/curl".to_string()]);

    // dnf check-update and dnf updateinfo list on the same root and repository.
    let cache = harness::scratch::process_tempdir("image-scan-dnf");
    let dnf = |args: &[&str]| -> String {
        // Debian's dnf looks for the database at R/root/.rpmdb.
        std::fs::create_dir_all(root.join("root")).unwrap();
        std::os::unix::fs::symlink("../var/lib/rpm", root.join("root/.rpmdb")).ok();
        let out = Command::new(require_tool("dnf"))
            .arg(format!("--installroot={}", root.display()))
            .args([
                "--releasever=7",
                "--disableplugin=*",
                "--setopt=gpgcheck=0",
                "--setopt=reposdir=/dev/null",
                "--disablerepo=*",
                "-q",
            ])
            .arg(format!("--setopt=cachedir={}", cache.display()))
            .arg(format!("--repofrompath=demo,file://{}/repo", s.dir.display()))
            .arg("--enablerepo=demo")
            .env("COLUMNS", "200")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let check_update: Vec<String> = dnf(&["check-update"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let updates: Vec<String> = part(doc, "updates")["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            format!(
                "{} {} {}",
                u["Custom"]["Package"].as_str().unwrap(),
                u["Custom"]["Available"].as_str().unwrap(),
                u["Custom"]["Repository"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(updates, check_update);
    let updateinfo = harness::advisory::parse_updateinfo_list(&dnf(&["updateinfo", "list"]));
    let advisories: std::collections::BTreeSet<(String, String)> = doc["Vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| {
            let id = v["Custom"]["Advisory"].as_str().unwrap().to_string();
            v["Custom"]["Packages"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |p| (id.clone(), p["Fixed"].as_str().unwrap().to_string()))
        })
        .collect();
    assert!(!advisories.is_empty());
    assert_eq!(advisories, updateinfo);
}

#[test]
fn fail_on_gives_one_only_for_conditions_met_and_a_check_that_cannot_run_gives_two() {
    let s = sample();
    let image = s.image();
    let repo = s.repo_arg();
    let status = |fail_on: &str| {
        let out = image_scan(&[
            "--image",
            &image,
            "--no-image-repos",
            "--repo",
            &repo,
            "--format",
            "json",
            "--fail-on",
            fail_on,
        ]);
        let doc = json_of(&out);
        (out.status.code(), doc["Scan Results"]["Policy"]["Breaches"].clone())
    };
    assert_eq!(status("severity=Important"), (Some(0), serde_json::json!([])));
    assert_eq!(
        status("severity=Moderate"),
        (Some(1), serde_json::json!(["severity=Moderate (1)"]))
    );
    assert_eq!(status("tampered,updates").0, Some(1));
    assert_eq!(status("advisories").0, Some(1));

    // No repository at all: the update and advisory checks did not run.
    let out = image_scan(&["--image", &image, "--no-image-repos", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc = json_of(&out);
    assert_eq!(doc["Successful"], "false");
    assert_eq!(doc["Scan Results"]["Checks"]["updates"]["Ran"], false);
    assert_eq!(doc["Scan Results"]["Checks"]["verify"]["Ran"], true);
    assert!(
        doc["Summary"].as_str().unwrap().contains("updates not checked"),
        "{}",
        doc["Summary"]
    );
    // Only the file check asked for: it ran, so the scan passes without --fail-on.
    let out = image_scan(&["--image", &image, "--checks", "verify", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json_of(&out);
    assert!(doc["Scan Results"]["Checks"].get("updates").is_none());
    assert!(image_scan(&["--image", &image, "--fail-on", "cves"]).status.code() == Some(2));
}

#[test]
fn table_summarises_each_subject_and_report_files_match_stdout() {
    let s = sample();
    let dir = harness::scratch::process_tempdir("image-scan-reports");
    let json_file = dir.join("scan.json");
    let table_file = dir.join("scan.txt");
    let out = image_scan(&[
        "--image",
        &s.image(),
        "--no-image-repos",
        "--repo",
        &s.repo_arg(),
        "--format",
        "table",
        "--report",
        &format!("json={}", json_file.display()),
        "--report",
        &format!("table={}", table_file.display()),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(std::fs::read_to_string(&table_file).unwrap(), table);
    assert!(!table.contains('\x1b'), "no colour when stdout is not a terminal");
    let first = table.lines().next().unwrap();
    assert!(first.starts_with(&format!("{} (sha256:", s.image())), "{first}");
    assert!(
        first.ends_with(": 1 update, 1 advisory (1 Moderate), 1 tampered file"),
        "{first}"
    );
    for needle in [
        "S.5....T.",
        "/usr/bin/curl",
        "2 (RUN patch /usr/bin/curl)",
        "curl.x86_64",
        "7.29.0-59.el7_9.1",
        "CESA-2020:5002",
        "CVE-2020-8177",
    ] {
        assert!(table.contains(needle), "{needle} missing from\n{table}");
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(report["Summary"], combined()["Summary"]);
}

/// `--vex FILE` (issue 17) reaches the advisory check under its own name: the image author's
/// OpenVEX statement that the installed curl is not affected by CVE-2020-8177 suppresses
/// CESA-2020:5002 in the combined report, exactly as in security-advisories' own document with
/// the same flag; without the flag the advisory is there.
#[test]
fn the_authors_vex_suppresses_the_advisory_in_the_combined_report() {
    let s = sample();
    let without = part(combined(), "advisories");
    let ids = |doc: &Value| -> Vec<String> {
        doc["Vulnerabilities"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v["Custom"]["Advisory"].as_str().unwrap_or("?").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids(without), ["CESA-2020:5002"], "{without:#}");

    let dir = tempfile::tempdir().unwrap();
    let vex = dir.path().join("demo.openvex.json");
    let statement = serde_json::json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/demo-1",
        "author": "The demo image's author",
        "timestamp": "2024-01-01T00:00:00Z",
        "version": 1,
        "statements": [{
            "vulnerability": {"name": "CVE-2020-8177"},
            "products": [{"@id": "pkg:oci/demo", "subcomponents": [{"@id": "pkg:rpm/centos/curl@7.29.0-59.el7?arch=x86_64"}]}],
            "status": "not_affected",
            "justification": "vulnerable_code_not_in_execute_path",
            "impact_statement": "curl is never run with -J."
        }]
    });
    std::fs::write(&vex, serde_json::to_vec_pretty(&statement).unwrap()).unwrap();
    let vex = vex.display().to_string();
    let repo = s.repo_arg();
    let image = s.image();
    let flags = ["--no-image-repos", "--repo", repo.as_str(), "--vex", vex.as_str()];
    let mut args = vec!["--image", image.as_str(), "--checks", "advisories", "--format", "json"];
    args.extend(flags);
    let out = image_scan(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = json_of(&out);
    let ours = part(&doc, "advisories");
    assert!(ids(ours).is_empty(), "{ours:#}");
    let suppressed = ours["Scan Results"]["Suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    assert_eq!(suppressed[0]["Advisory"], "CESA-2020:5002");
    assert_eq!(suppressed[0]["CVE"], "CVE-2020-8177");
    assert_eq!(suppressed[0]["Package"], "curl-7.29.0-59.el7.x86_64");
    assert_eq!(suppressed[0]["Justification"], "vulnerable_code_not_in_execute_path");
    assert!(
        ours["Summary"]
            .as_str()
            .unwrap()
            .contains("; 1 finding suppressed by the image's VEX statements."),
        "{}",
        ours["Summary"]
    );

    let mut alone_args = vec!["--image", image.as_str()];
    alone_args.extend(flags);
    let alone = Command::new(&scanner_binaries().advisories)
        .args(&alone_args)
        .output()
        .unwrap();
    assert_eq!(
        alone.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&alone.stderr)
    );
    let alone = json_of(&alone);
    for key in ["Summary", "Scan Results", "Vulnerabilities"] {
        assert_eq!(ours.get(key), alone.get(key), "{key}");
    }

    // The table and the HTML page say what was suppressed and why, not only the JSON.
    let shown = |format: &str| {
        let mut args = vec!["--image", image.as_str(), "--checks", "advisories", "--format", format];
        args.extend(flags);
        let out = image_scan(&args);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let table = shown("table");
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("CESA-2020:5002"))
        .unwrap_or_else(|| panic!("no suppressed row:\n{table}"));
    assert!(
        table.contains("Suppressed by the image's VEX statements (1):"),
        "{table}"
    );
    for field in [
        "CVE-2020-8177",
        "curl-7.29.0-59.el7.x86_64",
        "vulnerable_code_not_in_execute_path",
        "suppressed",
    ] {
        assert!(line.contains(field), "{field} not in {line:?}");
    }
    let html = shown("html");
    let part_at = html
        .find("data-part=\"suppressed\"")
        .unwrap_or_else(|| panic!("no suppressed part"));
    let row = &html[part_at..];
    for field in [
        "CESA-2020:5002",
        "CVE-2020-8177",
        "curl-7.29.0-59.el7.x86_64",
        "vulnerable_code_not_in_execute_path",
    ] {
        assert!(row.contains(field), "{field} not in the HTML's suppressed part");
    }
}
