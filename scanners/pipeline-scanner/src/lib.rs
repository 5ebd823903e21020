//! `pipeline-scanner`: which installed RPM packages of an image have newer versions in the
//! repositories the image itself is configured with — what `dnf check-update` inside the image
//! would say — without running the image, without yum or dnf.
//!
//! The modules follow the data: [`image`] (installed packages, os-release, machine arch and
//! `$releasever`) → the image's configuration (`repodata::config`) → [`repos`] (mirrors,
//! repomd, primary and modules through the cache) → [`modularity`] and [`pkgspec`] (what dnf
//! hides) → [`decide`] (updates and obsoletes, as libdnf decides them) → [`report`] (the seed's
//! result document). dnf's image-side rules — which arches a machine runs and the machine
//! arch of an image ([`arch`], re-exported from `repodata`), which module streams are active
//! (`repodata::modularity`) — are shared with the other scanners; this crate keeps only its
//! own judgement on top.
//!
//! ```no_run
//! use atomic_protocol::Scanner;
//! let scanner = pipeline_scanner::PipelineScanner::default();
//! let root = rpmdb::root::Root::new("/mnt/image").unwrap();
//! let options = pipeline_scanner::Options::default();
//! let outcome = scanner.scan(&root, "yum-update", &options).unwrap();
//! println!("{}", outcome.summary);
//! ```

pub mod decide;
pub mod image;
pub mod modularity;
pub mod pkgspec;
pub mod report;
pub mod repos;

pub use repodata::arch;

use atomic_protocol::{ExtraFile, Outcome, ResultDocument, ScanFailure, ScanType, Scanner};
use repodata::cache::Cache;
use repodata::config::ImageConfig;
use rpmdb::root::Root;
use std::collections::HashSet;

use std::sync::{Arc, OnceLock};

/// The scanner's flags: the repository flags every repository scanner shares
/// ([`repodata::cli::RepoArgs`]); the judgement itself has none.
pub type Options = repodata::cli::RepoArgs;

pub const SCAN_TYPES: &[ScanType] = &[ScanType {
    name: "yum-update",
    description: "Checks and reports required package updates for container image.",
    label: report::SCAN_TYPE_LABEL,
}];

/// The scanner; one value serves every subject of a run (they share the metadata cache).
#[derive(Default)]
pub struct PipelineScanner {
    cache: OnceLock<Result<Arc<Cache>, String>>,
}

impl PipelineScanner {
    fn cache(&self, options: &Options) -> Result<Arc<Cache>, ScanFailure> {
        self.cache
            .get_or_init(|| {
                let c = match &options.cache_dir {
                    Some(dir) => Cache::open(dir).map_err(|e| format!("--cache-dir {}: {e}", dir.display())),
                    None => Cache::temporary().map_err(|e| format!("cannot create a temporary metadata cache: {e}")),
                };
                c.map(Arc::new)
            })
            .clone()
            .map_err(ScanFailure)
    }
}

impl Scanner for PipelineScanner {
    type Options = Options;

    fn name(&self) -> &'static str {
        "pipeline-scanner"
    }
    fn atomic_name(&self) -> &'static str {
        "pipeline-scanner"
    }
    fn scan_types(&self) -> &'static [ScanType] {
        SCAN_TYPES
    }
    fn default_scan(&self) -> &'static str {
        "yum-update"
    }
    fn manifest(&self) -> &'static str {
        include_str!("../../../atomic-config/pipeline-scanner")
    }

    fn scan(&self, root: &Root, _scan_type: &str, options: &Options) -> Result<Outcome, ScanFailure> {
        let image = image::Image::read(root, std::env::consts::ARCH).map_err(|e| ScanFailure(e.0))?;
        let config = ImageConfig::read(root, &image.facts);
        // The image's repositories and --repo, as every scanner reads them (repodata).
        let sources =
            repodata::source::repositories(&config, &options.repos, options.no_image_repos).map_err(ScanFailure)?;

        let cache = self.cache(options)?;
        let names: HashSet<String> = image.installed.iter().map(|i| i.name.clone()).collect();
        let loaded = repos::load(
            &sources,
            root,
            &cache,
            &options.fetch_options(),
            &config.variables,
            options.trust(),
            &repos::Interest { names: &names },
        );
        // No repository to look in, or none could be read (refused, unreachable, broken):
        // nothing was checked, which must not read as "no updates".
        if loaded.repos.is_empty() {
            let mut why = "no package was checked for updates: the image has no enabled repository to look in (or \
                           --no-image-repos was given) and no --repo was given"
                .to_string();
            if !config.problems.is_empty() {
                why.push_str(&format!(
                    "; its configuration could not all be read: {}",
                    config.problems.join("; ")
                ));
            }
            return Err(ScanFailure(why));
        }
        if !loaded.repos.is_empty() && loaded.repos.iter().all(|r| r.error.is_some()) {
            let errors: Vec<String> = loaded
                .repos
                .iter()
                .map(|r| format!("repository {}: {}", r.id, r.error.as_deref().unwrap_or_default()))
                .collect();
            return Err(ScanFailure(format!(
                "no repository could be read, so no package was checked for updates: {}",
                errors.join("; ")
            )));
        }

        let modularity = repodata::modularity::Modularity::from_image(
            &config,
            loaded.repos.iter().filter_map(|r| r.modules.as_ref()),
        );
        let streams: Vec<_> = loaded
            .repos
            .iter()
            .filter_map(|r| r.modules.as_ref())
            .flat_map(|m| &m.streams)
            .collect();
        let modules = modularity::ModuleFilter::new(&streams, &modularity);
        let exclude = pkgspec::Specs(config.main.exclude.clone());
        let includepkgs = pkgspec::Specs(config.main.includepkgs.clone());
        let policy = decide::Policy {
            machine: &image.facts.arch,
            exclude: &exclude,
            includepkgs: &includepkgs,
            modules: &modules,
            obsoletes: config.main.obsoletes,
        };
        let decision = decide::decide(&image.installed, &loaded.candidates, &loaded.repos, &policy);
        let install_layers = rpmdb::layers::InstallLayers::of(root);
        Ok(report::outcome(&report::Findings {
            install_layers: install_layers.as_deref().zip(root.image().map(|t| &**t)),
            image: &image,
            decision: &decision,
            repos: &loaded.repos,
            config_problems: &config.problems,
            active_modules: &modules.active,
        }))
    }

    /// The seed also wrote the result as `image_scan_results.json`.
    fn extra_files(&self, document: &ResultDocument) -> Vec<ExtraFile> {
        vec![ExtraFile {
            name: "image_scan_results.json".to_string(),
            contents: document.to_value(),
        }]
    }
}
