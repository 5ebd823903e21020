//! Build binary RPMs from [`PackageSpec`]s with the real `rpmbuild -bb`, each in a private
//! `_topdir`: the files are staged on disk first (hard links share an inode, symlinks and
//! modes kept), then the generated spec's `%install` copies them into the build root.
//!
//! Builds are made fast and comparable: no `__os_install_post` (no stripping, no
//! byte-compiling), no debuginfo or build-id links, `AutoReqProv: no`, an uncompressed
//! payload (`w0.ufdio`), a fixed BUILDHOST. Non-UTF-8 file names are allowed
//! (`_invalid_encoding_terminates_build 0`; rpmbuild only warns).

use super::spec::{FileKind, PackageSpec};
use super::tools::{require_tool, run_ok};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `stage` + an absolute packaged path.
fn staged(stage: &Path, path: &Path) -> PathBuf {
    let rel = path.as_os_str().as_bytes();
    let rel = rel.strip_prefix(b"/").unwrap_or(rel);
    stage.join(OsStr::from_bytes(rel))
}

/// Write the package's files into `stage`, as they should be in the build root.
fn stage_files(pkg: &PackageSpec, stage: &Path) {
    fs::create_dir_all(stage).unwrap();
    let mkparent = |p: &Path| fs::create_dir_all(p.parent().unwrap()).unwrap();
    // Everything but hard links first, so that a link's target exists whatever the order.
    for f in &pkg.files {
        let dest = staged(stage, &f.path);
        match &f.kind {
            FileKind::Regular(bytes) => {
                mkparent(&dest);
                fs::write(&dest, bytes).unwrap_or_else(|e| panic!("staging {}: {e}", dest.display()));
            }
            FileKind::CopyOf(host) => {
                mkparent(&dest);
                fs::copy(host, &dest).unwrap_or_else(|e| panic!("copying {} to the stage: {e}", host.display()));
            }
            FileKind::Sparse(size) => {
                mkparent(&dest);
                let file = fs::File::create(&dest).unwrap();
                file.set_len(*size).unwrap();
            }
            FileKind::Dir => fs::create_dir_all(&dest).unwrap(),
            FileKind::Symlink(target) => {
                mkparent(&dest);
                std::os::unix::fs::symlink(target, &dest).unwrap();
            }
            FileKind::HardLink(_) | FileKind::Device { .. } | FileKind::Absent => {}
        }
    }
    for f in &pkg.files {
        if let FileKind::HardLink(to) = &f.kind {
            let dest = staged(stage, &f.path);
            mkparent(&dest);
            fs::hard_link(staged(stage, to), &dest)
                .unwrap_or_else(|e| panic!("hard link {} -> {}: {e}", f.path.display(), to.display()));
        }
    }
    for f in &pkg.files {
        if let Some(t) = f.mtime {
            let dest = staged(stage, &f.path);
            run_ok(
                Command::new("touch")
                    .arg("-h")
                    .arg("-d")
                    .arg(format!("@{t}"))
                    .arg(&dest),
            );
        }
    }
}

/// Build one package into `out_dir` and return the path of the `.rpm`.
pub fn build_rpm(pkg: &PackageSpec, out_dir: &Path) -> PathBuf {
    let rpmbuild = require_tool("rpmbuild");
    fs::create_dir_all(out_dir).unwrap();
    let top = tempfile::Builder::new()
        .prefix(&format!(".build-{}-", pkg.name))
        .tempdir_in(out_dir)
        .unwrap();
    let top_path = top.path();
    let stage = top_path.join("stage");
    stage_files(pkg, &stage);
    let spec_path = top_path.join(format!("{}.spec", pkg.name));
    fs::write(&spec_path, pkg.spec_text(&stage)).unwrap();

    let mut cmd = Command::new(rpmbuild);
    cmd.arg("-bb")
        .arg("--quiet")
        .arg("--define")
        .arg(format!("_topdir {}", top_path.display()))
        .arg("--define")
        .arg(format!("_tmppath {}", top_path.display()))
        .arg("--define")
        .arg(format!("_rpmdir {}", out_dir.display()))
        .arg("--define")
        .arg("_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm")
        .arg("--define")
        .arg(format!("_buildhost {}", pkg.buildhost))
        .arg("--define")
        .arg("_binary_payload w0.ufdio")
        .arg("--define")
        .arg("_invalid_encoding_terminates_build 0");
    if pkg.arch != "noarch" {
        cmd.arg("--target").arg(&pkg.arch);
    }
    cmd.arg(&spec_path);
    run_ok(&mut cmd);
    let rpm = out_dir.join(pkg.rpm_file_name());
    assert!(rpm.is_file(), "rpmbuild did not write {}", rpm.display());
    rpm
}

/// Build several packages in parallel (one rpmbuild per core), in the order given.
pub fn build_rpms(pkgs: &[PackageSpec], out_dir: &Path) -> Vec<PathBuf> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(1);
    let chunk = pkgs.len().div_ceil(workers).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = pkgs
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|p| build_rpm(p, out_dir)).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
