//! Evaluating OVAL definitions against the installed packages, in OVAL's three-valued logic
//! (see the [`super`] documentation for what is supported).

use super::{Criteria, Entity, Node, Object, Operator, OvalDocument, Test};
use crate::installed::{InstalledIndex, InstalledPackage};
use crate::modules::{ModuleState, ModuleStates};
use regex::Regex;
use rpmdb::version::Evr;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Deepest chain of `extend_definition` followed.
const MAX_EXTEND_DEPTH: usize = 32;

/// OVAL's result of a test, criteria or definition (`error` and `not evaluated` are
/// `Unknown` here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }

    fn negate(self, negate: bool) -> Tri {
        match (self, negate) {
            (Tri::True, true) => Tri::False,
            (Tri::False, true) => Tri::True,
            (t, _) => t,
        }
    }
}

/// An installed package that made a test true, and the fixed EVR the test compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub package: InstalledPackage,
    /// The `evr` "less than" value of the state, e.g. `0:2.18.4-2.el8_2`.
    pub less_than: Option<String>,
}

/// A result with the packages behind it (only for true results) and, for unknown ones,
/// why.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub result: Tri,
    pub evidence: Vec<Evidence>,
    pub unknown_because: BTreeSet<String>,
}

impl Outcome {
    fn of(result: Tri) -> Outcome {
        Outcome {
            result,
            evidence: Vec::new(),
            unknown_because: BTreeSet::new(),
        }
    }

    fn unknown(why: String) -> Outcome {
        Outcome {
            result: Tri::Unknown,
            evidence: Vec::new(),
            unknown_because: [why].into(),
        }
    }
}

/// Evaluates the definitions of one document, caching test and definition results.
pub struct Evaluator<'a> {
    doc: &'a OvalDocument,
    installed: &'a InstalledIndex,
    /// File path → installed packages owning it (for `rpmverifyfile` objects).
    owners: &'a HashMap<String, Vec<InstalledPackage>>,
    modules: &'a ModuleStates,
    rebuild: bool,
    definitions: HashMap<String, usize>,
    tests: HashMap<String, Outcome>,
    results: HashMap<String, Outcome>,
    in_progress: HashSet<String>,
    regexes: HashMap<String, Option<Regex>>,
}

/// The module and stream of a test commented `Module NAME:STREAM is enabled` (NAME without
/// `:` or white space, STREAM without white space).
fn enabled_module_test(comment: &str) -> Option<(&str, &str)> {
    let (name, stream) = comment
        .strip_prefix("Module ")?
        .strip_suffix(" is enabled")?
        .split_once(':')?;
    let word = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    (word(name) && word(stream)).then_some((name, stream))
}

impl<'a> Evaluator<'a> {
    pub fn new(
        doc: &'a OvalDocument,
        installed: &'a InstalledIndex,
        owners: &'a HashMap<String, Vec<InstalledPackage>>,
        modules: &'a ModuleStates,
        rebuild: bool,
    ) -> Evaluator<'a> {
        Evaluator {
            doc,
            installed,
            owners,
            modules,
            rebuild,
            definitions: doc
                .definitions
                .iter()
                .enumerate()
                .map(|(i, d)| (d.id.clone(), i))
                .collect(),
            tests: HashMap::new(),
            results: HashMap::new(),
            in_progress: HashSet::new(),
            regexes: HashMap::new(),
        }
    }

    /// The result of a definition.
    pub fn definition(&mut self, id: &str) -> Outcome {
        if let Some(o) = self.results.get(id) {
            return o.clone();
        }
        if self.in_progress.contains(id) || self.in_progress.len() >= MAX_EXTEND_DEPTH {
            return Outcome::unknown(format!("{id}: extend_definition loops or nests too deep"));
        }
        let Some(&index) = self.definitions.get(id) else {
            return Outcome::unknown(format!("definition {id} is not in the document"));
        };
        let doc = self.doc;
        let def = &doc.definitions[index];
        let outcome = match &def.criteria {
            Some(c) => {
                self.in_progress.insert(id.to_string());
                let o = self.criteria(c);
                self.in_progress.remove(id);
                o
            }
            None => Outcome::unknown(format!("definition {id} has no criteria")),
        };
        self.results.insert(id.to_string(), outcome.clone());
        outcome
    }

    fn criteria(&mut self, c: &Criteria) -> Outcome {
        let children: Vec<Outcome> = c.children.iter().map(|n| self.node(n)).collect();
        let trues = children.iter().filter(|o| o.result == Tri::True).count();
        let falses = children.iter().filter(|o| o.result == Tri::False).count();
        let unknowns = children.len() - trues - falses;
        // OVAL 5 operator truth tables, with error/unknown/not-evaluated folded into Unknown.
        let result = match c.operator {
            Operator::And => {
                if falses > 0 {
                    Tri::False
                } else if unknowns > 0 || children.is_empty() {
                    Tri::Unknown
                } else {
                    Tri::True
                }
            }
            Operator::Or => {
                if trues > 0 {
                    Tri::True
                } else if unknowns > 0 || children.is_empty() {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            Operator::One => {
                if trues > 1 || (trues == 0 && unknowns == 0) {
                    Tri::False
                } else if trues == 1 && unknowns == 0 {
                    Tri::True
                } else {
                    Tri::Unknown
                }
            }
            Operator::Xor => {
                if unknowns > 0 {
                    Tri::Unknown
                } else {
                    Tri::from_bool(trues % 2 == 1)
                }
            }
        }
        .negate(c.negate);
        let mut out = Outcome::of(result);
        match result {
            Tri::True if !c.negate => {
                for ch in children.into_iter().filter(|o| o.result == Tri::True) {
                    out.evidence.extend(ch.evidence);
                }
            }
            Tri::Unknown => {
                for ch in children {
                    out.unknown_because.extend(ch.unknown_because);
                }
            }
            _ => {}
        }
        out
    }

    fn node(&mut self, n: &Node) -> Outcome {
        match n {
            Node::Criteria(c) => self.criteria(c),
            Node::Criterion { test_ref, negate } => {
                let o = self.test(test_ref);
                negated(o, *negate)
            }
            Node::Extend { definition_ref, negate } => {
                let o = self.definition(definition_ref);
                negated(o, *negate)
            }
        }
    }

    /// The result of a test.
    pub fn test(&mut self, id: &str) -> Outcome {
        if let Some(o) = self.tests.get(id) {
            return o.clone();
        }
        let doc = self.doc;
        let outcome = match doc.tests.get(id) {
            None => Outcome::unknown(format!("test {id} is not in the document")),
            Some(t) => self.evaluate_test(t),
        };
        self.tests.insert(id.to_string(), outcome.clone());
        outcome
    }

    fn evaluate_test(&mut self, t: &Test) -> Outcome {
        if let Some((name, stream)) = enabled_module_test(&t.comment) {
            // Red Hat's "Module NAME:STREAM is enabled" (a textfilecontent54 test on
            // etc/dnf/modules.d), answered from the same files.
            let enabled = matches!(self.modules.states.get(name), Some(ModuleState::Enabled(s)) if s == stream);
            return Outcome::of(Tri::from_bool(enabled));
        }
        let doc = self.doc;
        let Some(object) = t.object_ref.as_deref().and_then(|r| doc.objects.get(r)) else {
            return Outcome::unknown(format!("test {}: object {:?} not found", t.id, t.object_ref));
        };
        let items: Vec<InstalledPackage> = match (t.kind.as_str(), object.kind.as_str()) {
            ("rpminfo_test", "rpminfo_object") => match self.rpminfo_items(object) {
                Ok(i) => i,
                Err(why) => return Outcome::unknown(format!("test {}: {why}", t.id)),
            },
            ("rpmverifyfile_test", "rpmverifyfile_object") => match self.verifyfile_items(object) {
                Ok(i) => i,
                Err(why) => return Outcome::unknown(format!("test {}: {why}", t.id)),
            },
            (kind, _) => return Outcome::unknown(format!("test {} ({kind}, {:?}) is not supported", t.id, t.comment)),
        };

        // check_existence first.
        let exists = !items.is_empty();
        let existence = match t.check_existence.as_str() {
            "none_exist" => Tri::from_bool(!exists),
            "any_exist" => Tri::True,
            "only_one_exists" => Tri::from_bool(items.len() == 1),
            // at_least_one_exists (default) and all_exist
            _ => Tri::from_bool(exists),
        };
        // Only rpminfo tests tell which packages are affected; rpmverifyfile tests are the
        // release guards.
        let is_package_test = t.kind == "rpminfo_test";
        if existence != Tri::True || t.state_refs.is_empty() {
            let mut o = Outcome::of(existence);
            if existence == Tri::True && is_package_test {
                o.evidence = items
                    .into_iter()
                    .map(|p| Evidence {
                        package: p,
                        less_than: None,
                    })
                    .collect();
            }
            return o;
        }

        // Each item against the state(s).
        let mut per_item: Vec<(Tri, InstalledPackage, Option<String>)> = Vec::new();
        for item in items {
            let mut results = Vec::new();
            let mut less_than = None;
            for sref in &t.state_refs {
                let Some(state) = doc.states.get(sref) else {
                    return Outcome::unknown(format!("test {}: state {sref} not found", t.id));
                };
                let mut r = Tri::True;
                for e in &state.entities {
                    let m = self.entity_matches(e, &item, t.kind == "rpmverifyfile_test");
                    if e.name == "evr" && e.operation == "less than" {
                        less_than = Some(e.value.clone());
                    }
                    r = and(r, m);
                }
                results.push(r);
            }
            let r = if t.state_operator.eq_ignore_ascii_case("OR") {
                results.into_iter().fold(Tri::False, or)
            } else {
                results.into_iter().fold(Tri::True, and)
            };
            per_item.push((r, item, less_than));
        }
        let trues = per_item.iter().filter(|(r, _, _)| *r == Tri::True).count();
        let unknowns = per_item.iter().filter(|(r, _, _)| *r == Tri::Unknown).count();
        let falses = per_item.len() - trues - unknowns;
        let result = match t.check.as_str() {
            "at least one" => {
                if trues > 0 {
                    Tri::True
                } else if unknowns > 0 {
                    Tri::Unknown
                } else {
                    Tri::False
                }
            }
            "none satisfy" => {
                if trues > 0 {
                    Tri::False
                } else if unknowns > 0 {
                    Tri::Unknown
                } else {
                    Tri::True
                }
            }
            "only one" => {
                if trues > 1 {
                    Tri::False
                } else if unknowns > 0 {
                    Tri::Unknown
                } else {
                    Tri::from_bool(trues == 1)
                }
            }
            // "all" (the default)
            _ => {
                if falses > 0 {
                    Tri::False
                } else if unknowns > 0 {
                    Tri::Unknown
                } else {
                    Tri::True
                }
            }
        };
        let mut o = Outcome::of(result);
        if result == Tri::True && t.check != "none satisfy" && is_package_test {
            o.evidence = per_item
                .into_iter()
                .filter(|(r, _, _)| *r == Tri::True)
                .map(|(_, package, less_than)| Evidence { package, less_than })
                .collect();
        }
        if result == Tri::Unknown {
            o.unknown_because
                .insert(format!("test {}: a state entity could not be compared", t.id));
        }
        o
    }

    /// The installed packages an `rpminfo_object` names.
    fn rpminfo_items(&mut self, object: &Object) -> Result<Vec<InstalledPackage>, String> {
        let Some(name) = object.entity("name") else {
            return Err(format!("object {} has no name", object.id));
        };
        if name.var_ref.is_some() {
            return Err(format!("object {}: names from variables are not supported", object.id));
        }
        match name.operation.as_str() {
            "equals" => Ok(self.installed.named(&name.value).to_vec()),
            "pattern match" => {
                let re = self
                    .regex(&name.value)
                    .ok_or_else(|| format!("bad pattern {:?}", name.value))?;
                Ok(self
                    .installed
                    .iter()
                    .filter(|p| re.is_match(&p.name))
                    .cloned()
                    .collect())
            }
            op => Err(format!("object {}: name operation {op:?} is not supported", object.id)),
        }
    }

    /// The packages owning an `rpmverifyfile_object`'s file.
    fn verifyfile_items(&mut self, object: &Object) -> Result<Vec<InstalledPackage>, String> {
        let Some(path) = object.entity("filepath") else {
            return Err(format!("object {} has no filepath", object.id));
        };
        if path.var_ref.is_some() || path.operation != "equals" {
            return Err(format!("object {}: only a literal filepath is supported", object.id));
        }
        let owners = self.owners.get(&path.value).cloned().unwrap_or_default();
        // The other entities (name, epoch…) are "pattern match" with an empty pattern in
        // Red Hat's documents: they select every owner. Anything else narrows the set.
        let mut out = Vec::new();
        for p in owners {
            let mut keep = Tri::True;
            for e in object.entities.iter().filter(|e| e.name != "filepath") {
                keep = and(keep, self.entity_matches(e, &p, false));
            }
            match keep {
                Tri::True => out.push(p),
                Tri::False => {}
                Tri::Unknown => return Err(format!("object {}: an entity could not be compared", object.id)),
            }
        }
        Ok(out)
    }

    /// Does an installed package match one state (or object) entity?
    fn entity_matches(&mut self, e: &Entity, p: &InstalledPackage, release_guard: bool) -> Tri {
        if e.var_ref.is_some() {
            return Tri::Unknown;
        }
        let epoch = p
            .evr
            .epoch
            .map(|e| e.to_string())
            .unwrap_or_else(|| "(none)".to_string());
        let value: String = match e.name.as_str() {
            "name" => {
                // A rebuild's release package stands in for redhat-release.
                if self.rebuild && release_guard {
                    return Tri::True;
                }
                p.name.clone()
            }
            "arch" => p.arch.clone(),
            "epoch" => epoch,
            "version" => {
                if self.rebuild && release_guard && e.operation == "pattern match" {
                    // CentOS writes its release package's version as `7`, RHEL as `7.9`: the
                    // pattern `^7[^\d]` is tried on `version-release` as well.
                    let vr = format!("{}-{}", p.evr.version, p.evr.release);
                    return match self.regex(&e.value) {
                        Some(re) => Tri::from_bool(re.is_match(&p.evr.version) || re.is_match(&vr)),
                        None => Tri::Unknown,
                    };
                }
                p.evr.version.clone()
            }
            "release" => p.evr.release.clone(),
            "evr" => {
                return match e.datatype.as_deref() {
                    Some("evr_string") | Some("rpmevr") | None => {
                        compare_evr(&e.operation, &p.evr, &Evr::parse(&e.value))
                    }
                    Some(_) => Tri::Unknown,
                };
            }
            "signature_keyid" => {
                if self.rebuild {
                    return Tri::True;
                }
                // Key ids are hex: compared without regard to case. An unsigned package has
                // no key id: no comparison can hold.
                let Some(k) = &p.key_id else { return Tri::False };
                return match e.operation.as_str() {
                    "equals" | "case insensitive equals" => Tri::from_bool(k.eq_ignore_ascii_case(&e.value)),
                    "not equal" | "case insensitive not equal" => Tri::from_bool(!k.eq_ignore_ascii_case(&e.value)),
                    _ => Tri::Unknown,
                };
            }
            _ => return Tri::Unknown,
        };
        match e.operation.as_str() {
            "equals" => Tri::from_bool(value == e.value),
            "not equal" => Tri::from_bool(value != e.value),
            "case insensitive equals" => Tri::from_bool(value.eq_ignore_ascii_case(&e.value)),
            "case insensitive not equal" => Tri::from_bool(!value.eq_ignore_ascii_case(&e.value)),
            "pattern match" => match self.regex(&e.value) {
                Some(re) => Tri::from_bool(re.is_match(&value)),
                None => Tri::Unknown,
            },
            _ => Tri::Unknown,
        }
    }

    fn regex(&mut self, pattern: &str) -> Option<Regex> {
        if let Some(r) = self.regexes.get(pattern) {
            return r.clone();
        }
        let r = regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().ok();
        self.regexes.insert(pattern.to_string(), r.clone());
        r
    }
}

fn negated(o: Outcome, negate: bool) -> Outcome {
    if !negate {
        return o;
    }
    let mut out = Outcome::of(o.result.negate(true));
    out.unknown_because = o.unknown_because;
    out
}

fn and(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Tri::False, _) | (_, Tri::False) => Tri::False,
        (Tri::True, Tri::True) => Tri::True,
        _ => Tri::Unknown,
    }
}

fn or(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Tri::True, _) | (_, Tri::True) => Tri::True,
        (Tri::False, Tri::False) => Tri::False,
        _ => Tri::Unknown,
    }
}

/// An EVR entity: the installed EVR (absent epoch = 0) against the state's.
fn compare_evr(operation: &str, installed: &Evr, state: &Evr) -> Tri {
    let ord = installed.compare(state);
    match operation {
        "less than" => Tri::from_bool(ord == Ordering::Less),
        "less than or equal" => Tri::from_bool(ord != Ordering::Greater),
        "equals" => Tri::from_bool(ord == Ordering::Equal),
        "not equal" => Tri::from_bool(ord != Ordering::Equal),
        "greater than" => Tri::from_bool(ord == Ordering::Greater),
        "greater than or equal" => Tri::from_bool(ord != Ordering::Less),
        _ => Tri::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::enabled_module_test;

    #[test]
    fn module_test_comments_give_name_and_stream() {
        assert_eq!(
            enabled_module_test("Module nodejs:18 is enabled"),
            Some(("nodejs", "18"))
        );
        // The stream may hold a colon, the name may not.
        assert_eq!(enabled_module_test("Module a:b:c is enabled"), Some(("a", "b:c")));
        for other in [
            "Module nodejs is enabled",
            "Module :18 is enabled",
            "Module nodejs: is enabled",
            "Module  nodejs:18 is enabled",
            "Module nodejs:18 x is enabled",
            "Module nodejs:18 is enabled.",
            "module nodejs:18 is enabled",
            "kernel earlier than 0:5.14",
        ] {
            assert_eq!(enabled_module_test(other), None, "{other:?}");
        }
    }
}
