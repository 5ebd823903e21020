//! RPM repository metadata, the branch that feeds the judgements (updates, advisories):
//! the image's yum/dnf configuration, fetching and caching metadata, and the parsers for
//! `repomd.xml`, `primary`, `modules` and `updateinfo`.
//!
//! The data flows: [`config`] (which repositories the image uses) → [`fetch`] (bytes over
//! http(s) or file://, mirror lists and metalinks) → [`cache`] (files keyed by repository and
//! checksum) → [`repomd`] (the index) → [`compression`] → [`primary`] / [`modules`] (the
//! content); [`source`] puts them together for one repository as the scanners read it.
//! [`checksum`] and [`xml`] serve them.
//!
//! dnf's image-side rules live here once, for every scanner: [`arch`] (the machine arch of an
//! image and what it runs, hence `$basearch`), [`config`] (variables, repositories, module
//! states as written) and [`modularity`] (module states typed, default streams layered and
//! the active streams, as libdnf decides them).
//!
//! With the `cli` feature (off by default, so the library carries no command-line
//! dependency), `cli` adds the flags every repository scanner shares (`RepoArgs`,
//! `RepoNetwork`) as clap `Args`, turned into [`fetch::FetchOptions`] and [`source::Trust`].
//!
//! ```no_run
//! use repodata::{compression, primary};
//! let file = std::io::BufReader::new(std::fs::File::open("primary.xml.gz").unwrap());
//! let (_, xml) = compression::decompress(file, 1 << 32).unwrap();
//! primary::parse(xml, primary::ParseOptions::default(), |p| println!("{}", p.nevra())).unwrap();
//! ```

pub mod arch;
pub mod cache;
pub mod checksum;
#[cfg(feature = "cli")]
pub mod cli;
pub mod compression;
pub mod config;
pub mod fetch;
pub mod index;
pub mod metalink;
pub mod modularity;
pub mod modules;
pub mod primary;
pub mod repomd;
pub mod source;
pub mod updateinfo;
pub mod xml;
