//! The `updateinfo` (and `modules`) of repositories: those given with `--repo ID=URL` and,
//! unless `--no-image-repos`, those the image enables.
//!
//! Each repository's `repodata/repomd.xml` is read, then its `updateinfo` entry (any
//! compression), judged by [`crate::updateinfo_feed`]. A repository that publishes no
//! updateinfo is a named warning (`no-updateinfo`); when none of them does, the scan fails:
//! no data is not a clean bill of health.

use crate::finding::{Finding, ScanWarning, Selection};
use crate::installed::InstalledIndex;
use crate::modules::{ModuleActivity, ModuleStates};
use crate::release;
use crate::report::SourceReport;
use crate::updateinfo_feed::Judge;
use atomic_protocol::ScanFailure;
use repodata::repomd::{Repomd, MAX_REPOMD_BYTES};
use rpmdb::osrelease::OsRelease;
use rpmdb::root::Root;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Repository flags (the same as pipeline-scanner's).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RepoOptions {
    /// Use this repository (`ID=URL`; `file://`, or a local directory); repeatable.
    #[arg(long = "repo", value_name = "ID=URL")]
    pub repo: Vec<String>,

    /// Ignore the repositories the image configures; use only --repo.
    #[arg(long)]
    pub no_image_repos: bool,

    /// Keep downloaded metadata here, keyed by repository and checksum.
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

/// A repository to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    pub id: String,
    pub base: PathBuf,
}

/// Parse `ID=URL` (a `file://` URL or a directory).
pub fn parse_repo_arg(arg: &str) -> Result<RepoSpec, String> {
    let (id, url) = arg
        .split_once('=')
        .filter(|(id, url)| !id.is_empty() && !url.is_empty())
        .ok_or_else(|| format!("--repo {arg:?}: expected ID=URL"))?;
    let path = if let Some(p) = url.strip_prefix("file://") {
        PathBuf::from(p)
    } else if url.contains("://") {
        return Err(format!(
            "--repo {id}: only file:// URLs and directories are read by this build (got {url})"
        ));
    } else {
        PathBuf::from(url)
    };
    Ok(RepoSpec {
        id: id.to_string(),
        base: path,
    })
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let f = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if buf.len() as u64 > limit {
        return Err(format!("{}: larger than {limit} bytes", path.display()));
    }
    Ok(buf)
}

/// Judge the repositories' advisories against the image.
pub fn judge_repositories(
    _root: &Root,
    installed: &InstalledIndex,
    states: &ModuleStates,
    selection: Selection,
    options: &RepoOptions,
    os: Option<&OsRelease>,
) -> Result<RepoFindings, ScanFailure> {
    let mut specs = Vec::new();
    for arg in &options.repo {
        specs.push(parse_repo_arg(arg).map_err(ScanFailure)?);
    }
    if !options.no_image_repos && specs.is_empty() {
        return Err(ScanFailure(
            "no advisory data: reading the image's own repositories is not available in this build; give --repo \
             ID=URL, --updateinfo FILE or --oval FILE"
                .to_string(),
        ));
    }
    let mut out = RepoFindings::default();
    let activity = ModuleActivity {
        states: states.clone(),
        available: None,
    };
    let judge = Judge {
        installed,
        modules: &activity,
        selection,
    };
    let mut with_updateinfo = 0;
    for spec in &specs {
        let repomd_path = spec.base.join("repodata/repomd.xml");
        let repomd = match read_bounded(&repomd_path, MAX_REPOMD_BYTES).and_then(|b| Repomd::parse(&b)) {
            Ok(r) => r,
            Err(e) => {
                out.sources.push(SourceReport {
                    format: "updateinfo",
                    source: spec.id.clone(),
                    entries: 0,
                    newest: None,
                    error: Some(format!("repository {}: repomd.xml: {e}", spec.id)),
                });
                continue;
            }
        };
        let Some(data) = repomd.data("updateinfo") else {
            out.warnings.push(ScanWarning::new(
                "no-updateinfo",
                Some(&spec.id),
                format!("repository {} publishes no updateinfo", spec.id),
            ));
            continue;
        };
        with_updateinfo += 1;
        let path = spec.base.join(&data.href);
        let summary = match File::open(&path) {
            Ok(f) => judge.feed(&spec.id, BufReader::new(f), &mut out.findings, &mut out.warnings),
            Err(e) => crate::updateinfo_feed::FeedSummary {
                source: spec.id.clone(),
                error: Some(format!("repository {}: {}: {e}", spec.id, data.href)),
                ..Default::default()
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
    if with_updateinfo == 0 && out.sources.is_empty() {
        let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        return Err(ScanFailure(format!(
            "no advisory data: the repositories {} publish no updateinfo; give --oval FILE for Red Hat OVAL",
            ids.join(", ")
        )));
    }
    Ok(out)
}
