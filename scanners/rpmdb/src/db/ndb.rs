//! NDB `Packages.db` files (rpm's own format, SUSE), read without librpm.

use super::{DbError, HeaderSource, RawHeader};
use std::fs::File;
use std::path::{Path, PathBuf};

pub struct NdbReader {
    path: PathBuf,
    #[allow(dead_code)]
    file: File,
}

impl NdbReader {
    pub fn new(file: File, path: &Path) -> Result<NdbReader, DbError> {
        Ok(NdbReader {
            path: path.to_path_buf(),
            file,
        })
    }
}

impl HeaderSource for NdbReader {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>> {
        Some(Err(DbError::new(&self.path, "NDB reader not written yet")))
    }
}
