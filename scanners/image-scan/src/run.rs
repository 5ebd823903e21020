//! One subject, opened once and judged by every selected check.
//!
//! The subject is opened as a single scanner would open it (an image's layers applied in
//! memory, every regular file hashed as it streams past); its package database is then read
//! once and kept with the root, so the three judgements walk the same parsed headers. The
//! three checks run at once, each on its own thread (the file check on its workers too). The
//! two repository checks share one metadata cache: what both need (`repomd.xml`, modules) may
//! be fetched by each, and the cache's atomic writes keep either copy whole; each reads the
//! other's files only when they are already there.

use crate::inventory::Inventory;
use crate::options::{Check, ScanOptions};
use atomic_protocol::document::ScanTime;
use atomic_protocol::image::ImageArgs;
use atomic_protocol::subjects::{self, OpenedSubject, Subject};
use atomic_protocol::{ResultDocument, ScanFailure, ScanType, Scanner};
use std::path::Path;

/// What came of one subject: the document of each check that ran, in [`Check`] order.
pub struct SubjectReport {
    pub subject: Subject,
    /// What the subject is, for people: the image reference or the directory.
    pub name: String,
    /// The image's `Image` object (reference, digests, platform, layers), for an image.
    pub image: Option<serde_json::Value>,
    /// The image config's labels (empty for a directory or an image that could not be
    /// opened): where the notifications find the image's author.
    pub labels: std::collections::BTreeMap<String, String>,
    /// The id atomic names the subject by (an image's config digest hex, or the folder).
    pub uuid: String,
    pub start: ScanTime,
    pub finished: ScanTime,
    /// Why the subject could not be opened at all (then `documents` hold that failure too).
    pub open_error: Option<String>,
    /// The checks asked for.
    pub checks: Vec<Check>,
    pub documents: Vec<(Check, ResultDocument)>,
    /// The installed packages, read from the same database the checks judged (empty, with
    /// its error, when the subject could not be opened).
    pub inventory: Inventory,
}

impl SubjectReport {
    pub fn document(&self, check: Check) -> Option<&ResultDocument> {
        self.documents.iter().find(|(c, _)| *c == check).map(|(_, d)| d)
    }

    /// Whether every selected check ran (a check without a document did not).
    pub fn complete(&self) -> bool {
        self.open_error.is_none()
            && self
                .checks
                .iter()
                .all(|c| self.document(*c).is_some_and(|d| d.successful()))
    }
}

/// Everything one run produced, as every report format reads it.
pub struct RunReport<'a> {
    /// Each subject, in command-line order, with its findings read back from the documents.
    pub subjects: &'a [(SubjectReport, crate::findings::Findings)],
    /// The combined JSON document of each subject ([`crate::json::document`]), same order.
    pub documents: &'a [serde_json::Value],
    /// `--fail-on` as given (`tampered`, `severity=Important`...).
    pub fail_on: &'a [String],
    /// For each subject, the `--fail-on` conditions it meets (empty: none).
    pub breaches: &'a [Vec<String>],
}

fn scan_type<S: Scanner>(scanner: &S, name: &str) -> &'static ScanType {
    let types = scanner.scan_types();
    types.iter().find(|t| t.name == name).unwrap_or(&types[0])
}

/// Open `subject` once and run the `checks` on it.
pub fn scan_subject(
    subject: &Subject,
    images: &ImageArgs,
    options: &ScanOptions,
    checks: &[Check],
    cache_dir: &Path,
) -> SubjectReport {
    let start = ScanTime::now();
    let hash = checks.contains(&Check::Verify);
    let opened = subjects::open_subject(subject, images, hash);
    if let Ok(o) = &opened {
        // A database that cannot be read is each check's own failure, reported by each.
        let _ = rpmdb::InstalledPackages::preload(&o.root);
    }
    let documents = judge_all(subject, &opened, options, checks, cache_dir);
    let inventory = match &opened {
        Ok(o) => Inventory::of(&o.root),
        Err(e) => Inventory {
            error: Some(e.0.clone()),
            ..Inventory::default()
        },
    };
    let labels = match &opened {
        Ok(OpenedSubject { image: Some(i), .. }) => i.labels.clone(),
        _ => Default::default(),
    };
    let (image, uuid) = match &opened {
        Ok(OpenedSubject { image: Some(i), .. }) => (Some(i.summary.clone()), i.id.clone()),
        _ => (
            subject.image.as_ref().map(|r| serde_json::json!({ "Reference": r })),
            atomic_protocol::document::subject_uuid(&subject.folder),
        ),
    };
    SubjectReport {
        name: match &subject.image {
            Some(r) => r.clone(),
            None => subject.dir.display().to_string(),
        },
        subject: subject.clone(),
        image,
        labels,
        uuid,
        start,
        finished: ScanTime::now(),
        open_error: opened.as_ref().err().map(|e: &ScanFailure| e.0.clone()),
        checks: checks.to_vec(),
        documents,
        inventory,
    }
}

fn judge_all(
    subject: &Subject,
    opened: &Result<OpenedSubject, ScanFailure>,
    options: &ScanOptions,
    checks: &[Check],
    cache_dir: &Path,
) -> Vec<(Check, ResultDocument)> {
    let verify = || {
        let s = scanner_rpm_verify::RpmVerify;
        let t = scan_type(&s, options.verify_scan_type());
        subjects::judge(&s, t, &options.verify(), subject, opened, ScanTime::now())
    };
    let updates = || {
        let s = pipeline_scanner::PipelineScanner::default();
        let t = scan_type(&s, "yum-update");
        let o = options.updates(cache_dir);
        subjects::judge(&s, t, &o, subject, opened, ScanTime::now())
    };
    let advisories = || {
        let s = security_advisories::SecurityAdvisories;
        let t = scan_type(&s, options.advisory_scan_type());
        let o = options.advisories(cache_dir);
        subjects::judge(&s, t, &o, subject, opened, ScanTime::now())
    };
    let mut documents = Vec::new();
    std::thread::scope(|scope| {
        let verified = checks.contains(&Check::Verify).then(|| scope.spawn(verify));
        let updated = checks.contains(&Check::Updates).then(|| scope.spawn(updates));
        if checks.contains(&Check::Advisories) {
            documents.push((Check::Advisories, advisories()));
        }
        // judge() turns a scanner's panic into a failed document; a panic outside it leaves
        // the check out, and the report then says the check did not run.
        if let Some(Ok(doc)) = verified.map(|h| h.join()) {
            documents.push((Check::Verify, doc));
        }
        if let Some(Ok(doc)) = updated.map(|h| h.join()) {
            documents.push((Check::Updates, doc));
        }
    });
    documents.sort_by_key(|(c, _)| *c);
    documents
}
