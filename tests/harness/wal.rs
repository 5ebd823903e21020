//! Leave committed rows in a root's SQLite `-wal` file, not yet checkpointed into
//! `rpmdb.sqlite` — what an image holds when it was committed while rpm (or dnf) still had
//! the database open, or when a checkpoint never ran. A reader that ignores the `-wal` file
//! then misses added packages and still shows removed ones, so tests can tell.
//!
//! Rows are written through SQLite itself (rusqlite), in WAL mode, with automatic
//! checkpoints and the checkpoint on close switched off; the `-shm` file is then removed, as
//! image layers usually lack it.

use super::root::TestRoot;
use rusqlite::config::DbConfig;
use rusqlite::Connection;

/// Insert `add` (header number, blob) and delete the header numbers `delete` (with their
/// index rows), in one transaction that stays in `rpmdb.sqlite-wal`. The index tables are
/// not filled for added rows: `rpm -qa` sees them, `rpm -q NAME` does not. Panics if the
/// main file changed.
pub fn commit_to_wal_only(root: &TestRoot, add: &[(u32, Vec<u8>)], delete: &[u32]) {
    let db = root.db_dir().join("rpmdb.sqlite");
    let before = std::fs::read(&db).unwrap();
    {
        let mut conn = Connection::open(&db).unwrap_or_else(|e| panic!("opening {}: {e}", db.display()));
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal", "{} is not in WAL mode", db.display());
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        let tx = conn.transaction().unwrap();
        let indexes: Vec<String> = tx
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'Packages'",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        for n in delete {
            // As rpm erases: the index rows first (they refer to the header by number).
            for index in &indexes {
                tx.execute(&format!("DELETE FROM '{index}' WHERE hnum = ?1"), [n])
                    .unwrap();
            }
            let gone = tx.execute("DELETE FROM Packages WHERE hnum = ?1", [n]).unwrap();
            assert_eq!(gone, 1, "no header #{n} to delete");
        }
        for (n, blob) in add {
            tx.execute("INSERT INTO Packages (hnum, blob) VALUES (?1, ?2)", (n, blob))
                .unwrap();
        }
        tx.commit().unwrap();
    }
    assert_eq!(
        std::fs::read(&db).unwrap(),
        before,
        "the main database file was written"
    );
    let wal = root.db_dir().join("rpmdb.sqlite-wal");
    assert!(
        std::fs::metadata(&wal).map(|m| m.len() > 0).unwrap_or(false),
        "{} is empty",
        wal.display()
    );
    let _ = std::fs::remove_file(root.db_dir().join("rpmdb.sqlite-shm"));
}
