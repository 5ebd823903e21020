//! NDB `Packages.db`: open the input as a database file and read every header.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rpmdb::db::ndb::NdbReader;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let file = atomic_scanners_fuzz::scratch_file(data);
    if let Ok(reader) = NdbReader::new(file, Path::new("/var/lib/rpm/Packages.db")) {
        atomic_scanners_fuzz::drain(reader);
    }
});
