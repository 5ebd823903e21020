//! The command line every scanner shares, and what each mode does with it.
//!
//! [`command`] builds the clap command: the shared flags ([`Common`]), `--scan-type` from the
//! scanner's scan types, the scanner's own [`Scanner::Options`] flattened in (each long
//! option also accepted with `_` for `-`, as `atomic scan --scanner_args` may spell it), and
//! the `install` / `uninstall` / `manifest` subcommands. [`run`] parses, runs the mode, and
//! returns the exit status (see the crate documentation).
//!
//! A scanner's own tests should call `command(&scanner).debug_assert()`: it catches an
//! option that clashes with a shared one.

use crate::document::ResultDocument;
use crate::image::ImageArgs;
use crate::progress::Progress;
use crate::subjects::{self, Subject};
use crate::{install, table, ScanType, Scanner};
use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::error::ErrorKind;
use clap::{Arg, ArgMatches, Args, Command, FromArgMatches, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::PathBuf;

/// Exit status: the scanner ran.
pub const EXIT_RAN: u8 = 0;
/// Exit status: findings, with `--fail-on-findings` only.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: could not run (or, stand-alone, a subject could not be scanned).
pub const EXIT_COULD_NOT_RUN: u8 = 2;

const SCAN_TYPE: &str = "scan-type";

/// Output format on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The result documents as JSON (one object, or an array for several --rootfs).
    Json,
    /// A human summary, laid out as `atomic scan` prints one.
    Table,
}

/// The flags every scanner has.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Scan this root filesystem (an unpacked or mounted image) instead of /scanin;
    /// repeat for several.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Vec<PathBuf>,

    /// With --rootfs or --image: write DIR/<folder>/json as atomic mode does (folder = the
    /// path with every `/` turned into `_`, or the image's id), instead of printing the
    /// documents; DIR is created.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,

    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,

    /// Atomic mode: the folder holding one subject folder per image.
    #[arg(long, value_name = "DIR", default_value = "/scanin", conflicts_with_all = ["rootfs", "images"])]
    pub scanin: PathBuf,

    /// Atomic mode: where <subject>/json is written.
    #[arg(long, value_name = "DIR", default_value = "/scanout", conflicts_with_all = ["rootfs", "images"])]
    pub scanout: PathBuf,

    /// Exit with status 1 when a subject has findings.
    #[arg(long)]
    pub fail_on_findings: bool,

    /// How many subjects to scan at once [default: the number of CPUs].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    #[command(flatten)]
    pub images: ImageArgs,
}

/// The subcommands (the image has no shell, so the binary installs its own manifest).
#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// Write this scanner's manifest to HOST/etc/atomic.d/<scanner_name> (the INSTALL label runs this).
    Install {
        /// The root of the host's file system, as bind-mounted into the container.
        #[arg(long, value_name = "DIR", default_value = "/host")]
        host: PathBuf,
        /// The image being installed, written as the manifest's image_name.
        #[arg(long, value_name = "NAME", env = "IMAGE")]
        image: Option<String>,
    },
    /// Remove HOST/etc/atomic.d/<scanner_name> (the UNINSTALL label runs this).
    Uninstall {
        /// The root of the host's file system, as bind-mounted into the container.
        #[arg(long, value_name = "DIR", default_value = "/host")]
        host: PathBuf,
    },
    /// Print the manifest `install` writes.
    Manifest {
        /// The image name to write as image_name.
        #[arg(long, value_name = "NAME", env = "IMAGE")]
        image: Option<String>,
    },
}

/// The whole command line of `scanner`.
pub fn command<S: Scanner>(scanner: &S) -> Command {
    let scan_types = scanner
        .scan_types()
        .iter()
        .map(|t| PossibleValue::new(t.name).help(t.description));
    let cmd = Command::new(scanner.name())
        .version(env!("CARGO_PKG_VERSION"))
        .about(about(scanner))
        .after_help(examples(scanner))
        .args_conflicts_with_subcommands(true)
        .arg(
            Arg::new(SCAN_TYPE)
                .long(SCAN_TYPE)
                .value_name("NAME")
                .value_parser(PossibleValuesParser::new(scan_types))
                .default_value(scanner.default_scan())
                .help("The scan to run (the manifest's scans[].args pass it)"),
        );
    let cmd = Common::augment_args(cmd);
    let cmd = S::Options::augment_args(cmd);
    Action::augment_subcommands(underscore_aliases(cmd))
}

/// Every `--long-flag` also answers to `--long_flag`: atomic turns `--scanner_args k=v` into
/// `--k v` without changing the key, and manifests write keys with underscores.
pub fn underscore_aliases(cmd: Command) -> Command {
    cmd.mut_args(
        |arg| match arg.get_long().filter(|l| l.contains('-')).map(|l| l.replace('-', "_")) {
            Some(underscored) => arg.alias(underscored),
            None => arg,
        },
    )
}

fn about<S: Scanner>(scanner: &S) -> String {
    let scans: Vec<&str> = scanner.scan_types().iter().map(|t| t.description).collect();
    format!(
        "{} — {}\n\nWithout --rootfs, runs as `atomic scan --scanner {}` runs it: every folder in /scanin is a subject, and /scanout/<folder>/json is written for each.",
        scanner.name(),
        scans.join("; "),
        scanner.atomic_name()
    )
}

fn examples<S: Scanner>(scanner: &S) -> String {
    let bin = scanner.name();
    let scan = scanner.default_scan();
    format!(
        "Examples:
  {bin} --rootfs /mnt/image                   scan one unpacked image, JSON on stdout
  {bin} --rootfs a --rootfs b --format table  two roots, a human summary
  {bin} --rootfs /mnt/image --output out      write out/_mnt_image/json, as atomic mode does
  atomic install IMAGE && atomic scan --scanner {atomic} --rootfs /mnt/image
  podman run -t --rm -v /etc/localtime:/etc/localtime -v DIR:/scanin/NAME:ro -v OUT:/scanout:rw,Z \\
      --security-opt label:disable IMAGE --scan-type {scan}

Exit status:
  0  the scanner ran (atomic mode: also when a subject could not be scanned; its json says
     \"Successful\": \"false\" and why)
  1  a subject has findings, with --fail-on-findings only
  2  could not run: bad arguments, no /scanin, nothing in /scanin, /scanout not writable;
     stand-alone: a subject could not be scanned (its document is still printed)",
        atomic = scanner.atomic_name()
    )
}

/// Parse `args` (the first is the program name), run, and return the exit status.
pub fn run<S, I, T>(scanner: &S, args: I, out: &mut dyn Write, err: &mut dyn Write) -> u8
where
    S: Scanner,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let name = scanner.name();
    let matches = match command(scanner).try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => return clap_error(e, out, err),
    };
    if matches.subcommand_name().is_some() {
        return match Action::from_arg_matches(&matches) {
            Ok(action) => run_action(
                scanner.name(),
                scanner.atomic_name(),
                scanner.manifest(),
                action,
                out,
                err,
            ),
            Err(e) => clap_error(e, out, err),
        };
    }
    let (common, options) = match (
        Common::from_arg_matches(&matches),
        S::Options::from_arg_matches(&matches),
    ) {
        (Ok(c), Ok(o)) => (c, o),
        (Err(e), _) | (_, Err(e)) => return clap_error(e, out, err),
    };
    let Some(scan_type) = selected_scan_type(scanner, &matches) else {
        let _ = writeln!(err, "{name}: the scan type is not one of this scanner's scan types");
        return EXIT_COULD_NOT_RUN;
    };
    let jobs = common
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if common.output.is_some() && common.rootfs.is_empty() && common.images.images.is_empty() {
        let _ = writeln!(err, "{name}: --output needs --rootfs or --image");
        return EXIT_COULD_NOT_RUN;
    }
    if common.rootfs.is_empty() && common.images.images.is_empty() {
        atomic_mode(scanner, scan_type, &options, &common, jobs, out, err)
    } else {
        stand_alone(scanner, scan_type, &options, &common, jobs, out, err)
    }
}

fn selected_scan_type<S: Scanner>(scanner: &S, matches: &ArgMatches) -> Option<&'static ScanType> {
    let name = matches.get_one::<String>(SCAN_TYPE)?;
    scanner.scan_types().iter().find(|t| t.name == name)
}

fn clap_error(e: clap::Error, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let text = e.render().to_string();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(out, "{text}");
            EXIT_RAN
        }
        _ => {
            let _ = write!(err, "{text}");
            EXIT_COULD_NOT_RUN
        }
    }
}

/// `/scanin/*` → `/scanout/*/json`; exit 0 even when subjects failed (atomic shows nothing
/// after a non-zero exit). The human summary goes to stdout (atomic shows it with --verbose).
fn atomic_mode<S: Scanner>(
    scanner: &S,
    scan_type: &ScanType,
    options: &S::Options,
    common: &Common,
    jobs: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let name = scanner.name();
    let subjects = match subjects::from_scanin(&common.scanin) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{name}: {e}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    if let Err(e) = subjects::check_scanout(&common.scanout, &subjects) {
        let _ = writeln!(err, "{name}: {e}");
        return EXIT_COULD_NOT_RUN;
    }
    let docs = subjects::scan_all(
        scanner,
        scan_type,
        options,
        &common.images,
        &subjects,
        jobs,
        &Progress::hidden(),
    );
    if let Err(errors) = subjects::write_layout(&common.scanout, &docs) {
        for e in errors {
            let _ = writeln!(err, "{name}: cannot write a result: {e}");
        }
        return EXIT_COULD_NOT_RUN;
    }
    let _ = table::print(out, &docs);
    findings_status(common, &docs)
}

/// `--rootfs DIR...` → stdout (or `--output DIR`).
fn stand_alone<S: Scanner>(
    scanner: &S,
    scan_type: &ScanType,
    options: &S::Options,
    common: &Common,
    jobs: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let name = scanner.name();
    let subjects = match prepare_stand_alone(common) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{name}: {e}");
            return EXIT_COULD_NOT_RUN;
        }
    };
    let progress = Progress::start(name, subjects.len(), true);
    let docs = subjects::scan_all(scanner, scan_type, options, &common.images, &subjects, jobs, &progress);
    progress.finish();

    let mut status = findings_status(common, &docs);
    if let Some(dir) = &common.output {
        if let Err(errors) = subjects::write_layout(dir, &docs) {
            for e in errors {
                let _ = writeln!(err, "{name}: cannot write a result: {e}");
            }
            status = EXIT_COULD_NOT_RUN;
        }
    }
    let printed = match (common.format, &common.output) {
        (Format::Table, _) => table::print(out, &docs),
        (Format::Json, Some(_)) => Ok(()),
        (Format::Json, None) => write_json(out, &docs),
    };
    if let Err(e) = printed.and_then(|()| out.flush()) {
        let _ = writeln!(err, "{name}: cannot write to stdout: {e}");
        return EXIT_COULD_NOT_RUN;
    }
    for doc in docs.iter().filter(|d| !d.successful()) {
        let _ = writeln!(err, "{name}: {}", doc.summary());
        status = EXIT_COULD_NOT_RUN;
    }
    // Everything is written and the process is about to end: freeing the documents' JSON
    // trees one value at a time would only cost time (6% of a warm advisory scan's CPU).
    std::mem::forget(docs);
    status
}

fn prepare_stand_alone(common: &Common) -> Result<Vec<Subject>, subjects::SetupError> {
    let mut subjects = subjects::from_rootfs(&common.rootfs)?;
    subjects.extend(subjects::from_images(&common.images.images));
    if let Some(dir) = &common.output {
        subjects::check_distinct_folders(&subjects)?;
        fs::create_dir_all(dir).map_err(|e| subjects::SetupError(format!("cannot create {}: {e}", dir.display())))?;
        subjects::check_scanout(dir, &subjects)?;
    }
    Ok(subjects)
}

/// One subject: its document; several: an array in the order given. Streamed through a
/// buffer of its own rather than made into one string first: a warm advisory scan prints
/// 1.2 MB, and building that text first (and growing it) took 6 MiB more memory (peak commit
/// 26.7 -> 20.4 MiB); printing fell from 16% to 10% of the scan's CPU time (perf).
fn write_json(out: &mut dyn Write, docs: &[ResultDocument]) -> std::io::Result<()> {
    let mut buffered = std::io::BufWriter::with_capacity(64 << 10, out);
    match docs {
        [one] => serde_json::to_writer_pretty(&mut buffered, one)?,
        many => serde_json::to_writer_pretty(&mut buffered, many)?,
    }
    buffered.write_all(b"\n")?;
    buffered.flush()
}

fn findings_status(common: &Common, docs: &[ResultDocument]) -> u8 {
    if common.fail_on_findings && docs.iter().any(ResultDocument::has_findings) {
        EXIT_FINDINGS
    } else {
        EXIT_RAN
    }
}

/// Run `install`, `uninstall` or `manifest` for the program `name` whose atomic scanner name
/// is `atomic_name` and whose embedded manifest is `manifest` (every scanner image, and
/// image-scan's, which is not one [`Scanner`] but three).
pub fn run_action(
    name: &str,
    atomic_name: &str,
    manifest: &str,
    action: Action,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let image = |image: &Option<String>| {
        image
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_string)
    };
    match action {
        Action::Install { host, image: given } => {
            let image = image(&given);
            match install::install(manifest, &host, atomic_name, image.as_deref()) {
                Ok(path) => {
                    let _ = match &image {
                        Some(i) => writeln!(out, "{name}: installed {} (image_name: {i})", path.display()),
                        None => writeln!(
                            out,
                            "{name}: installed {} (no IMAGE given: image_name left as built)",
                            path.display()
                        ),
                    };
                    EXIT_RAN
                }
                Err(e) => {
                    let _ = writeln!(err, "{name}: install failed: {e}");
                    EXIT_COULD_NOT_RUN
                }
            }
        }
        Action::Uninstall { host } => match install::uninstall(&host, atomic_name) {
            Ok((path, true)) => {
                let _ = writeln!(out, "{name}: removed {}", path.display());
                EXIT_RAN
            }
            Ok((path, false)) => {
                let _ = writeln!(out, "{name}: {} was not installed", path.display());
                EXIT_RAN
            }
            Err(e) => {
                let _ = writeln!(err, "{name}: uninstall failed: {e}");
                EXIT_COULD_NOT_RUN
            }
        },
        Action::Manifest { image: given } => {
            let text = match image(&given) {
                Some(i) => install::with_image_name(manifest, &i),
                None => Ok(manifest.to_string()),
            };
            match text {
                Ok(t) => {
                    let _ = out.write_all(t.as_bytes());
                    EXIT_RAN
                }
                Err(e) => {
                    let _ = writeln!(err, "{name}: {e}");
                    EXIT_COULD_NOT_RUN
                }
            }
        }
    }
}
