//! When an updateinfo advisory applies to an image: dnf's `updateinfo list` (default
//! `--available`), read from dnf 4.14 and libdnf 0.69:
//!
//! 1. The installed packages considered are `installed().latest(1)`: the newest EVR of each
//!    `name.arch` (`dnf/cli/commands/updateinfo.py`, `available_apkg_adv_insts`). dnf also adds
//!    the packages of the *running* kernel; a container image has no running kernel.
//! 2. A collection of an advisory counts only when it names no module, or one of the modules
//!    it names is active (`Advisory::getApplicablePackages`, `AdvisoryModule::isApplicable`;
//!    see [`crate::modules`]).
//! 3. A package of a counted collection is listed when an installed package has the **same
//!    name and the same arch** — exactly; `noarch` is not a wildcard here — and a lower EVR
//!    (`Query::getAdvisoryPkgs` with `HY_GT`: `low->getArch() == s->arch`, `pool_evrcmp > 0`).
//! 4. Nothing else: the fixed package need not be in any repository, the advisory's `status`
//!    and `release` are not looked at.

use crate::installed::{InstalledIndex, InstalledPackage};
use crate::modules::ModuleActivity;
use repodata::updateinfo::{Advisory, AdvisoryPackage};
use std::cmp::Ordering;

/// An installed package an advisory fixes, and the build that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affected {
    pub installed: InstalledPackage,
    pub fixed: AdvisoryPackage,
    /// `name:stream` when the fix comes from a module collection.
    pub module: Option<String>,
}

/// The packages of `advisory` that update the image's installed packages; empty when the
/// advisory does not apply.
pub fn affected_packages(advisory: &Advisory, installed: &InstalledIndex, modules: &ModuleActivity) -> Vec<Affected> {
    let mut out: Vec<Affected> = Vec::new();
    for collection in &advisory.collections {
        let active_module = if collection.modules.is_empty() {
            None
        } else {
            match collection
                .modules
                .iter()
                .find(|m| modules.is_active(&m.name, &m.stream, m.context.as_deref()))
            {
                Some(m) => Some(format!("{}:{}", m.name, m.stream)),
                None => continue,
            }
        };
        for fixed in &collection.packages {
            let Some(current) = installed.latest(&fixed.name, &fixed.arch) else {
                continue;
            };
            if fixed.evr.compare(&current.evr) != Ordering::Greater {
                continue;
            }
            if out.iter().any(|a| a.fixed == *fixed) {
                continue;
            }
            out.push(Affected {
                installed: current.clone(),
                fixed: fixed.clone(),
                module: active_module.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::ModuleStates;
    use repodata::updateinfo::{AdvisoryKind, Collection, ModuleStream};
    use rpmdb::version::Evr;

    fn inst(name: &str, evr: &str, arch: &str) -> InstalledPackage {
        InstalledPackage {
            name: name.into(),
            evr: Evr::parse(evr),
            arch: arch.into(),
            nvra: format!("{name}-{evr}.{arch}"),
            key_id: None,
            modularity_label: None,
            source_name: None,
        }
    }

    fn fix(name: &str, evr: &str, arch: &str) -> AdvisoryPackage {
        AdvisoryPackage {
            name: name.into(),
            evr: Evr::parse(evr),
            arch: arch.into(),
            src: None,
            filename: None,
        }
    }

    fn advisory(collections: Vec<Collection>) -> Advisory {
        Advisory {
            id: "A".into(),
            kind: AdvisoryKind::Security,
            status: None,
            from: None,
            title: None,
            release: None,
            severity: None,
            severity_raw: None,
            issued: None,
            updated: None,
            references: vec![],
            collections,
            line: 1,
        }
    }

    #[test]
    fn same_name_and_arch_with_lower_evr() {
        let installed = InstalledIndex::from_packages([
            inst("a", "1.0-1", "x86_64"),
            inst("b", "2.0-1", "noarch"),
            inst("k", "5.0-1", "x86_64"),
            inst("k", "5.2-1", "x86_64"),
        ]);
        let adv = advisory(vec![Collection {
            modules: vec![],
            packages: vec![
                fix("a", "1.0-2", "x86_64"),
                fix("a", "1.0-2", "i686"),
                fix("b", "2.0-2", "x86_64"),
                fix("k", "5.1-1", "x86_64"),
                fix("c", "9-9", "x86_64"),
            ],
        }]);
        let got = affected_packages(&adv, &installed, &ModuleActivity::default());
        let names: Vec<String> = got.iter().map(|a| a.fixed.nevra()).collect();
        // noarch installed vs x86_64 fix: no; k 5.1 is older than the newest installed k.
        assert_eq!(names, ["a-1.0-2.x86_64"]);
        assert_eq!(got[0].installed.nvra, "a-1.0-1.x86_64");
    }

    #[test]
    fn epoch_only_fix_and_already_applied() {
        let installed = InstalledIndex::from_packages([inst("e", "1.0-1", "x86_64"), inst("f", "3-1", "x86_64")]);
        let adv = advisory(vec![Collection {
            modules: vec![],
            packages: vec![fix("e", "1:1.0-1", "x86_64"), fix("f", "3-1", "x86_64")],
        }]);
        let got = affected_packages(&adv, &installed, &ModuleActivity::default());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].fixed.nevra(), "e-1:1.0-1.x86_64");
    }

    #[test]
    fn module_collections_need_an_active_stream() {
        let installed = InstalledIndex::from_packages([inst("m", "1-1", "x86_64")]);
        let adv = advisory(vec![Collection {
            modules: vec![ModuleStream {
                name: "mod".into(),
                stream: "2".into(),
                version: None,
                context: Some("c".into()),
                arch: None,
            }],
            packages: vec![fix("m", "1-2", "x86_64")],
        }]);
        let mut states = ModuleStates::default();
        assert!(affected_packages(&adv, &installed, &ModuleActivity::default()).is_empty());
        states.enable("mod", "1");
        let other = ModuleActivity {
            states: states.clone(),
            available: None,
        };
        assert!(affected_packages(&adv, &installed, &other).is_empty());
        states.enable("mod", "2");
        let active = ModuleActivity {
            states,
            available: None,
        };
        let got = affected_packages(&adv, &installed, &active);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].module.as_deref(), Some("mod:2"));
    }
}
