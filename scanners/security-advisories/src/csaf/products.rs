//! A VEX document's product tree as the judgement needs it: the *products* (`product_name`
//! branches with their CPE), the *components* (`product_version` branches with their purl),
//! and the joint ids of `default_component_of` relationships that the product statuses list.
//!
//! Red Hat's forms (csaf-vex.md, scanning-vendors.md): a fixed component has a versioned purl,
//! `pkg:rpm/redhat/NAME@VERSION-RELEASE?arch=ARCH[&epoch=N][&rpmmod=NAME:STREAM:VERSION:CONTEXT]`;
//! an unfixed one none, `pkg:rpm/redhat/NAME?arch=src` or `pkg:rpm/redhat/NAME`. Older
//! documents name unfixed components without any purl: their product id is the package name,
//! or `MODULE:STREAM/NAME` for a package of a module stream (`postgresql:15/postgresql`,
//! cve-2023-2454). Whether a fixed build is a module build is told here too
//! ([`Component::is_module_build`]).

use super::document::{Branch, ProductTree};
use rpmdb::version::Evr;
use std::collections::HashMap;

/// The most branches walked in one tree (a hostile tree of millions is cut, with a warning).
pub const MAX_BRANCHES: usize = 1_000_000;

/// A component: an RPM (binary or source), maybe of a module stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub name: String,
    /// For fixed components: the fixed EVR.
    pub evr: Option<Evr>,
    /// `src`, `x86_64`, `noarch`…; `None` when the purl names none.
    pub arch: Option<String>,
    /// `NAME:STREAM[:VERSION:CONTEXT]` of the `rpmmod` qualifier.
    pub module: Option<String>,
    /// Whether the purl or id named the epoch (`evr` holds 0 when it did not).
    pub epoch_given: bool,
}

impl Component {
    pub fn is_source(&self) -> bool {
        self.arch.as_deref() == Some("src")
    }

    /// Whether this is a build of a module stream: named with `rpmmod`, or a release with
    /// the module dist tag module builds carry (Red Hat's `.module+el8.8.0+19427+d1071523`,
    /// CentOS's `.module_el8.4.0+818+5ae11b8d`).
    pub fn is_module_build(&self) -> bool {
        self.module.is_some()
            || self
                .evr
                .as_ref()
                .is_some_and(|e| e.release.contains(".module+") || e.release.contains(".module_"))
    }
}

/// `(MODULE:STREAM, NAME)` of a component id in the `MODULE:STREAM/NAME` form Red Hat's
/// documents use for the packages of a module stream (`postgresql:15/postgresql`,
/// `satellite:el8/postgresql-evr`); `None` for any other id (`openshift3/postgresql-apb` has
/// no stream, and is a container).
pub fn module_stream_form(id: &str) -> Option<(&str, &str)> {
    let (module, name) = id.split_once('/')?;
    let (m, stream) = module.split_once(':')?;
    let plain = |s: &str| !s.is_empty() && !s.contains([':', '/']) && !s.chars().any(char::is_whitespace);
    (plain(m) && plain(stream) && plain(name)).then_some((module, name))
}

/// A product (`product_name`) with its CPE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub name: String,
    pub cpe: Option<String>,
}

/// The product tree, indexed.
#[derive(Debug, Default)]
pub struct ProductIndex {
    pub products: HashMap<String, Product>,
    /// Component product ids, from their purl (else their id); non-RPM purls are left out.
    pub components: HashMap<String, Component>,
    /// Joint id → (component id, product id).
    pub joints: HashMap<String, (String, String)>,
    /// True when the tree had more than [`MAX_BRANCHES`] branches.
    pub truncated: bool,
}

impl ProductIndex {
    pub fn of(tree: &ProductTree) -> ProductIndex {
        ProductIndex::of_at_most(tree, MAX_BRANCHES)
    }

    /// [`ProductIndex::of`] walking at most `max_branches` branches.
    pub fn of_at_most(tree: &ProductTree, max_branches: usize) -> ProductIndex {
        let mut index = ProductIndex::default();
        // Depth-first without recursion: the nesting is bounded by the parser already, the
        // number of branches here.
        let mut stack: Vec<&Branch> = tree.branches.iter().rev().collect();
        let mut seen = 0usize;
        while let Some(b) = stack.pop() {
            seen += 1;
            if seen > max_branches {
                index.truncated = true;
                break;
            }
            if let Some(p) = &b.product {
                let helper = p.product_identification_helper.as_ref();
                match b.category.as_deref() {
                    Some("product_name") => {
                        index.products.insert(
                            p.product_id.clone(),
                            Product {
                                name: p.name.clone().unwrap_or_default(),
                                cpe: helper.and_then(|h| h.cpe.clone()),
                            },
                        );
                    }
                    Some("product_version") => {
                        let component = match helper.and_then(|h| h.purl.as_deref()) {
                            Some(purl) => parse_rpm_purl(purl).map(|mut c| {
                                // A purl without `rpmmod` for an id that names the stream.
                                if c.module.is_none() {
                                    c.module = module_stream_form(&p.product_id).map(|(m, _)| m.to_string());
                                }
                                c
                            }),
                            None => Some(component_from_id(&p.product_id)),
                        };
                        if let Some(c) = component {
                            index.components.insert(p.product_id.clone(), c);
                        }
                    }
                    _ => {}
                }
            }
            stack.extend(b.branches.iter().rev());
        }
        // Products named outside the branches count as components when their purl is an RPM's.
        for p in &tree.full_product_names {
            let purl = p.product_identification_helper.as_ref().and_then(|h| h.purl.as_deref());
            if let Some(c) = purl.and_then(parse_rpm_purl) {
                index.components.entry(p.product_id.clone()).or_insert(c);
            }
        }
        for r in &tree.relationships {
            if r.category != "default_component_of" {
                continue;
            }
            index.joints.insert(
                r.full_product_name.product_id.clone(),
                (r.product_reference.clone(), r.relates_to_product_reference.clone()),
            );
        }
        index
    }

    /// The product and component a joint id names; `None` for ids that name no relationship
    /// (a bare product, as in some `known_not_affected` lists) or a non-RPM component.
    pub fn resolve(&self, joint: &str) -> Option<(&Product, &Component)> {
        let (component, product) = self.joints.get(joint)?;
        Some((self.products.get(product)?, self.components.get(component)?))
    }

    /// The RPM component a product status id names, whatever the product: through its
    /// relationship (a joint id), else the id of the component itself (image authors' documents
    /// list components directly).
    pub fn component(&self, id: &str) -> Option<&Component> {
        match self.joints.get(id) {
            Some((component, _)) => self.components.get(component),
            None => self.components.get(id),
        }
    }
}

/// Undo purl percent-encoding (`%2B` → `+`); invalid escapes are kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An RPM component from its purl; `None` for any other purl type (oci, maven…).
pub fn parse_rpm_purl(purl: &str) -> Option<Component> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let (path, qualifiers) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let (kind, path) = path.split_once('/')?;
    if !kind.eq_ignore_ascii_case("rpm") {
        return None;
    }
    let name_version = path.rsplit('/').next().unwrap_or(path);
    let (name, version) = match name_version.split_once('@') {
        Some((n, v)) => (percent_decode(n), Some(percent_decode(v))),
        None => (percent_decode(name_version), None),
    };
    if name.is_empty() {
        return None;
    }
    let mut arch = None;
    let mut epoch = None;
    let mut module = None;
    for q in qualifiers.unwrap_or("").split('&') {
        match q.split_once('=') {
            Some(("arch", v)) => arch = Some(percent_decode(v)),
            Some(("epoch", v)) => epoch = percent_decode(v).parse::<u32>().ok(),
            Some(("rpmmod", v)) => module = Some(percent_decode(v)),
            _ => {}
        }
    }
    let evr = version.filter(|v| !v.is_empty()).map(|v| {
        let (version, release) = v.rsplit_once('-').unwrap_or((v.as_str(), ""));
        Evr::new(Some(epoch.unwrap_or(0)), version, release)
    });
    Some(Component {
        name,
        evr,
        arch,
        module,
        epoch_given: epoch.is_some(),
    })
}

/// A component without a purl: `name-epoch:version-release.arch` when the id has that form,
/// `MODULE:STREAM/NAME` ([`module_stream_form`]), else the id is the package name (older
/// documents' unfixed components).
pub fn component_from_id(id: &str) -> Component {
    if let Some((module, name)) = module_stream_form(id) {
        return Component {
            name: name.to_string(),
            evr: None,
            arch: None,
            module: Some(module.to_string()),
            epoch_given: false,
        };
    }
    if let Some((name_version, arch)) = id.rsplit_once('.') {
        if let Some((name_epoch, release)) = name_version.rsplit_once('-') {
            if let Some((name, epoch_version)) = name_epoch.rsplit_once('-') {
                if let Some((epoch, version)) = epoch_version.split_once(':') {
                    if let Ok(e) = epoch.parse::<u32>() {
                        if !name.is_empty() && !version.is_empty() && !arch.is_empty() {
                            return Component {
                                name: name.to_string(),
                                evr: Some(Evr::new(Some(e), version, release)),
                                arch: Some(arch.to_string()),
                                module: None,
                                epoch_given: true,
                            };
                        }
                    }
                }
            }
        }
    }
    Component {
        name: id.to_string(),
        evr: None,
        arch: None,
        module: None,
        epoch_given: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_hat_purls() {
        let c = parse_rpm_purl("pkg:rpm/redhat/expat@2.5.0-3.el9_5.1?arch=x86_64").unwrap();
        assert_eq!(c.name, "expat");
        assert_eq!(c.evr, Some(Evr::new(Some(0), "2.5.0", "3.el9_5.1")));
        assert_eq!(c.arch.as_deref(), Some("x86_64"));
        let c = parse_rpm_purl(
            "pkg:rpm/redhat/nginx@1.14.1-9.module%2Bel8.0.0%2B4108%2Bcba21616?arch=x86_64&epoch=1&rpmmod=nginx:1.14:8000020190828:2b9f2f7b",
        )
        .unwrap();
        assert_eq!(
            c.evr,
            Some(Evr::new(Some(1), "1.14.1", "9.module+el8.0.0+4108+cba21616"))
        );
        assert_eq!(c.module.as_deref(), Some("nginx:1.14:8000020190828:2b9f2f7b"));
        let c = parse_rpm_purl("pkg:rpm/redhat/pam?arch=src").unwrap();
        assert!(c.is_source() && c.evr.is_none());
        let c = parse_rpm_purl("pkg:rpm/redhat/pam-libs").unwrap();
        assert_eq!((c.name.as_str(), c.arch.as_deref()), ("pam-libs", None));
        assert!(parse_rpm_purl("pkg:oci/ubi9?repository_url=registry.access.redhat.com/ubi9").is_none());
        assert!(parse_rpm_purl("pkg:rpm/redhat/").is_none());
        assert!(parse_rpm_purl("pkg:rpm/redhat/%zz%").is_some());
        assert!(parse_rpm_purl("not a purl").is_none());
    }

    #[test]
    fn a_wide_tree_is_cut_with_a_flag() {
        let leaf = |i: usize| Branch {
            category: Some("product_version".into()),
            name: None,
            product: Some(super::super::document::FullProductName {
                name: None,
                product_id: format!("p{i}"),
                product_identification_helper: None,
            }),
            branches: vec![],
        };
        let tree = ProductTree {
            branches: (0..10).map(leaf).collect(),
            relationships: vec![],
            ..ProductTree::default()
        };
        let all = ProductIndex::of_at_most(&tree, 10);
        assert!(!all.truncated && all.components.len() == 10);
        let cut = ProductIndex::of_at_most(&tree, 4);
        assert!(cut.truncated);
        assert_eq!(cut.components.len(), 4);
    }

    #[test]
    fn ids_without_purl() {
        let c = component_from_id("expat-0:2.5.0-3.el9_5.1.x86_64");
        assert_eq!(c.name, "expat");
        assert_eq!(c.evr, Some(Evr::new(Some(0), "2.5.0", "3.el9_5.1")));
        assert_eq!(component_from_id("wireshark").name, "wireshark");
        assert_eq!(component_from_id("a-b.c").name, "a-b.c");
    }

    #[test]
    fn module_stream_ids() {
        // cve-2023-2454's known_affected component (line 605).
        let c = component_from_id("postgresql:15/postgresql");
        assert_eq!(
            (c.name.as_str(), c.module.as_deref(), c.arch.as_deref(), c.evr.is_none()),
            ("postgresql", Some("postgresql:15"), None, true)
        );
        assert!(c.is_module_build());
        let c = component_from_id("satellite:el8/postgresql-evr");
        assert_eq!(
            (c.name.as_str(), c.module.as_deref()),
            ("postgresql-evr", Some("satellite:el8"))
        );
        // Containers and other slashes: the id stays the name, no stream.
        for id in [
            "openshift3/postgresql-apb",
            "devspaces/server-rhel8",
            "a:/b",
            ":s/b",
            "a:s/",
            "a:s/b/c",
            "a:b:c/d",
        ] {
            let c = component_from_id(id);
            assert_eq!((c.name.as_str(), c.module.as_deref()), (id, None), "{id}");
        }
        assert_eq!(
            module_stream_form("postgresql:15/postgresql"),
            Some(("postgresql:15", "postgresql"))
        );
        assert_eq!(module_stream_form("x:1 /y"), None);
    }

    #[test]
    fn module_builds_by_release() {
        // cve-2023-2454: an RHEL 8 module build, an RHEL 9 plain build.
        let m = parse_rpm_purl("pkg:rpm/redhat/postgresql@12.15-1.module%2Bel8.8.0%2B19427%2Bd1071523?arch=x86_64")
            .unwrap();
        assert!(m.is_module_build() && m.module.is_none());
        let plain = parse_rpm_purl("pkg:rpm/redhat/postgresql@13.11-1.el9_2?arch=x86_64").unwrap();
        assert!(!plain.is_module_build());
        assert!(component_from_id("nodejs-1:14.17.3-1.module_el8.4.0+818+5ae11b8d.x86_64").is_module_build());
        assert!(!parse_rpm_purl("pkg:rpm/redhat/pam?arch=src").unwrap().is_module_build());
    }
}
