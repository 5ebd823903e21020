//! The header blob: rpm's tagged key/value store, parsed without trusting a byte of it.
//!
//! Layout (`lib/header.cc`): `il` u32 BE, `dl` u32 BE, `il` index entries of 16 bytes
//! `{tag, type, offset, count}` (all BE), then `dl` bytes of data. An installed header starts
//! with a region tag whose trailer says how many entries (`ril`) form the immutable region
//! written at build time; entries after those were added at install time ("dribbles") and
//! **replace** a region entry with the same tag. A first tag of 100 or more is a legacy header
//! without a region.
//!
//! Parsing checks the index only; each value is bounds-checked when it is read, so a header
//! with one bad entry still yields its other tags, and nothing is allocated by a length the
//! blob claims. rpm writes both parts of the index sorted by tag, so tags are looked up in the
//! blob itself (a binary search per tag, or [`Header::entries`] for many tags in one walk);
//! only an index of another shape is copied and sorted.

use crate::tag::{self, TagType};
use std::fmt;

/// rpm's limits (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`): anything larger is hostile.
pub const MAX_INDEX_ENTRIES: u32 = 0xffff;
pub const MAX_DATA_LENGTH: u32 = 0x0fff_ffff;

/// What is wrong with a header, naming the tag where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, HeaderError> {
    Err(HeaderError(msg.into()))
}

/// One index entry, with its offset already checked to fall inside the data store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub tag: u32,
    pub type_code: u32,
    pub offset: usize,
    pub count: u32,
}

/// A parsed header: the blob, with its index checked and searchable.
#[derive(Clone)]
pub struct Header {
    blob: Vec<u8>,
    /// Byte offset of the data store in `blob`.
    data_start: usize,
    data_len: usize,
    lookup: Lookup,
    /// Number of entries in the immutable region (0 for a legacy header).
    region_entries: u32,
    /// Total entry count in the blob's index.
    index_entries: u32,
}

/// How tags are found in a header's index.
#[derive(Clone)]
enum Lookup {
    /// The index as rpm writes it, searched in place (see [`Header::runs`]): each run is
    /// sorted by tag without duplicates. Region entries are checked; an install-time entry
    /// whose offset is out of range is skipped when found.
    Runs,
    /// Any other index (a legacy or hostile header): its usable entries sorted by tag, the
    /// last in index order kept among repeated tags.
    Sorted(Vec<Entry>),
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("entries", &self.index_entries)
            .field("data_len", &self.data_len)
            .finish()
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn raw_tag(raw: &[u8; 16]) -> u32 {
    be32(raw, 0)
}

/// An index entry as stored, its offset not checked yet (negative offsets become huge).
#[inline]
fn raw_entry(raw: &[u8; 16]) -> Entry {
    Entry {
        tag: be32(raw, 0),
        type_code: be32(raw, 4),
        offset: be32(raw, 8) as i32 as isize as usize,
        count: be32(raw, 12),
    }
}

/// How many strings a string entry holds (one for STRING); an error for other types.
fn string_count(e: Entry) -> Result<usize, HeaderError> {
    match TagType::from_u32(e.type_code) {
        Some(TagType::String) => Ok(1),
        Some(TagType::StringArray | TagType::I18nString) => Ok(e.count as usize),
        Some(other) => err(format!("tag {} has type {other:?}, expected a string", e.tag)),
        None => err(format!("tag {} has unknown type {}", e.tag, e.type_code)),
    }
}

/// Where the two runs of an index lie: the region's entries are `first..split` (after the
/// region tag), the install-time entries `split..`. A legacy header has one run, `0..`.
fn runs_bounds(region_entries: u32) -> (usize, usize) {
    let first = usize::from(region_entries > 0);
    (first, region_entries as usize)
}

/// The entry, when its offset falls inside a data store of `data_len` bytes.
#[inline]
fn usable(e: Entry, data_len: usize) -> Option<Entry> {
    (e.offset <= data_len).then_some(e)
}

/// The usable entries of `index` from entry `first` on, in index order.
fn usable_entries(index: &[[u8; 16]], first: usize, data_len: usize) -> impl Iterator<Item = Entry> + '_ {
    index[first.min(index.len())..]
        .iter()
        .filter_map(move |raw| usable(raw_entry(raw), data_len))
}

/// The usable entries of `index` from entry `first` on, sorted by tag; among repeated tags
/// the last in index order (a dribble comes after the region) is kept. An entry whose offset
/// is out of range is left out, so that reading its tag reports it absent.
fn sorted_entries(index: &[[u8; 16]], first: usize, data_len: usize) -> Vec<Entry> {
    let mut entries: Vec<Entry> = usable_entries(index, first, data_len).collect();
    entries.sort_by_key(|e| e.tag); // stable: equal tags stay in index order
    let mut kept = 0;
    for i in 0..entries.len() {
        if kept > 0 && entries[kept - 1].tag == entries[i].tag {
            entries[kept - 1] = entries[i];
        } else {
            entries[kept] = entries[i];
            kept += 1;
        }
    }
    entries.truncate(kept);
    entries
}

impl Header {
    /// Parse a header blob as stored in an rpm database (no leading magic).
    pub fn parse(blob: Vec<u8>) -> Result<Header, HeaderError> {
        if blob.len() < 8 {
            return err(format!("header blob of {} bytes is too short", blob.len()));
        }
        let il = be32(&blob, 0);
        let dl = be32(&blob, 4);
        if il == 0 || il > MAX_INDEX_ENTRIES {
            return err(format!("header claims {il} index entries (limit {MAX_INDEX_ENTRIES})"));
        }
        if dl > MAX_DATA_LENGTH {
            return err(format!("header claims {dl} data bytes (limit {MAX_DATA_LENGTH})"));
        }
        let data_start = 8 + 16 * il as usize;
        let needed = data_start + dl as usize;
        if blob.len() < needed {
            return err(format!(
                "header is truncated: index and data need {needed} bytes, blob has {}",
                blob.len()
            ));
        }
        let data_len = dl as usize;
        // The index is in bounds: `il` entries of 16 bytes.
        let (index, _) = blob[8..data_start].as_chunks::<16>();

        // The region: entry 0 with a region tag, BIN, count 16, whose trailer (16 bytes in the
        // data store) holds a negative offset -(ril * 16).
        let head = raw_entry(&index[0]);
        let (first_tag, first_type, first_count) = (head.tag, head.type_code, head.count);
        // Offsets are signed in the blob; a negative one is shown as such.
        let first_offset = head.offset as isize;
        let mut region_entries = 0u32;
        let is_region = matches!(
            first_tag,
            tag::HEADER_IMAGE | tag::HEADER_SIGNATURES | tag::HEADER_IMMUTABLE
        );
        if is_region {
            if first_type != TagType::Bin as u32 || first_count != 16 {
                return err(format!(
                    "region tag {first_tag} has type {first_type} count {first_count}, expected BIN 16"
                ));
            }
            if first_offset < 0 || first_offset as usize + 16 > data_len {
                return err(format!(
                    "region trailer offset {first_offset} is outside the {data_len}-byte data store"
                ));
            }
            let t = data_start + first_offset as usize;
            let trailer_tag = be32(&blob, t);
            let trailer_offset = be32(&blob, t + 8) as i32;
            if trailer_tag != first_tag {
                return err(format!(
                    "region trailer tag {trailer_tag} does not match region tag {first_tag}"
                ));
            }
            if trailer_offset > 0 || trailer_offset % 16 != 0 || (-(trailer_offset as i64)) / 16 > il as i64 {
                return err(format!(
                    "region trailer offset {trailer_offset} is not -(entries*16) within {il} entries"
                ));
            }
            region_entries = ((-(trailer_offset as i64)) / 16) as u32;
            if region_entries == 0 {
                return err("region trailer claims an empty region");
            }
        } else if first_tag < tag::HEADER_I18NTABLE {
            return err(format!(
                "first header tag {first_tag} is neither a region tag nor a legacy tag"
            ));
        }

        // rpm writes the region's entries sorted by tag, then the ones added at install time,
        // sorted too: such an index is searched in place. One pass checks the region's offsets
        // and whether both runs are in order.
        let (first, split) = runs_bounds(region_entries);
        let mut in_order = true;
        let mut previous: Option<u32> = None;
        for (i, raw) in index.iter().enumerate().skip(first) {
            let e = raw_entry(raw);
            let tag = e.tag;
            if i < split && usable(e, data_len).is_none() {
                return err(format!(
                    "tag {tag} offset {} is outside the {data_len}-byte data store",
                    e.offset as isize
                ));
            }
            if i == split {
                previous = None;
            }
            in_order &= previous.is_none_or(|p| p < tag);
            previous = Some(tag);
        }
        let lookup = if in_order {
            Lookup::Runs
        } else {
            Lookup::Sorted(sorted_entries(index, first, data_len))
        };
        Ok(Header {
            blob,
            data_start,
            data_len,
            lookup,
            region_entries,
            index_entries: il,
        })
    }

    /// The whole blob as read from the database.
    pub fn blob(&self) -> &[u8] {
        &self.blob
    }

    /// Number of entries in the immutable region (0 for a legacy header).
    pub fn region_entries(&self) -> u32 {
        self.region_entries
    }

    /// Total number of entries in the blob's index.
    pub fn index_entries(&self) -> u32 {
        self.index_entries
    }

    /// Offset of the data store inside the blob.
    pub fn data_start(&self) -> usize {
        self.data_start
    }

    /// Length of the data store in bytes.
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// The entry of `tag`, when the header has a usable one.
    pub fn entry(&self, tag: u32) -> Option<Entry> {
        match &self.lookup {
            Lookup::Runs => {
                let find = |run: &[[u8; 16]]| {
                    run.binary_search_by(|raw| raw_tag(raw).cmp(&tag))
                        .ok()
                        .and_then(|i| usable(raw_entry(&run[i]), self.data_len))
                };
                let (region, installed) = self.runs();
                find(installed).or_else(|| find(region))
            }
            Lookup::Sorted(entries) => entries.binary_search_by_key(&tag, |e| e.tag).ok().map(|i| entries[i]),
        }
    }

    /// The entries of several tags, found in one walk over the index rather than a search
    /// per tag (a package's file table reads twenty). `tags` must be in ascending order.
    pub fn entries<const N: usize>(&self, tags: [u32; N]) -> [Option<Entry>; N] {
        debug_assert!(tags.is_sorted(), "Header::entries takes tags in ascending order");
        let mut found = [None; N];
        match &self.lookup {
            Lookup::Runs => {
                let (region, installed) = self.runs();
                // Install-time entries first; the region's fill in what they do not have.
                for run in [installed, region] {
                    let mut at = 0;
                    for (slot, &tag) in found.iter_mut().zip(&tags) {
                        while run.get(at).is_some_and(|raw| raw_tag(raw) < tag) {
                            at += 1;
                        }
                        if slot.is_none() && run.get(at).is_some_and(|raw| raw_tag(raw) == tag) {
                            *slot = usable(raw_entry(&run[at]), self.data_len);
                        }
                    }
                }
            }
            Lookup::Sorted(_) => {
                for (slot, &tag) in found.iter_mut().zip(&tags) {
                    *slot = self.entry(tag);
                }
            }
        }
        found
    }

    pub fn has(&self, tag: u32) -> bool {
        self.entry(tag).is_some()
    }

    /// The tags present, in ascending order.
    pub fn tags(&self) -> impl Iterator<Item = u32> {
        let mut tags: Vec<u32> = match &self.lookup {
            Lookup::Runs => {
                let (first, _) = runs_bounds(self.region_entries);
                usable_entries(self.index(), first, self.data_len)
                    .map(|e| e.tag)
                    .collect()
            }
            Lookup::Sorted(entries) => entries.iter().map(|e| e.tag).collect(),
        };
        tags.sort_unstable();
        tags.dedup();
        tags.into_iter()
    }

    /// The index: `il` raw entries of 16 bytes.
    fn index(&self) -> &[[u8; 16]] {
        self.blob[8..self.data_start].as_chunks::<16>().0
    }

    /// The two runs of an index searched in place: the region's entries (after the region
    /// tag) and the install-time entries, which replace a region entry of the same tag.
    fn runs(&self) -> (&[[u8; 16]], &[[u8; 16]]) {
        let (first, split) = runs_bounds(self.region_entries);
        let (region, installed) = self.index().split_at(split);
        (&region[first.min(region.len())..], installed)
    }

    fn data(&self) -> &[u8] {
        &self.blob[self.data_start..self.data_start + self.data_len]
    }

    fn fixed(&self, e: Entry) -> Result<(&[u8], TagType), HeaderError> {
        let tag = e.tag;
        let ty = TagType::from_u32(e.type_code)
            .ok_or_else(|| HeaderError(format!("tag {tag} has unknown type {}", e.type_code)))?;
        let size = ty
            .element_size()
            .ok_or_else(|| HeaderError(format!("tag {tag} is a string type ({ty:?}), not a number")))?;
        let len = (e.count as usize)
            .checked_mul(size)
            .ok_or_else(|| HeaderError(format!("tag {tag} count {} overflows", e.count)))?;
        let data = self.data();
        if e.offset + len > data.len() {
            return err(format!(
                "tag {tag}: {} elements of {size} bytes at offset {} run past the {}-byte data store",
                e.count,
                e.offset,
                data.len()
            ));
        }
        Ok((&data[e.offset..e.offset + len], ty))
    }

    /// Raw bytes of a BIN (or CHAR/INT8) entry.
    pub fn bin(&self, tag: u32) -> Result<Option<&[u8]>, HeaderError> {
        match self.entry(tag) {
            None => Ok(None),
            Some(e) => {
                let (b, ty) = self.fixed(e)?;
                match ty {
                    TagType::Bin | TagType::Char | TagType::Int8 => Ok(Some(b)),
                    other => err(format!("tag {tag} has type {other:?}, expected BIN")),
                }
            }
        }
    }

    /// An integer array (INT8/CHAR, INT16, INT32, INT64) borrowed from the data store,
    /// bounds-checked once; its elements are read on demand.
    pub fn int_array(&self, tag: u32) -> Result<Option<IntArray<'_>>, HeaderError> {
        self.entry(tag).map(|e| self.int_array_of(e)).transpose()
    }

    /// [`Header::int_array`] of an entry found with [`Header::entries`].
    pub fn int_array_of(&self, e: Entry) -> Result<IntArray<'_>, HeaderError> {
        let tag = e.tag;
        // `fixed` gives `count` whole elements of the type's size.
        let (bytes, ty) = self.fixed(e)?;
        Ok(match ty {
            TagType::Char | TagType::Int8 => IntArray::W1(bytes),
            TagType::Int16 => IntArray::W2(bytes.as_chunks().0),
            TagType::Int32 => IntArray::W4(bytes.as_chunks().0),
            TagType::Int64 => IntArray::W8(bytes.as_chunks().0),
            other => return err(format!("tag {tag} has type {other:?}, expected an integer")),
        })
    }

    /// Any integer array, widened to u64 (INT8/CHAR, INT16, INT32, INT64).
    pub fn ints(&self, tag: u32) -> Result<Option<Vec<u64>>, HeaderError> {
        Ok(self.int_array(tag)?.map(|a| a.iter().collect()))
    }

    /// The first integer of a tag.
    pub fn int(&self, tag: u32) -> Result<Option<u64>, HeaderError> {
        Ok(self.entry(tag).map(|e| self.int_of(e)).transpose()?.flatten())
    }

    /// [`Header::int`] of an entry found with [`Header::entries`]; `None` for an empty array.
    pub fn int_of(&self, e: Entry) -> Result<Option<u64>, HeaderError> {
        let a = self.int_array_of(e)?;
        Ok((!a.is_empty()).then(|| a.get(0)))
    }

    /// Strings of a STRING, STRING_ARRAY or I18NSTRING entry, as raw bytes (paths need not
    /// be UTF-8). Every string must end inside the data store.
    pub fn strings(&self, tag: u32) -> Result<Option<Vec<&[u8]>>, HeaderError> {
        let mut out = Vec::new();
        Ok(self.push_strings(tag, &mut out)?.map(|_| out))
    }

    /// Append the strings of a tag to `out`, as [`Header::strings`] reads them, and return
    /// how many there were (`None`, nothing appended, when the tag is absent). Lets a caller
    /// keep several arrays in one vector.
    pub fn push_strings<'a>(&'a self, tag: u32, out: &mut Vec<&'a [u8]>) -> Result<Option<usize>, HeaderError> {
        self.entry(tag).map(|e| self.push_strings_of(e, out)).transpose()
    }

    /// [`Header::push_strings`] of an entry found with [`Header::entries`].
    pub fn push_strings_of<'a>(&'a self, e: Entry, out: &mut Vec<&'a [u8]>) -> Result<usize, HeaderError> {
        let tag = e.tag;
        let count = string_count(e)?;
        let area = &self.data()[e.offset..];
        // Each string needs at least one byte: a count beyond the remaining data is a lie.
        if count > area.len() {
            return err(format!("tag {tag} claims {count} strings in {} bytes", area.len()));
        }
        let before = out.len();
        out.reserve(count);
        let found = split_nul_terminated(area, count, out);
        if found < count {
            out.truncate(before);
            return err(format!(
                "tag {tag}: string {found} of {count} is not terminated inside the data store"
            ));
        }
        Ok(count)
    }

    /// The one string every string of an entry is, when they are all the same: `count` copies
    /// of it, each followed by its NUL. File arrays often are (every file's user and group
    /// "root"; FILELINKTOS and FILELANGS all ""), and then need not be split. `None` for
    /// anything else, which [`Header::push_strings_of`] then reads or refuses.
    pub fn same_strings_of(&self, e: Entry) -> Option<&[u8]> {
        let count = string_count(e).ok()?;
        let area = &self.data()[e.offset..];
        let period = memchr::memchr(0, area)? + 1;
        let strings = area.get(..count.checked_mul(period)?)?;
        // The array equals itself shifted by one string: so each string equals the one before
        // it, and all equal the first.
        (strings.get(period..)? == &strings[..strings.len() - period]).then(|| &area[..period - 1])
    }

    /// The first string of a tag (the C-locale one for I18NSTRING), as raw bytes.
    pub fn string_bytes(&self, tag: u32) -> Result<Option<&[u8]>, HeaderError> {
        self.entry(tag).map(|e| self.string_bytes_of(e)).transpose()
    }

    /// [`Header::string_bytes`] of an entry found with [`Header::entries`].
    pub fn string_bytes_of(&self, e: Entry) -> Result<&[u8], HeaderError> {
        let tag = e.tag;
        let rest = &self.data()[e.offset..];
        match TagType::from_u32(e.type_code) {
            Some(TagType::String | TagType::StringArray | TagType::I18nString) => {}
            _ => return err(format!("tag {tag} has type {}, expected a string", e.type_code)),
        }
        if e.count == 0 {
            return err(format!("tag {tag} has count 0"));
        }
        let end = memchr::memchr(0, rest)
            .ok_or_else(|| HeaderError(format!("tag {tag}: string is not terminated inside the data store")))?;
        Ok(&rest[..end])
    }

    /// The first string of a tag, lossily decoded as UTF-8.
    pub fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        self.entry(tag).map(|e| self.string_of(e)).transpose()
    }

    /// [`Header::string`] of an entry found with [`Header::entries`].
    pub fn string_of(&self, e: Entry) -> Result<String, HeaderError> {
        let bytes = self.string_bytes_of(e)?;
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        })
    }
}

/// Append to `out` the first `count` NUL-terminated strings at the start of `area` (without
/// their NULs) and return how many were found: fewer than `count` when `area` ends first.
///
/// File arrays are mostly short strings ("root", "", a base name, a 64-digit digest): a
/// search call per string costs more than the string. This takes sixteen bytes at a time and
/// every NUL among them from one mask.
fn split_nul_terminated<'a>(area: &'a [u8], count: usize, out: &mut Vec<&'a [u8]>) -> usize {
    let mut found = 0;
    let mut start = 0;
    let mut take = |end: usize| {
        out.push(&area[start..end]);
        start = end + 1;
        found += 1;
        found == count
    };
    if count == 0 {
        return 0;
    }
    let (blocks, tail) = area.as_chunks::<16>();
    for (b, block) in blocks.iter().enumerate() {
        let mut mask = nul_mask(block);
        while mask != 0 {
            if take(b * 16 + mask.trailing_zeros() as usize) {
                return count;
            }
            mask &= mask - 1;
        }
    }
    let tail_at = blocks.len() * 16;
    for (k, _) in tail.iter().enumerate().filter(|(_, &byte)| byte == 0) {
        if take(tail_at + k) {
            return count;
        }
    }
    found
}

/// Bit `i` set where `block[i]` is NUL: one vector compare and mask move.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn nul_mask(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_setzero_si128};
    let lo = i64::from_le_bytes([
        block[0], block[1], block[2], block[3], block[4], block[5], block[6], block[7],
    ]);
    let hi = i64::from_le_bytes([
        block[8], block[9], block[10], block[11], block[12], block[13], block[14], block[15],
    ]);
    // SAFETY: these intrinsics only need SSE2, which this function is compiled only with
    // (every x86_64 processor has it); they take values, no pointers.
    unsafe { _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_set_epi64x(hi, lo), _mm_setzero_si128())) as u32 }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn nul_mask(block: &[u8; 16]) -> u32 {
    nul_mask_portable(block)
}

/// [`nul_mask`] without vector instructions, a word at a time.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn nul_mask_portable(block: &[u8; 16]) -> u32 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let (words, _) = block.as_chunks::<8>();
    let mut mask = 0u32;
    for (w, word) in words.iter().enumerate() {
        let v = u64::from_le_bytes(*word);
        // 0x80 in each byte of `v` that is zero, nothing elsewhere (no carries between bytes);
        // the multiply gathers those eight bits into the top byte, byte i to bit i.
        let zeros = !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7);
        let bits = ((zeros >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
        mask |= bits << (8 * w);
    }
    mask
}

/// An integer array in a header's data store (big-endian elements of 1, 2, 4 or 8 bytes),
/// seen as a slice of elements of its width, so that reading one is an index and a byte swap.
#[derive(Debug, Clone, Copy)]
pub enum IntArray<'a> {
    W1(&'a [u8]),
    W2(&'a [[u8; 2]]),
    W4(&'a [[u8; 4]]),
    W8(&'a [[u8; 8]]),
}

impl<'a> IntArray<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            IntArray::W1(v) => v.len(),
            IntArray::W2(v) => v.len(),
            IntArray::W4(v) => v.len(),
            IntArray::W8(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, widened to u64. Panics when `i` is out of range, like slice indexing.
    #[inline]
    pub fn get(&self, i: usize) -> u64 {
        match self {
            IntArray::W1(v) => v[i] as u64,
            IntArray::W2(v) => u16::from_be_bytes(v[i]) as u64,
            IntArray::W4(v) => u32::from_be_bytes(v[i]) as u64,
            IntArray::W8(v) => u64::from_be_bytes(v[i]),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = u64> + 'a {
        let a = *self;
        (0..a.len()).map(move |i| a.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, Just};

    type TestEntry = (u32, TagType, u32, Vec<u8>);

    /// Build a header blob from entries; used to check parsing rules.
    pub(crate) fn build(entries: &[TestEntry], region: bool) -> Vec<u8> {
        build_installed(entries, region, &[])
    }

    /// A header blob as rpm stores an installed package: the region's entries (in the order
    /// given), then `dribbles`, entries added at install time outside the region.
    fn build_installed(entries: &[TestEntry], region: bool, dribbles: &[TestEntry]) -> Vec<u8> {
        let mut data = Vec::new();
        let mut index = Vec::new();
        let n_region = entries.len() as u32 + if region { 1 } else { 0 };
        let add = |data: &mut Vec<u8>, index: &mut Vec<(u32, u32, i32, u32)>, (tag, ty, count, bytes): &TestEntry| {
            let align = ty.element_size().unwrap_or(1).max(1);
            while !data.len().is_multiple_of(align) {
                data.push(0);
            }
            index.push((*tag, *ty as u32, data.len() as i32, *count));
            data.extend_from_slice(bytes);
        };
        for e in entries {
            add(&mut data, &mut index, e);
        }
        if region {
            let trailer_at = data.len() as i32;
            data.extend_from_slice(&tag::HEADER_IMMUTABLE.to_be_bytes());
            data.extend_from_slice(&(TagType::Bin as u32).to_be_bytes());
            data.extend_from_slice(&(-(n_region as i32) * 16).to_be_bytes());
            data.extend_from_slice(&16u32.to_be_bytes());
            index.insert(0, (tag::HEADER_IMMUTABLE, TagType::Bin as u32, trailer_at, 16));
        }
        for e in dribbles {
            add(&mut data, &mut index, e);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&(index.len() as u32).to_be_bytes());
        blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for (t, ty, off, c) in index {
            blob.extend_from_slice(&t.to_be_bytes());
            blob.extend_from_slice(&ty.to_be_bytes());
            blob.extend_from_slice(&off.to_be_bytes());
            blob.extend_from_slice(&c.to_be_bytes());
        }
        blob.extend_from_slice(&data);
        blob
    }

    fn string(tag: u32, s: &str) -> TestEntry {
        (tag, TagType::String, 1, format!("{s}\0").into_bytes())
    }

    fn int32(tag: u32, v: u32) -> TestEntry {
        (tag, TagType::Int32, 1, v.to_be_bytes().to_vec())
    }

    #[test]
    fn an_entry_added_at_install_time_replaces_the_regions() {
        let blob = build_installed(
            &[
                string(tag::NAME, "foo"),
                string(tag::VERSION, "1"),
                string(tag::RELEASE, "1"),
            ],
            true,
            &[
                string(tag::VERSION, "2"),
                int32(tag::EPOCH, 3),
                int32(tag::INSTALLTIME, 5),
            ],
        );
        let h = Header::parse(blob).unwrap();
        assert_eq!(h.region_entries(), 4);
        assert_eq!(h.string(tag::VERSION).unwrap().as_deref(), Some("2"));
        assert_eq!(h.string(tag::NAME).unwrap().as_deref(), Some("foo"));
        assert_eq!(h.int(tag::INSTALLTIME).unwrap(), Some(5));
        assert_eq!(h.int(tag::EPOCH).unwrap(), Some(3));
        assert_eq!(h.int(tag::BUILDTIME).unwrap(), None);
        let tags: Vec<u32> = h.tags().collect();
        assert_eq!(
            tags,
            [tag::NAME, tag::VERSION, tag::RELEASE, tag::EPOCH, tag::INSTALLTIME]
        );
    }

    #[test]
    fn among_repeated_tags_the_last_in_index_order_wins() {
        // Region entries out of tag order and repeated, as no rpm writes them: the header is
        // sorted as a whole and the last of each tag kept, dribbles last of all.
        let blob = build_installed(
            &[
                string(tag::RELEASE, "r1"),
                string(tag::NAME, "a"),
                string(tag::NAME, "b"),
            ],
            true,
            &[string(tag::RELEASE, "r2"), string(tag::RELEASE, "r3")],
        );
        let h = Header::parse(blob).unwrap();
        assert_eq!(h.string(tag::NAME).unwrap().as_deref(), Some("b"));
        assert_eq!(h.string(tag::RELEASE).unwrap().as_deref(), Some("r3"));
        // Dribbles out of tag order.
        let h = Header::parse(build_installed(
            &[string(tag::NAME, "a"), string(tag::VERSION, "1")],
            true,
            &[
                int32(tag::INSTALLTIME, 5),
                string(tag::VERSION, "2"),
                int32(tag::EPOCH, 3),
            ],
        ))
        .unwrap();
        assert_eq!(h.string(tag::VERSION).unwrap().as_deref(), Some("2"));
        assert_eq!(h.int(tag::EPOCH).unwrap(), Some(3));
        assert_eq!(h.int(tag::INSTALLTIME).unwrap(), Some(5));
        // A legacy header (no region) in any order.
        let h = Header::parse(build(
            &[
                string(tag::VERSION, "9"),
                string(tag::NAME, "x"),
                string(tag::VERSION, "10"),
            ],
            false,
        ))
        .unwrap();
        assert_eq!(h.string(tag::NAME).unwrap().as_deref(), Some("x"));
        assert_eq!(h.string(tag::VERSION).unwrap().as_deref(), Some("10"));
    }

    proptest::proptest! {
        /// The word-at-a-time splitter agrees with splitting at every NUL, for any bytes,
        /// count and alignment.
        #[test]
        fn splitting_finds_the_same_strings_as_a_plain_split(
            area in proptest::collection::vec(proptest::prop_oneof![1 => Just(0u8), 8 => Just(b'a'), 8 => any::<u8>()], 0..300),
            skip in 0usize..8,
            count in 0usize..40,
        ) {
            let area = &area[skip.min(area.len())..];
            let expected: Vec<&[u8]> = area.split(|&b| b == 0).take(area.iter().filter(|&&b| b == 0).count()).take(count).collect();
            let mut out = vec![&b"kept"[..]];
            let found = split_nul_terminated(area, count, &mut out);
            proptest::prop_assert_eq!(found, expected.len());
            proptest::prop_assert_eq!(&out[0], &&b"kept"[..]);
            proptest::prop_assert_eq!(&out[1..], &expected[..]);
        }
    }

    /// `entries` (one walk) finds what `entry` (a search per tag) finds, in every index shape.
    #[test]
    fn entries_at_once_agree_with_entry_by_entry() {
        let all = [
            tag::NAME,
            tag::VERSION,
            tag::RELEASE,
            tag::EPOCH,
            tag::BUILDTIME,
            tag::INSTALLTIME,
            tag::FILESIZES,
        ];
        let headers = [
            // Two sorted runs, a dribble replacing a region entry.
            build_installed(
                &[
                    string(tag::NAME, "foo"),
                    string(tag::VERSION, "1"),
                    int32(tag::FILESIZES, 1),
                ],
                true,
                &[
                    string(tag::VERSION, "2"),
                    int32(tag::EPOCH, 3),
                    int32(tag::INSTALLTIME, 5),
                ],
            ),
            // Dribbles out of order: the sorted copy.
            build_installed(
                &[string(tag::NAME, "foo"), string(tag::RELEASE, "1")],
                true,
                &[int32(tag::INSTALLTIME, 5), string(tag::RELEASE, "2")],
            ),
            // A legacy header.
            build(
                &[
                    string(tag::NAME, "x"),
                    string(tag::VERSION, "9"),
                    int32(tag::BUILDTIME, 4),
                ],
                false,
            ),
        ];
        // An install-time entry whose offset is out of range is skipped: the region's counts.
        let mut bad_dribble = headers[0].clone();
        let at = 8 + 16 * 4 + 8; // index entry 4 (region tag, 3 region entries, then VERSION)
        bad_dribble[at..at + 4].copy_from_slice(&0x7fff_0000u32.to_be_bytes());
        let h = Header::parse(bad_dribble.clone()).unwrap();
        assert_eq!(h.string(tag::VERSION).unwrap().as_deref(), Some("1"));
        for blob in headers.into_iter().chain([bad_dribble]) {
            let h = Header::parse(blob).unwrap();
            let one_by_one: Vec<Option<Entry>> = all.iter().map(|&t| h.entry(t)).collect();
            assert_eq!(h.entries(all).to_vec(), one_by_one);
            assert!(one_by_one.iter().filter(|e| e.is_some()).count() >= 3);
        }
    }

    proptest::proptest! {
        /// Both NUL masks agree with a byte-by-byte look.
        #[test]
        fn nul_masks_mark_exactly_the_nul_bytes(
            block in proptest::array::uniform16(proptest::prop_oneof![Just(0u8), Just(0x80u8), Just(1u8), any::<u8>()]),
        ) {
            let expected = block.iter().enumerate().filter(|(_, &b)| b == 0).fold(0u32, |m, (i, _)| m | 1 << i);
            proptest::prop_assert_eq!(nul_mask(&block), expected);
            proptest::prop_assert_eq!(nul_mask_portable(&block), expected);
        }
    }

    #[test]
    fn legacy_header_strings_and_ints() {
        let blob = build(
            &[
                (tag::NAME, TagType::String, 1, b"foo\0".to_vec()),
                (tag::EPOCH, TagType::Int32, 1, 7u32.to_be_bytes().to_vec()),
                (tag::BASENAMES, TagType::StringArray, 2, b"a\0b\0".to_vec()),
            ],
            false,
        );
        let h = Header::parse(blob).unwrap();
        assert_eq!(h.string(tag::NAME).unwrap().as_deref(), Some("foo"));
        assert_eq!(h.int(tag::EPOCH).unwrap(), Some(7));
        assert_eq!(h.strings(tag::BASENAMES).unwrap().unwrap(), vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(h.int(tag::VERSION).unwrap(), None);
    }

    #[test]
    fn region_header_parses() {
        let blob = build(&[(tag::NAME, TagType::String, 1, b"foo\0".to_vec())], true);
        let h = Header::parse(blob).unwrap();
        assert_eq!(h.region_entries(), 2);
        assert_eq!(h.string(tag::NAME).unwrap().as_deref(), Some("foo"));
    }

    #[test]
    fn string_count_larger_than_data_is_an_error_not_an_allocation() {
        let blob = build(
            &[(tag::BASENAMES, TagType::StringArray, u32::MAX, b"a\0".to_vec())],
            false,
        );
        let h = Header::parse(blob).unwrap();
        assert!(h.strings(tag::BASENAMES).is_err());
    }

    #[test]
    fn same_strings_are_found_only_when_every_string_is_the_first() {
        let same = |data: &[u8], count: u32, type_: TagType| {
            // One more entry after the array, so the data store goes on past it.
            let blob = build(
                &[
                    (tag::FILEUSERNAME, type_, count, data.to_vec()),
                    (tag::FILEGROUPNAME, TagType::String, 1, b"wheel\0".to_vec()),
                ],
                false,
            );
            let h = Header::parse(blob).unwrap();
            h.same_strings_of(h.entry(tag::FILEUSERNAME).unwrap())
                .map(<[u8]>::to_vec)
        };
        let sa = TagType::StringArray;
        assert_eq!(same(b"root\0root\0root\0", 3, sa).as_deref(), Some(&b"root"[..]));
        assert_eq!(same(b"\0\0\0\0", 4, sa).as_deref(), Some(&b""[..]));
        assert_eq!(same(b"bin\0", 1, sa).as_deref(), Some(&b"bin"[..]));
        assert_eq!(same(b"root\0root\0", 1, sa).as_deref(), Some(&b"root"[..]));
        // One string differs, first or last; a shorter or longer one; the count claims more
        // strings than there are (the next entry's "wheel" is read as the third), or more
        // than the data store holds.
        assert_eq!(same(b"root\0root\0rooT\0", 3, sa), None);
        assert_eq!(same(b"Root\0root\0root\0", 3, sa), None);
        assert_eq!(same(b"root\0roo\0troot\0", 3, sa), None);
        assert_eq!(same(b"root\0root\0", 3, sa), None);
        assert_eq!(same(b"root\0root\0", u32::MAX, sa), None);
        // Not a string array at all.
        assert_eq!(same(&[0; 8], 2, TagType::Int32), None);
    }

    #[test]
    fn int_array_past_end_is_an_error() {
        let blob = build(&[(tag::FILESIZES, TagType::Int32, 1000, vec![0; 4])], false);
        let h = Header::parse(blob).unwrap();
        assert!(h.ints(tag::FILESIZES).is_err());
    }

    #[test]
    fn hostile_lengths_are_rejected() {
        let mut blob = vec![0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert!(Header::parse(blob.clone()).is_err());
        blob[0..4].copy_from_slice(&1u32.to_be_bytes());
        blob[4..8].copy_from_slice(&0xffff_fff0u32.to_be_bytes());
        assert!(Header::parse(blob).is_err());
        assert!(Header::parse(vec![1, 2]).is_err());
    }

    #[test]
    fn unterminated_string_is_an_error() {
        let blob = build(&[(tag::NAME, TagType::String, 1, b"foo".to_vec())], false);
        let h = Header::parse(blob).unwrap();
        assert!(h.string(tag::NAME).is_err());
    }
}
