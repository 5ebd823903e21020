//! Metalink documents (`metalink=` URLs in `.repo` files).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = repodata::metalink::Metalink::looks_like(data);
    if let Ok(m) = repodata::metalink::Metalink::parse(data) {
        let _ = m.base_urls();
    }
});
