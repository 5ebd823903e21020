//! The same image through every transport: skopeo copies a hand-written OCI layout to each,
//! and each must give the same config digest, layers, diff_ids and decompressed bytes.

mod common;
use common::*;
use oci_image::{open, PullOptions, Transport};

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
