//! Differential tests of the `rpmdb` library against the real `rpm`: packages built with
//! rpmbuild, installed with `rpm --root R --dbpath /var/lib/rpm`, then listed by both.

mod harness;

use harness::{build_rpms, FileSpec, PackageSpec, TestRoot};

#[test]
fn harness_smoke() {
    let out = tempfile::tempdir().unwrap();
    let pkg = PackageSpec::new("smoke", "1.0~rc1^git2", "1")
        .epoch(3)
        .arch("noarch")
        .file(FileSpec::dir("/usr/share/smoke"))
        .file(FileSpec::regular("/usr/share/smoke/a", b"hello\n"))
        .file(FileSpec::hard_link("/usr/share/smoke/b", "/usr/share/smoke/a"))
        .file(FileSpec::symlink("/usr/share/smoke/c", "a"))
        .file(FileSpec::regular_bytes_path(b"/usr/share/smoke/n\xffx", b"x"))
        .file(FileSpec::regular("/etc/smoke.conf", b"x=1\n").config_noreplace())
        .file(FileSpec::char_device("/dev/smoke", 1, 3).mode(0o666))
        .file(FileSpec::ghost("/var/log/smoke.log"))
        .file(
            FileSpec::regular("/usr/bin/smoke", b"#!/bin/sh\n")
                .mode(0o755)
                .caps("cap_net_raw=ep"),
        );
    let rpms = build_rpms(&[pkg], out.path());
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    assert_eq!(root.qa("%{NAME} %{EPOCH} %{VERSION}\n"), "smoke 3 1.0~rc1^git2\n");
    for layout in [harness::BdbLayout::BIG_ENDIAN, harness::BdbLayout::SMALL_PAGES] {
        let bdb = harness::bdb_copy(&root, layout);
        assert_eq!(bdb.qa("%{NAME} %{DBINSTANCE}\n"), "smoke 1\n");
        let q = bdb.rpm_ok(&["-q", "smoke"]);
        assert_eq!(String::from_utf8_lossy(&q), "smoke-1.0~rc1^git2-1.noarch\n");
        let f = bdb.rpm_ok(&["-qf", "/usr/share/smoke/b"]);
        assert_eq!(String::from_utf8_lossy(&f), "smoke-1.0~rc1^git2-1.noarch\n");
    }
}
