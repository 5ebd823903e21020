//! Decompressing a feed in its own thread while the parser reads it: a metadata file on the
//! host is opened, decompressed ([`repodata::compression`], bounded) and cut into chunks by a
//! thread; the parser reads the chunks through [`ReadAhead`], a `BufRead`. On two cores this
//! overlaps gunzip with XML parsing.

use repodata::compression::{self, Compression};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Bytes of the file read at a time by the decompressor.
const CHUNK: usize = 256 * 1024;

pub use rpmdb::root::read_ahead::ReadAhead;

/// Open `path`, tell its compression from its first bytes, and decompress it (at most
/// `limit` bytes) in a thread of its own.
pub fn open(path: &Path, limit: u64) -> io::Result<(Compression, ReadAhead)> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 8];
    let n = file.read(&mut head)?;
    let kind = Compression::detect(&head[..n]);
    let path = path.to_path_buf();
    let reader = ReadAhead::spawn(move || {
        let file = File::open(&path)?;
        let (_, reader) = compression::decompress(BufReader::with_capacity(CHUNK, file), limit)?;
        Ok(reader)
    });
    Ok((kind, reader))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_a_compressed_file_whole_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, &data).unwrap();
        let (kind, mut r) = open(&plain, 1 << 30).unwrap();
        assert_eq!(kind, Compression::None);
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);

        // Over the limit: the decompressor's error reaches the reader.
        let (_, mut r) = open(&plain, 1000).unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");

        let missing = dir.path().join("missing");
        assert!(open(&missing, 10).is_err());
        let mut f = File::create(dir.path().join("x")).unwrap();
        f.write_all(b"").unwrap();
        let (_, mut r) = open(&dir.path().join("x"), 10).unwrap();
        assert_eq!(r.read_to_end(&mut Vec::new()).unwrap(), 0);
    }
}
