//! pipeline-scanner against Debian's `dnf check-update` on the same root and repositories.
//!
//! Each case builds packages with the real `rpmbuild`, installs some into a root with the real
//! `rpm`, publishes others with `createrepo_c`, and asks both dnf and the scanner which updates
//! (and obsoleting packages) the root has. The sets of (name.arch, EVR) must be equal.
//!
//! Two ways of giving the repositories, both read by dnf and the scanner alike:
//! - **image**: the root's own `etc/yum.repos.d/test.repo` (priorities, `excludepkgs`,
//!   `includepkgs`, `module_hotfixes`) and `etc/dnf/dnf.conf`, with `baseurl=http://127.0.0.1:…`
//!   served by a server this test starts — dnf reads the installroot's configuration too;
//! - **file**: `--repofrompath=ID,file:///DIR` for dnf and `--repo ID=file:///DIR` for us.
//!
//! Tools (Debian packages): rpm, createrepo-c, dnf, zstd.

use crate::harness;

use atomic_protocol::Scanner;
use harness::repo::{self, DnfAnswer, HttpServer, NaEvr, Serve};
use harness::{build_rpms, PackageSpec, TestRoot};
use pipeline_scanner::{Options, PipelineScanner};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One repository of a case.
#[derive(Clone)]
struct RepoCase {
    id: &'static str,
    packages: Vec<PackageSpec>,
    /// `.repo` lines beyond baseurl (priority=, excludepkgs=…).
    options: Vec<String>,
    /// createrepo_c's compression, or "zst" (re-compressed with zstd).
    compress: &'static str,
    /// modules.yaml added with modifyrepo_c.
    modules: Option<String>,
}

impl RepoCase {
    fn new(id: &'static str, packages: Vec<PackageSpec>) -> RepoCase {
        RepoCase {
            id,
            packages,
            options: Vec::new(),
            compress: "gz",
            modules: None,
        }
    }
    fn option(mut self, line: &str) -> RepoCase {
        self.options.push(line.to_string());
        self
    }
    fn compress(mut self, c: &'static str) -> RepoCase {
        self.compress = c;
        self
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Image,
    File,
}

/// A built case: the root, the repositories on disk, and a server when served over HTTP.
struct Built {
    root: TestRoot,
    repo_dirs: Vec<(&'static str, PathBuf)>,
    _work: tempfile::TempDir,
    /// Kept alive while the case runs.
    _server: Option<HttpServer>,
}

const OS_RELEASE: &str =
    "NAME=\"Test Linux\"\nVERSION_ID=\"8\"\nPRETTY_NAME=\"Test Linux 8\"\nPLATFORM_ID=\"platform:el8\"\n";

/// The release package every root has, so that `$releasever` is 8 for dnf and for us.
fn release_package() -> PackageSpec {
    PackageSpec::new("test-release", "8.4", "1")
        .arch("noarch")
        .provides("system-release(releasever) = 8")
}

fn build(installed: &[PackageSpec], repos: &[RepoCase], main_conf: &str, transport: Transport) -> Built {
    let work = tempfile::tempdir().unwrap();
    let mut all: Vec<PackageSpec> = vec![release_package()];
    all.extend(installed.iter().cloned());
    for r in repos {
        all.extend(r.packages.iter().cloned());
    }
    // Build each distinct package once.
    let mut unique: Vec<PackageSpec> = Vec::new();
    for p in all {
        if !unique.iter().any(|u| u.rpm_file_name() == p.rpm_file_name()) {
            unique.push(p);
        }
    }
    let rpms_dir = work.path().join("rpms");
    let rpms = build_rpms(&unique, &rpms_dir);
    let rpm_of = |p: &PackageSpec| {
        rpms[unique
            .iter()
            .position(|u| u.rpm_file_name() == p.rpm_file_name())
            .unwrap()]
        .clone()
    };

    let root = TestRoot::new();
    let mut to_install = vec![rpm_of(&release_package())];
    to_install.extend(installed.iter().map(rpm_of));
    root.install(&to_install, &["--ignorearch", "--replacefiles"]);
    root.write_file("/etc/os-release", OS_RELEASE);
    if !main_conf.is_empty() {
        root.write_file("/etc/dnf/dnf.conf", format!("[main]\n{main_conf}\n"));
    }

    let served = work.path().join("served");
    let mut repo_dirs = Vec::new();
    for r in repos {
        let dir = served.join(r.id);
        let rpms: Vec<PathBuf> = r.packages.iter().map(rpm_of).collect();
        let createrepo_compress = if r.compress == "zst" { "gz" } else { r.compress };
        repo::createrepo(&dir, &rpms, createrepo_compress);
        if let Some(m) = &r.modules {
            repo::modifyrepo(&dir, "modules", "modules.yaml", m);
        }
        if r.compress == "zst" {
            repo::primary_to_zstd(&dir);
        }
        repo_dirs.push((r.id, dir));
    }
    let server = match transport {
        Transport::Image => {
            let server = HttpServer::start(&served, Serve::Files);
            let mut conf = String::new();
            for r in repos {
                conf.push_str(&format!(
                    "[{}]\nname={} $releasever $basearch\nbaseurl={}\nenabled=1\ngpgcheck=0\n",
                    r.id,
                    r.id,
                    server.url(r.id)
                ));
                for o in &r.options {
                    conf.push_str(o);
                    conf.push('\n');
                }
            }
            root.write_file("/etc/yum.repos.d/test.repo", conf);
            Some(server)
        }
        Transport::File => None,
    };
    Built {
        root,
        repo_dirs,
        _work: work,
        _server: server,
    }
}

fn dnf_answer(b: &Built, transport: Transport) -> DnfAnswer {
    let mut args = Vec::new();
    if transport == Transport::File {
        args.push("--setopt=reposdir=/dev/null".to_string());
        for (id, dir) in &b.repo_dirs {
            args.push(format!("--repofrompath={id},file://{}", dir.display()));
        }
    }
    repo::dnf_check_update(b.root.path(), &args)
}

/// What the scanner says: updates and obsoletes in dnf's terms.
fn our_answer(b: &Built, transport: Transport, cache: Option<&Path>) -> (DnfAnswer, serde_json::Value) {
    let mut options = Options {
        cache_dir: cache.map(Path::to_path_buf),
        network: repo::allow_test_servers(),
        ..Options::default()
    };
    if transport == Transport::File {
        options.no_image_repos = true;
        options.repos = b
            .repo_dirs
            .iter()
            .map(|(id, dir)| format!("{id}=file://{}", dir.display()))
            .collect();
    }
    let root = rpmdb::root::Root::new(b.root.path()).unwrap();
    let outcome = PipelineScanner::default()
        .scan(&root, "yum-update", &options)
        .expect("scan");
    let r = outcome.scan_results;
    let mut a = DnfAnswer::default();
    for d in r["Update Details"].as_array().unwrap() {
        a.updates.insert((
            d["Package"].as_str().unwrap().to_string(),
            d["Available"].as_str().unwrap().to_string(),
        ));
    }
    for d in r["Obsoleting Packages"].as_array().unwrap() {
        let new: NaEvr = (
            d["Package"].as_str().unwrap().to_string(),
            d["Available"].as_str().unwrap().to_string(),
        );
        a.obsoletes.insert((new, d["Obsoletes"].as_str().unwrap().to_string()));
    }
    let names: BTreeSet<String> = r["Package Updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let detail_names: BTreeSet<String> = a.updates.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(names, detail_names, "Package Updates and Update Details disagree");
    assert!(
        r["Repository Errors"].as_array().unwrap().is_empty(),
        "repository errors: {}",
        r["Repository Errors"]
    );
    (a, r)
}

/// Run a case both ways and compare; returns dnf's answer for further checks. The scanner
/// runs twice on one cache: from the XML, then from the compact index the first run wrote.
fn compare(installed: &[PackageSpec], repos: &[RepoCase], main_conf: &str, transport: Transport) -> DnfAnswer {
    let b = build(installed, repos, main_conf, transport);
    let dnf = dnf_answer(&b, transport);
    let cache = tempfile::tempdir().unwrap();
    for run in ["from the XML", "from the cached index"] {
        let (ours, _) = our_answer(&b, transport, Some(cache.path()));
        assert_eq!(
            ours.updates, dnf.updates,
            "updates differ from dnf's ({transport:?}, {run}); dnf said:\n{}",
            dnf.output
        );
        assert_eq!(
            ours.obsoletes, dnf.obsoletes,
            "obsoletes differ from dnf's ({transport:?}, {run}); dnf said:\n{}",
            dnf.output
        );
    }
    dnf
}

fn p(name: &str, v: &str, r: &str, arch: &str) -> PackageSpec {
    PackageSpec::new(name, v, r).arch(arch)
}

/// A small deterministic generator (xorshift), so that a failing seed can be rerun.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Installed packages and repository packages with random changes of every kind rpmvercmp
/// cares about: epochs, versions, release-only changes, `~` pre-releases, `^` snapshots,
/// downgrades, equal versions, several versions of one package.
fn random_case(seed: u64, count: usize) -> (Vec<PackageSpec>, Vec<PackageSpec>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut installed = Vec::new();
    let mut available = Vec::new();
    for i in 0..count {
        let name = format!("pkg{i}");
        let arch = ["x86_64", "noarch"][rng.below(2) as usize];
        let base_v = format!("{}.{}", 1 + rng.below(3), rng.below(10));
        let base_r = format!("{}", 1 + rng.below(5));
        let epoch = if rng.below(4) == 0 {
            Some(1 + rng.below(2) as u32)
        } else {
            None
        };
        let mut inst = p(&name, &base_v, &base_r, arch);
        if let Some(e) = epoch {
            inst = inst.epoch(e);
        }
        installed.push(inst);
        let versions = 1 + rng.below(3);
        for k in 0..versions {
            let (v, r, e) = match rng.below(9) {
                0 => (base_v.clone(), base_r.clone(), epoch), // equal
                1 => (base_v.clone(), format!("{}", base_r.parse::<u32>().unwrap() + 1), epoch), // release only
                2 => (format!("{base_v}.1"), "1".to_string(), epoch), // version up
                3 => ("0.1".to_string(), "1".to_string(), Some(epoch.unwrap_or(0) + 1)), // epoch up
                4 => (format!("{base_v}~rc{k}"), base_r.clone(), epoch), // pre-release: older
                5 => (format!("{base_v}^git{k}"), base_r.clone(), epoch), // snapshot: newer
                6 => ("0.9".to_string(), "9".to_string(), epoch), // downgrade
                7 => (base_v.clone(), format!("{base_r}.el8_{k}"), epoch), // release suffix
                _ => (
                    format!("{base_v}.{k}a"),
                    "1".to_string(),
                    epoch.map(|e| e.saturating_sub(1)),
                ),
            };
            let mut a = p(&name, &v, &r, arch);
            if let Some(e) = e {
                a = a.epoch(e);
            }
            if !available
                .iter()
                .any(|x: &PackageSpec| x.rpm_file_name() == a.rpm_file_name())
            {
                available.push(a);
            }
        }
    }
    (installed, available)
}

#[test]
fn random_version_bumps_match_dnf() {
    let compressions = ["gz", "xz", "bz2", "zst"];
    for seed in 1..=4u64 {
        let (installed, available) = random_case(seed, 14);
        let transport = if seed % 2 == 0 {
            Transport::Image
        } else {
            Transport::File
        };
        let repo = RepoCase::new("random", available).compress(compressions[(seed as usize - 1) % 4]);
        let dnf = compare(&installed, &[repo], "", transport);
        assert!(!dnf.updates.is_empty(), "seed {seed}: the case should have updates");
    }
}

#[test]
fn noarch_and_arch_switches_match_dnf() {
    let installed = vec![
        p("a", "1.0", "1", "noarch"),
        p("b", "1.0", "1", "x86_64"),
        p("c", "1.0", "1", "noarch"),
        p("d", "1.0", "1", "x86_64"),
        p("e", "1.0", "1", "i686"),
    ];
    let available = vec![
        p("a", "2.0", "1", "x86_64"), // noarch -> arch
        p("b", "2.0", "1", "noarch"), // arch -> noarch
        p("c", "2.0", "1", "i686"),   // noarch -> i686 (the machine runs it)
        p("d", "2.0", "1", "i686"),   // x86_64 installed: another arch is no update
        p("e", "2.0", "1", "x86_64"), // i686 installed: another arch is no update
        p("e", "1.5", "1", "noarch"),
    ];
    let dnf = compare(&installed, &[RepoCase::new("t", available)], "", Transport::File);
    assert_eq!(dnf.updates.len(), 4, "{}", dnf.output);
}

#[test]
fn multilib_pairs_match_dnf() {
    let installed = vec![
        p("lib1", "1.0", "1", "x86_64"),
        p("lib1", "1.0", "1", "i686"),
        p("lib2", "1.0", "1", "x86_64"),
        p("lib2", "1.0", "1", "i686"),
        p("lib3", "1.0", "1", "x86_64"),
        p("lib3", "1.0", "1", "i686"),
    ];
    let available = vec![
        p("lib1", "1.1", "1", "x86_64"),
        p("lib1", "1.1", "1", "i686"),
        p("lib2", "1.1", "1", "x86_64"), // only one half updated
        p("lib3", "1.2", "1", "i686"),
        p("lib3", "1.1", "1", "i686"),
    ];
    compare(
        &installed,
        &[RepoCase::new("multilib", available).compress("xz")],
        "",
        Transport::Image,
    );
}

#[test]
fn repository_priorities_match_dnf() {
    let installed = vec![
        p("foo", "1.0", "1", "x86_64"),
        p("bar", "1.0", "1", "x86_64"),
        p("baz", "1.0", "1", "noarch"),
    ];
    // "high" wins every name it has, even with an older foo; bar is only in "low".
    let high = RepoCase::new(
        "high",
        vec![p("foo", "1.0", "1", "x86_64"), p("baz", "1.1", "1", "noarch")],
    )
    .option("priority=10");
    let low = RepoCase::new(
        "low",
        vec![
            p("foo", "3.0", "1", "x86_64"),
            p("bar", "2.0", "1", "x86_64"),
            p("baz", "2.0", "1", "noarch"),
        ],
    )
    .option("priority=50");
    let dnf = compare(&installed, &[high.clone(), low.clone()], "", Transport::Image);
    let names: BTreeSet<&str> = dnf.updates.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["bar.x86_64", "baz.noarch"]), "{}", dnf.output);
    // Equal priorities: the newest wins.
    let same = [high.option("priority=50"), low];
    compare(&installed, &same, "", Transport::Image);
}

#[test]
fn excludes_and_includepkgs_match_dnf() {
    let installed = vec![
        p("kernel-core", "1.0", "1", "x86_64"),
        p("keep", "1.0", "1", "x86_64"),
        p("glob1", "1.0", "1", "noarch"),
        p("glob2", "1.0", "1", "noarch"),
        p("only", "1.0", "1", "noarch"),
        p("other", "1.0", "1", "noarch"),
    ];
    let pkgs = vec![
        p("kernel-core", "2.0", "1", "x86_64"),
        p("keep", "2.0", "1", "x86_64"),
        p("glob1", "2.0", "1", "noarch"),
        p("glob2", "2.0", "1", "noarch"),
        p("glob2", "3.0", "1", "noarch"),
    ];
    let second = vec![p("only", "2.0", "1", "noarch"), p("other", "2.0", "1", "noarch")];
    let repos = [
        RepoCase::new("base", pkgs).option("excludepkgs=glob1 glob2-3*"),
        RepoCase::new("inc", second).option("includepkgs=only"),
    ];
    let dnf = compare(&installed, &repos, "exclude=kernel*", Transport::Image);
    let names: BTreeSet<&str> = dnf.updates.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["keep.x86_64", "glob2.noarch", "only.noarch"]),
        "{}",
        dnf.output
    );
}

#[test]
fn obsoletes_match_dnf() {
    let installed = vec![
        p("old", "1.0", "1", "x86_64"),
        p("older", "2.0", "1", "noarch"),
        p("kept", "5.0", "1", "noarch"),
        p("foo", "1.0", "1", "x86_64"),
    ];
    let available = vec![
        p("new", "1.0", "1", "x86_64").obsoletes("old < 2"),
        p("newer", "1.0", "1", "noarch").obsoletes("older <= 1.5"), // does not match 2.0
        p("replacement", "1.0", "1", "noarch").obsoletes("kept"),
        p("foo", "1.1", "1", "x86_64").obsoletes("older"),
    ];
    let dnf = compare(&installed, &[RepoCase::new("t", available)], "", Transport::File);
    assert_eq!(dnf.obsoletes.len(), 3, "{}", dnf.output);
    assert_eq!(dnf.exit_code, 100);
}

/// Obsoleting packages are weighed against every package of their name by priority: a
/// higher-priority repository's `replacement` without the obsoletes hides the lower one's.
#[test]
fn obsoletes_respect_priorities_like_dnf() {
    let installed = vec![p("old", "1.0", "1", "x86_64"), p("legacy", "1.0", "1", "noarch")];
    let high = RepoCase::new(
        "high",
        vec![p("replacement", "1.0", "1", "x86_64"), p("other", "1.0", "1", "noarch")],
    )
    .option("priority=10");
    let low = RepoCase::new(
        "low",
        vec![
            p("replacement", "2.0", "1", "x86_64").obsoletes("old"),
            p("other", "2.0", "1", "noarch").obsoletes("legacy"),
            p("third", "1.0", "1", "noarch").obsoletes("legacy < 5"),
        ],
    )
    .option("priority=50");
    let dnf = compare(&installed, &[high, low], "", Transport::Image);
    assert_eq!(dnf.obsoletes.len(), 1, "{}", dnf.output);
}

/// A modular repository: the image enables `app:2`; the repository has streams 1 and 2 and a
/// non-modular `app` and `applib`; a module_hotfixes repository is exempt.
#[test]
fn modular_repository_matches_dnf() {
    let installed = vec![
        p("app", "2.0", "1.module_el8", "x86_64"),
        p("applib", "2.0", "1.module_el8", "noarch"),
        p("plain", "1.0", "1", "noarch"),
    ];
    let available = vec![
        p("app", "1.5", "1.module_el8", "x86_64"),
        p("app", "2.1", "1.module_el8", "x86_64"),
        p("app", "9.0", "1.el8", "x86_64"), // non-modular, same name as an active artifact: hidden
        p("applib", "2.1", "1.module_el8", "noarch"),
        p("applib", "3.0", "1.module_el8", "noarch"), // only in the inactive stream 3
        p("plain", "2.0", "1", "noarch"),
    ];
    let modules = r#"---
document: modulemd
version: 2
data:
  name: app
  stream: "2"
  version: 820210101000000
  context: abcdef12
  arch: x86_64
  summary: app 2
  description: app 2
  license:
    module: [MIT]
  dependencies:
  - requires:
      platform: [el8]
  artifacts:
    rpms:
    - app-0:2.1-1.module_el8.x86_64
    - applib-0:2.1-1.module_el8.noarch
...
---
document: modulemd
version: 2
data:
  name: app
  stream: "3"
  version: 820210101000000
  context: abcdef12
  arch: x86_64
  summary: app 3
  description: app 3
  license:
    module: [MIT]
  dependencies:
  - requires:
      platform: [el8]
  artifacts:
    rpms:
    - applib-0:3.0-1.module_el8.noarch
...
---
document: modulemd
version: 2
data:
  name: app
  stream: "1"
  version: 820210101000000
  context: abcdef12
  arch: x86_64
  summary: app 1
  description: app 1
  license:
    module: [MIT]
  dependencies:
  - requires:
      platform: [el8]
  artifacts:
    rpms:
    - app-0:1.5-1.module_el8.x86_64
...
"#;
    let mut modular = RepoCase::new("appstream", available);
    modular.modules = Some(modules.to_string());
    let hotfix = RepoCase::new("hotfix", vec![p("applib", "2.5", "1.hotfix", "noarch")]).option("module_hotfixes=1");
    let b_installed = installed.clone();
    let b = build(&b_installed, &[modular.clone(), hotfix.clone()], "", Transport::Image);
    b.root.write_file(
        "/etc/dnf/modules.d/app.module",
        "[app]\nname=app\nstream=2\nprofiles=\nstate=enabled\n",
    );
    let dnf = dnf_answer(&b, Transport::Image);
    let cache = tempfile::tempdir().unwrap();
    let (ours, results) = our_answer(&b, Transport::Image, Some(cache.path()));
    assert_eq!(ours.updates, dnf.updates, "dnf said:\n{}", dnf.output);
    assert_eq!(ours.obsoletes, dnf.obsoletes);
    let (again, _) = our_answer(&b, Transport::Image, Some(cache.path()));
    assert_eq!(again, ours, "from the cached index (with provides)");
    let names: BTreeSet<&str> = dnf.updates.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["app.x86_64", "applib.noarch", "plain.noarch"]),
        "{}",
        dnf.output
    );
    assert!(
        dnf.updates
            .contains(&("applib.noarch".to_string(), "2.5-1.hotfix".to_string())),
        "{}",
        dnf.output
    );
    assert_eq!(results["Active Module Streams"], serde_json::json!(["app:2"]));

    // No module state, but the image declares app:3 its default stream
    // (etc/dnf/modules.defaults.d): that stream is active instead.
    std::fs::remove_file(b.root.host_path("/etc/dnf/modules.d/app.module")).unwrap();
    b.root.write_file(
        "/etc/dnf/modules.defaults.d/app.yaml",
        "---\ndocument: modulemd-defaults\nversion: 1\ndata:\n  module: app\n  stream: \"3\"\n...\n",
    );
    let dnf = dnf_answer(&b, Transport::Image);
    let (ours, results) = our_answer(&b, Transport::Image, None);
    assert_eq!(
        ours.updates, dnf.updates,
        "defaults from the image; dnf said:\n{}",
        dnf.output
    );
    assert!(
        dnf.updates
            .contains(&("applib.noarch".to_string(), "3.0-1.module_el8".to_string())),
        "{}",
        dnf.output
    );
    assert_eq!(results["Active Module Streams"], serde_json::json!(["app:3"]));
}

/// Deliberate difference: over an installed `noarch` package, Debian's dnf offers a package of
/// an arch the machine cannot run (libdnf's what_upgrades does not look at the machine arch);
/// dnf could not install it, so the scanner does not offer it. Everything else agrees.
#[test]
fn arches_the_image_cannot_run_are_not_updates() {
    let installed = vec![p("tool", "1.0", "1", "noarch"), p("lib", "1.0", "1", "x86_64")];
    let available = vec![
        p("tool", "2.0", "1", "ppc64le"),
        p("tool", "1.5", "1", "noarch"),
        p("lib", "2.0", "1", "aarch64"),
    ];
    let b = build(&installed, &[RepoCase::new("t", available)], "", Transport::File);
    let dnf = dnf_answer(&b, Transport::File);
    let (ours, _) = our_answer(&b, Transport::File, None);
    let ppc = ("tool.ppc64le".to_string(), "2.0-1".to_string());
    assert!(
        dnf.updates.contains(&ppc),
        "dnf no longer offers ppc64le over noarch; update this test:\n{}",
        dnf.output
    );
    let mut expected = dnf.updates.clone();
    expected.remove(&ppc);
    assert_eq!(ours.updates, expected);
    assert!(ours.updates.contains(&("tool.noarch".to_string(), "1.5-1".to_string())));
}
