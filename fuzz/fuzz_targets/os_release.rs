//! `/etc/os-release` and the `/etc/redhat-release` one-line fallback.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rootfs::osrelease::parse_os_release(&text).display_name();
    let _ = rootfs::osrelease::parse_release_line(&text).display_name();
});
