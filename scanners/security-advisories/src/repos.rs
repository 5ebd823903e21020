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
use crate::modules::{Modularity, ModuleActivity, ModuleStates};
use crate::release;
use crate::report::SourceReport;
use crate::updateinfo_feed::{FeedSummary, Judge, MAX_UPDATEINFO_BYTES};
use atomic_protocol::ScanFailure;
use repodata::cache::Cache;
use repodata::config::ImageConfig;
use repodata::modules;
use repodata::source::RepoSource;
use rootfs::osrelease::OsRelease;
use rpmdb::root::Root;
use std::collections::BTreeMap;
use std::io::BufReader;

/// Repository flags: the ones every repository scanner shares, with pipeline-scanner's names.
pub type RepoOptions = repodata::cli::RepoArgs;

/// What the repositories gave.
#[derive(Debug, Default)]
pub struct RepoFindings {
    pub findings: BTreeMap<String, Finding>,
    pub sources: Vec<SourceReport>,
    pub warnings: Vec<ScanWarning>,
    /// `name:stream` of the active module streams (from the repositories' modules metadata).
    pub active_modules: Vec<String>,
}

/// The repositories to read: the image's enabled ones (unless `--no-image-repos`), then
/// `--repo`, as every scanner reads them ([`repodata::source::repositories`]).
fn sources(
    config: &ImageConfig,
    options: &RepoOptions,
    warnings: &mut Vec<ScanWarning>,
) -> Result<Vec<RepoSource>, ScanFailure> {
    if !options.no_image_repos {
        for p in &config.problems {
            warnings.push(ScanWarning::new("repo-config", None, p.clone()));
        }
    }
    repodata::source::repositories(config, &options.repos, options.no_image_repos).map_err(ScanFailure)
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
    let fetch_options = options.fetch_options();

    // Pass 1: repomd and modules of every repository.
    let mut located = Vec::new();
    // Every repository's modules metadata: dnf's module container holds them all.
    let mut repo_modules = Vec::new();
    for s in &sources {
        // The built-in CA roots, unless the repository names its own `sslcacert`.
        let l = match s.locate(root, &cache, &fetch_options, &config.variables, options.trust()) {
            Ok(l) => l,
            Err(e) => {
                out.sources.push(SourceReport {
                    format: "updateinfo",
                    source: s.config.id.clone(),
                    entries: 0,
                    newest: None,
                    error: Some(format!("repository {}: {e}", s.config.id)),
                    feed: None,
                });
                continue;
            }
        };
        if let Some(d) = l.repomd.data("modules") {
            let parsed = l
                .cached_file(d, s.scope(root), &cache, MAX_UPDATEINFO_BYTES)
                .and_then(|(path, _)| {
                    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    let (_, yaml) = repodata::compression::decompress(BufReader::new(file), MAX_UPDATEINFO_BYTES)
                        .map_err(|e| e.to_string())?;
                    modules::parse(yaml)
                });
            match parsed {
                Ok(meta) => repo_modules.push(meta),
                Err(e) => out.warnings.push(ScanWarning::new(
                    "modules-metadata",
                    Some(&s.config.id),
                    format!(
                        "repository {}: modules metadata: {e}; its module advisories may be missed",
                        s.config.id
                    ),
                )),
            }
        }
        located.push((s, l));
    }

    // Pass 2: each updateinfo.
    let activity = ModuleActivity {
        states: states.clone(),
        available: (!repo_modules.is_empty()).then(|| Modularity::from_image(config, &repo_modules)),
    };
    if let Some(m) = &activity.available {
        out.active_modules = m.active_streams.clone();
    }
    let judge = Judge {
        installed,
        modules: &activity,
        selection,
    };
    for (s, l) in &located {
        let id = &s.config.id;
        let Some(data) = l.repomd.data("updateinfo") else {
            out.warnings.push(ScanWarning::new(
                "no-updateinfo",
                Some(id),
                format!("repository {id} publishes no updateinfo"),
            ));
            continue;
        };
        let summary = match l.cached_file(data, s.scope(root), &cache, MAX_UPDATEINFO_BYTES) {
            // The parsed form is kept only in a lasting cache (--cache-dir).
            Ok((path, _)) => judge.file(
                id,
                &path,
                options.cache_dir.is_some(),
                &mut out.findings,
                &mut out.warnings,
            ),
            Err(e) => FeedSummary {
                source: id.clone(),
                error: Some(format!("repository {id}: {e}")),
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
            feed: None,
        });
    }
    if out.sources.is_empty() {
        let ids: Vec<&str> = located.iter().map(|(s, _)| s.config.id.as_str()).collect();
        return Err(ScanFailure(format!(
            "no advisory data: the repositories {} publish no updateinfo; give --oval FILE (Red Hat OVAL) for this image",
            ids.join(", ")
        )));
    }
    Ok(out)
}
