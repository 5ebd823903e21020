//! rpm's own rpmvercmp test vectors (tests/fixtures/rpmvercmp/vectors.txt, from rpm's
//! tests/rpmvercmp.at) against our comparator.

use rpmdb::version::rpmvercmp;
use std::cmp::Ordering;

#[test]
fn all_of_rpms_vectors_pass() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rpmvercmp/vectors.txt"
    ))
    .unwrap();
    let mut n = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let parts: Vec<&str> = line.split(", ").collect();
        assert_eq!(parts.len(), 3, "bad vector line {line:?}");
        let want = match parts[2].trim() {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => panic!("bad expectation {other}"),
        };
        let got = rpmvercmp(parts[0], parts[1]);
        if got != want {
            failures.push(format!("{} vs {}: want {want:?}, got {got:?}", parts[0], parts[1]));
        }
        n += 1;
    }
    assert_eq!(n, 103, "expected rpm's 103 vectors");
    assert!(failures.is_empty(), "{failures:#?}");
}
