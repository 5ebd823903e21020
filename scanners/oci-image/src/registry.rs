//! Registries (`docker://`), the OCI distribution API v2: ping `/v2/` to learn the scheme and
//! the auth challenge, then manifests (through manifest lists to the platform) and blobs.
//!
//! - Auth: anonymous; `Basic`; `Bearer` (GET the challenge's realm with `service` and
//!   `scope=repository:NAME:pull`, with Basic credentials when we have some; `token` or
//!   `access_token`). Credentials from the files [`crate::credentials`] reads.
//! - TLS: the built-in Mozilla roots; when `cert_dir` (or `/etc/containers/certs.d/HOST:PORT`,
//!   `/etc/docker/certs.d/HOST:PORT`) has `*.crt` files, the system bundle plus those; a
//!   `NAME.cert` with its `NAME.key` there is presented as the client certificate.
//!   `tls_verify=false`: unverified certificates, and plain HTTP when https fails.
//! - Redirects are followed here, not by the HTTP client: each target goes to
//!   `redirect_check` first (so do token realms), and the registry's `Authorization` is sent
//!   only to the registry's own scheme, host and port.
//! - Every manifest is checked against the digest it was asked by and against
//!   `Docker-Content-Digest`; blobs against their descriptors as they are read.

use crate::credentials::{self, Credentials, Lookup};
use crate::digest::{Algorithm, Digest};
use crate::error::{fail, ErrorKind, Fail};
use crate::layer::{self, Limits};
use crate::manifest;
use crate::reference::{DockerRef, Platform};
use crate::{BlobSource, Found, Layer, LayerContent, PullOptions, RedirectCheck};
use base64::Engine as _;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MAX_TOKEN_BYTES: u64 = 1 << 20;
const MAX_REDIRECTS: usize = 10;

pub fn open(r: &DockerRef, options: &PullOptions, platform: &Platform) -> Result<Found, Fail> {
    let client = Arc::new(Client::connect(r, options)?);
    let reference = r.manifest_ref();
    let (top, ctype, top_digest) = client
        .manifest(&reference, r.digest.as_ref())
        .map_err(|f| f.step(format!("manifest {reference}")))?;
    let fetch = |d: &Digest, size: Option<u64>| {
        let (bytes, ctype, _) = client.manifest(&d.to_string(), Some(d))?;
        if let Some(s) = size {
            manifest::check_blob(&bytes, d, Some(s), "manifest")?;
        }
        Ok((bytes, ctype))
    };
    let resolved = manifest::resolve(top, top_digest, ctype.as_deref(), platform, &fetch)?;
    let config = manifest::config_of(&resolved.manifest, options.max_config_bytes, &|d, size| {
        let resp = client.get_blob(d)?;
        // No ureq limit on bodies: our readers count and stop at ours, naming it.
        layer::read_small(
            resp.body.into_with_config().reader(),
            d,
            size,
            options.max_config_bytes,
            "config",
        )
    })?;
    let layers = manifest::layers(&resolved.manifest, &config, options.max_layer_bytes)?;
    Ok(Found {
        id_map: None,
        manifest_digest: resolved.manifest_digest.to_string(),
        index_digest: resolved.index_digest.map(|d| d.to_string()),
        config,
        layers,
        source: client,
    })
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

fn parse_challenge(h: &str) -> Option<Challenge> {
    let h = h.trim();
    let (scheme, rest) = h.split_once(char::is_whitespace).unwrap_or((h, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    // key="value" pairs, comma separated; values may hold commas inside quotes.
    let (mut realm, mut service, mut scope) = (None, None, None);
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (q[..end].to_string(), &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_string(), &after[end..])
        };
        match key.as_str() {
            "realm" => realm = Some(value),
            "service" => service = Some(value),
            "scope" => scope = Some(value),
            _ => {}
        }
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: realm?,
        service,
        scope,
    })
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> Option<&str> {
    let i = url.find("://")? + 3;
    let end = url[i..].find(['/', '?', '#']).map(|j| i + j).unwrap_or(url.len());
    Some(&url[..end])
}

/// Resolve a `Location` against the URL it came from.
fn join_location(base: &str, loc: &str) -> Option<String> {
    if loc.contains("://") {
        return Some(loc.to_string());
    }
    let o = origin(base)?;
    if let Some(rest) = loc.strip_prefix("//") {
        let scheme = &o[..o.find("://")?];
        return Some(format!("{scheme}://{rest}"));
    }
    if loc.starts_with('/') {
        return Some(format!("{o}{loc}"));
    }
    let path_end = base.find('?').unwrap_or(base.len());
    let dir = &base[..base[..path_end].rfind('/').map(|i| i + 1).unwrap_or(path_end)];
    Some(format!("{dir}{loc}"))
}

struct Response {
    status: u16,
    content_type: Option<String>,
    docker_digest: Option<String>,
    challenge: Option<String>,
    location: Option<String>,
    content_length: Option<u64>,
    body: ureq::Body,
}

pub struct Client {
    agent: ureq::Agent,
    /// For URLs off the registry's origin under an address policy: the same configuration,
    /// with a resolver that hands out only permitted addresses.
    off_origin: Option<ureq::Agent>,
    /// `https://host` or `http://host`.
    base: String,
    domain: String,
    name: String,
    lookup: Lookup,
    authorization: Mutex<Option<String>>,
    challenge: Mutex<Option<Challenge>>,
    redirect_check: Option<RedirectCheck>,
    attempts: u32,
    max_manifest_bytes: u64,
}

fn classify(url: &str, registry: &str, e: ureq::Error) -> Fail {
    let shown = url;
    if let Some(refusal) = net_policy::refusal_of(&e) {
        let mut refusal = refusal.clone();
        refusal.named_by = net_policy::NamedBy::Registry {
            registry: registry.to_string(),
        };
        return fail(ErrorKind::Refused, refusal.to_string());
    }
    match e {
        ureq::Error::Timeout(t) => fail(ErrorKind::Timeout, format!("{shown}: timed out ({t})")),
        ureq::Error::Io(io)
            if io.kind() == std::io::ErrorKind::TimedOut || io.kind() == std::io::ErrorKind::WouldBlock =>
        {
            fail(ErrorKind::Timeout, format!("{shown}: timed out ({io})"))
        }
        ureq::Error::Io(io) => fail(ErrorKind::Network, format!("{shown}: {io}")),
        ureq::Error::ConnectionFailed => fail(ErrorKind::Network, format!("{shown}: connection failed")),
        ureq::Error::HostNotFound => fail(ErrorKind::Network, format!("{shown}: host not found")),
        other => fail(ErrorKind::Network, format!("{shown}: {other}")),
    }
}

fn transient(f: &Fail) -> bool {
    f.kind == ErrorKind::Network
        && (f.message.contains("refused")
            || f.message.contains("reset")
            || f.message.contains("connection failed")
            || f.message.contains("aborted")
            || f.message.contains("HTTP status 5")
            || f.message.contains("HTTP status 429"))
}

/// The roots a registry with its own CA files is checked against: the Mozilla roots built in
/// (the ones every other connection trusts, so a private CA adds to them and never replaces
/// them, also in a `FROM scratch` image with no system bundle) and each CA file's certificates.
fn roots_with(extra: &[(PathBuf, Vec<u8>)]) -> Result<Vec<ureq::tls::Certificate<'static>>, Fail> {
    let mut certs: Vec<ureq::tls::Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    for (file, pem) in extra {
        for item in ureq::tls::parse_pem(pem) {
            match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c.to_owned()),
                Ok(_) => {}
                Err(e) => return Err(fail(ErrorKind::Malformed, format!("CA file {}: {e}", file.display()))),
            }
        }
    }
    Ok(certs)
}

/// PEM certificates of `*.crt` files in a directory, with their file names.
fn ca_files(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(PathBuf, Vec<u8>)> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "crt"))
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p, b)))
        .collect();
    v.sort();
    v
}

/// A client certificate as podman reads certs.d: `NAME.cert` (the chain) with `NAME.key`;
/// the first pair by name. A `.cert` without its `.key` is an error, as in containers/image.
fn client_cert(dirs: &[PathBuf]) -> Result<Option<ureq::tls::ClientCert>, Fail> {
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(dir) else { continue };
        let mut certs: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "cert"))
            .collect();
        certs.sort();
        let Some(cert) = certs.into_iter().next() else { continue };
        let key = cert.with_extension("key");
        let bad =
            |what: &std::path::Path, why: String| fail(ErrorKind::Malformed, format!("{}: {why}", what.display()));
        let cert_pem = std::fs::read(&cert).map_err(|e| bad(&cert, e.to_string()))?;
        let key_pem = std::fs::read(&key).map_err(|e| {
            bad(
                &key,
                format!("{e} (the key of the client certificate {})", cert.display()),
            )
        })?;
        let chain: Vec<_> = ureq::tls::parse_pem(&cert_pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
                _ => None,
            })
            .collect();
        let private = ureq::tls::parse_pem(&key_pem).find_map(|i| match i {
            Ok(ureq::tls::PemItem::PrivateKey(k)) => Some(k.to_owned()),
            _ => None,
        });
        let (false, Some(private)) = (chain.is_empty(), private) else {
            return Err(bad(
                &cert,
                "no PEM certificate, or no PEM private key in the .key file".into(),
            ));
        };
        return Ok(Some(ureq::tls::ClientCert::new_with_certs(&chain, private)));
    }
    Ok(None)
}

/// The registry's agent, and the agent for URLs off its origin when an address policy is set.
fn agents(options: &PullOptions, domain: &str, insecure: bool) -> Result<(ureq::Agent, Option<ureq::Agent>), Fail> {
    let config = agent_config(options, domain, insecure)?;
    let off_origin = options.redirect_policy.as_ref().map(|policy| {
        let agents = net_policy::Agents::new(Arc::clone(policy), &config);
        agents.checked().clone()
    });
    Ok((config().build().into(), off_origin))
}

fn agent_config(
    options: &PullOptions,
    domain: &str,
    insecure: bool,
) -> Result<impl Fn() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope>, Fail> {
    let dirs: Vec<PathBuf> = match &options.cert_dir {
        Some(d) => vec![d.clone()],
        None => vec![
            PathBuf::from("/etc/containers/certs.d").join(domain),
            PathBuf::from("/etc/docker/certs.d").join(domain),
        ],
    };
    let extra: Vec<(PathBuf, Vec<u8>)> = dirs.iter().flat_map(|d| ca_files(d)).collect();
    let mut tls = ureq::tls::TlsConfig::builder().disable_verification(insecure);
    if let Some(client) = client_cert(&dirs)? {
        tls = tls.client_cert(Some(client));
    }
    if !extra.is_empty() {
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&roots_with(&extra)?));
    }
    let tls = tls.build();
    let (connect, response, total) = (options.connect_timeout, options.response_timeout, options.total_timeout);
    Ok(move || {
        ureq::Agent::config_builder()
            .timeout_connect(Some(connect))
            .timeout_recv_response(Some(response))
            .timeout_per_read(Some(response))
            .timeout_global(Some(total))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent("atomic-scanners oci-image")
            .tls_config(tls.clone())
    })
}

impl Client {
    fn connect(r: &DockerRef, options: &PullOptions) -> Result<Client, Fail> {
        let host = r.api_host().to_string();
        let lookup = credentials::lookup(options.authfile.as_deref(), &r.domain, &r.name);
        let (agent, off_origin) = agents(options, &r.domain, !options.tls_verify)?;
        let mut client = Client {
            agent,
            off_origin,
            base: format!("https://{host}"),
            domain: r.domain.clone(),
            name: r.name.clone(),
            lookup,
            authorization: Mutex::new(None),
            challenge: Mutex::new(None),
            redirect_check: options.redirect_check.clone(),
            attempts: options.attempts.max(1),
            max_manifest_bytes: options.max_manifest_bytes,
        };
        // Ping: which scheme answers, and which auth the registry wants.
        let ping = match client.send(&format!("{}/v2/", client.base), None, false) {
            Ok(resp) => resp,
            Err(e) if !options.tls_verify && e.kind == ErrorKind::Network => {
                // As podman does for an insecure registry: https first, then plain http.
                client.base = format!("http://{host}");
                client
                    .send(&format!("{}/v2/", client.base), None, false)
                    .map_err(|e2| fail(e2.kind, format!("{}; over https: {}", e2.message, e.message)))?
            }
            Err(e) => return Err(e),
        }
        .map_err(|f| f.step("contacting the registry"))?;
        match ping.status {
            200..=299 => {}
            401 => {
                let ch = ping.challenge.as_deref().and_then(parse_challenge).ok_or_else(|| {
                    fail(
                        ErrorKind::Unauthorized,
                        format!("{}/v2/: 401 without a usable WWW-Authenticate challenge", client.base),
                    )
                })?;
                *client.challenge.lock().unwrap_or_else(|p| p.into_inner()) = Some(ch);
                client.authenticate(None).map_err(|f| f.step("authenticating"))?;
            }
            s => {
                return Err(fail(
                    if s >= 500 {
                        ErrorKind::Network
                    } else {
                        ErrorKind::Unsupported
                    },
                    format!(
                        "{}/v2/: HTTP status {s}: not a registry (distribution API v2)?",
                        client.base
                    ),
                )
                .step("contacting the registry"))
            }
        }
        Ok(client)
    }

    fn no_credentials(&self) -> Fail {
        let mut m = format!(
            "the registry requires authentication: no credentials for {} in: {}",
            self.domain,
            if self.lookup.tried.is_empty() {
                "no credential file (HOME unset)".into()
            } else {
                self.lookup.tried.join(", ")
            }
        );
        if let Some(h) = &self.lookup.helper {
            m.push_str(&format!("; a credential helper is configured, {h}, but helpers are not run: put the credentials in an auth file (--authfile)"));
        }
        fail(ErrorKind::Unauthorized, m)
    }

    fn creds(&self) -> Option<&Credentials> {
        self.lookup.found.as_ref()
    }

    fn basic(c: &Credentials) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.user, c.password))
        )
    }

    /// Answer the challenge; `scope` overrides ours (a later 401 may ask for another).
    fn authenticate(&self, scope: Option<&str>) -> Result<(), Fail> {
        let ch = self.challenge.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let header = match ch {
            None => return Ok(()),
            Some(Challenge::Basic) => Client::basic(self.creds().ok_or_else(|| self.no_credentials())?),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let scope = scope
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("repository:{}:pull", self.name));
                let mut url = realm.clone();
                url.push(if url.contains('?') { '&' } else { '?' });
                if let Some(s) = &service {
                    url.push_str(&format!("service={}&", percent_encode(s)));
                }
                url.push_str(&format!("scope={}", percent_encode(&scope)));
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(fail(
                        ErrorKind::Unauthorized,
                        format!("token realm {realm:?} is not an http(s) URL"),
                    ));
                }
                if let Some(check) = &self.redirect_check {
                    check(&url).map_err(|e| fail(ErrorKind::Network, format!("token realm {url} refused: {e}")))?;
                }
                let auth = self.creds().map(Client::basic);
                let resp = self.send_following(&url, auth.as_deref(), None)?;
                if resp.status == 401 || resp.status == 403 {
                    return Err(match self.creds() {
                        None => self.no_credentials(),
                        Some(c) => fail(
                            ErrorKind::Unauthorized,
                            format!(
                                "the token server {realm} refused the credentials of {} from {}",
                                c.user,
                                c.file.display()
                            ),
                        ),
                    });
                }
                if resp.status != 200 {
                    return Err(fail(
                        ErrorKind::Unauthorized,
                        format!("token server {realm}: HTTP status {}", resp.status),
                    ));
                }
                let bytes = read_limited(resp.body, MAX_TOKEN_BYTES, &realm)?;
                let v: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| fail(ErrorKind::Malformed, format!("token server {realm}: {e}")))?;
                let token = v
                    .get("token")
                    .or_else(|| v.get("access_token"))
                    .and_then(|t| t.as_str())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        fail(
                            ErrorKind::Malformed,
                            format!("token server {realm}: no token in the answer"),
                        )
                    })?;
                format!("Bearer {token}")
            }
        };
        *self.authorization.lock().unwrap_or_else(|p| p.into_inner()) = Some(header);
        Ok(())
    }

    /// One GET, no redirects followed, with retries on transient failures.
    fn send(&self, url: &str, auth: Option<&str>, manifest_accept: bool) -> Result<Result<Response, Fail>, Fail> {
        let mut n = 0;
        // The registry is the user's choice; anywhere else it sends us is held to the policy.
        let agent = match &self.off_origin {
            Some(checked) if origin(url) != origin(&self.base) => checked,
            _ => &self.agent,
        };
        loop {
            n += 1;
            let mut req = agent.get(url);
            if manifest_accept {
                req = req.header("Accept", manifest::ACCEPT);
            }
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            let result = req.call().map_err(|e| classify(url, &self.domain, e)).and_then(|resp| {
                let s = resp.status().as_u16();
                if s >= 500 || s == 429 {
                    Err(fail(ErrorKind::Network, format!("{url}: HTTP status {s}")))
                } else {
                    Ok(resp)
                }
            });
            match result {
                Ok(resp) => {
                    let h = |name: &str| {
                        resp.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let r = Response {
                        status: resp.status().as_u16(),
                        content_type: h("content-type"),
                        docker_digest: h("docker-content-digest"),
                        challenge: h("www-authenticate"),
                        location: h("location"),
                        content_length: resp.body().content_length(),
                        body: resp.into_body(),
                    };
                    return Ok(Ok(r));
                }
                Err(e) if transient(&e) && n < self.attempts => {
                    std::thread::sleep(Duration::from_millis(200 * n as u64));
                }
                Err(mut e) => {
                    if n > 1 {
                        e.message = format!("{} (after {n} attempts)", e.message);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// GET following redirects: each target checked by `redirect_check`, `auth` sent only
    /// to the origin of `url`.
    fn send_following(&self, url: &str, auth: Option<&str>, accept_manifest: Option<bool>) -> Result<Response, Fail> {
        let first_origin = origin(url).unwrap_or("").to_string();
        let mut url = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let same = origin(&url) == Some(first_origin.as_str());
            let resp = self.send(&url, if same { auth } else { None }, accept_manifest.unwrap_or(false))??;
            if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
                return Ok(resp);
            }
            let loc = resp
                .location
                .clone()
                .ok_or_else(|| fail(ErrorKind::Network, format!("{url}: redirect without Location")))?;
            let next = join_location(&url, &loc)
                .ok_or_else(|| fail(ErrorKind::Network, format!("{url}: bad redirect {loc:?}")))?;
            if !(next.starts_with("https://") || next.starts_with("http://")) {
                return Err(fail(
                    ErrorKind::Network,
                    format!("{url}: redirect to {next:?} is not http(s)"),
                ));
            }
            if let Some(check) = &self.redirect_check {
                check(&next)
                    .map_err(|e| fail(ErrorKind::Network, format!("{url}: redirect to {next} refused: {e}")))?;
            }
            url = next;
        }
        Err(fail(
            ErrorKind::Network,
            format!("{url}: more than {MAX_REDIRECTS} redirects"),
        ))
    }

    /// GET a registry path with our authorization, answering one new challenge on a 401.
    fn get(&self, path: &str, manifest_accept: bool) -> Result<Response, Fail> {
        let url = format!("{}/v2/{}/{path}", self.base, self.name);
        for round in 0..2 {
            let auth = self.authorization.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let resp = self.send_following(&url, auth.as_deref(), Some(manifest_accept))?;
            if resp.status != 401 {
                return Ok(resp);
            }
            let ch = resp.challenge.as_deref().and_then(parse_challenge);
            if round == 1 || ch.is_none() {
                return Err(match (self.creds(), auth) {
                    (None, _) => self.no_credentials(),
                    (Some(c), _) => fail(
                        ErrorKind::Unauthorized,
                        format!(
                            "{url}: 401: the registry refused the credentials of {} from {}",
                            c.user,
                            c.file.display()
                        ),
                    ),
                });
            }
            let scope = match &ch {
                Some(Challenge::Bearer { scope, .. }) => scope.clone(),
                _ => None,
            };
            *self.challenge.lock().unwrap_or_else(|p| p.into_inner()) = ch;
            self.authenticate(scope.as_deref())?;
        }
        unreachable!("two rounds return")
    }

    /// A manifest by tag or digest: bounded, checked against `expected` (when asked by digest)
    /// and against `Docker-Content-Digest`. Returns the bytes, the content type and digest.
    fn manifest(&self, reference: &str, expected: Option<&Digest>) -> Result<(Vec<u8>, Option<String>, Digest), Fail> {
        let resp = self.get(&format!("manifests/{reference}"), true)?;
        match resp.status {
            200 => {}
            404 => {
                return Err(fail(
                    ErrorKind::NotFound,
                    format!(
                        "{}/{} has no manifest {reference} (no such tag or digest)",
                        self.domain, self.name
                    ),
                ))
            }
            s => return Err(fail(ErrorKind::Network, format!("HTTP status {s}"))),
        }
        let limit = self.max_manifest_bytes;
        if resp.content_length.is_some_and(|l| l > limit) {
            return Err(fail(
                ErrorKind::TooLarge,
                format!("the registry announces more than the {limit}-byte manifest limit"),
            ));
        }
        let header = resp.docker_digest.clone();
        let ctype = resp.content_type.clone();
        let bytes = read_limited(resp.body, limit, reference)?;
        let digest = match expected {
            Some(d) => {
                manifest::check_blob(&bytes, d, None, "manifest")?;
                d.clone()
            }
            None => Digest::of(Algorithm::Sha256, &bytes),
        };
        if let Some(h) = header {
            let hd =
                Digest::parse(&h).map_err(|e| fail(ErrorKind::Malformed, format!("Docker-Content-Digest: {e}")))?;
            if !hd.matches(&bytes) {
                return Err(fail(
                    ErrorKind::DigestMismatch,
                    format!(
                        "Docker-Content-Digest says {hd}, the manifest bytes have {}",
                        Digest::of(hd.algorithm(), &bytes)
                    ),
                ));
            }
        }
        Ok((bytes, ctype, digest))
    }

    fn get_blob(&self, d: &Digest) -> Result<Response, Fail> {
        let resp = self.get(&format!("blobs/{d}"), false)?;
        match resp.status {
            200 => Ok(resp),
            404 => Err(fail(
                ErrorKind::NotFound,
                format!("{}/{} has no blob {d}", self.domain, self.name),
            )),
            s => Err(fail(ErrorKind::Network, format!("blob {d}: HTTP status {s}"))),
        }
    }
}

fn read_limited(body: ureq::Body, limit: u64, what: &str) -> Result<Vec<u8>, Fail> {
    let mut out = Vec::new();
    body.into_with_config()
        .reader()
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::TimedOut {
                ErrorKind::Timeout
            } else {
                ErrorKind::Network
            };
            fail(kind, format!("{what}: {e}"))
        })?;
    if out.len() as u64 > limit {
        return Err(fail(
            ErrorKind::TooLarge,
            format!("{what}: more than the {limit}-byte limit"),
        ));
    }
    Ok(out)
}

impl BlobSource for Client {
    fn open_layer(&self, layer: &Layer, limits: &Limits) -> Result<LayerContent, Fail> {
        let d = Digest::parse(&layer.digest).map_err(|e| fail(ErrorKind::Malformed, e))?;
        let resp = self.get_blob(&d)?;
        if let (Some(len), Some(size)) = (resp.content_length, layer.size) {
            if len != size {
                return Err(fail(
                    ErrorKind::DigestMismatch,
                    format!("the registry announces {len} bytes, the descriptor {size}"),
                ));
            }
        }
        let reader = resp.body.into_with_config().reader();
        layer::tar_stream(Box::new(reader), layer, Some(d), limits)
    }
}

#[doc(hidden)]
pub fn fuzz_challenge(s: &str) -> bool {
    parse_challenge(s).is_some() && join_location("https://r/v2/x", s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_of(der: &[u8]) -> Vec<u8> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
        .into_bytes()
    }

    #[test]
    fn a_registrys_own_ca_adds_to_the_built_in_roots() {
        // Any DER certificate stands for the private CA: the last built-in one, so the test
        // needs no file; it must appear once more at the end, after every built-in root.
        let built_in = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        let private = built_in[built_in.len() - 1].as_ref();
        let roots = roots_with(&[(PathBuf::from("ca.crt"), pem_of(private))]).unwrap();
        assert_eq!(roots.len(), built_in.len() + 1);
        for (got, want) in roots.iter().zip(built_in) {
            assert_eq!(got.der(), want.as_ref());
        }
        assert_eq!(roots.last().unwrap().der(), private);
        // A CA file that is not PEM is an error naming it, not a silently smaller trust set.
        let bad = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec();
        let e = roots_with(&[(PathBuf::from("/certs.d/r/bad.crt"), bad)]).unwrap_err();
        assert!(format!("{e:?}").contains("/certs.d/r/bad.crt"), "{e:?}");
    }

    #[test]
    fn challenges() {
        assert_eq!(parse_challenge("Basic realm=\"x\""), Some(Challenge::Basic));
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into())
            })
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn locations() {
        let b = "https://r.io:5000/v2/a/blobs/sha256:x?q=1";
        assert_eq!(origin(b), Some("https://r.io:5000"));
        assert_eq!(join_location(b, "https://s3/x").as_deref(), Some("https://s3/x"));
        assert_eq!(join_location(b, "/other").as_deref(), Some("https://r.io:5000/other"));
        assert_eq!(join_location(b, "//cdn/x").as_deref(), Some("https://cdn/x"));
        assert_eq!(join_location(b, "y").as_deref(), Some("https://r.io:5000/v2/a/blobs/y"));
    }
}
