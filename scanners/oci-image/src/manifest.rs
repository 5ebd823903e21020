//! Manifest, index / manifest list and config: telling them apart, picking the platform,
//! checking every descriptor's digest and size, and mapping the config's diff_ids and
//! history onto the layers.

use crate::digest::Digest;
use crate::error::{fail, ErrorKind, Fail};
use crate::reference::Platform;
use crate::Layer;
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use std::collections::BTreeMap;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// Fetch a manifest by digest and expected size: checked bytes and their content type.
pub type ManifestFetch<'a> = dyn Fn(&Digest, Option<u64>) -> Result<(Vec<u8>, Option<String>), Fail> + 'a;
/// Fetch a small blob (a config) by digest and expected size: checked bytes.
pub type BlobFetch<'a> = dyn Fn(&Digest, Option<u64>) -> Result<Vec<u8>, Fail> + 'a;

/// Every manifest type we read, for `Accept`.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Manifest bytes, told apart (short-lived: not boxed).
#[allow(clippy::large_enum_variant)]
pub enum Parsed {
    Index(ImageIndex),
    Manifest(ImageManifest),
}

#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "schemaVersion")]
    schema_version: Option<serde_json::Value>,
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    manifests: Option<serde::de::IgnoredAny>,
}

fn malformed(what: &str, e: impl std::fmt::Display) -> Fail {
    fail(ErrorKind::Malformed, format!("malformed {what}: {e}"))
}

/// Parse a manifest or index. `content_type` is the registry's `Content-Type`, if any.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Parsed, Fail> {
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| malformed("manifest", e))?;
    let media = probe
        .media_type
        .as_deref()
        .or(content_type.map(|c| c.split(';').next().unwrap_or("").trim()));
    let schema1 = probe.schema_version.as_ref().and_then(|v| v.as_u64()) == Some(1)
        || matches!(media, Some(DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED));
    if schema1 {
        return Err(fail(
            ErrorKind::Unsupported,
            "Docker schema 1 manifest: this obsolete format is not read (push the image again with a current tool, e.g. skopeo copy, to get schema 2 or OCI)",
        ));
    }
    let is_index = matches!(media, Some(OCI_INDEX | DOCKER_LIST)) || probe.manifests.is_some();
    if is_index {
        let index: ImageIndex = serde_json::from_slice(bytes).map_err(|e| malformed("image index", e))?;
        Ok(Parsed::Index(index))
    } else {
        if let Some(m) = media {
            if m != OCI_MANIFEST && m != DOCKER_MANIFEST && !m.is_empty() && probe.media_type.is_some() {
                return Err(fail(
                    ErrorKind::Unsupported,
                    format!("unsupported manifest media type {m}"),
                ));
            }
        }
        let manifest: ImageManifest = serde_json::from_slice(bytes).map_err(|e| malformed("image manifest", e))?;
        Ok(Parsed::Manifest(manifest))
    }
}

fn descriptor_digest(d: &Descriptor) -> Result<Digest, Fail> {
    Digest::parse(d.digest().as_ref()).map_err(|e| fail(ErrorKind::Malformed, e))
}

/// Pick the manifest for `platform` from an index.
pub fn select<'a>(index: &'a ImageIndex, platform: &Platform, what: &str) -> Result<&'a Descriptor, Fail> {
    let manifests = index.manifests();
    let is_manifest = |d: &Descriptor| {
        let m = d.media_type().to_string();
        m == OCI_MANIFEST || m == DOCKER_MANIFEST || m == OCI_INDEX || m == DOCKER_LIST
    };
    // An index without platforms (skopeo's index.json of one image): its only manifest.
    if manifests.len() == 1 && manifests[0].platform().is_none() && is_manifest(&manifests[0]) {
        return Ok(&manifests[0]);
    }
    let mut present = Vec::new();
    for d in manifests {
        let Some(p) = d.platform() else { continue };
        let (os, arch) = (p.os().to_string(), p.architecture().to_string());
        if is_manifest(d) && platform.matches(&os, &arch, p.variant().as_deref()) {
            return Ok(d);
        }
        let mut s = format!("{os}/{arch}");
        if let Some(v) = p.variant() {
            s.push('/');
            s.push_str(v);
        }
        present.push(s);
    }
    Err(fail(
        ErrorKind::Platform,
        format!(
            "the {what} has no image for {platform} (it has: {})",
            if present.is_empty() {
                "no platform-tagged manifest".to_string()
            } else {
                present.join(", ")
            }
        ),
    ))
}

/// Check bytes a descriptor announced.
pub fn check_blob(bytes: &[u8], digest: &Digest, size: Option<u64>, what: &str) -> Result<(), Fail> {
    if let Some(size) = size {
        if bytes.len() as u64 != size {
            return Err(fail(
                ErrorKind::DigestMismatch,
                format!(
                    "{what} {digest}: {} bytes where the descriptor says {size}",
                    bytes.len()
                ),
            ));
        }
    }
    if !digest.matches(bytes) {
        return Err(fail(
            ErrorKind::DigestMismatch,
            format!(
                "{what}: digest mismatch: expected {digest}, the bytes have {}",
                Digest::of(digest.algorithm(), bytes)
            ),
        ));
    }
    Ok(())
}

/// The platform manifest reached from some top-level manifest bytes.
pub struct Resolved {
    pub manifest: ImageManifest,
    pub manifest_digest: Digest,
    pub index_digest: Option<Digest>,
}

/// From the top-level bytes (already checked against `top_digest`), through indexes (at
/// most 4 deep), to the platform manifest. `fetch(digest, size)` returns checked bytes.
pub fn resolve(
    top: Vec<u8>,
    top_digest: Digest,
    content_type: Option<&str>,
    platform: &Platform,
    fetch: &ManifestFetch<'_>,
) -> Result<Resolved, Fail> {
    let (mut bytes, mut digest, mut ctype) = (top, top_digest, content_type.map(str::to_string));
    let mut index_digest = None;
    for _ in 0..4 {
        match parse(&bytes, ctype.as_deref()).map_err(|f| f.step(format!("manifest {digest}")))? {
            Parsed::Manifest(manifest) => {
                return Ok(Resolved {
                    manifest,
                    manifest_digest: digest,
                    index_digest,
                })
            }
            Parsed::Index(index) => {
                let d =
                    select(&index, platform, "manifest list").map_err(|f| f.step(format!("manifest list {digest}")))?;
                let child = descriptor_digest(d)?;
                index_digest.get_or_insert(digest.clone());
                let (b, t) = fetch(&child, Some(d.size())).map_err(|f| f.step(format!("manifest {child}")))?;
                bytes = b;
                ctype = t.or_else(|| Some(d.media_type().to_string()));
                digest = child;
            }
        }
    }
    Err(fail(ErrorKind::Malformed, "indexes nested more than 4 deep"))
}

/// What the config says.
pub struct Config {
    pub digest: String,
    pub platform: String,
    pub labels: BTreeMap<String, String>,
    pub diff_ids: Vec<String>,
    /// `created_by` of the history entries that made a layer, in order.
    pub layer_history: Vec<Option<String>>,
}

pub fn parse_config(bytes: &[u8], digest: &Digest) -> Result<Config, Fail> {
    let step = format!("config {digest}");
    let c: ImageConfiguration = serde_json::from_slice(bytes).map_err(|e| malformed("image config", e).step(&step))?;
    let mut platform = format!("{}/{}", c.os(), c.architecture());
    if let Some(v) = c.variant() {
        platform.push('/');
        platform.push_str(v);
    }
    let labels = c
        .config()
        .as_ref()
        .and_then(|c| c.labels().clone())
        .map(|l| l.into_iter().collect())
        .unwrap_or_default();
    let diff_ids = c.rootfs().diff_ids().clone();
    for d in &diff_ids {
        Digest::parse(d).map_err(|e| fail(ErrorKind::Malformed, format!("rootfs.diff_ids: {e}")).step(&step))?;
    }
    let layer_history = c
        .history()
        .as_ref()
        .map(|h| {
            h.iter()
                .filter(|e| !e.empty_layer().unwrap_or(false))
                .map(|e| e.created_by().clone())
                .collect()
        })
        .unwrap_or_default();
    Ok(Config {
        digest: digest.to_string(),
        platform,
        labels,
        diff_ids,
        layer_history,
    })
}

/// Layer media types we can read.
pub fn layer_media_type_ok(m: &str) -> bool {
    matches!(
        m,
        "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.oci.image.layer.v1.tar+zstd"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
            | DOCKER_LAYER
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
            | "application/vnd.docker.image.rootfs.diff.tar"
            | "application/vnd.docker.image.rootfs.diff.tar.zstd"
    )
}

/// The layers of a manifest, with the config's diff_ids and history.
pub fn layers(manifest: &ImageManifest, config: &Config, max_layer_bytes: u64) -> Result<Vec<Layer>, Fail> {
    let descs = manifest.layers();
    if descs.len() != config.diff_ids.len() {
        return Err(fail(
            ErrorKind::Malformed,
            format!(
                "the manifest lists {} layers but the config has {} diff_ids",
                descs.len(),
                config.diff_ids.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(descs.len());
    for (i, d) in descs.iter().enumerate() {
        let digest = descriptor_digest(d).map_err(|f| f.step(format!("layer {i}")))?;
        let media_type = d.media_type().to_string();
        if !layer_media_type_ok(&media_type) {
            return Err(fail(
                ErrorKind::Unsupported,
                format!("layer {i} ({digest}): unsupported media type {media_type}"),
            ));
        }
        if d.size() > max_layer_bytes {
            return Err(fail(
                ErrorKind::TooLarge,
                format!(
                    "layer {i} ({digest}): {} bytes, more than the {max_layer_bytes}-byte limit",
                    d.size()
                ),
            ));
        }
        out.push(Layer {
            index: i,
            digest: digest.to_string(),
            diff_id: Some(config.diff_ids[i].clone()),
            media_type,
            size: Some(d.size()),
            created_by: config.layer_history.get(i).cloned().flatten(),
        });
    }
    Ok(out)
}

/// Fetch the config a manifest names and read it.
pub fn config_of(manifest: &ImageManifest, max_config_bytes: u64, fetch: &BlobFetch<'_>) -> Result<Config, Fail> {
    let d = manifest.config();
    let digest = descriptor_digest(d).map_err(|f| f.step("config"))?;
    if d.size() > max_config_bytes {
        return Err(fail(
            ErrorKind::TooLarge,
            format!("{} bytes, more than the {max_config_bytes}-byte limit", d.size()),
        )
        .step(format!("config {digest}")));
    }
    let bytes = fetch(&digest, Some(d.size())).map_err(|f| f.step(format!("config {digest}")))?;
    parse_config(&bytes, &digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema1_refused() {
        let e = parse(br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#, None)
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::Unsupported);
        assert!(e.message.contains("schema 1"));
    }

    #[test]
    fn list_without_platform_names_those_present() {
        let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
          {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
          {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":1,"digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","platform":{"os":"linux","architecture":"s390x"}}]}"#;
        let Parsed::Index(i) = parse(list, None).ok().unwrap() else {
            panic!()
        };
        let e = select(&i, &Platform::parse("linux/amd64").unwrap(), "manifest list").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Platform);
        assert!(e.message.contains("linux/arm64/v8, linux/s390x"), "{}", e.message);
        assert!(select(&i, &Platform::parse("linux/arm64").unwrap(), "x").is_ok());
    }

    #[test]
    fn garbage_is_an_error() {
        for b in [
            &b""[..],
            b"[]",
            b"{\"schemaVersion\":2}",
            b"{\"manifests\":7}",
            &[0xff; 10],
        ] {
            assert!(parse(b, None).is_err());
        }
    }
}
