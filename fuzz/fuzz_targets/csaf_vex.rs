//! Red Hat CSAF VEX documents: the bounded reader, the product tree index and the judgement
//! against a small RHEL 9 image.
#![no_main]
use atomic_scanners_fuzz::installed_package;
use libfuzzer_sys::fuzz_target;
use security_advisories::csaf::{document, judge, platform::Platform, products::ProductIndex};
use security_advisories::finding::Selection;
use security_advisories::installed::InstalledIndex;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = document::parse(data) else { return };
    let index = ProductIndex::of(&doc.product_tree);
    let installed = InstalledIndex::from_packages([
        installed_package("expat", "2.5.0-2.el9", "x86_64", "expat"),
        installed_package("mingw32-expat", "2.2.5-3.el8", "noarch", "mingw-expat"),
        installed_package("pam", "1.5.1-19.el9", "x86_64", "pam"),
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
