//! Red Hat's CSAF VEX documents (`--csaf-vex SOURCE`, one document per CVE): which CVEs
//! apply to the image's packages, fixed *and* unfixed, with Red Hat's status for each.
//!
//! The data flows through: [`document`] (the bounded serde reader) → [`products`] (the product
//! tree: products with their CPE, components with their purl, joint ids) → [`platform`]
//! (which products the image is: its content sets through `repository-to-cpe.json`, else its
//! os-release) → [`judge`] (statuses, remediations, severity, CVSS against the installed
//! packages) → [`crate::finding::Finding`]s keyed by CVE, with [`crate::finding::VexDetail`].
//!
//! A SOURCE is a VEX file, a directory searched recursively for `*.json` (Red Hat's
//! `vex/YEAR/cve-YEAR-NNNN.json` tree), or Red Hat's whole-feed archive
//! `csaf_vex_<date>.tar.zst` (any compression, or none) read as a stream ([`archive`]). A document
//! that cannot be read is a named warning (`csaf-document-error`) and the others are still
//! judged; a SOURCE none of whose documents could be read is a failed source. Red Hat's
//! `repository-to-cpe.json` comes from `--repository-to-cpe FILE`, else from beside the
//! documents (the top of a SOURCE directory, or a SOURCE file's directory), else from the host
//! of a feed URL.
//!
//! A SOURCE may also be the HTTP feed's base URL (`https://security.access.redhat.com/data/csaf/v2/vex/`):
//! [`feed`] keeps an incrementally synced copy of it in the metadata cache, read here as the
//! archive it started from plus the documents fetched since.

pub mod archive;
pub mod document;
pub mod feed;
pub mod judge;
pub mod platform;
pub mod products;

use crate::finding::{Finding, ScanWarning, Selection};
use crate::installed::InstalledIndex;
use crate::report::SourceReport;
use platform::{Platform, RepositoryToCpe};
use rootfs::osrelease::OsRelease;
use rpmdb::root::Root;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of Red Hat's mapping file, looked for beside the VEX documents.
pub const REPOSITORY_TO_CPE: &str = "repository-to-cpe.json";

/// The deepest directory level searched below a SOURCE directory.
const MAX_DIR_DEPTH: usize = 16;

/// What the CSAF VEX sources gave.
#[derive(Debug, Default)]
pub struct CsafResult {
    pub findings: Vec<Finding>,
    pub warnings: Vec<ScanWarning>,
    pub sources: Vec<SourceReport>,
    /// How the image's products were decided, for the result (`CSAF VEX Products`).
    pub products: Option<Value>,
}

/// A date of Red Hat's documents (`2024-08-20T16:26:29+00:00`, `…Z`) as Unix seconds.
pub fn parse_date(raw: &str) -> Option<i64> {
    let s = raw.trim();
    // A numeric UTC offset after the time: `+HH:MM` / `-HH:MM`.
    if let Some(t) = s.find('T') {
        let time = &s[t..];
        if let Some(i) = time.rfind(['+', '-']) {
            let (base, offset) = s.split_at(t + i);
            let sign = if offset.starts_with('-') { -1 } else { 1 };
            let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
            return repodata::updateinfo::parse_date(base).map(|u| u - sign * secs);
        }
    }
    repodata::updateinfo::parse_date(s)
}

/// Decide the image's products: content sets through the mapping when both are there, else
/// the os-release of a RHEL image.
pub fn image_products(
    root: &Root,
    os: Option<&OsRelease>,
    mapping: Option<&Path>,
    warnings: &mut Vec<ScanWarning>,
) -> Platform {
    let (sets, files, errors) = platform::content_sets(root);
    for e in errors {
        warnings.push(ScanWarning::new("csaf-content-sets", None, e));
    }
    let mapping = match mapping.map(RepositoryToCpe::read) {
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => {
            warnings.push(ScanWarning::new("csaf-repository-to-cpe", None, e));
            None
        }
        None => None,
    };
    let mut why_not = String::new();
    match (&mapping, sets.is_empty()) {
        (Some(m), false) => {
            let p = platform::from_content_sets(&sets, &files, m);
            if !p.unmapped.is_empty() {
                warnings.push(ScanWarning::new(
                    "csaf-unmapped-content-set",
                    Some(&m.source),
                    format!(
                        "content sets not in the repository-to-cpe mapping: {}",
                        p.unmapped.join(", ")
                    ),
                ));
            }
            if !p.is_empty() {
                return p;
            }
            why_not = "no content set maps to a CPE; ".to_string();
        }
        (None, false) => {
            why_not = format!(
                "content sets found in {} but no --repository-to-cpe mapping was given; ",
                files.join(", ")
            );
        }
        (_, true) => why_not.push_str("the image has no content sets; "),
    }
    let source = os.map(|o| o.source.clone()).unwrap_or_else(|| "/etc/os-release".into());
    match os.and_then(|o| platform::os_release_cpes(o.id.as_deref(), &o.id_like, o.version_id.as_deref())) {
        Some(cpes) => {
            let mut p = Platform::from_cpes(cpes, "os-release", format!("{why_not}products from {source}"));
            p.content_sets = sets;
            p
        }
        None => Platform {
            method: "none",
            explanation: format!(
                "{why_not}and {source} does not name Red Hat Enterprise Linux (ID=rhel with a VERSION_ID): no Red Hat \
                 product is known to apply"
            ),
            content_sets: sets,
            ..Platform::default()
        },
    }
}

/// The `*.json` files of a directory tree, sorted, symbolic links not followed.
fn json_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, errors: &mut Vec<String>) {
    if depth > MAX_DIR_DEPTH {
        errors.push(format!(
            "{}: deeper than {MAX_DIR_DEPTH} levels, not searched",
            dir.display()
        ));
        return;
    }
    let mut entries: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(Result::ok).collect(),
        Err(e) => {
            errors.push(format!("{}: cannot list: {e}", dir.display()));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(ft) = e.file_type() else { continue };
        let path = e.path();
        if ft.is_dir() {
            json_files(&path, depth + 1, out, errors);
        } else if ft.is_file() && path.extension().is_some_and(|x| x == "json") && e.file_name() != REPOSITORY_TO_CPE {
            out.push(path);
        }
    }
}

/// When every package of a VEX finding is fixed by an RHSA that an updateinfo or OVAL finding
/// already lists — same advisory id, naming the CVE, for the same installed package — the
/// advisory finding is the one finding: the VEX source is added to its sources and `true` is
/// returned (the VEX finding is not listed again). Otherwise nothing changes.
pub fn agrees_with_advisories(vex: &Finding, findings: &mut BTreeMap<String, Finding>) -> bool {
    if vex.packages.is_empty() {
        return false;
    }
    let cve = &vex.id;
    let agrees = vex.packages.iter().all(|p| {
        let Some(advisory) = p.advisory.as_deref() else {
            return false;
        };
        findings.get(advisory).is_some_and(|a| {
            a.vex.is_none() && a.cves.contains(cve) && a.packages.iter().any(|q| q.installed == p.installed)
        })
    });
    if !agrees {
        return false;
    }
    for p in &vex.packages {
        if let Some(a) = p.advisory.as_deref().and_then(|id| findings.get_mut(id)) {
            a.sources.extend(vex.sources.iter().cloned());
        }
    }
    true
}

/// What a SOURCE is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    Directory,
    /// A tar archive, compressed (gz, xz, bz2, zst: `csaf_vex_<date>.tar.zst`) or not.
    Archive,
    Document,
    /// A feed URL's synced copy ([`feed::FeedCopy`]).
    Feed,
}

/// A directory, an archive (by its first bytes: a compression magic, or tar's `ustar` at
/// offset 257), else one document.
fn source_kind(path: &Path) -> SourceKind {
    if path.is_dir() {
        return SourceKind::Directory;
    }
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| {
            let mut n = 0;
            while n < head.len() {
                match std::io::Read::read(&mut f, &mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            Ok(n)
        })
        .unwrap_or(0);
    let head = &head[..n];
    let compressed = repodata::compression::Compression::detect(head) != repodata::compression::Compression::None;
    if compressed || head.get(257..262) == Some(b"ustar") {
        SourceKind::Archive
    } else {
        SourceKind::Document
    }
}

/// How feed URLs are synced: the run's [`feed::Syncs`], the metadata cache and the fetch
/// options of the repository flags.
#[derive(Clone, Copy)]
pub struct FeedAccess<'a> {
    pub syncs: &'a feed::Syncs,
    pub cache_dir: Option<&'a Path>,
    pub fetch: &'a repodata::fetch::FetchOptions,
}

/// Read and judge every `--csaf-vex` source.
#[allow(clippy::too_many_arguments)]
pub fn judge_sources(
    root: &Root,
    sources: &[PathBuf],
    repository_to_cpe: Option<&Path>,
    installed: &InstalledIndex,
    os: Option<&OsRelease>,
    selection: Selection,
    ignore_unfixed: bool,
    feeds: FeedAccess<'_>,
) -> CsafResult {
    let mut result = CsafResult::default();
    // Feed URLs first: their copies may bring the mapping.
    let copies: Vec<Option<Result<feed::FeedCopy, String>>> = sources
        .iter()
        .map(|s| feed::is_feed_url(s).then(|| feeds.syncs.copy(&feed::base_url(s), feeds.cache_dir, feeds.fetch)))
        .collect();
    for copy in copies.iter().flatten().flatten() {
        for (kind, message) in &copy.warnings {
            result
                .warnings
                .push(ScanWarning::new(kind, Some(&copy.base), message.clone()));
        }
    }
    // --repository-to-cpe, else a repository-to-cpe.json beside the first source that has one
    // (at the top of a directory, or in a file's own directory), else a feed's.
    let beside = || {
        sources
            .iter()
            .filter(|s| !feed::is_feed_url(s))
            .find_map(|s| {
                let dir = if s.is_dir() { s.as_path() } else { s.parent()? };
                let candidate = dir.join(REPOSITORY_TO_CPE);
                candidate.is_file().then_some(candidate)
            })
            .or_else(|| copies.iter().flatten().flatten().find_map(|c| c.mapping.clone()))
    };
    let mapping = repository_to_cpe.map(Path::to_path_buf).or_else(beside);
    let platform = image_products(root, os, mapping.as_deref(), &mut result.warnings);
    result.products = Some(json!({
        "Method": platform.method,
        "How": platform.explanation,
        "CPEs": platform.cpes,
        "Main-stream CPEs also matched where the stream has no fix": platform.main_stream.iter().map(|k| format!("cpe:/{}", k.0.trim_end_matches(':'))).collect::<Vec<_>>(),
        "Content Sets": platform.content_sets,
    }));
    let source_index = judge::SourceIndex::of(installed);
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    for (source, copy) in sources.iter().zip(&copies) {
        let label = match copy {
            Some(_) => feed::base_url(source),
            None => source.display().to_string(),
        };
        let mut report = SourceReport {
            format: "csaf-vex",
            source: label.clone(),
            entries: 0,
            newest: None,
            error: None,
            feed: None,
        };
        let copy = match copy {
            Some(Ok(c)) => {
                report.feed = Some(c.report.clone());
                Some(c)
            }
            Some(Err(e)) => {
                report.error = Some(e.clone());
                result.sources.push(report);
                continue;
            }
            None => None,
        };
        if platform.is_empty() {
            report.error = Some(format!("{label}: {}", platform.explanation));
            result.sources.push(report);
            continue;
        }
        let kind = match copy {
            Some(_) => SourceKind::Feed,
            None => source_kind(source),
        };
        let single = kind == SourceKind::Document;
        let mut failures: Vec<String> = Vec::new();
        let mut seen = 0usize;
        let warnings = &mut result.warnings;
        // One document of the source, read or not.
        let mut take = |doc_label: String, doc: Result<document::VexDocument, document::DocumentError>| {
            seen += 1;
            let doc = match doc {
                Ok(d) => d,
                Err(e) => {
                    let message = format!("{doc_label}: {e}");
                    if !single {
                        warnings.push(ScanWarning::new("csaf-document-error", Some(&label), message.clone()));
                    }
                    failures.push(message);
                    return;
                }
            };
            report.entries += 1;
            let date = doc
                .document
                .tracking
                .as_ref()
                .and_then(|t| t.current_release_date.as_deref())
                .and_then(parse_date);
            report.newest = report.newest.max(date);
            let index = products::ProductIndex::of(&doc.product_tree);
            if index.truncated {
                warnings.push(ScanWarning::new(
                    "csaf-document-error",
                    Some(&label),
                    format!(
                        "{doc_label}: more than {} product tree branches, the rest not read",
                        products::MAX_BRANCHES
                    ),
                ));
            }
            let cx = judge::Context {
                installed,
                sources: &source_index,
                platform: &platform,
                selection,
                ignore_unfixed,
                source: &label,
                document: &doc_label,
            };
            judge::judge(&doc, &index, &cx, &mut findings);
        };
        let mut cut_short = None;
        match kind {
            SourceKind::Directory => {
                let mut files = Vec::new();
                let mut errors = Vec::new();
                json_files(source, 0, &mut files, &mut errors);
                for path in files {
                    take(path.display().to_string(), document::read_file(&path));
                }
                for e in errors {
                    result
                        .warnings
                        .push(ScanWarning::new("csaf-document-error", Some(&label), e));
                }
            }
            SourceKind::Archive => {
                if let Err(e) = archive::documents(source, &mut take) {
                    cut_short = Some(e);
                }
            }
            SourceKind::Document => take(label.clone(), document::read_file(source)),
            SourceKind::Feed => {
                let Some(copy) = copy else { continue };
                // The documents fetched one by one mask the archive's of the same path.
                let mut files = Vec::new();
                let mut errors = Vec::new();
                json_files(&copy.docs, 0, &mut files, &mut errors);
                let fetched: std::collections::BTreeSet<String> = files
                    .iter()
                    .filter_map(|p| p.strip_prefix(&copy.docs).ok())
                    .map(|p| p.to_string_lossy().into_owned())
                    .filter(|k| !copy.deleted.contains(k))
                    .collect();
                if let Some(archive) = &copy.archive {
                    let keep = |name: &str| {
                        let key = feed::entry_key(name);
                        !fetched.contains(&key) && !copy.deleted.contains(&key)
                    };
                    let base = &copy.base;
                    let name_of = |name: &str| format!("{base}{}", feed::entry_key(name));
                    if let Err(e) = archive::documents_where(archive, &keep, &name_of, &mut take) {
                        cut_short = Some(format!("the cached archive {}: {e}", archive.display()));
                    }
                }
                for key in &fetched {
                    take(format!("{}{key}", copy.base), document::read_file(&copy.docs.join(key)));
                }
                for e in errors {
                    result
                        .warnings
                        .push(ScanWarning::new("csaf-document-error", Some(&label), e));
                }
            }
        }
        report.error = match (cut_short, report.entries, failures.first()) {
            (Some(e), n, _) => Some(format!("{label}: {e} (after {n} documents)")),
            (None, 0, _) if seen == 0 => Some(format!("{label}: no CSAF VEX documents (*.json) found")),
            (None, 0, Some(first)) if single => Some(first.clone()),
            (None, 0, first) => Some(format!(
                "{label}: none of its {seen} documents could be read (first: {})",
                first.map(String::as_str).unwrap_or("?")
            )),
            _ => None,
        };
        result.sources.push(report);
    }
    result.findings = findings.into_values().collect();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_hat_dates() {
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            parse_date("2024-12-18T09:14:23Z"),
            repodata::updateinfo::parse_date("2024-12-18 09:14:23")
        );
        assert_eq!(parse_date("1970-01-01T00:00:00-00:30"), Some(1800));
        assert_eq!(parse_date("2024-01-03"), repodata::updateinfo::parse_date("2024-01-03"));
        assert_eq!(parse_date("T+:"), None);
    }
}
