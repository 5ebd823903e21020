//! Images are untrusted: each hostile layout here must give a clear error naming the
//! reference and the step, never a panic, never a read outside the layout.

mod common;
use common::*;
use oci_image::{open, ErrorKind, LayerContent, Platform, PullOptions};
use std::io::Read;
use std::path::Path;

fn blob(dir: &Path, digest: &str) -> std::path::PathBuf {
    dir.join("blobs/sha256").join(&digest[7..])
}

fn read_layer(image: &oci_image::Image, i: usize) -> std::io::Result<Vec<u8>> {
    let LayerContent::Tar(mut r) = image.open_layer(i).unwrap() else {
        panic!()
    };
    let mut v = Vec::new();
    r.read_to_end(&mut v).map(|_| v)
}

fn manifest_json(dir: &Path, built: &Built) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(blob(dir, &built.manifest_digest)).unwrap()).unwrap()
}

/// Write `value` as a blob and point the index's tag `v1` at it.
fn retag(dir: &Path, value: &serde_json::Value, media_type: &str) -> String {
    let bytes = value.to_string();
    let d = sha256(bytes.as_bytes());
    std::fs::write(blob(dir, &d), &bytes).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": media_type, "digest": d, "size": bytes.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    d
}

#[test]
fn corrupt_layer_blob_fails_when_read() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    let built = build_layout(&dir, "v1");
    let r = format!("oci:{}:v1", dir.display());
    let image = open(&r, &PullOptions::default()).unwrap();
    // Layer 2 is stored uncompressed: change one byte of a file's content.
    let path = blob(&dir, &image.layers[2].digest);
    let mut b = std::fs::read(&path).unwrap();
    let at = b.windows(7).position(|w| w == b"layer 2").unwrap();
    b[at] = b'L';
    std::fs::write(&path, &b).unwrap();
    let e = read_layer(&image, 2).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        e.to_string().contains("digest mismatch") && e.to_string().contains(&image.layers[2].digest),
        "{e}"
    );
    // Truncated gzip layer.
    let path = blob(&dir, &image.layers[0].digest);
    let b = std::fs::read(&path).unwrap();
    std::fs::write(&path, &b[..b.len() / 2]).unwrap();
    assert!(read_layer(&image, 0).is_err());
    // The others still read.
    assert_eq!(sha256(&read_layer(&image, 1).unwrap()), built.diff_ids[1]);
}

#[test]
fn corrupt_config_and_oversized_manifest() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    let built = build_layout(&dir, "v1");
    let r = format!("oci:{}:v1", dir.display());
    let e = open(
        &r,
        &PullOptions {
            max_manifest_bytes: 100,
            ..PullOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    let path = blob(&dir, &built.config_digest);
    let mut b = std::fs::read(&path).unwrap();
    let at = b.windows(5).position(|w| w == b"tests").unwrap();
    b[at] = b'T';
    std::fs::write(&path, &b).unwrap();
    let e = open(&r, &PullOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::DigestMismatch, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&r) && text.contains("config") && text.contains(&built.config_digest),
        "{text}"
    );
}

#[test]
fn missing_tag_names_the_tags_present() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    build_layout(&dir, "v1");
    let e = open(&format!("oci:{}:v2", dir.display()), &PullOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(
        e.to_string().contains("\"v2\"") && e.to_string().contains("tags: v1"),
        "{e}"
    );
}

#[test]
fn index_without_the_platform() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    let built = build_layout(&dir, "v1");
    let size = std::fs::metadata(blob(&dir, &built.manifest_digest)).unwrap().len();
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": built.manifest_digest, "size": size,
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": built.manifest_digest, "size": size,
         "platform": {"os": "linux", "architecture": "s390x"}}]});
    let index_digest = retag(&dir, &index, "application/vnd.oci.image.index.v1+json");
    let r = format!("oci:{}:v1", dir.display());
    let amd64 = PullOptions {
        platform: Some(Platform::parse("linux/amd64").unwrap()),
        ..PullOptions::default()
    };
    let e = open(&r, &amd64).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Platform, "{e}");
    assert!(
        e.to_string()
            .contains("no image for linux/amd64 (it has: linux/arm64/v8, linux/s390x)"),
        "{e}"
    );
    // Asked for one it has (the manifest is the same; the config says amd64).
    let arm = PullOptions {
        platform: Some(Platform::parse("linux/arm64").unwrap()),
        ..PullOptions::default()
    };
    let image = open(&r, &arm).unwrap();
    assert_eq!(image.index_digest.as_deref(), Some(index_digest.as_str()));
    assert_eq!(image.manifest_digest, built.manifest_digest);
}

#[test]
fn digests_that_would_name_other_paths() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    let built = build_layout(&dir, "v1");
    std::fs::write(t.path().join("outside"), b"{}").unwrap();
    let r = format!("oci:{}:v1", dir.display());
    for bad in [
        "sha256:../../outside",
        "sha256/../../../outside:x",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
    ] {
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": bad, "size": 2, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
        std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
        let e = open(&r, &PullOptions::default()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Malformed), "{bad}: {e}");
    }
    // A layer digest with ../ inside an otherwise valid manifest.
    let mut m = manifest_json(&dir, &built);
    m["layers"][1]["digest"] = serde_json::json!("sha256:../../../../outside");
    retag(&dir, &m, "application/vnd.oci.image.manifest.v1+json");
    let e = open(&r, &PullOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed, "{e}");
    assert!(
        e.to_string().contains("outside") && e.step.starts_with("manifest sha256:"),
        "{e}"
    );
    // One oci-spec accepts (an algorithm it knows) but blobs/ must not be named by.
    m["layers"][1]["digest"] = serde_json::json!(format!("sha384:{}", "a".repeat(96)));
    retag(&dir, &m, "application/vnd.oci.image.manifest.v1+json");
    let e = open(&r, &PullOptions::default()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed, "{e}");
}

#[test]
fn symlinks_inside_the_layout_are_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    let built = build_layout(&dir, "v1");
    let r = format!("oci:{}:v1", dir.display());
    // The config blob replaced by a symlink to a copy outside the layout.
    let path = blob(&dir, &built.config_digest);
    std::fs::copy(&path, t.path().join("config-copy")).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(t.path().join("config-copy"), &path).unwrap();
    let e = open(&r, &PullOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("symlinks inside a layout are not followed"),
        "{e}"
    );
    // The whole blobs directory a symlink.
    std::fs::remove_file(&path).unwrap();
    std::fs::rename(t.path().join("config-copy"), &path).unwrap();
    std::fs::rename(dir.join("blobs"), t.path().join("blobs-elsewhere")).unwrap();
    std::os::unix::fs::symlink(t.path().join("blobs-elsewhere"), dir.join("blobs")).unwrap();
    let e = open(&r, &PullOptions::default()).unwrap_err();
    assert!(e.to_string().contains("not followed"), "{e}");
}

#[test]
fn layers_over_the_limit() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    build_layout(&dir, "v1");
    let r = format!("oci:{}:v1", dir.display());
    // The first layer's blob is ~1 KB of gzip, 300 KB decompressed: a 100 KB limit lets the
    // blob in and stops the decompression.
    let options = PullOptions {
        max_layer_bytes: 100_000,
        ..PullOptions::default()
    };
    let image = open(&r, &options).unwrap();
    let e = read_layer(&image, 0).unwrap_err();
    assert!(e.to_string().contains("100000-byte limit"), "{e}");
    let e = open(
        &r,
        &PullOptions {
            max_layer_bytes: 10,
            ..PullOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
}

#[test]
fn garbage_everywhere_is_an_error_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    build_layout(&dir, "v1");
    let r = format!("oci:{}:v1", dir.display());
    for index in [
        "",
        "null",
        "[]",
        "{\"manifests\": 3}",
        "{\"schemaVersion\":2,\"manifests\":[{}]}",
    ] {
        std::fs::write(dir.join("index.json"), index).unwrap();
        assert!(open(&r, &PullOptions::default()).is_err(), "{index}");
    }
    let archive = t.path().join("a.tar");
    std::fs::write(&archive, vec![0x55u8; 4096]).unwrap();
    assert!(open(&format!("oci-archive:{}", archive.display()), &PullOptions::default()).is_err());
    assert!(open(
        &format!("docker-archive:{}", archive.display()),
        &PullOptions::default()
    )
    .is_err());
    assert!(open("oci:/nonexistent/dir:x", &PullOptions::default()).is_err());
    assert!(open("docker://", &PullOptions::default()).is_err());
}

/// An oci-archive whose config member is a symlink to a host file, and one whose index
/// names a member path with `..`: links resolve inside the archive only.
#[test]
fn archive_links_stay_inside_the_archive() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("l");
    let built = build_layout(&dir, "v1");
    let config_member = format!("blobs/sha256/{}", &built.config_digest[7..]);
    let make = |path: &Path, link_to: &str| {
        let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
        for entry in walk(&dir) {
            let rel = entry.strip_prefix(&dir).unwrap().to_str().unwrap().to_string();
            if rel == config_member {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                b.append_link(&mut h, &rel, link_to).unwrap();
            } else {
                b.append_path_with_name(&entry, &rel).unwrap();
            }
        }
        b.finish().unwrap();
    };
    for target in ["/etc/hostname", "../../../../etc/hostname", "../../index.json"] {
        let archive = t.path().join("a.tar");
        make(&archive, target);
        let e = open(
            &format!("oci-archive:{}:v1", archive.display()),
            &PullOptions::default(),
        )
        .unwrap_err();
        // Never the host's file: absent in the archive, leaving it, or the wrong bytes.
        assert!(
            matches!(
                e.kind,
                ErrorKind::NotFound | ErrorKind::Malformed | ErrorKind::DigestMismatch
            ),
            "{target}: {e}"
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
