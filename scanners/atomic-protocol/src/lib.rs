//! The atomic scan protocol, shared by every scanner binary.
//!
//! A scanner implements [`Scanner`]: it judges one root filesystem and returns an
//! [`Outcome`] (or a [`ScanFailure`]). This crate does everything else, so that every scanner
//! behaves the same under `atomic scan`, under a plain `podman run`, and stand-alone:
//!
//! - [`cli`]: the command line (clap, with the scanner's own [`Scanner::Options`] flattened in)
//!   and the exit codes;
//! - [`subjects`]: the subjects to scan (`/scanin/<folder>` or `--rootfs DIR`), scanned in
//!   parallel, each in isolation, and the `/scanout/<folder>/json` layout written;
//! - [`document`]: the result document, one data model, printed as the JSON atomic reads;
//! - [`table`]: the same documents as a human summary (`--format table`);
//! - [`install`]: `install` / `uninstall` of the manifest in `$HOST/etc/atomic.d`;
//! - [`progress`]: progress on stderr, only when it is a terminal and the work is long;
//! - [`image`]: image subjects (`--image REF`) opened, and the layer object findings carry;
//! - [`memory`]: the allocator settings every binary starts with.
//!
//! It reads no package database and no repository (so it pulls in neither SQLite nor the
//! metadata parsers): the flags of repository scanners are `repodata::cli`'s, and which layer
//! installed a package is `rpmdb::layers`'; this crate only lays a layer out as JSON.
//!
//! A scanner binary's `main.rs` is one line:
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     atomic_protocol::main(scanner_rpm_verify::RpmVerify)
//! }
//! ```
//!
//! # The command line every scanner shares
//!
//! | invocation | what happens |
//! | --- | --- |
//! | `SCANNER --scan-type NAME` (no `--rootfs`) | **atomic mode**: every entry of `/scanin` is a subject; `/scanout/<entry>/json` is written for each (`--scanin DIR --scanout DIR` override the two folders) |
//! | `SCANNER --rootfs DIR [--rootfs DIR2 ...]` | **stand-alone**: the documents go to stdout (`--format json` or `table`), or with `--output DIR` into `DIR/<folder>/json` as in atomic mode |
//! | `SCANNER install [--host DIR] [--image NAME]` | writes the embedded manifest to `DIR/etc/atomic.d/<scanner_name>` with `image_name: NAME` (`NAME` defaults to `$IMAGE`, `DIR` to `/host`) |
//! | `SCANNER uninstall [--host DIR]` | removes that file |
//! | `SCANNER manifest [--image NAME]` | prints the manifest `install` would write |
//!
//! Stand-alone JSON: with one `--rootfs` stdout holds that subject's document; with several,
//! a JSON array of the documents in the order the roots were given.
//!
//! Exit status: **0** the scanner ran (in atomic mode even when some subjects could not be
//! scanned: their `json` says `"Successful": "false"`, because `atomic` prints no summary at all
//! after a non-zero exit); **1** only with `--fail-on-findings`, when a subject has findings;
//! **2** the scanner could not run: a bad command line, no `/scanin` folder, a `/scanout` that
//! cannot be written, **zero subjects in `/scanin`** (nothing was mounted there: a message on
//! stderr, no file written), and in stand-alone mode also any subject that could not be
//! scanned (its document is still printed).
//!
//! Flags that `atomic scan --scanner_args k=v,flag` appends as `--k v --flag` are the
//! scanner's own options: every long option spelled with `-` is also accepted with `_`
//! (`--cache-dir` and `--cache_dir`). An unknown option is a command-line error (exit 2).
//!
//! # Conventions for `atomic-config/<scanner_name>` (each scanner's manifest)
//!
//! The manifest is the single source of truth; the binary embeds it
//! (`include_str!("../../../atomic-config/<scanner_name>")`, returned by
//! [`Scanner::manifest`]) and writes it at `install`. It is YAML as atomic reads it, in
//! this shape (keys in this order, one key per line, `image_name` on a line of its own at
//! the left margin because `install` rewrites that line):
//!
//! ```yaml
//! type: scanner
//! scanner_name: rpm-verify                  # = Scanner::atomic_name()
//! image_name: localhost/scanner-rpm-verify  # the image `make images` builds: localhost/<binary>
//! default_scan: rpm-verify                  # = Scanner::default_scan()
//! scans:                                    # one per Scanner::scan_types(), same order
//!   - name: rpm-verify
//!     args: ["--scan-type", "rpm-verify"]
//!     description: "Verify installed RPMs"
//! ```
//!
//! - `args` is always exactly `["--scan-type", "<scans[].name>"]`: the image's ENTRYPOINT is
//!   the binary, so no program name; no positional arguments; no `$` and no spaces (atomic
//!   expands `$VAR` and re-splits on white space).
//! - No `custom_args`: atomic's own `docker run` line is all a scanner needs.
//! - `description` is what `atomic scan --list` shows; keep it the same as
//!   [`ScanType::description`].
//! - The `"Scanner"` value in the result is [`Scanner::name`] (the seed's names:
//!   `scanner-rpm-verify`, `pipeline-scanner`), while `scanner_name` is
//!   [`Scanner::atomic_name`] (`rpm-verify`, `pipeline-scanner`).
//!
//! # The result document
//!
//! See [`document`]: `Scanner`, `Successful` (the **string** `"true"`/`"false"`), `Time`,
//! `Start Time`, `Finished Time` (local time, `%Y-%m-%d-%H-%M-%S-%f`), `Scan Type`,
//! `CVE Feed Last Updated`, `UUID` (the subject folder with one leading `_` removed: `_mnt`
//! gives `mnt`, an image id stays whole), `Summary`, `Scan Results`, and atomic's optional
//! `Custom`, `Results`, `Vulnerabilities`. A subject that could not be scanned gets
//! `"Successful": "false"`, `Summary` and `Error` saying why.

pub mod cli;
pub mod document;
pub mod image;
pub mod install;
pub mod memory;
pub mod progress;
pub mod subjects;
pub mod table;

use rootfs::Root;
use serde_json::Value;

pub use document::ResultDocument;

/// One scan type of a scanner: the manifest's `scans[].name`, its description, and the
/// `"Scan Type"` value every document of that scan carries, scanned or failed alike (one
/// value per scan type, so a consumer can group results by it).
#[derive(Debug, Clone, Copy)]
pub struct ScanType {
    pub name: &'static str,
    pub description: &'static str,
    pub label: &'static str,
}

/// A finding that `atomic scan` prints under "The following issues were found" and counts as
/// vulnerable.
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability {
    pub title: String,
    /// Critical, Important, Moderate or Low.
    pub severity: String,
    pub custom: Value,
}

/// What a scanner found in one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The seed's `"Scan Results"` object.
    pub scan_results: Value,
    /// One sentence: what was found, or that nothing was.
    pub summary: String,
    /// `"CVE Feed Last Updated"`: "NA" when the scanner uses no feed.
    pub cve_feed_last_updated: String,
    /// Atomic's `Vulnerabilities` list (printed as issues, counted as vulnerable).
    pub vulnerabilities: Vec<Vulnerability>,
    /// Atomic's `Results` list of `{Custom}` objects, printed when there are no vulnerabilities.
    pub results: Vec<Value>,
    /// Atomic's `Custom` tree printed in the summary.
    pub custom: Option<Value>,
    /// Whether anything was found (for `--fail-on-findings`).
    pub has_findings: bool,
}

impl Outcome {
    /// An outcome with no feed (`"NA"`), no atomic lists, no `Custom` and no findings; set the
    /// other fields on the value returned.
    pub fn new(scan_results: Value, summary: impl Into<String>) -> Outcome {
        Outcome {
            scan_results,
            summary: summary.into(),
            cve_feed_last_updated: "NA".to_string(),
            vulnerabilities: Vec::new(),
            results: Vec::new(),
            custom: None,
            has_findings: false,
        }
    }
}

/// Why a subject could not be scanned; becomes `"Successful": "false"` with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScanFailure(pub String);

/// A file a scanner writes beside `json` in the subject's output folder, e.g. the seed's
/// `image_scan_results.json`. `name` must be a plain file name other than `json`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraFile {
    pub name: String,
    pub contents: Value,
}

/// A scanner binary's judgement of one root filesystem.
pub trait Scanner: Sync {
    /// The scanner's own flags (beyond the shared ones), e.g. `--cache-dir`.
    type Options: clap::Args + Sync + Send;

    /// `"Scanner"` value, e.g. `scanner-rpm-verify`.
    fn name(&self) -> &'static str;
    /// The atomic `scanner_name`, e.g. `rpm-verify`.
    fn atomic_name(&self) -> &'static str;
    fn scan_types(&self) -> &'static [ScanType];
    fn default_scan(&self) -> &'static str;
    /// The manifest text (atomic-config/<scanner_name>), embedded in the binary.
    fn manifest(&self) -> &'static str;
    /// Judge one root.
    fn scan(&self, root: &Root, scan_type: &str, options: &Self::Options) -> Result<Outcome, ScanFailure>;

    /// Whether the scanner compares file digests: an image subject's layer pass then hashes
    /// every regular file as it streams past (rpm-verify), instead of reading layers again.
    fn reads_file_digests(&self) -> bool {
        false
    }

    /// Files written beside `json` in the subject's output folder (atomic mode and
    /// `--output`), made from the finished document. None by default.
    fn extra_files(&self, document: &ResultDocument) -> Vec<ExtraFile> {
        let _ = document;
        Vec::new()
    }
}

/// The whole program of a scanner binary: parse the command line, run, and give the exit
/// status (see the crate documentation for the modes and exit codes).
pub fn main<S: Scanner>(scanner: S) -> std::process::ExitCode {
    memory::keep_freed_memory();
    let status = cli::run(
        &scanner,
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    std::process::ExitCode::from(status)
}
