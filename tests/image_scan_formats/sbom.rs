//! image-scan's sbom report (issue 15): filled in by its own change.
