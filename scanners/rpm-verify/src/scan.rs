//! One verification of a root: `rpm -Va`, with the file checks spread over all cores.
//!
//! The flow, in rpm's order:
//! 1. the image's `/etc/passwd` and `/etc/group` are read once ([`crate::owners`]);
//! 2. packages are read from the database one at a time, in database order; a header whose
//!    SHA256HEADER/SHA1HEADER no longer matches is reported and skipped (rpm skips it too), a
//!    header or file list that cannot be read is reported and the walk goes on;
//! 3. for each file, in header order, this thread does the cheap, order-dependent half of the
//!    check ([`verify::locate`]: file state, `lstat`, expected owner) and hands the rest
//!    ([`verify::check`]: digest, link, xattrs…) to a worker through a bounded queue, so
//!    memory holds only the packages in flight;
//! 4. the findings are put back in rpm's order by sequence number;
//! 5. timestamp differences on paths several packages own are dropped ([`crate::shared`]).

use crate::digest::{FileDigester, InodeDigests};
use crate::files::{attr, PackageFiles};
use crate::header_digest::{self, HeaderDigest};
use crate::owners::{Accounts, OwnerCache};
use crate::report::{state_note, BadPackage, FileFinding, HeaderFinding, PackageInfo, Problem, Report};
use crate::shared;
use crate::verify::{self, vf, CheckOptions, DirCache, Located, Present};
use rpmdb::package::DigestAlgo;
use rpmdb::root::image::tree::NodeId;
use rpmdb::root::{ImageTree, Root};
use rpmdb::InstalledPackages;
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// How to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Worker threads for the file checks (at least one).
    pub workers: usize,
    /// Count an extended ACL as a mode change, as rpm built with libacl does.
    pub acls: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            acls: true,
        }
    }
}

/// Why a root could not be verified at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct VerifyError(pub String);

/// A file handed to a worker.
struct Job {
    seq: usize,
    package: usize,
    files: Arc<PackageFiles>,
    ix: usize,
    present: Present,
}

/// Jobs travel in batches, so that the queue costs little per file: a batch is sent when it
/// has this many files ...
const BATCH_FILES: usize = 64;
/// ... or this many bytes to read.
const BATCH_BYTES: u64 = 8 << 20;

/// A finding before the shared-path rule, with its place in rpm's order.
type Sequenced = (usize, FileFinding);

fn finding(files: &PackageFiles, package: usize, ix: usize, problem: Problem) -> FileFinding {
    FileFinding {
        package,
        path: files.path(ix).to_vec(),
        base_start: files.dirname(ix).len(),
        file_flags: files.flags(ix),
        problem,
        state: state_note(files.state(ix)),
        layer: None,
    }
}

fn worker(
    root: &Root,
    jobs: &Mutex<mpsc::Receiver<Vec<Job>>>,
    options: CheckOptions,
    inodes: &InodeDigests,
) -> Vec<Sequenced> {
    let mut digester = FileDigester::new(inodes);
    let mut found = Vec::new();
    loop {
        let batch = {
            let queue = jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.recv()
        };
        let Ok(batch) = batch else { return found };
        for job in batch {
            let bits = verify::check(root, &job.files, job.ix, &job.present, options, &mut digester);
            if bits != 0 || state_note(job.files.state(job.ix)).is_some() {
                found.push((
                    job.seq,
                    finding(&job.files, job.package, job.ix, Problem::Changed(bits)),
                ));
            }
        }
    }
}

/// Verify every installed package of a root, as `rpm -Va --nodeps --noscripts` would.
pub fn verify_root(root: &Root, options: &Options) -> Result<Report, VerifyError> {
    let accounts = Accounts::read(root);
    let mut installed = InstalledPackages::open(root).map_err(|e| VerifyError(format!("not an RPM image: {e}")))?;
    let mut report = Report {
        database: format!("{} ({})", installed.path.display(), installed.format),
        warnings: accounts.problems.clone(),
        ..Report::default()
    };
    let check_options = CheckOptions { acls: options.acls };
    let workers = options.workers.max(1);
    let (sender, receiver) = mpsc::sync_channel::<Vec<Job>>(workers * 4);
    let receiver = Mutex::new(receiver);
    let inodes = match root.image() {
        Some(tree) => InodeDigests::with_image_digests(image_digests(root, tree)?),
        None => InodeDigests::default(),
    };
    let mut found: Vec<Sequenced> = Vec::new();

    let outcome = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| s.spawn(|| worker(root, &receiver, check_options, &inodes)))
            .collect();

        let mut owners = OwnerCache::new(&accounts);
        let mut dirs = DirCache::new();
        let mut seq = 0usize;
        let mut batch: Vec<Job> = Vec::with_capacity(BATCH_FILES);
        let mut batch_bytes = 0u64;
        let mut workers_gone = false;
        for pkg in installed.iter() {
            if workers_gone {
                break;
            }
            let pkg = match pkg {
                Ok(p) => p,
                Err(e) => {
                    report.bad_packages.push(BadPackage {
                        header_number: e.header_number,
                        nvra: None,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            let info = PackageInfo::of(&pkg);
            if let HeaderDigest::Mismatch {
                tag,
                recorded,
                computed,
            } = header_digest::check(&pkg.header)
            {
                report.tampered_headers.push(HeaderFinding {
                    package: info,
                    tag,
                    recorded,
                    computed,
                });
                continue;
            }
            let files = match PackageFiles::from_header(&pkg.header) {
                Ok(f) => Arc::new(f),
                Err(e) => {
                    report.bad_packages.push(BadPackage {
                        header_number: Some(pkg.header_number),
                        nvra: Some(info.nvra),
                        message: format!("its file list cannot be verified: {e}"),
                    });
                    continue;
                }
            };
            drop(pkg);
            let package = report.packages.len();
            report.packages.push(info);
            for ix in 0..files.len() {
                seq += 1;
                report.files_verified += 1;
                match verify::locate(root, &mut dirs, &mut owners, &files, ix) {
                    Located::Skipped => {}
                    Located::Missing { errno } => {
                        // Missing %ghost and %missingok files are only shown in verbose mode.
                        if files.flags(ix) & (attr::GHOST | attr::MISSINGOK) == 0 {
                            found.push((seq, finding(&files, package, ix, Problem::Missing { errno })));
                        }
                    }
                    Located::Present(present) => {
                        batch_bytes += present.lstat.size;
                        batch.push(Job {
                            seq,
                            package,
                            files: Arc::clone(&files),
                            ix,
                            present,
                        });
                        if batch.len() >= BATCH_FILES || batch_bytes >= BATCH_BYTES {
                            batch_bytes = 0;
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_FILES));
                            if sender.send(full).is_err() {
                                // Every worker is gone: one of them failed; joining says why.
                                workers_gone = true;
                                break;
                            }
                        }
                    }
                }
            }
        }
        if !batch.is_empty() && !workers_gone {
            let _ = sender.send(batch);
        }
        drop(sender);
        let mut failed = false;
        for h in handles {
            match h.join() {
                Ok(part) => found.extend(part),
                Err(_) => failed = true,
            }
        }
        if failed {
            Err(VerifyError("internal error: a file-check worker stopped".to_string()))
        } else {
            Ok(())
        }
    });
    outcome?;

    found.sort_unstable_by_key(|(seq, _)| *seq);
    let mut files: Vec<FileFinding> = found.into_iter().map(|(_, f)| f).collect();
    drop_shared_mtimes(root, &mut files, &mut report.warnings);
    files.retain(|f| !matches!(f.problem, Problem::Changed(0)) || f.state.is_some());
    report.files = files;
    Ok(report)
}

/// The digests an image's files need beyond the layer pass's SHA-256: one more read of the
/// layers when some package hashes its files in another algorithm (MD5 before RHEL 6, SHA-1).
fn image_digests(root: &Root, tree: &ImageTree) -> Result<HashMap<(NodeId, u32), Vec<u8>>, VerifyError> {
    let mut installed = InstalledPackages::open(root).map_err(|e| VerifyError(format!("not an RPM image: {e}")))?;
    let mut algos: Vec<DigestAlgo> = Vec::new();
    for pkg in installed.iter().flatten() {
        if let Ok(files) = PackageFiles::from_header(&pkg.header) {
            let algo = files.digest_algo();
            let taken = tree.hashed() && algo.algorithm() == Some(rpmdb::digest::Algorithm::Sha256);
            if !files.is_empty() && !taken && !algos.contains(&algo) {
                algos.push(algo);
            }
        }
    }
    if algos.is_empty() {
        return Ok(HashMap::new());
    }
    crate::digest::hash_image(tree, &algos).map_err(|e| VerifyError(format!("reading the image's files again: {e}")))
}

/// "Filter out timestamp differences of shared files": a `T` on a path that more than one
/// database entry names is dropped.
fn drop_shared_mtimes(root: &Root, files: &mut [FileFinding], warnings: &mut Vec<String>) {
    let with_mtime: Vec<usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| matches!(f.problem, Problem::Changed(bits) if bits & vf::MTIME != 0))
        .map(|(i, _)| i)
        .collect();
    if with_mtime.is_empty() {
        return;
    }
    let wanted: Vec<(Vec<u8>, Vec<u8>)> = with_mtime
        .iter()
        .map(|&i| {
            let (dir, base) = files[i].path.split_at(files[i].base_start);
            (dir.to_vec(), base.to_vec())
        })
        .collect();
    match shared::owner_counts(root, &wanted) {
        Ok(counts) => {
            for (&i, count) in with_mtime.iter().zip(counts) {
                if count > 1 {
                    if let Problem::Changed(bits) = &mut files[i].problem {
                        *bits &= !vf::MTIME;
                    }
                }
            }
        }
        Err(e) => warnings.push(format!("could not look for paths shared by several packages: {e}")),
    }
}
