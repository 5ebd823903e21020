//! The header parser, then everything read from the package: files(), signature(), NEVRA.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    atomic_scanners_fuzz::read_package(1, data.to_vec());
});
