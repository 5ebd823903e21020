//! An image author's VEX documents (`--vex`: OpenVEX or CSAF VEX): the sniffing reader, and
//! the statements applied to findings of a small RHEL 9 image.
#![no_main]
use atomic_scanners_fuzz::installed_package;
use libfuzzer_sys::fuzz_target;
use repodata::updateinfo::AdvisoryKind;
use security_advisories::author_vex::{self, Statements};
use security_advisories::finding::{AffectedPackage, Finding};
use security_advisories::installed::{InstalledIndex, InstalledPackage};

fn finding(id: &str, cves: &[&str], installed: &[&InstalledPackage]) -> Finding {
    Finding {
        id: id.into(),
        kind: AdvisoryKind::Security,
        title: None,
        severity: None,
        severity_raw: None,
        cves: cves.iter().map(|c| c.to_string()).collect(),
        issued: None,
        updated: None,
        packages: installed
            .iter()
            .map(|p| AffectedPackage {
                installed: p.nevra(),
                fixed: None,
                fixed_evr: None,
                module: None,
                status: None,
                advisory: None,
            })
            .collect(),
        sources: ["fuzz".to_string()].into(),
        vex: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut warnings = Vec::new();
    let (_, read) = author_vex::read_document(data, "fuzz", &mut warnings);
    let Ok(list) = read else { return };
    let expat = installed_package("expat", "2.5.0-2.el9", "x86_64", "expat");
    let pam = installed_package("pam", "1.5.1-19.el9", "x86_64", "pam");
    let installed = InstalledIndex::from_packages([expat.clone(), pam.clone()]);
    let mut findings = vec![
        finding("RHSA-2024:1", &["CVE-2024-50602"], &[&expat]),
        finding("RHSA-2024:2", &["CVE-2024-50602", "CVE-2024-1"], &[&expat, &pam]),
        finding("CVE-2024-2", &["CVE-2024-2"], &[&pam]),
    ];
    let s = author_vex::apply(Statements { list, files: Vec::new() }, &mut findings, &installed);
    let _ = s.summary_clause();
});
