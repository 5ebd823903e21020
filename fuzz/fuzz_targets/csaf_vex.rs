//! Red Hat CSAF VEX documents: the bounded reader, the product tree index and the judgement
//! against a small RHEL 9 image.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rpmdb::version::Evr;
use security_advisories::csaf::{document, judge, platform::Platform, products::ProductIndex};
use security_advisories::finding::Selection;
use security_advisories::installed::{InstalledIndex, InstalledPackage};
use std::collections::BTreeMap;

fn package(name: &str, evr: &str, arch: &str, source: &str) -> InstalledPackage {
    InstalledPackage {
        name: name.into(),
        evr: Evr::parse(evr),
        arch: arch.into(),
        nvra: format!("{name}-{evr}.{arch}"),
        key_id: None,
        modularity_label: None,
        source_name: Some(source.into()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = document::parse(data) else { return };
    let index = ProductIndex::of(&doc.product_tree);
    let installed = InstalledIndex::from_packages([
        package("expat", "2.5.0-2.el9", "x86_64", "expat"),
        package("mingw32-expat", "2.2.5-3.el8", "noarch", "mingw-expat"),
        package("pam", "1.5.1-19.el9", "x86_64", "pam"),
    ]);
    let sources = judge::SourceIndex::of(&installed);
    for cpes in [
        vec!["cpe:/o:redhat:enterprise_linux:9::baseos", "cpe:/a:redhat:enterprise_linux:9::appstream"],
        vec!["cpe:/o:redhat:rhel_eus:9.4::baseos"],
    ] {
        let platform = Platform::from_cpes(cpes.into_iter().map(str::to_string).collect(), "fuzz", String::new());
        for ignore_unfixed in [false, true] {
            let cx = judge::Context {
                installed: &installed,
                sources: &sources,
                platform: &platform,
                selection: Selection {
                    all_types: false,
                    min_severity: None,
                },
                ignore_unfixed,
                source: "fuzz",
                document: "fuzz",
            };
            let mut findings = BTreeMap::new();
            judge::judge(&doc, &index, &cx, &mut findings);
        }
    }
});
