//! Differential tests of the `rpmdb` library against the real `rpm` (issue 2).
//!
//! A zoo of packages is built with rpmbuild (epochs absent, 0 and large; `~` and `^`;
//! release-only differences; every file kind and attribute rpm knows), installed with
//! Debian's `rpm --root R --dbpath /var/lib/rpm` in several transactions so that every
//! FILESTATES value occurs (normal, replaced, not installed, net shared, wrong colour), and
//! then both sides list the same root: rpm with `-qa --qf`, we with
//! `rpmdb::InstalledPackages`. Package fields and every per-file field must agree byte for
//! byte. The same comparisons run again on Berkeley DB copies of the database
//! (little-endian, big-endian, 512-byte pages), read by rpm with `_db_backend bdb_ro`.
//!
//! Signatures come from the real signed packages in `tests/fixtures/rpms/`, compared under
//! the ambient TZ and, by re-running this test binary, under fixed foreign time zones.

use crate::harness;

use harness::sign::{SignOptions, SigningKey};
use harness::{bdb_copy, build_rpms, BdbLayout, FileSpec, PackageSpec, TestRoot};
use rpmdb::package::Package;
use rpmdb::root::Root;
use rpmdb::InstalledPackages;
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A minimal 32-bit x86 ELF header: libmagic calls it "ELF 32-bit LSB executable", so
/// rpmbuild gives it file colour 1.
fn elf32() -> Vec<u8> {
    let mut h = vec![0u8; 52];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 1; // ELFCLASS32
    h[5] = 1; // little-endian
    h[6] = 1; // EV_CURRENT
    h[16] = 2; // ET_EXEC
    h[18] = 3; // EM_386
    h[20] = 1; // e_version
    h[40] = 52; // e_ehsize
    h
}

/// A minimal 64-bit x86-64 ELF header (colour 2).
fn elf64() -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1;
    h[6] = 1;
    h[16] = 2;
    h[18] = 0x3e; // EM_X86_64
    h[20] = 1;
    h[52] = 64; // e_ehsize
    h
}

/// The packages of the main root, by install transaction.
struct ZooSpecs {
    /// Installed first, plain `rpm -i`.
    main: Vec<PackageSpec>,
    /// Installed with `--excludedocs`: their docs are "not installed" (FILESTATES 2).
    excludedocs: Vec<PackageSpec>,
    /// Installed with `--replacefiles`, taking over a file of `main`: "replaced" (1).
    replacing: Vec<PackageSpec>,
    /// Installed with `_netsharedpath /srv/net`: "net shared" (3).
    netshared: Vec<PackageSpec>,
}

fn zoo_specs() -> ZooSpecs {
    let long_base = "l".repeat(230);
    let long_dir = format!("/usr/share/zoo/{}/{}", "d".repeat(120), "e".repeat(120));
    let everything = PackageSpec::new("zoo-files", "1.0", "1")
        .vendor("Harness Vendor")
        .packager("Harness Packager <harness@example.org>")
        .url("https://example.org/zoo")
        .file(FileSpec::dir("/usr/share/zoo"))
        .file(FileSpec::dir("/usr/share/zoo/empty-dir").mode(0o700))
        .file(FileSpec::regular("/usr/share/zoo/plain", b"plain file\n"))
        .file(FileSpec::regular("/usr/share/zoo/empty", b""))
        .file(FileSpec::regular("/usr/share/zoo/with space", b"space\n"))
        .file(FileSpec::regular("/usr/share/zoo/old-mtime", b"old\n").mtime(315_532_800))
        .file(FileSpec::regular("/usr/share/zoo/link-a", b"three names, one inode\n"))
        .file(FileSpec::hard_link("/usr/share/zoo/link-b", "/usr/share/zoo/link-a"))
        .file(FileSpec::hard_link(
            "/usr/share/zoo/sub/link-c",
            "/usr/share/zoo/link-a",
        ))
        .file(FileSpec::dir("/usr/share/zoo/sub"))
        .file(FileSpec::symlink("/usr/share/zoo/rel-symlink", "plain"))
        .file(FileSpec::symlink("/usr/share/zoo/abs-symlink", "/etc/zoo.conf"))
        .file(FileSpec::symlink("/usr/share/zoo/dangling", "/nonexistent/target"))
        .file(FileSpec::regular(
            format!("/usr/share/zoo/{long_base}"),
            b"long basename\n",
        ))
        .file(FileSpec::dir(format!("/usr/share/zoo/{}", "d".repeat(120))))
        .file(FileSpec::dir(&long_dir))
        .file(FileSpec::regular(format!("{long_dir}/{long_base}"), b"long path\n"))
        .file(FileSpec::regular_bytes_path(
            b"/usr/share/zoo/latin1-\xe9t\xe9",
            b"latin-1 name\n",
        ))
        .file(FileSpec::regular_bytes_path(
            b"/usr/share/zoo/raw-\xff\xfe",
            b"invalid utf-8\n",
        ))
        .file(FileSpec::regular("/usr/share/zoo/utf8-été-日本", b"utf-8 name\n"))
        .file(FileSpec::regular("/etc/zoo.conf", b"config=1\n").config())
        .file(FileSpec::regular("/etc/zoo-noreplace.conf", b"config=2\n").config_noreplace())
        .file(FileSpec::regular("/etc/zoo-missingok.conf", b"config=3\n").config_missingok())
        .file(FileSpec::regular("/usr/share/doc/zoo/README", b"read me\n").doc())
        .file(FileSpec::regular("/usr/share/licenses/zoo/COPYING", b"MIT\n").license())
        .file(FileSpec::regular("/usr/share/zoo/readme-attr", b"readme\n").readme())
        .file(FileSpec::ghost("/var/log/zoo.log"))
        .file(FileSpec::regular("/var/lib/zoo/state", b"ghost with content\n").ghost_attr())
        .file(FileSpec::sparse("/var/lib/zoo/huge.img", 5 * 1024 * 1024 * 1024 + 17).ghost_attr())
        .file(FileSpec::regular("/usr/share/zoo/noverify", b"changes\n").verify_not("md5 size mtime"))
        .file(
            FileSpec::regular("/usr/share/zoo/noverify-all", b"changes\n")
                .verify_not("md5 size mtime mode user group link rdev caps"),
        )
        .file(
            FileSpec::regular("/usr/share/zoo/owned", b"owned\n")
                .mode(0o640)
                .owner("nobody", "nogroup"),
        )
        .file(FileSpec::regular("/usr/bin/zoo-suid", elf64()).mode(0o4755))
        .file(
            FileSpec::regular("/usr/bin/zoo-caps", elf64())
                .mode(0o755)
                .caps("cap_net_raw,cap_net_admin=ep"),
        )
        .file(FileSpec::regular("/usr/share/zoo/de.mo", b"lang\n").attr("%lang(de)"))
        .file(FileSpec::char_device("/dev/zoo-null", 1, 3).mode(0o666))
        .file(
            FileSpec::block_device("/dev/zoo-loop", 7, 200)
                .mode(0o660)
                .owner("root", "disk"),
        )
        .file(FileSpec::char_device("/dev/zoo-full", 1, 7).mode(0o600));

    let main = vec![
        everything,
        PackageSpec::new("zoo-epoch0", "2.0~beta1", "1.fc99")
            .epoch(0)
            .arch("noarch"),
        PackageSpec::new("zoo-bigepoch", "1", "1")
            .epoch(2_147_483_647)
            .arch("noarch"),
        PackageSpec::new("zoo-caret", "1.0^20230101git1a2b", "0.1~pre").arch("noarch"),
        PackageSpec::new("zoo-tilde-caret", "1.0~rc1^post", "1~~").epoch(1),
        // Same name and version, only the release differs: both installed (like kernels).
        PackageSpec::new("zoo-rel", "3.0", "1")
            .arch("noarch")
            .file(FileSpec::regular("/usr/share/zoo-rel/r1", b"1\n")),
        PackageSpec::new("zoo-rel", "3.0", "1.1")
            .arch("noarch")
            .file(FileSpec::regular("/usr/share/zoo-rel/r1.1", b"1.1\n")),
        // Multilib pair sharing a path with different ELF colours: the i686 copy of
        // /usr/bin/zoo-multi loses (FILESTATES "wrong color").
        PackageSpec::new("zoo-multi", "1", "1")
            .arch("x86_64")
            .file(FileSpec::regular("/usr/bin/zoo-multi", elf64()).mode(0o755))
            .file(FileSpec::regular("/usr/share/zoo-multi/common", b"same in both\n")),
        PackageSpec::new("zoo-multi", "1", "1")
            .arch("i686")
            .file(FileSpec::regular("/usr/bin/zoo-multi", elf32()).mode(0o755))
            .file(FileSpec::regular("/usr/share/zoo-multi/common", b"same in both\n")),
        PackageSpec::new("zoo-empty", "0", "0")
            .arch("noarch")
            .summary("no files at all"),
        // File digests in every algorithm rpm writes (FILEDIGESTALGO absent means MD5).
        PackageSpec::new("zoo-md5", "1", "1")
            .arch("noarch")
            .define("_binary_filedigest_algorithm 1")
            .file(FileSpec::regular("/usr/share/zoo-digests/md5", b"md5\n")),
        PackageSpec::new("zoo-sha1", "1", "1")
            .arch("noarch")
            .define("_binary_filedigest_algorithm 2")
            .file(FileSpec::regular("/usr/share/zoo-digests/sha1", b"sha1\n")),
        PackageSpec::new("zoo-sha384", "1", "1")
            .arch("noarch")
            .define("_binary_filedigest_algorithm 9")
            .file(FileSpec::regular("/usr/share/zoo-digests/sha384", b"sha384\n")),
        PackageSpec::new("zoo-sha512", "1", "1")
            .arch("noarch")
            .define("_binary_filedigest_algorithm 10")
            .file(FileSpec::regular("/usr/share/zoo-digests/sha512", b"sha512\n")),
        PackageSpec::new("zoo-sha224", "1", "1")
            .arch("noarch")
            .define("_binary_filedigest_algorithm 11")
            .file(FileSpec::regular("/usr/share/zoo-digests/sha224", b"sha224\n")),
        PackageSpec::new("zoo-module", "5.30.1", "452.module_el8.3.0+2+a1b2c3d4")
            .arch("noarch")
            .modularity_label("perl:5.30:8030020200629145156:3a33b840")
            .file(FileSpec::regular("/usr/share/zoo-module/m", b"module\n")),
        PackageSpec::new("zoo-shared", "1", "1")
            .arch("noarch")
            .file(FileSpec::dir("/usr/share/zoo"))
            .file(FileSpec::regular("/usr/share/zoo-victim", b"will be replaced\n")),
    ];
    let excludedocs = vec![PackageSpec::new("zoo-docs", "1", "1")
        .arch("noarch")
        .file(FileSpec::regular("/usr/share/doc/zoo-docs/README", b"doc\n").doc())
        .file(FileSpec::regular("/usr/share/licenses/zoo-docs/COPYING", b"license\n").license())
        .file(FileSpec::regular("/usr/share/zoo-docs/data", b"data\n"))];
    let replacing = vec![PackageSpec::new("zoo-replacer", "1", "1")
        .arch("noarch")
        .file(FileSpec::regular("/usr/share/zoo-victim", b"the replacement\n"))];
    let netshared = vec![PackageSpec::new("zoo-net", "1", "1")
        .arch("noarch")
        .file(FileSpec::regular("/srv/net/shared", b"net\n"))
        .file(FileSpec::regular("/usr/share/zoo-net/local", b"local\n"))];
    ZooSpecs {
        main,
        excludedocs,
        replacing,
        netshared,
    }
}

/// The built packages and the root they are installed in (SQLite database).
struct Zoo {
    /// The packages of the first (plain) transaction.
    main: Vec<PathBuf>,
    root: TestRoot,
}

fn zoo() -> &'static Zoo {
    static ZOO: OnceLock<Zoo> = OnceLock::new();
    ZOO.get_or_init(|| {
        let specs = zoo_specs();
        let dir = harness::scratch::process_tempdir("zoo-rpms-");
        let all: Vec<PackageSpec> = specs
            .main
            .iter()
            .chain(&specs.excludedocs)
            .chain(&specs.replacing)
            .chain(&specs.netshared)
            .cloned()
            .collect();
        let rpms = build_rpms(&all, &dir);
        let (main, rest) = rpms.split_at(specs.main.len());
        let (excludedocs, rest) = rest.split_at(specs.excludedocs.len());
        let (replacing, netshared) = rest.split_at(specs.replacing.len());
        let root = TestRoot::new_for_process();
        root.install(main, &[]);
        root.install(excludedocs, &["--excludedocs"]);
        root.install(replacing, &["--replacefiles"]);
        root.install(netshared, &["--define", "_netsharedpath /srv/net"]);
        Zoo {
            main: main.to_vec(),

            root,
        }
    })
}

/// Real packages signed by their distributions (one curl only: they share paths).
fn fixture_rpms() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpms");
    let mut out = Vec::new();
    for sub in [
        "centos7-curl",
        "centos7-389-ds-base-devel",
        "centos7-centos-release",
        "epel7-monkeysphere",
        "fedora22-ngircd",
        "fedora31-rpm-sign",
        "fedora44-aws-tools",
    ] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rpm") {
                out.push(p);
            }
        }
    }
    assert_eq!(out.len(), 7, "fixture rpms missing under {}", dir.display());
    out
}

/// A root holding the signed fixture packages and packages we signed ourselves with every
/// algorithm and signature tag rpm shows, at creation times on both sides of DST changes.
struct Signed {
    root: TestRoot,
}

fn signed() -> &'static Signed {
    static SIGNED: OnceLock<Signed> = OnceLock::new();
    SIGNED.get_or_init(|| {
        let dir = harness::scratch::process_tempdir("signed-rpms-");
        // (key algorithm, digest, legacy v3 signature too, creation time)
        let variants: [(&str, &str, bool, u64); 6] = [
            ("rsa2048", "sha256", false, 1_404_459_524), // 2014-07-04, summer time
            ("rsa2048", "sha1", true, 1_000_000_000),    // 2001-09-09: SIGPGP as well
            ("rsa2048", "sha512", false, 1_704_067_199), // 2023-12-31 23:59:59 UTC
            ("dsa2048", "sha256", true, 1_268_000_000),  // DSAHEADER + SIGGPG
            ("dsa1024", "sha1", false, 1_636_264_800),   // 2021-11-07: a DST change; DSA/SHA1 as CentOS 5
            ("ed25519", "sha256", false, 1_700_000_000), // EdDSA (in DSAHEADER)
        ];
        let specs: Vec<PackageSpec> = (0..variants.len())
            .map(|i| {
                PackageSpec::new(&format!("signed-{i}"), "1", "1")
                    .arch("noarch")
                    .file(FileSpec::regular(format!("/usr/share/signed-{i}/f"), b"signed\n"))
            })
            .collect();
        let mut rpms = build_rpms(&specs, &dir);
        let mut keys: BTreeMap<&str, SigningKey> = BTreeMap::new();
        for (rpm, (algo, digest, rpmv3, time)) in rpms.iter().zip(variants) {
            let key = keys.entry(algo).or_insert_with(|| SigningKey::generate(algo));
            key.sign(
                rpm,
                &SignOptions {
                    time: Some(time),
                    digest_algo: Some(digest.to_string()),
                    rpmv3,
                },
            );
        }
        rpms.extend(fixture_rpms());
        let root = TestRoot::new_for_process();
        root.install(&rpms, &[]);
        Signed { root }
    })
}

// ---------------------------------------------------------------------------------------
// The two sides of each comparison: rpm's `-qa --qf` output and ours, as lines keyed by
// header number (rpm's BDB walk order is the hash's, so order is compared separately).
// ---------------------------------------------------------------------------------------

/// rpm 4.18's SIGNATURE string (the query format `rpm -qi` uses).
const SIGNATURE_QF: &str = "%|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{%|SIGGPG?{%{SIGGPG:pgpsig}}:{%|SIGPGP?{%{SIGPGP:pgpsig}}:{(none)}|}|}|}|";

/// Package fields, tab-separated, one line per package, led by the header number.
/// LONGSIZE falls back to SIZE in rpm's tag extensions, as our `size()` does.
fn package_qf() -> String {
    [
        "%{DBINSTANCE}",
        "%{NAME}",
        "%{EPOCH}",
        "%{VERSION}",
        "%{RELEASE}",
        "%{ARCH}",
        "%{VENDOR}",
        "%{PACKAGER}",
        "%{BUILDHOST}",
        "%{SOURCERPM}",
        "%{MODULARITYLABEL}",
        "%{SUMMARY}",
        "%{LICENSE}",
        "%{BUILDTIME}",
        "%{INSTALLTIME}",
        "%{LONGSIZE}",
        "%|FILEDIGESTALGO?{%{FILEDIGESTALGO}}:{1}|",
        "%{SHA256HEADER}",
        "%{SHA1HEADER}",
        SIGNATURE_QF,
    ]
    .join("\t")
        + "\n"
}

fn none_or<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "(none)".to_string(), |v| v.to_string())
}

fn our_package_line(p: &Package) -> Vec<u8> {
    let fields = [
        p.header_number.to_string(),
        p.name.clone(),
        none_or(p.epoch),
        p.version.clone(),
        p.release.clone(),
        p.arch_or_none().to_string(),
        none_or(p.vendor()),
        none_or(p.packager()),
        none_or(p.buildhost()),
        none_or(p.source_rpm()),
        none_or(p.modularity_label()),
        none_or(p.summary()),
        none_or(p.license()),
        none_or(p.build_time()),
        none_or(p.install_time()),
        none_or(p.size()),
        p.digest_algo().code().to_string(),
        none_or(p.sha256_header()),
        none_or(p.sha1_header()),
        p.signature().to_rpm_string(),
    ];
    (fields.join("\t") + "\n").into_bytes()
}

/// Every per-file field, one line per file, led by the header number. FILECAPS is absent
/// from headers without capabilities (rpm prints `(none)`): that is "no capability".
fn file_qf() -> String {
    let fields = [
        "%{=DBINSTANCE}",
        "%{FILENAMES}",
        "%{FILEMODES}",
        "%{LONGFILESIZES}",
        "%{FILEDIGESTS}",
        "%{FILELINKTOS}",
        "%{FILEUSERNAME}",
        "%{FILEGROUPNAME}",
        "%{FILEMTIMES}",
        "%{FILERDEVS}",
        "%{FILEFLAGS}",
        "%{FILEVERIFYFLAGS}",
        "%{FILESTATES}",
        "%|FILECAPS?{%{FILECAPS}}:{}|",
        "%{FILECOLORS}",
        "%{FILEINODES}",
        "%{FILEDEVICES}",
        "%{FILELANGS}",
    ];
    format!("[{}\n]", fields.join("\t"))
}

fn our_file_lines(p: &Package) -> Vec<u8> {
    let files = p.files().unwrap_or_else(|e| panic!("{}: files: {e}", p.nvra()));
    let mut out = Vec::new();
    for f in files {
        out.extend_from_slice(format!("{}\t", p.header_number).as_bytes());
        out.extend_from_slice(f.path.as_os_str().as_bytes());
        let rest = format!("\t{}\t{}\t{}\t", f.mode, f.size, f.digest.as_deref().unwrap_or(""));
        out.extend_from_slice(rest.as_bytes());
        out.extend_from_slice(f.link_target.as_os_str().as_bytes());
        let rest = format!(
            "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            f.user,
            f.group,
            f.mtime,
            f.rdev,
            f.flags.0,
            f.verify_flags,
            f.state.code(),
            f.caps.as_deref().unwrap_or(""),
            f.color,
            f.inode,
            f.device,
            f.lang
        );
        out.extend_from_slice(rest.as_bytes());
    }
    out
}

/// Lines keyed by their leading header number, in order of appearance within each key.
fn by_header(text: &[u8]) -> BTreeMap<u32, Vec<Vec<u8>>> {
    let mut map: BTreeMap<u32, Vec<Vec<u8>>> = BTreeMap::new();
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let tab = line.iter().position(|&b| b == b'\t').unwrap_or(line.len());
        let n: u32 = std::str::from_utf8(&line[..tab])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("line without a header number: {}", String::from_utf8_lossy(line)));
        map.entry(n).or_default().push(line.to_vec());
    }
    map
}

/// Compare rpm's lines with ours, header by header, and fail listing every difference.
fn assert_same(what: &str, root: &TestRoot, theirs: &[u8], ours: &[u8]) {
    let (t, o) = (by_header(theirs), by_header(ours));
    let mut diffs = Vec::new();
    for n in t.keys().chain(o.keys()).collect::<std::collections::BTreeSet<_>>() {
        let (tl, ol) = (
            t.get(n).cloned().unwrap_or_default(),
            o.get(n).cloned().unwrap_or_default(),
        );
        if tl != ol {
            let show = |v: &[Vec<u8>]| {
                v.iter()
                    .map(|l| format!("    {}", String::from_utf8_lossy(l).escape_debug()))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let (tl, ol): (Vec<_>, Vec<_>) = (
                tl.iter().filter(|l| !ol.contains(l)).cloned().collect(),
                ol.iter().filter(|l| !tl.contains(l)).cloned().collect(),
            );
            diffs.push(format!("header #{n}:\n  rpm:\n{}\n  ours:\n{}", show(&tl), show(&ol)));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what} on {} differ from rpm's ({} headers):\n{}",
        root.path().display(),
        diffs.len(),
        diffs.join("\n")
    );
}

/// Our packages of a root, every one readable (a read error fails the test).
fn our_packages(root: &TestRoot) -> Vec<Package> {
    let r = Root::new(root.path()).unwrap();
    let mut installed = InstalledPackages::open(&r).unwrap_or_else(|e| panic!("opening the database: {e}"));
    installed
        .iter()
        .map(|p| p.unwrap_or_else(|e| panic!("reading a package: {e}")))
        .collect()
}

/// Package list, package fields and every per-file field agree with rpm on this root;
/// the package order too when `same_order` (SQLite: both walk header numbers upwards).
fn assert_root_matches_rpm(root: &TestRoot, same_order: bool) {
    let ours = our_packages(root);
    let theirs_pkgs = root.qa_bytes(&package_qf());
    let ours_pkgs: Vec<u8> = ours.iter().flat_map(our_package_line).collect();
    assert!(!ours.is_empty(), "no packages read from {}", root.path().display());
    assert_same("package fields", root, &theirs_pkgs, &ours_pkgs);
    if same_order {
        let theirs_order = root.qa("%{DBINSTANCE}\n");
        let ours_order: String = ours.iter().map(|p| format!("{}\n", p.header_number)).collect();
        assert_eq!(ours_order, theirs_order, "package order differs from rpm -qa's");
    }
    let theirs_files = root.qa_bytes(&file_qf());
    let ours_files: Vec<u8> = ours.iter().flat_map(our_file_lines).collect();
    assert_same("file fields", root, &theirs_files, &ours_files);
}

/// The zoo must really contain what it claims to test (rpm's view, not ours): every
/// FILESTATES value, huge sizes, devices, capabilities, hard links, both ELF colours,
/// non-UTF-8 and 200+-byte names, epochs absent / 0 / large, `~` and `^`.
#[test]
fn zoo_covers_every_case() {
    let root = &zoo().root;
    let files =
        root.qa_bytes("[%{FILESTATES} %{FILECOLORS} %{FILEMODES:perms} %{FILECAPS} %{LONGFILESIZES} %{FILENAMES}\n]");
    let text = String::from_utf8_lossy(&files);
    for state in 0..=4 {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{state} "))),
            "no file in FILESTATES {state}"
        );
    }
    for needle in [
        " 1 -",
        " 2 -",
        " c",
        " b",
        "cap_net_raw",
        " 5368709137 ",
        "l".repeat(230).as_str(),
    ] {
        assert!(text.contains(needle), "no file matching {needle:?}");
    }
    assert!(files.windows(2).any(|w| w == b"\xff\xfe"), "no non-UTF-8 file name");
    let pkgs = root.qa("%{EPOCH}:%{VERSION}-%{RELEASE}\n");
    for needle in ["(none):", "0:", "2147483647:", "~", "^"] {
        assert!(pkgs.contains(needle), "no package with {needle:?} in its EVR");
    }
    let algos = root.qa("%|FILEDIGESTALGO?{%{FILEDIGESTALGO}}:{absent}|\n");
    for algo in ["absent", "2", "8", "9", "10", "11"] {
        assert!(
            algos.lines().any(|l| l == algo),
            "no package with FILEDIGESTALGO {algo}"
        );
    }
    let links = root.qa("[%{FILEINODES}\n]");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    links.lines().for_each(|l| *counts.entry(l).or_default() += 1);
    assert!(counts.values().any(|&c| c >= 3), "no hard-link set of three");
}

#[test]
fn sqlite_root_matches_rpm() {
    assert_root_matches_rpm(&zoo().root, true);
}

/// `rpmdb-query --files` (the benchmark's command) prints what rpm prints for the same query:
/// `name epoch version release arch`, then `  path mode(octal) digest size user group flags`
/// per file, with `-` for an empty digest.
fn assert_rpmdb_query_files_match_rpm(root: &TestRoot, rpm_args: &[&str]) {
    let qf = "%{NAME} %|EPOCH?{%{EPOCH}}:{(none)}| %{VERSION} %{RELEASE} %|ARCH?{%{ARCH}}:{(none)}|\n\
              [  %{FILENAMES} %{FILEMODES:octal} %{FILEDIGESTS} %{LONGFILESIZES} %{FILEUSERNAME} \
              %{FILEGROUPNAME} %{FILEFLAGS}\n]";
    let mut args: Vec<&str> = rpm_args.to_vec();
    args.extend(["-qa", "--qf", qf]);
    let theirs = root.rpm_ok(&args);
    // rpm prints an empty digest as nothing: the digest is the fifth field from the end.
    let theirs: Vec<Vec<u8>> = theirs
        .split(|&b| b == b'\n')
        .map(|line| {
            if !line.starts_with(b"  ") {
                return line.to_vec();
            }
            let mut fields: Vec<&[u8]> = line.rsplitn(7, |&b| b == b' ').collect();
            if fields.len() == 7 && fields[4].is_empty() {
                fields[4] = b"-";
            }
            fields.reverse();
            fields.join(&b' ')
        })
        .collect();
    let bins = harness::hostile::scanner_binaries();
    let out = std::process::Command::new(&bins.rpmdb_query)
        .arg("--root")
        .arg(root.path())
        .arg("--files")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rpmdb-query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<Vec<u8>> = out.stdout.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    // Compared as sorted per-package blocks: the package order is checked elsewhere.
    let blocks = |lines: &[Vec<u8>]| {
        let mut blocks: Vec<Vec<Vec<u8>>> = Vec::new();
        for l in lines.iter().filter(|l| !l.is_empty()) {
            if l.starts_with(b"  ") {
                blocks
                    .last_mut()
                    .expect("a file line before any package")
                    .push(l.clone());
            } else {
                blocks.push(vec![l.clone()]);
            }
        }
        blocks.sort();
        blocks
    };
    let (theirs, ours) = (blocks(&theirs), blocks(&ours));
    let lines = ours.iter().map(Vec::len).sum::<usize>();
    assert!(lines > 50, "too few lines to compare: {lines}");
    let show = |b: &[Vec<Vec<u8>>]| {
        b.iter()
            .flatten()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let differing: Vec<_> = theirs.iter().zip(&ours).filter(|(t, o)| t != o).collect();
    assert!(
        theirs == ours,
        "rpmdb-query --files differs from rpm on {}; first differing package:\nrpm:\n{}\nours:\n{}",
        root.path().display(),
        differing
            .first()
            .map_or(String::new(), |(t, _)| show(std::slice::from_ref(t))),
        differing
            .first()
            .map_or(String::new(), |(_, o)| show(std::slice::from_ref(o))),
    );
}

#[test]
fn rpmdb_query_files_output_matches_rpm() {
    assert_rpmdb_query_files_match_rpm(&zoo().root, &[]);
}

#[test]
fn sysimage_layout_matches_rpm() {
    // Fedora 36+: the database in usr/lib/sysimage/rpm, var/lib/rpm a symlink to it.
    let dir = tempfile::tempdir().unwrap();
    let rpms = build_rpms(&zoo_specs().main[..3], dir.path());
    let root = TestRoot::new_sysimage();
    root.install(&rpms, &[]);
    assert!(root.path().join("usr/lib/sysimage/rpm/rpmdb.sqlite").is_file());
    assert_root_matches_rpm(&root, true);
}

/// Rows committed to `rpmdb.sqlite-wal` but not checkpointed (and no `-shm`): three headers
/// added, one removed. We must read what rpm reads: the WAL's view, not the main file's.
#[test]
fn sqlite_rows_only_in_wal_match_rpm() {
    let zoo = zoo();
    let root = TestRoot::new();
    root.install(&zoo.main[1..6], &[]);
    let before = root.qa("%{NAME}\n");
    let blobs = harness::bdb::sqlite_headers(&zoo.root);
    let big = blobs.iter().max_by_key(|(_, b)| b.len()).unwrap().1.clone();
    let add = vec![(100, big), (101, blobs[0].1.clone()), (4000, blobs[1].1.clone())];
    harness::wal::commit_to_wal_only(&root, &add, &[2]);
    assert_root_matches_rpm(&root, true);
    let after = root.qa("%{NAME}\n");
    assert!(
        after.contains("zoo-files") && !before.contains("zoo-files"),
        "rpm does not see the WAL rows"
    );
    assert_eq!(after.lines().count(), before.lines().count() + 2);
}

/// Hundreds of records (each zoo header 40 times): Berkeley DB chains hash pages within a
/// bucket (next_pgno), as in real databases of a few hundred packages; both byte orders.
#[test]
fn bdb_chained_bucket_pages_match_rpm() {
    for layout in [BdbLayout::CROWDED, BdbLayout::BIG_ENDIAN_CROWDED] {
        let copy = bdb_copy(&zoo().root, layout);
        let stat = harness::bdb::bdb_stat(&copy);
        assert!(
            harness::bdb::bdb_stat_number(&stat, "Number of bucket overflow pages") > 0,
            "{stat}"
        );
        let order = if layout.big_endian {
            "Big-endian"
        } else {
            "Little-endian"
        };
        assert!(stat.contains(&format!("{order}\tByte order")), "{stat}");
        assert_root_matches_rpm(&copy, false);
    }
}

#[test]
fn bdb_little_endian_matches_rpm() {
    let root = bdb_copy(&zoo().root, BdbLayout::LITTLE_ENDIAN);
    assert_root_matches_rpm(&root, false);
    assert_rpmdb_query_files_match_rpm(&root, &[]);
}

#[test]
fn bdb_big_endian_matches_rpm() {
    assert_root_matches_rpm(&bdb_copy(&zoo().root, BdbLayout::BIG_ENDIAN), false);
}

#[test]
fn bdb_small_pages_matches_rpm() {
    let copy = bdb_copy(&zoo().root, BdbLayout::SMALL_PAGES);
    let stat = harness::bdb::bdb_stat(&copy);
    assert!(
        harness::bdb::bdb_stat_number(&stat, "Number of overflow pages") > 0,
        "{stat}"
    );
    assert_root_matches_rpm(&copy, false);
}

#[test]
fn bdb_big_endian_small_pages_matches_rpm() {
    assert_root_matches_rpm(&bdb_copy(&zoo().root, BdbLayout::BIG_ENDIAN_SMALL_PAGES), false);
}

/// Signatures (and everything else) of real distribution packages and of packages signed
/// here with RSA, DSA and EdDSA keys, v4 header and legacy v3 tags, under the ambient TZ.
#[test]
fn signed_packages_match_rpm() {
    let root = &signed().root;
    let sigs = root.qa(&format!("{SIGNATURE_QF}\n"));
    for needle in [
        "RSA/SHA256",
        "RSA/SHA1",
        "RSA/SHA512",
        "DSA/SHA256",
        "DSA/SHA1",
        "EdDSA/SHA256",
        "(none)",
    ] {
        assert!(sigs.contains(needle), "no {needle} signature among:\n{sigs}");
    }
    for tag in ["SIGPGP", "SIGGPG", "RSAHEADER", "DSAHEADER"] {
        let present = root.qa(&format!("%|{tag}?{{yes}}:{{no}}|\n"));
        assert!(present.contains("yes"), "no package with {tag}");
    }
    assert_root_matches_rpm(root, true);
}

#[test]
fn signed_packages_match_rpm_on_big_endian_bdb() {
    assert_root_matches_rpm(&bdb_copy(&signed().root, BdbLayout::BIG_ENDIAN), false);
}

/// The same comparison with rpm and us both in fixed time zones (New York with DST, and
/// Kathmandu at +05:45): this test binary runs `signed_packages_match_rpm` again with TZ set
/// from the start, so chrono and rpm's localtime see the same zone.
#[test]
fn signed_packages_match_rpm_in_other_time_zones() {
    for tz in ["America/New_York", "Asia/Kathmandu"] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .arg(harness::tools::test_name(module_path!(), "signed_packages_match_rpm"))
            .args(["--exact", "--test-threads=1"])
            .env("TZ", tz)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "under TZ={tz}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "under TZ={tz} the test did not run:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
