//! Red Hat's whole-feed archive, `csaf_vex_<date>.tar.zst` (tens of GB unpacked), read as a
//! stream: decompressed by its magic bytes ([`repodata::compression`]), each `*.json` entry
//! of at most [`MAX_DOCUMENT_BYTES`] read and handed on, one at a time; nothing is unpacked
//! to disk and no more than one document is held.

use super::document::{self, DocumentError, VexDocument, MAX_DOCUMENT_BYTES};
use std::io::BufReader;
use std::path::Path;

/// The most an archive may decompress to (Red Hat's whole feed is some tens of GB).
pub const MAX_ARCHIVE_BYTES: u64 = 1 << 40;

/// Hand every `*.json` document of the archive to `each`, labelled `ARCHIVE!PATH`. An
/// archive that cannot be read to its end is an error after the documents before the fault.
pub fn documents(path: &Path, each: &mut dyn FnMut(String, Result<VexDocument, DocumentError>)) -> Result<(), String> {
    documents_where(path, &|_| true, &|name| format!("{}!{name}", path.display()), each)
}

/// [`documents`] for the entries `keep` accepts (by entry name), labelled by `label`.
pub fn documents_where(
    path: &Path,
    keep: &dyn Fn(&str) -> bool,
    label: &dyn Fn(&str) -> String,
    each: &mut dyn FnMut(String, Result<VexDocument, DocumentError>),
) -> Result<(), String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let (_, stream) = repodata::compression::decompress(BufReader::with_capacity(256 * 1024, file), MAX_ARCHIVE_BYTES)
        .map_err(|e| format!("cannot decompress: {e}"))?;
    let mut tar = tar::Archive::new(stream);
    let entries = tar.entries().map_err(|e| format!("not a tar archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("archive cut short or corrupt: {e}"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = match entry.path() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => continue,
        };
        if !name.ends_with(".json") || name.ends_with(super::REPOSITORY_TO_CPE) || !keep(&name) {
            continue;
        }
        let label = label(&name);
        let doc = if entry.size() > MAX_DOCUMENT_BYTES {
            Err(DocumentError::TooLarge {
                limit: MAX_DOCUMENT_BYTES,
            })
        } else {
            document::read_bounded(&mut entry, MAX_DOCUMENT_BYTES).and_then(|b| document::parse(&b))
        };
        // A read error inside an entry is the archive's fault, not the document's.
        if let Err(DocumentError::Io(e)) = &doc {
            return Err(format!("archive cut short or corrupt in {name}: {e}"));
        }
        each(label, doc);
    }
    Ok(())
}
