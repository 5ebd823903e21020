//! `repomd.xml`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(md) = repodata::repomd::Repomd::parse(data) {
        let _ = md.data("primary");
        let _ = md.data("updateinfo");
    }
});
