//! Published JSON schemas as an oracle: a report is checked against the schema its format's
//! maintainers publish (`tests/fixtures/schemas/`, with provenance), by an independent
//! validator (Debian's python3-jsonschema, through `validate_json.py`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A schema bundled in `tests/fixtures/schemas/`: `cyclonedx-1.6/bom-1.6.schema.json`,
/// `spdx-2.3/spdx-schema.json`, `sarif-2.1.0/sarif-schema-2.1.0.json`.
pub fn bundled(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/schemas")
        .join(relative)
}

/// The validator's verdict on `document` against `schema`: `Ok(())` or every error it found.
pub fn validate(schema: &Path, document: &Path) -> Result<(), String> {
    let python = super::tools::debian_python3();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/harness/validate_json.py");
    let out = Command::new(python)
        .arg(script)
        .arg(schema)
        .arg(document)
        .output()
        .unwrap_or_else(|e| panic!("cannot run validate_json.py: {e}"));
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        _ => panic!(
            "validate_json.py could not run (is python3-jsonschema installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `validate`, panicking with the errors.
pub fn assert_valid(schema: &Path, document: &Path) {
    if let Err(e) = validate(schema, document) {
        panic!("{} is not valid against {}:\n{e}", document.display(), schema.display());
    }
}
