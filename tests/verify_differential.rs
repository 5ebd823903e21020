//! Differential tests of `scanner-rpm-verify` against the real `rpm -Va` (issue 3).
//!
//! Roots are built by the real `rpmbuild` and `rpm` (tests/harness), changed the way a
//! tampered image is changed (tests/harness/mutate.rs: one change per `rpm -V` column, missing
//! files, wrong file types, symlinks out of the root…), then both sides verify the same root:
//! Debian's `rpm --root R --dbpath /var/lib/rpm -Va --nodeps` and our
//! `scan::verify_root`. With every line kept (the `rpm-verify-all` view), our output must be
//! rpm's stdout byte for byte, in rpm's order — on the SQLite database rpm wrote and on
//! Berkeley DB copies of it read by rpm with `_db_backend bdb_ro`.
//!
//! Debian's rpm is built without libacl, so ACLs are left out of the comparisons
//! (`acls: false`); the ACL rule has its own test. Tools: rpm, rpmbuild (`rpm`),
//! db5.3_load (`db5.3-util`), setcap (`libcap2-bin`), setpriv (`util-linux`), mkfifo, mknod.

use crate::harness;

use harness::mutate;
use harness::{bdb_copy, build_rpms, require_tool, BdbLayout, FileSpec, PackageSpec, TestRoot};
use rpmdb::root::Root;
use scanner_rpm_verify::header_digest::{self, HeaderDigest};
use scanner_rpm_verify::policy::Policy;
use scanner_rpm_verify::report::Report;
use scanner_rpm_verify::scan::{verify_root, Options};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Our verification of a root, with rpm's (Debian's) view of ACLs.
fn ours(root: &TestRoot) -> Report {
    let r = Root::new(root.path()).unwrap();
    verify_root(
        &r,
        &Options {
            workers: 3,
            acls: false,
        },
    )
    .unwrap_or_else(|e| panic!("verify_root: {e}"))
}

/// `rpm -Va --nodeps` on a root: (stdout, stderr).
fn rpm_va(root: &TestRoot) -> (Vec<u8>, String) {
    let out = root.rpm(&["-Va", "--nodeps"]);
    (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = show(bytes).lines().map(str::to_string).collect();
    v.sort();
    v
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Our lines must be rpm's, byte for byte and in order.
fn assert_same_as_rpm(root: &TestRoot, what: &str) -> (Vec<u8>, Report) {
    let (rpm_out, rpm_err) = rpm_va(root);
    let report = ours(root);
    let ours_out = report.rpm_va_text();
    assert!(
        ours_out == rpm_out,
        "{what}: our rpm -Va differs from rpm's\n--- rpm (stderr: {rpm_err})\n{}\n--- ours\n{}",
        show(&rpm_out),
        show(&ours_out)
    );
    (rpm_out, report)
}

/// The line rpm printed for a path: `<9 columns>  <attr> <path>` or `missing   <attr> <path>`,
/// possibly followed by ` (note)`.
fn line_for<'a>(out: &'a [u8], path: &[u8]) -> Option<&'a [u8]> {
    out.split(|&b| b == b'\n').find(|l| {
        let at = if l.starts_with(b"missing") { 12 } else { 13 };
        l.get(at..)
            .is_some_and(|rest| rest == path || (rest.starts_with(path) && rest.get(path.len()) == Some(&b' ')))
    })
}

fn columns_of(out: &[u8], path: &str) -> String {
    let l = line_for(out, path.as_bytes()).unwrap_or_else(|| panic!("rpm printed no line for {path}:\n{}", show(out)));
    show(&l[..9])
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
const GROUP: &str = "root:x:0:\nalice:x:1000:\n";
/// A fixed build mtime, so that packages sharing a file build it identically.
const MTIME: u64 = 1_600_000_000;

/// A minimal 32-bit x86 ELF header (rpmbuild gives it file colour 1).
fn elf32() -> Vec<u8> {
    let mut h = vec![0u8; 52];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 1;
    h[5] = 1;
    h[6] = 1;
    h[16] = 2;
    h[18] = 3;
    h[20] = 1;
    h[40] = 52;
    h
}

/// A minimal 64-bit x86-64 ELF header (colour 2).
fn elf64() -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = 1;
    h[6] = 1;
    h[16] = 2;
    h[18] = 0x3e;
    h[20] = 1;
    h[52] = 64;
    h
}

fn reg(path: &str, content: &str) -> FileSpec {
    FileSpec::regular(path, content).mtime(MTIME)
}

/// The packages of the mutation root, by install transaction.
struct Zoo {
    main: Vec<PathBuf>,
    replacing: Vec<PathBuf>,
    excludedocs: Vec<PathBuf>,
    netshared: Vec<PathBuf>,
}

fn build_zoo(out: &Path) -> Zoo {
    let main = PackageSpec::new("vfy-main", "1.0", "1")
        .vendor("Verify Tests")
        .packager("QA <qa@example.org>")
        .files([
            reg("/usr/bin/vfy-content", "content-original\n").mode(0o755),
            reg("/usr/bin/vfy-size", "size-original\n").mode(0o755),
            reg("/usr/bin/vfy-mode", "mode\n").mode(0o755),
            reg("/usr/bin/vfy-owner", "owner\n").mode(0o755),
            reg("/usr/bin/vfy-group", "group\n").mode(0o755),
            reg("/usr/bin/vfy-mtime", "mtime\n").mode(0o755),
            FileSpec::symlink("/usr/bin/vfy-link", "vfy-content"),
            reg("/usr/bin/vfy-fifo", "fifo\n").mode(0o644),
            reg("/usr/bin/vfy-dir", "dir\n").mode(0o644),
            reg("/usr/bin/vfy-dev", "dev\n").mode(0o644),
            reg("/usr/bin/vfy-missing", "missing\n").mode(0o755),
            reg("/usr/bin/vfy-shadowlink", "a binary\n").mode(0o755),
            reg("/usr/bin/vfy-hl-a", "hard link\n").mode(0o755),
            FileSpec::hard_link("/usr/bin/vfy-hl-b", "/usr/bin/vfy-hl-a").mode(0o755),
            FileSpec::char_device("/dev/vfy-null", 1, 3).mode(0o666),
            FileSpec::block_device("/dev/vfy-blk", 7, 0).mode(0o660),
            reg("/usr/sbin/vfy-cap-changed", "caps\n")
                .mode(0o755)
                .caps("cap_net_raw=ep"),
            reg("/usr/sbin/vfy-cap-added", "caps\n").mode(0o755),
            reg("/usr/sbin/vfy-cap-removed", "caps\n")
                .mode(0o755)
                .caps("cap_net_bind_service=ep"),
            reg("/usr/sbin/vfy-cap-same", "caps\n")
                .mode(0o755)
                .caps("cap_net_raw,cap_net_admin=ep"),
            reg("/usr/sbin/vfy-cap-rootid", "caps\n")
                .mode(0o755)
                .caps("cap_net_raw=ep"),
            FileSpec::dir("/usr/lib/vfy"),
            FileSpec::dir("/usr/lib/vfy/nested"),
            reg("/usr/lib/vfy/nested/file", "nested\n"),
            FileSpec::dir("/usr/lib/vfy/loop"),
            reg("/usr/lib/vfy/loop/file", "loop\n"),
            FileSpec::dir("/usr/share/vfy"),
            FileSpec::dir("/usr/share/vfy/dirlink"),
            reg("/usr/share/vfy/dirlink/data", "behind a followed link\n"),
            FileSpec::dir("/usr/share/vfy/dirlink-foreign"),
            reg("/usr/share/vfy/dirlink-foreign/data", "behind a foreign link\n"),
            reg("/usr/share/vfy/volatile", "volatile\n").verify_not("md5 size mtime"),
            FileSpec::regular_bytes_path(b"/usr/share/vfy/caf\xe9", "latin-1 name\n").mtime(MTIME),
            FileSpec::dir("/opt/vfy"),
            FileSpec::dir("/opt/vfy/escape"),
            reg("/opt/vfy/escape/shadow", "root-side-shadow\n").mode(0o644),
            FileSpec::ghost("/var/log/vfy.log").mode(0o644),
            FileSpec::ghost("/var/log/vfy-present.log").mode(0o644),
            reg("/etc/vfy.conf", "a=1\n").config_noreplace(),
            reg("/etc/vfy-missing.conf", "b=2\n").config(),
            reg("/usr/share/doc/vfy-main/README", "read me\n").doc(),
            reg("/usr/share/licenses/vfy-main/LICENSE", "MIT\n").license(),
            FileSpec::dir("/usr/lib/vfy-owners"),
            reg("/usr/lib/vfy-owners/a-alice", "alice\n")
                .mode(0o755)
                .owner("alice", "alice"),
            reg("/usr/lib/vfy-owners/b-nosuch", "nosuch\n")
                .mode(0o6755)
                .owner("nosuchuser", "nosuchgroup"),
            reg("/usr/lib/vfy-owners/c-nosuch", "nosuch\n")
                .mode(0o6755)
                .owner("nosuchuser", "nosuchgroup"),
            reg("/usr/lib/vfy-owners/d-alice-changed", "alice\n")
                .mode(0o755)
                .owner("alice", "alice"),
        ]);
    // Two packages owning the same files: identical content, mode and mtime, so rpm installs
    // both without conflict. `/lib64` is a symlink to `usr/lib64` in the root, so
    // `/lib64/vfy-fp/lib.so` and `/usr/lib64/vfy-fp/lib.so` are one file (fingerprints).
    let shared = |name: &str, fp_dir: &str| {
        PackageSpec::new(name, "2.0", "1").files([
            FileSpec::dir("/usr/share/vfy-shared"),
            reg("/usr/share/vfy-shared/common", "shared\n"),
            reg("/usr/share/vfy-shared/common-changed", "shared too\n"),
            reg(&format!("/usr/share/vfy-shared/own-{name}"), "own\n"),
            reg(&format!("{fp_dir}/vfy-fp-lib.so"), "library\n"),
        ])
    };
    let shared_a = shared("vfy-shared-a", "/usr/lib64");
    let shared_b = shared("vfy-shared-b", "/lib64");
    let multilib64 = PackageSpec::new("vfy-multi", "1.0", "1").file(
        FileSpec::regular("/usr/bin/vfy-multi", elf64())
            .mode(0o755)
            .mtime(MTIME),
    );
    let multilib32 = PackageSpec::new("vfy-multi", "1.0", "1").arch("i686").file(
        FileSpec::regular("/usr/bin/vfy-multi", elf32())
            .mode(0o755)
            .mtime(MTIME),
    );
    let old = PackageSpec::new("vfy-replaced-old", "1.0", "1").file(reg("/usr/share/vfy-conflict", "old\n"));
    let new = PackageSpec::new("vfy-replaced-new", "1.0", "1").file(reg("/usr/share/vfy-conflict", "new!\n"));
    let docs = PackageSpec::new("vfy-docs", "1.0", "1").files([
        reg("/usr/bin/vfy-docs-tool", "tool\n").mode(0o755),
        reg("/usr/share/doc/vfy-docs/guide", "guide\n").doc(),
    ]);
    let net = PackageSpec::new("vfy-net", "1.0", "1").files([
        reg("/usr/bin/vfy-net-tool", "net tool\n").mode(0o755),
        reg("/srv/vfy-net/data", "net data\n"),
    ]);
    let specs = [main, shared_a, shared_b, multilib64, multilib32, old, new, docs, net];
    let mut rpms = build_rpms(&specs, out).into_iter();
    let mut take = |n: usize| rpms.by_ref().take(n).collect::<Vec<_>>();
    Zoo {
        main: take(6),
        replacing: take(1),
        excludedocs: take(1),
        netshared: take(1),
    }
}

/// The mutation root: the zoo installed by rpm, then changed one way per file.
fn mutated_root(out: &Path) -> TestRoot {
    let zoo = build_zoo(out);
    let root = TestRoot::new();
    root.write_file("/etc/passwd", PASSWD);
    root.write_file("/etc/group", GROUP);
    std::fs::create_dir_all(root.host_path("/usr/lib64")).unwrap();
    std::os::unix::fs::symlink("usr/lib64", root.host_path("/lib64")).unwrap();
    root.install(&zoo.main, &[]);
    root.install(&zoo.replacing, &["--replacefiles"]);
    root.install(&zoo.excludedocs, &["--excludedocs"]);
    root.install(&zoo.netshared, &["--define", "_netsharedpath /srv/vfy-net"]);

    let m = MTIME as i64;
    mutate::rewrite_same_size(&root, "/usr/bin/vfy-content");
    mutate::append(&root, "/usr/bin/vfy-size", b"grown");
    mutate::chmod(&root, "/usr/bin/vfy-mode", 0o700);
    mutate::lchown(&root, "/usr/bin/vfy-owner", Some(1000), None);
    mutate::lchown(&root, "/usr/bin/vfy-group", None, Some(1000));
    mutate::set_mtime(&root, "/usr/bin/vfy-mtime", m + 3600);
    mutate::replace_with_symlink(&root, "/usr/bin/vfy-link", "vfy-size");
    mutate::replace_with_fifo(&root, "/usr/bin/vfy-fifo");
    mutate::replace_with_dir(&root, "/usr/bin/vfy-dir");
    mutate::replace_with_device(&root, "/usr/bin/vfy-dev", 'c', 1, 3);
    mutate::remove(&root, "/usr/bin/vfy-missing");
    // A binary replaced by an absolute symlink to /etc/shadow: judged as a link, never read.
    mutate::replace_with_symlink(&root, "/usr/bin/vfy-shadowlink", "/etc/shadow");
    mutate::rewrite_same_size(&root, "/usr/bin/vfy-hl-a");
    mutate::replace_with_device(&root, "/dev/vfy-null", 'c', 1, 5);
    mutate::chmod(&root, "/dev/vfy-null", 0o666);
    mutate::replace_with_device(&root, "/dev/vfy-blk", 'c', 7, 0);
    mutate::setcap(&root, "/usr/sbin/vfy-cap-changed", Some("cap_net_admin=ep"));
    mutate::setcap(&root, "/usr/sbin/vfy-cap-added", Some("cap_net_raw+ep"));
    mutate::setcap(&root, "/usr/sbin/vfy-cap-removed", None);
    mutate::setcap(&root, "/usr/sbin/vfy-cap-same", Some("cap_net_admin,cap_net_raw+ep"));
    // A namespaced (revision 3) capability: the same sets, another root id.
    let out = Command::new(require_tool("setcap"))
        .args(["-n", "1000", "cap_net_raw=ep"])
        .arg(root.host_path("/usr/sbin/vfy-cap-rootid"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setcap -n: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A directory replaced by a regular file: the file below it is "Not a directory".
    std::fs::remove_dir_all(root.host_path("/usr/lib/vfy/nested")).unwrap();
    std::fs::write(root.host_path("/usr/lib/vfy/nested"), "now a file\n").unwrap();
    // A directory replaced by a symlink to itself: the file below it is a symlink loop.
    mutate::replace_with_symlink(&root, "/usr/lib/vfy/loop", "loop");
    // A directory replaced by a symlink to a copy (followed: root owns the link) ...
    mutate::replace_dir_with_symlink(
        &root,
        "/usr/share/vfy/dirlink",
        "/usr/share/vfy/dirlink.real",
        "dirlink.real",
    );
    // ... and one whose link another user owns (not followed).
    mutate::replace_dir_with_symlink(
        &root,
        "/usr/share/vfy/dirlink-foreign",
        "/usr/share/vfy/dirlink-foreign.real",
        "dirlink-foreign.real",
    );
    mutate::lchown(&root, "/usr/share/vfy/dirlink-foreign", Some(1000), None);
    // A packaged directory replaced by an absolute symlink to /etc: the file below it must be
    // the root's /etc/shadow, never the host's. The root's copy has the packaged content.
    std::fs::remove_dir_all(root.host_path("/opt/vfy/escape")).unwrap();
    std::os::unix::fs::symlink("/etc", root.host_path("/opt/vfy/escape")).unwrap();
    root.write_file("/etc/shadow", "root-side-shadow\n");
    mutate::chmod(&root, "/etc/shadow", 0o644);
    mutate::set_mtime(&root, "/etc/shadow", m);
    mutate::append(&root, "/usr/share/vfy/volatile", b"changes are fine here");
    root.write_file("/var/log/vfy-present.log", "log\n");
    mutate::chmod(&root, "/var/log/vfy-present.log", 0o600);
    mutate::append(&root, "/etc/vfy.conf", b"b=2\n");
    mutate::remove(&root, "/etc/vfy-missing.conf");
    mutate::append(&root, "/usr/share/doc/vfy-main/README", b"more\n");
    mutate::lchown(&root, "/usr/lib/vfy-owners/d-alice-changed", Some(0), Some(0));
    mutate::set_mtime(&root, "/usr/share/vfy-shared/common", m + 60);
    mutate::rewrite_same_size(&root, "/usr/share/vfy-shared/common-changed");
    mutate::set_mtime(&root, "/usr/share/vfy-shared/own-vfy-shared-a", m + 60);
    mutate::set_mtime(&root, "/usr/lib64/vfy-fp-lib.so", m + 60);
    mutate::rewrite_same_size(&root, "/usr/bin/vfy-multi");
    root
}

#[test]
fn every_mutation_is_judged_as_rpm_judges_it_on_sqlite_and_berkeley_db() {
    let out = tempfile::tempdir().unwrap();
    let root = mutated_root(out.path());
    // The non-UTF-8 file gets its change here (the helpers take UTF-8 paths).
    {
        use std::io::Write;
        let name: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(&b"/usr/share/vfy/caf\xe9"[..]);
        let p = root.host_path(Path::new(name));
        let mut f = std::fs::OpenOptions::new().append(true).open(p).unwrap();
        f.write_all(b"changed").unwrap();
    }
    let host_shadow = std::fs::read("/etc/shadow").unwrap_or_default();
    assert_ne!(
        host_shadow, b"root-side-shadow\n",
        "the host's /etc/shadow must differ for this test"
    );

    let (rpm_out, report) = assert_same_as_rpm(&root, "SQLite");

    // The comparison means something only if the changes show: spot checks on rpm's output.
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-content"), "..5......");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-size"), "S.5....T.");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-mode"), ".M.......");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-owner"), ".....U...");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-group"), "......G..");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-mtime"), ".......T.");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-link"), "....L....");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-shadowlink"), "....L....");
    assert_eq!(columns_of(&rpm_out, "/dev/vfy-null"), "...D.....");
    assert_eq!(columns_of(&rpm_out, "/usr/sbin/vfy-cap-changed"), "........P");
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-missing"), "missing  ");
    assert!(line_for(&rpm_out, b"/usr/lib/vfy/nested/file").is_some_and(|l| l.ends_with(b"(Not a directory)")));
    assert!(line_for(&rpm_out, b"/usr/sbin/vfy-cap-same").is_none());
    assert!(line_for(&rpm_out, b"/usr/share/vfy/volatile").is_none());
    assert!(line_for(&rpm_out, b"/opt/vfy/escape/shadow").is_none());
    assert!(line_for(&rpm_out, b"/usr/share/doc/vfy-docs/guide").is_none());
    assert!(line_for(&rpm_out, b"/srv/vfy-net/data").is_none());
    assert!(line_for(&rpm_out, b"/usr/share/vfy/caf\xe9").is_some());
    assert!(report.tampered_headers.is_empty() && report.bad_packages.is_empty());

    for layout in [BdbLayout::LITTLE_ENDIAN, BdbLayout::BIG_ENDIAN_SMALL_PAGES] {
        let copy = bdb_copy(&root, layout);
        let (bdb_out, _) = assert_same_as_rpm(&copy, &format!("Berkeley DB {layout:?}"));
        // Berkeley DB walks its hash buckets, not the install order: same lines, other order.
        assert_eq!(
            sorted_lines(&bdb_out),
            sorted_lines(&rpm_out),
            "rpm itself must say the same of the Berkeley DB copy"
        );
    }
}

/// Run `f` on a thread without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (capabilities are
/// per thread in Linux, and threads it starts inherit them): as root, that is the only way to
/// meet a file that cannot be read.
fn without_dac_override<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const DAC: u32 = (1 << 1) | (1 << 2);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut h = Header {
                version: VERSION_3,
                pid: 0,
            };
            let mut d = [Data::default(); 2];
            // SAFETY: capget/capset with a version-3 header and two data words.
            let rc = unsafe { libc::syscall(libc::SYS_capget, &mut h as *mut Header, d.as_mut_ptr()) };
            assert_eq!(rc, 0, "capget: {}", std::io::Error::last_os_error());
            d[0].effective &= !DAC;
            d[0].permitted &= !DAC;
            let rc = unsafe { libc::syscall(libc::SYS_capset, &mut h as *mut Header, d.as_ptr()) };
            assert_eq!(rc, 0, "capset: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

#[test]
fn files_that_cannot_be_read_give_a_question_mark_as_in_rpm() {
    let out = tempfile::tempdir().unwrap();
    let pkg = PackageSpec::new("vfy-unreadable", "1.0", "1").files([
        FileSpec::dir("/usr/share/vfy-u"),
        reg("/usr/share/vfy-u/secret", "secret\n"),
        reg("/usr/share/vfy-u/secret-grown", "secret\n"),
        FileSpec::dir("/usr/share/vfy-u/closed"),
        reg("/usr/share/vfy-u/closed/inside", "inside\n"),
    ]);
    let rpms = build_rpms(&[pkg], out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    mutate::chmod(&root, "/usr/share/vfy-u/secret", 0o000);
    mutate::append(&root, "/usr/share/vfy-u/secret-grown", b"more");
    mutate::chmod(&root, "/usr/share/vfy-u/secret-grown", 0o000);
    mutate::chmod(&root, "/usr/share/vfy-u/closed", 0o000);

    // rpm without the two capabilities: setpriv drops them from the bounding set.
    let mut cmd = Command::new(require_tool("setpriv"));
    cmd.args(["--bounding-set", "-dac_override,-dac_read_search"])
        .arg(require_tool("rpm"));
    cmd.arg("--root")
        .arg(root.path())
        .args(["--dbpath", "/var/lib/rpm", "-Va", "--nodeps"]);
    let rpm_out = cmd.output().unwrap().stdout;
    let report = without_dac_override(|| ours(&root));
    assert_eq!(show(&report.rpm_va_text()), show(&rpm_out));
    assert_eq!(columns_of(&rpm_out, "/usr/share/vfy-u/secret"), ".M?......");
    assert!(line_for(&rpm_out, b"/usr/share/vfy-u/closed/inside").is_some_and(|l| l.ends_with(b"(Permission denied)")));
}

/// The hex of a SHA-256, as FILEDIGESTS holds it.
fn sha256_hex(data: &[u8]) -> String {
    scanner_rpm_verify::digest::digest_bytes(rpmdb::package::DigestAlgo::Sha256, data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_header_edited_after_install_is_found_and_skipped_as_rpm_skips_it() {
    let out = tempfile::tempdir().unwrap();
    let victim = PackageSpec::new("vfy-victim", "1.0", "1").file(reg("/usr/bin/vfy-victim", "genuine\n").mode(0o755));
    let bystander =
        PackageSpec::new("vfy-bystander", "1.0", "1").file(reg("/usr/bin/vfy-bystander", "genuine too\n").mode(0o755));
    let rpms = build_rpms(&[victim, bystander], out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    // The attacker swaps the binary and writes its digest into the database, so that a
    // verifier trusting the header sees nothing.
    std::fs::write(root.host_path("/usr/bin/vfy-victim"), "trojan!\n").unwrap();
    mutate::append(&root, "/usr/bin/vfy-bystander", b"x");
    let db = root.db_dir().join("rpmdb.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let genuine = sha256_hex(b"genuine\n");
    let rows: Vec<(u32, Vec<u8>)> = {
        let mut stmt = conn.prepare("SELECT hnum, blob FROM Packages").unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    let (hnum, mut blob, at) = rows
        .into_iter()
        .find_map(|(n, b)| {
            let at = b.windows(genuine.len()).position(|w| w == genuine.as_bytes())?;
            Some((n, b, at))
        })
        .expect("the victim's FILEDIGESTS entry");
    blob[at..at + genuine.len()].copy_from_slice(sha256_hex(b"trojan!\n").as_bytes());
    conn.execute(
        "UPDATE Packages SET blob = ?1 WHERE hnum = ?2",
        rusqlite::params![blob, hnum],
    )
    .unwrap();
    drop(conn);

    let (rpm_out, rpm_err) = rpm_va(&root);
    assert!(
        rpm_err.contains("skipping"),
        "rpm should skip the edited header: {rpm_err}"
    );
    let report = ours(&root);
    assert_eq!(show(&report.rpm_va_text()), show(&rpm_out));
    assert!(line_for(&rpm_out, b"/usr/bin/vfy-bystander").is_some());
    assert_eq!(report.tampered_headers.len(), 1);
    let h = &report.tampered_headers[0];
    assert_eq!(
        (h.package.nvra.as_str(), h.package.header_number, h.tag),
        ("vfy-victim-1.0-1.x86_64", hnum, "SHA256HEADER")
    );

    let outcome = scanner_rpm_verify::outcome::outcome(&report, Policy::Pipeline, "rpm-verify");
    assert!(outcome.has_findings);
    assert!(
        outcome.summary.contains("1 package header no longer matches"),
        "{}",
        outcome.summary
    );
    assert_eq!(
        outcome.scan_results["rpmdb_header_issues"][0]["rpm"]["RPM"],
        "vfy-victim-1.0-1.x86_64"
    );
}

/// The real packages of tests/fixtures/rpms that install together (one curl only).
fn real_rpms() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpms");
    let mut rpms = Vec::new();
    for name in [
        "centos7-curl",
        "epel7-monkeysphere",
        "fedora22-ngircd",
        "fedora31-rpm-sign",
        "centos7-centos-release",
        "centos7-389-ds-base-devel",
        "fedora44-aws-tools",
    ] {
        for e in std::fs::read_dir(dir.join(name)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rpm") {
                rpms.push(p);
            }
        }
    }
    rpms
}

#[test]
fn real_signed_packages_verify_as_rpm_and_show_rpms_header_strings() {
    let root = TestRoot::new();
    root.install(&real_rpms(), &[]);
    let (clean, report) = assert_same_as_rpm(&root, "real packages, untouched");
    assert!(
        clean.is_empty(),
        "a fresh install should verify clean: {}",
        show(&clean)
    );
    assert_eq!(report.packages.len(), 7);

    // VENDOR, PACKAGER, BUILDHOST, name-version-release.arch and the signature line, as
    // rpm -q --qf prints them (the signature as `rpm -qi` chooses it).
    let qf = "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}|%{VENDOR}|%{PACKAGER}|%{BUILDHOST}|\
              %|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{%|SIGGPG?{%{SIGGPG:pgpsig}}:{%|SIGPGP?{%{SIGPGP:pgpsig}}:{(none)}|}|}|}|\n";
    let rpm_lines: Vec<String> = root.qa(qf).lines().map(str::to_string).collect();
    let our_lines: Vec<String> = report
        .packages
        .iter()
        .map(|p| format!("{}|{}|{}|{}|{}", p.nvra, p.vendor, p.packager, p.buildhost, p.signature))
        .collect();
    assert_eq!(our_lines, rpm_lines);
    assert!(our_lines.iter().any(|l| l.ends_with("Key ID 24c6a8a7f4a80eb5")));

    // Every real installed header matches its recorded digest.
    let r = Root::new(root.path()).unwrap();
    let mut installed = rpmdb::InstalledPackages::open(&r).unwrap();
    for p in installed.iter() {
        let p = p.unwrap();
        assert_eq!(header_digest::check(&p.header), HeaderDigest::Intact, "{}", p.nvra());
    }

    // A tampered binary: rpm and we agree, in the JSON too.
    mutate::rewrite_same_size(&root, "/usr/bin/curl");
    let (tampered, report) = assert_same_as_rpm(&root, "real packages, curl tampered");
    assert_eq!(show(&tampered), "..5......    /usr/bin/curl\n");
    let outcome = scanner_rpm_verify::outcome::outcome(&report, Policy::Pipeline, "rpm-verify");
    let issues = outcome.scan_results["rpmVa_issues"].as_array().unwrap();
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0]["filename"], "/usr/bin/curl");
    assert_eq!(issues[0]["issue"], "..5......");
    assert_eq!(issues[0]["config"], false);
    let curl = rpm_lines.iter().find(|l| l.starts_with("curl-")).unwrap();
    let fields: Vec<&str> = curl.split('|').collect();
    assert_eq!(issues[0]["rpm"]["RPM"], fields[0]);
    assert_eq!(issues[0]["rpm"]["VENDOR"], fields[1]);
    assert_eq!(issues[0]["rpm"]["PACKAGER"], fields[2]);
    assert_eq!(issues[0]["rpm"]["BUILDHOST"], fields[3]);
    assert_eq!(issues[0]["rpm"]["SIGNATURE"], fields[4]);
}

#[test]
fn header_digests_of_real_databases_match_and_the_broken_blob_does_not() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb");
    for (dir, file) in [
        ("amazonlinux2023-plain-sqlite", "rpmdb.sqlite"),
        ("cbl-mariner-2.0", "rpmdb.sqlite"),
        ("fedora36-tzdata-sqlite", "rpmdb.sqlite"),
        ("libuuid", "Packages"),
        ("rhel8-tzdata-bdb", "Packages"),
        ("custom-epoch-bdb", "Packages"),
        ("sle15-bci", "Packages.db"),
        ("sle15sp3-glibc-3pkg-ndb", "Packages.db"),
    ] {
        let db = rpmdb::db::Database::open_file(&fixtures.join(dir).join(file)).unwrap();
        let mut installed = rpmdb::InstalledPackages::from_database(db);
        let mut intact = 0;
        for p in installed.iter() {
            let p = p.unwrap();
            match header_digest::check(&p.header) {
                HeaderDigest::Intact => intact += 1,
                HeaderDigest::Unchecked => {}
                bad => panic!("{dir}: {}: {bad:?}", p.nvra()),
            }
        }
        assert!(intact > 0, "{dir}: no header had a digest to check");
    }
    let blob = std::fs::read(fixtures.join("blob/blob.bin")).unwrap();
    let h = rpmdb::header::Header::parse(blob).unwrap();
    assert!(
        matches!(
            header_digest::check(&h),
            HeaderDigest::Mismatch {
                tag: "SHA256HEADER",
                ..
            }
        ),
        "rpm rejects blob.bin's header digest"
    );
}

#[test]
fn the_default_scan_keeps_the_pipelines_policy() {
    let out = tempfile::tempdir().unwrap();
    let pkg = PackageSpec::new("vfy-policy", "1.0", "1").files([
        reg("/usr/bin/vfy-p-bin", "bin\n").mode(0o755),
        reg("/etc/vfy-p.conf", "c=1\n").config(),
        reg("/usr/share/doc/vfy-policy/NEWS", "news\n").doc(),
        reg("/usr/share/licenses/vfy-policy/COPYING", "gpl\n").license(),
        reg("/var/lib/vfy-p/state", "state\n"),
        reg("/boot/vfy-p-kernel", "kernel\n"),
        reg("/variable/vfy-p", "not under /var\n"),
        FileSpec::regular_bytes_path(b"/usr/bin/vfy-p-\xff-name", "odd name\n").mtime(MTIME),
    ]);
    let rpms = build_rpms(&[pkg], out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    for p in [
        "/usr/bin/vfy-p-bin",
        "/etc/vfy-p.conf",
        "/usr/share/doc/vfy-policy/NEWS",
        "/usr/share/licenses/vfy-policy/COPYING",
        "/var/lib/vfy-p/state",
        "/boot/vfy-p-kernel",
        "/variable/vfy-p",
    ] {
        mutate::append(&root, p, b"!");
    }
    let odd: &std::ffi::OsStr = std::os::unix::ffi::OsStrExt::from_bytes(&b"/usr/bin/vfy-p-\xff-name"[..]);
    std::fs::write(root.host_path(Path::new(odd)), "changed!!\n").unwrap();
    let (rpm_out, report) = assert_same_as_rpm(&root, "policy root");
    assert_eq!(show(&rpm_out).lines().count(), 8);

    let names = |policy: Policy| -> Vec<String> {
        let o = scanner_rpm_verify::outcome::outcome(&report, policy, "x");
        o.scan_results["rpmVa_issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["filename"].as_str().unwrap().to_string())
            .collect()
    };
    let mut default = names(Policy::Pipeline);
    default.sort();
    assert_eq!(
        default,
        ["/usr/bin/vfy-p-\\xff-name", "/usr/bin/vfy-p-bin", "/variable/vfy-p"]
    );
    assert_eq!(names(Policy::Everything).len(), 8);
    let all = scanner_rpm_verify::outcome::outcome(&report, Policy::Everything, "rpm-verify-all");
    let conf = all.scan_results["rpmVa_issues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filename"] == "/etc/vfy-p.conf")
        .unwrap();
    assert_eq!(conf["config"], true);
    assert_eq!(conf["issue"], "S.5....T.");
}

#[test]
fn an_extended_acl_is_a_mode_change_as_in_rpm_built_with_libacl() {
    let out = tempfile::tempdir().unwrap();
    let pkg = PackageSpec::new("vfy-acl", "1.0", "1").files([
        reg("/usr/bin/vfy-acl-named", "acl\n").mode(0o755),
        reg("/usr/bin/vfy-acl-base", "acl\n").mode(0o755),
    ]);
    let rpms = build_rpms(&[pkg], out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    // system.posix_acl_access: version 2; user::rwx, user:1000:r-x, group::r-x, mask::r-x,
    // other::r-x — and a base-only ACL, which is just the mode.
    let acl = |entries: &[(u16, u16, u32)]| {
        let mut v = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            v.extend_from_slice(&tag.to_le_bytes());
            v.extend_from_slice(&perm.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        v
    };
    let named = acl(&[
        (1, 7, u32::MAX),
        (2, 5, 1000),
        (4, 5, u32::MAX),
        (0x10, 5, u32::MAX),
        (0x20, 5, u32::MAX),
    ]);
    let base = acl(&[(1, 7, u32::MAX), (4, 5, u32::MAX), (0x20, 5, u32::MAX)]);
    for (path, value) in [("/usr/bin/vfy-acl-named", &named), ("/usr/bin/vfy-acl-base", &base)] {
        let c_path = std::ffi::CString::new(root.host_path(path).into_os_string().into_encoded_bytes()).unwrap();
        // SAFETY: NUL-terminated strings, a valid buffer.
        let rc = unsafe {
            libc::lsetxattr(
                c_path.as_ptr(),
                c"system.posix_acl_access".as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(rc, 0, "setting an ACL on {path}: {}", std::io::Error::last_os_error());
    }
    // Debian's rpm has no libacl: it sees nothing, and so do we when told to ignore ACLs.
    let (rpm_out, _) = assert_same_as_rpm(&root, "ACL root");
    assert!(rpm_out.is_empty());
    // rpm built with libacl (lib/verify.c, WITH_ACL) reports the named ACL as `M`.
    let r = Root::new(root.path()).unwrap();
    let with_acls = verify_root(&r, &Options { workers: 2, acls: true }).unwrap();
    assert_eq!(show(&with_acls.rpm_va_text()), ".M.......    /usr/bin/vfy-acl-named\n");
}

#[test]
fn every_file_digest_algorithm_is_checked_as_rpm_checks_it() {
    let out = tempfile::tempdir().unwrap();
    // _binary_filedigest_algorithm: 1 MD5 (CentOS 5), 2 SHA-1, 8 SHA-256 (the default),
    // 9 SHA-384, 10 SHA-512, 11 SHA-224.
    let specs: Vec<PackageSpec> = [1u32, 2, 8, 9, 10, 11]
        .iter()
        .map(|algo| {
            let dir = format!("/usr/lib/vfy-algo-{algo}");
            PackageSpec::new(&format!("vfy-algo-{algo}"), "1.0", "1")
                .define(&format!("_binary_filedigest_algorithm {algo}"))
                .files([
                    FileSpec::dir(&dir),
                    reg(&format!("{dir}/intact"), "intact content\n"),
                    reg(&format!("{dir}/rewritten"), "rewritten content\n"),
                    reg(&format!("{dir}/grown"), "grown content\n"),
                ])
        })
        .collect();
    let rpms = build_rpms(&specs, out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    let algos = root.qa("%{NAME} %{FILEDIGESTALGO}\n");
    for algo in [1, 2, 8, 9, 10, 11] {
        // MD5 is written as no FILEDIGESTALGO at all, as in CentOS 5's packages.
        let tag = if algo == 1 {
            "(none)".to_string()
        } else {
            algo.to_string()
        };
        assert!(
            algos.contains(&format!("vfy-algo-{algo} {tag}\n")),
            "rpmbuild ignored the algorithm: {algos}"
        );
        mutate::rewrite_same_size(&root, &format!("/usr/lib/vfy-algo-{algo}/rewritten"));
        mutate::append(&root, &format!("/usr/lib/vfy-algo-{algo}/grown"), b"+");
    }
    let (rpm_out, _) = assert_same_as_rpm(&root, "digest algorithms");
    for algo in [1, 2, 8, 9, 10, 11] {
        assert_eq!(
            columns_of(&rpm_out, &format!("/usr/lib/vfy-algo-{algo}/rewritten")),
            "..5......"
        );
        assert!(line_for(&rpm_out, format!("/usr/lib/vfy-algo-{algo}/intact").as_bytes()).is_none());
    }
}

#[test]
fn damaged_records_are_reported_and_the_other_packages_still_verified() {
    let out = tempfile::tempdir().unwrap();
    let pkg = PackageSpec::new("vfy-survivor", "1.0", "1").file(reg("/usr/bin/vfy-survivor", "alive\n").mode(0o755));
    let rpms = build_rpms(&[pkg], out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    mutate::append(&root, "/usr/bin/vfy-survivor", b"!");
    // A record that is not a header at all, and blob.bin: a real Fedora header whose
    // DIRINDEXES point past DIRNAMES and whose SHA256HEADER does not match.
    let blob_bin =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb/blob/blob.bin")).unwrap();
    let conn = rusqlite::Connection::open(root.db_dir().join("rpmdb.sqlite")).unwrap();
    conn.execute(
        "INSERT INTO Packages (hnum, blob) VALUES (500, ?1)",
        [vec![0u8, 0, 0, 9, 0xff, 0xff]],
    )
    .unwrap();
    conn.execute("INSERT INTO Packages (hnum, blob) VALUES (501, ?1)", [blob_bin])
        .unwrap();
    drop(conn);

    let (rpm_out, rpm_err) = rpm_va(&root);
    assert!(rpm_err.contains("skipping"), "{rpm_err}");
    let report = ours(&root);
    assert_eq!(show(&report.rpm_va_text()), show(&rpm_out));
    assert_eq!(columns_of(&rpm_out, "/usr/bin/vfy-survivor"), "S.5....T.");
    assert_eq!(report.bad_packages.len(), 1, "{:?}", report.bad_packages);
    assert_eq!(report.bad_packages[0].header_number, Some(500));
    assert_eq!(report.tampered_headers.len(), 1);
    assert_eq!(report.tampered_headers[0].package.header_number, 501);
    let outcome = scanner_rpm_verify::outcome::outcome(&report, Policy::Pipeline, "rpm-verify");
    assert_eq!(outcome.scan_results["unverified_packages"][0]["header_number"], 500);
    assert_eq!(
        outcome.scan_results["rpmVa_issues"][0]["filename"],
        "/usr/bin/vfy-survivor"
    );
}
