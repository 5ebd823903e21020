//! The `updateinfo` and `modules` of repositories: those the image enables (unless
//! `--no-image-repos`) and those given with `--repo ID=URL`, fetched and cached with
//! [`repodata`]'s machinery (mirror lists, metalinks, checksums, the metadata cache).
//!
//! Two passes, because dnf's module container spans every repository: first each
//! repository's `repomd.xml` and `modules` (which streams exist, which are default), then
//! each `updateinfo`, judged as a stream by [`crate::updateinfo_feed`]. A repository that
//! publishes no updateinfo is a named warning (`no-updateinfo`), one that cannot be read a
//! source with an error; when no repository gives an updateinfo the scan fails: no data is
//! not a clean bill of health.

use crate::finding::{Finding, ScanWarning, Selection};
use crate::installed::InstalledIndex;
use crate::modules::{AvailableModules, ModuleActivity, ModuleStates};
use crate::release;
use crate::report::SourceReport;
use crate::updateinfo_feed::{FeedSummary, Judge, MAX_UPDATEINFO_BYTES};
use atomic_protocol::ScanFailure;
use repodata::cache::Cache;
use repodata::config::{ImageConfig, RepoConfig};
use repodata::fetch::{self, FetchOptions, Fetcher, FileScope};
use repodata::modules;
use repodata::repomd::{DataFile, Repomd, MAX_REPOMD_BYTES};
use rpmdb::osrelease::OsRelease;
use rpmdb::root::Root;
use std::collections::BTreeMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Repository flags (the same names as pipeline-scanner's).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RepoOptions {
    /// Also use this repository (`ID=URL`: http://, https://, file:// on the host, or a
    /// directory); repeatable.
    #[arg(long = "repo", value_name = "ID=URL")]
    pub repo: Vec<String>,

    /// Ignore the repositories the image configures; use only --repo.
    #[arg(long)]
    pub no_image_repos: bool,

    /// Keep downloaded metadata here, keyed by repository and checksum, so that scans of
    /// many images download each repository once.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

impl RepoOptions {
    /// Whether repositories are asked for explicitly.
    pub fn wants_repos(&self) -> bool {
        !self.repo.is_empty()
    }
}

/// What the repositories gave.
#[derive(Debug, Default)]
pub struct RepoFindings {
    pub findings: BTreeMap<String, Finding>,
    pub sources: Vec<SourceReport>,
    pub warnings: Vec<ScanWarning>,
}

/// A repository and where its `file://` URLs point.
struct Source {
    config: RepoConfig,
    scope_is_image: bool,
}

/// A repository whose `repomd.xml` was read.
struct Located {
    id: String,
    scope_is_image: bool,
    fetcher: Fetcher,
    base: String,
    repomd: Repomd,
    repo_dir: PathBuf,
}

/// Parse `ID=URL`; a bare directory becomes a `file://` URL.
pub fn parse_repo_arg(arg: &str) -> Result<RepoConfig, String> {
    let (id, url) = arg
        .split_once('=')
        .filter(|(id, url)| !id.is_empty() && !url.is_empty())
        .ok_or_else(|| format!("--repo {arg:?}: expected ID=URL"))?;
    let url = if url.contains("://") {
        url.to_string()
    } else {
        let abs = std::path::absolute(Path::new(url)).map_err(|e| format!("--repo {id}: {url}: {e}"))?;
        format!("file://{}", abs.display())
    };
    Ok(RepoConfig::from_url(id, &url))
}

/// The repositories to read: the image's enabled ones (unless `--no-image-repos`), then
/// `--repo`.
fn sources(
    config: &ImageConfig,
    options: &RepoOptions,
    warnings: &mut Vec<ScanWarning>,
) -> Result<Vec<Source>, ScanFailure> {
    let mut out = Vec::new();
    if !options.no_image_repos {
        for p in &config.problems {
            warnings.push(ScanWarning::new("repo-config", None, p.clone()));
        }
        out.extend(config.enabled_repos().map(|c| Source {
            config: c.clone(),
            scope_is_image: true,
        }));
    }
    for arg in &options.repo {
        out.push(Source {
            config: parse_repo_arg(arg).map_err(ScanFailure)?,
            scope_is_image: false,
        });
    }
    Ok(out)
}

fn scope<'a>(scope_is_image: bool, root: &'a Root) -> FileScope<'a> {
    if scope_is_image {
        FileScope::Image(root)
    } else {
        FileScope::Host
    }
}

fn locate(s: &Source, root: &Root, cache: &Cache, options: &FetchOptions) -> Result<Located, String> {
    let c = &s.config;
    let fetcher = match &c.sslcacert {
        Some(path) if s.scope_is_image && c.sslverify => {
            let pem = root
                .read_bounded(Path::new(path), 16 << 20)
                .map_err(|e| format!("sslcacert {path}: {e}"))?;
            Fetcher::with_ca_bundle(options.clone(), &pem).map_err(|e| format!("sslcacert {path}: {e}"))?
        }
        _ => Fetcher::new(options.clone()),
    };
    let scope = scope(s.scope_is_image, root);
    let mirrors = fetcher.mirrors(&c.baseurl, c.mirrorlist.as_deref(), c.metalink.as_deref(), scope);
    let (bytes, base) = fetcher.repomd(&mirrors, MAX_REPOMD_BYTES, scope)?;
    let repomd = Repomd::parse(&bytes).map_err(|e| format!("{}: {e}", fetch::join(&base, "repodata/repomd.xml")))?;
    // The same cache key as pipeline-scanner's, so the two scanners share downloads.
    let key = format!(
        "{}|{}|{}|{}",
        if s.scope_is_image { "Image" } else { "CommandLine" },
        c.baseurl.join(" "),
        c.mirrorlist.as_deref().unwrap_or(""),
        c.metalink.as_deref().unwrap_or("")
    );
    Ok(Located {
        id: c.id.clone(),
        scope_is_image: s.scope_is_image,
        fetcher,
        base,
        repo_dir: cache.repo_dir(&c.id, &key),
        repomd,
    })
}

/// A metadata file through the cache (downloaded and checked when missing): its path.
fn cached_data(l: &Located, data: &DataFile, root: &Root, cache: &Cache) -> Result<PathBuf, String> {
    let base = data.base.as_deref().unwrap_or(&l.base);
    let url = fetch::join(base, &data.href);
    let checksum = data
        .checksum
        .as_ref()
        .ok_or_else(|| format!("repomd.xml gives no checksum for {}: it cannot be verified", data.href))?;
    let path = Cache::file_path(&l.repo_dir, checksum, &data.href);
    let scope = scope(l.scope_is_image, root);
    let (path, _hit) = cache
        .get_or_fill::<std::io::Error>(&path, data.size, |tmp| {
            l.fetcher
                .download(&url, tmp, MAX_UPDATEINFO_BYTES, Some(checksum), scope)
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| e.to_string())?;
    Ok(path)
}

/// Judge the repositories' advisories against the image.
pub fn judge_repositories(
    root: &Root,
    config: &ImageConfig,
    installed: &InstalledIndex,
    states: &ModuleStates,
    selection: Selection,
    options: &RepoOptions,
    os: Option<&OsRelease>,
) -> Result<RepoFindings, ScanFailure> {
    let mut out = RepoFindings::default();
    let sources = sources(config, options, &mut out.warnings)?;
    if sources.is_empty() {
        // Say why there is no repository when the configuration could not be read.
        let problems: Vec<&str> = out.warnings.iter().map(|w| w.message.as_str()).collect();
        let why = if problems.is_empty() {
            String::new()
        } else {
            format!(" (the configuration could not be read: {})", problems.join("; "))
        };
        return Err(ScanFailure(format!(
            "no advisory data: the image configures no enabled repository{why} and neither --repo, --updateinfo \
             nor --oval was given; an image without advisory data is not known to be free of vulnerabilities"
        )));
    }
    let cache = match &options.cache_dir {
        Some(d) => Cache::open(d).map_err(|e| ScanFailure(format!("--cache-dir {}: {e}", d.display())))?,
        None => Cache::temporary().map_err(|e| ScanFailure(format!("a temporary metadata cache: {e}")))?,
    };
    let fetch_options = FetchOptions::default();

    // Pass 1: repomd and modules of every repository.
    let mut located = Vec::new();
    let mut available: Option<AvailableModules> = None;
    for s in &sources {
        let l = match locate(s, root, &cache, &fetch_options) {
            Ok(l) => l,
            Err(e) => {
                out.sources.push(SourceReport {
                    format: "updateinfo",
                    source: s.config.id.clone(),
                    entries: 0,
                    newest: None,
                    error: Some(format!("repository {}: {e}", s.config.id)),
                });
                continue;
            }
        };
        if let Some(d) = l.repomd.data("modules") {
            let parsed = cached_data(&l, d, root, &cache).and_then(|path| {
                let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let (_, yaml) = repodata::compression::decompress(BufReader::new(file), MAX_UPDATEINFO_BYTES)
                    .map_err(|e| e.to_string())?;
                modules::parse(yaml)
            });
            match parsed {
                Ok(meta) => available.get_or_insert_with(AvailableModules::default).add(&meta),
                Err(e) => out.warnings.push(ScanWarning::new(
                    "modules-metadata",
                    Some(&l.id),
                    format!(
                        "repository {}: modules metadata: {e}; its module advisories may be missed",
                        l.id
                    ),
                )),
            }
        }
        located.push(l);
    }

    // Pass 2: each updateinfo.
    let activity = ModuleActivity {
        states: states.clone(),
        available,
    };
    let judge = Judge {
        installed,
        modules: &activity,
        selection,
    };
    for l in &located {
        let Some(data) = l.repomd.data("updateinfo") else {
            out.warnings.push(ScanWarning::new(
                "no-updateinfo",
                Some(&l.id),
                format!("repository {} publishes no updateinfo", l.id),
            ));
            continue;
        };
        let summary = match cached_data(l, data, root, &cache) {
            // The parsed form is kept only in a lasting cache (--cache-dir).
            Ok(path) => judge.file(
                &l.id,
                &path,
                options.cache_dir.is_some(),
                &mut out.findings,
                &mut out.warnings,
            ),
            Err(e) => FeedSummary {
                source: l.id.clone(),
                error: Some(format!("repository {}: {e}", l.id)),
                ..FeedSummary::default()
            },
        };
        release::check_updateinfo(&summary, os, &mut out.warnings);
        out.sources.push(SourceReport {
            format: "updateinfo",
            source: summary.source,
            entries: summary.advisories,
            newest: summary.newest,
            error: summary.error,
        });
    }
    if out.sources.is_empty() {
        let ids: Vec<&str> = located.iter().map(|l| l.id.as_str()).collect();
        return Err(ScanFailure(format!(
            "no advisory data: the repositories {} publish no updateinfo; give --oval FILE (Red Hat OVAL) for this image",
            ids.join(", ")
        )));
    }
    Ok(out)
}
