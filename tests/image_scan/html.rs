//! image-scan's html report (issue 15), read back by a real browser
//! (`harness::browser`, Chromium with a dead proxy): the DOM Chromium builds shows what the
//! combined JSON report says about the sample; the page fetches nothing and runs nothing;
//! hostile strings from the subject and its repositories come out as text, never as markup;
//! a check that could not run says so with its reason; and a screenshot of the sample's
//! report (`UPDATE_SCREENSHOT=1` writes it to `docs/image-scan-report.png`).

use super::*;
use harness::browser;

/// Run image-scan with `--format html` and `--report html=FILE`: stdout, the file, status.
fn html_report(args: &[&str]) -> (String, Output) {
    let dir = harness::scratch::process_tempdir("image-scan-html");
    let file = dir.join("report.html");
    let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    all.extend(["--format".into(), "html".into(), "--report".into()]);
    all.push(format!("html={}", file.display()));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let out = image_scan(&refs);
    let stdout = String::from_utf8(out.stdout.clone()).expect("the report is UTF-8");
    let written = std::fs::read_to_string(&file).expect("--report html=FILE written");
    assert_eq!(written, stdout, "--report html=FILE holds the same bytes as stdout");
    (stdout, out)
}

/// The DOM Chromium builds from `html`.
fn dom(html: &str) -> String {
    let dir = harness::scratch::process_tempdir("image-scan-dom");
    let file = dir.join("report.html");
    std::fs::write(&file, html).unwrap();
    let dom = browser::dom_of(&file);
    assert!(dom.contains("</html>"), "Chromium gave no DOM:\n{dom}");
    dom
}

/// The inner HTML of every element whose start tag holds `marker` (e.g. `data-field="file"`),
/// in document order. Chromium serialises well-formed markup, so counting start and end
/// tags of the same name finds each element's end.
fn elements(html: &str, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = html[from..].find(marker).map(|i| i + from) {
        from = at + marker.len();
        let Some(open) = html[..at].rfind('<') else { continue };
        let start_tag_end = match html[at..].find('>') {
            Some(i) => at + i + 1,
            None => break,
        };
        let name: String = html[open + 1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            continue;
        }
        let (open_tag, close_tag) = (format!("<{name}"), format!("</{name}>"));
        let mut depth = 1;
        let mut pos = start_tag_end;
        let end = loop {
            let next_open = html[pos..].find(&open_tag).map(|i| i + pos);
            let next_close = html[pos..].find(&close_tag).map(|i| i + pos);
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    pos = o + open_tag.len();
                }
                (_, Some(c)) => {
                    depth -= 1;
                    pos = c + close_tag.len();
                    if depth == 0 {
                        break c;
                    }
                }
                _ => panic!("no end of <{name}> at {at}"),
            }
        };
        found.push(html[start_tag_end..end].to_string());
    }
    found
}

/// The text of an HTML fragment as a reader sees it: tags dropped (`<br>` as a space),
/// entities decoded, white space collapsed.
fn text(fragment: &str) -> String {
    let mut out = String::new();
    let mut rest = fragment;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let gt = rest[lt..].find('>').map_or(rest.len(), |i| lt + i + 1);
        if rest[lt..].starts_with("<br") {
            out.push(' ');
        }
        rest = &rest[gt..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every start tag of a serialised DOM or of the report: its name and its attributes (name,
/// raw value). (Both write `<` in text as `&lt;` and `"` in attribute values as `&quot;`, so
/// each `<` opens a tag and each quoted value ends at the next `"`.)
fn start_tags(dom: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut tags = Vec::new();
    let mut rest = dom;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        if !rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let name_end = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        let mut attributes = Vec::new();
        let mut tag = &rest[name_end..];
        loop {
            tag = tag.trim_start();
            if tag.is_empty() || tag.starts_with('>') || tag.starts_with("/>") {
                break;
            }
            let end = tag
                .find(|c: char| c == '=' || c == '>' || c.is_whitespace())
                .unwrap_or(tag.len());
            let attribute = tag[..end].to_ascii_lowercase();
            tag = &tag[end..];
            let mut value = String::new();
            if let Some(quoted) = tag.strip_prefix("=\"") {
                let close = quoted.find('"').expect("a quoted attribute value ends");
                value = quoted[..close].to_string();
                tag = &quoted[close + 1..];
            } else if let Some(bare) = tag.strip_prefix('=') {
                let end = bare.find(|c: char| c == '>' || c.is_whitespace()).unwrap_or(bare.len());
                value = bare[..end].to_string();
                tag = &bare[end..];
            }
            attributes.push((attribute, value));
        }
        rest = tag;
        tags.push((name, attributes));
    }
    tags
}

/// The texts of the elements holding `data-field="field"` inside `fragment`.
fn fields(fragment: &str, field: &str) -> Vec<String> {
    elements(fragment, &format!("data-field=\"{field}\""))
        .iter()
        .map(|e| text(e))
        .collect()
}

fn field(fragment: &str, field: &str) -> String {
    let all = fields(fragment, field);
    assert!(!all.is_empty(), "no data-field=\"{field}\" in\n{fragment}");
    all[0].clone()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn sample_args(s: &Sample) -> Vec<String> {
    vec![
        "--image".into(),
        s.image(),
        "--no-image-repos".into(),
        "--repo".into(),
        s.repo_arg(),
    ]
}

fn sample_report() -> &'static (String, String) {
    static REPORT: OnceLock<(String, String)> = OnceLock::new();
    REPORT.get_or_init(|| {
        let args = sample_args(sample());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (html, out) = html_report(&refs);
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let dom = dom(&html);
        (html, dom)
    })
}

#[test]
fn html_shows_what_the_json_report_says_about_the_sample() {
    let (_, dom) = sample_report();
    let doc = combined();
    let summary = s(&doc["Summary"]);
    assert!(
        summary.ends_with(": 1 update, 1 advisory (1 Moderate), 1 tampered file"),
        "{summary}"
    );
    let parts = elements(dom, "data-part=\"summary\"");
    assert_eq!(
        parts.iter().map(|p| text(p)).collect::<Vec<_>>(),
        vec![summary.to_string()]
    );
    assert!(
        dom.contains(&format!("<title>image-scan report: {}</title>", sample().image())),
        "the title names the image"
    );

    // The image's facts, as the JSON's Image object gives them.
    let facts = text(&elements(dom, "data-part=\"facts\"").concat());
    for key in ["Reference", "Manifest Digest", "Config Digest", "Platform"] {
        let v = s(&doc["Image"][key]);
        assert!(facts.contains(v), "{key} {v} missing from the facts: {facts}");
    }
    assert!(facts.contains("CentOS Linux 7"), "{facts}");

    // Each check ran, and says so.
    for check in ["verify", "updates", "advisories"] {
        let row = elements(dom, &format!("data-check=\"{check}\"")).concat();
        assert_eq!(field(&row, "state"), "CHECKED", "{check}");
        assert_eq!(doc["Scan Results"]["Checks"][check]["Ran"], true);
    }
    let policy = elements(dom, "data-check=\"policy\"").concat();
    assert_eq!(field(&policy, "state"), "NO BREACH");

    // Tampered files: rpm's flags, the file, its package, the layer that changed it.
    let verify = &doc["Scan Results"]["Checks"]["verify"]["Document"]["Results"];
    let rows = elements(dom, "data-row=\"tampered\"");
    assert_eq!(rows.len(), verify.as_array().unwrap().len());
    for (row, want) in rows.iter().zip(verify.as_array().unwrap()) {
        let c = &want["Custom"];
        assert_eq!(field(row, "flags"), s(&c["Issue"]));
        assert_eq!(field(row, "file"), s(&c["File"]));
        assert_eq!(field(row, "package"), s(&c["Package"]));
        assert_eq!(field(row, "layer-index"), format!("Layer {}", c["Layer"]["Index"]));
        assert_eq!(field(row, "created-by"), s(&c["Layer"]["Created By"]));
    }
    assert_eq!(field(&rows[0], "file"), "/usr/bin/curl");
    assert_eq!(field(&rows[0], "flags"), "S.5....T.");
    assert_eq!(field(&rows[0], "created-by"), "RUN patch /usr/bin/curl");

    // Updates, as dnf check-update lays them out.
    let updates = &doc["Scan Results"]["Checks"]["updates"]["Document"]["Results"];
    let rows = elements(dom, "data-row=\"update\"");
    assert_eq!(rows.len(), updates.as_array().unwrap().len());
    for (row, want) in rows.iter().zip(updates.as_array().unwrap()) {
        let c = &want["Custom"];
        assert_eq!(field(row, "package"), s(&c["Package"]));
        assert_eq!(field(row, "available"), s(&c["Available"]));
        assert_eq!(field(row, "repository"), s(&c["Repository"]));
        assert_eq!(field(row, "installed"), s(&c["Installed"]));
    }
    assert_eq!(field(&rows[0], "package"), "curl.x86_64");

    // Advisories: id, severity, CVEs, installed → fixed.
    let vulns = doc["Vulnerabilities"].as_array().unwrap();
    let rows = elements(dom, "data-row=\"advisory\"");
    assert_eq!(rows.len(), vulns.len());
    for (row, want) in rows.iter().zip(vulns) {
        let c = &want["Custom"];
        assert_eq!(field(row, "id"), s(&c["Advisory"]));
        assert_eq!(field(row, "severity"), s(&want["Severity"]));
        let cves: Vec<String> = c["CVEs"].as_array().unwrap().iter().map(|v| s(v).to_string()).collect();
        assert!(!cves.is_empty());
        assert_eq!(fields(row, "cve"), cves);
        let packages = c["Packages"].as_array().unwrap();
        assert_eq!(fields(row, "installed"), vec![s(&packages[0]["Installed"]).to_string()]);
        assert_eq!(fields(row, "fixed"), vec![s(&packages[0]["Fixed"]).to_string()]);
    }
    assert_eq!(field(&rows[0], "id"), "CESA-2020:5002");
}

/// No script, no embedded document or media, no event handler, no reference out of the
/// page: every link is `#` or `data:`, and no CSS (inline or in `<style>`) loads anything.
fn assert_self_contained(html: &str) {
    const EXTERNAL: [&str; 14] = [
        "script", "link", "iframe", "frame", "object", "embed", "base", "img", "picture", "audio", "video", "source",
        "form", "svg",
    ];
    const REFERENCES: [&str; 9] = [
        "src",
        "href",
        "action",
        "formaction",
        "srcset",
        "poster",
        "background",
        "data",
        "xlink:href",
    ];
    let local = |v: &str| v.starts_with('#') || v.starts_with("data:");
    let css_is_local = |css: &str| {
        let css = css.to_ascii_lowercase();
        assert!(!css.contains("@import"), "@import in {css}");
        css.match_indices("url(")
            .all(|(i, _)| local(css[i + 4..].trim_start_matches(['"', '\'', ' '])))
    };
    let tags = start_tags(html);
    assert!(!tags.is_empty());
    for (name, attributes) in &tags {
        assert!(!EXTERNAL.contains(&name.as_str()), "<{name}> in the report");
        for (attribute, value) in attributes {
            assert!(!attribute.starts_with("on"), "<{name} {attribute}> in the report");
            if REFERENCES.contains(&attribute.as_str()) {
                assert!(local(value), "<{name} {attribute}=\"{value}\"> leaves the page");
            }
            if attribute == "style" {
                assert!(css_is_local(value), "<{name} style=\"{value}\"> loads a resource");
            }
        }
    }
    let mut rest = html;
    while let Some(i) = rest.find("<style") {
        let end = rest[i..].find("</style>").map_or(rest.len(), |e| i + e);
        assert!(css_is_local(&rest[i..end]), "the <style> block loads a resource");
        rest = &rest[end..];
    }
}

#[test]
fn html_is_self_contained_and_renders_with_no_network() {
    let (html, dom) = sample_report();
    assert_self_contained(html);
    // The charset is declared before anything else in the head.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.find("<meta charset=\"utf-8\">") < html.find("<title>"));
    // Chromium, which could fetch nothing, built the whole page: every part and row the
    // report holds is in its DOM, and the page ends with its footer.
    for marker in ["data-part=\"", "data-row=\"", "data-check=\"", "data-field=\""] {
        assert_eq!(dom.matches(marker).count(), html.matches(marker).count(), "{marker}");
    }
    assert_eq!(elements(dom, "data-part=\"footer\"").len(), 1);
}

/// The elements the report itself writes (and Chromium's implied `tbody`).
const REPORT_ELEMENTS: [&str; 20] = [
    "html", "head", "meta", "title", "style", "body", "table", "tbody", "tr", "td", "th", "div", "span", "strong",
    "h3", "br", "details", "summary", "b", "a",
];

#[test]
fn hostile_strings_are_shown_as_text_never_as_markup() {
    let sample = sample();
    let base = harness::scratch::process_tempdir("image-scan-hostile");
    // Directory names cannot hold '/', so the closing tag spans two directories.
    let hostile = "x<script>alert(1)</script>\"&amp;'& <img src=x onerror=alert(1)>";
    let root = base.join(hostile);
    std::fs::create_dir_all(root.parent().unwrap()).unwrap();
    // A real root: the sample unpacked (its database, /usr/bin/curl tampered).
    let bundle = base.join("bundle");
    run_ok(
        Command::new("umoci")
            .args(["unpack", "--image", &format!("{}/layout:demo", sample.dir.display())])
            .arg(&bundle),
    );
    std::fs::rename(bundle.join("rootfs"), &root).unwrap();
    // And one with no package database: every check fails, naming the directory.
    let empty = base.join(format!("{hostile} empty"));
    std::fs::create_dir_all(&empty).unwrap();
    let repo_id = "<script>alert(1)</script>\"&amp;'<i>repo</i>";
    let repo = format!("{repo_id}=file://{}/repo", sample.dir.display());
    let (html, out) = html_report(&[
        "--rootfs",
        root.to_str().unwrap(),
        "--rootfs",
        empty.to_str().unwrap(),
        "--no-image-repos",
        "--repo",
        &repo,
    ]);
    assert_eq!(out.status.code(), Some(2), "the empty root could not be checked");
    assert_self_contained(&html);
    let dom = dom(&html);

    // Nothing the subject named became an element or an attribute: every element is one
    // the report writes, and no element has an event handler.
    let tags = start_tags(&dom);
    assert!(tags.len() > 100, "{tags:?}");
    for (name, attributes) in &tags {
        assert!(REPORT_ELEMENTS.contains(&name.as_str()), "<{name}> injected:\n{dom}");
        assert!(
            !attributes.iter().any(|(a, _)| a.starts_with("on") || a == "src"),
            "<{name} {attributes:?}> injected:\n{dom}"
        );
    }
    // The strings are shown literally.
    let names = fields(&dom, "name");
    assert_eq!(names, vec![root.display().to_string(), empty.display().to_string()]);
    let summaries: Vec<String> = elements(&dom, "data-part=\"summary\"")
        .iter()
        .map(|p| text(p))
        .collect();
    assert!(
        summaries[0].starts_with(&format!("{}: ", root.display())),
        "{summaries:?}"
    );
    assert!(
        summaries[0].ends_with("1 update, 1 advisory (1 Moderate), 1 tampered file"),
        "{summaries:?}"
    );
    assert!(
        summaries[1].starts_with(&format!("{}: ", empty.display())),
        "{summaries:?}"
    );
    let update = elements(&dom, "data-row=\"update\"");
    assert_eq!(update.len(), 1);
    assert_eq!(field(&update[0], "repository"), repo_id);
    assert_eq!(
        field(&elements(&dom, "data-row=\"tampered\"")[0], "file"),
        "/usr/bin/curl"
    );
    // The empty root's failures carry its path, as text.
    let failed = elements(&dom, "id=\"subject-2\"").concat();
    let reasons = fields(&failed, "reason");
    assert!(!reasons.is_empty(), "{failed}");
    assert!(
        reasons.iter().any(|r| r.contains(hostile)),
        "no reason names {hostile}: {reasons:?}"
    );
}

#[test]
fn a_check_that_could_not_run_is_shown_not_checked_with_its_reason() {
    let (html, out) = html_report(&["--image", &sample().image(), "--no-image-repos"]);
    assert_eq!(out.status.code(), Some(2));
    let json = image_scan(&["--image", &sample().image(), "--no-image-repos", "--format", "json"]);
    let doc = json_of(&json);
    let dom = dom(&html);
    let summary = text(&elements(&dom, "data-part=\"summary\"").concat());
    assert_eq!(summary, s(&doc["Summary"]));
    assert!(summary.contains("updates not checked") && summary.contains("advisories not checked"));
    assert!(dom.contains(">INCOMPLETE<"), "the subject is marked incomplete");
    for check in ["updates", "advisories"] {
        assert_eq!(doc["Scan Results"]["Checks"][check]["Ran"], false);
        let why = s(&doc["Scan Results"]["Checks"][check]["Summary"]);
        assert!(!why.is_empty());
        let row = elements(&dom, &format!("data-check=\"{check}\"")).concat();
        assert_eq!(field(&row, "state"), "NOT CHECKED", "{check}");
        let reason = field(&row, "reason");
        assert!(
            why.ends_with(&reason),
            "{check}: {reason:?} is not the document's {why:?}"
        );
        let error = s(&doc["Error"]);
        assert!(
            error.contains(&format!("{check}: {reason}")),
            "{check}: {reason:?} not in {error:?}"
        );
        // Its section is the failure, not an empty (clean-looking) table.
        let section = elements(&dom, &format!("data-part=\"not-checked-{check}\"")).concat();
        assert_eq!(field(&section, "reason"), reason, "{check}");
    }
    assert!(elements(&dom, "data-row=\"update\"").is_empty());
    assert!(elements(&dom, "data-row=\"advisory\"").is_empty());
    assert!(!dom.contains("No package has a newer version"));
    let verify = elements(&dom, "data-check=\"verify\"").concat();
    assert_eq!(field(&verify, "state"), "CHECKED");
}

#[test]
fn screenshot_of_the_sample_report() {
    // Scanned from inside the sample's folder, so the page names the image as its author
    // would (`oci:layout:demo`), not by this run's scratch path.
    let sample = sample();
    let out = Command::new(&harness::hostile::scanner_binaries().image_scan)
        .current_dir(&sample.dir)
        .args([
            "--image",
            "oci:layout:demo",
            "--no-image-repos",
            "--repo",
            "demo=repo",
            "--format",
            "html",
        ])
        .output()
        .expect("run image-scan");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let html = String::from_utf8(out.stdout).unwrap();
    let summary = text(&elements(&html, "data-part=\"summary\"").concat());
    let want = s(&combined()["Summary"]).replacen(&sample.image(), "oci:layout:demo", 1);
    assert_eq!(summary, want);
    let dir = harness::scratch::process_tempdir("image-scan-shot");
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();
    let png = dir.join("report.png");
    browser::screenshot(&page, &png, 1000, 1400);
    let bytes = std::fs::read(&png).expect("Chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        bytes.len() > 40 * 1024,
        "a {}-byte screenshot shows next to nothing",
        bytes.len()
    );
    if std::env::var_os("UPDATE_SCREENSHOT").is_some_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&png, docs.join("image-scan-report.png")).unwrap();
    }
}
