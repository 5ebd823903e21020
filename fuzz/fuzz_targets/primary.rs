//! `primary.xml` in any compression (decompressed by magic bytes with a size limit, as the
//! scanners do), parsed to the end with provides and obsoletes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use repodata::primary::{parse, ParseOptions};

fuzz_target!(|data: &[u8]| {
    let Ok((_, input)) = repodata::compression::decompress(data, 64 << 20) else {
        return;
    };
    let options = ParseOptions { provides: true };
    let _ = parse(input, options, |p| {
        let _ = p.nevra();
        let _ = p.evr().to_string();
    });
});
