//! image-scan's html report (issue 15): filled in by its own change.
