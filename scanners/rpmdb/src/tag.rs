//! Header tag numbers and type codes, as `include/rpm/rpmtag.h` defines them.
//!
//! Only the tags a scanner reads are named here; the header parser keeps every tag.

/// Data type of a header entry (`rpmTagType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum TagType {
    Null = 0,
    Char = 1,
    Int8 = 2,
    Int16 = 3,
    Int32 = 4,
    Int64 = 5,
    String = 6,
    Bin = 7,
    StringArray = 8,
    I18nString = 9,
}

impl TagType {
    pub fn from_u32(v: u32) -> Option<TagType> {
        Some(match v {
            0 => TagType::Null,
            1 => TagType::Char,
            2 => TagType::Int8,
            3 => TagType::Int16,
            4 => TagType::Int32,
            5 => TagType::Int64,
            6 => TagType::String,
            7 => TagType::Bin,
            8 => TagType::StringArray,
            9 => TagType::I18nString,
            _ => return None,
        })
    }

    /// Size in bytes of one element of a fixed-size type; `None` for strings.
    pub fn element_size(self) -> Option<usize> {
        match self {
            TagType::Null => Some(0),
            TagType::Char | TagType::Int8 | TagType::Bin => Some(1),
            TagType::Int16 => Some(2),
            TagType::Int32 => Some(4),
            TagType::Int64 => Some(8),
            TagType::String | TagType::StringArray | TagType::I18nString => None,
        }
    }
}

// Region tags: the first entry of a header that has an immutable region.
pub const HEADER_IMAGE: u32 = 61;
pub const HEADER_SIGNATURES: u32 = 62;
pub const HEADER_IMMUTABLE: u32 = 63;
/// Tags below this are region or signature tags; a header whose first tag is at least
/// this is a legacy header without a region.
pub const HEADER_I18NTABLE: u32 = 100;

// Signature tags as they appear in an installed header.
pub const SIG_SHA1HEADER: u32 = 269;
pub const SIG_SIGPGP: u32 = 259;
pub const SIG_SIGMD5: u32 = 261;
pub const SIG_SIGGPG: u32 = 262;
pub const SIG_DSAHEADER: u32 = 267;
pub const SIG_RSAHEADER: u32 = 268;
pub const SIG_SHA256HEADER: u32 = 273;
pub const SIG_OPENPGP: u32 = 278;

pub const NAME: u32 = 1000;
pub const VERSION: u32 = 1001;
pub const RELEASE: u32 = 1002;
pub const EPOCH: u32 = 1003;
pub const SUMMARY: u32 = 1004;
pub const BUILDTIME: u32 = 1006;
pub const BUILDHOST: u32 = 1007;
pub const INSTALLTIME: u32 = 1008;
pub const SIZE: u32 = 1009;
pub const VENDOR: u32 = 1011;
pub const LICENSE: u32 = 1014;
pub const PACKAGER: u32 = 1015;
pub const ARCH: u32 = 1022;
pub const OLDFILENAMES: u32 = 1027;
pub const FILESIZES: u32 = 1028;
pub const FILESTATES: u32 = 1029;
pub const FILEMODES: u32 = 1030;
pub const FILERDEVS: u32 = 1033;
pub const FILEMTIMES: u32 = 1034;
pub const FILEDIGESTS: u32 = 1035;
pub const FILELINKTOS: u32 = 1036;
pub const FILEFLAGS: u32 = 1037;
pub const FILEUSERNAME: u32 = 1039;
pub const FILEGROUPNAME: u32 = 1040;
pub const SOURCERPM: u32 = 1044;
pub const FILEVERIFYFLAGS: u32 = 1045;
pub const PROVIDENAME: u32 = 1047;
pub const PROVIDEFLAGS: u32 = 1112;
pub const PROVIDEVERSION: u32 = 1113;
pub const OBSOLETENAME: u32 = 1090;
pub const FILEDEVICES: u32 = 1095;
pub const FILEINODES: u32 = 1096;
pub const FILELANGS: u32 = 1097;
pub const DIRINDEXES: u32 = 1116;
pub const BASENAMES: u32 = 1117;
pub const DIRNAMES: u32 = 1118;
pub const FILECOLORS: u32 = 1140;
pub const INSTALLCOLOR: u32 = 1127;
pub const INSTALLTID: u32 = 1128;
pub const LONGFILESIZES: u32 = 5008;
pub const LONGSIZE: u32 = 5009;
pub const FILECAPS: u32 = 5010;
pub const FILEDIGESTALGO: u32 = 5011;
pub const MODULARITYLABEL: u32 = 5096;
