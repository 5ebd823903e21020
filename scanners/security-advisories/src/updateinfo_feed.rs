//! Judging one `updateinfo` feed against the image, streaming: each advisory is read, judged
//! ([`crate::applicability`]) and dropped unless it applies, so memory follows the findings,
//! not the feed. A feed in the metadata cache is read from its parsed form
//! ([`crate::feed_cache`]) when that is there, and the parsed form written when it is not.

use crate::applicability::affected_packages;
use crate::feed_cache::{self, CacheWriter};
use crate::finding::{AffectedPackage, Finding, ScanWarning, Selection};
use crate::installed::InstalledIndex;
use crate::modules::ModuleActivity;
use crate::read_ahead;
use repodata::updateinfo::{Advisory, UpdateinfoReader, Warning};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::BufRead;
use std::path::Path;

/// The most an updateinfo may decompress to (RHEL 8's is a few hundred MB).
pub const MAX_UPDATEINFO_BYTES: u64 = 4 << 30;

/// What a feed held, for the result's list of sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedSummary {
    /// Repository id or file path.
    pub source: String,
    pub compression: String,
    pub advisories: u64,
    /// The newest `updated`/`issued` date, Unix seconds.
    pub newest: Option<i64>,
    /// The `<release>` values met (e.g. "Rocky Linux 8").
    pub releases: BTreeSet<String>,
    /// Why the feed could not be read to its end; the findings before the error are kept.
    pub error: Option<String>,
}

impl FeedSummary {
    /// What the parsed cache keeps of it.
    fn totals(&self) -> feed_cache::FeedTotals {
        feed_cache::FeedTotals {
            advisories: self.advisories,
            newest: self.newest,
            releases: self.releases.clone(),
        }
    }
}

/// Everything the judgement needs besides the feed.
pub struct Judge<'a> {
    pub installed: &'a InstalledIndex,
    pub modules: &'a ModuleActivity,
    pub selection: Selection,
}

impl Judge<'_> {
    /// The names installed in the image: packages of other names cannot apply.
    fn installed_names(&self) -> HashSet<String> {
        self.installed.iter().map(|p| p.name.clone()).collect()
    }

    /// Count one advisory of the feed in its summary.
    fn count(advisory: &Advisory, summary: &mut FeedSummary) {
        summary.advisories += 1;
        summary.newest = summary.newest.max(advisory.newest_date());
        if let Some(r) = &advisory.release {
            if summary.releases.len() < 100 {
                summary.releases.insert(r.clone());
            }
        }
    }

    /// Judge one advisory, adding it to `findings` when it applies.
    fn judge(&self, advisory: &Advisory, source: &str, findings: &mut BTreeMap<String, Finding>) {
        if !self.selection.keeps(&advisory.kind, advisory.severity) {
            return;
        }
        let affected = affected_packages(advisory, self.installed, self.modules);
        if affected.is_empty() {
            return;
        }
        let mut finding = Finding::from_advisory(advisory, source);
        finding.packages = affected
            .into_iter()
            .map(|a| AffectedPackage {
                installed: a.installed.nevra(),
                fixed_evr: Some(a.fixed.evr.dnf_text()),
                fixed: Some(a.fixed.nevra()),
                module: a.module,
                status: None,
                advisory: None,
            })
            .collect();
        match findings.get_mut(&finding.id) {
            Some(existing) => existing.merge(finding),
            None => {
                findings.insert(finding.id.clone(), finding);
            }
        }
    }

    fn parser_warnings(source: &str, kept: &[Warning], dropped: u64, warnings: &mut Vec<ScanWarning>) {
        warnings.extend(kept.iter().map(|w| ScanWarning::from_feed(w, source)));
        if dropped > 0 {
            warnings.push(ScanWarning::new(
                "too-many-warnings",
                Some(source),
                format!("{dropped} further warnings about this feed were not kept"),
            ));
        }
    }

    /// Judge a decompressed feed, adding to `findings` (keyed by advisory id) and `warnings`;
    /// with `cache`, also write its parsed form there ([`feed_cache`]).
    pub fn feed(
        &self,
        source: &str,
        compression: &str,
        xml: impl BufRead,
        mut cache: Option<CacheWriter>,
        findings: &mut BTreeMap<String, Finding>,
        warnings: &mut Vec<ScanWarning>,
    ) -> FeedSummary {
        let mut summary = FeedSummary {
            source: source.to_string(),
            compression: compression.to_string(),
            ..FeedSummary::default()
        };
        let mut reader = UpdateinfoReader::new(xml);
        if cache.is_none() {
            // Packages of names the image lacks are not even decoded (a cache needs them all).
            let names = self.installed_names();
            reader = reader.with_package_filter(move |n| names.contains(n));
        }
        loop {
            let advisory = match reader.next_advisory() {
                Ok(Some(a)) => a,
                Ok(None) => break,
                Err(e) => {
                    summary.error = Some(format!("{source}: {e}"));
                    break;
                }
            };
            if let Some(w) = cache.as_mut() {
                if w.advisory(&advisory).is_err() {
                    if let Some(w) = cache.take() {
                        w.abandon();
                    }
                }
            }
            Self::count(&advisory, &mut summary);
            self.judge(&advisory, source, findings);
        }
        let kept = reader.take_warnings();
        if let Some(w) = cache {
            if summary.error.is_some() {
                w.abandon();
            } else if let Err(e) = w.finish(&kept, reader.warnings_dropped(), &summary.totals()) {
                warnings.push(ScanWarning::new(
                    "cache",
                    Some(source),
                    format!("the parsed feed could not be cached: {e}"),
                ));
            }
        }
        Self::parser_warnings(source, &kept, reader.warnings_dropped(), warnings);
        summary
    }

    /// Judge a feed in a file on the host (any compression, decompressed in a thread of its
    /// own), named `source` in the result. With `cached`, the file lives in the metadata
    /// cache: its parsed form is read from beside it when there, and written there otherwise.
    pub fn file(
        &self,
        source: &str,
        path: &Path,
        cached: bool,
        findings: &mut BTreeMap<String, Finding>,
        warnings: &mut Vec<ScanWarning>,
    ) -> FeedSummary {
        if cached {
            let names = self.installed_names();
            let wanted = feed_cache::Wanted {
                name: &|n| names.contains(n),
                kind: &|kind, severity| self.selection.keeps(kind, severity),
            };
            // Judged into scratch state, kept only if the cache reads to its end.
            let mut from_cache = findings.clone();
            let read = feed_cache::read(path, &wanted, &mut |a| self.judge(&a, source, &mut from_cache));
            if let Ok(cached) = read {
                *findings = from_cache;
                Self::parser_warnings(source, &cached.warnings, cached.warnings_dropped, warnings);
                return FeedSummary {
                    source: source.to_string(),
                    compression: "parsed cache".to_string(),
                    advisories: cached.totals.advisories,
                    newest: cached.totals.newest,
                    releases: cached.totals.releases,
                    error: None,
                };
            }
        }
        let writer = if cached { CacheWriter::create(path).ok() } else { None };
        match read_ahead::open(path, MAX_UPDATEINFO_BYTES) {
            Ok((kind, xml)) => self.feed(source, &kind.to_string(), xml, writer, findings, warnings),
            Err(e) => {
                if let Some(w) = writer {
                    w.abandon();
                }
                FeedSummary {
                    source: source.to_string(),
                    error: Some(format!("{source}: cannot open {}: {e}", path.display())),
                    ..FeedSummary::default()
                }
            }
        }
    }
}
