//! Which EL8+ module streams are active in the image, for module advisories.
//!
//! libdnf (`AdvisoryModule::isApplicable`) applies a collection that names
//! `<module name stream context>` only when the module container holds an **active** module
//! of that name, stream and context. Which streams are active — `modules.d` states as libdnf's
//! `fromString` reads them, default streams layered repositories then image, platform and
//! module requirements — is decided once for every scanner by [`repodata::modularity`]; this
//! module keeps only the advisory's question.
//!
//! What we know decides how close we get:
//! - with the repositories' `modules` metadata we follow libdnf
//!   ([`repodata::modularity::Modularity::is_active`]);
//! - without it (a bare `--updateinfo` file) dnf would apply no module advisory at all, which
//!   hides real fixes; we apply those whose stream `modules.d` enables, whatever the context,
//!   and say so in the result.

pub use repodata::modularity::{Modularity, ModuleState, ModuleStates};

/// Decides whether a module named by an advisory collection is active.
#[derive(Debug, Clone, Default)]
pub struct ModuleActivity {
    pub states: ModuleStates,
    /// `None` when no repository metadata about modules is at hand.
    pub available: Option<Modularity>,
}

impl ModuleActivity {
    /// libdnf's `AdvisoryModule::isApplicable`, see the module documentation.
    pub fn is_active(&self, name: &str, stream: &str, context: Option<&str>) -> bool {
        match &self.available {
            None => self.states.enabled_stream(name) == Some(stream),
            Some(modularity) => modularity.is_active(name, stream, context),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repodata::modules::ModuleStream;
    use std::collections::BTreeMap;

    fn doc(name: &str, stream: &str, context: &str) -> ModuleStream {
        ModuleStream {
            name: name.into(),
            stream: stream.into(),
            version: 1,
            context: context.into(),
            arch: "x86_64".into(),
            artifacts: vec![],
            requires: vec![],
            demodularized: vec![],
        }
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

        let docs = [
            doc("ruby", "2.6", "c1"),
            doc("nodejs", "10", "c2"),
            doc("perl", "5.26", "c3"),
        ];
        let refs: Vec<&ModuleStream> = docs.iter().collect();
        let defaults: BTreeMap<String, String> =
            [("nodejs".into(), "10".into()), ("perl".into(), "5.26".into())].into();
        let full = ModuleActivity {
            states: states.clone(),
            available: Some(Modularity::resolve(&refs, defaults, states, None)),
        };
        assert!(full.is_active("ruby", "2.6", Some("c1")));
        assert!(!full.is_active("ruby", "2.6", Some("c9")));
        assert!(full.is_active("nodejs", "10", Some("c2")), "default stream");
        assert!(!full.is_active("perl", "5.26", Some("c3")), "disabled");
    }
}
