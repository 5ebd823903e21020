//! Installed packages and their files, as `rpm -q` and `rpm -V` see them, read from a header.

use crate::digest::Algorithm;
use crate::header::{Entry, Header, HeaderError, IntArray};
use crate::signature::{self, SignatureInfo};
use crate::tag;
use crate::version::Evr;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The algorithm of a package's file digests (FILEDIGESTALGO; absent means MD5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgo {
    Md5,
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Sha224,
    /// A code rpm does not know; digests cannot be checked.
    Unknown(u32),
}

impl DigestAlgo {
    pub fn from_code(code: u32) -> DigestAlgo {
        match code {
            1 => DigestAlgo::Md5,
            2 => DigestAlgo::Sha1,
            8 => DigestAlgo::Sha256,
            9 => DigestAlgo::Sha384,
            10 => DigestAlgo::Sha512,
            11 => DigestAlgo::Sha224,
            other => DigestAlgo::Unknown(other),
        }
    }

    /// The FILEDIGESTALGO code (`pgpHashAlgo`), the inverse of [`DigestAlgo::from_code`].
    pub fn code(self) -> u32 {
        match self {
            DigestAlgo::Md5 => 1,
            DigestAlgo::Sha1 => 2,
            DigestAlgo::Sha256 => 8,
            DigestAlgo::Sha384 => 9,
            DigestAlgo::Sha512 => 10,
            DigestAlgo::Sha224 => 11,
            DigestAlgo::Unknown(c) => c,
        }
    }

    /// The algorithm to hash with; `None` for a code rpm does not know.
    pub fn algorithm(self) -> Option<Algorithm> {
        Some(match self {
            DigestAlgo::Md5 => Algorithm::Md5,
            DigestAlgo::Sha1 => Algorithm::Sha1,
            DigestAlgo::Sha224 => Algorithm::Sha224,
            DigestAlgo::Sha256 => Algorithm::Sha256,
            DigestAlgo::Sha384 => Algorithm::Sha384,
            DigestAlgo::Sha512 => Algorithm::Sha512,
            DigestAlgo::Unknown(_) => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            DigestAlgo::Md5 => "MD5",
            DigestAlgo::Sha1 => "SHA1",
            DigestAlgo::Sha256 => "SHA256",
            DigestAlgo::Sha384 => "SHA384",
            DigestAlgo::Sha512 => "SHA512",
            DigestAlgo::Sha224 => "SHA224",
            DigestAlgo::Unknown(_) => "unknown",
        }
    }
}

/// FILEFLAGS bits (`rpmfileAttrs`, rpm's `rpmfiles.h`): rpm's vocabulary for what a packaged
/// file is, defined once for every crate.
pub mod file_attrs {
    pub const CONFIG: u32 = 1 << 0;
    pub const DOC: u32 = 1 << 1;
    pub const ICON: u32 = 1 << 2;
    pub const MISSINGOK: u32 = 1 << 3;
    pub const NOREPLACE: u32 = 1 << 4;
    pub const SPECFILE: u32 = 1 << 5;
    pub const GHOST: u32 = 1 << 6;
    pub const LICENSE: u32 = 1 << 7;
    pub const README: u32 = 1 << 8;
    pub const PUBKEY: u32 = 1 << 11;
    pub const ARTIFACT: u32 = 1 << 12;
}

/// A file's FILEFLAGS ([`file_attrs`] bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFlags(pub u32);

impl FileFlags {
    pub fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }
    pub fn is_config(self) -> bool {
        self.has(file_attrs::CONFIG)
    }
    pub fn is_doc(self) -> bool {
        self.has(file_attrs::DOC)
    }
    pub fn is_ghost(self) -> bool {
        self.has(file_attrs::GHOST)
    }
    pub fn is_missingok(self) -> bool {
        self.has(file_attrs::MISSINGOK)
    }
    pub fn is_license(self) -> bool {
        self.has(file_attrs::LICENSE)
    }
    pub fn is_readme(self) -> bool {
        self.has(file_attrs::README)
    }
}

/// FILEVERIFYFLAGS bits (`rpmVerifyAttrs`, rpm's `rpmvf.h`); absent means all. The high bits
/// are not checks but what `rpm -V` found it could not do.
pub mod verify_flags {
    pub const DIGEST: u32 = 1 << 0;
    pub const FILESIZE: u32 = 1 << 1;
    pub const LINKTO: u32 = 1 << 2;
    pub const USER: u32 = 1 << 3;
    pub const GROUP: u32 = 1 << 4;
    pub const MTIME: u32 = 1 << 5;
    pub const MODE: u32 = 1 << 6;
    pub const RDEV: u32 = 1 << 7;
    pub const CAPS: u32 = 1 << 8;
    /// `readlink` failed: `?` in the `L` column.
    pub const READLINKFAIL: u32 = 1 << 28;
    /// The file could not be read: `?` in the `5` column.
    pub const READFAIL: u32 = 1 << 29;
    /// `lstat` failed: the file is missing.
    pub const LSTATFAIL: u32 = 1 << 30;
    pub const LGETFILECONFAIL: u32 = 1 << 31;
    pub const FAILURES: u32 = LSTATFAIL | READFAIL | READLINKFAIL | LGETFILECONFAIL;
    pub const ALL: u32 = !0;
}

/// FILESTATES values (`rpmfileState`) as stored: the codes of [`FileState`].
pub mod file_states {
    pub const NORMAL: u8 = 0;
    pub const REPLACED: u8 = 1;
    pub const NOT_INSTALLED: u8 = 2;
    pub const NET_SHARED: u8 = 3;
    pub const WRONG_COLOR: u8 = 4;
    /// What rpm reports when the header has no FILESTATES at all ("no state").
    pub const MISSING: u8 = 5;
}

/// FILESTATES values (`rpmfileState`); absent means normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Normal,
    Replaced,
    NotInstalled,
    NetShared,
    WrongColor,
    Missing,
    Unknown(u8),
}

impl FileState {
    pub fn from_code(c: u8) -> FileState {
        use file_states::*;
        match c {
            NORMAL => FileState::Normal,
            REPLACED => FileState::Replaced,
            NOT_INSTALLED => FileState::NotInstalled,
            NET_SHARED => FileState::NetShared,
            WRONG_COLOR => FileState::WrongColor,
            MISSING => FileState::Missing,
            other => FileState::Unknown(other),
        }
    }

    /// The FILESTATES value, the inverse of [`FileState::from_code`].
    pub fn code(self) -> u8 {
        use file_states::*;
        match self {
            FileState::Normal => NORMAL,
            FileState::Replaced => REPLACED,
            FileState::NotInstalled => NOT_INSTALLED,
            FileState::NetShared => NET_SHARED,
            FileState::WrongColor => WRONG_COLOR,
            FileState::Missing => MISSING,
            FileState::Unknown(c) => c,
        }
    }
}

/// One file of an installed package, with everything `rpm -V` compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Absolute path in the image; may not be UTF-8.
    pub path: PathBuf,
    pub size: u64,
    /// `st_mode`, file type bits included.
    pub mode: u16,
    pub rdev: u16,
    pub mtime: u32,
    /// Lowercase hex digest in the package's algorithm; `None` when empty (non-regular files).
    pub digest: Option<String>,
    /// Symlink target; empty for anything but a symlink.
    pub link_target: PathBuf,
    pub flags: FileFlags,
    pub verify_flags: u32,
    pub user: String,
    pub group: String,
    pub state: FileState,
    /// Capabilities in `cap_to_text` form; `None` when empty.
    pub caps: Option<String>,
    pub color: u32,
    pub inode: u32,
    pub device: u32,
    pub lang: String,
}

impl FileEntry {
    pub fn file_type(&self) -> u16 {
        self.mode & 0o170000
    }
    pub fn is_regular(&self) -> bool {
        self.file_type() == 0o100000
    }
    pub fn is_dir(&self) -> bool {
        self.file_type() == 0o040000
    }
    pub fn is_symlink(&self) -> bool {
        self.file_type() == 0o120000
    }
}

/// The signature of a package as rpm would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    None,
    Parsed(SignatureInfo),
    /// The tag is present but is not a signature rpm can read.
    Unreadable(String),
}

impl Signature {
    /// The string of `%{RSAHEADER:pgpsig}`-style output, or `(none)`.
    pub fn to_rpm_string(&self) -> String {
        match self {
            Signature::None => "(none)".to_string(),
            Signature::Parsed(s) => s.to_rpm_string(),
            Signature::Unreadable(_) => "(not an OpenPGP signature)".to_string(),
        }
    }
}

/// A dependency entry (provides, obsoletes…): name, comparison flags, `[E:]V[-R]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: String,
    pub flags: u32,
    pub version: String,
}

/// An installed package: identity and header strings read eagerly, files on demand.
#[derive(Debug, Clone)]
pub struct Package {
    /// The database's header number (record key).
    pub header_number: u32,
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// `None` for packages without ARCH (gpg-pubkey); rpm prints `(none)`.
    pub arch: Option<String>,
    pub header: Header,
}

impl Package {
    /// Read a package's identity from its header. Fails only when NAME, VERSION or RELEASE
    /// cannot be read.
    pub fn from_header(header_number: u32, header: Header) -> Result<Package, HeaderError> {
        let [name, version, release, epoch, arch] =
            header.entries([tag::NAME, tag::VERSION, tag::RELEASE, tag::EPOCH, tag::ARCH]);
        let need = |e: Option<Entry>, t: u32, what: &str| -> Result<String, HeaderError> {
            header.string_of(e.ok_or_else(|| HeaderError(format!("header has no {what} tag ({t})")))?)
        };
        let name = need(name, tag::NAME, "NAME")?;
        let version = need(version, tag::VERSION, "VERSION")?;
        let release = need(release, tag::RELEASE, "RELEASE")?;
        let epoch = epoch.map(|e| header.int_of(e)).transpose()?.flatten().map(|e| e as u32);
        let arch = arch.map(|e| header.string_of(e)).transpose()?;
        Ok(Package {
            header_number,
            name,
            epoch,
            version,
            release,
            arch,
            header,
        })
    }

    pub fn evr(&self) -> Evr {
        Evr::new(self.epoch, self.version.clone(), self.release.clone())
    }

    pub fn arch_or_none(&self) -> &str {
        self.arch.as_deref().unwrap_or("(none)")
    }

    /// `name-version-release.arch`, as the seed's `RPM` field shows it.
    pub fn nvra(&self) -> String {
        match &self.arch {
            Some(a) => format!("{}-{}-{}.{}", self.name, self.version, self.release, a),
            None => format!("{}-{}-{}", self.name, self.version, self.release),
        }
    }

    fn opt_string(&self, t: u32) -> Option<String> {
        self.header
            .string_bytes(t)
            .ok()
            .flatten()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    pub fn vendor(&self) -> Option<String> {
        self.opt_string(tag::VENDOR)
    }
    pub fn packager(&self) -> Option<String> {
        self.opt_string(tag::PACKAGER)
    }
    pub fn buildhost(&self) -> Option<String> {
        self.opt_string(tag::BUILDHOST)
    }
    pub fn source_rpm(&self) -> Option<String> {
        self.opt_string(tag::SOURCERPM)
    }
    pub fn modularity_label(&self) -> Option<String> {
        self.opt_string(tag::MODULARITYLABEL)
    }
    pub fn summary(&self) -> Option<String> {
        self.opt_string(tag::SUMMARY)
    }
    pub fn license(&self) -> Option<String> {
        self.opt_string(tag::LICENSE)
    }
    pub fn install_time(&self) -> Option<u32> {
        self.header.int(tag::INSTALLTIME).ok().flatten().map(|t| t as u32)
    }
    pub fn build_time(&self) -> Option<u32> {
        self.header.int(tag::BUILDTIME).ok().flatten().map(|t| t as u32)
    }
    /// Installed size: LONGSIZE, else SIZE.
    pub fn size(&self) -> Option<u64> {
        self.header
            .int(tag::LONGSIZE)
            .ok()
            .flatten()
            .or_else(|| self.header.int(tag::SIZE).ok().flatten())
    }

    /// The header digests recorded at install time (hex), if any.
    pub fn sha256_header(&self) -> Option<String> {
        self.opt_string(tag::SIG_SHA256HEADER)
    }
    pub fn sha1_header(&self) -> Option<String> {
        self.opt_string(tag::SIG_SHA1HEADER)
    }

    /// The signature rpm 4.18 shows: the first present of DSAHEADER, RSAHEADER, SIGGPG,
    /// SIGPGP (rpm 6's OPENPGP last).
    pub fn signature(&self) -> Signature {
        for t in [
            tag::SIG_DSAHEADER,
            tag::SIG_RSAHEADER,
            tag::SIG_SIGGPG,
            tag::SIG_SIGPGP,
            tag::SIG_OPENPGP,
        ] {
            let bytes = match self.header.entry(t) {
                None => continue,
                Some(_) => match self.header.bin(t) {
                    Ok(Some(b)) => b,
                    // OPENPGP is a string array of base64 in rpm 6: not readable here.
                    _ => return Signature::Unreadable(format!("tag {t} is not binary")),
                },
            };
            return match signature::parse(bytes) {
                Ok(info) => Signature::Parsed(info),
                Err(e) => Signature::Unreadable(e.to_string()),
            };
        }
        Signature::None
    }

    /// Provides (name, flags, version), for `system-release(releasever)` and the like.
    pub fn provides(&self) -> Result<Vec<Dependency>, HeaderError> {
        self.dependencies(tag::PROVIDENAME, tag::PROVIDEFLAGS, tag::PROVIDEVERSION)
    }

    fn dependencies(&self, names: u32, flags: u32, versions: u32) -> Result<Vec<Dependency>, HeaderError> {
        let n = self.header.strings(names)?.unwrap_or_default();
        let f = self.header.ints(flags)?.unwrap_or_default();
        let v = self.header.strings(versions)?.unwrap_or_default();
        Ok(n.iter()
            .enumerate()
            .map(|(i, name)| Dependency {
                name: String::from_utf8_lossy(name).into_owned(),
                flags: f.get(i).copied().unwrap_or(0) as u32,
                version: v
                    .get(i)
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default(),
            })
            .collect())
    }

    /// FILEDIGESTALGO, MD5 when absent.
    pub fn digest_algo(&self) -> DigestAlgo {
        match self.header.int(tag::FILEDIGESTALGO) {
            Ok(Some(c)) => DigestAlgo::from_code(c as u32),
            _ => DigestAlgo::Md5,
        }
    }

    /// The package's file arrays, checked once and read in place: the way to walk many
    /// files without an allocation per file. Fails when the parallel arrays disagree or
    /// point out of range (e.g. DIRINDEXES past DIRNAMES).
    pub fn file_table(&self) -> Result<FileTable<'_>, HeaderError> {
        FileTable::from_header(&self.header)
    }

    /// Every file of the package, in header order, as owned values. Fails as
    /// [`Package::file_table`] does.
    pub fn files(&self) -> Result<Vec<FileEntry>, HeaderError> {
        let table = self.file_table()?;
        // Most files of a package share one user and one group: decode each distinct name once.
        let mut names: Vec<(&[u8], String)> = Vec::new();
        let mut out = Vec::with_capacity(table.len());
        let mut path = Vec::new();
        for i in 0..table.len() {
            path.clear();
            table.write_path(i, &mut path);
            let digest = table.digest(i);
            let cap = table.caps(i);
            out.push(FileEntry {
                path: PathBuf::from(OsStr::from_bytes(&path)),
                size: table.size(i),
                mode: table.mode(i),
                rdev: table.rdev(i),
                mtime: table.mtime(i),
                digest: (!digest.is_empty()).then(|| String::from_utf8_lossy(digest).to_ascii_lowercase()),
                link_target: PathBuf::from(OsStr::from_bytes(table.link_target(i))),
                flags: table.flags(i),
                verify_flags: table.verify_flags(i),
                user: decode_once(&mut names, table.user(i)),
                group: decode_once(&mut names, table.group(i)),
                state: table.state(i),
                caps: (!cap.is_empty()).then(|| String::from_utf8_lossy(cap).into_owned()),
                color: table.color(i),
                inode: table.inode(i),
                device: table.device(i),
                lang: String::from_utf8_lossy(table.lang(i)).into_owned(),
            });
        }
        Ok(out)
    }
}

/// A package's per-file arrays borrowed from its header. Every array present has one entry per
/// file and every DIRINDEXES entry points inside DIRNAMES (checked when the table is made), so
/// reading a field of file `i < len()` cannot fail and allocates nothing. Absent tags read as
/// rpm's query defaults: 0, empty, verify flags all set.
pub struct FileTable<'h> {
    /// The string arrays that are split, one after the other in one allocation: the base names
    /// (or, in a legacy header, OLDFILENAMES as base names with no directories), the directory
    /// names, then the per-file arrays that are not one string repeated ([`Texts`]).
    strings: Vec<&'h [u8]>,
    /// The number of files, which is also where the directory names start in `strings`.
    files: usize,
    dirindexes: Option<IntArray<'h>>,
    sizes: Option<IntArray<'h>>,
    modes: Option<IntArray<'h>>,
    rdevs: Option<IntArray<'h>>,
    mtimes: Option<IntArray<'h>>,
    flags: Option<IntArray<'h>>,
    verify_flags: Option<IntArray<'h>>,
    states: Option<IntArray<'h>>,
    colors: Option<IntArray<'h>>,
    inodes: Option<IntArray<'h>>,
    devices: Option<IntArray<'h>>,
    digests: Texts<'h>,
    links: Texts<'h>,
    users: Texts<'h>,
    groups: Texts<'h>,
    caps: Texts<'h>,
    langs: Texts<'h>,
}

/// A per-file string array of a [`FileTable`].
#[derive(Debug, Clone, Copy)]
enum Texts<'h> {
    /// The same string for every file ("" when the header has no such array): never split.
    Same(&'h [u8]),
    /// Split into `strings`, where this array starts.
    At(usize),
}

impl<'h> FileTable<'h> {
    fn from_header(h: &'h Header) -> Result<FileTable<'h>, HeaderError> {
        // Every tag the table reads, found in one walk over the header's index.
        let [old_filenames, sizes, states, modes, rdevs, mtimes, digests, links, flags, users, groups, verify_flags, devices, inodes, langs, dirindexes, basenames, dirnames, colors, long_sizes, caps] =
            h.entries([
                tag::OLDFILENAMES,
                tag::FILESIZES,
                tag::FILESTATES,
                tag::FILEMODES,
                tag::FILERDEVS,
                tag::FILEMTIMES,
                tag::FILEDIGESTS,
                tag::FILELINKTOS,
                tag::FILEFLAGS,
                tag::FILEUSERNAME,
                tag::FILEGROUPNAME,
                tag::FILEVERIFYFLAGS,
                tag::FILEDEVICES,
                tag::FILEINODES,
                tag::FILELANGS,
                tag::DIRINDEXES,
                tag::BASENAMES,
                tag::DIRNAMES,
                tag::FILECOLORS,
                tag::LONGFILESIZES,
                tag::FILECAPS,
            ]);
        // A per-file string array that is one string repeated (users and groups are mostly
        // "root"; FILELINKTOS and FILELANGS mostly "") is kept as that string, not split.
        // Digests differ from file to file (or are all "" in a package of directories, cheap to
        // split), so they are not checked.
        let [links, users, groups, caps, langs] =
            [links, users, groups, caps, langs].map(|e| e.map(|e| (e, h.same_strings_of(e))));
        let digests = digests.map(|e| (e, None));
        // Room for every array to split at once: their counts, but no more than the data store
        // has bytes (each string takes one at least), so a lying count allocates nothing.
        let split = [digests, links, users, groups, caps, langs]
            .into_iter()
            .flatten()
            .filter_map(|(e, same)| same.is_none().then_some(e));
        let claimed: usize = [old_filenames, basenames, dirnames]
            .into_iter()
            .flatten()
            .chain(split)
            .map(|e| e.count as usize)
            .sum();
        let mut strings = Vec::with_capacity(claimed.min(h.data_len()));
        let (files, dirindexes) = match basenames {
            Some(basenames) => {
                let files = h.push_strings_of(basenames, &mut strings)?;
                let dirnames = h.push_strings_of(
                    dirnames.ok_or_else(|| HeaderError("BASENAMES without DIRNAMES".into()))?,
                    &mut strings,
                )?;
                let dirindexes =
                    h.int_array_of(dirindexes.ok_or_else(|| HeaderError("BASENAMES without DIRINDEXES".into()))?)?;
                if dirindexes.len() != files {
                    return Err(HeaderError(format!(
                        "DIRINDEXES has {} entries for {files} BASENAMES",
                        dirindexes.len(),
                    )));
                }
                if let Some((i, di)) = dirindexes.iter().enumerate().find(|&(_, di)| di >= dirnames as u64) {
                    return Err(HeaderError(format!(
                        "DIRINDEXES[{i}] = {di} points past the {dirnames} DIRNAMES"
                    )));
                }
                (files, Some(dirindexes))
            }
            None => match old_filenames {
                Some(e) => (h.push_strings_of(e, &mut strings)?, None),
                None => (0, None),
            },
        };
        let ints = |e: Option<Entry>, name: &str| -> Result<Option<IntArray<'h>>, HeaderError> {
            let Some(e) = e else { return Ok(None) };
            match h.int_array_of(e)? {
                v if v.len() != files => Err(HeaderError(format!("{name} has {} entries for {files} files", v.len()))),
                v => Ok(Some(v)),
            }
        };
        let mut strs = |e: Option<(Entry, Option<&'h [u8]>)>, name: &str| -> Result<Texts<'h>, HeaderError> {
            let e = match e {
                None => return Ok(Texts::Same(&[])),
                Some((e, Some(same))) if e.count as usize == files => return Ok(Texts::Same(same)),
                Some((e, _)) => e,
            };
            let at = strings.len();
            match h.push_strings_of(e, &mut strings)? {
                len if len != files => Err(HeaderError(format!("{name} has {len} entries for {files} files"))),
                _ => Ok(Texts::At(at)),
            }
        };
        Ok(FileTable {
            sizes: match ints(long_sizes, "LONGFILESIZES")? {
                Some(v) => Some(v),
                None => ints(sizes, "FILESIZES")?,
            },
            modes: ints(modes, "FILEMODES")?,
            rdevs: ints(rdevs, "FILERDEVS")?,
            mtimes: ints(mtimes, "FILEMTIMES")?,
            flags: ints(flags, "FILEFLAGS")?,
            verify_flags: ints(verify_flags, "FILEVERIFYFLAGS")?,
            states: ints(states, "FILESTATES")?,
            colors: ints(colors, "FILECOLORS")?,
            inodes: ints(inodes, "FILEINODES")?,
            devices: ints(devices, "FILEDEVICES")?,
            digests: strs(digests, "FILEDIGESTS")?,
            links: strs(links, "FILELINKTOS")?,
            users: strs(users, "FILEUSERNAME")?,
            groups: strs(groups, "FILEGROUPNAME")?,
            caps: strs(caps, "FILECAPS")?,
            langs: strs(langs, "FILELANGS")?,
            strings,
            files,
            dirindexes,
        })
    }

    /// Number of files.
    #[inline]
    pub fn len(&self) -> usize {
        self.files
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.files == 0
    }

    /// The directory (with its trailing `/`) and the base name of file `i`; the directory is
    /// empty in a legacy header, whose base name is the whole path.
    #[inline]
    pub fn path_parts(&self, i: usize) -> (&'h [u8], &'h [u8]) {
        let dir = match &self.dirindexes {
            Some(ix) => self.strings[self.files + ix.get(i) as usize],
            None => &[],
        };
        (dir, self.strings[i])
    }

    /// Append the absolute path of file `i` (bytes; need not be UTF-8) to `out`.
    #[inline]
    pub fn write_path(&self, i: usize, out: &mut Vec<u8>) {
        let (dir, base) = self.path_parts(i);
        out.extend_from_slice(dir);
        out.extend_from_slice(base);
    }

    #[inline]
    pub fn size(&self, i: usize) -> u64 {
        num(&self.sizes, i, 0)
    }
    /// `st_mode`, file type bits included.
    #[inline]
    pub fn mode(&self, i: usize) -> u16 {
        num(&self.modes, i, 0) as u16
    }
    #[inline]
    pub fn rdev(&self, i: usize) -> u16 {
        num(&self.rdevs, i, 0) as u16
    }
    #[inline]
    pub fn mtime(&self, i: usize) -> u32 {
        num(&self.mtimes, i, 0) as u32
    }
    #[inline]
    pub fn flags(&self, i: usize) -> FileFlags {
        FileFlags(num(&self.flags, i, 0) as u32)
    }
    #[inline]
    pub fn verify_flags(&self, i: usize) -> u32 {
        num(&self.verify_flags, i, verify_flags::ALL as u64) as u32
    }
    #[inline]
    pub fn state(&self, i: usize) -> FileState {
        FileState::from_code(num(&self.states, i, 0) as u8)
    }
    #[inline]
    pub fn color(&self, i: usize) -> u32 {
        num(&self.colors, i, 0) as u32
    }
    #[inline]
    pub fn inode(&self, i: usize) -> u32 {
        num(&self.inodes, i, 0) as u32
    }
    #[inline]
    pub fn device(&self, i: usize) -> u32 {
        num(&self.devices, i, 0) as u32
    }
    /// The hex digest as stored (rpm writes lowercase); empty for non-regular files.
    #[inline]
    pub fn digest(&self, i: usize) -> &'h [u8] {
        self.text(self.digests, i)
    }
    /// The symlink target; empty for anything but a symlink.
    #[inline]
    pub fn link_target(&self, i: usize) -> &'h [u8] {
        self.text(self.links, i)
    }
    #[inline]
    pub fn user(&self, i: usize) -> &'h [u8] {
        self.text(self.users, i)
    }
    #[inline]
    pub fn group(&self, i: usize) -> &'h [u8] {
        self.text(self.groups, i)
    }
    /// Capabilities in `cap_to_text` form; empty when none.
    #[inline]
    pub fn caps(&self, i: usize) -> &'h [u8] {
        self.text(self.caps, i)
    }
    #[inline]
    pub fn lang(&self, i: usize) -> &'h [u8] {
        self.text(self.langs, i)
    }

    /// String `i` of a per-file array.
    #[inline]
    fn text(&self, texts: Texts<'h>, i: usize) -> &'h [u8] {
        match texts {
            Texts::Same(text) => text,
            Texts::At(at) => self.strings[at + i],
        }
    }
}

#[inline]
fn num(v: &Option<IntArray<'_>>, i: usize, default: u64) -> u64 {
    v.as_ref().map_or(default, |v| v.get(i))
}

/// `bytes` as a lossy UTF-8 string, decoded once per distinct value (up to 16 kept).
fn decode_once<'a>(cache: &mut Vec<(&'a [u8], String)>, bytes: &'a [u8]) -> String {
    if let Some((_, s)) = cache.iter().find(|(b, _)| *b == bytes) {
        return s.clone();
    }
    let s = String::from_utf8_lossy(bytes).into_owned();
    if cache.len() < 16 {
        cache.push((bytes, s.clone()));
    }
    s
}
