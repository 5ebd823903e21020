//! Red Hat CSAF VEX documents: the bounded reader, the product tree index and the judgement
//! against a small RHEL 8/9 image, with packages of module streams (MODULARITYLABEL) and
//! outside them.
#![no_main]
use atomic_scanners_fuzz::installed_package;
use libfuzzer_sys::fuzz_target;
use security_advisories::csaf::{document, judge, platform::Platform, products::ProductIndex};
use security_advisories::finding::Selection;
use security_advisories::installed::InstalledIndex;
use security_advisories::installed::InstalledPackage;
use std::collections::BTreeMap;

fn modular(mut p: InstalledPackage, label: &str) -> InstalledPackage {
    p.modularity_label = Some(label.to_string());
    p
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = document::parse(data) else { return };
    let index = ProductIndex::of(&doc.product_tree);
    let installed = InstalledIndex::from_packages([
        installed_package("expat", "2.5.0-2.el9", "x86_64", "expat"),
        installed_package("mingw32-expat", "2.2.5-3.el8", "noarch", "mingw-expat"),
        installed_package("pam", "1.5.1-19.el9", "x86_64", "pam"),
        modular(
            installed_package("postgresql", "12.14-1.module+el8.7.0+1+a", "x86_64", "postgresql"),
            "postgresql:12:8070020230131:ad008a3a",
        ),
        modular(
            installed_package(
                "pg_repack",
                "1.4.6-3.module+el8.5.0+11354+78b3c9c5",
                "x86_64",
                "pg_repack",
            ),
            "postgresql:12:8050020210101:x",
        ),
        modular(
            installed_package("postgresql-server", "15.2-1.module+el9.2.0+1+b", "x86_64", "postgresql"),
            "postgresql:15:9020020230101:rhel9",
        ),
        installed_package("postgresql-contrib", "13.10-1.el9", "x86_64", "postgresql"),
    ]);
    let sources = judge::SourceIndex::of(&installed);
    for cpes in [
        vec![
            "cpe:/o:redhat:enterprise_linux:9::baseos",
            "cpe:/a:redhat:enterprise_linux:9::appstream",
        ],
        vec!["cpe:/o:redhat:rhel_eus:9.4::baseos"],
        vec![
            "cpe:/o:redhat:enterprise_linux:8::baseos",
            "cpe:/a:redhat:enterprise_linux:8::appstream",
        ],
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
