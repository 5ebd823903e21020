//! Metalink documents (`metalink=` in a `.repo`): the mirrors of `repomd.xml`, best preference
//! first, and the hashes that `repomd.xml` must have (the current one and the alternates that
//! mirrors still serving an older revision may have).

use crate::checksum::Checksum;
use crate::xml::{self, XmlStream};
use quick_xml::events::Event;

/// The largest metalink accepted.
pub const MAX_METALINK_BYTES: u64 = 4 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metalink {
    /// Mirror URLs of `repomd.xml`, highest preference first (file order among equals).
    pub urls: Vec<String>,
    /// Hashes `repomd.xml` may have: the current one(s) first, then alternates.
    pub hashes: Vec<Checksum>,
    pub size: Option<u64>,
}

impl Metalink {
    /// Whether a document looks like a metalink (a mirrorlist URL may return one).
    pub fn looks_like(bytes: &[u8]) -> bool {
        let head = &bytes[..bytes.len().min(1024)];
        String::from_utf8_lossy(head).contains("<metalink")
    }

    /// Parse the `<file name="repomd.xml">` of a metalink.
    pub fn parse(bytes: &[u8]) -> Result<Metalink, String> {
        let mut x = XmlStream::new(bytes);
        let mut m = Metalink::default();
        let mut in_file = false;
        let mut in_alternate = false;
        let mut alternates = Vec::new();
        let mut urls: Vec<(i64, usize, String)> = Vec::new();
        let mut field: Option<(String, Option<String>, Option<i64>)> = None;
        let mut text = String::new();
        loop {
            match x.next_event()? {
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(xml::local_name(&e)).into_owned();
                    match name.as_str() {
                        "file" => in_file = xml::attribute(&e, b"name").as_deref() == Some("repomd.xml"),
                        "alternate" => in_alternate = true,
                        _ if in_file => {
                            let kind = xml::attribute(&e, b"type");
                            let pref = xml::attribute(&e, b"preference").and_then(|p| p.parse().ok());
                            field = Some((name, kind, pref));
                            text.clear();
                        }
                        _ => {}
                    }
                }
                Event::Text(t) => text.push_str(&t),
                Event::GeneralRef(r) => xml::push_reference(&mut text, &r),
                Event::End(e) => {
                    let name = e.local_name().into_inner().to_string();
                    match name.as_str() {
                        "file" => in_file = false,
                        "alternate" => in_alternate = false,
                        _ => {
                            if let Some((fname, kind, pref)) = field.take() {
                                if fname == name && in_file {
                                    let value = text.trim().to_string();
                                    match name.as_str() {
                                        "hash" => {
                                            // Unknown or malformed hash types are skipped, as librepo does.
                                            if let Ok(c) = Checksum::parse(kind.as_deref().unwrap_or(""), &value) {
                                                if in_alternate {
                                                    alternates.push(c);
                                                } else {
                                                    m.hashes.push(c);
                                                }
                                            }
                                        }
                                        "size" if !in_alternate => m.size = value.parse().ok(),
                                        "url" => {
                                            let n = urls.len();
                                            urls.push((pref.unwrap_or(0), n, value));
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                    text.clear();
                }
                Event::Eof => break,
                _ => {}
            }
        }
        urls.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        m.urls = urls.into_iter().map(|(_, _, u)| u).filter(|u| !u.is_empty()).collect();
        m.hashes.extend(alternates);
        if m.urls.is_empty() {
            return Err("the metalink lists no URL for repomd.xml".into());
        }
        Ok(m)
    }

    /// The repository base URLs: each mirror URL without its trailing `repodata/repomd.xml`.
    pub fn base_urls(&self) -> Vec<String> {
        self.urls
            .iter()
            .map(|u| u.strip_suffix("repodata/repomd.xml").unwrap_or(u).to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_fedora_style_metalink() {
        let doc = r#"<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <mm0:timestamp>1700000000</mm0:timestamp>
   <size>4459</size>
   <verification>
    <hash type="md5">900150983cd24fb0d6963f7d28e17f72</hash>
    <hash type="sha256">ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad</hash>
   </verification>
   <mm0:alternates>
    <mm0:alternate>
     <mm0:timestamp>1690000000</mm0:timestamp>
     <size>4000</size>
     <verification><hash type="sha256">0000000000000000000000000000000000000000000000000000000000000000</hash></verification>
    </mm0:alternate>
   </mm0:alternates>
   <resources maxconnections="1">
    <url protocol="http" type="http" location="DE" preference="90">http://b.example/pub/repodata/repomd.xml</url>
    <url protocol="https" type="https" location="US" preference="100">https://a.example/pub/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>"#;
        let m = Metalink::parse(doc.as_bytes()).unwrap();
        assert_eq!(m.base_urls(), vec!["https://a.example/pub/", "http://b.example/pub/"]);
        assert_eq!(m.hashes.len(), 3);
        assert_eq!(m.hashes[2].hex, "0".repeat(64));
        assert_eq!(m.size, Some(4459));
        assert!(Metalink::looks_like(doc.as_bytes()));
    }
}
