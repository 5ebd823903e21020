//! The subjects of a run, scanned one by one in isolation, and the atomic output layout.
//!
//! - [`from_scanin`]: every entry of `/scanin` is a subject (atomic mounts one folder per image
//!   or `--rootfs` path there); entries are taken in name order.
//! - [`from_rootfs`]: stand-alone `--rootfs DIR` paths, each named by the folder atomic would
//!   have made for it (`/mnt` → `_mnt`).
//! - [`scan_all`]: subjects are scanned on a few threads; a subject that is not a directory,
//!   cannot be listed, is refused by the scanner ([`ScanFailure`]) or even makes it panic gets
//!   a `"Successful": "false"` document and the others are still scanned.
//! - [`check_scanout`] and [`write_layout`]: `/scanout/<folder>/json` (plus any extra files
//!   the scanner asks for). Nothing is ever written under the scanned roots.

use crate::document::{rootfs_folder, subject_uuid, ResultDocument, ScanTime, Verdict};
use crate::image::ImageArgs;
use crate::progress::Progress;
use crate::{ScanFailure, ScanType, Scanner};
use rootfs::Root;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// A root filesystem to scan: a folder, or an image by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The folder name under `/scanin` (and `/scanout`); for an image, its reference until
    /// the image is opened, then its id.
    pub folder: OsString,
    /// Where the root is on this machine (for an image: its reference, as given).
    pub dir: PathBuf,
    /// The image reference (`--image`), when the subject is an image.
    pub image: Option<String>,
}

/// Why the run cannot start at all (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// The subjects atomic mounted under `scanin`, in name order. No folder, an unreadable one,
/// or an empty one is a [`SetupError`].
pub fn from_scanin(scanin: &Path) -> Result<Vec<Subject>, SetupError> {
    let entries = fs::read_dir(scanin).map_err(|e| {
        SetupError(format!(
            "cannot read the subjects folder {}: {e} (mount one root filesystem per folder, e.g. -v DIR:{}/NAME, or give --rootfs DIR)",
            scanin.display(),
            scanin.display()
        ))
    })?;
    let mut subjects = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SetupError(format!("cannot list {}: {e}", scanin.display())))?;
        subjects.push(Subject {
            folder: entry.file_name(),
            dir: entry.path(),
            image: None,
        });
    }
    if subjects.is_empty() {
        return Err(SetupError(format!(
            "no subjects to scan: {} is empty (atomic mounts one folder per image there; by hand, use -v DIR:{}/NAME or --rootfs DIR)",
            scanin.display(),
            scanin.display()
        )));
    }
    subjects.sort_by(|a, b| a.folder.cmp(&b.folder));
    Ok(subjects)
}

/// Stand-alone subjects from `--rootfs` paths, in the order given. A relative path is made
/// absolute (without resolving symlinks) before naming its folder, as atomic's paths are. The
/// path itself is the user's, on the host: a symlink to the root folder is followed (a
/// `/scanin` entry never is).
pub fn from_rootfs(paths: &[PathBuf]) -> Result<Vec<Subject>, SetupError> {
    let mut subjects = Vec::new();
    for path in paths {
        let absolute = std::path::absolute(path)
            .map_err(|e| SetupError(format!("cannot make {} absolute: {e}", path.display())))?;
        subjects.push(Subject {
            folder: OsString::from(rootfs_folder(&absolute)),
            dir: fs::canonicalize(path).unwrap_or_else(|_| path.clone()),
            image: None,
        });
    }
    Ok(subjects)
}

/// Stand-alone subjects from `--image` references, in the order given; each is named by its
/// reference until it is opened (then by its id, the config digest's hex digits).
pub fn from_images(references: &[String]) -> Vec<Subject> {
    references
        .iter()
        .map(|r| Subject {
            folder: OsString::from(r.replace(['/', ':', '@'], "_")),
            dir: PathBuf::from(r),
            image: Some(r.clone()),
        })
        .collect()
}

/// Two subjects that would share an output folder (only matters with `--output`).
pub fn check_distinct_folders(subjects: &[Subject]) -> Result<(), SetupError> {
    for (i, a) in subjects.iter().enumerate() {
        if let Some(b) = subjects[i + 1..].iter().find(|b| b.folder == a.folder) {
            return Err(SetupError(format!(
                "{} and {} would both be written to the folder {}",
                a.dir.display(),
                b.dir.display(),
                a.folder.to_string_lossy()
            )));
        }
    }
    Ok(())
}

/// Scan every subject with `jobs` threads, returning the documents in subject order.
pub fn scan_all<S: Scanner>(
    scanner: &S,
    scan_type: &ScanType,
    options: &S::Options,
    images: &ImageArgs,
    subjects: &[Subject],
    jobs: usize,
    progress: &Progress,
) -> Vec<ResultDocument> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<ResultDocument>>> = Mutex::new(vec![None; subjects.len()]);
    let workers = jobs.clamp(1, subjects.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(subject) = subjects.get(i) else { break };
                let doc = scan_one(scanner, scan_type, options, images, subject);
                progress.subject_done();
                if let Ok(mut slots) = slots.lock() {
                    slots[i] = Some(doc);
                }
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    slots
        .into_iter()
        .zip(subjects)
        .map(|(doc, subject)| {
            doc.unwrap_or_else(|| {
                let now = ScanTime::now();
                document(
                    scanner,
                    scan_type,
                    subject,
                    now,
                    now,
                    Verdict::Failed(ScanFailure("internal error: no result".into())),
                )
            })
        })
        .collect()
}

/// Scan one subject; every way it can go wrong becomes a failed document.
pub fn scan_one<S: Scanner>(
    scanner: &S,
    scan_type: &ScanType,
    options: &S::Options,
    images: &ImageArgs,
    subject: &Subject,
) -> ResultDocument {
    let start = ScanTime::now();
    let opened = open_subject(subject, images, scanner.reads_file_digests());
    judge(scanner, scan_type, options, subject, &opened, start)
}

/// A subject's root filesystem, opened once; several scanners may judge it ([`judge`]).
pub struct OpenedSubject {
    pub root: Root,
    /// For an image subject: its id and `Image` object.
    pub image: Option<crate::image::OpenedImage>,
}

/// Open a subject: check its folder, or pull and apply its image (`hash`: take every
/// regular file's SHA-256 in the layer pass, for a scanner that compares file digests). A
/// panic while opening an image is a failure of this subject only.
pub fn open_subject(subject: &Subject, images: &ImageArgs, hash: bool) -> Result<OpenedSubject, ScanFailure> {
    match &subject.image {
        None => open_root(&subject.dir).map(|root| OpenedSubject { root, image: None }),
        Some(reference) => catch_unwind(AssertUnwindSafe(|| crate::image::open(reference, images, hash)))
            .unwrap_or_else(|panic| {
                Err(ScanFailure(format!(
                    "internal error: opening the image panicked: {}",
                    panic_message(&panic)
                )))
            })
            .map(|o| OpenedSubject {
                root: o.root.clone(),
                image: Some(o),
            }),
    }
}

/// One scanner's document for a subject opened with [`open_subject`] (a subject that could
/// not be opened gets a failed document saying why); `start` is when its scan began.
pub fn judge<S: Scanner>(
    scanner: &S,
    scan_type: &ScanType,
    options: &S::Options,
    subject: &Subject,
    opened: &Result<OpenedSubject, ScanFailure>,
    start: ScanTime,
) -> ResultDocument {
    let verdict = match opened {
        Err(failure) => Verdict::Failed(failure.clone()),
        Ok(o) => match catch_unwind(AssertUnwindSafe(|| scanner.scan(&o.root, scan_type.name, options))) {
            Ok(Ok(outcome)) => Verdict::Scanned(outcome),
            Ok(Err(failure)) => Verdict::Failed(failure),
            Err(panic) => Verdict::Failed(ScanFailure(format!(
                "internal error: the scanner panicked: {}",
                panic_message(&panic)
            ))),
        },
    };
    let mut doc = document(scanner, scan_type, subject, start, ScanTime::now(), verdict);
    if let Some(o) = opened.as_ref().ok().and_then(|o| o.image.as_ref()) {
        doc.uuid = o.id.clone();
        doc.folder = OsString::from(&o.id);
        doc.image = Some(o.summary.clone());
    } else if let Some(reference) = &subject.image {
        doc.image = Some(serde_json::json!({ "Reference": reference }));
    }
    doc.extra_files = scanner.extra_files(&doc);
    doc
}

fn document<S: Scanner>(
    scanner: &S,
    scan_type: &ScanType,
    subject: &Subject,
    start: ScanTime,
    finished: ScanTime,
    verdict: Verdict,
) -> ResultDocument {
    ResultDocument {
        scanner: scanner.name().to_string(),
        folder: subject.folder.clone(),
        source: subject.dir.clone(),
        uuid: subject_uuid(&subject.folder),
        scan_type_label: scan_type.label.to_string(),
        start,
        finished,
        verdict,
        image: None,
        extra_files: Vec::new(),
    }
}

/// The subject must be a directory (not a symlink to one: `/scanin` entries are mounts) that
/// can be listed.
fn open_root(dir: &Path) -> Result<Root, ScanFailure> {
    let meta = fs::symlink_metadata(dir).map_err(|e| ScanFailure(format!("{}: {e}", dir.display())))?;
    if meta.file_type().is_symlink() {
        return Err(ScanFailure(format!(
            "{}: a symbolic link, not a root filesystem folder",
            dir.display()
        )));
    }
    if !meta.is_dir() {
        return Err(ScanFailure(format!(
            "{}: not a directory, so not a root filesystem",
            dir.display()
        )));
    }
    fs::read_dir(dir).map_err(|e| ScanFailure(format!("{}: cannot list the folder: {e}", dir.display())))?;
    Root::new(dir).map_err(|e| ScanFailure(e.to_string()))
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

/// `scanout` must be a folder this process can create files in, and must not lie inside any
/// subject (nothing is ever written into a scanned root).
pub fn check_scanout(scanout: &Path, subjects: &[Subject]) -> Result<(), SetupError> {
    let meta = fs::metadata(scanout).map_err(|e| {
        SetupError(format!(
            "cannot use the output folder {}: {e} (mount a writable folder there, e.g. -v OUT:{}:rw,Z)",
            scanout.display(),
            scanout.display()
        ))
    })?;
    if !meta.is_dir() {
        return Err(SetupError(format!(
            "the output folder {} is not a directory",
            scanout.display()
        )));
    }
    if let Ok(out) = fs::canonicalize(scanout) {
        // Only real folders are scanned (a symlinked subject is refused, not followed).
        let scanned = subjects
            .iter()
            .filter(|s| s.image.is_none() && fs::symlink_metadata(&s.dir).is_ok_and(|m| m.is_dir()));
        for subject in scanned {
            if let Ok(dir) = fs::canonicalize(&subject.dir) {
                if out.starts_with(&dir) {
                    return Err(SetupError(format!(
                        "the output folder {} is inside the scanned root {}: refusing to write into a scanned root",
                        scanout.display(),
                        subject.dir.display()
                    )));
                }
            }
        }
    }
    let probe = scanout.join(format!(".write-probe-{}", std::process::id()));
    match fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(SetupError(format!(
            "cannot write in the output folder {}: {e} (mount it read-write, e.g. -v OUT:{}:rw,Z)",
            scanout.display(),
            scanout.display()
        ))),
    }
}

/// Write `<scanout>/<folder>/json` and the extra files for each document. Errors name the
/// file; the other documents are still written.
pub fn write_layout(scanout: &Path, docs: &[ResultDocument]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for doc in docs {
        let dir = scanout.join(&doc.folder);
        if let Err(e) = fs::create_dir_all(&dir) {
            errors.push(format!("{}: {e}", dir.display()));
            continue;
        }
        if let Err(e) = write_file(&dir.join("json"), doc.to_json_text().as_bytes()) {
            errors.push(e);
        }
        for extra in &doc.extra_files {
            if !is_plain_extra_name(&extra.name) {
                errors.push(format!(
                    "{}: extra file name {:?} refused (plain name, not \"json\")",
                    dir.display(),
                    extra.name
                ));
                continue;
            }
            let mut text = serde_json::to_string_pretty(&extra.contents).unwrap_or_default();
            text.push('\n');
            if let Err(e) = write_file(&dir.join(&extra.name), text.as_bytes()) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn is_plain_extra_name(name: &str) -> bool {
    !name.is_empty() && name != "json" && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// Write through a temporary name and rename, so a reader never sees half a document.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("partial");
    let result: io::Result<()> = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}
