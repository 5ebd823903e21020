//! image-scan's sarif_junit report (issue 15): filled in by its own change.
