//! OCI image layouts (`oci:DIR[:TAG]`): `oci-layout`, `index.json` (tags in
//! `org.opencontainers.image.ref.name`) and `blobs/ALG/HEX`. The same reading serves
//! `oci-archive:` through [`Files`]. A blob's path is made only from a checked digest, and no
//! symlink inside the layout is followed (each component is opened with `O_NOFOLLOW`).

use crate::digest::Digest;
use crate::error::{fail, ErrorKind, Fail};
use crate::layer::{self, Limits};
use crate::manifest::{self, Parsed};
use crate::reference::Platform;
use crate::{BlobSource, Found, Layer, LayerContent, PullOptions};
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The files of a layout, wherever they are stored.
pub trait Files: Send + Sync {
    /// A regular file by its path in the layout (`index.json`, `blobs/sha256/…`), and its size.
    fn open(&self, path: &str) -> Result<(Box<dyn Read + Send>, u64), Fail>;
    /// What to call the layout in errors.
    fn name(&self) -> String;
}

pub fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().name(), d.hex())
}

/// A layout directory on disk.
pub struct DirFiles {
    root: OwnedFd,
    path: PathBuf,
}

impl DirFiles {
    pub fn new(path: &Path) -> Result<DirFiles, Fail> {
        // The user names the directory: a symlink to it is theirs to make.
        let root = nix::fcntl::open(
            path,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| {
            let kind = if e == nix::errno::Errno::ENOENT {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            fail(
                kind,
                format!("cannot open the layout directory {}: {e}", path.display()),
            )
        })?;
        Ok(DirFiles {
            root,
            path: path.to_path_buf(),
        })
    }
}

impl Files for DirFiles {
    fn open(&self, rel: &str) -> Result<(Box<dyn Read + Send>, u64), Fail> {
        let shown = self.path.join(rel);
        let err = |e: nix::errno::Errno| {
            let kind = if e == nix::errno::Errno::ENOENT {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            let why = if e == nix::errno::Errno::ELOOP || e == nix::errno::Errno::ENOTDIR {
                format!("{e} (symlinks inside a layout are not followed)")
            } else {
                e.to_string()
            };
            fail(kind, format!("{}: {why}", shown.display()))
        };
        let parts: Vec<&str> = rel.split('/').collect();
        if parts.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
            return Err(fail(
                ErrorKind::Malformed,
                format!("{rel:?} is not a path inside the layout"),
            ));
        }
        let mut dir: Option<OwnedFd> = None;
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let flags = OFlag::O_RDONLY
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC
                | if last { OFlag::O_NONBLOCK } else { OFlag::O_DIRECTORY };
            let at = match &dir {
                Some(d) => d.as_fd(),
                None => self.root.as_fd(),
            };
            let fd = openat(at, *part, flags, Mode::empty()).map_err(err)?;
            dir = Some(fd);
        }
        let file = File::from(dir.ok_or_else(|| fail(ErrorKind::Malformed, "empty path"))?);
        let meta = file
            .metadata()
            .map_err(|e| fail(ErrorKind::Io, format!("{}: {e}", shown.display())))?;
        if !meta.is_file() {
            return Err(fail(
                ErrorKind::Malformed,
                format!("{} is not a regular file", shown.display()),
            ));
        }
        Ok((Box::new(file), meta.len()))
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// A small file of the layout, bounded.
fn read_bounded(files: &dyn Files, path: &str, limit: u64) -> Result<Vec<u8>, Fail> {
    let (r, size) = files.open(path)?;
    if size > limit {
        return Err(fail(
            ErrorKind::TooLarge,
            format!("{path}: {size} bytes, more than the {limit}-byte limit"),
        ));
    }
    let mut out = Vec::new();
    r.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| fail(ErrorKind::Io, format!("{path}: {e}")))?;
    if out.len() as u64 > limit {
        return Err(fail(
            ErrorKind::TooLarge,
            format!("{path}: more than the {limit}-byte limit"),
        ));
    }
    Ok(out)
}

fn read_blob(files: &dyn Files, d: &Digest, size: Option<u64>, limit: u64, what: &str) -> Result<Vec<u8>, Fail> {
    if let Some(s) = size {
        if s > limit {
            return Err(fail(
                ErrorKind::TooLarge,
                format!("{what} {d}: {s} bytes, more than the {limit}-byte limit"),
            ));
        }
    }
    let (r, _) = files.open(&blob_path(d))?;
    layer::read_small(r, d, size, limit, what)
}

/// Read a layout: its index, the tag's manifest (through nested indexes to the platform),
/// the config.
pub fn read(
    files: Arc<dyn Files>,
    tag: Option<&str>,
    options: &PullOptions,
    platform: &Platform,
) -> Result<Found, Fail> {
    let layout = read_bounded(&*files, "oci-layout", 4096).map_err(|f| f.step("oci-layout"))?;
    let v: serde_json::Value = serde_json::from_slice(&layout)
        .map_err(|e| fail(ErrorKind::Malformed, format!("oci-layout: {e}")).step("oci-layout"))?;
    if v.get("imageLayoutVersion").and_then(|v| v.as_str()) != Some("1.0.0") {
        return Err(fail(
            ErrorKind::Unsupported,
            format!("oci-layout says {v}, not imageLayoutVersion 1.0.0"),
        )
        .step("oci-layout"));
    }
    let index_bytes =
        read_bounded(&*files, "index.json", options.max_manifest_bytes).map_err(|f| f.step("index.json"))?;
    let Parsed::Index(index) =
        manifest::parse(&index_bytes, Some(manifest::OCI_INDEX)).map_err(|f| f.step("index.json"))?
    else {
        return Err(fail(ErrorKind::Malformed, "index.json is not an image index").step("index.json"));
    };
    let ref_name = |d: &oci_spec::image::Descriptor| d.annotations().as_ref().and_then(|a| a.get(REF_NAME).cloned());
    let chosen = match tag {
        Some(t) => index
            .manifests()
            .iter()
            .find(|d| ref_name(d).as_deref() == Some(t))
            .ok_or_else(|| {
                let tags: Vec<String> = index.manifests().iter().filter_map(ref_name).collect();
                fail(
                    ErrorKind::NotFound,
                    format!(
                        "no image tagged {t:?} in {} (tags: {})",
                        files.name(),
                        if tags.is_empty() {
                            "none".into()
                        } else {
                            tags.join(", ")
                        }
                    ),
                )
                .step("index.json")
            })?,
        None if index.manifests().len() == 1 => &index.manifests()[0],
        None => {
            // As containers/image: without a tag, the layout must hold one image, unless
            // it is one multi-platform index.
            return Err(fail(
                ErrorKind::NotFound,
                format!(
                    "{} holds {} manifests: name one with :TAG (tags: {})",
                    files.name(),
                    index.manifests().len(),
                    index
                        .manifests()
                        .iter()
                        .filter_map(ref_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .step("index.json"));
        }
    };
    let top_digest =
        Digest::parse(chosen.digest().as_ref()).map_err(|e| fail(ErrorKind::Malformed, e).step("index.json"))?;
    let max_manifest = options.max_manifest_bytes;
    let top = read_blob(&*files, &top_digest, Some(chosen.size()), max_manifest, "manifest")
        .map_err(|f| f.step(format!("manifest {top_digest}")))?;
    let fetch =
        |d: &Digest, size: Option<u64>| read_blob(&*files, d, size, max_manifest, "manifest").map(|b| (b, None));
    let media = chosen.media_type().to_string();
    let resolved = manifest::resolve(top, top_digest, Some(&media), platform, &fetch)?;
    let config = manifest::config_of(&resolved.manifest, options.max_config_bytes, &|d, s| {
        read_blob(&*files, d, s, options.max_config_bytes, "config")
    })?;
    let layers = manifest::layers(&resolved.manifest, &config, options.max_layer_bytes)?;
    Ok(Found {
        id_map: None,
        manifest_digest: resolved.manifest_digest.to_string(),
        index_digest: resolved.index_digest.map(|d| d.to_string()),
        config,
        layers,
        source: Arc::new(LayoutBlobs { files }),
    })
}

pub fn open(dir: &Path, tag: Option<&str>, options: &PullOptions, platform: &Platform) -> Result<Found, Fail> {
    read(Arc::new(DirFiles::new(dir)?), tag, options, platform)
}

struct LayoutBlobs {
    files: Arc<dyn Files>,
}

impl BlobSource for LayoutBlobs {
    fn open_layer(&self, layer: &Layer, limits: &Limits) -> Result<LayerContent, Fail> {
        let d = Digest::parse(&layer.digest).map_err(|e| fail(ErrorKind::Malformed, e))?;
        let (r, _) = self.files.open(&blob_path(&d))?;
        layer::tar_stream(r, layer, Some(d), limits)
    }
}
