//! Berkeley DB hash `Packages` files (rpm's `bdb_ro` backend), read without libdb.

use super::{DbError, HeaderSource, RawHeader};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The hash access method's magic number.
pub const HASH_MAGIC: u32 = 0x0006_1561;

pub struct BdbReader {
    path: PathBuf,
    #[allow(dead_code)]
    file: File,
}

impl BdbReader {
    pub fn new(file: File, path: &Path) -> Result<BdbReader, DbError> {
        Ok(BdbReader {
            path: path.to_path_buf(),
            file,
        })
    }
}

impl HeaderSource for BdbReader {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>> {
        Some(Err(DbError::new(&self.path, "Berkeley DB reader not written yet")))
    }
}
