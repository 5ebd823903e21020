//! The data model of one verification — what was found, package by package in database
//! order, file by file in header order — and rpm's own text format for it (`verifyHeader` and
//! `rpmVerifyString` in lib/verify.c). The JSON document is made from the same model in
//! [`crate::outcome`].

use crate::files::attr;
use crate::verify::vf;

/// The header strings of a package, as `rpm -q --qf` prints them (`(none)` when absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageInfo {
    /// The database's header number.
    pub header_number: u32,
    /// `name-version-release.arch`.
    pub nvra: String,
    pub vendor: String,
    pub packager: String,
    pub buildhost: String,
    /// `RSA/SHA256, <date>, Key ID <id>`, or `(none)`.
    pub signature: String,
}

impl PackageInfo {
    pub fn of(pkg: &rpmdb::package::Package) -> PackageInfo {
        let or_none = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_string());
        PackageInfo {
            header_number: pkg.header_number,
            nvra: pkg.nvra(),
            vendor: or_none(pkg.vendor()),
            packager: or_none(pkg.packager()),
            buildhost: or_none(pkg.buildhost()),
            signature: pkg.signature().to_rpm_string(),
        }
    }
}

/// What is wrong with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// `lstat` failed with this errno.
    Missing { errno: i32 },
    /// These `rpmVerifyAttrs` bits differ (possibly none, when only the state is reported).
    Changed(u32),
}

/// One line of `rpm -Va`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFinding {
    /// Index into [`Report::packages`].
    pub package: usize,
    /// The packaged path, as bytes (it need not be UTF-8).
    pub path: Vec<u8>,
    /// Where the basename starts in `path`.
    pub base_start: usize,
    /// FILEFLAGS.
    pub file_flags: u32,
    pub problem: Problem,
    /// The file state rpm appends in parentheses: `replaced`, `no state`, `unknown state`.
    pub state: Option<&'static str>,
    /// For an image: the layer that last wrote the path, or removed it.
    pub layer: Option<serde_json::Value>,
}

/// `stateStr` in non-verbose mode.
pub fn state_note(state: u8) -> Option<&'static str> {
    use crate::files::state::*;
    match state {
        NORMAL | NOT_INSTALLED | NET_SHARED | WRONG_COLOR => None,
        REPLACED => Some("replaced"),
        MISSING => Some("no state"),
        _ => Some("unknown state"),
    }
}

/// `rpmFFlagsString(...)[0]`: the one attribute letter rpm shows, or a space.
pub fn attribute_letter(file_flags: u32) -> char {
    const ORDER: [(u32, char); 9] = [
        (attr::DOC, 'd'),
        (attr::CONFIG, 'c'),
        (attr::SPECFILE, 's'),
        (attr::MISSINGOK, 'm'),
        (attr::NOREPLACE, 'n'),
        (attr::GHOST, 'g'),
        (attr::LICENSE, 'l'),
        (attr::README, 'r'),
        (attr::ARTIFACT, 'a'),
    ];
    ORDER
        .iter()
        .find(|(bit, _)| file_flags & bit != 0)
        .map_or(' ', |&(_, c)| c)
}

/// `rpmVerifyString(result, ".")`: the nine columns `SM5DLUGTP`.
pub fn verify_string(result: u32) -> String {
    let col = |bit: u32, c: char| if result & bit != 0 { c } else { '.' };
    let unknown_or = |fail: u32, bit: u32, c: char| if result & fail != 0 { '?' } else { col(bit, c) };
    [
        col(vf::FILESIZE, 'S'),
        col(vf::MODE, 'M'),
        unknown_or(vf::READFAIL, vf::DIGEST, '5'),
        col(vf::RDEV, 'D'),
        unknown_or(vf::READLINKFAIL, vf::LINKTO, 'L'),
        col(vf::USER, 'U'),
        col(vf::GROUP, 'G'),
        col(vf::MTIME, 'T'),
        col(vf::CAPS, 'P'),
    ]
    .iter()
    .collect()
}

/// `strerror(errno)`, the C library's text.
pub fn strerror(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

impl FileFinding {
    pub fn attribute(&self) -> char {
        attribute_letter(self.file_flags)
    }

    pub fn is_config(&self) -> bool {
        self.file_flags & attr::CONFIG != 0
    }

    /// The `issue` column: `missing` or the nine verify columns.
    pub fn columns(&self) -> String {
        match self.problem {
            Problem::Missing { .. } => "missing".to_string(),
            Problem::Changed(bits) => verify_string(bits),
        }
    }

    /// What rpm appends after the path: the lstat error (other than "not found") and the
    /// file state, each in parentheses.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Problem::Missing { errno } = self.problem {
            if errno != libc::ENOENT {
                notes.push(strerror(errno));
            }
        }
        if let Some(s) = self.state {
            notes.push(s.to_string());
        }
        notes
    }

    /// The line exactly as `rpm -Va` prints it (without the newline).
    pub fn rpm_line(&self) -> Vec<u8> {
        let mut line = match self.problem {
            Problem::Missing { .. } => format!("missing   {} ", self.attribute()).into_bytes(),
            Problem::Changed(bits) => format!("{}  {} ", verify_string(bits), self.attribute()).into_bytes(),
        };
        line.extend_from_slice(&self.path);
        for note in self.notes() {
            line.extend_from_slice(format!(" ({note})").as_bytes());
        }
        line
    }
}

/// A package whose header no longer matches the digest recorded at install time. rpm skips
/// such a package ("rpmdbNextIterator: skipping"), so its files are not verified either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFinding {
    pub package: PackageInfo,
    /// `SHA256HEADER` or `SHA1HEADER`.
    pub tag: &'static str,
    pub recorded: String,
    pub computed: String,
}

/// A database record that could not be verified at all (unreadable header, inconsistent
/// file list). rpm prints nothing for these; the others are still verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPackage {
    pub header_number: Option<u32>,
    /// `name-version-release.arch` when the header got that far.
    pub nvra: Option<String>,
    pub message: String,
}

/// Everything one verification of a root found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The database read, e.g. `/var/lib/rpm/rpmdb.sqlite (SQLite)`.
    pub database: String,
    /// Every package whose files were verified, in database order.
    pub packages: Vec<PackageInfo>,
    /// The lines of `rpm -Va`, in rpm's order.
    pub files: Vec<FileFinding>,
    pub tampered_headers: Vec<HeaderFinding>,
    pub bad_packages: Vec<BadPackage>,
    /// Problems that make the verdict less certain (e.g. unreadable `/etc/passwd`).
    pub warnings: Vec<String>,
    /// How many packaged files were looked at.
    pub files_verified: usize,
}

impl Report {
    /// `rpm -Va` output for this report: one line per finding, newline-terminated.
    pub fn rpm_va_text(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in &self.files {
            out.extend_from_slice(&f.rpm_line());
            out.push(b'\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_look_like_rpms() {
        let f = FileFinding {
            package: 0,
            path: b"/usr/bin/x".to_vec(),
            base_start: 9,
            file_flags: 0,
            problem: Problem::Changed(vf::FILESIZE | vf::DIGEST | vf::MTIME),
            state: None,
            layer: None,
        };
        assert_eq!(f.rpm_line(), b"S.5....T.    /usr/bin/x");
        let c = FileFinding {
            file_flags: attr::CONFIG | attr::NOREPLACE,
            problem: Problem::Missing { errno: libc::ENOTDIR },
            state: Some("replaced"),
            ..f.clone()
        };
        assert_eq!(c.rpm_line(), b"missing   c /usr/bin/x (Not a directory) (replaced)");
        let q = FileFinding {
            file_flags: attr::DOC | attr::CONFIG,
            problem: Problem::Changed(vf::READFAIL | vf::DIGEST | vf::READLINKFAIL | vf::LINKTO),
            ..f
        };
        assert_eq!(q.rpm_line(), b"..?.?....  d /usr/bin/x");
    }
}
