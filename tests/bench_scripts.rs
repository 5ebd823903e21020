//! The benchmark scripts' own safety rules, checked without running a benchmark:
//! `bench/verify-root.sh` deletes only what it made, so pointed at a folder it did not make it
//! must refuse before any work (no RPM is built), say why, exit with status 3, and leave every
//! file in and beside that folder where it was.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/verify-root.sh")
}

fn run_verify_root(dir: &Path) -> Output {
    Command::new("bash")
        .arg(script())
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script().display()))
}

/// A parent folder with a sentinel beside the target, and the target with a sentinel inside.
struct Scene {
    _parent: tempfile::TempDir,
    target: PathBuf,
    sentinels: Vec<PathBuf>,
}

fn scene() -> Scene {
    let parent = tempfile::tempdir().expect("a temporary folder");
    let target = parent.path().join("not-ours");
    fs::create_dir(&target).unwrap();
    let inside = target.join("sentinel-inside");
    let beside = parent.path().join("sentinel-beside");
    fs::write(&inside, b"keep me").unwrap();
    fs::write(&beside, b"keep me too").unwrap();
    Scene {
        _parent: parent,
        target,
        sentinels: vec![inside, beside],
    }
}

fn assert_refused(out: &Output, scene: &Scene, why: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "exit status; stderr: {stderr}");
    assert!(
        stderr.contains("verify-root: refusing") && stderr.contains(why) && stderr.contains("nothing was deleted"),
        "message: {stderr}"
    );
    assert!(!stderr.contains("building"), "it started building: {stderr}");
    for s in &scene.sentinels {
        assert!(s.exists(), "{} was deleted", s.display());
    }
    assert!(scene.target.is_dir(), "the folder itself was deleted");
    assert!(
        !scene.target.join(".verify-root-owner").exists(),
        "it marked a folder it did not make"
    );
    assert!(
        !scene.target.join("root").exists(),
        "it built into a folder it did not make"
    );
}

#[test]
fn verify_root_refuses_a_folder_it_did_not_make() {
    let s = scene();
    let out = run_verify_root(&s.target);
    assert_refused(&out, &s, "was not made by this script");
}

#[test]
fn verify_root_refuses_a_finished_looking_root_without_its_marker() {
    // What the old script took for its own: DIR/root/.complete, but no marker of this script.
    let s = scene();
    fs::create_dir(s.target.join("root")).unwrap();
    fs::write(s.target.join("root/.complete"), b"").unwrap();
    let out = run_verify_root(&s.target);
    // The fake root is refused, not reused, and not deleted.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(!stderr.contains("(exists)"), "it reused the root: {stderr}");
    assert!(s.target.join("root/.complete").exists());
    for f in &s.sentinels {
        assert!(f.exists(), "{} was deleted", f.display());
    }
}

#[test]
fn verify_root_refuses_a_marker_it_did_not_write() {
    let s = scene();
    let forged = s.target.join(".verify-root-owner");
    fs::write(&forged, b"someone else's\n").unwrap();
    let out = run_verify_root(&s.target);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("was not written by this script"), "message: {stderr}");
    assert_eq!(fs::read(&forged).unwrap(), b"someone else's\n");
    for f in &s.sentinels {
        assert!(f.exists(), "{} was deleted", f.display());
    }
}

#[test]
fn verify_root_refuses_a_symlink() {
    let s = scene();
    let link = s.target.parent().unwrap().join("link");
    std::os::unix::fs::symlink(&s.target, &link).unwrap();
    let out = run_verify_root(&link);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "stderr: {stderr}");
    assert!(stderr.contains("is a symlink"), "message: {stderr}");
    for f in &s.sentinels {
        assert!(f.exists(), "{} was deleted", f.display());
    }
}
