//! Container images for the image tests: layer tars written entry by entry (the `tar` crate,
//! so whiteouts, opaque markers, hard links into lower layers, PAX `SCHILY.xattr.*` records
//! and hostile names are exactly what the test says), OCI layouts made from them by the real
//! `umoci` (config, history, diff_ids, gzip: not ours), copies to the other transports by the
//! real `skopeo`, and Debian's `docker-registry` run on 127.0.0.1 for the test.
//!
//! ```ignore
//! let mut l2 = LayerTar::new();
//! l2.file("usr/bin/tool", b"changed\n", 0o755).whiteout("usr/bin/gone").opaque("usr/share/doc/x");
//! let layout = OciLayout::init(&dir.join("layout"), "t");
//! layout.add_layer(&l1.finish(), "COPY root /");
//! layout.add_layer(&l2.finish(), "RUN tamper");
//! let bundle = layout.unpack(&dir.join("bundle"));     // umoci unpack: the oracle's tree
//! skopeo_copy(&layout.reference(), &format!("oci-archive:{}:t", file.display()), &[]);
//! let registry = Registry::start(&dir.join("registry"), None);
//! ```
//!
//! Tools (Debian packages): `umoci`, `skopeo`, `docker-registry`, `htpasswd`
//! (`apache2-utils`), `openssl`, `tar`.

use super::tools::{require_tool, run_ok};
use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One layer's tar, entry by entry. Paths are written as given (no `./` added, nothing
/// checked), so a test can write hostile names.
pub struct LayerTar {
    builder: tar::Builder<Vec<u8>>,
    pub mtime: u64,
}

impl Default for LayerTar {
    fn default() -> Self {
        LayerTar::new()
    }
}

impl LayerTar {
    pub fn new() -> LayerTar {
        LayerTar {
            builder: tar::Builder::new(Vec::new()),
            mtime: 1_700_000_000,
        }
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(self.mtime);
        h.set_size(size);
        h
    }

    /// Append an entry with a raw name (bytes, unchecked; up to 100 bytes).
    fn raw(&mut self, mut h: tar::Header, name: &[u8], link: Option<&[u8]>, data: &[u8]) -> &mut Self {
        {
            let old = h.as_old_mut();
            assert!(name.len() <= old.name.len(), "name too long for a ustar header");
            old.name.fill(0);
            old.name[..name.len()].copy_from_slice(name);
            if let Some(l) = link {
                assert!(l.len() <= old.linkname.len(), "link target too long");
                old.linkname.fill(0);
                old.linkname[..l.len()].copy_from_slice(l);
            }
        }
        h.set_cksum();
        self.builder.append(&h, data).expect("append to an in-memory tar");
        self
    }

    /// A regular file.
    pub fn file(&mut self, path: &str, data: &[u8], mode: u32) -> &mut Self {
        let h = self.header(tar::EntryType::Regular, mode, data.len() as u64);
        self.raw(h, path.as_bytes(), None, data)
    }

    /// A regular file with extended attributes, as PAX `SCHILY.xattr.NAME` records.
    pub fn file_xattrs(&mut self, path: &str, data: &[u8], mode: u32, xattrs: &[(&str, &[u8])]) -> &mut Self {
        let keys: Vec<(String, &[u8])> = xattrs.iter().map(|(k, v)| (format!("SCHILY.xattr.{k}"), *v)).collect();
        self.builder
            .append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))
            .expect("append PAX header");
        self.file(path, data, mode)
    }

    /// A regular file whose name is given in a PAX `path` record (any length).
    pub fn builder_pax_path(&mut self, path: &str, data: &[u8], mode: u32) -> &mut Self {
        self.builder
            .append_pax_extensions([("path", path.as_bytes())])
            .expect("append PAX header");
        let short: String = path.chars().take(99).collect();
        self.file(&short, data, mode)
    }

    /// A regular file whose header declares `declared` bytes but which carries `data` (the
    /// archive then ends early or holds garbage: hostile).
    pub fn file_declared(&mut self, path: &str, declared: u64, data: &[u8]) -> &mut Self {
        let mut h = self.header(tar::EntryType::Regular, 0o644, declared);
        let old = h.as_old_mut();
        old.name.fill(0);
        old.name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        self.builder.get_mut().extend_from_slice(h.as_bytes());
        self.builder.get_mut().extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.builder.get_mut().extend(std::iter::repeat_n(0u8, pad));
        self
    }

    /// A GNU sparse file (type 'S'): `real_size` bytes long, all zeros but `data` at its end
    /// (`data.len()` a multiple of 512), which is all the archive stores.
    pub fn gnu_sparse(&mut self, path: &str, real_size: u64, data: &[u8]) -> &mut Self {
        assert!(data.len().is_multiple_of(512) && data.len() as u64 <= real_size);
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNUSparse);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(self.mtime);
        h.set_size(data.len() as u64);
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name.fill(0);
            gnu.name[..path.len()].copy_from_slice(path.as_bytes());
            gnu.set_real_size(real_size);
            gnu.sparse[0].set_offset(real_size - data.len() as u64);
            gnu.sparse[0].set_length(data.len() as u64);
        }
        h.set_cksum();
        self.builder.get_mut().extend_from_slice(h.as_bytes());
        self.builder.get_mut().extend_from_slice(data);
        self
    }

    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        let h = self.header(tar::EntryType::Directory, mode, 0);
        self.raw(h, path.as_bytes(), None, &[])
    }

    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        let h = self.header(tar::EntryType::Symlink, 0o777, 0);
        self.raw(h, path.as_bytes(), Some(target.as_bytes()), &[])
    }

    /// A hard link `path` to `target` (a path of this layer or of a lower one).
    pub fn hard_link(&mut self, path: &str, target: &str) -> &mut Self {
        let h = self.header(tar::EntryType::Link, 0o644, 0);
        self.raw(h, path.as_bytes(), Some(target.as_bytes()), &[])
    }

    /// `DIR/.wh.NAME`: removes `path` of the lower layers.
    pub fn whiteout(&mut self, path: &str) -> &mut Self {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n),
            None => (String::new(), path),
        };
        let h = self.header(tar::EntryType::Regular, 0o644, 0);
        self.raw(h, format!("{dir}.wh.{name}").as_bytes(), None, &[])
    }

    /// `DIR/.wh..wh..opq`: nothing of the lower layers under `dir` shows through.
    pub fn opaque(&mut self, dir: &str) -> &mut Self {
        let h = self.header(tar::EntryType::Regular, 0o644, 0);
        self.raw(h, format!("{dir}/.wh..wh..opq").as_bytes(), None, &[])
    }

    /// Any entry, name given as raw bytes (hostile names: `../x`, `.wh.`).
    pub fn raw_entry(&mut self, kind: tar::EntryType, name: &[u8], link: Option<&[u8]>, data: &[u8]) -> &mut Self {
        let h = self.header(kind, 0o644, data.len() as u64);
        self.raw(h, name, link, data)
    }

    pub fn finish(self) -> Vec<u8> {
        self.builder.into_inner().expect("finish tar")
    }
}

/// A layer tar of a whole directory tree by GNU tar, keeping hard links, numeric owners and
/// `security.capability` (PAX `SCHILY.xattr`): what `COPY root /` of a build would make.
pub fn tar_of_tree(root: &Path, out: &Path) {
    run_ok(
        Command::new(require_tool("tar"))
            .args(["--create", "--file"])
            .arg(out)
            .args([
                "--format=pax",
                "--xattrs",
                "--xattrs-include=security.capability",
                "--numeric-owner",
                "--sort=name",
                "--directory",
            ])
            .arg(root)
            .arg("."),
    );
}

/// An OCI image layout with one tag, made and edited by `umoci`.
pub struct OciLayout {
    pub dir: PathBuf,
    pub tag: String,
}

impl OciLayout {
    /// `umoci init --layout DIR` and `umoci new --image DIR:TAG` (an image without layers).
    pub fn init(dir: &Path, tag: &str) -> OciLayout {
        let umoci = require_tool("umoci");
        run_ok(Command::new(&umoci).args(["init", "--layout"]).arg(dir));
        let layout = OciLayout {
            dir: dir.to_path_buf(),
            tag: tag.to_string(),
        };
        run_ok(Command::new(&umoci).args(["new", "--image"]).arg(layout.image_arg()));
        layout
    }

    /// `DIR:TAG`, as umoci takes it.
    pub fn image_arg(&self) -> String {
        format!("{}:{}", self.dir.display(), self.tag)
    }

    /// `oci:DIR:TAG`, as the scanners and skopeo take it.
    pub fn reference(&self) -> String {
        format!("oci:{}:{}", self.dir.display(), self.tag)
    }

    /// `umoci raw add-layer` of an uncompressed tar, with a history entry `created_by`.
    pub fn add_layer(&self, tar: &[u8], created_by: &str) {
        let file = tempfile::Builder::new()
            .prefix("layer-")
            .suffix(".tar")
            .tempfile()
            .unwrap();
        fs::write(file.path(), tar).unwrap();
        self.add_layer_file(file.path(), created_by);
    }

    pub fn add_layer_file(&self, tar: &Path, created_by: &str) {
        run_ok(
            Command::new(require_tool("umoci"))
                .args(["raw", "add-layer", "--image"])
                .arg(self.image_arg())
                .arg("--history.created_by")
                .arg(created_by)
                .arg(tar),
        );
    }

    /// `umoci unpack --image DIR:TAG BUNDLE`; returns `BUNDLE/rootfs`.
    pub fn unpack(&self, bundle: &Path) -> PathBuf {
        run_ok(
            Command::new(require_tool("umoci"))
                .args(["unpack", "--image"])
                .arg(self.image_arg())
                .arg(bundle),
        );
        bundle.join("rootfs")
    }

    /// The manifest the tag names (parsed `index.json` → manifest blob).
    pub fn manifest(&self) -> serde_json::Value {
        let index: serde_json::Value = serde_json::from_slice(&fs::read(self.dir.join("index.json")).unwrap()).unwrap();
        let desc = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == self.tag.as_str())
            .unwrap_or_else(|| panic!("no tag {} in {}", self.tag, self.dir.display()))
            .clone();
        serde_json::from_slice(&fs::read(self.blob_path(desc["digest"].as_str().unwrap())).unwrap()).unwrap()
    }

    /// `sha256:…` of the image's config: the image id.
    pub fn config_digest(&self) -> String {
        self.manifest()["config"]["digest"].as_str().unwrap().to_string()
    }

    /// The layer descriptors' digests, bottom first.
    pub fn layer_digests(&self) -> Vec<String> {
        self.manifest()["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let (algo, hex) = digest.split_once(':').unwrap();
        self.dir.join("blobs").join(algo).join(hex)
    }
}

/// `skopeo copy [extra] SRC DST`, panicking with skopeo's message when it fails.
pub fn skopeo_copy(src: &str, dst: &str, extra: &[&str]) {
    run_ok(
        Command::new(require_tool("skopeo"))
            .args(["--insecure-policy", "copy", "--quiet"])
            .args(extra)
            .arg(src)
            .arg(dst),
    );
}

/// A free TCP port on 127.0.0.1 (bound, then released for a server to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// TLS and Basic auth for a [`Registry`].
pub struct RegistrySecurity {
    /// Server certificate and key (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
    /// An htpasswd file (bcrypt), or `None` for anonymous access.
    pub htpasswd: Option<PathBuf>,
}

/// Debian's `docker-registry` (distribution 2.8) serving a folder on 127.0.0.1, ended by its
/// pid when dropped.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    pub log: PathBuf,
}

impl Registry {
    pub fn start(dir: &Path, security: Option<&RegistrySecurity>) -> Registry {
        let bin = require_tool("docker-registry");
        fs::create_dir_all(dir.join("storage")).unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        );
        if let Some(s) = security {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                s.cert.display(),
                s.key.display()
            ));
            if let Some(h) = &s.htpasswd {
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: test-registry\n    path: {}\n",
                    h.display()
                ));
            }
        }
        let config_file = dir.join("config.yml");
        fs::write(&config_file, config).unwrap();
        let log = dir.join("registry.log");
        let child = Command::new(bin)
            .arg("serve")
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&log).unwrap())
            .stderr(fs::File::create(dir.join("registry.err")).unwrap())
            .spawn()
            .expect("start docker-registry");
        let registry = Registry {
            child,
            port,
            dir: dir.to_path_buf(),
            log,
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let start = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry did not listen on {addr}: {}",
                fs::read_to_string(dir.join("registry.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }

    /// `127.0.0.1:PORT`
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throw-away CA and a server certificate for 127.0.0.1 signed by it (`openssl`); the CA
/// is also written as `certs/127.0.0.1:PORT/ca.crt` for `--cert-dir`.
pub struct TestCa {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TestCa {
    pub fn new(dir: &Path) -> TestCa {
        let openssl = require_tool("openssl");
        fs::create_dir_all(dir).unwrap();
        let p = |n: &str| dir.join(n);
        run_ok(
            Command::new(&openssl)
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=image-tests CA",
                ])
                .arg("-keyout")
                .arg(p("ca.key"))
                .arg("-out")
                .arg(p("ca.crt")),
        );
        run_ok(
            Command::new(&openssl)
                .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"])
                .arg("-keyout")
                .arg(p("server.key"))
                .arg("-out")
                .arg(p("server.csr")),
        );
        fs::write(
            p("ext.cnf"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run_ok(
            Command::new(&openssl)
                .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
                .arg("-in")
                .arg(p("server.csr"))
                .arg("-CA")
                .arg(p("ca.crt"))
                .arg("-CAkey")
                .arg(p("ca.key"))
                .arg("-extfile")
                .arg(p("ext.cnf"))
                .arg("-out")
                .arg(p("server.crt")),
        );
        TestCa {
            ca_cert: p("ca.crt"),
            server_cert: p("server.crt"),
            server_key: p("server.key"),
        }
    }
}

/// An htpasswd file (bcrypt, `htpasswd -Bbn`) with one user.
/// The user and password of [`locked_registry`].
pub const REGISTRY_USER: (&str, &str) = ("scanner", "s3cret-pass");

/// A [`Registry`] in `dir` with TLS (a certificate from a [`TestCa`] made there) and Basic
/// auth for [`REGISTRY_USER`]; also the folder holding the CA as `ca.crt`, as `--cert-dir`
/// takes it.
pub fn locked_registry(dir: &Path) -> (Registry, PathBuf) {
    let ca = TestCa::new(&dir.join("ca"));
    let users = dir.join("htpasswd");
    htpasswd(&users, REGISTRY_USER.0, REGISTRY_USER.1);
    let security = RegistrySecurity {
        cert: ca.server_cert.clone(),
        key: ca.server_key.clone(),
        htpasswd: Some(users),
    };
    let registry = Registry::start(&dir.join("registry"), Some(&security));
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&ca.ca_cert, certs.join("ca.crt")).unwrap();
    (registry, certs)
}

pub fn htpasswd(file: &Path, user: &str, password: &str) {
    let out = run_ok(Command::new(require_tool("htpasswd")).args(["-Bbn", user, password]));
    fs::write(file, out.stdout).unwrap();
}

/// An `auth.json` giving `user:password` for `host`.
pub fn auth_json(file: &Path, host: &str, user: &str, password: &str) {
    let token = base64_encode(format!("{user}:{password}").as_bytes());
    fs::write(file, format!("{{\"auths\":{{\"{host}\":{{\"auth\":\"{token}\"}}}}}}")).unwrap();
}

fn base64_encode(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// `Ok` when `dir` is empty, else the paths left in it (for messages).
pub fn is_empty_dir(dir: &Path) -> Result<(), String> {
    let left: Vec<String> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(left.join(", "))
    }
}

/// Gzip `data` (flate2): for hand-made blobs.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}
