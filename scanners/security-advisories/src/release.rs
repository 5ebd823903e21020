//! Does a feed belong to the image's release? An updateinfo names it in each advisory's
//! `<release>` ("Rocky Linux 8", "openSUSE 11.0"), Red Hat OVAL in `<platform>` and the
//! generator's CPEs ("Red Hat Enterprise Linux 8"). A feed for another release gives wrong
//! answers in both directions, so a mismatch is a named warning (`release-mismatch`).

use crate::finding::ScanWarning;
use crate::updateinfo_feed::FeedSummary;
use rootfs::osrelease::OsRelease;
use std::collections::BTreeSet;

/// The first number in a release name: "Rocky Linux 8" → "8", "openSUSE 11.0" → "11.0",
/// "Red Hat Enterprise Linux 8" → "8".
pub fn release_number(name: &str) -> Option<&str> {
    let start = name.find(|c: char| c.is_ascii_digit())?;
    let rest = &name[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end_matches('.'))
}

/// Whether a feed's release number fits the image's `VERSION_ID`: equal, or equal major
/// numbers when either side gives only a major ("8" fits "8.4").
pub fn fits(feed: &str, version_id: &str) -> bool {
    if feed == version_id {
        return true;
    }
    let major = |s: &str| s.split('.').next().map(str::to_string);
    let feed_has_minor = feed.contains('.');
    let image_has_minor = version_id.contains('.');
    if feed_has_minor && image_has_minor {
        return false;
    }
    major(feed) == major(version_id)
}

/// Check the releases an updateinfo names against the image; no release named, or an image
/// without a version, cannot be checked.
pub fn check_updateinfo(summary: &FeedSummary, os: Option<&OsRelease>, warnings: &mut Vec<ScanWarning>) {
    check_names(&summary.source, &summary.releases, os, warnings);
}

/// Check release names (updateinfo `<release>`, OVAL `<platform>`) against the image.
pub fn check_names(source: &str, names: &BTreeSet<String>, os: Option<&OsRelease>, warnings: &mut Vec<ScanWarning>) {
    let Some(version_id) = os.and_then(|o| o.version_id.as_deref()) else {
        return;
    };
    let numbers: BTreeSet<&str> = names.iter().filter_map(|n| release_number(n)).collect();
    if numbers.is_empty() || numbers.iter().any(|n| fits(n, version_id)) {
        return;
    }
    let image = os.map(|o| o.display_name()).unwrap_or_default();
    let named: Vec<&str> = names.iter().map(String::as_str).take(5).collect();
    warnings.push(ScanWarning::release_mismatch(
        source,
        format!(
            "the feed is for {} but the image is {image} (VERSION_ID {version_id}): its advisories may not fit the \
             image's packages",
            named.join(", ")
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_numbers_and_fit() {
        assert_eq!(release_number("Rocky Linux 8"), Some("8"));
        assert_eq!(release_number("openSUSE 11.0"), Some("11.0"));
        assert_eq!(release_number("Red Hat Enterprise Linux 8."), Some("8"));
        assert_eq!(release_number("none"), None);
        assert!(fits("8", "8.4"));
        assert!(fits("11.0", "11.0"));
        assert!(!fits("11.0", "15.3"));
        assert!(!fits("8", "9.1"));
        assert!(!fits("7", "8"));
    }

    #[test]
    fn mismatch_is_a_named_warning() {
        let os = OsRelease {
            version_id: Some("9.2".into()),
            pretty_name: Some("Rocky Linux 9.2".into()),
            ..OsRelease::default()
        };
        let mut w = Vec::new();
        let names: BTreeSet<String> = ["Rocky Linux 8".to_string()].into();
        check_names("f", &names, Some(&os), &mut w);
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].kind, "release-mismatch");
        let names: BTreeSet<String> = ["Rocky Linux 9".to_string()].into();
        let mut w = Vec::new();
        check_names("f", &names, Some(&os), &mut w);
        assert!(w.is_empty());
    }
}
