//! The security-advisories scanner: which advisories (RHSA, ALSA, RLSA, FEDORA, openSUSE…)
//! apply to the RPM packages installed in an image, with their CVEs and severity.
//!
//! The data flows through the modules in this order:
//! [`installed`] (the image's packages, newest per `name.arch`) and [`modules`] (its active
//! module streams) → the judgement of each feed: [`updateinfo_feed`] streams an `updateinfo`
//! through [`applicability`] (dnf's `updateinfo list` rule), [`oval`] evaluates Red Hat OVAL v2
//! definitions, [`csaf`] judges Red Hat's CSAF VEX documents (fixed and unfixed CVEs) →
//! [`finding`] (the advisories, or VEX's CVEs, that apply) → [`author_vex`] (the image
//! author's `--vex` statements suppress what they declare not affected) → [`report`] (atomic's
//! `Vulnerabilities`, `Scan Results`, `Summary`, `CVE Feed Last Updated`).
//!
//! Feeds: `--updateinfo FILE` (any compression), `--oval FILE`, `--csaf-vex SOURCE` (with
//! `--repository-to-cpe FILE`, `--ignore-unfixed`), `--repo ID=URL`, and when no
//! feed is given the `updateinfo` of the repositories the image configures (see [`repos`];
//! with `--cache-dir`, downloads and their parsed form are kept, see [`feed_cache`]). Feeds are
//! decompressed in a thread of their own ([`read_ahead`]). A subject without any feed is a
//! failure, never a clean bill of health; a feed for another release is a named warning
//! ([`release`]). `--vex FILE` is no feed: it only takes findings away.
//!
//! ```no_run
//! use atomic_protocol::Scanner;
//! use security_advisories::{Options, SecurityAdvisories};
//! let root = rpmdb::root::Root::new("/mnt/image").unwrap();
//! let mut options = Options::default();
//! options.advisory.updateinfo = vec!["updateinfo.xml.gz".into()];
//! let outcome = SecurityAdvisories.scan(&root, "security", &options).unwrap();
//! for v in &outcome.vulnerabilities {
//!     println!("{} [{}]", v.title, v.severity);
//! }
//! ```

pub mod applicability;
pub mod author_vex;
pub mod csaf;
pub mod feed_cache;
pub mod finding;
pub mod installed;
pub mod modules;
pub mod oval;
pub mod read_ahead;
pub mod release;
pub mod report;
pub mod repos;
pub mod updateinfo_feed;

use atomic_protocol::{Outcome, ScanFailure, ScanType, Scanner};
use finding::{Finding, ScanWarning, Selection};
use installed::InstalledIndex;
use modules::{ModuleActivity, ModuleStates};
use repodata::config::{ImageConfig, SystemFacts};
use repodata::updateinfo::Severity;
use report::{Report, SourceReport};
use rootfs::osrelease::OsRelease;
use rpmdb::root::Root;
use std::collections::BTreeMap;
use std::path::PathBuf;
use updateinfo_feed::Judge;

/// The scan types of the manifest (`atomic-config/security-advisories`).
pub const SCAN_TYPES: &[ScanType] = &[
    ScanType {
        name: "security",
        description: "Security advisories (CVEs) that apply to the installed packages",
        label: "Security advisories (CVEs) that apply to the installed packages",
    },
    ScanType {
        name: "all",
        description: "All advisories (security, bugfix, enhancement) that apply to the installed packages",
        label: "All advisories (security, bugfix, enhancement) that apply to the installed packages",
    },
];

/// `--min-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum MinSeverity {
    Low,
    Moderate,
    Important,
    Critical,
}

impl MinSeverity {
    pub fn severity(self) -> Severity {
        match self {
            MinSeverity::Low => Severity::Low,
            MinSeverity::Moderate => Severity::Moderate,
            MinSeverity::Important => Severity::Important,
            MinSeverity::Critical => Severity::Critical,
        }
    }
}

/// The flags of the advisory judgement itself: its feeds, what it reports, the author's VEX.
/// security-advisories and image-scan's advisory check both take exactly these (image-scan
/// under its "Advisory check" heading), so each flag is declared once.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AdvisoryArgs {
    /// Read advisories from this updateinfo file (any compression) instead of the image's
    /// repositories; repeatable.
    #[arg(long, value_name = "FILE")]
    pub updateinfo: Vec<PathBuf>,

    /// Evaluate this Red Hat OVAL v2 definitions file (any compression); repeatable.
    #[arg(long, value_name = "FILE")]
    pub oval: Vec<PathBuf>,

    /// Evaluate OVAL exactly as written even on a rebuild of RHEL (CentOS, Rocky, Alma…),
    /// where Red Hat's release and signature checks cannot hold.
    #[arg(long)]
    pub oval_strict: bool,

    /// Judge the image against Red Hat's CSAF VEX documents in SOURCE: a VEX file, a
    /// directory searched recursively for `*.json`, the whole-feed archive
    /// (csaf_vex_DATE.tar.zst), or the feed's base URL (https://…/csaf/v2/vex/, synced
    /// incrementally into --cache-dir); repeatable. Enough on its own.
    #[arg(long = "csaf-vex", value_name = "SOURCE")]
    pub csaf_vex: Vec<PathBuf>,

    /// Red Hat's repository-to-cpe.json, to map the image's content sets to the products of
    /// CSAF VEX documents (without it, the products the image's os-release implies).
    #[arg(long, value_name = "FILE")]
    pub repository_to_cpe: Option<PathBuf>,

    /// CSAF VEX: report only CVEs with a released fix (leave out affected, fix deferred,
    /// will not fix, out of support scope, under investigation).
    #[arg(long)]
    pub ignore_unfixed: bool,

    /// Report only advisories of this severity or higher (an advisory of unknown severity is
    /// still reported).
    #[arg(long, value_enum, ignore_case = true, value_name = "SEVERITY")]
    pub min_severity: Option<MinSeverity>,

    /// The image author's VEX statements (OpenVEX or CSAF VEX); repeatable. Their
    /// `not_affected` / `known_not_affected` statements suppress the findings they match.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
}

/// The scanner's options: the judgement's flags, the repository flags every repository scanner
/// shares, and the run's feed syncs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    #[command(flatten)]
    pub advisory: AdvisoryArgs,

    /// The syncs of `--csaf-vex` feed URLs, one per URL for the whole run (not a flag).
    #[arg(skip)]
    pub csaf_feeds: csaf::feed::Syncs,

    #[command(flatten)]
    pub repos: repos::RepoOptions,
}

/// The scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityAdvisories;

impl Scanner for SecurityAdvisories {
    type Options = Options;

    fn name(&self) -> &'static str {
        "security-advisories"
    }

    fn atomic_name(&self) -> &'static str {
        "security-advisories"
    }

    fn scan_types(&self) -> &'static [ScanType] {
        SCAN_TYPES
    }

    fn default_scan(&self) -> &'static str {
        "security"
    }

    fn manifest(&self) -> &'static str {
        include_str!("../../../atomic-config/security-advisories")
    }

    fn scan(&self, root: &Root, scan_type: &str, options: &Options) -> Result<Outcome, ScanFailure> {
        scan(root, scan_type, options)
    }
}

/// Judge one root (see the crate documentation).
pub fn scan(root: &Root, scan_type: &str, options: &Options) -> Result<Outcome, ScanFailure> {
    if !SCAN_TYPES.iter().any(|t| t.name == scan_type) {
        return Err(ScanFailure(format!("unknown scan type {scan_type:?}")));
    }
    let installed = InstalledIndex::read(root).map_err(ScanFailure)?;
    let os = OsRelease::read(root);
    let selection = Selection {
        all_types: scan_type == "all",
        min_severity: options.advisory.min_severity.map(MinSeverity::severity),
    };
    let mut warnings: Vec<ScanWarning> = installed
        .errors
        .iter()
        .map(|e| ScanWarning::new("package-error", Some(&installed.database), e.clone()))
        .collect();
    let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
    let mut sources: Vec<SourceReport> = Vec::new();
    let mut active_modules = Vec::new();

    // The machine arch and $releasever as every scanner takes them (repodata's one rule).
    let facts = SystemFacts::from_installed(
        installed.iter().map(|p| p.arch.as_str()),
        installed.releasever.clone(),
        std::env::consts::ARCH,
    );
    let config = ImageConfig::read(root, &facts);
    let states = ModuleStates::from_config(&config.modules);

    // updateinfo: the files given (--updateinfo), the repositories given (--repo), and the
    // image's own repositories when no feed at all was given.
    if !options.advisory.updateinfo.is_empty() {
        let activity = ModuleActivity {
            states: states.clone(),
            available: None,
        };
        if !activity.states.enabled().is_empty() {
            warnings.push(ScanWarning::new(
                "module-metadata-absent",
                None,
                "no repository modules metadata with --updateinfo: module advisories apply when modules.d enables \
                 their stream, whatever their context",
            ));
        }
        let judge = Judge {
            installed: &installed,
            modules: &activity,
            selection,
        };
        for path in &options.advisory.updateinfo {
            let s = judge.file(&path.display().to_string(), path, false, &mut findings, &mut warnings);
            release::check_updateinfo(&s, os.as_ref(), &mut warnings);
            sources.push(SourceReport {
                format: "updateinfo",
                source: s.source,
                entries: s.advisories,
                newest: s.newest,
                error: s.error,
                feed: None,
            });
        }
    }
    let feeds_given = !options.advisory.updateinfo.is_empty()
        || !options.advisory.oval.is_empty()
        || !options.advisory.csaf_vex.is_empty();
    if !options.repos.repos.is_empty() || !feeds_given {
        match repos::judge_repositories(
            root,
            &config,
            &installed,
            &states,
            selection,
            &options.repos,
            os.as_ref(),
        ) {
            Ok(found) => {
                warnings.extend(found.warnings);
                active_modules = found.active_modules;
                for (id, f) in found.findings {
                    match findings.get_mut(&id) {
                        Some(existing) => existing.merge(f),
                        None => {
                            findings.insert(id, f);
                        }
                    }
                }
                sources.extend(found.sources);
            }
            // Other feeds were given: the repositories' lack of data is a warning.
            Err(e) if feeds_given => warnings.push(ScanWarning::new("no-repository-data", None, e.0)),
            Err(e) => return Err(e),
        }
    }

    let mut undecided = Vec::new();
    for path in &options.advisory.oval {
        let r = oval::judge_file(
            root,
            path,
            &installed,
            &states,
            selection,
            options.advisory.oval_strict,
            os.as_ref(),
        );
        warnings.extend(r.warnings);
        undecided.extend(r.undecided);
        for f in r.findings {
            match findings.get_mut(&f.id) {
                Some(existing) => existing.merge(f),
                None => {
                    findings.insert(f.id.clone(), f);
                }
            }
        }
        sources.push(r.source);
    }

    let mut csaf_products = None;
    if !options.advisory.csaf_vex.is_empty() {
        let r = csaf::judge_sources(
            root,
            &options.advisory.csaf_vex,
            options.advisory.repository_to_cpe.as_deref(),
            &installed,
            os.as_ref(),
            selection,
            options.advisory.ignore_unfixed,
            csaf::FeedAccess {
                syncs: &options.csaf_feeds,
                cache_dir: options.repos.cache_dir.as_deref(),
                fetch: &options.repos.fetch_options(),
            },
        );
        warnings.extend(r.warnings);
        for f in r.findings {
            // The fix an updateinfo or OVAL advisory already lists: one finding, both sources.
            if csaf::agrees_with_advisories(&f, &mut findings) {
                continue;
            }
            match findings.get_mut(&f.id) {
                Some(existing) => existing.merge(f),
                None => {
                    findings.insert(f.id.clone(), f);
                }
            }
        }
        sources.extend(r.sources);
        csaf_products = r.products;
    }

    if sources.is_empty() {
        return Err(ScanFailure(
            "no advisory data: the image configures no enabled repository and none of --updateinfo, --oval, \
             --csaf-vex was given; an image without advisory data is not known to be free of vulnerabilities"
                .to_string(),
        ));
    }
    if sources.iter().all(|s| s.error.is_some()) {
        let errors: Vec<String> = sources.iter().filter_map(|s| s.error.clone()).collect();
        return Err(ScanFailure(format!(
            "no advisory feed could be read: {}",
            errors.join("; ")
        )));
    }

    let mut findings: Vec<Finding> = findings.into_values().collect();
    // The image author's word last: it suppresses what the feeds found, whichever feed.
    let author_vex = (!options.advisory.vex.is_empty()).then(|| {
        let statements = author_vex::read_files(&options.advisory.vex, &mut warnings);
        author_vex::apply(statements, &mut findings, &installed)
    });
    report::sort_findings(&mut findings);
    let report = Report {
        scan_type: scan_type.to_string(),
        os_release: os
            .as_ref()
            .map(|o| o.display_name())
            .unwrap_or_else(|| "unknown".to_string()),
        installed_packages: installed.count,
        findings,
        sources,
        warnings,
        undecided,
        min_severity: options.advisory.min_severity.map(|m| m.severity().to_string()),
        active_modules,
        csaf_products,
        author_vex,
        install_layers: match (rpmdb::layers::InstallLayers::of(root), root.image()) {
            (Some(layers), Some(tree)) => installed
                .packages()
                .filter_map(|p| {
                    let index = layers.layer_of_parts(&p.name, &p.evr, &p.arch)?;
                    Some((p.nevra(), atomic_protocol::image::layer_object(tree, index)))
                })
                .collect(),
            _ => Default::default(),
        },
    };
    Ok(report.into_outcome())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_and_manifest_agree() {
        atomic_protocol::cli::command(&SecurityAdvisories).debug_assert();
        let manifest = SecurityAdvisories.manifest();
        assert!(manifest.contains("scanner_name: security-advisories\n"));
        assert!(manifest.contains("default_scan: security\n"));
        for t in SCAN_TYPES {
            assert!(manifest.contains(&format!("  - name: {}\n", t.name)), "{}", t.name);
            assert!(manifest.contains(&format!("args: [\"--scan-type\", \"{}\"]", t.name)));
            assert!(manifest.contains(&format!("description: \"{}\"", t.description)));
        }
    }
}
