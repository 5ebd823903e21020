//! Decompressing a feed in its own thread while the parser reads it: a metadata file on the
//! host is opened, decompressed ([`repodata::compression`], bounded) and cut into chunks by a
//! thread; the parser reads the chunks through [`ReadAhead`], a `BufRead`. On two cores this
//! overlaps gunzip with XML parsing.

use repodata::compression::{self, Compression};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes per chunk handed from the decompressing thread to the parser.
const CHUNK: usize = 256 * 1024;
/// Chunks decompressed ahead of the parser at most (memory: `CHUNK * DEPTH`).
const DEPTH: usize = 8;

/// The parser's side: chunks as they arrive.
pub struct ReadAhead {
    rx: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

/// Open `path`, tell its compression from its first bytes, and decompress it (at most
/// `limit` bytes) in a thread of its own.
pub fn open(path: &Path, limit: u64) -> io::Result<(Compression, ReadAhead)> {
    let mut file = File::open(path)?;
    let mut head = [0u8; 8];
    let n = read_up_to(&mut file, &mut head)?;
    let kind = Compression::detect(&head[..n]);
    let path = path.to_path_buf();
    let (tx, rx) = sync_channel(DEPTH);
    // Read chunks come back to be filled again, so that memory is not allocated per chunk.
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(DEPTH + 2);
    std::thread::spawn(move || {
        let run = || -> io::Result<()> {
            let file = File::open(&path)?;
            let (_, mut reader) = compression::decompress(BufReader::with_capacity(CHUNK, file), limit)?;
            loop {
                let mut chunk = recycle_rx.try_recv().unwrap_or_default();
                chunk.resize(CHUNK, 0);
                let n = read_up_to(&mut reader, &mut chunk)?;
                if n == 0 {
                    return Ok(());
                }
                chunk.truncate(n);
                if tx.send(Ok(chunk)).is_err() {
                    // The parser stopped reading.
                    return Ok(());
                }
            }
        };
        if let Err(e) = run() {
            let _ = tx.send(Err(e));
        }
    });
    Ok((
        kind,
        ReadAhead {
            rx,
            recycle: recycle_tx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        },
    ))
}

/// Fill `buf` as far as the reader goes; fewer bytes only at the end.
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.chunk.len() && !self.done {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.chunk, chunk);
                    let _ = self.recycle.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The thread finished and hung up: the end of the data.
                Err(_) => self.done = true,
            }
        }
        Ok(&self.chunk[self.pos.min(self.chunk.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_a_compressed_file_whole_and_reports_errors() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, &data).unwrap();
        let (kind, mut r) = open(&plain, 1 << 30).unwrap();
        assert_eq!(kind, Compression::None);
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);

        // Over the limit: the decompressor's error reaches the reader.
        let (_, mut r) = open(&plain, 1000).unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");

        let missing = dir.path().join("missing");
        assert!(open(&missing, 10).is_err());
        let mut f = File::create(dir.path().join("x")).unwrap();
        f.write_all(b"").unwrap();
        let (_, mut r) = open(&dir.path().join("x"), 10).unwrap();
        assert_eq!(r.read_to_end(&mut Vec::new()).unwrap(), 0);
    }
}
