//! What EL8+ modularity hides from `dnf check-update`, as libdnf filters packages
//! (`setModuleExcludes`, over `collectNevraForInclusionExclusion`). Which streams are active
//! is decided once for every scanner by [`repodata::modularity`] (state, defaults, platform
//! and module requirements); this module keeps only the judgement on packages: of
//! repositories without `module_hotfixes`,
//! - packages that are artifacts of inactive streams are hidden;
//! - packages whose name (or a provide) is the name of an active stream's artifact are
//!   hidden, unless they are themselves an artifact of an active stream (the non-modular
//!   `nodejs` is hidden while the `nodejs:14` stream is active); `src`/`nosrc` artifacts and
//!   names an active stream `demodularized` name nothing.

use repodata::modularity::Modularity;
use repodata::modules::{split_nevra, ModuleStream};
use std::collections::HashSet;

/// A package identity as module artifacts name it.
type Nevra = (String, u32, String, String, String);

/// The packages modularity hides.
#[derive(Debug, Clone, Default)]
pub struct ModuleFilter {
    include: HashSet<Nevra>,
    exclude: HashSet<Nevra>,
    active_names: HashSet<String>,
    /// `name:stream` of the active streams, for the report.
    pub active: Vec<String>,
}

impl ModuleFilter {
    /// The artifacts of every repository's module streams, sorted by whether their stream is
    /// active.
    pub fn new(streams: &[&ModuleStream], modularity: &Modularity) -> ModuleFilter {
        let mut filter = ModuleFilter::default();
        if streams.is_empty() {
            return filter;
        }
        filter.active = modularity.active_streams.clone();
        let mut demodularized: HashSet<&str> = HashSet::new();
        for m in streams {
            if modularity.stream_is_active(m) {
                demodularized.extend(m.demodularized.iter().map(String::as_str));
            }
        }
        for m in streams {
            let active = modularity.stream_is_active(m);
            for a in &m.artifacts {
                let Some((n, e, v, r, arch)) = split_nevra(a) else {
                    continue;
                };
                let nevra = (n.to_string(), e, v.to_string(), r.to_string(), arch.to_string());
                if active {
                    if arch != "src" && arch != "nosrc" && !demodularized.contains(n) {
                        filter.active_names.insert(n.to_string());
                    }
                    filter.include.insert(nevra);
                } else {
                    filter.exclude.insert(nevra);
                }
            }
        }
        filter
    }

    /// Whether modularity hides this package (of a repository without `module_hotfixes`).
    pub fn hides(&self, name: &str, epoch: u32, version: &str, release: &str, arch: &str, provides: &[String]) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return false;
        }
        let nevra = (
            name.to_string(),
            epoch,
            version.to_string(),
            release.to_string(),
            arch.to_string(),
        );
        if self.include.contains(&nevra) {
            return false;
        }
        self.exclude.contains(&nevra)
            || self.active_names.contains(name)
            || provides.iter().any(|p| self.active_names.contains(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repodata::modularity::ModuleStates;
    use std::collections::BTreeMap;

    fn stream(name: &str, s: &str, version: u64, artifacts: &[&str], platform: &str) -> ModuleStream {
        ModuleStream {
            name: name.into(),
            stream: s.into(),
            version,
            context: "c".into(),
            arch: "x86_64".into(),
            artifacts: artifacts.iter().map(|a| a.to_string()).collect(),
            requires: vec![vec![("platform".into(), vec![platform.into()])]],
            demodularized: vec![],
        }
    }

    #[test]
    fn enabled_stream_hides_other_streams_and_non_modular_packages() {
        let s14 = stream("nodejs", "14", 1, &["nodejs-1:14.0-1.module.x86_64"], "el8");
        let s16 = stream("nodejs", "16", 1, &["nodejs-1:16.0-1.module.x86_64"], "el8");
        let mut states = ModuleStates::default();
        states.enable("nodejs", "14");
        let resolve =
            |platform: &str| Modularity::resolve(&[&s14, &s16], BTreeMap::new(), states.clone(), Some(platform));
        let f = ModuleFilter::new(&[&s14, &s16], &resolve("platform:el8"));
        assert_eq!(f.active, vec!["nodejs:14"]);
        assert!(!f.hides("nodejs", 1, "14.0", "1.module", "x86_64", &[]));
        assert!(f.hides("nodejs", 1, "16.0", "1.module", "x86_64", &[]));
        assert!(f.hides("nodejs", 0, "18.0", "1.el8", "x86_64", &[]));
        assert!(!f.hides("bash", 0, "5", "1", "x86_64", &[]));
        // Without the platform the stream cannot be active: all its artifacts are hidden.
        let f = ModuleFilter::new(&[&s14, &s16], &resolve("platform:el9"));
        assert!(f.active.is_empty());
        assert!(f.hides("nodejs", 1, "14.0", "1.module", "x86_64", &[]));
        assert!(!f.hides("nodejs", 0, "18.0", "1.el8", "x86_64", &[]));
    }
}
