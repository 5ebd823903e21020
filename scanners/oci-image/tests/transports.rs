//! The same image through every transport: skopeo copies a hand-written OCI layout to each,
//! and each must give the same config digest, layers, diff_ids and decompressed bytes.

mod common;
use common::*;
use oci_image::{open, LayerContent, PullOptions, Transport};

#[test]
fn oci_layout() {
    let t = tempfile::tempdir().unwrap();
    let built = build_layout(&t.path().join("layout"), "v1");
    let reference = format!("oci:{}:v1", t.path().join("layout").display());
    let image = open(&reference, &PullOptions::default()).unwrap();
    assert_eq!(image.transport, Transport::Oci);
    assert_eq!(image.manifest_digest, built.manifest_digest);
    assert_same(&image, &built);
    // Without a tag: the layout's only image.
    let image = open(
        &format!("oci:{}", t.path().join("layout").display()),
        &PullOptions::default(),
    )
    .unwrap();
    assert_eq!(image.config_digest, built.config_digest);
}

#[test]
fn oci_archive_and_docker_archive_via_skopeo() {
    let t = tempfile::tempdir().unwrap();
    let built = build_layout(&t.path().join("layout"), "v1");
    let src = format!("oci:{}:v1", t.path().join("layout").display());
    let oa = t.path().join("image.oci.tar");
    skopeo(&["copy", &src, &format!("oci-archive:{}:v1", oa.display())]);
    let image = open(&format!("oci-archive:{}:v1", oa.display()), &PullOptions::default()).unwrap();
    assert_eq!(image.transport, Transport::OciArchive);
    // skopeo writes the manifest anew (its own JSON spacing): compare with what it says.
    assert_eq!(
        image.manifest_digest,
        inspect_digest(&format!("oci-archive:{}:v1", oa.display()))
    );
    assert_same(&image, &built);

    // Docker formats cannot hold zstd layers: the same image with gzip.
    let built = build_layout_with(&t.path().join("gzip"), "v1", false);
    let src = format!("oci:{}:v1", t.path().join("gzip").display());
    let da = t.path().join("image.docker.tar");
    skopeo(&[
        "copy",
        &src,
        &format!("docker-archive:{}:localhost/test:v1", da.display()),
    ]);
    for r in [
        format!("docker-archive:{}", da.display()),
        format!("docker-archive:{}:localhost/test:v1", da.display()),
    ] {
        let image = open(&r, &PullOptions::default()).unwrap();
        assert_eq!(image.transport, Transport::DockerArchive);
        assert_same(&image, &built);
    }
    let e = open(
        &format!("docker-archive:{}:localhost/other:v1", da.display()),
        &PullOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("localhost/test:v1"), "{e}");
}

/// containers-storage roots the test makes with skopeo, both drivers. As root here the
/// overlay driver stores layers without mounting anything (kernel overlay is only needed to
/// run containers), so both work in this sandbox.
#[test]
fn containers_storage_overlay_and_vfs() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let t = tempfile::tempdir().unwrap();
    let built = build_layout(&t.path().join("layout"), "v1");
    let src = format!("oci:{}:v1", t.path().join("layout").display());
    for driver in ["overlay", "vfs"] {
        let graph = t.path().join(format!("{driver}-graph"));
        let _unmount = Unmount(graph.join("overlay"));
        let spec = format!(
            "[{driver}@{}+{}]",
            graph.display(),
            t.path().join(format!("{driver}-run")).display()
        );
        skopeo(&["copy", &src, &format!("containers-storage:{spec}localhost/test:v1")]);
        // By name with the storage spec, by short name with storage_root, by id prefix.
        let options = PullOptions {
            storage_root: Some(graph.clone()),
            ..PullOptions::default()
        };
        let image_id = &built.config_digest[7..];
        for r in [
            format!("containers-storage:{spec}localhost/test:v1"),
            "containers-storage:test:v1".to_string(),
            format!("containers-storage:{}", &image_id[..12]),
        ] {
            let image = open(&r, &options).unwrap_or_else(|e| panic!("{r}: {e}"));
            assert_eq!(image.transport, Transport::ContainersStorage);
            assert_eq!(image.config_digest, built.config_digest, "{r}");
            assert_eq!(
                image.manifest_digest,
                inspect_digest(&format!("containers-storage:{spec}localhost/test:v1"))
            );
            let ids: Vec<_> = image.layers.iter().map(|l| l.diff_id.clone().unwrap()).collect();
            assert_eq!(ids, built.diff_ids);
            assert_eq!(image.labels.get("maintainer").map(String::as_str), Some("tests"));
        }
        let image = open(&format!("containers-storage:{spec}localhost/test:v1"), &options).unwrap();
        match driver {
            "overlay" => {
                let dirs: Vec<_> = (0..3)
                    .map(|i| match image.open_layer(i).unwrap() {
                        oci_image::LayerContent::Dir(d) => d,
                        _ => panic!("overlay layers are directories"),
                    })
                    .collect();
                assert_eq!(
                    std::fs::read(dirs[0].join("etc/os-release")).unwrap(),
                    b"ID=centos\nVERSION_ID=\"9\"\n"
                );
                assert!(!dirs[0].join("usr/share/doc/readme").exists());
                assert!(dirs[1].join("usr/share/doc/readme").exists());
                // The whiteout of layer 2 is an overlayfs one: a character device 0/0.
                let wh = std::fs::symlink_metadata(dirs[2].join("usr/bin/tool")).unwrap();
                assert!(wh.file_type().is_char_device() && wh.rdev() == 0, "{wh:?}");
                assert_eq!(std::fs::read(dirs[2].join("etc/motd2")).unwrap(), b"layer 2\n");
                // The opaque directory: the xattr overlayfs reads (as root: trusted.).
                assert_eq!(
                    xattr(&dirs[2].join("opt"), "trusted.overlay.opaque").as_deref(),
                    Some(&b"y"[..])
                );
                assert!(dirs[2].join("opt/new").exists() && !dirs[2].join("opt/old").exists());
            }
            _ => {
                let LayerContent::Snapshot(top) = image.open_layer(2).unwrap() else {
                    panic!("vfs layers are snapshots")
                };
                // The complete tree: lower layers' files, the deleted one absent.
                assert!(top.join("etc/os-release").exists() && top.join("usr/share/doc/readme").exists());
                assert!(!top.join("usr/bin/tool").exists());
                assert!(top.join("opt/new").exists() && !top.join("opt/old").exists());
                let LayerContent::Snapshot(bottom) = image.open_layer(0).unwrap() else {
                    panic!()
                };
                assert!(bottom.join("usr/bin/tool").exists());
            }
        }
        let e = open(&format!("containers-storage:{spec}localhost/absent:v1"), &options).unwrap_err();
        assert_eq!(e.kind, oci_image::ErrorKind::NotFound, "{e}");
    }
}

/// An image podman builds (FROM scratch, two COPY steps and a LABEL) in a storage root of
/// the test's own, read from that storage and from `podman save` in both archive formats:
/// the image id podman reports is our config digest everywhere.
#[test]
fn podman_built_image_from_storage_and_save() {
    need("podman", "podman");
    let t = tempfile::tempdir().unwrap();
    let ctx = t.path().join("ctx");
    std::fs::create_dir_all(ctx.join("a/etc")).unwrap();
    std::fs::create_dir_all(ctx.join("b")).unwrap();
    std::fs::write(ctx.join("a/etc/one"), b"one\n").unwrap();
    std::fs::write(ctx.join("b/two"), b"two\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM scratch\nCOPY a/ /\nLABEL maintainer=podman-test\nCOPY b/ /opt/\n",
    )
    .unwrap();
    let conf = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/containers.conf");
    let (root, runroot) = (t.path().join("root"), t.path().join("run"));
    let _unmount = Unmount(root.join("overlay"));
    let podman = |args: &[&str]| {
        let mut c = std::process::Command::new("podman");
        c.env("CONTAINERS_CONF", conf)
            .arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(&runroot)
            .args(["--storage-driver", "overlay"])
            .args(args);
        run(&mut c)
    };
    podman(&["build", "-q", "-t", "localhost/pt:v1", ctx.to_str().unwrap()]);
    let id = podman(&["inspect", "--format", "{{.Id}}", "localhost/pt:v1"])
        .trim()
        .to_string();
    let da = t.path().join("save.docker.tar");
    let oa = t.path().join("save.oci.tar");
    podman(&[
        "save",
        "--format",
        "docker-archive",
        "-o",
        da.to_str().unwrap(),
        "localhost/pt:v1",
    ]);
    podman(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oa.to_str().unwrap(),
        "localhost/pt:v1",
    ]);
    let spec = format!("[overlay@{}+{}]", root.display(), runroot.display());
    let stored = open(&format!("containers-storage:{spec}pt:v1"), &PullOptions::default()).unwrap();
    assert_eq!(stored.config_digest, format!("sha256:{id}"));
    assert_eq!(stored.labels.get("maintainer").map(String::as_str), Some("podman-test"));
    assert_eq!(stored.layers.len(), 2);
    assert!(
        stored.layers[1].created_by.as_deref().unwrap_or("").contains("COPY"),
        "{:?}",
        stored.layers[1]
    );
    let LayerContent::Dir(top) = stored.open_layer(1).unwrap() else {
        panic!("overlay")
    };
    assert_eq!(std::fs::read(top.join("opt/two")).unwrap(), b"two\n");
    for r in [
        format!("docker-archive:{}", da.display()),
        format!("oci-archive:{}", oa.display()),
    ] {
        let image = open(&r, &PullOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(image.config_digest, stored.config_digest, "{r}");
        assert_eq!(
            image.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
            stored.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()
        );
        for l in &image.layers {
            let LayerContent::Tar(mut tar) = image.open_layer(l.index).unwrap() else {
                panic!()
            };
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut tar, &mut bytes).unwrap();
            assert_eq!(Some(sha256(&bytes)), l.diff_id, "{r} layer {}", l.index);
        }
    }
}

fn xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: both strings are NUL-terminated, the buffer's length is given.
    let len = unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}
