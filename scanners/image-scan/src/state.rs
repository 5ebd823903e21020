//! `--state DIR`: what the last run of each subject found, and the notifications not yet
//! delivered. This module owns the directory's layout and every read and write in it.
//!
//! ```text
//! DIR/by-reference/<sha256 of the reference>.json   the last combined report of a reference
//! DIR/by-digest/<config digest hex>.json             the last combined report of an image
//! DIR/pending/<sha256 of the reference>.<time>.<channel>.<id>.json
//!                                                    a notification not delivered yet
//! DIR/sent/<sha256 of the reference>/<change key>.<channel>.json
//!                                                    a change told (or being told) on a channel
//! DIR/tmp/                                           files being written (renamed from here)
//! ```
//! Each record is `{"State Version": 1, "Reference", "Config Digest", "Manifest Digest",
//! "Saved", "Record Id", "Report": the combined document}`; the record id (a random UUID)
//! names the report a later run compares with, so two runs that compared with the same report
//! made the same change ([`crate::rescan::change_key`]) even when saved in the same second.
//!
//! Why files and not a database: several processes, often pods on different machines, share
//! DIR, and the volume they share is typically a network filesystem (an NFS-backed
//! ReadWriteMany claim). SQLite's locking is unreliable there (its own documentation says so),
//! while a rename within one directory is atomic on every POSIX filesystem and on NFS. Every
//! record is one file, written whole under a unique temporary name in `DIR/tmp` (same
//! filesystem) and renamed into place: a reader sees the old record or the new one, never a
//! torn one, and two writers of the same record leave one of the two complete records (both
//! are whole reports of the same subject). Nothing is locked; no process waits on another.
//! A pending notification is claimed by renaming it to a name of the claiming process, so
//! two processes never deliver the same one; a claim older than an hour (its process died
//! before delivering) is taken over by the next run.
//!
//! Several processes scanning the same subject at once each find the same change (they read
//! the same previous report) and each queue a message about it. Each message carries the
//! change's key (see [`crate::rescan::change_key`]); before a message is delivered its key is
//! entered in `DIR/sent` by exclusive creation (`O_EXCL`, atomic on local filesystems and on
//! NFS v3 and later), and a message whose key is there already is a copy: dropped, not sent.
//! The entry says `Delivering` until the delivery succeeded (then `Delivered`); a failed
//! delivery removes it and puts the message back, and a `Delivering` entry older than a claim
//! can be (its process died mid-delivery) is taken over, so a change is told once and never
//! lost. Entries are pruned after [`SENT_KEPT`].
//!
//! The records are input like any other: a file that cannot be read or parsed is reported and
//! then replaced by the next record written, never trusted and never a crash.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const STATE_VERSION: u64 = 1;
/// A record larger than this is not read (a report is a few hundred KiB at most).
const MAX_RECORD: u64 = 256 * 1024 * 1024;

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

/// A subject's previous report, and how it was found.
#[derive(Debug, Clone)]
pub struct Previous {
    pub report: Value,
    pub saved: String,
    /// The record's `Record Id` (none in a record written before ids were kept).
    pub id: Option<String>,
    /// `reference` (the same reference was scanned before) or `digest` (another reference
    /// of the same image was).
    pub found_by: &'static str,
}

/// A notification waiting in `DIR/pending`, claimed by this process.
#[derive(Debug)]
pub struct Claimed {
    pub path: PathBuf,
    original: PathBuf,
    pub message: Value,
}

/// The hex SHA-256 of a reference: its file name (a reference may hold `/`, `:`, `@`).
pub fn reference_key(reference: &str) -> String {
    hex(&Sha256::digest(reference.as_bytes()))
}

/// Lowercase hex of a digest (the state's file names and change keys).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex digits of `sha256:<hex>`, only when they are what a digest holds (a hostile image
/// could put anything there, and it names a file).
fn digest_key(digest: &str) -> Option<String> {
    let (algo, h) = digest.split_once(':')?;
    let ok = matches!(algo, "sha256" | "sha512")
        && (16..=128).contains(&h.len())
        && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    ok.then(|| format!("{algo}-{h}"))
}

impl StateDir {
    /// Create (when missing) the state directory and its folders.
    pub fn open(root: &Path) -> Result<StateDir, String> {
        for sub in ["by-reference", "by-digest", "pending", "sent", "tmp"] {
            let d = root.join(sub);
            fs::create_dir_all(&d).map_err(|e| format!("state directory {}: {e}", d.display()))?;
        }
        Ok(StateDir {
            root: root.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    fn by_reference(&self, reference: &str) -> PathBuf {
        self.root
            .join("by-reference")
            .join(format!("{}.json", reference_key(reference)))
    }

    fn by_digest(&self, digest: &str) -> Option<PathBuf> {
        digest_key(digest).map(|k| self.root.join("by-digest").join(format!("{k}.json")))
    }

    /// The last report of `reference`, else the last report of the image `config_digest`
    /// under any reference. `warnings` gets each record that could not be read (it is then
    /// treated as absent, and replaced when this subject's record is saved).
    pub fn previous(
        &self,
        reference: &str,
        config_digest: Option<&str>,
        warnings: &mut Vec<String>,
    ) -> Option<Previous> {
        if let Some(r) = read_record(&self.by_reference(reference), warnings) {
            if r.get("Reference").and_then(Value::as_str) == Some(reference) {
                return Some(previous_of(r, "reference"));
            }
            warnings.push(format!(
                "state record {} is not of {reference:?}: ignored and replaced",
                self.by_reference(reference).display()
            ));
        }
        let path = self.by_digest(config_digest?)?;
        let r = read_record(&path, warnings)?;
        if r.get("Config Digest").and_then(Value::as_str) == config_digest {
            Some(previous_of(r, "digest"))
        } else {
            warnings.push(format!(
                "state record {} is not of image {}: ignored and replaced",
                path.display(),
                config_digest.unwrap_or_default()
            ));
            None
        }
    }

    /// Save `report` as the last report of `reference` and of its image.
    pub fn save(&self, reference: &str, report: &Value) -> Result<(), String> {
        let image = report.get("Image");
        let config = image.and_then(|i| i.get("Config Digest")).and_then(Value::as_str);
        let record = json!({
            "State Version": STATE_VERSION,
            "Reference": reference,
            "Config Digest": config,
            "Manifest Digest": image.and_then(|i| i.get("Manifest Digest")).cloned(),
            "Saved": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "Record Id": uuid::Uuid::new_v4().to_string(),
            "Report": report,
        });
        let bytes = serde_json::to_vec(&record).map_err(|e| format!("state record of {reference}: {e}"))?;
        self.write_atomically(&self.by_reference(reference), &bytes)?;
        if let Some(path) = config.and_then(|c| self.by_digest(c)) {
            self.write_atomically(&path, &bytes)?;
        }
        Ok(())
    }

    /// Write `bytes` to `dest` whole: a unique file in `DIR/tmp`, flushed to disk, renamed.
    fn write_atomically(&self, dest: &Path, bytes: &[u8]) -> Result<(), String> {
        let tmp = self.root.join("tmp").join(format!(
            "{}.{}.{}.tmp",
            dest.file_name().and_then(|n| n.to_str()).unwrap_or("record"),
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let written = (|| {
            let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, dest)
        })();
        written.map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!("cannot write state record {}: {e}", dest.display())
        })
    }

    /// Keep `message` (a notification about `reference` on `channel`) until it is delivered.
    pub fn add_pending(&self, reference: &str, channel: &str, message: &Value) -> Result<PathBuf, String> {
        let name = format!(
            "{}.{}.{channel}.{}.json",
            reference_key(reference),
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.9fZ"),
            uuid::Uuid::new_v4().simple()
        );
        let dest = self.root.join("pending").join(name);
        let bytes = serde_json::to_vec(message).map_err(|e| format!("pending notification of {reference}: {e}"))?;
        self.write_atomically(&dest, &bytes)?;
        Ok(dest)
    }

    /// Claim every pending notification about `reference`, oldest first. A file another
    /// process claimed is left to it, unless that claim is older than [`STALE_CLAIM`] (the
    /// process died before it delivered or put back the message); one that cannot be parsed
    /// is reported and set aside as `*.corrupt` (kept for a person to read, never retried).
    pub fn claim_pending(&self, reference: &str, warnings: &mut Vec<String>) -> Vec<Claimed> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.claim_pending_at(reference, now, warnings)
    }

    /// [`StateDir::claim_pending`] at `now` (seconds since the epoch).
    fn claim_pending_at(&self, reference: &str, now: i64, warnings: &mut Vec<String>) -> Vec<Claimed> {
        let dir = self.root.join("pending");
        let prefix = format!("{}.", reference_key(reference));
        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix))
                .filter(|n| n.ends_with(".json") || (n.contains(".json.claimed-") && stale(&dir.join(n), now)))
                .collect(),
            Err(e) => {
                warnings.push(format!("cannot list {}: {e}", dir.display()));
                return Vec::new();
            }
        };
        names.sort();
        let mut claimed = Vec::new();
        for claimed_name in names {
            // A stale claim goes back under its pending name.
            let name = match claimed_name.split_once(".json.claimed-") {
                Some((base, _)) => format!("{base}.json"),
                None => claimed_name.clone(),
            };
            let original = dir.join(&name);
            let path = dir.join(format!(
                "{name}.claimed-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            if fs::rename(dir.join(&claimed_name), &path).is_err() {
                continue; // another process has it
            }
            match read_limited(&path).and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| e.to_string())) {
                Ok(message) if message.is_object() => claimed.push(Claimed {
                    path,
                    original,
                    message,
                }),
                other => {
                    let why = other.err().unwrap_or_else(|| "not a JSON object".into());
                    warnings.push(format!(
                        "pending notification {} is corrupt ({why}): set aside as .corrupt",
                        original.display()
                    ));
                    let _ = fs::rename(&path, dir.join(format!("{name}.corrupt")));
                }
            }
        }
        claimed
    }

    /// How many notifications about `reference` are pending (claimed ones included).
    pub fn count_pending(&self, reference: &str) -> usize {
        let prefix = format!("{}.", reference_key(reference));
        fs::read_dir(self.root.join("pending")).map_or(0, |entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix) && !n.ends_with(".corrupt"))
                .count()
        })
    }

    /// A claimed notification was delivered: forget it.
    pub fn delivered(&self, c: &Claimed) -> Result<(), String> {
        fs::remove_file(&c.path).map_err(|e| format!("cannot remove {}: {e}", c.path.display()))
    }

    /// A claimed notification was not delivered: put it back for the next run.
    pub fn release(&self, c: &Claimed) -> Result<(), String> {
        fs::rename(&c.path, &c.original).map_err(|e| format!("cannot keep {}: {e}", c.original.display()))
    }
}

/// Whether a claimed message is to be delivered ([`StateDir::begin_delivery`]).
#[derive(Debug)]
pub enum Delivery {
    /// Deliver it, then [`StateDir::finish_delivery`] with the outcome. `entry`: its key's
    /// entry in `DIR/sent` (none for a message without a key: an older run's).
    Go { entry: Option<PathBuf> },
    /// Another run delivered, or is delivering, the same change: this copy is dropped.
    Copy { why: String },
}

impl StateDir {
    /// Enter the claimed message's change in `DIR/sent` before it is delivered (see the
    /// module documentation). A copy is removed from the pending messages here.
    pub fn begin_delivery(&self, c: &Claimed) -> Result<Delivery, String> {
        let (Some(reference), Some(key), Some(channel)) = (
            c.message.get("Reference").and_then(Value::as_str),
            c.message.get("Change Key").and_then(Value::as_str),
            c.message.get("Channel").and_then(Value::as_str),
        ) else {
            return Ok(Delivery::Go { entry: None });
        };
        let ours = key.len() == 64
            && key.bytes().all(|b| b.is_ascii_hexdigit())
            && channel.bytes().all(|b| b.is_ascii_lowercase());
        if !ours {
            return Ok(Delivery::Go { entry: None }); // not a name we made: no entry
        }
        let dir = self.root.join("sent").join(reference_key(reference));
        fs::create_dir_all(&dir).map_err(|e| format!("state directory {}: {e}", dir.display()))?;
        prune_sent(&dir);
        let entry = dir.join(format!("{key}.{channel}.json"));
        let mark = |entry: &Path| -> std::io::Result<()> {
            let mut f = fs::OpenOptions::new().write(true).create_new(true).open(entry)?;
            f.write_all(&serde_json::to_vec(
                &json!({ "Delivering": std::process::id(), "Since": now_secs() }),
            )?)?;
            f.sync_all()
        };
        match mark(&entry) {
            Ok(()) => return Ok(Delivery::Go { entry: Some(entry) }),
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(format!("cannot write {}: {e}", entry.display()))
            }
            Err(_) => {}
        }
        let delivering = read_limited(&entry)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_some_and(|v| v.get("Delivering").is_some());
        if delivering && stale(&entry, now_secs()) {
            // Its deliverer died: take the entry over (one taker wins the rename).
            let aside = entry.with_extension(format!("stale-{}", uuid::Uuid::new_v4().simple()));
            if fs::rename(&entry, &aside).is_ok() {
                let _ = fs::remove_file(&aside);
                if mark(&entry).is_ok() {
                    return Ok(Delivery::Go { entry: Some(entry) });
                }
            }
        }
        self.delivered(c)?;
        Ok(Delivery::Copy {
            why: if delivering {
                "another run is telling the same change".into()
            } else {
                "another run told the same change".into()
            },
        })
    }

    /// After [`Delivery::Go`]: a delivered message is forgotten and its entry says so; one
    /// that was not is put back, its entry removed (the next run tells it).
    pub fn finish_delivery(&self, c: &Claimed, entry: Option<&Path>, delivered: bool) -> Result<(), String> {
        if delivered {
            if let Some(entry) = entry {
                let bytes = serde_json::to_vec(&json!({ "Delivered": now_secs() })).unwrap_or_default();
                self.write_atomically(entry, &bytes)?;
            }
            self.delivered(c)
        } else {
            if let Some(entry) = entry {
                let _ = fs::remove_file(entry);
            }
            self.release(c)
        }
    }
}

/// How long a change's entry in `DIR/sent` is kept: far longer than any run's scan of one
/// subject, so a slow process that read the same previous report still finds it.
pub const SENT_KEPT: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Remove the entries of one reference older than [`SENT_KEPT`].
fn prune_sent(dir: &Path) {
    let now = now_secs();
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        use std::os::unix::fs::MetadataExt;
        let old = e
            .metadata()
            .is_ok_and(|m| now.saturating_sub(m.mtime()) > SENT_KEPT.as_secs() as i64);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How long a claim on a pending notification holds: a process delivers what it claims
/// within `--notify-timeout` per message, so an older claim is one whose process died.
pub const STALE_CLAIM: std::time::Duration = std::time::Duration::from_secs(3600);

/// Whether a claimed file was claimed (renamed: its ctime) longer than [`STALE_CLAIM`]
/// before `now`.
fn stale(path: &Path, now: i64) -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).is_ok_and(|m| now.saturating_sub(m.ctime()) > STALE_CLAIM.as_secs() as i64)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let f = fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    f.take(MAX_RECORD + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_RECORD {
        return Err(format!("larger than {MAX_RECORD} bytes"));
    }
    Ok(bytes)
}

/// A record, or `None` (absent, or unreadable: then `warnings` says why).
fn read_record(path: &Path, warnings: &mut Vec<String>) -> Option<Value> {
    let bytes = match read_limited(path) {
        Ok(b) => b,
        Err(_) if !path.exists() => return None,
        Err(e) => {
            warnings.push(format!(
                "cannot read state record {}: {e}: ignored and replaced",
                path.display()
            ));
            return None;
        }
    };
    let why = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if v.get("State Version").and_then(Value::as_u64) != Some(STATE_VERSION) => {
            "not a state record of this version".to_string()
        }
        Ok(v) if !v.get("Report").is_some_and(Value::is_object) => "no report".to_string(),
        Ok(v) => return Some(v),
        Err(e) => e.to_string(),
    };
    warnings.push(format!(
        "state record {} is corrupt ({why}): ignored and replaced",
        path.display()
    ));
    None
}

fn previous_of(mut record: Value, found_by: &'static str) -> Previous {
    Previous {
        saved: record
            .get("Saved")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        id: record.get("Record Id").and_then(Value::as_str).map(str::to_string),
        report: record.get_mut("Report").map(Value::take).unwrap_or_default(),
        found_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(reference: &str, digest: &str) -> Value {
        json!({ "Scanner": "image-scan", "Image": { "Reference": reference, "Config Digest": digest } })
    }

    const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    #[test]
    fn saved_reports_are_found_by_reference_then_by_digest() {
        let t = tempfile::tempdir().unwrap();
        let s = StateDir::open(t.path()).unwrap();
        let mut w = Vec::new();
        assert!(s.previous("app:1", Some(D1), &mut w).is_none());
        s.save("app:1", &report("app:1", D1)).unwrap();
        let p = s.previous("app:1", Some(D1), &mut w).unwrap();
        assert_eq!(p.found_by, "reference");
        assert_eq!(p.report["Image"]["Reference"], "app:1");
        let p = s.previous("app:latest", Some(D1), &mut w).unwrap();
        assert_eq!(p.found_by, "digest");
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(fs::read_dir(t.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn a_corrupt_or_foreign_record_is_reported_and_replaced() {
        let t = tempfile::tempdir().unwrap();
        let s = StateDir::open(t.path()).unwrap();
        let path = s.by_reference("app:1");
        for junk in [
            &b"{\"State Version\": 1, \"Rep"[..],
            b"[]",
            b"\xff\xfe",
            b"{\"State Version\":1,\"Report\":3}",
        ] {
            fs::write(&path, junk).unwrap();
            let mut w = Vec::new();
            assert!(s.previous("app:1", None, &mut w).is_none());
            assert_eq!(w.len(), 1, "{w:?}");
        }
        // Another reference's record under this name (a collision or a planted file).
        s.save("other", &report("other", D1)).unwrap();
        fs::copy(s.by_reference("other"), &path).unwrap();
        let mut w = Vec::new();
        assert_eq!(s.previous("app:1", None, &mut w).map(|p| p.found_by), None);
        assert_eq!(w.len(), 1);
        s.save("app:1", &report("app:1", D1)).unwrap();
        assert!(s.previous("app:1", None, &mut w).is_some());
    }

    #[test]
    fn a_hostile_digest_names_no_file() {
        assert_eq!(digest_key("sha256:../../etc/passwd"), None);
        assert_eq!(digest_key("sha256:ABCDEF0123456789"), None);
        assert_eq!(digest_key(D1).unwrap(), format!("sha256-{}", &D1[7..]));
    }

    #[test]
    fn pending_notifications_are_claimed_once_and_released_or_delivered() {
        let t = tempfile::tempdir().unwrap();
        let s = StateDir::open(t.path()).unwrap();
        s.add_pending("app:1", "mail", &json!({ "n": 1 })).unwrap();
        s.add_pending("app:1", "webhook", &json!({ "n": 2 })).unwrap();
        s.add_pending("app:2", "mail", &json!({ "n": 3 })).unwrap();
        fs::write(
            t.path()
                .join("pending")
                .join(format!("{}.0.mail.x.json", reference_key("app:1"))),
            b"{",
        )
        .unwrap();
        let mut w = Vec::new();
        let claimed = s.claim_pending("app:1", &mut w);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(claimed.len(), 2);
        assert_eq!(claimed[0].message["n"], 1);
        assert!(s.claim_pending("app:1", &mut w).is_empty(), "claimed twice");
        s.delivered(&claimed[0]).unwrap();
        s.release(&claimed[1]).unwrap();
        let again = s.claim_pending("app:1", &mut w);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].message["n"], 2);
        // A fresh claim of a live process is left alone; a stale one is claimed again.
        assert!(s.claim_pending("app:1", &mut w).is_empty());
        let later = chrono::Utc::now().timestamp() + STALE_CLAIM.as_secs() as i64 + 60;
        let reclaimed = s.claim_pending_at("app:1", later, &mut w);
        assert_eq!(reclaimed.len(), 1);
        assert_eq!(reclaimed[0].message["n"], 2);
        assert!(!again[0].path.exists());
        s.release(&reclaimed[0]).unwrap();
        assert_eq!(s.claim_pending("app:1", &mut w).len(), 1);
    }

    #[test]
    fn a_change_queued_by_several_runs_is_delivered_once() {
        let t = tempfile::tempdir().unwrap();
        let s = StateDir::open(t.path()).unwrap();
        let key = "ab".repeat(32);
        let message = json!({ "Channel": "mail", "Reference": "app:1", "Change Key": key });
        for _ in 0..3 {
            s.add_pending("app:1", "mail", &message).unwrap();
        }
        let mut w = Vec::new();
        let claimed = s.claim_pending("app:1", &mut w);
        assert_eq!(claimed.len(), 3);
        // The first copy goes; its delivery fails: the entry goes, the message comes back.
        let Delivery::Go { entry: Some(entry) } = s.begin_delivery(&claimed[0]).unwrap() else {
            panic!("the first copy is not delivered")
        };
        assert!(matches!(s.begin_delivery(&claimed[1]).unwrap(), Delivery::Copy { .. }));
        s.finish_delivery(&claimed[0], Some(&entry), false).unwrap();
        assert!(!entry.exists());
        // The next try delivers it; every other copy is dropped from then on.
        let Delivery::Go { entry: Some(entry) } = s.begin_delivery(&claimed[2]).unwrap() else {
            panic!("a change told by no one is not delivered")
        };
        s.finish_delivery(&claimed[2], Some(&entry), true).unwrap();
        let again = s.claim_pending("app:1", &mut w);
        assert_eq!(again.len(), 1, "the released copy");
        assert!(matches!(s.begin_delivery(&again[0]).unwrap(), Delivery::Copy { .. }));
        assert_eq!(s.count_pending("app:1"), 0);
        // A message without a key (an older run's) is delivered as before.
        s.add_pending("app:1", "mail", &json!({ "Channel": "mail", "Reference": "app:1" }))
            .unwrap();
        let old = s.claim_pending("app:1", &mut w);
        assert!(matches!(
            s.begin_delivery(&old[0]).unwrap(),
            Delivery::Go { entry: None }
        ));
    }
}
