//! Architectures: which package arches a machine can run (rpm's and libsolv's compatibility
//! table, e.g. an `x86_64` machine runs `x86_64`, `i686`…`i386` and `noarch`), and the machine
//! arch of an image, told by its installed packages — the one rule every scanner uses for
//! `$arch` and `$basearch` ([`crate::config::SystemFacts::from_installed`]).
//!
//! dnf does not look at packages: `$arch` is the host's (`hawkey.detect_arch()`, uname's
//! machine, or the `arch` option / `--forcearch`), `$basearch` its base
//! (`dnf.rpm.basearch`), and only packages that arch can run are seen. An image carries no
//! host, so the machine it was built for is inferred: the **most capable** arch among its
//! installed packages, the one that can run the most of them (ties: the longer compatibility
//! list, then the larger count). A multilib x86_64 image with more `i686` than `x86_64`
//! packages is still an x86_64 machine — dnf run in it reads the `x86_64` repositories and
//! offers `x86_64` and `i686` updates — whereas the most common arch would say `i686`, read
//! the `i386` repositories and hide every `x86_64` package (an `i686` machine cannot run
//! them). The most capable arch is never wrong in that direction: an image holding any
//! `x86_64` package cannot have been an `i686` machine.

use std::collections::BTreeMap;

/// The package arches a machine of this arch can install, best first, `noarch` last.
pub fn compatible(machine: &str) -> Vec<&'static str> {
    let list: &[&'static str] = match machine {
        "x86_64" | "amd64" | "ia32e" => &["x86_64", "amd64", "ia32e", "athlon", "i686", "i586", "i486", "i386"],
        "x86_64_v2" => &["x86_64_v2", "x86_64", "amd64", "athlon", "i686", "i586", "i486", "i386"],
        "x86_64_v3" => &[
            "x86_64_v3",
            "x86_64_v2",
            "x86_64",
            "amd64",
            "athlon",
            "i686",
            "i586",
            "i486",
            "i386",
        ],
        "x86_64_v4" => &[
            "x86_64_v4",
            "x86_64_v3",
            "x86_64_v2",
            "x86_64",
            "amd64",
            "athlon",
            "i686",
            "i586",
            "i486",
            "i386",
        ],
        "athlon" => &["athlon", "i686", "i586", "i486", "i386"],
        "i686" => &["i686", "i586", "i486", "i386"],
        "i586" => &["i586", "i486", "i386"],
        "i486" => &["i486", "i386"],
        "i386" => &["i386"],
        "aarch64" => &["aarch64"],
        "ppc64le" => &["ppc64le"],
        "ppc64" => &["ppc64", "ppc"],
        "s390x" => &["s390x", "s390"],
        "armv7hl" => &["armv7hl", "armv6hl"],
        "armv7hnl" => &["armv7hnl", "armv7hl", "armv6hl"],
        "riscv64" => &["riscv64"],
        "loongarch64" => &["loongarch64"],
        _ => &[],
    };
    let mut v: Vec<&'static str> = list.to_vec();
    if v.is_empty() {
        // An arch this table does not know: only itself (when it is a known string) and noarch.
        v.extend(KNOWN.iter().copied().filter(|k| *k == machine));
    }
    v.push("noarch");
    v
}

const KNOWN: &[&str] = &[
    "mips", "mipsel", "mips64", "mips64el", "ia64", "alpha", "sparc64", "sh4", "ppc", "s390", "riscv32",
];

/// Whether a package of `arch` can be installed on a `machine`.
pub fn can_run(machine: &str, arch: &str) -> bool {
    arch == "noarch" || arch == machine || compatible(machine).contains(&arch)
}

/// The machine arch of an image: the most capable arch among its installed packages
/// (`x86_64` when both `x86_64` and `i686` packages are there), counting packages to break
/// ties between unrelated arches. `None` when every package is `noarch` (or has no arch).
pub fn machine_arch<'a>(installed_arches: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for a in installed_arches {
        if a != "noarch" && !a.is_empty() && a != "(none)" && a != "src" && a != "nosrc" {
            *counts.entry(a).or_default() += 1;
        }
    }
    // An arch "covers" another when it can run it; the machine is an arch that covers the
    // most packages, the most capable among equals.
    let covered = |m: &str| {
        counts
            .iter()
            .filter(|(a, _)| can_run(m, a))
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    counts
        .keys()
        .copied()
        .max_by(|a, b| {
            covered(a)
                .cmp(&covered(b))
                .then(compatible(a).len().cmp(&compatible(b).len()))
                .then(counts[a].cmp(&counts[b]))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multilib_images_are_x86_64() {
        let arches = ["x86_64", "i686", "noarch", "i686", "i686", "noarch"];
        assert_eq!(machine_arch(arches).as_deref(), Some("x86_64"));
        assert_eq!(machine_arch(["aarch64", "noarch"]).as_deref(), Some("aarch64"));
        assert_eq!(machine_arch(["noarch"]), None);
        assert_eq!(machine_arch(["i686", "i586"]).as_deref(), Some("i686"));
    }

    #[test]
    fn compatibility() {
        assert!(can_run("x86_64", "i686"));
        assert!(can_run("x86_64", "noarch"));
        assert!(!can_run("x86_64", "aarch64"));
        assert!(!can_run("i686", "x86_64"));
        assert!(!can_run("x86_64", "src"));
        assert!(can_run("s390x", "s390"));
    }
}
