//! Red Hat OVAL v2 definitions.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = security_advisories::oval::parse::parse(data) {
        let _ = doc.verified_files();
        for d in &doc.definitions {
            let _ = d.advisory_id();
            let _ = d.all_cves();
        }
    }
});
