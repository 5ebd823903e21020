//! Image subjects (`--image REF`): the image found and its blobs delivered, verified, by
//! `oci-image`; its layers applied in memory by `rootfs`; the result the scanners judge is a
//! [`Root`] like any directory's. Also the `Image` object of the result document and the
//! layer objects that findings carry (which build step wrote or removed a path, or installed
//! a package: which layer that was is `rpmdb::layers`' to find, from each layer's database;
//! this module only lays the layer out).

use crate::ScanFailure;
use clap::{ArgAction, Args};
use oci_image::{Image, LayerContent, PullOptions};
use rootfs::image::{BuildOptions, LayerInfo, LayerSource, LayerStream};
use rootfs::{ImageTree, Root};
use serde_json::{json, Value};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// The flags of image subjects, shared by every scanner.
#[derive(Debug, Clone, Default, Args)]
pub struct ImageArgs {
    /// Scan an image, read directly (no daemon, nothing unpacked to disk): docker://HOST/NAME:TAG
    /// (or a bare NAME:TAG), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:NAME:TAG],
    /// containers-storage:NAME[:TAG]; repeat for several, mix with --rootfs.
    #[arg(long = "image", value_name = "REF")]
    pub images: Vec<String>,
    /// The platform to pick from a manifest list or index [default: the host's].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Registry credentials (auth.json / config.json) [default: $REGISTRY_AUTH_FILE,
    /// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json, ~/.docker/config.json].
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// CA certificates of registries: DIR/HOST[:PORT]/*.crt [default: /etc/containers/certs.d].
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Verify registries' TLS certificates; false also allows plain HTTP.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub tls_verify: bool,
    /// containers-storage's root [default: storage.conf's graphroot, else
    /// /var/lib/containers/storage for root and ~/.local/share/containers/storage otherwise].
    #[arg(long, value_name = "DIR")]
    pub storage_root: Option<PathBuf>,
    /// Let a registry send us (redirects to blob storage, token realms) to this network
    /// (CIDR), address or host name, otherwise refused when loopback, link-local, private,
    /// multicast or unspecified; repeatable. The registry named in REF is always reached.
    #[arg(long = "allow-registry-redirect", value_name = "CIDR|HOST")]
    pub allow_registry_redirect: Vec<net_policy::Allowed>,
}

impl ImageArgs {
    fn pull_options(&self) -> Result<PullOptions, ScanFailure> {
        let mut options = PullOptions::default();
        if let Some(p) = &self.platform {
            options.platform =
                Some(oci_image::Platform::parse(p).map_err(|e| ScanFailure(format!("--platform {p}: {e}")))?);
        }
        options.authfile = self.authfile.clone();
        options.cert_dir = self.cert_dir.clone();
        options.tls_verify = self.tls_verify;
        options.storage_root = self.storage_root.clone();
        options.redirect_policy = Some(Arc::new(net_policy::Policy {
            allow_private: false,
            https_only: false,
            allowed: self.allow_registry_redirect.clone(),
        }));
        Ok(options)
    }
}

/// An image opened and applied.
pub struct OpenedImage {
    pub root: Root,
    /// The document's `Image` object.
    pub summary: Value,
    /// The config digest's hex digits: the subject's `UUID` and output folder, as atomic's
    /// image mode names an image.
    pub id: String,
    /// The config's `Labels` (not in `summary`: the documents do not carry them).
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Open `reference` and apply its layers. `hash`: take every regular file's SHA-256 in the
/// layer pass (rpm-verify's digests).
pub fn open(reference: &str, args: &ImageArgs, hash: bool) -> Result<OpenedImage, ScanFailure> {
    let options = args.pull_options()?;
    let image = oci_image::open(reference, &options).map_err(|e| ScanFailure(e.to_string()))?;
    let layers: Vec<LayerInfo> = image
        .layers
        .iter()
        .map(|l| LayerInfo {
            index: l.index,
            digest: l.digest.clone(),
            created_by: l.created_by.clone(),
        })
        .collect();
    let summary = json!({
        "Reference": reference,
        "Transport": image.transport.name(),
        "Manifest Digest": image.manifest_digest,
        "Config Digest": image.config_digest,
        "Platform": image.platform,
        "Layers": image.layers.len(),
    });
    let id = image
        .config_digest
        .split_once(':')
        .map_or(image.config_digest.as_str(), |(_, hex)| hex)
        .to_string();
    let labels = image.labels.clone();
    let image = Arc::new(image);
    let source = Layers {
        image: Arc::clone(&image),
    };
    let build = BuildOptions {
        hash,
        ..BuildOptions::default()
    };
    let tree = ImageTree::build(reference, layers, Arc::new(source), &build)
        .map_err(|e| ScanFailure(format!("{reference}: {e}")))?;
    Ok(OpenedImage {
        root: Root::from_image(Arc::new(tree)),
        summary,
        id,
        labels,
    })
}

/// An image's layers, as the tree builder reads them.
struct Layers {
    image: Arc<Image>,
}

impl LayerSource for Layers {
    fn id_map(&self) -> Option<rootfs::image::IdMap> {
        let m = self.image.id_map.as_ref()?;
        let ranges = |r: &[oci_image::IdRange]| r.iter().map(|r| (r.container, r.host, r.len)).collect();
        Some(rootfs::image::IdMap {
            uids: ranges(&m.uids),
            gids: ranges(&m.gids),
        })
    }

    fn open(&self, index: usize) -> io::Result<LayerStream> {
        match self.image.open_layer(index) {
            Ok(LayerContent::Tar(r)) => Ok(LayerStream::Tar(r)),
            Ok(LayerContent::Dir(d)) => Ok(LayerStream::Dir(d)),
            Ok(LayerContent::Snapshot(d)) => Ok(LayerStream::Snapshot(d)),
            // The tree's error names the layer (and the image) already.
            Err(e) => Err(io::Error::other(e.message)),
        }
    }
}

/// The object a finding carries to name a layer: `Index` (1 = the bottom layer), `Digest`,
/// and `Created By` (the build step, from the image's history) when known.
pub fn layer_object(tree: &ImageTree, index: usize) -> Value {
    let Some(l) = tree.layers().get(index) else {
        return Value::Null;
    };
    let mut v = json!({ "Index": index + 1, "Digest": l.digest });
    if let Some(c) = &l.created_by {
        v["Created By"] = json!(c);
    }
    v
}

/// The layer that last wrote `path`, or removed it when the image no longer has it; `None`
/// for a directory root or a path no layer touched.
pub fn path_layer(root: &Root, path: &std::path::Path) -> Option<Value> {
    let tree = root.image()?;
    let found = root
        .resolve(path, false)
        .ok()
        .and_then(|r| tree.writer_of(&r))
        .or_else(|| tree.remover_of(path))?;
    Some(layer_object(tree, found))
}
