//! `repodata/repomd.xml`: the index of a repository's metadata files — for each `<data type>`
//! its location, checksum (of the file as stored), open-checksum (decompressed), size and
//! timestamp — and the repository's `<revision>`.

use crate::checksum::Checksum;
use crate::xml::{self, XmlStream};
use quick_xml::events::Event;

/// The largest `repomd.xml` accepted (real ones are a few kilobytes).
pub const MAX_REPOMD_BYTES: u64 = 4 << 20;

/// One `<data>` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// `primary`, `filelists`, `other`, `updateinfo`, `modules`, `primary_db`, …
    pub kind: String,
    /// `location href`, relative to the repository base.
    pub href: String,
    /// `location xml:base`, when the file lives elsewhere.
    pub base: Option<String>,
    pub checksum: Option<Checksum>,
    pub open_checksum: Option<Checksum>,
    pub size: Option<u64>,
    pub open_size: Option<u64>,
    pub timestamp: Option<u64>,
}

/// A parsed `repomd.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repomd {
    pub revision: Option<String>,
    pub data: Vec<DataFile>,
}

impl Repomd {
    /// The entry of a type (`primary`, `modules`, …).
    pub fn data(&self, kind: &str) -> Option<&DataFile> {
        self.data.iter().find(|d| d.kind == kind)
    }

    /// Parse a whole `repomd.xml`. Entries without a location are an error: nothing can be
    /// fetched for them.
    pub fn parse(bytes: &[u8]) -> Result<Repomd, String> {
        let mut x = XmlStream::new(bytes);
        let mut repomd = Repomd::default();
        let mut current: Option<DataFile> = None;
        // The element whose text is being read, and its attributes that matter.
        let mut field: Option<(Vec<u8>, Option<String>)> = None;
        let mut text = String::new();
        let mut saw_root = false;
        loop {
            match x.next_event()? {
                Event::Start(e) => {
                    let name = xml::local_name(&e).to_vec();
                    if !saw_root {
                        if name != b"repomd" {
                            return Err(format!(
                                "not a repomd.xml: root element <{}>",
                                String::from_utf8_lossy(&name)
                            ));
                        }
                        saw_root = true;
                        continue;
                    }
                    match name.as_slice() {
                        b"data" => current = Some(new_data(xml::attribute(&e, b"type").unwrap_or_default())),
                        b"location" => {
                            if let Some(d) = current.as_mut() {
                                set_location(d, &e);
                            }
                        }
                        _ => {
                            field = Some((name, xml::attribute(&e, b"type")));
                            text.clear();
                        }
                    }
                }
                Event::Empty(e) => {
                    let name = xml::local_name(&e).to_vec();
                    if !saw_root {
                        return Err("not a repomd.xml: empty root element".into());
                    }
                    match name.as_slice() {
                        b"location" => {
                            if let Some(d) = current.as_mut() {
                                set_location(d, &e);
                            }
                        }
                        b"data" => {}
                        _ => {}
                    }
                }
                Event::Text(t) => text.push_str(&t),
                Event::CData(t) => text.push_str(&t),
                Event::GeneralRef(r) => xml::push_reference(&mut text, &r),
                Event::End(e) => {
                    let name = e.local_name().into_inner().as_bytes().to_vec();
                    if name == b"data" {
                        if let Some(d) = current.take() {
                            if d.href.is_empty() {
                                return Err(format!("<data type=\"{}\"> has no <location href>", d.kind));
                            }
                            repomd.data.push(d);
                        }
                    } else if let Some((fname, ftype)) = field.take() {
                        if fname == name {
                            apply_field(&mut repomd, current.as_mut(), &fname, ftype.as_deref(), text.trim())?;
                        }
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if !saw_root {
            return Err("not a repomd.xml: no <repomd> element".into());
        }
        Ok(repomd)
    }
}

fn new_data(kind: String) -> DataFile {
    DataFile {
        kind,
        href: String::new(),
        base: None,
        checksum: None,
        open_checksum: None,
        size: None,
        open_size: None,
        timestamp: None,
    }
}

fn set_location(d: &mut DataFile, e: &quick_xml::events::BytesStart<'_>) {
    d.href = xml::attribute(e, b"href").unwrap_or_default();
    d.base = xml::attribute(e, b"base");
}

fn apply_field(
    repomd: &mut Repomd,
    data: Option<&mut DataFile>,
    name: &[u8],
    kind: Option<&str>,
    text: &str,
) -> Result<(), String> {
    let Some(d) = data else {
        if name == b"revision" {
            repomd.revision = Some(text.to_string());
        }
        return Ok(());
    };
    let number = |what: &str| -> Result<u64, String> {
        text.parse::<u64>()
            .map_err(|_| format!("<data type=\"{}\">: <{what}> {text:?} is not a number", d.kind))
    };
    match name {
        b"checksum" => {
            d.checksum = Some(
                Checksum::parse(kind.unwrap_or(""), text)
                    .map_err(|e| format!("<data type=\"{}\"> checksum: {e}", d.kind))?,
            )
        }
        b"open-checksum" => {
            d.open_checksum = Some(
                Checksum::parse(kind.unwrap_or(""), text)
                    .map_err(|e| format!("<data type=\"{}\"> open-checksum: {e}", d.kind))?,
            )
        }
        b"size" => d.size = Some(number("size")?),
        b"open-size" => d.open_size = Some(number("open-size")?),
        // Timestamps are sometimes written as floats by old createrepo.
        b"timestamp" => d.timestamp = text.split('.').next().and_then(|t| t.parse().ok()),
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_createrepo_output() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">c03bb2ebc33bbee3046da091b45d90717273a43d3641a9d84e6eede05637bc8a</checksum>
    <open-checksum type="sha256">0000000000000000000000000000000000000000000000000000000000000000</open-checksum>
    <location href="repodata/c03b-primary.xml.gz"/>
    <timestamp>1700000000</timestamp>
    <size>3597627</size>
    <open-size>51840420</open-size>
  </data>
  <data type="modules">
    <checksum type="sha">a9993e364706816aba3e25717850c26c9cd0d89d</checksum>
    <location href="repodata/m&amp;s.yaml.xz"/>
  </data>
</repomd>"#;
        let r = Repomd::parse(xml).unwrap();
        assert_eq!(r.revision.as_deref(), Some("1700000000"));
        let p = r.data("primary").unwrap();
        assert_eq!(p.href, "repodata/c03b-primary.xml.gz");
        assert_eq!(p.size, Some(3597627));
        assert_eq!(p.open_size, Some(51840420));
        assert_eq!(
            p.checksum.as_ref().unwrap().algorithm,
            crate::checksum::Algorithm::Sha256
        );
        assert_eq!(r.data("modules").unwrap().href, "repodata/m&s.yaml.xz");
    }

    #[test]
    fn rejects_other_documents_and_truncation() {
        assert!(Repomd::parse(b"<html><body>404</body></html>").is_err());
        assert!(Repomd::parse(b"<repomd><data type=\"primary\"><location href=\"x\"/>").is_err());
        assert!(Repomd::parse(b"").is_err());
    }
}
