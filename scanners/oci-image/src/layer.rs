//! A layer blob to a checked, decompressed tar stream: the compressed bytes are counted and
//! hashed against the blob's digest and size, the decompressed ones against the diff_id, and
//! both against the size limit (a decompression bomb stops at the limit). gzip or zstd is
//! chosen by the first bytes, falling back to the media type.

use crate::digest::{invalid, Digest, Expect, Verifier};
use crate::error::{fail, ErrorKind, Fail};
use crate::{Layer, LayerContent};
use std::io::{self, BufRead, BufReader, Read};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_layer_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    fn from_magic(b: &[u8]) -> Option<Compression> {
        if b.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    fn from_media_type(m: &str) -> Compression {
        if m.ends_with("gzip") {
            Compression::Gzip
        } else if m.ends_with("zstd") {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

type Source = Box<dyn BufRead + Send>;

enum Decoder {
    Plain(Source),
    Gzip(Box<flate2::bufread::MultiGzDecoder<Source>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, Source>>),
}

impl Decoder {
    fn source(&mut self) -> &mut Source {
        match self {
            Decoder::Plain(s) => s,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Zstd(d) => d.get_mut(),
        }
    }
}

/// The decompressed stream; at its end the rest of the blob is read so that the blob's
/// digest is checked even when the compressed stream ends before the blob does.
struct Decompressed {
    decoder: Decoder,
    what: String,
}

impl Read for Decompressed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = match &mut self.decoder {
            Decoder::Plain(s) => s.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        };
        match r {
            Ok(0) if !buf.is_empty() => {
                io::copy(self.decoder.source(), &mut io::sink())?;
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::InvalidData && e.to_string().starts_with(&self.what) => Err(e),
            Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", self.what))),
        }
    }
}

/// Turn a raw layer blob into [`LayerContent::Tar`]. `blob` is what the stored bytes must
/// hash to (`None` when they are stored decompressed and only the diff_id applies).
pub fn tar_stream(
    raw: Box<dyn Read + Send>,
    layer: &Layer,
    blob: Option<Digest>,
    limits: &Limits,
) -> Result<LayerContent, Fail> {
    let what = format!("layer {} ({})", layer.index + 1, layer.digest);
    let checked = Verifier::new(
        raw,
        Expect {
            what: format!("{what} blob"),
            digest: blob,
            size: layer.size,
            limit: limits.max_layer_bytes,
        },
    );
    let mut source: Source = Box::new(BufReader::with_capacity(64 * 1024, checked));
    let magic = peek(&mut source, 4).map_err(|e| fail(ErrorKind::Io, e.to_string()))?;
    let compression =
        Compression::from_magic(&magic).unwrap_or_else(|| Compression::from_media_type(&layer.media_type));
    let decoder = match compression {
        Compression::None => Decoder::Plain(source),
        Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(source))),
        // libzstd's default window limit (2^27 bytes) bounds its memory.
        Compression::Zstd => Decoder::Zstd(Box::new(
            zstd::stream::read::Decoder::with_buffer(source).map_err(|e| fail(ErrorKind::Io, format!("zstd: {e}")))?,
        )),
    };
    let diff_id = match &layer.diff_id {
        Some(d) => Some(Digest::parse(d).map_err(|e| fail(ErrorKind::Malformed, e))?),
        None => None,
    };
    let decompressed = Verifier::new(
        Decompressed {
            decoder,
            what: what.clone(),
        },
        Expect {
            what: format!("{what} decompressed (diff_id)"),
            digest: diff_id,
            size: None,
            limit: limits.max_layer_bytes,
        },
    );
    Ok(LayerContent::Tar(Box::new(decompressed)))
}

/// The first `n` bytes without consuming them (fewer at end of stream). A `BufReader`'s first
/// fill may hold fewer bytes than a network stream has; this reads until it holds `n`.
fn peek(source: &mut Source, n: usize) -> io::Result<Vec<u8>> {
    let first = source.fill_buf()?;
    if first.len() >= n || first.is_empty() {
        return Ok(first[..first.len().min(n)].to_vec());
    }
    // Rare: rebuild the stream as the bytes read so far followed by the rest.
    let mut head = Vec::with_capacity(n);
    while head.len() < n {
        let buf = source.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(n - head.len());
        head.extend_from_slice(&buf[..take]);
        source.consume(take);
    }
    let rest = std::mem::replace(source, Box::new(io::empty()));
    *source = Box::new(BufReader::new(io::Cursor::new(head.clone()).chain(rest)));
    Ok(head)
}

/// Read a whole small blob, bounded and checked.
pub fn read_small(raw: impl Read, digest: &Digest, size: Option<u64>, limit: u64, what: &str) -> Result<Vec<u8>, Fail> {
    let mut v = Verifier::new(
        raw,
        Expect {
            what: format!("{what} {digest}"),
            digest: Some(digest.clone()),
            size,
            limit,
        },
    );
    let mut out = Vec::new();
    v.read_to_end(&mut out).map_err(|e| {
        let kind = if e.to_string().contains("limit") {
            ErrorKind::TooLarge
        } else if e.kind() == io::ErrorKind::InvalidData {
            ErrorKind::DigestMismatch
        } else if e.kind() == io::ErrorKind::TimedOut {
            ErrorKind::Timeout
        } else {
            ErrorKind::Io
        };
        fail(kind, e.to_string())
    })?;
    Ok(out)
}

#[allow(dead_code)]
fn _assert_invalid_is_used() -> io::Error {
    invalid(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn layer(data_digest: &Digest, diff: &Digest, size: u64, media: &str) -> Layer {
        Layer {
            index: 0,
            digest: data_digest.to_string(),
            diff_id: Some(diff.to_string()),
            media_type: media.into(),
            size: Some(size),
            created_by: None,
        }
    }

    fn read_all(c: LayerContent) -> io::Result<Vec<u8>> {
        let LayerContent::Tar(mut r) = c else { panic!() };
        let mut v = Vec::new();
        r.read_to_end(&mut v).map(|_| v)
    }

    #[test]
    fn gzip_zstd_plain_checked() {
        let tar = vec![7u8; 100_000];
        let diff = Digest::sha256_of(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&tar[..], 3).unwrap();
        let limits = Limits {
            max_layer_bytes: 1 << 20,
        };
        for (blob, media) in [
            (gz.clone(), "application/vnd.oci.image.layer.v1.tar+gzip"),
            (zs.clone(), "application/vnd.oci.image.layer.v1.tar+zstd"),
            (tar.clone(), "application/vnd.oci.image.layer.v1.tar"),
            (gz.clone(), "application/vnd.oci.image.layer.v1.tar"), // magic wins
        ] {
            let d = Digest::sha256_of(&blob);
            let l = layer(&d, &diff, blob.len() as u64, media);
            let c = tar_stream(Box::new(io::Cursor::new(blob.clone())), &l, Some(d.clone()), &limits).unwrap();
            assert_eq!(read_all(c).unwrap(), tar, "{media}");
            // Wrong diff_id.
            let l2 = layer(&d, &Digest::sha256_of(b"x"), blob.len() as u64, media);
            let c = tar_stream(Box::new(io::Cursor::new(blob.clone())), &l2, Some(d.clone()), &limits).unwrap();
            let e = read_all(c).unwrap_err();
            assert!(e.to_string().contains("diff_id"), "{e}");
            // Truncated blob.
            let short = blob[..blob.len() - 3].to_vec();
            let c = tar_stream(Box::new(io::Cursor::new(short)), &l, Some(d.clone()), &limits).unwrap();
            assert!(read_all(c).is_err());
        }
        // Trailing bytes after the gzip stream still count for the blob digest.
        let mut trailing = gz.clone();
        trailing.extend_from_slice(&[0u8; 8]);
        let d = Digest::sha256_of(&gz); // not the digest of what is stored
        let l = layer(
            &d,
            &diff,
            trailing.len() as u64,
            "application/vnd.oci.image.layer.v1.tar+gzip",
        );
        let c = tar_stream(Box::new(io::Cursor::new(trailing)), &l, Some(d), &limits).unwrap();
        assert!(read_all(c).is_err());
    }

    #[test]
    fn bomb_stops_at_the_limit() {
        let zeros = vec![0u8; 4 << 20];
        let zs = zstd::encode_all(&zeros[..], 19).unwrap();
        assert!(zs.len() < 4096);
        let d = Digest::sha256_of(&zs);
        let l = layer(
            &d,
            &Digest::sha256_of(&zeros),
            zs.len() as u64,
            "application/vnd.oci.image.layer.v1.tar+zstd",
        );
        let c = tar_stream(
            Box::new(io::Cursor::new(zs)),
            &l,
            Some(d),
            &Limits {
                max_layer_bytes: 1 << 20,
            },
        )
        .unwrap();
        let e = read_all(c).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
    }
}
