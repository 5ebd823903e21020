//! RPM repository metadata, the branch that feeds the judgements (updates, advisories):
//! the image's yum/dnf configuration, fetching and caching metadata, and the parsers for
//! `repomd.xml`, `primary`, `modules` and `updateinfo`.

pub mod updateinfo;
