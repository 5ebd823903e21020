//! `updateinfo.xml`: advisories (security, bugfix, enhancement) and the packages that fix them.
//!
//! A streaming reader: [`UpdateinfoReader`] yields one [`Advisory`] at a time from any
//! `BufRead` (decompress first), so a feed of tens of thousands of advisories is never held
//! whole. It reads what libsolv's `repo_updateinfoxml.c` reads for dnf:
//!
//! ```xml
//! <updates>
//!   <update type="security" status="final" from="...">
//!     <id>RHSA-2021:1234</id> <title>...</title> <severity>Important</severity>
//!     <issued date="2021-07-22 18:25:24"/> <updated date="..."/>
//!     <references><reference type="cve" id="CVE-2021-3520" href="..."/></references>
//!     <pkglist><collection>
//!       <module name="ruby" stream="2.6" version="..." context="..." arch="x86_64"/>
//!       <package name="lz4" epoch="0" version="1.8.3" release="3.el8_4" arch="x86_64">
//!         <filename>lz4-1.8.3-3.el8_4.x86_64.rpm</filename></package>
//!     </collection></pkglist>
//!   </update>
//! </updates>
//! ```
//!
//! Missing or odd fields are not fatal: the advisory or package is kept or skipped and a
//! [`Warning`] with a stable [`WarningKind`] name says what was wrong. Malformed XML is an
//! [`UpdateinfoError`] naming the line and byte offset.

use quick_xml::events::{BytesRef, BytesStart, Event};
use rpmdb::version::Evr;
use std::borrow::Cow;
use std::fmt;
use std::io::{self, BufRead};

/// No single XML event (a tag with its attributes, or one text run) may be longer than this.
pub const MAX_EVENT_BYTES: u64 = 64 * 1024 * 1024;
/// Warnings held at most (between two [`UpdateinfoReader::take_warnings`]).
pub const MAX_WARNINGS: usize = 10_000;
/// Text kept per field (title, summary…); longer text is cut.
const MAX_FIELD_CHARS: usize = 64 * 1024;

/// The `type` attribute of an `<update>`, as dnf classifies it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdvisoryKind {
    Security,
    Bugfix,
    Enhancement,
    NewPackage,
    /// Any other value (dnf shows these as "unknown"); empty when the attribute is absent.
    Other(String),
}

impl AdvisoryKind {
    pub fn parse(s: &str) -> AdvisoryKind {
        match s {
            "security" => AdvisoryKind::Security,
            "bugfix" => AdvisoryKind::Bugfix,
            "enhancement" => AdvisoryKind::Enhancement,
            "newpackage" => AdvisoryKind::NewPackage,
            other => AdvisoryKind::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AdvisoryKind::Security => "security",
            AdvisoryKind::Bugfix => "bugfix",
            AdvisoryKind::Enhancement => "enhancement",
            AdvisoryKind::NewPackage => "newpackage",
            AdvisoryKind::Other(s) => s,
        }
    }
}

/// Red Hat's severity scale, which Fedora, Rocky, Alma, Oracle and SUSE also use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Moderate,
    Important,
    Critical,
}

impl Severity {
    /// Case-insensitive; `None` for anything off the scale.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "moderate" => Some(Severity::Moderate),
            "important" => Some(Severity::Important),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "Low",
            Severity::Moderate => "Moderate",
            Severity::Important => "Important",
            Severity::Critical => "Critical",
        }
    }
}

/// The severity of a `<severity>` text: on the scale, or `None` for Rocky's "None" and for
/// anything off the scale.
pub fn severity_of(text: &str) -> Option<Severity> {
    if text.eq_ignore_ascii_case("none") {
        None
    } else {
        Severity::parse(text)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `issued` or `updated` date: the feed's text and, when it could be read, seconds since
/// the Unix epoch (UTC), as libsolv reads it (`YYYY-MM-DD[ HH:MM[:SS]]` or a number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryDate {
    pub raw: String,
    pub unix: Option<i64>,
}

impl AdvisoryDate {
    pub fn parse(raw: &str) -> AdvisoryDate {
        AdvisoryDate {
            raw: raw.to_string(),
            unix: parse_date(raw),
        }
    }
}

/// A `<reference>`: `type` is `cve`, `bugzilla`, `self`, `erratum`…
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: String,
    pub id: Option<String>,
    pub href: Option<String>,
    pub title: Option<String>,
}

/// A `<module>` of a collection: the packages of the collection belong to this stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleStream {
    pub name: String,
    pub stream: String,
    pub version: Option<String>,
    pub context: Option<String>,
    pub arch: Option<String>,
}

/// A `<package>` of a collection: the fixed build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryPackage {
    pub name: String,
    pub evr: Evr,
    pub arch: String,
    pub src: Option<String>,
    pub filename: Option<String>,
}

impl AdvisoryPackage {
    /// `name-[epoch:]version-release.arch`, the epoch only when not 0 (dnf's `nevra`).
    pub fn nevra(&self) -> String {
        rpmdb::version::dnf_nevra(&self.name, &self.evr, &self.arch)
    }
}

/// A `<collection>`: packages, and the module streams they belong to (none for plain RPMs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Collection {
    pub modules: Vec<ModuleStream>,
    pub packages: Vec<AdvisoryPackage>,
}

/// One `<update>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub id: String,
    pub kind: AdvisoryKind,
    pub status: Option<String>,
    pub from: Option<String>,
    pub title: Option<String>,
    pub release: Option<String>,
    /// `None` when absent, empty, `None` (Rocky's bugfixes) or off the scale (with a warning).
    pub severity: Option<Severity>,
    /// The severity text as written, when it was present and not empty.
    pub severity_raw: Option<String>,
    pub issued: Option<AdvisoryDate>,
    pub updated: Option<AdvisoryDate>,
    pub references: Vec<Reference>,
    pub collections: Vec<Collection>,
    /// The line of the `<update>` tag in the (decompressed) document.
    pub line: u64,
}

impl Advisory {
    /// The CVE ids: `<reference type="cve">` ids, in document order, without duplicates.
    pub fn cves(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for r in &self.references {
            if r.kind.eq_ignore_ascii_case("cve") {
                if let Some(id) = r.id.as_deref() {
                    if !out.contains(&id) {
                        out.push(id);
                    }
                }
            }
        }
        out
    }

    /// The newer of `updated` and `issued`, in Unix seconds.
    pub fn newest_date(&self) -> Option<i64> {
        let u = self.updated.as_ref().and_then(|d| d.unix);
        let i = self.issued.as_ref().and_then(|d| d.unix);
        u.max(i)
    }
}

/// The stable names of things in a feed that are wrong but not fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningKind {
    /// A field an advisory or package needs is absent or empty.
    MissingField,
    /// A severity off the Critical/Important/Moderate/Low scale.
    UnknownSeverity,
    /// An `issued`/`updated` date that could not be read.
    BadDate,
    /// An epoch that is not a number.
    BadEpoch,
    /// An entity reference other than XML's five and character references.
    UnknownEntity,
    /// The advisory feed is for another OS release than the image.
    ReleaseMismatch,
}

impl WarningKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WarningKind::MissingField => "missing-field",
            WarningKind::UnknownSeverity => "unknown-severity",
            WarningKind::BadDate => "bad-date",
            WarningKind::BadEpoch => "bad-epoch",
            WarningKind::UnknownEntity => "unknown-entity",
            WarningKind::ReleaseMismatch => "release-mismatch",
        }
    }

    /// The kind of a name [`WarningKind::as_str`] gives.
    pub fn from_name(name: &str) -> Option<WarningKind> {
        [
            WarningKind::MissingField,
            WarningKind::UnknownSeverity,
            WarningKind::BadDate,
            WarningKind::BadEpoch,
            WarningKind::UnknownEntity,
            WarningKind::ReleaseMismatch,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// A problem in the feed that did not stop the reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub kind: WarningKind,
    /// The advisory concerned, when known.
    pub advisory: Option<String>,
    pub line: u64,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (line {}", self.kind.as_str(), self.line)?;
        if let Some(a) = &self.advisory {
            write!(f, ", {a}")?;
        }
        write!(f, "): {}", self.message)
    }
}

/// The document cannot be read on: malformed XML, truncation, or an I/O error.
#[derive(Debug, thiserror::Error)]
#[error("updateinfo line {line} (byte {offset}): {message}")]
pub struct UpdateinfoError {
    /// Line (1-based) where the failing construct starts.
    pub line: u64,
    /// Byte offset in the decompressed document.
    pub offset: u64,
    pub message: String,
}

/// A `BufRead` that counts lines as they are consumed and refuses an XML event longer than
/// [`MAX_EVENT_BYTES`] (the parser's buffer would otherwise grow with the input). Shared with
/// the OVAL reader of security-advisories.
pub struct Counting<R> {
    pub inner: R,
    pub offset: u64,
    pub newlines: u64,
    pub event_start: u64,
}

impl<R: BufRead> io::Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.offset - self.event_start > MAX_EVENT_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("one XML tag or text is longer than {MAX_EVENT_BYTES} bytes"),
            ));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let amt = amt.min(buf.len());
            self.newlines += count_newlines(&buf[..amt]);
            self.offset += amt as u64;
            self.inner.consume(amt);
        }
    }
}

/// How many `\n` bytes `hay` holds, eight bytes at a time: a byte of `x = word ^ "\n\n…"` is
/// zero exactly where the word has a newline, and `!(((x & 0x7f…) + 0x7f…) | x) & 0x80…` has
/// one bit set per zero byte.
fn count_newlines(hay: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = hay.chunks_exact(8);
    let mut n = 0u64;
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        let x = u64::from_ne_bytes(word) ^ NEWLINES;
        n += u64::from((!(((x & LOW7) + LOW7) | x) & HIGH).count_ones());
    }
    n + chunks.remainder().iter().filter(|&&b| b == b'\n').count() as u64
}

/// Which text field is being collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Title,
    Severity,
    Release,
    Filename,
}

/// The advisory being assembled.
#[derive(Default)]
struct Partial {
    id: String,
    kind: Option<String>,
    status: Option<String>,
    from: Option<String>,
    title: Option<String>,
    release: Option<String>,
    severity: Option<String>,
    issued: Option<String>,
    updated: Option<String>,
    references: Vec<Reference>,
    collections: Vec<Collection>,
    /// `<package>` elements met, kept or filtered out.
    packages_seen: u64,
    line: u64,
}

/// Which package names [`UpdateinfoReader::with_package_filter`] keeps.
type PackageFilter = Box<dyn Fn(&str) -> bool>;

/// Streams the advisories of an `updateinfo.xml` document.
///
/// ```
/// use repodata::updateinfo::UpdateinfoReader;
/// let xml = br#"<updates><update type="security"><id>X-1</id><severity>Low</severity>
///   <pkglist><collection><package name="a" version="1" release="2" arch="noarch"/></collection></pkglist>
///   </update></updates>"#;
/// let mut r = UpdateinfoReader::new(&xml[..]);
/// let adv = r.next_advisory().unwrap().unwrap();
/// assert_eq!(adv.id, "X-1");
/// assert_eq!(adv.collections[0].packages[0].nevra(), "a-1-2.noarch");
/// assert!(r.next_advisory().unwrap().is_none());
/// ```
pub struct UpdateinfoReader<R: BufRead> {
    xml: quick_xml::Reader<Counting<R>>,
    buf: Vec<u8>,
    warnings: Vec<Warning>,
    seen_root: bool,
    done: bool,
    /// Count of `<update>` elements seen, for messages about advisories without an id.
    updates_seen: u64,
    warnings_dropped: u64,
    /// Packages whose name this refuses are skipped (see [`UpdateinfoReader::with_package_filter`]).
    package_filter: Option<PackageFilter>,
}

impl<R: BufRead> UpdateinfoReader<R> {
    pub fn new(input: R) -> UpdateinfoReader<R> {
        let mut xml = quick_xml::Reader::from_reader(Counting {
            inner: input,
            offset: 0,
            newlines: 0,
            event_start: 0,
        });
        let config = xml.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        UpdateinfoReader {
            xml,
            buf: Vec::new(),
            warnings: Vec::new(),
            seen_root: false,
            done: false,
            updates_seen: 0,
            package_filter: None,
            warnings_dropped: 0,
        }
    }

    /// Keep only the packages whose name `keep` accepts (e.g. the names installed in an
    /// image): the others are not even decoded. Advisories are still all returned, with the
    /// packages kept.
    ///
    /// ```
    /// use repodata::updateinfo::UpdateinfoReader;
    /// let xml = br#"<updates><update type="bugfix"><id>X</id><pkglist><collection>
    ///   <package name="a" version="1" release="1" arch="noarch"/>
    ///   <package name="b" version="1" release="1" arch="noarch"/></collection></pkglist></update></updates>"#;
    /// let mut r = UpdateinfoReader::new(&xml[..]).with_package_filter(|n| n == "b");
    /// let adv = r.next_advisory().unwrap().unwrap();
    /// assert_eq!(adv.collections[0].packages.len(), 1);
    /// assert_eq!(adv.collections[0].packages[0].name, "b");
    /// ```
    pub fn with_package_filter(mut self, keep: impl Fn(&str) -> bool + 'static) -> UpdateinfoReader<R> {
        self.package_filter = Some(Box::new(keep));
        self
    }

    /// Warnings collected so far (and not yet taken).
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    /// Warnings not kept because [`MAX_WARNINGS`] were already held.
    pub fn warnings_dropped(&self) -> u64 {
        self.warnings_dropped
    }

    /// Bytes of the decompressed document read so far.
    pub fn bytes_read(&self) -> u64 {
        self.xml.get_ref().offset
    }

    fn line(&self) -> u64 {
        self.xml.get_ref().newlines + 1
    }

    fn error(&self, line: u64, message: impl Into<String>) -> UpdateinfoError {
        UpdateinfoError {
            line,
            offset: self.xml.buffer_position(),
            message: message.into(),
        }
    }

    fn warn(&mut self, kind: WarningKind, advisory: Option<&str>, line: u64, message: String) {
        // A hostile feed could warn about every line: keep the first ones, count the rest.
        if self.warnings.len() >= MAX_WARNINGS {
            self.warnings_dropped += 1;
            return;
        }
        self.warnings.push(Warning {
            kind,
            advisory: advisory.map(str::to_string),
            line,
            message,
        });
    }

    /// The next event (borrowing `buf`), with the line it starts on.
    fn next_event<'b>(&mut self, buf: &'b mut Vec<u8>) -> Result<(Event<'b>, u64), UpdateinfoError> {
        let counting = self.xml.get_mut();
        counting.event_start = counting.offset;
        let line = self.line();
        buf.clear();
        match self.xml.read_event_into(buf) {
            Ok(ev) => Ok((ev, line)),
            Err(e) => {
                let offset = self.xml.error_position();
                let message = match &e {
                    quick_xml::Error::Io(io) => format!("cannot read: {io}"),
                    other => format!("malformed XML: {other}"),
                };
                Err(UpdateinfoError { line, offset, message })
            }
        }
    }

    /// The next advisory, `Ok(None)` at the end of the document.
    pub fn next_advisory(&mut self) -> Result<Option<Advisory>, UpdateinfoError> {
        if self.done {
            return Ok(None);
        }
        // Events borrow the buffer, not the reader, so that handling them may update it.
        let mut buf = std::mem::take(&mut self.buf);
        let result = self.advisory_from(&mut buf);
        // A huge event leaves a huge buffer behind: give the memory back.
        if buf.capacity() <= 1 << 20 {
            self.buf = buf;
        }
        result
    }

    fn advisory_from(&mut self, buf: &mut Vec<u8>) -> Result<Option<Advisory>, UpdateinfoError> {
        loop {
            let (event, line) = self.next_event(buf)?;
            match event {
                Event::Start(e) | Event::Empty(e) if !self.seen_root => {
                    let name = local_name(&e);
                    if name != "updates" {
                        self.done = true;
                        return Err(self.error(
                            line,
                            format!("not an updateinfo document: the root element is <{name}>, not <updates>"),
                        ));
                    }
                    self.seen_root = true;
                }
                Event::Start(e) if e.local_name().as_ref() == "update" => {
                    self.updates_seen += 1;
                    let partial = self.start_update(&e, line);
                    if let Some(a) = self.read_update(partial, buf)? {
                        return Ok(Some(a));
                    }
                }
                Event::Empty(e) if e.local_name().as_ref() == "update" => {
                    self.updates_seen += 1;
                    let n = self.updates_seen;
                    self.warn(
                        WarningKind::MissingField,
                        None,
                        line,
                        format!("update #{n} is an empty element: no id, no packages; skipped"),
                    );
                }
                Event::Eof => {
                    self.done = true;
                    if !self.seen_root {
                        return Err(self.error(line, "empty document: no <updates> element"));
                    }
                    return Ok(None);
                }
                Event::End(e) if e.local_name().as_ref() == "updates" => {
                    // Anything after the root is ignored, as libsolv does.
                    self.done = true;
                    return Ok(None);
                }
                _ => {}
            }
        }
    }

    fn start_update(&mut self, e: &BytesStart<'_>, line: u64) -> Partial {
        let mut p = Partial {
            line,
            ..Partial::default()
        };
        for (k, v) in self.attributes(e, line) {
            match k {
                "type" => p.kind = Some(v.into_owned()),
                "status" => p.status = Some(v.into_owned()),
                "from" => p.from = Some(v.into_owned()),
                _ => {}
            }
        }
        p
    }

    /// Read up to `</update>`; `Ok(None)` when the advisory had to be skipped.
    fn read_update(&mut self, mut p: Partial, buf: &mut Vec<u8>) -> Result<Option<Advisory>, UpdateinfoError> {
        let mut st = UpdateState::default();
        loop {
            let (event, line) = self.next_event(buf)?;
            let (e, is_start) = match event {
                Event::Start(e) => (e, true),
                Event::Empty(e) => (e, false),
                Event::Text(t) => {
                    if st.field.is_some() {
                        push_bounded(&mut st.text, &t.xml10_content());
                    }
                    continue;
                }
                Event::CData(t) => {
                    if st.field.is_some() {
                        push_bounded(&mut st.text, &t.xml10_content());
                    }
                    continue;
                }
                Event::GeneralRef(r) => {
                    if st.field.is_some() {
                        let resolved = self.resolve_ref(&r, &p.id, line);
                        push_bounded(&mut st.text, &resolved);
                    }
                    continue;
                }
                Event::End(e) => {
                    st.depth = st.depth.saturating_sub(1);
                    match e.local_name().as_ref() {
                        "update" if st.depth == 0 => return Ok(self.finish_update(p)),
                        "collection" => st.in_collection = false,
                        "package" => st.in_package = false,
                        _ => {
                            if st.field.is_some() && st.depth == st.field_depth {
                                let t = std::mem::take(&mut st.text);
                                finish_field(&mut p, st.field.take(), &t);
                            }
                        }
                    }
                    continue;
                }
                Event::Eof => {
                    let id = if p.id.is_empty() { "?".to_string() } else { p.id.clone() };
                    return Err(self.error(
                        line,
                        format!(
                            "truncated: the document ends inside <update> {id} that starts on line {}",
                            p.line
                        ),
                    ));
                }
                _ => continue,
            };
            if st.field.is_some() {
                // Markup inside a text field (`<title>a <b>b</b></title>`): keep collecting.
                if is_start {
                    st.depth += 1;
                }
                continue;
            }
            self.open_tag(&mut p, &mut st, &e, is_start, line);
            if is_start {
                st.depth += 1;
            }
        }
    }

    /// A start or empty tag inside an `<update>`.
    fn open_tag(&mut self, p: &mut Partial, st: &mut UpdateState, e: &BytesStart<'_>, is_start: bool, line: u64) {
        let local = e.local_name();
        let name: &str = local.as_ref();
        let field = match name {
            "id" => Some(Field::Id),
            "title" => Some(Field::Title),
            "severity" => Some(Field::Severity),
            "release" => Some(Field::Release),
            "filename" if st.in_package => Some(Field::Filename),
            _ => None,
        };
        if let Some(f) = field {
            if is_start {
                st.field = Some(f);
                st.field_depth = st.depth;
                st.text.clear();
            } else {
                // `<title/>`: an empty field.
                finish_field(p, Some(f), "");
            }
            return;
        }
        match name {
            "issued" | "updated" => {
                let date = self
                    .attributes(e, line)
                    .into_iter()
                    .find(|(k, _)| *k == "date")
                    .map(|(_, v)| v.into_owned());
                if name == "issued" {
                    p.issued = date;
                } else {
                    p.updated = date;
                }
            }
            "reference" => {
                let mut r = Reference {
                    kind: String::new(),
                    id: None,
                    href: None,
                    title: None,
                };
                for (k, v) in self.attributes(e, line) {
                    match k {
                        "type" => r.kind = v.into_owned(),
                        "id" => r.id = non_empty(v),
                        "href" => r.href = non_empty(v),
                        "title" => r.title = non_empty(v),
                        _ => {}
                    }
                }
                p.references.push(r);
            }
            "collection" => {
                p.collections.push(Collection::default());
                st.in_collection = is_start;
            }
            "module" if st.in_collection => {
                if let Some(m) = self.module(e, &p.id, line) {
                    if let Some(c) = p.collections.last_mut() {
                        c.modules.push(m);
                    }
                }
            }
            "package" if st.in_collection => {
                p.packages_seen += 1;
                if let Some(keep) = &self.package_filter {
                    let named = e.try_get_attribute("name").ok().flatten();
                    // A name with an entity reference is decoded in full below.
                    if named.is_some_and(|a| !a.value.contains('&') && !keep(&a.value)) {
                        st.in_package = false;
                        return;
                    }
                }
                let pkg = self.package(e, &p.id, line);
                let kept = pkg.is_some();
                if let (Some(pkg), Some(c)) = (pkg, p.collections.last_mut()) {
                    c.packages.push(pkg);
                }
                // Only a kept package collects its <filename>.
                st.in_package = kept && is_start;
            }
            _ => {}
        }
    }

    fn finish_update(&mut self, p: Partial) -> Option<Advisory> {
        let line = p.line;
        if p.id.is_empty() {
            let n = self.updates_seen;
            self.warn(
                WarningKind::MissingField,
                None,
                line,
                format!("update #{n} has no <id>; skipped"),
            );
            return None;
        }
        let id = p.id;
        let kind = match p.kind {
            Some(k) if !k.is_empty() => AdvisoryKind::parse(&k),
            _ => {
                self.warn(
                    WarningKind::MissingField,
                    Some(&id),
                    line,
                    "no type attribute; treated as an unknown type".to_string(),
                );
                AdvisoryKind::Other(String::new())
            }
        };
        let severity = match p.severity.as_deref() {
            None => None,
            Some(s) => {
                let sev = severity_of(s);
                if sev.is_none() && !s.eq_ignore_ascii_case("none") {
                    self.warn(
                        WarningKind::UnknownSeverity,
                        Some(&id),
                        line,
                        format!("severity {s:?} is not Critical, Important, Moderate or Low"),
                    );
                }
                sev
            }
        };
        if kind == AdvisoryKind::Security && p.severity.is_none() {
            self.warn(
                WarningKind::MissingField,
                Some(&id),
                line,
                "security advisory without a <severity>".to_string(),
            );
        }
        let mut dates = [None, None];
        for (slot, (what, raw)) in dates.iter_mut().zip([("issued", p.issued), ("updated", p.updated)]) {
            if let Some(raw) = raw {
                let d = AdvisoryDate::parse(&raw);
                if d.unix.is_none() {
                    self.warn(
                        WarningKind::BadDate,
                        Some(&id),
                        line,
                        format!("<{what} date={raw:?}> is not a date"),
                    );
                }
                *slot = Some(d);
            }
        }
        let [issued, updated] = dates;
        if p.packages_seen == 0 {
            self.warn(
                WarningKind::MissingField,
                Some(&id),
                line,
                "no packages in <pkglist>; it cannot apply to any image".to_string(),
            );
        }
        Some(Advisory {
            id,
            kind,
            status: p.status,
            from: p.from,
            title: p.title,
            release: p.release,
            severity,
            severity_raw: p.severity,
            issued,
            updated,
            references: p.references,
            collections: p.collections,
            line,
        })
    }

    fn module(&mut self, e: &BytesStart<'_>, advisory: &str, line: u64) -> Option<ModuleStream> {
        let (mut name, mut stream) = (None, None);
        let mut m = ModuleStream {
            name: String::new(),
            stream: String::new(),
            version: None,
            context: None,
            arch: None,
        };
        for (k, v) in self.attributes(e, line) {
            match k {
                "name" => name = non_empty(v),
                "stream" => stream = non_empty(v),
                "version" => m.version = non_empty(v),
                "context" => m.context = non_empty(v),
                "arch" => m.arch = non_empty(v),
                _ => {}
            }
        }
        match (name, stream) {
            (Some(n), Some(s)) => {
                m.name = n;
                m.stream = s;
                Some(m)
            }
            _ => {
                self.warn(
                    WarningKind::MissingField,
                    Some(advisory).filter(|a| !a.is_empty()),
                    line,
                    "<module> without name or stream; ignored".to_string(),
                );
                None
            }
        }
    }

    fn package(&mut self, e: &BytesStart<'_>, advisory: &str, line: u64) -> Option<AdvisoryPackage> {
        let (mut name, mut epoch, mut version, mut release, mut arch, mut src) = (None, None, None, None, None, None);
        for (k, v) in self.attributes(e, line) {
            match k {
                "name" => name = non_empty(v),
                "epoch" => epoch = non_empty(v),
                "version" => version = non_empty(v),
                "release" => release = Some(v.into_owned()),
                "arch" => arch = non_empty(v),
                "src" => src = non_empty(v),
                _ => {}
            }
        }
        let adv = Some(advisory).filter(|a| !a.is_empty());
        let (name, version, arch) = match (name, version, arch) {
            (Some(n), Some(v), Some(a)) => (n, v, a),
            (n, v, a) => {
                let missing: Vec<&str> = [("name", n.is_none()), ("version", v.is_none()), ("arch", a.is_none())]
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(f, _)| *f)
                    .collect();
                self.warn(
                    WarningKind::MissingField,
                    adv,
                    line,
                    format!(
                        "<package{}> without {}; skipped",
                        n.map(|n| format!(" name={n:?}")).unwrap_or_default(),
                        missing.join(", ")
                    ),
                );
                return None;
            }
        };
        let epoch = match epoch {
            None => None,
            Some(e) => match e.trim().parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    self.warn(
                        WarningKind::BadEpoch,
                        adv,
                        line,
                        format!("package {name}: epoch {e:?} is not a number; skipped"),
                    );
                    return None;
                }
            },
        };
        Some(AdvisoryPackage {
            name,
            evr: Evr::new(epoch, version, release.unwrap_or_default()),
            arch,
            src,
            filename: None,
        })
    }

    /// Attributes as (local name, value), borrowed from the tag where no entity needs
    /// resolving; an undecodable value is kept as written, with a warning.
    fn attributes<'e>(&mut self, e: &'e BytesStart<'_>, line: u64) -> Vec<(&'e str, Cow<'e, str>)> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for a in e.attributes().with_checks(false) {
            let Ok(a) = a else { continue };
            let key = a.key.local_name().into_inner();
            let value = match a.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
                Ok(v) => v,
                Err(_) => {
                    bad.push(key);
                    a.value
                }
            };
            out.push((key, value));
        }
        for key in bad {
            self.warn(
                WarningKind::UnknownEntity,
                None,
                line,
                format!("attribute {key} holds an unknown entity reference; kept as written"),
            );
        }
        out
    }

    fn resolve_ref(&mut self, r: &BytesRef<'_>, advisory: &str, line: u64) -> String {
        if let Ok(Some(c)) = r.resolve_char_ref() {
            return c.to_string();
        }
        match r.as_ref() {
            "lt" => "<".into(),
            "gt" => ">".into(),
            "amp" => "&".into(),
            "apos" => "'".into(),
            "quot" => "\"".into(),
            other => {
                let other = other.to_string();
                self.warn(
                    WarningKind::UnknownEntity,
                    Some(advisory).filter(|a| !a.is_empty()),
                    line,
                    format!("unknown entity &{other};, kept as written"),
                );
                format!("&{other};")
            }
        }
    }
}

impl<R: BufRead> Iterator for UpdateinfoReader<R> {
    type Item = Result<Advisory, UpdateinfoError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_advisory() {
            Ok(Some(a)) => Some(Ok(a)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Where `read_update` is inside one `<update>`.
#[derive(Default)]
struct UpdateState {
    /// Open elements below `<update>`.
    depth: u32,
    field: Option<Field>,
    field_depth: u32,
    text: String,
    in_collection: bool,
    in_package: bool,
}

fn finish_field(p: &mut Partial, field: Option<Field>, text: &str) {
    let t = text.trim().to_string();
    match field {
        Some(Field::Id) => p.id = t,
        Some(Field::Title) => p.title = non_empty(t),
        Some(Field::Severity) => p.severity = non_empty(t),
        Some(Field::Release) => p.release = non_empty(t),
        Some(Field::Filename) => {
            if let Some(pkg) = p.collections.last_mut().and_then(|c| c.packages.last_mut()) {
                pkg.filename = non_empty(t);
            }
        }
        None => {}
    }
}

fn local_name(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_string()
}

fn non_empty<'a>(s: impl Into<Cow<'a, str>>) -> Option<String> {
    let s = s.into();
    if s.trim().is_empty() {
        None
    } else {
        Some(s.into_owned())
    }
}

fn push_bounded(text: &mut String, more: &str) {
    let room = MAX_FIELD_CHARS.saturating_sub(text.len());
    if more.len() <= room {
        text.push_str(more);
    } else {
        let mut cut = room;
        while cut > 0 && !more.is_char_boundary(cut) {
            cut -= 1;
        }
        text.push_str(&more[..cut]);
    }
}

/// Seconds since the epoch for `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `YYYY-MM-DD HH:MM:SS`
/// (also with `T`, fractional seconds, a trailing `Z` or ` UTC`), or a bare number of seconds
/// as SUSE writes it.
pub fn parse_date(raw: &str) -> Option<i64> {
    let s = raw.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let s = s.strip_suffix(" UTC").or_else(|| s.strip_suffix('Z')).unwrap_or(s);
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = 0i64;
    if let Some(t) = time {
        let t = t.split('.').next()?;
        let mut parts = t.split(':');
        let h: i64 = parts.next()?.parse().ok()?;
        let m: i64 = parts.next()?.parse().ok()?;
        let sec: i64 = match parts.next() {
            Some(x) => x.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() || h > 23 || m > 59 || sec > 60 {
            return None;
        }
        secs = h * 3600 + m * 60 + sec;
    }
    Some(days_from_civil(year, month, day) * 86_400 + secs)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds.
pub fn format_unix_utc(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Inverse of days_from_civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(xml: &str) -> (Vec<Advisory>, Vec<Warning>, Option<UpdateinfoError>) {
        let mut r = UpdateinfoReader::new(xml.as_bytes());
        let mut out = Vec::new();
        let mut err = None;
        for a in r.by_ref() {
            match a {
                Ok(a) => out.push(a),
                Err(e) => err = Some(e),
            }
        }
        (out, r.take_warnings(), err)
    }

    #[test]
    fn reads_fields_references_collections_and_modules() {
        let xml = r#"<?xml version="1.0"?>
<updates>
  <update from="a@b" status="final" type="security" version="2">
    <id>RLSA-2019:1972</id>
    <title>Important: ruby:2.5 &amp; more</title>
    <issued date="2019-07-30 11:16:25"/>
    <updated date="2023-02-02 12:55:31"></updated>
    <severity>Important</severity>
    <references>
      <reference href="h1" id="CVE-2019-8324" type="cve" title="t"/>
      <reference href="h2" id="1692520" type="bugzilla"/>
      <reference href="h3" id="CVE-2019-8324" type="cve"/>
    </references>
    <pkglist>
      <collection short="x">
        <name>none</name>
        <module name="ruby" stream="2.6" version="8060020220628150300" context="d63f516d" arch="x86_64" />
        <package name="rubygem-abrt" arch="noarch" epoch="0" version="0.3.0" release="4.module" src="s.src.rpm">
          <filename>rubygem-abrt.rpm</filename>
          <sum type="sha256">00</sum>
        </package>
        <package name="b" arch="x86_64" epoch="2" version="1" release="1"/>
      </collection>
      <collection><package name="c" arch="i686" version="3" release="4"/></collection>
    </pkglist>
  </update>
</updates>"#;
        let (advs, warnings, err) = read_all(xml);
        assert!(err.is_none(), "{err:?}");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(advs.len(), 1);
        let a = &advs[0];
        assert_eq!(a.id, "RLSA-2019:1972");
        assert_eq!(a.kind, AdvisoryKind::Security);
        assert_eq!(a.title.as_deref(), Some("Important: ruby:2.5 & more"));
        assert_eq!(a.severity, Some(Severity::Important));
        assert_eq!(a.status.as_deref(), Some("final"));
        assert_eq!(a.issued.as_ref().unwrap().unix, Some(1564485385));
        assert_eq!(a.newest_date(), Some(1675342531));
        assert_eq!(a.cves(), vec!["CVE-2019-8324"]);
        assert_eq!(a.references.len(), 3);
        assert_eq!(a.collections.len(), 2);
        let c = &a.collections[0];
        assert_eq!(c.modules[0].name, "ruby");
        assert_eq!(c.modules[0].stream, "2.6");
        assert_eq!(c.modules[0].context.as_deref(), Some("d63f516d"));
        assert_eq!(c.packages[0].nevra(), "rubygem-abrt-0.3.0-4.module.noarch");
        assert_eq!(c.packages[0].filename.as_deref(), Some("rubygem-abrt.rpm"));
        assert_eq!(c.packages[1].nevra(), "b-2:1-1.x86_64");
        assert_eq!(c.packages[1].filename, None);
        assert!(a.collections[1].modules.is_empty());
        assert_eq!(a.collections[1].packages[0].evr, Evr::new(None, "3", "4"));
    }

    #[test]
    fn missing_fields_and_unknown_severity_are_named_warnings() {
        let xml = r#"<updates xmlns="http://novell.com/package/metadata/suse/updateinfo">
<update type="security"><id>A</id><severity>Urgent</severity>
 <pkglist><collection>
  <package name="x" arch="x86_64" release="1"/>
  <package name="y" arch="x86_64" version="1" release="1" epoch="z"/>
  <package name="z" arch="x86_64" version="1" release="1"/>
 </collection></pkglist></update>
<update type="bugfix"><title>no id</title></update>
<update><id>C</id><issued date="yesterday"/></update>
<update type="security"><id>D</id><severity>None</severity></update>
</updates>"#;
        let (advs, warnings, err) = read_all(xml);
        assert!(err.is_none(), "{err:?}");
        let ids: Vec<&str> = advs.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["A", "C", "D"]);
        assert_eq!(advs[0].severity, None);
        assert_eq!(advs[0].severity_raw.as_deref(), Some("Urgent"));
        assert_eq!(advs[0].collections[0].packages.len(), 1);
        assert_eq!(advs[1].kind, AdvisoryKind::Other(String::new()));
        let kinds: Vec<(&str, Option<&str>)> = warnings
            .iter()
            .map(|w| (w.kind.as_str(), w.advisory.as_deref()))
            .collect();
        assert!(kinds.contains(&("unknown-severity", Some("A"))), "{kinds:?}");
        assert!(kinds.contains(&("missing-field", Some("A"))), "{kinds:?}");
        assert!(kinds.contains(&("bad-epoch", Some("A"))), "{kinds:?}");
        assert!(kinds.contains(&("missing-field", None)), "{kinds:?}");
        assert!(kinds.contains(&("bad-date", Some("C"))), "{kinds:?}");
        // "None" is Rocky's way of saying no severity: not an unknown one.
        assert!(!kinds.contains(&("unknown-severity", Some("D"))), "{kinds:?}");
        let no_id = warnings.iter().find(|w| w.message.contains("no <id>")).unwrap();
        assert_eq!(no_id.line, 8);
    }

    #[test]
    fn malformed_xml_is_an_error_with_its_line() {
        let xml = "<updates>\n<update type=\"bugfix\"><id>A</id>\n<title>x</titel>\n</update></updates>";
        let (advs, _, err) = read_all(xml);
        assert!(advs.is_empty());
        let err = err.expect("an error");
        assert_eq!(err.line, 3, "{err}");
        assert!(err.to_string().contains("malformed XML"), "{err}");
    }

    #[test]
    fn truncation_and_wrong_root_are_errors() {
        let (_, _, err) = read_all("<updates>\n<update type=\"bugfix\"><id>A</id>");
        let err = err.unwrap();
        assert!(err.message.contains("truncated"), "{err}");
        assert!(err.message.contains("A"), "{err}");
        let (_, _, err) = read_all("<metadata><package/></metadata>");
        assert!(err.unwrap().message.contains("root element is <metadata>"));
        let (_, _, err) = read_all("");
        assert!(err.unwrap().message.contains("empty document"));
        let (advs, _, err) = read_all("<updates/>");
        assert!(advs.is_empty() && err.is_none());
    }

    #[test]
    fn newline_count() {
        let text = b"a\nbc\n\n\x8a\x0b\ndefghijklmnop\nq\n\n\n\xff\n";
        for end in 0..text.len() {
            let want = text[..end].iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_newlines(&text[..end]), want, "first {end} bytes");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1213630432"), Some(1213630432));
        assert_eq!(parse_date("2021-07-22 18:25:24"), Some(1626978324));
        assert_eq!(parse_date("2021-07-22"), Some(1626912000));
        assert_eq!(parse_date("2021-07-22T18:25:24Z"), Some(1626978324));
        assert_eq!(parse_date("2021-07-22 18:25"), Some(1626978300));
        assert_eq!(parse_date("2021-07-22 18:25:24.5 UTC"), Some(1626978324));
        assert_eq!(parse_date("2021-13-01"), None);
        assert_eq!(parse_date("soon"), None);
        assert_eq!(format_unix_utc(1626978324), "2021-07-22T18:25:24Z");
        assert_eq!(format_unix_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix_utc(951782400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn an_overlong_tag_is_refused() {
        struct Endless;
        impl io::Read for Endless {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                out.fill(b'a');
                Ok(out.len())
            }
        }
        use std::io::Read;
        let input = io::Cursor::new(b"<updates><update type=\"".to_vec()).chain(Endless);
        let mut r = UpdateinfoReader::new(io::BufReader::new(input));
        let err = r.next_advisory().unwrap_err();
        assert!(err.message.contains("longer than"), "{err}");
    }
}
