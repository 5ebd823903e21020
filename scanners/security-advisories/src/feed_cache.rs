//! The parsed form of a cached updateinfo, kept beside the metadata file in `--cache-dir`, so
//! that the next scan against the same repository reads a compact text file instead of
//! decompressing and parsing the XML again (dnf keeps a libsolv `.solvx` for the same reason).
//!
//! It is written while a feed is parsed to its end without error (to a temporary name, then
//! renamed), and holds every advisory whole — all packages, not only the names one image has
//! — and the parser's warnings, so a scan from the cache gives the same result as one from
//! the XML. The metadata file's name carries its checksum, so a new feed gets a new cache. A
//! cache that cannot be read to its `END` line is ignored and the XML read instead.
//!
//! Format: a header line, then one record per line, fields separated by tabs, with `\`, tab,
//! newline and carriage return escaped; an optional field is empty for none and `=value` for
//! a value:
//!
//! ```text
//! security-advisories updateinfo cache 1
//! A  id kind status? from? title? release? severity? issued? updated? line
//! R  kind id? href? title?                      (a reference of the advisory above)
//! C                                             (a collection)
//! M  name stream version? context? arch?        (a module of the collection)
//! P  name epoch? version release arch src? filename?
//! W  kind advisory? line message                (a warning of the parser)
//! D  count                                      (warnings the parser did not keep)
//! END
//! ```

use repodata::updateinfo::{
    severity_of, Advisory, AdvisoryDate, AdvisoryKind, AdvisoryPackage, Collection, ModuleStream, Reference, Warning,
    WarningKind,
};
use rpmdb::version::Evr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

const HEADER: &str = "security-advisories updateinfo cache 1";

/// Where the parsed form of `metadata` is kept.
pub fn cache_path(metadata: &Path) -> PathBuf {
    let name = metadata
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    metadata.with_file_name(format!("{name}.advisories"))
}

fn escape(out: &mut String, s: &str) {
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

/// Writes the cache as advisories are parsed.
pub struct CacheWriter {
    out: BufWriter<File>,
    temporary: PathBuf,
    target: PathBuf,
    line: String,
}

impl CacheWriter {
    /// Start the cache of `metadata` (under a temporary name until [`CacheWriter::finish`]).
    pub fn create(metadata: &Path) -> io::Result<CacheWriter> {
        let target = cache_path(metadata);
        // Unique to this write, not only to the process (repodata's one atomic writer): two
        // subjects of one run may parse the same feed at once.
        let temporary = repodata::cache::aside_path(&target);
        let mut out = BufWriter::with_capacity(256 * 1024, File::create(&temporary)?);
        writeln!(out, "{HEADER}")?;
        Ok(CacheWriter {
            out,
            temporary,
            target,
            line: String::new(),
        })
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
        self.out.write_all(self.line.as_bytes())
    }

    pub fn advisory(&mut self, a: &Advisory) -> io::Result<()> {
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
            }
        }
        Ok(())
    }

    /// Write the parser's warnings and the end mark, and put the cache in place.
    pub fn finish(mut self, warnings: &[Warning], dropped: u64) -> io::Result<()> {
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
pub struct CachedWarnings {
    pub warnings: Vec<Warning>,
    pub warnings_dropped: u64,
}

struct Fields<'a> {
    parts: std::str::Split<'a, char>,
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
        self.text()?.parse().map_err(|e| format!("bad number: {e}"))
    }
}

/// Read the cache of `metadata`, handing each advisory to `each` as soon as it is whole and
/// keeping only the packages whose name `keep` accepts. `Err` when there is none or it is not
/// whole (then some advisories may already have been handed over: start again from the XML
/// with fresh state).
pub fn read(
    metadata: &Path,
    keep: &dyn Fn(&str) -> bool,
    each: &mut dyn FnMut(Advisory),
) -> Result<CachedWarnings, String> {
    let path = cache_path(metadata);
    let file = File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let mut line = String::new();
    input.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.trim_end_matches('\n') != HEADER {
        return Err(format!("not a cache of this version: {:?}", line.trim_end()));
    }
    let mut out = CachedWarnings::default();
    let mut current: Option<Advisory> = None;
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("truncated: no END line".to_string());
        }
        let record = line.strip_suffix('\n').ok_or("truncated: a line without its end")?;
        let (tag, rest) = record.split_once('\t').unwrap_or((record, ""));
        let mut f = Fields {
            parts: rest.split('\t'),
        };
        if tag != "R" && tag != "C" && tag != "M" && tag != "P" {
            if let Some(a) = current.take() {
                each(a);
            }
        }
        match tag {
            "A" => {
                let id = f.text()?;
                let kind = AdvisoryKind::parse(&f.text()?);
                let status = f.optional()?;
                let from = f.optional()?;
                let title = f.optional()?;
                let release = f.optional()?;
                let severity_raw = f.optional()?;
                let issued = f.optional()?.map(|d| AdvisoryDate::parse(&d));
                let updated = f.optional()?.map(|d| AdvisoryDate::parse(&d));
                let line = f.number()?;
                current = Some(Advisory {
                    id,
                    kind,
                    status,
                    from,
                    title,
                    release,
                    severity: severity_raw.as_deref().and_then(severity_of),
                    severity_raw,
                    issued,
                    updated,
                    references: Vec::new(),
                    collections: Vec::new(),
                    line,
                });
            }
            "R" => {
                let r = Reference {
                    kind: f.text()?,
                    id: f.optional()?,
                    href: f.optional()?,
                    title: f.optional()?,
                };
                current
                    .as_mut()
                    .ok_or("a reference before any advisory")?
                    .references
                    .push(r);
            }
            "C" => {
                let a = current.as_mut().ok_or("a collection before any advisory")?;
                a.collections.push(Collection::default());
            }
            "M" => {
                let m = ModuleStream {
                    name: f.text()?,
                    stream: f.text()?,
                    version: f.optional()?,
                    context: f.optional()?,
                    arch: f.optional()?,
                };
                let c = current
                    .as_mut()
                    .and_then(|a| a.collections.last_mut())
                    .ok_or("a module outside a collection")?;
                c.modules.push(m);
            }
            "P" => {
                let raw_name = f.raw()?;
                // Most packages are of names the image lacks: skip them before decoding.
                if !raw_name.contains('\\') && !keep(raw_name) {
                    continue;
                }
                let name = unescape(raw_name)?;
                if !keep(&name) {
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
                let c = current
                    .as_mut()
                    .and_then(|a| a.collections.last_mut())
                    .ok_or("a package outside a collection")?;
                c.packages.push(p);
            }
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
            "END" => return Ok(out),
            other => return Err(format!("unknown record {other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use repodata::updateinfo::UpdateinfoReader;

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
        w.finish(&warnings, 3).unwrap();
        let mut back = Vec::new();
        let rest = read(&meta, &|_| true, &mut |a| back.push(a)).unwrap();
        assert_eq!(back, advisories);
        assert_eq!(rest.warnings, warnings);
        assert_eq!(rest.warnings_dropped, 3);
        let mut only_b = Vec::new();
        read(&meta, &|n| n == "b", &mut |a| only_b.push(a)).unwrap();
        assert_eq!(only_b[0].collections[0].packages.len(), 1);

        // A cut cache is not used.
        let text = std::fs::read_to_string(cache_path(&meta)).unwrap();
        std::fs::write(cache_path(&meta), &text[..text.len() - 4]).unwrap();
        assert!(read(&meta, &|_| true, &mut |_| {}).unwrap_err().contains("truncated"));
    }

    #[test]
    fn two_writers_of_one_feed_in_one_process_both_finish() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("sha256-00-updateinfo.xml.gz");
        let a = CacheWriter::create(&meta).unwrap();
        let b = CacheWriter::create(&meta).unwrap();
        a.finish(&[], 0).unwrap();
        b.finish(&[], 0).unwrap();
        let rest = read(&meta, &|_| true, &mut |_| {}).unwrap();
        assert_eq!(rest.warnings_dropped, 0);
    }
}
