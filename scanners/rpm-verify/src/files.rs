//! A package's files exactly as rpm's verify reads them from the installed header:
//! `rpmfilesNew(pool, h, RPMTAG_BASENAMES, RPMFI_FLAGS_VERIFY)` in rpm 4.18's `lib/rpmfi.c`.
//!
//! rpm's defaults matter to the verdict, so they are kept rather than smoothed over:
//! - no BASENAMES: the package has no files (an OLDFILENAMES-only header verifies nothing);
//!   DIRINDEXES must have one entry per basename, each below the DIRNAMES count, or the whole
//!   package is refused (`indexSane`);
//! - a numeric per-file tag (FILEMODES, FILEFLAGS, FILEVERIFYFLAGS, FILESIZES, FILESTATES,
//!   FILEMTIMES, FILERDEVS, FILECAPS…) with the wrong count refuses the package (`_hgfi`);
//!   FILEUSERNAME and FILEGROUPNAME must be present with the right count (`tag2pool`);
//!   FILELINKTOS and FILEDIGESTS with a wrong count are merely absent;
//! - absent FILEVERIFYFLAGS means **no** check (0), absent FILESTATES means the state
//!   "no state" (`RPMFILE_STATE_MISSING`), absent FILELINKTOS means no link target;
//! - FILEDIGESTALGO unknown to rpm (not MD5, SHA1, SHA224/256/384/512) means MD5; an empty
//!   digest string is an all-zero digest; one digest of the wrong length drops them all;
//! - FILESIZES is preferred to LONGFILESIZES when a header has both.
//!
//! A package rpm refuses gets an [`FilesError`] here; rpm prints nothing for it, this scanner
//! reports it (see the crate's report).

use rpmdb::header::Header;
use rpmdb::package::DigestAlgo;
use rpmdb::tag;

/// More files than this in one package is refused as hostile (memory would follow the count;
/// the largest real packages hold about a hundred thousand).
pub const MAX_FILES: usize = 1_000_000;

/// rpm's FILESTATES values and FILEFLAGS bits (defined once, in rpmdb).
pub use rpmdb::package::{file_attrs as attr, file_states as state};

/// Why rpm would refuse a package's file list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilesError(pub String);

/// The digest algorithm rpm hashes files with, after its fallback to MD5.
pub fn effective_digest_algo(header: &Header) -> DigestAlgo {
    // rpmtdGetUint32: only an INT32 value counts; anything rpm cannot hash means MD5.
    let code = match header.entry(tag::FILEDIGESTALGO) {
        Some(e) if e.type_code == rpmdb::tag::TagType::Int32 as u32 => header.int(tag::FILEDIGESTALGO).ok().flatten(),
        _ => None,
    };
    match code.map(|c| DigestAlgo::from_code(c as u32)) {
        Some(
            a @ (DigestAlgo::Sha1 | DigestAlgo::Sha224 | DigestAlgo::Sha256 | DigestAlgo::Sha384 | DigestAlgo::Sha512),
        ) => a,
        _ => DigestAlgo::Md5,
    }
}

/// Length in bytes of a digest.
pub fn digest_len(algo: DigestAlgo) -> usize {
    algo.algorithm().map_or(0, |a| a.digest_len())
}

/// Byte strings packed end to end: one allocation for a tag's strings, not one per file.
#[derive(Debug, Clone, Default)]
struct Strings {
    data: Vec<u8>,
    /// Where each string ends in `data`.
    ends: Vec<u32>,
}

impl Strings {
    fn with_capacity(count: usize, bytes: usize) -> Strings {
        Strings {
            data: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    fn from_slices(v: &[&[u8]]) -> Strings {
        let mut s = Strings::with_capacity(v.len(), v.iter().map(|x| x.len()).sum());
        for x in v {
            s.push(&[x]);
        }
        s
    }

    /// Append one string made of `parts`.
    fn push(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.data.extend_from_slice(p);
        }
        // Header data is at most 256 MiB (rpmdb's limit), so offsets fit.
        self.ends.push(self.data.len() as u32);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.data[start..self.ends[i] as usize]
    }
}

/// One package's files, in header order, with rpm's per-tag presence kept.
#[derive(Debug, Clone, Default)]
pub struct PackageFiles {
    /// DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], as bytes.
    paths: Strings,
    /// Where the basename starts in each path.
    base_starts: Vec<u32>,
    modes: Option<Vec<u16>>,
    flags: Option<Vec<u32>>,
    vflags: Option<Vec<u32>>,
    sizes: Option<Vec<u64>>,
    states: Option<Vec<u8>>,
    mtimes: Option<Vec<u32>>,
    rdevs: Option<Vec<u16>>,
    caps: Option<Strings>,
    links: Option<Strings>,
    users: Strings,
    groups: Strings,
    digest_algo: Option<DigestAlgo>,
    /// `count × digest_len` bytes, or `None` when rpm could not decode FILEDIGESTS.
    digests: Option<Vec<u8>>,
}

impl PackageFiles {
    /// Read the file list of an installed header as rpm's verify does.
    pub fn from_header(h: &Header) -> Result<PackageFiles, FilesError> {
        let e = |t: &str, err: rpmdb::header::HeaderError| FilesError(format!("{t}: {err}"));
        let basenames = match h.strings(tag::BASENAMES).map_err(|x| e("BASENAMES", x))? {
            None => return Ok(PackageFiles::default()),
            Some(b) => b,
        };
        let dirnames = h
            .strings(tag::DIRNAMES)
            .map_err(|x| e("DIRNAMES", x))?
            .unwrap_or_default();
        let dirindexes = h
            .ints(tag::DIRINDEXES)
            .map_err(|x| e("DIRINDEXES", x))?
            .unwrap_or_default();
        let fc = basenames.len();
        if fc > MAX_FILES {
            return Err(FilesError(format!("{fc} files in one package (more than {MAX_FILES})")));
        }
        // indexSane: some basenames, some dirnames, one index per basename, all in range.
        if fc == 0 || dirnames.is_empty() || dirindexes.len() != fc {
            return Err(FilesError(format!(
                "file list is inconsistent: {fc} BASENAMES, {} DIRNAMES, {} DIRINDEXES",
                dirnames.len(),
                dirindexes.len()
            )));
        }
        let bytes = basenames.iter().map(|b| b.len()).sum::<usize>() + dirnames.iter().map(|d| d.len()).sum::<usize>();
        let mut paths = Strings::with_capacity(fc, bytes);
        let mut base_starts = Vec::with_capacity(fc);
        for (i, (base, &di)) in basenames.iter().zip(&dirindexes).enumerate() {
            let dir = dirnames.get(di as usize).ok_or_else(|| {
                FilesError(format!(
                    "DIRINDEXES[{i}] = {di} points past the {} DIRNAMES",
                    dirnames.len()
                ))
            })?;
            paths.push(&[dir, base]);
            base_starts.push(dir.len() as u32);
        }

        // _hgfi: present with the wrong count refuses the package.
        let ints = |t: u32, name: &str| -> Result<Option<Vec<u64>>, FilesError> {
            match h.ints(t).map_err(|x| e(name, x))? {
                Some(v) if v.len() != fc => Err(FilesError(format!(
                    "wrong number of entries for tag {name}: {} found but {fc} expected",
                    v.len()
                ))),
                other => Ok(other),
            }
        };
        let owned = |v: Vec<&[u8]>| Strings::from_slices(&v);
        let modes = ints(tag::FILEMODES, "FILEMODES")?.map(|v| v.into_iter().map(|x| x as u16).collect());
        let flags = ints(tag::FILEFLAGS, "FILEFLAGS")?.map(|v| v.into_iter().map(|x| x as u32).collect());
        let vflags = ints(tag::FILEVERIFYFLAGS, "FILEVERIFYFLAGS")?.map(|v| v.into_iter().map(|x| x as u32).collect());
        let short_sizes = ints(tag::FILESIZES, "FILESIZES")?;
        let long_sizes = ints(tag::LONGFILESIZES, "LONGFILESIZES")?;
        let sizes = short_sizes.or(long_sizes);
        let states = ints(tag::FILESTATES, "FILESTATES")?.map(|v| v.into_iter().map(|x| x as u8).collect());
        let caps = match h.strings(tag::FILECAPS).map_err(|x| e("FILECAPS", x))? {
            Some(v) if v.len() != fc => {
                return Err(FilesError(format!(
                    "wrong number of entries for tag FILECAPS: {} found but {fc} expected",
                    v.len()
                )))
            }
            other => other.map(owned),
        };
        // tag2pool: the wrong count means absent.
        let pool = |t: u32, name: &str| -> Result<Option<Strings>, FilesError> {
            Ok(match h.strings(t).map_err(|x| e(name, x))? {
                Some(v) if v.len() == fc => Some(owned(v)),
                _ => None,
            })
        };
        let links = pool(tag::FILELINKTOS, "FILELINKTOS")?;
        let mtimes = ints(tag::FILEMTIMES, "FILEMTIMES")?.map(|v| v.into_iter().map(|x| x as u32).collect());
        let rdevs = ints(tag::FILERDEVS, "FILERDEVS")?.map(|v| v.into_iter().map(|x| x as u16).collect());
        let users = pool(tag::FILEUSERNAME, "FILEUSERNAME")?
            .ok_or_else(|| FilesError(format!("FILEUSERNAME is missing or has not {fc} entries")))?;
        let groups = pool(tag::FILEGROUPNAME, "FILEGROUPNAME")?
            .ok_or_else(|| FilesError(format!("FILEGROUPNAME is missing or has not {fc} entries")))?;

        let algo = effective_digest_algo(h);
        let digests = match h.strings(tag::FILEDIGESTS) {
            Ok(Some(v)) if v.len() == fc => hex_digests(&v, digest_len(algo)),
            _ => None,
        };
        Ok(PackageFiles {
            paths,
            base_starts,
            modes,
            flags,
            vflags,
            sizes,
            states,
            mtimes,
            rdevs,
            caps,
            links,
            users,
            groups,
            digest_algo: Some(algo),
            digests,
        })
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.len() == 0
    }

    /// The file's path (`rpmfilesFN`).
    pub fn path(&self, i: usize) -> &[u8] {
        self.paths.get(i)
    }

    /// The directory part of the path, with its trailing `/` (a DIRNAMES entry).
    pub fn dirname(&self, i: usize) -> &[u8] {
        &self.paths.get(i)[..self.base_starts[i] as usize]
    }

    /// The BASENAMES entry.
    pub fn basename(&self, i: usize) -> &[u8] {
        &self.paths.get(i)[self.base_starts[i] as usize..]
    }

    /// FILEMODES, 0 when absent.
    pub fn mode(&self, i: usize) -> u16 {
        self.modes.as_ref().map_or(0, |v| v[i])
    }

    /// FILEFLAGS, 0 when absent.
    pub fn flags(&self, i: usize) -> u32 {
        self.flags.as_ref().map_or(0, |v| v[i])
    }

    /// FILEVERIFYFLAGS, 0 (verify nothing) when absent.
    pub fn verify_flags(&self, i: usize) -> u32 {
        self.vflags.as_ref().map_or(0, |v| v[i])
    }

    /// FILESIZES (else LONGFILESIZES), 0 when absent.
    pub fn size(&self, i: usize) -> u64 {
        self.sizes.as_ref().map_or(0, |v| v[i])
    }

    /// FILESTATES; [`state::MISSING`] when the header has none.
    pub fn state(&self, i: usize) -> u8 {
        self.states.as_ref().map_or(state::MISSING, |v| v[i])
    }

    pub fn mtime(&self, i: usize) -> u32 {
        self.mtimes.as_ref().map_or(0, |v| v[i])
    }

    pub fn rdev(&self, i: usize) -> u16 {
        self.rdevs.as_ref().map_or(0, |v| v[i])
    }

    /// FILECAPS text; empty (no capability) when absent.
    pub fn caps(&self, i: usize) -> &[u8] {
        self.caps.as_ref().map_or(&[][..], |v| v.get(i))
    }

    /// FILELINKTOS; `None` when the header has none (rpm then reports `L` for any symlink).
    pub fn link_target(&self, i: usize) -> Option<&[u8]> {
        self.links.as_ref().map(|v| v.get(i))
    }

    pub fn user(&self, i: usize) -> &[u8] {
        self.users.get(i)
    }

    pub fn group(&self, i: usize) -> &[u8] {
        self.groups.get(i)
    }

    pub fn digest_algo(&self) -> DigestAlgo {
        self.digest_algo.unwrap_or(DigestAlgo::Md5)
    }

    /// The expected digest; `None` when rpm has none to compare with (then it reports `5`).
    pub fn digest(&self, i: usize) -> Option<&[u8]> {
        let len = digest_len(self.digest_algo());
        self.digests.as_ref().map(|d| &d[i * len..(i + 1) * len])
    }
}

/// `hex2bin`: empty strings become zeros, a string of any other wrong length drops them all,
/// characters that are not hex digits count as 0 (`rnibble`).
fn hex_digests(hex: &[&[u8]], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(hex.len() * len);
    for s in hex {
        if s.is_empty() {
            out.extend(std::iter::repeat_n(0u8, len));
            continue;
        }
        if s.len() != len * 2 {
            return None;
        }
        out.extend(s.chunks_exact(2).map(|p| (nibble(p[0]) << 4) | nibble(p[1])));
    }
    Some(out)
}

fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rpmdb::tag::TagType;

    /// A region-less header blob from `(tag, type, count, data)` entries.
    fn blob(entries: &[(u32, TagType, u32, Vec<u8>)]) -> Header {
        let mut data = Vec::new();
        let mut index = Vec::new();
        for (tag, ty, count, bytes) in entries {
            let align = ty.element_size().unwrap_or(1).max(1);
            while data.len() % align != 0 {
                data.push(0);
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&(*ty as u32).to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            data.extend_from_slice(bytes);
        }
        let mut b = (entries.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend_from_slice(&index);
        b.extend_from_slice(&data);
        Header::parse(b).unwrap()
    }

    fn strings(v: &[&str]) -> Vec<u8> {
        v.iter().flat_map(|s| s.bytes().chain([0])).collect()
    }

    fn base(dirindex: u32) -> Vec<(u32, TagType, u32, Vec<u8>)> {
        vec![
            (tag::NAME, TagType::String, 1, strings(&["p"])),
            (tag::DIRINDEXES, TagType::Int32, 1, dirindex.to_be_bytes().to_vec()),
            (tag::BASENAMES, TagType::StringArray, 1, strings(&["f"])),
            (tag::DIRNAMES, TagType::StringArray, 1, strings(&["/usr/"])),
        ]
    }

    #[test]
    fn rpms_defaults_for_absent_tags() {
        let mut e = base(0);
        e.push((tag::FILEUSERNAME, TagType::StringArray, 1, strings(&["root"])));
        e.push((tag::FILEGROUPNAME, TagType::StringArray, 1, strings(&["root"])));
        let f = PackageFiles::from_header(&blob(&e)).unwrap();
        assert_eq!(f.path(0), b"/usr/f");
        assert_eq!((f.dirname(0), f.basename(0)), (&b"/usr/"[..], &b"f"[..]));
        assert_eq!(f.verify_flags(0), 0, "no FILEVERIFYFLAGS: verify nothing");
        assert_eq!(f.state(0), state::MISSING, "no FILESTATES: \"no state\"");
        assert_eq!(f.link_target(0), None);
        assert_eq!(f.digest(0), None);
        assert_eq!(f.digest_algo(), DigestAlgo::Md5);
    }

    #[test]
    fn packages_rpm_refuses() {
        // DIRINDEXES past DIRNAMES (blob.bin's defect).
        let mut e = base(7);
        e.push((tag::FILEUSERNAME, TagType::StringArray, 1, strings(&["root"])));
        e.push((tag::FILEGROUPNAME, TagType::StringArray, 1, strings(&["root"])));
        assert!(PackageFiles::from_header(&blob(&e)).is_err());
        // No FILEUSERNAME.
        let mut e = base(0);
        e.push((tag::FILEGROUPNAME, TagType::StringArray, 1, strings(&["root"])));
        assert!(PackageFiles::from_header(&blob(&e)).is_err());
        // FILEMODES with the wrong count.
        let mut e = base(0);
        e.push((tag::FILEUSERNAME, TagType::StringArray, 1, strings(&["root"])));
        e.push((tag::FILEGROUPNAME, TagType::StringArray, 1, strings(&["root"])));
        e.push((tag::FILEMODES, TagType::Int16, 2, vec![0x81, 0xa4, 0x81, 0xa4]));
        assert!(PackageFiles::from_header(&blob(&e)).is_err());
        // A wrong-length digest only drops the digests.
        let mut e = base(0);
        e.push((tag::FILEUSERNAME, TagType::StringArray, 1, strings(&["root"])));
        e.push((tag::FILEGROUPNAME, TagType::StringArray, 1, strings(&["root"])));
        e.push((tag::FILEDIGESTS, TagType::StringArray, 1, strings(&["abcd"])));
        assert_eq!(PackageFiles::from_header(&blob(&e)).unwrap().digest(0), None);
    }

    #[test]
    fn hex_digests_follow_hex2bin() {
        assert_eq!(hex_digests(&[b"0aFf", b""], 2), Some(vec![0x0a, 0xff, 0, 0]));
        assert_eq!(hex_digests(&[b"0aff", b"abc"], 2), None);
        assert_eq!(hex_digests(&[b"zz00"], 2), Some(vec![0, 0]));
    }
}
