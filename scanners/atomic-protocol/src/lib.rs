//! The atomic scan protocol, shared by every scanner binary.
//!
//! A scanner implements [`Scanner`]: it judges one root filesystem and returns an
//! [`Outcome`]. This crate does everything else: the command line (atomic mode over
//! `/scanin` → `/scanout/<subject>/json`, or stand-alone `--rootfs DIR`), the result document
//! with the keys `atomic` and the CentOS pipeline expect, and `install` / `uninstall` of the
//! manifest in `/etc/atomic.d`. See `docs` in the README and the atomic protocol notes.

use rpmdb::root::Root;
use serde_json::Value;

/// One scan type of a scanner: the manifest's `scans[].name` and its description.
#[derive(Debug, Clone, Copy)]
pub struct ScanType {
    pub name: &'static str,
    pub description: &'static str,
}

/// A finding that `atomic scan` prints under "The following issues were found" and counts as
/// vulnerable.
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability {
    pub title: String,
    /// Critical, Important, Moderate or Low.
    pub severity: String,
    pub custom: Value,
}

/// What a scanner found in one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The seed's `"Scan Type"` value, e.g. "Image Scan".
    pub scan_type_label: String,
    /// The seed's `"Scan Results"` object.
    pub scan_results: Value,
    /// One sentence: what was found, or that nothing was.
    pub summary: String,
    /// `"CVE Feed Last Updated"`: "NA" when the scanner uses no feed.
    pub cve_feed_last_updated: String,
    /// Atomic's `Vulnerabilities` list (printed as issues, counted as vulnerable).
    pub vulnerabilities: Vec<Vulnerability>,
    /// Atomic's `Results` list of `{Custom}` objects, printed when there are no vulnerabilities.
    pub results: Vec<Value>,
    /// Atomic's `Custom` tree printed in the summary.
    pub custom: Option<Value>,
    /// Whether anything was found (for `--fail-on-findings`).
    pub has_findings: bool,
}

/// Why a subject could not be scanned; becomes `"Successful": "false"` with this message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanFailure(pub String);

impl std::fmt::Display for ScanFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A scanner binary's judgement of one root filesystem.
pub trait Scanner: Sync {
    /// The scanner's own flags (beyond the shared ones), e.g. `--cache-dir`.
    type Options: clap::Args + Sync + Send;

    /// `"Scanner"` value, e.g. `scanner-rpm-verify`.
    fn name(&self) -> &'static str;
    /// The atomic `scanner_name`, e.g. `rpm-verify`.
    fn atomic_name(&self) -> &'static str;
    fn scan_types(&self) -> &'static [ScanType];
    fn default_scan(&self) -> &'static str;
    /// The manifest text (atomic-config/<scanner_name>), embedded in the binary.
    fn manifest(&self) -> &'static str;
    /// Judge one root.
    fn scan(&self, root: &Root, scan_type: &str, options: &Self::Options) -> Result<Outcome, ScanFailure>;
}
