//! The image's package-manager configuration: the input is written as a `.repo` file (and,
//! when it contains the marker `\0--conf--\0`, the part before it as `/etc/dnf/dnf.conf`),
//! then read as the scanners read an image's configuration, variables substituted.
#![no_main]
use libfuzzer_sys::fuzz_target;
use repodata::config::{parse_ini, ImageConfig, SystemFacts};
use rpmdb::root::Root;
use std::path::Path;
use std::sync::OnceLock;

const CONF_MARKER: &[u8] = b"\0--conf--\0";

fn root_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir_in(atomic_scanners_fuzz::scratch_dir()).expect("scratch root");
        std::fs::create_dir_all(d.path().join("etc/yum.repos.d")).expect("repos dir");
        std::fs::create_dir_all(d.path().join("etc/dnf/vars")).expect("vars dir");
        std::fs::write(d.path().join("etc/dnf/vars/contentdir"), "centos\n").expect("var");
        d
    })
    .path()
}

fuzz_target!(|data: &[u8]| {
    let (conf, repo) = match data.windows(CONF_MARKER.len()).position(|w| w == CONF_MARKER) {
        Some(at) => (Some(&data[..at]), &data[at + CONF_MARKER.len()..]),
        None => (None, data),
    };
    let dir = root_dir();
    let conf_path = dir.join("etc/dnf/dnf.conf");
    match conf {
        Some(c) => std::fs::write(&conf_path, c).expect("write dnf.conf"),
        None => {
            let _ = std::fs::remove_file(&conf_path);
        }
    }
    std::fs::write(dir.join("etc/yum.repos.d/fuzz.repo"), repo).expect("write .repo");
    let _ = parse_ini(&String::from_utf8_lossy(repo));
    let root = Root::new(dir).expect("root");
    let facts = SystemFacts {
        arch: "x86_64".into(),
        releasever: Some("9".into()),
    };
    let config = ImageConfig::read(&root, &facts);
    for r in config.enabled_repos() {
        let _ = format!("{r:?}");
    }
});
