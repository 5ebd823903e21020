//! A repository as the scanners read it: where its definition came from (which decides what a
//! `file://` URL means and whether the image's CA bundle applies), its `repomd.xml` found
//! through its mirrors, and its metadata files through the cache. pipeline-scanner (primary,
//! modules) and security-advisories (updateinfo, modules) both read repositories this way,
//! under the same cache keys, so they share downloads.

use crate::cache::Cache;
use crate::config::{RepoConfig, Variables};
use crate::fetch::{self, FetchOptions, Fetcher, UrlOrigin};
use crate::repomd::{DataFile, Repomd, MAX_REPOMD_BYTES};
use rpmdb::root::Root;
use std::path::{Path, PathBuf};

/// Which certificate authorities https repositories are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The Mozilla roots built into the scanner (a repository's own `sslcacert` still wins).
    BuiltIn,
    /// The scanned image's CA bundle, the first of [`IMAGE_CA_BUNDLES`] it has.
    ImageBundle,
}

/// Where RPM-based images keep their CA bundle, most specific first.
pub const IMAGE_CA_BUNDLES: [&str; 4] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/certs/ca-certificates.crt",
];

/// Where a repository definition came from, which decides where its `file://` URLs point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The image's own configuration: `file://` is a path inside the image.
    Image,
    /// `--repo ID=URL`: `file://` is a path on the host.
    CommandLine,
}

/// A repository to read.
#[derive(Debug, Clone)]
pub struct RepoSource {
    pub config: RepoConfig,
    pub origin: Origin,
}

/// A repository whose `repomd.xml` was read.
pub struct Located {
    /// The fetcher for its files (with the CA bundle its https URLs are checked against).
    pub fetcher: Fetcher,
    /// The base URL `repomd.xml` came from.
    pub base: String,
    pub repomd: Repomd,
    /// Its folder in the cache.
    pub repo_dir: PathBuf,
}

impl RepoSource {
    /// Who named this repository's URLs: where its `file://` URLs are read (in the image or
    /// on the host) and whether the network policy applies.
    pub fn scope<'a>(&self, root: &'a Root) -> UrlOrigin<'a> {
        match self.origin {
            Origin::Image => UrlOrigin::Image(root),
            Origin::CommandLine => UrlOrigin::User,
        }
    }

    /// Read `repomd.xml` from the first mirror that gives one: mirrors from `baseurl`, the
    /// mirror list or the metalink, their URLs' dnf variables substituted; https checked
    /// against the repository's `sslcacert` (read in the image, for the image's repositories),
    /// else per `trust`.
    pub fn locate(
        &self,
        root: &Root,
        cache: &Cache,
        options: &FetchOptions,
        variables: &Variables,
        trust: Trust,
    ) -> Result<Located, String> {
        let c = &self.config;
        let bundle = match (&c.sslcacert, self.origin, trust) {
            (Some(path), Origin::Image, _) => Some(path.as_str()),
            (None, _, Trust::ImageBundle) => IMAGE_CA_BUNDLES
                .iter()
                .copied()
                .find(|p| root.metadata(Path::new(p)).is_ok_and(|m| m.is_file())),
            _ => None,
        };
        let fetcher = match bundle {
            Some(path) if c.sslverify => {
                let pem = root
                    .read_bounded(Path::new(path), 16 << 20)
                    .map_err(|e| format!("CA bundle {path}: {e}"))?;
                Fetcher::with_ca_bundle(options.clone(), &pem).map_err(|e| format!("CA bundle {path}: {e}"))?
            }
            _ => Fetcher::new(options.clone()),
        };
        let scope = self.scope(root);
        let mirrors = fetcher.mirrors_with(
            &c.baseurl,
            c.mirrorlist.as_deref(),
            c.metalink.as_deref(),
            scope,
            &|u| variables.substitute(u),
        );
        let (bytes, base) = fetcher.repomd(&mirrors, MAX_REPOMD_BYTES, scope)?;
        let repomd =
            Repomd::parse(&bytes).map_err(|e| format!("{}: {e}", fetch::join(&base, "repodata/repomd.xml")))?;
        let key = format!(
            "{:?}|{}|{}|{}",
            self.origin,
            c.baseurl.join(" "),
            c.mirrorlist.as_deref().unwrap_or(""),
            c.metalink.as_deref().unwrap_or("")
        );
        Ok(Located {
            fetcher,
            base,
            repomd,
            repo_dir: cache.repo_dir(&c.id, &key),
        })
    }
}

impl Located {
    /// A metadata file through the cache, downloaded and checked against its `repomd.xml`
    /// checksum when missing (at most `max_bytes`): its path, and whether it was cached. A
    /// user's repository whose metadata places the file outside its base URL named that URL
    /// itself ([`UrlOrigin::Metadata`]).
    pub fn cached_file(
        &self,
        data: &DataFile,
        scope: UrlOrigin<'_>,
        cache: &Cache,
        max_bytes: u64,
    ) -> Result<(PathBuf, bool), String> {
        let url = self.url(data);
        let scope = match scope {
            UrlOrigin::User if !url.starts_with(self.base.as_str()) => UrlOrigin::Metadata(&self.base),
            other => other,
        };
        let checksum = data
            .checksum
            .as_ref()
            .ok_or_else(|| format!("repomd.xml gives no checksum for {}: it cannot be verified", data.href))?;
        let path = Cache::file_path(&self.repo_dir, checksum, &data.href);
        cache
            .get_or_fill(&path, data.size, |tmp| {
                self.fetcher
                    .download(&url, tmp, max_bytes, Some(checksum), scope)
                    .map(|_| ())
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .map_err(|e| e.to_string())
    }

    /// The URL of a metadata file (its own `xml:base`, else where `repomd.xml` came from).
    pub fn url(&self, data: &DataFile) -> String {
        fetch::join(data.base.as_deref().unwrap_or(&self.base), &data.href)
    }
}
