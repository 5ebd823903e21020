//! Streaming XML reading shared by the metadata parsers (repomd, primary, metalink): one event
//! at a time over a [`BufRead`], each event bounded in size (a hostile multi-gigabyte attribute
//! is an error, not an allocation), element text gathered with entity references resolved.

use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use std::io::{self, BufRead};

/// The largest single XML event (tag with attributes, or text run) accepted.
pub const MAX_EVENT_BYTES: u64 = 16 << 20;

/// A `BufRead` that fails when one event (the bytes consumed since the last [`reset`]) grows
/// past a limit. The parser resets it after every event.
///
/// [`reset`]: EventGuard::reset
pub struct EventGuard<R> {
    inner: R,
    used: u64,
    limit: u64,
}

impl<R: BufRead> EventGuard<R> {
    pub fn new(inner: R, limit: u64) -> EventGuard<R> {
        EventGuard { inner, used: 0, limit }
    }
    pub fn reset(&mut self) {
        self.used = 0;
    }
}

impl<R: BufRead> io::Read for EventGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for EventGuard<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.used > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("an XML element or text is longer than {} bytes", self.limit),
            ));
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.used += amt as u64;
        self.inner.consume(amt)
    }
}

/// A streaming XML reader with bounded events.
pub struct XmlStream<R: BufRead> {
    reader: Reader<EventGuard<R>>,
    buf: Vec<u8>,
    depth: usize,
}

impl<R: BufRead> XmlStream<R> {
    pub fn new(inner: R) -> XmlStream<R> {
        let mut reader = Reader::from_reader(EventGuard::new(inner, MAX_EVENT_BYTES));
        let config = reader.config_mut();
        config.trim_text(false);
        config.expand_empty_elements = false;
        config.check_end_names = true;
        XmlStream {
            reader,
            buf: Vec::with_capacity(4096),
            depth: 0,
        }
    }

    /// The next event; the borrow ends before the following call.
    pub fn next_event(&mut self) -> Result<Event<'_>, String> {
        self.buf.clear();
        self.reader.get_mut().reset();
        // A huge event leaves a huge buffer behind: give the memory back.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::with_capacity(4096);
        }
        let pos = self.reader.buffer_position();
        let event = self
            .reader
            .read_event_into(&mut self.buf)
            .map_err(|e| format!("malformed XML near byte {pos}: {e}"))?;
        match &event {
            Event::Start(_) => self.depth += 1,
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            Event::Eof if self.depth > 0 => {
                return Err(format!(
                    "truncated XML: the file ends at byte {pos} with {} element(s) still open",
                    self.depth
                ))
            }
            _ => {}
        }
        Ok(event)
    }
}

/// The local name of an element (`rpm:entry` → `entry`).
pub fn local_name<'a>(e: &'a BytesStart<'_>) -> &'a [u8] {
    let full = e.name().into_inner().as_bytes();
    match full.iter().rposition(|&b| b == b':') {
        Some(i) => &full[i + 1..],
        None => full,
    }
}

/// The unescaped value of an attribute (by local name), if present and well-formed.
pub fn attribute(e: &BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let k = a.key.into_inner().as_bytes();
        let local = match k.iter().rposition(|&b| b == b':') {
            Some(i) => &k[i + 1..],
            None => k,
        };
        if local == key {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        } else {
            None
        }
    })
}

/// Append the text of an entity or character reference (`&amp;`, `&#x41;`).
pub fn push_reference(out: &mut String, r: &BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        out.push(c);
        return;
    }
    match &**r {
        "amp" => out.push('&'),
        "lt" => out.push('<'),
        "gt" => out.push('>'),
        "quot" => out.push('"'),
        "apos" => out.push('\''),
        other => {
            out.push('&');
            out.push_str(other);
            out.push(';');
        }
    }
}
