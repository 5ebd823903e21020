//! Judging one `updateinfo` feed against the image, streaming: each advisory is read, judged
//! ([`crate::applicability`]) and dropped unless it applies, so memory follows the findings,
//! not the feed.

use crate::applicability::affected_packages;
use crate::finding::{AffectedPackage, Finding, ScanWarning, Selection};
use crate::installed::InstalledIndex;
use crate::modules::ModuleActivity;
use crate::read_ahead;
use repodata::updateinfo::{evr_without_zero_epoch, UpdateinfoReader};
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

/// Everything the judgement needs besides the feed.
pub struct Judge<'a> {
    pub installed: &'a InstalledIndex,
    pub modules: &'a ModuleActivity,
    pub selection: Selection,
}

impl Judge<'_> {
    /// Judge a decompressed feed, adding to `findings` (keyed by advisory id) and `warnings`.
    pub fn feed(
        &self,
        source: &str,
        compression: &str,
        xml: impl BufRead,
        findings: &mut BTreeMap<String, Finding>,
        warnings: &mut Vec<ScanWarning>,
    ) -> FeedSummary {
        let mut summary = FeedSummary {
            source: source.to_string(),
            compression: compression.to_string(),
            ..FeedSummary::default()
        };
        // Packages of names the image does not have cannot apply: not even decoded.
        let names: HashSet<String> = self.installed.iter().map(|p| p.name.clone()).collect();
        let mut reader = UpdateinfoReader::new(xml).with_package_filter(move |n| names.contains(n));
        loop {
            let advisory = match reader.next_advisory() {
                Ok(Some(a)) => a,
                Ok(None) => break,
                Err(e) => {
                    summary.error = Some(format!("{source}: {e}"));
                    break;
                }
            };
            summary.advisories += 1;
            summary.newest = summary.newest.max(advisory.newest_date());
            if let Some(r) = &advisory.release {
                if summary.releases.len() < 100 {
                    summary.releases.insert(r.clone());
                }
            }
            if !self.selection.keeps(&advisory.kind, advisory.severity) {
                continue;
            }
            let affected = affected_packages(&advisory, self.installed, self.modules);
            if affected.is_empty() {
                continue;
            }
            let mut finding = Finding::from_advisory(&advisory, source);
            finding.packages = affected
                .into_iter()
                .map(|a| AffectedPackage {
                    installed: a.installed.nvra,
                    fixed_evr: Some(evr_without_zero_epoch(&a.fixed.evr)),
                    fixed: Some(a.fixed.nevra()),
                    module: a.module,
                })
                .collect();
            match findings.get_mut(&finding.id) {
                Some(existing) => existing.merge(finding),
                None => {
                    findings.insert(finding.id.clone(), finding);
                }
            }
        }
        warnings.extend(reader.take_warnings().iter().map(|w| ScanWarning::from_feed(w, source)));
        summary
    }

    /// Judge a feed in a file on the host (any compression, decompressed in a thread of its
    /// own), named `source` in the result.
    pub fn file(
        &self,
        source: &str,
        path: &Path,
        findings: &mut BTreeMap<String, Finding>,
        warnings: &mut Vec<ScanWarning>,
    ) -> FeedSummary {
        match read_ahead::open(path, MAX_UPDATEINFO_BYTES) {
            Ok((kind, xml)) => self.feed(source, &kind.to_string(), xml, findings, warnings),
            Err(e) => FeedSummary {
                source: source.to_string(),
                error: Some(format!("{source}: cannot open {}: {e}", path.display())),
                ..FeedSummary::default()
            },
        }
    }
}
