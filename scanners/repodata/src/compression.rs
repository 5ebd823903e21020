//! Decompression of metadata files by their magic bytes (gz, xz, bz2, zst, or plain), with a
//! bound on the decompressed size so that a small hostile file cannot expand without end.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read};

/// The compression of a metadata file, told by its first bytes, never by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
        })
    }
}

impl Compression {
    pub fn detect(first: &[u8]) -> Compression {
        if first.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if first.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if first.starts_with(b"BZh") {
            Compression::Bzip2
        } else if first.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Decompress `inner` according to its magic bytes; at most `limit` decompressed bytes are
/// produced, more is an error (`InvalidData`) naming the limit.
pub fn decompress<'a, R: BufRead + 'a>(mut inner: R, limit: u64) -> io::Result<(Compression, Box<dyn BufRead + 'a>)> {
    let head = inner.fill_buf()?;
    let kind = Compression::detect(head);
    let reader: Box<dyn Read + 'a> = match kind {
        Compression::None => Box::new(inner),
        // MultiGzDecoder: concatenated gzip members are one stream, as zlib's gzread sees them.
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(inner)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(inner)),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(inner)),
        Compression::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(inner)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?,
        ),
    };
    Ok((
        kind,
        Box::new(BufReader::with_capacity(
            64 * 1024,
            Limited {
                inner: reader,
                left: limit,
                limit,
            },
        )),
    ))
}

/// A reader that fails once more than `limit` bytes have come through.
struct Limited<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a file of exactly `limit` bytes from a longer one.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("decompresses to more than the {}-byte limit", self.limit),
                )),
            };
        }
        let want = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(data: &[u8], compressed: Vec<u8>, kind: Compression) {
        let (k, mut r) = decompress(&compressed[..], 1 << 20).unwrap();
        assert_eq!(k, kind);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn each_compression_by_magic() {
        let data = b"<metadata packages=\"0\"></metadata>\n".repeat(50);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        roundtrip(&data, gz.finish().unwrap(), Compression::Gzip);
        let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
        xz.write_all(&data).unwrap();
        roundtrip(&data, xz.finish().unwrap(), Compression::Xz);
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(&data).unwrap();
        roundtrip(&data, bz.finish().unwrap(), Compression::Bzip2);
        roundtrip(&data, data.clone(), Compression::None);
    }

    #[test]
    fn decompressed_size_is_bounded() {
        let data = vec![b'x'; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let (_, mut r) = decompress(&gz[..], 9_999).unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("9999-byte limit"), "{e}");
        let (_, mut r) = decompress(&gz[..], 10_000).unwrap();
        assert_eq!(r.read_to_end(&mut Vec::new()).unwrap(), 10_000);
    }
}
