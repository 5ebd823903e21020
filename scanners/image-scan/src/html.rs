//! The HTML report: one self-contained page for the image's author, readable in a browser and
//! in a mail client. It owns the page's layout and styling and shows what [`crate::table`]
//! shows, per subject: the summary line, the image's facts, whether each check ran (a check
//! that could not run is shown as not checked, with why — never as clean), the `--fail-on`
//! breaches, then the tampered files, updates and advisories, and the installed packages.
//!
//! Mail clients drop scripts, external resources and often `<style>`: the page has no script,
//! fetches nothing (no image, font or stylesheet; the only links are `#` anchors), lays out
//! with tables and carries its styling inline on every element that matters; the `<style>`
//! block only adds what a browser can use.
//!
//! Every string comes from the image or its repositories and is hostile: each one goes
//! through [`escape`] before it is written, text and attribute values alike (attributes are
//! always double-quoted). The escaping is a few lines here rather than a crate: the small
//! HTML-escaping crates are either thin wrappers of the same five replacements or part of a
//! template engine, and neither is worth a dependency.

use crate::findings::{
    severity_rank, short_digest, Advisory, CheckResult, Findings, Layer, Suppressed, Tampered, Update,
};
use crate::inventory::Inventory;
use crate::options::Check;
use crate::run::{RunReport, SubjectReport};
use serde_json::Value;
use std::fmt::Write;

/// `s` as HTML text or a double-quoted attribute value. Control characters (which HTML
/// cannot carry) are shown as their visible Unicode pictures (`␀`, `␛`...), and bidirectional
/// overrides (which could make a file name read as another) as `�`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
            '\u{7f}' => out.push('\u{2421}'),
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

// The palette and the inline styles every mail client keeps.
const FONT: &str = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO: &str = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace";
const INK: &str = "#1e293b";
const MUTED: &str = "#64748b";
const RULE: &str = "#e2e8f0";
const TABLE: &str = "width:100%;border-collapse:collapse;font-size:13px";
const TH: &str = "text-align:left;padding:8px 10px;background:#f8fafc;border-bottom:2px solid #e2e8f0;\
                  color:#475569;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:0.04em;\
                  white-space:nowrap";
const TD: &str = "padding:8px 10px;border-bottom:1px solid #eef2f7;vertical-align:top;text-align:left";
const FACT: &str = "padding:5px 10px;border-bottom:1px solid #f1f5f9;vertical-align:top;text-align:left";
const H3: &str = "margin:26px 0 8px 0;font-size:15px;font-weight:600;color:#1e293b";

/// Colours of a status: (text, background, border).
#[derive(Clone, Copy)]
enum Tone {
    Good,
    Warn,
    Bad,
    Quiet,
}

impl Tone {
    fn colours(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Tone::Good => ("#166534", "#dcfce7", "#86efac"),
            Tone::Warn => ("#92400e", "#fef3c7", "#fcd34d"),
            Tone::Bad => ("#991b1b", "#fee2e2", "#fca5a5"),
            Tone::Quiet => ("#475569", "#f1f5f9", "#cbd5e1"),
        }
    }
}

/// A small rounded label; `text` is already HTML.
fn badge(tone: Tone, text: &str) -> String {
    let (fg, bg, border) = tone.colours();
    format!(
        "<span style=\"display:inline-block;padding:2px 8px;border-radius:10px;border:1px solid {border};\
         background:{bg};color:{fg};font-size:11px;font-weight:700;letter-spacing:0.04em;white-space:nowrap\">\
         {text}</span>"
    )
}

/// The colours of a severity: (text, background); unknown severities are grey.
fn severity_colours(severity: &str) -> (&'static str, &'static str) {
    match severity_rank(severity) {
        0 => ("#ffffff", "#7f1d1d"),
        1 => ("#ffffff", "#dc2626"),
        2 => ("#422006", "#fbbf24"),
        3 => ("#ffffff", "#64748b"),
        _ => ("#334155", "#e2e8f0"),
    }
}

fn severity_badge(severity: &str) -> String {
    let (fg, bg) = severity_colours(severity);
    let text = if severity.is_empty() { "unknown" } else { severity };
    format!(
        "<span data-field=\"severity\" style=\"display:inline-block;padding:2px 8px;border-radius:3px;\
         background:{bg};color:{fg};font-size:12px;font-weight:700;overflow-wrap:anywhere\">{}</span>",
        escape(text)
    )
}

fn mono(s: &str) -> String {
    format!("<span style=\"{MONO};font-size:12px\">{}</span>", escape(s))
}

/// The first `n` characters of `s`, never splitting one.
fn prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A layer cell: `Layer 2`, the build step that made it, its digest.
fn layer_cell(layer: Option<&Layer>) -> String {
    let Some(l) = layer else {
        return format!("<span style=\"color:{MUTED}\">—</span>");
    };
    let mut s = format!(
        "<span data-field=\"layer-index\" style=\"font-weight:600;white-space:nowrap\">Layer {}</span>",
        l.index
    );
    if let Some(c) = &l.created_by {
        let _ = write!(
            s,
            "<br><span data-field=\"created-by\" style=\"{MONO};font-size:11px;color:#334155;\
             overflow-wrap:anywhere\">{}</span>",
            escape(c)
        );
    }
    let _ = write!(
        s,
        "<br><span title=\"{}\" style=\"{MONO};font-size:11px;color:{MUTED}\">{}</span>",
        escape(&l.digest),
        escape(&short_digest(&l.digest))
    );
    s
}

/// The whole page for a run.
pub fn render(run: &RunReport) -> String {
    let mut out = String::with_capacity(16 * 1024);
    let title = match run.subjects {
        [(one, _)] => format!("image-scan report: {}", one.name),
        many => format!("image-scan report: {} subjects", many.len()),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"image-scan {version}\">\n<title>{title}</title>\n\
         <style>\n\
         body {{ margin:0; padding:0; background:#f1f5f9; color:{INK}; }}\n\
         table {{ border-collapse:collapse; }}\n\
         tr.row:hover td {{ background:#f8fafc; }}\n\
         details > summary {{ cursor:pointer; }}\n\
         @media print {{ body {{ background:#ffffff; }} }}\n\
         </style>\n</head>\n",
        version = env!("CARGO_PKG_VERSION"),
        title = escape(&title),
    );
    let _ = write!(
        out,
        "<body style=\"margin:0;padding:0;background:#f1f5f9;color:{INK};{FONT}\">\n\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"width:100%;background:#f1f5f9;{FONT}\"><tr><td align=\"center\" style=\"padding:24px 12px\">\n\
         <table role=\"presentation\" width=\"960\" cellpadding=\"0\" cellspacing=\"0\" \
         style=\"width:100%;max-width:960px;text-align:left\">\n"
    );
    header(&mut out, run);
    if run.subjects.len() > 1 {
        overview(&mut out, run);
    }
    for (i, (report, findings)) in run.subjects.iter().enumerate() {
        let breaches = run.breaches.get(i).map(Vec::as_slice).unwrap_or_default();
        subject(
            &mut out,
            i,
            report,
            findings,
            run.fail_on,
            breaches,
            run.documents.get(i),
        );
    }
    let _ = write!(
        out,
        "<tr><td data-part=\"footer\" style=\"padding:16px 4px;color:{MUTED};font-size:12px\">\
         Made by image-scan {} (rpm -Va, dnf check-update and dnf updateinfo on each subject, read once). \
         Every value above is as the image and its repositories state it.</td></tr>\n\
         </table>\n</td></tr></table>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn header(out: &mut String, run: &RunReport) {
    let scanned = run
        .subjects
        .first()
        .map(|(r, _)| r.start.0.format("%Y-%m-%d %H:%M:%S %:z").to_string())
        .unwrap_or_default();
    let subjects = crate::findings::count(run.subjects.len(), "subject", "subjects");
    let _ = writeln!(
        out,
        "<tr><td style=\"background:#0f172a;color:#f8fafc;padding:20px 24px;border-radius:8px 8px 0 0\">\
         <div style=\"font-size:12px;letter-spacing:0.08em;text-transform:uppercase;color:#94a3b8\">image-scan</div>\
         <div style=\"font-size:22px;font-weight:600;margin-top:2px;color:#f8fafc\">Container image scan report</div>\
         <div style=\"font-size:13px;color:#cbd5e1;margin-top:6px\">{subjects} · scanned {} · \
         tampered files (rpm -Va), updates (dnf check-update), advisories (dnf updateinfo)</div>\
         </td></tr>",
        escape(&scanned)
    );
}

/// Several subjects: one line each, linking to its section.
fn overview(out: &mut String, run: &RunReport) {
    let _ = write!(
        out,
        "<tr><td style=\"background:#ffffff;padding:16px 24px;border-bottom:1px solid {RULE}\">\
         <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"{TABLE}\">"
    );
    for (i, (report, findings)) in run.subjects.iter().enumerate() {
        let breaches = run.breaches.get(i).map(Vec::as_slice).unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td style=\"{TD};width:1%\">{}</td><td style=\"{TD}\">\
             <a href=\"#subject-{}\" style=\"color:{INK};text-decoration:none\">{}</a></td></tr>",
            status_badge(report, findings, breaches),
            i + 1,
            escape(&crate::json::summary(report, findings))
        );
    }
    out.push_str("</table></td></tr>\n");
}

/// What a subject's result comes to, as a badge.
fn status_badge(report: &SubjectReport, findings: &Findings, breaches: &[String]) -> String {
    if report.open_error.is_some() {
        badge(Tone::Bad, "NOT SCANNED")
    } else if !report.complete() {
        badge(Tone::Bad, "INCOMPLETE")
    } else if !breaches.is_empty() {
        badge(Tone::Bad, "POLICY BREACHED")
    } else {
        let n = findings.tampered.findings().len()
            + findings.updates.findings().len()
            + findings.advisories.findings().len();
        if n == 0 {
            badge(Tone::Good, "CLEAN")
        } else {
            badge(Tone::Warn, &escape(&crate::findings::count(n, "FINDING", "FINDINGS")))
        }
    }
}

fn subject(
    out: &mut String,
    i: usize,
    report: &SubjectReport,
    findings: &Findings,
    fail_on: &[String],
    breaches: &[String],
    doc: Option<&Value>,
) {
    // The first card hangs from the page header; the others stand apart.
    let (corners, top_border, margin) = if i == 0 {
        ("0 0 8px 8px", "0", "")
    } else {
        ("8px", "1px solid #e2e8f0", "<tr><td style=\"height:24px\"></td></tr>")
    };
    let _ = write!(
        out,
        "{margin}<tr><td id=\"subject-{n}\" data-part=\"subject\" style=\"background:#ffffff;padding:20px 24px 28px 24px;\
         border-radius:{corners};border:1px solid {RULE};border-top:{top_border}\">\n\
         <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%\"><tr>\
         <td style=\"vertical-align:middle\"><div data-field=\"name\" style=\"font-size:19px;font-weight:600;\
         color:{INK};overflow-wrap:anywhere\">{name}</div></td>\
         <td style=\"vertical-align:middle;text-align:right;width:1%;padding-left:12px\">{badge}</td></tr></table>\n\
         <div data-part=\"summary\" style=\"margin-top:12px;padding:12px 14px;background:#f8fafc;border-left:4px solid \
         {accent};font-size:15px;font-weight:600;color:{INK};overflow-wrap:anywhere\">{summary}</div>\n",
        n = i + 1,
        name = escape(&report.name),
        badge = status_badge(report, findings, breaches),
        accent = if report.complete() && breaches.is_empty() {
            "#3b82f6"
        } else {
            "#dc2626"
        },
        summary = escape(&crate::json::summary(report, findings)),
    );
    if let Some(doc) = doc {
        changes(out, doc);
    }
    if let Some(e) = &report.open_error {
        alert(out, "not-scanned", "Not scanned", e);
    } else {
        tiles(out, report, findings);
    }
    facts(out, report);
    checks(out, report, findings, fail_on, breaches);
    if report.open_error.is_none() {
        tampered(out, &findings.tampered);
        updates(out, &findings.updates);
        advisories(out, &findings.advisories);
        suppressed(out, &findings.suppressed);
        packages(out, &report.inventory);
    }
    out.push_str("</td></tr>\n");
}

/// What changed since the previous scan (`--state`): its lines, briefly, under the summary.
fn changes(out: &mut String, doc: &Value) {
    let lines = crate::changes::lines(doc);
    let Some((first, rest)) = lines.split_first() else {
        return;
    };
    let _ = write!(
        out,
        "<div data-part=\"changes\" style=\"margin-top:10px;padding:10px 14px;background:#eff6ff;\
         border-left:4px solid #60a5fa;font-size:13px;color:{INK};overflow-wrap:anywhere\">\
         <div style=\"font-weight:600\">{}</div>",
        escape(first)
    );
    for l in rest {
        let _ = write!(
            out,
            "<div style=\"{MONO};font-size:12px;margin-top:3px\">{}</div>",
            escape(l.trim())
        );
    }
    out.push_str("</div>\n");
}

/// One figure per check, the first thing the eye finds: how many findings, or that the check
/// could not run.
fn tiles(out: &mut String, report: &SubjectReport, f: &Findings) {
    out.push_str(
        "<table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"width:100%;margin-top:14px;\
         border-collapse:separate;border-spacing:0;table-layout:fixed\"><tr>",
    );
    let worst = f
        .advisories
        .findings()
        .iter()
        .map(|a| a.severity.as_str())
        .min_by_key(|s| severity_rank(s))
        .unwrap_or_default();
    let by_severity = crate::findings::severity_counts(f.advisories.findings())
        .into_iter()
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect::<Vec<_>>()
        .join(", ");
    for (i, c) in Check::ALL.into_iter().enumerate() {
        let selected = report.checks.contains(&c);
        let (label, _) = check_label(c);
        let (n, failed, found_colour, detail) = match c {
            Check::Verify => (
                count_of(&f.tampered),
                is_failed(&f.tampered),
                "#b91c1c",
                "rpm -Va".to_string(),
            ),
            Check::Updates => (
                count_of(&f.updates),
                is_failed(&f.updates),
                "#b45309",
                "dnf check-update".to_string(),
            ),
            Check::Advisories => (
                count_of(&f.advisories),
                is_failed(&f.advisories),
                match severity_rank(worst) {
                    0 | 1 => "#b91c1c",
                    2 => "#b45309",
                    _ => "#475569",
                },
                if by_severity.is_empty() {
                    "dnf updateinfo".to_string()
                } else {
                    by_severity.clone()
                },
            ),
        };
        let (figure, colour, note, bg, border) = if !selected {
            ("—".to_string(), MUTED, "not selected".to_string(), "#f8fafc", RULE)
        } else if failed || n.is_none() {
            (
                "—".to_string(),
                "#991b1b",
                "NOT CHECKED".to_string(),
                "#fef2f2",
                "#fca5a5",
            )
        } else {
            let n = n.unwrap_or_default();
            let colour = if n == 0 { "#166534" } else { found_colour };
            (n.to_string(), colour, detail, "#ffffff", RULE)
        };
        let gap = if i == 0 { "" } else { "padding-left:12px;" };
        let _ = write!(
            out,
            "<td style=\"{gap}vertical-align:top\"><div data-tile=\"{}\" style=\"border:1px solid {border};\
             border-radius:6px;background:{bg};padding:10px 14px\">\
             <div style=\"font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:0.05em;color:{MUTED}\">\
             {label}</div>\
             <div style=\"font-size:28px;font-weight:700;line-height:1.2;color:{colour}\">{figure}</div>\
             <div style=\"font-size:12px;color:{colour};white-space:nowrap;overflow:hidden;text-overflow:ellipsis\">\
             {}</div></div></td>",
            c.name(),
            escape(&note)
        );
    }
    out.push_str("</tr></table>\n");
}

fn count_of<T>(r: &CheckResult<T>) -> Option<usize> {
    match r {
        CheckResult::Found { findings, .. } => Some(findings.len()),
        _ => None,
    }
}

fn is_failed<T>(r: &CheckResult<T>) -> bool {
    matches!(r, CheckResult::Failed(_))
}

/// A prominent red box: `what`, then why.
fn alert(out: &mut String, part: &str, what: &str, why: &str) {
    let (fg, bg, border) = Tone::Bad.colours();
    let _ = writeln!(
        out,
        "<div data-part=\"{part}\" style=\"margin-top:12px;padding:12px 14px;background:{bg};border:1px solid {border};\
         border-left:4px solid #dc2626;color:{fg};font-size:14px;overflow-wrap:anywhere\">\
         <strong>{}</strong> <span data-field=\"reason\">{}</span></div>",
        escape(what),
        escape(why)
    );
}

fn heading(out: &mut String, text: &str, note: &str) {
    let _ = writeln!(
        out,
        "<h3 style=\"{H3}\">{}<span style=\"font-weight:400;color:{MUTED};font-size:13px\"> {}</span></h3>",
        escape(text),
        escape(note)
    );
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Key/value rows: the image (or directory), its OS, its packages, when it was scanned.
fn facts(out: &mut String, report: &SubjectReport) {
    let mut rows: Vec<(&str, String)> = Vec::new();
    match &report.image {
        Some(Value::Object(image)) => {
            let text = |key: &str| image.get(key).map(value_text).filter(|t| !t.is_empty());
            if let Some(r) = text("Reference") {
                let mut v = mono(&r);
                if let Some(t) = text("Transport") {
                    let _ = write!(v, "<span style=\"color:{MUTED}\"> · {} transport</span>", escape(&t));
                }
                rows.push(("Reference", v));
            }
            for (key, label) in [
                ("Manifest Digest", "Manifest digest"),
                ("Config Digest", "Config digest"),
            ] {
                if let Some(d) = text(key) {
                    rows.push((label, mono(&d)));
                }
            }
            let layers = text("Layers").map(|n| escape(&format!("{n} layers")));
            match (text("Platform"), layers) {
                (Some(p), Some(l)) => rows.push((
                    "Platform",
                    format!("{}<span style=\"color:{MUTED}\"> · {l}</span>", mono(&p)),
                )),
                (Some(p), None) => rows.push(("Platform", mono(&p))),
                (None, Some(l)) => rows.push(("Layers", l)),
                (None, None) => {}
            }
        }
        _ => rows.push(("Root filesystem", mono(&report.subject.dir.display().to_string()))),
    }
    let os = match report.inventory.os.as_ref() {
        Some(o) if !o.pretty_name.is_empty() => escape(&o.pretty_name),
        _ => format!("<span style=\"color:{MUTED}\">not stated (no os-release)</span>"),
    };
    rows.push(("Operating system", os));
    if report.open_error.is_none() {
        let mut p = escape(&crate::findings::count(
            report.inventory.packages.len(),
            "installed package",
            "installed packages",
        ));
        if let Some(e) = &report.inventory.error {
            let _ = write!(
                p,
                " <span style=\"color:#991b1b\">(the package database could not be read in full: {})</span>",
                escape(e)
            );
        }
        rows.push(("Packages", p));
    }
    rows.push((
        "Scanned",
        escape(&format!(
            "{} – {}",
            report.start.0.format("%Y-%m-%d %H:%M:%S %:z"),
            report.finished.0.format("%H:%M:%S")
        )),
    ));
    if report.image.is_none() {
        // An image's id is its config digest, shown above.
        rows.push(("Subject id", mono(&report.uuid)));
    }
    heading(out, if report.image.is_some() { "Image" } else { "Subject" }, "");
    let _ = write!(
        out,
        "<table data-part=\"facts\" role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" style=\"{TABLE}\">"
    );
    for (label, value) in rows {
        let _ = write!(
            out,
            "<tr><td style=\"{FACT};width:150px;color:{MUTED};white-space:nowrap\">{label}</td>\
             <td style=\"{FACT};overflow-wrap:anywhere\">{value}</td></tr>"
        );
    }
    out.push_str("</table>\n");
}

fn check_label(c: Check) -> (&'static str, &'static str) {
    match c {
        Check::Verify => ("Tampered files", "rpm -Va"),
        Check::Updates => ("Updates", "dnf check-update"),
        Check::Advisories => ("Advisories", "dnf updateinfo list"),
    }
}

/// The state of one check as (badge, detail), both HTML.
fn check_state<T>(selected: bool, r: &CheckResult<T>, n_label: (&str, &str)) -> (String, String) {
    match r {
        _ if !selected => (badge(Tone::Quiet, "NOT SELECTED"), "left out by --checks".to_string()),
        CheckResult::NotRun => (
            badge(Tone::Bad, "NOT CHECKED"),
            "<strong style=\"color:#991b1b\">the check stopped without a result</strong>".to_string(),
        ),
        CheckResult::Failed(why) => (
            badge(Tone::Bad, "NOT CHECKED"),
            format!(
                "<strong style=\"color:#991b1b\">could not run:</strong> \
                 <span data-field=\"reason\" style=\"color:#991b1b\">{}</span>",
                escape(why)
            ),
        ),
        CheckResult::Found { findings, summary } => (
            badge(Tone::Good, "CHECKED"),
            format!(
                "<strong>{}</strong> <span style=\"color:{MUTED}\">— {}</span>",
                escape(&crate::findings::count(findings.len(), n_label.0, n_label.1)),
                escape(summary)
            ),
        ),
    }
}

fn checks(out: &mut String, report: &SubjectReport, f: &Findings, fail_on: &[String], breaches: &[String]) {
    heading(out, "Checks", "");
    let _ = write!(
        out,
        "<table data-part=\"checks\" cellpadding=\"0\" cellspacing=\"0\" style=\"{TABLE};table-layout:fixed\">\
         <tr><th width=\"22%\" style=\"{TH};width:22%\">Check</th><th width=\"16%\" style=\"{TH};width:16%\">Status</th>\
         <th style=\"{TH}\">Result</th></tr>"
    );
    for c in Check::ALL {
        let selected = report.checks.contains(&c);
        let (state, detail) = match c {
            Check::Verify => check_state(selected, &f.tampered, ("tampered file", "tampered files")),
            Check::Updates => check_state(selected, &f.updates, ("update", "updates")),
            Check::Advisories => check_state(selected, &f.advisories, ("advisory", "advisories")),
        };
        let (label, tool) = check_label(c);
        let _ = write!(
            out,
            "<tr data-check=\"{}\"><td style=\"{TD};white-space:nowrap\"><strong>{label}</strong><br>\
             <span style=\"{MONO};font-size:11px;color:{MUTED}\">{tool}</span></td>\
             <td data-field=\"state\" style=\"{TD};white-space:nowrap\">{state}</td>\
             <td style=\"{TD};overflow-wrap:anywhere\">{detail}</td></tr>",
            c.name()
        );
    }
    // The policy, as the last row: what --fail-on asked and what this subject meets.
    let asked = if fail_on.is_empty() {
        format!("<span style=\"color:{MUTED}\">no --fail-on given</span>")
    } else {
        format!(
            "fail on <span style=\"{MONO};font-size:12px\">{}</span>",
            escape(&fail_on.join(", "))
        )
    };
    let (state, met) = if breaches.is_empty() {
        (
            badge(if fail_on.is_empty() { Tone::Quiet } else { Tone::Good }, "NO BREACH"),
            String::new(),
        )
    } else {
        (
            badge(Tone::Bad, "BREACHED"),
            format!(
                "<br><strong style=\"color:#991b1b\">breached:</strong> <span data-field=\"breaches\" \
                 style=\"color:#991b1b\">{}</span>",
                escape(&breaches.join(", "))
            ),
        )
    };
    let _ = writeln!(
        out,
        "<tr data-check=\"policy\"><td style=\"{TD};white-space:nowrap\"><strong>Policy</strong><br>\
         <span style=\"{MONO};font-size:11px;color:{MUTED}\">--fail-on</span></td>\
         <td data-field=\"state\" style=\"{TD};white-space:nowrap\">{state}</td>\
         <td style=\"{TD};overflow-wrap:anywhere\">{asked}{met}</td></tr></table>"
    );
}

/// The section of a check that could not run, or `None` when it ran (or was not selected).
fn not_checked<T>(out: &mut String, c: Check, r: &CheckResult<T>) -> bool {
    let (label, tool) = check_label(c);
    match r {
        CheckResult::Failed(why) => {
            heading(out, label, tool);
            alert(
                out,
                &format!("not-checked-{}", c.name()),
                &format!("{label} not checked:"),
                why,
            );
            true
        }
        CheckResult::NotRun => true,
        CheckResult::Found { .. } => false,
    }
}

fn nothing_found(out: &mut String, what: &str) {
    let (fg, _, _) = Tone::Good.colours();
    let _ = writeln!(
        out,
        "<div style=\"padding:8px 0;color:{fg};font-size:13px\">✓ {}</div>",
        escape(what)
    );
}

/// A findings table's head: each column with its share of the width (a fixed layout, so a
/// long name wraps inside its column instead of widening the page).
fn table_head(out: &mut String, part: &str, columns: &[(&str, u32)]) {
    let _ = write!(
        out,
        "<table data-part=\"{part}\" cellpadding=\"0\" cellspacing=\"0\" style=\"{TABLE};table-layout:fixed\"><tr>"
    );
    for (c, width) in columns {
        let _ = write!(out, "<th width=\"{width}%\" style=\"{TH};width:{width}%\">{c}</th>");
    }
    out.push_str("</tr>");
}

fn tampered(out: &mut String, r: &CheckResult<Tampered>) {
    if not_checked(out, Check::Verify, r) {
        return;
    }
    let (label, tool) = check_label(Check::Verify);
    heading(out, label, tool);
    let rows = r.findings();
    if rows.is_empty() {
        nothing_found(out, "Every packaged file is as its package installed it.");
        return;
    }
    table_head(
        out,
        "tampered",
        &[
            ("Flags", 12),
            ("File", 28),
            ("Package", 26),
            ("Config", 8),
            ("Layer", 26),
        ],
    );
    for t in rows {
        let file = match &t.file {
            Some(p) => format!(
                "<span data-field=\"file\" style=\"{MONO};font-size:12px;overflow-wrap:anywhere\">{}</span>",
                escape(p)
            ),
            None => format!("<span data-field=\"file\" style=\"color:{MUTED}\">(database record)</span>"),
        };
        let config = if t.config {
            format!(
                "<span data-field=\"config\" title=\"a configuration file\" style=\"{MONO};font-weight:700\">c</span>"
            )
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<tr class=\"row\" data-row=\"tampered\">\
             <td style=\"{TD}\"><span data-field=\"flags\" style=\"{MONO};font-size:12px;overflow-wrap:anywhere;\
             font-weight:700;color:#b91c1c\">{}</span></td>\
             <td style=\"{TD}\">{file}</td>\
             <td data-field=\"package\" style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">{}</td>\
             <td style=\"{TD};text-align:center\">{config}</td>\
             <td style=\"{TD}\">{}</td></tr>",
            escape(&t.issue),
            escape(&t.package),
            layer_cell(t.layer.as_ref())
        );
    }
    let _ = write!(
        out,
        "</table>\n<div style=\"margin-top:6px;color:{MUTED};font-size:11px\">Flags as rpm -V prints them: \
         <b>S</b> size, <b>M</b> mode, <b>5</b> digest, <b>D</b> device, <b>L</b> link target, <b>U</b> owner, \
         <b>G</b> group, <b>T</b> modification time, <b>P</b> capabilities; <b>.</b> unchanged. \
         <b>c</b>: a configuration file.</div>\n"
    );
}

fn updates(out: &mut String, r: &CheckResult<Update>) {
    if not_checked(out, Check::Updates, r) {
        return;
    }
    let (label, tool) = check_label(Check::Updates);
    heading(out, label, tool);
    let rows = r.findings();
    if rows.is_empty() {
        nothing_found(out, "No package has a newer version in the repositories.");
        return;
    }
    table_head(
        out,
        "updates",
        &[
            ("Package", 19),
            ("Available", 20),
            ("Repository", 13),
            ("Installed", 22),
            ("Layer", 26),
        ],
    );
    for u in rows {
        let installed = if u.obsoletes {
            format!(
                "<span style=\"color:{MUTED}\">obsoletes</span> <span data-field=\"installed\" \
                 style=\"{MONO};font-size:12px\">{}</span>",
                escape(&u.installed)
            )
        } else {
            format!(
                "<span data-field=\"installed\" style=\"{MONO};font-size:12px\">{}</span>",
                escape(&u.installed)
            )
        };
        let _ = write!(
            out,
            "<tr class=\"row\" data-row=\"update\">\
             <td data-field=\"package\" style=\"{TD};{MONO};font-size:12px;font-weight:700;overflow-wrap:anywhere\">{}</td>\
             <td data-field=\"available\" style=\"{TD};{MONO};font-size:12px;color:#166534;font-weight:700;\
             overflow-wrap:anywhere\">{}</td>\
             <td data-field=\"repository\" style=\"{TD};overflow-wrap:anywhere\">{}</td>\
             <td style=\"{TD};overflow-wrap:anywhere\">{installed}</td>\
             <td style=\"{TD}\">{}</td></tr>",
            escape(&u.package),
            escape(&u.available),
            escape(&u.repository),
            layer_cell(u.layer.as_ref())
        );
    }
    out.push_str("</table>\n");
}

fn advisories(out: &mut String, r: &CheckResult<Advisory>) {
    if not_checked(out, Check::Advisories, r) {
        return;
    }
    let (label, tool) = check_label(Check::Advisories);
    heading(out, label, tool);
    let mut rows: Vec<&Advisory> = r.findings().iter().collect();
    if rows.is_empty() {
        nothing_found(out, "No advisory applies to the installed packages.");
        return;
    }
    rows.sort_by(|a, b| (severity_rank(&a.severity), &a.id).cmp(&(severity_rank(&b.severity), &b.id)));
    table_head(
        out,
        "advisories",
        &[
            ("Advisory", 22),
            ("Severity", 11),
            ("CVEs", 14),
            ("Installed → fixed", 29),
            ("Layer", 24),
        ],
    );
    for a in rows {
        let (_, edge) = severity_colours(&a.severity);
        let span = a.packages.len().max(1);
        let cves = if a.cves.is_empty() {
            format!("<span style=\"color:{MUTED}\">none named</span>")
        } else {
            a.cves
                .iter()
                .map(|c| {
                    format!(
                        "<span data-field=\"cve\" style=\"{MONO};font-size:12px;overflow-wrap:anywhere\">{}</span>",
                        escape(c)
                    )
                })
                .collect::<Vec<_>>()
                .join("<br>")
        };
        let kind = if a.kind.is_empty() {
            String::new()
        } else {
            format!(
                "<br><span data-field=\"type\" style=\"color:{MUTED};font-size:11px\">{}</span>",
                escape(&a.kind)
            )
        };
        let _ = write!(
            out,
            "<tr class=\"row\" data-row=\"advisory\">\
             <td rowspan=\"{span}\" style=\"{TD};border-left:4px solid {edge}\">\
             <span data-field=\"id\" style=\"{MONO};font-size:12px;font-weight:700;overflow-wrap:anywhere\">{}</span>\
             <br><span data-field=\"title\" style=\"color:#334155\">{}</span></td>\
             <td rowspan=\"{span}\" style=\"{TD};overflow-wrap:anywhere\">{}{kind}</td>\
             <td rowspan=\"{span}\" style=\"{TD}\">{cves}</td>",
            escape(&a.id),
            escape(&a.title),
            severity_badge(&a.severity),
        );
        if a.packages.is_empty() {
            let _ = write!(out, "<td style=\"{TD}\"></td><td style=\"{TD}\"></td></tr>");
        }
        for (i, p) in a.packages.iter().enumerate() {
            if i > 0 {
                out.push_str("<tr class=\"row\" data-row=\"advisory-package\">");
            }
            // A fixed build in green; a Red Hat VEX finding without one says why, in red.
            let fix_colour = if p.has_fix() { "#166534" } else { "#991b1b" };
            let _ = write!(
                out,
                "<td data-field=\"package\" style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">\
                 <span data-field=\"installed\">{}</span><br>→ <span data-field=\"fixed\" \
                 style=\"color:{fix_colour};font-weight:700\">{}</span></td>\
                 <td style=\"{TD}\">{}</td></tr>",
                escape(&p.installed),
                escape(&p.fix_text()),
                layer_cell(p.layer.as_ref())
            );
        }
    }
    out.push_str("</table>\n");
}

/// What the image author's VEX statements took out of the advisories, and why.
fn suppressed(out: &mut String, rows: &[Suppressed]) {
    if rows.is_empty() {
        return;
    }
    heading(
        out,
        &format!("Suppressed by the image's VEX statements ({})", rows.len()),
        "--vex: declared not affected",
    );
    table_head(
        out,
        "suppressed",
        &[
            ("Advisory", 22),
            ("CVE", 16),
            ("Package", 28),
            ("Justification", 20),
            ("Finding", 14),
        ],
    );
    for x in rows {
        let _ = write!(
            out,
            "<tr class=\"row\" data-row=\"suppressed\">\
             <td data-field=\"id\" style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">{}</td>\
             <td data-field=\"cve\" style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">{}</td>\
             <td data-field=\"package\" style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">{}</td>\
             <td data-field=\"justification\" style=\"{TD};overflow-wrap:anywhere\">{}</td>\
             <td data-field=\"finding\" style=\"{TD};color:{MUTED}\">{}</td></tr>",
            escape(&x.advisory),
            escape(&x.cve),
            escape(&x.package),
            escape(&x.justification),
            escape(&x.finding),
        );
    }
    out.push_str("</table>\n");
}

/// The installed packages, folded away (a client without `<details>` shows them open).
fn packages(out: &mut String, inventory: &Inventory) {
    if inventory.packages.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<details data-part=\"packages\" style=\"margin-top:26px\"><summary style=\"font-size:15px;font-weight:600;\
         color:{INK}\">Installed packages <span style=\"font-weight:400;color:{MUTED};font-size:13px\">({})</span>\
         </summary>",
        inventory.packages.len()
    );
    table_head(
        out,
        "package-list",
        &[("Name", 28), ("Version", 24), ("Arch", 10), ("Layer", 38)],
    );
    for p in &inventory.packages {
        let layer = match &p.layer {
            Some(l) => {
                let step = l.created_by.as_deref().unwrap_or_default();
                format!(
                    "Layer {}<span style=\"color:{MUTED}\"> {}</span>",
                    l.index,
                    escape(prefix(step, 80))
                )
            }
            None => String::new(),
        };
        let _ = write!(
            out,
            "<tr class=\"row\"><td style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">{}</td>\
             <td style=\"{TD};{MONO};font-size:12px;overflow-wrap:anywhere\">{}</td>\
             <td style=\"{TD};{MONO};font-size:12px\">{}</td><td style=\"{TD};font-size:12px\">{layer}</td></tr>",
            escape(&p.name),
            escape(&p.evr()),
            escape(p.arch.as_deref().unwrap_or("(none)")),
        );
    }
    out.push_str("</table></details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup() {
        assert_eq!(
            escape("<script>alert(1)</script>\"'&"),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"
        );
        assert_eq!(
            escape("a\u{0}b\u{1b}\u{7f}\u{202e}"),
            "a\u{2400}b\u{241b}\u{2421}\u{fffd}"
        );
        assert_eq!(escape("Ünïcode ✓"), "Ünïcode ✓");
    }

    use crate::findings::AdvisoryPackage;
    use atomic_protocol::document::ScanTime;
    use atomic_protocol::subjects::Subject;

    const EVIL: &str = "<script>alert(1)</script>\"'&<img src=x onerror=alert(1)>\u{1b}[31m\u{202e}";

    fn layer() -> Option<Layer> {
        Some(Layer {
            index: 7,
            digest: "sha256:ééééééééééééééééé<u>".to_string(),
            created_by: Some(EVIL.to_string()),
        })
    }

    fn report(name: &str, checks: Vec<Check>, open_error: Option<String>) -> SubjectReport {
        SubjectReport {
            subject: Subject {
                folder: name.into(),
                dir: name.into(),
                image: None,
            },
            name: name.to_string(),
            image: Some(serde_json::json!({ "Reference": EVIL, "Layers": 3, "Platform": null })),
            labels: Default::default(),
            uuid: EVIL.to_string(),
            start: ScanTime::now(),
            finished: ScanTime::now(),
            open_error,
            checks,
            documents: Vec::new(),
            inventory: Inventory::default(),
        }
    }

    /// Every path of the page with hostile text in every field: nothing but escaped text.
    #[test]
    fn hostile_findings_are_only_text() {
        let advisory = |id: &str, severity: &str, packages: usize| Advisory {
            id: format!("{id}{EVIL}"),
            title: EVIL.to_string(),
            severity: severity.to_string(),
            kind: EVIL.to_string(),
            cves: vec![EVIL.to_string(), String::new()],
            packages: (0..packages)
                .map(|i| AdvisoryPackage {
                    installed: EVIL.to_string(),
                    // The second package has no fix: its status is shown instead.
                    fixed: if i == 1 { String::new() } else { EVIL.to_string() },
                    layer: layer(),
                    status: (i == 1).then(|| EVIL.to_string()),
                })
                .collect(),
        };
        let found = Findings {
            tampered: CheckResult::Found {
                findings: vec![
                    Tampered {
                        file: Some(EVIL.to_string()),
                        issue: EVIL.to_string(),
                        package: EVIL.to_string(),
                        config: true,
                        layer: layer(),
                    },
                    Tampered {
                        file: None,
                        issue: String::new(),
                        package: String::new(),
                        config: false,
                        layer: None,
                    },
                ],
                summary: EVIL.to_string(),
            },
            updates: CheckResult::Found {
                findings: vec![Update {
                    package: EVIL.to_string(),
                    available: EVIL.to_string(),
                    repository: EVIL.to_string(),
                    installed: EVIL.to_string(),
                    obsoletes: true,
                    layer: layer(),
                }],
                summary: EVIL.to_string(),
            },
            advisories: CheckResult::Found {
                findings: vec![
                    advisory("LOW-", "Low", 1),
                    advisory("ODD-", EVIL, 0),
                    advisory("CRIT-", "critical", 2),
                ],
                summary: EVIL.to_string(),
            },
            suppressed: vec![crate::findings::Suppressed {
                advisory: EVIL.to_string(),
                cve: EVIL.to_string(),
                package: EVIL.to_string(),
                justification: EVIL.to_string(),
                finding: EVIL.to_string(),
            }],
        };
        let failed = Findings {
            tampered: CheckResult::NotRun,
            updates: CheckResult::Failed(EVIL.to_string()),
            advisories: CheckResult::NotRun,
            suppressed: Vec::new(),
        };
        let subjects = vec![
            (report(EVIL, Check::ALL.to_vec(), None), found),
            (
                report("second", vec![Check::Updates, Check::Advisories], None),
                failed.clone(),
            ),
            (report("third", Check::ALL.to_vec(), Some(EVIL.to_string())), failed),
        ];
        let fail_on = vec![EVIL.to_string()];
        // One breach list short: the page must not depend on the lists lining up.
        let breaches = vec![vec![EVIL.to_string()]];
        let page = render(&RunReport {
            subjects: &subjects,
            documents: &[],
            fail_on: &fail_on,
            breaches: &breaches,
        });
        let escaped = escape(EVIL);
        assert!(escaped.starts_with("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;img"));
        for raw in ["<script", "<img", "<u>", "\u{1b}", "\u{202e}"] {
            assert!(!page.contains(raw), "{raw:?} unescaped");
        }
        assert!(page.matches(escaped.as_str()).count() > 30);
        // Highest severity first, whatever its case; unknown severities last.
        let at = |id: &str| page.find(&format!(">{id}&lt;script")).unwrap_or(usize::MAX);
        assert!(at("CRIT-") < at("LOW-") && at("LOW-") < at("ODD-"), "severity order");
        assert!(page.contains("rowspan=\"2\""));
        assert!(page.contains("(database record)"));
        assert!(page.contains("no fix: &lt;script"), "a package without a fix says why");
        assert!(page.contains("data-part=\"suppressed\"") && page.contains("VEX statements (1)"));
        assert!(page.contains("sha256:éééééééééééé<"), "the digest is cut on characters");
        // The second subject: one check not selected, one failed, one without a document.
        assert!(page.contains("NOT SELECTED"));
        assert!(page.contains("the check stopped without a result"));
        assert!(page.contains("data-part=\"not-checked-updates\""));
        // The third was not opened at all.
        assert!(page.contains("data-part=\"not-scanned\""));
        assert!(page.contains("NOT SCANNED"));
        assert!(page.contains("href=\"#subject-3\""));
        assert!(page.ends_with("</html>\n"));
    }

    #[test]
    fn an_empty_run_is_still_a_page() {
        let page = render(&RunReport {
            subjects: &[],
            documents: &[],
            fail_on: &[],
            breaches: &[],
        });
        assert!(page.contains("<title>image-scan report: 0 subjects</title>"));
        assert!(page.ends_with("</html>\n"));
    }
}
