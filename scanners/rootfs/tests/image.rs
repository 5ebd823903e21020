//! Layer application against hand-made tar layers: the OCI rules, hard links, symlinked
//! parents, attribution, the spool, and hostile layers.

use rootfs::image::{BuildOptions, ImageTree, LayerInfo, LayerSource, LayerStream};
use rootfs::Root;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// A layer source over tar archives held in memory.
struct Tars(Vec<Vec<u8>>);

impl LayerSource for Tars {
    fn open(&self, index: usize) -> io::Result<LayerStream> {
        Ok(LayerStream::Tar(Box::new(io::Cursor::new(self.0[index].clone()))))
    }
}

enum E<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Sym(&'a str, &'a str),
    Hard(&'a str, &'a str),
    Cap(&'a str, &'a [u8], &'a [u8]),
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(1_700_000_000);
        match e {
            E::File(p, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            E::Sym(p, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
            E::Hard(p, t) => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
            E::Cap(p, data, cap) => {
                b.append_pax_extensions([("SCHILY.xattr.security.capability", *cap)])
                    .unwrap();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o755);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn build(layers: Vec<Vec<u8>>) -> Result<Root, String> {
    let infos = (0..layers.len())
        .map(|i| LayerInfo {
            index: i,
            digest: format!("sha256:{i:064}"),
            created_by: Some(format!("step {i}")),
        })
        .collect();
    let options = BuildOptions {
        hash: true,
        ..BuildOptions::default()
    };
    ImageTree::build("test image", infos, Arc::new(Tars(layers)), &options).map(|t| Root::from_image(Arc::new(t)))
}

fn read(root: &Root, p: &str) -> Option<Vec<u8>> {
    root.read_bounded(Path::new(p), 1 << 20).ok()
}

#[test]
fn layers_apply_as_the_image_spec_says() {
    let base = tar_of(&[
        E::Dir("etc"),
        E::File("etc/os-release", b"ID=centos\n", 0o644),
        E::Dir("usr/lib"),
        E::Sym("lib", "usr/lib"),
        E::File("usr/lib/libx.so", b"x1", 0o755),
        E::File("usr/bin/tool", b"tool", 0o755),
        E::Dir("var/cache/dnf"),
        E::File("var/cache/dnf/a", b"a", 0o644),
        E::File("opt/gone", b"g", 0o644),
    ]);
    let top = tar_of(&[
        E::File("etc/os-release", b"ID=rocky\n", 0o600),
        E::File("opt/.wh.gone", b"", 0o644),
        E::File("var/cache/dnf/.wh..wh..opq", b"", 0o644),
        E::File("var/cache/dnf/b", b"b", 0o644),
        E::File("lib/liby.so", b"y", 0o755),
        E::Hard("usr/bin/tool2", "usr/bin/tool"),
        E::Cap(
            "usr/bin/ping",
            b"ping",
            &[1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ),
    ]);
    let root = build(vec![base, top]).unwrap();
    let tree = root.image().unwrap();
    assert_eq!(read(&root, "/etc/os-release").unwrap(), b"ID=rocky\n");
    assert_eq!(
        root.symlink_metadata(Path::new("/etc/os-release")).unwrap().mode,
        0o100600
    );
    assert!(root
        .symlink_metadata(Path::new("/opt/gone"))
        .unwrap_err()
        .is_not_found());
    assert_eq!(tree.remover_of(Path::new("/opt/gone")), Some(1));
    assert_eq!(
        root.read_dir_names(Path::new("/var/cache/dnf")).unwrap(),
        vec![OsString::from("b")]
    );
    assert_eq!(tree.remover_of(Path::new("/var/cache/dnf/a")), Some(1));
    // A parent that is a symlink is resolved inside the image.
    assert_eq!(
        root.read_dir_names(Path::new("/usr/lib")).unwrap(),
        vec![OsString::from("libx.so"), OsString::from("liby.so")]
    );
    assert_eq!(tree.writer_of(Path::new("/usr/lib/liby.so")), Some(1));
    assert_eq!(tree.writer_of(Path::new("/usr/lib/libx.so")), Some(0));
    // A hard link to a lower layer's file is the same inode, twice linked.
    let a = root.symlink_metadata(Path::new("/usr/bin/tool")).unwrap();
    let b = root.symlink_metadata(Path::new("/usr/bin/tool2")).unwrap();
    assert_eq!((a.ino, a.nlink), (b.ino, 2));
    // Capabilities from PAX headers, digests from the stream.
    let ping = tree.lookup_path(Path::new("/usr/bin/ping")).unwrap();
    assert_eq!(tree.node(ping).xattr(b"security.capability").unwrap().len(), 20);
    let sha = tree.node(ping).content.as_ref().unwrap().sha256.unwrap();
    use sha2::Digest;
    assert_eq!(sha.as_slice(), sha2::Sha256::digest(b"ping").as_slice());
    // A file that was not kept is read from its layer on demand.
    assert_eq!(read(&root, "/usr/bin/tool2").unwrap(), b"tool");
    // Kept files sit at their path in the view (SQLite finds its -wal beside the database).
    assert!(root.host_path(Path::new("/etc/os-release")).is_file());
}

#[test]
fn hostile_layers_are_refused_with_the_entry_named() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (raw_tar_with_path(b"../etc/passwd"), ".."),
        (raw_tar_with_path(b"/../etc/passwd"), ".."),
        (tar_of(&[E::Hard("usr/bin/x", "nowhere")]), "does not exist"),
        (tar_of(&[E::File("usr/.wh.", b"", 0o644)]), "whiteout"),
        (
            tar_of(&[E::File("a", b"x", 0o644), E::File("a/b", b"y", 0o644)]),
            "not a directory",
        ),
    ];
    for (layer, want) in cases {
        let e = build(vec![layer]).unwrap_err();
        assert!(e.contains(want) && e.contains("layer 1"), "{e}");
    }
    // Symlinks out of the image resolve inside it.
    let root = build(vec![tar_of(&[
        E::Sym("etc/shadow", "../../../../etc/shadow"),
        E::Sym("x", "/etc/hostname"),
    ])])
    .unwrap();
    assert!(root.read_bounded(Path::new("/x"), 10).unwrap_err().is_not_found());
    assert!(root.read_bounded(Path::new("/etc/shadow"), 10).is_err());
}

#[test]
fn a_truncated_or_corrupt_stream_fails_the_image() {
    let mut layer = tar_of(&[E::File("etc/motd", &[7u8; 5000], 0o644)]);
    layer.truncate(2000);
    let e = build(vec![layer]).unwrap_err();
    assert!(e.contains("layer 1") && e.contains("etc/motd"), "{e}");
}

/// A tar whose one entry has `path` verbatim (the tar crate's builder refuses such names).
fn raw_tar_with_path(path: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..path.len()].copy_from_slice(path);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(0);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn contents_are_read_again_from_their_layers() {
    let lower = tar_of(&[
        E::File("usr/bin/a", b"first", 0o755),
        E::File("usr/bin/b", b"old", 0o755),
    ]);
    let upper = tar_of(&[E::File("usr/bin/b", b"second", 0o755)]);
    let root = build(vec![lower, upper]).unwrap();
    let tree = root.image().unwrap();
    let files = tree.regular_files();
    assert_eq!(
        files.len(),
        2,
        "the replaced file is not an inode of the image any more"
    );
    let seen = std::sync::Mutex::new(Vec::new());
    tree.read_contents(&files, &|id, r| {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes)?;
        seen.lock().unwrap().push((id, bytes));
        Ok(())
    })
    .unwrap();
    let mut seen: Vec<Vec<u8>> = seen.into_inner().unwrap().into_iter().map(|(_, b)| b).collect();
    seen.sort();
    assert_eq!(seen, vec![b"first".to_vec(), b"second".to_vec()]);
    assert_eq!(tree.writer_of(Path::new("/usr/bin/b")), Some(1));
}

#[test]
fn what_a_replaced_directory_held_was_removed_by_the_replacing_layer() {
    let lower = tar_of(&[
        E::File("opt/d/inside", b"x", 0o644),
        E::File("opt/e/inside", b"y", 0o644),
    ]);
    let upper = tar_of(&[E::File("opt/d", b"now a file", 0o644), E::Sym("opt/e", "d")]);
    let root = build(vec![lower, upper]).unwrap();
    let tree = root.image().unwrap();
    assert!(root.symlink_metadata(Path::new("/opt/d/inside")).is_err());
    assert_eq!(tree.remover_of(Path::new("/opt/d/inside")), Some(1));
    assert_eq!(tree.remover_of(Path::new("/opt/e/inside")), Some(1));
}

#[test]
fn a_huge_long_name_is_refused_before_it_is_held() {
    // A GNU long-name entry claiming 64 MiB (of zeros), then nothing.
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_mode(0o644);
    h.set_size(64 << 20);
    h.set_cksum();
    let mut layer = h.as_bytes().to_vec();
    layer.resize(layer.len() + (64 << 20) + 1024, 0);
    let e = build(vec![layer]).unwrap_err();
    assert!(e.contains("bytes of headers and names"), "{e}");
}
