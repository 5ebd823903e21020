//! Has a package's header been changed since it was installed? rpm records SHA256HEADER (and
//! SHA1HEADER on older packages) over the immutable region of the header, and checks them
//! every time it reads the database (`headerCheck` in lib/package.c, from
//! `rpmdbNextIterator`); a header that fails is skipped with "rpmdbNextIterator: skipping".
//!
//! The digested bytes are exactly what `updateHdrDigests` feeds the hash: the header magic
//! `8e ad e8 01 00 00 00 00`, `ril` and `rdl` as big-endian u32, the first `ril` index entries
//! as stored, and the first `rdl` bytes of the data store, where `ril` comes from the region
//! trailer and `rdl` is the region tag's offset + 16 (its trailer included). rpm stores the
//! immutable region first in both the index and the data, so these are slices of the stored
//! blob.

use crate::digest::digest_bytes;
use rpmdb::digest::to_hex as hex;
use rpmdb::header::Header;
use rpmdb::package::DigestAlgo;
use rpmdb::tag;

const HEADER_MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];

/// What the header digests say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderDigest {
    /// Every recorded digest matches.
    Intact,
    /// No SHA256HEADER or SHA1HEADER, or no immutable region: nothing to check.
    Unchecked,
    /// A recorded digest does not match the header: the database was edited.
    Mismatch {
        /// `SHA256HEADER` or `SHA1HEADER`.
        tag: &'static str,
        recorded: String,
        computed: String,
    },
}

/// The bytes rpm digests: magic, ril, rdl, region index entries, region data.
pub fn region_bytes(h: &Header) -> Option<Vec<u8>> {
    let ril = h.region_entries() as usize;
    if ril == 0 {
        return None;
    }
    let blob = h.blob();
    let be32 = |at: usize| {
        blob.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    // Entry 0 is the region tag; its offset points at the 16-byte trailer.
    let region_offset = be32(8 + 8)? as usize;
    let rdl = region_offset.checked_add(16)?;
    let data_start = h.data_start();
    let index = blob.get(8..8 + 16 * ril)?;
    let data = blob.get(data_start..data_start.checked_add(rdl)?)?;
    let mut out = Vec::with_capacity(16 + index.len() + data.len());
    out.extend_from_slice(&HEADER_MAGIC);
    out.extend_from_slice(&(ril as u32).to_be_bytes());
    out.extend_from_slice(&(rdl as u32).to_be_bytes());
    out.extend_from_slice(index);
    out.extend_from_slice(data);
    Some(out)
}

/// Check SHA256HEADER, then SHA1HEADER, as rpm does when it reads the header.
pub fn check(h: &Header) -> HeaderDigest {
    let recorded: Vec<(&'static str, DigestAlgo, String)> = [
        ("SHA256HEADER", DigestAlgo::Sha256, tag::SIG_SHA256HEADER),
        ("SHA1HEADER", DigestAlgo::Sha1, tag::SIG_SHA1HEADER),
    ]
    .into_iter()
    .filter_map(|(name, algo, t)| {
        h.string(t)
            .ok()
            .flatten()
            .map(|v| (name, algo, v.trim().to_ascii_lowercase()))
    })
    .collect();
    if recorded.is_empty() {
        return HeaderDigest::Unchecked;
    }
    let Some(bytes) = region_bytes(h) else {
        return HeaderDigest::Unchecked;
    };
    for (name, algo, want) in recorded {
        let got = hex(&digest_bytes(algo, &bytes));
        if got != want {
            return HeaderDigest::Mismatch {
                tag: name,
                recorded: want,
                computed: got,
            };
        }
    }
    HeaderDigest::Intact
}
