//! `updateinfo.xml` in any compression, read advisory by advisory to the end.
#![no_main]
use libfuzzer_sys::fuzz_target;
use repodata::updateinfo::UpdateinfoReader;

fuzz_target!(|data: &[u8]| {
    let Ok((_, input)) = repodata::compression::decompress(data, 64 << 20) else {
        return;
    };
    let mut reader = UpdateinfoReader::new(input);
    while let Ok(Some(adv)) = reader.next_advisory() {
        let _ = adv.cves();
        let _ = adv.newest_date();
        for c in &adv.collections {
            for p in &c.packages {
                let _ = p.nevra();
            }
        }
    }
    let _ = reader.take_warnings();
});
