//! `image-scan` re-scans (issue 16): `--state`, `--notify` by mail and webhook,
//! `--images-from` and `--shard`, against real servers the tests start on 127.0.0.1.
//!
//! - Mail: Debian's aiosmtpd (python3-aiosmtpd) requiring STARTTLS and AUTH, with a
//!   certificate of a CA the test makes with openssl (trusted through `--smtp-ca`, never by
//!   turning verification off). The first run mails the whole report to the image's author
//!   label; a second run with nothing changed mails nothing under `--notify changes`; after
//!   the test adds an update and an advisory to the repository, the third run mails exactly
//!   those. A server that refuses the message (554) makes the run say so and exit 2; the next
//!   run, the server accepting again, delivers it.
//! - Webhook: a python3 http.server that records each POST's body.
//! - Several processes sharing one `--state` end with complete, parseable records, and each
//!   subject's first scan is reported by exactly one of them.
//! - `--shard i/4` over a 100-line list scans each line exactly once.
//!
//! Each test makes its own copy of the demo sample (tests/demo/make-sample.sh, ~1 s).
//! Tools: rpm, rpmbuild, createrepo_c, modifyrepo_c, umoci, openssl, python3 with aiosmtpd.

use crate::harness;

use harness::hostile::scanner_binaries;
use harness::tools::{require_tool, run_ok};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

/// A fresh demo sample: `dir/layout` (tag `demo`, and tag `authored`: the same image with an
/// `org.opencontainers.image.authors` label) and `dir/repo`.
struct Sample {
    dir: PathBuf,
}

const AUTHOR: &str = "dev@example.org";

impl Sample {
    fn new(name: &str) -> Sample {
        for t in ["rpm", "rpmbuild", "createrepo_c", "modifyrepo_c", "umoci"] {
            require_tool(t);
        }
        let dir = harness::scratch::process_tempdir(name).join("sample");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        run_ok(
            Command::new("bash")
                .arg(manifest.join("tests/demo/make-sample.sh"))
                .arg(&dir),
        );
        run_ok(
            Command::new("umoci")
                .current_dir(&dir)
                .args(["config", "--image", "layout:demo", "--tag", "authored"])
                .arg(format!(
                    "--config.label=org.opencontainers.image.authors=Dev <{AUTHOR}>"
                )),
        );
        Sample { dir }
    }
    fn image(&self, tag: &str) -> String {
        format!("oci:{}/layout:{tag}", self.dir.display())
    }
    fn repo_arg(&self) -> String {
        format!("demo=file://{}/repo", self.dir.display())
    }
    fn scan_args(&self) -> Vec<String> {
        vec!["--no-image-repos".into(), "--repo".into(), self.repo_arg()]
    }

    /// Add an update of centos-release (installed: 7-2.1511.el7.centos.2.10) and a Critical
    /// advisory fixing it to the repository, as a distribution publishes them: the package
    /// (rpmbuild), the repository's metadata again (createrepo_c), the updateinfo with both
    /// advisories (modifyrepo_c).
    fn publish_update_and_advisory(&self) {
        let repo = self.dir.join("repo");
        let pkg = harness::PackageSpec::new("centos-release", "7", "9.2009.1.el7.centos").file(
            harness::FileSpec::regular("/etc/centos-release", b"CentOS Linux release 7.9.2009 (Core)\n"),
        );
        harness::build_rpm(&pkg, &repo);
        run_ok(
            Command::new("createrepo_c")
                .args([
                    "--quiet",
                    "--update",
                    "--no-database",
                    "--simple-md-filenames",
                    "--general-compress-type=gz",
                ])
                .arg(&repo),
        );
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        let original = std::fs::read_to_string(manifest.join("tests/demo/updateinfo.xml")).unwrap();
        let added = r#"  <update from="test@example.org" status="final" type="security" version="1">
    <id>TEST-2026:0001</id>
    <title>Critical centos-release update (test advisory)</title>
    <issued date="2026-01-01 00:00:00"/>
    <severity>Critical</severity>
    <summary>test advisory</summary>
    <description>Made by tests/image_scan_rescan.rs.</description>
    <references>
      <reference href="https://example.org/CVE-2026-0001" id="CVE-2026-0001" type="cve" title="CVE-2026-0001"/>
    </references>
    <pkglist>
      <collection short="el7">
        <name>CentOS 7</name>
        <package name="centos-release" epoch="0" version="7" release="9.2009.1.el7.centos" arch="x86_64" src="centos-release-7-9.2009.1.el7.centos.src.rpm">
          <filename>centos-release-7-9.2009.1.el7.centos.x86_64.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>"#;
        let both = original.replace("</updates>", added);
        let file = self.dir.join("updateinfo.xml");
        std::fs::write(&file, both).unwrap();
        run_ok(
            Command::new("modifyrepo_c")
                .args(["--mdtype=updateinfo", "--simple-md-filenames"])
                .arg(&file)
                .arg(repo.join("repodata")),
        );
    }
}

fn image_scan(args: &[String], env: &[(&str, &str)]) -> Output {
    Command::new(&scanner_binaries().image_scan)
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("IMAGE_SCAN_SMTP_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("run image-scan")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

/// The documents of a run's JSON (one object, or an array of several).
fn documents(o: &Output) -> Vec<Value> {
    match json_of(o) {
        Value::Array(a) => a,
        one => vec![one],
    }
}

/// A child process killed when the test ends, however it ends.
struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Start `python3 -c script args…`, which prints one line (its port) when it is ready.
    fn start(script: &str, args: &[&str], dir: PathBuf) -> (Server, u16) {
        let mut child = Command::new(harness::tools::debian_python3())
            .arg("-c")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the test server did not start (said {line:?}; python3-aiosmtpd installed? .ci/deps)")
        });
        (Server { child, dir }, port)
    }

    /// Make the server refuse (554 / 503) or accept again.
    fn refuse(&self, refuse: bool) {
        let flag = self.dir.join("refuse");
        if refuse {
            std::fs::write(flag, b"").unwrap();
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }

    /// What the server received, in order (the `.json` files it wrote).
    fn received(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

/// aiosmtpd on 127.0.0.1:PORT: STARTTLS required (cert, key; MODE `smtps`: TLS from the
/// first byte instead), AUTH required (user scanner,
/// password s3cret: PLAIN or LOGIN), each message accepted written as NNNN.json (envelope,
/// subject, parts) unless DIR/refuse exists, when it answers 554.
const SMTP_SERVER: &str = r#"
import email, email.policy, json, os, ssl, sys
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

out, port, cert, key, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
LOGINS = []

class Handler:
    async def handle_DATA(self, server, session, envelope):
        if os.path.exists(os.path.join(out, "refuse")):
            return "554 5.7.1 refused by the test"
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = [p.get_content_type() for p in msg.walk() if not p.is_multipart()]
        record = {
            "mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]), "to": str(msg["to"]), "from": str(msg["from"]),
            "content_type": msg.get_content_type(), "parts": parts,
            "text": msg.get_body(("plain",)).get_content(),
            "html": msg.get_body(("html",)).get_content(),
            "login": LOGINS[-1] if LOGINS else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
        }
        n = len([f for f in os.listdir(out) if f.endswith(".json")])
        tmp = os.path.join(out, ".%04d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(out, "%04d.json" % n))
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"scanner" and auth_data.password == b"s3cret"
    if ok:
        LOGINS.append(auth_data.login.decode())
    # handled=False: the server answers a failure itself (535).
    return AuthResult(success=ok, handled=False)

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
if mode == "smtps":
    # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; the handler records
    # that this connection is TLS (the scanner checked the certificate to get here).
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=context,
                            auth_required=True, auth_require_tls=False, authenticator=authenticator)
else:
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=authenticator)
controller.start()
print(port, flush=True)
sys.stdin.read()
controller.stop()
"#;

/// An HTTP server on 127.0.0.1 (port printed) recording each POST as NNNN.json
/// ({"path", "content_type", "body": the parsed JSON body}); 503 while DIR/refuse exists.
/// Arguments: DIR [CERT KEY] (with them: HTTPS).
const WEBHOOK_SERVER: &str = r#"
import http.server, json, os, sys, threading
out = sys.argv[1]
lock = threading.Lock()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if os.path.exists(os.path.join(out, "refuse")):
            self.send_response(503); self.end_headers(); return
        with lock:
            n = len([f for f in os.listdir(out) if f.endswith(".json")])
            tmp = os.path.join(out, ".%04d.tmp" % n)
            with open(tmp, "w") as f:
                json.dump({"path": self.path, "content_type": self.headers.get("Content-Type"),
                           "body": json.loads(body)}, f)
            os.rename(tmp, os.path.join(out, "%04d.json" % n))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
if len(sys.argv) > 3:
    import ssl
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
"#;

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl): (ca.pem, cert, key).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require_tool("openssl");
    let p = |n: &str| dir.join(n);
    run_ok(
        Command::new(&openssl)
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=image-scan test CA", "-keyout"])
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")),
    );
    run_ok(
        Command::new(&openssl)
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
            ])
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")),
    );
    std::fs::write(
        p("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run_ok(
        Command::new(&openssl)
            .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("server.pem"))
            .arg("-extfile")
            .arg(p("ext")),
    );
    (p("ca.pem"), p("server.pem"), p("server.key"))
}

/// A port free on 127.0.0.1 now (aiosmtpd's controller needs one given).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn smtp_server(base: &Path) -> (Server, Vec<String>) {
    smtp_server_of(base, "smtp")
}

fn smtp_server_of(base: &Path, scheme: &str) -> (Server, Vec<String>) {
    let certs = base.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (ca, cert, key) = certificates(&certs);
    let inbox = base.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let port = free_port();
    let (server, port) = Server::start(
        SMTP_SERVER,
        &[
            inbox.to_str().unwrap(),
            &port.to_string(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            scheme,
        ],
        inbox.clone(),
    );
    let args = vec![
        "--smtp".into(),
        format!("{scheme}://127.0.0.1:{port}"),
        "--smtp-ca".into(),
        ca.display().to_string(),
        "--mail-from".into(),
        "image-scan@example.org".into(),
    ];
    (server, args)
}

/// A webhook test's sample, its receiver (plain HTTP) and port, and a state folder.
fn webhook_case(name: &str) -> (Sample, Server, u16, PathBuf) {
    let sample = Sample::new(name);
    let base = harness::scratch::process_tempdir(&format!("{name}-run"));
    let inbox = base.join("hook");
    std::fs::create_dir_all(&inbox).unwrap();
    let (hook, port) = Server::start(WEBHOOK_SERVER, &[inbox.to_str().unwrap()], inbox.clone());
    (sample, hook, port, base.join("state"))
}

/// `--image IMAGE --format FORMAT --state STATE`, the sample's scan flags, then `extra`.
fn rescan_args(sample: &Sample, image: &str, format: &str, state: &Path, extra: &[&[String]]) -> Vec<String> {
    let mut args = strings(&["--image", image, "--format", format, "--state", state.to_str().unwrap()]);
    args.extend(sample.scan_args());
    args.extend(args_of(extra));
    args
}

fn args_of(parts: &[&[String]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

#[test]
fn mails_the_first_report_then_nothing_then_exactly_what_changed() {
    let sample = Sample::new("rescan-mail");
    let base = harness::scratch::process_tempdir("rescan-mail-run");
    let (smtp, smtp_args) = smtp_server(&base);
    let creds = base.join("smtp-credentials");
    std::fs::write(&creds, "scanner:s3cret\n").unwrap();
    let state = base.join("state");
    let image = sample.image("authored");
    let common = rescan_args(
        &sample,
        &image,
        "json",
        &state,
        &[&smtp_args, &strings(&["--notify", "changes"])],
    );
    let with_file = args_of(&[&common, &strings(&["--smtp-credentials", creds.to_str().unwrap()])]);

    // 1. The first scan: the whole report, to the author the image's label names.
    let first = image_scan(&with_file, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let doc = json_of(&first);
    assert_eq!(doc["Changes"]["First Scan"], true);
    assert_eq!(doc["Notifications"][0]["Delivered"], true, "{doc:#}");
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let m = &mails[0];
    assert_eq!(m["rcpt_tos"], serde_json::json!([AUTHOR]));
    assert_eq!(m["to"], format!("Dev <{AUTHOR}>"));
    assert_eq!(m["login"], "scanner");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(m["parts"], serde_json::json!(["text/plain", "text/html"]));
    assert_eq!(
        m["subject"],
        format!("[image-scan] {image}: 1 update, 1 advisory (1 Moderate), 1 tampered file")
    );
    let text = m["text"].as_str().unwrap();
    assert!(text.contains("Changes: first scan"), "{text}");
    assert!(
        text.contains("CESA-2020:5002") && text.contains("/usr/bin/curl"),
        "{text}"
    );
    let html = m["html"].as_str().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("CESA-2020:5002"));

    // 2. Nothing changed: nothing mailed (the password from the environment this time).
    let env_login = args_of(&[&common, &strings(&["--smtp-user", "scanner"])]);
    let second = image_scan(&env_login, &[("IMAGE_SCAN_SMTP_PASSWORD", "s3cret")]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let doc = json_of(&second);
    assert_eq!(doc["Changes"]["First Scan"], false);
    assert_eq!(doc["Changes"]["Summary"], "no changes");
    assert_eq!(doc["Changes"]["Cause"], "none");
    assert!(doc.get("Notifications").is_none(), "{doc:#}");
    assert_eq!(smtp.received().len(), 1);

    // 3. The repository gains an update and an advisory: exactly those are mailed.
    sample.publish_update_and_advisory();
    let third = image_scan(&env_login, &[("IMAGE_SCAN_SMTP_PASSWORD", "s3cret")]);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let doc = json_of(&third);
    let c = &doc["Changes"];
    assert_eq!(c["Image Changed"], false);
    assert_eq!(c["Cause"], "repositories");
    assert_eq!(c["Summary"], "1 new update, 1 new advisory (1 Critical)");
    assert_eq!(c["New Updates"].as_array().unwrap().len(), 1);
    assert_eq!(c["New Updates"][0]["Package"], "centos-release.x86_64");
    assert_eq!(c["New Advisories"][0]["Custom"]["Advisory"], "TEST-2026:0001");
    for k in [
        "Resolved Updates",
        "Resolved Advisories",
        "New Tampered Files",
        "Resolved Tampered Files",
    ] {
        assert_eq!(c[k], serde_json::json!([]), "{k}");
    }
    let mails = smtp.received();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert_eq!(
        mails[1]["subject"],
        format!("[image-scan] {image}: 1 new update, 1 new advisory (1 Critical)")
    );
    let text = mails[1]["text"].as_str().unwrap();
    assert!(
        text.contains("+ update centos-release.x86_64 7-9.2009.1.el7.centos (demo)"),
        "{text}"
    );
    assert!(text.contains("+ advisory TEST-2026:0001 (Critical)"), "{text}");
    assert!(mails[1]["html"].as_str().unwrap().contains("data-part=\"changes\""));

    // The table shows the changes too (none since the third run).
    let table = rescan_args(&sample, &image, "table", &state, &[]);
    let t = image_scan(&table, &[]);
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(out.contains("Changes since") && out.contains("no changes"), "{out}");
}

#[test]
fn a_refused_or_untrusted_delivery_exits_2_and_the_next_run_delivers_it() {
    let sample = Sample::new("rescan-refused");
    let base = harness::scratch::process_tempdir("rescan-refused-run");
    let (smtp, smtp_args) = smtp_server(&base);
    let creds = base.join("smtp-credentials");
    std::fs::write(&creds, "scanner:s3cret").unwrap();
    let state = base.join("state");
    let image = sample.image("demo");
    let args = rescan_args(
        &sample,
        &image,
        "json",
        &state,
        &[
            &smtp_args,
            &strings(&[
                "--smtp-credentials",
                creds.to_str().unwrap(),
                "--mail-to",
                "ops@example.org",
            ]),
        ],
    );

    smtp.refuse(true);
    let refused = image_scan(&args, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let err = stderr(&refused);
    assert!(err.contains("mail not delivered") && err.contains("554"), "{err}");
    assert!(err.contains("kept for the next run"), "{err}");
    let doc = json_of(&refused);
    assert_eq!(doc["Notifications"][0]["Delivered"], false);
    assert!(smtp.received().is_empty());

    // A certificate the scanner was not told to trust is a failed delivery too.
    let no_ca: Vec<String> = {
        let i = args.iter().position(|a| a == "--smtp-ca").unwrap();
        let mut a = args.clone();
        a.drain(i..i + 2);
        a
    };
    smtp.refuse(false);
    let untrusted = image_scan(&no_ca, &[]);
    assert_eq!(untrusted.status.code(), Some(2), "{}", stderr(&untrusted));
    assert!(smtp.received().is_empty());

    // Nothing changed since, but the first run's mail is still owed: delivered now, once.
    let next = image_scan(&args, &[]);
    assert_eq!(next.status.code(), Some(0), "{}", stderr(&next));
    let doc = json_of(&next);
    assert_eq!(doc["Changes"]["Summary"], "no changes");
    let mails = smtp.received();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert_eq!(mails[0]["rcpt_tos"], serde_json::json!(["ops@example.org"]));
    assert!(mails[0]["subject"]
        .as_str()
        .unwrap()
        .ends_with("1 update, 1 advisory (1 Moderate), 1 tampered file"));
    let again = image_scan(&args, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(smtp.received().len(), 1, "delivered twice");
    let pending: Vec<_> = std::fs::read_dir(state.join("pending")).unwrap().flatten().collect();
    assert!(pending.is_empty(), "{pending:?}");
}

#[test]
fn mails_over_smtps() {
    let sample = Sample::new("rescan-smtps");
    let base = harness::scratch::process_tempdir("rescan-smtps-run");
    let (smtp, smtp_args) = smtp_server_of(&base, "smtps");
    let state = base.join("state");
    let args = rescan_args(
        &sample,
        &sample.image("authored"),
        "json",
        &state,
        &[&smtp_args, &strings(&["--smtp-user", "scanner", "--notify", "always"])],
    );
    for run in 1..=2 {
        let o = image_scan(&args, &[("IMAGE_SCAN_SMTP_PASSWORD", "s3cret")]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(smtp.received().len(), run);
    }
    let mails = smtp.received();
    assert_eq!(mails[1]["tls"], true);
    assert_eq!(mails[1]["login"], "scanner");
    assert_eq!(mails[1]["rcpt_tos"], serde_json::json!([AUTHOR]));
    assert!(
        mails[1]["subject"]
            .as_str()
            .unwrap()
            .ends_with(": no changes (1 update, 1 advisory (1 Moderate), 1 tampered file)"),
        "{}",
        mails[1]["subject"]
    );
    // A wrong password is a failed delivery, kept.
    let o = image_scan(&args, &[("IMAGE_SCAN_SMTP_PASSWORD", "wrong")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mail not delivered") && stderr(&o).contains("535"),
        "{}",
        stderr(&o)
    );
    assert_eq!(smtp.received().len(), 2);
}

#[test]
fn the_webhook_gets_the_combined_json_with_its_changes() {
    let (sample, hook, port, state) = webhook_case("rescan-webhook");
    let args = rescan_args(
        &sample,
        &sample.image("demo"),
        "json",
        &state,
        &[&strings(&[
            "--webhook",
            &format!("http://127.0.0.1:{port}/hooks/scan"),
            "--notify",
            "always",
        ])],
    );
    let first = image_scan(&args, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    hook.refuse(true);
    let refused = image_scan(&args, &[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("503"), "{}", stderr(&refused));
    // A run without --webhook leaves the message pending, says so, and is no failure.
    let quiet = rescan_args(&sample, &sample.image("demo"), "json", &state, &[]);
    let o = image_scan(&quiet, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 notification(s) pending"), "{}", stderr(&o));
    hook.refuse(false);
    let third = image_scan(&args, &[]);
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    let got = hook.received();
    // Run 1; then run 2's (kept) and run 3's, in that order.
    assert_eq!(got.len(), 3, "{got:#?}");
    for g in &got {
        assert_eq!(g["path"], "/hooks/scan");
        assert_eq!(g["content_type"], "application/json");
        assert_eq!(g["body"]["Scanner"], "image-scan");
        assert_eq!(g["body"]["Scan Results"]["Subject"], sample.image("demo"));
    }
    assert_eq!(got[0]["body"]["Changes"]["First Scan"], true);
    assert_eq!(got[1]["body"]["Changes"]["Summary"], "no changes");
    assert!(got[1]["body"]["Start Time"] != got[2]["body"]["Start Time"]);
    // The body is the document of stdout, before delivery was recorded in it.
    let mut printed = json_of(&first);
    printed.as_object_mut().unwrap().remove("Notifications");
    assert_eq!(got[0]["body"], printed);
}

#[test]
fn a_change_told_once_is_not_told_again_by_a_run_that_finds_it_again() {
    // A run that told a change but could not save its record (here: a directory stands where
    // the record goes) leaves the previous record in place, so the next run compares with the
    // same report and finds the same change: the sent ledger keeps it from being told twice.
    let (sample, hook, port, state) = webhook_case("rescan-once");
    let reference = sample.image("demo");
    let args = rescan_args(
        &sample,
        &reference,
        "json",
        &state,
        &[&strings(&[
            "--webhook",
            &format!("http://127.0.0.1:{port}/hook"),
            "--notify",
            "changes",
        ])],
    );
    let first = image_scan(&args, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert_eq!(hook.received().len(), 1);

    sample.publish_update_and_advisory();
    let record = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(reference.as_bytes());
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        state.join("by-reference").join(format!("{hex}.json"))
    };
    std::fs::remove_file(&record).unwrap();
    std::fs::create_dir_all(record.join("in-the-way")).unwrap();
    let unsaved = image_scan(&args, &[]);
    assert_eq!(unsaved.status.code(), Some(2), "{}", stderr(&unsaved));
    assert!(
        stderr(&unsaved).contains("cannot write state record"),
        "{}",
        stderr(&unsaved)
    );
    let got = hook.received();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(
        got[1]["body"]["Changes"]["Summary"],
        "1 new update, 1 new advisory (1 Critical)"
    );

    std::fs::remove_dir_all(&record).unwrap();
    let again = image_scan(&args, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let c = &json_of(&again)["Changes"];
    assert_eq!(
        c["Summary"], "1 new update, 1 new advisory (1 Critical)",
        "the same change, found again: {c:#}"
    );
    assert!(
        stderr(&again).contains("another run told the same change"),
        "{}",
        stderr(&again)
    );
    assert_eq!(hook.received().len(), 2, "told twice: {:#?}", hook.received());
    assert!(record.is_file(), "this run saved its record");
    assert_eq!(std::fs::read_dir(state.join("pending")).unwrap().count(), 0);
}

#[test]
fn an_https_webhook_is_trusted_through_webhook_ca_only() {
    let sample = Sample::new("rescan-https");
    let base = harness::scratch::process_tempdir("rescan-https-run");
    let certs = base.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (ca, cert, key) = certificates(&certs);
    let inbox = base.join("hook");
    std::fs::create_dir_all(&inbox).unwrap();
    let (hook, port) = Server::start(
        WEBHOOK_SERVER,
        &[inbox.to_str().unwrap(), cert.to_str().unwrap(), key.to_str().unwrap()],
        inbox.clone(),
    );
    let state = base.join("state");
    let args = rescan_args(
        &sample,
        &sample.image("demo"),
        "json",
        &state,
        &[&strings(&["--webhook", &format!("https://127.0.0.1:{port}/hook")])],
    );
    // The test's CA is not among the Mozilla roots: no delivery, kept.
    let untrusted = image_scan(&args, &[]);
    assert_eq!(untrusted.status.code(), Some(2), "{}", stderr(&untrusted));
    assert!(
        stderr(&untrusted).contains("webhook not delivered"),
        "{}",
        stderr(&untrusted)
    );
    assert!(hook.received().is_empty());
    let mut trusted = args.clone();
    trusted.extend(strings(&["--webhook-ca", ca.to_str().unwrap()]));
    let o = image_scan(&trusted, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let got = hook.received();
    // The first run's message (its first scan); the second run found no change to send.
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["body"]["Changes"]["First Scan"], true);
}

#[test]
fn processes_sharing_one_state_leave_complete_records() {
    // 8 processes x 5 subjects = 40 subjects: 40 references of two images (copies and tags
    // of the sample), split by --shard i/8, all writing the same two by-digest records too
    // (~7 s on 2 cores with debug binaries); then 8 processes over all 40 (the issue's case).
    let sample = Sample::new("rescan-shared");
    let base = harness::scratch::process_tempdir("rescan-shared-run");
    let mut refs = Vec::new();
    for copy in 0..20 {
        let dir = base.join(format!("copy{copy}"));
        run_ok(Command::new("cp").arg("-a").arg(sample.dir.join("layout")).arg(&dir));
        refs.push(format!("oci:{}:demo", dir.display()));
        refs.push(format!("oci:{}:authored", dir.display()));
    }
    let list = base.join("images.txt");
    std::fs::write(
        &list,
        format!("# the shared-state test's images\n\n{}\n", refs.join("\n")),
    )
    .unwrap();
    let state = base.join("state");
    // A record left corrupt by something else is reported and replaced.
    std::fs::create_dir_all(state.join("by-reference")).unwrap();
    let key = |r: &str| {
        use sha2::Digest;
        let d = sha2::Sha256::digest(r.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    std::fs::write(
        state.join("by-reference").join(format!("{}.json", key(&refs[0]))),
        b"{\"State Version\": 1, \"Rep",
    )
    .unwrap();

    let start = Instant::now();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let args = args_of(&[
                &strings(&[
                    "--images-from",
                    list.to_str().unwrap(),
                    "--shard",
                    &format!("{i}/8"),
                    "--state",
                    state.to_str().unwrap(),
                    "--format",
                    "json",
                    "--checks",
                    "updates,advisories",
                ]),
                &sample.scan_args(),
            ]);
            Command::new(&scanner_binaries().image_scan)
                .args(&args)
                .env_remove("JOB_COMPLETION_INDEX")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let took = start.elapsed();
    let mut subjects = Vec::new();
    let mut first_scans = 0;
    let mut corrupt_reports = 0;
    for o in &outputs {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        corrupt_reports += stderr(o).matches("is corrupt").count();
        for d in documents(o) {
            subjects.push(d["Scan Results"]["Subject"].as_str().unwrap().to_string());
            // A reference never scanned is a first scan, unless another reference of the
            // same image was scanned before it (then it is compared with that one's report).
            let c = &d["Changes"];
            if c["First Scan"] == true {
                first_scans += 1;
            } else {
                assert_eq!(c["Compared By"], "digest", "{c:#}");
                assert_eq!(c["Summary"], "no changes", "{c:#}");
            }
        }
    }
    assert_eq!(corrupt_reports, 1);
    assert!((2..=16).contains(&first_scans), "{first_scans}");
    subjects.sort();
    let mut expected = refs.clone();
    expected.sort();
    assert_eq!(subjects, expected, "each subject scanned and reported once");
    let records: Vec<PathBuf> = std::fs::read_dir(state.join("by-reference"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(records.len(), 40);
    for r in records.iter().chain(
        std::fs::read_dir(state.join("by-digest"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect::<Vec<_>>()
            .iter(),
    ) {
        let v: Value =
            serde_json::from_slice(&std::fs::read(r).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", r.display()));
        assert_eq!(v["State Version"], 1);
        assert_eq!(v["Report"]["Scanner"], "image-scan", "{}", r.display());
        assert_eq!(v["Report"]["Successful"], "true");
    }
    for r in &refs {
        assert!(
            state.join("by-reference").join(format!("{}.json", key(r))).is_file(),
            "{r}"
        );
    }
    // Two images: demo, and authored (its config has one more label).
    assert_eq!(std::fs::read_dir(state.join("by-digest")).unwrap().count(), 2);
    assert_eq!(
        std::fs::read_dir(state.join("tmp")).unwrap().count(),
        0,
        "temporary files left"
    );
    eprintln!("8 processes, 40 subjects: {took:?}");

    // All 8 again, each over all 40 subjects at once (each record written by 8 processes at
    // a time), telling a webhook what changed: nothing, until the repository gains an update
    // and an advisory; then each of the 40 subjects is told so exactly once, although all 8
    // processes find that change (few at the same moment: the ledger itself is tested by
    // a_change_told_once_is_not_told_again_by_a_run_that_finds_it_again), and every record
    // is still whole.
    let hooks = base.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let (hook, port) = Server::start(WEBHOOK_SERVER, &[hooks.to_str().unwrap()], hooks.clone());
    let all_at_once = || {
        let children: Vec<_> = (0..8)
            .map(|_| {
                let args = args_of(&[
                    &strings(&[
                        "--images-from",
                        list.to_str().unwrap(),
                        "--state",
                        state.to_str().unwrap(),
                        "--format",
                        "json",
                        "--checks",
                        "updates,advisories",
                        "--notify",
                        "changes",
                        "--webhook",
                        &format!("http://127.0.0.1:{port}/scans"),
                    ]),
                    &sample.scan_args(),
                ]);
                Command::new(&scanner_binaries().image_scan)
                    .args(&args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
            assert!(!stderr(&o).contains("corrupt"), "{}", stderr(&o));
            assert_eq!(documents(&o).len(), 40);
        }
        for r in std::fs::read_dir(state.join("by-reference")).unwrap().flatten() {
            let v: Value = serde_json::from_slice(&std::fs::read(r.path()).unwrap()).unwrap();
            assert_eq!(v["Report"]["Successful"], "true");
        }
        assert_eq!(std::fs::read_dir(state.join("tmp")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(state.join("pending")).unwrap().count(), 0);
    };
    all_at_once();
    assert_eq!(hook.received().len(), 0, "nothing changed: {:#?}", hook.received());
    sample.publish_update_and_advisory();
    all_at_once();
    let mut told: Vec<String> = hook
        .received()
        .iter()
        .map(|h| {
            let doc = &h["body"];
            assert_eq!(
                doc["Changes"]["Summary"], "1 new update, 1 new advisory (1 Critical)",
                "{doc:#}"
            );
            doc["Scan Results"]["Subject"].as_str().unwrap().to_string()
        })
        .collect();
    told.sort();
    assert_eq!(told, expected, "each subject told of its change once");
    eprintln!(
        "and 8 processes over the same 40 subjects, twice: {:?} in all",
        start.elapsed()
    );
}

#[test]
fn shards_of_a_list_cover_each_line_exactly_once() {
    let base = harness::scratch::process_tempdir("rescan-shards");
    let refs: Vec<String> = (0..100)
        .map(|i| format!("oci:{}/missing-{i}:tag", base.display()))
        .collect();
    let list = base.join("images.txt");
    std::fs::write(&list, format!("# 100 images\n{}\n\n# end\n", refs.join("\n"))).unwrap();
    let mut seen = Vec::new();
    for i in 0..4 {
        // Shard 0..2 by the flag, shard 3 by JOB_COMPLETION_INDEX (a Kubernetes Indexed Job).
        let (shard, env) = if i < 3 {
            (format!("{i}/4"), None)
        } else {
            ("/4".to_string(), Some("3"))
        };
        let mut cmd = Command::new(&scanner_binaries().image_scan);
        cmd.args([
            "--images-from",
            list.to_str().unwrap(),
            "--shard",
            &shard,
            "--format",
            "json",
        ])
        .env_remove("JOB_COMPLETION_INDEX");
        if let Some(e) = env {
            cmd.env("JOB_COMPLETION_INDEX", e);
        }
        let o = cmd.output().unwrap();
        // Nothing to open: every subject fails fast, exit 2.
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let docs = documents(&o);
        assert!(docs.len() > 5, "shard {i}: {}", docs.len());
        seen.extend(
            docs.iter()
                .map(|d| d["Scan Results"]["Subject"].as_str().unwrap().to_string()),
        );
    }
    seen.sort();
    let mut expected = refs;
    expected.sort();
    assert_eq!(seen, expected);
    let bad = image_scan(
        &strings(&["--images-from", list.to_str().unwrap(), "--shard", "4/4"]),
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("below N"), "{}", stderr(&bad));
}

/// The pod specs of deploy/kubernetes, checked for the pod security the README promises, and
/// their containers' arguments: `[{"file", "kind", "args"}]` (python3 with PyYAML).
const POD_SPECS: &str = r#"
import glob, json, sys, yaml
out = []
for path in sorted(glob.glob(sys.argv[1] + "/*.yaml")):
    for doc in yaml.safe_load_all(open(path)):
        kind = doc["kind"]
        if kind == "CronJob":
            pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Job":
            pod = doc["spec"]["template"]["spec"]
            assert doc["spec"]["completionMode"] == "Indexed", path
        else:
            continue
        where = "%s (%s)" % (path, kind)
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not pod.get(host), where + ": " + host
        assert pod.get("automountServiceAccountToken") is False, where
        sc = pod["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0, where
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert not any("hostPath" in v for v in volumes.values()), where + ": hostPath"
        for c in pod["containers"]:
            csc = c["securityContext"]
            assert csc["readOnlyRootFilesystem"] is True, where
            assert csc["allowPrivilegeEscalation"] is False, where
            assert csc.get("privileged", False) is False, where
            assert csc["capabilities"]["drop"] == ["ALL"] and "add" not in csc["capabilities"], where
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], where + ": /tmp is not an emptyDir"
            assert "persistentVolumeClaim" in volumes[mounts["/var/lib/image-scan"]], where
            out.append({"file": path, "kind": kind, "args": c["args"]})
print(json.dumps(out))
"#;

/// 40 references that fail fast, fixed (so that the Indexed Job's shard 0 holds some).
fn missing_images() -> String {
    let refs: Vec<String> = (0..40)
        .map(|i| format!("oci:/nonexistent/image-scan-deploy-test/missing-{i}:1"))
        .collect();
    format!("# none of these exist\n{}\n", refs.join("\n"))
}

#[test]
fn deploy_manifests_validate_and_their_arguments_are_the_scanners() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let k8s = manifest.join("deploy/kubernetes");
    // The Kubernetes OpenAPI schemas of a current release (PyPI's kubernetes-validate,
    // which .ci/run installs), strict: no property Kubernetes does not know.
    let validate = require_tool("kubernetes-validate");
    let files: Vec<PathBuf> = std::fs::read_dir(&k8s)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(files.len() >= 6, "{files:?}");
    for version in ["1.33.0", "1.37.0"] {
        let o = run_ok(
            Command::new(&validate)
                .args(["--strict", "--no-warn", "-k", version])
                .args(&files),
        );
        let text = String::from_utf8_lossy(&o.stdout);
        assert_eq!(text.matches(" passed ").count(), files.len(), "{text}");
    }

    // The pod security, and the arguments: each container's, with its mounts made real in a
    // scratch folder, run by the scanner (a flag it did not know would fail here).
    let o = run_ok(Command::new(require_tool("python3")).arg("-c").arg(POD_SPECS).arg(&k8s));
    let pods: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pods.len(), 2, "{pods:?}");
    let base = harness::scratch::process_tempdir("rescan-deploy");
    for (from, file, text) in [
        ("/etc/image-scan", "images.txt", missing_images()),
        ("/run/secrets/registry", "auth.json", "{\"auths\": {}}".to_string()),
        ("/run/secrets/smtp", "credentials", "scanner:s3cret\n".to_string()),
    ] {
        let d = base.join(from.trim_start_matches('/'));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(file), text).unwrap();
    }
    for pod in &pods {
        let args: Vec<String> = pod["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let a = a.as_str().unwrap().to_string();
                ["/etc/image-scan", "/run/secrets/", "/var/lib/image-scan"]
                    .iter()
                    .fold(a, |a, from| a.replace(from, &format!("{}{from}", base.display())))
            })
            .collect();
        let o = Command::new(&scanner_binaries().image_scan)
            .args(&args)
            .env("JOB_COMPLETION_INDEX", "0")
            .output()
            .unwrap();
        let err = stderr(&o);
        // Every flag accepted, every file read: the only failure is the missing image.
        assert_eq!(o.status.code(), Some(2), "{pod}: {err}");
        assert!(err.contains("not scanned"), "{pod}: {err}");
        assert!(!err.contains("error:"), "{pod}: {err}");
    }

    // The systemd units: systemd-analyze verify (unknown keys, a missing binary...), the
    // service's ExecStart pointed at the scanner built here.
    let units = base.join("systemd");
    std::fs::create_dir_all(&units).unwrap();
    let service = std::fs::read_to_string(manifest.join("deploy/systemd/image-scan.service")).unwrap();
    let service = service.replace(
        "/usr/local/bin/image-scan",
        scanner_binaries().image_scan.to_str().unwrap(),
    );
    std::fs::write(units.join("image-scan.service"), service).unwrap();
    std::fs::copy(
        manifest.join("deploy/systemd/image-scan.timer"),
        units.join("image-scan.timer"),
    )
    .unwrap();
    let o = Command::new(require_tool("systemd-analyze"))
        .args(["verify", "--man=no", "image-scan.service", "image-scan.timer"])
        .current_dir(&units)
        .output()
        .unwrap();
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
}

/// The CronJob's pod run by a real engine: `podman kube play` of deploy/kubernetes (issue 16).
///
/// The pod is the CronJob's `jobTemplate` pod as shipped — its arguments, mounts, pod and
/// container security — with the same ConfigMap, Secrets and claim beside it. What the test
/// changes is only what a site changes: the image list (a registry this test starts, with TLS
/// and auth), the registry login and CA in the registry Secret, the SMTP relay (aiosmtpd,
/// STARTTLS + AUTH) with its CA in the SMTP Secret and `--smtp-ca`, and the repositories (the
/// demo's, served over HTTP: `--no-image-repos --repo`). Where podman 4.3 does not do what the
/// kubelet does, the test does the kubelet's part and mounts the result: an emptyDir is a
/// fresh 0777 directory (podman's is root's, 0755: it ignores fsGroup), a secret volume the
/// Secret's keys as files of its defaultMode in the pod's fsGroup (podman's hold the base64
/// text of each value). Run by `make test-e2e`, which builds the image (`E2E_IMAGE_PREFIX`,
/// `E2E_IMAGE_TAG`).
///
/// Three "nights" with the claim kept between them, as the CronJob runs: the first mails the
/// whole report to the image's author, the second (nothing changed) mails nothing, the third
/// (an update and an advisory published meanwhile) mails exactly those. The pod's report is
/// the one the binary writes run directly on the host with the same inputs.
mod kube_play {
    use super::*;
    use harness::image::{auth_json, locked_registry, skopeo_copy, REGISTRY_USER};
    use harness::repo::{HttpServer, Serve};
    use std::os::unix::fs::PermissionsExt;

    const POD: &str = "image-scan-nightly";
    const CONTAINER: &str = "image-scan-nightly-image-scan";
    /// What the play creates that outlives a pod: the claim's volume and the one podman
    /// makes of the ConfigMap.
    const VOLUMES: [&str; 2] = ["image-scan-state", "image-scan-images"];

    /// The play's YAML from deploy/kubernetes and a JSON of the site's values (see the module
    /// comment): Secrets, ConfigMap, claim, then the CronJob's pod.
    const POD_OF_CRONJOB: &str = r#"
import json, os, sys, yaml
deploy, site, out = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
def load(name):
    return yaml.safe_load(open(deploy + "/" + name))
template = load("cronjob.yaml")["spec"]["jobTemplate"]["spec"]["template"]
pod = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": site["pod"], "labels": template["metadata"]["labels"]},
       "spec": template["spec"]}
(container,) = pod["spec"]["containers"]
container["image"] = site["image"]
args = []
for a in container["args"]:
    flag = a.split("=", 1)[0]
    args.append(flag + "=" + site["args"][flag] if flag in site["args"] else a)
container["args"] = args + site["extra_args"]
secrets = {}
for name in ("secret-registry.yaml", "secret-smtp.yaml"):
    secret = load(name)
    secrets[secret["metadata"]["name"]] = secret
fs_group = pod["spec"]["securityContext"]["fsGroup"]
for v in pod["spec"]["volumes"]:
    if "emptyDir" in v:
        # The kubelet's emptyDir: a fresh directory anyone may write (mode 0777).
        del v["emptyDir"]
        v["hostPath"] = {"path": site["empty_dirs"][v["name"]], "type": "Directory"}
    elif "secret" in v:
        # The kubelet's secret volume: the Secret's keys as files of its defaultMode, in the
        # pod's fsGroup. The site's values replace the example's; the keys must cover them.
        source = v.pop("secret")
        name = source["secretName"]
        values = site["secrets"][name]
        missing = set(secrets[name]["stringData"]) - set(values)
        assert not missing, "%s: the site gives no %s" % (name, missing)
        d = os.path.join(site["secret_dirs"], name)
        os.makedirs(d)
        for key, value in values.items():
            path = os.path.join(d, key)
            with open(path, "w") as f:
                f.write(value)
            os.chown(path, 0, fs_group)
            os.chmod(path, source.get("defaultMode", 0o644))
        v["hostPath"] = {"path": d, "type": "Directory"}
images = load("configmap-images.yaml")
images["data"] = {"images.txt": site["images_txt"]}
# The first night binds the claim; later nights find it (podman refuses to make it twice).
yaml.safe_dump_all([images, load("pvc.yaml"), pod], open(out, "w"))
yaml.safe_dump_all([images, pod], open(out + ".again", "w"))
"#;

    fn podman() -> Command {
        let mut cmd = Command::new(require_tool("podman"));
        let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/containers.conf");
        cmd.env("CONTAINERS_CONF", conf).stdin(Stdio::null());
        cmd
    }

    fn podman_out(args: &[&str]) -> String {
        let o = run_ok(podman().args(args));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Remove what a play left (before, in case an earlier run was killed, and after).
    fn clean_up(yaml: &Path) {
        if yaml.exists() {
            let _ = podman().args(["kube", "down"]).arg(yaml).output();
        }
        let _ = podman().args(["pod", "rm", "--force", POD]).output();
        let _ = podman().args(["volume", "rm", "--force"]).args(VOLUMES).output();
    }

    struct Play {
        yaml: PathBuf,
    }

    impl Drop for Play {
        fn drop(&mut self) {
            clean_up(&self.yaml);
        }
    }

    impl Play {
        /// One night: play the YAML, wait for the scanner, return its exit status and the
        /// report it left on the claim; the pod is taken down again (the claim stays).
        fn night(&self) -> (i32, Vec<Value>) {
            let _ = podman().args(["kube", "down"]).arg(&self.yaml).output();
            let claimed = podman()
                .args(["volume", "exists", VOLUMES[0]])
                .status()
                .unwrap()
                .success();
            let yaml = if claimed {
                self.yaml.with_extension("yaml.again")
            } else {
                self.yaml.clone()
            };
            run_ok(podman().args(["kube", "play", "--network", "host"]).arg(yaml));
            let code: i32 = podman_out(&["wait", CONTAINER]).parse().unwrap();
            let logs = podman().args(["logs", CONTAINER]).output().unwrap();
            let state = PathBuf::from(podman_out(&[
                "volume",
                "inspect",
                "image-scan-state",
                "--format",
                "{{.Mountpoint}}",
            ]));
            let report = std::fs::read(state.join("last-run.json")).unwrap_or_else(|e| {
                panic!(
                    "no report on the claim ({e}); the pod said: {}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                )
            });
            let docs = match serde_json::from_slice(&report).unwrap() {
                Value::Array(a) => a,
                one => vec![one],
            };
            (code, docs)
        }
    }

    fn e2e_image(scanner: &str) -> String {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: run this test with `make test-e2e` (it builds the images first)")
            })
        };
        format!("{}{scanner}:{}", var("E2E_IMAGE_PREFIX"), var("E2E_IMAGE_TAG"))
    }

    /// A report without what differs between two runs of the same scan: times, and the
    /// re-scan's own parts (changes, notifications).
    fn comparable(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "Time" | "Start Time" | "Finished Time" | "Changes" | "Notifications"
                        )
                    })
                    .map(|(k, v)| (k.clone(), comparable(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(comparable).collect()),
            other => other.clone(),
        }
    }

    #[test]
    #[ignore = "needs the image-scan image: `make test-e2e` builds it and runs this"]
    fn the_cronjobs_pod_runs_nightly_under_podman_kube_play() {
        let image = e2e_image("image-scan");
        for t in ["podman", "runc", "catatonit", "skopeo", "docker-registry"] {
            require_tool(t);
        }
        let sample = Sample::new("kube-play");
        let base = harness::scratch::process_tempdir("kube-play-run");
        let yaml = base.join("play.yaml");
        clean_up(&yaml);

        // The site: a registry with TLS and auth holding the image, the repository over HTTP,
        // the SMTP relay.
        let (registry, certs) = locked_registry(&base.join("registry"));
        let auth = base.join("auth.json");
        auth_json(&auth, &registry.host(), REGISTRY_USER.0, REGISTRY_USER.1);
        let reference = format!("docker://{}/team-a/app:1.4", registry.host());
        skopeo_copy(
            &sample.image("authored"),
            &reference,
            &[
                "--dest-cert-dir",
                certs.to_str().unwrap(),
                "--dest-authfile",
                auth.to_str().unwrap(),
            ],
        );
        let repo = HttpServer::start(&sample.dir.join("repo"), Serve::Files);
        let repo_arg = format!("demo={}", repo.url("/"));
        let (smtp, smtp_args) = smtp_server(&base);
        let smtp_ca = std::fs::read_to_string(&smtp_args[3]).unwrap();
        let images_txt = format!("# the test's registry\n{reference}\n");
        let tmp = base.join("pod-tmp");
        std::fs::create_dir(&tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o777)).unwrap();

        let site = serde_json::json!({
            "pod": POD,
            "image": image,
            "args": {"--smtp": smtp_args[1]},
            "extra_args": [
                "--smtp-ca=/run/secrets/smtp/ca.crt",
                "--no-image-repos",
                format!("--repo={repo_arg}"),
            ],
            "empty_dirs": {"tmp": tmp},
            "secret_dirs": base.join("secrets"),
            "secrets": {
                "image-scan-registry": {
                    "auth.json": std::fs::read_to_string(&auth).unwrap(),
                    "ca.crt": std::fs::read_to_string(certs.join("ca.crt")).unwrap(),
                },
                "image-scan-smtp": {"credentials": "scanner:s3cret\n", "ca.crt": smtp_ca},
            },
            "images_txt": images_txt,
        });
        let site_file = base.join("site.json");
        std::fs::write(&site_file, site.to_string()).unwrap();
        run_ok(
            Command::new(harness::tools::debian_python3())
                .arg("-c")
                .arg(POD_OF_CRONJOB)
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes"))
                .arg(&site_file)
                .arg(&yaml),
        );
        let play = Play { yaml };

        // Night 1: the whole report, mailed to the author the image's label names.
        let (code, docs) = play.night();
        assert_eq!(code, 0, "{docs:#?}");
        assert_eq!(docs.len(), 1, "{docs:#?}");
        let doc = &docs[0];
        assert_eq!(doc["Changes"]["First Scan"], true, "{doc:#}");
        assert_eq!(doc["Notifications"][0]["Delivered"], true, "{doc:#}");
        for check in ["verify", "updates", "advisories"] {
            assert_eq!(doc["Scan Results"]["Checks"][check]["Ran"], true, "{check}: {doc:#}");
        }
        // The pod ran as the manifest says: its user, a read-only root, no privileges.
        let security = podman_out(&[
            "inspect",
            CONTAINER,
            "--format",
            "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.Privileged}} {{len .EffectiveCaps}}",
        ]);
        assert_eq!(security, "65532:65532 true false 0");
        let mails = smtp.received();
        assert_eq!(mails.len(), 1, "{mails:#?}");
        assert_eq!(mails[0]["rcpt_tos"], serde_json::json!([AUTHOR]));
        assert_eq!(mails[0]["login"], "scanner");
        assert_eq!(
            mails[0]["subject"],
            format!("[image-scan] {reference}: 1 update, 1 advisory (1 Moderate), 1 tampered file")
        );

        // The same scan run directly on the host gives the same report.
        let list = base.join("images.txt");
        std::fs::write(&list, &images_txt).unwrap();
        let direct = image_scan(
            &strings(&[
                "--images-from",
                list.to_str().unwrap(),
                "--authfile",
                auth.to_str().unwrap(),
                "--cert-dir",
                certs.to_str().unwrap(),
                "--no-image-repos",
                "--repo",
                &repo_arg,
                "--format",
                "json",
            ]),
            &[],
        );
        assert_eq!(direct.status.code(), Some(0), "{}", stderr(&direct));
        assert_eq!(comparable(doc), comparable(&documents(&direct)[0]));

        // Night 2: nothing changed, nothing mailed; the claim kept the last report.
        let (code, docs) = play.night();
        assert_eq!(code, 0, "{docs:#?}");
        assert_eq!(docs[0]["Changes"]["First Scan"], false);
        assert_eq!(docs[0]["Changes"]["Summary"], "no changes");
        assert_eq!(smtp.received().len(), 1);

        // Night 3: an update and an advisory were published: exactly those are mailed.
        sample.publish_update_and_advisory();
        let (code, docs) = play.night();
        assert_eq!(code, 0, "{docs:#?}");
        assert_eq!(
            docs[0]["Changes"]["Summary"],
            "1 new update, 1 new advisory (1 Critical)"
        );
        let mails = smtp.received();
        assert_eq!(mails.len(), 2, "{mails:#?}");
        assert_eq!(
            mails[1]["subject"],
            format!("[image-scan] {reference}: 1 new update, 1 new advisory (1 Critical)")
        );
        drop(play);
        drop(registry);
    }
}
