//! Hostile images against `--image` (issue 13).
//!
//! One clean image is built once: a package installed by the real `rpm`, tarred by GNU tar,
//! made an OCI layout by the real `umoci`. Each test copies the layout and makes it hostile:
//! a layer entry climbing out with `../`, a hard link to nothing, a whiteout of `/`, symlinks
//! out of the image, a blob that is not what its digest says, a tag that is not there, a tar
//! entry declaring a terabyte, a registry that accepts and never answers, and a registry
//! that wants credentials nobody gave. Every scan runs under `strace -f -y` and a watchdog
//! (tests/harness/hostile.rs) with `TMPDIR` set to a folder of the test's own, and:
//! - ends by itself, exit 0 or 2, no panic, peak RSS bounded;
//! - opens nothing outside the image's files and its private temporary folder (and the
//!   loader's, time zones, /proc, /sys), and never touches the canary folder;
//! - leaves the layout as it was (TreeDigest before/after) and `TMPDIR` empty: its
//!   `atomic-scanners-image-*` folder is gone;
//! - says `"Successful": "false"` and an `Error` naming the problem (but for the symlinks,
//!   which are data, resolved inside the image: the scan succeeds).
//!
//! Tools: rpm, rpmbuild (`rpm`), tar, umoci, docker-registry, htpasswd (`apache2-utils`),
//! openssl, strace, setpriv (`util-linux`). Runs as root.

use crate::harness;

use harness::hostile::{run_traced, scanner_binaries, Canary, Run, RunOptions, TreeDigest};
use harness::image::{is_empty_dir, locked_registry, tar_of_tree, LayerTar, OciLayout};
use harness::{build_rpms, FileSpec, PackageSpec, TestRoot};
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Peak memory allowed to one scan (debug binaries, under strace), KiB.
const RSS_LIMIT_KIB: i64 = 256 * 1024;
/// Time allowed to one scan before the watchdog kills it.
const TIME_LIMIT: Duration = Duration::from_secs(90);
const TAG: &str = "t";

/// The clean image's layout (one layer: the rpm-installed root).
fn base_layout() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let work = harness::scratch::process_tempdir("adversarial-images-");
        let pkg = PackageSpec::new("victim", "1.0", "1")
            .arch("x86_64")
            .file(FileSpec::dir("/usr/share/victim"))
            .file(FileSpec::regular("/usr/bin/victim", b"#!/bin/sh\necho victim\n").mode(0o755))
            .file(FileSpec::regular("/usr/share/victim/data", b"data\n"))
            .file(FileSpec::regular("/etc/victim.conf", b"setting=1\n").config_noreplace());
        let rpms = build_rpms(&[pkg], &work.join("rpms"));
        let root = TestRoot::at(&work.join("root"), "/var/lib/rpm");
        fs::create_dir_all(root.db_dir()).unwrap();
        root.write_file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
        root.write_file("/etc/group", "root:x:0:\n");
        root.install(&rpms, &[]);
        let layer = work.join("layer1.tar");
        tar_of_tree(root.path(), &layer);
        let layout = OciLayout::init(&work.join("layout"), TAG);
        layout.add_layer_file(&layer, "COPY rootfs /");
        layout.dir
    })
}

/// A copy of the clean layout (cp -a), to make hostile.
fn copy_of_base() -> (tempfile::TempDir, OciLayout) {
    let dir = tempfile::Builder::new().prefix("adversarial-image-").tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(base_layout())
        .arg(dir.path().join("layout"))
        .status()
        .unwrap();
    assert!(status.success(), "cp -a of the base layout failed");
    let layout = OciLayout {
        dir: dir.path().join("layout"),
        tag: TAG.to_string(),
    };
    (dir, layout)
}

/// One traced scan of `reference` by scanner-rpm-verify with every generic check made:
/// ended cleanly, opened nothing outside `inside` (the image's files) and its TMPDIR, the
/// canary untouched and never shown, TMPDIR empty afterwards. `extra`: more flags.
fn scan_traced(what: &str, reference: &str, inside: &Path, allowed: &[&Path], extra: &[&str], canary: &Canary) -> Run {
    let bin = &scanner_binaries().rpm_verify;
    let mut args = vec!["--scan-type", "rpm-verify-all"];
    args.extend_from_slice(extra);
    scan_traced_by(what, bin, reference, inside, allowed, &args, canary, TIME_LIMIT)
}

/// [`scan_traced`] with any scanner binary.
#[allow(clippy::too_many_arguments)]
fn scan_traced_by(
    what: &str,
    bin: &Path,
    reference: &str,
    inside: &Path,
    allowed: &[&Path],
    extra: &[&str],
    canary: &Canary,
    limit: Duration,
) -> Run {
    let tmp = tempfile::Builder::new()
        .prefix("adversarial-image-tmp-")
        .tempdir()
        .unwrap();
    let home = tempfile::Builder::new()
        .prefix("adversarial-image-home-")
        .tempdir()
        .unwrap();
    let mut args: Vec<&OsStr> = vec![OsStr::new("--image"), OsStr::new(reference)];
    args.extend(extra.iter().map(OsStr::new));
    let opts = RunOptions {
        limit,
        drop_dac: false,
        env: vec![
            ("TMPDIR".into(), tmp.path().to_str().unwrap().into()),
            ("HOME".into(), home.path().to_str().unwrap().into()),
            ("XDG_RUNTIME_DIR".into(), String::new()),
            ("REGISTRY_AUTH_FILE".into(), String::new()),
            ("TZ".into(), "UTC".into()),
        ],
    };
    let run = run_traced(what, bin, &args, &opts);
    run.assert_ended_cleanly(RSS_LIMIT_KIB);
    let mut ok: Vec<&Path> = vec![tmp.path(), home.path(), bin];
    ok.extend_from_slice(allowed);
    run.assert_opened_only_inside(inside, &ok, canary.path());
    for out in [&run.stdout, &run.stderr] {
        assert!(
            !String::from_utf8_lossy(out).contains(&canary.word),
            "{what}: output shows content of the host canary folder:\n{}",
            String::from_utf8_lossy(out)
        );
    }
    if let Err(left) = is_empty_dir(tmp.path()) {
        panic!("{what}: the scan left its temporary files behind in TMPDIR: {left}");
    }
    let _ = run.json();
    run
}

/// A hostile layer 2 on a copy of the base: scanned, the layout unchanged by the scan.
fn scan_with_layer(what: &str, layer: LayerTar, canary: &Canary) -> Run {
    scan_with_layer_kept(what, layer, canary).2
}

/// [`scan_with_layer`], the layout kept for more checks.
fn scan_with_layer_kept(what: &str, layer: LayerTar, canary: &Canary) -> (tempfile::TempDir, OciLayout, Run) {
    let (dir, layout) = copy_of_base();
    layout.add_layer(&layer.finish(), what);
    let before = TreeDigest::of(&layout.dir);
    let run = scan_traced(what, &layout.reference(), &layout.dir, &[], &[], canary);
    TreeDigest::of(&layout.dir).assert_same(&before, what);
    (dir, layout, run)
}

/// The scan failed and its `Error` mentions each of `words` (case-insensitive).
fn assert_failed_naming(run: &Run, words: &[&str]) {
    let doc = run.json();
    assert_eq!(
        doc["Successful"],
        "false",
        "{}: a hostile image was scanned as if fine:\n{}",
        run.what,
        run.stdout_text()
    );
    let error = doc["Error"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no Error:\n{}", run.what, run.stdout_text()))
        .to_lowercase();
    eprintln!("{}: {:?}: {error}", run.what, run.elapsed);
    for w in words {
        assert!(
            error.contains(&w.to_lowercase()),
            "{}: the Error does not name {w:?}: {error}",
            run.what
        );
    }
}

fn successful(run: &Run) -> bool {
    run.json()["Successful"].as_str() == Some("true")
}

/// The clean image scans fine under the same checks (so the failures below are the hostile
/// layers' doing).
#[test]
fn clean_image_scans() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let run = scan_traced("clean", &layout.reference(), &layout.dir, &[], &[], &canary);
    assert!(successful(&run), "{}", run.stdout_text());
    assert_eq!(run.json()["Image"]["Layers"], 1);
}

/// `../` in a layer entry's name, at the start and in the middle.
#[test]
fn entry_climbing_out_with_dot_dot() {
    let canary = Canary::new();
    for name in ["../escaped", "usr/../../escaped", "./../../../../../../tmp/escaped"] {
        let mut l = LayerTar::new();
        l.raw_entry(tar::EntryType::Regular, name.as_bytes(), None, b"escaped\n");
        let run = scan_with_layer(&format!("entry {name}"), l, &canary);
        assert_failed_naming(&run, &[".."]);
    }
}

/// pipeline-scanner and security-advisories read images through the same code: they refuse
/// the same hostile layer, as cleanly.
#[test]
fn every_scanner_refuses_a_climbing_entry() {
    let canary = Canary::new();
    let bins = scanner_binaries();
    let (_dir, layout) = copy_of_base();
    let mut l = LayerTar::new();
    l.raw_entry(tar::EntryType::Regular, b"../escaped", None, b"escaped\n");
    layout.add_layer(&l.finish(), "hostile");
    let before = TreeDigest::of(&layout.dir);
    for (name, bin, extra) in [
        ("pipeline-scanner", &bins.pipeline, vec!["--no-image-repos"]),
        (
            "security-advisories",
            &bins.advisories,
            vec!["--no-image-repos", "--scan-type", "all"],
        ),
    ] {
        let run = scan_traced_by(
            name,
            bin,
            &layout.reference(),
            &layout.dir,
            &[],
            &extra,
            &canary,
            TIME_LIMIT,
        );
        assert_failed_naming(&run, &["..", "escaped"]);
    }
    TreeDigest::of(&layout.dir).assert_same(&before, "pipeline-scanner, security-advisories");
}

/// A hard link whose target no layer has.
#[test]
fn hard_link_to_a_missing_file() {
    let canary = Canary::new();
    let mut l = LayerTar::new();
    l.hard_link("usr/bin/victim2", "usr/bin/no-such-file");
    let run = scan_with_layer("hard link to a missing file", l, &canary);
    assert_failed_naming(&run, &["usr/bin/no-such-file"]);
}

/// `.wh.` with an empty name: a whiteout of the layer's directory itself, `/` at the top.
#[test]
fn whiteout_of_the_root() {
    let canary = Canary::new();
    for name in [".wh.", "./.wh."] {
        let mut l = LayerTar::new();
        l.raw_entry(tar::EntryType::Regular, name.as_bytes(), None, b"");
        let run = scan_with_layer(&format!("whiteout {name:?}"), l, &canary);
        assert_failed_naming(&run, &[".wh."]);
    }
}

/// Symlinks out of the image (absolute to the canary, and `../` climbing to it): data,
/// resolved inside the image. The scan succeeds, reports the replaced files, and reads
/// nothing of the host.
#[test]
fn symlinks_out_of_the_image_are_resolved_inside() {
    let canary = Canary::new();
    canary.write("file", format!("{}\n", canary.word));
    canary.write("etc/passwd", format!("root:x:0:0:{}:/root:/bin/sh\n", canary.word));
    let abs = canary.path().join("file");
    let climb = format!("../../../../../../../..{}", canary.path().join("file").display());
    let mut l = LayerTar::new();
    l.symlink("usr/bin/victim", abs.to_str().unwrap());
    l.symlink("etc/victim.conf", &climb);
    // A packaged directory replaced by a symlink to the canary folder: its file is looked
    // up through it, inside the image.
    l.symlink("usr/share/victim", canary.path().to_str().unwrap());
    // The passwd file the owner check reads, out of the image.
    l.symlink(
        "etc/passwd",
        &format!("../../../../../../..{}", canary.path().join("etc/passwd").display()),
    );
    let (dir, layout, run) = scan_with_layer_kept("symlinks out", l, &canary);
    assert!(
        successful(&run),
        "symlinks are data, resolved inside the image: {}",
        run.stdout_text()
    );
    let text = run.stdout_text();
    for p in ["/usr/bin/victim", "/etc/victim.conf", "/usr/share/victim/data"] {
        assert!(text.contains(p), "no finding for {p}: {text}");
    }
    // The same judgement as rpm's, which resolves them inside its --root (chroot), on the
    // image unpacked by umoci.
    let rootfs = layout.unpack(&dir.path().join("bundle"));
    let rpm = TestRoot::at(&rootfs, "/var/lib/rpm").rpm(&["-Va", "--nodeps"]);
    let rpm_lines: Vec<(String, String)> = String::from_utf8_lossy(&rpm.stdout)
        .lines()
        .map(|l| {
            let (issue, rest) = match l.strip_prefix("missing") {
                Some(r) => ("missing".to_string(), &r[3..]),
                None => (l[..9].to_string(), &l[11..]),
            };
            let path = rest[1..].trim_start();
            let path = path.split(" (").next().unwrap_or(path);
            (path.to_string(), issue)
        })
        .collect();
    let ours: Vec<(String, String)> = run.json()["Scan Results"]["rpmVa_issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["filename"].as_str().unwrap().to_string(),
                i["issue"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(ours, rpm_lines, "--image and rpm -Va on umoci's unpacked tree differ");
}

/// A layer blob whose bytes are not those of its digest (one byte of the gzip header's
/// MTIME changed: still a valid gzip stream of the same tar, same size).
#[test]
fn blob_not_matching_its_digest() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let digest = layout.layer_digests()[0].clone();
    let blob = layout.blob_path(&digest);
    let mut bytes = fs::read(&blob).unwrap();
    assert_eq!(&bytes[..2], b"\x1f\x8b", "umoci's layer is gzip");
    bytes[5] ^= 0x55;
    fs::write(&blob, &bytes).unwrap();
    let before = TreeDigest::of(&layout.dir);
    let run = scan_traced("blob edited", &layout.reference(), &layout.dir, &[], &[], &canary);
    TreeDigest::of(&layout.dir).assert_same(&before, "blob edited");
    assert_failed_naming(&run, &["digest", digest.strip_prefix("sha256:").unwrap()]);
}

/// The same edited blob: the error numbers the layer one way. The document's `Layer`
/// objects count from 1 (the bottom layer), and so does the image tree's message
/// ("layer 1 (sha256:…)"); oci-image's step names the same blob "layer 0 (sha256:…)"
/// (`Image::open_layer` formats its 0-based index), so one message says "layer 1" and
/// "layer 0" of one digest.
#[test]
fn blob_mismatch_error_numbers_the_layer_once() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let digest = layout.layer_digests()[0].clone();
    let blob = layout.blob_path(&digest);
    let mut bytes = fs::read(&blob).unwrap();
    bytes[5] ^= 0x55;
    fs::write(&blob, &bytes).unwrap();
    let run = scan_traced(
        "blob edited (numbering)",
        &layout.reference(),
        &layout.dir,
        &[],
        &[],
        &canary,
    );
    assert_failed_naming(&run, &[&format!("layer 1 ({digest})")]);
    let error = run.json()["Error"].as_str().unwrap().to_string();
    assert!(
        !error.contains(&format!("layer 0 ({digest})")),
        "the one layer of the image is called both layer 1 and layer 0: {error}"
    );
}

/// A layout whose layer blob is a symlink to a host file holding the very same bytes (so the
/// digest would match): symlinks inside a layout are not followed; the host file is never
/// opened.
#[test]
fn layout_blob_symlinked_out() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let digest = layout.layer_digests()[0].clone();
    let blob = layout.blob_path(&digest);
    let outside = canary.write("blob", fs::read(&blob).unwrap());
    fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let run = scan_traced(
        "layout blob -> host",
        &layout.reference(),
        &layout.dir,
        &[],
        &[],
        &canary,
    );
    assert_failed_naming(&run, &["symlink"]);
}

/// index.json naming its manifest by a "digest" that climbs out of `blobs/`: refused as an
/// invalid digest before it names a path.
#[test]
fn index_digest_climbing_out() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let target = canary.write("manifest", "{}");
    let index_file = layout.dir.join("index.json");
    let mut index: serde_json::Value = serde_json::from_slice(&fs::read(&index_file).unwrap()).unwrap();
    let climb = format!("sha256:../../../../../../../../..{}", target.display());
    index["manifests"][0]["digest"] = serde_json::Value::String(climb);
    fs::write(&index_file, serde_json::to_vec(&index).unwrap()).unwrap();
    let run = scan_traced("index digest ../", &layout.reference(), &layout.dir, &[], &[], &canary);
    // oci-spec's parser refuses it ("invalid encoded value"), before any path is made.
    assert_failed_naming(&run, &["index.json", "invalid"]);
}

/// The layout as an oci-archive written member by member, `link` replacing the layer blob's
/// member by a symlink member to that target.
fn archive_with_symlinked_blob(layout: &OciLayout, file: &Path, link: &str) {
    let layer = layout.layer_digests()[0].strip_prefix("sha256:").unwrap().to_string();
    let mut t = LayerTar::new();
    t.file("oci-layout", &fs::read(layout.dir.join("oci-layout")).unwrap(), 0o644);
    t.file("index.json", &fs::read(layout.dir.join("index.json")).unwrap(), 0o644);
    for e in fs::read_dir(layout.dir.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        let member = format!("blobs/sha256/{name}");
        if name == layer {
            t.symlink(&member, link);
        } else {
            t.file(&member, &fs::read(e.path()).unwrap(), 0o644);
        }
    }
    fs::write(file, t.finish()).unwrap();
}

/// An oci-archive whose layer blob is a symlink member pointing out of the archive (to the
/// host file holding the same bytes, absolute and by `../`): links are followed only inside
/// the archive; the host file is never opened.
#[test]
fn archive_blob_symlinked_out() {
    let canary = Canary::new();
    let (dir, layout) = copy_of_base();
    let digest = layout.layer_digests()[0].clone();
    let outside = canary.write("blob", fs::read(layout.blob_path(&digest)).unwrap());
    for (how, link) in [
        ("absolute", outside.display().to_string()),
        ("climbing", format!("../../../../../../../../..{}", outside.display())),
    ] {
        let file = dir.path().join(format!("{how}.oci.tar"));
        archive_with_symlinked_blob(&layout, &file, &link);
        let before = TreeDigest::of(dir.path());
        let reference = format!("oci-archive:{}:{TAG}", file.display());
        let run = scan_traced(
            &format!("archive blob -> host ({how})"),
            &reference,
            dir.path(),
            &[],
            &[],
            &canary,
        );
        TreeDigest::of(dir.path()).assert_same(&before, how);
        assert_failed_naming(&run, &[&digest]);
    }
}

/// index.json, and then the manifest blob, of a gigabyte (sparse files): refused by size
/// (4 MiB for manifests), without reading them.
#[test]
fn gigabyte_index_and_manifest() {
    let canary = Canary::new();
    for which in ["index.json", "manifest"] {
        let (_dir, layout) = copy_of_base();
        let file = if which == "index.json" {
            layout.dir.join("index.json")
        } else {
            let index: serde_json::Value =
                serde_json::from_slice(&fs::read(layout.dir.join("index.json")).unwrap()).unwrap();
            layout.blob_path(index["manifests"][0]["digest"].as_str().unwrap())
        };
        let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.set_len(1 << 30).unwrap();
        drop(f);
        let before = TreeDigest::of(&layout.dir);
        let what = format!("1 GiB {which}");
        let run = scan_traced(&what, &layout.reference(), &layout.dir, &[], &[], &canary);
        TreeDigest::of(&layout.dir).assert_same(&before, &what);
        let words: &[&str] = if which == "index.json" {
            &["index.json", "limit"]
        } else {
            &["manifest", "descriptor"]
        };
        assert_failed_naming(&run, words);
        assert!(run.elapsed < Duration::from_secs(10), "{what}: took {:?}", run.elapsed);
        assert!(run.max_rss_kib < 128 * 1024, "{what}: peak RSS {} KiB", run.max_rss_kib);
    }
}

/// A docker-archive (made by skopeo) whose manifest.json names its layer by a path out of
/// the archive — absolute, and climbing with `../` — to a host file holding the layer's
/// very bytes: members are looked up inside the archive only.
#[test]
fn docker_archive_layer_path_out() {
    let canary = Canary::new();
    let (dir, layout) = copy_of_base();
    let made = dir.path().join("skopeo.docker.tar");
    harness::image::skopeo_copy(
        &layout.reference(),
        &format!("docker-archive:{}:hostile/img:{TAG}", made.display()),
        &[],
    );
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(fs::File::open(&made).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        members.push((name, data));
    }
    let manifest_at = members
        .iter()
        .position(|m| m.0 == "manifest.json")
        .expect("manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(&members[manifest_at].1).unwrap();
    let layer_member = manifest[0]["Layers"][0].as_str().unwrap().to_string();
    let layer_bytes = members.iter().find(|m| m.0 == layer_member).unwrap().1.clone();
    let outside = canary.write("layer.tar", &layer_bytes);
    for (how, path) in [
        ("absolute", outside.display().to_string()),
        ("climbing", format!("../../../../../../../..{}", outside.display())),
    ] {
        let mut m = manifest.clone();
        m[0]["Layers"][0] = serde_json::Value::String(path);
        let mut t = LayerTar::new();
        for (name, data) in &members {
            let data = if name == "manifest.json" {
                serde_json::to_vec(&m).unwrap()
            } else {
                data.clone()
            };
            if name != &layer_member {
                t.file(name, &data, 0o644);
            }
        }
        let file = dir.path().join(format!("{how}.docker.tar"));
        fs::write(&file, t.finish()).unwrap();
        let before = TreeDigest::of(dir.path());
        let what = format!("docker-archive layer path {how}");
        let run = scan_traced(
            &what,
            &format!("docker-archive:{}", file.display()),
            dir.path(),
            &[],
            &[],
            &canary,
        );
        TreeDigest::of(dir.path()).assert_same(&before, &what);
        assert_failed_naming(&run, &["layer.tar"]);
    }
}

/// A tag that the layout does not have.
#[test]
fn missing_tag() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let reference = format!("oci:{}:no-such-tag", layout.dir.display());
    let run = scan_traced("missing tag", &reference, &layout.dir, &[], &[], &canary);
    assert_failed_naming(&run, &["no-such-tag"]);
}

/// A tar entry declaring a terabyte (the archive then ends): the layer limit, 16 GiB by
/// default and not settable from the command line, is far too large to reach with a real
/// decompression bomb in a test; this is the same claim made cheaply. The scan must fail
/// without reserving memory or disk for the claim.
#[test]
fn entry_declaring_a_terabyte() {
    let canary = Canary::new();
    let mut l = LayerTar::new();
    l.file_declared("usr/share/victim/huge", 1 << 40, &vec![0u8; 4096]);
    let run = scan_with_layer("terabyte entry", l, &canary);
    assert_failed_naming(&run, &["layer"]);
    assert!(run.max_rss_kib < 128 * 1024, "peak RSS {} KiB", run.max_rss_kib);
}

/// A GNU sparse tar entry (type 'S') whose map puts 512 bytes of data at the end of a 1 TiB
/// file: a layer of 1.5 KB, compressed or not, that the tar reader expands into a terabyte of
/// zeros. The layer limit (PullOptions::max_layer_bytes) bounds the decompressed stream, not
/// this expansion; the scan must still end quickly — refuse the entry, or count what it
/// expands to against a limit — rather than hash a terabyte.
#[test]
fn sparse_entry_expanding_to_a_terabyte() {
    let canary = Canary::new();
    let (_dir, layout) = copy_of_base();
    let mut l = LayerTar::new();
    l.gnu_sparse("usr/share/victim/sparse", 1 << 40, &[0x5a; 512]);
    layout.add_layer(&l.finish(), "sparse bomb");
    let before = TreeDigest::of(&layout.dir);
    let bin = &scanner_binaries().rpm_verify;
    let run = scan_traced_by(
        "sparse 1 TiB",
        bin,
        &layout.reference(),
        &layout.dir,
        &[],
        &["--scan-type", "rpm-verify-all"],
        &canary,
        Duration::from_secs(30),
    );
    TreeDigest::of(&layout.dir).assert_same(&before, "sparse 1 TiB");
    assert_failed_naming(&run, &["usr/share/victim/sparse"]);
}

/// A registry on 127.0.0.1 that accepts connections and never answers. `close_tls`: a TLS
/// ClientHello (first byte 0x16) is answered by closing the connection, so that a client
/// allowed plain HTTP (`--tls-verify=false`) falls back to it and sends its request, which
/// is then read and never answered.
fn silent_registry(close_tls: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            let mut first = [0u8; 1];
            if close_tls && matches!(s.peek(&mut first), Ok(1)) && first[0] == 0x16 {
                drop(s);
                continue;
            }
            let mut c = s.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
            });
            held.push(s);
        }
    });
    port
}

fn scan_silent_registry(what: &str, port: u16, canary: &Canary) -> Run {
    let tmp = tempfile::Builder::new()
        .prefix("adversarial-registry-")
        .tempdir()
        .unwrap();
    let reference = format!("docker://127.0.0.1:{port}/silent/img:{TAG}");
    scan_traced(
        what,
        &reference,
        tmp.path(),
        &[Path::new("/etc/ssl/"), Path::new("/usr/share/ca-certificates/")],
        &["--tls-verify=false"],
        canary,
    )
}

/// A registry that accepts and never answers the TLS handshake: the scan fails on its
/// connect timeout (10 s, PullOptions::connect_timeout; no flag shortens it) and says so.
#[test]
fn registry_that_never_answers_tls() {
    let canary = Canary::new();
    let port = silent_registry(false);
    let run = scan_silent_registry("silent registry (TLS)", port, &canary);
    assert_failed_naming(&run, &["timed out", &format!("127.0.0.1:{port}")]);
    assert!(run.elapsed < Duration::from_secs(40), "took {:?}", run.elapsed);
}

/// A registry that closes TLS connections and reads a plain HTTP request without ever
/// answering: the scan fails on its response timeout (30 s, PullOptions::response_timeout;
/// no flag shortens it) and says so.
#[test]
fn registry_that_never_answers_http() {
    let canary = Canary::new();
    let port = silent_registry(true);
    let run = scan_silent_registry("silent registry (HTTP)", port, &canary);
    assert_failed_naming(&run, &["timed out", &format!("http://127.0.0.1:{port}")]);
    assert!(run.elapsed < Duration::from_secs(80), "took {:?}", run.elapsed);
}

/// A registry (Debian's docker-registry, TLS with a test CA, htpasswd) answering 401: no
/// credentials were given, so the error names every credential file that was tried.
#[test]
fn registry_401_without_credentials() {
    let canary = Canary::new();
    let dir = tempfile::Builder::new()
        .prefix("adversarial-registry-")
        .tempdir()
        .unwrap();
    let (registry, certs) = locked_registry(dir.path());
    let reference = format!("docker://{}/locked/img:{TAG}", registry.host());
    let run = scan_traced(
        "401 without credentials",
        &reference,
        &certs,
        &[Path::new("/etc/ssl/"), Path::new("/usr/share/ca-certificates/")],
        &["--cert-dir", certs.to_str().unwrap()],
        &canary,
    );
    // HOME is the test's folder (scan_traced): the files tried are below it.
    assert_failed_naming(
        &run,
        &["authentication", "auth.json", ".docker/config.json", &registry.host()],
    );
}
