//! EL8+ modularity, as libdnf filters packages (`setModuleExcludes`): which module streams are
//! active (enabled in `etc/dnf/modules.d`, else the default stream, when their requirements —
//! the platform from os-release's `PLATFORM_ID`, other modules — can be met), and from that
//! which packages of non-`module_hotfixes` repositories are hidden:
//! - packages that are artifacts of inactive streams;
//! - packages whose name (or a provide) is the name of an active stream's artifact, unless
//!   they are themselves an artifact of an active stream (the non-modular `nodejs` is hidden
//!   while the `nodejs:14` stream is active).
//!
//! Deviation: libdnf runs a solver over module dependencies; here a required module is met
//! when one of its streams that is enabled, default, or not disabled matches.

use repodata::config::ModuleState;
use repodata::modules::{split_nevra, ModuleDefaults, ModuleStream};
use std::collections::{BTreeMap, HashMap, HashSet};

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
    /// Work out the active streams from every repository's module metadata and the image's
    /// module states.
    pub fn new(
        streams: &[&ModuleStream],
        defaults: &[&ModuleDefaults],
        states: &BTreeMap<String, ModuleState>,
        platform_id: Option<&str>,
    ) -> ModuleFilter {
        let mut filter = ModuleFilter::default();
        if streams.is_empty() {
            return filter;
        }
        let default_stream: HashMap<&str, &str> = defaults
            .iter()
            .filter_map(|d| Some((d.module.as_str(), d.stream.as_deref()?)))
            .collect();
        // The stream each module would use: enabled, else default (unless disabled).
        let chosen = |module: &str| -> Option<String> {
            match states.get(module) {
                Some(s) if s.state == "disabled" => None,
                Some(s) if s.state == "enabled" => s.stream.clone(),
                _ => default_stream.get(module).map(|s| s.to_string()),
            }
        };
        let platform = platform_id
            .and_then(|p| p.strip_prefix("platform:"))
            .map(str::to_string);
        let stream_ok = |wanted: &[String], have: &str| -> bool {
            if wanted.is_empty() {
                return true;
            }
            let negated: Vec<&str> = wanted.iter().filter_map(|w| w.strip_prefix('-')).collect();
            if !negated.is_empty() && negated.len() == wanted.len() {
                return !negated.contains(&have);
            }
            wanted.iter().any(|w| w == have)
        };
        let requirement_met = |module: &str, wanted: &[String]| -> bool {
            if module == "platform" {
                return platform.as_deref().is_some_and(|p| stream_ok(wanted, p));
            }
            match chosen(module) {
                Some(s) => stream_ok(wanted, &s),
                None => {
                    states.get(module).is_none_or(|s| s.state != "disabled")
                        && streams.iter().any(|m| m.name == module && stream_ok(wanted, &m.stream))
                }
            }
        };
        let satisfiable = |m: &ModuleStream| -> bool {
            m.requires.is_empty()
                || m.requires
                    .iter()
                    .any(|set| set.iter().all(|(module, wanted)| requirement_met(module, wanted)))
        };

        // Per module name and chosen stream: the context of the newest satisfiable version.
        let mut active_ids: HashSet<(String, String, String)> = HashSet::new();
        let mut by_stream: BTreeMap<(String, String), Vec<&ModuleStream>> = BTreeMap::new();
        for m in streams {
            by_stream.entry((m.name.clone(), m.stream.clone())).or_default().push(m);
        }
        for ((name, stream), docs) in &by_stream {
            if chosen(name).as_deref() != Some(stream.as_str()) {
                continue;
            }
            if let Some(best) = docs.iter().filter(|m| satisfiable(m)).max_by_key(|m| m.version) {
                active_ids.insert((name.clone(), stream.clone(), best.context.clone()));
                filter.active.push(format!("{name}:{stream}"));
            }
        }

        let mut demodularized: HashSet<&str> = HashSet::new();
        for m in streams {
            let active = active_ids.contains(&(m.name.clone(), m.stream.clone(), m.context.clone()));
            if active {
                demodularized.extend(m.demodularized.iter().map(String::as_str));
            }
        }
        for m in streams {
            let active = active_ids.contains(&(m.name.clone(), m.stream.clone(), m.context.clone()));
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
        let mut states = BTreeMap::new();
        states.insert(
            "nodejs".into(),
            ModuleState {
                name: "nodejs".into(),
                stream: Some("14".into()),
                state: "enabled".into(),
            },
        );
        let f = ModuleFilter::new(&[&s14, &s16], &[], &states, Some("platform:el8"));
        assert_eq!(f.active, vec!["nodejs:14"]);
        assert!(!f.hides("nodejs", 1, "14.0", "1.module", "x86_64", &[]));
        assert!(f.hides("nodejs", 1, "16.0", "1.module", "x86_64", &[]));
        assert!(f.hides("nodejs", 0, "18.0", "1.el8", "x86_64", &[]));
        assert!(!f.hides("bash", 0, "5", "1", "x86_64", &[]));
        // Without the platform the stream cannot be active: all its artifacts are hidden.
        let f = ModuleFilter::new(&[&s14, &s16], &[], &states, Some("platform:el9"));
        assert!(f.active.is_empty());
        assert!(f.hides("nodejs", 1, "14.0", "1.module", "x86_64", &[]));
        assert!(!f.hides("nodejs", 0, "18.0", "1.el8", "x86_64", &[]));
    }
}
