//! SQLite `rpmdb.sqlite` files, on a read-only mount, with or without `-wal`, without `-shm`.
//!
//! rpm's table is `Packages(hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)` and
//! rpm leaves the file in WAL mode. An ordinary read-only open of a WAL database needs the
//! `-shm` wal-index file, creating it when missing — impossible on a read-only mount (the open
//! fails with "unable to open database file") and a write into the scanned root otherwise.
//! So the reader picks one of two ways, neither of which creates, changes or deletes a file:
//!
//! - no `-wal` file, or an empty one (rpm checkpoints and truncates it on close): every
//!   committed row is in the main file; open it with `immutable=1`, which reads it as a plain
//!   file without locks, journals or wal-index.
//! - a `-wal` file with content (rows committed but not yet checkpointed): open read-only
//!   (`mode=ro`) and set `PRAGMA locking_mode=EXCLUSIVE` before the first read. In exclusive
//!   mode SQLite never uses the shared-memory wal-index: it rebuilds the index in heap memory
//!   from the `-wal` file itself, so the rows that live only there are read too. Exclusive
//!   mode takes a write lock (`fcntl F_WRLCK`), which fails with `EBADF` on a file opened
//!   read-only, so the connection uses SQLite's `unix-none` VFS, which takes no locks: an
//!   image being scanned has no other writer. Checkpoint on close is switched off, so the
//!   `-wal` file is left as it was.
//!
//! Rows are read in rowid order (`hnum` is the rowid), a few at a time and at most 128 KiB of
//! blobs at once (or one larger blob), so memory follows one header (rpm's limit is 256 MiB).

use super::{DbError, HeaderSource, RawHeader};
use crate::header::{MAX_DATA_LENGTH, MAX_INDEX_ENTRIES};
use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The largest header blob rpm can store: its index and data limits. The connection's length
/// limit: SQLite refuses to load a longer value (SQLITE_TOOBIG) before allocating it.
const MAX_BLOB: i32 = 8 + 16 * MAX_INDEX_ENTRIES as i32 + MAX_DATA_LENGTH as i32;

/// The next rows after a rowid, a few at a time (one query per row cost a tenth of a
/// listing). The row limit is a literal: a bound LIMIT makes SQLite re-prepare the statement
/// on every run. A blob over the length limit stops the step; [`NEXT_ROW_HEAD`] then names it.
const NEXT_ROWS: &str = "SELECT rowid, hnum, blob FROM Packages WHERE rowid > ?1 ORDER BY rowid LIMIT 16";

/// The row after a rowid, its value's type and length but not the value: what is reported of
/// a row whose blob SQLite would not load. (Asking every row this way cost 4% of a listing.)
/// A value over rpm's limit is on overflow pages, whose content `typeof` and `length` skip.
const NEXT_ROW_HEAD: &str = "SELECT rowid, hnum, typeof(blob), length(blob) FROM Packages \
     WHERE rowid > ?1 ORDER BY rowid LIMIT 1";

/// A batch ends once it holds this many bytes of blobs (so it always has one row). Every byte
/// held is a page touched: with 1 MiB, a batch of large headers cost a fifth more page faults
/// on CBL-Mariner's database (318 -> 425 with the allocator settings of `memory`) and time;
/// rpm's own headers of a few KiB still come sixteen to a batch.
const BATCH_BYTES: usize = 128 << 10;

/// How the database file was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// No `-wal` content: the main file read as immutable.
    Immutable,
    /// A `-wal` file with content, read through an in-memory wal-index.
    WalInHeap,
}

pub struct SqliteReader {
    path: PathBuf,
    conn: Connection,
    mode: OpenMode,
    /// The rowid of the last row read; `None` once the walk is over.
    last_rowid: Option<i64>,
    /// Rows read but not handed out yet, in rowid order.
    pending: VecDeque<Row>,
}

/// The page cache in KiB, as `PRAGMA cache_size` takes it (negative means KiB). A scan needs
/// the pages on its path down the b-tree; overflow pages are read past the cache. 16 KiB
/// instead of 64 saved 9 of the listing's page faults.
const PAGE_CACHE_KIB: i64 = -16;

impl SqliteReader {
    /// Open `host_path` (already resolved inside the root) without writing anything next to it.
    pub fn open(host_path: &Path, image_path: &Path) -> Result<SqliteReader, DbError> {
        Self::open_limited(host_path, image_path, MAX_BLOB)
    }

    /// [`SqliteReader::open`], refusing blobs longer than `max_blob` bytes.
    fn open_limited(host_path: &Path, image_path: &Path, max_blob: i32) -> Result<SqliteReader, DbError> {
        let fail = |msg: String| DbError::new(image_path, msg);
        let mode = choose_mode(host_path).map_err(fail)?;
        let uri = file_uri(
            host_path,
            match mode {
                OpenMode::Immutable => "immutable=1",
                OpenMode::WalInHeap => "mode=ro&vfs=unix-none",
            },
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&uri, flags).map_err(|e| fail(format!("cannot open: {e}")))?;
        let setup = || -> rusqlite::Result<()> {
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
            conn.pragma_update(None, "query_only", true)?;
            conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, max_blob)?;
            if mode == OpenMode::WalInHeap {
                // Must come before anything reads the file: the wal-index then lives in heap
                // memory and no -shm file is opened or created (see the module comment).
                conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
            }
            // A small page cache, set after the locking mode (it reads the schema). A listing
            // reads every page once, in order: the 2 MiB default cache, or mapping the whole
            // file (mmap_size), costs page faults and memory and is slower than recycling a
            // few warm pages.
            conn.pragma_update(None, "cache_size", PAGE_CACHE_KIB)?;
            Ok(())
        };
        setup().map_err(|e| fail(format!("cannot set up the connection: {e}")))?;
        let kind: Option<String> = conn
            .query_row(
                "SELECT type FROM sqlite_master WHERE name = 'Packages' COLLATE NOCASE",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| fail(format!("cannot read the schema: {e}")))?;
        match kind.as_deref() {
            Some("table") => {}
            None => return Err(fail("no Packages table".into())),
            Some(other) => return Err(fail(format!("Packages is a {other}, not a table"))),
        }
        Ok(SqliteReader {
            path: image_path.to_path_buf(),
            conn,
            mode,
            last_rowid: Some(i64::MIN),
            pending: VecDeque::new(),
        })
    }

    /// Which way the file was opened (see the module documentation).
    pub fn mode(&self) -> OpenMode {
        self.mode
    }

    fn error(&self, message: String) -> DbError {
        DbError::new(&self.path, message)
    }
}

/// Decide how to open the database from its `-wal` file, checking the files SQLite will
/// open by name: they must be regular files, never symlinks out of the root or FIFOs.
fn choose_mode(db: &Path) -> Result<OpenMode, String> {
    let mut wal = OsString::from(db.as_os_str());
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    let meta = match std::fs::symlink_metadata(&wal) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(OpenMode::Immutable),
        Err(e) => return Err(format!("cannot inspect the -wal file: {e}")),
    };
    if !meta.file_type().is_file() {
        return Err("the -wal file is not a regular file (a symlink or special file); not opening it".into());
    }
    if meta.len() == 0 {
        return Ok(OpenMode::Immutable);
    }
    // SQLite deletes the -wal file of a database with no pages: make sure it has some.
    let file = crate::root::open_regular_nofollow(db).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = [0u8; 100];
    file.read_exact_at(&mut head, 0)
        .map_err(|e| format!("database header unreadable ({size} bytes): {e}"))?;
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65536,
        n => n as u64,
    };
    if page_size < 512 || size < page_size {
        return Err(format!(
            "database file of {size} bytes holds no whole page (page size {page_size})"
        ));
    }
    Ok(OpenMode::WalInHeap)
}

/// A `file:` URI for a host path, percent-encoding everything but unreserved characters.
fn file_uri(path: &Path, query: &str) -> String {
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

/// One row as read, before it is checked.
struct Row {
    rowid: i64,
    hnum: Result<i64, String>,
    /// The value's type as SQLite names it, when it is not a blob (for the error).
    not_blob: Option<String>,
    /// The value's length, when it was too long to load.
    len: i64,
    blob: Option<Vec<u8>>,
}

impl Row {
    /// The columns of [`NEXT_ROWS`].
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        let (blob, not_blob) = match r.get_ref(2)? {
            ValueRef::Blob(b) => (Some(b.to_vec()), None),
            other => (None, Some(sqlite_type_name(other).to_string())),
        };
        Ok(Row {
            rowid: r.get(0)?,
            hnum: hnum(r.get_ref(1)?),
            not_blob,
            len: 0,
            blob,
        })
    }

    /// The columns of [`NEXT_ROW_HEAD`]: a row whose value was not loaded.
    fn head(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            rowid: r.get(0)?,
            hnum: hnum(r.get_ref(1)?),
            not_blob: match r.get_ref(2)? {
                ValueRef::Text(b"blob") => None,
                other => Some(match other {
                    ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    v => sqlite_type_name(v).to_string(),
                }),
            },
            len: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
            blob: None,
        })
    }
}

/// The `hnum` column's value, which must be an integer.
fn hnum(v: ValueRef<'_>) -> Result<i64, String> {
    match v {
        ValueRef::Integer(n) => Ok(n),
        other => Err(format!("hnum is {:?}, not an integer", other.data_type())),
    }
}

/// A value's type as SQLite's `typeof()` names it.
fn sqlite_type_name(v: ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "null",
        ValueRef::Integer(_) => "integer",
        ValueRef::Real(_) => "real",
        ValueRef::Text(_) => "text",
        ValueRef::Blob(_) => "blob",
    }
}

/// Whether SQLite stopped because a value is over the connection's length limit.
fn is_too_big(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::TooBig)
}

impl SqliteReader {
    /// Read the next rows after `after` into `pending`. An error after some rows were read
    /// ends the batch quietly: the next batch starts at the bad row and reports it.
    fn read_batch(&mut self, after: i64) -> Result<(), String> {
        {
            let mut stmt = self.conn.prepare_cached(NEXT_ROWS).map_err(|e| e.to_string())?;
            let mut rows = stmt.query([after]).map_err(|e| e.to_string())?;
            let mut bytes = 0;
            let mut previous = after;
            loop {
                let r = match rows.next() {
                    Ok(Some(r)) => r,
                    Ok(None) => return Ok(()),
                    Err(_) if !self.pending.is_empty() => return Ok(()),
                    Err(e) if is_too_big(&e) => break,
                    Err(e) => return Err(e.to_string()),
                };
                let row = Row::read(r);
                match row {
                    // A corrupt b-tree can step back to lower rowids within a scan; a batch ends
                    // there and the next one seeks past the last good row. Without this the walk
                    // went round a cycle of rows for ever (found by fuzz/db_sqlite).
                    Ok(row) if row.rowid <= previous => {
                        if self.pending.is_empty() {
                            return Err(format!(
                                "rows out of order: rowid {} after {previous} (the table's b-tree is corrupt)",
                                row.rowid
                            ));
                        }
                        return Ok(());
                    }
                    Ok(row) => {
                        previous = row.rowid;
                        bytes += row.blob.as_ref().map_or(0, Vec::len);
                        self.pending.push_back(row);
                        if bytes >= BATCH_BYTES {
                            return Ok(());
                        }
                    }
                    Err(_) if !self.pending.is_empty() => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        // The first row's value is longer than the length limit: queue the row unloaded, for
        // its error, and go on after it.
        let row = self
            .conn
            .prepare_cached(NEXT_ROW_HEAD)
            .and_then(|mut stmt| stmt.query_row([after], Row::head))
            .map_err(|e| e.to_string())?;
        if row.rowid <= after {
            return Err(format!(
                "rows out of order: rowid {} after {after} (the table's b-tree is corrupt)",
                row.rowid
            ));
        }
        self.pending.push_back(row);
        Ok(())
    }

    /// The next row in rowid order, `None` at the end.
    fn next_row(&mut self) -> Option<Result<Row, String>> {
        if self.pending.is_empty() {
            let after = self.last_rowid?;
            if let Err(e) = self.read_batch(after) {
                return Some(Err(e));
            }
        }
        let row = self.pending.pop_front()?;
        self.last_rowid = Some(row.rowid);
        Some(Ok(row))
    }
}

impl HeaderSource for SqliteReader {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>> {
        loop {
            let row = match self.next_row() {
                Some(Ok(row)) => row,
                None => {
                    self.last_rowid = None;
                    return None;
                }
                Some(Err(e)) => {
                    // Without a rowid the walk cannot step past the bad row.
                    let after = self.last_rowid.take().unwrap_or(i64::MIN);
                    return Some(Err(self.error(format!("reading the row after rowid {after}: {e}"))));
                }
            };
            let number = match row
                .hnum
                .and_then(|n| u32::try_from(n).map_err(|_| format!("hnum {n} is not a header number")))
            {
                // Like rpm, a record 0 is no package.
                Ok(0) => continue,
                Ok(n) => n,
                Err(e) => return Some(Err(self.error(format!("row {}: {e}", row.rowid)))),
            };
            return Some(match row.blob {
                Some(blob) => Ok(RawHeader { number, blob }),
                None if row.not_blob.is_some() => Err(self.error(format!(
                    "header #{number}: blob is {}, not a blob",
                    row.not_blob.as_deref().unwrap_or_default()
                ))),
                None => Err(self.error(format!(
                    "header #{number}: blob of {} bytes is larger than rpm's header limit",
                    row.len
                ))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    /// Every file of a directory with its bytes: proves that nothing was written.
    fn snapshot(dir: &Path) -> Vec<(OsString, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name(), std::fs::read(e.path()).unwrap())
            })
            .collect();
        v.sort();
        v
    }

    fn collect(r: &mut SqliteReader) -> Vec<Result<(u32, Vec<u8>), String>> {
        std::iter::from_fn(|| r.next_header())
            .take(10_000)
            .map(|x| x.map(|h| (h.number, h.blob)).map_err(|e| e.to_string()))
            .collect()
    }

    /// A WAL database with rows 1 and 2 checkpointed into the main file and row 3 (plus a
    /// change to row 2) only in the -wal file, as a snapshot taken while a writer had it open.
    fn wal_database(dir: &Path) -> PathBuf {
        let live = dir.join("live");
        std::fs::create_dir(&live).unwrap();
        let db = live.join("rpmdb.sqlite");
        let c = Connection::open(&db).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        c.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             INSERT INTO Packages VALUES (1, x'01'), (2, x'02');",
        )
        .unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
        c.execute_batch("INSERT INTO Packages VALUES (3, x'0303'); UPDATE Packages SET blob = x'2222' WHERE hnum = 2;")
            .unwrap();
        let snap = dir.join("snap");
        std::fs::create_dir(&snap).unwrap();
        for name in ["rpmdb.sqlite", "rpmdb.sqlite-wal"] {
            std::fs::copy(live.join(name), snap.join(name)).unwrap();
        }
        drop(c);
        snap.join("rpmdb.sqlite")
    }

    #[test]
    fn rows_only_in_the_wal_are_read_and_nothing_is_written() {
        let t = tempfile::tempdir().unwrap();
        let db = wal_database(t.path());
        let dir = db.parent().unwrap();
        assert!(std::fs::metadata(dir.join("rpmdb.sqlite-wal")).unwrap().len() > 0);
        let before = snapshot(dir);
        let mut r = SqliteReader::open(&db, Path::new("/var/lib/rpm/rpmdb.sqlite")).unwrap();
        assert_eq!(r.mode(), OpenMode::WalInHeap);
        assert_eq!(
            collect(&mut r),
            vec![Ok((1, vec![1])), Ok((2, vec![0x22, 0x22])), Ok((3, vec![3, 3]))]
        );
        drop(r);
        assert_eq!(snapshot(dir), before, "the reader changed or created files");
    }

    #[test]
    fn without_wal_content_the_file_is_read_as_immutable() {
        let t = tempfile::tempdir().unwrap();
        let db = wal_database(t.path());
        let dir = db.parent().unwrap();
        std::fs::remove_file(dir.join("rpmdb.sqlite-wal")).unwrap();
        let before = snapshot(dir);
        let mut r = SqliteReader::open(&db, Path::new("/var/lib/rpm/rpmdb.sqlite")).unwrap();
        assert_eq!(r.mode(), OpenMode::Immutable);
        assert_eq!(collect(&mut r), vec![Ok((1, vec![1])), Ok((2, vec![2]))]);
        drop(r);
        std::fs::write(dir.join("rpmdb.sqlite-wal"), b"").unwrap();
        let before_empty = snapshot(dir);
        let mut r = SqliteReader::open(&db, Path::new("/var/lib/rpm/rpmdb.sqlite")).unwrap();
        assert_eq!(r.mode(), OpenMode::Immutable);
        assert_eq!(collect(&mut r).len(), 2);
        drop(r);
        assert_eq!(snapshot(dir), before_empty);
        assert_eq!(before.len(), 1);
    }

    #[test]
    fn a_symlinked_wal_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let db = wal_database(t.path());
        let wal = db.with_file_name("rpmdb.sqlite-wal");
        std::fs::remove_file(&wal).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &wal).unwrap();
        let e = SqliteReader::open(&db, Path::new("/var/lib/rpm/rpmdb.sqlite"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("-wal file is not a regular file"), "{e}");
    }

    /// An `rpmdb.sqlite` in `dir` whose Packages table (blob column without NOT NULL) holds
    /// `values`, an SQL VALUES list.
    fn packages_table(dir: &Path, values: &str) -> PathBuf {
        let db = dir.join("rpmdb.sqlite");
        Connection::open(&db)
            .unwrap()
            .execute_batch(&format!(
                "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB);
                 INSERT INTO Packages VALUES {values};"
            ))
            .unwrap();
        db
    }

    #[test]
    fn bad_rows_are_reported_and_the_walk_goes_on() {
        let t = tempfile::tempdir().unwrap();
        let db = packages_table(t.path(), "(1, x'01'), (2, NULL), (3, 'text'), (5, x'05')");
        let mut r = SqliteReader::open(&db, Path::new("/var/lib/rpm/rpmdb.sqlite")).unwrap();
        let rows = collect(&mut r);
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(rows[0], Ok((1, vec![1])));
        assert!(rows[1]
            .as_ref()
            .unwrap_err()
            .contains("header #2: blob is null, not a blob"));
        assert!(rows[2].as_ref().unwrap_err().contains("header #3: blob is text"));
        assert_eq!(rows[3], Ok((5, vec![5])));
    }

    #[test]
    fn blobs_over_the_length_limit_are_reported_unloaded_and_the_walk_goes_on() {
        let t = tempfile::tempdir().unwrap();
        // Too long for a limit of 5000 bytes: the first row, one after a good row (mid-batch),
        // one after a bad row. Like any value over rpm's limit, they are on overflow pages
        // (a 4 KiB page holds at most 4061 bytes of a row), whose content `typeof` and
        // `length` do not load.
        let db = packages_table(
            t.path(),
            "(1, zeroblob(6000)), (2, x'02'), (3, zeroblob(5001)), (4, NULL), (5, zeroblob(5001)), \
             (6, zeroblob(5000)), (7, 'text')",
        );
        let mut r = SqliteReader::open_limited(&db, Path::new("/var/lib/rpm/rpmdb.sqlite"), 5000).unwrap();
        let rows = collect(&mut r);
        assert_eq!(rows.len(), 7, "{rows:?}");
        let too_big = |i: usize, n: u32, len: usize| {
            let e = rows[i].as_ref().unwrap_err();
            assert!(
                e.contains(&format!(
                    "header #{n}: blob of {len} bytes is larger than rpm's header limit"
                )),
                "{e}"
            );
        };
        too_big(0, 1, 6000);
        assert_eq!(rows[1], Ok((2, vec![2])));
        too_big(2, 3, 5001);
        assert!(rows[3].as_ref().unwrap_err().contains("header #4: blob is null"));
        too_big(4, 5, 5001);
        assert_eq!(rows[5], Ok((6, vec![0; 5000])));
        assert!(rows[6].as_ref().unwrap_err().contains("header #7: blob is text"));
    }

    #[test]
    fn hostile_schemas_are_refused() {
        let t = tempfile::tempdir().unwrap();
        for (i, sql) in [
            "CREATE TABLE Other (x);",
            "CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
             SELECT x AS hnum, zeroblob(1000000) AS blob FROM c;",
        ]
        .iter()
        .enumerate()
        {
            let db = t.path().join(format!("{i}.sqlite"));
            Connection::open(&db).unwrap().execute_batch(sql).unwrap();
            let e = SqliteReader::open(&db, Path::new("/rpmdb.sqlite")).err().unwrap();
            assert!(e.to_string().contains("Packages"), "{e}");
        }
    }

    #[test]
    fn truncated_and_corrupt_files_give_errors() {
        let t = tempfile::tempdir().unwrap();
        let good = t.path().join("good.sqlite");
        let c = Connection::open(&good).unwrap();
        c.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);")
            .unwrap();
        for i in 1..200 {
            c.execute("INSERT INTO Packages VALUES (?1, zeroblob(3000))", [i])
                .unwrap();
        }
        drop(c);
        let bytes = std::fs::read(&good).unwrap();
        for cut in [100, 4096, bytes.len() / 2] {
            let db = t.path().join(format!("cut{cut}.sqlite"));
            std::fs::write(&db, &bytes[..cut]).unwrap();
            match SqliteReader::open(&db, Path::new("/rpmdb.sqlite")) {
                Err(e) => assert!(e.to_string().starts_with("/rpmdb.sqlite: "), "{e}"),
                Ok(mut r) => {
                    let rows = collect(&mut r);
                    assert!(
                        rows.iter().any(|x| x.is_err()),
                        "cut {cut}: no error in {} rows",
                        rows.len()
                    );
                }
            }
        }
    }

    #[test]
    fn uris_encode_odd_paths() {
        assert_eq!(
            file_uri(Path::new("/a b/%?#/x"), "mode=ro"),
            "file:/a%20b/%25%3F%23/x?mode=ro"
        );
        let odd = OsString::from_vec(vec![b'/', 0xff]);
        assert_eq!(file_uri(Path::new(&odd), "q"), "file:/%FF?q");
    }
}
