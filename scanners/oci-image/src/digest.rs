//! Digests (`algorithm:hex`) and the readers that check them. A digest names a blob's path in
//! layouts and archives, so its syntax is checked before it is used for anything: only
//! `sha256` (64 hex digits) and `sha512` (128), lower case — never a `/` or a `..`.

use sha2::{Digest as _, Sha256, Sha512};
use std::fmt;
use std::io::{self, Read};

/// A checked digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

impl Digest {
    /// Parse `sha256:<64 lower-case hex>` or `sha512:<128 lower-case hex>`.
    pub fn parse(s: &str) -> Result<Digest, String> {
        let shown: String = s.chars().take(160).collect();
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| format!("{shown:?} is not a digest (algorithm:hex)"))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => {
                return Err(format!(
                    "{shown:?}: unsupported digest algorithm (sha256 and sha512 are)"
                ))
            }
        };
        if hex.len() != algorithm.hex_len() || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(format!(
                "{shown:?} is not a digest: {alg} needs {} lower-case hex digits",
                algorithm.hex_len()
            ));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_string(),
        })
    }

    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest {
            algorithm: Algorithm::Sha256,
            hex: hex(&Sha256::digest(bytes)),
        }
    }

    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut h = Hasher::new(algorithm);
        h.update(bytes);
        h.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// Whether `bytes` have this digest.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        Digest::of(self.algorithm, bytes) == *self
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

pub enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }
    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest {
                algorithm: Algorithm::Sha256,
                hex: hex(&h.finalize()),
            },
            Hasher::Sha512(h) => Digest {
                algorithm: Algorithm::Sha512,
                hex: hex(&h.finalize()),
            },
        }
    }
}

/// What a [`Verifier`] checks at end of stream.
pub struct Expect {
    /// What the bytes are called in errors ("blob sha256:…", "decompressed layer").
    pub what: String,
    pub digest: Option<Digest>,
    /// The exact size, when a descriptor gives it.
    pub size: Option<u64>,
    /// Reading more than this is an error.
    pub limit: u64,
}

/// Passes bytes through, counting and hashing them; at end of stream checks the size and the
/// digest, and any excess over the limit fails as soon as it is read. Errors are
/// `io::ErrorKind::InvalidData`, their text names what was read.
pub struct Verifier<R> {
    inner: R,
    expect: Expect,
    hasher: Option<Hasher>,
    count: u64,
    done: bool,
}

impl<R: Read> Verifier<R> {
    pub fn new(inner: R, expect: Expect) -> Verifier<R> {
        let hasher = expect.digest.as_ref().map(|d| Hasher::new(d.algorithm()));
        Verifier {
            inner,
            expect,
            hasher,
            count: 0,
            done: false,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        if let Some(size) = self.expect.size {
            if self.count != size {
                return Err(invalid(format!(
                    "{}: {} bytes where {size} were expected{}",
                    self.expect.what,
                    self.count,
                    if self.count < size { " (truncated)" } else { "" }
                )));
            }
        }
        if let (Some(h), Some(want)) = (self.hasher.take(), self.expect.digest.as_ref()) {
            let got = h.finish();
            if got != *want {
                return Err(invalid(format!(
                    "{}: digest mismatch: expected {want}, the bytes have {got}",
                    self.expect.what
                )));
            }
        }
        Ok(())
    }
}

pub fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl<R: Read> Read for Verifier<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.finish()?;
            return Ok(0);
        }
        self.count += n as u64;
        let over = match self.expect.size {
            Some(size) => self.count > size,
            None => false,
        };
        if over || self.count > self.expect.limit {
            self.done = true;
            let what = &self.expect.what;
            return Err(invalid(match self.expect.size {
                Some(size) if over => format!("{what}: more than the {size} bytes its descriptor gives"),
                _ => format!("{what}: larger than the {}-byte limit", self.expect.limit),
            }));
        }
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        let d = Digest::sha256_of(b"");
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        for bad in [
            "sha256:../../etc/passwd",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "md5:d41d8cd98f00b204e9800998ecf8427e",
            "sha256/../x:abc",
            "sha256:e3b0",
            "",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifier_checks_size_digest_limit() {
        let read = |data: &[u8], expect: Expect| {
            let mut v = Verifier::new(data, expect);
            let mut out = Vec::new();
            v.read_to_end(&mut out).map(|_| out)
        };
        let e = |digest: Option<Digest>, size, limit| Expect {
            what: "blob".into(),
            digest,
            size,
            limit,
        };
        assert_eq!(
            read(b"abc", e(Some(Digest::sha256_of(b"abc")), Some(3), 3)).unwrap(),
            b"abc"
        );
        let err = read(b"abd", e(Some(Digest::sha256_of(b"abc")), Some(3), 3)).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
        let err = read(b"ab", e(None, Some(3), 10)).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
        let err = read(b"abcd", e(None, Some(3), 10)).unwrap_err();
        assert!(err.to_string().contains("more than the 3"), "{err}");
        let err = read(b"abcd", e(None, None, 3)).unwrap_err();
        assert!(err.to_string().contains("3-byte limit"), "{err}");
    }
}
