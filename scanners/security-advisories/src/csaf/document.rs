//! The CSAF 2.0 VEX document as Red Hat writes it (`document.category = "csaf_vex"`), read
//! with serde: only the members the judgement uses are modelled, everything else is skipped.
//!
//! Reading is bounded: a document larger than [`MAX_DOCUMENT_BYTES`] is refused before it is
//! parsed, and serde_json's own nesting limit (128) stops a hostile, deeply nested product tree
//! with an error instead of a stack overflow. A member of the wrong type is an error naming
//! the member and the line (serde_json's message), never a panic.

use serde::Deserialize;
use std::io::Read;
use std::path::Path;

/// The largest VEX document read (Red Hat's largest single files, the kernel's, are some tens
/// of MB).
pub const MAX_DOCUMENT_BYTES: u64 = 128 << 20;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("larger than {limit} bytes, the most a CSAF VEX document may be")]
    TooLarge { limit: u64 },
    #[error("not a CSAF document: {0}")]
    Json(String),
    #[error("document.category is {0:?}, not \"csaf_vex\"")]
    NotVex(String),
}

/// A whole VEX document.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VexDocument {
    pub document: DocumentMeta,
    #[serde(default)]
    pub product_tree: ProductTree,
    #[serde(default)]
    pub vulnerabilities: Vec<Vulnerability>,
}

/// `document`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DocumentMeta {
    pub category: String,
    #[serde(default)]
    pub csaf_version: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub aggregate_severity: Option<Text>,
    #[serde(default)]
    pub tracking: Option<Tracking>,
}

/// An object whose `text` is what counts (`aggregate_severity`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Text {
    #[serde(default)]
    pub text: Option<String>,
}

/// `document.tracking`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tracking {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub current_release_date: Option<String>,
    #[serde(default)]
    pub initial_release_date: Option<String>,
}

/// `product_tree`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductTree {
    #[serde(default)]
    pub branches: Vec<Branch>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// Products named outside any branch (image authors' documents use them; Red Hat's do not).
    #[serde(default)]
    pub full_product_names: Vec<FullProductName>,
    /// Groups of product ids that `flags[].group_ids` name.
    #[serde(default)]
    pub product_groups: Vec<ProductGroup>,
}

/// `product_tree.product_groups[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductGroup {
    pub group_id: String,
    #[serde(default)]
    pub product_ids: Vec<String>,
}

/// A branch: `vendor`, `product_family`, `product_name`, `product_version`, `architecture`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Branch {
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub product: Option<FullProductName>,
    #[serde(default)]
    pub branches: Vec<Branch>,
}

/// `full_product_name` / `product`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FullProductName {
    #[serde(default)]
    pub name: Option<String>,
    pub product_id: String,
    #[serde(default)]
    pub product_identification_helper: Option<IdentificationHelper>,
}

/// `product_identification_helper`: a CPE for products, a purl for components.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IdentificationHelper {
    #[serde(default)]
    pub cpe: Option<String>,
    #[serde(default)]
    pub purl: Option<String>,
}

/// `product_tree.relationships[]`: `<product>:<component>` as one id.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Relationship {
    pub category: String,
    pub full_product_name: FullProductName,
    pub product_reference: String,
    pub relates_to_product_reference: String,
}

/// `vulnerabilities[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Vulnerability {
    #[serde(default)]
    pub cve: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub cwe: Option<Cwe>,
    #[serde(default)]
    pub release_date: Option<String>,
    #[serde(default)]
    pub discovery_date: Option<String>,
    #[serde(default)]
    pub product_status: ProductStatus,
    #[serde(default)]
    pub remediations: Vec<Remediation>,
    #[serde(default)]
    pub threats: Vec<Threat>,
    #[serde(default)]
    pub scores: Vec<Score>,
    /// The justifications of `known_not_affected` products (read for `--vex`).
    #[serde(default)]
    pub flags: Vec<Flag>,
}

/// `flags[]`: a `label` (`vulnerable_code_not_present`…) for products and product groups.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Flag {
    pub label: String,
    #[serde(default)]
    pub product_ids: Vec<String>,
    #[serde(default)]
    pub group_ids: Vec<String>,
}

/// `cwe`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Cwe {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// `product_status`: lists of product ids (joint `<product>:<component>` ids).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductStatus {
    #[serde(default)]
    pub fixed: Vec<String>,
    #[serde(default)]
    pub known_affected: Vec<String>,
    #[serde(default)]
    pub known_not_affected: Vec<String>,
    #[serde(default)]
    pub under_investigation: Vec<String>,
}

/// `remediations[]`: `vendor_fix` (with the RHSA `url`), `no_fix_planned`, `none_available`,
/// `workaround`, `mitigation`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Remediation {
    pub category: String,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub product_ids: Vec<String>,
}

/// `threats[]`; `category: impact` carries Red Hat's severity in `details`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Threat {
    pub category: String,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default)]
    pub product_ids: Vec<String>,
}

/// `scores[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Score {
    #[serde(default)]
    pub cvss_v3: Option<CvssV3>,
    #[serde(default)]
    pub products: Vec<String>,
}

/// `scores[].cvss_v3` (the members used).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CvssV3 {
    #[serde(rename = "baseScore", default)]
    pub base_score: Option<f64>,
    #[serde(rename = "vectorString", default)]
    pub vector_string: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

/// Parse a document from its bytes; anything but a `csaf_vex` document is an error.
pub fn parse(bytes: &[u8]) -> Result<VexDocument, DocumentError> {
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge {
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let doc: VexDocument = serde_json::from_slice(bytes).map_err(|e| DocumentError::Json(e.to_string()))?;
    if doc.document.category != "csaf_vex" {
        return Err(DocumentError::NotVex(doc.document.category.clone()));
    }
    Ok(doc)
}

/// Read at most `limit` bytes of `reader`; more is [`DocumentError::TooLarge`].
pub fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, DocumentError> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DocumentError::Io(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(DocumentError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Read and parse one file, refusing it by its size before reading when it is too large.
pub fn read_file(path: &Path) -> Result<VexDocument, DocumentError> {
    let file = std::fs::File::open(path).map_err(|e| DocumentError::Io(e.to_string()))?;
    if let Ok(m) = file.metadata() {
        if m.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge {
                limit: MAX_DOCUMENT_BYTES,
            });
        }
    }
    parse(&read_bounded(file, MAX_DOCUMENT_BYTES)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_documents_are_errors() {
        assert!(matches!(
            parse(b"{\"document\": {\"category\": \"csaf_vex\""),
            Err(DocumentError::Json(_))
        ));
        assert!(matches!(parse(b""), Err(DocumentError::Json(_))));
        let wrong =
            br#"{"document": {"category": "csaf_vex"}, "vulnerabilities": [{"product_status": {"fixed": "x"}}]}"#;
        match parse(wrong) {
            Err(DocumentError::Json(e)) => assert!(e.contains("line 1"), "{e}"),
            other => panic!("{other:?}"),
        }
        let advisory = br#"{"document": {"category": "csaf_security_advisory"}}"#;
        assert_eq!(
            parse(advisory).unwrap_err(),
            DocumentError::NotVex("csaf_security_advisory".into())
        );
        // Nesting far beyond serde_json's limit: an error, no stack overflow.
        let mut deep = String::from(r#"{"document": {"category": "csaf_vex"}, "product_tree": {"branches": ["#);
        for _ in 0..100_000 {
            deep.push_str(r#"{"branches": ["#);
        }
        assert!(matches!(parse(deep.as_bytes()), Err(DocumentError::Json(_))));
        assert_eq!(
            read_bounded(&b"0123456789"[..], 4).unwrap_err(),
            DocumentError::TooLarge { limit: 4 }
        );
    }
}
