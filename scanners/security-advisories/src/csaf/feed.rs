//! Red Hat's CSAF VEX feed over HTTP (`--csaf-vex https://security.access.redhat.com/data/csaf/v2/vex/`):
//! the local copy of the feed kept in the metadata cache (`--cache-dir`), and how it is brought
//! up to date. This module owns the sync and the copy's layout; reading the copy's documents is
//! [`super::judge_sources`]' (through [`FeedCopy`]).
//!
//! The feed's layout (Red Hat's `data/csaf/v2/vex/`): `YEAR/cve-YEAR-NNNN.json` documents, each
//! with `<file>.sha256` beside it (CSAF 2.0 §7.1.18: the hex digest first, optionally followed
//! by white space and the file name); `index.txt` (one path a line); `changes.csv` and
//! `deletions.csv` (`"path","last-modified"` lines, newest first); `archive_latest.txt` naming the
//! whole-feed archive `csaf_vex_YYYY-MM-DD.tar.zst`.
//!
//! The sync:
//! - **first**: the archive `archive_latest.txt` names (kept whole in the cache, never unpacked,
//!   read as a stream like any `--csaf-vex` archive), then every `changes.csv` entry newer than
//!   the archive's date and the `deletions.csv` entries newer than it; when the feed publishes no
//!   `archive_latest.txt`, every file `index.txt` lists.
//! - **later**: the `changes.csv` entries newer than the last sync's newest entry (kept in the
//!   cache's state file, with the sync time), the files that failed last time, and the
//!   `deletions.csv` entries newer than it. Nothing else is requested.
//! - every file is bounded in size and checked against its published `.sha256` when the server
//!   has one (a 404 for the `.sha256` means none; counted in the result), written aside and
//!   renamed into place with repodata's one atomic writer;
//! - a path in a CSV or in `index.txt` must be a plain relative `DIR/NAME.json` (letters,
//!   digits, `.`, `_`, `-`; no `..`, no absolute path): any other is refused with a warning and
//!   never requested;
//! - a file that cannot be fetched or does not match its `.sha256` keeps its previous copy (if
//!   any), is named in a warning and tried again at the next sync;
//! - a feed that cannot be reached (or whose index files cannot be read) with a copy in the
//!   cache: the scan reads the copy, and a warning says when it was synced and how long ago;
//!   without a copy it is the source's error.
//!
//! The copy's layout under `<cache>/csaf-vex-<digest of the URL>/`: `state` (text, see
//! [`State`]), `archive/<name>` (the whole-feed archive, when the first sync used one), `docs/`
//! (the documents fetched one by one, `YEAR/NAME.json`), `repository-to-cpe.json` (fetched from
//! the feed's host). A document in `docs/` or named in the state's deletions masks the archive's.
//!
//! One sync per feed URL per run: [`Syncs`] (in the scan's options, shared by every subject)
//! keeps each URL's result, so the subjects of one run read one copy.

use super::parse_date;
use repodata::cache::write_atomically;
use repodata::checksum::{self, Algorithm, Checksum};
use repodata::fetch::{FetchError, FetchOptions, Fetcher, UrlOrigin};
use repodata::updateinfo::format_unix_utc;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The largest `changes.csv`, `deletions.csv` or `index.txt` (Red Hat's are some tens of MB).
pub const MAX_INDEX_BYTES: u64 = 256 << 20;
/// The largest whole-feed archive downloaded (Red Hat's is some GB).
pub const MAX_ARCHIVE_BYTES: u64 = 64 << 30;
/// The largest `archive_latest.txt` or `.sha256` file.
pub const MAX_SMALL_BYTES: u64 = 4096;
/// The largest `repository-to-cpe.json` (Red Hat's is under 3 MB).
pub const MAX_MAPPING_BYTES: u64 = 64 << 20;
/// The most paths a warning lists.
const LISTED: usize = 20;

const STATE_HEADER: &str = "security-advisories csaf-vex feed 1";

/// Whether a `--csaf-vex` SOURCE is a feed URL.
pub fn is_feed_url(source: &Path) -> bool {
    let s = source.to_string_lossy();
    s.starts_with("http://") || s.starts_with("https://")
}

/// A feed's base URL, ending in `/`.
pub fn base_url(source: &Path) -> String {
    let mut s = source.to_string_lossy().into_owned();
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

/// Where Red Hat keeps `repository-to-cpe.json` for a feed at `base`: `…/data/meta/v1/` beside
/// the feed's `…/data/csaf/v2/vex/`, else `/data/meta/v1/` at the feed's host.
pub fn mapping_url(base: &str) -> String {
    if let Some(i) = base.find("/csaf/") {
        return format!("{}/meta/v1/repository-to-cpe.json", &base[..i]);
    }
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    format!("{}/data/meta/v1/repository-to-cpe.json", &base[..host_end])
}

/// A path the feed names (`2024/cve-2024-50602.json`), checked to stay inside the copy.
pub fn checked_path(raw: &str) -> Result<&str, String> {
    let p = raw.trim();
    let plain = |c: &str| {
        !c.is_empty()
            && c != "."
            && c != ".."
            && c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if p.len() > 256
        || p.starts_with('/')
        || !p.ends_with(".json")
        || p.split('/').count() > 4
        || !p.split('/').all(plain)
    {
        return Err(format!(
            "{:?} is not a plain relative DIR/NAME.json path; refused",
            raw.chars().take(120).collect::<String>()
        ));
    }
    Ok(p)
}

/// The key of an archive entry (`./2024/cve-2024-1.json`, `csaf_vex_x/2024/cve-2024-1.json`):
/// its last two components, the form the feed's CSVs use.
pub fn entry_key(name: &str) -> String {
    let parts: Vec<&str> = name.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    let n = parts.len();
    parts[n.saturating_sub(2)..].join("/")
}

/// One `"path","date"` line of `changes.csv` / `deletions.csv`.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        let mut f = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        f.push('"');
                    }
                    Some('"') => break,
                    Some(c) => f.push(c),
                    None => return Err("an unterminated quoted field".into()),
                }
            }
            match chars.next() {
                None => {
                    fields.push(f);
                    return Ok(fields);
                }
                Some(',') => fields.push(f),
                Some(c) => return Err(format!("{c:?} after a quoted field")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(f);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some(c) => f.push(c),
                }
            }
            fields.push(f);
        }
    }
}

/// The entries of a `changes.csv` / `deletions.csv`: (path, last-modified Unix seconds), with
/// the lines that could not be used.
pub fn parse_csv(name: &str, bytes: &[u8]) -> (Vec<(String, i64)>, Vec<String>) {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| format!("{name} line {}: {m}", i + 1);
        let fields = match csv_fields(line) {
            Ok(f) if f.len() == 2 => f,
            Ok(f) => {
                problems.push(at(format!("{} fields, not 2 (path, last-modified)", f.len())));
                continue;
            }
            Err(e) => {
                problems.push(at(e));
                continue;
            }
        };
        let path = match checked_path(&fields[0]) {
            Ok(p) => p.to_string(),
            Err(e) => {
                problems.push(at(e));
                continue;
            }
        };
        match parse_date(&fields[1]) {
            Some(t) => out.push((path, t)),
            None => problems.push(at(format!("{:?} is not a date", fields[1]))),
        }
    }
    (out, problems)
}

/// The date of `csaf_vex_YYYY-MM-DD.tar.zst` (midnight UTC).
pub fn archive_date(name: &str) -> Option<i64> {
    let rest = name.strip_prefix("csaf_vex_")?;
    let date = rest.get(..10)?;
    let tail = &rest[10..];
    if !tail.starts_with(".tar") {
        return None;
    }
    parse_date(&format!("{date}T00:00:00Z"))
}

/// What the cache keeps between syncs. Text: the header line, then `base URL`, `synced UNIX`,
/// `through UNIX` (the newest CSV entry applied), `archive NAME`, `deleted PATH`, `retry PATH`
/// lines, and `END`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub base: String,
    pub synced: i64,
    pub through: Option<i64>,
    pub archive: Option<String>,
    pub deleted: BTreeSet<String>,
    pub retry: BTreeSet<String>,
}

impl State {
    fn render(&self) -> String {
        let mut s = format!("{STATE_HEADER}\nbase {}\nsynced {}\n", self.base, self.synced);
        if let Some(t) = self.through {
            s.push_str(&format!("through {t}\n"));
        }
        if let Some(a) = &self.archive {
            s.push_str(&format!("archive {a}\n"));
        }
        for d in &self.deleted {
            s.push_str(&format!("deleted {d}\n"));
        }
        for r in &self.retry {
            s.push_str(&format!("retry {r}\n"));
        }
        s.push_str("END\n");
        s
    }

    /// The state as written, or why it cannot be used (then the copy is synced anew).
    pub fn parse(text: &str) -> Result<State, String> {
        let mut lines = text.lines();
        if lines.next() != Some(STATE_HEADER) {
            return Err("not a feed state file of this version".into());
        }
        let mut st = State::default();
        let mut ended = false;
        for line in lines {
            if line == "END" {
                ended = true;
                break;
            }
            let (k, v) = line.split_once(' ').ok_or_else(|| format!("bad line {line:?}"))?;
            match k {
                "base" => st.base = v.to_string(),
                "synced" => st.synced = v.parse().map_err(|_| format!("bad time {v:?}"))?,
                "through" => st.through = Some(v.parse().map_err(|_| format!("bad time {v:?}"))?),
                "archive" => {
                    archive_date(v).ok_or_else(|| format!("bad archive name {v:?}"))?;
                    if v.contains('/') {
                        return Err(format!("bad archive name {v:?}"));
                    }
                    st.archive = Some(v.to_string());
                }
                "deleted" => {
                    st.deleted.insert(checked_path(v)?.to_string());
                }
                "retry" => {
                    st.retry.insert(checked_path(v)?.to_string());
                }
                other => return Err(format!("unknown record {other:?}")),
            }
        }
        if !ended {
            return Err("cut short (no END line)".into());
        }
        Ok(st)
    }
}

/// The copy of a feed a scan reads.
#[derive(Debug, Clone)]
pub struct FeedCopy {
    pub base: String,
    pub dir: PathBuf,
    /// The whole-feed archive the first sync downloaded.
    pub archive: Option<PathBuf>,
    /// The documents fetched one by one (`YEAR/NAME.json` below it).
    pub docs: PathBuf,
    /// Paths the feed deleted since the archive: its entries are not read.
    pub deleted: BTreeSet<String>,
    /// `repository-to-cpe.json` from the feed's host, when it could be had.
    pub mapping: Option<PathBuf>,
    /// What the result says of the sync (`Sources[].Feed`).
    pub report: Value,
    /// Warnings of the sync (kind, message).
    pub warnings: Vec<(&'static str, String)>,
}

/// One sync per feed URL per run, shared by the run's subjects (see the module documentation).
#[derive(Clone, Default)]
pub struct Syncs {
    inner: Arc<Mutex<SyncsInner>>,
}

/// One URL's sync: empty until the first subject that needs it has synced.
type Slot = Arc<Mutex<Option<Result<FeedCopy, String>>>>;

#[derive(Default)]
struct SyncsInner {
    done: HashMap<String, Slot>,
    /// The cache of a run without `--cache-dir`, removed when the run ends.
    temporary: Option<repodata::cache::Cache>,
}

impl std::fmt::Debug for Syncs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Syncs")
    }
}

impl Syncs {
    /// The copy of the feed at `base`, synced once for this run.
    pub fn copy(&self, base: &str, cache_dir: Option<&Path>, options: &FetchOptions) -> Result<FeedCopy, String> {
        let (slot, root) = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let root = match cache_dir {
                Some(d) => d.to_path_buf(),
                None => {
                    if inner.temporary.is_none() {
                        let t = repodata::cache::Cache::temporary()
                            .map_err(|e| format!("{base}: a temporary cache for the feed: {e}"))?;
                        inner.temporary = Some(t);
                    }
                    inner
                        .temporary
                        .as_ref()
                        .map(|t| t.dir().to_path_buf())
                        .unwrap_or_default()
                }
            };
            let key = format!("{}\n{base}", root.display());
            (inner.done.entry(key).or_default().clone(), root)
        };
        let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let fetcher = Fetcher::new(options.clone());
            *slot = Some(sync(base, &root, &fetcher, now()));
        }
        slot.clone().unwrap_or_else(|| Err("no sync".into()))
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `3 h 12 min`, `2 days 4 h`, `40 s`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        7200..=172_799 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} days {} h", s / 86400, s % 86400 / 3600),
    }
}

/// The folder of the feed at `base` in the cache.
pub fn copy_dir(cache_root: &Path, base: &str) -> PathBuf {
    let digest = checksum::digest_hex(Algorithm::Sha256, base.as_bytes());
    cache_root.join(format!("csaf-vex-{}", &digest[..16]))
}

fn is_not_found(e: &FetchError) -> bool {
    e.message == "HTTP status 404" || e.message == "HTTP status 410"
}

/// Counts of one sync.
#[derive(Debug, Default)]
struct Tally {
    fetched: usize,
    verified: usize,
    unverified: usize,
    deleted: usize,
    failed: Vec<String>,
    refused: Vec<String>,
}

/// A whole sync failed: why.
struct Failed(String);

impl From<io::Error> for Failed {
    fn from(e: io::Error) -> Self {
        Failed(e.to_string())
    }
}

/// Bring the copy of the feed at `base` up to date (see the module documentation), or use the
/// copy the cache has when the feed cannot be read.
pub fn sync(base: &str, cache_root: &Path, fetcher: &Fetcher, now: i64) -> Result<FeedCopy, String> {
    let dir = copy_dir(cache_root, base);
    let state_path = dir.join("state");
    let previous = match std::fs::read_to_string(&state_path) {
        Ok(text) => match State::parse(&text) {
            Ok(s) if s.base == base => Some(s),
            Ok(_) => None,
            Err(_) => None,
        },
        Err(_) => None,
    };
    let mut tally = Tally::default();
    let mut warnings: Vec<(&'static str, String)> = Vec::new();
    let attempt = bring_up_to_date(base, &dir, previous.clone(), fetcher, now, &mut tally);
    let (state, mode, offline) = match attempt {
        Ok((state, mode)) => {
            let text = state.render();
            write_atomically::<io::Error>(&state_path, |tmp| std::fs::write(tmp, text.as_bytes()))
                .map_err(|e| format!("{base}: cannot write the feed's state in {}: {e}", dir.display()))?;
            (state, mode, None)
        }
        Err(Failed(why)) => match previous {
            Some(s) => {
                let message = format!(
                    "{base}: the feed could not be synced ({why}); scanning from the copy in the cache synced {} ({} ago)",
                    format_unix_utc(s.synced),
                    age(now - s.synced)
                );
                warnings.push(("csaf-feed-offline", message));
                (s, "offline: the cache's copy".to_string(), Some(why))
            }
            None => {
                return Err(format!(
                    "{base}: the feed could not be synced ({why}) and the cache ({}) has no copy of it",
                    dir.display()
                ))
            }
        },
    };
    if !tally.refused.is_empty() {
        warnings.push((
            "csaf-feed-path",
            format!(
                "{base}: {} entries of the feed's index files refused: {}",
                tally.refused.len(),
                list(&tally.refused)
            ),
        ));
    }
    if !tally.failed.is_empty() {
        warnings.push((
            "csaf-feed-file",
            format!(
                "{base}: {} files could not be updated (their previous copy, if any, is read; tried again at the next \
                 sync): {}",
                tally.failed.len(),
                list(&tally.failed)
            ),
        ));
    }
    // repository-to-cpe.json from the feed's host: fetched at each sync, the previous copy kept
    // when it cannot be had.
    let mapping_path = dir.join(super::REPOSITORY_TO_CPE);
    let mapping_source = mapping_url(base);
    if offline.is_none() {
        if let Err(e) = fetch_verified(
            fetcher,
            &mapping_source,
            &mapping_path,
            MAX_MAPPING_BYTES,
            &mut Tally::default(),
        ) {
            if !is_not_found_message(&e) || mapping_path.is_file() {
                warnings.push((
                    "csaf-repository-to-cpe",
                    format!(
                        "{mapping_source}: {e}{}",
                        if mapping_path.is_file() {
                            "; the cached copy is used"
                        } else {
                            ""
                        }
                    ),
                ));
            }
        }
    }
    let mapping = mapping_path.is_file().then_some(mapping_path);
    let mut report = json!({
        "URL": base,
        "Cache": dir.display().to_string(),
        "Synced": format_unix_utc(state.synced),
        "Age": age(now - state.synced),
        "Sync": mode,
        "Offline": offline.is_some(),
        "Fetched": tally.fetched,
        "Deleted": tally.deleted,
        "Checked Against .sha256": tally.verified,
        "Without .sha256": tally.unverified,
        "Not Updated": tally.failed,
        "Refused Paths": tally.refused.len(),
        "Archive": state.archive,
        "Newest Entry Applied": state.through.map(format_unix_utc),
        "Repository-to-CPE": mapping.as_ref().map(|_| mapping_source.clone()),
    });
    if let Some(why) = &offline {
        report["Offline Because"] = json!(why);
    }
    Ok(FeedCopy {
        base: base.to_string(),
        archive: state.archive.as_ref().map(|a| dir.join("archive").join(a)),
        docs: dir.join("docs"),
        deleted: state.deleted.clone(),
        dir,
        mapping,
        report,
        warnings,
    })
}

fn is_not_found_message(e: &str) -> bool {
    e.ends_with("HTTP status 404") || e.ends_with("HTTP status 410")
}

fn list(items: &[String]) -> String {
    let mut s = items.iter().take(LISTED).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > LISTED {
        s.push_str(&format!("; and {} more", items.len() - LISTED));
    }
    s
}

/// The `.sha256` published beside `url`: `Ok(None)` when the server has none (404).
fn published_sha256(fetcher: &Fetcher, url: &str) -> Result<Option<Checksum>, String> {
    let sum_url = format!("{url}.sha256");
    match fetcher.get(&sum_url, MAX_SMALL_BYTES, UrlOrigin::User) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let hex = text.split_whitespace().next().unwrap_or("");
            Checksum::parse("sha256", hex)
                .map(Some)
                .map_err(|e| format!("{sum_url}: {e}"))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Fetch `url` into `dest` (atomically), at most `limit` bytes, checked against its `.sha256`
/// when the server publishes one.
fn fetch_verified(fetcher: &Fetcher, url: &str, dest: &Path, limit: u64, tally: &mut Tally) -> Result<(), String> {
    let expected = published_sha256(fetcher, url)?;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    write_atomically::<Failed>(dest, |tmp| {
        fetcher
            .download(url, tmp, limit, expected.as_ref(), UrlOrigin::User)
            .map(|_| ())
            .map_err(|e| Failed(e.to_string()))
    })
    .map_err(|Failed(e)| e)?;
    if expected.is_some() {
        tally.verified += 1;
    } else {
        tally.unverified += 1;
    }
    tally.fetched += 1;
    Ok(())
}

/// A small text file of the feed, or `None` on 404.
fn get_index(fetcher: &Fetcher, base: &str, name: &str, limit: u64) -> Result<Option<Vec<u8>>, Failed> {
    match fetcher.get(&format!("{base}{name}"), limit, UrlOrigin::User) {
        Ok(b) => Ok(Some(b)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(Failed(e.to_string())),
    }
}

/// The sync itself; `Err` when the feed as a whole cannot be read.
fn bring_up_to_date(
    base: &str,
    dir: &Path,
    previous: Option<State>,
    fetcher: &Fetcher,
    now: i64,
    tally: &mut Tally,
) -> Result<(State, String), Failed> {
    let changes = get_index(fetcher, base, "changes.csv", MAX_INDEX_BYTES)?.ok_or_else(|| {
        Failed(format!(
            "{base}changes.csv: HTTP status 404 (is this a CSAF VEX feed's base URL?)"
        ))
    })?;
    let (changes, problems) = parse_csv("changes.csv", &changes);
    tally.refused.extend(problems);
    let deletions = match get_index(fetcher, base, "deletions.csv", MAX_INDEX_BYTES)? {
        Some(b) => {
            let (d, problems) = parse_csv("deletions.csv", &b);
            tally.refused.extend(problems);
            d
        }
        None => Vec::new(),
    };
    let newest_listed = changes.iter().chain(&deletions).map(|(_, t)| *t).max();
    let docs = dir.join("docs");
    std::fs::create_dir_all(&docs)?;

    let (mut state, baseline, mode, mut to_fetch) =
        match previous.filter(|s| s.through.is_some() || s.archive.is_some()) {
            Some(s) => {
                let baseline = s.through;
                let retry: Vec<String> = s.retry.iter().cloned().collect();
                (s, baseline, "incremental".to_string(), retry)
            }
            None => first_sync(base, dir, fetcher, newest_listed, tally)?,
        };
    // Each path once, at its newest date; a deletion newer than the change wins.
    let mut latest: BTreeMap<&str, (i64, bool)> = BTreeMap::new();
    for (p, t) in &changes {
        let e = latest.entry(p).or_insert((*t, false));
        if *t > e.0 {
            *e = (*t, false);
        }
    }
    for (p, t) in &deletions {
        let e = latest.entry(p).or_insert((*t, true));
        if *t >= e.0 {
            *e = (*t, true);
        }
    }
    let newer = |t: i64| baseline.is_none_or(|b| t > b);
    let mut deletes = Vec::new();
    for (p, (t, deleted)) in &latest {
        if !newer(*t) {
            continue;
        }
        if *deleted {
            deletes.push(p.to_string());
        } else {
            to_fetch.push(p.to_string());
        }
    }
    to_fetch.sort();
    to_fetch.dedup();
    state.retry.clear();
    for p in &to_fetch {
        if deletes.contains(p) {
            continue;
        }
        let url = format!("{base}{p}");
        match fetch_verified(fetcher, &url, &docs.join(p), super::document::MAX_DOCUMENT_BYTES, tally) {
            Ok(()) => {
                state.deleted.remove(p);
            }
            Err(e) => {
                tally.failed.push(e);
                state.retry.insert(p.clone());
            }
        }
    }
    for p in deletes {
        match std::fs::remove_file(docs.join(&p)) {
            Ok(()) => tally.deleted += 1,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if state.archive.is_some() && !state.deleted.contains(&p) {
                    tally.deleted += 1;
                }
            }
            Err(e) => return Err(Failed(format!("cannot remove {}: {e}", docs.join(&p).display()))),
        }
        if state.archive.is_some() {
            state.deleted.insert(p);
        }
    }
    state.base = base.to_string();
    state.synced = now;
    state.through = state.through.max(newest_listed).max(baseline);
    Ok((state, mode))
}

/// The first sync: the archive and what changed since its date, else every file of
/// `index.txt`. Returns the new state, the baseline date (CSV entries newer than it are still
/// to be applied), the mode for the result and the files to fetch.
fn first_sync(
    base: &str,
    dir: &Path,
    fetcher: &Fetcher,
    newest_listed: Option<i64>,
    tally: &mut Tally,
) -> Result<(State, Option<i64>, String, Vec<String>), Failed> {
    if let Some(latest) = get_index(fetcher, base, "archive_latest.txt", MAX_SMALL_BYTES)? {
        let name = String::from_utf8_lossy(&latest).trim().to_string();
        let plain = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let date = archive_date(&name).filter(|_| plain).ok_or_else(|| {
            Failed(format!(
                "{base}archive_latest.txt names {:?}, not csaf_vex_YYYY-MM-DD.tar.zst",
                name.chars().take(80).collect::<String>()
            ))
        })?;
        let archives = dir.join("archive");
        let path = archives.join(&name);
        fetch_verified(fetcher, &format!("{base}{name}"), &path, MAX_ARCHIVE_BYTES, tally).map_err(Failed)?;
        // Only this archive is kept.
        if let Ok(rd) = std::fs::read_dir(&archives) {
            for e in rd.flatten() {
                if e.file_name() != name.as_str() && !e.file_name().to_string_lossy().starts_with('.') {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir.join("docs"));
        std::fs::create_dir_all(dir.join("docs"))?;
        let state = State {
            archive: Some(name.clone()),
            ..State::default()
        };
        return Ok((
            state,
            Some(date),
            format!("first: archive {name} and the changes since {}", format_unix_utc(date)),
            Vec::new(),
        ));
    }
    let index = get_index(fetcher, base, "index.txt", MAX_INDEX_BYTES)?.ok_or_else(|| {
        Failed(format!(
            "{base}: neither archive_latest.txt nor index.txt is published (HTTP status 404)"
        ))
    })?;
    let text = String::from_utf8_lossy(&index);
    let mut files = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match checked_path(line) {
            Ok(p) => files.push(p.to_string()),
            Err(e) => tally.refused.push(format!("index.txt line {}: {e}", i + 1)),
        }
    }
    let _ = std::fs::remove_dir_all(dir.join("docs"));
    std::fs::create_dir_all(dir.join("docs"))?;
    let n = files.len();
    // Everything listed up to now is in index.txt's files: only newer CSV entries apply.
    Ok((
        State::default(),
        newest_listed,
        format!("first: the {n} files of index.txt"),
        files,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_copy() {
        assert_eq!(checked_path("2024/cve-2024-50602.json"), Ok("2024/cve-2024-50602.json"));
        for bad in [
            "../2024/x.json",
            "2024/../../x.json",
            "/etc/x.json",
            "2024//x.json",
            "./x.json",
            "2024/x.txt",
            "2024\\x.json",
            "a/b/c/d/e.json",
            "2024/x y.json",
            "",
        ] {
            assert!(checked_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(entry_key("./2024/cve-2024-1.json"), "2024/cve-2024-1.json");
        assert_eq!(entry_key("csaf_vex/2024/cve-2024-1.json"), "2024/cve-2024-1.json");
        assert_eq!(entry_key("cve-2024-1.json"), "cve-2024-1.json");
    }

    #[test]
    fn csv_lines() {
        let text = b"\"2024/cve-2024-2.json\",\"2025-12-10T10:00:00+00:00\"\r\n\n\
            2024/cve-2024-1.json,2025-12-09T10:00:00Z\n\
            \"../x.json\",\"2025-12-10T10:00:00+00:00\"\n\
            \"2024/a.json\",\"yesterday\"\n\
            \"2024/b.json\"\n\
            \"2024/c.json,\"2025\n";
        let (ok, bad) = parse_csv("changes.csv", text);
        assert_eq!(
            ok,
            vec![
                (
                    "2024/cve-2024-2.json".to_string(),
                    parse_date("2025-12-10T10:00:00Z").unwrap()
                ),
                (
                    "2024/cve-2024-1.json".to_string(),
                    parse_date("2025-12-09T10:00:00Z").unwrap()
                ),
            ]
        );
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[0].starts_with("changes.csv line 4: \"../x.json\""), "{bad:?}");
        assert_eq!(csv_fields("\"a\"\"b\",c").unwrap(), vec!["a\"b", "c"]);
    }

    #[test]
    fn state_round_trip_and_hostile_states() {
        let s = State {
            base: "https://x/data/csaf/v2/vex/".into(),
            synced: 1_700_000_000,
            through: Some(1_700_000_001),
            archive: Some("csaf_vex_2025-12-06.tar.zst".into()),
            deleted: ["2024/a.json".to_string()].into(),
            retry: ["2024/b.json".to_string()].into(),
        };
        assert_eq!(State::parse(&s.render()), Ok(s.clone()));
        let cut = s.render().replace("END\n", "");
        assert!(State::parse(&cut).is_err());
        let hostile = s.render().replace("deleted 2024/a.json", "deleted ../../a.json");
        assert!(State::parse(&hostile).is_err());
        let hostile = s
            .render()
            .replace("csaf_vex_2025-12-06.tar.zst", "../csaf_vex_2025-12-06.tar.zst");
        assert!(State::parse(&hostile).is_err());
    }

    #[test]
    fn archive_names_and_mapping_urls() {
        assert_eq!(
            archive_date("csaf_vex_2025-12-06.tar.zst"),
            parse_date("2025-12-06T00:00:00Z")
        );
        assert_eq!(archive_date("csaf_vex_2025-12-06.zip"), None);
        assert_eq!(archive_date("vex.tar.zst"), None);
        assert_eq!(
            mapping_url("https://security.access.redhat.com/data/csaf/v2/vex/"),
            "https://security.access.redhat.com/data/meta/v1/repository-to-cpe.json"
        );
        assert_eq!(
            mapping_url("http://127.0.0.1:8080/mirror/"),
            "http://127.0.0.1:8080/data/meta/v1/repository-to-cpe.json"
        );
        assert_eq!(age(59), "59 s");
        assert_eq!(age(3 * 3600 + 12 * 60), "3 h 12 min");
        assert_eq!(age(2 * 86400 + 4 * 3600), "2 days 4 h");
    }
}
