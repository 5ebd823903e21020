//! SQLite `rpmdb.sqlite` files, on a read-only mount, with or without `-wal`, without `-shm`.

use super::{DbError, HeaderSource, RawHeader};
use std::path::{Path, PathBuf};

pub struct SqliteReader {
    path: PathBuf,
}

impl SqliteReader {
    pub fn open(_host_path: &Path, image_path: &Path) -> Result<SqliteReader, DbError> {
        Ok(SqliteReader {
            path: image_path.to_path_buf(),
        })
    }
}

impl HeaderSource for SqliteReader {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>> {
        Some(Err(DbError::new(&self.path, "SQLite reader not written yet")))
    }
}
