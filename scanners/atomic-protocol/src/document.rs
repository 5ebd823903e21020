//! The result document of one subject: the data model behind the `json` file that `atomic`
//! reads and the table printer shows.
//!
//! The rules, each from atomic's `Atomic/scan.py` or the CentOS pipeline scanners:
//! - `Successful` is the **string** `"true"` or `"false"` (atomic calls `.upper()` on it);
//! - `Time`, `Start Time`, `Finished Time` are local time as `%Y-%m-%d-%H-%M-%S-%f` (six
//!   digits of microseconds), the format of atomic's own result folders; `Time` (which atomic
//!   ≥ 1.12 requires) is the start of the subject's scan;
//! - `UUID` is the subject folder with one leading `_` removed (`_mnt` → `mnt`, the seed's
//!   example); an image id folder stays whole, which is what atomic matches against its mount
//!   path;
//! - `Custom`, `Results` and `Vulnerabilities` appear only when the scanner filled them
//!   (atomic prints "passed the scan" when there are neither results nor vulnerabilities);
//! - a subject that could not be scanned has `"Successful": "false"`, an `Error` key with the
//!   reason, `Summary` saying `Not scanned: <reason>`, and an empty `Scan Results` object.
//!
//! Keys are written in the seed's order (a hand-written `Serialize`, since `serde_json`'s map
//! sorts keys).

use crate::{ExtraFile, Outcome, ScanFailure};
use chrono::{DateTime, Local};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;

/// `%Y-%m-%d-%H-%M-%S-%f` in Python's `strftime`, as chrono spells it.
pub const TIME_FORMAT: &str = "%Y-%m-%d-%H-%M-%S-%6f";

/// A moment of a scan, in local time (TZ, else `/etc/localtime`, which atomic bind-mounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScanTime(pub DateTime<Local>);

impl ScanTime {
    pub fn now() -> ScanTime {
        ScanTime(Local::now())
    }

    /// The time as atomic writes it, e.g. `2016-11-10-10-30-46-609885`.
    pub fn format(&self) -> String {
        self.0.format(TIME_FORMAT).to_string()
    }
}

/// The `UUID` of a subject folder: one leading `_` removed (`_mnt` → `mnt`,
/// `_var_tmp_root` → `var_tmp_root`), anything else unchanged (a 64-hex image id).
pub fn subject_uuid(folder: &OsStr) -> String {
    let name = folder.to_string_lossy();
    name.strip_prefix('_').unwrap_or(&name).to_string()
}

/// The folder atomic makes under `/scanin` for `atomic scan --rootfs DIR`: `DIR` with every
/// `/` turned into `_` (`/mnt` → `_mnt`). `dir` should be absolute, as atomic's are.
pub fn rootfs_folder(dir: &Path) -> String {
    let text = dir.to_string_lossy();
    let trimmed = if text.len() > 1 {
        text.trim_end_matches('/')
    } else {
        &text
    };
    trimmed.replace('/', "_")
}

/// What came of one subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Scanned(Outcome),
    Failed(ScanFailure),
}

/// One subject's result document.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultDocument {
    /// `"Scanner"`: the scanner's name, e.g. `scanner-rpm-verify`.
    pub scanner: String,
    /// The subject's folder name under `/scanin` (or the one atomic would make for a
    /// `--rootfs` path); not written, it names the output folder.
    pub folder: std::ffi::OsString,
    /// The root as given (`/scanin/<folder>` or the `--rootfs` path); not written.
    pub source: std::path::PathBuf,
    /// `"UUID"`, see [`subject_uuid`].
    pub uuid: String,
    /// `"Scan Type"`: the scan type's [`crate::ScanType::label`], for every subject.
    pub scan_type_label: String,
    pub start: ScanTime,
    pub finished: ScanTime,
    pub verdict: Verdict,
    /// `"Image"`: for an image subject, its reference, manifest and config digests, platform
    /// and layer count.
    pub image: Option<Value>,
    /// Files the scanner asked for beside `json` ([`crate::Scanner::extra_files`]).
    pub extra_files: Vec<ExtraFile>,
}

impl ResultDocument {
    pub fn successful(&self) -> bool {
        matches!(self.verdict, Verdict::Scanned(_))
    }

    pub fn has_findings(&self) -> bool {
        matches!(&self.verdict, Verdict::Scanned(o) if o.has_findings)
    }

    /// The `Scan Type` value.
    pub fn scan_type(&self) -> &str {
        &self.scan_type_label
    }

    /// The `Summary` value.
    pub fn summary(&self) -> String {
        match &self.verdict {
            Verdict::Scanned(o) => o.summary.clone(),
            Verdict::Failed(f) => format!("Not scanned: {f}"),
        }
    }

    /// The document as JSON text, pretty-printed, with a final newline.
    pub fn to_json_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        text.push('\n');
        text
    }

    /// The document as a JSON value (keys sorted, as `serde_json` maps are).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

fn true_false(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

impl Serialize for ResultDocument {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let start = self.start.format();
        map.serialize_entry("Scanner", &self.scanner)?;
        map.serialize_entry("Successful", true_false(self.successful()))?;
        map.serialize_entry("Time", &start)?;
        map.serialize_entry("Start Time", &start)?;
        map.serialize_entry("Finished Time", &self.finished.format())?;
        map.serialize_entry("Scan Type", self.scan_type())?;
        let feed = match &self.verdict {
            Verdict::Scanned(o) => o.cve_feed_last_updated.as_str(),
            Verdict::Failed(_) => "NA",
        };
        map.serialize_entry("CVE Feed Last Updated", feed)?;
        map.serialize_entry("UUID", &self.uuid)?;
        if let Some(image) = &self.image {
            map.serialize_entry("Image", image)?;
        }
        map.serialize_entry("Summary", &self.summary())?;
        match &self.verdict {
            Verdict::Failed(f) => {
                map.serialize_entry("Error", &f.0)?;
                map.serialize_entry("Scan Results", &serde_json::Map::new())?;
            }
            Verdict::Scanned(o) => {
                map.serialize_entry("Scan Results", &o.scan_results)?;
                if let Some(custom) = &o.custom {
                    map.serialize_entry("Custom", custom)?;
                }
                if !o.results.is_empty() {
                    let results: Vec<Value> = o.results.iter().map(|c| serde_json::json!({ "Custom": c })).collect();
                    map.serialize_entry("Results", &results)?;
                }
                if !o.vulnerabilities.is_empty() {
                    let vulns: Vec<Value> = o
                        .vulnerabilities
                        .iter()
                        .map(|v| serde_json::json!({ "Title": v.title, "Severity": v.severity, "Custom": v.custom }))
                        .collect();
                    map.serialize_entry("Vulnerabilities", &vulns)?;
                }
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Vulnerability;
    use chrono::TimeZone;
    use std::ffi::OsString;

    fn doc(verdict: Verdict) -> ResultDocument {
        let t =
            ScanTime(Local.with_ymd_and_hms(2016, 11, 10, 10, 30, 46).unwrap() + chrono::Duration::microseconds(9885));
        ResultDocument {
            scanner: "scanner-test".into(),
            folder: OsString::from("_mnt"),
            source: "/scanin/_mnt".into(),
            uuid: "mnt".into(),
            scan_type_label: "Image Scan".into(),
            start: t,
            finished: t,
            verdict,
            image: None,
            extra_files: Vec::new(),
        }
    }

    #[test]
    fn uuid_drops_one_leading_underscore() {
        assert_eq!(subject_uuid(OsStr::new("_mnt")), "mnt");
        assert_eq!(subject_uuid(OsStr::new("__mnt")), "_mnt");
        assert_eq!(subject_uuid(OsStr::new("_var_tmp_root")), "var_tmp_root");
        let id = "4c1a6c4b1bd5b2f32c2b4e4e8f3a6d4a3e6f0a1b2c3d4e5f60718293a4b5c6d7";
        assert_eq!(subject_uuid(OsStr::new(id)), id);
    }

    #[test]
    fn rootfs_folder_is_atomics_bind_name() {
        assert_eq!(rootfs_folder(Path::new("/mnt")), "_mnt");
        assert_eq!(rootfs_folder(Path::new("/var/tmp/root/")), "_var_tmp_root");
        assert_eq!(rootfs_folder(Path::new("/")), "_");
    }

    #[test]
    fn time_is_local_with_six_digit_microseconds() {
        let d = doc(Verdict::Failed(ScanFailure("x".into())));
        assert_eq!(d.start.format(), "2016-11-10-10-30-46-009885");
        let now = ScanTime::now().format();
        let parts: Vec<&str> = now.split('-').collect();
        assert_eq!(parts.len(), 7, "{now}");
        assert_eq!(parts[6].len(), 6, "{now}");
        assert!(now.chars().all(|c| c.is_ascii_digit() || c == '-'), "{now}");
    }

    #[test]
    fn successful_is_a_string_and_keys_follow_the_seed() {
        let ok = doc(Verdict::Scanned(Outcome::new(
            serde_json::json!({"a": 1}),
            "Nothing found.",
        )));
        let v = ok.to_value();
        assert_eq!(v["Successful"], Value::String("true".into()));
        assert_eq!(v["UUID"], "mnt");
        assert_eq!(v["Time"], v["Start Time"]);
        assert_eq!(v["CVE Feed Last Updated"], "NA");
        assert_eq!(v["Scan Type"], "Image Scan");
        assert!(v.get("Vulnerabilities").is_none() && v.get("Results").is_none() && v.get("Custom").is_none());
        let text = ok.to_json_text();
        let order = [
            "\"Scanner\"",
            "\"Successful\"",
            "\"Time\"",
            "\"Start Time\"",
            "\"Finished Time\"",
            "\"Scan Type\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");

        let failed = doc(Verdict::Failed(ScanFailure("no RPM database".into())));
        let v = failed.to_value();
        assert_eq!(v["Successful"], Value::String("false".into()));
        assert_eq!(v["Error"], "no RPM database");
        assert_eq!(v["Summary"], "Not scanned: no RPM database");
        assert_eq!(v["Scan Type"], "Image Scan", "the same Scan Type as a scanned subject");
        assert_eq!(v["Scan Results"], serde_json::json!({}));
    }

    #[test]
    fn atomic_lists_are_written_as_atomic_reads_them() {
        let mut o = Outcome::new(serde_json::json!({}), "1 issue.");
        o.vulnerabilities.push(Vulnerability {
            title: "RHSA-2020:1980".into(),
            severity: "Important".into(),
            custom: serde_json::json!({"Package": "curl"}),
        });
        o.results.push(serde_json::json!({"file": "/usr/bin/x"}));
        o.custom = Some(serde_json::json!({"OS": "CentOS"}));
        let v = doc(Verdict::Scanned(o)).to_value();
        assert_eq!(
            v["Vulnerabilities"],
            serde_json::json!([{"Title": "RHSA-2020:1980", "Severity": "Important", "Custom": {"Package": "curl"}}])
        );
        assert_eq!(v["Results"], serde_json::json!([{"Custom": {"file": "/usr/bin/x"}}]));
        assert_eq!(v["Custom"], serde_json::json!({"OS": "CentOS"}));
    }
}
