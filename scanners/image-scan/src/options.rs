//! The three scanners' flags, under the names each has in its own binary, and each scanner's
//! options made from them. The advisory judgement's flags are security-advisories' own
//! (`AdvisoryArgs`, shown under "Advisory check"). The repository flags both repository scanners have
//! (`repodata::cli::RepoArgs`: `--repo`, `--no-image-repos`, `--cache-dir`, timeouts,
//! tries, CAs, the network policy) are given once and go to both; one metadata cache serves
//! both, so a repository is downloaded once per run.

use repodata::cli::RepoArgs;
use std::path::Path;

/// Which checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Check {
    /// rpm-verify: packaged files modified, replaced or removed (`rpm -Va`).
    Verify,
    /// pipeline-scanner: package updates in the repositories (`dnf check-update`).
    Updates,
    /// security-advisories: advisories that apply (`dnf updateinfo list`).
    Advisories,
}

impl Check {
    pub const ALL: [Check; 3] = [Check::Verify, Check::Updates, Check::Advisories];

    /// The name used in reports and in `--checks`.
    pub fn name(self) -> &'static str {
        match self {
            Check::Verify => "verify",
            Check::Updates => "updates",
            Check::Advisories => "advisories",
        }
    }
}

/// The scans of image-scan's atomic manifest (`atomic-config/image-scan`), which atomic passes
/// as `--scan-type NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanPreset {
    /// The pipeline policy for files, security advisories only (the default).
    ImageScan,
    /// Everything: every file `rpm -Va` reports (as --all-files) and every advisory (as
    /// --all-advisories).
    ImageScanAll,
}

/// The scanners' own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ScanOptions {
    /// The scan of the atomic manifest: image-scan, or image-scan-all (= --all-files
    /// --all-advisories).
    #[arg(long, value_enum, value_name = "NAME")]
    pub scan_type: Option<ScanPreset>,

    /// The checks to run (comma-separated) [default: all three].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "CHECK,...")]
    pub checks: Vec<Check>,

    /// rpm-verify: report everything `rpm -Va` reports, configuration files included (scan
    /// type rpm-verify-all) instead of the pipeline policy (rpm-verify).
    #[arg(long)]
    pub all_files: bool,

    /// rpm-verify: threads that check files (default: every core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// rpm-verify: do not count extended POSIX ACLs as mode changes.
    #[arg(long)]
    pub ignore_acls: bool,

    /// Both repository checks: the repository flags every repository scanner has.
    #[command(flatten)]
    pub repositories: RepoArgs,

    /// Advisory check: all advisories (security, bugfix, enhancement; scan type all), not
    /// only security ones.
    #[arg(long)]
    pub all_advisories: bool,

    /// Advisory check: the advisory judgement's flags, as security-advisories takes them.
    #[command(flatten, next_help_heading = "Advisory check")]
    pub advisory: security_advisories::AdvisoryArgs,

    /// The advisory check's syncs of --csaf-vex feed URLs: one per URL for the run, shared by
    /// its subjects (not a flag).
    #[arg(skip)]
    pub csaf_feeds: security_advisories::csaf::feed::Syncs,
}

impl ScanOptions {
    /// The checks selected (all three when none is named), in report order.
    pub fn checks(&self) -> Vec<Check> {
        let mut c = if self.checks.is_empty() {
            Check::ALL.to_vec()
        } else {
            self.checks.clone()
        };
        c.sort();
        c.dedup();
        c
    }

    fn everything(&self) -> bool {
        self.scan_type == Some(ScanPreset::ImageScanAll)
    }

    pub fn verify_scan_type(&self) -> &'static str {
        if self.all_files || self.everything() {
            scanner_rpm_verify::policy::ALL_SCAN
        } else {
            scanner_rpm_verify::policy::DEFAULT_SCAN
        }
    }

    pub fn advisory_scan_type(&self) -> &'static str {
        if self.all_advisories || self.everything() {
            "all"
        } else {
            "security"
        }
    }

    pub fn verify(&self) -> scanner_rpm_verify::VerifyOptions {
        scanner_rpm_verify::VerifyOptions {
            workers: self.workers,
            ignore_acls: self.ignore_acls,
        }
    }

    /// pipeline-scanner's options, with the run's metadata cache.
    pub fn updates(&self, cache_dir: &Path) -> pipeline_scanner::Options {
        self.repositories_with(cache_dir)
    }

    /// The repository flags as both repository checks take them, with the run's metadata
    /// cache (a `--repo` directory becomes a `file://` URL in repodata's one parser).
    fn repositories_with(&self, cache_dir: &Path) -> RepoArgs {
        RepoArgs {
            cache_dir: Some(cache_dir.to_path_buf()),
            ..self.repositories.clone()
        }
    }

    /// security-advisories' options, with the run's metadata cache.
    pub fn advisories(&self, cache_dir: &Path) -> security_advisories::Options {
        security_advisories::Options {
            advisory: self.advisory.clone(),
            csaf_feeds: self.csaf_feeds.clone(),
            repos: self.repositories_with(cache_dir),
        }
    }
}
