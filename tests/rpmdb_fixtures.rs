//! The `rpmdb` library on real databases from real images (issue 2): every database in
//! `tests/fixtures/rpmdb/` gives exactly its `expected.txt` (produced by rpm, see
//! `tests/fixtures/PROVENANCE.md`), in database order, and the per-file fields of the
//! `expected-files-*.txt` lists; the broken `blob.bin` gives its NEVRA and an error for its
//! files. Around them: finding the database in a root as rpm does (symlinks resolved inside
//! the root), SQLite on a real read-only mount with rows that live only in the `-wal` file
//! (compared with Debian's rpm on a writable copy), and a Berkeley DB file rewritten by
//! `db5.3_load` big-endian with 512-byte pages (compared with rpm's `bdb_ro`).
//!
//! Tools: `rpm` and `db5.3-util` (Debian packages); the read-only mount needs root and
//! `unshare`/`mount` (util-linux, mount).

use crate::harness;

use harness::tools::{require_tool, run_ok};
use rpmdb::db::{Database, Format};
use rpmdb::header::Header;
use rpmdb::package::Package;
use rpmdb::root::Root;
use rpmdb::InstalledPackages;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

/// rpm's `%{NAME} %|EPOCH?{%{EPOCH}}:{(none)}| %{VERSION} %{RELEASE} %{ARCH}` query format.
const RPM_QF: &str = "%{NAME} %|EPOCH?{%{EPOCH}}:{(none)}| %{VERSION} %{RELEASE} %{ARCH}\\n";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb")
}

/// The lines of a fixture list, without `#` comments and blank lines.
fn fixture_lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// One package as `rpmdb-query` prints it: `name epoch version release arch`.
fn nevra_line(p: &Package) -> String {
    let epoch = p.epoch.map_or("(none)".to_string(), |e| e.to_string());
    format!("{} {epoch} {} {} {}", p.name, p.version, p.release, p.arch_or_none())
}

/// One file as the `expected-files-*.txt` lists (and `rpmdb-query --files`) give it.
fn file_line(f: &rpmdb::package::FileEntry) -> String {
    format!(
        "{} {:o} {} {} {} {} {}",
        f.path.display(),
        f.mode,
        f.digest.as_deref().unwrap_or("-"),
        f.size,
        f.user,
        f.group,
        f.flags.0
    )
}

/// Every package of a database, failing the test on any bad record.
fn packages(db: Database) -> Vec<Package> {
    let path = db.path.clone();
    InstalledPackages::from_database(db)
        .iter()
        .map(|p| p.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

fn list_of(db: Database) -> Vec<String> {
    packages(db).iter().map(nevra_line).collect()
}

/// Open a fixture database file, checking the format detected from its magic bytes.
fn open_fixture(dir: &str, file: &str, format: Format) -> Database {
    let db = Database::open_file(&fixtures().join(dir).join(file)).unwrap();
    assert_eq!(db.format, format, "{dir}/{file}");
    db
}

/// The fixture's packages equal its `expected.txt`, line for line, in database order.
/// A `?` epoch in the list (the source did not give it) matches any epoch.
fn check_list(dir: &str, file: &str, format: Format) {
    let expected = fixture_lines(&fixtures().join(dir).join("expected.txt"));
    let ours = list_of(open_fixture(dir, file, format));
    assert!(!expected.is_empty(), "{dir}: empty expected.txt");
    assert_eq!(ours.len(), expected.len(), "{dir}: package count\nours: {ours:#?}");
    for (o, e) in ours.iter().zip(&expected) {
        let (of, ef): (Vec<&str>, Vec<&str>) = (o.split(' ').collect(), e.split(' ').collect());
        let same = of.len() == ef.len() && of.iter().zip(&ef).all(|(a, b)| a == b || *b == "?");
        assert!(same, "{dir}: ours `{o}`, expected `{e}`");
    }
}

#[test]
fn amazonlinux2023_sqlite_gives_its_103_packages() {
    check_list("amazonlinux2023-plain-sqlite", "rpmdb.sqlite", Format::Sqlite);
}

#[test]
fn cbl_mariner_sqlite_gives_rpms_list() {
    check_list("cbl-mariner-2.0", "rpmdb.sqlite", Format::Sqlite);
}

#[test]
fn fedora36_tzdata_sqlite() {
    check_list("fedora36-tzdata-sqlite", "rpmdb.sqlite", Format::Sqlite);
}

#[test]
fn libuuid_bdb() {
    check_list("libuuid", "Packages", Format::BerkeleyDb);
}

#[test]
fn rhel8_tzdata_bdb() {
    check_list("rhel8-tzdata-bdb", "Packages", Format::BerkeleyDb);
}

#[test]
fn custom_epoch_bdb_has_epoch_1_and_header_number_4() {
    check_list("custom-epoch-bdb", "Packages", Format::BerkeleyDb);
    let p = packages(open_fixture("custom-epoch-bdb", "Packages", Format::BerkeleyDb));
    assert_eq!(p[0].header_number, 4);
}

#[test]
fn sle15_bci_ndb_gives_its_35_packages() {
    check_list("sle15-bci", "Packages.db", Format::Ndb);
}

#[test]
fn sle15sp3_ndb_three_packages() {
    check_list("sle15sp3-glibc-3pkg-ndb", "Packages.db", Format::Ndb);
}

/// No fixture database goes unchecked: each directory with a database is in a test above.
#[test]
fn every_fixture_database_has_a_test() {
    let tested = [
        "amazonlinux2023-plain-sqlite",
        "cbl-mariner-2.0",
        "custom-epoch-bdb",
        "fedora36-tzdata-sqlite",
        "libuuid",
        "rhel8-tzdata-bdb",
        "sle15-bci",
        "sle15sp3-glibc-3pkg-ndb",
    ];
    let mut dirs: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|d| d != "blob")
        .collect();
    dirs.sort();
    assert_eq!(dirs, tested);
}

/// The files of one package equal an `expected-files-*.txt` list, every field.
fn check_files(dir: &str, file: &str, format: Format, package: &str) {
    let expected = fixture_lines(&fixtures().join(dir).join(format!("expected-files-{package}.txt")));
    let all = packages(open_fixture(dir, file, format));
    let p = all
        .iter()
        .find(|p| p.name == package)
        .unwrap_or_else(|| panic!("{dir}: no package {package}"));
    let ours: Vec<String> = p.files().unwrap().iter().map(file_line).collect();
    assert_eq!(ours, expected, "{dir}: files of {package}");
}

#[test]
fn libuuid_files_every_field() {
    check_files("libuuid", "Packages", Format::BerkeleyDb, "libuuid");
}

#[test]
fn cbl_mariner_curl_files_every_field() {
    check_files("cbl-mariner-2.0", "rpmdb.sqlite", Format::Sqlite, "curl");
}

#[test]
fn blob_bin_gives_its_nevra_and_an_error_for_its_files() {
    let dir = fixtures().join("blob");
    let blob = fs::read(dir.join("blob.bin")).unwrap();
    let p = Package::from_header(1, Header::parse(blob).unwrap()).unwrap();
    assert_eq!(vec![nevra_line(&p)], fixture_lines(&dir.join("expected.txt")));
    let e = p.files().unwrap_err().to_string();
    assert!(e.contains("DIRINDEXES"), "{e}");
}

// ---- Finding the database in a root ----

fn copy_into(root: &Path, dir: &str, fixture_dir: &str, file: &str) {
    let to = root.join(dir);
    fs::create_dir_all(&to).unwrap();
    fs::copy(fixtures().join(fixture_dir).join(file), to.join(file)).unwrap();
}

fn locate(root: &Path) -> Database {
    Database::locate(&Root::new(root).unwrap()).unwrap()
}

#[test]
fn locate_finds_each_directory_rpm_uses() {
    for (dir, fixture_dir, file, format) in [
        ("usr/lib/sysimage/rpm", "sle15-bci", "Packages.db", Format::Ndb),
        ("var/lib/rpm", "libuuid", "Packages", Format::BerkeleyDb),
        (
            "usr/share/rpm",
            "fedora36-tzdata-sqlite",
            "rpmdb.sqlite",
            Format::Sqlite,
        ),
    ] {
        let t = tempfile::tempdir().unwrap();
        copy_into(t.path(), dir, fixture_dir, file);
        let db = locate(t.path());
        assert_eq!(db.path, Path::new("/").join(dir).join(file));
        assert_eq!(db.format, format);
        assert_eq!(
            list_of(db),
            fixture_lines(&fixtures().join(fixture_dir).join("expected.txt"))
        );
    }
}

#[test]
fn locate_follows_the_fedora_36_symlink_layout() {
    let t = tempfile::tempdir().unwrap();
    copy_into(
        t.path(),
        "usr/lib/sysimage/rpm",
        "fedora36-tzdata-sqlite",
        "rpmdb.sqlite",
    );
    fs::create_dir_all(t.path().join("var/lib")).unwrap();
    symlink("../../usr/lib/sysimage/rpm", t.path().join("var/lib/rpm")).unwrap();
    let db = locate(t.path());
    assert_eq!(db.path, Path::new("/usr/lib/sysimage/rpm/rpmdb.sqlite"));
    assert_eq!(list_of(db), ["tzdata (none) 2022a 2.fc36 noarch"]);

    // The same kind of relative link to a directory rpm does not probe itself.
    let t = tempfile::tempdir().unwrap();
    copy_into(t.path(), "opt/rpmdb", "libuuid", "Packages");
    fs::create_dir_all(t.path().join("var/lib")).unwrap();
    symlink("../../opt/rpmdb", t.path().join("var/lib/rpm")).unwrap();
    let db = locate(t.path());
    assert_eq!(db.path, Path::new("/var/lib/rpm/Packages"));
    assert_eq!(list_of(db), ["libuuid (none) 2.32.1 42.el8_8 x86_64"]);
}

#[test]
fn locate_resolves_absolute_and_climbing_symlinks_inside_the_root() {
    // A database on the host at H, and a different one inside the root at R/H: an absolute
    // link R/var/lib/rpm -> H must reach R/H, never the host's.
    let host = tempfile::tempdir().unwrap();
    copy_into(host.path(), "db", "libuuid", "Packages");
    let host_db_dir = host.path().join("db");
    let t = tempfile::tempdir().unwrap();
    let inside = t.path().join(host_db_dir.strip_prefix("/").unwrap());
    fs::create_dir_all(&inside).unwrap();
    fs::copy(fixtures().join("custom-epoch-bdb/Packages"), inside.join("Packages")).unwrap();
    fs::create_dir_all(t.path().join("var/lib")).unwrap();
    symlink(&host_db_dir, t.path().join("var/lib/rpm")).unwrap();
    assert_eq!(list_of(locate(t.path())), ["hello 1 0.0.1 rls x86_64"]);

    // With nothing at R/H the host's database must not be found either.
    fs::remove_file(inside.join("Packages")).unwrap();
    let e = Database::locate(&Root::new(t.path()).unwrap()).unwrap_err();
    assert!(e.message.contains("no RPM database found"), "{e}");

    // `..` stops at the root: R/var/lib/rpm -> ../../../../../../../<host dir> is R/<host dir>.
    let t = tempfile::tempdir().unwrap();
    let climb = format!("../../../../../../../../..{}", host_db_dir.display());
    fs::create_dir_all(t.path().join("var/lib")).unwrap();
    symlink(&climb, t.path().join("var/lib/rpm")).unwrap();
    assert!(Database::locate(&Root::new(t.path()).unwrap()).is_err());
    let inside = t.path().join(host_db_dir.strip_prefix("/").unwrap());
    fs::create_dir_all(&inside).unwrap();
    fs::copy(fixtures().join("custom-epoch-bdb/Packages"), inside.join("Packages")).unwrap();
    assert_eq!(list_of(locate(t.path())), ["hello 1 0.0.1 rls x86_64"]);
}

// ---- SQLite on a read-only mount, rows only in the -wal file ----

/// Environment variable telling this test binary, re-run under a read-only mount, which
/// roots to read (see [`read_only_mount_child`]).
const RO_ROOTS: &str = "RPMDB_FIXTURES_READ_ONLY_ROOTS";

/// A root whose `var/lib/rpm` holds the Mariner database as a snapshot taken while a writer
/// (rusqlite, WAL mode, no checkpoint) had added tzdata and removed curl: those changes live
/// only in `rpmdb.sqlite-wal`. No `-shm` file is copied.
fn root_with_rows_only_in_the_wal(root: &Path) {
    let live = tempfile::tempdir().unwrap();
    let live_db = live.path().join("rpmdb.sqlite");
    fs::copy(fixtures().join("cbl-mariner-2.0/rpmdb.sqlite"), &live_db).unwrap();
    let curl = packages(Database::open_file(&live_db).unwrap())
        .iter()
        .find(|p| p.name == "curl")
        .unwrap()
        .header_number;
    let tzdata: Vec<u8> = rusqlite::Connection::open(fixtures().join("fedora36-tzdata-sqlite/rpmdb.sqlite"))
        .unwrap()
        .query_row("SELECT blob FROM Packages", [], |r| r.get(0))
        .unwrap();
    let c = rusqlite::Connection::open(&live_db).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal", "the Mariner fixture is in WAL mode, as rpm leaves it");
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute("INSERT INTO Packages (blob) VALUES (?1)", [&tzdata]).unwrap();
    // Erase curl as rpm does: its index rows (which reference Packages.hnum), then the row.
    let indexes: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%REFERENCES ''Packages''%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(indexes.len() > 10, "{indexes:?}");
    for index in indexes {
        c.execute(&format!("DELETE FROM '{index}' WHERE hnum = ?1"), [curl])
            .unwrap();
    }
    assert_eq!(c.execute("DELETE FROM Packages WHERE hnum = ?1", [curl]).unwrap(), 1);
    let db = root.join("var/lib/rpm");
    fs::create_dir_all(&db).unwrap();
    for name in ["rpmdb.sqlite", "rpmdb.sqlite-wal"] {
        fs::copy(live.path().join(name), db.join(name)).unwrap();
    }
    drop(c);
    assert!(fs::metadata(db.join("rpmdb.sqlite-wal")).unwrap().len() > 0);
}

/// What Debian's rpm lists for a root's database, read from a writable copy (rpm itself
/// cannot open a WAL database on a read-only mount without `-shm`).
fn rpm_list_of_copy(root: &Path) -> Vec<String> {
    require_tool("rpm");
    let copy = tempfile::tempdir().unwrap();
    for e in fs::read_dir(root.join("var/lib/rpm")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
    }
    let out = run_ok(
        Command::new("rpm")
            .arg("--dbpath")
            .arg(copy.path())
            .args(["-qa", "--qf", RPM_QF]),
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every file of a directory tree with its bytes, to prove nothing was written.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push((p.clone(), fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn sqlite_on_a_read_only_mount_with_and_without_wal_content() {
    require_tool("unshare");
    require_tool("mount");
    let base = tempfile::tempdir().unwrap();
    let roots = base.path().join("roots");
    // 1. Rows only in the -wal. 2. The same without the -wal. 3. An empty -wal, as rpm
    // leaves it after its checkpoint on close.
    root_with_rows_only_in_the_wal(&roots.join("wal"));
    root_with_rows_only_in_the_wal(&roots.join("nowal"));
    fs::remove_file(roots.join("nowal/var/lib/rpm/rpmdb.sqlite-wal")).unwrap();
    root_with_rows_only_in_the_wal(&roots.join("emptywal"));
    fs::write(roots.join("emptywal/var/lib/rpm/rpmdb.sqlite-wal"), b"").unwrap();

    let mut expected = Vec::new();
    for name in ["wal", "nowal", "emptywal"] {
        expected.push(format!("ROOT {name}"));
        expected.extend(rpm_list_of_copy(&roots.join(name)));
    }
    // The test means something only if the -wal changes what rpm sees.
    let tz = "tzdata (none) 2022a 2.fc36 noarch".to_string();
    let wal_list = &expected[1..expected.iter().position(|l| l == "ROOT nowal").unwrap()];
    assert!(wal_list.contains(&tz) && !wal_list.iter().any(|l| l.starts_with("curl ")));
    let mariner = fixture_lines(&fixtures().join("cbl-mariner-2.0/expected.txt"));
    assert!(mariner.iter().any(|l| l.starts_with("curl ")) && !mariner.contains(&tz));

    let before = snapshot(&roots);
    let mnt = base.path().join("mnt");
    fs::create_dir(&mnt).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            r#"mount --bind -o ro "$1" "$2" && shift 2 && exec "$@""#,
            "sh",
        ])
        .arg(&roots)
        .arg(&mnt)
        .arg(&exe)
        .arg(harness::tools::test_name(module_path!(), "read_only_mount_child"))
        .args(["--exact", "--nocapture", "--test-threads=1"])
        .env(RO_ROOTS, &mnt)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the read-only mount (needs root: unshare -m, mount --bind -o ro) or the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<String> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("LIST "))
        .map(str::to_string)
        .collect();
    assert_eq!(ours, expected);
    assert!(stdout.contains("READ-ONLY OK"), "{stdout}");

    // And on a writable directory, reading changes and creates nothing either.
    for name in ["wal", "nowal", "emptywal"] {
        let root = Root::new(roots.join(name)).unwrap();
        let n = InstalledPackages::open(&root)
            .unwrap()
            .iter()
            .filter(|p| p.is_ok())
            .count();
        assert!(n > 100);
    }
    assert_eq!(snapshot(&roots), before, "reading wrote into the scanned roots");
}

/// Run by [`sqlite_on_a_read_only_mount_with_and_without_wal_content`] inside a private
/// mount namespace where `$RPMDB_FIXTURES_READ_ONLY_ROOTS` is a read-only bind mount;
/// prints each root's list. Run directly (the variable unset), it has nothing to do.
#[test]
fn read_only_mount_child() {
    let Some(mnt) = std::env::var_os(RO_ROOTS) else {
        return;
    };
    let mnt = PathBuf::from(mnt);
    let e = fs::write(mnt.join("wal/probe"), b"x").unwrap_err();
    assert_eq!(
        e.raw_os_error(),
        Some(30),
        "not a read-only mount (EROFS expected): {e}"
    );
    println!("READ-ONLY OK");
    for name in ["wal", "nowal", "emptywal"] {
        println!("LIST ROOT {name}");
        let root = Root::new(mnt.join(name)).unwrap();
        let mut installed = InstalledPackages::open(&root).unwrap();
        assert_eq!(installed.format, Format::Sqlite);
        for p in installed.iter() {
            println!("LIST {}", nevra_line(&p.unwrap()));
        }
    }
}

// ---- Berkeley DB rewritten by Berkeley DB itself ----

/// `db5.3_dump` of a fixture, `db5.3_load` into a new hash file with the given options.
fn bdb_rewrite(fixture: &Path, dir: &Path, options: &[&str]) -> PathBuf {
    require_tool("db5.3_dump");
    require_tool("db5.3_load");
    let dump = run_ok(Command::new("db5.3_dump").arg(fixture)).stdout;
    let dump_file = dir.join("dump.txt");
    fs::write(&dump_file, dump).unwrap();
    let out = dir.join("Packages");
    let mut load = Command::new("db5.3_load");
    load.args(["-t", "hash"]);
    for o in options {
        load.args(["-c", o]);
    }
    run_ok(load.arg("-f").arg(&dump_file).arg(&out));
    out
}

/// `%{DBINSTANCE}` and the package line, as rpm's `bdb_ro` backend reads a `Packages` file.
fn rpm_bdb_list(dbdir: &Path) -> Vec<String> {
    let qf = format!("%{{DBINSTANCE}} {RPM_QF}");
    let out = run_ok(Command::new("rpm").arg("--dbpath").arg(dbdir).args([
        "--define",
        "_db_backend bdb_ro",
        "-qa",
        "--qf",
        &qf,
    ]));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bdb_rewritten_big_endian_with_small_pages_reads_the_same() {
    require_tool("rpm");
    let original = fixtures().join("libuuid/Packages");
    let want = packages(Database::open_file(&original).unwrap());
    let want_files: Vec<Vec<String>> = want
        .iter()
        .map(|p| p.files().unwrap().iter().map(file_line).collect())
        .collect();
    for (options, magic) in [
        (&["db_lorder=4321", "db_pagesize=512"][..], [0x00, 0x06, 0x15, 0x61]),
        (&["db_lorder=1234", "db_pagesize=512"][..], [0x61, 0x15, 0x06, 0x00]),
    ] {
        let t = tempfile::tempdir().unwrap();
        let file = bdb_rewrite(&original, t.path(), options);
        let bytes = fs::read(&file).unwrap();
        assert_eq!(bytes[12..16], magic, "{options:?}: byte order of the rewritten file");
        assert!(bytes[20..24] == 512u32.to_be_bytes() || bytes[20..24] == 512u32.to_le_bytes());
        let got = packages(Database::open_file(&file).unwrap());
        assert_eq!(got.len(), want.len());
        for ((p, w), files) in got.iter().zip(&want).zip(&want_files) {
            assert_eq!(nevra_line(p), nevra_line(w));
            assert_eq!(p.header.blob(), w.header.blob(), "{options:?}: header bytes");
            assert_eq!(&p.files().unwrap().iter().map(file_line).collect::<Vec<_>>(), files);
        }
        // rpm agrees, header numbers included: keys are read in the file's byte order, so
        // the little-endian key 1 copied into a big-endian file is header 16777216.
        let ours: Vec<String> = got
            .iter()
            .map(|p| format!("{} {}", p.header_number, nevra_line(p)))
            .collect();
        assert_eq!(ours, rpm_bdb_list(t.path()), "{options:?}");
    }
}

// ---- Corrupted copies of the real databases ----

/// xorshift64*: a fixed, dependency-free sequence of mutations.
struct Mutations(u64);

impl Mutations {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Read a possibly broken database to the end: headers, packages and file lists. Returns
/// how many items the walk gave.
fn read_everything(path: &Path) -> usize {
    let Ok(db) = Database::open_file(path) else {
        return 0;
    };
    let mut n = 0;
    for p in InstalledPackages::from_database(db).iter().take(100_000) {
        n += 1;
        if let Ok(p) = p {
            let _ = p.files();
            let _ = p.signature();
        }
    }
    n
}

#[test]
fn corrupted_copies_of_real_databases_never_panic_or_hang() {
    let mut rng = Mutations(0x9e37_79b9_7f4a_7c15);
    let t = tempfile::tempdir().unwrap();
    for (dir, file, rounds) in [
        ("libuuid", "Packages", 300),
        ("custom-epoch-bdb", "Packages", 300),
        ("sle15sp3-glibc-3pkg-ndb", "Packages.db", 300),
        ("fedora36-tzdata-sqlite", "rpmdb.sqlite", 60),
    ] {
        let good = fs::read(fixtures().join(dir).join(file)).unwrap();
        let path = t.path().join(file);
        for round in 0..rounds {
            let mut bad = good.clone();
            let what = match rng.below(4) {
                0 => {
                    let cut = rng.below(bad.len());
                    bad.truncate(cut);
                    format!("truncated at {cut}")
                }
                _ => {
                    // Mostly hit the structures near the start of pages and blobs.
                    let mut spots = Vec::new();
                    for _ in 0..1 + rng.below(8) {
                        let at = if rng.below(2) == 0 {
                            rng.below(bad.len())
                        } else {
                            rng.below(bad.len() / 512) * 512 + rng.below(64)
                        };
                        bad[at] = rng.next() as u8;
                        spots.push(at);
                    }
                    format!("bytes {spots:?} changed")
                }
            };
            fs::write(&path, &bad).unwrap();
            let outcome = std::panic::catch_unwind(|| read_everything(&path));
            match outcome {
                Ok(n) => assert!(n < 100_000, "{dir} round {round} ({what}): {n} items"),
                Err(_) => panic!("{dir} round {round} ({what}): the reader panicked"),
            }
        }
    }
}

/// `rpmdb-query` says when its listing could not be written (a full disk: exit 2), and ends
/// quietly with success when its reader goes away (`rpmdb-query --files | head`).
#[test]
fn rpmdb_query_reports_write_errors_and_stops_quietly_on_a_closed_pipe() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let bin = &harness::hostile::scanner_binaries().rpmdb_query;
    let db = fixtures().join("amazonlinux2023-plain-sqlite/rpmdb.sqlite");
    let args = [Path::new("--dbfile").as_os_str(), db.as_os_str(), "--files".as_ref()];

    let full = Command::new(bin)
        .args(args)
        .stdout(fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(2), "exit status on a full disk");
    let stderr = String::from_utf8_lossy(&full.stderr);
    assert!(stderr.contains("cannot write the listing"), "stderr: {stderr}");

    // The listing is far larger than a pipe holds, so writes go on after the reader left.
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exit status after the reader left: {:?}",
        out.status
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `InstalledPackages::preload` reads a root's database once: every later `open` of that root
/// and of its clones walks the same packages, in the same order, without the database file;
/// another root of the same directory still reads the file.
#[test]
fn preloaded_database_serves_every_later_open_of_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let dbdir = dir.path().join("var/lib/rpm");
    fs::create_dir_all(&dbdir).unwrap();
    fs::copy(
        fixtures().join("cbl-mariner-2.0/rpmdb.sqlite"),
        dbdir.join("rpmdb.sqlite"),
    )
    .unwrap();
    let expected = fixture_lines(&fixtures().join("cbl-mariner-2.0/expected.txt"));

    let root = Root::new(dir.path()).unwrap();
    let read = InstalledPackages::preload(&root).unwrap();
    assert_eq!(read, expected.len());
    fs::remove_file(dbdir.join("rpmdb.sqlite")).unwrap();
    for r in [&root, &root.clone()] {
        let mut installed = InstalledPackages::open(r).unwrap();
        assert_eq!(installed.path, Path::new("/var/lib/rpm/rpmdb.sqlite"));
        assert_eq!(installed.format, Format::Sqlite);
        let listed: Vec<String> = installed.iter().map(|p| nevra_line(&p.unwrap())).collect();
        assert_eq!(listed, expected);
    }
    let fresh = Root::new(dir.path()).unwrap();
    assert!(
        InstalledPackages::open(&fresh).is_err(),
        "a new root reads the (removed) file"
    );
}
