//! Image archives read in place, never extracted: `oci-archive:` (a tar of an OCI layout) and
//! `docker-archive:` (`docker save` / `podman save`: `manifest.json` with `Config`,
//! `RepoTags`, `Layers`). The tar is walked once to index its members' data offsets; a blob is
//! then read with positioned reads of that byte range, so several threads can read layers at
//! once from one open file.

use crate::digest::Digest;
use crate::error::{fail, ErrorKind, Fail};
use crate::layer::{self, Limits};
use crate::layout::{self, Files};
use crate::manifest;
use crate::reference::{self, Platform};
use crate::{BlobSource, Found, Layer, LayerContent, PullOptions};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Members indexed at most: an archive with more is refused (bounded memory).
const MAX_MEMBERS: usize = 1_000_000;

enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// Symlink (target relative to the member's directory) or hard link (target from the top).
    Link {
        target: String,
        hard: bool,
    },
}

/// A tar's members, by normalised path.
pub struct TarIndex {
    file: Arc<File>,
    path: PathBuf,
    members: HashMap<String, Member>,
}

/// `./a//b/` → `a/b`; `None` for paths that leave the archive (`..`, absolute).
fn normalize(p: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

impl TarIndex {
    pub fn open(path: &Path) -> Result<TarIndex, Fail> {
        let file = File::open(path).map_err(|e| {
            let kind = if e.kind() == io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            fail(kind, format!("cannot open {}: {e}", path.display()))
        })?;
        let bad = |e: io::Error| {
            fail(
                ErrorKind::Malformed,
                format!("{} is not a readable tar archive: {e}", path.display()),
            )
        };
        let mut members = HashMap::new();
        {
            let mut archive = tar::Archive::new(&file);
            for entry in archive.entries_with_seek().map_err(bad)? {
                let entry = entry.map_err(bad)?;
                if members.len() >= MAX_MEMBERS {
                    return Err(fail(
                        ErrorKind::TooLarge,
                        format!("{} has more than {MAX_MEMBERS} members", path.display()),
                    ));
                }
                let raw = entry.path_bytes();
                let Some(name) = std::str::from_utf8(&raw).ok().and_then(normalize) else {
                    continue;
                };
                let kind = entry.header().entry_type();
                let member = if kind.is_file() {
                    Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    }
                } else if kind.is_symlink() || kind.is_hard_link() {
                    let Some(target) = entry
                        .link_name_bytes()
                        .and_then(|t| std::str::from_utf8(&t).ok().map(str::to_string))
                    else {
                        continue;
                    };
                    Member::Link {
                        target,
                        hard: kind.is_hard_link(),
                    }
                } else {
                    // Directories, and sparse files whose bytes are not stored in one run.
                    continue;
                };
                // A later member replaces an earlier one, as tar extraction would.
                members.insert(name, member);
            }
        }
        Ok(TarIndex {
            file: Arc::new(file),
            path: path.to_path_buf(),
            members,
        })
    }

    /// The byte range of a regular member, following links inside the archive.
    fn locate(&self, path: &str) -> Result<(u64, u64), Fail> {
        let mut name =
            normalize(path).ok_or_else(|| fail(ErrorKind::Malformed, format!("{path:?} leaves the archive")))?;
        for _ in 0..16 {
            match self.members.get(&name) {
                None => {
                    return Err(fail(
                        ErrorKind::NotFound,
                        format!("{} has no member {path}", self.path.display()),
                    ))
                }
                Some(Member::File { offset, size }) => return Ok((*offset, *size)),
                Some(Member::Link { target, hard }) => {
                    let joined = if *hard || target.starts_with('/') {
                        target.clone()
                    } else {
                        match name.rfind('/') {
                            Some(i) => format!("{}/{target}", &name[..i]),
                            None => target.clone(),
                        }
                    };
                    name = normalize(&joined).ok_or_else(|| {
                        fail(
                            ErrorKind::Malformed,
                            format!("{path}: its link target {target:?} leaves the archive"),
                        )
                    })?;
                }
            }
        }
        Err(fail(ErrorKind::Malformed, format!("{path}: too many links")))
    }

    fn reader(&self, offset: u64, size: u64) -> Section {
        Section {
            file: self.file.clone(),
            pos: offset,
            end: offset.saturating_add(size),
        }
    }
}

/// A byte range of the archive, read with `pread`.
struct Section {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf.len().min(left.min(usize::MAX as u64) as usize);
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside a member",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Files for TarIndex {
    fn open(&self, path: &str) -> Result<(Box<dyn Read + Send>, u64), Fail> {
        let (offset, size) = self.locate(path)?;
        Ok((Box::new(self.reader(offset, size)), size))
    }
    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

pub fn open_oci(file: &Path, tag: Option<&str>, options: &PullOptions, platform: &Platform) -> Result<Found, Fail> {
    let index = TarIndex::open(file).map_err(|f| f.step("indexing the archive"))?;
    layout::read(Arc::new(index), tag, options, platform)
}

#[derive(serde::Deserialize, Clone)]
struct ArchiveEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// `NAME:TAG` as docker normalises it, to compare names written differently.
fn normalized_name(s: &str) -> Option<String> {
    let r = reference::parse_docker(s).ok()?;
    Some(format!("{}/{}:{}", r.domain, r.name, r.tag.unwrap_or_default()))
}

pub fn open_docker(file: &Path, name: Option<&str>, options: &PullOptions) -> Result<Found, Fail> {
    let index = TarIndex::open(file).map_err(|f| f.step("indexing the archive"))?;
    let read_member = |path: &str, limit: u64| -> Result<Vec<u8>, Fail> {
        let (offset, size) = index.locate(path)?;
        if size > limit {
            return Err(fail(
                ErrorKind::TooLarge,
                format!("{path}: {size} bytes, more than the {limit}-byte limit"),
            ));
        }
        let mut out = Vec::new();
        index
            .reader(offset, size)
            .read_to_end(&mut out)
            .map_err(|e| fail(ErrorKind::Io, format!("{path}: {e}")))?;
        Ok(out)
    };
    let bytes = read_member("manifest.json", options.max_manifest_bytes).map_err(|f| f.step("manifest.json"))?;
    let entries: Vec<ArchiveEntry> = serde_json::from_slice(&bytes)
        .map_err(|e| fail(ErrorKind::Malformed, format!("manifest.json: {e}")).step("manifest.json"))?;
    let all_tags = || {
        let t: Vec<&str> = entries
            .iter()
            .flat_map(|e| e.repo_tags.iter().flatten())
            .map(String::as_str)
            .collect();
        if t.is_empty() {
            "none".to_string()
        } else {
            t.join(", ")
        }
    };
    let entry = match name {
        Some(n) if n.starts_with('@') => {
            n[1..]
                .parse::<usize>()
                .ok()
                .and_then(|i| entries.get(i))
                .ok_or_else(|| {
                    fail(
                        ErrorKind::NotFound,
                        format!("no image {n} in the archive ({} images)", entries.len()),
                    )
                })?
        }
        Some(n) => {
            let want = normalized_name(n);
            entries
                .iter()
                .find(|e| {
                    e.repo_tags
                        .iter()
                        .flatten()
                        .any(|t| t == n || (want.is_some() && normalized_name(t) == want))
                })
                .ok_or_else(|| {
                    fail(
                        ErrorKind::NotFound,
                        format!("no image named {n:?} in the archive (tags: {})", all_tags()),
                    )
                })?
        }
        None if entries.len() == 1 => &entries[0],
        None => {
            return Err(fail(
                ErrorKind::NotFound,
                format!(
                    "the archive holds {} images: name one (tags: {})",
                    entries.len(),
                    all_tags()
                ),
            ))
        }
    }
    .to_owned();
    let config_bytes = read_member(&entry.config, options.max_config_bytes).map_err(|f| f.step("config"))?;
    let config_digest = Digest::sha256_of(&config_bytes);
    // The member is named after its digest (`HEX.json`, `blobs/sha256/HEX`): check it.
    let stem = entry.config.rsplit('/').next().unwrap_or("").trim_end_matches(".json");
    if stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && stem != config_digest.hex() {
        return Err(fail(
            ErrorKind::DigestMismatch,
            format!(
                "{}: digest mismatch: the name says sha256:{stem}, the bytes have {config_digest}",
                entry.config
            ),
        )
        .step("config"));
    }
    let config = manifest::parse_config(&config_bytes, &config_digest)?;
    if config.diff_ids.len() != entry.layers.len() {
        return Err(fail(
            ErrorKind::Malformed,
            format!(
                "manifest.json lists {} layers but the config has {} diff_ids",
                entry.layers.len(),
                config.diff_ids.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    let mut members = Vec::new();
    for (i, path) in entry.layers.iter().enumerate() {
        let (offset, size) = index.locate(path).map_err(|f| f.step(format!("layer {i}")))?;
        if size > options.max_layer_bytes {
            return Err(fail(
                ErrorKind::TooLarge,
                format!(
                    "layer {i} ({path}): {size} bytes, more than the {}-byte limit",
                    options.max_layer_bytes
                ),
            ));
        }
        let mut magic = [0u8; 4];
        let n = index.reader(offset, size).read(&mut magic).unwrap_or(0);
        let media_type = if magic[..n].starts_with(&[0x1f, 0x8b]) {
            manifest::DOCKER_LAYER
        } else if magic[..n] == [0x28, 0xb5, 0x2f, 0xfd] {
            "application/vnd.docker.image.rootfs.diff.tar.zstd"
        } else {
            "application/vnd.docker.image.rootfs.diff.tar"
        };
        layers.push(Layer {
            index: i,
            digest: config.diff_ids[i].clone(),
            diff_id: Some(config.diff_ids[i].clone()),
            media_type: media_type.to_string(),
            size: Some(size),
            created_by: config.layer_history.get(i).cloned().flatten(),
        });
        members.push((offset, size));
    }
    // Written out by hand so that the bytes (and digest) do not depend on serde_json's
    // features (key order): every value here is a digest, a number or a fixed media type.
    let layer_json: Vec<String> = layers
        .iter()
        .map(|l| {
            format!(
                r#"{{"mediaType":"{}","size":{},"digest":"{}"}}"#,
                l.media_type,
                l.size.unwrap_or(0),
                l.digest
            )
        })
        .collect();
    let synthesized = format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","size":{},"digest":"{config_digest}"}},"layers":[{}]}}"#,
        manifest::DOCKER_MANIFEST,
        manifest::DOCKER_CONFIG,
        config_bytes.len(),
        layer_json.join(",")
    );
    debug_assert!(serde_json::from_str::<serde_json::Value>(&synthesized).is_ok());
    let manifest_digest = Digest::sha256_of(synthesized.as_bytes());
    Ok(Found {
        id_map: None,
        manifest_digest: manifest_digest.to_string(),
        index_digest: None,
        config,
        layers,
        source: Arc::new(DockerArchiveBlobs { index, members }),
    })
}

struct DockerArchiveBlobs {
    index: TarIndex,
    members: Vec<(u64, u64)>,
}

impl BlobSource for DockerArchiveBlobs {
    fn open_layer(&self, layer: &Layer, limits: &Limits) -> Result<LayerContent, Fail> {
        let &(offset, size) = self
            .members
            .get(layer.index)
            .ok_or_else(|| fail(ErrorKind::NotFound, "no such layer"))?;
        // Stored as the layer tar itself (or compressed): only the diff_id can be checked.
        layer::tar_stream(Box::new(self.index.reader(offset, size)), layer, None, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn member_paths() {
        assert_eq!(normalize("./blobs//sha256/x").as_deref(), Some("blobs/sha256/x"));
        assert_eq!(normalize("a/../b").as_deref(), Some("b"));
        assert_eq!(normalize("../etc/passwd"), None);
    }
}
