//! A repository as the scanners read it: where its definition came from (which decides what a
//! `file://` URL means and whether the image's CA bundle applies), its `repomd.xml` found
//! through its mirrors, and its metadata files through the cache. pipeline-scanner (primary,
//! modules) and security-advisories (updateinfo, modules) both read repositories this way,
//! under the same cache keys, so they share downloads.
//!
//! [`repositories`] is the one list both read: the image's enabled repositories (unless
//! `--no-image-repos`) and `--repo ID=URL`, each parsed by [`repo_from_arg`] as dnf's
//! `--repofrompath` adds a repository (`RepoDict.add_new_repo`): a URL without `://` is a
//! directory, made absolute and `file://`; then the image's variables (`$releasever`,
//! `$basearch`…) are substituted. A `--repo` whose id the image also defines replaces the
//! image's repository — dnf would refuse the pair ("Repository … is listed more than once");
//! a scanner reads it as the user's override of that one repository.

use crate::cache::Cache;
use crate::config::{ImageConfig, RepoConfig, Variables};
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

/// One `--repo ID=URL` (see the module documentation), its URL substituted with `variables`.
pub fn repo_from_arg(arg: &str, variables: &Variables) -> Result<RepoConfig, String> {
    let (id, url) = arg
        .split_once('=')
        .filter(|(id, url)| !id.is_empty() && !url.is_empty())
        .ok_or_else(|| format!("--repo {arg:?}: expected ID=URL"))?;
    let url = if url.contains("://") {
        url.to_string()
    } else {
        let abs = std::path::absolute(Path::new(url)).map_err(|e| format!("--repo {id}: directory {url}: {e}"))?;
        format!("file://{}", abs.display())
    };
    Ok(RepoConfig::from_url(id, &variables.substitute(&url)))
}

/// The repositories a scanner reads for an image: its enabled ones (none with
/// `no_image_repos`) other than those a `--repo` replaces, then every `--repo`, in order.
pub fn repositories(
    config: &ImageConfig,
    repo_args: &[String],
    no_image_repos: bool,
) -> Result<Vec<RepoSource>, String> {
    let cli = repo_args
        .iter()
        .map(|a| repo_from_arg(a, &config.variables))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    if !no_image_repos {
        out.extend(
            config
                .enabled_repos()
                .filter(|r| !cli.iter().any(|c| c.id == r.id))
                .map(|r| RepoSource {
                    config: r.clone(),
                    origin: Origin::Image,
                }),
        );
    }
    out.extend(cli.into_iter().map(|config| RepoSource {
        config,
        origin: Origin::CommandLine,
    }));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_arguments_as_dnf_repofrompath_reads_them() {
        let mut vars = Variables::default();
        vars.set("releasever", "8");
        let r = repo_from_arg("local=/srv/$releasever/repo", &vars).unwrap();
        assert_eq!(r.baseurl, ["file:///srv/8/repo"]);
        assert_eq!(r.source, "--repo");
        let r = repo_from_arg("web=https://mirror/$releasever/os/", &vars).unwrap();
        assert_eq!(r.baseurl, ["https://mirror/8/os/"]);
        let r = repo_from_arg("rel=repo", &vars).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(r.baseurl, [format!("file://{}/repo", cwd.display())]);
        assert!(repo_from_arg("=x", &vars).is_err());
        assert!(repo_from_arg("novalue", &vars).is_err());
    }
}
