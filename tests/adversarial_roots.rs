//! Hostile root filesystems against every scanner binary (issue 7).
//!
//! One real image is built once: a package installed by the real `rpm`, its update in a
//! `file://` repository inside the image with an advisory added by `modifyrepo_c`, an
//! os-release, passwd and group. Each test copies it, makes one thing hostile (symlinks out
//! of the root or in loops, FIFOs, sockets and device nodes where files are expected, a 10 GB
//! sparse file, deep nesting, non-UTF-8 names, unreadable files), and runs the three
//! scanners (`scanner-rpm-verify`, `pipeline-scanner`, `security-advisories`) on it, each
//! under `strace -f -y` and a watchdog. For every run:
//! - it ends by itself within the time limit, exit 0 or 2, no panic, peak RSS bounded;
//! - it opens nothing outside the root (but the loader's and the time zone's files, /proc,
//!   /sys, its own temporary folder), and never touches the canary folder the hostile
//!   symlinks point at, whose unique word never appears in its output;
//! - the whole tree is the same afterwards (every path, type, mode, owner, size, mtime,
//!   ctime, inode, link target, xattrs, data);
//! - it says what it could not check (per test).
//!
//! Tools: rpm, rpmbuild (`rpm`), createrepo_c and modifyrepo_c (`createrepo-c`), strace,
//! setpriv (`util-linux`). Runs as root (mknod, chown).

use crate::harness;

use harness::advisory::advisory_repo;
use harness::hostile::{run_traced, scanner_binaries, Canary, Run, RunOptions, TreeDigest};
use harness::{build_rpms, FileSpec, PackageSpec, TestRoot};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Peak memory allowed to one scan (debug binaries, under strace), KiB.
const RSS_LIMIT_KIB: i64 = 256 * 1024;
/// Time allowed to one scan before the watchdog kills it.
const TIME_LIMIT: Duration = Duration::from_secs(90);

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>HOSTILE-SA-1</id><title>Important: victim security update</title>
    <issued date="2024-01-10 10:00:00"/><severity>Important</severity>
    <references><reference href="https://example.org/CVE-2024-7777" id="CVE-2024-7777" type="cve"/></references>
    <pkglist><collection><package name="victim" epoch="0" version="1.1" release="1" arch="x86_64"><filename>victim-1.1-1.x86_64.rpm</filename></package></collection></pkglist>
  </update>
</updates>
"#;

const OS_RELEASE: &str = "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n";

/// The pristine image every test copies.
fn base_image() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let work = tempfile::Builder::new()
            .prefix("adversarial-base-")
            .tempdir()
            .unwrap()
            .keep();
        let victim = |version: &str| {
            PackageSpec::new("victim", version, "1")
                .arch("x86_64")
                .file(FileSpec::dir("/usr/share/victim"))
                .file(FileSpec::regular("/usr/bin/victim", b"#!/bin/sh\necho victim\n").mode(0o755))
                .file(FileSpec::regular("/usr/lib64/libvictim.so.1", vec![0x7fu8; 4096]).mode(0o755))
                .file(FileSpec::regular("/usr/share/victim/data", b"data\n"))
                .file(FileSpec::regular("/etc/victim.conf", b"setting=1\n").config_noreplace())
        };
        let rpms = build_rpms(&[victim("1.0"), victim("1.1")], &work.join("rpms"));
        let root = TestRoot::at(&work.join("root"), "/var/lib/rpm");
        fs::create_dir_all(root.path().join("var/lib/rpm")).unwrap();
        root.install(&rpms[..1], &[]);
        root.write_file("/etc/os-release", OS_RELEASE);
        root.write_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        root.write_file("/etc/group", "root:x:0:\n");
        root.write_file(
            "/etc/yum.repos.d/local.repo",
            "[local]\nname=local\nbaseurl=file:///srv/repo\nenabled=1\ngpgcheck=0\n",
        );
        advisory_repo(&root.path().join("srv/repo"), &rpms[1..], UPDATEINFO, None);
        root.path().to_path_buf()
    })
}

/// A fresh copy of the base image (cp -a: modes, owners, times, links kept).
fn copy_of_base() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("adversarial-root-").tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", base_image().display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "cp -a of the base image failed");
    dir
}

/// What one test does: a hostile root, the three scans with every generic check made.
struct Scans {
    _root: tempfile::TempDir,
    _canary: Canary,
    /// Runs of scanner-rpm-verify, pipeline-scanner, security-advisories, in that order.
    runs: Vec<Run>,
}

impl Scans {
    fn verify(&self) -> &Run {
        &self.runs[0]
    }
    fn pipeline(&self) -> &Run {
        &self.runs[1]
    }
    fn advisories(&self) -> &Run {
        &self.runs[2]
    }
}

/// Copy the base, let `make_hostile` change it (the canary folder is there to point at), and
/// scan it with every scanner.
fn scan_hostile(name: &str, drop_dac: bool, make_hostile: impl FnOnce(&Path, &Canary)) -> Scans {
    let bins = scanner_binaries();
    let root = copy_of_base();
    let canary = Canary::new();
    canary.write("passwd", format!("root:x:0:0:{}:/root:/bin/sh\n", canary.word));
    canary.write("os-release", format!("ID={0}\nPRETTY_NAME=\"{0}\"\n", canary.word));
    canary.write(
        "yum.repos.d/canary.repo",
        format!("[{0}]\nname={0}\nbaseurl=file:///{0}\nenabled=1\n", canary.word),
    );
    // A real database: a naive reader following a symlink out would list its package.
    let libuuid = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb/libuuid/Packages");
    canary.write("rpm/Packages", fs::read(libuuid).unwrap());
    canary.write("file", format!("{}\n", canary.word));
    make_hostile(root.path(), &canary);

    let before = TreeDigest::of(root.path());
    let scratch = tempfile::Builder::new().prefix("adversarial-tmp-").tempdir().unwrap();
    let r = root.path().as_os_str();
    let mut runs = Vec::new();
    let invocations: [(&str, &Path, Vec<&OsStr>); 3] = [
        (
            "scanner-rpm-verify",
            &bins.rpm_verify,
            vec![OsStr::new("--scan-type"), OsStr::new("rpm-verify-all")],
        ),
        (
            "pipeline-scanner",
            &bins.pipeline,
            vec![
                OsStr::new("--attempts"),
                OsStr::new("1"),
                OsStr::new("--timeout"),
                OsStr::new("5"),
            ],
        ),
        (
            "security-advisories",
            &bins.advisories,
            vec![OsStr::new("--scan-type"), OsStr::new("all")],
        ),
    ];
    for (scanner, bin, extra) in invocations {
        let mut args: Vec<&OsStr> = vec![OsStr::new("--rootfs"), r];
        args.extend(extra);
        let what = format!("{name}: {scanner}");
        let opts = RunOptions {
            limit: TIME_LIMIT,
            drop_dac,
            env: vec![
                ("TMPDIR".into(), scratch.path().to_str().unwrap().into()),
                ("TZ".into(), "UTC".into()),
            ],
        };
        let run = run_traced(&what, bin, &args, &opts);
        run.assert_ended_cleanly(RSS_LIMIT_KIB);
        run.assert_opened_only_inside(root.path(), &[scratch.path(), bin], canary.path());
        for out in [&run.stdout, &run.stderr] {
            assert!(
                !String::from_utf8_lossy(out).contains(&canary.word),
                "{what}: output shows content of the host canary folder:\n{}",
                String::from_utf8_lossy(out)
            );
        }
        let _ = run.json();
        runs.push(run);
    }
    TreeDigest::of(root.path()).assert_same(&before, name);
    Scans {
        _root: root,
        _canary: canary,
        runs,
    }
}

fn successful(run: &Run) -> bool {
    run.json()["Successful"].as_str() == Some("true")
}

/// The base image itself: every scanner finds what is there (so the hostile tests below
/// start from scans that work).
#[test]
fn base_image_scans_find_the_update_and_the_advisory() {
    let s = scan_hostile("base", false, |_, _| {});
    for run in &s.runs {
        assert!(successful(run), "{}: {}", run.what, run.stdout_text());
    }
    s.pipeline().assert_reports(&["victim.x86_64"]);
    s.advisories().assert_reports(&["HOSTILE-SA-1", "CVE-2024-7777"]);
    assert!(
        s.verify().json()["Scan Results"]["rpmVa_issues"]
            .as_array()
            .is_some_and(|a| a.is_empty()),
        "{}",
        s.verify().stdout_text()
    );
}

/// The database directory is a symlink out of the root: absolute to the host's own
/// /var/lib/rpm, absolute to the canary's database, and `../../..` climbing to it.
#[test]
fn database_directory_symlinked_to_the_host() {
    for (how, target) in [
        ("absolute /var/lib/rpm", |_: &Path, _: &Canary| {
            PathBuf::from("/var/lib/rpm")
        }),
        ("absolute canary", |_: &Path, c: &Canary| c.path().join("rpm")),
        ("climbing canary", |r: &Path, c: &Canary| c.climb(r, "/var/lib", "rpm")),
    ] as [(&str, fn(&Path, &Canary) -> PathBuf); 3]
    {
        let s = scan_hostile(&format!("var/lib/rpm -> {how}"), false, |root, canary| {
            fs::remove_dir_all(root.join("var/lib/rpm")).unwrap();
            symlink(target(root, canary), root.join("var/lib/rpm")).unwrap();
        });
        for run in &s.runs {
            assert!(
                !successful(run),
                "{}: succeeded without a database: {}",
                run.what,
                run.stdout_text()
            );
            run.assert_reports(&["database"]);
            assert!(
                !run.stdout_text().contains("libuuid"),
                "{}: read the host's database",
                run.what
            );
        }
    }
}

/// Symlink loops: the database directory, the database file, a packaged binary, os-release,
/// the repository folder and a .repo file.
#[test]
fn symlink_loops() {
    let s = scan_hostile("loops", false, |root, _| {
        let db = root.join("var/lib/rpm");
        let real = root.join("var/lib/rpm-real");
        fs::rename(&db, &real).unwrap();
        symlink("rpm-loop-a", &db).unwrap();
        symlink("rpm", root.join("var/lib/rpm-loop-a")).unwrap();
        fs::remove_file(root.join("usr/bin/victim")).unwrap();
        symlink("victim", root.join("usr/bin/victim")).unwrap();
        fs::remove_file(root.join("etc/os-release")).unwrap();
        symlink("/etc/os-release", root.join("etc/os-release")).unwrap();
        symlink("loop.repo", root.join("etc/yum.repos.d/loop.repo")).unwrap();
        // A long chain (more links than any resolver should follow) ending in a loop.
        for i in 0..200 {
            symlink(
                format!("chain{}", i + 1),
                root.join(format!("usr/share/victim/chain{i}")),
            )
            .unwrap();
        }
        symlink("chain0", root.join("usr/share/victim/chain200")).unwrap();
    });
    // pipeline-scanner stops at os-release first; the others at the database.
    s.verify().assert_reports(&["database", "symlinks"]);
    s.advisories().assert_reports(&["database", "symlinks"]);
    s.pipeline().assert_reports(&["os-release"]);
    for run in &s.runs {
        assert!(
            !successful(run),
            "{}: succeeded without a database: {}",
            run.what,
            run.stdout_text()
        );
    }
}

/// A database directory whose database file is a loop, with a real database beside it under
/// another name: nothing is read; packaged files that are loops are reported modified.
#[test]
fn packaged_file_loops_and_links_out() {
    let s = scan_hostile("packaged links", false, |root, canary| {
        fs::remove_file(root.join("usr/bin/victim")).unwrap();
        symlink(canary.path().join("file"), root.join("usr/bin/victim")).unwrap();
        fs::remove_file(root.join("usr/lib64/libvictim.so.1")).unwrap();
        symlink(
            canary.climb(root, "/usr/lib64", "file"),
            root.join("usr/lib64/libvictim.so.1"),
        )
        .unwrap();
        fs::remove_file(root.join("usr/share/victim/data")).unwrap();
        symlink("data", root.join("usr/share/victim/data")).unwrap();
        fs::remove_file(root.join("etc/victim.conf")).unwrap();
        symlink("/etc/victim.conf", root.join("etc/victim.conf")).unwrap();
    });
    let v = s.verify();
    assert!(successful(v), "{}", v.stdout_text());
    for path in [
        "/usr/bin/victim",
        "/usr/lib64/libvictim.so.1",
        "/usr/share/victim/data",
        "/etc/victim.conf",
    ] {
        v.assert_reports(&[path]);
    }
}

/// /etc/passwd, /etc/group, /etc/os-release and /etc/yum.repos.d are symlinks to the host's
/// files (absolute and climbing): the scanners judge with the image's (missing) files.
#[test]
fn configuration_symlinked_to_the_host() {
    let s = scan_hostile("etc links", false, |root, canary| {
        let etc = root.join("etc");
        fs::remove_file(etc.join("passwd")).unwrap();
        symlink(canary.path().join("passwd"), etc.join("passwd")).unwrap();
        fs::remove_file(etc.join("group")).unwrap();
        symlink(canary.climb(root, "/etc", "passwd"), etc.join("group")).unwrap();
        fs::remove_file(etc.join("os-release")).unwrap();
        symlink(canary.climb(root, "/etc", "os-release"), etc.join("os-release")).unwrap();
    });
    // No os-release inside the image: pipeline-scanner cannot tell the release and says so;
    // security-advisories needs none (it still finds the advisory in the image's repository).
    assert!(!successful(s.pipeline()), "{}", s.pipeline().stdout_text());
    s.pipeline().assert_reports(&["os-release"]);
    assert!(successful(s.advisories()), "{}", s.advisories().stdout_text());
    s.advisories().assert_reports(&["HOSTILE-SA-1"]);
    // rpm-verify cannot map owner names: it still runs (rpm prints ? for U and G then).
    assert!(successful(s.verify()), "{}", s.verify().stdout_text());

    let s = scan_hostile("yum.repos.d link", false, |root, canary| {
        let etc = root.join("etc");
        fs::rename(etc.join("yum.repos.d"), root.join("yum.repos.d.orig")).unwrap();
        symlink(canary.path().join("yum.repos.d"), etc.join("yum.repos.d")).unwrap();
    });
    // No repositories left in the image: the repository scanners say so (pipeline-scanner
    // in its summary, security-advisories by failing: no data is no clean bill of health).
    s.pipeline().assert_reports(&["no enabled repository"]);
    assert!(!successful(s.advisories()), "{}", s.advisories().stdout_text());
    s.advisories().assert_reports(&["repositor"]);
}

/// FIFOs, sockets and device nodes where files are expected: the database file, a packaged
/// binary and library, os-release, a .repo file, the repository's repomd.xml. Opening one of
/// them for reading would block forever (FIFO) or never end (/dev/zero).
#[test]
fn fifos_sockets_and_devices_where_files_are_expected() {
    let mut sockets = Vec::new();
    let s = scan_hostile("special files", false, |root, _| {
        let mkfifo = |p: &Path| {
            let _ = fs::remove_file(p);
            let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", p.display());
        };
        let mknod_zero = |p: &Path| {
            let _ = fs::remove_file(p);
            let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
            let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 5)) };
            assert_eq!(
                r,
                0,
                "mknod {} (run as root): {}",
                p.display(),
                std::io::Error::last_os_error()
            );
        };
        mkfifo(&root.join("var/lib/rpm/rpmdb.sqlite-wal"));
        mkfifo(&root.join("usr/bin/victim"));
        mknod_zero(&root.join("usr/lib64/libvictim.so.1"));
        let _ = fs::remove_file(root.join("usr/share/victim/data"));
        sockets.push(std::os::unix::net::UnixListener::bind(root.join("usr/share/victim/data")).unwrap());
        mknod_zero(&root.join("etc/yum.repos.d/zero.repo"));
        mkfifo(&root.join("etc/yum.repos.d/fifo.repo"));
        mkfifo(&root.join("srv/repo/repodata/repomd.xml"));
    });
    drop(sockets);
    // The database's -wal is a FIFO: SQLite would open it; the reader refuses.
    for run in &s.runs {
        assert!(!successful(run), "{}: {}", run.what, run.stdout_text());
        run.assert_reports(&["wal"]);
    }
}

/// The same special files for the packaged files only (database intact): rpm-verify reports
/// each as changed without reading it.
#[test]
fn special_files_as_packaged_files() {
    let mut sockets = Vec::new();
    let s = scan_hostile("special packaged files", false, |root, _| {
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        fs::remove_file(root.join("usr/bin/victim")).unwrap();
        assert_eq!(
            unsafe { libc::mkfifo(c(&root.join("usr/bin/victim")).as_ptr(), 0o755) },
            0
        );
        fs::remove_file(root.join("usr/lib64/libvictim.so.1")).unwrap();
        let zero = c(&root.join("usr/lib64/libvictim.so.1"));
        assert_eq!(
            unsafe { libc::mknod(zero.as_ptr(), libc::S_IFCHR | 0o755, libc::makedev(1, 5)) },
            0
        );
        fs::remove_file(root.join("usr/share/victim/data")).unwrap();
        sockets.push(std::os::unix::net::UnixListener::bind(root.join("usr/share/victim/data")).unwrap());
        fs::remove_file(root.join("etc/os-release")).unwrap();
        assert_eq!(
            unsafe { libc::mkfifo(c(&root.join("etc/os-release")).as_ptr(), 0o644) },
            0
        );
    });
    drop(sockets);
    let v = s.verify();
    assert!(successful(v), "{}", v.stdout_text());
    for path in ["/usr/bin/victim", "/usr/lib64/libvictim.so.1", "/usr/share/victim/data"] {
        v.assert_reports(&[path]);
    }
    // os-release is a FIFO (never opened): pipeline-scanner cannot tell the release, and
    // says so; security-advisories needs none.
    assert!(!successful(s.pipeline()), "{}", s.pipeline().stdout_text());
    s.pipeline().assert_reports(&["os-release"]);
    assert!(successful(s.advisories()), "{}", s.advisories().stdout_text());
}

/// A 10 GB sparse file as a packaged library and as the database file.
#[test]
fn ten_gigabyte_sparse_files() {
    let s = scan_hostile("sparse packaged file", false, |root, _| {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(root.join("usr/lib64/libvictim.so.1"))
            .unwrap();
        f.set_len(TEN_GB).unwrap();
    });
    let v = s.verify();
    assert!(successful(v), "{}", v.stdout_text());
    v.assert_reports(&["/usr/lib64/libvictim.so.1"]);

    // The database: an SQLite header in front of 10 GB of holes, and a Berkeley DB one.
    let s = scan_hostile("sparse database", false, |root, _| {
        let db = root.join("var/lib/rpm/rpmdb.sqlite");
        let head = fs::read(&db).unwrap()[..4096].to_vec();
        sparse_database(&db, &head);
    });
    assert_each_scan_failed_or_reported_an_error(&s);
    let s = scan_hostile("sparse bdb", false, |root, _| {
        fs::remove_file(root.join("var/lib/rpm/rpmdb.sqlite")).unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb/libuuid/Packages");
        sparse_database(&root.join("var/lib/rpm/Packages"), &fs::read(fixture).unwrap()[..4096]);
    });
    assert_each_scan_failed_or_reported_an_error(&s);
}

/// A file of holes past its first blocks: reading it whole would take 10 GB.
const TEN_GB: u64 = 10 << 30;

/// `head`, then holes up to 10 GB, at `db`.
fn sparse_database(db: &Path, head: &[u8]) {
    fs::write(db, head).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(db)
        .unwrap()
        .set_len(TEN_GB)
        .unwrap();
}

/// Every scanner either failed the subject or named an error in its result.
fn assert_each_scan_failed_or_reported_an_error(s: &Scans) {
    for run in &s.runs {
        assert!(
            !successful(run) || run.stdout_text().contains("rror"),
            "{}: {}",
            run.what,
            run.stdout_text()
        );
    }
}

/// Deep directory nesting (1,500 levels beside packaged files, 400 below a `.repo` name),
/// and a `.repo` name that is a directory.
#[test]
fn deep_directory_nesting() {
    let s = scan_hostile("deep nesting", false, |root, _| {
        let mut p = root.join("usr/share/victim");
        for _ in 0..1500 {
            p.push("d");
        }
        fs::create_dir_all(&p).unwrap();
        let mut q = root.join("etc/yum.repos.d/nested.repo");
        for _ in 0..400 {
            q.push("x.repo");
        }
        fs::create_dir_all(&q).unwrap();
    });
    for run in &s.runs {
        assert!(successful(run), "{}: {}", run.what, run.stdout_text());
    }
}

/// Non-UTF-8 names: a packaged directory renamed to a Latin-1 name (its files are then
/// missing), a Latin-1 `.repo` file, and invalid UTF-8 inside os-release and the .repo.
#[test]
fn non_utf8_names_and_contents() {
    let s = scan_hostile("non-UTF-8", false, |root, _| {
        let latin1 = OsString::from(OsStr::from_bytes(b"victim-\xe9t\xe9"));
        fs::rename(root.join("usr/share/victim"), root.join("usr/share").join(&latin1)).unwrap();
        let repo = root.join("etc/yum.repos.d").join(OsStr::from_bytes(b"caf\xe9.repo"));
        fs::write(repo, b"[caf\xe9]\nname=\xff\xfe\nbaseurl=file:///srv/\xe9\nenabled=1\n").unwrap();
        fs::write(
            root.join("etc/os-release"),
            b"ID=rhel\nVERSION_ID=9\nPRETTY_NAME=\"\xff\xfe Linux\"\n",
        )
        .unwrap();
    });
    let v = s.verify();
    assert!(successful(v), "{}", v.stdout_text());
    v.assert_reports(&["/usr/share/victim/data", "missing"]);
    // The broken repository is named; the good one still gives its update.
    s.pipeline().assert_reports(&["victim.x86_64"]);
}

/// Files without read permission, scanned without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (as
/// a non-root scan would be): packaged files give `?`, an unreadable .repo and os-release are
/// named; then the database itself unreadable.
#[test]
fn unreadable_files_without_dac_override() {
    let s = scan_hostile("unreadable files", true, |root, _| {
        for p in [
            "usr/bin/victim",
            "usr/lib64/libvictim.so.1",
            "etc/yum.repos.d/local.repo",
        ] {
            fs::set_permissions(root.join(p), fs::Permissions::from_mode(0o000)).unwrap();
        }
        fs::set_permissions(root.join("usr/share/victim"), fs::Permissions::from_mode(0o000)).unwrap();
    });
    let v = s.verify();
    assert!(successful(v), "{}", v.stdout_text());
    v.assert_reports(&["?", "/usr/bin/victim", "/usr/lib64/libvictim.so.1"]);
    for run in [s.pipeline(), s.advisories()] {
        run.assert_reports(&["local.repo"]);
    }

    let s = scan_hostile("unreadable database", true, |root, _| {
        fs::set_permissions(root.join("var/lib/rpm/rpmdb.sqlite"), fs::Permissions::from_mode(0o000)).unwrap();
    });
    for run in &s.runs {
        assert!(!successful(run), "{}: {}", run.what, run.stdout_text());
        run.assert_reports(&["rpmdb.sqlite"]);
    }
}
