//! The differential-test harness every scanner's tests reuse: build RPM packages with the
//! real `rpmbuild`, install them into a throw-away root with the real `rpm`, then ask the
//! real tool about that root and compare with what our code says about the same root.
//!
//! It is compiled once, as a module of the one integration test binary (`tests/main.rs`);
//! a test module reaches it with `use crate::harness;`.
//!
//! ```ignore
//! use crate::harness::{self, build_rpms, FileSpec, PackageSpec, TestRoot};
//!
//! let pkg = PackageSpec::new("demo", "1.0~rc1", "1")
//!     .epoch(2)
//!     .arch("x86_64")
//!     .file(FileSpec::dir("/usr/share/demo"))
//!     .file(FileSpec::regular("/usr/share/demo/a", b"hello\n"))
//!     .file(FileSpec::hard_link("/usr/share/demo/b", "/usr/share/demo/a"))
//!     .file(FileSpec::symlink("/usr/share/demo/c", "a"))
//!     .file(FileSpec::regular("/etc/demo.conf", b"x=1\n").config_noreplace())
//!     .file(FileSpec::char_device("/dev/demo", 1, 3).mode(0o666))
//!     .file(FileSpec::ghost("/var/log/demo.log"))
//!     .file(FileSpec::regular("/usr/bin/demo", b"#!/bin/sh\n").mode(0o755).caps("cap_net_raw=ep"));
//! let rpms = build_rpms(&[pkg], &out_dir);          // real rpmbuild, in parallel
//! let root = TestRoot::new();                        // R/var/lib/rpm, SQLite
//! root.install(&rpms, &[]);                          // rpm --root R -i --nodeps --noscripts
//! let names = root.qa("%{NAME}\n");                  // rpm --root R -qa --qf ...
//! let bdb = harness::bdb_copy(&root, harness::BdbLayout::BIG_ENDIAN); // same headers, BDB
//! bdb.rpm(&["-qa"]);                                 // rpm reads it with bdb_ro
//! ```
//!
//! Modules, in the order a test uses them:
//! - [`tools`]: `require_tool("rpmbuild")` — a missing tool fails the test with the apt
//!   package to install; tests never skip silently.
//! - [`spec`]: [`PackageSpec`] and [`FileSpec`], the package to build, and the `.spec` text.
//! - [`build`]: [`build_rpm`] / [`build_rpms`], running `rpmbuild -bb` in a private `_topdir`.
//! - [`root`]: [`TestRoot`], a temporary root with rpm's database, and `rpm` run against it.
//! - [`bdb`]: [`bdb_copy`], the same installed headers rewritten as a Berkeley DB `Packages`
//!   file by `db5.3_load` (little- or big-endian, any page size).
//! - [`sign`]: [`sign::SigningKey`], a throw-away GnuPG key (RSA, DSA, EdDSA) and `rpmsign`
//!   with a chosen signature time, digest and legacy v3 tags.
//! - [`wal`]: [`wal::commit_to_wal_only`], rows left in `rpmdb.sqlite-wal`, not checkpointed.
//! - [`image`]: container images — layer tars entry by entry (whiteouts, opaque markers, PAX
//!   xattrs, hostile names), OCI layouts by `umoci`, copies by `skopeo`, Debian's
//!   `docker-registry` on 127.0.0.1 (plain, or TLS with a test CA and htpasswd).
//! - [`scratch`]: directories for `OnceLock` fixtures (statics are never dropped), under
//!   `target/tmp/harness-<pid>`, removed by the next test process; [`TestRoot::new_for_process`].
//!
//! Tools needed (Debian packages): `rpm` (rpm, rpmbuild, rpmsign), `db5.3-util`
//! (db5.3_load), `gpg` and `gpgconf` (signing only).
#![allow(dead_code, unused_imports)]

pub mod advisory;
pub mod bdb;
pub mod browser;
pub mod build;
pub mod hostile;
pub mod image;
pub mod mutate;
pub mod repo;
pub mod root;
pub mod schema;
pub mod scratch;
pub mod sign;
pub mod spec;
pub mod tools;
pub mod wal;

pub use bdb::{bdb_copy, BdbLayout};
pub use build::{build_rpm, build_rpms};
pub use root::TestRoot;
pub use spec::{FileKind, FileSpec, PackageSpec};
pub use tools::require_tool;
