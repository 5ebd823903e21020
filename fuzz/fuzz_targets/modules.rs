//! `modules.yaml` (modulemd streams and defaults) in any compression.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((_, input)) = repodata::compression::decompress(data, 64 << 20) else {
        return;
    };
    let _ = repodata::modules::parse(input);
});
