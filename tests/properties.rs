//! Property tests (proptest) of what the parsers must always do (issue 7):
//! - rpmvercmp and EVR ordering are total orders on rpm's version alphabet: antisymmetric,
//!   transitive, equal values interchangeable; Evr's order is epoch, then version, then
//!   release; printing an EVR and parsing it again gives the same EVR;
//! - headers round-trip: packages built by the `rpm` crate's builder (random names, EVRs,
//!   files with contents, modes, owners, flags, symlinks, directories) read by our header
//!   parser give back every field the builder was given, and agree with the `rpm` crate's own
//!   reading of the same bytes.

use proptest::prelude::*;
use rpmdb::header::Header;
use rpmdb::package::Package;
use rpmdb::version::{rpmvercmp, Evr};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Versions as rpm allows them (no `-`, no `:`), with the separators and the `~`/`^`
/// operators, short so that triples often share prefixes.
fn version() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-z._+~^]{0,8}",
        "[0-9]{1,3}(\\.[0-9a-c]{1,3}){0,3}([~^][a-z0-9]{0,3})?",
        "(0{0,3}[0-9]{1,3}|[a-z]{1,2}|[._~^]){0,6}",
    ]
}

fn evr() -> impl Strategy<Value = Evr> {
    (proptest::option::of(0u32..4), version(), version()).prop_map(|(e, v, r)| Evr::new(e, v, r))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn rpmvercmp_is_antisymmetric_and_reflexive(a in version(), b in version()) {
        prop_assert_eq!(rpmvercmp(&a, &b), rpmvercmp(&b, &a).reverse());
        prop_assert_eq!(rpmvercmp(&a, &a), Ordering::Equal);
    }

    #[test]
    fn rpmvercmp_is_transitive(a in version(), b in version(), c in version()) {
        let (ab, bc, ac) = (rpmvercmp(&a, &b), rpmvercmp(&b, &c), rpmvercmp(&a, &c));
        if ab != Ordering::Greater && bc != Ordering::Greater {
            prop_assert_ne!(ac, Ordering::Greater);
            if ab == Ordering::Less || bc == Ordering::Less {
                prop_assert_eq!(ac, Ordering::Less);
            }
        }
        if ab == Ordering::Equal {
            prop_assert_eq!(ac, bc);
        }
    }

    #[test]
    fn evr_order_is_epoch_version_release_and_transitive(a in evr(), b in evr(), c in evr()) {
        let parts = a.epoch_or_zero().cmp(&b.epoch_or_zero())
            .then(rpmvercmp(&a.version, &b.version))
            .then(rpmvercmp(&a.release, &b.release));
        prop_assert_eq!(a.cmp(&b), parts);
        prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        if a <= b && b <= c {
            prop_assert!(a <= c);
        }
        // An absent epoch compares as 0.
        let zero = Evr::new(Some(a.epoch_or_zero()), a.version.clone(), a.release.clone());
        prop_assert_eq!(a.cmp(&zero), Ordering::Equal);
    }

    #[test]
    fn evr_prints_and_parses_back(e in evr()) {
        let text = e.to_string();
        let again = Evr::parse(&text);
        prop_assert_eq!(&again, &e, "printed as {:?}", text);
    }
}

/// One file of a generated package.
#[derive(Debug, Clone)]
enum GenFile {
    Regular {
        content: Vec<u8>,
        perms: u16,
        config: bool,
        doc: bool,
    },
    Symlink {
        target: String,
    },
    Dir {
        perms: u16,
    },
}

fn gen_file() -> impl Strategy<Value = GenFile> {
    prop_oneof![
        4 => (proptest::collection::vec(any::<u8>(), 0..300), 0o000u16..0o7777, any::<bool>(), any::<bool>())
            .prop_map(|(content, perms, config, doc)| GenFile::Regular { content, perms, config, doc }),
        1 => "[a-z/._]{1,30}".prop_map(|target| GenFile::Symlink { target }),
        1 => (0o000u16..0o7777).prop_map(|perms| GenFile::Dir { perms }),
    ]
}

#[derive(Debug, Clone)]
struct GenPackage {
    name: String,
    epoch: Option<u32>,
    version: String,
    release: String,
    arch: String,
    vendor: String,
    user: String,
    group: String,
    mtime: u32,
    files: BTreeMap<String, GenFile>,
}

fn gen_package() -> impl Strategy<Value = GenPackage> {
    (
        "[a-z][a-z0-9+_.]{0,20}",
        proptest::option::of(0u32..100_000),
        "[0-9a-z][0-9a-z._+~^]{0,10}",
        "[0-9a-z][0-9a-z._+~^]{0,10}",
        prop_oneof![
            Just("x86_64".to_string()),
            Just("noarch".to_string()),
            Just("aarch64".to_string())
        ],
        "[A-Za-z ,.]{0,20}",
        "[a-z_][a-z0-9_]{0,10}",
        "[a-z_][a-z0-9_]{0,10}",
        1_000_000_000u32..2_000_000_000,
        proptest::collection::btree_map(
            "/(usr|etc|opt)(/[a-zA-Z0-9][a-zA-Z0-9._-]{0,11}){1,4}",
            gen_file(),
            0..12,
        ),
    )
        .prop_map(
            |(name, epoch, version, release, arch, vendor, user, group, mtime, files)| GenPackage {
                name,
                epoch,
                version,
                release,
                arch,
                vendor,
                user,
                group,
                mtime,
                files,
            },
        )
}

/// The main header of an .rpm file, as a database stores it (without the 8-byte magic).
fn main_header(rpm_bytes: &[u8]) -> Vec<u8> {
    let be32 = |at: usize| u32::from_be_bytes(rpm_bytes[at..at + 4].try_into().unwrap()) as usize;
    let sig = 96;
    let sig_size = 16 + 16 * be32(sig + 8) + be32(sig + 12);
    let main = sig + sig_size + (8 - sig_size % 8) % 8;
    assert_eq!(&rpm_bytes[main..main + 3], b"\x8e\xad\xe8", "main header magic");
    let size = 16 + 16 * be32(main + 8) + be32(main + 12);
    rpm_bytes[main + 8..main + size].to_vec()
}

fn build(p: &GenPackage) -> Vec<u8> {
    let mut b = rpm::PackageBuilder::new(&p.name, &p.version, "MIT", &p.arch, "generated");
    b.using_config(
        rpm::BuildConfig::default()
            .compression(rpm::CompressionType::Gzip)
            .source_date(p.mtime),
    );
    b.release(p.release.clone()).vendor(p.vendor.clone());
    if let Some(e) = p.epoch {
        b.epoch(e);
    }
    for (path, f) in &p.files {
        let at = rpm::Timestamp(p.mtime);
        match f {
            GenFile::Regular {
                content,
                perms,
                config,
                doc,
            } => {
                let mut o = rpm::FileOptions::new(path.clone())
                    .permissions(*perms)
                    .user(p.user.clone())
                    .group(p.group.clone())
                    .modified_at(at);
                if *config {
                    o = o.config();
                }
                if *doc {
                    o = o.doc();
                }
                b.with_file_contents(content.clone(), o).unwrap();
            }
            GenFile::Symlink { target } => {
                b.with_symlink(
                    rpm::FileOptions::symlink(path.clone(), target.clone())
                        .user(p.user.clone())
                        .group(p.group.clone())
                        .modified_at(at),
                )
                .unwrap();
            }
            GenFile::Dir { perms } => {
                b.with_dir_entry(
                    rpm::FileOptions::dir(path.clone())
                        .permissions(*perms)
                        .user(p.user.clone())
                        .group(p.group.clone())
                        .modified_at(at),
                )
                .unwrap();
            }
        }
    }
    let pkg = b.build().unwrap();
    let mut out = Vec::new();
    pkg.metadata.write(&mut out).unwrap();
    out
}

fn sha256_hex(data: &[u8]) -> String {
    // The digest the builder stores, computed by an independent tool: sha256sum.
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils)");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn headers_built_by_the_rpm_crate_read_back_field_for_field(p in gen_package()) {
        let bytes = build(&p);
        let header = Header::parse(main_header(&bytes)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let pkg = Package::from_header(1, header).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&pkg.name, &p.name);
        prop_assert_eq!(pkg.epoch, p.epoch);
        prop_assert_eq!(&pkg.version, &p.version);
        prop_assert_eq!(&pkg.release, &p.release);
        prop_assert_eq!(pkg.arch.as_deref(), Some(p.arch.as_str()));
        if !p.vendor.is_empty() {
            prop_assert_eq!(pkg.vendor(), Some(p.vendor.clone()));
        }

        let files = pkg.files().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ours: BTreeMap<String, &rpmdb::package::FileEntry> =
            files.iter().map(|f| (String::from_utf8_lossy(f.path.as_os_str().as_encoded_bytes()).into_owned(), f)).collect();
        prop_assert_eq!(ours.keys().collect::<Vec<_>>(), p.files.keys().collect::<Vec<_>>());
        for (path, g) in &p.files {
            let f = ours[path];
            prop_assert_eq!(f.mtime, p.mtime, "{}", path);
            prop_assert_eq!(&f.user, &p.user, "{}", path);
            prop_assert_eq!(&f.group, &p.group, "{}", path);
            match g {
                GenFile::Regular { content, perms, config, doc } => {
                    prop_assert!(f.is_regular(), "{} mode {:o}", path, f.mode);
                    prop_assert_eq!(f.mode & 0o7777, *perms, "{}", path);
                    prop_assert_eq!(f.size, content.len() as u64, "{}", path);
                    prop_assert_eq!(f.digest.clone(), Some(sha256_hex(content)), "{}", path);
                    prop_assert_eq!(f.flags.is_config(), *config, "{}", path);
                    prop_assert_eq!(f.flags.is_doc(), *doc, "{}", path);
                }
                GenFile::Symlink { target } => {
                    prop_assert!(f.is_symlink(), "{} mode {:o}", path, f.mode);
                    prop_assert_eq!(f.link_target.as_os_str().as_encoded_bytes(), target.as_bytes(), "{}", path);
                }
                GenFile::Dir { perms } => {
                    prop_assert!(f.is_dir(), "{} mode {:o}", path, f.mode);
                    prop_assert_eq!(f.mode & 0o7777, *perms, "{}", path);
                }
            }
        }

        // The rpm crate's own reading of the same bytes agrees on the package and every file.
        let theirs = rpm::PackageMetadata::parse(&mut &bytes[..]).unwrap();
        prop_assert_eq!(theirs.get_name().unwrap(), pkg.name.as_str());
        prop_assert_eq!(theirs.get_version().unwrap(), pkg.version.as_str());
        prop_assert_eq!(theirs.get_release().unwrap(), pkg.release.as_str());
        let their_files = theirs.get_file_entries().unwrap();
        prop_assert_eq!(their_files.len(), files.len());
        for tf in &their_files {
            let path = tf.path().to_string_lossy().into_owned();
            let f = ours.get(&path).ok_or_else(|| TestCaseError::fail(format!("{path} missing")))?;
            prop_assert_eq!(tf.size() as u64, f.size, "{}", path);
            prop_assert_eq!(u16::from(tf.mode()), f.mode, "{}", path);
        }
    }
}
