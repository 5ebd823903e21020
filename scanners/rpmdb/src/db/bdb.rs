//! Berkeley DB hash `Packages` files (rpm's `bdb_ro` backend), read without libdb.
//!
//! The file is a sequence of pages of `pagesize` bytes. Page 0 is the hash metadata page
//! (magic `0x00061561` at byte 12, written in the byte order of the machine that created
//! the file); every other page starts with a 26-byte header
//! `{lsn[8], pgno u32 @8, prev u32 @12, next u32 @16, entries u16 @20, hf_offset u16 @22,
//! level u8 @24, type u8 @25}`.
//!
//! Records live on hash pages (type 2 or 13) as key/value item pairs: `entries` u16 item
//! offsets follow the page header, items are stored from the end of the page downwards, so
//! item `i` spans `offset[i] .. offset[i-1]` (item 0 ends at the page end). An item's first
//! byte says what it is: 1 = the data follows inline, 3 = off-page
//! `{type, pad[3], pgno u32, tlen u32}` whose data runs over a chain of overflow pages
//! (type 7), `hf_offset` bytes from byte 26 of each, linked by `next`.
//!
//! Like rpm's `bdb_ro.cc`, the walk visits buckets `0..=max_bucket` (bucket `b` starts at
//! page `b + spares[bit length of b]`) and each bucket's chain of `next` pages. The key is the
//! header number, four bytes in the file's byte order; key 0 is rpm's record counter, not a
//! package. The header blob itself is always big-endian.
//!
//! Nothing here trusts the file: pages are read with `pread` (an overflow chain's consecutive
//! pages in one read, bounded by the item's length), every page number
//! and length is checked against the file size, chains are followed at most once per page,
//! and no buffer is sized by a field larger than the file can hold.

use super::{DbError, HeaderSource, RawHeader};
use crate::header::{MAX_DATA_LENGTH, MAX_INDEX_ENTRIES};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The hash access method's magic number.
pub const HASH_MAGIC: u32 = 0x0006_1561;
/// rpm reads (and needs) the first 512 bytes of the metadata page.
const META_SIZE: usize = 512;
/// Size of the header at the start of every non-meta page.
const PAGE_HEADER: usize = 26;
const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_OVERFLOW: u8 = 7;
const PAGE_HASH: u8 = 13;
const ITEM_KEYDATA: u8 = 1;
const ITEM_OFFPAGE: u8 = 3;
/// Size of an off-page item: `{type, pad[3], pgno, tlen}`.
const OFFPAGE_SIZE: usize = 12;
/// The most bytes of overflow pages read at once.
const MAX_RUN_BYTES: usize = 1 << 20;
/// The largest header blob rpm can store: its index and data limits.
const MAX_BLOB: u64 = 8 + 16 * MAX_INDEX_ENTRIES as u64 + MAX_DATA_LENGTH as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(v),
            ByteOrder::Big => u16::from_be_bytes(v),
        }
    }

    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            ByteOrder::Little => u32::from_le_bytes(v),
            ByteOrder::Big => u32::from_be_bytes(v),
        }
    }
}

/// Reads the `Packages` records bucket by bucket, one page in memory at a time.
pub struct BdbReader {
    path: PathBuf,
    file: File,
    file_size: u64,
    order: ByteOrder,
    page_size: usize,
    /// Pages that may be read: `1..page_count` (page 0 is the meta page).
    page_count: u32,
    max_bucket: u32,
    spares: [u32; 32],
    /// The next bucket whose first page the walk starts; past `max_bucket` the walk ends.
    next_bucket: u64,
    /// The hash page being walked (valid when `page_no != 0`), its item count, and the
    /// index of the next key item.
    page: Vec<u8>,
    page_no: u32,
    items: usize,
    next_item: usize,
    /// Hash pages already walked: a bucket chain that comes back to one of them loops.
    walked: PageSet,
    /// Buffer for a run of consecutive overflow pages.
    overflow_run: Vec<u8>,
    /// The pages of the overflow chain being followed (a chain that comes back to one of
    /// them loops); emptied after each chain.
    chain: PageSet,
}

impl BdbReader {
    /// Check the metadata page; a file that is not a usable hash database is an error here.
    pub fn new(file: File, path: &Path) -> Result<BdbReader, DbError> {
        let fail = |msg: String| DbError::new(path, msg);
        let file_size = file.metadata().map_err(|e| fail(format!("cannot stat: {e}")))?.len();
        let mut meta = [0u8; META_SIZE];
        file.read_exact_at(&mut meta, 0).map_err(|e| {
            fail(format!(
                "metadata page unreadable ({file_size}-byte file, need {META_SIZE} bytes): {e}"
            ))
        })?;
        let order = match (
            u32::from_le_bytes([meta[12], meta[13], meta[14], meta[15]]),
            u32::from_be_bytes([meta[12], meta[13], meta[14], meta[15]]),
        ) {
            (HASH_MAGIC, _) => ByteOrder::Little,
            (_, HASH_MAGIC) => ByteOrder::Big,
            _ => return Err(fail("not a Berkeley DB hash database (bad magic at byte 12)".into())),
        };
        let version = order.u32(&meta, 16);
        if !(8..=10).contains(&version) {
            return Err(fail(format!(
                "unsupported Berkeley DB hash version {version} (rpm reads 8 to 10)"
            )));
        }
        let page_size = order.u32(&meta, 20);
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(fail(format!(
                "bad page size {page_size} in the metadata page (a power of two from 512 to 65536)"
            )));
        }
        let last_pgno = order.u32(&meta, 32);
        let pages_in_file = file_size / page_size as u64;
        let page_count = (last_pgno as u64 + 1).min(pages_in_file) as u32;
        let max_bucket = order.u32(&meta, 72);
        // Every bucket has a page of its own, so a bucket count beyond the pages the file
        // holds is a lie (and would make the walk report billions of missing pages).
        if max_bucket as u64 >= page_count as u64 {
            return Err(fail(format!(
                "metadata page claims {} buckets but the file holds {page_count} pages \
                 (last page {last_pgno}, {file_size} bytes in pages of {page_size})",
                max_bucket as u64 + 1
            )));
        }
        let mut spares = [0u32; 32];
        for (i, s) in spares.iter_mut().enumerate() {
            *s = order.u32(&meta, 96 + 4 * i);
        }
        Ok(BdbReader {
            path: path.to_path_buf(),
            file,
            file_size,
            order,
            page_size: page_size as usize,
            page_count,
            max_bucket,
            spares,
            next_bucket: 0,
            page: vec![0; page_size as usize],
            page_no: 0,
            items: 0,
            next_item: 0,
            walked: PageSet::new(page_count),
            overflow_run: Vec::new(),
            chain: PageSet::new(page_count),
        })
    }

    fn error(&self, message: String) -> DbError {
        DbError::new(&self.path, message)
    }

    /// The first page of a bucket, as rpm's `hash_bucket_to_page` computes it.
    fn bucket_page(&self, bucket: u64) -> Result<u32, String> {
        let bits = (u64::BITS - bucket.leading_zeros()) as usize;
        let spare = self
            .spares
            .get(bits)
            .ok_or_else(|| format!("bucket {bucket} has no spares entry"))?;
        let page = bucket + *spare as u64;
        u32::try_from(page).map_err(|_| format!("bucket {bucket} maps to page {page}, past any file"))
    }

    /// Read page `pgno` into `buf`, checking that it exists and says it is that page.
    fn read_page(&self, pgno: u32, buf: &mut [u8]) -> Result<(), String> {
        self.read_pages(pgno, buf)?;
        let stored = self.order.u32(buf, 8);
        if stored != pgno {
            return Err(format!("page {pgno} says it is page {stored}"));
        }
        Ok(())
    }

    /// Read the pages from `pgno` on into `buf` (a whole number of pages), all of which must
    /// exist. Their page numbers are the caller's to check.
    fn read_pages(&self, pgno: u32, buf: &mut [u8]) -> Result<(), String> {
        let pages = (buf.len() / self.page_size) as u64;
        if pgno == 0 || pgno as u64 + pages > self.page_count as u64 {
            return Err(format!(
                "page {pgno} is outside the file's pages 1 to {}",
                self.page_count.saturating_sub(1)
            ));
        }
        self.file
            .read_exact_at(buf, pgno as u64 * self.page_size as u64)
            .map_err(|e| format!("page {pgno}: read failed: {e}"))
    }

    /// Load a hash page to walk; each page is walked at most once.
    fn load_hash_page(&mut self, pgno: u32) -> Result<(), String> {
        if self.walked.contains(pgno) {
            return Err(format!("hash page {pgno} is reached twice (a loop in a bucket chain)"));
        }
        let mut page = std::mem::take(&mut self.page);
        let read = self.read_page(pgno, &mut page);
        self.page = page;
        read?;
        self.walked.insert(pgno);
        let kind = self.page[25];
        if kind != PAGE_HASH && kind != PAGE_HASH_UNSORTED {
            return Err(format!("page {pgno} has type {kind}, expected a hash page (2 or 13)"));
        }
        let items = self.order.u16(&self.page, 20) as usize;
        let max = (self.page_size - PAGE_HEADER) / 2;
        if items > max {
            return Err(format!("hash page {pgno} claims {items} items, room for {max}"));
        }
        self.page_no = pgno;
        self.items = items;
        self.next_item = 0;
        Ok(())
    }

    /// Offset and length of item `i` on the current hash page.
    fn item_span(&self, i: usize) -> Result<(usize, usize), String> {
        let offset = self.order.u16(&self.page, PAGE_HEADER + 2 * i) as usize;
        let end = if i == 0 {
            self.page_size
        } else {
            self.order.u16(&self.page, PAGE_HEADER + 2 * (i - 1)) as usize
        };
        let first = PAGE_HEADER + 2 * self.items;
        if offset < first || offset >= end || end > self.page_size {
            return Err(format!(
                "page {}: item {i} spans bytes {offset}..{end}, outside {first}..{}",
                self.page_no, self.page_size
            ));
        }
        Ok((offset, end - offset))
    }

    /// The bytes of item `i` on the current hash page, following an overflow chain.
    fn item(&mut self, i: usize) -> Result<Vec<u8>, String> {
        let (offset, len) = self.item_span(i)?;
        match self.page[offset] {
            ITEM_KEYDATA => Ok(self.page[offset + 1..offset + len].to_vec()),
            ITEM_OFFPAGE => {
                if len != OFFPAGE_SIZE {
                    return Err(format!(
                        "page {}: off-page item {i} is {len} bytes, expected {OFFPAGE_SIZE}",
                        self.page_no
                    ));
                }
                let first = self.order.u32(&self.page, offset + 4);
                let total = self.order.u32(&self.page, offset + 8);
                self.read_overflow(first, total)
            }
            other => Err(format!(
                "page {}: item {i} has type {other}, expected inline (1) or off-page (3)",
                self.page_no
            )),
        }
    }

    /// Gather `total` bytes from the overflow chain starting at page `first`.
    fn read_overflow(&mut self, first: u32, total: u32) -> Result<Vec<u8>, String> {
        let total = total as u64;
        if total == 0 {
            return Err(format!("overflow item at page {first} has length 0"));
        }
        if total > self.file_size || total > MAX_BLOB {
            return Err(format!(
                "overflow item at page {first} claims {total} bytes, more than the {}-byte file \
                 (or rpm's header limit) can hold",
                self.file_size
            ));
        }
        let mut run = std::mem::take(&mut self.overflow_run);
        let mut seen = std::mem::take(&mut self.chain);
        let result = self.gather_overflow(first, total, &mut run, &mut seen);
        seen.clear();
        self.chain = seen;
        self.overflow_run = run;
        result
    }

    /// Follow the chain from page `first`, reading its pages in runs of consecutive pages:
    /// Berkeley DB usually writes a chain that way, so most items take one pread instead of
    /// one per page. The first run covers the whole item; after a jump elsewhere in the file
    /// runs start at one page and double while the chain stays consecutive. A run is at most
    /// `MAX_RUN_BYTES`, so memory still follows one header.
    fn gather_overflow(
        &self,
        first: u32,
        total: u64,
        run: &mut Vec<u8>,
        seen: &mut PageSet,
    ) -> Result<Vec<u8>, String> {
        let per_page = self.page_size - PAGE_HEADER;
        let max_run_pages = (MAX_RUN_BYTES / self.page_size).max(1);
        let mut data = Vec::with_capacity(total as usize);
        let mut pgno = first;
        // The pages held in `run`: `run_first..run_first + run_pages`.
        let (mut run_first, mut run_pages) = (0u32, 0usize);
        let mut next_run_pages = max_run_pages;
        loop {
            if data.len() as u64 == total {
                return Ok(data);
            }
            if pgno == 0 {
                return Err(format!(
                    "overflow chain from page {first} ends after {} of {total} bytes",
                    data.len()
                ));
            }
            if !seen.insert(pgno) {
                return Err(format!("overflow chain from page {first} loops back to page {pgno}"));
            }
            let left = (total - data.len() as u64) as usize;
            let in_run = pgno >= run_first && ((pgno - run_first) as usize) < run_pages;
            if !in_run {
                if pgno != run_first.wrapping_add(run_pages as u32) && pgno != first {
                    next_run_pages = 1; // a jump: start small again
                }
                let pages = left
                    .div_ceil(per_page)
                    .min(next_run_pages)
                    .min(self.page_count.saturating_sub(pgno).max(1) as usize);
                run.resize(pages * self.page_size, 0);
                self.read_pages(pgno, run)
                    .map_err(|e| format!("overflow chain from page {first}: {e}"))?;
                (run_first, run_pages) = (pgno, pages);
                next_run_pages = (next_run_pages * 2).min(max_run_pages);
            }
            let at = (pgno - run_first) as usize * self.page_size;
            let page = &run[at..at + self.page_size];
            let stored = self.order.u32(page, 8);
            if stored != pgno {
                return Err(format!(
                    "overflow chain from page {first}: page {pgno} says it is page {stored}"
                ));
            }
            if page[25] != PAGE_OVERFLOW {
                return Err(format!(
                    "overflow chain from page {first}: page {pgno} has type {}, expected 7",
                    page[25]
                ));
            }
            let len = self.order.u16(page, 22) as usize;
            if len == 0 || PAGE_HEADER + len > self.page_size || len > left {
                return Err(format!(
                    "overflow chain from page {first}: page {pgno} holds {len} bytes, \
                     {left} expected at most, page size {}",
                    self.page_size
                ));
            }
            data.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + len]);
            pgno = self.order.u32(page, 16);
        }
    }

    /// The record at key item `k` (value at `k + 1`); `None` for key 0, rpm's counter.
    fn record(&mut self, k: usize) -> Result<Option<RawHeader>, String> {
        let key = self.item(k)?;
        let number = match <[u8; 4]>::try_from(key.as_slice()) {
            Ok(b) => self.order.u32(&b, 0),
            Err(_) => {
                return Err(format!(
                    "page {}: key item {k} is {} bytes, expected a 4-byte header number",
                    self.page_no,
                    key.len()
                ))
            }
        };
        if number == 0 {
            return Ok(None);
        }
        let blob = self.item(k + 1).map_err(|e| format!("header #{number}: {e}"))?;
        Ok(Some(RawHeader { number, blob }))
    }
}

/// A set of page numbers of one file: a bitmap over its pages, and the list of what was
/// added, so that emptying it costs what was added, not the file's size.
#[derive(Default)]
struct PageSet {
    bitmap: Vec<u64>,
    added: Vec<u32>,
}

impl PageSet {
    fn new(page_count: u32) -> PageSet {
        PageSet {
            bitmap: vec![0; (page_count as usize).div_ceil(64)],
            added: Vec::new(),
        }
    }

    fn contains(&self, page: u32) -> bool {
        self.bitmap
            .get(page as usize / 64)
            .is_some_and(|w| w & (1 << (page % 64)) != 0)
    }

    /// Add `page`; false when it was there already. Pages past the file are not recorded
    /// (they are refused before they are read).
    fn insert(&mut self, page: u32) -> bool {
        match self.bitmap.get_mut(page as usize / 64) {
            Some(w) if *w & (1 << (page % 64)) != 0 => false,
            Some(w) => {
                *w |= 1 << (page % 64);
                self.added.push(page);
                true
            }
            None => true,
        }
    }

    fn clear(&mut self) {
        for page in self.added.drain(..) {
            if let Some(w) = self.bitmap.get_mut(page as usize / 64) {
                *w = 0;
            }
        }
    }
}

impl HeaderSource for BdbReader {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>> {
        loop {
            if self.page_no != 0 {
                let k = self.next_item;
                if k + 1 < self.items {
                    self.next_item += 2;
                    match self.record(k) {
                        Ok(Some(raw)) => return Some(Ok(raw)),
                        Ok(None) => continue,
                        Err(e) => return Some(Err(self.error(e))),
                    }
                }
                if k < self.items {
                    self.next_item = self.items;
                    let msg = format!("hash page {}: key item {k} has no data item", self.page_no);
                    return Some(Err(self.error(msg)));
                }
                let next = self.order.u32(&self.page, 16);
                self.page_no = 0;
                if next != 0 {
                    if let Err(e) = self.load_hash_page(next) {
                        return Some(Err(self.error(format!("bucket {}: {e}", self.next_bucket - 1))));
                    }
                    continue;
                }
            }
            if self.next_bucket > self.max_bucket as u64 {
                return None;
            }
            let bucket = self.next_bucket;
            self.next_bucket += 1;
            if let Err(e) = self.bucket_page(bucket).and_then(|p| self.load_hash_page(p)) {
                return Some(Err(self.error(format!("bucket {bucket}: {e}"))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A minimal hash database written the way Berkeley DB lays one out: page 0 meta, then
    /// one page per bucket, then any extra pages the test appends.
    struct Builder {
        order: ByteOrder,
        page_size: usize,
        pages: Vec<Vec<u8>>,
    }

    impl Builder {
        fn new(order: ByteOrder, page_size: usize, buckets: u32) -> Builder {
            let mut b = Builder {
                order,
                page_size,
                pages: Vec::new(),
            };
            let mut meta = vec![0u8; page_size];
            b.put32(&mut meta, 12, HASH_MAGIC);
            b.put32(&mut meta, 16, 9);
            b.put32(&mut meta, 20, page_size as u32);
            b.put32(&mut meta, 72, buckets - 1);
            meta[25] = 8;
            // Buckets are pages 1..=buckets: spares[i] = 1 for every split point.
            for i in 0..32 {
                b.put32(&mut meta, 96 + 4 * i, 1);
            }
            b.pages.push(meta);
            for _ in 0..buckets {
                b.add_page(PAGE_HASH);
            }
            b
        }

        fn put16(&self, p: &mut [u8], at: usize, v: u16) {
            let bytes = match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            };
            p[at..at + 2].copy_from_slice(&bytes);
        }

        fn put32(&self, p: &mut [u8], at: usize, v: u32) {
            let bytes = match self.order {
                ByteOrder::Little => v.to_le_bytes(),
                ByteOrder::Big => v.to_be_bytes(),
            };
            p[at..at + 4].copy_from_slice(&bytes);
        }

        fn add_page(&mut self, kind: u8) -> u32 {
            let pgno = self.pages.len() as u32;
            let mut p = vec![0u8; self.page_size];
            self.put32(&mut p, 8, pgno);
            p[25] = kind;
            self.pages.push(p);
            let mut meta = std::mem::take(&mut self.pages[0]);
            self.put32(&mut meta, 32, pgno);
            self.pages[0] = meta;
            pgno
        }

        /// Append items (already encoded, type byte first) to a hash page.
        fn add_items(&mut self, pgno: u32, items: &[Vec<u8>]) {
            let mut p = std::mem::take(&mut self.pages[pgno as usize]);
            let mut n = self.order.u16(&p, 20) as usize;
            let mut end = if n == 0 {
                self.page_size
            } else {
                self.order.u16(&p, PAGE_HEADER + 2 * (n - 1)) as usize
            };
            for it in items {
                let off = end - it.len();
                p[off..end].copy_from_slice(it);
                self.put16(&mut p, PAGE_HEADER + 2 * n, off as u16);
                n += 1;
                end = off;
            }
            self.put16(&mut p, 20, n as u16);
            self.pages[pgno as usize] = p;
        }

        fn key(&self, n: u32) -> Vec<u8> {
            let mut k = vec![ITEM_KEYDATA, 0, 0, 0, 0];
            self.put32(&mut k, 1, n);
            k
        }

        fn inline(data: &[u8]) -> Vec<u8> {
            let mut v = vec![ITEM_KEYDATA];
            v.extend_from_slice(data);
            v
        }

        fn offpage(&self, pgno: u32, len: u32) -> Vec<u8> {
            let mut v = vec![ITEM_OFFPAGE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            self.put32(&mut v, 4, pgno);
            self.put32(&mut v, 8, len);
            v
        }

        /// Store `data` on a chain of new overflow pages; returns the first page.
        fn overflow(&mut self, data: &[u8]) -> u32 {
            let room = self.page_size - PAGE_HEADER;
            let chunks: Vec<&[u8]> = data.chunks(room).collect();
            let first = self.pages.len() as u32;
            for (i, c) in chunks.iter().enumerate() {
                let pgno = self.add_page(PAGE_OVERFLOW);
                let mut p = std::mem::take(&mut self.pages[pgno as usize]);
                self.put16(&mut p, 22, c.len() as u16);
                p[PAGE_HEADER..PAGE_HEADER + c.len()].copy_from_slice(c);
                if i + 1 < chunks.len() {
                    self.put32(&mut p, 16, pgno + 1);
                }
                self.pages[pgno as usize] = p;
            }
            first
        }

        fn set32(&mut self, pgno: u32, at: usize, v: u32) {
            let mut p = std::mem::take(&mut self.pages[pgno as usize]);
            self.put32(&mut p, at, v);
            self.pages[pgno as usize] = p;
        }

        fn bytes(&self) -> Vec<u8> {
            self.pages.concat()
        }
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Result<RawHeader, DbError>>, DbError> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        let mut r = BdbReader::new(f, Path::new("/var/lib/rpm/Packages"))?;
        // A hostile file must end: no walk here may yield more than a few hundred items.
        Ok(std::iter::from_fn(|| r.next_header()).take(10_000).collect())
    }

    fn ok_numbers(items: &[Result<RawHeader, DbError>]) -> Vec<(u32, usize)> {
        items
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|h| (h.number, h.blob.len())))
            .collect()
    }

    fn errors(items: &[Result<RawHeader, DbError>]) -> Vec<String> {
        items
            .iter()
            .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
            .collect()
    }

    /// Two buckets, an inline record, an overflow record, rpm's counter, a chained page.
    fn sample(order: ByteOrder) -> Builder {
        let mut b = Builder::new(order, 512, 2);
        let big: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
        let ov = b.overflow(&big);
        let counter = b.key(0);
        let k1 = b.key(1);
        let k2 = b.key(2);
        let off = b.offpage(ov, big.len() as u32);
        b.add_items(1, &[counter, Builder::inline(&[7; 4]), k1, Builder::inline(b"abc")]);
        b.add_items(2, &[k2, off]);
        let chained = b.add_page(PAGE_HASH);
        b.set32(2, 16, chained);
        let k3 = b.key(3);
        b.add_items(chained, &[k3, Builder::inline(b"x")]);
        b
    }

    #[test]
    fn reads_both_byte_orders_inline_overflow_and_chains() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let items = read_all(&sample(order).bytes()).unwrap();
            assert_eq!(errors(&items), Vec::<String>::new(), "{order:?}");
            assert_eq!(ok_numbers(&items), vec![(1, 3), (2, 2000), (3, 1)], "{order:?}");
            let big = items[1].as_ref().unwrap();
            assert!(big.blob.iter().enumerate().all(|(i, &b)| b == i as u8));
        }
    }

    #[test]
    fn overflow_loop_is_an_error_and_the_walk_goes_on() {
        let mut b = sample(ByteOrder::Little);
        // The 2000 bytes sit on overflow pages 3..=7 (486 bytes each); point the fourth
        // page back at the first, so that the chain loops before the length runs out.
        b.set32(6, 16, 3);
        let bytes = b.bytes();
        let items = read_all(&bytes).unwrap();
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("overflow chain from page 3 loops back to page 3"),
            "{errs:?}"
        );
        assert!(errs[0].contains("header #2"), "{errs:?}");
        assert_eq!(ok_numbers(&items), vec![(1, 3), (3, 1)]);
    }

    #[test]
    fn bucket_chain_loop_ends() {
        let mut b = sample(ByteOrder::Big);
        let chained = b.pages.len() as u32 - 1;
        b.set32(chained, 16, 2); // back to the bucket page
        let items = read_all(&b.bytes()).unwrap();
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("loop in a bucket chain"), "{errs:?}");
        assert_eq!(ok_numbers(&items), vec![(1, 3), (2, 2000), (3, 1)]);
    }

    #[test]
    fn four_gigabyte_length_is_refused_without_allocating() {
        let b = sample(ByteOrder::Little);
        let mut bytes = b.bytes();
        let p = &b.pages[2];
        let item = 512 * 2 + u16::from_le_bytes([p[28], p[29]]) as usize;
        bytes[item + 8..item + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let items = read_all(&bytes).unwrap();
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("claims 4294967295 bytes"), "{errs:?}");
        assert_eq!(ok_numbers(&items), vec![(1, 3), (3, 1)]);
    }

    #[test]
    fn page_numbers_and_item_offsets_out_of_range() {
        let mut b = sample(ByteOrder::Little);
        let chained = b.pages.len() as u32 - 1;
        b.set32(chained, 16, 999_999); // next page past the file
        let mut bytes = b.bytes();
        // An item offset inside the index area of bucket 0's page.
        bytes[512 + 26..512 + 28].copy_from_slice(&4u16.to_le_bytes());
        let items = read_all(&bytes).unwrap();
        let errs = errors(&items);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("item 0 spans bytes 4.."), "{errs:?}");
        assert!(errs[1].contains("page 999999 is outside the file"), "{errs:?}");
        assert_eq!(ok_numbers(&items), vec![(1, 3), (2, 2000), (3, 1)]);
    }

    #[test]
    fn truncated_file_gives_errors_not_panics() {
        let bytes = sample(ByteOrder::Little).bytes();
        for cut in [0, 11, 100, 511, 512, 700, 1024, 1536, 2048, 2500, bytes.len() - 1] {
            match read_all(&bytes[..cut]) {
                Err(e) => assert!(e.to_string().contains("/var/lib/rpm/Packages"), "{e}"),
                Ok(items) => {
                    assert!(!errors(&items).is_empty() || ok_numbers(&items).len() < 3, "cut {cut}");
                }
            }
        }
        let e = read_all(&bytes[..300]).unwrap_err();
        assert!(e.message.contains("metadata page unreadable"), "{e}");
        let e = read_all(&bytes[..600]).unwrap_err();
        assert!(e.message.contains("claims 2 buckets but the file holds 1 pages"), "{e}");
    }

    #[test]
    fn bad_meta_pages_are_errors_from_new() {
        let good = sample(ByteOrder::Little).bytes();
        let mut bad_magic = good.clone();
        bad_magic[12] = 0x62;
        assert!(read_all(&bad_magic).unwrap_err().message.contains("bad magic"));
        let mut bad_version = good.clone();
        bad_version[16] = 11;
        assert!(read_all(&bad_version).unwrap_err().message.contains("hash version 11"));
        let mut bad_page_size = good.clone();
        bad_page_size[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(read_all(&bad_page_size).unwrap_err().message.contains("page size 1000"));
        let mut huge_buckets = good.clone();
        huge_buckets[72..76].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_all(&huge_buckets).unwrap_err().message.contains("buckets"));
    }

    #[test]
    fn wrong_page_type_and_odd_items() {
        let mut b = sample(ByteOrder::Little);
        let chained = b.pages.len() as u32 - 1;
        b.pages[chained as usize][25] = PAGE_OVERFLOW;
        let mut bytes = b.bytes();
        bytes[512 + 20..512 + 22].copy_from_slice(&3u16.to_le_bytes()); // 3 items on bucket 0
        let items = read_all(&bytes).unwrap();
        let errs = errors(&items);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("key item 2 has no data item"), "{errs:?}");
        assert!(errs[1].contains("has type 7, expected a hash page"), "{errs:?}");
        assert_eq!(ok_numbers(&items), vec![(2, 2000)]);
    }
}
