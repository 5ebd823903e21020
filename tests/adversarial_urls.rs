//! URLs an image names that point where the scanner must not go (issue 19): repositories
//! whose `.repo` names `127.0.0.1`, `localhost`, `[::1]` and `169.254.169.254`, a mirror
//! list (served on 127.0.0.2) that lists a loopback mirror, and one that redirects to
//! 127.0.0.1. `pipeline-scanner` and `security-advisories` run as binaries under `strace`
//! (every `connect()` traced) against servers this test starts, which count what they
//! receive:
//!
//! - by default every one of those URLs is refused before a connection, each refusal named
//!   in its repository's entry, and a scan that could read no repository does not pass;
//!   `--https-only` refuses them all for being plain http;
//! - `--allow-repo-network 127.0.0.2` lifts the rule for 127.0.0.2 only: the repository
//!   there is read, the redirect from it to 127.0.0.1 is still refused, and the servers on
//!   127.0.0.1 and [::1] receive no request;
//! - `--allow-private-repos`: the same image (its 169.254.169.254 repository disabled, so
//!   that no test reaches a real cloud metadata endpoint) gets its updates and advisories,
//!   equal to `dnf check-update` and `dnf updateinfo list` on it.
//!
//! Tools: rpm, createrepo-c, dnf, strace; IPv6 on the loopback interface.

use crate::harness;

use harness::advisory::{advisory_repo, dnf_updateinfo_image_repos};
use harness::hostile::{run_traced, scanner_binaries, Canary, Run, RunOptions, TreeDigest};
use harness::repo::{dnf_check_update, HttpServer, Serve};
use harness::root::root_with_available;
use harness::{PackageSpec, TestRoot};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

const RSS_LIMIT_KIB: i64 = 256 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(100);

const OS_RELEASE: &str =
    "NAME=\"Test Linux\"\nVERSION_ID=\"8\"\nPRETTY_NAME=\"Test Linux 8\"\nPLATFORM_ID=\"platform:el8\"\n";

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-1</id><title>Important: alpha security update</title>
    <issued date="2024-01-10 10:00:00"/><severity>Important</severity>
    <references><reference href="https://example.org/CVE-2024-0001" id="CVE-2024-0001" type="cve"/></references>
    <pkglist><collection>
      <package name="alpha" epoch="0" version="1.1" release="1" arch="x86_64"/>
    </collection></pkglist>
  </update>
  <update from="test@example.org" status="final" type="security" version="2">
    <id>TEST-SA-2</id><title>Moderate: beta security update</title>
    <issued date="2024-01-11 10:00:00"/><severity>Moderate</severity>
    <references><reference href="https://example.org/CVE-2024-0002" id="CVE-2024-0002" type="cve"/></references>
    <pkglist><collection>
      <package name="beta" epoch="0" version="2.0" release="1" arch="noarch"/>
    </collection></pkglist>
  </update>
</updates>
"#;

/// The image, the servers its repositories name, and the repository they all serve.
struct Setup {
    root: TestRoot,
    _work: tempfile::TempDir,
    /// 127.0.0.1: the repository and a mirror list; must receive nothing unless allowed.
    loopback: HttpServer,
    /// [::1]: the same repository.
    ipv6: HttpServer,
    /// 127.0.0.2: the repository and a mirror list listing 127.0.0.1.
    second: HttpServer,
    /// 127.0.0.2: redirects every request to the same path on 127.0.0.1.
    redirector: HttpServer,
    /// A host folder outside the root that no scan may touch.
    canary: Canary,
    /// What the servers serve.
    served: std::path::PathBuf,
}

fn setup() -> Setup {
    let work = tempfile::tempdir().unwrap();
    let installed = vec![
        PackageSpec::new("test-release", "8.4", "1")
            .arch("noarch")
            .provides("system-release(releasever) = 8"),
        PackageSpec::new("alpha", "1.0", "1"),
        PackageSpec::new("beta", "1.0", "1").arch("noarch"),
    ];
    let updates = vec![
        PackageSpec::new("alpha", "1.1", "1"),
        PackageSpec::new("beta", "2.0", "1").arch("noarch"),
    ];
    let (root, updates) = root_with_available(&installed, &updates, work.path());
    root.write_file("/etc/os-release", OS_RELEASE);

    let served = work.path().join("served");
    advisory_repo(&served.join("repo"), &updates, UPDATEINFO, None);
    let loopback = HttpServer::start_on("127.0.0.1", &served, Serve::Files);
    let ipv6 = HttpServer::start_on("[::1]", &served, Serve::Files);
    let second = HttpServer::start_on("127.0.0.2", &served, Serve::Files);
    let redirector = HttpServer::start_on("127.0.0.2", &served, Serve::RedirectTo(loopback.url("")));
    // Served on 127.0.0.1 (the redirect's target) and on 127.0.0.2 (listing 127.0.0.1).
    std::fs::write(served.join("mirrors.txt"), format!("{}\n", loopback.url("repo/"))).unwrap();
    Setup {
        root,
        _work: work,
        loopback,
        ipv6,
        second,
        redirector,
        canary: Canary::new(),
        served,
    }
}

impl Setup {
    /// The image's `.repo`: six repositories naming refused addresses, one on 127.0.0.2.
    fn write_repos(&self, metadata_enabled: bool) {
        let port = self.loopback.port;
        let text = format!(
            "[loopback]\nname=loopback\nbaseurl=http://127.0.0.1:{port}/repo/\ngpgcheck=0\n\n\
             [localhost]\nname=localhost\nbaseurl=http://localhost:{port}/repo/\ngpgcheck=0\n\n\
             [ipv6]\nname=ipv6\nbaseurl={}\ngpgcheck=0\n\n\
             [metadata]\nname=metadata\nbaseurl=http://169.254.169.254/latest/repo/\nenabled={}\ngpgcheck=0\n\n\
             [listed]\nname=listed\nmirrorlist={}\ngpgcheck=0\n\n\
             [redirected]\nname=redirected\nmirrorlist={}\ngpgcheck=0\n\n\
             [allowed]\nname=allowed\nbaseurl={}\ngpgcheck=0\n",
            self.ipv6.url("repo/"),
            u8::from(metadata_enabled),
            self.second.url("mirrors.txt"),
            self.redirector.url("mirrors.txt"),
            self.second.url("repo/"),
        );
        self.root.write_file("/etc/yum.repos.d/test.repo", text);
    }

    /// Requests each server received so far.
    fn received(&self) -> [(&'static str, usize); 4] {
        [
            ("127.0.0.1", self.loopback.requests().len()),
            ("[::1]", self.ipv6.requests().len()),
            ("127.0.0.2", self.second.requests().len()),
            ("127.0.0.2 (redirects)", self.redirector.requests().len()),
        ]
    }

    /// Run both scanners on the image with `extra` flags; the generic checks of the
    /// adversarial suites (bounded, no panic, nothing opened outside the root but what a
    /// name lookup reads, the tree unchanged).
    fn scan_both(&self, what: &str, extra: &[&str]) -> [Run; 2] {
        let bins = scanner_binaries();
        let scratch = tempfile::Builder::new().prefix("adversarial-tmp-").tempdir().unwrap();
        let root = self.root.path();
        let run = |scanner: &str, bin: &Path| {
            let before = TreeDigest::of(root);
            let mut args: Vec<&OsStr> = vec![OsStr::new("--rootfs"), root.as_os_str()];
            args.extend(extra.iter().map(OsStr::new));
            let opts = RunOptions::with_tmpdir(TIME_LIMIT, scratch.path());
            let run = run_traced(&format!("{what}: {scanner}"), bin, &args, &opts);
            run.assert_ended_cleanly(RSS_LIMIT_KIB);
            let mut allowed = vec![scratch.path(), bin];
            allowed.extend(RESOLVER_FILES.iter().map(Path::new));
            run.assert_opened_only_inside(root, &allowed, self.canary.path());
            TreeDigest::of(root).assert_same(&before, &run.what);
            eprintln!("{}: {:?}, {} KiB", run.what, run.elapsed, run.max_rss_kib);
            run
        };
        [
            run("pipeline-scanner", &bins.pipeline),
            run("security-advisories", &bins.advisories),
        ]
    }
}

/// The host files a name lookup (of `localhost`) reads.
const RESOLVER_FILES: [&str; 5] = [
    "/etc/hosts",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/gai.conf",
];

/// Every address the run connected to is one of `allowed`.
fn assert_connected_only_to(run: &Run, allowed: &[&str]) {
    let allowed: Vec<IpAddr> = allowed.iter().map(|a| a.parse().unwrap()).collect();
    let bad: Vec<(IpAddr, u16)> = run
        .connects()
        .into_iter()
        .filter(|(ip, _)| !allowed.contains(ip))
        .collect();
    assert!(bad.is_empty(), "{}: connected to {bad:?}", run.what);
}

/// Repository id → its error: pipeline-scanner's `Repository Errors`, security-advisories'
/// `Sources`.
fn repository_errors(doc: &Value) -> BTreeMap<String, String> {
    let results = &doc["Scan Results"];
    let (list, id_key) = match results["Repository Errors"].as_array() {
        Some(list) => (list, "Repository"),
        None => (results["Sources"].as_array().expect("Sources"), "Source"),
    };
    list.iter()
        .filter_map(|e| Some((e[id_key].as_str()?.to_string(), e["Error"].as_str()?.to_string())))
        .collect()
}

/// pipeline-scanner's updates as dnf prints them, `(name.arch, evr)`.
fn updates(doc: &Value) -> BTreeSet<(String, String)> {
    doc["Scan Results"]["Update Details"]
        .as_array()
        .expect("Update Details")
        .iter()
        .map(|d| {
            (
                d["Package"].as_str().unwrap().into(),
                d["Available"].as_str().unwrap().into(),
            )
        })
        .collect()
}

/// security-advisories' `(advisory, fixed nevra)` pairs, as dnf prints them.
fn advisories(doc: &Value) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for a in doc["Scan Results"]["Advisories"].as_array().expect("Advisories") {
        for p in a["Packages"].as_array().unwrap() {
            pairs.insert((
                a["Advisory"].as_str().unwrap().into(),
                p["Fixed"].as_str().unwrap().into(),
            ));
        }
    }
    pairs
}

/// What each repository's error must say when only 127.0.0.1 and the like are refused
/// (every part of it, in any order).
fn refusals(s: &Setup) -> Vec<(&'static str, Vec<String>)> {
    let loopback = "refused: 127.0.0.1 is a loopback address named by the image; \
                    --allow-repo-network 127.0.0.1 permits it, --allow-private-repos permits every such address";
    let parts = |p: &[&str]| p.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    vec![
        ("loopback", parts(&[loopback])),
        // After the lookup: 127.0.0.1 or ::1, whichever the resolver gives first.
        (
            "localhost",
            parts(&[
                "refused: localhost resolves to ",
                ", a loopback address named by the image",
            ]),
        ),
        (
            "ipv6",
            parts(&["refused: ::1 is a loopback address named by the image"]),
        ),
        (
            "metadata",
            parts(&["refused: 169.254.169.254 is a link-local address named by the image"]),
        ),
        // The mirror list's URLs are the image's too.
        ("listed", parts(&[loopback])),
        (
            "redirected",
            vec![format!(
                "refused: 127.0.0.1 is a loopback address that a redirect from {} leads to",
                s.redirector.url("mirrors.txt")
            )],
        ),
    ]
}

/// `text` holds every part.
fn says(text: &str, parts: &[String]) -> bool {
    parts.iter().all(|p| text.contains(p.as_str()))
}

#[test]
fn urls_the_image_names_reach_no_refused_address() {
    let s = setup();
    s.write_repos(true);

    // 1. The default policy: every repository is refused, the 127.0.0.2 ones too; nothing
    //    is connected to, no name looked up, and neither scan passes.
    for run in s.scan_both("default policy", &[]) {
        assert_connected_only_to(&run, &[]);
        let doc = run.json();
        assert_eq!(doc["Successful"], "false", "{}: {doc:#}", run.what);
        let error = doc["Error"].as_str().unwrap_or_default();
        for (id, refusal) in refusals(&s).into_iter().take(4) {
            assert!(
                error.contains(&format!("repository {id}: ")) && says(error, &refusal),
                "{}: {id}: {refusal:?} not in {error}",
                run.what
            );
        }
        for id in ["listed", "redirected", "allowed"] {
            assert!(
                error.contains(&format!("repository {id}: "))
                    && error.contains("refused: 127.0.0.2 is a loopback address named by the image"),
                "{}: {id} not refused: {error}",
                run.what
            );
        }
    }
    // --https-only refuses plain http, even where every address is allowed.
    for run in s.scan_both("--https-only", &["--https-only", "--allow-private-repos"]) {
        assert_connected_only_to(&run, &[]);
        let doc = run.json();
        assert_eq!(doc["Successful"], "false", "{}: {doc:#}", run.what);
        let error = doc["Error"].as_str().unwrap_or_default();
        for id in [
            "loopback",
            "localhost",
            "ipv6",
            "metadata",
            "listed",
            "redirected",
            "allowed",
        ] {
            assert!(
                error.contains(&format!("repository {id}: ")),
                "{}: {id} not named: {error}",
                run.what
            );
        }
        assert_eq!(
            error
                .matches("is plain http named by the image, and --https-only is given")
                .count(),
            7,
            "{}: {error}",
            run.what
        );
    }
    assert_eq!(s.received().map(|(_, n)| n), [0; 4], "{:?}", s.received());

    // 2. 127.0.0.2 allowed: its repository is read, its mirror list's loopback mirror and its
    //    redirect to 127.0.0.1 are refused, each named in that repository's entry.
    let runs = s.scan_both("--allow-repo-network 127.0.0.2", &["--allow-repo-network", "127.0.0.2"]);
    let partial: Vec<Value> = runs
        .iter()
        .map(|run| {
            assert_connected_only_to(run, &["127.0.0.2"]);
            let doc = run.json();
            assert_eq!(doc["Successful"], "true", "{}: {doc:#}", run.what);
            let errors = repository_errors(&doc);
            for (id, refusal) in refusals(&s) {
                let e = errors
                    .get(id)
                    .unwrap_or_else(|| panic!("{}: no error for {id}: {doc:#}", run.what));
                assert!(says(e, &refusal), "{}: {id}: {refusal:?} not in {e:?}", run.what);
            }
            assert!(!errors.contains_key("allowed"), "{}: {errors:?}", run.what);
            doc
        })
        .collect();
    let [loopback, ipv6, second, redirector] = s.received();
    assert_eq!((loopback.1, ipv6.1), (0, 0), "{:?}", s.received());
    assert!(second.1 > 0 && redirector.1 > 0, "{:?}", s.received());
    assert!(
        partial[0]["Summary"].as_str().unwrap().contains("partial"),
        "{}",
        partial[0]["Summary"]
    );

    // 3. --allow-private-repos: the same image, its 169.254.169.254 repository disabled, is
    //    read whole; dnf on it is the oracle.
    s.write_repos(false);
    let check_update = dnf_check_update(s.root.path(), &[]);
    let updateinfo = dnf_updateinfo_image_repos(&s.root, "8", &[]);
    assert_eq!(
        check_update.updates,
        BTreeSet::from([
            ("alpha.x86_64".to_string(), "1.1-1".to_string()),
            ("beta.noarch".to_string(), "2.0-1".to_string()),
        ]),
        "dnf read the repositories: {}",
        check_update.output
    );
    assert_eq!(updateinfo.len(), 2, "dnf read the advisories: {updateinfo:?}");
    let before = s.received();
    let [pipeline, advisory] = s.scan_both("--allow-private-repos", &["--allow-private-repos"]);
    for run in [&pipeline, &advisory] {
        assert_connected_only_to(run, &["127.0.0.1", "::1", "127.0.0.2"]);
        let doc = run.json();
        assert_eq!(doc["Successful"], "true", "{}: {doc:#}", run.what);
        assert_eq!(repository_errors(&doc), BTreeMap::new(), "{}", run.what);
    }
    assert_eq!(updates(&pipeline.json()), check_update.updates);
    assert_eq!(advisories(&advisory.json()), updateinfo);
    // Only 127.0.0.2 was allowed in 2: the partial answers are the same.
    assert_eq!(updates(&partial[0]), check_update.updates);
    assert_eq!(advisories(&partial[1]), updateinfo);
    let after = s.received();
    for (b, a) in before.iter().zip(&after) {
        assert!(a.1 > b.1, "{} received nothing: {after:?}", a.0);
    }
}

/// `--repo ID=URL` is the user's: trusted even on 127.0.0.1, while a redirect from it, and
/// a URL its metadata names outside it, are checked like a URL of the image's.
#[test]
fn the_users_repository_is_trusted_and_its_redirects_are_not() {
    let s = setup();
    let direct = format!("direct={}", s.loopback.url("repo/"));
    for run in s.scan_both("--repo on 127.0.0.1", &["--no-image-repos", "--repo", &direct]) {
        let doc = run.json();
        assert_eq!(doc["Successful"], "true", "{}: {doc:#}", run.what);
        assert_eq!(repository_errors(&doc), BTreeMap::new(), "{}", run.what);
    }
    let served = s.loopback.requests().len();
    assert!(served > 0, "the user's repository was not read");

    let redirected = format!("redirected={}", s.redirector.url("repo/"));
    for run in s.scan_both(
        "--repo redirecting to 127.0.0.1",
        &["--no-image-repos", "--repo", &redirected],
    ) {
        assert_connected_only_to(&run, &["127.0.0.2"]);
        let doc = run.json();
        assert_eq!(doc["Successful"], "false", "{}: {doc:#}", run.what);
        let want = format!(
            "refused: 127.0.0.1 is a loopback address that a redirect from {} leads to",
            s.redirector.url("repo/repodata/repomd.xml")
        );
        let error = doc["Error"].as_str().unwrap_or_default();
        assert!(error.contains(&want), "{}: {want:?} not in {error}", run.what);
    }
    assert_eq!(s.loopback.requests().len(), served, "{:?}", s.loopback.requests());
    assert!(!s.redirector.requests().is_empty());

    // The user's repository is theirs, not what its metadata points at: an `xml:base` on
    // 127.0.0.1 is refused like a redirect, a `file://` href is not read on the host.
    let canary_file = s.canary.write("repodata/copy.xml.gz", b"");
    for (dir, location, want) in [
        (
            "elsewhere",
            format!("<location xml:base=\"{}\" href=\"repodata/", s.loopback.url("repo/")),
            "refused: 127.0.0.1 is a loopback address named by the metadata of ".to_string(),
        ),
        (
            "hostfile",
            format!("<location href=\"file://{}?", canary_file.display()),
            "refused: a file:// URL named by the metadata of ".to_string(),
        ),
    ] {
        copy_dir(&s.served.join("repo"), &s.served.join(dir));
        let repomd = s.served.join(dir).join("repodata/repomd.xml");
        let text = std::fs::read_to_string(&repomd).unwrap();
        assert!(text.contains("<location href=\"repodata/"));
        std::fs::write(&repomd, text.replace("<location href=\"repodata/", &location)).unwrap();
        let base = s.second.url(&format!("{dir}/"));
        let repo = format!("{dir}={base}");
        for run in s.scan_both(
            &format!("--repo whose metadata points {dir}"),
            &["--no-image-repos", "--repo", &repo],
        ) {
            assert_connected_only_to(&run, &["127.0.0.2"]);
            let doc = run.json();
            assert_eq!(doc["Successful"], "false", "{}: {doc:#}", run.what);
            let error = doc["Error"].as_str().unwrap_or_default();
            assert!(
                error.contains(&format!("{want}{base}")),
                "{}: {want:?} not in {error}",
                run.what
            );
        }
    }
    assert_eq!(s.loopback.requests().len(), served, "{:?}", s.loopback.requests());
}

/// `cp -a` of a folder.
fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success(), "cp -a {} {}", from.display(), to.display());
}
