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
use std::io::{self, BufRead, Read, Write};

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

fn u8_(r: &mut impl Read) -> io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}
fn u32_(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}
fn str_(r: &mut impl Read) -> io::Result<String> {
    let n = u32_(r)?;
    if n > MAX_STRING {
        return Err(bad("string too long"));
    }
    let mut v = Vec::new();
    r.take(n as u64).read_to_end(&mut v)?;
    if v.len() != n as usize {
        return Err(bad("truncated"));
    }
    String::from_utf8(v).map_err(|_| bad("not UTF-8"))
}

/// Read an index, calling `each` for every package; returns whether provides were kept and
/// the package count.
pub fn read(mut r: impl BufRead, mut each: impl FnMut(PrimaryPackage)) -> io::Result<(bool, u64)> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)?;
    if &magic != MAGIC {
        return Err(bad("wrong magic"));
    }
    let provides_kept = u8_(&mut r)? == 1;
    let mut count = 0u64;
    loop {
        match u8_(&mut r)? {
            0 => break,
            1 => {}
            _ => return Err(bad("unknown record")),
        }
        let name = str_(&mut r)?;
        let arch = str_(&mut r)?;
        let epoch = u32_(&mut r)?;
        let version = str_(&mut r)?;
        let release = str_(&mut r)?;
        let n = u32_(&mut r)?;
        if n > MAX_LIST {
            return Err(bad("too many obsoletes"));
        }
        let mut obsoletes = Vec::new();
        for _ in 0..n {
            let rname = str_(&mut r)?;
            let constraint = match u8_(&mut r)? {
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
                    let epoch = if u8_(&mut r)? == 1 { Some(u32_(&mut r)?) } else { None };
                    let version = str_(&mut r)?;
                    let release = if u8_(&mut r)? == 1 { Some(str_(&mut r)?) } else { None };
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
                name: rname,
                constraint,
            });
        }
        let n = u32_(&mut r)?;
        if n > MAX_LIST {
            return Err(bad("too many provides"));
        }
        let mut provides = Vec::new();
        for _ in 0..n {
            provides.push(str_(&mut r)?);
        }
        count += 1;
        each(PrimaryPackage {
            name,
            arch,
            epoch,
            version,
            release,
            provides,
            obsoletes,
        });
    }
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    if u64::from_le_bytes(b) != count {
        return Err(bad("package count does not match"));
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
        assert_eq!(read(&bytes[..], |p| back.push(p)).unwrap(), (true, 2));
        assert_eq!(back, parsed);
        for cut in [5, bytes.len() / 2, bytes.len() - 1] {
            assert!(read(&bytes[..cut], |_| {}).is_err(), "cut at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert!(read(&wrong[..], |_| {}).is_err());
    }
}
