//! Hostile roots and the checks the adversarial suite makes on every scan of one: the real
//! scanner binaries run under a watchdog with their peak memory measured, every file they
//! open traced (`strace -f -y`), and a digest of the whole scanned tree taken before and after.
//!
//! - [`scanner_binaries`]: `cargo build` the three scanners (and `rpmdb-query`) once per test binary.
//! - [`run_traced`]: run one, killed past a time limit; exit status, output, max RSS
//!   (`wait4`), elapsed time, the files it opened and the addresses it connected to.
//! - [`TreeDigest`]: every path of a tree with its type, mode, owner, size, mtime, ctime,
//!   inode, link target, xattrs and a content hash (data extents only, so a 10 GB sparse file
//!   costs nothing).
//! - [`Canary`]: a host folder outside the root, holding what hostile symlinks point at.
//!
//! Tools: `strace` (Debian `strace`), `setpriv` (`util-linux`).
#![allow(dead_code)]

use super::tools::require_tool;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The scanner binaries, built by `cargo build` into this test binary's target directory.
#[derive(Debug, Clone)]
pub struct ScannerBinaries {
    pub rpm_verify: PathBuf,
    pub pipeline: PathBuf,
    pub advisories: PathBuf,
    /// `rpmdb-query`, the database library's listing tool (not a scanner: not in `all()`).
    pub rpmdb_query: PathBuf,
    pub image_scan: PathBuf,
}

impl ScannerBinaries {
    pub fn all(&self) -> [(&'static str, &Path); 3] {
        [
            ("scanner-rpm-verify", &self.rpm_verify),
            ("pipeline-scanner", &self.pipeline),
            ("security-advisories", &self.advisories),
        ]
    }
}

/// The scanner binaries of this checkout, built once per test binary.
///
/// `target/<profile>/` binaries are used when they are newer than every source file of the
/// workspace (`make test` and `cargo build --workspace` leave them there). Otherwise they are
/// built by a nested `cargo build` into `target/adversarial-bins`: not into `target` itself,
/// whose lock the `cargo test` running this test holds until it exits.
pub fn scanner_binaries() -> &'static ScannerBinaries {
    static BINS: OnceLock<ScannerBinaries> = OnceLock::new();
    BINS.get_or_init(|| {
        const NAMES: [&str; 5] = [
            "scanner-rpm-verify",
            "pipeline-scanner",
            "security-advisories",
            "rpmdb-query",
            "image-scan",
        ];
        // target/debug/deps/<test binary> → target/debug
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let newest_source =
            newest_mtime(&manifest_dir.join("scanners")).max(newest_mtime(&manifest_dir.join("Cargo.lock")));
        let fresh = |dir: &Path| {
            NAMES.iter().all(|n| {
                fs::metadata(dir.join(n))
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= newest_source)
            })
        };
        let dir = if fresh(&profile_dir) {
            profile_dir
        } else {
            let own = target_dir.join("adversarial-bins");
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(manifest_dir)
                .args(["build", "--quiet", "--workspace", "--target-dir"])
                .arg(&own)
                .args(NAMES.iter().flat_map(|n| ["--bin", n]))
                .status()
                .expect("run cargo build");
            assert!(status.success(), "cargo build of the scanner binaries failed");
            own.join("debug")
        };
        let bin = |n: &str| {
            let p = dir.join(n);
            assert!(p.is_file(), "{} was not built", p.display());
            p
        };
        ScannerBinaries {
            rpm_verify: bin(NAMES[0]),
            pipeline: bin(NAMES[1]),
            advisories: bin(NAMES[2]),
            rpmdb_query: bin(NAMES[3]),
            image_scan: bin(NAMES[4]),
        }
    })
}

/// The newest modification time of a file or of any file below a folder.
fn newest_mtime(p: &Path) -> std::time::SystemTime {
    let Ok(m) = fs::symlink_metadata(p) else {
        return std::time::UNIX_EPOCH;
    };
    let own = m.modified().unwrap_or(std::time::UNIX_EPOCH);
    if !m.is_dir() {
        return own;
    }
    fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| newest_mtime(&e.path()))
        .fold(own, std::cmp::max)
}

/// How a scan ended.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    /// Exit code; `None` when killed (by the watchdog or a signal).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Peak resident set of the scanner (and strace), KiB.
    pub max_rss_kib: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Every open*() the scanner made: (path asked for, resolved path when it succeeded).
    pub opens: Vec<Open>,
    /// The raw strace log, for messages.
    pub trace: String,
}

#[derive(Debug, Clone)]
pub struct Open {
    pub line: String,
    /// The kernel's path of the descriptor returned (strace -y), when the open succeeded.
    pub opened: Option<String>,
}

impl Run {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The JSON document (stand-alone mode prints one object per --rootfs).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}); exit {:?}\nstdout: {}\nstderr: {}",
                self.what,
                self.code,
                self.stdout_text(),
                String::from_utf8_lossy(&self.stderr)
            )
        })
    }

    /// The scan finished by itself, in time, without a crash (exit 0 ran, 2 could not run).
    pub fn assert_ended_cleanly(&self, rss_limit_kib: i64) {
        let stderr = String::from_utf8_lossy(&self.stderr);
        assert!(
            !self.timed_out,
            "{}: still running after {:?}; killed\nstderr: {stderr}",
            self.what, self.elapsed
        );
        assert!(
            matches!(self.code, Some(0) | Some(2)),
            "{}: exit {:?} signal {:?} (0 or 2 expected)\nstderr: {stderr}",
            self.what,
            self.code,
            self.signal
        );
        assert!(!stderr.contains("panicked"), "{}: panicked: {stderr}", self.what);
        assert!(
            self.max_rss_kib <= rss_limit_kib,
            "{}: peak memory {} KiB over the limit of {rss_limit_kib} KiB",
            self.what,
            self.max_rss_kib
        );
    }

    /// Nothing was opened outside `root` but the host files any process uses (the dynamic
    /// loader, time zones, /proc, /sys, /dev/null) and the `allowed` prefixes the test gave
    /// (a cache folder, a feed file named on the command line); and nothing under `forbidden`
    /// was even asked for.
    pub fn assert_opened_only_inside(&self, root: &Path, allowed: &[&Path], forbidden: &Path) {
        let root = root.to_str().expect("ASCII root path");
        let forbidden = forbidden.to_str().expect("ASCII canary path");
        let touched: Vec<&str> = self
            .trace
            .lines()
            .filter(|l| accessed_paths(l).iter().any(|p| p.contains(forbidden)))
            .collect();
        assert!(
            touched.is_empty(),
            "{}: the scanner touched {forbidden} (outside the root):\n{}",
            self.what,
            touched.join("\n")
        );
        // setpriv (when capabilities are dropped) loads its locale before it runs the scanner.
        const SYSTEM: [&str; 14] = [
            "/usr/lib/locale/",
            "/usr/share/locale/",
            "/etc/locale.alias",
            "/etc/ld.so.cache",
            "/lib/",
            "/lib64/",
            "/usr/lib/x86_64-linux-gnu/",
            "/etc/localtime",
            "/usr/share/zoneinfo/",
            "/proc/",
            "/sys/",
            "/dev/null",
            "/dev/urandom",
            "/dev/pts/",
        ];
        let inside = |p: &str| p == root || p.starts_with(&format!("{root}/"));
        let bad: Vec<&Open> = self
            .opens
            .iter()
            .filter(|o| match &o.opened {
                None => false,
                Some(p) => {
                    !inside(p)
                        && !SYSTEM.iter().any(|s| p.starts_with(s))
                        && !allowed.iter().any(|a| p.starts_with(a.to_str().unwrap_or("\0")))
                        && !p.starts_with("pipe:")
                        && !p.starts_with("socket:")
                        && !p.starts_with("anon_inode:")
                }
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{}: opened outside the root {root}:\n{}",
            self.what,
            bad.iter().map(|o| o.line.as_str()).collect::<Vec<_>>().join("\n")
        );
    }

    /// Every IP address the scanner tried to connect to (traced `connect()` calls on
    /// AF_INET and AF_INET6 sockets), with the port.
    pub fn connects(&self) -> Vec<(std::net::IpAddr, u16)> {
        self.trace
            .lines()
            .filter(|l| l.contains("connect(") && l.contains("sa_family=AF_INET"))
            .filter_map(|l| {
                let port = l.split("_port=htons(").nth(1)?.split(')').next()?.parse().ok()?;
                let addr = if let Some(rest) = l.split("inet_addr(\"").nth(1) {
                    rest.split('"').next()?
                } else {
                    l.split("inet_pton(AF_INET6, \"").nth(1)?.split('"').next()?
                };
                Some((addr.parse().ok()?, port))
            })
            .collect()
    }

    /// The document says what could not be checked: a failure, an error or a warning, whose
    /// text mentions each of `words` (case-insensitive).
    pub fn assert_reports(&self, words: &[&str]) {
        let text = self.stdout_text().to_lowercase();
        for w in words {
            assert!(
                text.contains(&w.to_lowercase()),
                "{}: the result does not mention {w:?}:\n{}",
                self.what,
                self.stdout_text()
            );
        }
    }
}

/// Options of one traced run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Kill the scanner after this long.
    pub limit: Duration,
    /// Run without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (root then obeys file modes).
    pub drop_dac: bool,
    /// Extra environment (TMPDIR, TZ …).
    pub env: Vec<(String, String)>,
}

impl RunOptions {
    /// Killed after `limit`, with full capabilities, `TMPDIR` set to `tmp` (where a scanner
    /// keeps its temporary metadata cache).
    pub fn with_tmpdir(limit: Duration, tmp: &Path) -> RunOptions {
        RunOptions {
            limit,
            drop_dac: false,
            env: vec![("TMPDIR".into(), tmp.to_str().expect("UTF-8 TMPDIR").into())],
        }
    }
}

/// Run `bin args` under `strace -f -y` with a watchdog; returns how it ended.
pub fn run_traced(what: &str, bin: &Path, args: &[&OsStr], opts: &RunOptions) -> Run {
    let strace = require_tool("strace");
    let log_dir = tempfile::Builder::new().prefix("adversarial-trace-").tempdir().unwrap();
    let log = log_dir.path().join("trace");
    let mut cmd = Command::new(strace);
    cmd.args([
        "-f",
        "-qq",
        "-y",
        "-s",
        "512",
        "-e",
        "trace=%file,openat2,connect",
        "-e",
        "signal=none",
        "-o",
    ])
    .arg(&log)
    .arg("--");
    if opts.drop_dac {
        cmd.arg(require_tool("setpriv"))
            .args(["--bounding-set", "-dac_override,-dac_read_search", "--"]);
    }
    cmd.arg(bin).args(args);
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Its own process group, so the watchdog can kill strace and the scanner together.
    cmd.process_group(0);
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start strace");
    let pid = child.id() as libc::pid_t;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let mut timed_out = false;
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child, with valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if !timed_out && start.elapsed() > opts.limit {
            timed_out = true;
            // SAFETY: signalling the process group we created.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    std::mem::forget(child); // already reaped by wait4
    let stdout = out_t.join().unwrap();
    let stderr = err_t.join().unwrap();
    let trace = fs::read_to_string(&log).unwrap_or_default();
    let opens = parse_opens(&trace);
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    Run {
        what: what.to_string(),
        code,
        signal,
        timed_out,
        elapsed,
        max_rss_kib: usage.ru_maxrss,
        stdout,
        stderr,
        opens,
        trace,
    }
}

/// The open/openat/openat2/creat calls of an `strace -y` log, with the returned descriptor's
/// path when the call succeeded (`= 3</the/path>`).
fn parse_opens(trace: &str) -> Vec<Open> {
    trace
        .lines()
        .filter(|l| l.contains("open(") || l.contains("openat(") || l.contains("openat2(") || l.contains("creat("))
        .map(|l| {
            let opened = l.rfind(") = ").and_then(|at| {
                let ret = &l[at + 4..];
                let lt = ret.find('<')?;
                if !ret[..lt].chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let rest = &ret[lt + 1..];
                Some(rest[..rest.rfind('>')?].to_string())
            });
            Open {
                line: l.to_string(),
                opened,
            }
        })
        .collect()
}

/// The paths a traced call accessed: its quoted arguments (for readlink, not the last one,
/// which is the link's content as read) and the paths of the descriptors it used or got.
fn accessed_paths(line: &str) -> Vec<String> {
    let mut quoted = Vec::new();
    let mut fds = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            let start = i + 1;
            let mut end = start;
            let mut escaped = false;
            for (j, d) in chars.by_ref() {
                if escaped {
                    escaped = false;
                } else if d == '\\' {
                    escaped = true;
                } else if d == '"' {
                    end = j;
                    break;
                }
            }
            quoted.push(line[start..end].to_string());
        } else if c == '<' {
            let rest = &line[i + 1..];
            if let Some(close) = rest.find('>') {
                fds.push(rest[..close].to_string());
            }
        }
    }
    // The link's content is the last quoted string, also on the second half of a call that
    // strace -f printed in two lines (`<... readlink resumed>"content", 256) = 7`).
    if line.contains("readlink(")
        || line.contains("readlinkat(")
        || line.contains("readlink resumed>")
        || line.contains("readlinkat resumed>")
    {
        quoted.pop();
    }
    quoted.extend(fds);
    quoted
}

/// Every path of a tree and everything about it that a write could change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeDigest(pub BTreeMap<Vec<u8>, String>);

impl TreeDigest {
    pub fn of(root: &Path) -> TreeDigest {
        let mut map = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(p) = stack.pop() {
            let m = fs::symlink_metadata(&p).unwrap_or_else(|e| panic!("lstat {}: {e}", p.display()));
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                "dir"
            } else if ft.is_symlink() {
                "symlink"
            } else if ft.is_file() {
                "file"
            } else if ft.is_fifo() {
                "fifo"
            } else if ft.is_socket() {
                "socket"
            } else if ft.is_char_device() {
                "chr"
            } else {
                "blk"
            };
            let mut line = format!(
                "{kind} mode={:o} {}:{} size={} mtime={}.{} ctime={}.{} ino={} nlink={} rdev={}",
                m.mode(),
                m.uid(),
                m.gid(),
                m.size(),
                m.mtime(),
                m.mtime_nsec(),
                m.ctime(),
                m.ctime_nsec(),
                m.ino(),
                m.nlink(),
                m.rdev()
            );
            if ft.is_symlink() {
                line.push_str(&format!(" -> {:?}", fs::read_link(&p).unwrap()));
            }
            if ft.is_file() {
                line.push_str(&format!(" data={:016x}", content_hash(&p)));
            }
            line.push_str(&format!(" xattrs={:?}", xattrs(&p)));
            let rel = p.strip_prefix(root).unwrap().as_os_str().as_bytes().to_vec();
            map.insert(rel, line);
            if ft.is_dir() {
                for e in fs::read_dir(&p).unwrap() {
                    stack.push(e.unwrap().path());
                }
            }
        }
        TreeDigest(map)
    }

    /// Panics naming every path that appeared, disappeared or changed.
    pub fn assert_same(&self, after: &TreeDigest, what: &str) {
        let mut diffs = Vec::new();
        for (k, v) in &self.0 {
            match after.0.get(k) {
                None => diffs.push(format!("removed {:?}", String::from_utf8_lossy(k))),
                Some(w) if w != v => diffs.push(format!("changed {:?}: {v} => {w}", String::from_utf8_lossy(k))),
                _ => {}
            }
        }
        for k in after.0.keys().filter(|k| !self.0.contains_key(*k)) {
            diffs.push(format!("created {:?}", String::from_utf8_lossy(k)));
        }
        assert!(
            diffs.is_empty(),
            "{what}: the scan changed the scanned tree:\n{}",
            diffs.join("\n")
        );
    }
}

/// FNV-1a over the data extents of a file (holes skipped: SEEK_DATA/SEEK_HOLE), with their
/// offsets, so that a sparse file of any size hashes in no time.
fn content_hash(p: &Path) -> u64 {
    let f = fs::File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let fd = f.as_raw_fd();
    let mut h: u64 = 0xcbf29ce484222325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    };
    let mut off: libc::off_t = 0;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // SAFETY: lseek/pread on a descriptor we own, into our own buffer.
        let data = unsafe { libc::lseek(fd, off, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        feed(&data.to_le_bytes());
        let mut at = data;
        while at < hole {
            let want = ((hole - at) as usize).min(buf.len());
            let n = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), want, at) };
            assert!(n > 0, "read {}: {}", p.display(), std::io::Error::last_os_error());
            feed(&buf[..n as usize]);
            at += n as libc::off_t;
        }
        off = hole;
    }
    h
}

/// Extended attributes (name=value) of a path, not following a symlink.
fn xattrs(p: &Path) -> Vec<(String, Vec<u8>)> {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let mut names = vec![0u8; 65536];
    // SAFETY: C string and buffer valid for the call.
    let n = unsafe { libc::llistxattr(c.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n <= 0 {
        return Vec::new();
    }
    names[..n as usize]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|name| {
            let cname = CString::new(name).unwrap();
            let mut val = vec![0u8; 65536];
            let m = unsafe { libc::lgetxattr(c.as_ptr(), cname.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
            val.truncate(m.max(0) as usize);
            (String::from_utf8_lossy(name).into_owned(), val)
        })
        .collect()
}

/// A host folder outside every scanned root: what hostile symlinks point at. Its files
/// carry a unique word that must never show up in a scanner's output.
pub struct Canary {
    pub dir: tempfile::TempDir,
    pub word: String,
}

impl Canary {
    pub fn new() -> Canary {
        let dir = tempfile::Builder::new()
            .prefix("adversarial-canary-")
            .tempdir()
            .unwrap();
        let word = format!("canary{}x{}", std::process::id(), dir.path().as_os_str().len() * 7919);
        Canary { dir, word }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write `rel` (below the canary folder) with `content`.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        p
    }

    /// The host path as a `../../..` climb from `from_dir_in_image` (depth in the image) —
    /// what a naive resolver would follow straight out of the root.
    pub fn climb(&self, root: &Path, from_dir_in_image: &str, rel: &str) -> PathBuf {
        let depth_root = root.components().count() - 1;
        let depth_in = Path::new(from_dir_in_image).components().count() - 1;
        let mut p = PathBuf::new();
        for _ in 0..(depth_root + depth_in) {
            p.push("..");
        }
        p.join(self.dir.path().strip_prefix("/").unwrap()).join(rel)
    }
}
