//! SQLite `rpmdb.sqlite`: the input is the database file, or, when it contains the marker
//! `\0--wal--\0`, the database file followed by its `-wal` file (the two ways the reader
//! opens a database). Every header is read.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rpmdb::db::sqlite::SqliteReader;
use std::path::Path;
use std::sync::OnceLock;

const WAL_MARKER: &[u8] = b"\0--wal--\0";

fn dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir_in(atomic_scanners_fuzz::scratch_dir()).expect("scratch dir"))
        .path()
}

fuzz_target!(|data: &[u8]| {
    let (db, wal) = match data.windows(WAL_MARKER.len()).position(|w| w == WAL_MARKER) {
        Some(at) => (&data[..at], Some(&data[at + WAL_MARKER.len()..])),
        None => (data, None),
    };
    let db_path = dir().join("rpmdb.sqlite");
    let wal_path = dir().join("rpmdb.sqlite-wal");
    let _ = std::fs::remove_file(&wal_path);
    let _ = std::fs::remove_file(dir().join("rpmdb.sqlite-shm"));
    std::fs::write(&db_path, db).expect("write db");
    if let Some(wal) = wal {
        std::fs::write(&wal_path, wal).expect("write wal");
    }
    if let Ok(reader) = SqliteReader::open(&db_path, Path::new("/var/lib/rpm/rpmdb.sqlite")) {
        atomic_scanners_fuzz::drain(reader);
    }
    // The reader must never create files beside the database (the scanned root is read-only).
    assert!(
        !dir().join("rpmdb.sqlite-shm").exists(),
        "the SQLite reader created a -shm file"
    );
    assert_eq!(
        wal_path.exists(),
        wal.is_some(),
        "the SQLite reader created or removed the -wal file"
    );
});
