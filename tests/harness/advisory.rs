//! Advisory repositories and Debian's dnf as the oracle for `dnf updateinfo list`.
//!
//! - [`advisory_repo`]: a repository made by the real `createrepo_c`, with an `updateinfo`
//!   (and optionally `modules`) added by the real `modifyrepo_c`;
//! - [`dnf_updateinfo`]: `dnf --installroot R ... updateinfo list [args]` on a [`TestRoot`],
//!   parsed into `(advisory id, package nevra)` pairs — exactly what dnf prints;
//!   [`dnf_updateinfo_image_repos`] the same with the root's own repositories.
//!
//! Debian's dnf looks for the rpm database at `R/root/.rpmdb` (Debian's rpm keeps it in
//! `~/.rpmdb`): a symlink there to `../var/lib/rpm` makes it read the root's own.
//!
//! Tools needed (Debian packages): `dnf` (dnf), `createrepo-c` (createrepo_c, modifyrepo_c).

use super::repo::{createrepo, modifyrepo};
use super::root::TestRoot;
use super::tools::{require_tool, run_ok};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Make `dir` a repository holding `rpms` (createrepo_c, gzip), with `updateinfo_xml` as its
/// updateinfo and `modules_yaml` as its modules metadata (modifyrepo_c).
pub fn advisory_repo(dir: &Path, rpms: &[PathBuf], updateinfo_xml: &str, modules_yaml: Option<&str>) {
    createrepo(dir, rpms, "gz");
    modifyrepo(dir, "updateinfo", "updateinfo.xml", updateinfo_xml);
    if let Some(m) = modules_yaml {
        modifyrepo(dir, "modules", "modules.yaml", m);
    }
}

/// The `dnf` command for a root and one repository, with nothing of the host's
/// configuration: no repositories, no plugins, no gpg checks, a fixed `$releasever`, and its
/// metadata cache in `cache`.
pub fn dnf_command(root: &TestRoot, repo: &Path, releasever: &str, cache: &Path) -> Command {
    let mut cmd = dnf_on_root(root, releasever, cache);
    cmd.arg("--setopt=reposdir=/dev/null")
        .arg(format!("--repofrompath=t,file://{}", repo.display()));
    cmd
}

/// The `dnf` command for a root with the repositories the root itself configures (its
/// `etc/yum.repos.d`), no plugins, no gpg checks, a fixed `$releasever`, its cache in `cache`.
pub fn dnf_on_root(root: &TestRoot, releasever: &str, cache: &Path) -> Command {
    let dnf = require_tool("dnf");
    let link = root.path().join("root/.rpmdb");
    if fs::symlink_metadata(&link).is_err() {
        fs::create_dir_all(root.path().join("root")).unwrap();
        std::os::unix::fs::symlink("../var/lib/rpm", &link).unwrap();
    }
    let mut cmd = Command::new(dnf);
    cmd.arg(format!("--installroot={}", root.path().display()))
        .arg(format!("--releasever={releasever}"))
        .arg("--disableplugin=*")
        .arg("--setopt=gpgcheck=0")
        .arg(format!("--setopt=cachedir={}", cache.display()))
        .arg("-q")
        .env("COLUMNS", "200");
    cmd
}

/// `dnf updateinfo list ARGS` on the root: the set of `(advisory id, nevra)` it prints.
pub fn dnf_updateinfo(root: &TestRoot, repo: &Path, releasever: &str, args: &[&str]) -> BTreeSet<(String, String)> {
    let cache = tempfile::tempdir().unwrap();
    updateinfo_list(dnf_command(root, repo, releasever, cache.path()), args)
}

/// `dnf updateinfo list ARGS` on the root, reading the repositories the root configures.
pub fn dnf_updateinfo_image_repos(root: &TestRoot, releasever: &str, args: &[&str]) -> BTreeSet<(String, String)> {
    let cache = tempfile::tempdir().unwrap();
    updateinfo_list(dnf_on_root(root, releasever, cache.path()), args)
}

fn updateinfo_list(mut cmd: Command, args: &[&str]) -> BTreeSet<(String, String)> {
    cmd.arg("updateinfo").arg("list").args(args);
    let out = run_ok(&mut cmd);
    parse_updateinfo_list(&String::from_utf8_lossy(&out.stdout))
}

/// dnf prints `ID  TYPE/SEVERITY  NEVRA` per line (`display_list` in dnf's updateinfo.py).
pub fn parse_updateinfo_list(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            match cols.as_slice() {
                [id, _label, nevra] => Some((id.to_string(), nevra.to_string())),
                _ => None,
            }
        })
        .collect()
}

/// OpenSCAP's verdicts on an OVAL document for a root: definition and test ids → `true`,
/// `false`, `unknown`, `error`, `not evaluated`…
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OscapResults {
    pub definitions: std::collections::BTreeMap<String, String>,
    pub tests: std::collections::BTreeMap<String, String>,
}

/// `oscap oval eval` of `document` against the root (its probes read the root through
/// `OSCAP_PROBE_ROOT`, and rpm's database there: `%_dbpath /var/lib/rpm` in a private
/// `~/.rpmmacros`, because Debian's default `~/.rpmdb` is computed by a shell the probe
/// sandbox cannot start).
pub fn oscap_eval(root: &TestRoot, document: &Path) -> OscapResults {
    let oscap = require_tool("oscap");
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join(".rpmmacros"), "%_dbpath /var/lib/rpm\n").unwrap();
    let results = home.path().join("results.xml");
    run_ok(
        Command::new(oscap)
            .env("HOME", home.path())
            .env("OSCAP_PROBE_ROOT", root.path())
            .arg("oval")
            .arg("eval")
            // Red Hat's trimmed excerpts keep references to variables they dropped.
            .arg("--skip-valid")
            .arg("--results")
            .arg(&results)
            .arg(document),
    );
    let xml = fs::read_to_string(&results).unwrap();
    let mut out = OscapResults::default();
    // The results part lists `<definition definition_id=".." result="..">` and
    // `<test test_id=".." ... result="..">` elements.
    for (tag, key, map) in [
        ("<definition ", "definition_id=\"", &mut out.definitions),
        ("<test ", "test_id=\"", &mut out.tests),
    ] {
        for chunk in xml.split(tag).skip(1) {
            let head = &chunk[..chunk.find('>').unwrap_or(chunk.len())];
            let attr = |name: &str| {
                head.find(name).map(|i| {
                    let rest = &head[i + name.len()..];
                    rest[..rest.find('"').unwrap()].to_string()
                })
            };
            if let (Some(id), Some(result)) = (attr(key), attr("result=\"")) {
                map.insert(id, result);
            }
        }
    }
    out
}
