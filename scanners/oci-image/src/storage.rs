//! containers-storage (podman, buildah, CRI-O local storage), read directly: no podman
//! process, no locks taken, nothing written. `DRIVER-images/images.json` names the images
//! (`names`, `digest`, top `layer`), their manifest and config are "big data" files beside
//! it, `DRIVER-layers/layers.json` chains each layer to its `parent`. The overlay driver keeps
//! each layer as a directory of its own (`overlay/ID/diff`); vfs keeps every layer as a full
//! copy of the tree up to it (`vfs/dir/ID`).
//!
//! The graph root: `[DRIVER@ROOT+RUNROOT]` in the reference, else `storage_root`, else
//! `graphroot` of storage.conf (`$CONTAINERS_STORAGE_CONF`; root: `/etc/containers/`, then
//! `/usr/share/containers/`; rootless: `$XDG_CONFIG_HOME/containers/` or
//! `~/.config/containers/`), else `/var/lib/containers/storage` (root) or
//! `$XDG_DATA_HOME/containers/storage`, `~/.local/share/containers/storage`.

use crate::digest::Digest;
use crate::error::{fail, ErrorKind, Fail};
use crate::layer::Limits;
use crate::manifest::{self, Parsed};
use crate::reference::{Platform, StorageRef};
use crate::{BlobSource, Found, Layer, LayerContent, PullOptions};
use base64::Engine as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAX_METADATA_BYTES: u64 = 256 << 20;

#[derive(serde::Deserialize)]
struct StoredImage {
    id: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    digests: Vec<String>,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    layer: Option<String>,
}

#[derive(serde::Deserialize)]
struct StoredLayer {
    id: String,
    #[serde(default)]
    parent: Option<String>,
    #[serde(rename = "diff-digest", default)]
    diff_digest: Option<String>,
    #[serde(rename = "compressed-diff-digest", default)]
    compressed_diff_digest: Option<String>,
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// `graphroot` and `driver` of the `[storage]` table of a storage.conf (a small TOML
/// subset: `key = "value"` lines).
fn storage_conf(path: &Path) -> Option<(Option<PathBuf>, Option<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (mut table, mut root, mut driver) = (String::new(), None, None);
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(t) = line.strip_prefix('[') {
            table = t.trim_end_matches(']').trim().to_string();
            continue;
        }
        if table != "storage" {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        match k.trim() {
            "graphroot" if !v.is_empty() => root = Some(PathBuf::from(v)),
            "driver" if !v.is_empty() => driver = Some(v),
            _ => {}
        }
    }
    Some((root, driver))
}

fn locate(r: &StorageRef, options: &PullOptions) -> (PathBuf, Option<String>) {
    let rootless = !nix::unistd::Uid::effective().is_root();
    let confs: Vec<PathBuf> = if let Some(c) = env_dir("CONTAINERS_STORAGE_CONF") {
        vec![c]
    } else if rootless {
        env_dir("XDG_CONFIG_HOME")
            .or_else(|| home().map(|h| h.join(".config")))
            .map(|d| vec![d.join("containers/storage.conf")])
            .unwrap_or_default()
    } else {
        vec![
            "/etc/containers/storage.conf".into(),
            "/usr/share/containers/storage.conf".into(),
        ]
    };
    let conf = confs.iter().find_map(|c| storage_conf(c));
    let (conf_root, conf_driver) = conf.unwrap_or((None, None));
    let driver = r.driver.clone().or(conf_driver);
    let root = r
        .graph_root
        .clone()
        .or_else(|| options.storage_root.clone())
        .or(conf_root)
        .unwrap_or_else(|| {
            if rootless {
                env_dir("XDG_DATA_HOME")
                    .or_else(|| home().map(|h| h.join(".local/share")))
                    .unwrap_or_else(|| PathBuf::from("/nonexistent"))
                    .join("containers/storage")
            } else {
                PathBuf::from("/var/lib/containers/storage")
            }
        });
    (root, driver)
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, Fail> {
    let f = std::fs::File::open(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        };
        fail(kind, format!("{}: {e}", path.display()))
    })?;
    let mut out = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| fail(ErrorKind::Io, format!("{}: {e}", path.display())))?;
    if out.len() as u64 > limit {
        return Err(fail(
            ErrorKind::TooLarge,
            format!("{}: more than the {limit}-byte limit", path.display()),
        ));
    }
    Ok(out)
}

/// containers/storage's file name for a big-data key.
fn big_data_name(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        key.to_string()
    } else {
        format!("={}", base64::engine::general_purpose::STANDARD.encode(key))
    }
}

/// The names a user's `NAME[:TAG]` may be stored under.
fn candidates(name: &str) -> Vec<String> {
    let last = name.rsplit('/').next().unwrap_or(name);
    let with_tag = if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    };
    let first = with_tag.split('/').next().unwrap_or("");
    let has_domain = with_tag.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    let mut v = vec![with_tag.clone()];
    if !has_domain {
        v.push(format!("localhost/{with_tag}"));
        if with_tag.contains('/') {
            v.push(format!("docker.io/{with_tag}"));
        } else {
            v.push(format!("docker.io/library/{with_tag}"));
        }
    } else if let Some(rest) = with_tag.strip_prefix("docker.io/") {
        if !rest.contains('/') {
            v.push(format!("docker.io/library/{rest}"));
        }
    }
    v
}

fn find<'a>(images: &'a [StoredImage], wanted: &str) -> Result<Option<&'a StoredImage>, Fail> {
    let id = wanted.strip_prefix("sha256:").unwrap_or(wanted);
    if let Some(i) = images.iter().find(|i| i.id == id) {
        return Ok(Some(i));
    }
    if let Some((name, digest)) = wanted.split_once('@') {
        let by = |i: &&StoredImage| {
            (i.digest.as_deref() == Some(digest) || i.digests.iter().any(|d| d == digest))
                && (name.is_empty()
                    || i.names.iter().any(|n| {
                        candidates(name)
                            .iter()
                            .any(|c| n.split([':', '@']).next() == c.split(':').next())
                    }))
        };
        return Ok(images.iter().find(by));
    }
    for c in candidates(wanted) {
        if let Some(i) = images.iter().find(|i| i.names.contains(&c)) {
            return Ok(Some(i));
        }
    }
    // An id prefix, as podman accepts (at least 3 hex digits, unambiguous).
    if id.len() >= 3 && id.len() < 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let matching: Vec<&StoredImage> = images.iter().filter(|i| i.id.starts_with(id)).collect();
        match matching.len() {
            0 => {}
            1 => return Ok(Some(matching[0])),
            n => {
                return Err(fail(
                    ErrorKind::NotFound,
                    format!("{n} images have an id starting with {id}: give more of it"),
                ))
            }
        }
    }
    Ok(None)
}

pub fn open(r: &StorageRef, options: &PullOptions, platform: &Platform) -> Result<Found, Fail> {
    let (root, driver) = locate(r, options);
    let drivers: Vec<String> = match &driver {
        Some(d) => vec![d.clone()],
        None => vec!["overlay".into(), "vfs".into()],
    };
    let mut looked = Vec::new();
    for d in &drivers {
        if d != "overlay" && d != "vfs" {
            return Err(fail(
                ErrorKind::Unsupported,
                format!(
                    "storage driver {d} of {} is not read (overlay and vfs are)",
                    root.display()
                ),
            ));
        }
        let images_json = root.join(format!("{d}-images/images.json"));
        let bytes = match read_bounded(&images_json, MAX_METADATA_BYTES) {
            Ok(b) => b,
            Err(f) if f.kind == ErrorKind::NotFound => {
                looked.push(format!("{} (absent)", images_json.display()));
                continue;
            }
            Err(f) => return Err(f.step("images.json")),
        };
        looked.push(images_json.display().to_string());
        let images: Vec<StoredImage> = serde_json::from_slice(&bytes)
            .map_err(|e| fail(ErrorKind::Malformed, format!("{}: {e}", images_json.display())))?;
        if let Some(image) = find(&images, &r.image)? {
            return read_image(&root, d, image, options, platform);
        }
    }
    Err(fail(
        ErrorKind::NotFound,
        format!(
            "no image {:?} in containers-storage (looked in {})",
            r.image,
            looked.join(", ")
        ),
    ))
}

fn read_image(
    root: &Path,
    driver: &str,
    image: &StoredImage,
    options: &PullOptions,
    platform: &Platform,
) -> Result<Found, Fail> {
    if !is_id(&image.id) {
        return Err(fail(
            ErrorKind::Malformed,
            format!("images.json: {:?} is not an image id", image.id),
        ));
    }
    let dir = root.join(format!("{driver}-images")).join(&image.id);
    let big = |key: &str, limit: u64| read_bounded(&dir.join(big_data_name(key)), limit);
    // The manifest: the image's own, or from a stored list the platform's.
    let mut bytes = big("manifest", options.max_manifest_bytes).map_err(|f| f.step("manifest"))?;
    let mut digest = match &image.digest {
        Some(d) => Digest::parse(d).map_err(|e| fail(ErrorKind::Malformed, format!("images.json digest: {e}")))?,
        None => Digest::sha256_of(&bytes),
    };
    if !digest.matches(&bytes) {
        // Pulled from a list: "manifest" may be the list; the image's is manifest-DIGEST.
        if let Ok(b) = big(&format!("manifest-{digest}"), options.max_manifest_bytes) {
            bytes = b;
        }
    }
    if let Ok(Parsed::Index(index)) = manifest::parse(&bytes, None) {
        let d = manifest::select(&index, platform, "stored manifest list")?;
        let child = Digest::parse(d.digest().as_ref()).map_err(|e| fail(ErrorKind::Malformed, e))?;
        bytes = big(&format!("manifest-{child}"), options.max_manifest_bytes).map_err(|f| f.step("manifest"))?;
        digest = child;
    }
    manifest::check_blob(&bytes, &digest, None, "stored manifest").map_err(|f| f.step("manifest"))?;
    let Parsed::Manifest(m) = manifest::parse(&bytes, None).map_err(|f| f.step("manifest"))? else {
        return Err(fail(ErrorKind::Malformed, "the stored manifest is an index").step("manifest"));
    };
    let config = manifest::config_of(&m, options.max_config_bytes, &|d, size| {
        let b = big(&d.to_string(), options.max_config_bytes)?;
        manifest::check_blob(&b, d, size, "config")?;
        Ok(b)
    })?;
    if config.digest != format!("sha256:{}", image.id) {
        return Err(fail(
            ErrorKind::DigestMismatch,
            format!("the image id {} is not its config's digest {}", image.id, config.digest),
        ));
    }
    let mut layers = manifest::layers(&m, &config, options.max_layer_bytes)?;
    // The storage layers, top to bottom through their parents.
    let layers_json = root.join(format!("{driver}-layers/layers.json"));
    let stored: Vec<StoredLayer> = serde_json::from_slice(&read_bounded(&layers_json, MAX_METADATA_BYTES)?)
        .map_err(|e| fail(ErrorKind::Malformed, format!("{}: {e}", layers_json.display())))?;
    let mut chain = Vec::new();
    let mut next = image.layer.clone();
    while let Some(id) = next {
        if chain.len() > layers.len() {
            return Err(fail(
                ErrorKind::Malformed,
                format!("{}: the layer chain is longer than the manifest", layers_json.display()),
            ));
        }
        let l = stored.iter().find(|l| l.id == id).ok_or_else(|| {
            fail(
                ErrorKind::Malformed,
                format!("{}: no layer {id}", layers_json.display()),
            )
        })?;
        if !is_id(&l.id) {
            return Err(fail(
                ErrorKind::Malformed,
                format!("{}: {:?} is not a layer id", layers_json.display(), l.id),
            ));
        }
        chain.push(l);
        next = l.parent.clone();
    }
    chain.reverse();
    if chain.len() != layers.len() {
        return Err(fail(
            ErrorKind::Malformed,
            format!(
                "the storage has {} layers for the image, its manifest {}",
                chain.len(),
                layers.len()
            ),
        ));
    }
    for (layer, stored) in layers.iter_mut().zip(&chain) {
        if stored.diff_digest.is_some() && stored.diff_digest != layer.diff_id {
            return Err(fail(
                ErrorKind::DigestMismatch,
                format!(
                    "storage layer {} holds {:?}, the config says {:?}",
                    stored.id, stored.diff_digest, layer.diff_id
                ),
            ));
        }
        if let Some(c) = &stored.compressed_diff_digest {
            layer.digest = c.clone();
        }
    }
    Ok(Found {
        id_map: rootless_id_map(root),
        manifest_digest: digest.to_string(),
        index_digest: None,
        config,
        layers,
        source: Arc::new(StorageLayers {
            root: root.to_path_buf(),
            driver: driver.to_string(),
            ids: chain.iter().map(|l| l.id.clone()).collect(),
        }),
    })
}

/// A storage whose graph root belongs to a user other than root is a rootless user's: podman
/// wrote it inside a user namespace mapping the image's uid 0 to that user and 1… to the
/// user's subordinate ids (`/etc/subuid`, `/etc/subgid`, by name or uid), so its files are
/// owned by those host ids. `None` for root's storage.
fn rootless_id_map(root: &Path) -> Option<crate::IdMap> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(root).ok()?;
    let (uid, gid) = (meta.uid(), meta.gid());
    if uid == 0 {
        return None;
    }
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name);
    let ranges = |file: &str, own: u32| {
        let mut v = vec![crate::IdRange {
            container: 0,
            host: own,
            len: 1,
        }];
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines() {
            let mut f = line.trim().split(':');
            let (Some(who), Some(start), Some(count)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let ours = Some(who) == name.as_deref() || who.parse::<u32>().ok() == Some(uid);
            if let (true, Ok(start), Ok(count)) = (ours, start.parse::<u32>(), count.parse::<u32>()) {
                // containers/storage maps the first subordinate range after uid 0.
                v.push(crate::IdRange {
                    container: 1,
                    host: start,
                    len: count,
                });
                break;
            }
        }
        v
    };
    Some(crate::IdMap {
        uids: ranges("/etc/subuid", uid),
        gids: ranges("/etc/subgid", gid),
    })
}

struct StorageLayers {
    root: PathBuf,
    driver: String,
    ids: Vec<String>,
}

impl BlobSource for StorageLayers {
    fn open_layer(&self, layer: &Layer, _limits: &Limits) -> Result<LayerContent, Fail> {
        let id = self
            .ids
            .get(layer.index)
            .ok_or_else(|| fail(ErrorKind::NotFound, "no such layer"))?;
        let (dir, snapshot) = match self.driver.as_str() {
            "overlay" => (self.root.join("overlay").join(id).join("diff"), false),
            _ => (self.root.join("vfs/dir").join(id), true),
        };
        let meta = std::fs::symlink_metadata(&dir)
            .map_err(|e| fail(ErrorKind::NotFound, format!("{}: {e}", dir.display())))?;
        if !meta.is_dir() {
            return Err(fail(
                ErrorKind::Malformed,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(if snapshot {
            LayerContent::Snapshot(dir)
        } else {
            LayerContent::Dir(dir)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_conf_subset() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("storage.conf");
        std::fs::write(
            &f,
            "# comment\n[storage]\ndriver = \"vfs\"  # trailing\nrunroot = \"/run/x\"\ngraphroot = '/srv/graph'\n[storage.options]\ngraphroot = \"/wrong\"\n",
        )
        .unwrap();
        assert_eq!(
            storage_conf(&f),
            Some((Some(PathBuf::from("/srv/graph")), Some("vfs".to_string())))
        );
        assert_eq!(storage_conf(&t.path().join("none")), None);
    }

    #[test]
    fn names_and_keys() {
        assert_eq!(
            candidates("t"),
            ["t:latest", "localhost/t:latest", "docker.io/library/t:latest"]
        );
        assert_eq!(candidates("a/b:1"), ["a/b:1", "localhost/a/b:1", "docker.io/a/b:1"]);
        assert_eq!(candidates("quay.io/a/b"), ["quay.io/a/b:latest"]);
        assert_eq!(big_data_name("manifest"), "manifest");
        assert_eq!(
            big_data_name("sha256:35e50f531b63e5a6de3d39f9147de52177d6e92fd10795c6a7a846c0d92188ae"),
            "=c2hhMjU2OjM1ZTUwZjUzMWI2M2U1YTZkZTNkMzlmOTE0N2RlNTIxNzdkNmU5MmZkMTA3OTVjNmE3YTg0NmMwZDkyMTg4YWU="
        );
    }
}
