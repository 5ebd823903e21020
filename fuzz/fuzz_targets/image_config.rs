//! Image configs (diff_ids, history, labels).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oci_image::fuzzing::config(data);
});
