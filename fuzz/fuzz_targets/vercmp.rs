//! rpmvercmp and EVR ordering as properties over three inputs: antisymmetry,
//! reflexivity, transitivity, and consistency of Evr's ordering with rpmvercmp.
//! Input: three strings separated by NUL bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rpmdb::version::{rpmvercmp, Evr};
use std::cmp::Ordering;

fn check_order(a: &str, b: &str, c: &str, cmp: impl Fn(&str, &str) -> Ordering, what: &str) {
    for (x, y) in [(a, b), (b, c), (a, c)] {
        assert_eq!(
            cmp(x, y),
            cmp(y, x).reverse(),
            "{what} not antisymmetric on {x:?} {y:?}"
        );
    }
    assert_eq!(cmp(a, a), Ordering::Equal, "{what} of {a:?} with itself");
    let (ab, bc, ac) = (cmp(a, b), cmp(b, c), cmp(a, c));
    if ab != Ordering::Greater && bc != Ordering::Greater {
        // a <= b <= c implies a <= c, and a == c only when a == b == c.
        assert_ne!(
            ac,
            Ordering::Greater,
            "{what} not transitive: {a:?} <= {b:?} <= {c:?} but {a:?} > {c:?}"
        );
        if ab == Ordering::Less || bc == Ordering::Less {
            assert_eq!(
                ac,
                Ordering::Less,
                "{what} not transitive: {a:?} {ab:?} {b:?} {bc:?} {c:?}, {a:?} {ac:?} {c:?}"
            );
        }
    }
    if ab == Ordering::Equal {
        // Equal values are interchangeable.
        assert_eq!(
            ac, bc,
            "{what}: {a:?} equals {b:?} but they compare differently with {c:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    check_order(a, b, c, rpmvercmp, "rpmvercmp");
    check_order(a, b, c, |x, y| Evr::parse(x).cmp(&Evr::parse(y)), "Evr ordering");
    // Evr's ordering is epoch, then rpmvercmp of version, then of release.
    let (ea, eb) = (Evr::parse(a), Evr::parse(b));
    let by_parts = ea
        .epoch_or_zero()
        .cmp(&eb.epoch_or_zero())
        .then(rpmvercmp(&ea.version, &eb.version))
        .then(rpmvercmp(&ea.release, &eb.release));
    assert_eq!(
        ea.cmp(&eb),
        by_parts,
        "Evr ordering of {a:?} and {b:?} is not epoch, version, release"
    );
    // Printing and parsing again gives the same EVR (a version holding `-` once printed
    // without its trailing `-`: "1-2-" read back as 1-2; regression test in version.rs).
    let again = Evr::parse(&ea.to_string());
    assert_eq!(again, ea, "{a:?} printed as {ea} parses as {again:?}");
});
