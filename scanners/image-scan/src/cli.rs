//! The command line: subjects, the scanners' options, the report formats and the CI policy.
//!
//! Exit status: **0** every check ran on every subject and no subject breaches `--fail-on`;
//! **1** a subject breaches `--fail-on`; **2** could not run: a bad command line, a report
//! that cannot be written, or a check that could not run on some subject (its part of the
//! report says why; a scan that checked nothing never passes).

use crate::findings::Findings;
use crate::notify::{Notifier, NotifyArgs};
use crate::options::ScanOptions;
use crate::policy::{self, Condition};
use crate::run::{self, RunReport, SubjectReport};
use crate::state::StateDir;
use atomic_protocol::cli::Action;
use atomic_protocol::image::ImageArgs;
use atomic_protocol::subjects::{self, Subject};
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The atomic manifest `install` writes (`atomic-config/image-scan`).
pub const MANIFEST: &str = include_str!("../../../atomic-config/image-scan");

pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_BREACH: u8 = 1;
pub const EXIT_COULD_NOT_RUN: u8 = 2;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One summary line per subject, then aligned tables (default on a terminal).
    Table,
    /// The combined documents (see the README's schema): one object, or an array for several
    /// subjects (default when stdout is not a terminal).
    Json,
    /// One self-contained HTML page for the image's author (no scripts, nothing fetched;
    /// readable in a mail client).
    Html,
    /// A CycloneDX 1.6 JSON SBOM: each subject a container component, its installed RPMs
    /// library components with their purls, licences and install layers.
    Cyclonedx,
    /// An SPDX 2.3 JSON SBOM: each subject a CONTAINER package that CONTAINS a package per
    /// installed RPM.
    Spdx,
    /// SARIF 2.1.0, one run per subject, one result per finding (GitHub code scanning, GitLab).
    Sarif,
    /// JUnit XML, one test suite per subject, one test case per check (CI test dashboards).
    Junit,
}

#[derive(Debug, Parser)]
#[command(
    name = "image-scan",
    version,
    about = "Every scanner on each image at once: tampered files (rpm -Va), updates (dnf check-update) and \
             advisories (dnf updateinfo list), each subject read once, one combined report.",
    after_help = "Examples:
  image-scan --image docker://registry.example.org/team/app:1.4
  image-scan --rootfs /mnt/image --repo base=https://mirror.example/9/BaseOS/x86_64/os/ --no-image-repos
  image-scan --image oci-archive:app.tar --report json=scan.json --fail-on tampered,severity=Important

Without --rootfs and --image: atomic mode, every folder of --scanin is a subject and
<scanout>/<folder>/json is written for each (the combined document).

Exit status:
  0  every check ran on every subject, and none breaches --fail-on
  1  a subject breaches --fail-on (tampered, updates, advisories, severity=S: S or higher)
  2  could not run: bad arguments, a report that cannot be written, a check that could not
     run on a subject (no repository readable, no RPM database...): the report says why;
     or a notification not delivered (kept in --state DIR, retried by the next run)

Re-scans (--state): the report gains a Changes section; --notify changes mails the image's
author (or --mail-to) and POSTs to --webhook only what changed:
  image-scan --images-from images.txt --shard /8 --state /var/lib/image-scan \\
    --smtp smtp://mail.example:587 --smtp-credentials /run/secrets/smtp --mail-from scan@example.org"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// install, uninstall, manifest: the atomic manifest (the image's INSTALL and UNINSTALL
    /// labels run these; the image has no shell).
    #[command(subcommand)]
    pub action: Option<Action>,

    /// Scan this root filesystem (an unpacked or mounted image); repeatable.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Vec<PathBuf>,

    #[command(flatten)]
    pub images: ImageArgs,

    #[command(flatten)]
    pub scan: ScanOptions,

    /// What to print on stdout [default: table on a terminal, else json].
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// Also write the report in format F to FILE (F=FILE); repeatable.
    #[arg(long, value_name = "F=FILE", value_parser = parse_report)]
    pub report: Vec<(Format, PathBuf)>,

    /// Exit with status 1 when a subject meets any of these conditions: tampered, updates,
    /// advisories, severity=Critical|Important|Moderate|Low (comma-separated).
    #[arg(long, value_name = "COND,...", value_delimiter = ',', value_parser = policy::parse_condition)]
    pub fail_on: Vec<Condition>,

    /// Also scan each image named in FILE: one reference a line; blank lines and lines
    /// starting with # are skipped (`-`: standard input).
    #[arg(long, value_name = "FILE")]
    pub images_from: Option<PathBuf>,

    /// Scan only the I-th of N stable shards of the images (by the SHA-256 of the reference);
    /// `/N` takes I from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's pod index).
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// Keep each subject's last report in DIR (by reference and by image digest); the report
    /// then says what changed since, and undelivered notifications wait there.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub notify: NotifyArgs,

    /// Atomic mode: the folder holding one subject folder per image.
    #[arg(long, value_name = "DIR", default_value = "/scanin")]
    pub scanin: PathBuf,

    /// Atomic mode: where <folder>/json is written for each folder of --scanin.
    #[arg(long, value_name = "DIR", default_value = "/scanout")]
    pub scanout: PathBuf,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (f, file) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected F=FILE"))?;
    let format = Format::from_str(f, true).map_err(|_| format!("{f:?}: not a report format"))?;
    if file.is_empty() {
        return Err(format!("{s:?}: no file name"));
    }
    Ok((format, PathBuf::from(file)))
}

pub fn main() -> ExitCode {
    atomic_protocol::memory::keep_freed_memory();
    ExitCode::from(run(std::env::args_os(), &mut std::io::stdout(), &mut std::io::stderr()))
}

/// The whole program; returns the exit status.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let parsed = atomic_protocol::cli::underscore_aliases(Cli::command())
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let text = e.render().to_string();
            return if e.use_stderr() {
                let _ = write!(err, "{text}");
                EXIT_COULD_NOT_RUN
            } else {
                let _ = write!(out, "{text}");
                EXIT_CLEAN
            };
        }
    };
    if let Some(action) = cli.action {
        return atomic_protocol::cli::run_action("image-scan", "image-scan", MANIFEST, action, out, err);
    }
    let atomic_mode = cli.rootfs.is_empty() && cli.images.images.is_empty() && cli.images_from.is_none();
    let setup = (|| -> Result<_, String> {
        let notifier = Notifier::from_args(&cli.notify)?;
        let state = match &cli.state {
            Some(dir) => Some(StateDir::open(dir)?),
            None if notifier.is_some() => {
                return Err("--webhook and --smtp need --state DIR (where undelivered notifications wait)".into())
            }
            None => None,
        };
        Ok((notifier, state))
    })();
    let (notifier, state) = match setup {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "image-scan: {e}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let subjects = match subjects_of(&cli, atomic_mode) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "image-scan: {e}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    // One metadata cache for the run: a repository is downloaded once for every check and
    // subject.
    let temporary_cache;
    let cache_dir = match &cli.scan.repositories.cache_dir {
        Some(d) => d.clone(),
        None => match tempfile::Builder::new().prefix("image-scan-cache").tempdir() {
            Ok(t) => {
                temporary_cache = t;
                temporary_cache.path().to_path_buf()
            }
            Err(e) => {
                let _ = writeln!(err, "image-scan: cannot create a temporary metadata cache: {e}");
                return EXIT_COULD_NOT_RUN;
            }
        },
    };
    let checks = cli.scan.checks();
    let mut reports: Vec<(SubjectReport, Findings)> = Vec::new();
    for subject in &subjects {
        let report = run::scan_subject(subject, &cli.images, &cli.scan, &checks, &cache_dir);
        let findings = Findings::of(&report);
        reports.push((report, findings));
    }
    let fail_on: Vec<String> = cli.fail_on.iter().map(|c| c.to_string()).collect();
    let breaches: Vec<Vec<String>> = reports.iter().map(|(_, f)| policy::breaches(&cli.fail_on, f)).collect();
    let mut docs: Vec<serde_json::Value> = reports
        .iter()
        .zip(&breaches)
        .map(|((r, f), b)| crate::json::document(r, f, &fail_on, b))
        .collect();

    let mut rescan = crate::rescan::Outcome::default();
    if let Some(state) = &state {
        let mut parts = crate::rescan::RunParts {
            subjects: &reports,
            documents: &mut docs,
            fail_on: &fail_on,
            breaches: &breaches,
        };
        crate::rescan::record(state, notifier.as_ref(), &mut parts, &mut rescan);
        crate::rescan::deliver(state, notifier.as_ref(), &mut parts, &mut rescan);
    }

    let mut status = if rescan.failed || reports.iter().any(|(r, _)| !r.complete()) {
        EXIT_COULD_NOT_RUN
    } else if breaches.iter().any(|b| !b.is_empty()) {
        EXIT_BREACH
    } else {
        EXIT_CLEAN
    };
    let run = RunReport {
        subjects: &reports,
        documents: &docs,
        fail_on: &fail_on,
        breaches: &breaches,
    };
    let render = |format: Format, colour: bool| -> String {
        match format {
            Format::Table => crate::table::render_run(&run, colour),
            Format::Json => crate::json::render(run.documents),
            Format::Html => crate::html::render(&run),
            Format::Cyclonedx => crate::cyclonedx::render(&run),
            Format::Spdx => crate::spdx::render(&run),
            Format::Sarif => crate::sarif::render(&run),
            Format::Junit => crate::junit::render(&run),
        }
    };
    for (format, file) in &cli.report {
        if let Err(e) = subjects::write_file(file, render(*format, false).as_bytes()) {
            let _ = writeln!(err, "image-scan: cannot write the report: {e}");
            status = EXIT_COULD_NOT_RUN;
        }
    }
    if atomic_mode {
        for (doc, (report, _)) in docs.iter().zip(&reports) {
            // atomic reads <scanout>/<the subject's folder under /scanin>/json.
            let dir = cli.scanout.join(&report.subject.folder);
            let written = std::fs::create_dir_all(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))
                .and_then(|()| {
                    subjects::write_file(
                        &dir.join("json"),
                        crate::json::render(std::slice::from_ref(doc)).as_bytes(),
                    )
                });
            if let Err(e) = written {
                let _ = writeln!(err, "image-scan: cannot write a result: {e}");
                return EXIT_COULD_NOT_RUN;
            }
        }
    }
    let colour = crate::table::colour_wanted();
    let format = cli.format.unwrap_or(if atomic_mode || colour {
        Format::Table
    } else {
        Format::Json
    });
    let _ = out.write_all(render(format, colour && format == Format::Table).as_bytes());
    let _ = out.flush();
    for line in &rescan.messages {
        let _ = writeln!(err, "image-scan: {line}");
    }
    for (report, _) in reports.iter().filter(|(r, _)| !r.complete()) {
        for line in not_run(report) {
            let _ = writeln!(err, "image-scan: {}: {line}", report.name);
        }
    }
    if !atomic_mode {
        return status;
    }
    // Atomic prints no summary after a non-zero exit: incomplete subjects say so in their json.
    if status == EXIT_COULD_NOT_RUN {
        EXIT_CLEAN
    } else {
        status
    }
}

fn not_run(report: &SubjectReport) -> Vec<String> {
    if let Some(e) = &report.open_error {
        return vec![format!("not scanned: {e}")];
    }
    report
        .documents
        .iter()
        .filter(|(_, d)| !d.successful())
        .map(|(c, d)| format!("{} not checked: {}", c.name(), d.summary()))
        .collect()
}

fn subjects_of(cli: &Cli, atomic_mode: bool) -> Result<Vec<Subject>, String> {
    if atomic_mode {
        let s = subjects::from_scanin(&cli.scanin).map_err(|e| e.0)?;
        subjects::check_scanout(&cli.scanout, &s).map_err(|e| e.0)?;
        return Ok(s);
    }
    let mut s = subjects::from_rootfs(&cli.rootfs).map_err(|e| e.0)?;
    let mut references = cli.images.images.clone();
    if let Some(file) = &cli.images_from {
        references.extend(crate::shard::read_list(file)?);
    }
    if let Some(spec) = &cli.shard {
        let index = std::env::var(crate::shard::INDEX_ENV).ok();
        let shard = crate::shard::Shard::parse(spec, index.as_deref())?;
        references.retain(|r| shard.holds(r));
    }
    s.extend(subjects::from_images(&references));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Args;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn csaf_vex_flags_reach_security_advisories_under_their_names() {
        let cli = Cli::try_parse_from([
            "image-scan",
            "--rootfs",
            "/mnt/image",
            "--csaf-vex",
            "/srv/vex",
            "--csaf-vex",
            "/srv/extra/cve-2024-50602.json",
            "--repository-to-cpe",
            "/srv/repository-to-cpe.json",
            "--ignore-unfixed",
            "--vex",
            "/srv/app.openvex.json",
            "--vex",
            "/srv/app.csaf.json",
        ])
        .unwrap();
        let o = cli.scan.advisories(std::path::Path::new("/cache"));
        assert_eq!(
            o.advisory.csaf_vex,
            [
                PathBuf::from("/srv/vex"),
                PathBuf::from("/srv/extra/cve-2024-50602.json")
            ]
        );
        assert_eq!(
            o.advisory.repository_to_cpe,
            Some(PathBuf::from("/srv/repository-to-cpe.json"))
        );
        assert!(o.advisory.ignore_unfixed);
        assert_eq!(
            o.advisory.vex,
            [
                PathBuf::from("/srv/app.openvex.json"),
                PathBuf::from("/srv/app.csaf.json")
            ]
        );
        // Every flag of security-advisories' own that image-scan repeats has its name.
        let theirs = security_advisories::Options::augment_args(clap::Command::new("security-advisories"));
        let ours = Cli::command();
        for name in [
            "csaf-vex",
            "repository-to-cpe",
            "ignore-unfixed",
            "min-severity",
            "oval",
            "updateinfo",
            "vex",
        ] {
            assert!(theirs.get_arguments().any(|a| a.get_long() == Some(name)), "{name}");
            assert!(ours.get_arguments().any(|a| a.get_long() == Some(name)), "{name}");
        }
    }
}
