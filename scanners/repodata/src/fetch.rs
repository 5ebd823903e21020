//! Getting metadata bytes: `http://`, `https://` (rustls with the Mozilla roots built in, or a
//! repository's own `sslcacert` bundle read from the image — no OpenSSL), and `file://` (a
//! path on the host for `--repo`, a path inside the image for the image's own repositories).
//! Every request is bounded: connect and response timeouts, a total time, a size limit, a
//! small number of attempts. Mirror lists and metalinks become an ordered list of base URLs,
//! tried in turn; a metalink's hashes are checked against the `repomd.xml` it describes.
//!
//! Every URL carries where it came from ([`UrlOrigin`]): a URL the image names (and every
//! URL a redirect leads to) is held to the network policy of [`net_policy`] — no loopback,
//! link-local or private address unless the options allow it — and connected to only at an
//! address that was checked; redirects are followed here, each hop checked.

use crate::checksum::{self, Checksum, Hasher};
use crate::metalink::{self, Metalink};
use net_policy::{Agents, FollowError, NamedBy, Policy};
use rpmdb::root::Root;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The largest mirror list accepted.
pub const MAX_MIRRORLIST_BYTES: u64 = 1 << 20;
/// Redirects followed per request.
pub const MAX_REDIRECTS: u32 = 5;

/// Limits of every request.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Time for the server to start answering, and the longest pause while reading a body:
    /// a server that accepts and never answers fails after this.
    pub response_timeout: Duration,
    /// Time for a whole request, body included.
    pub total_timeout: Duration,
    /// Tries per URL for errors that may pass (connection refused or reset, HTTP 5xx).
    pub attempts: u32,
    /// Mirrors tried at most per file.
    pub max_mirrors: usize,
    /// What URLs the image names, and redirects, may reach.
    pub policy: Arc<Policy>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(600),
            attempts: 2,
            max_mirrors: 8,
            policy: Arc::new(Policy::default()),
        }
    }
}

/// Who named a URL, which decides where `file://` points and whether the network policy
/// applies: the user (`--repo`: `file://` on the host, the address theirs to choose, its
/// redirects checked) or the scanned image (a repository the image configures, e.g.
/// `baseurl=file:///srv/repo` inside the image, and its network addresses checked).
///
/// A user's repository can still point elsewhere from its metadata (`xml:base`, an absolute
/// `href`): such a URL is [`UrlOrigin::Metadata`], not the user's choice.
#[derive(Debug, Clone, Copy)]
pub enum UrlOrigin<'a> {
    User,
    Image(&'a Root),
    /// Named by the metadata of the user's repository at this base URL: the network policy
    /// applies, and `file://` is not read (the host's files are not the server's to name).
    Metadata(&'a str),
}

impl UrlOrigin<'_> {
    fn named_by(self) -> NamedBy {
        match self {
            UrlOrigin::User => NamedBy::User,
            UrlOrigin::Image(_) => NamedBy::Image,
            UrlOrigin::Metadata(base) => NamedBy::Metadata { of: base.to_string() },
        }
    }
}

/// An error fetching one URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {message}")]
pub struct FetchError {
    pub url: String,
    pub message: String,
    /// Worth another attempt (connection refused or reset, HTTP 5xx).
    pub transient: bool,
}

fn err(url: &str, message: impl Into<String>, transient: bool) -> FetchError {
    FetchError {
        url: url.to_string(),
        message: message.into(),
        transient,
    }
}

/// Fetches URLs with one TLS configuration and one network policy.
pub struct Fetcher {
    agents: Agents,
    options: FetchOptions,
}

impl Fetcher {
    /// A fetcher trusting the built-in Mozilla roots.
    pub fn new(options: FetchOptions) -> Fetcher {
        Fetcher::build(options, ureq::tls::RootCerts::WebPki)
    }

    /// A fetcher trusting only the certificates of a PEM bundle (a repository's `sslcacert`),
    /// as dnf does for such a repository.
    pub fn with_ca_bundle(options: FetchOptions, pem: &[u8]) -> Result<Fetcher, String> {
        let certs: Vec<_> = ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err("the CA bundle holds no PEM certificate".into());
        }
        Ok(Fetcher::build(options, ureq::tls::RootCerts::new_with_certs(&certs)))
    }

    fn build(options: FetchOptions, roots: ureq::tls::RootCerts) -> Fetcher {
        let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
        let config = || {
            ureq::Agent::config_builder()
                .timeout_connect(Some(options.connect_timeout))
                .timeout_recv_response(Some(options.response_timeout))
                .timeout_per_read(Some(options.response_timeout))
                .timeout_global(Some(options.total_timeout))
                .http_status_as_error(false)
                .user_agent("atomic-scanners pipeline-scanner")
                .tls_config(tls.clone())
        };
        Fetcher {
            agents: Agents::new(options.policy.clone(), config),
            options,
        }
    }

    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// A whole (small) file, at most `limit` bytes.
    pub fn get(&self, url: &str, limit: u64, scope: UrlOrigin<'_>) -> Result<Vec<u8>, FetchError> {
        let mut out = Vec::new();
        self.with_attempts(|_| {
            out.clear();
            self.copy(url, limit, scope, &mut out, None).map(|_| ())
        })?;
        Ok(out)
    }

    /// Stream a file into `dest` (created or truncated), at most `limit` bytes, checking
    /// `expected` on the way. Returns the size.
    pub fn download(
        &self,
        url: &str,
        dest: &Path,
        limit: u64,
        expected: Option<&Checksum>,
        scope: UrlOrigin<'_>,
    ) -> Result<u64, FetchError> {
        let mut size = 0;
        self.with_attempts(|_| {
            let mut f =
                File::create(dest).map_err(|e| err(url, format!("cannot write {}: {e}", dest.display()), false))?;
            size = self.copy(url, limit, scope, &mut f, expected)?;
            f.flush()
                .map_err(|e| err(url, format!("cannot write {}: {e}", dest.display()), false))
        })?;
        Ok(size)
    }

    fn with_attempts(&self, mut once: impl FnMut(u32) -> Result<(), FetchError>) -> Result<(), FetchError> {
        let attempts = self.options.attempts.max(1);
        let mut n = 0;
        loop {
            n += 1;
            match once(n) {
                Ok(()) => return Ok(()),
                Err(e) if e.transient && n < attempts => {
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

    /// One attempt: copy the body into `out`, bounded, hashing when a checksum is expected.
    fn copy(
        &self,
        url: &str,
        limit: u64,
        scope: UrlOrigin<'_>,
        out: &mut dyn Write,
        expected: Option<&Checksum>,
    ) -> Result<u64, FetchError> {
        let mut reader: Box<dyn Read> = if let Some(path) = file_path(url) {
            Box::new(open_file(url, &path, scope)?)
        } else if url.starts_with("http://") || url.starts_with("https://") {
            let resp = self
                .agents
                .follow(url, scope.named_by(), MAX_REDIRECTS, |agent, hop| {
                    agent.get(hop.url).call()
                })
                .map_err(|e| follow_error(url, e))?
                .response;
            let status = resp.status().as_u16();
            if status >= 400 {
                return Err(err(url, format!("HTTP status {status}"), status >= 500));
            }
            if let Some(len) = resp.body().content_length() {
                if len > limit {
                    return Err(err(
                        url,
                        format!("the server announces {len} bytes, more than the {limit}-byte limit"),
                        false,
                    ));
                }
            }
            Box::new(
                resp.into_body()
                    .into_with_config()
                    .limit(limit.saturating_add(1))
                    .reader(),
            )
        } else {
            return Err(err(
                url,
                "unsupported URL scheme (http://, https:// and file:// are)",
                false,
            ));
        };
        let mut hasher = expected.map(|c| Hasher::new(c.algorithm));
        let mut buf = vec![0u8; 64 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(classify_io(url, e)),
            };
            total += n as u64;
            if total > limit {
                return Err(err(url, format!("larger than the {limit}-byte limit"), false));
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            out.write_all(&buf[..n])
                .map_err(|e| err(url, format!("cannot store the download: {e}"), false))?;
        }
        if let (Some(h), Some(want)) = (hasher, expected) {
            let got = h.finish_hex();
            if got != want.hex {
                return Err(err(
                    url,
                    format!(
                        "checksum mismatch: expected {want}, got {}:{got}",
                        want.algorithm.name()
                    ),
                    false,
                ));
            }
        }
        Ok(total)
    }
}

/// The path of a `file://` URL or a bare absolute path, percent-escapes decoded.
pub fn file_path(url: &str) -> Option<PathBuf> {
    let rest = if let Some(r) = url.strip_prefix("file://") {
        // file://localhost/x and file:///x
        r.strip_prefix("localhost").unwrap_or(r)
    } else if let Some(r) = url.strip_prefix("file:") {
        r
    } else if url.starts_with('/') {
        url
    } else {
        return None;
    };
    let b = rest.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

fn open_file(url: &str, path: &Path, scope: UrlOrigin<'_>) -> Result<File, FetchError> {
    match scope {
        UrlOrigin::Image(root) => root
            .open_regular(path)
            .map_err(|e| err(url, format!("in the image: {e}"), false)),
        UrlOrigin::User => rpmdb::root::open_regular_nofollow(path)
            .or_else(|e| {
                // A host path given by the user may go through symlinks: follow them there.
                if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
                    let real = std::fs::canonicalize(path)?;
                    rpmdb::root::open_regular_nofollow(&real)
                } else {
                    Err(e)
                }
            })
            .map_err(|e| err(url, e.to_string(), false)),
        UrlOrigin::Metadata(base) => Err(err(
            url,
            format!("refused: a file:// URL named by the metadata of {base} is not read on the host"),
            false,
        )),
    }
}

fn follow_error(url: &str, e: FollowError) -> FetchError {
    match e {
        FollowError::Refused(r) => err(url, r.to_string(), false),
        FollowError::Request { url: hop, error } if hop != url => {
            let mut e = classify(url, error);
            e.message = format!("redirected to {hop}: {}", e.message);
            e
        }
        FollowError::Request { error, .. } => classify(url, error),
        FollowError::Redirect { message, .. } => err(url, message, false),
    }
}

fn classify(url: &str, e: ureq::Error) -> FetchError {
    match e {
        ureq::Error::Timeout(t) => err(url, format!("timed out ({t})"), false),
        ureq::Error::Io(io) => classify_io(url, io),
        ureq::Error::ConnectionFailed => err(url, "connection failed", true),
        ureq::Error::HostNotFound => err(url, "host not found", false),
        ureq::Error::BodyExceedsLimit(n) => err(url, format!("larger than the {n}-byte limit"), false),
        other => err(url, other.to_string(), false),
    }
}

fn classify_io(url: &str, e: io::Error) -> FetchError {
    let transient = matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
    );
    let message = if e.kind() == io::ErrorKind::TimedOut {
        format!("timed out ({e})")
    } else {
        e.to_string()
    };
    err(url, message, transient)
}

/// Join a repository base URL and a metadata `href`.
pub fn join(base: &str, href: &str) -> String {
    if href.contains("://") || href.starts_with('/') && base.is_empty() {
        return href.to_string();
    }
    let mut s = base.to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    s.push_str(href.trim_start_matches("./"));
    s
}

/// The base URLs a repository may be read from, in the order to try, and the hashes its
/// `repomd.xml` must have when a metalink gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrors {
    pub bases: Vec<String>,
    pub repomd_hashes: Vec<Checksum>,
    /// Mirror lists or metalinks that could not be read (the other sources may still work).
    pub errors: Vec<String>,
}

impl Fetcher {
    /// Base URLs from `baseurl` (in order), then the metalink or mirror list, the mirror
    /// list's URLs taken as written (see [`Fetcher::mirrors_with`]).
    pub fn mirrors(
        &self,
        baseurl: &[String],
        mirrorlist: Option<&str>,
        metalink: Option<&str>,
        scope: UrlOrigin<'_>,
    ) -> Mirrors {
        self.mirrors_with(baseurl, mirrorlist, metalink, scope, &|u| u.to_string())
    }

    /// Base URLs from `baseurl` (in order), then the metalink or mirror list. The URLs a
    /// mirror list gives go through `substitute` (`$releasever`, `$basearch`…), as librepo does.
    pub fn mirrors_with(
        &self,
        baseurl: &[String],
        mirrorlist: Option<&str>,
        metalink: Option<&str>,
        scope: UrlOrigin<'_>,
        substitute: &dyn Fn(&str) -> String,
    ) -> Mirrors {
        let mut m = Mirrors {
            bases: baseurl.to_vec(),
            ..Mirrors::default()
        };
        for (url, is_metalink) in [(metalink, true), (mirrorlist, false)] {
            let Some(url) = url else { continue };
            // dnf uses the metalink when both are given.
            if !is_metalink && metalink.is_some() {
                continue;
            }
            match self.get(url, MAX_MIRRORLIST_BYTES.max(metalink::MAX_METALINK_BYTES), scope) {
                Err(e) => m
                    .errors
                    .push(format!("{} {e}", if is_metalink { "metalink" } else { "mirrorlist" })),
                Ok(bytes) if is_metalink || Metalink::looks_like(&bytes) => match Metalink::parse(&bytes) {
                    Ok(ml) => {
                        m.bases.extend(ml.base_urls());
                        m.repomd_hashes = ml.hashes;
                    }
                    Err(e) => m.errors.push(format!("metalink {url}: {e}")),
                },
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let list: Vec<String> = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(substitute)
                        .collect();
                    if list.is_empty() {
                        m.errors.push(format!("mirrorlist {url}: lists no mirror"));
                    }
                    m.bases.extend(list);
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        m.bases.retain(|b| seen.insert(b.clone()));
        m
    }

    /// `repodata/repomd.xml` from the first base that serves one matching the metalink's
    /// hashes (when there are some). Returns the bytes and the base used.
    pub fn repomd(&self, mirrors: &Mirrors, limit: u64, scope: UrlOrigin<'_>) -> Result<(Vec<u8>, String), String> {
        let mut errors = Vec::new();
        for base in mirrors.bases.iter().take(self.options.max_mirrors) {
            let url = join(base, "repodata/repomd.xml");
            match self.get(&url, limit, scope) {
                Ok(bytes) => {
                    if mirrors.repomd_hashes.is_empty()
                        || mirrors.repomd_hashes.iter().any(|h| checksum::matches(h, &bytes))
                    {
                        return Ok((bytes, base.clone()));
                    }
                    errors.push(format!("{url}: does not match any hash of the metalink"));
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if mirrors.bases.is_empty() {
            errors.push("no baseurl, mirrorlist or metalink gave a location".into());
        }
        errors.extend(mirrors.errors.iter().cloned());
        Err(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls() {
        assert_eq!(file_path("file:///srv/re%20po"), Some(PathBuf::from("/srv/re po")));
        assert_eq!(file_path("file://localhost/x"), Some(PathBuf::from("/x")));
        assert_eq!(file_path("/x/y"), Some(PathBuf::from("/x/y")));
        assert_eq!(file_path("http://x/"), None);
    }

    #[test]
    fn joining() {
        assert_eq!(join("http://a/b", "repodata/x.gz"), "http://a/b/repodata/x.gz");
        assert_eq!(join("http://a/b/", "repodata/x.gz"), "http://a/b/repodata/x.gz");
        assert_eq!(join("http://a/b/", "https://c/d"), "https://c/d");
    }

    #[test]
    fn image_file_urls_stay_in_the_image() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("srv")).unwrap();
        std::fs::write(t.path().join("srv/f"), b"hello").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", t.path().join("srv/escape")).unwrap();
        let root = Root::new(t.path()).unwrap();
        let f = Fetcher::new(FetchOptions::default());
        assert_eq!(f.get("file:///srv/f", 10, UrlOrigin::Image(&root)).unwrap(), b"hello");
        // /etc/hostname of the image, which does not exist, never the host's.
        assert!(f.get("file:///srv/escape", 100, UrlOrigin::Image(&root)).is_err());
        let e = f.get("file:///srv/f", 4, UrlOrigin::Image(&root)).unwrap_err();
        assert!(e.message.contains("4-byte limit"), "{e}");
        let sum = Checksum::parse("sha256", &checksum::digest_hex(checksum::Algorithm::Sha256, b"hellx")).unwrap();
        let e = f
            .download(
                "file:///srv/f",
                &t.path().join("out"),
                10,
                Some(&sum),
                UrlOrigin::Image(&root),
            )
            .unwrap_err();
        assert!(e.message.contains("checksum mismatch"), "{e}");
    }
}
