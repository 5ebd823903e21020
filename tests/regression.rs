//! One test per defect found by the fuzzers and the adversarial suite (issue 7), each named
//! after the defect it pins. The inputs are the smallest that showed the defect (or the
//! crafted database that did, scaled down to run in milliseconds).

use rpmdb::db::ndb::NdbReader;
use rpmdb::db::{Database, HeaderSource};
use rpmdb::InstalledPackages;
use std::fs;
use std::path::Path;

fn fixture(rel: &str) -> Vec<u8> {
    fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/rpmdb")
            .join(rel),
    )
    .unwrap()
}

/// Defect: the NDB reader kept one message per bad slot while reading the slot area, so a
/// header claiming 65,536 slot pages over a sparse file (16 million zero slots) made it
/// collect 16 million strings (over 1 GB) before yielding anything. Found by
/// `adversarial_databases::ndb_claiming_sixteen_million_slots`.
#[test]
fn ndb_slot_area_of_zeros_became_millions_of_messages() {
    const SLOT_PAGES: u32 = 4096; // 1,048,576 slots, 16 MiB, all but page 0 holes
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("Packages.db");
    let mut real = fixture("sle15sp3-glibc-3pkg-ndb/Packages.db");
    real[12..16].copy_from_slice(&SLOT_PAGES.to_le_bytes());
    fs::write(&db, &real[..4096]).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(SLOT_PAGES as u64 * 4096 + 4096)
        .unwrap();

    let mut reader = NdbReader::new(fs::File::open(&db).unwrap(), Path::new("/var/lib/rpm/Packages.db")).unwrap();
    let mut errors = Vec::new();
    while let Some(h) = reader.next_header() {
        if let Err(e) = h {
            errors.push(e.message);
        }
    }
    // 1,048,576 - 256 slots of page 0 are zeros: a bounded list, then the count of the rest.
    assert!(errors.len() <= 101, "{} messages", errors.len());
    let last = errors.last().expect("the bad slots are reported");
    let unlisted: u64 = last.split(' ').next().unwrap().parse().unwrap_or(0);
    let zero_slots = (SLOT_PAGES as u64 - 1) * 256;
    assert!(
        last.ends_with("more bad slots, not listed") && unlisted + 100 >= zero_slots,
        "last message: {last}"
    );
}

/// Defect: every scanner kept one message per unreadable record, so an SQLite database of a
/// million junk rows (16 MB) drove scanner-rpm-verify past 2 GB of memory. Found by
/// `adversarial_databases::sqlite_with_300k_junk_rows` (then a million rows). `InstalledPackages::iter`
/// now lists the first `MAX_LISTED_ERRORS` and counts the rest, and still yields every
/// readable package after them.
#[test]
fn a_million_junk_records_became_a_million_messages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rpmdb.sqlite");
    let junk = 3 * rpmdb::MAX_LISTED_ERRORS;
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
            .unwrap();
        conn.execute(
            &format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {junk}) \
                 INSERT INTO Packages (blob) SELECT x'0000ffff0fffffff' FROM n"
            ),
            [],
        )
        .unwrap();
        // A real package after the junk: it must still be found.
        let real = rusqlite::Connection::open(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb/fedora36-tzdata-sqlite/rpmdb.sqlite"),
        )
        .unwrap();
        let blob: Vec<u8> = real
            .query_row("SELECT blob FROM Packages LIMIT 1", [], |r| r.get(0))
            .unwrap();
        conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [&blob])
            .unwrap();
    }
    let mut installed = InstalledPackages::from_database(Database::open_file(&path).unwrap());
    let (mut ok, mut errors) = (Vec::new(), Vec::new());
    for p in installed.iter() {
        match p {
            Ok(p) => ok.push(p.name),
            Err(e) => errors.push(e.message),
        }
    }
    assert_eq!(ok, ["tzdata"]);
    assert_eq!(errors.len() as u64, rpmdb::MAX_LISTED_ERRORS + 1);
    assert_eq!(
        errors.last().unwrap(),
        &format!(
            "{} more unreadable records, not listed",
            junk - rpmdb::MAX_LISTED_ERRORS
        )
    );
}

/// Defects: `Evr` text that did not read back as the same EVR. Found by `fuzz/vercmp`
/// (printing then parsing must give the same EVR):
/// - a version holding `-` printed without a trailing `-`: "1-2-" (version "1-2") came back
///   as version "1", release "2";
/// - an epoch of more digits than a u32 holds was dropped and the rest read as the version:
///   "220101220101:220101::_" printed as "220101::_", which reads back with epoch 220101.
#[test]
fn evr_text_reads_back_as_the_same_evr() {
    use rpmdb::version::Evr;
    for text in ["1-2-", "220101220101:220101::_", "99999999999:1-2"] {
        let evr = Evr::parse(text);
        assert_eq!(Evr::parse(&evr.to_string()), evr, "{text:?} printed as {evr}");
    }
    assert_eq!(Evr::parse("99999999999:1-2").epoch, Some(u32::MAX));
}

/// Defect: the SQLite reader fetched rows in batches assuming a scan by rowid only goes up; a
/// corrupt b-tree that yields rowids 8, 1, 0 sent every batch back to rowid 1, so the walk
/// reported the same two bad rows for ever (fuzz/db_sqlite, a 20 s timeout). A batch now ends
/// where rowids stop rising and the next query seeks past the last good one.
#[test]
fn sqlite_rowids_out_of_order_made_the_walk_cycle() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-found/sqlite-rowids-out-of-order.sqlite");
    let db = Database::open_file(&path).unwrap();
    let items: Vec<_> = InstalledPackages::from_database(db).iter().take(1000).collect();
    assert!(items.len() < 10, "the walk went on for {} items", items.len());
    assert!(
        items.iter().all(|p| p.is_err()),
        "no row of this database holds a header"
    );
}
