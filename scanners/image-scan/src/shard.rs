//! Lists of images: `--images-from FILE` (one reference a line) and `--shard I/N` (this
//! process scans the I-th of N stable parts of the list). This module owns reading the list
//! and choosing the shard.
//!
//! A reference belongs to shard `SHA-256(reference) mod N` (the digest's first 8 bytes, big
//! endian): the same reference is in the same shard in every process, on every machine and
//! in every run, whatever the order of the list or the other lines in it, so N processes
//! (the pods of a Kubernetes Indexed Job) split one list with no coordination, and each
//! image's state and pending notifications are always handled by the same shard.

use sha2::{Digest, Sha256};
use std::path::Path;

/// `--shard`: which part of the list this process scans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

/// The environment variable a Kubernetes Indexed Job sets to the pod's index.
pub const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

impl Shard {
    /// `I/N`, or `/N` with I from `index_env` (`JOB_COMPLETION_INDEX`).
    pub fn parse(s: &str, index_env: Option<&str>) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--shard {s:?}: expected I/N (or /N with {INDEX_ENV} set)"))?;
        let count: u64 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("--shard {s:?}: N must be a whole number of at least 1"))?;
        let i = i.trim();
        let index: u64 = if i.is_empty() {
            let v = index_env.ok_or_else(|| format!("--shard {s:?}: no I given and {INDEX_ENV} is not set"))?;
            v.trim()
                .parse()
                .map_err(|_| format!("{INDEX_ENV}={v:?}: not a whole number"))?
        } else {
            i.parse()
                .map_err(|_| format!("--shard {s:?}: I must be a whole number"))?
        };
        if index >= count {
            return Err(format!(
                "--shard {index}/{count}: I must be below N (0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether `reference` is in this shard.
    pub fn holds(&self, reference: &str) -> bool {
        shard_of(reference, self.count) == self.index
    }
}

/// The shard of `reference` among `count`.
pub fn shard_of(reference: &str, count: u64) -> u64 {
    let d = Sha256::digest(reference.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first) % count.max(1)
}

/// The references of a list: one a line, surrounding blanks trimmed; blank lines and lines
/// whose first non-blank character is `#` are skipped.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Read `--images-from FILE` (`-`: standard input).
pub fn read_list(file: &Path) -> Result<Vec<String>, String> {
    let bytes = if file == Path::new("-") {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map_err(|e| format!("--images-from -: {e}"))?;
        b
    } else {
        std::fs::read(file).map_err(|e| format!("--images-from {}: {e}", file.display()))?
    };
    let text = String::from_utf8(bytes).map_err(|e| format!("--images-from {}: not UTF-8: {e}", file.display()))?;
    Ok(parse_list(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_from_the_flag_or_the_job_index() {
        assert_eq!(Shard::parse("1/4", None), Ok(Shard { index: 1, count: 4 }));
        assert_eq!(Shard::parse("/4", Some("3")), Ok(Shard { index: 3, count: 4 }));
        assert_eq!(Shard::parse("2/4", Some("3")), Ok(Shard { index: 2, count: 4 }));
        for bad in ["4/4", "/4", "x/4", "1/0", "1", "1/-2", "-1/4"] {
            assert!(Shard::parse(bad, None).is_err(), "{bad}");
        }
        assert!(Shard::parse("/4", Some("seven")).is_err());
    }

    #[test]
    fn every_reference_is_in_exactly_one_shard_and_stays_there() {
        let refs: Vec<String> = (0..1000).map(|i| format!("registry.example/app-{i}:1")).collect();
        let shards: Vec<Shard> = (0..4).map(|i| Shard { index: i, count: 4 }).collect();
        let mut sizes = [0usize; 4];
        for r in &refs {
            let holders: Vec<u64> = shards.iter().filter(|s| s.holds(r)).map(|s| s.index).collect();
            assert_eq!(holders.len(), 1, "{r}");
            sizes[holders[0] as usize] += 1;
        }
        assert!(sizes.iter().all(|n| *n > 200), "{sizes:?}");
        // Fixed by the reference alone (the README's example).
        assert_eq!(shard_of("docker://registry.example.org/team/app:1.4", 1), 0);
    }

    #[test]
    fn lists_skip_comments_and_blank_lines() {
        let list = "# images of team A\n\n  docker://r/a:1  \n\t# old\noci:/x/layout:demo\r\n";
        assert_eq!(parse_list(list), vec!["docker://r/a:1", "oci:/x/layout:demo"]);
    }
}
