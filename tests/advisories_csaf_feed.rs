//! security-advisories on Red Hat's CSAF VEX feed over HTTP (`--csaf-vex http://…/csaf/v2/vex/`),
//! served by the harness's HTTP server on 127.0.0.1 with its request log, laid out as Red Hat
//! lays out `security.access.redhat.com/data/`: `csaf/v2/vex/YEAR/cve-*.json` with a
//! `.sha256` beside each (written by the real `sha256sum`), `index.txt`, `changes.csv`,
//! `deletions.csv`, `archive_latest.txt` and the whole-feed archive (`tar --zstd`), and
//! `meta/v1/repository-to-cpe.json`. The documents are the real ones of tests/fixtures/vex
//! (CC BY 4.0, tests/fixtures/PROVENANCE.md).
//!
//! What each test proves is in its comment; the request log is the proof of "only what
//! changed".
//!
//! Tools: rpm, rpmbuild, sha256sum, tar, zstd.

use crate::advisories_csaf::{fixture, rhel_root, row, shown, EXPAT, REPO_TO_CPE, WIRESHARK};
use crate::harness;

use harness::repo::{HttpServer, Serve};
use harness::{require_tool, PackageSpec, TestRoot};
use rpmdb::root::Root;
use security_advisories::{AdvisoryArgs, Options};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const VEX: &str = "data/csaf/v2/vex";
const EXPAT_PATH: &str = "2024/cve-2024-50602.json";
const WIRESHARK_PATH: &str = "2024/cve-2024-0208.json";
/// The fixtures' `current_release_date`s (cve-2024-50602 line 14 of its `tracking`, cve-2024-0208).
const EXPAT_DATE: &str = "2025-01-07T02:35:49+00:00";
const WIRESHARK_DATE: &str = "2024-08-20T16:26:29+00:00";
const ARCHIVE: &str = "csaf_vex_2025-01-06.tar.zst";

/// A feed as Red Hat publishes it, in a folder the server serves.
struct Feed {
    folder: tempfile::TempDir,
}

impl Feed {
    fn new() -> Feed {
        let folder = tempfile::tempdir().unwrap();
        fs::create_dir_all(folder.path().join(VEX)).unwrap();
        let meta = folder.path().join("data/meta/v1");
        fs::create_dir_all(&meta).unwrap();
        fs::copy(fixture(REPO_TO_CPE), meta.join("repository-to-cpe.json")).unwrap();
        Feed { folder }
    }

    fn vex(&self) -> PathBuf {
        self.folder.path().join(VEX)
    }

    /// Put a file in the feed with its `.sha256` as `sha256sum` writes it.
    fn publish(&self, rel: &str, bytes: &[u8]) {
        let path = self.vex().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        let out = Command::new(require_tool("sha256sum"))
            .arg(path.file_name().unwrap())
            .current_dir(path.parent().unwrap())
            .output()
            .unwrap();
        assert!(out.status.success());
        fs::write(path.with_file_name(format!("{}.sha256", file_name(&path))), out.stdout).unwrap();
    }

    fn write(&self, rel: &str, text: &str) {
        fs::write(self.vex().join(rel), text).unwrap();
    }

    /// `"path","date"` lines, newest first as Red Hat writes them.
    fn csv(&self, name: &str, entries: &[(&str, &str)]) {
        let mut lines: Vec<String> = entries.iter().map(|(p, d)| format!("\"{p}\",\"{d}\"")).collect();
        lines.sort_by(|a, b| b.split(',').nth(1).cmp(&a.split(',').nth(1)));
        let mut text = lines.join("\n");
        text.push('\n');
        self.write(name, &text);
    }

    /// The whole-feed archive of the documents now in the feed, and `archive_latest.txt`.
    fn archive(&self) {
        require_tool("zstd");
        let out = Command::new(require_tool("tar"))
            .args(["--zstd", "-cf", ARCHIVE, "2024"])
            .current_dir(self.vex())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let bytes = fs::read(self.vex().join(ARCHIVE)).unwrap();
        self.publish(ARCHIVE, &bytes);
        self.write("archive_latest.txt", &format!("{ARCHIVE}\n"));
    }

    /// The two real documents, as a feed whose archive predates the expat document's last
    /// change: the archive holds both, changes.csv says expat changed after the archive's date.
    fn with_archive() -> Feed {
        let feed = Feed::new();
        feed.publish(EXPAT_PATH, &fs::read(fixture(EXPAT)).unwrap());
        feed.publish(WIRESHARK_PATH, &fs::read(fixture(WIRESHARK)).unwrap());
        feed.archive();
        feed.csv(
            "changes.csv",
            &[(EXPAT_PATH, EXPAT_DATE), (WIRESHARK_PATH, WIRESHARK_DATE)],
        );
        feed.csv("deletions.csv", &[]);
        feed.write("index.txt", &format!("{EXPAT_PATH}\n{WIRESHARK_PATH}\n"));
        feed
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// RHEL 9.5 with content sets: expat older than RHSA-2024:9541's 2.5.0-3.el9_5.1 (fixed) and
/// wireshark-cli (known_not_affected for RHEL 9).
fn rhel9_root() -> TestRoot {
    rhel_root(
        "9.5",
        &[
            PackageSpec::new("expat", "2.5.0", "2.el9"),
            PackageSpec::new("wireshark-cli", "3.4.10", "7.el9").source_name("wireshark"),
        ],
        Some(&["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"]),
        false,
    )
}

fn options(sources: Vec<PathBuf>, cache: &Path) -> Options {
    Options {
        advisory: AdvisoryArgs {
            csaf_vex: sources,
            ..AdvisoryArgs::default()
        },
        repos: repodata::cli::RepoArgs {
            cache_dir: Some(cache.to_path_buf()),
            attempts: 1,
            ..Default::default()
        },
        ..Options::default()
    }
}

fn scan(root: &TestRoot, options: &Options) -> Result<atomic_protocol::Outcome, String> {
    security_advisories::scan(&Root::new(root.path()).unwrap(), "security", options).map_err(|e| e.0)
}

/// The feed-relative paths requested since `from` (the log's index), in order.
fn requested(server: &HttpServer, from: usize) -> Vec<String> {
    server.requests()[from..]
        .iter()
        .map(|p| {
            p.strip_prefix(&format!("/{VEX}/"))
                .map(str::to_string)
                .unwrap_or_else(|| p.clone())
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn warnings(o: &atomic_protocol::Outcome, kind: &str) -> Vec<String> {
    o.scan_results["Warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["Kind"] == kind)
        .map(|w| w["Message"].as_str().unwrap().to_string())
        .collect()
}

fn feed_report(o: &atomic_protocol::Outcome) -> Value {
    o.scan_results["Sources"][0]["Feed"].clone()
}

const MAPPING: [&str; 2] = [
    "/data/meta/v1/repository-to-cpe.json.sha256",
    "/data/meta/v1/repository-to-cpe.json",
];

/// Cold sync from the archive: the same findings, statuses, severity, CVSS and feed date as the
/// same documents given as a directory; the requests are exactly the index files, the archive
/// and its .sha256, the one document changed since the archive's date with its .sha256, and
/// repository-to-cpe.json from the feed's host (which then decides the products, as the file
/// beside a directory would).
#[test]
fn cold_sync_from_the_archive_equals_the_directory_source() {
    let feed = Feed::with_archive();
    let server = HttpServer::start(feed.folder.path(), Serve::Files);
    let url = server.url(VEX);
    let root = rhel9_root();
    let cache = tempfile::tempdir().unwrap();

    let o = scan(&root, &options(vec![url.clone().into()], cache.path())).unwrap();
    let mut expected_requests = strings(&[
        "changes.csv",
        "deletions.csv",
        "archive_latest.txt",
        &format!("{ARCHIVE}.sha256"),
        ARCHIVE,
        &format!("{EXPAT_PATH}.sha256"),
        EXPAT_PATH,
    ]);
    expected_requests.extend(strings(&MAPPING));
    assert_eq!(sorted(requested(&server, 0)), sorted(expected_requests));

    // The same documents as a directory, with the same mapping beside them.
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("2024")).unwrap();
    fs::copy(fixture(EXPAT), dir.path().join(EXPAT_PATH)).unwrap();
    fs::copy(fixture(WIRESHARK), dir.path().join(WIRESHARK_PATH)).unwrap();
    fs::copy(fixture(REPO_TO_CPE), dir.path().join("repository-to-cpe.json")).unwrap();
    let d = scan(&root, &options(vec![dir.path().to_path_buf()], cache.path())).unwrap();

    assert_eq!(shown(&o), shown(&d), "{:#?}", o.scan_results);
    assert_eq!(
        shown(&o)["CVE-2024-50602"],
        [row(
            "expat-2.5.0-2.el9.x86_64",
            "fixed",
            Some("RHSA-2024:9541"),
            Some("2.5.0-3.el9_5.1")
        )]
    );
    for (a, b) in o.vulnerabilities.iter().zip(&d.vulnerabilities) {
        assert_eq!(a.severity, b.severity);
        for k in [
            "Status",
            "CVSS v3 Score",
            "CVSS v3 Vector",
            "CWE",
            "Fixed By",
            "Packages",
        ] {
            assert_eq!(a.custom[k], b.custom[k], "{k}");
        }
    }
    // The document's label is its URL in the feed.
    assert_eq!(
        o.vulnerabilities[0].custom["VEX Document"],
        format!("{url}/{EXPAT_PATH}")
    );
    assert_eq!(o.cve_feed_last_updated, d.cve_feed_last_updated);
    assert_eq!(
        o.cve_feed_last_updated, "2025-01-07T02:35:49Z",
        "the expat document's date"
    );
    assert_eq!(o.scan_results["CSAF VEX Products"]["Method"], "content-sets");
    let source = &o.scan_results["Sources"][0];
    assert_eq!(
        source["Entries"], 2,
        "both documents, the archive's wireshark and the fetched expat"
    );
    assert!(source.get("Error").is_none(), "{source:#}");
    let f = feed_report(&o);
    assert_eq!(f["Fetched"], 2, "{f:#}");
    assert_eq!(f["Checked Against .sha256"], 2, "{f:#}");
    assert_eq!(f["Without .sha256"], 0);
    assert_eq!(f["Offline"], false);
    assert_eq!(f["Archive"], ARCHIVE);
    assert!(f["Sync"].as_str().unwrap().starts_with("first: archive"), "{f:#}");
    assert_eq!(f["Newest Entry Applied"], "2025-01-07T02:35:49Z");
    assert!(
        o.scan_results["Warnings"].as_array().unwrap().is_empty(),
        "{:#?}",
        o.scan_results["Warnings"]
    );
}

/// No archive_latest.txt: the first sync fetches every file index.txt lists (each with its
/// .sha256), and the answer is the directory's.
#[test]
fn cold_sync_from_index_txt_without_an_archive() {
    let feed = Feed::new();
    feed.publish(EXPAT_PATH, &fs::read(fixture(EXPAT)).unwrap());
    feed.publish(WIRESHARK_PATH, &fs::read(fixture(WIRESHARK)).unwrap());
    feed.csv(
        "changes.csv",
        &[(EXPAT_PATH, EXPAT_DATE), (WIRESHARK_PATH, WIRESHARK_DATE)],
    );
    feed.csv("deletions.csv", &[]);
    feed.write("index.txt", &format!("{EXPAT_PATH}\n{WIRESHARK_PATH}\n"));
    let server = HttpServer::start(feed.folder.path(), Serve::Files);
    let root = rhel9_root();
    let cache = tempfile::tempdir().unwrap();
    let o = scan(&root, &options(vec![server.url(VEX).into()], cache.path())).unwrap();
    let mut expected = strings(&[
        "changes.csv",
        "deletions.csv",
        "archive_latest.txt",
        "index.txt",
        &format!("{EXPAT_PATH}.sha256"),
        EXPAT_PATH,
        &format!("{WIRESHARK_PATH}.sha256"),
        WIRESHARK_PATH,
    ]);
    expected.extend(strings(&MAPPING));
    assert_eq!(sorted(requested(&server, 0)), sorted(expected));
    let d = scan(&root, &{
        let mut o = options(vec![fixture(EXPAT), fixture(WIRESHARK)], cache.path());
        o.advisory.repository_to_cpe = Some(fixture(REPO_TO_CPE));
        o
    })
    .unwrap();
    assert_eq!(shown(&o), shown(&d));
    assert_eq!(o.cve_feed_last_updated, d.cve_feed_last_updated);
    let f = feed_report(&o);
    assert_eq!(f["Sync"], "first: the 2 files of index.txt", "{f:#}");
    assert_eq!(f["Archive"], Value::Null);

    // The next sync: nothing changed, nothing but the index files (and the mapping) asked for.
    let before = server.requests().len();
    let again = scan(&root, &options(vec![server.url(VEX).into()], cache.path())).unwrap();
    let mut expected = strings(&["changes.csv", "deletions.csv"]);
    expected.extend(strings(&MAPPING));
    assert_eq!(sorted(requested(&server, before)), sorted(expected));
    assert_eq!(shown(&again), shown(&o));
    assert_eq!(feed_report(&again)["Sync"], "incremental");
    assert_eq!(feed_report(&again)["Fetched"], 0);
}

/// Later syncs read changes.csv and deletions.csv and fetch only what changed since the last
/// sync's newest entry: a changed document is fetched (and its new content used), a deleted
/// CVE disappears from the findings (its archive entry is masked too), and the state survives
/// between runs sharing --cache-dir.
#[test]
fn a_later_sync_fetches_only_what_changed_and_applies_deletions() {
    let feed = Feed::with_archive();
    let server = HttpServer::start(feed.folder.path(), Serve::Files);
    let url = server.url(VEX);
    let root = rhel9_root();
    let cache = tempfile::tempdir().unwrap();
    let first = scan(&root, &options(vec![url.clone().into()], cache.path())).unwrap();
    assert!(shown(&first).contains_key("CVE-2024-50602"));

    // Red Hat revises the wireshark document (a later current_release_date), and nothing else.
    let revised = fs::read_to_string(fixture(WIRESHARK))
        .unwrap()
        .replace(WIRESHARK_DATE, "2025-02-01T00:00:00+00:00");
    assert_ne!(revised, fs::read_to_string(fixture(WIRESHARK)).unwrap());
    feed.publish(WIRESHARK_PATH, revised.as_bytes());
    feed.csv(
        "changes.csv",
        &[(WIRESHARK_PATH, "2025-02-01T00:00:00+00:00"), (EXPAT_PATH, EXPAT_DATE)],
    );
    let before = server.requests().len();
    let second = scan(&root, &options(vec![url.clone().into()], cache.path())).unwrap();
    let mut expected = strings(&[
        "changes.csv",
        "deletions.csv",
        &format!("{WIRESHARK_PATH}.sha256"),
        WIRESHARK_PATH,
    ]);
    expected.extend(strings(&MAPPING));
    assert_eq!(sorted(requested(&server, before)), sorted(expected));
    assert_eq!(shown(&second), shown(&first));
    assert_eq!(
        second.cve_feed_last_updated, "2025-02-01T00:00:00Z",
        "the revised document is read"
    );
    let f = feed_report(&second);
    assert_eq!(f["Sync"], "incremental", "{f:#}");
    assert_eq!(f["Fetched"], 1);

    // Red Hat withdraws the expat document: deletions.csv names it, the file is gone.
    fs::remove_file(feed.vex().join(EXPAT_PATH)).unwrap();
    feed.csv("changes.csv", &[(WIRESHARK_PATH, "2025-02-01T00:00:00+00:00")]);
    feed.csv("deletions.csv", &[(EXPAT_PATH, "2025-03-01T00:00:00+00:00")]);
    let before = server.requests().len();
    let third = scan(&root, &options(vec![url.clone().into()], cache.path())).unwrap();
    let mut expected = strings(&["changes.csv", "deletions.csv"]);
    expected.extend(strings(&MAPPING));
    assert_eq!(sorted(requested(&server, before)), sorted(expected));
    assert!(third.vulnerabilities.is_empty(), "{:#?}", third.scan_results);
    assert_eq!(third.scan_results["Sources"][0]["Entries"], 1, "only wireshark is left");
    assert_eq!(feed_report(&third)["Deleted"], 1);

    // And it stays deleted on the sync after, with nothing fetched.
    let fourth = scan(&root, &options(vec![url.into()], cache.path())).unwrap();
    assert!(fourth.vulnerabilities.is_empty());
    assert_eq!(feed_report(&fourth)["Deleted"], 0);
}

/// A hostile or broken feed: a CSV path with `..` or an absolute path is refused and never
/// requested; a file whose .sha256 does not match, and one larger than the document bound, are
/// named errors, their previous copy is still read, nothing is written outside the cache, and
/// the next sync tries those two again. No panic anywhere.
#[test]
fn hostile_paths_bad_checksums_and_oversize_files_are_named_and_the_copy_stays_sound() {
    let feed = Feed::with_archive();
    let server = HttpServer::start(feed.folder.path(), Serve::Files);
    let url = server.url(VEX);
    let root = rhel9_root();
    let work = tempfile::tempdir().unwrap();
    let cache = work.path().join("cache");
    let first = scan(&root, &options(vec![url.clone().into()], &cache)).unwrap();
    let before_findings = shown(&first);

    // expat changes but its .sha256 is of other bytes; wireshark changes into a file over the
    // 128 MiB bound (sparse, so cheap); two entries try to climb out of the copy.
    let changed = fs::read_to_string(fixture(EXPAT))
        .unwrap()
        .replace("RHSA-2024:9541", "RHSA-2099:0001");
    fs::write(feed.vex().join(EXPAT_PATH), changed).unwrap();
    let big = fs::File::create(feed.vex().join(WIRESHARK_PATH)).unwrap();
    big.set_len(security_advisories::csaf::document::MAX_DOCUMENT_BYTES + 1)
        .unwrap();
    drop(big);
    fs::remove_file(feed.vex().join(format!("{WIRESHARK_PATH}.sha256"))).unwrap();
    feed.write("escape.json", "{}");
    feed.csv(
        "changes.csv",
        &[
            (EXPAT_PATH, "2025-02-01T00:00:00+00:00"),
            (WIRESHARK_PATH, "2025-02-01T00:00:00+00:00"),
            ("../../../escape.json", "2025-02-01T00:00:00+00:00"),
            ("/etc/passwd.json", "2025-02-01T00:00:00+00:00"),
        ],
    );
    let before = server.requests().len();
    let o = scan(&root, &options(vec![url.clone().into()], &cache)).unwrap();
    let asked = requested(&server, before);
    assert!(
        asked.iter().all(|p| !p.contains("escape") && !p.contains("passwd")),
        "{asked:?}"
    );
    let refused = warnings(&o, "csaf-feed-path");
    assert_eq!(refused.len(), 1, "{:#?}", o.scan_results["Warnings"]);
    assert!(
        refused[0].contains("2 entries") && refused[0].contains("\"../../../escape.json\""),
        "{refused:?}"
    );
    assert!(refused[0].contains("\"/etc/passwd.json\""), "{refused:?}");
    let failed = warnings(&o, "csaf-feed-file");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("2 files could not be updated"), "{failed:?}");
    assert!(
        failed[0].contains(&format!("{EXPAT_PATH}: checksum mismatch")),
        "{failed:?}"
    );
    assert!(
        failed[0].contains(&format!("{WIRESHARK_PATH}: the server announces 134217729 bytes")),
        "{failed:?}"
    );
    // The previous copies are read: the same findings, the old RHSA.
    assert_eq!(shown(&o), before_findings);
    let f = feed_report(&o);
    assert_eq!(f["Not Updated"].as_array().unwrap().len(), 2, "{f:#}");
    assert_eq!(f["Refused Paths"], 2);
    assert!(o.scan_results["Sources"][0].get("Error").is_none());
    // Nothing escaped the cache.
    for p in [work.path().join("escape.json"), PathBuf::from("/etc/passwd.json")] {
        assert!(!p.exists(), "{}", p.display());
    }

    // The server mends the two files: the next sync fetches them again, though changes.csv has
    // no newer entry, and the new expat content is used.
    let fixed = fs::read(feed.vex().join(EXPAT_PATH)).unwrap();
    feed.publish(EXPAT_PATH, &fixed);
    feed.publish(WIRESHARK_PATH, &fs::read(fixture(WIRESHARK)).unwrap());
    let before = server.requests().len();
    let o = scan(&root, &options(vec![url.into()], &cache)).unwrap();
    let asked = requested(&server, before);
    assert!(
        asked.contains(&EXPAT_PATH.to_string()) && asked.contains(&WIRESHARK_PATH.to_string()),
        "{asked:?}"
    );
    assert!(warnings(&o, "csaf-feed-file").is_empty());
    assert_eq!(
        shown(&o)["CVE-2024-50602"][0].2.as_deref(),
        Some("RHSA-2099:0001"),
        "the mended file is read"
    );
}

/// The feed unreachable: with a copy in the cache the scan reads it and says when it was synced
/// and how long ago; without one the subject fails with an error naming the feed and the cache.
/// A feed URL that is no feed (no changes.csv) says so.
#[test]
fn an_unreachable_feed_scans_from_the_cache_and_without_one_is_a_clear_error() {
    let feed = Feed::with_archive();
    let root = rhel9_root();
    let cache = tempfile::tempdir().unwrap();
    let (url, synced) = {
        let server = HttpServer::start(feed.folder.path(), Serve::Files);
        let url = server.url(VEX);
        let o = scan(&root, &options(vec![url.clone().into()], cache.path())).unwrap();
        (url, o)
    };
    // The server is gone (dropped): connection refused.
    let o = scan(&root, &options(vec![url.clone().into()], cache.path())).unwrap();
    assert_eq!(shown(&o), shown(&synced));
    let offline = warnings(&o, "csaf-feed-offline");
    assert_eq!(offline.len(), 1, "{:#?}", o.scan_results["Warnings"]);
    assert!(offline[0].contains("the feed could not be synced"), "{offline:?}");
    assert!(
        offline[0].contains("scanning from the copy in the cache synced 20"),
        "{offline:?}"
    );
    assert!(offline[0].contains(" s ago)"), "{offline:?}");
    let f = feed_report(&o);
    assert_eq!(f["Offline"], true);
    assert!(
        o.summary.contains(&format!(
            "The CSAF VEX feed {url}/ could not be synced: read from the cache's copy synced 20"
        )),
        "{}",
        o.summary
    );
    assert!(f["Offline Because"].as_str().unwrap().contains("changes.csv"), "{f:#}");
    assert_eq!(o.scan_results["Sources"][0]["Entries"], 2);

    // No copy: the subject's error names the feed and the empty cache.
    let empty = tempfile::tempdir().unwrap();
    let e = scan(&root, &options(vec![url.clone().into()], empty.path())).unwrap_err();
    assert!(e.contains("no advisory feed could be read"), "{e}");
    assert!(e.contains(&url) && e.contains("has no copy of it"), "{e}");
    // Other sources still count when one feed fails.
    let o = scan(&root, &options(vec![url.into(), fixture(EXPAT)], empty.path())).unwrap();
    assert!(shown(&o).contains_key("CVE-2024-50602"));
    assert!(o.scan_results["Sources"][0]["Error"]
        .as_str()
        .unwrap()
        .contains("has no copy"));

    // A server that is no feed.
    let other = tempfile::tempdir().unwrap();
    let server = HttpServer::start(other.path(), Serve::Files);
    let e = scan(&root, &options(vec![server.url("nothing/").into()], empty.path())).unwrap_err();
    assert!(
        e.contains("changes.csv: HTTP status 404 (is this a CSAF VEX feed's base URL?)"),
        "{e}"
    );
}
