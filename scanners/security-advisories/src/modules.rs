//! Which EL8+ module streams are active in the image, for module advisories.
//!
//! libdnf (`AdvisoryModule::isApplicable`) applies a collection that names
//! `<module name stream context>` only when the module container holds a module of that
//! name, stream and context **and** it is active. The container is built from the
//! repositories' `modules` metadata; a stream is active when the image's
//! `etc/dnf/modules.d/<name>.module` enables it, or when the module has no state there and the
//! stream is the repositories' default.
//!
//! What we know decides how close we get:
//! - with the repositories' `modules` metadata ([`AvailableModules`]) we follow libdnf: the
//!   context must exist in the repositories, default streams count;
//! - without it (a bare `--updateinfo` file) dnf would apply no module advisory at all, which
//!   hides real fixes; we apply those whose stream `modules.d` enables, whatever the context,
//!   and say so in the result.

use repodata::config;
use repodata::modules::ModulesMetadata;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A module's state in `modules.d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleState {
    /// `state=enabled` (or dnf 2's `installed`) with this stream.
    Enabled(String),
    Disabled,
}

/// The image's `etc/dnf/modules.d`, as dnf acts on it (read by [`repodata::config`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleStates {
    pub states: HashMap<String, ModuleState>,
}

impl ModuleStates {
    /// From the states the image configuration records: `enabled` (or `installed`) with a
    /// stream enables it, `disabled` disables the module, anything else leaves it to the
    /// repositories' defaults.
    pub fn from_config(modules: &BTreeMap<String, config::ModuleState>) -> ModuleStates {
        let mut out = ModuleStates::default();
        for (name, m) in modules {
            match (m.state.as_str(), &m.stream) {
                ("enabled" | "installed", Some(stream)) => {
                    out.states.insert(name.clone(), ModuleState::Enabled(stream.clone()));
                }
                ("disabled", _) => {
                    out.states.insert(name.clone(), ModuleState::Disabled);
                }
                _ => {}
            }
        }
        out
    }

    pub fn enable(&mut self, name: &str, stream: &str) {
        self.states
            .insert(name.to_string(), ModuleState::Enabled(stream.to_string()));
    }

    pub fn disable(&mut self, name: &str) {
        self.states.insert(name.to_string(), ModuleState::Disabled);
    }

    /// Streams enabled by `modules.d`, as `name:stream`.
    pub fn enabled(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .states
            .iter()
            .filter_map(|(n, s)| match s {
                ModuleState::Enabled(stream) => Some(format!("{n}:{stream}")),
                ModuleState::Disabled => None,
            })
            .collect();
        v.sort();
        v
    }
}

/// The module streams the repositories publish (`modules` metadata): which
/// `name:stream:context` exist, and each module's default stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AvailableModules {
    /// `(name, stream, context)`.
    pub streams: HashSet<(String, String, String)>,
    /// Module name → default stream.
    pub defaults: HashMap<String, String>,
}

impl AvailableModules {
    /// Add one repository's `modules` metadata (dnf's module container holds them all).
    pub fn add(&mut self, meta: &ModulesMetadata) {
        for m in &meta.streams {
            self.streams
                .insert((m.name.clone(), m.stream.clone(), m.context.clone()));
        }
        for d in &meta.defaults {
            if let Some(s) = &d.stream {
                self.defaults.entry(d.module.clone()).or_insert_with(|| s.clone());
            }
        }
    }
}

/// Decides whether a module named by an advisory collection is active.
#[derive(Debug, Clone, Default)]
pub struct ModuleActivity {
    pub states: ModuleStates,
    /// `None` when no repository metadata about modules is at hand.
    pub available: Option<AvailableModules>,
}

impl ModuleActivity {
    /// libdnf's `AdvisoryModule::isApplicable`, see the module documentation.
    pub fn is_active(&self, name: &str, stream: &str, context: Option<&str>) -> bool {
        let state = self.states.states.get(name);
        match &self.available {
            None => matches!(state, Some(ModuleState::Enabled(s)) if s == stream),
            Some(avail) => {
                let active_stream = match state {
                    Some(ModuleState::Enabled(s)) => Some(s.as_str()),
                    Some(ModuleState::Disabled) => None,
                    None => avail.defaults.get(name).map(String::as_str),
                };
                if active_stream != Some(stream) {
                    return false;
                }
                avail
                    .streams
                    .iter()
                    .any(|(n, s, c)| n == name && s == stream && context.is_none_or(|ctx| ctx == c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(name: &str, stream: Option<&str>, state: &str) -> (String, config::ModuleState) {
        (
            name.to_string(),
            config::ModuleState {
                name: name.to_string(),
                stream: stream.map(str::to_string),
                state: state.to_string(),
            },
        )
    }

    #[test]
    fn states_from_the_image_configuration() {
        let cfg: BTreeMap<String, config::ModuleState> = [
            state("nodejs", Some("10"), "enabled"),
            state("perl", None, "disabled"),
            state("ruby", Some("2.6"), ""),
        ]
        .into();
        let m = ModuleStates::from_config(&cfg);
        assert_eq!(m.states.get("nodejs"), Some(&ModuleState::Enabled("10".into())));
        assert_eq!(m.states.get("perl"), Some(&ModuleState::Disabled));
        assert_eq!(m.states.get("ruby"), None);
        assert_eq!(m.enabled(), ["nodejs:10"]);
    }

    #[test]
    fn activity_with_and_without_repository_modules() {
        let mut states = ModuleStates::default();
        states.enable("ruby", "2.6");
        states.disable("perl");
        let bare = ModuleActivity {
            states: states.clone(),
            available: None,
        };
        assert!(bare.is_active("ruby", "2.6", Some("any")));
        assert!(!bare.is_active("ruby", "2.5", None));
        assert!(!bare.is_active("nodejs", "10", None));

        let mut avail = AvailableModules::default();
        avail.streams.insert(("ruby".into(), "2.6".into(), "c1".into()));
        avail.streams.insert(("nodejs".into(), "10".into(), "c2".into()));
        avail.streams.insert(("perl".into(), "5.26".into(), "c3".into()));
        avail.defaults.insert("nodejs".into(), "10".into());
        avail.defaults.insert("perl".into(), "5.26".into());
        let full = ModuleActivity {
            states,
            available: Some(avail),
        };
        assert!(full.is_active("ruby", "2.6", Some("c1")));
        assert!(!full.is_active("ruby", "2.6", Some("c9")));
        assert!(full.is_active("nodejs", "10", Some("c2")), "default stream");
        assert!(!full.is_active("perl", "5.26", Some("c3")), "disabled");
    }
}
