//! Loading the repositories an image uses: for each, its mirrors (baseurl, mirror list,
//! metalink), `repomd.xml`, then `modules` and `primary` through the cache, parsed as a stream
//! and reduced to the packages the judgement can use (names installed in the image, and
//! packages that obsolete one). Repositories load in parallel; a repository that fails is
//! reported with its error and the others still count.

use crate::pkgspec::Specs;
use repodata::cache::Cache;
use repodata::config::Variables;
use repodata::fetch::{FetchOptions, UrlOrigin};
use repodata::modules::ModulesMetadata;
use repodata::primary::{self, ParseOptions, PrimaryPackage, Relation};
use repodata::repomd::DataFile;
use repodata::source::Located;
pub use repodata::source::{Origin, RepoSource, Trust, IMAGE_CA_BUNDLES};
use repodata::{compression, index, modules};
use rpmdb::root::Root;
use rpmdb::version::Evr;
use std::collections::HashSet;
use std::io::BufReader;
use std::path::Path;

/// The largest compressed metadata file downloaded.
pub const MAX_METADATA_BYTES: u64 = 2 << 30;
/// The largest decompressed metadata stream read (it is parsed as a stream, never held).
pub const MAX_OPEN_BYTES: u64 = 16 << 30;
/// The most repositories loaded at the same time.
const PARALLEL: usize = 8;

/// An available package kept for the judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Index of its repository in the loaded list.
    pub repo: usize,
    pub name: String,
    pub arch: String,
    pub evr: Evr,
    pub obsoletes: Vec<Relation>,
    /// Provided names, kept only when some repository has module metadata.
    pub provides: Vec<String>,
}

impl Candidate {
    fn from_primary(repo: usize, p: PrimaryPackage) -> Candidate {
        let evr = p.evr();
        Candidate {
            repo,
            name: p.name,
            arch: p.arch,
            evr,
            obsoletes: p.obsoletes,
            provides: p.provides,
        }
    }
}

/// One repository after loading.
#[derive(Debug, Clone)]
pub struct LoadedRepo {
    pub id: String,
    pub priority: i32,
    pub module_hotfixes: bool,
    pub exclude: Specs,
    pub includepkgs: Specs,
    /// The base URL the metadata came from.
    pub base: Option<String>,
    pub revision: Option<String>,
    /// Packages in its primary (all of them, before any reduction).
    pub package_count: u64,
    pub modules: Option<ModulesMetadata>,
    /// What went wrong; then it offers no package.
    pub error: Option<String>,
    /// Whether `primary` came from the cache.
    pub cached: bool,
}

/// Everything loaded.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub repos: Vec<LoadedRepo>,
    pub candidates: Vec<Candidate>,
}

/// What to keep of a repository's packages.
pub struct Interest<'a> {
    /// Names installed in the image.
    pub names: &'a HashSet<String>,
}

impl Interest<'_> {
    fn keeps(&self, name: &str, obsoleted: &[&str]) -> bool {
        self.names.contains(name) || obsoleted.iter().any(|o| self.names.contains(*o))
    }
}

/// Load every repository (in parallel, at most [`PARALLEL`] at once).
pub fn load(
    sources: &[RepoSource],
    root: &Root,
    cache: &Cache,
    options: &FetchOptions,
    variables: &Variables,
    trust: Trust,
    interest: &Interest<'_>,
) -> Loaded {
    let mut repos: Vec<LoadedRepo> = sources
        .iter()
        .map(|s| LoadedRepo {
            id: s.config.id.clone(),
            priority: s.config.priority,
            module_hotfixes: s.config.module_hotfixes,
            exclude: Specs(s.config.exclude.clone()),
            includepkgs: Specs(s.config.includepkgs.clone()),
            base: None,
            revision: None,
            package_count: 0,
            modules: None,
            error: None,
            cached: false,
        })
        .collect();

    // Phase 1: where each repository is, and its repomd.
    let located: Vec<Result<Located, String>> = parallel(sources, |s| s.locate(root, cache, options, variables, trust));
    let any_modules = located
        .iter()
        .any(|l| l.as_ref().is_ok_and(|l| l.repomd.data("modules").is_some()));

    // Phase 2: modules and primary.
    let work: Vec<(usize, &RepoSource, Result<Located, String>)> = located
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i, &sources[i], l))
        .collect();
    let results = parallel(&work, |(i, s, l)| match l {
        Err(e) => Err(e.clone()),
        Ok(l) => read_content(*i, s, l, root, cache, interest, any_modules),
    });
    let mut candidates = Vec::new();
    let mut ok = vec![false; work.len()];
    for ((i, _, l), r) in work.iter().zip(results) {
        let repo = &mut repos[*i];
        if let Ok(l) = l {
            repo.base = Some(l.base.clone());
            repo.revision = l.repomd.revision.clone();
        }
        match r {
            Ok(content) => {
                repo.package_count = content.count;
                repo.modules = content.modules;
                repo.cached = content.cached;
                candidates.extend(content.kept);
                ok[*i] = true;
            }
            Err(e) => repo.error = Some(e),
        }
    }

    // dnf weighs an obsoleting package against every package of its name (best priority per
    // name): when that name is not installed, those packages were not kept — read them now,
    // from the index the first pass wrote.
    let extra: HashSet<String> = candidates
        .iter()
        .filter(|c| !interest.names.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if !extra.is_empty() {
        let again = parallel(&work, |(i, s, l)| match l {
            Ok(l) if ok[*i] => read_packages(*i, s, l, root, cache, any_modules, &|name, obsoleted| {
                extra.contains(name) && !interest.keeps(name, obsoleted)
            }),
            _ => Ok((0, Vec::new(), false)),
        });
        for ((i, _, _), r) in work.iter().zip(again) {
            match r {
                Ok((_, kept, _)) => candidates.extend(kept),
                Err(e) => {
                    repos[*i].error = Some(e);
                    candidates.retain(|c| c.repo != *i);
                }
            }
        }
    }
    Loaded { repos, candidates }
}

fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let mut out = Vec::with_capacity(items.len());
    for chunk in items.chunks(PARALLEL) {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunk.iter().map(|it| s.spawn(|| f(it))).collect();
            for h in handles {
                out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
        });
    }
    out
}

struct Content {
    count: u64,
    kept: Vec<Candidate>,
    modules: Option<ModulesMetadata>,
    cached: bool,
}

/// A metadata file in the cache (downloaded when missing), opened and decompressed.
fn open_data(
    l: &Located,
    data: &DataFile,
    scope: UrlOrigin<'_>,
    cache: &Cache,
) -> Result<(Box<dyn std::io::BufRead>, bool, String), String> {
    let url = l.url(data);
    let (path, hit) = l.cached_file(data, scope, cache, MAX_METADATA_BYTES)?;
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (_, reader) = compression::decompress(BufReader::with_capacity(256 * 1024, file), MAX_OPEN_BYTES)
        .map_err(|e| format!("{url}: {e}"))?;
    Ok((reader, hit, url))
}

fn read_content(
    repo_index: usize,
    s: &RepoSource,
    l: &Located,
    root: &Root,
    cache: &Cache,
    interest: &Interest<'_>,
    want_provides: bool,
) -> Result<Content, String> {
    let scope = s.scope(root);
    let modules = match l.repomd.data("modules") {
        None => None,
        Some(d) => Some(read_modules(l, d, scope, cache)?),
    };
    let (count, kept, cached) = read_packages(repo_index, s, l, root, cache, want_provides, &|name, obsoleted| {
        interest.keeps(name, obsoleted)
    })?;
    Ok(Content {
        count,
        kept,
        modules,
        cached,
    })
}

/// A repository's modules: from the compact index an earlier scan wrote beside the cached
/// file, else from the YAML (writing the index).
fn read_modules(l: &Located, data: &DataFile, scope: UrlOrigin<'_>, cache: &Cache) -> Result<ModulesMetadata, String> {
    const MAX_INDEX: u64 = 256 << 20;
    let index_path = data
        .checksum
        .as_ref()
        .map(|c| Cache::file_path(&l.repo_dir, c, "modules.index"));
    if let Some(path) = &index_path {
        let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_INDEX);
        if let Some(m) = small
            .then(|| std::fs::read_to_string(path).ok())
            .flatten()
            .and_then(|t| ModulesMetadata::from_index(&t).ok())
        {
            return Ok(m);
        }
    }
    let (reader, _, url) = open_data(l, data, scope, cache)?;
    let m = modules::parse(reader).map_err(|e| format!("{url}: {e}"))?;
    if let (Some(path), Some(text)) = (&index_path, m.to_index()) {
        // A cache that cannot be written is only slower next time.
        let _ = repodata::cache::write_atomically::<std::io::Error>(path, |partial| std::fs::write(partial, text));
    }
    Ok(m)
}

/// The packages of a repository's primary that `keep` wants: from the compact index an
/// earlier scan wrote, else from the XML (writing the index on the way). Returns the package
/// count, the packages kept, and whether they came from the cache.
fn read_packages(
    repo_index: usize,
    s: &RepoSource,
    l: &Located,
    root: &Root,
    cache: &Cache,
    want_provides: bool,
    keep: &dyn Fn(&str, &[&str]) -> bool,
) -> Result<(u64, Vec<Candidate>, bool), String> {
    let scope = s.scope(root);
    let primary = l.repomd.data("primary").ok_or("repomd.xml lists no primary metadata")?;
    let checksum = primary.checksum.as_ref().ok_or_else(|| {
        format!(
            "repomd.xml gives no checksum for {}: it cannot be verified",
            primary.href
        )
    })?;
    // A compact index of this very primary (same checksum), written by an earlier scan: read
    // it instead of the XML. One with provides serves every scan.
    let with_provides = Cache::file_path(&l.repo_dir, checksum, "primary.index-provides");
    let without = Cache::file_path(&l.repo_dir, checksum, "primary.index");
    let usable: &[&Path] = if want_provides {
        &[&with_provides]
    } else {
        &[&with_provides, &without]
    };
    for path in usable {
        let Ok(file) = std::fs::File::open(path) else { continue };
        let mut kept = Kept::default();
        let read = index::read(file, keep, |p| kept.push(repo_index, p));
        if let Ok((_, count)) = read {
            return Ok((count, kept.into_result(path.display())?, true));
        }
    }

    let (reader, cached, url) = open_data(l, primary, scope, cache)?;
    let index_path = if want_provides { with_provides } else { without };
    let partial = repodata::cache::aside_path(&index_path);
    let mut writer = std::fs::File::create(&partial)
        .and_then(|f| index::IndexWriter::new(std::io::BufWriter::new(f), want_provides))
        .ok();
    let mut kept = Kept::default();
    let summary = primary::parse(
        reader,
        ParseOptions {
            provides: want_provides,
        },
        |p| {
            if let Some(w) = writer.as_mut() {
                if w.add(&p).is_err() {
                    writer = None;
                }
            }
            let obsoleted: Vec<&str> = p.obsoletes.iter().map(|o| o.name.as_str()).collect();
            if keep(&p.name, &obsoleted) {
                kept.push(repo_index, p);
            }
        },
    );
    // The index is kept only when the whole primary was read and written.
    let written = summary.is_ok() && writer.map(|w| w.finish().is_ok()).unwrap_or(false);
    if !(written && std::fs::rename(&partial, &index_path).is_ok()) {
        let _ = std::fs::remove_file(&partial);
    }
    let summary = summary.map_err(|e| format!("{url}: {e}"))?;
    Ok((summary.packages, kept.into_result(&url)?, cached))
}

/// The most entries (packages, plus their obsoletes and provides) kept from one repository:
/// a hostile primary naming an installed package millions of times must not take the memory.
const MAX_KEPT_ENTRIES: usize = 4_000_000;

/// Packages kept from one repository, within a limit of entries.
struct Kept {
    packages: Vec<Candidate>,
    entries: usize,
    limit: usize,
    overflow: bool,
}

impl Default for Kept {
    fn default() -> Self {
        Kept {
            packages: Vec::new(),
            entries: 0,
            limit: MAX_KEPT_ENTRIES,
            overflow: false,
        }
    }
}

impl Kept {
    fn push(&mut self, repo_index: usize, p: PrimaryPackage) {
        let weight = 1 + p.obsoletes.len() + p.provides.len();
        if self.overflow || self.entries + weight > self.limit {
            self.overflow = true;
            return;
        }
        self.entries += weight;
        self.packages.push(Candidate::from_primary(repo_index, p));
    }

    fn into_result(self, source: impl std::fmt::Display) -> Result<Vec<Candidate>, String> {
        if self.overflow {
            return Err(format!(
                "{source}: more than {} entries for packages installed in the image; the repository is \
                 not plausible and was not used",
                self.limit
            ));
        }
        Ok(self.packages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, provides: usize) -> PrimaryPackage {
        PrimaryPackage {
            name: name.into(),
            arch: "noarch".into(),
            epoch: 0,
            version: "1".into(),
            release: "1".into(),
            provides: (0..provides).map(|i| format!("cap{i}")).collect(),
            obsoletes: vec![],
        }
    }

    #[test]
    fn kept_packages_are_bounded() {
        let mut k = Kept {
            limit: 10,
            ..Kept::default()
        };
        k.push(0, pkg("a", 3));
        k.push(0, pkg("b", 5));
        assert_eq!(k.into_result("r").unwrap().len(), 2);
        let mut k = Kept {
            limit: 10,
            ..Kept::default()
        };
        for _ in 0..11 {
            k.push(0, pkg("a", 0));
        }
        let e = k.into_result("repo r").unwrap_err();
        assert!(e.contains("repo r: more than 10 entries"), "{e}");
    }
}
