//! `rpm-va ROOT`: print `rpm -Va` for an unpacked image, exactly as rpm 4.18 would print it
//! (`rpm --root ROOT -Va --nodeps --noscripts`), without rpm. Packages that could not be
//! verified and headers edited after install go to stderr. For comparisons and benchmarks;
//! the scanner itself is `scanner-rpm-verify`.
//!
//! Exit status: 0 nothing found, 1 something found, 2 the root could not be verified.

use clap::Parser;
use rpmdb::root::Root;
use scanner_rpm_verify::scan::{verify_root, Options};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "rpm -Va of a root filesystem, without rpm")]
struct Args {
    /// The root filesystem (an unpacked or mounted image).
    root: PathBuf,
    /// Threads that check files (default: every core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Do not count extended POSIX ACLs as mode changes (as rpm built without libacl).
    #[arg(long)]
    ignore_acls: bool,
}

fn main() -> ExitCode {
    atomic_protocol::memory::keep_freed_memory();
    let args = Args::parse();
    let root = match Root::new(&args.root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rpm-va: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = Options::default();
    if let Some(n) = args.workers {
        options.workers = n.max(1);
    }
    options.acls = !args.ignore_acls;
    let report = match verify_root(&root, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rpm-va: {e}");
            return ExitCode::from(2);
        }
    };
    for h in &report.tampered_headers {
        eprintln!(
            "rpm-va: header #{} ({}): {} does not match the header: skipped",
            h.package.header_number, h.package.nvra, h.tag
        );
    }
    for b in &report.bad_packages {
        eprintln!("rpm-va: not verified: {}", b.message);
    }
    for w in &report.warnings {
        eprintln!("rpm-va: warning: {w}");
    }
    let text = report.rpm_va_text();
    if std::io::stdout().lock().write_all(&text).is_err() {
        return ExitCode::from(2);
    }
    let found = !text.is_empty() || !report.tampered_headers.is_empty() || !report.bad_packages.is_empty();
    ExitCode::from(u8::from(found))
}
