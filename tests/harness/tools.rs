//! External tools the harness runs, and the Debian package that provides each one.
//! A missing tool is a test failure naming the package, never a silent skip.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The Debian package that provides `tool`, for the failure message.
fn package_of(tool: &str) -> &'static str {
    match tool {
        "rpm" | "rpmbuild" | "rpm2cpio" => "rpm",
        "db5.3_load" | "db5.3_dump" | "db5.3_stat" => "db5.3-util",
        "setcap" | "getcap" => "libcap2-bin",
        "sqlite3" => "sqlite3",
        "hyperfine" => "hyperfine",
        "gpg" => "gpg",
        "gpg-agent" => "gpg-agent",
        "gpgconf" => "gpgconf",
        "rpmsign" => "rpm",
        "createrepo_c" | "modifyrepo_c" => "createrepo-c",
        "dnf" => "dnf",
        "zstd" => "zstd",
        "xz" => "xz-utils",
        "bzip2" => "bzip2",
        "oscap" => "openscap-scanner",
        "strace" => "strace",
        "setpriv" => "util-linux",
        "umoci" => "umoci",
        "skopeo" => "skopeo",
        "newuidmap" | "newgidmap" => "uidmap",
        "useradd" | "su" => "passwd",
        "docker-registry" => "docker-registry",
        "htpasswd" => "apache2-utils",
        "openssl" => "openssl",
        "tar" => "tar",
        "podman" => "podman",
        "chromium-headless-shell" => "chromium-headless-shell",
        "python3" => "python3",
        _ => "(unknown: see the test's documentation)",
    }
}

/// The full path of `tool` on `PATH`; panics with "install package X" when it is missing.
pub fn require_tool(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(tool);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "this test needs `{tool}`, which is not on PATH: install the Debian package `{}` \
         (apt-get install -y {0})",
        package_of(tool)
    );
}

/// Run a command, panicking with its command line, status and stderr when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Debian's python3 (/usr/bin/python3), where the Debian packages `.ci/deps` installs
/// (python3-jsonschema, python3-aiosmtpd) are: a python3 found first on PATH (pyenv, a
/// virtualenv) does not see them.
pub fn debian_python3() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/python3");
    if debian.is_file() {
        debian
    } else {
        require_tool("python3")
    }
}

/// The name libtest knows a test by in this binary, for a test that runs another test of the
/// same binary in a child process (`current_exe() NAME --exact`): `module::function`, from the
/// caller's `module_path!()` (`integration::module`) without the crate's name.
pub fn test_name(module_path: &str, function: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{function}"),
        None => function.to_string(),
    }
}
