//! `rpmdb-query`: list a root's installed packages as
//! `rpm --root R -qa --qf '%{NAME} %{EPOCH} %{VERSION} %{RELEASE} %{ARCH}\n'` does.

use clap::Parser;
use rpmdb::db::Database;
use rpmdb::root::Root;
use rpmdb::InstalledPackages;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;

/// List the installed RPM packages of a root filesystem, without rpm.
///
/// Examples:
///   rpmdb-query --root /mnt/image
///   rpmdb-query --dbfile tests/fixtures/rpmdb/libuuid/Packages --files
#[derive(Parser)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Root filesystem to read (the database is found as rpm finds it).
    #[arg(long, conflicts_with = "dbfile")]
    root: Option<PathBuf>,
    /// A database file to read directly (Packages, rpmdb.sqlite or Packages.db).
    #[arg(long)]
    dbfile: Option<PathBuf>,
    /// Also list each package's files: path mode digest size user group flags.
    #[arg(long)]
    files: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let database = match (&args.root, &args.dbfile) {
        (Some(r), None) => Root::new(r)
            .map_err(|e| e.to_string())
            .and_then(|root| Database::locate(&root).map_err(|e| e.to_string())),
        (None, Some(f)) => Database::open_file(f).map_err(|e| e.to_string()),
        _ => Err("give --root DIR or --dbfile FILE".to_string()),
    };
    let database = match database {
        Ok(d) => d,
        Err(e) => {
            eprintln!("rpmdb-query: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut installed = InstalledPackages::from_database(database);
    for pkg in installed.iter() {
        let p = match pkg {
            Ok(p) => p,
            Err(e) => {
                eprintln!("rpmdb-query: {e}");
                failed = true;
                continue;
            }
        };
        let epoch = p.epoch.map_or("(none)".to_string(), |e| e.to_string());
        let _ = writeln!(
            out,
            "{} {} {} {} {}",
            p.name,
            epoch,
            p.version,
            p.release,
            p.arch_or_none()
        );
        if args.files {
            match p.files() {
                Ok(files) => {
                    for f in files {
                        let _ = out.write_all(b"  ");
                        let _ = out.write_all(f.path.as_os_str().as_bytes());
                        let _ = writeln!(
                            out,
                            " {:o} {} {} {} {} {}",
                            f.mode,
                            f.digest.as_deref().unwrap_or("-"),
                            f.size,
                            f.user,
                            f.group,
                            f.flags.0
                        );
                    }
                }
                Err(e) => {
                    eprintln!("rpmdb-query: {}: files: {e}", p.nvra());
                    failed = true;
                }
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
