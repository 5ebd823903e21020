//! What the fuzz targets do with an input once a parser accepted it: use every accessor a
//! scanner uses, so that a panic, a hang or a huge allocation anywhere behind the parser is
//! found too, and the scratch files the database readers need (they read files, not slices).

use rpmdb::db::{DbError, HeaderSource, RawHeader};
use rpmdb::header::Header;
use rpmdb::package::Package;
use rpmdb::tag;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

/// Parse a header blob the way `InstalledPackages::iter` does, then read everything the
/// scanners read from the package: NEVRA strings, files, signature, provides.
pub fn read_package(number: u32, blob: Vec<u8>) {
    let Ok(header) = Header::parse(blob) else { return };
    for t in header.tags().collect::<Vec<_>>() {
        let _ = header.strings(t);
        let _ = header.ints(t);
        let _ = header.bin(t);
    }
    // One walk over the index finds what a search per tag finds (a package's file table and
    // identity are read with the walk).
    let wanted = [
        tag::NAME,
        tag::VERSION,
        tag::RELEASE,
        tag::EPOCH,
        tag::ARCH,
        tag::OLDFILENAMES,
        tag::FILESIZES,
        tag::FILESTATES,
        tag::FILEMODES,
        tag::FILEDIGESTS,
        tag::FILELINKTOS,
        tag::DIRINDEXES,
        tag::BASENAMES,
        tag::DIRNAMES,
        tag::LONGFILESIZES,
    ];
    let one_by_one: Vec<_> = wanted.iter().map(|&t| header.entry(t)).collect();
    assert_eq!(header.entries(wanted).to_vec(), one_by_one, "Header::entries disagrees with Header::entry");
    let Ok(pkg) = Package::from_header(number, header) else {
        return;
    };
    if let Ok(table) = pkg.file_table() {
        for i in 0..table.len() {
            let _ = (table.path_parts(i), table.size(i), table.mode(i), table.rdev(i), table.mtime(i));
            let _ = (table.flags(i), table.verify_flags(i), table.state(i), table.color(i));
            let _ = (table.inode(i), table.device(i), table.digest(i), table.link_target(i));
            let _ = (table.user(i), table.group(i), table.caps(i), table.lang(i));
        }
    }
    let _ = pkg.nvra();
    let _ = pkg.evr().to_string();
    let _ = (
        pkg.vendor(),
        pkg.packager(),
        pkg.buildhost(),
        pkg.source_rpm(),
        pkg.modularity_label(),
    );
    let _ = (pkg.install_time(), pkg.size(), pkg.sha256_header(), pkg.sha1_header());
    let _ = pkg.signature().to_rpm_string();
    let _ = pkg.provides();
    let _ = pkg.digest_algo().name();
    if let Ok(files) = pkg.files() {
        for f in &files {
            let _ = (f.file_type(), f.is_regular(), f.is_dir(), f.is_symlink());
        }
    }
}

/// Walk a database to its end, reading each header as a package. The walk must end by
/// itself: a reader that loops is caught by libFuzzer's timeout.
pub fn drain(mut source: impl HeaderSource) {
    while let Some(next) = source.next_header() {
        let _: Result<(), DbError> = next.map(|RawHeader { number, blob }| read_package(number, blob));
    }
}

/// An unlinked scratch file holding `data`, rewound, in memory-backed /dev/shm when there.
pub fn scratch_file(data: &[u8]) -> File {
    let dir = scratch_dir();
    let mut f = tempfile::tempfile_in(&dir).expect("scratch file");
    f.write_all(data).expect("write scratch file");
    f
}

/// The directory for scratch files of this process.
pub fn scratch_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

/// An installed package for the VEX targets' small RHEL 9 image.
pub fn installed_package(
    name: &str,
    evr: &str,
    arch: &str,
    source: &str,
) -> security_advisories::installed::InstalledPackage {
    security_advisories::installed::InstalledPackage {
        name: name.into(),
        evr: rpmdb::version::Evr::parse(evr),
        arch: arch.into(),
        nvra: format!("{name}-{evr}.{arch}"),
        key_id: None,
        modularity_label: None,
        source_name: Some(source.into()),
    }
}
