//! Checksums as repository metadata names them (`repomd.xml` `<checksum type="sha256">`,
//! metalink `<hash type="sha512">`): parse the algorithm name, hash a stream, compare.

pub use rpmdb::digest::{Algorithm, Hasher};
use std::fmt;
use std::io::{self, Read};

/// An expected digest: algorithm and lowercase hex value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub hex: String,
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

impl Checksum {
    /// A checksum from metadata: the algorithm name and a hex value of the right length.
    pub fn parse(algorithm: &str, hex: &str) -> Result<Checksum, String> {
        let algorithm =
            Algorithm::from_name(algorithm).ok_or_else(|| format!("unknown checksum type {algorithm:?}"))?;
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != 2 * algorithm.digest_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "{} checksum {hex:?} is not {} hex digits",
                algorithm.name(),
                2 * algorithm.digest_len()
            ));
        }
        Ok(Checksum { algorithm, hex })
    }
}

/// The hex digest of a byte slice.
pub fn digest_hex(algorithm: Algorithm, data: &[u8]) -> String {
    rpmdb::digest::to_hex(&rpmdb::digest::digest(algorithm, data))
}

/// The hex digest of everything a reader yields.
pub fn digest_reader(algorithm: Algorithm, mut r: impl Read) -> io::Result<String> {
    let mut h = Hasher::new(algorithm);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish_hex())
}

/// Whether `data` has this checksum.
pub fn matches(expected: &Checksum, data: &[u8]) -> bool {
    digest_hex(expected.algorithm, data) == expected.hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // Values from `printf abc | sha256sum`, `sha1sum`, `md5sum`.
        assert_eq!(
            digest_hex(Algorithm::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest_hex(Algorithm::Sha1, b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(digest_hex(Algorithm::Md5, b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn parse_rejects_wrong_lengths_and_names() {
        assert!(Checksum::parse("sha", "a9993e364706816aba3e25717850c26c9cd0d89d").is_ok());
        assert!(Checksum::parse("sha256", "a9993e").is_err());
        assert!(Checksum::parse("crc32", "00000000").is_err());
    }
}
