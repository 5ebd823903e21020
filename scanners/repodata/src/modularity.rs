//! EL8+ modularity as dnf 4 (libdnf) decides it, once for every scanner: the module state the
//! image records, the default streams, and from both the streams that are **active**. Each
//! scanner keeps only its own judgement on top (pipeline-scanner hides packages of inactive
//! streams, security-advisories applies module collections of active ones).
//!
//! The rules, in the order libdnf applies them (`dnf_sack_filter_modules_v2`):
//! 1. **State** ([`ModuleStates`]): `etc/dnf/modules.d/<name>.module`, `state=` read by
//!    `fromString` in `ModulePackageContainer.cpp`: `enabled`, `1` or `true` enable the
//!    `stream=` written beside it; `disabled`, `0` or `false` disable the module; anything
//!    else — dnf 2's `installed` included — is `UNKNOWN`, a module with no state, left to its
//!    default stream. (`ModuleState::INSTALLED` exists in libdnf only as a filter of
//!    `dnf module list --installed`, never as a state read from disk.) An enabled module whose
//!    stream is empty matches no stream (`Impl::isEnabled` compares the stream).
//! 2. **Defaults** ([`default_streams`]): `readModuleMetadataFromRepo` adds every
//!    repository's `modulemd-defaults` at priority 0, `addDefaultsFromDisk` every file of the
//!    image's `etc/dnf/modules.defaults.d` at priority 1000, and `moduleDefaultsResolve` lets
//!    libmodulemd's index merger resolve them: within one priority two documents naming
//!    different streams resolve to the later `modified`, or to no default when equal
//!    (`modulemd_defaults_v1_merge`, not strict); a higher priority replaces a module's
//!    defaults whole (`modulemd_module_index_merge` with override) — the image wins, even a
//!    document of the image that names no stream.
//! 3. **Active streams** ([`Modularity::resolve`]): `resolveActiveModulePackages` takes the
//!    enabled stream of each module that is not disabled, else its default stream (when the
//!    module has no enabled state), and `moduleSolve` installs `module(name:stream)` in a
//!    module solver with the platform pseudo-module (`PLATFORM_ID` of os-release, or
//!    `module_platform_id`): a stream whose requirements (`platform:`, other modules) cannot
//!    be met is not active; of the others, the newest version is (`DNF_FORCE_BEST`), one
//!    context. `isModuleActive` then answers per `name:stream:version:context`.
//!
//! Deviation: libdnf runs a SAT solver over module dependencies; here a required module is
//! met when its enabled or default stream matches, or — for a module with neither — when some
//! stream the repositories publish matches and the module is not disabled.

use crate::config::{self, ImageConfig};
use crate::modules::{ModuleDefaults, ModuleStream, ModulesMetadata};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A module's state in `modules.d`, as libdnf acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleState {
    /// `state=enabled` (or `1`, `true`) with this stream (possibly empty: then no stream of
    /// the module is enabled, and its default is not used either).
    Enabled(String),
    /// `state=disabled` (or `0`, `false`): no stream of the module is active.
    Disabled,
}

impl ModuleState {
    /// libdnf's `fromString`: `None` for `UNKNOWN` (no state: the default stream applies),
    /// which is what dnf 2's `installed`, an empty or a missing `state=` are.
    pub fn parse(state: &str, stream: Option<&str>) -> Option<ModuleState> {
        match state.trim() {
            "1" | "true" | "enabled" => Some(ModuleState::Enabled(stream.unwrap_or("").trim().to_string())),
            "0" | "false" | "disabled" => Some(ModuleState::Disabled),
            _ => None,
        }
    }
}

/// The image's `etc/dnf/modules.d` (read by [`crate::config`]), typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleStates {
    /// Module name → its state; a module without one is absent.
    pub states: HashMap<String, ModuleState>,
}

impl ModuleStates {
    /// From the states the image configuration records (see [`ModuleState::parse`]).
    pub fn from_config(modules: &BTreeMap<String, config::ModuleState>) -> ModuleStates {
        let mut out = ModuleStates::default();
        for (name, m) in modules {
            if let Some(state) = ModuleState::parse(&m.state, m.stream.as_deref()) {
                out.states.insert(name.clone(), state);
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

    pub fn get(&self, name: &str) -> Option<&ModuleState> {
        self.states.get(name)
    }

    /// The enabled stream of a module (`Impl::isEnabled`), if any.
    pub fn enabled_stream(&self, name: &str) -> Option<&str> {
        match self.states.get(name) {
            Some(ModuleState::Enabled(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    pub fn is_disabled(&self, name: &str) -> bool {
        matches!(self.states.get(name), Some(ModuleState::Disabled))
    }

    /// Streams enabled by `modules.d`, as `name:stream`, sorted: what
    /// `dnf module list --enabled` lists (of the streams the repositories publish).
    pub fn enabled(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .states
            .keys()
            .filter_map(|n| Some(format!("{n}:{}", self.enabled_stream(n)?)))
            .collect();
        v.sort();
        v
    }
}

/// One module's defaults while a priority layer is merged.
#[derive(Debug, Clone)]
struct LayerDefault {
    /// `Err(())` once two documents of the layer disagreed (libmodulemd's merge conflict).
    stream: Result<Option<String>, ()>,
    modified: u64,
}

/// Merge the documents of one priority layer, as `modulemd_defaults_v1_merge` does.
fn merge_layer<'a>(docs: impl IntoIterator<Item = &'a ModuleDefaults>) -> BTreeMap<String, LayerDefault> {
    let mut layer: BTreeMap<String, LayerDefault> = BTreeMap::new();
    for d in docs {
        let Some(into) = layer.get_mut(&d.module) else {
            layer.insert(
                d.module.clone(),
                LayerDefault {
                    stream: Ok(d.stream.clone()),
                    modified: d.modified,
                },
            );
            continue;
        };
        match (&into.stream, &d.stream) {
            (Ok(None), Some(s)) => into.stream = Ok(Some(s.clone())),
            (Ok(Some(have)), Some(s)) if have != s => {
                if d.modified > into.modified {
                    into.stream = Ok(Some(s.clone()));
                } else if d.modified == into.modified {
                    into.stream = Err(());
                }
            }
            _ => {}
        }
        into.modified = into.modified.max(d.modified);
    }
    layer
}

/// Each module's default stream: the repositories' `modulemd-defaults` (one layer, in any
/// order), replaced module by module by the image's `etc/dnf/modules.defaults.d` (see the
/// module documentation, rule 2).
pub fn default_streams<'a>(
    repositories: impl IntoIterator<Item = &'a ModuleDefaults>,
    image: impl IntoIterator<Item = &'a ModuleDefaults>,
) -> BTreeMap<String, String> {
    let mut merged = merge_layer(repositories);
    merged.extend(merge_layer(image));
    merged
        .into_iter()
        .filter_map(|(module, d)| Some((module, d.stream.ok()??)))
        .collect()
}

/// The active module streams of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Modularity {
    pub states: ModuleStates,
    /// Module name → default stream (after layering).
    pub defaults: BTreeMap<String, String>,
    /// The platform stream (`el8` of `platform:el8`), if the image names one.
    pub platform: Option<String>,
    /// `(name, stream, context)` of each active stream.
    active: BTreeSet<(String, String, String)>,
    /// `name:stream` of the active streams, sorted.
    pub active_streams: Vec<String>,
    /// `name:stream` of enabled or default streams the repositories publish but whose
    /// requirements no version meets (libdnf's "Modular dependency problems").
    pub unmet: Vec<String>,
}

impl Modularity {
    /// The image's modularity from its configuration (states, own defaults, platform) and
    /// every repository's `modules` metadata (dnf's module container holds them all).
    pub fn from_image<'a>(
        config: &ImageConfig,
        repositories: impl IntoIterator<Item = &'a ModulesMetadata>,
    ) -> Modularity {
        let repositories: Vec<&ModulesMetadata> = repositories.into_iter().collect();
        let streams: Vec<&ModuleStream> = repositories.iter().flat_map(|m| &m.streams).collect();
        let defaults = default_streams(repositories.iter().flat_map(|m| &m.defaults), &config.module_defaults);
        Modularity::resolve(
            &streams,
            defaults,
            ModuleStates::from_config(&config.modules),
            config.platform_id.as_deref(),
        )
    }

    /// The stream libdnf asks its module solver for, for a module: the enabled one, else
    /// (no state at all) the default (`resolveActiveModulePackages`).
    pub fn chosen_stream(&self, module: &str) -> Option<&str> {
        match self.states.get(module) {
            Some(ModuleState::Disabled) => None,
            Some(ModuleState::Enabled(s)) => Some(s.as_str()).filter(|s| !s.is_empty()),
            None => self.defaults.get(module).map(String::as_str),
        }
    }

    /// Work out the active streams (rule 3 of the module documentation).
    pub fn resolve(
        streams: &[&ModuleStream],
        defaults: BTreeMap<String, String>,
        states: ModuleStates,
        platform_id: Option<&str>,
    ) -> Modularity {
        let mut out = Modularity {
            states,
            defaults,
            platform: platform_id
                .and_then(|p| p.trim().strip_prefix("platform:"))
                .map(str::to_string),
            ..Modularity::default()
        };
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
                return out.platform.as_deref().is_some_and(|p| stream_ok(wanted, p));
            }
            match out.chosen_stream(module) {
                Some(s) => stream_ok(wanted, s),
                None => {
                    !out.states.is_disabled(module)
                        && streams.iter().any(|m| m.name == module && stream_ok(wanted, &m.stream))
                }
            }
        };
        // A stream can be installed when one of its dependency alternatives is met.
        let satisfiable = |m: &ModuleStream| -> bool {
            m.requires.is_empty()
                || m.requires
                    .iter()
                    .any(|set| set.iter().all(|(module, wanted)| requirement_met(module, wanted)))
        };

        let mut by_stream: BTreeMap<(&str, &str), Vec<&ModuleStream>> = BTreeMap::new();
        for m in streams {
            by_stream.entry((&m.name, &m.stream)).or_default().push(m);
        }
        let mut active = BTreeSet::new();
        let mut active_streams = Vec::new();
        let mut unmet = Vec::new();
        for ((name, stream), docs) in &by_stream {
            if out.chosen_stream(name) != Some(*stream) {
                continue;
            }
            match docs.iter().filter(|m| satisfiable(m)).max_by_key(|m| m.version) {
                Some(best) => {
                    active.insert((name.to_string(), stream.to_string(), best.context.clone()));
                    active_streams.push(format!("{name}:{stream}"));
                }
                None => unmet.push(format!("{name}:{stream}")),
            }
        }
        out.active = active;
        out.active_streams = active_streams;
        out.unmet = unmet;
        out
    }

    /// Whether this stream document (name, stream and context) is the active one.
    pub fn stream_is_active(&self, m: &ModuleStream) -> bool {
        self.active
            .contains(&(m.name.clone(), m.stream.clone(), m.context.clone()))
    }

    /// `AdvisoryModule::isApplicable`: whether an active stream has this name and stream (and
    /// context, when given).
    pub fn is_active(&self, name: &str, stream: &str, context: Option<&str>) -> bool {
        self.active
            .iter()
            .any(|(n, s, c)| n == name && s == stream && context.is_none_or(|ctx| ctx == c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, s: &str, version: u64, context: &str, platform: &str) -> ModuleStream {
        ModuleStream {
            name: name.into(),
            stream: s.into(),
            version,
            context: context.into(),
            arch: "x86_64".into(),
            artifacts: vec![],
            requires: vec![vec![("platform".into(), vec![platform.into()])]],
            demodularized: vec![],
        }
    }

    fn defaults(module: &str, stream: Option<&str>, modified: u64) -> ModuleDefaults {
        ModuleDefaults {
            module: module.into(),
            stream: stream.map(str::to_string),
            modified,
        }
    }

    fn cfg(name: &str, stream: Option<&str>, state: &str) -> (String, config::ModuleState) {
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
    fn states_as_libdnf_from_string_reads_them() {
        let c: BTreeMap<_, _> = [
            cfg("a", Some("1"), "enabled"),
            cfg("b", Some("2"), "installed"),
            cfg("c", None, "disabled"),
            cfg("d", Some("4"), "1"),
            cfg("e", Some("5"), "false"),
            cfg("f", Some("6"), ""),
        ]
        .into();
        let s = ModuleStates::from_config(&c);
        assert_eq!(s.get("a"), Some(&ModuleState::Enabled("1".into())));
        assert_eq!(s.get("b"), None, "dnf 2's installed is UNKNOWN in libdnf");
        assert_eq!(s.get("c"), Some(&ModuleState::Disabled));
        assert_eq!(s.get("d"), Some(&ModuleState::Enabled("4".into())));
        assert_eq!(s.get("e"), Some(&ModuleState::Disabled));
        assert_eq!(s.get("f"), None);
        assert_eq!(s.enabled(), ["a:1", "d:4"]);
    }

    #[test]
    fn defaults_layer_as_libmodulemd_merges_them() {
        let repo = [
            defaults("a", Some("1"), 0),
            defaults("b", Some("1"), 0),
            defaults("b", Some("2"), 0),
            defaults("c", Some("1"), 5),
            defaults("c", Some("2"), 9),
            defaults("d", None, 0),
            defaults("d", Some("3"), 0),
            defaults("e", Some("1"), 0),
        ];
        let image = [defaults("a", Some("7"), 0), defaults("e", None, 0)];
        let d = default_streams(&repo, &image);
        assert_eq!(d.get("a").map(String::as_str), Some("7"), "the image wins");
        assert_eq!(d.get("b"), None, "a conflict in one layer is no default");
        assert_eq!(d.get("c").map(String::as_str), Some("2"), "the later modified wins");
        assert_eq!(d.get("d").map(String::as_str), Some("3"));
        assert_eq!(
            d.get("e"),
            None,
            "an image document without a stream replaces the default"
        );
    }

    #[test]
    fn active_streams_need_their_platform_and_state() {
        let a1 = stream("a", "1", 1, "c1", "el8");
        let a2 = stream("a", "2", 1, "c2", "el8");
        let a2new = stream("a", "2", 2, "c3", "el9");
        let b1 = stream("b", "1", 1, "b1", "el8");
        let mut states = ModuleStates::default();
        states.enable("a", "2");
        let defaults: BTreeMap<String, String> = [("a".into(), "1".into()), ("b".into(), "1".into())].into();
        let m = Modularity::resolve(
            &[&a1, &a2, &a2new, &b1],
            defaults.clone(),
            states.clone(),
            Some("platform:el8"),
        );
        assert_eq!(m.active_streams, ["a:2", "b:1"]);
        assert!(
            m.is_active("a", "2", Some("c2")),
            "the newest version that can be installed"
        );
        assert!(!m.is_active("a", "2", Some("c3")));
        assert!(!m.is_active("a", "1", None));
        assert!(m.stream_is_active(&b1));

        let m = Modularity::resolve(
            &[&a1, &a2new, &b1],
            defaults.clone(),
            states.clone(),
            Some("platform:el8"),
        );
        assert_eq!(m.active_streams, ["b:1"]);
        assert_eq!(m.unmet, ["a:2"]);

        states.disable("b");
        let m = Modularity::resolve(&[&a1, &a2, &b1], defaults, states, None);
        assert!(m.active_streams.is_empty(), "no platform: nothing requiring one");
    }
}
