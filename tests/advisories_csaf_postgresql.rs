//! security-advisories on Red Hat's VEX document for CVE-2023-2454 (PostgreSQL,
//! tests/fixtures/vex/cve-2023-2454.json, CC BY 4.0): module streams, EUS, and statuses the
//! expat document does not carry, on roots built with the real `rpm`.
//!
//! The document (current_release_date 2023-11-14) predates Red Hat's `rpmmod=` qualifier: its
//! RHEL 8 fixes are the module builds of four postgresql streams under one product
//! (`AppStream-8.8.0.Z.MAIN.EUS`, `cpe:/a:redhat:enterprise_linux:8::appstream`), one RHSA per
//! stream — 10 RHSA-2023:4539, 12 RHSA-2023:4535, 13 RHSA-2023:4527, 15 RHSA-2023:5269 — with
//! no stream named; RHEL 9 has the plain postgresql 13.11-1.el9_2 (RHSA-2023:3714) and the
//! postgresql:15 module build 15.3-1.module+el9.2.0.z (RHSA-2023:4327), both under
//! `AppStream-9.2.0.Z.MAIN.EUS` (the main-stream CPE `cpe:/a:redhat:enterprise_linux:9::appstream`);
//! `known_affected` `red_hat_enterprise_linux_9:postgresql:15/postgresql` ("Affected", a
//! component in the `MODULE:STREAM/NAME` form without a purl) and
//! `red_hat_enterprise_linux_6|7:postgresql` ("Out of support scope").
//!
//! Each expectation names the fixture lines that decide it and equals the plain reading of
//! the JSON in `advisories_csaf::oracle` (module rule included). The installed builds before a
//! fix and their MODULARITYLABELs' version:context are written here (the document names only
//! the fixes).
//!
//! Tools: rpm, rpmbuild (rpm).

use crate::advisories_csaf::{doc, options, oracle, row, scan, shown, Inst, Shown};
use crate::harness::PackageSpec;

pub(crate) const POSTGRESQL: &str = "tests/fixtures/vex/cve-2023-2454.json";
const CVE: &str = "CVE-2023-2454";

const RHEL8_SETS: &[&str] = &["rhel-8-for-x86_64-baseos-rpms", "rhel-8-for-x86_64-appstream-rpms"];
const RHEL8_CPES: &[&str] = &[
    "cpe:/o:redhat:enterprise_linux:8::baseos",
    "cpe:/a:redhat:enterprise_linux:8::appstream",
];
const RHEL9_SETS: &[&str] = &["rhel-9-for-x86_64-baseos-rpms", "rhel-9-for-x86_64-appstream-rpms"];
const RHEL9_CPES: &[&str] = &[
    "cpe:/o:redhat:enterprise_linux:9::baseos",
    "cpe:/a:redhat:enterprise_linux:9::appstream",
];

/// A package as dnf installs it from a module stream (MODULARITYLABEL
/// `name:stream:version:context`), or a plain one (`label` None).
pub(crate) fn pkg(name: &str, evr: &str, source: &str, label: Option<&str>) -> PackageSpec {
    let (version, release) = evr.split_once('-').unwrap();
    let spec = PackageSpec::new(name, version, release);
    // The spec's own name is the source name unless told otherwise.
    let spec = if source == name { spec } else { spec.source_name(source) };
    match label {
        Some(l) => spec.modularity_label(l),
        None => spec,
    }
}

/// `MODULE:STREAM` of a label, as the oracle takes it.
fn stream(label: Option<&str>) -> Option<&str> {
    label.map(|l| {
        let mut parts = l.splitn(3, ':');
        let n = parts.next().unwrap().len();
        let s = parts.next().unwrap().len();
        &l[..n + 1 + s]
    })
}

/// Scan a root of `(name, evr, source, label)` packages with the document, and check the
/// answer against `expected` and against the oracle for `cpes`.
fn judge(version_id: &str, sets: &[&str], cpes: &[&str], pkgs: &[(&str, &str, &str, Option<&str>)], expected: &Shown) {
    let specs: Vec<PackageSpec> = pkgs.iter().map(|(n, e, s, l)| pkg(n, e, s, *l)).collect();
    let root = crate::advisories_csaf::rhel_root(version_id, &specs, Some(sets), false);
    let o = scan(&root, &options(&[POSTGRESQL], true)).unwrap();
    assert_eq!(&shown(&o), expected, "{:#?}", o.scan_results);
    let installed: Vec<Inst> = pkgs
        .iter()
        .map(|(n, e, s, l)| Inst(n, e, "x86_64", s, stream(*l)))
        .collect();
    assert_eq!(&shown(&o), &oracle(&doc(POSTGRESQL), cpes, &installed), "the oracle");
    assert!(
        o.scan_results["Warnings"].as_array().unwrap().is_empty(),
        "{:#?}",
        o.scan_results["Warnings"]
    );
}

fn one(rows: Vec<(String, String, Option<String>, Option<String>)>) -> Shown {
    [(CVE.to_string(), rows)].into()
}

const PG12: Option<&str> = Some("postgresql:12:8070020230131144818:ad008a3a");
const PG10: Option<&str> = Some("postgresql:10:8060020220204120000:e3b0c442");

#[test]
fn rhel8_postgresql_12_stream_is_fixed_by_its_own_rhsa_only() {
    // Before its stream's fix: postgresql and postgresql-server 12.15-1.module+el8.8.0+19427+d1071523
    // (fixed, lines 19564 and 19786; RHSA-2023:4535, url line 21332 naming them at lines 21237
    // and 21289) — although postgresql 10.23-2 (RHSA-2023:4539, line 19559) is older than the
    // installed build. pg_repack at the 12 RHSA's build 1.4.6-3.module+el8.5.0+11354 (line
    // 19446, 21198): nothing, although the 13 RHSA's build of the same version, +11357
    // (line 19451, RHSA-2023:4527 line 20902), is newer.
    let before = [
        ("postgresql", "12.14-1.module+el8.7.0+1+a0000001", "postgresql", PG12),
        (
            "postgresql-server",
            "12.14-1.module+el8.7.0+1+a0000001",
            "postgresql",
            PG12,
        ),
        ("pg_repack", "1.4.6-3.module+el8.5.0+11354+78b3c9c5", "pg_repack", PG12),
    ];
    let fix = "12.15-1.module+el8.8.0+19427+d1071523";
    let expected = one(vec![
        row(
            "postgresql-12.14-1.module+el8.7.0+1+a0000001.x86_64",
            "fixed",
            Some("RHSA-2023:4535"),
            Some(fix),
        ),
        row(
            "postgresql-server-12.14-1.module+el8.7.0+1+a0000001.x86_64",
            "fixed",
            Some("RHSA-2023:4535"),
            Some(fix),
        ),
    ]);
    judge("8.8", RHEL8_SETS, RHEL8_CPES, &before, &expected);

    // At its stream's fix: nothing, although the 13 and 15 streams' builds (lines 19569,
    // 19574) are newer.
    let at_fix = [
        ("postgresql", fix, "postgresql", PG12),
        ("postgresql-server", fix, "postgresql", PG12),
        ("pg_repack", "1.4.6-3.module+el8.5.0+11354+78b3c9c5", "pg_repack", PG12),
    ];
    judge("8.8", RHEL8_SETS, RHEL8_CPES, &at_fix, &Shown::new());
}

#[test]
fn rhel8_other_streams_take_their_own_fix_or_none() {
    // postgresql:10 before its fix 10.23-2.module+el8.8.0+19493+5804baf6 (line 19559,
    // RHSA-2023:4539 url line 21440, naming it at line 21342).
    let ten = [("postgresql", "10.21-2.module+el8.6.0+1+b0000002", "postgresql", PG10)];
    let expected = one(vec![row(
        "postgresql-10.21-2.module+el8.6.0+1+b0000002.x86_64",
        "fixed",
        Some("RHSA-2023:4539"),
        Some("10.23-2.module+el8.8.0+19493+5804baf6"),
    )]);
    judge("8.8", RHEL8_SETS, RHEL8_CPES, &ten, &expected);

    // postgresql:9.6: the document fixes only the 10, 12, 13 and 15 streams for RHEL 8 (its
    // four RHEL 8 RHSAs) and lists no unfixed RHEL 8 product: no other stream's fix decides,
    // nothing is reported.
    let label = Some("postgresql:9.6:8040020210623195814:522a0ee4");
    let nine_six = [("postgresql", "9.6.22-1.module+el8.4.0+1+c0000003", "postgresql", label)];
    judge("8.8", RHEL8_SETS, RHEL8_CPES, &nine_six, &Shown::new());
}

#[test]
fn rhel9_postgresql_with_and_without_the_module() {
    // Without the module: postgresql 13.10 before the plain 13.11-1.el9_2 (line 20005,
    // RHSA-2023:3714 url line 20736, naming it at line 20521), although the module build
    // 15.3 (line 20010) is newer; postgresql-server likewise (line 20134).
    let plain = [
        ("postgresql", "13.10-1.el9", "postgresql", None),
        ("postgresql-server", "13.10-1.el9", "postgresql", None),
    ];
    let expected = one(vec![
        row(
            "postgresql-13.10-1.el9.x86_64",
            "fixed",
            Some("RHSA-2023:3714"),
            Some("13.11-1.el9_2"),
        ),
        row(
            "postgresql-server-13.10-1.el9.x86_64",
            "fixed",
            Some("RHSA-2023:3714"),
            Some("13.11-1.el9_2"),
        ),
    ]);
    judge("9.2", RHEL9_SETS, RHEL9_CPES, &plain, &expected);

    // From the postgresql:15 stream before its fix: the module build 15.3-1.module+el9.2.0.z
    // (lines 20010, 20138; RHSA-2023:4327 url line 20892, naming them at lines 20785, 20849),
    // although the plain 13.11 is older than the installed build. The stream's package is
    // also known_affected through `red_hat_enterprise_linux_9:postgresql:15/postgresql`
    // (line 20333, "Affected" line 22482; the component at line 605 has no purl), but a
    // package that a fix covers is not listed again (rule 8).
    let pg15 = Some("postgresql:15:9020020230519153326:rhel9");
    let stream = [
        ("postgresql", "15.2-1.module+el9.2.0+1+d0000004", "postgresql", pg15),
        (
            "postgresql-server",
            "15.2-1.module+el9.2.0+1+d0000004",
            "postgresql",
            pg15,
        ),
    ];
    let fix = "15.3-1.module+el9.2.0.z+19113+6f5d9d63";
    let expected = one(vec![
        row(
            "postgresql-15.2-1.module+el9.2.0+1+d0000004.x86_64",
            "fixed",
            Some("RHSA-2023:4327"),
            Some(fix),
        ),
        row(
            "postgresql-server-15.2-1.module+el9.2.0+1+d0000004.x86_64",
            "fixed",
            Some("RHSA-2023:4327"),
            Some(fix),
        ),
    ]);
    judge("9.2", RHEL9_SETS, RHEL9_CPES, &stream, &expected);

    // At the stream's fix: nothing (neither fixed nor, being covered by its fix, affected).
    let at_fix = [
        ("postgresql", fix, "postgresql", pg15),
        ("postgresql-server", fix, "postgresql", pg15),
    ];
    judge("9.2", RHEL9_SETS, RHEL9_CPES, &at_fix, &Shown::new());
}

/// The `MODULE:STREAM/NAME` component of the real document is read as package `postgresql`
/// of stream `postgresql:15`, and on RHEL 9 it is what decides for a package of that stream
/// built from the postgresql source that no fix of the document names: with the RHEL 9 fixes
/// taken out of the document (a copy, every other byte the same), the stream's packages are
/// `affected` ("Affected", line 22482), a plain postgresql nothing.
#[test]
fn the_module_stream_component_decides_where_no_fix_does() {
    use security_advisories::csaf::{document, products::ProductIndex};
    let bytes = std::fs::read(crate::advisories_csaf::fixture(POSTGRESQL)).unwrap();
    let parsed = document::parse(&bytes).unwrap();
    let index = ProductIndex::of(&parsed.product_tree);
    let (product, component) = index
        .resolve("red_hat_enterprise_linux_9:postgresql:15/postgresql")
        .unwrap();
    assert_eq!(product.cpe.as_deref(), Some("cpe:/o:redhat:enterprise_linux:9"));
    assert_eq!(
        (component.name.as_str(), component.module.as_deref()),
        ("postgresql", Some("postgresql:15"))
    );

    // The copy: the RHEL 9 AppStream/CRB fixes dropped from `fixed` (line 19432 on).
    let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let fixed = value["vulnerabilities"][0]["product_status"]["fixed"]
        .as_array_mut()
        .unwrap();
    let before = fixed.len();
    fixed.retain(|id| !id.as_str().unwrap().contains("9.2.0.Z.MAIN.EUS:"));
    assert_eq!(before - fixed.len(), 258 + 109, "AppStream-9.2.0 and CRB-9.2.0 ids");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("cve-2023-2454-without-rhel9-fixes.json");
    std::fs::write(&copy, serde_json::to_vec(&value).unwrap()).unwrap();

    let pg15 = Some("postgresql:15:9020020230519153326:rhel9");
    let specs = [
        pkg(
            "postgresql-server",
            "15.2-1.module+el9.2.0+1+d0000004",
            "postgresql",
            pg15,
        ),
        pkg(
            "postgresql-private-libs",
            "15.2-1.module+el9.2.0+1+d0000004",
            "postgresql",
            pg15,
        ),
    ];
    let root = crate::advisories_csaf::rhel_root("9.2", &specs, Some(RHEL9_SETS), false);
    let mut opts = options(&[], true);
    opts.advisory.csaf_vex = vec![copy.clone()];
    let o = scan(&root, &opts).unwrap();
    let expected = one(vec![
        row(
            "postgresql-private-libs-15.2-1.module+el9.2.0+1+d0000004.x86_64",
            "affected",
            None,
            None,
        ),
        row(
            "postgresql-server-15.2-1.module+el9.2.0+1+d0000004.x86_64",
            "affected",
            None,
            None,
        ),
    ]);
    assert_eq!(shown(&o), expected, "{:#?}", o.scan_results);
    let installed = [
        Inst(
            "postgresql-server",
            "15.2-1.module+el9.2.0+1+d0000004",
            "x86_64",
            "postgresql",
            Some("postgresql:15"),
        ),
        Inst(
            "postgresql-private-libs",
            "15.2-1.module+el9.2.0+1+d0000004",
            "x86_64",
            "postgresql",
            Some("postgresql:15"),
        ),
    ];
    assert_eq!(shown(&o), oracle(&value, RHEL9_CPES, &installed));
    let v = &o.vulnerabilities[0];
    assert_eq!(v.custom["Status"], "affected");
    assert_eq!(v.custom["Packages"][0]["Module"], "postgresql:15", "{:#}", v.custom);

    // Outside the module: the stream's component does not concern it.
    let plain = crate::advisories_csaf::rhel_root(
        "9.2",
        &[pkg("postgresql-server", "13.10-1.el9", "postgresql", None)],
        Some(RHEL9_SETS),
        false,
    );
    assert!(scan(&plain, &opts).unwrap().vulnerabilities.is_empty());
}

#[test]
fn rhel92_eus_image_takes_the_main_streams_fix_the_document_gives_it() {
    // The 9.2 EUS content sets map to cpe:/…:rhel_eus:9.2 (repository-to-cpe excerpt), and the
    // document has no product of that CPE: its 9.2 fixes are under the main-stream CPE of
    // `AppStream-9.2.0.Z.MAIN.EUS` (cpe:/a:redhat:enterprise_linux:9::appstream), which an
    // EUS image also matches when its stream has no fix of its own (rule 4).
    let value = doc(POSTGRESQL);
    assert!(
        !serde_json::to_string(&value["product_tree"])
            .unwrap()
            .contains("rhel_eus"),
        "no EUS product in the document"
    );
    let sets = [
        "rhel-9-for-x86_64-baseos-eus-rpms__9_DOT_2",
        "rhel-9-for-x86_64-appstream-eus-rpms__9_DOT_2",
    ];
    // Before: 13.11-1.el9_2 (line 20005, RHSA-2023:3714 line 20736).
    let before = [("postgresql", "13.10-1.el9", "postgresql", None)];
    let expected = one(vec![row(
        "postgresql-13.10-1.el9.x86_64",
        "fixed",
        Some("RHSA-2023:3714"),
        Some("13.11-1.el9_2"),
    )]);
    // The oracle has no EUS rule: it reads the document for the main-stream CPEs the EUS
    // image falls back to.
    judge("9.2", &sets, RHEL9_CPES, &before, &expected);
    let root = crate::advisories_csaf::rhel_root(
        "9.2",
        &[pkg("postgresql", "13.10-1.el9", "postgresql", None)],
        Some(&sets),
        false,
    );
    let o = scan(&root, &options(&[POSTGRESQL], true)).unwrap();
    assert_eq!(
        o.scan_results["CSAF VEX Products"]["CPEs"],
        serde_json::json!([
            "cpe:/a:redhat:rhel_eus:9.2::appstream",
            "cpe:/o:redhat:rhel_eus:9.2::baseos"
        ])
    );
    // At its own fix: nothing.
    judge(
        "9.2",
        &sets,
        RHEL9_CPES,
        &[("postgresql", "13.11-1.el9_2", "postgresql", None)],
        &Shown::new(),
    );
}

#[test]
fn rhel7_postgresql_is_out_of_support() {
    // known_affected `red_hat_enterprise_linux_7:postgresql` (line 20332), `no_fix_planned`
    // "Out of support scope" (line 22474); the component (line 18996's reference) has no
    // purl: matched by name. No content sets: the os-release products of RHEL 7.
    let root = crate::advisories_csaf::rhel_root(
        "7.9",
        &[pkg("postgresql-libs", "9.2.24-9.el7_9", "postgresql", None)],
        None,
        false,
    );
    let o = scan(&root, &options(&[POSTGRESQL], true)).unwrap();
    let expected = one(vec![row(
        "postgresql-libs-9.2.24-9.el7_9.x86_64",
        "out_of_support",
        None,
        None,
    )]);
    assert_eq!(shown(&o), expected, "{:#?}", o.scan_results);
    let image = ["cpe:/o:redhat:enterprise_linux:7", "cpe:/a:redhat:enterprise_linux:7"];
    assert_eq!(
        shown(&o),
        oracle(
            &doc(POSTGRESQL),
            &image,
            &[Inst("postgresql-libs", "9.2.24-9.el7_9", "x86_64", "postgresql", None)]
        )
    );
    assert_eq!(o.vulnerabilities[0].custom["Status"], "out_of_support");
}
