//! Registries: Debian's docker-registry started by the test, over plain HTTP, over TLS with
//! a CA the test makes and Basic auth (htpasswd), and behind the registry's own `auth.token`
//! with a token issuer the test runs. skopeo pushes the image once; each registry then
//! serves the same storage.

mod common;
use common::*;
use oci_image::{open, ErrorKind, PullOptions, Transport};
use std::path::Path;
use std::time::{Duration, Instant};

/// Push the test image (OCI manifest, gzip, zstd and plain layers) into a registry storage
/// under `dir`; returns the storage path and what was built.
fn pushed(dir: &Path) -> (std::path::PathBuf, Built) {
    let built = build_layout(&dir.join("layout"), "v1");
    let storage = dir.join("storage");
    let reg = Registry::start(&dir.join("push"), &storage, "", "");
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:v1", dir.join("layout").display()),
        &format!("docker://{}/test/image:v1", reg.host()),
    ]);
    (storage, built)
}

fn quick() -> PullOptions {
    PullOptions {
        connect_timeout: Duration::from_secs(5),
        response_timeout: Duration::from_secs(10),
        total_timeout: Duration::from_secs(60),
        ..PullOptions::default()
    }
}

#[test]
fn anonymous_plain_http() {
    let t = tempfile::tempdir().unwrap();
    let (storage, built) = pushed(t.path());
    let reg = Registry::start(&t.path().join("plain"), &storage, "", "");
    let r = format!("docker://{}/test/image:v1", reg.host());
    let options = PullOptions {
        tls_verify: false,
        ..quick()
    };
    let image = open(&r, &options).unwrap();
    assert_eq!(image.transport, Transport::Docker);
    let out = skopeo(&["inspect", "--tls-verify=false", "--format", "{{.Digest}}", &r]);
    assert_eq!(image.manifest_digest, out.trim());
    assert_same(&image, &built);
    // By digest, and without the transport prefix.
    let by_digest = format!("{}/test/image@{}", reg.host(), image.manifest_digest);
    assert_eq!(open(&by_digest, &options).unwrap().config_digest, built.config_digest);
    // Plain HTTP is refused when TLS is verified.
    let e = open(&r, &quick()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "{e}");
    // A multi-platform index pushed with --all: the host's platform is picked, another
    // platform that is there is found, one that is not is named with those present.
    add_index(&t.path().join("layout"), &built, "multi");
    skopeo(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:multi", t.path().join("layout").display()),
        &format!("docker://{}/test/image:multi", reg.host()),
    ]);
    let multi = format!("docker://{}/test/image:multi", reg.host());
    let host = open(&multi, &options).unwrap();
    assert!(host.index_digest.is_some());
    assert_same(&host, &built);
    let arm = PullOptions {
        platform: Some(oci_image::Platform::parse("linux/arm64").unwrap()),
        ..options.clone()
    };
    assert_eq!(open(&multi, &arm).unwrap().manifest_digest, host.manifest_digest);
    let s390x = PullOptions {
        platform: Some(oci_image::Platform::parse("linux/s390x").unwrap()),
        ..options.clone()
    };
    let e = open(&multi, &s390x).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Platform, "{e}");
    assert!(e.to_string().contains("(it has: linux/arm64/v8, linux/amd64)"), "{e}");
    // A missing tag.
    let e = open(&format!("docker://{}/test/image:nope", reg.host()), &options).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn tls_with_cert_dir_and_basic_auth() {
    need("htpasswd", "apache2-utils");
    let t = tempfile::tempdir().unwrap();
    let (storage, built) = pushed(t.path());
    let tls = t.path().join("tls");
    make_tls(&tls);
    let htpasswd = run(std::process::Command::new("htpasswd").args(["-Bbn", "alice", "s3cret"]));
    std::fs::write(t.path().join("htpasswd"), htpasswd).unwrap();
    let reg = Registry::start(
        &t.path().join("tlsreg"),
        &storage,
        &format!(
            "  tls:\n    certificate: {}\n    key: {}",
            tls.join("server.crt").display(),
            tls.join("server.key").display()
        ),
        &format!(
            "auth:\n  htpasswd:\n    realm: test\n    path: {}",
            t.path().join("htpasswd").display()
        ),
    );
    let certs = t.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(tls.join("ca.crt"), certs.join("ca.crt")).unwrap();
    let authfile = t.path().join("auth.json");
    write_authfile(&authfile, &reg.host(), "alice", "s3cret");
    let r = format!("docker://{}/test/image:v1", reg.host());
    let options = PullOptions {
        cert_dir: Some(certs.clone()),
        authfile: Some(authfile.clone()),
        ..quick()
    };
    let image = open(&r, &options).unwrap();
    assert_same(&image, &built);
    let cert_dir = format!("--cert-dir={}", certs.display());
    let auth = format!("--authfile={}", authfile.display());
    let out = skopeo(&["inspect", &cert_dir, &auth, "--format", "{{.Digest}}", &r]);
    assert_eq!(image.manifest_digest, out.trim());

    // Without the CA: the certificate is not trusted.
    let e = open(
        &r,
        &PullOptions {
            cert_dir: Some(t.path().join("empty")),
            ..options.clone()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "{e}");
    // tls_verify=false accepts it.
    open(
        &r,
        &PullOptions {
            cert_dir: Some(t.path().join("empty")),
            tls_verify: false,
            ..options.clone()
        },
    )
    .unwrap();
    // A registry that also wants a client certificate (clientcas): certs.d's NAME.cert and
    // NAME.key, as podman reads them.
    let mtls = Registry::start(
        &t.path().join("mtlsreg"),
        &storage,
        &format!(
            "  tls:\n    certificate: {}\n    key: {}\n    clientcas:\n      - {}",
            tls.join("server.crt").display(),
            tls.join("server.key").display(),
            tls.join("ca.crt").display()
        ),
        "",
    );
    let mr = format!("docker://{}/test/image:v1", mtls.host());
    let e = open(&mr, &options).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network, "without a client certificate: {e}");
    std::fs::copy(tls.join("client.crt"), certs.join("client.cert")).unwrap();
    std::fs::copy(tls.join("client.key"), certs.join("client.key")).unwrap();
    assert_eq!(open(&mr, &options).unwrap().config_digest, built.config_digest);
    drop(mtls);
    // Without credentials: the error names the files tried.
    let none = t.path().join("no-such-auth.json");
    let e = open(
        &r,
        &PullOptions {
            authfile: Some(none.clone()),
            ..options.clone()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!(
            "no credentials for {} in: {} (absent)",
            reg.host(),
            none.display()
        )),
        "{text}"
    );
    assert!(text.contains(&r), "{text}");
    // Wrong password.
    let wrong = t.path().join("wrong.json");
    write_authfile(&wrong, &reg.host(), "alice", "nope");
    let e = open(
        &r,
        &PullOptions {
            authfile: Some(wrong),
            ..options
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e}");
    assert!(e.to_string().contains("refused the credentials of alice"), "{e}");
}

#[test]
fn bearer_token_from_an_issuer_the_test_runs() {
    let t = tempfile::tempdir().unwrap();
    let (storage, built) = pushed(t.path());
    let keys = t.path().join("token");
    make_token_key(&keys);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Request>::new()));
    let (k, s) = (keys.clone(), seen.clone());
    let token_port = serve(move |req| {
        s.lock().unwrap().push(req.clone());
        // The issuer wants Basic credentials bob:pw (base64 "Ym9iOnB3").
        if req.header("authorization") != Some("Basic Ym9iOnB3") {
            return Reply::new(401, "{}");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({
            "iss": "test-issuer", "sub": "bob", "aud": "test-registry",
            "exp": now + 600, "nbf": now - 60, "iat": now - 60, "jti": format!("{now}-{}", req.target.len()),
            "access": [{"type": "repository", "name": "test/image", "actions": ["pull"]}],
        });
        let token = sign_token(&k, &claims);
        Reply::new(200, serde_json::json!({"token": token, "expires_in": 600}).to_string())
            .header("Content-Type", "application/json")
    });
    let reg = Registry::start(
        &t.path().join("tokenreg"),
        &storage,
        "",
        &format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{token_port}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}",
            keys.join("cert.pem").display()
        ),
    );
    let authfile = t.path().join("auth.json");
    write_authfile(&authfile, &reg.host(), "bob", "pw");
    let r = format!("docker://{}/test/image:v1", reg.host());
    let options = PullOptions {
        tls_verify: false,
        authfile: Some(authfile),
        ..quick()
    };
    let image = open(&r, &options).unwrap();
    assert_same(&image, &built);
    let first = seen.lock().unwrap()[0].clone();
    assert!(first.target.contains("service=test-registry"), "{first:?}");
    assert!(
        first.target.contains("scope=repository%3Atest%2Fimage%3Apull"),
        "{first:?}"
    );
    // No credentials: the issuer refuses, and we say which files had none.
    let e = open(
        &r,
        &PullOptions {
            authfile: Some(t.path().join("none.json")),
            ..options
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unauthorized, "{e}");
    assert!(e.to_string().contains("no credentials for"), "{e}");
}

#[test]
fn silent_server_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept connections and never answer.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let options = PullOptions {
        tls_verify: false,
        connect_timeout: Duration::from_secs(1),
        response_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(2),
        attempts: 1,
        ..PullOptions::default()
    };
    let start = Instant::now();
    let e = open(&format!("docker://127.0.0.1:{port}/x/y:z"), &options).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    // https, then plain http: two requests of at most the total time each.
    assert!(start.elapsed() < Duration::from_secs(6), "{:?}", start.elapsed());
}

#[test]
fn endless_manifest_is_cut_at_the_limit() {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut r = std::io::BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if r.read_line(&mut line).is_err() {
                    return; // the https attempt's TLS hello
                }
                while {
                    let mut h = String::new();
                    r.read_line(&mut h).unwrap_or(0) > 2
                } {}
                if line.starts_with("GET /v2/ ") {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
                    return;
                }
                // A manifest that never ends (no length, then bytes forever).
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nConnection: close\r\n\r\n");
                let chunk = vec![b' '; 64 * 1024];
                while s.write_all(&chunk).is_ok() {}
            });
        }
    });
    let start = Instant::now();
    let e = open(
        &format!("docker://127.0.0.1:{port}/x/y:z"),
        &PullOptions {
            tls_verify: false,
            ..quick()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge, "{e}");
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// A registry of our own making: manifests and config served, blobs redirected to another
/// origin, which records the Authorization it receives.
#[test]
fn redirect_to_another_host_drops_authorization_and_asks_the_check() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("layout");
    let built = build_layout(&layout, "v1");
    let blob = move |dir: &Path, target: &str| -> Option<Vec<u8>> {
        let hex = target.rsplit("sha256:").next()?;
        std::fs::read(dir.join("blobs/sha256").join(hex)).ok()
    };
    let auth_at_cdn = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
    let (l, a) = (layout.clone(), auth_at_cdn.clone());
    let cdn = serve(move |req| {
        a.lock().unwrap().push(req.header("authorization").map(str::to_string));
        match blob(&l, &req.target) {
            Some(b) => Reply::new(200, b),
            None => Reply::new(404, ""),
        }
    });
    let l = layout.clone();
    let manifest_digest = built.manifest_digest.clone();
    let registry = serve(move |req| {
        if req.header("authorization") != Some("Basic dTpw") {
            return Reply::new(401, "").header("WWW-Authenticate", "Basic realm=\"r\"");
        }
        let t = req.target.as_str();
        if t == "/v2/" {
            Reply::new(200, "{}")
        } else if t.ends_with("/manifests/v1") {
            Reply::new(200, blob(&l, &manifest_digest).unwrap())
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .header("Docker-Content-Digest", &manifest_digest)
        } else if t.contains("/blobs/") {
            // Redirect on the blobs (config and layers) to the other origin.
            Reply::new(307, "").header(
                "Location",
                &format!("http://127.0.0.1:{cdn}/store{}", &t[t.find("/blobs/").unwrap()..]),
            )
        } else {
            Reply::new(404, "")
        }
    });
    let authfile = t.path().join("auth.json");
    write_authfile(&authfile, &format!("127.0.0.1:{registry}"), "u", "p");
    let checked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let c = checked.clone();
    let options = PullOptions {
        tls_verify: false,
        authfile: Some(authfile),
        redirect_check: Some(std::sync::Arc::new(move |url: &str| {
            c.lock().unwrap().push(url.to_string());
            Ok(())
        })),
        ..quick()
    };
    let r = format!("docker://127.0.0.1:{registry}/test/image:v1");
    let image = open(&r, &options).unwrap();
    assert_same(&image, &built);
    let seen = auth_at_cdn.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "config and three layers fetched from the other origin");
    assert!(seen.iter().all(|a| a.is_none()), "Authorization forwarded: {seen:?}");
    let urls = checked.lock().unwrap().clone();
    assert_eq!(urls.len(), 4);
    assert!(
        urls.iter()
            .all(|u| u.starts_with(&format!("http://127.0.0.1:{cdn}/store/blobs/sha256:"))),
        "{urls:?}"
    );

    // A check that refuses: the open fails (the config is behind a redirect), naming it.
    let refusing = PullOptions {
        redirect_check: Some(std::sync::Arc::new(|url: &str| Err(format!("{url} is not allowed")))),
        ..options
    };
    let e = open(&r, &refusing).unwrap_err();
    assert!(
        e.to_string().contains("refused") && e.to_string().contains("not allowed"),
        "{e}"
    );
}

/// A registry that lies: a Docker-Content-Digest that is not the body's, a manifest list
/// without our platform, a schema 1 manifest, a 5xx that stays, a body by digest that is
/// another manifest.
#[test]
fn registry_that_lies() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("layout");
    let built = build_layout(&layout, "v1");
    let manifest = std::fs::read(layout.join("blobs/sha256").join(&built.manifest_digest[7..])).unwrap();
    let list = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [{"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "size": manifest.len(),
        "digest": built.manifest_digest, "platform": {"os": "linux", "architecture": "ppc64le"}}]})
    .to_string();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    let port = serve(move |req| {
        let t = req.target.as_str();
        if t == "/v2/" {
            return Reply::new(200, "{}");
        }
        if t.ends_with("/manifests/wrongheader") {
            return Reply::new(200, manifest.clone())
                .header("Docker-Content-Digest", &sha256(b"something else"))
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
        }
        if t.ends_with("/manifests/list") {
            return Reply::new(200, list.clone()).header(
                "Content-Type",
                "application/vnd.docker.distribution.manifest.list.v2+json",
            );
        }
        if t.ends_with("/manifests/old") {
            return Reply::new(200, r#"{"schemaVersion":1,"name":"x","tag":"old","fsLayers":[]}"#).header(
                "Content-Type",
                "application/vnd.docker.distribution.manifest.v1+prettyjws",
            );
        }
        if t.ends_with("/manifests/busy") {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Reply::new(503, "");
        }
        if t.contains("/manifests/sha256:") {
            return Reply::new(
                200,
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","digest":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","size":0},"layers":[]}"#,
            );
        }
        Reply::new(404, "")
    });
    let options = PullOptions {
        tls_verify: false,
        attempts: 3,
        ..quick()
    };
    let at = |tag: &str| format!("docker://127.0.0.1:{port}/x/y{tag}");
    let e = open(&at(":wrongheader"), &options).unwrap_err();
    assert_eq!(e.kind, ErrorKind::DigestMismatch, "{e}");
    assert!(e.to_string().contains("Docker-Content-Digest"), "{e}");
    let e = open(
        &at(":list"),
        &PullOptions {
            platform: Some(oci_image::Platform::parse("linux/amd64").unwrap()),
            ..options.clone()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Platform, "{e}");
    assert!(e.to_string().contains("linux/ppc64le"), "{e}");
    let e = open(&at(":old"), &options).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e}");
    assert!(e.to_string().contains("schema 1"), "{e}");
    let e = open(&at(":busy"), &options).unwrap_err();
    assert!(
        e.to_string().contains("503") && e.to_string().contains("after 3 attempts"),
        "{e}"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 3);
    let e = open(&at(&format!("@{}", built.manifest_digest)), &options).unwrap_err();
    assert_eq!(e.kind, ErrorKind::DigestMismatch, "{e}");
}

/// A plain file server on 127.0.0.2 serving `root` (blob storage the registry redirects to),
/// counting the requests it receives.
fn blob_storage_on_127_0_0_2(root: &Path) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let (root, seen) = (root.to_path_buf(), count.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
            }
            let file = root.join(path.trim_start_matches('/').split('?').next().unwrap_or(""));
            let mut out = stream;
            match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(&body);
                }
                _ => {
                    let _ = write!(
                        out,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    (port, count)
}

/// docker-registry's `redirect` storage middleware sends every blob GET to blob storage on
/// 127.0.0.2 (as a registry in front of S3 does): under an address policy that refuses
/// loopback addresses the redirect is refused, naming the flag that permits it, and the blob
/// storage receives nothing; allowed, the image reads whole from there; without a policy
/// (the library's default) nothing is checked.
#[test]
fn registry_redirects_are_held_to_the_address_policy() {
    use std::sync::atomic::Ordering;
    let t = tempfile::tempdir().unwrap();
    let (storage, built) = pushed(t.path());
    let (blob_port, requests) = blob_storage_on_127_0_0_2(&storage);
    let middleware = format!(
        "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: http://127.0.0.2:{blob_port}/\n"
    );
    let reg = Registry::start(&t.path().join("redirecting"), &storage, "", &middleware);
    let r = format!("docker://{}/test/image:v1", reg.host());
    let plain = PullOptions {
        tls_verify: false,
        ..quick()
    };
    let refusing = PullOptions {
        redirect_policy: Some(std::sync::Arc::new(net_policy::Policy::default())),
        ..plain.clone()
    };
    let e = open(&r, &refusing).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Refused, "{e}");
    let text = e.to_string();
    assert!(
        text.contains("127.0.0.2 is a loopback address where the registry")
            && text.contains("--allow-registry-redirect 127.0.0.2 permits it"),
        "{text}"
    );
    assert_eq!(
        requests.load(Ordering::SeqCst),
        0,
        "the refused blob storage was contacted"
    );

    let allowing = PullOptions {
        redirect_policy: Some(std::sync::Arc::new(net_policy::Policy {
            allowed: vec!["127.0.0.2".parse().unwrap()],
            ..net_policy::Policy::default()
        })),
        ..plain.clone()
    };
    let image = open(&r, &allowing).unwrap();
    assert_same(&image, &built);
    let served = requests.load(Ordering::SeqCst);
    assert!(served > built.tars.len(), "blob storage served {served} requests");
    assert_same(&open(&r, &plain).unwrap(), &built);
}
