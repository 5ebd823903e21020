//! NDB `Packages.db` files (rpm's own format, used by SUSE), read without librpm.
//!
//! Layout (`lib/backend/ndb/rpmpkg.c`), all little-endian:
//! - a 32-byte header `{"RpmP", version 0, generation, slotnpages, nextpkgidx, reserved}`;
//! - the slot area, `slotnpages` pages of 4096 bytes from byte 0, holding 16-byte slots
//!   `{"Slot", pkgidx, blkoff, blkcnt}` after the header (a `blkoff` of 0 is a free slot);
//! - blobs in 16-byte blocks after the slot area: at `blkoff * 16`,
//!   `{"BlbS", pkgidx, generation, bloblen}`, the header blob, zero padding to a block
//!   boundary, then `{adler32, bloblen, "BlbE"}`, the adler32 covering everything before it.
//!
//! rpm lists packages in blob order (`rpmpkgList` sorts the slots by `blkoff`), so this
//! reader does too, with `pkgidx` as the header number. Every slot and blob is checked
//! against the file size before anything is read, blobs may not overlap (so no byte is read
//! twice), and a bad slot or blob is reported without stopping the walk.

use super::{DbError, HeaderSource, RawHeader};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const HEADER_SIZE: u64 = 32;
const SLOT_SIZE: u64 = 16;
const BLOCK_SIZE: u64 = 16;
const PAGE_SIZE: u64 = 4096;
const BLOB_HEAD_SIZE: u64 = 16;
const BLOB_TAIL_SIZE: u64 = 12;
/// Bad slots listed one by one; more are counted.
const MAX_SLOT_ERRORS: usize = 100;

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A used slot: where a package's blob is.
#[derive(Debug, Clone, Copy)]
struct Slot {
    number: u64,
    pkgidx: u32,
    blkoff: u32,
    blkcnt: u32,
}

/// Reads `Packages.db` blob by blob in rpm's order; only the slot list stays in memory.
pub struct NdbReader {
    path: PathBuf,
    file: File,
    file_size: u64,
    /// Problems found in the slot area, reported before the packages.
    slot_errors: std::vec::IntoIter<String>,
    /// Used slots in blob order.
    slots: std::vec::IntoIter<Slot>,
    /// End (in blocks) of the last blob handed out, to refuse overlapping blobs.
    blocks_read_to: u64,
}

impl NdbReader {
    /// Read the header and the slot area; a file without them is an error here.
    pub fn new(file: File, path: &Path) -> Result<NdbReader, DbError> {
        let fail = |msg: String| DbError::new(path, msg);
        let file_size = file.metadata().map_err(|e| fail(format!("cannot stat: {e}")))?.len();
        let mut header = [0u8; HEADER_SIZE as usize];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| fail(format!("NDB header unreadable ({file_size}-byte file): {e}")))?;
        if &header[0..4] != b"RpmP" {
            return Err(fail("not an NDB database (bad magic)".into()));
        }
        let version = le32(&header, 4);
        if version != 0 {
            return Err(fail(format!("unsupported NDB version {version} (rpm reads 0)")));
        }
        let slot_pages = le32(&header, 12) as u64;
        let slot_area = slot_pages * PAGE_SIZE;
        if slot_pages == 0 || slot_area > file_size {
            return Err(fail(format!(
                "header claims {slot_pages} slot pages ({slot_area} bytes) in a {file_size}-byte file"
            )));
        }
        let first_blob_block = slot_area / BLOCK_SIZE;
        let mut slots = Vec::new();
        let mut slot_errors = Vec::new();
        // Bad slots beyond the first MAX_SLOT_ERRORS are only counted: a slot area of
        // zeros (a sparse file) must not become millions of messages.
        let mut unlisted_slot_errors = 0u64;
        let mut slot_error = |msg: String| {
            if slot_errors.len() < MAX_SLOT_ERRORS {
                slot_errors.push(msg);
            } else {
                unlisted_slot_errors += 1;
            }
        };
        let mut page = vec![0u8; PAGE_SIZE as usize];
        for p in 0..slot_pages {
            file.read_exact_at(&mut page, p * PAGE_SIZE)
                .map_err(|e| fail(format!("slot page {p} unreadable: {e}")))?;
            let start = if p == 0 { HEADER_SIZE } else { 0 };
            for at in (start..PAGE_SIZE).step_by(SLOT_SIZE as usize) {
                let number = (p * PAGE_SIZE + at) / SLOT_SIZE;
                let s = &page[at as usize..(at + SLOT_SIZE) as usize];
                if &s[0..4] != b"Slot" {
                    slot_error(format!("slot {number} has bad magic"));
                    continue;
                }
                let (pkgidx, blkoff, blkcnt) = (le32(s, 4), le32(s, 8), le32(s, 12));
                if blkoff == 0 {
                    continue;
                }
                let end = blkoff as u64 + blkcnt as u64;
                if pkgidx == 0 || blkcnt == 0 || (blkoff as u64) < first_blob_block || end * BLOCK_SIZE > file_size {
                    slot_error(format!(
                        "slot {number} (package {pkgidx}) points to blocks {blkoff}..{end}, outside \
                         the blob area {first_blob_block}..{} of the file",
                        file_size / BLOCK_SIZE
                    ));
                    continue;
                }
                slots.push(Slot {
                    number,
                    pkgidx,
                    blkoff,
                    blkcnt,
                });
            }
        }
        if unlisted_slot_errors > 0 {
            slot_errors.push(format!("{unlisted_slot_errors} more bad slots, not listed"));
        }
        slots.sort_by_key(|s| s.blkoff);
        Ok(NdbReader {
            path: path.to_path_buf(),
            file,
            file_size,
            slot_errors: slot_errors.into_iter(),
            slots: slots.into_iter(),
            blocks_read_to: 0,
        })
    }

    /// Read and check the blob a slot points to.
    fn blob(&mut self, slot: Slot) -> Result<RawHeader, String> {
        let Slot {
            number,
            pkgidx,
            blkoff,
            blkcnt,
        } = slot;
        let at = |what: &str| format!("blob of package {pkgidx} (slot {number}) at block {blkoff}: {what}");
        if (blkoff as u64) < self.blocks_read_to {
            return Err(at(&format!(
                "overlaps the previous blob, which ends at block {}",
                self.blocks_read_to
            )));
        }
        self.blocks_read_to = blkoff as u64 + blkcnt as u64;
        let start = blkoff as u64 * BLOCK_SIZE;
        let size = blkcnt as u64 * BLOCK_SIZE;
        if size < BLOB_HEAD_SIZE + BLOB_TAIL_SIZE || start + size > self.file_size {
            return Err(at(&format!("{blkcnt} blocks do not fit a blob in the file")));
        }
        let mut head = [0u8; BLOB_HEAD_SIZE as usize];
        self.file
            .read_exact_at(&mut head, start)
            .map_err(|e| at(&format!("read failed: {e}")))?;
        if &head[0..4] != b"BlbS" {
            return Err(at("bad blob magic"));
        }
        let stored_idx = le32(&head, 4);
        if stored_idx != pkgidx {
            return Err(at(&format!("blob says it belongs to package {stored_idx}")));
        }
        let len = le32(&head, 12) as u64;
        let needed = (BLOB_HEAD_SIZE + len + BLOB_TAIL_SIZE).div_ceil(BLOCK_SIZE);
        if needed != blkcnt as u64 {
            return Err(at(&format!(
                "blob length {len} needs {needed} blocks, the slot gives {blkcnt}"
            )));
        }
        // Blob, padding and trailer: `size` is within the file, checked above.
        let mut rest = vec![0u8; (size - BLOB_HEAD_SIZE) as usize];
        self.file
            .read_exact_at(&mut rest, start + BLOB_HEAD_SIZE)
            .map_err(|e| at(&format!("read failed: {e}")))?;
        let tail_at = rest.len() - BLOB_TAIL_SIZE as usize;
        let (body, tail) = rest.split_at(tail_at);
        if &tail[8..12] != b"BlbE" {
            return Err(at("bad trailer magic"));
        }
        if le32(tail, 4) as u64 != len {
            return Err(at(&format!(
                "trailer length {} differs from head length {len}",
                le32(tail, 4)
            )));
        }
        let mut adler = adler2::Adler32::new();
        adler.write_slice(&head);
        adler.write_slice(body);
        let (computed, stored) = (adler.checksum(), le32(tail, 0));
        if computed != stored {
            return Err(at(&format!(
                "bad adler32 (stored {stored:08x}, computed {computed:08x})"
            )));
        }
        rest.truncate(len as usize);
        Ok(RawHeader {
            number: pkgidx,
            blob: rest,
        })
    }
}

impl HeaderSource for NdbReader {
    fn next_header(&mut self) -> Option<Result<RawHeader, DbError>> {
        if let Some(e) = self.slot_errors.next() {
            return Some(Err(DbError::new(&self.path, e)));
        }
        let slot = self.slots.next()?;
        Some(self.blob(slot).map_err(|e| DbError::new(&self.path, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Write an NDB file the way rpm's `rpmpkgWriteBlob` does, one slot per blob, in the
    /// given slot order; returns the file and each blob's block offset.
    fn build(blobs: &[(u32, Vec<u8>)], slot_order: &[usize]) -> (Vec<u8>, Vec<u32>) {
        let mut f = vec![0u8; PAGE_SIZE as usize];
        f[0..4].copy_from_slice(b"RpmP");
        f[12..16].copy_from_slice(&1u32.to_le_bytes());
        f[16..20].copy_from_slice(&(blobs.len() as u32 + 1).to_le_bytes());
        for at in (HEADER_SIZE as usize..PAGE_SIZE as usize).step_by(16) {
            f[at..at + 4].copy_from_slice(b"Slot");
        }
        let mut offsets = Vec::new();
        for (pkgidx, blob) in blobs {
            let blkoff = (f.len() as u64 / BLOCK_SIZE) as u32;
            let mut rec = Vec::new();
            rec.extend_from_slice(b"BlbS");
            rec.extend_from_slice(&pkgidx.to_le_bytes());
            rec.extend_from_slice(&7u32.to_le_bytes());
            rec.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            rec.extend_from_slice(blob);
            while (rec.len() + 12) % 16 != 0 {
                rec.push(0);
            }
            let sum = adler2::adler32_slice(&rec);
            rec.extend_from_slice(&sum.to_le_bytes());
            rec.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            rec.extend_from_slice(b"BlbE");
            offsets.push(blkoff);
            f.extend_from_slice(&rec);
        }
        for (slot, &i) in slot_order.iter().enumerate() {
            let at = HEADER_SIZE as usize + 16 * slot;
            let blkcnt = if i + 1 < offsets.len() {
                offsets[i + 1] - offsets[i]
            } else {
                (f.len() as u64 / BLOCK_SIZE) as u32 - offsets[i]
            };
            f[at + 4..at + 8].copy_from_slice(&blobs[i].0.to_le_bytes());
            f[at + 8..at + 12].copy_from_slice(&offsets[i].to_le_bytes());
            f[at + 12..at + 16].copy_from_slice(&blkcnt.to_le_bytes());
        }
        (f, offsets)
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<Result<RawHeader, DbError>>, DbError> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        let mut r = NdbReader::new(f, Path::new("/usr/lib/sysimage/rpm/Packages.db"))?;
        Ok(std::iter::from_fn(|| r.next_header()).take(10_000).collect())
    }

    fn summary(items: &[Result<RawHeader, DbError>]) -> Vec<String> {
        items
            .iter()
            .map(|r| match r {
                Ok(h) => format!("#{} {}", h.number, String::from_utf8_lossy(&h.blob)),
                Err(e) => e.message.clone(),
            })
            .collect()
    }

    fn three() -> Vec<(u32, Vec<u8>)> {
        vec![
            (5, b"first".to_vec()),
            (2, b"second blob, longer than a block".to_vec()),
            (9, b"third".to_vec()),
        ]
    }

    #[test]
    fn yields_in_blob_order_like_rpm() {
        // Slots list the blobs as 3rd, 1st, 2nd; rpm sorts by block offset.
        let (f, _) = build(&three(), &[2, 0, 1]);
        let items = read_all(&f).unwrap();
        assert_eq!(
            summary(&items),
            ["#5 first", "#2 second blob, longer than a block", "#9 third"]
        );
    }

    #[test]
    fn bad_adler32_is_reported_and_the_walk_goes_on() {
        let (mut f, offsets) = build(&three(), &[0, 1, 2]);
        f[offsets[1] as usize * 16 + 20] ^= 1;
        let items = read_all(&f).unwrap();
        let s = summary(&items);
        assert_eq!(s[0], "#5 first");
        assert!(
            s[1].starts_with(&format!(
                "blob of package 2 (slot 3) at block {}: bad adler32",
                offsets[1]
            )),
            "{s:?}"
        );
        assert_eq!(s[2], "#9 third");
        assert!(items[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .starts_with("/usr/lib/sysimage/rpm/Packages.db: "));
    }

    #[test]
    fn bad_magic_trailer_and_lengths() {
        let (f, offsets) = build(&three(), &[0, 1, 2]);
        let blob = |i: usize| offsets[i] as usize * 16;
        type Corruption<'a> = Box<dyn Fn(&mut Vec<u8>) + 'a>;
        let cases: Vec<(Corruption<'_>, &str)> = vec![
            (Box::new(|f| f[blob(1)] = b'X'), "bad blob magic"),
            (Box::new(|f| f[blob(2) - 1] = b'X'), "bad trailer magic"),
            (Box::new(|f| f[blob(1) + 4] = 3), "blob says it belongs to package 3"),
            (
                Box::new(|f| f[blob(1) + 12..blob(1) + 16].copy_from_slice(&u32::MAX.to_le_bytes())),
                "blob length 4294967295 needs",
            ),
            (
                // The third slot (slot number 4) claims four billion blocks.
                Box::new(|f| f[32 + 2 * 16 + 12..32 + 2 * 16 + 16].copy_from_slice(&u32::MAX.to_le_bytes())),
                "slot 4 (package 9) points to blocks",
            ),
            (
                // The second slot points into the slot area.
                Box::new(|f| f[32 + 16 + 8..32 + 16 + 12].copy_from_slice(&3u32.to_le_bytes())),
                "outside the blob area 256..",
            ),
            (Box::new(|f| f[32 + 16] = b'x'), "slot 3 has bad magic"),
        ];
        for (corrupt, expected) in cases {
            let mut g = f.clone();
            corrupt(&mut g);
            let s = summary(&read_all(&g).unwrap());
            assert_eq!(s.len(), 3, "{expected}: {s:?}");
            assert_eq!(
                s.iter().filter(|m| m.contains(expected)).count(),
                1,
                "{expected}: {s:?}"
            );
            assert_eq!(s.iter().filter(|m| m.starts_with('#')).count(), 2, "{expected}: {s:?}");
        }
    }

    #[test]
    fn overlapping_blobs_are_read_once() {
        let (mut f, offsets) = build(&three(), &[0, 1, 2]);
        // Every free slot points at the first blob: each would re-read it.
        for at in (32 + 3 * 16..PAGE_SIZE as usize).step_by(16) {
            f[at + 4..at + 8].copy_from_slice(&5u32.to_le_bytes());
            f[at + 8..at + 12].copy_from_slice(&offsets[0].to_le_bytes());
            f[at + 12..at + 16].copy_from_slice(&(offsets[1] - offsets[0]).to_le_bytes());
        }
        let s = summary(&read_all(&f).unwrap());
        assert_eq!(s.iter().filter(|m| m.starts_with('#')).count(), 3, "{s:?}");
        assert!(s
            .iter()
            .filter(|m| !m.starts_with('#'))
            .all(|m| m.contains("overlaps the previous blob")));
    }

    #[test]
    fn broken_headers_and_truncation() {
        let (f, offsets) = build(&three(), &[0, 1, 2]);
        assert!(read_all(&f[..20]).unwrap_err().message.contains("header unreadable"));
        assert!(read_all(&f[..4000])
            .unwrap_err()
            .message
            .contains("claims 1 slot pages"));
        let mut bad = f.clone();
        bad[0] = b'r';
        assert!(read_all(&bad).unwrap_err().message.contains("bad magic"));
        bad = f.clone();
        bad[4] = 1;
        assert!(read_all(&bad).unwrap_err().message.contains("version 1"));
        bad = f.clone();
        bad[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_all(&bad).unwrap_err().message.contains("slot pages"));
        // Cut inside the last blob: two packages and one error.
        let s = summary(&read_all(&f[..offsets[2] as usize * 16 + 20]).unwrap());
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[0].contains("slot 4 (package 9) points to blocks"), "{s:?}");
        assert_eq!(&s[1..], ["#5 first", "#2 second blob, longer than a block"]);
    }
}
