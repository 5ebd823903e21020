//! Finding a container image and delivering its pieces, verified, without running it and
//! without a daemon: the manifest, the config (the image id, labels, history) and each layer
//! as a decompressed tar stream whose size and digests are checked as it is read.
//!
//! ```no_run
//! use std::io::Read;
//! let image = oci_image::open("oci:/srv/layout:latest", &oci_image::PullOptions::default())?;
//! println!("{} {}", image.config_digest, image.platform);
//! for layer in &image.layers {
//!     match image.open_layer(layer.index)? {
//!         oci_image::LayerContent::Tar(mut tar) => {
//!             let mut bytes = Vec::new();
//!             tar.read_to_end(&mut bytes)?; // an error here: the layer is not what it claims
//!         }
//!         oci_image::LayerContent::Dir(dir) | oci_image::LayerContent::Snapshot(dir) => {
//!             println!("{}", dir.display())
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | reference | source |
//! | --- | --- |
//! | `docker://HOST[:PORT]/NAME[:TAG\|@DIGEST]`, or a bare `NAME[:TAG]` (docker.io, `library/`) | a registry, distribution API v2 |
//! | `oci:DIR[:TAG]` | an OCI image layout directory |
//! | `oci-archive:FILE[:TAG]` | a tar of an OCI layout, read in place |
//! | `docker-archive:FILE[:NAME:TAG\|:@N]` | `docker save` / `podman save` output, read in place |
//! | `containers-storage:[DRIVER@ROOT+RUN]NAME[:TAG]`, `…ID-PREFIX`, `…NAME@DIGEST` | podman's storage, overlay or vfs, read directly |
//!
//! Not done: credential helpers are named in the error but not run; registries.conf (mirrors, `insecure`,
//! short-name aliases) is not read — a bare name means docker.io; Docker schema 1 is refused;
//! containers-storage drivers other than overlay and vfs are refused, and its locks are not
//! taken (an image removed while it is read gives a read error).
//!
//! The modules follow the data: `reference` says where the image lives; one module per
//! source reads it (`registry` with `auth` and `credentials`, `layout`, `archive`,
//! `storage`); `manifest` turns manifest and config bytes into an [`Image`]; `layer` turns a
//! blob into a checked tar stream. Images and registries are untrusted: every size is
//! bounded, every digest is checked, a digest is validated before it names a path, and
//! nothing is written anywhere.

mod archive;
mod credentials;
pub mod digest;
mod error;
mod layer;
mod layout;
mod manifest;
mod reference;
mod registry;
mod storage;

pub use error::{ErrorKind, ImageError};
pub use reference::{Platform, Transport};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Called with every redirect target before it is followed; an `Err` refuses it.
pub type RedirectCheck = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

/// How to find and read an image.
#[derive(Clone)]
pub struct PullOptions {
    /// The platform to pick from a manifest list / index; `None`: the host's.
    pub platform: Option<Platform>,
    /// Credentials file; else `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
    /// `~/.config/containers/auth.json`, `~/.docker/config.json`.
    pub authfile: Option<PathBuf>,
    /// CA certificates (`*.crt`) for registries; else `/etc/containers/certs.d/HOST[:PORT]/`
    /// and `/etc/docker/certs.d/HOST[:PORT]/`.
    pub cert_dir: Option<PathBuf>,
    /// `false`: plain HTTP and unverified certificates are allowed (https tried first).
    pub tls_verify: bool,
    /// containers-storage graph root; else storage.conf's, else the default for this user.
    pub storage_root: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// Time for a server to start answering, and the longest pause while reading a body.
    pub response_timeout: Duration,
    /// Time for one whole request, body included.
    pub total_timeout: Duration,
    /// Tries per request for errors that may pass (connection refused or reset, 5xx, 429).
    pub attempts: u32,
    pub max_manifest_bytes: u64,
    pub max_config_bytes: u64,
    /// Bounds each layer, compressed and decompressed.
    pub max_layer_bytes: u64,
    pub redirect_check: Option<RedirectCheck>,
    /// The address policy for every URL off the registry's origin (redirects to blob
    /// storage, token realms): connections there go only to addresses it permits, checked
    /// after the one lookup made (net-policy). `None`: no address rule.
    pub redirect_policy: Option<Arc<net_policy::Policy>>,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            platform: None,
            authfile: None,
            cert_dir: None,
            tls_verify: true,
            storage_root: None,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(600),
            attempts: 2,
            max_manifest_bytes: 4 << 20,
            max_config_bytes: 8 << 20,
            max_layer_bytes: 16 << 30,
            redirect_check: None,
            redirect_policy: None,
        }
    }
}

impl std::fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullOptions")
            .field("platform", &self.platform)
            .field("authfile", &self.authfile)
            .field("cert_dir", &self.cert_dir)
            .field("tls_verify", &self.tls_verify)
            .field("storage_root", &self.storage_root)
            .field("redirect_check", &self.redirect_check.is_some())
            .field("redirect_policy", &self.redirect_policy)
            .finish_non_exhaustive()
    }
}

/// An image found and its manifest and config read and checked.
pub struct Image {
    /// The reference as given.
    pub reference: String,
    pub transport: Transport,
    /// `sha256:…` of the platform manifest's bytes. docker-archive has no manifest: it is the
    /// digest of the Docker schema 2 manifest this crate synthesizes (config, layers as
    /// stored), not necessarily the one skopeo would synthesize. containers-storage: the
    /// image's stored manifest digest.
    pub manifest_digest: String,
    /// The manifest list / index the platform manifest was picked from, when there was one
    /// (registries and layouts): its digest.
    pub index_digest: Option<String>,
    /// `sha256:<64 hex>` of the config: the image id.
    pub config_digest: String,
    /// `os/architecture[/variant]` from the config.
    pub platform: String,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// Bottom layer first.
    pub layers: Vec<Layer>,
    /// How the owners of a rootless user's containers-storage files map back to the image's
    /// ids (the files are owned by that user's ids on the host); `None`: the ids are the
    /// image's own.
    pub id_map: Option<IdMap>,
    source: Arc<dyn BlobSource>,
    limits: layer::Limits,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("reference", &self.reference)
            .field("transport", &self.transport)
            .field("manifest_digest", &self.manifest_digest)
            .field("config_digest", &self.config_digest)
            .field("platform", &self.platform)
            .field("layers", &self.layers)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub index: usize,
    /// As stored or transferred (compressed blob digest). docker-archive and
    /// containers-storage store layers uncompressed: there it is the diff_id.
    pub digest: String,
    /// From the config's `rootfs.diff_ids`: the digest of the decompressed tar.
    pub diff_id: Option<String>,
    pub media_type: String,
    pub size: Option<u64>,
    /// The history entry of this layer (entries with `empty_layer` skipped).
    pub created_by: Option<String>,
}

/// A layer's content.
pub enum LayerContent {
    /// The decompressed tar stream. Reading it to the end checks the blob's size and digest
    /// and the diff_id; a mismatch, a size over the limit or a truncated blob is an
    /// `io::Error` (kind `InvalidData`) from `read()` at that point: discard what was read.
    Tar(Box<dyn std::io::Read + Send>),
    /// containers-storage overlay driver: the layer's diff directory, overlayfs style
    /// (whiteouts are character devices 0/0, opaque directories carry the xattr
    /// `trusted.overlay.opaque` or `user.overlay.opaque` = `y`).
    Dir(PathBuf),
    /// containers-storage vfs driver: the complete root filesystem up to and including this
    /// layer (no whiteouts: what lower layers deleted is absent). It replaces everything
    /// below it; opening the top layer alone is enough.
    Snapshot(PathBuf),
}

impl Image {
    /// Open layer `index` (see [`LayerContent`]). Safe to call from several threads at once.
    pub fn open_layer(&self, index: usize) -> Result<LayerContent, ImageError> {
        let layer = self.layers.get(index).ok_or_else(|| {
            ImageError::new(
                &self.reference,
                "opening a layer",
                ErrorKind::NotFound,
                format!("the image has {} layers, there is no layer {index}", self.layers.len()),
            )
        })?;
        let step = format!("layer {} ({})", index + 1, layer.digest);
        self.source
            .open_layer(layer, &self.limits)
            .map_err(|f| f.at(&self.reference, &step))
    }
}

// The lead opens layers on several threads at once.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Image>();
};

/// Where an image's blobs are read from.
trait BlobSource: Send + Sync {
    fn open_layer(&self, layer: &Layer, limits: &layer::Limits) -> Result<LayerContent, error::Fail>;
}

/// Find `reference` and read its manifest and config. See the crate documentation for the
/// transports.
pub fn open(reference: &str, options: &PullOptions) -> Result<Image, ImageError> {
    let parsed = reference::parse(reference).map_err(|f| f.at(reference, "parsing the reference"))?;
    let platform = match &options.platform {
        Some(p) => p.clone(),
        None => Platform::host(),
    };
    let found = match &parsed {
        reference::Reference::Docker(r) => registry::open(r, options, &platform),
        reference::Reference::Oci { dir, tag } => layout::open(dir, tag.as_deref(), options, &platform),
        reference::Reference::OciArchive { file, tag } => archive::open_oci(file, tag.as_deref(), options, &platform),
        reference::Reference::DockerArchive { file, name } => archive::open_docker(file, name.as_deref(), options),
        reference::Reference::ContainersStorage(r) => storage::open(r, options, &platform),
    }
    .map_err(|f| f.at(reference, ""))?;
    Ok(Image {
        reference: reference.to_string(),
        transport: parsed.transport(),
        manifest_digest: found.manifest_digest,
        index_digest: found.index_digest,
        config_digest: found.config.digest,
        platform: found.config.platform,
        labels: found.config.labels,
        layers: found.layers,
        id_map: found.id_map,
        source: found.source,
        limits: layer::Limits {
            max_layer_bytes: options.max_layer_bytes,
        },
    })
}

/// What a source found, before it becomes an [`Image`].
struct Found {
    manifest_digest: String,
    index_digest: Option<String>,
    config: manifest::Config,
    layers: Vec<Layer>,
    id_map: Option<IdMap>,
    source: Arc<dyn BlobSource>,
}

/// Ids of the image and the ids its files have on the host, range by range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMap {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
}

/// `len` ids from `container` in the image are `host`… on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub len: u32,
}

/// Entry points for the fuzz targets (fuzz/fuzz_targets/image_*.rs): the parsers of
/// untrusted registry and image text, without files or sockets. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::digest::Digest;
    use crate::manifest::{self, Parsed};

    /// Manifest or index bytes: parse, pick a platform, map a config's layers.
    pub fn manifest(bytes: &[u8]) {
        let platform = crate::Platform::host();
        match manifest::parse(bytes, None) {
            Ok(Parsed::Index(i)) => {
                let _ = manifest::select(&i, &platform, "index");
            }
            Ok(Parsed::Manifest(m)) => {
                let empty = manifest::Config {
                    digest: String::new(),
                    platform: String::new(),
                    labels: Default::default(),
                    diff_ids: vec![],
                    layer_history: vec![],
                };
                let _ = manifest::layers(&m, &empty, u64::MAX);
            }
            Err(_) => {}
        }
    }

    /// Config bytes, then the manifest layers against it when `bytes` also parses as one.
    pub fn config(bytes: &[u8]) {
        let _ = manifest::parse_config(bytes, &Digest::sha256_of(bytes));
    }

    /// An image reference, a `WWW-Authenticate` challenge and a digest from one string.
    pub fn text(s: &str) {
        let _ = crate::reference::parse(s);
        let _ = crate::registry::fuzz_challenge(s);
        let _ = Digest::parse(s);
        let _ = crate::Platform::parse(s);
    }
}
