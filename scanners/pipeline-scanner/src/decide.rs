//! The judgement, in the order dnf's `check-update` makes it (libdnf `Query`):
//! 1. the packages dnf can see: no `src`/`nosrc`, only arches the machine runs, minus
//!    `exclude=` (main: every repository; a repository's: its own), within `includepkgs=` when
//!    set, minus what modularity hides (not in `module_hotfixes` repositories);
//! 2. updates (`upgrades_by_priority`): per name only the packages of the best repository
//!    priority; of those, a package upgrades when some installed package has its name and its
//!    arch (or either is `noarch`) and none of those has an EVR as high (`what_upgrades`);
//!    then the newest per name and arch (`latest()`), every repository that has it;
//! 3. obsoletes (`obsoletes_by_priority`): per name the best-priority packages whose
//!    `Obsoletes:` match an installed package's name and EVR, each with what it obsoletes.

use crate::arch;
use crate::image::Installed;
use crate::modularity::ModuleFilter;
use crate::pkgspec::Specs;
use crate::repos::{Candidate, LoadedRepo};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// Settings of the judgement beyond the packages.
pub struct Policy<'a> {
    /// The machine arch of the image.
    pub machine: &'a str,
    pub exclude: &'a Specs,
    pub includepkgs: &'a Specs,
    pub modules: &'a ModuleFilter,
    /// `obsoletes` of `[main]`.
    pub obsoletes: bool,
}

/// One available update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update<'a> {
    pub candidate: &'a Candidate,
    /// The installed package it updates (the newest of the same name and arch).
    pub installed: &'a Installed,
}

/// A package that obsoletes an installed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obsolete<'a> {
    pub candidate: &'a Candidate,
    pub obsoleted: &'a Installed,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision<'a> {
    pub updates: Vec<Update<'a>>,
    pub obsoletes: Vec<Obsolete<'a>>,
}

/// Whether dnf sees the package at all (step 1).
pub fn visible(c: &Candidate, repo: &LoadedRepo, policy: &Policy<'_>) -> bool {
    if c.arch == "src" || c.arch == "nosrc" || !arch::can_run(policy.machine, &c.arch) {
        return false;
    }
    let (e, v, r) = (c.evr.epoch_or_zero(), c.evr.version.as_str(), c.evr.release.as_str());
    if policy.exclude.matches(&c.name, e, v, r, &c.arch) || repo.exclude.matches(&c.name, e, v, r, &c.arch) {
        return false;
    }
    if !policy.includepkgs.is_empty() && !policy.includepkgs.matches(&c.name, e, v, r, &c.arch) {
        return false;
    }
    if !repo.includepkgs.is_empty() && !repo.includepkgs.matches(&c.name, e, v, r, &c.arch) {
        return false;
    }
    if !repo.module_hotfixes && policy.modules.hides(&c.name, e, v, r, &c.arch, &c.provides) {
        return false;
    }
    true
}

/// libdnf's `what_upgrades`: the installed package `c` upgrades, if any.
fn what_upgrades<'a>(c: &Candidate, installed: &[&'a Installed]) -> Option<&'a Installed> {
    let mut lowest: Option<&Installed> = None;
    for i in installed {
        if i.arch != c.arch && i.arch != "noarch" && c.arch != "noarch" {
            continue;
        }
        if i.evr.compare(&c.evr) != Ordering::Less {
            return None;
        }
        if lowest.is_none_or(|l| i.evr.compare(&l.evr) == Ordering::Greater) {
            lowest = Some(i);
        }
    }
    lowest
}

/// The best-priority packages of each name (lower dnf priority wins), in input order.
fn best_priority_per_name<'c>(candidates: &[&'c Candidate], repos: &[LoadedRepo]) -> Vec<&'c Candidate> {
    let mut best: HashMap<&str, i32> = HashMap::new();
    for c in candidates {
        let p = repos[c.repo].priority;
        best.entry(c.name.as_str())
            .and_modify(|b| *b = (*b).min(p))
            .or_insert(p);
    }
    candidates
        .iter()
        .copied()
        .filter(|c| best.get(c.name.as_str()) == Some(&repos[c.repo].priority))
        .collect()
}

/// Decide updates and obsoletes.
pub fn decide<'a>(
    installed: &'a [Installed],
    candidates: &'a [Candidate],
    repos: &[LoadedRepo],
    policy: &Policy<'_>,
) -> Decision<'a> {
    let mut by_name: HashMap<&str, Vec<&Installed>> = HashMap::new();
    for i in installed {
        by_name.entry(i.name.as_str()).or_default().push(i);
    }
    let seen: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| visible(c, &repos[c.repo], policy))
        .collect();
    let best = best_priority_per_name(&seen, repos);

    // Updates: what_upgrades, then the newest per name.arch.
    let mut upgrading: BTreeMap<(&str, &str), Vec<Update<'a>>> = BTreeMap::new();
    for c in &best {
        let Some(same_name) = by_name.get(c.name.as_str()) else {
            continue;
        };
        if let Some(i) = what_upgrades(c, same_name) {
            upgrading
                .entry((c.name.as_str(), c.arch.as_str()))
                .or_default()
                .push(Update {
                    candidate: c,
                    installed: i,
                });
        }
    }
    let mut updates = Vec::new();
    for (_, mut list) in upgrading {
        list.sort_by(|a, b| b.candidate.evr.compare(&a.candidate.evr));
        let top = list[0].candidate.evr.clone();
        updates.extend(
            list.into_iter()
                .take_while(|u| u.candidate.evr.compare(&top) == Ordering::Equal),
        );
    }

    // Obsoletes: obsoletes matching installed packages by name and EVR.
    let mut obsoletes = Vec::new();
    if policy.obsoletes {
        for c in &best {
            for rel in &c.obsoletes {
                let Some(targets) = by_name.get(rel.name.as_str()) else {
                    continue;
                };
                for i in targets {
                    if rel.matches(&i.name, &i.evr)
                        && !obsoletes
                            .iter()
                            .any(|o: &Obsolete<'_>| std::ptr::eq(o.candidate, *c) && std::ptr::eq(o.obsoleted, *i))
                    {
                        obsoletes.push(Obsolete {
                            candidate: c,
                            obsoleted: i,
                        });
                    }
                }
            }
        }
    }
    Decision { updates, obsoletes }
}

#[cfg(test)]
mod tests {
    //! The rules one at a time; tests/updates_differential.rs checks them against dnf.
    use super::*;
    use rpmdb::version::Evr;

    fn repo(id: &str, priority: i32) -> LoadedRepo {
        LoadedRepo {
            id: id.into(),
            priority,
            module_hotfixes: false,
            exclude: Specs::default(),
            includepkgs: Specs::default(),
            base: None,
            revision: None,
            package_count: 0,
            modules: None,
            error: None,
            cached: false,
        }
    }
    fn inst(name: &str, evr: &str, arch: &str) -> Installed {
        Installed {
            name: name.into(),
            arch: arch.into(),
            evr: Evr::parse(evr),
        }
    }
    fn cand(repo: usize, name: &str, evr: &str, arch: &str) -> Candidate {
        Candidate {
            repo,
            name: name.into(),
            arch: arch.into(),
            evr: Evr::parse(evr),
            obsoletes: vec![],
            provides: vec![],
        }
    }
    fn run(installed: &[Installed], candidates: &[Candidate], repos: &[LoadedRepo]) -> Vec<String> {
        let none = Specs::default();
        let modules = ModuleFilter::default();
        let policy = Policy {
            machine: "x86_64",
            exclude: &none,
            includepkgs: &none,
            modules: &modules,
            obsoletes: true,
        };
        let mut v: Vec<String> = decide(installed, candidates, repos, &policy)
            .updates
            .iter()
            .map(|u| {
                format!(
                    "{}.{} {} {}",
                    u.candidate.name,
                    u.candidate.arch,
                    u.candidate.evr.dnf_text(),
                    repos[u.candidate.repo].id
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn newest_per_name_arch_and_every_repository_that_has_it() {
        let i = [inst("a", "1.0-1", "x86_64")];
        let c = [
            cand(0, "a", "1.1-1", "x86_64"),
            cand(0, "a", "1.2-1", "x86_64"),
            cand(1, "a", "1.2-1", "x86_64"),
        ];
        assert_eq!(
            run(&i, &c, &[repo("r0", 99), repo("r1", 99)]),
            ["a.x86_64 1.2-1 r0", "a.x86_64 1.2-1 r1"]
        );
    }

    #[test]
    fn best_priority_per_name_even_when_older() {
        let i = [inst("a", "1.0-1", "x86_64")];
        let c = [cand(0, "a", "1.0-1", "x86_64"), cand(1, "a", "9-1", "x86_64")];
        assert!(run(&i, &c, &[repo("hi", 1), repo("lo", 99)]).is_empty());
    }

    #[test]
    fn any_installed_version_as_new_blocks_the_update() {
        // Two installed kernels: the newer one is as new as the candidate.
        let i = [inst("k", "1-1", "x86_64"), inst("k", "2-1", "x86_64")];
        assert!(run(&i, &[cand(0, "k", "2-1", "x86_64")], &[repo("r", 99)]).is_empty());
        assert_eq!(
            run(&i, &[cand(0, "k", "3-1", "x86_64")], &[repo("r", 99)]),
            ["k.x86_64 3-1 r"]
        );
    }

    #[test]
    fn arches_source_packages_and_noarch() {
        let i = [inst("a", "1-1", "noarch"), inst("b", "1-1", "x86_64")];
        let c = [
            cand(0, "a", "2-1", "i686"),
            cand(0, "a", "3-1", "aarch64"),
            cand(0, "a", "4-1", "src"),
            cand(0, "b", "2-1", "i686"),
            cand(0, "b", "2-1", "noarch"),
        ];
        assert_eq!(run(&i, &c, &[repo("r", 99)]), ["a.i686 2-1 r", "b.noarch 2-1 r"]);
    }
}
