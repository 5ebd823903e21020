//! Databases that claim millions of packages or files (issue 7), made from the real fixtures
//! with a few fields changed, and scanned by every scanner binary under a watchdog: the
//! scan ends in bounded time and memory, names the database and what is wrong with it, and
//! writes nothing into the root.
//!
//! - NDB: a header claiming 65,536 slot pages (16 million slots) over a sparse file;
//! - Berkeley DB: the real libuuid `Packages` with its metadata claiming 200,000 buckets
//!   over a sparse 800 MB file (every bucket page a hole);
//! - SQLite: 300,000 rows of junk blobs, and one header claiming rpm's maximum index and
//!   data sizes, with string arrays of 2^32-1 entries.
//!
//! Tools: strace, createrepo_c and modifyrepo_c (`createrepo-c`).

use crate::harness;

use harness::hostile::{run_traced, scanner_binaries, Canary, Run, RunOptions, TreeDigest};
use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::time::Duration;

const RSS_LIMIT_KIB: i64 = 256 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(120);

fn fixture(rel: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rpmdb")
            .join(rel),
    )
    .unwrap()
}

/// A root with `etc/os-release` and the database file `db_name` written by `write_db`.
fn root_with(db_name: &str, write_db: impl FnOnce(&Path)) -> tempfile::TempDir {
    let root = tempfile::Builder::new().prefix("adversarial-db-").tempdir().unwrap();
    fs::create_dir_all(root.path().join("var/lib/rpm")).unwrap();
    fs::create_dir_all(root.path().join("etc/yum.repos.d")).unwrap();
    fs::write(
        root.path().join("etc/os-release"),
        "ID=rhel\nVERSION_ID=8\nPRETTY_NAME=\"RHEL 8\"\n",
    )
    .unwrap();
    write_db(&root.path().join("var/lib/rpm").join(db_name));
    root
}

/// Every scanner on `root`: bounded, nothing written, nothing read outside.
fn scan_all(name: &str, root: &Path) -> Vec<Run> {
    let bins = scanner_binaries();
    let canary = Canary::new();
    let scratch = tempfile::Builder::new().prefix("adversarial-tmp-").tempdir().unwrap();
    let before = TreeDigest::of(root);
    // An empty repository with an empty updateinfo, so that the repository scanners get as
    // far as the database.
    let repo_dir = scratch.path().join("empty-repo");
    harness::advisory::advisory_repo(&repo_dir, &[], "<?xml version=\"1.0\"?>\n<updates></updates>\n", None);
    let empty_repo = format!("empty=file://{}", repo_dir.display());
    let mut runs = Vec::new();
    for (scanner, bin) in bins.all() {
        let mut args: Vec<&OsStr> = vec![OsStr::new("--rootfs"), root.as_os_str()];
        if scanner != "scanner-rpm-verify" {
            args.extend([
                OsStr::new("--no-image-repos"),
                OsStr::new("--repo"),
                OsStr::new(&empty_repo),
            ]);
        }
        let opts = RunOptions::with_tmpdir(TIME_LIMIT, scratch.path());
        let run = run_traced(&format!("{name}: {scanner}"), bin, &args, &opts);
        run.assert_ended_cleanly(RSS_LIMIT_KIB);
        run.assert_opened_only_inside(root, &[scratch.path(), bin], canary.path());
        let _ = run.json();
        eprintln!(
            "{}: {:?}, {} KiB, {} bytes of output",
            run.what,
            run.elapsed,
            run.max_rss_kib,
            run.stdout.len()
        );
        runs.push(run);
    }
    TreeDigest::of(root).assert_same(&before, name);
    runs
}

/// The scan says the database is bad (unsuccessful, or a warning naming the file).
fn assert_database_reported(runs: &[Run], file: &str) {
    for run in runs {
        run.assert_reports(&[file]);
    }
}

#[test]
fn ndb_claiming_sixteen_million_slots() {
    const SLOT_PAGES: u32 = 65536;
    let root = root_with("Packages.db", |db| {
        let mut real = fixture("sle15sp3-glibc-3pkg-ndb/Packages.db");
        real[12..16].copy_from_slice(&SLOT_PAGES.to_le_bytes());
        // The real slots stay in page 0; the other 65,535 slot pages are holes (zeros).
        fs::write(db, &real[..4096]).unwrap();
        let f = fs::OpenOptions::new().write(true).open(db).unwrap();
        f.set_len(SLOT_PAGES as u64 * 4096 + real.len() as u64).unwrap();
    });
    let runs = scan_all("NDB 16M slots", root.path());
    assert_database_reported(&runs, "Packages.db");
}

#[test]
fn berkeley_db_claiming_200k_buckets() {
    const PAGES: u32 = 200_000;
    let root = root_with("Packages", |db| {
        let mut real = fixture("libuuid/Packages");
        let page_size = u32::from_le_bytes(real[20..24].try_into().unwrap());
        // last_pgno @32, max_bucket @72, high_mask @76, low_mask @80, nelem @88.
        real[32..36].copy_from_slice(&(PAGES - 1).to_le_bytes());
        real[72..76].copy_from_slice(&(PAGES - 2).to_le_bytes());
        real[76..80].copy_from_slice(&0x7f_ffffu32.to_le_bytes());
        real[80..84].copy_from_slice(&0x3f_ffffu32.to_le_bytes());
        real[88..92].copy_from_slice(&u32::MAX.to_le_bytes());
        fs::write(db, &real).unwrap();
        let f = fs::OpenOptions::new().write(true).open(db).unwrap();
        f.set_len(PAGES as u64 * page_size as u64).unwrap();
    });
    let runs = scan_all("BDB 200k buckets", root.path());
    assert_database_reported(&runs, "Packages");
}

#[test]
fn sqlite_with_300k_junk_rows() {
    let root = root_with("rpmdb.sqlite", |db| {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
             INSERT INTO Packages (blob) SELECT x'0000ffff0fffffff' FROM n;",
        )
        .unwrap();
    });
    let runs = scan_all("SQLite 300k junk rows", root.path());
    assert_database_reported(&runs, "rpmdb.sqlite");
}

#[test]
fn header_claiming_maximum_sizes() {
    // il = 65535 entries, dl = 256 MiB, and an index entry claiming 2^32-1 strings.
    let mut blob = Vec::new();
    blob.extend_from_slice(&0xffffu32.to_be_bytes());
    blob.extend_from_slice(&0x0fff_ffffu32.to_be_bytes());
    for (tag, ty, count) in [(1000u32, 6u32, 1u32), (1117, 8, u32::MAX), (1116, 4, u32::MAX)] {
        for v in [tag, ty, 0, count] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
    }
    blob.extend_from_slice(b"name\0");
    let root = root_with("rpmdb.sqlite", |db| {
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
            .unwrap();
        conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [&blob])
            .unwrap();
    });
    let runs = scan_all("header claiming maximum sizes", root.path());
    assert_database_reported(&runs, "rpmdb.sqlite");
}
