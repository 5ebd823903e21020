//! Every whole-program and differential test, in one test binary (as ripgrep and gimli-rs/object
//! keep theirs): the harness (`tests/harness/`) is compiled once, not once per file, and the
//! files stay one module each. Run one module with `cargo test --test integration MODULE::`.
//!
//! The end-to-end test of the images under podman (`e2e_atomic`) is `#[ignore]`d here and run
//! by `make test-e2e` once the images are built.

mod harness;

mod adversarial_databases;
mod adversarial_images;
mod adversarial_repos;
mod adversarial_roots;
mod adversarial_urls;
mod advisories_author_vex;
mod advisories_csaf;
mod advisories_csaf_differential;
mod advisories_csaf_feed;
mod advisories_csaf_postgresql;
mod advisories_dnf;
mod advisories_feeds;
mod advisories_oval;
mod bench_scripts;
mod dnf_rules;
mod e2e_atomic;
mod image_differential;
mod image_scan;
mod image_scan_rescan;
mod properties;
mod regression;
mod rpmdb_differential;
mod rpmdb_fixtures;
mod rpmvercmp;
mod updates_differential;
mod updates_fixtures;
mod updates_transport;
mod verify_differential;
