//! Image manifests and indexes / manifest lists (registry and layout bytes).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    oci_image::fuzzing::manifest(data);
});
