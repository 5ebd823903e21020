//! Version comparison exactly as rpm does it: `rpmvercmp` (`rpmio/rpmvercmp.cc`) and EVR order.

use std::cmp::Ordering;
use std::fmt;

fn is_sep(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || c == b'~' || c == b'^')
}

/// Compare two version (or release) strings as `rpmvercmp` does.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        // Skip separators (anything but alphanumerics, tilde and caret).
        while i < a.len() && is_sep(a[i]) {
            i += 1;
        }
        while j < b.len() && is_sep(b[j]) {
            j += 1;
        }
        // Tilde sorts before everything, even the end of the string.
        let at = |s: &[u8], k: usize, c: u8| k < s.len() && s[k] == c;
        if at(a, i, b'~') || at(b, j, b'~') {
            if !at(a, i, b'~') {
                return Ordering::Greater;
            }
            if !at(b, j, b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret sorts after the end of the string but before anything else.
        if at(a, i, b'^') || at(b, j, b'^') {
            if i >= a.len() {
                return Ordering::Less;
            }
            if j >= b.len() {
                return Ordering::Greater;
            }
            if !at(a, i, b'^') {
                return Ordering::Greater;
            }
            if !at(b, j, b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        // Take a maximal run of digits or of letters from both, of the kind `a` starts with.
        let numeric = a[i].is_ascii_digit();
        let run = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                }
            {
                k += 1;
            }
            (start, k)
        };
        let (sa, ea) = run(a, i);
        let (sb, eb) = run(b, j);
        // The first run is never empty; if the second is, the kinds differ: numeric wins.
        if sb == eb {
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (ra, rb) = (&a[sa..ea], &b[sb..eb]);
        if numeric {
            // Leading zeros do not count; then the longer number wins, then strcmp.
            let zeros = |r: &[u8]| r.iter().take_while(|&&c| c == b'0').count();
            let (ra, rb) = (&ra[zeros(ra)..], &rb[zeros(rb)..]);
            match ra.len().cmp(&rb.len()).then_with(|| ra.cmp(rb)) {
                Ordering::Equal => {}
                other => return other,
            }
        } else {
            match ra.cmp(rb) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        i = ea;
        j = eb;
    }
    // Both ended together: equal. Otherwise the one with characters left wins.
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// Epoch, version, release. An absent epoch is kept as `None` (rpm prints `(none)`), and
/// compares as 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Evr {
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
}

impl Evr {
    pub fn new(epoch: Option<u32>, version: impl Into<String>, release: impl Into<String>) -> Evr {
        Evr {
            epoch,
            version: version.into(),
            release: release.into(),
        }
    }

    /// Parse `[E:]V[-R]` as dnf and rpm write it.
    pub fn parse(s: &str) -> Evr {
        let (epoch, rest) = match s.split_once(':') {
            // Digits too many for a u32 still make an epoch, as in rpm's parseEVR; it is
            // clamped to the largest one (dropping it turned "9…9:1" into version "1").
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
                (Some(e.parse().unwrap_or(u32::MAX)), rest)
            }
            _ => (None, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, r),
            None => (rest, ""),
        };
        Evr::new(epoch, version, release)
    }

    pub fn epoch_or_zero(&self) -> u32 {
        self.epoch.unwrap_or(0)
    }

    /// `[E:]V-R` with a zero epoch left out: the one text form dnf prints (`check-update`,
    /// `updateinfo`) and libsolv stores. `Display` keeps an explicit `0:` (rpm's `%{EPOCH}`
    /// was set); this is the form every report compares with dnf.
    pub fn dnf_text(&self) -> String {
        match self.epoch {
            Some(0) => Evr::new(None, self.version.clone(), self.release.clone()).to_string(),
            _ => self.to_string(),
        }
    }

    /// rpm's `rpmVersionCompare`: epoch, then version, then release.
    pub fn compare(&self, other: &Evr) -> Ordering {
        self.epoch_or_zero()
            .cmp(&other.epoch_or_zero())
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

/// `name-[epoch:]version-release.arch` with a zero epoch left out: the one NEVRA text form
/// dnf prints (`check-update`, `updateinfo info`, `repoquery`).
pub fn dnf_nevra(name: &str, evr: &Evr, arch: &str) -> String {
    format!("{name}-{}.{arch}", evr.dnf_text())
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.compare(other)
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Evr {
    /// `E:V-R`, with the epoch only when present (dnf's style).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        if self.release.is_empty() && !self.version.contains('-') {
            write!(f, "{}", self.version)
        } else {
            // A version holding `-` (never built by rpm, but possible in a hostile header)
            // keeps a trailing `-` so that parsing the text again splits it the same way.
            write!(f, "{}-{}", self.version, self.release)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(rpmvercmp("1.0", "1.0"), Ordering::Equal);
        assert_eq!(rpmvercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(rpmvercmp("1.0^", "1.0"), Ordering::Greater);
        assert_eq!(rpmvercmp("1.0^", "1.0.1"), Ordering::Less);
        assert_eq!(rpmvercmp("a", "1"), Ordering::Less);
        assert_eq!(rpmvercmp("001", "1"), Ordering::Equal);
    }

    #[test]
    fn evr_display_parses_back_when_the_version_holds_a_dash() {
        // Found by fuzz/fuzz_targets/vercmp.rs: "1-2-" printed as "1-2" and read back as 1-2.
        for text in [
            "1-2-",
            "1-2-3",
            "a-b-c-",
            "-",
            "--",
            "1:2-",
            "1:-2-",
            "220101220101:220101::_",
        ] {
            let evr = Evr::parse(text);
            assert_eq!(Evr::parse(&evr.to_string()), evr, "{text:?} printed as {evr}");
        }
        assert_eq!(Evr::parse("1-2-").to_string(), "1-2-");
        assert_eq!(Evr::new(None, "1.0", "").to_string(), "1.0");
        // Found by fuzz/vercmp: an epoch past u32 was dropped, and the rest read as a
        // version that printed as "220101::_" and read back with epoch 220101.
        assert_eq!(
            Evr::parse("220101220101:220101::_"),
            Evr::new(Some(u32::MAX), "220101::_", "")
        );
    }

    #[test]
    fn evr_parse_and_order() {
        let a = Evr::parse("1:2.0-3");
        assert_eq!(a, Evr::new(Some(1), "2.0", "3"));
        assert!(Evr::parse("0:9-9") < a);
        assert_eq!(Evr::parse("2.0-3").compare(&Evr::parse("0:2.0-3")), Ordering::Equal);
        assert_eq!(a.to_string(), "1:2.0-3");
    }
}
