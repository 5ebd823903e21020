//! Read the installed RPM packages of a root filesystem — an unpacked or mounted container
//! image — without librpm, without trusting a byte of it.
//!
//! The data flows through the modules in this order:
//! [`root`] (a safe view of the scanned tree) → [`db`] (find the database, one reader per
//! format) → [`header`] (the tagged blob) → [`package`] (packages and files, as `rpm -q` and
//! `rpm -V` see them: `Package::files()` as owned values, `Package::file_table()` read in place
//! for walks over every file of an image). [`version`] compares EVRs as rpm does;
//! [`signature`] reads the OpenPGP packet rpm shows as `SIGNATURE`; [`digest`] hashes in rpm's
//! digest algorithms; [`layers`] names the image layer that installed each package (every
//! layer's copy of the database read). What a root says about itself beyond its database
//! (os-release) is the filesystem view's, in `rootfs::osrelease`.
//!
//! ```no_run
//! use rpmdb::{root::Root, InstalledPackages};
//! let root = Root::new("/mnt/image").unwrap();
//! let mut installed = InstalledPackages::open(&root).unwrap();
//! for pkg in installed.iter() {
//!     match pkg {
//!         Ok(p) => println!("{} {}", p.name, p.evr()),
//!         Err(e) => eprintln!("skipped: {e}"),
//!     }
//! }
//! ```

pub mod db;
pub mod digest;
pub mod header;
pub mod layers;
pub mod package;
/// The filesystem view, from its own crate (kept here under its old name for callers).
pub use rootfs as root;
pub mod signature;
pub mod tag;
pub mod version;

use db::{Database, DbError};
use header::Header;
use package::Package;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A package that could not be read, naming the database and the header number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}{message}", .file.display(), HeaderNumber(*.header_number))]
pub struct PackageError {
    pub file: PathBuf,
    /// The header number, when the record was found at all.
    pub header_number: Option<u32>,
    pub message: String,
}

/// `header #N: ` before a package error's message, nothing when the record was not found.
struct HeaderNumber(Option<u32>);

impl fmt::Display for HeaderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "header #{n}: "),
            None => Ok(()),
        }
    }
}

impl From<DbError> for PackageError {
    fn from(e: DbError) -> Self {
        PackageError {
            file: e.file,
            header_number: None,
            message: e.message,
        }
    }
}

/// How many unreadable records [`InstalledPackages::iter`] lists one by one.
pub const MAX_LISTED_ERRORS: u64 = 1000;

/// The installed packages of a root, read one header at a time — or, after
/// [`InstalledPackages::preload`], from the packages read once for that root.
#[derive(Debug)]
pub struct InstalledPackages {
    /// Where the database is, as the image sees it.
    pub path: PathBuf,
    pub format: db::Format,
    source: Source,
}

#[derive(Debug)]
enum Source {
    Stream(Database),
    Preloaded(Arc<Preloaded>),
}

/// A root's whole database, read once: what [`InstalledPackages::iter`] yields, in order.
#[derive(Debug)]
struct Preloaded {
    path: PathBuf,
    format: db::Format,
    packages: Vec<Result<Package, PackageError>>,
}

impl InstalledPackages {
    /// The root's database: the packages preloaded for this root if there are, else the
    /// database file found in it.
    pub fn open(root: &root::Root) -> Result<InstalledPackages, DbError> {
        if let Some(preloaded) = root.kept::<Preloaded>() {
            return Ok(InstalledPackages {
                path: preloaded.path.clone(),
                format: preloaded.format,
                source: Source::Preloaded(preloaded),
            });
        }
        Ok(InstalledPackages::from_database(Database::locate(root)?))
    }

    pub fn from_database(database: Database) -> InstalledPackages {
        InstalledPackages {
            path: database.path.clone(),
            format: database.format,
            source: Source::Stream(database),
        }
    }

    /// Read the root's whole database now and keep it with the root, so that every later
    /// [`InstalledPackages::open`] of this root (or a clone of it) walks these packages
    /// instead of reading and parsing the database again: for one subject judged by several
    /// scanners. Holds every header in memory (a single scanner streams instead). Returns the
    /// number of packages read (unreadable records included).
    pub fn preload(root: &root::Root) -> Result<usize, DbError> {
        let mut streamed = InstalledPackages::from_database(Database::locate(root)?);
        let packages: Vec<_> = streamed.iter().collect();
        let count = packages.len();
        root.keep(Preloaded {
            path: streamed.path.clone(),
            format: streamed.format,
            packages,
        });
        Ok(count)
    }

    /// Every package in database order; a bad record is an `Err` and the walk goes on.
    /// Only the first [`MAX_LISTED_ERRORS`] bad records are listed one by one; the rest are
    /// counted and reported as one last `Err`, so that a hostile database of millions of
    /// junk records cannot make its callers collect millions of messages.
    pub fn iter(&mut self) -> Box<dyn Iterator<Item = Result<Package, PackageError>> + '_> {
        match &mut self.source {
            Source::Preloaded(p) => Box::new(p.packages.iter().cloned()),
            Source::Stream(database) => Box::new(stream(database)),
        }
    }
}

/// The packages of a database file, parsed one header at a time (see [`InstalledPackages::iter`]).
fn stream(database: &mut Database) -> impl Iterator<Item = Result<Package, PackageError>> + '_ {
    let file = database.path.clone();
    let mut headers = database.headers();
    let mut errors = 0u64;
    let mut finished = false;
    std::iter::from_fn(move || loop {
        if finished {
            return None;
        }
        let Some(raw) = headers.next() else {
            finished = true;
            let unlisted = errors.saturating_sub(MAX_LISTED_ERRORS);
            return (unlisted > 0).then(|| {
                Err(PackageError {
                    file: file.clone(),
                    header_number: None,
                    message: format!("{unlisted} more unreadable records, not listed"),
                })
            });
        };
        let package = raw.map_err(PackageError::from).and_then(|raw| {
            let number = raw.number;
            Header::parse(raw.blob)
                .and_then(|h| Package::from_header(number, h))
                .map_err(|e| PackageError {
                    file: file.clone(),
                    header_number: Some(number),
                    message: e.0,
                })
        });
        if package.is_err() {
            errors += 1;
            if errors > MAX_LISTED_ERRORS {
                continue;
            }
        }
        return Some(package);
    })
}
