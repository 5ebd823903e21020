//! [`bdb_copy`]: a copy of a [`TestRoot`] whose database is Berkeley DB instead of SQLite —
//! the same header blobs, written by Berkeley DB's own `db5.3_load` (Debian `db5.3-util`),
//! in either byte order and any page size, and read back by rpm with
//! `--define '_db_backend bdb_ro'`.
//!
//! The blobs come from the source root's `rpmdb.sqlite` (`Packages(hnum, blob)`), under
//! their header numbers. Key 0 holds rpm's instance counter (the highest header number), as
//! in a database rpm wrote; rpm skips it.
//!
//! Byte order of keys (checked with rpm 4.18 here): rpm reads the 4-byte header number in
//! the **file's** byte order, not the host's. A big-endian file (`db_lorder=4321`, as written
//! on s390x) with big-endian keys gives `%{DBINSTANCE}` 1, 2, …; the same file with
//! little-endian keys gives 16777216, …. So keys here follow the file's order, like the index
//! values (`{header number, tag index}` pairs of u32).
//!
//! Besides `Packages`, the copy has the `Name`, `Basenames` and `Providename` indexes (built
//! from `rpm -qa --qf` on the source root), so `rpm -q NAME`, `rpm -qf` and
//! `--whatprovides` work; rpm warns on stderr about the other, absent, indexes.

use super::root::TestRoot;
use super::tools::{require_tool, run_ok};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Header numbers of the copies of one header differ by this much.
const COPY_STRIDE: u32 = 10_000;

/// How `db5.3_load` lays out the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BdbLayout {
    pub big_endian: bool,
    /// Page size in bytes (512..=65536, a power of two). Small pages force headers into
    /// off-page (overflow) chains.
    pub page_size: u32,
    /// How many times each header is stored, under numbers `n`, `n + 10000`, `n + 20000`…
    /// Hundreds of records make Berkeley DB chain hash pages within a bucket (next_pgno),
    /// which a few dozen packages never do; rpm lists every copy.
    pub copies: u32,
}

impl BdbLayout {
    pub const LITTLE_ENDIAN: BdbLayout = BdbLayout {
        big_endian: false,
        page_size: 4096,
        copies: 1,
    };
    pub const BIG_ENDIAN: BdbLayout = BdbLayout {
        big_endian: true,
        page_size: 4096,
        copies: 1,
    };
    /// Little-endian, 512-byte pages: nearly every header is an overflow item.
    pub const SMALL_PAGES: BdbLayout = BdbLayout {
        big_endian: false,
        page_size: 512,
        copies: 1,
    };
    /// Little-endian, 4096-byte pages, every header 40 times: chained bucket pages.
    pub const CROWDED: BdbLayout = BdbLayout {
        big_endian: false,
        page_size: 4096,
        copies: 40,
    };
    pub const BIG_ENDIAN_CROWDED: BdbLayout = BdbLayout {
        big_endian: true,
        page_size: 4096,
        copies: 40,
    };
    pub const BIG_ENDIAN_SMALL_PAGES: BdbLayout = BdbLayout {
        big_endian: true,
        page_size: 512,
        copies: 1,
    };

    fn u32_bytes(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }
}

/// The `(header number, blob)` pairs of a root's SQLite database, in header-number order.
pub fn sqlite_headers(root: &TestRoot) -> Vec<(u32, Vec<u8>)> {
    let db = root.db_dir().join("rpmdb.sqlite");
    let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("opening {}: {e}", db.display()));
    let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .unwrap();
    rows.map(|r| r.unwrap()).collect()
}

/// Write `records` (key, value) as a `db_dump` text and load it into `file` with db5.3_load.
fn load(file: &Path, layout: BdbLayout, records: &[(Vec<u8>, Vec<u8>)]) {
    let mut dump = String::from("VERSION=3\nformat=bytevalue\ntype=hash\nHEADER=END\n");
    let hex = |out: &mut String, bytes: &[u8]| {
        out.push(' ');
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
        out.push('\n');
    };
    for (k, v) in records {
        hex(&mut dump, k);
        hex(&mut dump, v);
    }
    dump.push_str("DATA=END\n");
    let dump_path = file.with_extension("dump");
    fs::write(&dump_path, dump).unwrap();
    run_ok(
        Command::new(require_tool("db5.3_load"))
            .arg("-c")
            .arg(format!("db_lorder={}", if layout.big_endian { 4321 } else { 1234 }))
            .arg("-c")
            .arg(format!("db_pagesize={}", layout.page_size))
            .arg("-f")
            .arg(&dump_path)
            .arg(file),
    );
    fs::remove_file(&dump_path).unwrap();
}

/// An index database: key → concatenated `{header number, tag index}` u32 pairs.
fn index_records(layout: BdbLayout, lines: &[u8], copies: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut index: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // "<hnum> <tag index> <key bytes>"
        let mut parts = line.splitn(3, |&b| b == b' ');
        let num = |p: Option<&[u8]>| -> u32 { std::str::from_utf8(p.unwrap()).unwrap().parse().unwrap() };
        let hnum = num(parts.next());
        let idx = num(parts.next());
        let key = parts.next().unwrap_or_default().to_vec();
        let value = index.entry(key).or_default();
        for copy in 0..copies {
            value.extend_from_slice(&layout.u32_bytes(hnum + copy * COPY_STRIDE));
            value.extend_from_slice(&layout.u32_bytes(idx));
        }
    }
    index.into_iter().collect()
}

/// `db5.3_stat -d` of a root's `Packages`: byte order, page size, overflow and bucket
/// overflow page counts, so a test can check that its layout exercises what it claims.
pub fn bdb_stat(root: &TestRoot) -> String {
    let out = run_ok(
        Command::new(require_tool("db5.3_stat"))
            .arg("-d")
            .arg(root.db_dir().join("Packages")),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number `db5.3_stat -d` prints before `label` (e.g. "Number of overflow pages").
pub fn bdb_stat_number(stat: &str, label: &str) -> u64 {
    stat.lines()
        .find_map(|l| {
            l.split_once('\t')
                .filter(|(_, rest)| rest.starts_with(label))
                .map(|(n, _)| n)
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in db5.3_stat output:\n{stat}"))
}

/// A copy of `source` (every file, `cp -a`) whose database is a Berkeley DB `Packages`
/// holding the same headers, laid out as `layout`. rpm runs on it with `_db_backend bdb_ro`.
pub fn bdb_copy(source: &TestRoot, layout: BdbLayout) -> TestRoot {
    let headers = sqlite_headers(source);
    let copy = TestRoot::new();
    run_ok(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", source.path().display()))
            .arg(copy.path()),
    );
    let mut copy = copy;
    copy.dbpath = source.dbpath.clone();
    let db_dir = copy.db_dir();
    for f in ["rpmdb.sqlite", "rpmdb.sqlite-wal", "rpmdb.sqlite-shm", ".rpm.lock"] {
        let _ = fs::remove_file(db_dir.join(f));
    }

    let copies = layout.copies.max(1);
    let number = |n: u32, copy: u32| n + copy * COPY_STRIDE;
    let mut packages = Vec::with_capacity(headers.len() * copies as usize + 1);
    let max = headers.iter().map(|(n, _)| *n).max().unwrap_or(0);
    assert!(
        max < COPY_STRIDE,
        "header numbers up to {max} collide with the copies' numbering"
    );
    packages.push((
        layout.u32_bytes(0).to_vec(),
        layout.u32_bytes(number(max, copies - 1) + 1).to_vec(),
    ));
    for copy in 0..copies {
        for (n, blob) in &headers {
            packages.push((layout.u32_bytes(number(*n, copy)).to_vec(), blob.clone()));
        }
    }
    load(&db_dir.join("Packages"), layout, &packages);

    let indexes = [
        ("Name", "%{DBINSTANCE} 0 %{NAME}\n"),
        ("Basenames", "[%{=DBINSTANCE} 0 %{BASENAMES}\n]"),
        ("Providename", "[%{=DBINSTANCE} 0 %{PROVIDENAME}\n]"),
    ];
    for (file, qf) in indexes {
        let lines = numbered(&source.qa_bytes(qf));
        load(&db_dir.join(file), layout, &index_records(layout, &lines, copies));
    }
    copy.defines.push("_db_backend bdb_ro".to_string());
    copy
}

/// rpm has no query format for "index in this array": turn the second field of each line
/// into a running index per header number (lines of one header are consecutive).
fn numbered(lines: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines.len());
    let mut last: Option<Vec<u8>> = None;
    let mut i = 0u32;
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut parts = line.splitn(3, |&b| b == b' ');
        let hnum = parts.next().unwrap().to_vec();
        let _ignored = parts.next();
        let rest = parts.next().unwrap_or_default();
        if last.as_ref() != Some(&hnum) {
            i = 0;
            last = Some(hnum.clone());
        }
        out.extend_from_slice(&hnum);
        out.extend_from_slice(format!(" {i} ").as_bytes());
        out.extend_from_slice(rest);
        out.push(b'\n');
        i += 1;
    }
    out
}
