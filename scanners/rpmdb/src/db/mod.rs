//! The installed-package database: where it is in a root, which format it is, and the
//! header blobs it holds. One module per format; each yields `(header number, blob)` pairs
//! one at a time, so memory follows one header, not the database.
//!
//! | format | file | module |
//! | --- | --- | --- |
//! | Berkeley DB hash | `Packages` | [`bdb`] |
//! | SQLite | `rpmdb.sqlite` | [`sqlite`] |
//! | NDB | `Packages.db` | [`ndb`] |

pub mod bdb;
pub mod ndb;
pub mod sqlite;

use crate::root::Root;
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Directories rpm uses for its database, in the order we probe them.
pub const DB_DIRS: [&str; 3] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm", "/usr/share/rpm"];
/// Database file names, newest format first: when a directory holds several (a converted
/// database leaves the old one behind), the newest is the one rpm uses.
pub const DB_FILES: [&str; 3] = ["rpmdb.sqlite", "Packages.db", "Packages"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    BerkeleyDb,
    Sqlite,
    Ndb,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::BerkeleyDb => "Berkeley DB",
            Format::Sqlite => "SQLite",
            Format::Ndb => "NDB",
        })
    }
}

/// A header as stored: its record number and the blob.
#[derive(Debug, Clone)]
pub struct RawHeader {
    pub number: u32,
    pub blob: Vec<u8>,
}

/// Something wrong with a database file, naming the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", .file.display())]
pub struct DbError {
    pub file: PathBuf,
    pub message: String,
}

impl DbError {
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> DbError {
        DbError {
            file: file.into(),
            message: message.into(),
        }
    }
}

/// A format reader: yields headers until `None`. An `Err` item is one bad record; the
/// reader goes on with the next one where the format allows it.
pub trait HeaderSource {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>>;
}

/// Detect the format from a file's first bytes.
pub fn detect(first: &[u8]) -> Option<Format> {
    if first.starts_with(b"SQLite format 3\0") {
        return Some(Format::Sqlite);
    }
    if first.starts_with(b"RpmP") {
        return Some(Format::Ndb);
    }
    if first.len() >= 16 {
        let m = [first[12], first[13], first[14], first[15]];
        if u32::from_le_bytes(m) == bdb::HASH_MAGIC || u32::from_be_bytes(m) == bdb::HASH_MAGIC {
            return Some(Format::BerkeleyDb);
        }
    }
    None
}

/// An open database.
pub struct Database {
    /// Where the file is, as the image sees it (or the host path for [`Database::open_file`]).
    pub path: PathBuf,
    pub format: Format,
    source: Box<dyn HeaderSource>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish()
    }
}

impl Database {
    /// Find and open the database of a root, as rpm would find it.
    pub fn locate(root: &Root) -> Result<Database, DbError> {
        let mut problems = Vec::new();
        for dir in DB_DIRS {
            for name in DB_FILES {
                let image_path = Path::new(dir).join(name);
                let resolved = match root.resolve(&image_path, true) {
                    Ok(r) => r,
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        problems.push(e.to_string());
                        continue;
                    }
                };
                let file = match root.open_regular(&resolved) {
                    Ok(f) => f,
                    Err(e) if e.is_not_found() => continue,
                    Err(e) => {
                        problems.push(e.to_string());
                        continue;
                    }
                };
                let host = root.host_path(&resolved);
                match Self::from_file(file, &host, &image_path) {
                    Ok(db) => return Ok(db),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        let mut msg = format!("no RPM database found (looked in {})", DB_DIRS.join(", "));
        if !problems.is_empty() {
            msg.push_str(": ");
            msg.push_str(&problems.join("; "));
        }
        Err(DbError::new(root.describe(), msg))
    }

    /// Open a database file by its host path (tests and tools).
    pub fn open_file(host_path: &Path) -> Result<Database, DbError> {
        let file = crate::root::open_regular_nofollow(host_path).map_err(|e| DbError::new(host_path, e.to_string()))?;
        Self::from_file(file, host_path, host_path)
    }

    fn from_file(mut file: File, host_path: &Path, image_path: &Path) -> Result<Database, DbError> {
        let mut first = [0u8; 64];
        let mut n = 0;
        while n < first.len() {
            match file.read(&mut first[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) => return Err(DbError::new(image_path, e.to_string())),
            }
        }
        let format =
            detect(&first[..n]).ok_or_else(|| DbError::new(image_path, "not an RPM database (unknown magic bytes)"))?;
        let source: Box<dyn HeaderSource> = match format {
            Format::BerkeleyDb => Box::new(bdb::BdbReader::new(file, image_path)?),
            Format::Ndb => Box::new(ndb::NdbReader::new(file, image_path)?),
            Format::Sqlite => Box::new(sqlite::SqliteReader::open(host_path, image_path)?),
        };
        Ok(Database {
            path: image_path.to_path_buf(),
            format,
            source,
        })
    }

    /// The stored headers, one at a time, in database order.
    pub fn headers(&mut self) -> impl Iterator<Item = Result<RawHeader, DbError>> + '_ {
        std::iter::from_fn(move || self.source.next_header())
    }
}
