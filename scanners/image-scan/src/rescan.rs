//! The re-scan step of a run with `--state`: each subject's previous report found
//! ([`crate::state`]), its `Changes` ([`crate::changes`]) added to the combined document,
//! its notifications ([`crate::notify`]) queued and then delivered. This module owns the
//! order of those steps, which is what makes a report impossible to lose:
//!
//! 1. every message is written to `DIR/pending` first;
//! 2. then the subject's report is saved as its last one (only when every check ran: an
//!    incomplete scan keeps the previous report, so nothing is compared against a gap; and
//!    only when its messages were queued: else the next run finds the same changes);
//! 3. then each pending message of the run's subjects (this run's and any an earlier run
//!    could not deliver, oldest first) is claimed, delivered and removed, or put back.
//!
//! A process that dies between the steps leaves the message pending, delivered by the next
//! run of the subject. Each message carries its change's key ([`change_key`]): processes
//! that scanned the same subject at once, from the same previous report, queue the same
//! change, and [`crate::state`] lets only one of them tell it. A subject
//! that could not be opened has no `Changes` and no message (its report says why; the exit
//! status is 2).

use crate::changes::Changes;
use crate::findings::Findings;
use crate::notify::{Notifier, When};
use crate::run::{RunReport, SubjectReport};
use crate::state::{Delivery, StateDir};
use serde_json::{json, Value};

/// What the step did, for the run's output and exit status.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Lines for standard error: corrupt records, delivery failures, skipped mails.
    pub messages: Vec<String>,
    /// A message could not be delivered or a record not written (exit status 2).
    pub failed: bool,
}

/// The mail's subject line: `[image-scan] app:1.4: 2 new advisories (1 Critical), 1 new
/// update`; a first scan names everything found, an unchanged subject says so.
pub fn subject_line(name: &str, changes: &Changes, findings: &Findings) -> String {
    let what = if changes.first_scan {
        findings.summary_line()
    } else if changes.any() {
        changes.summary()
    } else {
        format!("no changes ({})", findings.summary_line())
    };
    format!("[image-scan] {name}: {what}")
}

/// The key of one change of one subject: the SHA-256 of the reference and the `Changes`
/// (which name the previous report by its record id, and list every finding that came or
/// went). Two runs that compared the same previous report with the same findings made the
/// same change, whatever the time they ran; two runs one after the other compared different
/// reports, so `--notify always` still tells each run.
pub fn change_key(reference: &str, changes: &Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(reference.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(changes).unwrap_or_default());
    crate::state::hex(&h.finalize())
}

/// Steps 1 and 2 for every subject: `docs` get their `Changes`.
pub fn record(state: &StateDir, notifier: Option<&Notifier>, run: &mut RunParts<'_>, out: &mut Outcome) {
    let mut changes: Vec<Option<Changes>> = Vec::new();
    for ((report, _), doc) in run.subjects.iter().zip(run.documents.iter_mut()) {
        if report.open_error.is_some() {
            changes.push(None);
            continue;
        }
        let mut warnings = Vec::new();
        let digest = report
            .image
            .as_ref()
            .and_then(|i| i.get("Config Digest"))
            .and_then(Value::as_str);
        let previous = state.previous(&report.name, digest, &mut warnings);
        let c = Changes::between(previous.as_ref(), doc);
        if let Value::Object(m) = doc {
            m.insert("Changes".into(), c.to_value());
        }
        out.messages
            .extend(warnings.into_iter().map(|w| format!("{}: {w}", report.name)));
        changes.push(Some(c));
    }
    for (i, ((report, findings), c)) in run.subjects.iter().zip(&changes).enumerate() {
        let Some(c) = c else { continue };
        let doc = &run.documents[i];
        let mut queued = true;
        if let Some(n) = notifier {
            let wanted = match n.when {
                When::Always => true,
                When::Changes => c.any(),
                When::Never => false,
            };
            if wanted {
                let one = RunReport {
                    subjects: &run.subjects[i..=i],
                    documents: &run.documents[i..=i],
                    fail_on: run.fail_on,
                    breaches: &run.breaches[i..=i],
                };
                let text = mail_text(&one);
                let html = crate::html::render(&one);
                let line = subject_line(&report.name, c, findings);
                let mut notes = Vec::new();
                let about = crate::notify::About {
                    reference: &report.name,
                    subject_line: &line,
                    doc,
                    text: &text,
                    html: &html,
                    labels: &report.labels,
                };
                let key = change_key(&report.name, &c.to_value());
                for (channel, mut message) in n.messages(&about, &mut notes) {
                    message["Change Key"] = json!(key);
                    if let Err(e) = state.add_pending(&report.name, channel, &message) {
                        out.messages
                            .push(format!("{}: {channel} not queued, not sent: {e}", report.name));
                        out.failed = true;
                        queued = false;
                    }
                }
                out.messages
                    .extend(notes.into_iter().map(|w| format!("{}: {w}", report.name)));
            }
        }
        if !queued {
            // Keep the previous report: the next run finds the same changes and tells them.
            out.messages.push(format!(
                "{}: a notification could not be queued: the previous state is kept",
                report.name
            ));
        } else if report.complete() {
            if let Err(e) = state.save(&report.name, doc) {
                out.messages.push(format!("{}: {e}", report.name));
                out.failed = true;
            }
        } else {
            out.messages.push(format!(
                "{}: not every check ran: the previous state is kept",
                report.name
            ));
        }
    }
}

/// Step 3: deliver every pending message of the run's subjects. Each subject's document
/// gets `Notifications`: what was delivered and what is still pending, and why. A run
/// without the channel a message was made for (no `--notify`, or only `--smtp` for a
/// webhook's message) leaves it pending and says so: not a failure of this run, which did not
/// try.
pub fn deliver(state: &StateDir, notifier: Option<&Notifier>, run: &mut RunParts<'_>, out: &mut Outcome) {
    let Some(notifier) = notifier else {
        for (report, _) in run.subjects {
            let n = state.count_pending(&report.name);
            if n > 0 {
                out.messages.push(format!(
                    "{}: {n} notification(s) pending in the state, delivered by a run with --webhook or --smtp",
                    report.name
                ));
            }
        }
        return;
    };
    for ((report, _), doc) in run.subjects.iter().zip(run.documents.iter_mut()) {
        let mut warnings = Vec::new();
        let claimed = state.claim_pending(&report.name, &mut warnings);
        out.messages
            .extend(warnings.into_iter().map(|w| format!("{}: {w}", report.name)));
        let mut notes = Vec::new();
        for c in claimed {
            let channel = c.message.get("Channel").cloned().unwrap_or_default();
            let subject = c.message.get("Subject").cloned().unwrap_or_default();
            let name = channel.as_str().unwrap_or_default();
            if !notifier.handles(name) {
                let kept = match state.release(&c) {
                    Ok(()) => "kept for a run with it".to_string(),
                    Err(e) => format!("and could not be kept: {e}"),
                };
                out.messages.push(format!(
                    "{}: a {name:?} notification is pending; this run has no such channel ({kept})",
                    report.name
                ));
                continue;
            }
            let entry = match state.begin_delivery(&c) {
                Ok(Delivery::Go { entry }) => entry,
                Ok(Delivery::Copy { why }) => {
                    out.messages
                        .push(format!("{}: a {name} notification not sent: {why}", report.name));
                    continue;
                }
                Err(e) => {
                    let kept = match state.release(&c) {
                        Ok(()) => "kept for the next run".to_string(),
                        Err(e) => format!("and could not be kept: {e}"),
                    };
                    out.messages.push(format!("{}: {e}: not sent ({kept})", report.name));
                    out.failed = true;
                    continue;
                }
            };
            match notifier.deliver(&c.message) {
                Ok(to) => {
                    if let Err(e) = state.finish_delivery(&c, entry.as_deref(), true) {
                        out.messages
                            .push(format!("{}: {e} (it may be delivered again)", report.name));
                    }
                    notes.push(json!({ "Channel": channel, "Subject": subject, "Delivered": true, "To": to }));
                }
                Err(why) => {
                    let kept = match state.finish_delivery(&c, entry.as_deref(), false) {
                        Ok(()) => "kept for the next run".to_string(),
                        Err(e) => format!("and could not be kept: {e}"),
                    };
                    out.messages.push(format!(
                        "{}: {} not delivered: {why} ({kept})",
                        report.name,
                        channel.as_str().unwrap_or("notification")
                    ));
                    out.failed = true;
                    notes.push(json!({ "Channel": channel, "Subject": subject, "Delivered": false, "Error": why }));
                }
            }
        }
        if !notes.is_empty() {
            if let Value::Object(m) = doc {
                m.insert("Notifications".into(), Value::Array(notes));
            }
        }
    }
}

/// The run's parts the step reads and the documents it adds to.
pub struct RunParts<'a> {
    pub subjects: &'a [(SubjectReport, Findings)],
    pub documents: &'a mut [Value],
    pub fail_on: &'a [String],
    pub breaches: &'a [Vec<String>],
}

/// A mail's text part: the summary, what changed, then the tables.
fn mail_text(run: &RunReport) -> String {
    let mut s = String::new();
    for doc in run.documents {
        for l in crate::changes::lines(doc) {
            s.push_str(&l);
            s.push('\n');
        }
    }
    s.push('\n');
    s.push_str(&crate::table::render(run.subjects, false));
    s
}
