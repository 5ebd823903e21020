//! A real browser as the oracle for HTML reports: Debian's `chromium-headless-shell` loads a
//! file and gives back the DOM it built (after its scripts ran, if any) or a screenshot.

use super::tools::{require_tool, run_ok};
use std::path::Path;
use std::process::Command;

fn chromium() -> Command {
    let mut c = Command::new(require_tool("chromium-headless-shell"));
    // Root in CI: Chromium's sandbox needs an unprivileged user; the page is our own report.
    c.args(["--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"]);
    // Nothing may be fetched: a report that needs the network shows it as a failed load.
    c.args(["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]);
    c
}

/// The DOM Chromium built from `html`, serialised.
pub fn dom_of(html: &Path) -> String {
    let out = run_ok(chromium().arg("--dump-dom").arg(format!("file://{}", html.display())));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PNG screenshot of `html` at `width`×`height` CSS pixels, written to `png`.
pub fn screenshot(html: &Path, png: &Path, width: u32, height: u32) {
    run_ok(
        chromium()
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("file://{}", html.display())),
    );
}
