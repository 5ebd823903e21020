//! image-scan's SARIF and JUnit reports (issue 15), on the bundled sample.
//!
//! - SARIF: the log validates against the published SARIF 2.1.0 schema (python3-jsonschema,
//!   formats checked), has one result per finding of the combined JSON, every result's rule is
//!   described by the driver, the tampered curl points at `usr/bin/curl` under `ROOTFS`, rule
//!   ids and fingerprints are identical across runs, and a check that could not run is a
//!   failed invocation with a notification naming it;
//! - JUnit: parsed by an independent XML parser (python3's xml.etree): one suite per subject,
//!   one case per check, failures and errors as the JSON's findings and failed checks say,
//!   `--fail-on` deciding what fails, a check not selected skipped;
//! - `--report sarif=F` / `--report junit=F` write exactly what `--format` prints in the same
//!   run (the times are the scan's, so the bytes are the same), and the same document as
//!   another run apart from its times.
//!
//! No JUnit XSD is checked: the widely used ones (Ant's, as windyroad/JUnit-Schema publishes
//! it; Jenkins xunit's junit-10.xsd) reject attributes quick-junit always writes
//! (`testsuites/@skipped`, `@timestamp`) or require Ant-only ones (`hostname`, `package`), so
//! they would judge the crate's dialect, not this mapping.

use super::*;
use serde_json::json;

fn sample_args() -> Vec<String> {
    let s = sample();
    vec![
        "--image".into(),
        s.image(),
        "--no-image-repos".into(),
        "--repo".into(),
        s.repo_arg(),
    ]
}

fn scan(extra: &[&str]) -> Output {
    let mut args = sample_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    image_scan(&refs)
}

/// A SARIF log from stdout, validated against the published schema first.
fn valid_sarif(out: &Output, what: &str) -> Value {
    let dir = harness::scratch::process_tempdir("image-scan-sarif");
    let file = dir.join(format!("{what}.sarif"));
    std::fs::write(&file, &out.stdout).unwrap();
    harness::schema::assert_valid(&harness::schema::bundled("sarif-2.1.0/sarif-schema-2.1.0.json"), &file);
    let log = json_of(out);
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"],
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    );
    log
}

fn findings_in(doc: &Value, check: &str) -> usize {
    doc["Scan Results"]["Checks"][check]["Findings"]
        .as_u64()
        .unwrap_or_else(|| panic!("no finding count for {check}: {doc}")) as usize
}

fn rule_ids(run: &Value) -> Vec<String> {
    run["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sarif_of_the_sample_is_valid_and_has_one_result_per_finding() {
    let out = scan(&["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let log = valid_sarif(&out, "sample");
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "one run per subject");
    let run = &runs[0];
    let doc = combined();

    // One result per finding, as many as the combined JSON counts (and as its parts list).
    let results = run["results"].as_array().unwrap();
    let expected = findings_in(doc, "verify") + findings_in(doc, "updates") + findings_in(doc, "advisories");
    let listed = part(doc, "verify")["Results"].as_array().unwrap().len()
        + part(doc, "updates")["Results"].as_array().unwrap().len()
        + doc["Vulnerabilities"].as_array().unwrap().len();
    assert_eq!(expected, listed);
    assert_eq!(results.len(), expected, "{results:#?}");
    assert_eq!(expected, 3);

    // Every result's rule is described, and its index points at it.
    let rules = rule_ids(run);
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules.get(index).map(String::as_str), Some(id), "{r}");
        let rule = &run["tool"]["driver"]["rules"][index];
        for key in ["shortDescription", "fullDescription", "help"] {
            assert!(rule[key]["text"].as_str().is_some_and(|t| !t.is_empty()), "{id}: {key}");
        }
        assert!(rule["defaultConfiguration"]["level"].is_string(), "{id}");
        assert!(r["partialFingerprints"]["imageScan/v1"].is_string(), "{r}");
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].is_string());
    }
    let mut unique = rules.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), rules.len(), "each rule once: {rules:?}");

    // The tampered curl: its path under ROOTFS, its package, the layer that changed it.
    let by_rule = |id: &str| -> &Value {
        results
            .iter()
            .find(|r| r["ruleId"] == id)
            .unwrap_or_else(|| panic!("no {id} result in {results:#?}"))
    };
    let curl = by_rule("rpm-verify/content-changed");
    assert_eq!(curl["level"], "error");
    let loc = &curl["locations"][0];
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"],
        json!({ "uri": "usr/bin/curl", "uriBaseId": "ROOTFS" })
    );
    assert_eq!(loc["logicalLocations"][0]["name"], "curl-7.29.0-59.el7.x86_64");
    assert_eq!(loc["logicalLocations"][0]["kind"], "package");
    assert!(run["originalUriBaseIds"]["ROOTFS"].is_object());
    assert_eq!(curl["properties"]["rpmVerifyFlags"], "S.5....T.");
    assert_eq!(curl["properties"]["layer"]["index"], 2);
    assert_eq!(curl["properties"]["layer"]["createdBy"], "RUN patch /usr/bin/curl");
    let verify_layer = &part(doc, "verify")["Results"][0]["Custom"]["Layer"];
    assert_eq!(curl["properties"]["layer"]["digest"], verify_layer["Digest"]);

    // The update and the advisory: the package as a logical location, the rpm database as
    // the physical one; the advisory's rule carries its severity for GitHub.
    let update = by_rule("updates/available");
    assert_eq!(update["level"], "note");
    assert_eq!(update["locations"][0]["logicalLocations"][0]["name"], "curl.x86_64");
    assert_eq!(
        update["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "var/lib/rpm"
    );
    assert_eq!(update["properties"]["available"], "7.29.0-59.el7_9.1");
    assert_eq!(update["properties"]["layer"]["index"], 1);
    let advisory = by_rule("advisory/CESA-2020:5002");
    assert_eq!(advisory["level"], "warning", "Moderate → warning");
    assert_eq!(advisory["properties"]["cves"], json!(["CVE-2020-8177"]));
    assert_eq!(
        advisory["locations"][0]["logicalLocations"][0]["name"],
        "curl-7.29.0-59.el7.x86_64"
    );
    let index = advisory["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][index];
    assert_eq!(rule["properties"]["security-severity"], "5.5");
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    assert!(rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("security")));

    // The tool, the subject, the invocation.
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "image-scan");
    assert!(driver["version"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(run["properties"]["subject"], sample().image());
    assert_eq!(
        run["properties"]["image"]["Config Digest"],
        doc["Image"]["Config Digest"]
    );
    assert_eq!(
        run["properties"]["image"]["Manifest Digest"],
        doc["Image"]["Manifest Digest"]
    );
    assert_eq!(
        run["automationDetails"]["id"],
        format!("image-scan/{}/", sample().image())
    );
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], true);
    assert!(inv.get("toolExecutionNotifications").is_none(), "{inv}");
}

#[test]
fn sarif_rule_ids_and_fingerprints_are_the_same_in_every_run() {
    let key = |log: &Value| -> (Vec<String>, Vec<(String, String)>) {
        let run = &log["runs"][0];
        let results = run["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap().to_string(),
                    r["partialFingerprints"]["imageScan/v1"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (rule_ids(run), results)
    };
    let first = valid_sarif(&scan(&["--format", "sarif"]), "first");
    let second = valid_sarif(&scan(&["--format", "sarif"]), "second");
    assert_eq!(key(&first), key(&second));
    // The ids are the documented fixed names, not indices or versions.
    let (rules, results) = key(&first);
    for id in [
        "rpm-verify/content-changed",
        "rpm-verify/mode-changed",
        "rpm-verify/owner-changed",
        "rpm-verify/missing",
        "rpm-verify/database-record",
        "updates/available",
        "updates/obsoleted",
        "advisory/CESA-2020:5002",
    ] {
        assert!(rules.iter().any(|r| r == id), "{id} not in {rules:?}");
    }
    assert_eq!(
        results.iter().map(|(r, _)| r.as_str()).collect::<Vec<_>>(),
        [
            "rpm-verify/content-changed",
            "updates/available",
            "advisory/CESA-2020:5002"
        ]
    );
    // A scan with only the file check describes only its rules, with the same id.
    let verify_only = valid_sarif(&scan(&["--checks", "verify", "--format", "sarif"]), "verify-only");
    let (rules, results) = key(&verify_only);
    assert!(rules.iter().all(|r| r.starts_with("rpm-verify/")), "{rules:?}");
    assert_eq!(results, key(&first).1[..1].to_vec());
}

#[test]
fn sarif_names_each_check_that_could_not_run() {
    let image = sample().image();
    let out = image_scan(&["--image", &image, "--no-image-repos", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    let log = valid_sarif(&out, "no-repos");
    let run = &log["runs"][0];
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    let checks: Vec<&str> = notes
        .iter()
        .map(|n| n["properties"]["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["updates", "advisories"]);
    for n in notes {
        assert_eq!(n["level"], "error");
        let text = n["message"]["text"].as_str().unwrap();
        let check = n["properties"]["check"].as_str().unwrap();
        assert!(text.starts_with(&format!("{check} not checked: ")), "{text}");
    }
    // What did run is still reported.
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "rpm-verify/content-changed");
}

/// A JUnit document parsed by python3's xml.etree, as JSON: the root's counts, and each
/// suite with its counts and cases (status, message, type, text, system-out).
fn parse_junit(xml: &[u8]) -> Value {
    const SCRIPT: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
def counts(e):
    return {k: e.get(k) for k in ("tests", "failures", "errors", "skipped")}
out = {"tag": root.tag, "name": root.get("name"), "counts": counts(root), "suites": []}
for s in root.findall("testsuite"):
    suite = {"name": s.get("name"), "counts": counts(s), "timestamp": s.get("timestamp"),
             "properties": {p.get("name"): p.get("value") for p in s.findall("properties/property")},
             "cases": []}
    for c in s.findall("testcase"):
        case = {"name": c.get("name"), "classname": c.get("classname"), "time": c.get("time"),
                "status": "passed"}
        for kind in ("failure", "error", "skipped"):
            e = c.find(kind)
            if e is not None:
                case.update(status=kind, message=e.get("message"), type=e.get("type"), text=e.text or "")
        o = c.find("system-out")
        case["out"] = o.text if o is not None else None
        suite["cases"].append(case)
    out["suites"].append(suite)
print(json.dumps(out))
"#;
    use std::io::Write;
    let mut child = Command::new(harness::tools::require_tool("python3"))
        .args(["-c", SCRIPT])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(xml).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not well-formed XML: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn statuses(suite: &Value) -> Vec<(String, String)> {
    suite["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().split(':').next().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn junit_of_the_sample_has_a_suite_per_subject_and_a_case_per_check() {
    let s = sample();
    let image = s.image();
    let repo = s.repo_arg();
    // Two subjects (the same image twice): two suites, three cases each.
    let out = image_scan(&[
        "--image",
        &image,
        "--image",
        &image,
        "--no-image-repos",
        "--repo",
        &repo,
        "--format",
        "junit",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let x = parse_junit(&out.stdout);
    assert_eq!(x["tag"], "testsuites");
    let suites = x["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 2);
    let doc = combined();
    for suite in suites {
        assert_eq!(suite["name"], image);
        assert_eq!(suite["counts"]["tests"], "3");
        // Without --fail-on, every check with findings fails: here all three have one.
        let failing = ["verify", "updates", "advisories"]
            .iter()
            .filter(|c| findings_in(doc, c) > 0)
            .count();
        assert_eq!(suite["counts"]["failures"], failing.to_string());
        assert_eq!(suite["counts"]["errors"], "0");
        assert_eq!(suite["counts"]["skipped"], "0");
        assert_eq!(
            statuses(suite),
            pairs(&[("verify", "failure"), ("updates", "failure"), ("advisories", "failure")])
        );
        assert_eq!(
            suite["properties"]["image.config-digest"],
            doc["Image"]["Config Digest"]
        );
        assert!(suite["timestamp"].as_str().is_some_and(|t| t.contains('T')));
        for (case, check) in suite["cases"]
            .as_array()
            .unwrap()
            .iter()
            .zip(["verify", "updates", "advisories"])
        {
            assert_eq!(case["classname"], image);
            assert!(case["time"].as_str().is_some(), "{case}");
            // message: the check's summary; body: one line per finding.
            assert_eq!(
                case["message"], doc["Scan Results"]["Checks"][check]["Summary"],
                "{case}"
            );
            let lines: Vec<&str> = case["text"].as_str().unwrap().lines().collect();
            assert_eq!(lines.len(), findings_in(doc, check), "{case}");
        }
        let text = |i: usize| suite["cases"][i]["text"].as_str().unwrap().to_string();
        assert!(
            text(0).contains("S.5....T.  /usr/bin/curl  curl-7.29.0-59.el7.x86_64"),
            "{}",
            text(0)
        );
        assert!(text(0).contains("2 (RUN patch /usr/bin/curl)"));
        assert!(
            text(1).starts_with("curl.x86_64  7.29.0-59.el7_9.1  demo"),
            "{}",
            text(1)
        );
        assert!(text(2).starts_with("CESA-2020:5002  Moderate  security"), "{}", text(2));
        assert!(text(2).contains("CVE-2020-8177"));
    }
    assert_eq!(x["counts"]["tests"], "6");
    assert_eq!(x["counts"]["failures"], "6");
}

#[test]
fn junit_a_check_that_cannot_run_is_an_error_and_one_not_selected_is_skipped() {
    let image = sample().image();
    let out = image_scan(&["--image", &image, "--no-image-repos", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(2));
    let x = parse_junit(&out.stdout);
    let suite = &x["suites"][0];
    assert_eq!(
        statuses(suite),
        pairs(&[("verify", "failure"), ("updates", "error"), ("advisories", "error")])
    );
    assert_eq!(suite["counts"]["errors"], "2");
    assert_eq!(suite["counts"]["failures"], "1");
    let updates = &suite["cases"][1];
    assert!(
        updates["message"]
            .as_str()
            .unwrap()
            .starts_with("updates not checked: "),
        "{updates}"
    );
    assert!(updates["text"].as_str().unwrap().contains("no --repo"), "{updates}");

    let out = image_scan(&["--image", &image, "--checks", "verify", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(0));
    let x = parse_junit(&out.stdout);
    let suite = &x["suites"][0];
    assert_eq!(
        statuses(suite),
        pairs(&[("verify", "failure"), ("updates", "skipped"), ("advisories", "skipped")])
    );
    assert_eq!(suite["counts"]["skipped"], "2");
}

#[test]
fn junit_fails_a_case_only_for_findings_that_meet_fail_on() {
    // severity=Important: the Moderate advisory is below it, and neither tampered nor
    // updates is a condition: the build passes, so every case passes, listing what is below.
    let out = scan(&["--format", "junit", "--fail-on", "severity=Important"]);
    assert_eq!(out.status.code(), Some(0));
    let x = parse_junit(&out.stdout);
    let suite = &x["suites"][0];
    assert_eq!(
        statuses(suite),
        pairs(&[("verify", "passed"), ("updates", "passed"), ("advisories", "passed")])
    );
    let advisories = suite["cases"][2]["out"].as_str().unwrap();
    assert!(advisories.contains("below --fail-on:\nCESA-2020:5002"), "{advisories}");
    assert_eq!(suite["properties"]["fail-on"], "severity=Important");

    // severity=Moderate and tampered: those two fail, the updates case passes; exit 1.
    let out = scan(&["--format", "junit", "--fail-on", "severity=Moderate,tampered"]);
    assert_eq!(out.status.code(), Some(1));
    let x = parse_junit(&out.stdout);
    let suite = &x["suites"][0];
    assert_eq!(
        statuses(suite),
        pairs(&[("verify", "failure"), ("updates", "passed"), ("advisories", "failure")])
    );
    assert!(suite["cases"][1]["out"]
        .as_str()
        .unwrap()
        .contains("below --fail-on:\ncurl.x86_64"));
}

/// `text` without the values of the given JSON keys / XML attributes (the scan's times).
fn without_times(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut l = line.to_string();
        for key in ["\"startTimeUtc\": ", "\"endTimeUtc\": "] {
            if let Some(i) = l.find(key) {
                l.truncate(i + key.len());
            }
        }
        for attr in [" timestamp=\"", " time=\""] {
            while let Some(i) = l.find(attr) {
                let rest = &l[i + attr.len()..];
                let end = rest.find('"').map(|e| i + attr.len() + e + 1).unwrap_or(l.len());
                l.replace_range(i..end, "");
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn sarif_and_junit_report_files_are_what_stdout_prints() {
    let dir = harness::scratch::process_tempdir("image-scan-sarif-junit");
    let file = |n: &str| dir.join(n).display().to_string();
    let report = |kind: &str, name: &str| format!("{kind}={}", file(name));
    // One run: the files and stdout come from the same scan, same times: the same bytes.
    let a = scan(&[
        "--format",
        "sarif",
        "--report",
        &report("sarif", "a.sarif"),
        "--report",
        &report("junit", "a.xml"),
    ]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(std::fs::read(file("a.sarif")).unwrap(), a.stdout);
    let b = scan(&[
        "--format",
        "junit",
        "--report",
        &report("junit", "b.xml"),
        "--report",
        &report("sarif", "b.sarif"),
    ]);
    assert_eq!(b.status.code(), Some(0));
    assert_eq!(std::fs::read(file("b.xml")).unwrap(), b.stdout);
    // Across the two runs only the times differ.
    let read = |n: &str| std::fs::read_to_string(file(n)).unwrap();
    assert_eq!(without_times(&read("a.xml")), without_times(&read("b.xml")));
    assert_eq!(without_times(&read("a.sarif")), without_times(&read("b.sarif")));
    assert!(read("a.sarif").contains("\"startTimeUtc\""));
    assert_eq!(
        parse_junit(read("a.xml").as_bytes())["suites"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_subject_that_cannot_be_opened_is_an_error_in_both_formats() {
    let dir = harness::scratch::process_tempdir("image-scan-unopened");
    let missing = format!("oci:{}/no-layout:x", dir.display());
    let out = image_scan(&["--image", &missing, "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    let log = valid_sarif(&out, "unopened");
    let run = &log["runs"][0];
    assert_eq!(run["results"], json!([]));
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let checks: Vec<&str> = inv["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["properties"]["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["verify", "updates", "advisories"]);

    let out = image_scan(&["--image", &missing, "--format", "junit"]);
    assert_eq!(out.status.code(), Some(2));
    let x = parse_junit(&out.stdout);
    let suite = &x["suites"][0];
    assert_eq!(
        statuses(suite),
        pairs(&[("verify", "error"), ("updates", "error"), ("advisories", "error")])
    );

    // A --rootfs subject: ROOTFS is that directory, as a file: URI ending in '/'.
    let root = dir.join("empty root");
    std::fs::create_dir_all(&root).unwrap();
    let out = image_scan(&[
        "--rootfs",
        root.to_str().unwrap(),
        "--no-image-repos",
        "--format",
        "sarif",
    ]);
    assert_eq!(out.status.code(), Some(2), "no RPM database: nothing could be checked");
    let log = valid_sarif(&out, "rootfs");
    let uri = log["runs"][0]["originalUriBaseIds"]["ROOTFS"]["uri"].as_str().unwrap();
    assert!(uri.starts_with("file:///") && uri.ends_with("/empty%20root/"), "{uri}");
    assert_eq!(log["runs"][0]["invocations"][0]["executionSuccessful"], false);
}
