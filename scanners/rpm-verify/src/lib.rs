//! `rpm -Va` of a container image, without rpm: every file an installed package put into the
//! image that has since been modified, replaced or removed — tampered binaries and libraries
//! above all — with rpm 4.18's exact verdict, on all cores.
//!
//! The judgement is rpm's own, module by module in the order the data flows:
//! [`files`] (a package's file list as rpm's verify reads it from the header) →
//! [`verify`] (`rpmfilesVerify`: file state, `lstat`, which checks apply, then
//! `S M 5 D L U G T P`), with [`owners`] (names resolved in the image's `/etc/passwd` and
//! `/etc/group`, behind rpm's lookup cache), [`caps`] (file capabilities), [`acl`] and
//! [`digest`] → [`shared`] (timestamps of paths several packages own) → [`report`] (the
//! findings, and rpm's line format). [`header_digest`] finds packages whose database header was
//! edited after install. [`scan`] runs it all over a root; [`policy`] and [`outcome`] turn the
//! report into the atomic result document of the two scan types.
//!
//! ```no_run
//! use rpmdb::root::Root;
//! use scanner_rpm_verify::scan::{verify_root, Options};
//! let root = Root::new("/mnt/image").unwrap();
//! let report = verify_root(&root, &Options::default()).unwrap();
//! std::io::Write::write_all(&mut std::io::stdout(), &report.rpm_va_text()).unwrap();
//! ```

pub mod acl;
pub mod caps;
pub mod digest;
pub mod files;
pub mod header_digest;
pub mod mapped;
pub mod outcome;
pub mod owners;
pub mod policy;
pub mod report;
pub mod scan;
pub mod shared;
pub mod verify;

use atomic_protocol::{Outcome, ScanFailure, ScanType, Scanner};
use policy::Policy;
use rpmdb::root::Root;
use std::os::unix::ffi::OsStrExt;

/// The scanner's own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyOptions {
    /// Threads that check files (default: every core).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Do not count extended POSIX ACLs as mode changes (rpm built without libacl, e.g.
    /// Debian's, does not look at them).
    #[arg(long)]
    pub ignore_acls: bool,
}

impl VerifyOptions {
    pub fn scan_options(&self) -> scan::Options {
        let mut o = scan::Options::default();
        if let Some(n) = self.workers {
            o.workers = n.max(1);
        }
        o.acls = !self.ignore_acls;
        o
    }
}

/// The `scanner-rpm-verify` scanner.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpmVerify;

const SCAN_TYPES: [ScanType; 2] = [
    ScanType {
        name: policy::DEFAULT_SCAN,
        description: "Verify installed RPMs",
        label: outcome::SCAN_TYPE_LABEL,
    },
    ScanType {
        name: policy::ALL_SCAN,
        description: "Verify installed RPMs, reporting everything rpm -Va reports, config files included",
        label: outcome::SCAN_TYPE_LABEL,
    },
];

impl Scanner for RpmVerify {
    type Options = VerifyOptions;

    fn name(&self) -> &'static str {
        "scanner-rpm-verify"
    }

    fn atomic_name(&self) -> &'static str {
        "rpm-verify"
    }

    fn scan_types(&self) -> &'static [ScanType] {
        &SCAN_TYPES
    }

    fn default_scan(&self) -> &'static str {
        policy::DEFAULT_SCAN
    }

    fn manifest(&self) -> &'static str {
        include_str!("../../../atomic-config/rpm-verify")
    }

    fn scan(&self, root: &Root, scan_type: &str, options: &VerifyOptions) -> Result<Outcome, ScanFailure> {
        let policy =
            Policy::for_scan_type(scan_type).ok_or_else(|| ScanFailure(format!("unknown scan type {scan_type:?}")))?;
        let mut report = scan::verify_root(root, &options.scan_options()).map_err(|e| ScanFailure(e.to_string()))?;
        if root.image().is_some() {
            for f in &mut report.files {
                let path = std::path::Path::new(std::ffi::OsStr::from_bytes(&f.path));
                f.layer = atomic_protocol::image::path_layer(root, path);
            }
        }
        Ok(outcome::outcome(&report, policy, scan_type))
    }

    fn reads_file_digests(&self) -> bool {
        true
    }
}
