//! `image-scan`: rpm-verify, the update check (pipeline-scanner) and the advisory check
//! (security-advisories) on each subject, in one command, with one report for the image's
//! author.
//!
//! Each subject (`--image REF` or `--rootfs DIR`) is opened **once** ([`run`]): an image's
//! layers are read and applied once (hashing files as they stream past, for rpm-verify), its
//! package database is read and parsed once
//! ([`rpmdb::InstalledPackages::preload`]), and the install layer of each package is found
//! once; the three judgements then share that root. Each judgement is the scanner's own,
//! through its library, so each part of the report is exactly the document that scanner writes
//! under atomic.
//!
//! The modules, in the order the data flows: [`options`] (the scanners' flags, with the names
//! they have there) → [`run`] (open, judge, combine) → [`findings`] (the three documents read
//! back as typed findings) → [`policy`] (`--fail-on`) → the formats: [`table`] (a person's
//! summary), [`json`] (the combined document), [`html`] (one self-contained page to mail
//! to the image's author), [`sarif`] (SARIF 2.1.0 for code-scanning dashboards) and
//! [`junit`] (JUnit XML for CI test dashboards). [`inventory`] reads the installed packages
//! for the SBOMs, [`purl`] names them; [`cyclonedx`] (CycloneDX 1.6) and [`spdx`] (SPDX
//! 2.3) write them. Re-scans (`--state`): [`state`] keeps each subject's last report and
//! the notifications not yet delivered, [`changes`] compares a report with the last one,
//! [`notify`] mails and POSTs them, [`rescan`] orders those steps so that no report is lost;
//! [`shard`] reads `--images-from` and picks `--shard`. [`cli`] is the command line.

pub mod changes;
pub mod cli;
pub mod cyclonedx;
pub mod findings;
pub mod html;
pub mod inventory;
pub mod json;
pub mod junit;
pub mod notify;
pub mod options;
pub mod policy;
pub mod purl;
pub mod rescan;
pub mod run;
pub mod sarif;
pub mod shard;
pub mod spdx;
pub mod state;
pub mod table;
