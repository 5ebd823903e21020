//! `primary.xml`: every package of a repository — name, arch, EVR, and the dependency lists a
//! judgement needs (obsoletes; provides on request) — read as a stream, one package at a time,
//! so that a repository of any size is parsed in bounded memory.

use crate::xml::{self, XmlStream};
use quick_xml::events::{BytesStart, Event};
use rpmdb::version::Evr;
use std::io::BufRead;

/// A comparison in a dependency (`flags` of `<rpm:entry>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Comparison {
    fn parse(flags: &str) -> Option<Comparison> {
        Some(match flags {
            "LT" => Comparison::Lt,
            "LE" => Comparison::Le,
            "EQ" => Comparison::Eq,
            "GE" => Comparison::Ge,
            "GT" => Comparison::Gt,
            _ => return None,
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Eq => "=",
            Comparison::Ge => ">=",
            Comparison::Gt => ">",
        }
    }
}

/// A dependency entry: `name [op epoch:ver-rel]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    /// The comparison and the EVR it compares with; `None` = any version.
    pub constraint: Option<(Comparison, RelationEvr)>,
}

/// The EVR of a dependency; a missing release matches any release (rpm's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationEvr {
    pub epoch: Option<u32>,
    pub version: String,
    pub release: Option<String>,
}

impl Relation {
    /// Whether a package of this name and EVR satisfies the relation (obsoletes match the
    /// package's own name and EVR, as libsolv does without `obsoleteusesprovides`).
    pub fn matches(&self, name: &str, evr: &Evr) -> bool {
        if self.name != name {
            return false;
        }
        let Some((op, want)) = &self.constraint else {
            return true;
        };
        let mut ord = evr.epoch_or_zero().cmp(&want.epoch.unwrap_or(0));
        if ord == std::cmp::Ordering::Equal {
            ord = rpmdb::version::rpmvercmp(&evr.version, &want.version);
        }
        if ord == std::cmp::Ordering::Equal {
            if let Some(rel) = &want.release {
                ord = rpmdb::version::rpmvercmp(&evr.release, rel);
            }
        }
        use std::cmp::Ordering::*;
        match op {
            Comparison::Lt => ord == Less,
            Comparison::Le => ord != Greater,
            Comparison::Eq => ord == Equal,
            Comparison::Ge => ord != Less,
            Comparison::Gt => ord == Greater,
        }
    }
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some((op, evr)) = &self.constraint {
            write!(f, " {} ", op.symbol())?;
            if let Some(e) = evr.epoch {
                write!(f, "{e}:")?;
            }
            f.write_str(&evr.version)?;
            if let Some(r) = &evr.release {
                write!(f, "-{r}")?;
            }
        }
        Ok(())
    }
}

/// One `<package type="rpm">`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryPackage {
    pub name: String,
    pub arch: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    /// Names this package provides (only when [`ParseOptions::provides`] is set).
    pub provides: Vec<String>,
    pub obsoletes: Vec<Relation>,
}

impl PrimaryPackage {
    pub fn evr(&self) -> Evr {
        Evr::new(Some(self.epoch), self.version.clone(), self.release.clone())
    }

    /// `name-[epoch:]version-release.arch`, the NEVRA string dnf prints.
    pub fn nevra(&self) -> String {
        if self.epoch == 0 {
            format!("{}-{}-{}.{}", self.name, self.version, self.release, self.arch)
        } else {
            format!(
                "{}-{}:{}-{}.{}",
                self.name, self.epoch, self.version, self.release, self.arch
            )
        }
    }
}

/// What to keep of each package beyond its identity and obsoletes.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOptions {
    pub provides: bool,
}

/// What a whole parse saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrimarySummary {
    /// Packages passed to the callback.
    pub packages: u64,
    /// The `<metadata packages="N">` count the file declares.
    pub declared: Option<u64>,
    /// Packages skipped because an entry could not be read (name and reason).
    pub skipped: Vec<String>,
}

/// Which element's text is being collected.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TextOf {
    Nothing,
    Name,
    Arch,
}

/// Which dependency list an `<rpm:entry>` belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Other,
    Provides,
    Obsoletes,
}

const MAX_SKIPPED_REPORTED: usize = 20;

/// Parse a decompressed `primary.xml` stream, calling `each` for every package in file order.
/// A malformed or truncated document is an error (packages already passed stay passed); a
/// package with an unreadable version is skipped and listed in the summary.
pub fn parse<R: BufRead>(
    input: R,
    options: ParseOptions,
    mut each: impl FnMut(PrimaryPackage),
) -> Result<PrimarySummary, String> {
    let mut x = XmlStream::new(input);
    let mut summary = PrimarySummary::default();
    let mut saw_root = false;
    // Depth below <package> (0 = not in a package; 1 = a direct child is next).
    let mut depth = 0usize;
    let mut current: Option<Partial> = None;
    let mut text_of = TextOf::Nothing;
    let mut list = List::Other;
    let mut text = String::new();
    loop {
        match x.next_event()? {
            Event::Start(e) => {
                if !saw_root {
                    check_root(&e, &mut summary)?;
                    saw_root = true;
                    continue;
                }
                let name = xml::local_name(&e);
                if depth == 0 {
                    if name == b"package" {
                        current = Some(Partial::default());
                        depth = 1;
                    }
                    continue;
                }
                if let Some(p) = current.as_mut() {
                    if depth == 1 {
                        text_of = match name {
                            b"name" => TextOf::Name,
                            b"arch" => TextOf::Arch,
                            _ => TextOf::Nothing,
                        };
                        text.clear();
                    } else if depth == 2 {
                        list = match name {
                            b"provides" => List::Provides,
                            b"obsoletes" => List::Obsoletes,
                            _ => List::Other,
                        };
                    }
                    element(p, &e, name, depth, list, options);
                }
                depth += 1;
            }
            Event::Empty(e) => {
                if !saw_root {
                    check_root(&e, &mut summary)?;
                    saw_root = true;
                    continue;
                }
                if let Some(p) = current.as_mut() {
                    let name = xml::local_name(&e);
                    element(p, &e, name, depth, list, options);
                }
            }
            Event::Text(t) if text_of != TextOf::Nothing => text.push_str(&t),
            Event::GeneralRef(r) if text_of != TextOf::Nothing => xml::push_reference(&mut text, &r),
            Event::CData(t) if text_of != TextOf::Nothing => text.push_str(&t),
            Event::End(_) => {
                if depth == 0 {
                    continue;
                }
                depth -= 1;
                if let Some(p) = current.as_mut() {
                    match (depth, text_of) {
                        (1, TextOf::Name) => p.name = Some(text.trim().to_string()),
                        (1, TextOf::Arch) => p.arch = Some(text.trim().to_string()),
                        _ => {}
                    }
                    if depth == 1 {
                        text_of = TextOf::Nothing;
                    }
                    if depth == 2 {
                        list = List::Other;
                    }
                }
                if depth == 0 {
                    if let Some(p) = current.take() {
                        match p.finish() {
                            Ok(pkg) => {
                                summary.packages += 1;
                                each(pkg);
                            }
                            Err(why) => {
                                if summary.skipped.len() < MAX_SKIPPED_REPORTED {
                                    summary.skipped.push(why);
                                }
                            }
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err("not a primary.xml: no <metadata> element".into());
    }
    Ok(summary)
}

fn check_root(e: &BytesStart<'_>, summary: &mut PrimarySummary) -> Result<(), String> {
    if xml::local_name(e) != b"metadata" {
        return Err(format!(
            "not a primary.xml: root element <{}>",
            String::from_utf8_lossy(xml::local_name(e))
        ));
    }
    summary.declared = xml::attribute(e, b"packages").and_then(|n| n.parse().ok());
    Ok(())
}

/// A package while its elements are being read.
#[derive(Default)]
struct Partial {
    name: Option<String>,
    arch: Option<String>,
    version: Option<(Option<String>, Option<String>, Option<String>)>,
    provides: Vec<String>,
    obsoletes: Vec<Relation>,
    bad: Option<String>,
}

/// The largest number of entries kept per dependency list of one package.
const MAX_ENTRIES: usize = 100_000;

fn element(p: &mut Partial, e: &BytesStart<'_>, name: &[u8], depth: usize, list: List, options: ParseOptions) {
    if depth == 1 && name == b"version" {
        p.version = Some((
            xml::attribute(e, b"epoch"),
            xml::attribute(e, b"ver"),
            xml::attribute(e, b"rel"),
        ));
    } else if depth == 3 && name == b"entry" {
        match list {
            List::Provides if options.provides && p.provides.len() < MAX_ENTRIES => {
                if let Some(n) = xml::attribute(e, b"name") {
                    p.provides.push(n);
                }
            }
            List::Obsoletes if p.obsoletes.len() < MAX_ENTRIES => match relation(e) {
                Ok(r) => p.obsoletes.push(r),
                Err(why) => p.bad = Some(why),
            },
            _ => {}
        }
    }
}

fn relation(e: &BytesStart<'_>) -> Result<Relation, String> {
    let name = xml::attribute(e, b"name").ok_or("an <rpm:entry> without a name")?;
    let constraint = match xml::attribute(e, b"flags") {
        None => None,
        Some(f) => {
            let op = Comparison::parse(&f).ok_or_else(|| format!("{name}: unknown flags {f:?}"))?;
            let epoch = match xml::attribute(e, b"epoch") {
                None => None,
                Some(s) => Some(
                    s.parse::<u32>()
                        .map_err(|_| format!("{name}: epoch {s:?} is not a number"))?,
                ),
            };
            let version = xml::attribute(e, b"ver").unwrap_or_default();
            let release = xml::attribute(e, b"rel");
            Some((
                op,
                RelationEvr {
                    epoch,
                    version,
                    release,
                },
            ))
        }
    };
    Ok(Relation { name, constraint })
}

impl Partial {
    fn finish(self) -> Result<PrimaryPackage, String> {
        let name = self
            .name
            .filter(|n| !n.is_empty())
            .ok_or("a <package> without a <name>")?;
        let arch = self
            .arch
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("{name}: no <arch>"))?;
        let (epoch, ver, rel) = self.version.ok_or_else(|| format!("{name}.{arch}: no <version>"))?;
        let epoch = match epoch.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(s) => s
                .parse::<u32>()
                .map_err(|_| format!("{name}.{arch}: epoch {s:?} is not a number"))?,
        };
        let version = ver.ok_or_else(|| format!("{name}.{arch}: <version> without ver"))?;
        let release = rel.ok_or_else(|| format!("{name}.{arch}: <version> without rel"))?;
        if let Some(why) = self.bad {
            return Err(format!("{name}.{arch}: {why}"));
        }
        Ok(PrimaryPackage {
            name,
            arch,
            epoch,
            version,
            release,
            provides: self.provides,
            obsoletes: self.obsoletes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>bash</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="5.1.8" rel="9.el9"/>
  <checksum type="sha256" pkgid="YES">00</checksum>
  <summary>The GNU Bourne Again shell &amp; more</summary>
  <format>
    <rpm:license>GPLv3+</rpm:license>
    <rpm:provides>
      <rpm:entry name="bash" flags="EQ" epoch="0" ver="5.1.8" rel="9.el9"/>
      <rpm:entry name="/bin/sh"/>
    </rpm:provides>
    <rpm:obsoletes>
      <rpm:entry name="oldbash" flags="LT" epoch="1" ver="2.0"/>
    </rpm:obsoletes>
    <file>/usr/bin/bash</file>
  </format>
</package>
<package type="rpm">
  <name>a&amp;b</name>
  <arch>noarch</arch>
  <version epoch="3" ver="1.0^git1" rel="1"/>
</package>
</metadata>"#;

    fn all(xml: &str, options: ParseOptions) -> Result<(Vec<PrimaryPackage>, PrimarySummary), String> {
        let mut v = Vec::new();
        let s = parse(xml.as_bytes(), options, |p| v.push(p))?;
        Ok((v, s))
    }

    #[test]
    fn reads_identity_and_dependencies() {
        let (v, s) = all(SAMPLE, ParseOptions { provides: true }).unwrap();
        assert_eq!(s.packages, 2);
        assert_eq!(s.declared, Some(2));
        assert_eq!(v[0].name, "bash");
        assert_eq!(v[0].nevra(), "bash-5.1.8-9.el9.x86_64");
        assert_eq!(v[0].provides, vec!["bash", "/bin/sh"]);
        assert_eq!(v[0].obsoletes.len(), 1);
        assert_eq!(v[0].obsoletes[0].to_string(), "oldbash < 1:2.0");
        assert!(v[0].obsoletes[0].matches("oldbash", &Evr::new(Some(1), "1.9", "5")));
        assert!(
            v[0].obsoletes[0].matches("oldbash", &Evr::new(None, "9", "1")),
            "epoch 0 < epoch 1"
        );
        assert!(!v[0].obsoletes[0].matches("oldbash", &Evr::new(Some(1), "2.0", "1")));
        assert_eq!(v[1].name, "a&b");
        assert_eq!(v[1].nevra(), "a&b-3:1.0^git1-1.noarch");
        let (v, _) = all(SAMPLE, ParseOptions::default()).unwrap();
        assert!(v[0].provides.is_empty());
    }

    #[test]
    fn truncated_and_foreign_documents_are_errors() {
        let cut = &SAMPLE[..SAMPLE.len() / 2];
        let e = all(cut, ParseOptions::default()).unwrap_err();
        assert!(e.contains("truncated") || e.contains("malformed"), "{e}");
        assert!(all("<repomd></repomd>", ParseOptions::default()).is_err());
        assert!(all(
            "<metadata><package><name>x</nme></package></metadata>",
            ParseOptions::default()
        )
        .is_err());
    }

    #[test]
    fn a_package_without_version_is_skipped_and_named() {
        let xml = r#"<metadata packages="2"><package type="rpm"><name>bad</name><arch>noarch</arch></package>
        <package type="rpm"><name>good</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/></package></metadata>"#;
        let (v, s) = all(xml, ParseOptions::default()).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(s.skipped, vec!["bad.noarch: no <version>"]);
    }
}
