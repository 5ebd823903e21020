//! Hostile repositories against the two scanners that fetch metadata (issue 7):
//! `pipeline-scanner` and `security-advisories`, run as binaries under a watchdog and
//! `strace`, against servers on 127.0.0.1 that misbehave — never answer, answer a byte at a
//! time forever, stream endless data (with and without a Content-Length, as garbage and as
//! endless well-formed XML), send headers forever — and against image `.repo` files whose
//! `file://` URLs point out of the root. Each scan ends in bounded time and memory, names the
//! repository and what went wrong, and reads nothing outside the root.
//!
//! The image is the real libuuid Berkeley DB fixture with an os-release; no rpm needed.
//! Tools: strace.

use crate::harness;

use harness::hostile::{run_traced, scanner_binaries, Canary, Run, RunOptions, TreeDigest};
use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RSS_LIMIT_KIB: i64 = 256 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(100);
/// A misbehaving server stops by itself after this long, whatever the client does.
const SERVER_LIFETIME: Duration = Duration::from_secs(150);

/// What a server on 127.0.0.1 does with every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Misbehaviour {
    /// Accept, read the request, never answer.
    NeverAnswers,
    /// `200 OK`, then one byte every 300 ms, forever.
    Trickles,
    /// `200 OK` without a length, then zeros as fast as the client reads.
    EndlessGarbage,
    /// `200 OK` announcing 10 GB, then zeros.
    HugeContentLength,
    /// `200 OK`, then a well-formed XML document that never ends (`<metadata>` then
    /// `<x/>` forever): every event is small, so only a size or time limit stops it.
    EndlessXml,
    /// A status line, then header lines forever.
    EndlessHeaders,
}

struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(how: Misbehaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let born = Instant::now();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) || born.elapsed() > SERVER_LIFETIME {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let stop3 = stop2.clone();
                std::thread::spawn(move || misbehave(conn, how, &stop3, born));
            }
        });
        Server { port, stop }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/repo/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn misbehave(mut conn: TcpStream, how: Misbehaviour, stop: &AtomicBool, born: Instant) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let alive = || !stop.load(Ordering::SeqCst) && born.elapsed() < SERVER_LIFETIME;
    let zeros = vec![0u8; 64 * 1024];
    match how {
        Misbehaviour::NeverAnswers => {
            while alive() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Misbehaviour::Trickles => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<");
            while alive() && conn.write_all(b" ").is_ok() {
                std::thread::sleep(Duration::from_millis(300));
            }
        }
        Misbehaviour::EndlessGarbage | Misbehaviour::HugeContentLength => {
            let head: &[u8] = if how == Misbehaviour::EndlessGarbage {
                b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\nConnection: close\r\n\r\n"
            };
            let _ = conn.write_all(head);
            while alive() && conn.write_all(&zeros).is_ok() {}
        }
        Misbehaviour::EndlessXml => {
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<?xml version=\"1.0\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\"><revision>1</revision>",
            );
            let chunk = b"<x/>".repeat(16 * 1024);
            while alive() && conn.write_all(&chunk).is_ok() {}
        }
        Misbehaviour::EndlessHeaders => {
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\n");
            let mut i = 0u64;
            while alive()
                && conn
                    .write_all(format!("X-Header-{i}: {}\r\n", "v".repeat(100)).as_bytes())
                    .is_ok()
            {
                i += 1;
            }
        }
    }
}

/// A small real image: the libuuid Berkeley DB fixture and an os-release.
fn image() -> tempfile::TempDir {
    let root = tempfile::Builder::new()
        .prefix("adversarial-repo-root-")
        .tempdir()
        .unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpmdb/libuuid/Packages");
    fs::create_dir_all(root.path().join("var/lib/rpm")).unwrap();
    fs::copy(fixture, root.path().join("var/lib/rpm/Packages")).unwrap();
    fs::create_dir_all(root.path().join("etc/yum.repos.d")).unwrap();
    fs::write(
        root.path().join("etc/os-release"),
        "ID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n",
    )
    .unwrap();
    root
}

/// Scan `root` with the repository scanners, `extra` arguments added (pipeline-scanner also
/// gets `pipeline_extra`: its timeout flags); every generic check.
fn scan_both(
    name: &str,
    root: &Path,
    extra: &[&str],
    pipeline_extra: &[&str],
    canary: &Canary,
    advisories: bool,
) -> Vec<Run> {
    let bins = scanner_binaries();
    let before = TreeDigest::of(root);
    let scratch = tempfile::Builder::new().prefix("adversarial-tmp-").tempdir().unwrap();
    let mut runs = Vec::new();
    let mut scanners = vec![("pipeline-scanner", &bins.pipeline)];
    if advisories {
        scanners.push(("security-advisories", &bins.advisories));
    }
    for (scanner, bin) in scanners {
        let mut args: Vec<&OsStr> = vec![OsStr::new("--rootfs"), root.as_os_str()];
        args.extend(extra.iter().map(OsStr::new));
        if scanner == "pipeline-scanner" {
            args.extend(pipeline_extra.iter().map(OsStr::new));
        }
        let opts = RunOptions::with_tmpdir(TIME_LIMIT, scratch.path());
        let what = format!("{name}: {scanner}");
        let run = run_traced(&what, bin, &args, &opts);
        run.assert_ended_cleanly(RSS_LIMIT_KIB);
        run.assert_opened_only_inside(root, &[scratch.path(), bin], canary.path());
        assert!(
            !run.stdout_text().contains(&canary.word),
            "{what}: shows the canary: {}",
            run.stdout_text()
        );
        // No repository could be read: the scan fails, or (pipeline-scanner) says its
        // answer is partial — never a plain "no updates" / "no advisories".
        let doc = run.json();
        let summary = doc["Summary"].as_str().unwrap_or_default();
        assert!(
            doc["Successful"].as_str() == Some("false") || summary.contains("partial"),
            "{what}: reads as a complete answer: {}",
            run.stdout_text()
        );
        runs.push(run);
    }
    TreeDigest::of(root).assert_same(&before, name);
    runs
}

/// Each misbehaving server as the only repository (`--repo`), with short timeouts: the scan
/// gives up on it, names it, and ends.
#[test]
fn misbehaving_servers_are_given_up_on() {
    let canary = Canary::new();
    let root = image();
    let cases = [
        Misbehaviour::NeverAnswers,
        Misbehaviour::Trickles,
        Misbehaviour::EndlessGarbage,
        Misbehaviour::HugeContentLength,
        Misbehaviour::EndlessXml,
        Misbehaviour::EndlessHeaders,
    ];
    let mut report = Vec::new();
    for how in cases {
        let server = Server::start(how);
        let repo = format!("hostile={}", server.url());
        let args = ["--no-image-repos", "--repo", repo.as_str()];
        let timeouts = [
            "--connect-timeout",
            "2",
            "--timeout",
            "3",
            "--download-timeout",
            "15",
            "--attempts",
            "1",
        ];
        // security-advisories has no timeout flags: its fixed limits (30 s without an answer,
        // two tries, 600 s per download) would hold it ten minutes against a server that
        // trickles, past this suite's time budget; that case runs pipeline-scanner only.
        let advisories = how != Misbehaviour::Trickles;
        let runs = scan_both(&format!("{how:?}"), root.path(), &args, &timeouts, &canary, advisories);
        for run in &runs {
            run.assert_reports(&["hostile"]);
            report.push(format!("{}: {:?}, {} KiB", run.what, run.elapsed, run.max_rss_kib));
        }
        drop(server);
    }
    eprintln!("{}", report.join("\n"));
}

/// The image's own `.repo` files point out of the root with `file://` (absolute host path,
/// `../` climbing, a symlinked repository folder): resolved inside the image, where nothing
/// is, and reported.
#[test]
fn image_repo_files_pointing_out_of_the_root() {
    let canary = Canary::new();
    // A real repository in the canary folder: reading it would show its package.
    let repodata = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/repodata/rocky8.4-updateinfo-excerpt");
    for f in ["repomd.xml", "updateinfo.xml"] {
        canary.write(&format!("repo/repodata/{f}"), fs::read(repodata.join(f)).unwrap());
    }
    let root = image();
    let climb: PathBuf = canary.climb(root.path(), "/srv", "repo");
    fs::create_dir_all(root.path().join("srv")).unwrap();
    std::os::unix::fs::symlink(canary.path().join("repo"), root.path().join("srv/linked")).unwrap();
    fs::write(
        root.path().join("etc/yum.repos.d/out.repo"),
        format!(
            "[absolute]\nbaseurl=file://{}\nenabled=1\n\n[climbing]\nbaseurl=file:///srv/{}\nenabled=1\n\n[linked]\nbaseurl=file:///srv/linked\nenabled=1\n\n[mirrors]\nmirrorlist=file://{}\nenabled=1\n",
            canary.path().join("repo").display(),
            climb.display(),
            canary.path().join("file").display(),
        ),
    )
    .unwrap();
    let runs = scan_both("file:// out of the root", root.path(), &[], &[], &canary, true);
    for run in &runs {
        run.assert_reports(&["absolute", "climbing", "linked", "mirrors"]);
        assert!(
            !run.stdout_text().contains("RLSA-"),
            "{}: read the host's repository",
            run.what
        );
    }
}
