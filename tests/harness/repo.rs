//! Repositories for tests: `createrepo_c` over built RPMs, `modifyrepo_c` for extra metadata
//! (modules), primary re-compressed with another tool (`zstd`, which createrepo_c 0.17 cannot
//! write) and `repomd.xml` edited to match; a tiny HTTP server on 127.0.0.1 serving a folder
//! (or accepting connections and never answering); and Debian's `dnf check-update` run on a
//! test root as the oracle (rpm-internals.md §6).

use super::tools::{require_tool, run_ok};
use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Copy `rpms` into `dir` and run `createrepo_c --no-database` there; `compress` is
/// createrepo_c's `--general-compress-type` (`gz`, `xz`, `bz2`).
pub fn createrepo(dir: &Path, rpms: &[PathBuf], compress: &str) {
    let tool = require_tool("createrepo_c");
    fs::create_dir_all(dir).unwrap();
    for r in rpms {
        fs::copy(r, dir.join(r.file_name().unwrap())).unwrap();
    }
    run_ok(
        Command::new(tool)
            .arg("--quiet")
            .arg("--no-database")
            .arg("--simple-md-filenames")
            .arg(format!("--general-compress-type={compress}"))
            .arg(dir),
    );
}

/// Add a metadata file of type `mdtype` (e.g. `modules`) with `modifyrepo_c`.
pub fn modifyrepo(dir: &Path, mdtype: &str, file_name: &str, content: &str) {
    let tool = require_tool("modifyrepo_c");
    let src = dir.join(file_name);
    fs::write(&src, content).unwrap();
    run_ok(
        Command::new(tool)
            .arg(format!("--mdtype={mdtype}"))
            .arg("--simple-md-filenames")
            .arg(&src)
            .arg(dir.join("repodata")),
    );
    fs::remove_file(&src).unwrap();
}

/// The `<data type="...">` block of repomd.xml: (start, end) byte offsets.
fn data_block(repomd: &str, kind: &str) -> (usize, usize) {
    let start = repomd
        .find(&format!("<data type=\"{kind}\">"))
        .unwrap_or_else(|| panic!("no {kind} in repomd.xml"));
    let end = start + repomd[start..].find("</data>").unwrap() + "</data>".len();
    (start, end)
}

fn between<'a>(s: &'a str, open_prefix: &str, close: &str) -> &'a str {
    let a = s.find(open_prefix).unwrap();
    let a = a + s[a..].find('>').unwrap() + 1;
    let b = a + s[a..].find(close).unwrap();
    &s[a..b]
}

/// The path of a metadata file named in repomd.xml.
pub fn data_path(dir: &Path, kind: &str) -> PathBuf {
    let repomd = fs::read_to_string(dir.join("repodata/repomd.xml")).unwrap();
    let (a, b) = data_block(&repomd, kind);
    let block = &repomd[a..b];
    let h = block.find("href=\"").unwrap() + 6;
    let href = &block[h..h + block[h..].find('"').unwrap()];
    dir.join(href)
}

/// Re-compress the primary with `zstd` and rewrite repomd.xml's location, checksum and size.
pub fn primary_to_zstd(dir: &Path) {
    let zstd = require_tool("zstd");
    let old = data_path(dir, "primary");
    let xml = {
        let f = fs::File::open(&old).unwrap();
        let (_, mut r) = repodata::compression::decompress(BufReader::new(f), 1 << 32).unwrap();
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    };
    let plain = dir.join("repodata/primary.xml");
    fs::write(&plain, &xml).unwrap();
    run_ok(Command::new(zstd).arg("-q").arg("-f").arg("--rm").arg(&plain));
    let new = dir.join("repodata/primary.xml.zst");
    fs::remove_file(&old).unwrap();
    replace_data_file(dir, "primary", &old, &new);
}

/// Point repomd.xml's `kind` entry at `new` (replacing `old`), with its checksum and size.
pub fn replace_data_file(dir: &Path, kind: &str, old: &Path, new: &Path) {
    let repomd_path = dir.join("repodata/repomd.xml");
    let repomd = fs::read_to_string(&repomd_path).unwrap();
    let (a, b) = data_block(&repomd, kind);
    let bytes = fs::read(new).unwrap();
    let sum = repodata::checksum::digest_hex(repodata::checksum::Algorithm::Sha256, &bytes);
    let old_checksum = between(&repomd[a..b], "<checksum ", "</checksum>").to_string();
    let old_size = between(&repomd[a..b], "<size", "</size>").to_string();
    let old_href = format!("repodata/{}", old.file_name().unwrap().to_str().unwrap());
    let new_href = format!("repodata/{}", new.file_name().unwrap().to_str().unwrap());
    let block = repomd[a..b]
        .replacen(&format!(">{old_checksum}<"), &format!(">{sum}<"), 1)
        .replacen(&format!(">{old_size}<"), &format!(">{}<", bytes.len()), 1)
        .replacen(&old_href, &new_href, 1);
    let mut out = repomd[..a].to_string();
    out.push_str(&block);
    out.push_str(&repomd[b..]);
    fs::write(&repomd_path, out).unwrap();
}

/// The network flags under which an image's repositories may reach this module's servers
/// on 127.0.0.1, the stand-ins for an internal mirror: `--allow-repo-network 127.0.0.1`.
/// Without it the scanners refuse the loopback addresses an image names (issue 19).
pub fn allow_test_servers() -> repodata::cli::RepoNetwork {
    repodata::cli::RepoNetwork {
        allow_repo_network: vec!["127.0.0.1".parse().unwrap()],
        ..Default::default()
    }
}

/// What a tiny HTTP server does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Serve {
    /// Serve files of the folder (404 when missing).
    Files,
    /// Accept the connection and never answer.
    Hang,
    /// Answer `302 Found` with `Location:` this prefix followed by the path asked for.
    RedirectTo(String),
}

/// A server on 127.0.0.1 (or another loopback address) for one test; stopped when dropped.
/// It records every request it receives.
pub struct HttpServer {
    /// The address it listens on, as a URL writes it (`127.0.0.1`, `[::1]`).
    pub host: String,
    pub port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<std::sync::Mutex<Vec<String>>>,
}

impl HttpServer {
    pub fn start(folder: &Path, mode: Serve) -> HttpServer {
        HttpServer::start_on("127.0.0.1", folder, mode)
    }

    /// A server listening on `host` (`127.0.0.2`, `[::1]`…), on a free port.
    pub fn start_on(host: &str, folder: &Path, mode: Serve) -> HttpServer {
        let listener = TcpListener::bind((host.trim_start_matches('[').trim_end_matches(']'), 0))
            .unwrap_or_else(|e| panic!("cannot listen on {host}: {e}"));
        let port = listener.local_addr().unwrap().port();
        let host = host.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (folder, stop2, requests2) = (folder.to_path_buf(), stop.clone(), requests.clone());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                if mode == Serve::Hang {
                    held.push(conn);
                    continue;
                }
                let (folder, requests, mode) = (folder.clone(), requests2.clone(), mode.clone());
                std::thread::spawn(move || serve_one(conn, &folder, &requests, &mode));
            }
        });
        HttpServer {
            host,
            port,
            stop,
            requests,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}/{}", self.host, self.port, path.trim_start_matches('/'))
    }

    /// The paths requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect((self.host.trim_start_matches('[').trim_end_matches(']'), self.port));
    }
}

fn serve_one(conn: TcpStream, folder: &Path, requests: &std::sync::Mutex<Vec<String>>, mode: &Serve) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => break,
            Ok(_) if h.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    requests.lock().unwrap().push(path.clone());
    let mut conn = conn;
    if let Serve::RedirectTo(prefix) = mode {
        let _ = write!(
            conn,
            "HTTP/1.1 302 Found\r\nLocation: {prefix}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let file = folder.join(path.trim_start_matches('/'));
    let ok = !path.contains("..") && file.is_file();
    if ok {
        let body = fs::read(&file).unwrap();
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(&body);
    } else {
        let _ = write!(
            conn,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
    }
}

/// One line of dnf's answer: `name.arch` and EVR.
pub type NaEvr = (String, String);

/// What `dnf check-update` said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnfAnswer {
    pub updates: BTreeSet<NaEvr>,
    /// (obsoleting name.arch, EVR) with the obsoleted name.arch.
    pub obsoletes: BTreeSet<(NaEvr, String)>,
    pub exit_code: i32,
    pub output: String,
}

/// Run Debian's dnf `check-update` on a test root. `args` come before `check-update`: the
/// repositories (`--setopt=reposdir=/dev/null --repofrompath=ID,URL`, or none to use the
/// root's own `etc/yum.repos.d`), `--setopt` values. `--releasever` is the root's own unless
/// given.
pub fn dnf_check_update(root: &Path, args: &[String]) -> DnfAnswer {
    let dnf = require_tool("dnf");
    // Debian's dnf looks for the database at R/root/.rpmdb.
    let link = root.join("root/.rpmdb");
    if fs::symlink_metadata(&link).is_err() {
        fs::create_dir_all(root.join("root")).unwrap();
        std::os::unix::fs::symlink("../var/lib/rpm", &link).unwrap();
    }
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(dnf);
    cmd.arg(format!("--installroot={}", root.display()))
        .arg(format!("--setopt=cachedir={}", cache.path().display()))
        .arg("-q")
        .arg("--disableplugin=*")
        .arg("--setopt=gpgcheck=0")
        .arg("--setopt=skip_if_unavailable=0")
        .env("COLUMNS", "200")
        .args(args)
        .arg("check-update");
    let out = cmd.output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        code == 0 || code == 100,
        "{cmd:?} failed ({code}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut answer = parse_check_update(&stdout);
    answer.exit_code = code;
    answer.output = stdout;
    answer
}

/// Parse check-update's listing: `name.arch  evr  repo` lines, then "Obsoleting Packages"
/// with the obsoleting package and, indented, what it obsoletes.
pub fn parse_check_update(text: &str) -> DnfAnswer {
    let mut a = DnfAnswer::default();
    let mut in_obsoletes = false;
    let mut last: Option<NaEvr> = None;
    // dnf wraps a long name onto its own line: join such lines with the next.
    let mut pending = String::new();
    for line in text.lines() {
        if line.starts_with("Obsoleting Packages") {
            in_obsoletes = true;
            continue;
        }
        let indented = line.starts_with(' ');
        let full = if pending.is_empty() {
            line.to_string()
        } else {
            format!("{pending} {}", line.trim())
        };
        let fields: Vec<&str> = full.split_whitespace().collect();
        if fields.len() == 1 && !line.trim().is_empty() && fields[0].contains('.') {
            pending = if indented {
                format!(" {}", fields[0])
            } else {
                fields[0].to_string()
            };
            continue;
        }
        let was_indented = indented || pending.starts_with(' ');
        pending.clear();
        if fields.len() != 3 {
            continue;
        }
        let na = (fields[0].to_string(), fields[1].to_string());
        if !in_obsoletes {
            if fields[2].starts_with('@') {
                continue;
            }
            a.updates.insert(na);
        } else if was_indented {
            if let Some(new) = &last {
                a.obsoletes.insert((new.clone(), fields[0].to_string()));
            }
        } else {
            last = Some(na);
        }
    }
    a
}
