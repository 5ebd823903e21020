//! The OpenPGP signature packet parser (v3 and v4) and the string rpm prints for it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = rpmdb::signature::parse(data) {
        let _ = info.to_rpm_string();
        let _ = info.key_id_hex();
    }
});
