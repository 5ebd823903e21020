//! A compact binary copy of a primary's packages (identity, obsoletes, provided names),
//! written beside the cached primary by the scan that parsed it, so that later scans of other
//! images read a few bytes per package instead of the XML. It lives in the metadata cache
//! under the primary's checksum: it is never stale. Reading it is bounded and checked like any
//! other input (a damaged index is an error, and the XML is read instead).
//!
//! Layout: `MAGIC`, a flags byte (1 = provides kept), the package count (u64), then per
//! package: name, arch, epoch (u32), version, release, obsoletes (count, then name, operator
//! byte, optional epoch, version, optional release), provides (count, then names). Strings are
//! a u32 length and UTF-8 bytes; integers little-endian.

use crate::primary::{Comparison, PrimaryPackage, Relation, RelationEvr};
use std::io::{self, Read, Write};

const MAGIC: &[u8; 8] = b"PSIDX01\n";
/// The longest string an index may hold.
const MAX_STRING: u32 = 1 << 20;
/// The most entries of one list.
const MAX_LIST: u32 = 1 << 20;

/// Writes an index as packages stream by.
pub struct IndexWriter<W: Write> {
    out: W,
    count: u64,
}

fn put_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(&(s.len() as u32).to_le_bytes())?;
    out.write_all(s.as_bytes())
}

impl<W: Write> IndexWriter<W> {
    /// Start an index; `provides` says whether provided names are kept.
    pub fn new(mut out: W, provides: bool) -> io::Result<IndexWriter<W>> {
        out.write_all(MAGIC)?;
        out.write_all(&[provides as u8])?;
        // The count is written by `finish` at the end.
        Ok(IndexWriter { out, count: 0 })
    }

    pub fn add(&mut self, p: &PrimaryPackage) -> io::Result<()> {
        let o = &mut self.out;
        o.write_all(&[1u8])?;
        put_str(o, &p.name)?;
        put_str(o, &p.arch)?;
        o.write_all(&p.epoch.to_le_bytes())?;
        put_str(o, &p.version)?;
        put_str(o, &p.release)?;
        o.write_all(&(p.obsoletes.len() as u32).to_le_bytes())?;
        for r in &p.obsoletes {
            put_str(o, &r.name)?;
            match &r.constraint {
                None => o.write_all(&[0u8])?,
                Some((op, evr)) => {
                    let code = match op {
                        Comparison::Lt => 1u8,
                        Comparison::Le => 2,
                        Comparison::Eq => 3,
                        Comparison::Ge => 4,
                        Comparison::Gt => 5,
                    };
                    o.write_all(&[code])?;
                    match evr.epoch {
                        Some(e) => {
                            o.write_all(&[1])?;
                            o.write_all(&e.to_le_bytes())?;
                        }
                        None => o.write_all(&[0])?,
                    }
                    put_str(o, &evr.version)?;
                    match &evr.release {
                        Some(r) => {
                            o.write_all(&[1])?;
                            put_str(o, r)?;
                        }
                        None => o.write_all(&[0])?,
                    }
                }
            }
        }
        o.write_all(&(p.provides.len() as u32).to_le_bytes())?;
        for name in &p.provides {
            put_str(o, name)?;
        }
        self.count += 1;
        Ok(())
    }

    /// End the index with its package count; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8])?;
        self.out.write_all(&self.count.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("damaged primary index: {what}"))
}

/// A cursor over an index held in memory: strings are borrowed until a package is kept.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> io::Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| bad("truncated"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> io::Result<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    fn str(&mut self) -> io::Result<&'a str> {
        let n = self.u32()?;
        if n > MAX_STRING {
            return Err(bad("string too long"));
        }
        std::str::from_utf8(self.take(n as usize)?).map_err(|_| bad("not UTF-8"))
    }
    fn list_len(&mut self, what: &str) -> io::Result<u32> {
        let n = self.u32()?;
        if n > MAX_LIST {
            return Err(bad(what));
        }
        Ok(n)
    }
}

/// The largest index read.
pub const MAX_INDEX_BYTES: u64 = 1 << 30;

/// Read an index, calling `each` for every package whose name and obsoleted names `keep`
/// accepts (the others are skipped without building them); returns whether provides were
/// kept and the package count.
pub fn read(
    mut r: impl Read,
    keep: &dyn Fn(&str, &[&str]) -> bool,
    mut each: impl FnMut(PrimaryPackage),
) -> io::Result<(bool, u64)> {
    let mut bytes = Vec::new();
    (&mut r).take(MAX_INDEX_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INDEX_BYTES {
        return Err(bad("larger than the limit"));
    }
    let mut c = Cursor { bytes: &bytes, at: 0 };
    if c.take(MAGIC.len())? != MAGIC {
        return Err(bad("wrong magic"));
    }
    let provides_kept = c.u8()? == 1;
    let mut count = 0u64;
    let mut obsoleted: Vec<&str> = Vec::new();
    loop {
        match c.u8()? {
            0 => break,
            1 => {}
            _ => return Err(bad("unknown record")),
        }
        let name = c.str()?;
        let arch = c.str()?;
        let epoch = c.u32()?;
        let version = c.str()?;
        let release = c.str()?;
        let n = c.list_len("too many obsoletes")?;
        obsoleted.clear();
        let mut obsoletes = Vec::new();
        for _ in 0..n {
            let rname = c.str()?;
            obsoleted.push(rname);
            let constraint = match c.u8()? {
                0 => None,
                code => {
                    let op = match code {
                        1 => Comparison::Lt,
                        2 => Comparison::Le,
                        3 => Comparison::Eq,
                        4 => Comparison::Ge,
                        5 => Comparison::Gt,
                        _ => return Err(bad("unknown comparison")),
                    };
                    let epoch = if c.u8()? == 1 { Some(c.u32()?) } else { None };
                    let version = c.str()?.to_string();
                    let release = if c.u8()? == 1 { Some(c.str()?.to_string()) } else { None };
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
            obsoletes.push(Relation {
                name: rname.to_string(),
                constraint,
            });
        }
        let wanted = keep(name, &obsoleted);
        let n = c.list_len("too many provides")?;
        let mut provides = Vec::new();
        for _ in 0..n {
            let p = c.str()?;
            if wanted {
                provides.push(p.to_string());
            }
        }
        count += 1;
        if wanted {
            each(PrimaryPackage {
                name: name.to_string(),
                arch: arch.to_string(),
                epoch,
                version: version.to_string(),
                release: release.to_string(),
                provides,
                obsoletes,
            });
        }
    }
    if c.u64()? != count {
        return Err(bad("package count does not match"));
    }
    if c.at != bytes.len() {
        return Err(bad("bytes after the end"));
    }
    Ok((provides_kept, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primary::{parse, ParseOptions};

    #[test]
    fn round_trip_and_damage() {
        let xml = r#"<metadata packages="2"><package type="rpm"><name>a</name><arch>x86_64</arch>
<version epoch="2" ver="1.0~rc1" rel="3"/><format><rpm:provides><rpm:entry name="a"/><rpm:entry name="cap(x)"/></rpm:provides>
<rpm:obsoletes><rpm:entry name="old" flags="LT" epoch="1" ver="2"/><rpm:entry name="gone"/></rpm:obsoletes></format></package>
<package type="rpm"><name>b</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/></package></metadata>"#;
        let mut parsed = Vec::new();
        parse(xml.as_bytes(), ParseOptions { provides: true }, |p| parsed.push(p)).unwrap();
        let mut w = IndexWriter::new(Vec::new(), true).unwrap();
        for p in &parsed {
            w.add(p).unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut back = Vec::new();
        assert_eq!(read(&bytes[..], &|_, _| true, |p| back.push(p)).unwrap(), (true, 2));
        let mut only = Vec::new();
        read(
            &bytes[..],
            &|name, obsoleted| name == "b" || obsoleted.contains(&"gone"),
            |p| only.push(p.name),
        )
        .unwrap();
        assert_eq!(only, ["a", "b"]);
        let mut none = Vec::new();
        read(&bytes[..], &|name, _| name == "zzz", |p| none.push(p)).unwrap();
        assert!(none.is_empty());
        assert_eq!(back, parsed);
        for cut in [5, bytes.len() / 2, bytes.len() - 1] {
            assert!(read(&bytes[..cut], &|_, _| true, |_| {}).is_err(), "cut at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert!(read(&wrong[..], &|_, _| true, |_| {}).is_err());
    }
}
