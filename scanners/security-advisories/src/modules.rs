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

use rpmdb::root::Root;
use std::collections::{HashMap, HashSet};
use std::path::Path;

const MODULES_D: &str = "/etc/dnf/modules.d";
const MAX_MODULE_FILE: u64 = 1024 * 1024;
const MAX_MODULE_FILES: usize = 10_000;

/// A module's state in `modules.d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleState {
    /// `state=enabled` (or dnf 2's `installed`) with this stream.
    Enabled(String),
    Disabled,
}

/// The image's `etc/dnf/modules.d`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleStates {
    pub states: HashMap<String, ModuleState>,
    /// Files that could not be read or understood.
    pub problems: Vec<String>,
}

impl ModuleStates {
    /// Read `etc/dnf/modules.d/*.module`; an image without the folder has no module state.
    pub fn read(root: &Root) -> ModuleStates {
        let mut out = ModuleStates::default();
        let names = match root.read_dir_names(Path::new(MODULES_D)) {
            Ok(n) => n,
            Err(e) if e.is_not_found() => return out,
            Err(e) => {
                out.problems.push(e.to_string());
                return out;
            }
        };
        let mut names: Vec<String> = names
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".module"))
            .collect();
        names.sort();
        names.truncate(MAX_MODULE_FILES);
        for n in names {
            let path = Path::new(MODULES_D).join(&n);
            match root.read_bounded(&path, MAX_MODULE_FILE) {
                Ok(bytes) => out.parse_file(&String::from_utf8_lossy(&bytes)),
                Err(e) => out.problems.push(e.to_string()),
            }
        }
        out
    }

    /// One `.module` file: INI sections `[name]` with `stream=` and `state=`.
    pub fn parse_file(&mut self, text: &str) {
        let mut section: Option<String> = None;
        let mut name: Option<String> = None;
        let mut stream = String::new();
        let mut state = String::new();
        let mut finish = |section: &Option<String>, name: &Option<String>, stream: &str, state: &str| {
            let Some(n) = name.clone().or_else(|| section.clone()) else {
                return;
            };
            match state {
                "enabled" | "installed" if !stream.is_empty() => {
                    self.states.insert(n, ModuleState::Enabled(stream.to_string()));
                }
                "disabled" => {
                    self.states.insert(n, ModuleState::Disabled);
                }
                _ => {
                    self.states.remove(&n);
                }
            }
        };
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                if section.is_some() {
                    finish(&section, &name, &stream, &state);
                }
                section = Some(s.trim().to_string());
                name = None;
                stream.clear();
                state.clear();
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim();
                match k.trim() {
                    "name" => name = Some(v.to_string()),
                    "stream" => stream = v.to_string(),
                    "state" => state = v.to_ascii_lowercase(),
                    _ => {}
                }
            }
        }
        if section.is_some() {
            finish(&section, &name, &stream, &state);
        }
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

    #[test]
    fn reads_dnf_module_files() {
        let mut m = ModuleStates::default();
        m.parse_file("[nodejs]\nname=nodejs\nstream=10\nprofiles=\nstate=enabled\n");
        m.parse_file("[perl]\nname=perl\nstream=\nprofiles=\nstate=disabled\n");
        m.parse_file("[ruby]\nname=ruby\nstream=2.6\nprofiles=\nstate=\n");
        assert_eq!(m.states.get("nodejs"), Some(&ModuleState::Enabled("10".into())));
        assert_eq!(m.states.get("perl"), Some(&ModuleState::Disabled));
        assert_eq!(m.states.get("ruby"), None);
        assert_eq!(m.enabled(), ["nodejs:10"]);
    }

    #[test]
    fn activity_with_and_without_repository_modules() {
        let mut states = ModuleStates::default();
        states.parse_file("[ruby]\nname=ruby\nstream=2.6\nstate=enabled\n");
        states.parse_file("[perl]\nname=perl\nstream=\nstate=disabled\n");
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
