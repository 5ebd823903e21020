//! The two scan types and which `rpm -Va` lines each reports.
//!
//! - `rpm-verify` (the default) keeps the original CentOS pipeline scanner's policy
//!   (`atomic_scanners/rpm-verify` in CentOS/container-pipeline-service): it ran
//!   `rpm --root=<image> -Va` and kept only lines that
//!   - have no attribute letter: config (`c`) and documentation (`d`) files were dropped
//!     explicitly, and its line pattern `^([0-9A-Za-z.]+)\s+([c]{0,1})\s+(\W.*)$` never
//!     matched the other letters (`g` ghost, `l` license, `r` readme, `a` artifact,
//!     `m` missingok), so those were dropped too;
//!   - are not under `/var`, `/run`, `/media`, `/mnt`, `/tmp`, `/proc`, `/sys`, `/boot`
//!     (the pipeline compared strings, so it also dropped e.g. `/variable`; here the test is by
//!     path component, so only what is really under those directories is left out);
//!   - are not `/` itself, nor one of the systemd hwdb files slimmed base images delete
//!     ([`SKIPPED_PATHS`]).
//! - `rpm-verify-all`: every line `rpm -Va` prints, config files included.
//!
//! Header-digest findings and packages that could not be verified are reported by both.

use crate::report::FileFinding;

/// The scan types, as named in the manifest.
pub const DEFAULT_SCAN: &str = "rpm-verify";
pub const ALL_SCAN: &str = "rpm-verify-all";

/// Directories whose contents are expected to change in a running image.
pub const SKIPPED_DIRS: [&str; 8] = ["/var", "/run", "/media", "/mnt", "/tmp", "/proc", "/sys", "/boot"];

/// Paths the pipeline's base images were known to change: `/` itself and the systemd hwdb
/// sources that slimmed images delete.
pub const SKIPPED_PATHS: [&str; 14] = [
    "/",
    "/usr/lib/udev/hwdb.d/20-OUI.hwdb",
    "/usr/lib/udev/hwdb.d/20-acpi-vendor.hwdb",
    "/usr/lib/udev/hwdb.d/20-bluetooth-vendor-product.hwdb",
    "/usr/lib/udev/hwdb.d/20-net-ifname.hwdb",
    "/usr/lib/udev/hwdb.d/20-pci-classes.hwdb",
    "/usr/lib/udev/hwdb.d/20-pci-vendor-model.hwdb",
    "/usr/lib/udev/hwdb.d/20-sdio-classes.hwdb",
    "/usr/lib/udev/hwdb.d/20-sdio-vendor-model.hwdb",
    "/usr/lib/udev/hwdb.d/20-usb-classes.hwdb",
    "/usr/lib/udev/hwdb.d/20-usb-vendor-model.hwdb",
    "/usr/lib/udev/hwdb.d/60-keyboard.hwdb",
    "/usr/lib/udev/hwdb.d/70-mouse.hwdb",
    "/usr/lib/udev/hwdb.d/70-touchpad.hwdb",
];

/// Which lines a scan reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `rpm-verify`: the pipeline's policy.
    Pipeline,
    /// `rpm-verify-all`: everything.
    Everything,
}

impl Policy {
    pub fn for_scan_type(name: &str) -> Option<Policy> {
        match name {
            DEFAULT_SCAN => Some(Policy::Pipeline),
            ALL_SCAN => Some(Policy::Everything),
            _ => None,
        }
    }

    /// Whether a finding is reported.
    pub fn keeps(self, f: &FileFinding) -> bool {
        match self {
            Policy::Everything => true,
            Policy::Pipeline => f.attribute() == ' ' && !is_skipped_path(&f.path),
        }
    }
}

/// Under one of [`SKIPPED_DIRS`] (by whole path components), or one of [`SKIPPED_PATHS`].
pub fn is_skipped_path(path: &[u8]) -> bool {
    if SKIPPED_PATHS.iter().any(|p| p.as_bytes() == path) {
        return true;
    }
    SKIPPED_DIRS.iter().any(|d| {
        let d = d.as_bytes();
        path.starts_with(d) && (path.len() == d.len() || path[d.len()] == b'/')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_paths_are_whole_components() {
        assert!(is_skipped_path(b"/var"));
        assert!(is_skipped_path(b"/var/lib/x"));
        assert!(!is_skipped_path(b"/variable/x"));
        assert!(is_skipped_path(b"/"));
        assert!(is_skipped_path(b"/usr/lib/udev/hwdb.d/20-OUI.hwdb"));
        assert!(!is_skipped_path(b"/usr/bin/ls"));
    }
}
