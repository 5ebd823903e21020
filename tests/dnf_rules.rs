//! dnf's image-side rules, decided once in `repodata` and used by both repository scanners:
//! for each case, pipeline-scanner and security-advisories report the same active module
//! streams and arch, and both agree with Debian's dnf run on the same root —
//! `dnf check-update` (pipeline-scanner), `dnf updateinfo list` (security-advisories),
//! `dnf module list --enabled` (the module states).
//!
//! Cases (issue 14): a module recorded with dnf 2's `installed` state; the image's
//! `modules.defaults.d` overriding a repository's default stream; two repositories whose
//! default streams conflict; an enabled stream whose `platform:` requirement is unmet; a
//! multilib image whose most common arch (`i686`) is not its most capable one (`x86_64`),
//! with `$basearch` in its repository URL; `--repo` given a bare directory naming
//! `$releasever`, whose id replaces the image's repository of that id; the repository list
//! itself (enabled rule, variables in URLs, metalink and mirror list, `--repo`,
//! `--no-image-repos`) against `dnf repolist -v`.
//!
//! Tools: rpm, rpmbuild (rpm), createrepo_c and modifyrepo_c (createrepo-c), dnf (dnf).

use crate::harness;

use atomic_protocol::Scanner;
use harness::advisory::{advisory_repo, dnf_command, dnf_updateinfo, dnf_updateinfo_image_repos};
use harness::repo::{self, DnfAnswer, HttpServer, NaEvr, Serve};
use harness::{build_rpms, PackageSpec, TestRoot};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const OS_RELEASE: &str =
    "NAME=\"Test Linux\"\nVERSION_ID=\"8\"\nPRETTY_NAME=\"Test Linux 8\"\nPLATFORM_ID=\"platform:el8\"\n";

fn release_package() -> PackageSpec {
    PackageSpec::new("test-release", "8.4", "1")
        .arch("noarch")
        .provides("system-release(releasever) = 8")
}

fn p(name: &str, version: &str, release: &str, arch: &str) -> PackageSpec {
    PackageSpec::new(name, version, release).arch(arch)
}

/// One updateinfo `<update>` fixing one package, in a module collection when `module` is
/// `(name, stream, context)`.
fn update(
    id: &str,
    module: Option<(&str, &str, &str)>,
    name: &str,
    version: &str,
    release: &str,
    arch: &str,
) -> String {
    let module = module
        .map(|(n, s, c)| format!("<module name=\"{n}\" stream=\"{s}\" version=\"1\" context=\"{c}\" arch=\"x86_64\"/>"))
        .unwrap_or_default();
    format!(
        "  <update from=\"t@example.org\" status=\"final\" type=\"security\" version=\"2\">\n    <id>{id}</id>\
         <title>{id}</title><issued date=\"2024-01-10 10:00:00\"/><severity>Important</severity>\n    \
         <references><reference href=\"h\" id=\"CVE-2024-1\" type=\"cve\"/></references>\n    <pkglist><collection>{module}\
         <package name=\"{name}\" epoch=\"0\" version=\"{version}\" release=\"{release}\" arch=\"{arch}\"/>\
         </collection></pkglist>\n  </update>\n"
    )
}

fn updateinfo(updates: &[String]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n{}</updates>\n",
        updates.concat()
    )
}

/// A `modulemd` document of module `app` with one artifact, requiring `platform: [P]`.
fn app_stream(stream: &str, context: &str, artifact: &str, platform: &str) -> String {
    format!(
        "---\ndocument: modulemd\nversion: 2\ndata:\n  name: app\n  stream: \"{stream}\"\n  version: 1\n  \
         context: {context}\n  arch: x86_64\n  summary: app\n  description: app module\n  license:\n    module: [MIT]\n  \
         dependencies:\n  - requires:\n      platform: [{platform}]\n  artifacts:\n    rpms:\n    - {artifact}\n...\n"
    )
}

fn app_defaults(stream: &str) -> String {
    format!("---\ndocument: modulemd-defaults\nversion: 1\ndata:\n  module: app\n  stream: \"{stream}\"\n...\n")
}

/// The modular case: `app` installed at 1.0 from its stream 1; the repository has app 1.1
/// (stream 1, context c1), app 2.0 (stream 2, context c2), a non-modular app 9.0, and plain
/// 1.1; one advisory per fix.
struct Modular {
    root: TestRoot,
    repos: Vec<PathBuf>,
    _work: tempfile::TempDir,
}

fn modular(stream2_platform: &str, defaults: &[&str]) -> Modular {
    let work = tempfile::tempdir().unwrap();
    let installed = [
        release_package(),
        p("app", "1.0", "1.module_el8", "x86_64"),
        p("plain", "1.0", "1", "x86_64"),
    ];
    let available = [
        p("app", "1.1", "1.module_el8", "x86_64"),
        p("app", "2.0", "1.module_el8", "x86_64"),
        p("app", "9.0", "1.el8", "x86_64"),
        p("plain", "1.1", "1", "x86_64"),
    ];
    let all: Vec<PackageSpec> = installed.iter().chain(&available).cloned().collect();
    let rpms = build_rpms(&all, &work.path().join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms[..installed.len()], &[]);
    root.write_file("/etc/os-release", OS_RELEASE);
    let info = updateinfo(&[
        update(
            "T-APP1",
            Some(("app", "1", "c1")),
            "app",
            "1.1",
            "1.module_el8",
            "x86_64",
        ),
        update(
            "T-APP2",
            Some(("app", "2", "c2")),
            "app",
            "2.0",
            "1.module_el8",
            "x86_64",
        ),
        update("T-PLAIN", None, "plain", "1.1", "1", "x86_64"),
    ]);
    let streams = [
        app_stream("1", "c1", "app-0:1.1-1.module_el8.x86_64", "el8"),
        app_stream("2", "c2", "app-0:2.0-1.module_el8.x86_64", stream2_platform),
    ]
    .concat();
    // One repository per default given (the packages and streams in the first); without
    // defaults, one repository.
    let mut repos = Vec::new();
    let count = defaults.len().max(1);
    for i in 0..count {
        let dir = work.path().join(format!("repo{i}"));
        let mut yaml = if i == 0 { streams.clone() } else { String::new() };
        if let Some(d) = defaults.get(i) {
            yaml.push_str(&app_defaults(d));
        }
        let (pkgs, info) = if i == 0 {
            (&rpms[installed.len()..], info.as_str())
        } else {
            (&rpms[..0], "<?xml version=\"1.0\"?>\n<updates/>\n")
        };
        advisory_repo(&dir, pkgs, info, Some(&yaml));
        repos.push(dir);
    }
    Modular {
        root,
        repos,
        _work: work,
    }
}

/// What both scanners said about a root.
#[derive(Debug)]
struct Ours {
    updates: BTreeSet<NaEvr>,
    pipeline_streams: Vec<String>,
    advisories: BTreeSet<(String, String)>,
    advisory_streams: Vec<String>,
}

fn streams_of(results: &serde_json::Value) -> Vec<String> {
    results["Active Module Streams"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

/// Both scanners on `root`: with `repos` given as `--repo` (and the image's ignored), or
/// with the image's own repositories when `repos` is empty.
fn ours(root: &TestRoot, repos: &[PathBuf]) -> Ours {
    let cli: Vec<String> = repos
        .iter()
        .enumerate()
        .map(|(i, d)| format!("t{i}=file://{}", d.display()))
        .collect();
    ours_with(root, cli, !repos.is_empty())
}

/// Both scanners on `root` with these `--repo` arguments.
fn ours_with(root: &TestRoot, cli: Vec<String>, no_image_repos: bool) -> Ours {
    let r = rpmdb::root::Root::new(root.path()).unwrap();
    let options = pipeline_scanner::Options {
        repos: cli.clone(),
        no_image_repos,
        network: repo::allow_test_servers(),
        ..Default::default()
    };
    let outcome = pipeline_scanner::PipelineScanner::default()
        .scan(&r, "yum-update", &options)
        .unwrap_or_else(|e| panic!("pipeline-scanner: {e}"));
    let pipeline = outcome.scan_results;
    assert!(
        pipeline["Repository Errors"].as_array().unwrap().is_empty(),
        "{}",
        pipeline["Repository Errors"]
    );
    let updates = update_pairs(&pipeline);

    let options = security_advisories::Options {
        repos: security_advisories::repos::RepoOptions {
            repos: cli,
            no_image_repos,
            network: repo::allow_test_servers(),
            ..Default::default()
        },
        ..Default::default()
    };
    let outcome = security_advisories::scan(&r, "all", &options).unwrap_or_else(|e| panic!("security-advisories: {e}"));
    let results = outcome.scan_results;
    for source in results["Sources"].as_array().unwrap() {
        assert!(source.get("Error").is_none(), "security-advisories: {source}");
    }
    Ours {
        updates,
        pipeline_streams: streams_of(&pipeline),
        advisories: advisory_pairs(&results),
        advisory_streams: streams_of(&results),
    }
}

/// pipeline-scanner's `Scan Results`: the (name.arch, available EVR) of each update.
fn update_pairs(results: &serde_json::Value) -> BTreeSet<NaEvr> {
    results["Update Details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["Package"].as_str().unwrap().to_string(),
                d["Available"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// security-advisories' `Scan Results`: the (advisory, fixed package) pairs.
fn advisory_pairs(results: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for adv in results["Advisories"].as_array().unwrap() {
        for p in adv["Packages"].as_array().unwrap() {
            pairs.insert((
                adv["Advisory"].as_str().unwrap().to_string(),
                p["Fixed"].as_str().unwrap().to_string(),
            ));
        }
    }
    pairs
}

fn check_update_file_repos(root: &TestRoot, repos: &[PathBuf]) -> DnfAnswer {
    let mut args = vec!["--setopt=reposdir=/dev/null".to_string()];
    for (i, d) in repos.iter().enumerate() {
        args.push(format!("--repofrompath=t{i},file://{}", d.display()));
    }
    repo::dnf_check_update(root.path(), &args)
}

/// `dnf updateinfo list` over every repository of the case.
fn updateinfo_file_repos(root: &TestRoot, repos: &[PathBuf]) -> BTreeSet<(String, String)> {
    if repos.len() == 1 {
        return dnf_updateinfo(root, &repos[0], "8", &[]);
    }
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = dnf_command(root, &repos[0], "8", cache.path());
    for (i, d) in repos.iter().enumerate().skip(1) {
        cmd.arg(format!("--repofrompath=t{i},file://{}", d.display()));
    }
    cmd.arg("updateinfo").arg("list");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    harness::advisory::parse_updateinfo_list(&String::from_utf8_lossy(&out.stdout))
}

/// `dnf module list --enabled`: the `name:stream` rows marked `[e]`.
fn dnf_enabled_modules(root: &TestRoot, repo: &Path) -> BTreeSet<String> {
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = dnf_command(root, repo, "8", cache.path());
    cmd.args(["module", "list", "--enabled"]);
    let out = cmd.output().unwrap();
    // "No matching Modules to list" is an exit status of 1.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            match cols.as_slice() {
                // Not the closing "Hint: [d]efault, [e]nabled…" line.
                [name, stream, marks, ..]
                    if marks.starts_with('[') && marks.ends_with(']') && marks.contains("[e]") =>
                {
                    Some(format!("{name}:{stream}"))
                }
                _ => None,
            }
        })
        .collect()
}

/// The enabled streams as repodata reads the image's `modules.d`.
fn our_enabled_modules(root: &TestRoot) -> BTreeSet<String> {
    let r = rpmdb::root::Root::new(root.path()).unwrap();
    let facts = repodata::config::SystemFacts {
        arch: "x86_64".into(),
        releasever: Some("8".into()),
    };
    let config = repodata::config::ImageConfig::read(&r, &facts);
    security_advisories::modules::ModuleStates::from_config(&config.modules)
        .enabled()
        .into_iter()
        .collect()
}

fn na(name_arch: &str, evr: &str) -> NaEvr {
    (name_arch.to_string(), evr.to_string())
}

fn pair(id: &str, nevra: &str) -> (String, String) {
    (id.to_string(), nevra.to_string())
}

/// Both scanners against dnf on a modular case; returns what they said.
fn compare_modular(c: &Modular) -> (Ours, DnfAnswer, BTreeSet<(String, String)>) {
    let dnf = check_update_file_repos(&c.root, &c.repos);
    let dnf_advisories = updateinfo_file_repos(&c.root, &c.repos);
    let o = ours(&c.root, &c.repos);
    assert_eq!(
        o.updates, dnf.updates,
        "pipeline-scanner vs dnf check-update:\n{}",
        dnf.output
    );
    assert_eq!(
        o.advisories, dnf_advisories,
        "security-advisories vs dnf updateinfo list"
    );
    assert_eq!(
        o.pipeline_streams, o.advisory_streams,
        "both scanners name the same active streams"
    );
    assert_eq!(
        our_enabled_modules(&c.root),
        dnf_enabled_modules(&c.root, &c.repos[0]),
        "modules.d as dnf module list --enabled reads it"
    );
    (o, dnf, dnf_advisories)
}

/// dnf 2 wrote `state=installed`; libdnf's `fromString` reads it as no state at all, so the
/// repository's default stream (2) is active, not the recorded stream 1.
#[test]
fn the_installed_state_is_no_state_and_the_default_stream_is_active() {
    let c = modular("el8", &["2"]);
    c.root.write_file(
        "/etc/dnf/modules.d/app.module",
        "[app]\nname=app\nstream=1\nprofiles=\nstate=installed\n",
    );
    let (o, dnf, advisories) = compare_modular(&c);
    assert!(
        dnf.updates.contains(&na("app.x86_64", "2.0-1.module_el8")),
        "{}",
        dnf.output
    );
    assert!(
        advisories.contains(&pair("T-APP2", "app-2.0-1.module_el8.x86_64")),
        "{advisories:?}"
    );
    assert!(!advisories.iter().any(|(id, _)| id == "T-APP1"), "{advisories:?}");
    assert_eq!(o.pipeline_streams, ["app:2"]);
}

/// The image's `etc/dnf/modules.defaults.d` (priority 1000) replaces the repository's
/// default stream (priority 0).
#[test]
fn image_defaults_override_the_repository_default() {
    let c = modular("el8", &["1"]);
    c.root
        .write_file("/etc/dnf/modules.defaults.d/app.yaml", app_defaults("2"));
    let (o, dnf, advisories) = compare_modular(&c);
    assert!(
        dnf.updates.contains(&na("app.x86_64", "2.0-1.module_el8")),
        "{}",
        dnf.output
    );
    assert!(
        advisories.contains(&pair("T-APP2", "app-2.0-1.module_el8.x86_64")),
        "{advisories:?}"
    );
    assert_eq!(o.advisory_streams, ["app:2"]);
}

/// Two repositories naming different default streams with the same `modified`: libmodulemd
/// resolves the conflict to no default, so no stream of `app` is active and the non-modular
/// app is an update.
#[test]
fn conflicting_repository_defaults_are_no_default() {
    let c = modular("el8", &["1", "2"]);
    let (o, dnf, advisories) = compare_modular(&c);
    assert!(dnf.updates.contains(&na("app.x86_64", "9.0-1.el8")), "{}", dnf.output);
    assert!(
        !advisories.iter().any(|(id, _)| id.starts_with("T-APP")),
        "{advisories:?}"
    );
    assert!(o.pipeline_streams.is_empty(), "{:?}", o.pipeline_streams);
}

/// `app:2` is enabled but requires `platform:el9` on an el8 image: dnf cannot activate it
/// (modular dependency problem), so its packages are hidden, its advisories do not apply,
/// and the non-modular app is an update; the stream is still listed as enabled.
#[test]
fn a_stream_whose_platform_is_unmet_is_not_active() {
    let c = modular("el9", &["1"]);
    c.root.write_file(
        "/etc/dnf/modules.d/app.module",
        "[app]\nname=app\nstream=2\nprofiles=\nstate=enabled\n",
    );
    let (o, dnf, advisories) = compare_modular(&c);
    assert!(dnf.updates.contains(&na("app.x86_64", "9.0-1.el8")), "{}", dnf.output);
    assert!(
        !advisories.iter().any(|(id, _)| id.starts_with("T-APP")),
        "{advisories:?}"
    );
    assert!(o.advisory_streams.is_empty(), "{:?}", o.advisory_streams);
    assert_eq!(our_enabled_modules(&c.root), BTreeSet::from(["app:2".to_string()]));
}

/// A multilib image with three `i686` packages and one `x86_64`: dnf on an x86_64 machine
/// reads `$basearch` = x86_64. Its repository URL names `$basearch`; an `i386` tree with
/// other content is served beside it, which a scanner taking the most common arch would read.
#[test]
fn a_multilib_image_is_its_most_capable_arch() {
    let work = tempfile::tempdir().unwrap();
    let installed = [
        release_package(),
        p("liba", "1.0", "1", "i686"),
        p("libb", "1.0", "1", "i686"),
        p("libc32", "1.0", "1", "i686"),
        p("tool", "1.0", "1", "x86_64"),
    ];
    let x86_64 = [p("tool", "1.1", "1", "x86_64"), p("liba", "1.1", "1", "i686")];
    let i386 = [p("libb", "1.2", "1", "i686")];
    let all: Vec<PackageSpec> = installed.iter().chain(&x86_64).chain(&i386).cloned().collect();
    let rpms = build_rpms(&all, &work.path().join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms[..installed.len()], &["--ignorearch"]);
    root.write_file("/etc/os-release", OS_RELEASE);
    let served = work.path().join("served");
    let n = installed.len();
    advisory_repo(
        &served.join("x86_64"),
        &rpms[n..n + x86_64.len()],
        &updateinfo(&[
            update("T-TOOL", None, "tool", "1.1", "1", "x86_64"),
            update("T-LIBA", None, "liba", "1.1", "1", "i686"),
        ]),
        None,
    );
    advisory_repo(
        &served.join("i386"),
        &rpms[n + x86_64.len()..],
        &updateinfo(&[update("T-LIBB", None, "libb", "1.2", "1", "i686")]),
        None,
    );
    let server = HttpServer::start(&served, Serve::Files);
    root.write_file(
        "/etc/yum.repos.d/base.repo",
        format!(
            "[base]\nname=base $basearch\nbaseurl={}\nenabled=1\ngpgcheck=0\n",
            server.url("$basearch/")
        ),
    );
    let dnf = repo::dnf_check_update(root.path(), &[]);
    let dnf_advisories = dnf_updateinfo_image_repos(&root, "8", &[]);
    assert_eq!(
        dnf.updates,
        BTreeSet::from([na("tool.x86_64", "1.1-1"), na("liba.i686", "1.1-1")]),
        "dnf reads the x86_64 tree:\n{}",
        dnf.output
    );
    let o = ours(&root, &[]);
    assert_eq!(o.updates, dnf.updates, "pipeline-scanner vs dnf check-update");
    assert_eq!(
        o.advisories, dnf_advisories,
        "security-advisories vs dnf updateinfo list"
    );
    assert!(
        dnf_advisories.contains(&pair("T-TOOL", "tool-1.1-1.x86_64")),
        "{dnf_advisories:?}"
    );
}

/// `--repo t=DIR/$releasever/repo`: a bare directory becomes `file://`, `$releasever` is
/// substituted (dnf's `--repofrompath`, `RepoDict.add_new_repo`), and the image's own broken
/// repository `t` is replaced by it, for both scanners.
#[test]
fn repo_arguments_are_read_as_dnf_repofrompath() {
    let work = tempfile::tempdir().unwrap();
    let installed = [release_package(), p("plain", "1.0", "1", "x86_64")];
    let available = [p("plain", "1.1", "1", "x86_64")];
    let all: Vec<PackageSpec> = installed.iter().chain(&available).cloned().collect();
    let rpms = build_rpms(&all, &work.path().join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms[..installed.len()], &[]);
    root.write_file("/etc/os-release", OS_RELEASE);
    root.write_file(
        "/etc/yum.repos.d/t.repo",
        "[t]\nname=unreachable\nbaseurl=file:///nowhere/$releasever/\nenabled=1\ngpgcheck=0\n",
    );
    let dir = work.path().join("8/repo");
    advisory_repo(
        &dir,
        &rpms[installed.len()..],
        &updateinfo(&[update("T-PLAIN", None, "plain", "1.1", "1", "x86_64")]),
        None,
    );
    let templated = format!("{}/$releasever/repo", work.path().display());
    let dnf = repo::dnf_check_update(
        root.path(),
        &[
            "--setopt=reposdir=/dev/null".to_string(),
            format!("--repofrompath=t,{templated}"),
        ],
    );
    let dnf_advisories = dnf_updateinfo(&root, &dir, "8", &[]);
    assert_eq!(
        dnf.updates,
        BTreeSet::from([na("plain.x86_64", "1.1-1")]),
        "{}",
        dnf.output
    );
    let o = ours_with(&root, vec![format!("t={templated}")], false);
    assert_eq!(o.updates, dnf.updates);
    assert_eq!(o.advisories, dnf_advisories);
    assert!(o.advisories.contains(&pair("T-PLAIN", "plain-1.1-1.x86_64")));
}

/// Two subjects in one run share one metadata cache (issue 14): each repository scanner,
/// scanning two roots at once (`--jobs 2`) against the same repository with one
/// `--cache-dir`, gives each root the answer it gets alone with a fresh cache — its own active
/// stream, so its own updates and advisories, as dnf says — and leaves no half-written file.
/// Run twice: the first run fills the cache (both subjects download and parse the same feed
/// at once), the second reads what the first wrote.
#[test]
fn two_subjects_sharing_one_cache_each_get_their_own_answer() {
    let c = modular("el8", &["2"]);
    let enabled = "[app]\nname=app\nstream=1\nprofiles=\nstate=enabled\n";
    let installed = "[app]\nname=app\nstream=1\nprofiles=\nstate=installed\n";
    c.root.write_file("/etc/dnf/modules.d/app.module", enabled);
    // The second root: the same packages, stream 1 recorded in dnf 2's `installed` state,
    // so the repository's default stream 2 is active instead.
    let other = TestRoot::new();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", c.root.path().display()))
        .arg(other.path())
        .status()
        .expect("cp");
    assert!(copied.success());
    other.write_file("/etc/dnf/modules.d/app.module", installed);

    let alone = [ours(&c.root, &c.repos), ours(&other, &c.repos)];
    let dnf = [
        check_update_file_repos(&c.root, &c.repos),
        check_update_file_repos(&other, &c.repos),
    ];
    let dnf_advisories = [
        updateinfo_file_repos(&c.root, &c.repos),
        updateinfo_file_repos(&other, &c.repos),
    ];
    for i in 0..2 {
        assert_eq!(alone[i].updates, dnf[i].updates, "root {i}: {}", dnf[i].output);
        assert_eq!(alone[i].advisories, dnf_advisories[i], "root {i}");
    }
    // The case tells the two roots apart, or sharing could not show a mix-up.
    assert_ne!(alone[0].advisories, alone[1].advisories);
    assert_ne!(alone[0].updates, alone[1].updates);

    let bins = harness::hostile::scanner_binaries();
    let cache = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["--no-image-repos".into(), "--jobs".into(), "2".into()];
    for (i, d) in c.repos.iter().enumerate() {
        args.push("--repo".into());
        args.push(format!("t{i}=file://{}", d.display()));
    }
    args.extend(["--cache-dir".into(), cache.path().display().to_string()]);
    for root in [c.root.path(), other.path()] {
        args.push("--rootfs".into());
        args.push(root.display().to_string());
    }
    let run = |bin: &Path, extra: &[&str]| -> Vec<serde_json::Value> {
        let out = std::process::Command::new(bin)
            .args(&args)
            .args(extra)
            .output()
            .expect("run a scanner");
        let docs: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let docs = docs.as_array().expect("one document per subject").clone();
        assert_eq!(docs.len(), 2);
        docs
    };
    for round in ["cold", "warm"] {
        let updates = run(&bins.pipeline, &[]);
        let advisories = run(&bins.advisories, &["--scan-type", "all"]);
        for i in 0..2 {
            let got = update_pairs(&updates[i]["Scan Results"]);
            assert_eq!(got, alone[i].updates, "{round}, root {i}: {}", updates[i]);
            let pairs = advisory_pairs(&advisories[i]["Scan Results"]);
            assert_eq!(pairs, alone[i].advisories, "{round}, root {i}: {}", advisories[i]);
            assert_eq!(streams_of(&advisories[i]["Scan Results"]), alone[i].advisory_streams);
            assert_eq!(streams_of(&updates[i]["Scan Results"]), alone[i].pipeline_streams);
        }
        let leftovers: Vec<_> = harness::scratch::files_under(cache.path())
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(".part.")))
            .collect();
        assert!(leftovers.is_empty(), "{round}: half-written files left: {leftovers:?}");
    }
    // The parsed feed was written, and read back on the warm round.
    assert!(harness::scratch::files_under(cache.path())
        .iter()
        .any(|p| p.to_string_lossy().ends_with(".advisories")));
}

/// One repository as `dnf repolist --all -v` prints it, and as we compare ours with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Listed {
    id: String,
    name: Option<String>,
    enabled: bool,
    baseurl: Vec<String>,
    metalink: Option<String>,
    mirrorlist: Option<String>,
    /// dnf's `Repo-baseurl: MIRROR (N more)` of an enabled repository with no baseurl: the
    /// first mirror its metalink or mirror list gave. Not compared with the configuration.
    first_mirror: Option<String>,
}

impl Listed {
    /// What the configuration says, without what dnf learnt by loading the repository.
    fn configured(&self) -> Listed {
        Listed {
            first_mirror: None,
            ..self.clone()
        }
    }

    /// The URL the metadata comes from: the first baseurl, else the first mirror.
    fn first_url(&self) -> Option<String> {
        let url = self.baseurl.first().or(self.first_mirror.as_ref())?;
        Some(url.trim_end_matches('/').to_string())
    }
}

/// `dnf repolist -v` (with `--all`: every repository and its status): one [`Listed`] per
/// `Repo-id` block (`repolist.py`'s verbose layout: `Repo-name`, `Repo-status`,
/// `Repo-metalink`, `Repo-mirrors`, `Repo-baseurl` joined by ", ").
fn dnf_repolist(mut cmd: std::process::Command, all: bool) -> Vec<Listed> {
    cmd.args(["repolist", "-v"]);
    if all {
        cmd.arg("--all");
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{cmd:?}:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut listed: Vec<Listed> = Vec::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        let value = value.trim().to_string();
        if key.trim() == "Repo-id" {
            listed.push(Listed {
                id: value,
                // Without --all, dnf prints no status: every repository listed is enabled.
                enabled: !all,
                ..Listed::default()
            });
            continue;
        }
        let Some(repo) = listed.last_mut() else { continue };
        match key.trim() {
            "Repo-name" => repo.name = Some(value),
            "Repo-status" => repo.enabled = value == "enabled",
            "Repo-metalink" => repo.metalink = Some(value),
            "Repo-mirrors" => repo.mirrorlist = Some(value),
            "Repo-baseurl" if value.ends_with(" more)") => {
                repo.first_mirror = value.split_whitespace().next().map(str::to_string);
            }
            "Repo-baseurl" => repo.baseurl = value.split(", ").map(str::to_string).collect(),
            _ => {}
        }
    }
    assert!(!listed.is_empty(), "{cmd:?} listed nothing:\n{text}");
    listed.sort();
    listed
}

/// A repository configuration as a [`Listed`].
fn listed_of(c: &repodata::config::RepoConfig) -> Listed {
    Listed {
        id: c.id.clone(),
        name: c.name.clone(),
        enabled: c.enabled,
        baseurl: c.baseurl.clone(),
        metalink: c.metalink.clone(),
        mirrorlist: c.mirrorlist.clone(),
        first_mirror: None,
    }
}

/// The repositories of the image in `repolist_matches_dnf`, served on 127.0.0.1: each
/// enabled one a real repository (dnf's verbose listing loads every enabled repository), the
/// disabled ones pointing nowhere.
fn repolist_image(root: &TestRoot, work: &Path) -> HttpServer {
    let served = work.join("served");
    let empty = "<?xml version=\"1.0\"?>\n<updates/>\n";
    for dir in [
        "pub/8/BaseOS/x86_64/os",
        "8/appstream/x86_64",
        "metalinked/8/x86_64",
        "mirrored/8/x86_64",
        "image-t/8",
    ] {
        advisory_repo(&served.join(dir), &[], empty, None);
    }
    let server = HttpServer::start(&served, Serve::Files);
    let repomd = std::fs::read(served.join("metalinked/8/x86_64/repodata/repomd.xml")).unwrap();
    let sha = repodata::checksum::digest_hex(repodata::checksum::Algorithm::Sha256, &repomd);
    std::fs::create_dir_all(served.join("ml/8")).unwrap();
    std::fs::write(
        served.join("ml/8/x86_64.xml"),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<metalink version=\"3.0\" \
             xmlns=\"http://www.metalinker.org/\" type=\"dynamic\">\n <files>\n  <file name=\"repomd.xml\">\n   \
             <size>{}</size>\n   <verification><hash type=\"sha256\">{sha}</hash></verification>\n   \
             <resources maxconnections=\"1\">\n    <url protocol=\"http\" type=\"http\" location=\"XX\" \
             preference=\"100\">{}</url>\n   </resources>\n  </file>\n </files>\n</metalink>\n",
            repomd.len(),
            server.url("metalinked/8/x86_64/repodata/repomd.xml")
        ),
    )
    .unwrap();
    std::fs::create_dir_all(served.join("mirrors")).unwrap();
    std::fs::write(
        served.join("mirrors/8-x86_64.txt"),
        format!("# mirrors\n{}\n", server.url("mirrored/$releasever/$basearch/")),
    )
    .unwrap();
    // A variable of the image's own (dnf reads `etc/dnf/vars` under the install root).
    root.write_file("/etc/dnf/vars/contentdir", "pub\n");
    let nowhere = "http://127.0.0.1:9";
    root.write_file(
        "/etc/yum.repos.d/test.repo",
        format!(
            "[base]\nname=Test $releasever - BaseOS ($basearch)\nbaseurl={}\nenabled=1\ngpgcheck=0\n\n\
             [appstream]\nname=Test $releasever - AppStream\nbaseurl={}\n        {nowhere}/$releasever/spare/\ngpgcheck=0\n\n\
             [base-debuginfo]\nname=Test $releasever - BaseOS debug\nbaseurl={nowhere}/$releasever/debug/$basearch/\n\
             enabled=0\n\n\
             [metalinked]\nname=Metalinked $basearch\nmetalink={}\nenabled=1\ngpgcheck=0\n\n\
             [mirrored]\nname=Mirrored\nmirrorlist={}\nenabled=True\ngpgcheck=0\n\n\
             [extras]\nname=Extras\nmetalink={nowhere}/ml/$releasever/extras-$basearch.xml\nenabled=false\n\n\
             [t]\nname=Image t\nbaseurl={}\nenabled=1\ngpgcheck=0\n",
            server.url("$contentdir/$releasever/BaseOS/$basearch/os/"),
            server.url("$releasever/appstream/$basearch/"),
            server.url("ml/$releasever/$basearch.xml"),
            server.url("mirrors/$releasever-$basearch.txt"),
            server.url("image-t/$releasever/"),
        ),
    );
    server
}

/// The repositories both scanners read (pipeline-scanner's `Repositories`, with the URL
/// each one's metadata came from; security-advisories' updateinfo `Sources`), with these
/// `--repo` arguments.
fn scanners_repositories(
    root: &TestRoot,
    cli: &[String],
    no_image_repos: bool,
) -> (BTreeSet<(String, String)>, BTreeSet<String>) {
    let r = rpmdb::root::Root::new(root.path()).unwrap();
    let options = pipeline_scanner::Options {
        repos: cli.to_vec(),
        no_image_repos,
        network: repo::allow_test_servers(),
        ..Default::default()
    };
    let pipeline = pipeline_scanner::PipelineScanner::default()
        .scan(&r, "yum-update", &options)
        .unwrap_or_else(|e| panic!("pipeline-scanner: {e}"))
        .scan_results;
    assert!(
        pipeline["Repository Errors"].as_array().unwrap().is_empty(),
        "{}",
        pipeline["Repository Errors"]
    );
    let used = pipeline["Repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let url = r["Base URL"].as_str().unwrap_or_default();
            (
                r["Repository"].as_str().unwrap().to_string(),
                url.trim_end_matches('/').to_string(),
            )
        })
        .collect();
    let options = security_advisories::Options {
        repos: security_advisories::repos::RepoOptions {
            repos: cli.to_vec(),
            no_image_repos,
            network: repo::allow_test_servers(),
            ..Default::default()
        },
        ..Default::default()
    };
    let results = security_advisories::scan(&r, "all", &options)
        .unwrap_or_else(|e| panic!("security-advisories: {e}"))
        .scan_results;
    let sources = results["Sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s.get("Error").is_none(), "security-advisories: {s}");
            s["Source"].as_str().unwrap().to_string()
        })
        .collect();
    (used, sources)
}

/// The repository list as `dnf repolist -v` gives it (issue 14): an image whose
/// `etc/yum.repos.d` has enabled and disabled repositories (`enabled=1`, `True`, no
/// `enabled` at all; `0`, `false`), `$releasever`, `$basearch` and a variable of the image's
/// `etc/dnf/vars` in baseurls (one of two lines), a metalink and a mirror list, then
/// `--repo` naming an image repository's id (a bare directory with `$releasever`) and a new
/// one (`$basearch`), and `--no-image-repos`. repodata's configuration is compared field by
/// field with `dnf repolist --all -v` on the same root; the repositories both scanners read,
/// with the URL their metadata came from, with dnf's enabled ones. dnf refuses a
/// `--repofrompath` whose id the image also defines, so the `--repo` repositories are
/// compared with dnf's `--repofrompath` alone, and the image's repository of the same id is
/// expected to be replaced (our documented rule); `--no-image-repos` is dnf's
/// `reposdir=/dev/null`.
#[test]
fn repolist_matches_dnf() {
    let work = tempfile::tempdir().unwrap();
    let installed = [release_package(), p("plain", "1.0", "1", "x86_64")];
    let rpms = build_rpms(&installed, &work.path().join("rpms"));
    let root = TestRoot::new();
    root.install(&rpms, &[]);
    root.write_file("/etc/os-release", OS_RELEASE);
    let _server = repolist_image(&root, work.path());

    // The image's configuration, every repository.
    let cache = tempfile::tempdir().unwrap();
    let dnf_all = dnf_repolist(harness::advisory::dnf_on_root(&root, "8", cache.path()), true);
    let r = rpmdb::root::Root::new(root.path()).unwrap();
    let image = pipeline_scanner::image::Image::read(&r, "x86_64").unwrap();
    let config = repodata::config::ImageConfig::read(&r, &image.facts);
    assert!(config.problems.is_empty(), "{:?}", config.problems);
    let mut ours: Vec<Listed> = config.repos.iter().map(listed_of).collect();
    ours.sort();
    let configured: Vec<Listed> = dnf_all.iter().map(Listed::configured).collect();
    assert_eq!(ours, configured, "repodata's configuration vs dnf repolist --all -v");
    let enabled_ids: BTreeSet<&str> = dnf_all.iter().filter(|l| l.enabled).map(|l| l.id.as_str()).collect();
    assert_eq!(
        enabled_ids,
        BTreeSet::from(["appstream", "base", "metalinked", "mirrored", "t"]),
        "the case has its enabled and disabled repositories: {dnf_all:#?}"
    );

    // `--repo`: an override of `t` given as a bare directory, and a new repository.
    let overridden = work.path().join("override/8");
    let extra = work.path().join("extra/x86_64");
    advisory_repo(&overridden, &[], "<?xml version=\"1.0\"?>\n<updates/>\n", None);
    advisory_repo(&extra, &[], "<?xml version=\"1.0\"?>\n<updates/>\n", None);
    let cli = vec![
        format!("t={}/override/$releasever", work.path().display()),
        format!("extra=file://{}/extra/$basearch/", work.path().display()),
    ];
    let cache = tempfile::tempdir().unwrap();
    let mut cmd = harness::advisory::dnf_on_root(&root, "8", cache.path());
    cmd.arg("--setopt=reposdir=/dev/null");
    for arg in &cli {
        cmd.arg(format!("--repofrompath={}", arg.replacen('=', ",", 1)));
    }
    let dnf_cli = dnf_repolist(cmd, false);
    let given = |l: &Listed| (l.id.clone(), l.baseurl.clone());
    let from_args: BTreeSet<_> = repodata::source::repositories(&config, &cli, true)
        .unwrap()
        .iter()
        .map(|s| given(&listed_of(&s.config)))
        .collect();
    assert_eq!(
        from_args,
        dnf_cli.iter().map(given).collect::<BTreeSet<_>>(),
        "--repo vs dnf --repofrompath"
    );

    // What both scanners read, with and without the image's repositories.
    let image_enabled = || dnf_all.iter().filter(|l| l.enabled);
    let cases: [(&str, Vec<String>, bool, Vec<&Listed>); 3] = [
        ("the image's", Vec::new(), false, image_enabled().collect()),
        (
            "the image's and --repo",
            cli.clone(),
            false,
            image_enabled()
                .filter(|l| !dnf_cli.iter().any(|c| c.id == l.id))
                .chain(&dnf_cli)
                .collect(),
        ),
        (
            "--no-image-repos and --repo",
            cli.clone(),
            true,
            dnf_cli.iter().collect(),
        ),
    ];
    for (case, args, no_image_repos, expected) in cases {
        let (used, sources) = scanners_repositories(&root, &args, no_image_repos);
        let expected_used: BTreeSet<(String, String)> = expected
            .iter()
            .map(|l| (l.id.clone(), l.first_url().unwrap_or_default()))
            .collect();
        assert_eq!(
            used, expected_used,
            "{case}: pipeline-scanner's repositories vs dnf repolist -v"
        );
        let ids: BTreeSet<String> = expected.iter().map(|l| l.id.clone()).collect();
        assert_eq!(sources, ids, "{case}: security-advisories' sources vs dnf repolist -v");
    }
}
