//! File digests in a package's algorithm (`rpmDoDigest`), streamed through one buffer per
//! worker so that a huge file costs no memory. A file with several hard links is read once:
//! its paths are one inode, so one content (Mesa's DRI drivers are one 25 MB file under a
//! dozen names, git's helpers one binary under a hundred). Files of [`crate::mapped::MIN_MAPPED`]
//! bytes and more are hashed through mappings (no copy out of the page cache), the others read.

use rpmdb::digest::{Algorithm, Hasher};
use rpmdb::package::DigestAlgo;
use rpmdb::root::image::tree::NodeId;
use rpmdb::root::{ImageTree, Root};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Mutex;

/// Bytes read at a time: small enough that the copy from the page cache stays in the
/// core's cache for the hash to read (256 KiB, rpm's size, doubles the kernel's copy time
/// on the benchmark machine).
pub const BUFFER_SIZE: usize = 64 * 1024;

/// The algorithm to hash a package's files with. One rpm does not know is hashed as MD5: its
/// digests then differ from the header's, and the files are reported as changed.
fn algorithm(algo: DigestAlgo) -> Algorithm {
    algo.algorithm().unwrap_or(Algorithm::Md5)
}

/// The digest of the first `len` bytes `reader` yields (fewer if it ends first), read
/// through `buffer`. Files are read for the size `lstat` gave, which spares the read that
/// would only find the end; a file that changes while it is read is hashed as it is read.
pub fn digest_reader(algo: DigestAlgo, mut reader: impl Read, len: u64, buffer: &mut [u8]) -> io::Result<Vec<u8>> {
    let mut h = Hasher::new(algorithm(algo));
    let mut left = len;
    while left > 0 {
        let want = buffer.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        match reader.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(n) => {
                h.update(&buffer[..n]);
                left -= n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(h.finish())
}

/// Digests of inodes that have several links, by `(st_dev, st_ino, algorithm)`, shared by the
/// workers of one verification.
#[derive(Debug, Default)]
pub struct InodeDigests {
    known: Mutex<HashMap<(u64, u64, u32), Vec<u8>>>,
    /// An image's files in the algorithms its layer pass did not take, by `(inode, code)`.
    image: HashMap<(NodeId, u32), Vec<u8>>,
}

impl InodeDigests {
    /// With the digests [`hash_image`] took.
    pub fn with_image_digests(image: HashMap<(NodeId, u32), Vec<u8>>) -> InodeDigests {
        InodeDigests {
            known: Mutex::default(),
            image,
        }
    }
}

/// Every regular file of an image in each of `algos`, reading the layers once more (for
/// packages whose algorithm is not the SHA-256 the layer pass took).
pub fn hash_image(tree: &ImageTree, algos: &[DigestAlgo]) -> io::Result<HashMap<(NodeId, u32), Vec<u8>>> {
    let found = Mutex::new(HashMap::new());
    tree.read_contents(&tree.regular_files(), &|id, reader| {
        let mut hashers: Vec<(u32, Hasher)> = algos.iter().map(|a| (a.code(), Hasher::new(algorithm(*a)))).collect();
        let mut buf = vec![0u8; BUFFER_SIZE];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => hashers.iter_mut().for_each(|(_, h)| h.update(&buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        let mut found = found.lock().unwrap_or_else(|p| p.into_inner());
        for (code, h) in hashers {
            found.insert((id, code), h.finish());
        }
        Ok(())
    })?;
    Ok(found.into_inner().unwrap_or_else(|p| p.into_inner()))
}

/// What identifies the content of an open file: its inode, its link count and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
    pub nlink: u64,
    pub size: u64,
}

/// One worker's means to digest files: its read buffer and the shared hard-link digests.
#[derive(Debug)]
pub struct FileDigester<'a> {
    buffer: Vec<u8>,
    inodes: &'a InodeDigests,
}

impl<'a> FileDigester<'a> {
    pub fn new(inodes: &'a InodeDigests) -> FileDigester<'a> {
        FileDigester {
            buffer: vec![0u8; BUFFER_SIZE],
            inodes,
        }
    }

    /// The digest of an image's file: the layer pass's SHA-256, or one [`hash_image`] took.
    pub fn image_digest(&mut self, root: &Root, algo: DigestAlgo, node: NodeId) -> io::Result<Vec<u8>> {
        if let Some(d) = self.inodes.image.get(&(node, algo.code())) {
            return Ok(d.clone());
        }
        let sha256 = root
            .image()
            .and_then(|t| t.node(node).content.as_ref())
            .and_then(|c| c.sha256)
            .filter(|_| algorithm(algo) == Algorithm::Sha256);
        sha256
            .map(|d| d.to_vec())
            .ok_or_else(|| io::Error::other("the image's file was not hashed in this algorithm"))
    }

    /// The digest of an open regular file's first `id.size` bytes, read only once per inode.
    pub fn digest(&mut self, algo: DigestAlgo, file: &File, id: FileIdentity) -> io::Result<Vec<u8>> {
        if id.nlink < 2 {
            return digest_file(algo, file, id.size, &mut self.buffer);
        }
        let key = (id.dev, id.ino, algo.code());
        let lock = || {
            self.inodes
                .known
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some(d) = lock().get(&key) {
            return Ok(d.clone());
        }
        let d = digest_file(algo, file, id.size, &mut self.buffer)?;
        lock().insert(key, d.clone());
        Ok(d)
    }
}

/// The digest of an open regular file's first `len` bytes (fewer if it ends first): through
/// mappings when it is large, else — and whenever the mapped hash fails or the file turns out
/// shorter (truncated while hashed) — read through `buffer` from its start, as
/// [`digest_reader`] reads.
fn digest_file(algo: DigestAlgo, file: &File, len: u64, buffer: &mut [u8]) -> io::Result<Vec<u8>> {
    if len >= crate::mapped::MIN_MAPPED {
        let mut h = Hasher::new(algorithm(algo));
        if crate::mapped::hash_mapped(file, len, &mut h).is_ok() {
            return Ok(h.finish());
        }
    }
    digest_reader(algo, file, len, buffer)
}

/// The digest of a byte string (tests, header digests).
pub fn digest_bytes(algo: DigestAlgo, data: &[u8]) -> Vec<u8> {
    rpmdb::digest::digest(algorithm(algo), data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpmdb::digest::to_hex as hex;

    #[test]
    fn hard_links_are_read_once() {
        use std::os::unix::fs::MetadataExt;
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a"), b"linked").unwrap();
        std::fs::hard_link(t.path().join("a"), t.path().join("b")).unwrap();
        let inodes = InodeDigests::default();
        let mut d = FileDigester::new(&inodes);
        let mut got = Vec::new();
        for name in ["a", "b"] {
            let f = File::open(t.path().join(name)).unwrap();
            let m = f.metadata().unwrap();
            let id = FileIdentity {
                dev: m.dev(),
                ino: m.ino(),
                nlink: m.nlink(),
                size: m.size(),
            };
            got.push(d.digest(DigestAlgo::Sha256, &f, id).unwrap());
        }
        assert_eq!(got[0], digest_bytes(DigestAlgo::Sha256, b"linked"));
        assert_eq!(got[0], got[1]);
        assert_eq!(inodes.known.lock().unwrap().len(), 1);
    }

    #[test]
    fn a_large_file_shorter_than_its_lstat_size_is_hashed_as_read() {
        // Truncated between lstat and the hash: the mapping faults past the new end, and the
        // digest is the read path's, of the bytes that are left.
        let t = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * crate::mapped::MIN_MAPPED as usize)
            .map(|i| (i % 241) as u8)
            .collect();
        std::fs::write(t.path().join("f"), &data).unwrap();
        let f = File::options().read(true).write(true).open(t.path().join("f")).unwrap();
        f.set_len(crate::mapped::MIN_MAPPED / 2).unwrap();
        let left = &data[..crate::mapped::MIN_MAPPED as usize / 2];
        let mut buf = vec![0u8; BUFFER_SIZE];
        let got = digest_file(DigestAlgo::Sha256, &f, data.len() as u64, &mut buf).unwrap();
        assert_eq!(got, digest_bytes(DigestAlgo::Sha256, left));
        // A fresh descriptor, as each file of a scan gets (the read above moved the offset).
        let again = File::open(t.path().join("f")).unwrap();
        let whole = digest_file(DigestAlgo::Sha256, &again, left.len() as u64, &mut buf).unwrap();
        assert_eq!(whole, got);
    }

    #[test]
    fn known_digests() {
        assert_eq!(
            hex(&digest_bytes(DigestAlgo::Md5, b"abc")),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(&digest_bytes(DigestAlgo::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut buf = [0u8; 2];
        let streamed = digest_reader(DigestAlgo::Sha1, &b"abcdefg"[..], 7, &mut buf).unwrap();
        assert_eq!(streamed, digest_bytes(DigestAlgo::Sha1, b"abcdefg"));
        let short = digest_reader(DigestAlgo::Sha1, &b"abc"[..], 7, &mut buf).unwrap();
        assert_eq!(short, digest_bytes(DigestAlgo::Sha1, b"abc"));
        let first = digest_reader(DigestAlgo::Sha1, &b"abcdefg"[..], 3, &mut buf).unwrap();
        assert_eq!(first, digest_bytes(DigestAlgo::Sha1, b"abc"));
    }
}
