//! Test helpers: a small multi-layer OCI layout written by hand, skopeo, and Debian's
//! docker-registry started as a child process (ended by its pid on drop).
#![allow(dead_code)]

use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn sha256(b: &[u8]) -> String {
    let d = Sha256::digest(b);
    let mut s = String::from("sha256:");
    for x in d {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// Fails naming the Debian package when a tool is missing (tests never skip).
pub fn need(tool: &str, package: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "{tool} is missing: apt-get install {package}");
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn skopeo(args: &[&str]) -> String {
    need("skopeo", "skopeo");
    let mut c = Command::new("skopeo");
    c.arg("--insecure-policy").args(args);
    run(&mut c)
}

/// The manifest digest skopeo reports for `reference`.
pub fn inspect_digest(reference: &str) -> String {
    skopeo(&["inspect", "--format", "{{.Digest}}", reference])
        .trim()
        .to_string()
}

fn tar_of(entries: &[(&str, &[u8])], whiteouts: &[&str], hardlinks: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (p, _) in entries {
        let mut acc = String::new();
        let parts: Vec<&str> = p.split('/').collect();
        for d in &parts[..parts.len() - 1] {
            acc.push_str(d);
            acc.push('/');
            dirs.insert(acc.clone());
        }
    }
    for d in &dirs {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, d, &[][..]).unwrap();
    }
    for (p, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, p, *data).unwrap();
    }
    for w in whiteouts {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, w, &[][..]).unwrap();
    }
    for (link, target) in hardlinks {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_mode(0o644);
        h.set_size(0);
        h.set_mtime(1_700_000_000);
        b.append_link(&mut h, link, target).unwrap();
    }
    b.into_inner().unwrap()
}

/// The image the tests build: what every transport must give back.
pub struct Built {
    pub config_digest: String,
    pub manifest_digest: String,
    pub diff_ids: Vec<String>,
    /// Decompressed layer tars, bottom first.
    pub tars: Vec<Vec<u8>>,
    pub created_by: Vec<String>,
}

fn write_blob(dir: &Path, bytes: &[u8]) -> (String, u64) {
    let d = sha256(bytes);
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), bytes).unwrap();
    (d, bytes.len() as u64)
}

/// An OCI layout at `dir` tagged `tag`: three layers (gzip, zstd, uncompressed with a
/// whiteout, an opaque directory and a hard link), labels, a history with an empty_layer
/// step.
pub fn build_layout(dir: &Path, tag: &str) -> Built {
    build_layout_with(dir, tag, true)
}

/// The same image with its second layer gzip instead of zstd (skopeo 1.9 cannot put zstd
/// layers in Docker formats). The config, and so the image id, is the same.
pub fn build_layout_with(dir: &Path, tag: &str, zstd_layer: bool) -> Built {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let tars = vec![
        tar_of(
            &[
                ("etc/os-release", b"ID=centos\nVERSION_ID=\"9\"\n"),
                ("usr/bin/tool", &big),
                ("opt/old", b"hidden by layer 2\n"),
            ],
            &[],
            &[],
        ),
        tar_of(&[("usr/share/doc/readme", b"hello from layer 1\n")], &[], &[]),
        tar_of(
            &[("etc/motd", b"layer 2\n"), ("opt/new", b"new\n")],
            &["usr/bin/.wh.tool", "opt/.wh..wh..opq"],
            &[("etc/motd2", "etc/motd")],
        ),
    ];
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&tars[0]).unwrap();
        e.finish().unwrap()
    };
    let second = if zstd_layer {
        (
            zstd::encode_all(&tars[1][..], 3).unwrap(),
            "application/vnd.oci.image.layer.v1.tar+zstd",
        )
    } else {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tars[1]).unwrap();
        (e.finish().unwrap(), "application/vnd.oci.image.layer.v1.tar+gzip")
    };
    let blobs = [
        (gz, "application/vnd.oci.image.layer.v1.tar+gzip"),
        second,
        (tars[2].clone(), "application/vnd.oci.image.layer.v1.tar"),
    ];
    let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
    let created_by = vec![
        "COPY base /".to_string(),
        "COPY doc /usr/share/doc".to_string(),
        "RUN rm /usr/bin/tool".to_string(),
    ];
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {"Labels": {"maintainer": "tests", "org.opencontainers.image.authors": "oci-image"}, "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": created_by[0]},
            {"created_by": "LABEL maintainer=tests", "empty_layer": true},
            {"created_by": created_by[1]},
            {"created_by": created_by[2]},
        ],
    })
    .to_string();
    let (config_digest, config_size) = write_blob(dir, config.as_bytes());
    let layers: Vec<serde_json::Value> = blobs
        .iter()
        .map(|(b, m)| {
            let (d, s) = write_blob(dir, b);
            serde_json::json!({"mediaType": m, "digest": d, "size": s})
        })
        .collect();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": layers,
    })
    .to_string();
    let (manifest_digest, manifest_size) = write_blob(dir, manifest.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
                       "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": tag}}],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    Built {
        config_digest,
        manifest_digest,
        diff_ids,
        tars,
        created_by,
    }
}

/// Tag `tag` in the layout at `dir` as an index of two platforms, linux/amd64 and
/// linux/arm64/v8, both the built manifest. Returns the index digest.
pub fn add_index(dir: &Path, built: &Built, tag: &str) -> String {
    let size = std::fs::metadata(dir.join("blobs/sha256").join(&built.manifest_digest[7..]))
        .unwrap()
        .len();
    let entry = |arch: &str, variant: Option<&str>| {
        let mut p = serde_json::json!({"os": "linux", "architecture": arch});
        if let Some(v) = variant {
            p["variant"] = serde_json::json!(v);
        }
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": built.manifest_digest, "size": size, "platform": p})
    };
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [entry("arm64", Some("v8")), entry("amd64", None)]})
    .to_string();
    let (d, s) = write_blob(dir, index.as_bytes());
    let path = dir.join("index.json");
    let mut top: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    top["manifests"].as_array_mut().unwrap().push(
        serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": d, "size": s, "annotations": {"org.opencontainers.image.ref.name": tag}}),
    );
    std::fs::write(&path, top.to_string()).unwrap();
    d
}

/// Check an opened image against what was built: config digest, labels, platform, layers,
/// diff_ids, history, and every layer's decompressed bytes.
pub fn assert_same(image: &oci_image::Image, built: &Built) {
    assert_eq!(image.config_digest, built.config_digest, "{}", image.reference);
    assert_eq!(image.platform, "linux/amd64");
    assert_eq!(image.labels.get("maintainer").map(String::as_str), Some("tests"));
    assert_eq!(image.layers.len(), 3);
    for (i, l) in image.layers.iter().enumerate() {
        assert_eq!(l.index, i);
        assert_eq!(
            l.diff_id.as_deref(),
            Some(built.diff_ids[i].as_str()),
            "{}",
            image.reference
        );
        assert_eq!(l.created_by.as_deref(), Some(built.created_by[i].as_str()));
    }
    // Read the layers on several threads at once, as the lead's code does.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|i| {
                s.spawn(move || match image.open_layer(i).unwrap() {
                    oci_image::LayerContent::Tar(mut r) => {
                        let mut v = Vec::new();
                        std::io::Read::read_to_end(&mut r, &mut v).unwrap();
                        v
                    }
                    _ => panic!("expected a tar stream from {}", image.reference),
                })
            })
            .collect();
        for (i, h) in handles.into_iter().enumerate() {
            let bytes = h.join().unwrap();
            assert_eq!(sha256(&bytes), built.diff_ids[i], "layer {i} of {}", image.reference);
            assert_eq!(bytes, built.tars[i]);
        }
    });
}

/// containers-storage's overlay driver (in skopeo and podman) bind-mounts `GRAPH/overlay`
/// onto itself and may leave it mounted when the process exits: unmount it when the test
/// is done (declare the guard after the temporary directory, so it drops first).
pub struct Unmount(pub PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg(&self.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Debian's docker-registry on 127.0.0.1, serving `storage` with extra YAML (`auth:`, `tls`).
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Registry {
    /// `http_extra` goes under `http:` (e.g. a `tls:` block, indented by 2), `top_extra` at
    /// the top level (an `auth:` block).
    pub fn start(dir: &Path, storage: &Path, http_extra: &str, top_extra: &str) -> Registry {
        need("docker-registry", "docker-registry");
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{http_extra}\n{top_extra}\n",
            storage.display()
        );
        let conf = dir.join(format!("config-{port}.yml"));
        std::fs::write(&conf, config).unwrap();
        let log = std::fs::File::create(dir.join(format!("registry-{port}.log"))).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut r = Registry {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = r.child.try_wait() {
                let log = std::fs::read_to_string(dir.join(format!("registry-{port}.log"))).unwrap_or_default();
                panic!("docker-registry exited ({status}): {log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "docker-registry did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

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

/// A CA, a server certificate for 127.0.0.1 and a client certificate made with openssl, in
/// `dir`: `ca.crt`, `server.crt`, `server.key`, `client.crt`, `client.key`.
pub fn make_tls(dir: &Path) {
    need("openssl", "openssl");
    std::fs::create_dir_all(dir).unwrap();
    let sh = |script: &str| run(Command::new("sh").arg("-ec").arg(script).current_dir(dir));
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=oci-image-test-ca \
          -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\nbasicConstraints=CA:FALSE\\n' > ext.cnf
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=oci-image-client 2>/dev/null
        printf 'extendedKeyUsage=clientAuth\\nbasicConstraints=CA:FALSE\\n' > client.cnf
        openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.cnf 2>/dev/null");
}

/// An auth.json with `user:password` for `host`.
pub fn write_authfile(path: &Path, host: &str, user: &str, password: &str) {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(path, serde_json::json!({"auths": {host: {"auth": auth}}}).to_string()).unwrap();
}

/// One HTTP request as the test servers see it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 (one thread per connection, `Connection: close`).
/// Lives as long as the process: tests make a few.
pub fn serve(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> u16 {
    use std::io::{BufRead, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handler = std::sync::Arc::new(handler);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let handler = handler.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_string();
                let target = parts.next().unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let reply = handler(&Request {
                    method,
                    target,
                    headers,
                });
                let mut out = stream;
                let mut head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = out.write_all(head.as_bytes());
                let _ = out.write_all(&reply.body);
            });
        }
    });
    port
}

/// A JWT (RS256) the registry's `auth.token` accepts: signed by `key.pem` of the
/// self-signed `cert.pem` it carries in `x5c` (the registry's rootcertbundle).
pub fn sign_token(dir: &Path, claims: &serde_json::Value) -> String {
    use base64::Engine as _;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let der = run(Command::new("sh")
        .arg("-ec")
        .arg("openssl x509 -in cert.pem -outform DER | base64 -w0")
        .current_dir(dir));
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [der.trim()]});
    let input = format!("{}.{}", url.encode(header.to_string()), url.encode(claims.to_string()));
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign", "key.pem"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    format!("{input}.{}", url.encode(out.stdout))
}

/// The key and self-signed certificate a token issuer signs with (`key.pem`, `cert.pem`).
pub fn make_token_key(dir: &Path) {
    need("openssl", "openssl");
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("sh").arg("-ec").arg(
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=token-issuer 2>/dev/null",
    ).current_dir(dir));
}
