//! Image references, WWW-Authenticate challenges and redirect locations, digests, platforms.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        oci_image::fuzzing::text(s);
    }
});
