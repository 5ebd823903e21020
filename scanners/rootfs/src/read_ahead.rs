//! A stream read on a thread of its own, handed over in chunks: the source's work
//! (decompressing, checking a digest, reading from the network) overlaps whatever the reading
//! thread does with the bytes. An image's layers are read so (an image's base layer usually
//! holds most of its files: without this one core would inflate and hash it all alone), and
//! so are security-advisories' feeds (gunzip beside XML parsing).

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes per chunk handed over.
const CHUNK: usize = 256 << 10;
/// Chunks read ahead at most (memory: `CHUNK * DEPTH` per stream).
const DEPTH: usize = 8;

/// The reading side.
pub struct ReadAhead {
    /// `None` once dropped, so that the thread sees the hang-up before it is joined.
    rx: Option<Receiver<io::Result<Vec<u8>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    recycle: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl ReadAhead {
    /// Start reading `source` on a new thread. The thread ends at the stream's end, at its
    /// first error (handed over in order), or when this side is dropped.
    pub fn new(source: Box<dyn Read + Send>) -> ReadAhead {
        ReadAhead::spawn(move || Ok(source))
    }

    /// Make the source on the new thread (for sources that cannot move between threads, such
    /// as a decompressor over a buffered file), then read it there; an error making it is
    /// the stream's first error.
    pub fn spawn<R: Read>(make: impl FnOnce() -> io::Result<R> + Send + 'static) -> ReadAhead {
        let (tx, rx) = sync_channel(DEPTH);
        let (recycle, recycled) = sync_channel::<Vec<u8>>(DEPTH + 2);
        let thread = std::thread::spawn(move || {
            let mut source = match make() {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            pump(&mut source, &tx, &recycled)
        });
        ReadAhead {
            rx: Some(rx),
            thread: Some(thread),
            recycle,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

/// The thread's loop: fill recycled chunks and send them, until the end, an error, or a
/// reader that went away.
fn pump(source: &mut dyn Read, tx: &SyncSender<io::Result<Vec<u8>>>, recycled: &Receiver<Vec<u8>>) {
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let filled = fill(source, &mut chunk);
        let last = !matches!(filled, Ok(n) if n == CHUNK);
        let sent = match filled {
            Ok(0) => return,
            Ok(n) => {
                chunk.truncate(n);
                tx.send(Ok(chunk))
            }
            Err(e) => tx.send(Err(e)),
        };
        if sent.is_err() || last {
            return;
        }
    }
}

/// Read until `buf` is full or the stream ends.
fn fill(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match source.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl Read for ReadAhead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pos >= self.chunk.len() && !self.done {
            let Some(rx) = &self.rx else { break };
            match rx.recv() {
                Ok(Ok(next)) => {
                    let used = std::mem::replace(&mut self.chunk, next);
                    let _ = self.recycle.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                // The thread ended after the last chunk.
                Err(_) => self.done = true,
            }
        }
        Ok(&self.chunk[self.pos.min(self.chunk.len())..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.chunk.len());
    }
}

/// The thread does not outlive its reader: hung up on, it stops at its next chunk (or when
/// the read it is in returns, which the source's own timeouts bound), and is joined.
impl Drop for ReadAhead {
    fn drop(&mut self) {
        drop(self.rx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_errors_arrive_in_order() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        ReadAhead::new(Box::new(io::Cursor::new(data.clone())))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, data);

        struct FailsAfter(usize);
        impl Read for FailsAfter {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "digest mismatch"));
                }
                let n = buf.len().min(self.0);
                buf[..n].fill(1);
                self.0 -= n;
                Ok(n)
            }
        }
        let mut r = ReadAhead::new(Box::new(FailsAfter(CHUNK + 5)));
        let mut out = Vec::new();
        let e = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // What came before the error arrived (the chunk cut short by it is dropped with it).
        assert_eq!(out.len(), CHUNK);
    }
}
