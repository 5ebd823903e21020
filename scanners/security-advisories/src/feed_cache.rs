//! The parsed form of a cached updateinfo, kept beside the metadata file in `--cache-dir`, so
//! that the next scan against the same repository reads a compact, indexed text file instead
//! of decompressing and parsing the XML again (dnf keeps a libsolv `.solvx` for the same
//! reason).
//!
//! It is written while a feed is parsed to its end without error (to a temporary name, then
//! renamed), and holds every advisory whole — all packages, not only the names one image has
//! — with the feed's totals and the parser's warnings, so a scan from the cache gives the same
//! result as one from the XML. The metadata file's name carries its checksum, so a new feed
//! gets a new cache. A cache that cannot be read to its `END` line is ignored and the XML read
//! instead.
//!
//! A scan reads only what can apply to its image: the trailer first (its offset is the last
//! record but one), then, through the name index, just the advisories that name an installed
//! package, and of those only the kinds and severities the scan selects are decoded further
//! (an advisory without a package of the image's names cannot apply, see
//! [`crate::applicability`]). On RHEL-sized feeds that is a small part of the file.
//!
//! Format: a header line, then one record per line, fields separated by tabs, with `\`, tab,
//! newline and carriage return escaped; an optional field is empty for none and `=value` for
//! a value:
//!
//! ```text
//! security-advisories updateinfo cache 2
//! A  id kind status? from? title? release? severity? issued? updated? line
//! R  kind id? href? title?                      (a reference of the advisory above)
//! C                                             (a collection)
//! M  name stream version? context? arch?        (a module of the collection)
//! P  name epoch? version release arch src? filename?
//!    … one such block per advisory, then the trailer:
//! W  kind advisory? line message                (a warning of the parser)
//! D  count                                      (warnings the parser did not keep)
//! S  advisories newest? release…                (the feed's totals)
//! O  offset…                                    (each advisory's A line, then the trailer)
//! K  kind severity?…                            (each advisory's kind and severity)
//! N  name ordinal…                              (the advisories with a package of this name)
//! T  offset                                     (where the trailer starts)
//! END
//! ```

use repodata::updateinfo::{
    severity_of, Advisory, AdvisoryDate, AdvisoryKind, AdvisoryPackage, Collection, ModuleStream, Reference, Severity,
    Warning, WarningKind,
};
use rpmdb::version::Evr;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const HEADER: &str = "security-advisories updateinfo cache 2";

/// Advisories nearer than this in the file are read with one system call (a block is a few
/// hundred bytes to a few kB).
const READ_GAP: u64 = 4 * 1024;

/// Where the parsed form of `metadata` is kept.
pub fn cache_path(metadata: &Path) -> PathBuf {
    let name = metadata
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    metadata.with_file_name(format!("{name}.advisories"))
}

fn escape(out: &mut String, s: &str) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn unescape(s: &str) -> Result<String, String> {
    if memchr::memchr(b'\\', s.as_bytes()).is_none() {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            other => return Err(format!("bad escape \\{other:?}")),
        }
    }
    Ok(out)
}

/// What a whole feed held, whichever of its advisories a scan reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedTotals {
    pub advisories: u64,
    /// The newest `updated`/`issued` date, Unix seconds.
    pub newest: Option<i64>,
    pub releases: BTreeSet<String>,
}

/// Writes the cache as advisories are parsed.
pub struct CacheWriter {
    out: BufWriter<File>,
    temporary: PathBuf,
    target: PathBuf,
    line: String,
    /// Bytes written so far.
    written: u64,
    /// Where each advisory's block starts.
    offsets: Vec<u64>,
    /// Each advisory's kind and raw severity.
    kinds: Vec<(String, Option<String>)>,
    /// For each package name, the ordinals of the advisories naming it.
    index: BTreeMap<String, Vec<u32>>,
}

impl CacheWriter {
    /// Start the cache of `metadata` (under a temporary name until [`CacheWriter::finish`]).
    pub fn create(metadata: &Path) -> io::Result<CacheWriter> {
        let target = cache_path(metadata);
        // Unique to this write, not only to the process (repodata's one atomic writer): two
        // subjects of one run may parse the same feed at once.
        let temporary = repodata::cache::aside_path(&target);
        let out = BufWriter::with_capacity(256 * 1024, File::create(&temporary)?);
        let mut w = CacheWriter {
            out,
            temporary,
            target,
            line: String::new(),
            written: 0,
            offsets: Vec::new(),
            kinds: Vec::new(),
            index: BTreeMap::new(),
        };
        w.record(HEADER);
        w.emit()?;
        Ok(w)
    }

    fn field(&mut self, s: &str) {
        self.line.push('\t');
        escape(&mut self.line, s);
    }

    fn optional(&mut self, s: Option<&str>) {
        self.line.push('\t');
        if let Some(s) = s {
            self.line.push('=');
            escape(&mut self.line, s);
        }
    }

    fn record(&mut self, tag: &str) {
        self.line.clear();
        self.line.push_str(tag);
    }

    fn emit(&mut self) -> io::Result<()> {
        self.line.push('\n');
        self.written += self.line.len() as u64;
        self.out.write_all(self.line.as_bytes())
    }

    pub fn advisory(&mut self, a: &Advisory) -> io::Result<()> {
        let ordinal = u32::try_from(self.offsets.len()).map_err(|_| io::Error::other("too many advisories"))?;
        self.offsets.push(self.written);
        self.kinds.push((a.kind.as_str().to_string(), a.severity_raw.clone()));
        self.record("A");
        self.field(&a.id);
        self.field(a.kind.as_str());
        self.optional(a.status.as_deref());
        self.optional(a.from.as_deref());
        self.optional(a.title.as_deref());
        self.optional(a.release.as_deref());
        self.optional(a.severity_raw.as_deref());
        self.optional(a.issued.as_ref().map(|d| d.raw.as_str()));
        self.optional(a.updated.as_ref().map(|d| d.raw.as_str()));
        self.field(&a.line.to_string());
        self.emit()?;
        for r in &a.references {
            self.record("R");
            self.field(&r.kind);
            self.optional(r.id.as_deref());
            self.optional(r.href.as_deref());
            self.optional(r.title.as_deref());
            self.emit()?;
        }
        for c in &a.collections {
            self.record("C");
            self.emit()?;
            for m in &c.modules {
                self.record("M");
                self.field(&m.name);
                self.field(&m.stream);
                self.optional(m.version.as_deref());
                self.optional(m.context.as_deref());
                self.optional(m.arch.as_deref());
                self.emit()?;
            }
            for p in &c.packages {
                self.record("P");
                self.field(&p.name);
                self.optional(p.evr.epoch.map(|e| e.to_string()).as_deref());
                self.field(&p.evr.version);
                self.field(&p.evr.release);
                self.field(&p.arch);
                self.optional(p.src.as_deref());
                self.optional(p.filename.as_deref());
                self.emit()?;
                let named = self.index.entry(p.name.clone()).or_default();
                if named.last() != Some(&ordinal) {
                    named.push(ordinal);
                }
            }
        }
        Ok(())
    }

    /// Write the trailer (the parser's warnings, the feed's totals, the index) and the end
    /// mark, and put the cache in place.
    pub fn finish(mut self, warnings: &[Warning], dropped: u64, totals: &FeedTotals) -> io::Result<()> {
        let trailer = self.written;
        for w in warnings {
            self.record("W");
            self.field(w.kind.as_str());
            self.optional(w.advisory.as_deref());
            self.field(&w.line.to_string());
            self.field(&w.message);
            self.emit()?;
        }
        self.record("D");
        self.field(&dropped.to_string());
        self.emit()?;
        self.record("S");
        self.field(&totals.advisories.to_string());
        self.optional(totals.newest.map(|n| n.to_string()).as_deref());
        for r in &totals.releases {
            self.field(r);
        }
        self.emit()?;
        let offsets = std::mem::take(&mut self.offsets);
        self.record("O");
        for o in offsets.iter().chain([&trailer]) {
            self.field(&o.to_string());
        }
        self.emit()?;
        let kinds = std::mem::take(&mut self.kinds);
        self.record("K");
        for (kind, severity) in &kinds {
            self.field(kind);
            self.optional(severity.as_deref());
        }
        self.emit()?;
        for (name, ordinals) in std::mem::take(&mut self.index) {
            self.record("N");
            self.field(&name);
            for o in ordinals {
                self.field(&o.to_string());
            }
            self.emit()?;
        }
        self.record("T");
        self.field(&trailer.to_string());
        self.emit()?;
        self.out.write_all(b"END\n")?;
        self.out.flush()?;
        std::fs::rename(&self.temporary, &self.target)
    }

    /// Give up (the feed could not be read to its end): remove the partial file.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.temporary);
    }
}

/// What a cache holds besides its advisories.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CachedFeed {
    pub totals: FeedTotals,
    pub warnings: Vec<Warning>,
    pub warnings_dropped: u64,
}

struct Fields<'a> {
    parts: Pieces<'a>,
}

/// The pieces of a text between one ASCII separator, as `str::split` gives them, found with
/// `memchr`: a warm scan splits some 200,000 short fields, and `str::split` on a `char` was
/// the largest single cost of decoding them.
struct Pieces<'a> {
    rest: Option<&'a str>,
    separator: u8,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match memchr::memchr(self.separator, rest.as_bytes()) {
            // An ASCII byte's position is a character boundary.
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// The records (lines) of a block, as `str::lines` gives them for this format: a final
/// newline ends the last record and starts none (the writer escapes every `\r`).
fn records(text: &str) -> Pieces<'_> {
    Pieces {
        rest: (!text.is_empty()).then(|| text.strip_suffix('\n').unwrap_or(text)),
        separator: b'\n',
    }
}

impl Fields<'_> {
    fn raw(&mut self) -> Result<&str, String> {
        self.parts.next().ok_or_else(|| "a field is missing".to_string())
    }

    fn text(&mut self) -> Result<String, String> {
        unescape(self.raw()?)
    }

    fn optional(&mut self) -> Result<Option<String>, String> {
        let raw = self.raw()?;
        match raw.strip_prefix('=') {
            Some(v) => unescape(v).map(Some),
            None if raw.is_empty() => Ok(None),
            None => Err(format!("bad optional field {raw:?}")),
        }
    }

    fn number(&mut self) -> Result<u64, String> {
        self.raw()?.parse().map_err(|e| format!("bad number: {e}"))
    }
}

/// One record: its tag and its fields.
fn split(record: &str) -> (&str, Fields<'_>) {
    let (tag, rest) = record.split_once('\t').unwrap_or((record, ""));
    (
        tag,
        Fields {
            parts: Pieces {
                rest: Some(rest),
                separator: b'\t',
            },
        },
    )
}

/// Which advisories a reader wants decoded.
pub struct Wanted<'a> {
    /// Package names: an advisory is read only when it names one, and only its packages of
    /// these names are kept.
    pub name: &'a dyn Fn(&str) -> bool,
    /// Kinds and severities: an advisory the scan does not select is not decoded further.
    pub kind: &'a dyn Fn(&AdvisoryKind, Option<Severity>) -> bool,
}

/// Read the cache of `metadata`, handing each advisory [`Wanted`] to `each` (in the feed's
/// order). `Err` when there is none or it is not whole (then some advisories may already have
/// been handed over: start again from the XML with fresh state).
pub fn read(metadata: &Path, wanted: &Wanted, each: &mut dyn FnMut(Advisory)) -> Result<CachedFeed, String> {
    let path = cache_path(metadata);
    let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let read_bytes = |start: u64, end: u64| -> Result<Vec<u8>, String> {
        let mut buf = vec![0; usize::try_from(end - start).map_err(|_| "too large")?];
        file.read_exact_at(&mut buf, start).map_err(|e| e.to_string())?;
        Ok(buf)
    };
    let read_at = |start: u64, end: u64| -> Result<String, String> {
        String::from_utf8(read_bytes(start, end)?).map_err(|_| "not UTF-8".to_string())
    };

    let head = read_at(0, (HEADER.len() as u64 + 1).min(len))?;
    if head.trim_end_matches('\n') != HEADER {
        return Err(format!("not a cache of this version: {:?}", head.trim_end()));
    }
    // The last two records: `T offset` and `END`.
    let tail = read_bytes(len.saturating_sub(32), len)?;
    let tail = String::from_utf8_lossy(&tail);
    let tail = tail.strip_suffix("\nEND\n").ok_or("truncated: no END line")?;
    let (tag, mut f) = split(tail.rsplit('\n').next().unwrap_or(""));
    if tag != "T" {
        return Err("no trailer offset".to_string());
    }
    let trailer_at = f.number()?;
    if trailer_at > len {
        return Err("the trailer offset is past the end".to_string());
    }
    let trailer = read_at(trailer_at, len)?;

    let mut out = CachedFeed::default();
    let mut offsets: Vec<u64> = Vec::new();
    let mut chosen: Vec<u32> = Vec::new();
    let mut selected: Vec<bool> = Vec::new();
    for record in records(&trailer) {
        let (tag, mut f) = split(record);
        match tag {
            "W" => {
                let name = f.text()?;
                let kind = WarningKind::from_name(&name).ok_or_else(|| format!("unknown warning kind {name}"))?;
                out.warnings.push(Warning {
                    kind,
                    advisory: f.optional()?,
                    line: f.number()?,
                    message: f.text()?,
                });
            }
            "D" => out.warnings_dropped = f.number()?,
            "S" => {
                out.totals.advisories = f.number()?;
                out.totals.newest = match f.optional()? {
                    Some(n) => Some(n.parse().map_err(|e| format!("bad date: {e}"))?),
                    None => None,
                };
                for r in f.parts {
                    out.totals.releases.insert(unescape(r)?);
                }
            }
            "O" => {
                offsets = f
                    .parts
                    .map(|o| o.parse::<u64>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                if offsets.windows(2).any(|w| w[0] > w[1]) || offsets.last() != Some(&trailer_at) {
                    return Err("advisory offsets out of order".to_string());
                }
            }
            "K" if record == "K" => {}
            "K" => {
                while let Some(kind) = f.parts.next() {
                    let kind = AdvisoryKind::parse(&unescape(kind)?);
                    let severity = f.optional()?;
                    selected.push((wanted.kind)(&kind, severity.as_deref().and_then(severity_of)));
                }
            }
            "N" => {
                let raw = f.raw()?;
                if (wanted.name)(raw) || (raw.contains('\\') && (wanted.name)(&unescape(raw)?)) {
                    for o in f.parts {
                        chosen.push(o.parse().map_err(|e| format!("bad ordinal: {e}"))?);
                    }
                }
            }
            "T" | "END" => {}
            other => return Err(format!("unknown trailer record {other:?}")),
        }
    }
    if selected.len() + 1 != offsets.len() {
        return Err("as many kinds as advisories".to_string());
    }
    chosen.sort_unstable();
    chosen.dedup();
    chosen.retain(|&o| selected.get(o as usize) == Some(&true));

    // The chosen advisories' blocks, neighbours read together.
    let mut block_buf: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < chosen.len() {
        let block = |k: usize| -> Result<(u64, u64), String> {
            let o = chosen[k] as usize;
            match (offsets.get(o), offsets.get(o + 1)) {
                (Some(&s), Some(&e)) => Ok((s, e)),
                _ => Err(format!("advisory ordinal {o} is out of range")),
            }
        };
        let (start, mut end) = block(i)?;
        let mut j = i + 1;
        while j < chosen.len() {
            let (s, e) = block(j)?;
            if s - end > READ_GAP {
                break;
            }
            end = e;
            j += 1;
        }
        // One buffer for every block read: a fresh allocation per read was fresh memory for
        // the kernel to zero each time.
        block_buf.resize(usize::try_from(end - start).map_err(|_| "too large")?, 0);
        file.read_exact_at(&mut block_buf, start).map_err(|e| e.to_string())?;
        let text = std::str::from_utf8(&block_buf).map_err(|_| "not UTF-8".to_string())?;
        for k in i..j {
            let (s, e) = block(k)?;
            let lines = &text[(s - start) as usize..(e - start) as usize];
            each(decode(lines, wanted)?);
        }
        i = j;
    }
    Ok(out)
}

/// Decode one advisory's block (chosen by the index and by its kind and severity).
fn decode(block: &str, wanted: &Wanted) -> Result<Advisory, String> {
    let mut lines = records(block);
    let (tag, mut f) = split(lines.next().unwrap_or(""));
    if tag != "A" {
        return Err("an advisory offset does not point at an advisory".to_string());
    }
    let id = f.text()?;
    let kind = AdvisoryKind::parse(&f.text()?);
    let status = f.optional()?;
    let from = f.optional()?;
    let title = f.optional()?;
    let release = f.optional()?;
    let severity_raw = f.optional()?;
    let severity = severity_raw.as_deref().and_then(severity_of);
    let issued = f.optional()?.map(|d| AdvisoryDate::parse(&d));
    let updated = f.optional()?.map(|d| AdvisoryDate::parse(&d));
    let line = f.number()?;
    let mut a = Advisory {
        id,
        kind,
        status,
        from,
        title,
        release,
        severity,
        severity_raw,
        issued,
        updated,
        references: Vec::new(),
        collections: Vec::new(),
        line,
    };
    for record in lines {
        let (tag, mut f) = split(record);
        match tag {
            "R" => a.references.push(Reference {
                kind: f.text()?,
                id: f.optional()?,
                href: f.optional()?,
                title: f.optional()?,
            }),
            "C" => a.collections.push(Collection::default()),
            "M" => {
                let m = ModuleStream {
                    name: f.text()?,
                    stream: f.text()?,
                    version: f.optional()?,
                    context: f.optional()?,
                    arch: f.optional()?,
                };
                a.collections
                    .last_mut()
                    .ok_or("a module outside a collection")?
                    .modules
                    .push(m);
            }
            "P" => {
                let raw_name = f.raw()?;
                // Most packages are of names the image lacks: skip them before decoding.
                if memchr::memchr(b'\\', raw_name.as_bytes()).is_none() && !(wanted.name)(raw_name) {
                    continue;
                }
                let name = unescape(raw_name)?;
                if !(wanted.name)(&name) {
                    continue;
                }
                let epoch = match f.optional()? {
                    Some(e) => Some(e.parse::<u32>().map_err(|e| format!("bad epoch: {e}"))?),
                    None => None,
                };
                let version = f.text()?;
                let release = f.text()?;
                let p = AdvisoryPackage {
                    name,
                    evr: Evr::new(epoch, version, release),
                    arch: f.text()?,
                    src: f.optional()?,
                    filename: f.optional()?,
                };
                a.collections
                    .last_mut()
                    .ok_or("a package outside a collection")?
                    .packages
                    .push(p);
            }
            other => return Err(format!("unknown advisory record {other:?}")),
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use repodata::updateinfo::UpdateinfoReader;

    #[test]
    fn pieces_and_records_split_as_str_does() {
        for text in ["", "a", "a\tb", "\t", "a\t", "\ta\t\tb", "é\tü\t"] {
            let rest = format!("T\t{text}");
            let got: Vec<&str> = split(&rest).1.parts.collect();
            assert_eq!(got, text.split('\t').collect::<Vec<_>>(), "{text:?}");
        }
        for text in ["", "\n", "a", "a\n", "a\nb", "a\n\nb\n", "\n\n", "é\nü"] {
            assert_eq!(
                records(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn round_trip_keeps_everything() {
        let xml = "<updates>
<update type=\"security\" status=\"final\" from=\"a@b\"><id>X-1</id><title>tab\there \\ and\nnewline</title>
 <severity>Urgent</severity><issued date=\"2024-01-01\"/><updated date=\"soon\"/><release>R 8</release>
 <references><reference type=\"cve\" id=\"CVE-1\" href=\"h\"/><reference type=\"self\" id=\"\"/></references>
 <pkglist><collection><module name=\"m\" stream=\"1\" context=\"c\"/>
  <package name=\"a\" epoch=\"2\" version=\"1\" release=\"\" arch=\"x86_64\" src=\"a.src.rpm\"><filename>a.rpm</filename></package>
  <package name=\"b\" version=\"1~rc\" release=\"1\" arch=\"noarch\"/>
 </collection><collection/></pkglist></update>
<update type=\"\"><id>Y</id></update>
</updates>";
        let mut r = UpdateinfoReader::new(xml.as_bytes());
        let mut advisories = Vec::new();
        while let Some(a) = r.next_advisory().unwrap() {
            advisories.push(a);
        }
        let warnings = r.take_warnings();
        assert!(!warnings.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("sha256-00-updateinfo.xml.gz");
        let mut w = CacheWriter::create(&meta).unwrap();
        for a in &advisories {
            w.advisory(a).unwrap();
        }
        let totals = FeedTotals {
            advisories: 2,
            newest: Some(1704067200),
            releases: ["R 8".to_string()].into(),
        };
        w.finish(&warnings, 3, &totals).unwrap();
        let all = Wanted {
            name: &|_| true,
            kind: &|_, _| true,
        };
        let mut back = Vec::new();
        let rest = read(&meta, &all, &mut |a| back.push(a)).unwrap();
        // Y names no package: no image can need it, so the index never hands it over.
        assert_eq!(back, advisories[..1]);
        assert_eq!(rest.totals, totals);
        assert_eq!(rest.warnings, warnings);
        assert_eq!(rest.warnings_dropped, 3);
        let only_b = Wanted {
            name: &|n| n == "b",
            kind: &|_, _| true,
        };
        let mut got = Vec::new();
        read(&meta, &only_b, &mut |a| got.push(a)).unwrap();
        assert_eq!(got[0].collections[0].packages.len(), 1);
        let nobody = Wanted {
            name: &|n| n == "c",
            kind: &|_, _| true,
        };
        let mut none = Vec::new();
        read(&meta, &nobody, &mut |a| none.push(a)).unwrap();
        assert!(none.is_empty());
        let bugfixes = Wanted {
            name: &|_| true,
            kind: &|k, _| *k == AdvisoryKind::Bugfix,
        };
        read(&meta, &bugfixes, &mut |a| none.push(a)).unwrap();
        assert!(none.is_empty());

        // A cut cache is not used.
        let text = std::fs::read_to_string(cache_path(&meta)).unwrap();
        std::fs::write(cache_path(&meta), &text[..text.len() - 4]).unwrap();
        assert!(read(&meta, &all, &mut |_| {}).unwrap_err().contains("truncated"));
        // Nor one whose index points elsewhere.
        let shifted = text.replacen("\nO\t", "\nO\t1\t", 1);
        std::fs::write(cache_path(&meta), shifted).unwrap();
        assert!(read(&meta, &all, &mut |_| {}).is_err());
    }

    #[test]
    fn many_advisories_read_through_the_index_in_order() {
        let mut xml = String::from("<updates>");
        for i in 0..3000 {
            let name = if i % 7 == 0 { "wanted" } else { "other" };
            xml.push_str(&format!(
                "<update type=\"security\"><id>A-{i}</id><description>{}</description><pkglist><collection>\
                 <package name=\"{name}\" version=\"{i}\" release=\"1\" arch=\"x86_64\"/></collection></pkglist></update>",
                "x".repeat(200)
            ));
        }
        xml.push_str("</updates>");
        let mut r = UpdateinfoReader::new(xml.as_bytes());
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("sha256-01-updateinfo.xml.gz");
        let mut w = CacheWriter::create(&meta).unwrap();
        let mut expected = Vec::new();
        while let Some(a) = r.next_advisory().unwrap() {
            w.advisory(&a).unwrap();
            if a.collections[0].packages[0].name == "wanted" {
                expected.push(a);
            }
        }
        w.finish(&[], 0, &FeedTotals::default()).unwrap();
        let mut got = Vec::new();
        let wanted = Wanted {
            name: &|n| n == "wanted",
            kind: &|_, _| true,
        };
        read(&meta, &wanted, &mut |a| got.push(a)).unwrap();
        assert_eq!(got.len(), 429);
        assert_eq!(got, expected);
    }

    #[test]
    fn two_writers_of_one_feed_in_one_process_both_finish() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("sha256-00-updateinfo.xml.gz");
        let a = CacheWriter::create(&meta).unwrap();
        let b = CacheWriter::create(&meta).unwrap();
        a.finish(&[], 0, &FeedTotals::default()).unwrap();
        b.finish(&[], 0, &FeedTotals::default()).unwrap();
        let all = Wanted {
            name: &|_| true,
            kind: &|_, _| true,
        };
        let rest = read(&meta, &all, &mut |_| {}).unwrap();
        assert_eq!(rest.warnings_dropped, 0);
    }
}
