//! [`TestRoot`]: a temporary root filesystem with an rpm database, populated and queried
//! by the real `rpm` (`rpm --root R --dbpath <dbpath> ...`).
//!
//! Layouts: [`TestRoot::new`] keeps the database in `R/var/lib/rpm` (what `rpm --root R
//! --dbpath /var/lib/rpm` writes on Debian: `rpmdb.sqlite` in WAL mode, with `-wal` and
//! `-shm` beside it); [`TestRoot::new_sysimage`] is the Fedora 36+ layout, the database in
//! `R/usr/lib/sysimage/rpm` and `R/var/lib/rpm` a relative symlink to it.
//!
//! The directory is removed on drop; set `HARNESS_KEEP=1` to keep it (its path is printed).

use super::tools::{require_tool, run_ok};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Build `installed` and `available` with rpmbuild (into `work/rpms`) and install
/// `installed` into a new [`TestRoot`]: the root, and the rpms of `available` in their order
/// (to publish as a repository of updates).
pub fn root_with_available(
    installed: &[super::PackageSpec],
    available: &[super::PackageSpec],
    work: &Path,
) -> (TestRoot, Vec<PathBuf>) {
    let all: Vec<super::PackageSpec> = installed.iter().chain(available).cloned().collect();
    let rpms = super::build_rpms(&all, &work.join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms[..installed.len()], &[]);
    (root, rpms[installed.len()..].to_vec())
}

#[derive(Debug)]
pub struct TestRoot {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    /// The database directory as rpm sees it inside the root, e.g. `/var/lib/rpm`.
    pub dbpath: String,
    /// `--define` values given to every rpm run on this root (e.g. `_db_backend bdb_ro`).
    pub defines: Vec<String>,
}

impl TestRoot {
    /// An empty root; rpm will create `R/var/lib/rpm/rpmdb.sqlite` on first install.
    pub fn new() -> TestRoot {
        let dir = tempfile::Builder::new().prefix("harness-root-").tempdir().unwrap();
        let path = dir.path().to_path_buf();
        fs::create_dir_all(path.join("var/lib/rpm")).unwrap();
        TestRoot::wrap(dir, "/var/lib/rpm")
    }

    /// The Fedora 36+ layout: database in `usr/lib/sysimage/rpm`, `var/lib/rpm` a symlink
    /// to `../../usr/lib/sysimage/rpm`.
    pub fn new_sysimage() -> TestRoot {
        let dir = tempfile::Builder::new().prefix("harness-root-").tempdir().unwrap();
        let path = dir.path().to_path_buf();
        fs::create_dir_all(path.join("usr/lib/sysimage/rpm")).unwrap();
        fs::create_dir_all(path.join("var/lib")).unwrap();
        std::os::unix::fs::symlink("../../usr/lib/sysimage/rpm", path.join("var/lib/rpm")).unwrap();
        TestRoot::wrap(dir, "/usr/lib/sysimage/rpm")
    }

    fn wrap(dir: tempfile::TempDir, dbpath: &str) -> TestRoot {
        let path = dir.path().to_path_buf();
        let keep = std::env::var_os("HARNESS_KEEP").is_some();
        if keep {
            eprintln!("harness: keeping test root {}", path.display());
        }
        TestRoot {
            dir: if keep {
                let _ = dir.keep();
                None
            } else {
                Some(dir)
            },
            path,
            dbpath: dbpath.to_string(),
            defines: Vec::new(),
        }
    }

    /// An empty root (database in `R/var/lib/rpm`) for a fixture that lives as long as the
    /// process, e.g. in a `OnceLock`: see [`super::scratch`].
    pub fn new_for_process() -> TestRoot {
        let path = super::scratch::process_tempdir("root-");
        fs::create_dir_all(path.join("var/lib/rpm")).unwrap();
        TestRoot::at(&path, "/var/lib/rpm")
    }

    /// A root in an existing directory (not removed on drop).
    pub fn at(path: &Path, dbpath: &str) -> TestRoot {
        TestRoot {
            dir: None,
            path: path.to_path_buf(),
            dbpath: dbpath.to_string(),
            defines: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The database directory on the host, e.g. `R/var/lib/rpm`.
    pub fn db_dir(&self) -> PathBuf {
        self.host_path(&self.dbpath)
    }

    /// The host path of an absolute path inside the root (bytes kept: may be non-UTF-8).
    pub fn host_path(&self, inside: impl AsRef<Path>) -> PathBuf {
        let b = inside.as_ref().as_os_str().as_bytes();
        let b = b.strip_prefix(b"/").unwrap_or(b);
        self.path.join(OsStr::from_bytes(b))
    }

    /// Write a file inside the root (e.g. `/etc/passwd`), creating parent directories.
    pub fn write_file(&self, inside: impl AsRef<Path>, content: impl AsRef<[u8]>) {
        let p = self.host_path(inside);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    }

    /// `rpm --root R --dbpath <dbpath> [--define ...]`, ready for more arguments.
    pub fn rpm_cmd(&self) -> Command {
        let mut cmd = Command::new(require_tool("rpm"));
        cmd.arg("--root").arg(&self.path).arg("--dbpath").arg(&self.dbpath);
        for d in &self.defines {
            cmd.arg("--define").arg(d);
        }
        cmd
    }

    /// Run rpm on this root with `args`; the caller judges the exit status.
    pub fn rpm(&self, args: &[&str]) -> Output {
        let mut cmd = self.rpm_cmd();
        cmd.args(args);
        cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
    }

    /// Run rpm on this root with `args`, panic unless it succeeds, return stdout bytes.
    pub fn rpm_ok(&self, args: &[&str]) -> Vec<u8> {
        let mut cmd = self.rpm_cmd();
        cmd.args(args);
        run_ok(&mut cmd).stdout
    }

    /// `rpm -i --nodeps --noscripts --nosignature [extra] rpms...`; panics when rpm fails.
    pub fn install(&self, rpms: &[PathBuf], extra: &[&str]) {
        let mut cmd = self.rpm_cmd();
        cmd.args(["-i", "--nodeps", "--noscripts", "--nosignature"])
            .args(extra)
            .args(rpms);
        run_ok(&mut cmd);
    }

    /// `rpm -qa --qf <qf>` as bytes (file names may not be UTF-8).
    pub fn qa_bytes(&self, qf: &str) -> Vec<u8> {
        self.rpm_ok(&["-qa", "--qf", qf])
    }

    /// `rpm -qa --qf <qf>` as text (lossy for non-UTF-8 bytes).
    pub fn qa(&self, qf: &str) -> String {
        String::from_utf8_lossy(&self.qa_bytes(qf)).into_owned()
    }

    /// Keep the directory after the test (for debugging) and return its path.
    pub fn keep(mut self) -> PathBuf {
        if let Some(d) = self.dir.take() {
            let _ = d.keep();
        }
        self.path.clone()
    }
}
