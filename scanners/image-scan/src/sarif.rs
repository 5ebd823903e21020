//! The SARIF 2.1.0 report (`--format sarif`), for code-scanning dashboards (GitHub code
//! scanning, GitLab, Azure DevOps, any SARIF viewer). This module owns the mapping of the
//! typed findings ([`crate::findings`]) to SARIF: the rule ids and their metadata, the levels,
//! the locations, the fingerprints and how a check that could not run is reported.
//!
//! **One run per subject.** Each run describes one root filesystem: its `ROOTFS` uri base
//! (`originalUriBaseIds`, which SARIF scopes to a run) is that subject's root, its
//! `automationDetails.id` is `image-scan/<subject>/` (GitHub code scanning takes the part before
//! the last `/` as the upload's category, so each image keeps its own alerts), and its one
//! invocation says whether every selected check ran on that subject. The subject (reference,
//! config and manifest digests, platform) is in the run's `properties`.
//!
//! **One result per finding**: a tampered file (or database record), an available update, an
//! applicable advisory; the same count as the combined JSON's findings.
//!
//! **Rule ids** are fixed strings (never a version, a path or an index), so the same kind of
//! finding has the same id in every run and release:
//!
//! | rule id | finding | level |
//! | --- | --- | --- |
//! | `rpm-verify/content-changed` | size, digest or link target differs (`S`, `5`, `L`) | error (warning for a config file) |
//! | `rpm-verify/mode-changed` | permissions or file type differ (`M`) | error (warning for a config file) |
//! | `rpm-verify/capabilities-changed` | file capabilities differ (`P`) | error (warning for a config file) |
//! | `rpm-verify/owner-changed` | owner or group differs (`U`, `G`) | error (warning for a config file) |
//! | `rpm-verify/device-changed` | device number differs (`D`) | warning |
//! | `rpm-verify/mtime-changed` | only the modification time differs (`T`) | note |
//! | `rpm-verify/missing` | a packaged file is missing | warning |
//! | `rpm-verify/unverified` | an attribute could not be checked (`?` only) | warning |
//! | `rpm-verify/database-record` | a package's database record is modified or unreadable | error |
//! | `updates/available` | a newer version of an installed package | note |
//! | `updates/obsoleted` | an installed package is obsoleted by a repository's package | note |
//! | `advisory/<ADVISORY-ID>` | that advisory applies (e.g. `advisory/RHSA-2020:5002`) | by severity |
//!
//! A file with several changed attributes gets the rule of the most serious one, in the
//! table's order (content, mode, capabilities, owner, device, mtime); every changed attribute is
//! in the result's `properties.changedAttributes`, and rpm's nine columns in
//! `properties.rpmVerifyFlags`.
//!
//! **Advisories get one rule per advisory id** (as Trivy gives one rule per CVE), not one per
//! severity: a dashboard shows the rule's help, severity and CVEs on the alert, GitHub reads
//! `security-severity` from the rule and never from the result, and a person dismisses or
//! tracks an advisory, not a severity band. Advisory ids are stable (RHSA-2020:5002 names the
//! same erratum forever). Levels: Critical and Important → error, Moderate → warning, Low →
//! note; a severity the feed left out or spelt otherwise → warning (not hidden, not alarming).
//! `security-severity` (GitHub's 0–10 score): Critical 9.5, Important 8.0, Moderate 5.5, Low 2.0.
//!
//! **Locations**: a tampered file is a physical location `uri` relative to `uriBaseId:
//! "ROOTFS"` (`usr/bin/curl`, percent-encoded: paths in an image are arbitrary bytes) plus the
//! owning package as a logical location (`kind: "package"`). A package finding (update,
//! advisory, database record) has the rpm database, `var/lib/rpm`, as its physical location
//! (code-scanning dashboards need one) and each package as a logical location. The layer that
//! installed or changed the file/package (`index`, `digest`, `createdBy`) is in the result's
//! `properties.layer` (advisories: `properties.packages[].layer`).
//!
//! **Fingerprints**: `partialFingerprints["imageScan/v1"]` is the rule id and what the finding
//! is about (the path; `name.arch`; the advisory id), never a version, a digest or a time, so a
//! re-run on a rebuilt image matches the same alert.
//!
//! **A check that could not run** is never silent: the invocation has `executionSuccessful:
//! false` and one `toolExecutionNotifications` entry (level error) per check, naming it in
//! the message (`updates not checked: …`) and in `properties.check`. Checks not selected are
//! listed in the invocation's `properties.checksNotSelected`.

use crate::findings::{Advisory, CheckResult, Findings, Layer, Tampered, Update};
use crate::options::Check;
use crate::run::{RunReport, SubjectReport};
use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, LogicalLocation, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, RunAutomationDetails, Sarif, Tool, ToolComponent,
};
use std::collections::BTreeMap;

/// The OASIS schema the document follows (`$schema`).
pub const SCHEMA: &str = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The uri base of every file path: the subject's root filesystem.
pub const ROOTFS: &str = "ROOTFS";
/// Where a package finding points: rpm's database, relative to [`ROOTFS`].
pub const RPM_DATABASE: &str = "var/lib/rpm";
/// The key of our own fingerprint in `partialFingerprints` (versioned: a new scheme, a new key).
pub const FINGERPRINT: &str = "imageScan/v1";

/// The whole SARIF log of a run: one SARIF run per subject, in command-line order.
pub fn render(run: &RunReport) -> String {
    let runs: Vec<Run> = run
        .subjects
        .iter()
        .zip(run.breaches.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|((report, findings), breaches)| subject_run(report, findings, run.fail_on, breaches))
        .collect();
    let log = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(runs)
        .build();
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

/// The kinds of tampering, in order of seriousness (the first that applies names the rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tamper {
    Content,
    Mode,
    Capabilities,
    Owner,
    Device,
    Mtime,
    Missing,
    Unverified,
    DatabaseRecord,
}

impl Tamper {
    const ALL: [Tamper; 9] = [
        Tamper::Content,
        Tamper::Mode,
        Tamper::Capabilities,
        Tamper::Owner,
        Tamper::Device,
        Tamper::Mtime,
        Tamper::Missing,
        Tamper::Unverified,
        Tamper::DatabaseRecord,
    ];

    fn rule_id(self) -> &'static str {
        match self {
            Tamper::Content => "rpm-verify/content-changed",
            Tamper::Mode => "rpm-verify/mode-changed",
            Tamper::Capabilities => "rpm-verify/capabilities-changed",
            Tamper::Owner => "rpm-verify/owner-changed",
            Tamper::Device => "rpm-verify/device-changed",
            Tamper::Mtime => "rpm-verify/mtime-changed",
            Tamper::Missing => "rpm-verify/missing",
            Tamper::Unverified => "rpm-verify/unverified",
            Tamper::DatabaseRecord => "rpm-verify/database-record",
        }
    }

    /// (name, short description, full description, security-severity).
    fn describe(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Tamper::Content => (
                "PackagedFileContentChanged",
                "A packaged file's content differs from its package",
                "The file's size, digest or symbolic link target differs from what its RPM package \
                 installed (rpm -V columns S, 5, L): it was modified or replaced after installation.",
                "8.0",
            ),
            Tamper::Mode => (
                "PackagedFileModeChanged",
                "A packaged file's permissions or type differ from its package",
                "The file's mode (permission bits or file type) differs from what its RPM package \
                 installed (rpm -V column M), e.g. a binary made set-uid or world-writable.",
                "7.0",
            ),
            Tamper::Capabilities => (
                "PackagedFileCapabilitiesChanged",
                "A packaged file's capabilities differ from its package",
                "The file's POSIX capabilities differ from what its RPM package installed (rpm -V column P).",
                "7.0",
            ),
            Tamper::Owner => (
                "PackagedFileOwnerChanged",
                "A packaged file's owner or group differs from its package",
                "The file's owner or group differs from what its RPM package installed (rpm -V columns U, G).",
                "6.0",
            ),
            Tamper::Device => (
                "PackagedFileDeviceChanged",
                "A packaged device file's major/minor numbers differ",
                "The device file's major/minor numbers differ from what its RPM package installed (rpm -V column D).",
                "5.0",
            ),
            Tamper::Mtime => (
                "PackagedFileMtimeChanged",
                "Only a packaged file's modification time differs",
                "The file's content, mode and owner are as packaged; only its modification time differs \
                 (rpm -V column T). Usually harmless (a touch, a copy that did not keep times).",
                "2.0",
            ),
            Tamper::Missing => (
                "PackagedFileMissing",
                "A packaged file is missing",
                "A file its RPM package installed is not in the image (rpm -V: missing): removed by a \
                 later layer or replaced by something that is not a file of the same kind.",
                "4.0",
            ),
            Tamper::Unverified => (
                "PackagedFileNotVerifiable",
                "A packaged file's attributes could not be checked",
                "An attribute of the file could not be checked (rpm -V column ?), e.g. the file could not be read.",
                "4.0",
            ),
            Tamper::DatabaseRecord => (
                "PackageDatabaseRecordInvalid",
                "A package's database record is modified or unreadable",
                "The package's header in the RPM database does not match its recorded digest, or could \
                 not be read: the database itself was altered or damaged, so its files cannot be trusted.",
                "8.0",
            ),
        }
    }

    fn help(self) -> &'static str {
        match self {
            Tamper::Mtime => {
                "Compare the file with the package (rpm -V PACKAGE); reinstall the package in the \
                 image's build if the change was not intended."
            }
            Tamper::DatabaseRecord => {
                "Rebuild the image from its base and packages; do not trust the files of a package \
                 whose database record is altered."
            }
            _ => {
                "Find the build step (the result's layer) that changed the file. If the change is \
                 intended, ship it as a package (or a config file rpm knows); otherwise reinstall the \
                 package (dnf reinstall PACKAGE) in the image's build."
            }
        }
    }
}

/// rpm's verify columns, in order, and the attribute each one checks.
const COLUMNS: [(char, &str, Tamper); 9] = [
    ('S', "size", Tamper::Content),
    ('M', "mode", Tamper::Mode),
    ('5', "digest", Tamper::Content),
    ('D', "device", Tamper::Device),
    ('L', "link", Tamper::Content),
    ('U', "user", Tamper::Owner),
    ('G', "group", Tamper::Owner),
    ('T', "mtime", Tamper::Mtime),
    ('P', "capabilities", Tamper::Capabilities),
];

/// The kind of a tampered finding, and the attributes its rpm columns say changed.
fn classify(t: &Tampered) -> (Tamper, Vec<&'static str>) {
    if t.file.is_none() {
        return (Tamper::DatabaseRecord, Vec::new());
    }
    if t.issue.trim() == "missing" {
        return (Tamper::Missing, Vec::new());
    }
    let mut changed = Vec::new();
    let mut kind: Option<Tamper> = None;
    let mut unverified = false;
    for (c, (_, name, k)) in t.issue.chars().zip(COLUMNS.iter()) {
        match c {
            '.' => {}
            '?' => unverified = true,
            _ => {
                changed.push(*name);
                kind = Some(kind.map_or(*k, |was| was.min(*k)));
            }
        }
    }
    match kind {
        Some(k) => (k, changed),
        None if unverified => (Tamper::Unverified, changed),
        // Columns we cannot read (a future rpm-verify format): never dropped, and never
        // under-reported either: treat as changed content.
        None => (Tamper::Content, changed),
    }
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s).build()
}

fn markdown(plain: &str, md: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(plain).markdown(md).build()
}

fn message(s: impl Into<String>) -> Message {
    Message::builder().text(s.into()).build()
}

fn bag(props: BTreeMap<String, Value>) -> PropertyBag {
    PropertyBag::builder().additional_properties(props).build()
}

fn bag_with_tags(tags: &[&str], props: BTreeMap<String, Value>) -> PropertyBag {
    PropertyBag::builder()
        .tags(tags.iter().map(|t| t.to_string()).collect::<Vec<_>>())
        .additional_properties(props)
        .build()
}

fn level_name(level: ResultLevel) -> Value {
    json!(level.to_string())
}

fn rule(
    id: &str,
    name: &str,
    short: &str,
    full: &str,
    help: MultiformatMessageString,
    level: ResultLevel,
    properties: PropertyBag,
) -> ReportingDescriptor {
    ReportingDescriptor::builder()
        .id(id)
        .name(name)
        .short_description(text(short))
        .full_description(text(full))
        .help(help)
        .default_configuration(ReportingConfiguration::builder().level(level_name(level)).build())
        .properties(properties)
        .build()
}

fn tamper_rule(k: Tamper) -> ReportingDescriptor {
    let (name, short, full, severity) = k.describe();
    let level = match k {
        Tamper::Device | Tamper::Missing | Tamper::Unverified => ResultLevel::Warning,
        Tamper::Mtime => ResultLevel::Note,
        _ => ResultLevel::Error,
    };
    let mut props = BTreeMap::new();
    props.insert("security-severity".into(), json!(severity));
    props.insert("precision".into(), json!("very-high"));
    props.insert("problem.severity".into(), json!(problem_severity(level)));
    rule(
        k.rule_id(),
        name,
        short,
        full,
        text(k.help()),
        level,
        bag_with_tags(&["security", "rpm-verify", "integrity"], props),
    )
}

/// `problem.severity`, which GitHub shows for rules without `security-severity`.
fn problem_severity(level: ResultLevel) -> &'static str {
    match level {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        _ => "recommendation",
    }
}

const UPDATE_AVAILABLE: &str = "updates/available";
const UPDATE_OBSOLETED: &str = "updates/obsoleted";

fn update_rule(obsoletes: bool) -> ReportingDescriptor {
    let mut props = BTreeMap::new();
    props.insert("precision".into(), json!("very-high"));
    props.insert("problem.severity".into(), json!("recommendation"));
    let props = bag_with_tags(&["maintainability", "updates"], props);
    if obsoletes {
        rule(
            UPDATE_OBSOLETED,
            "PackageObsoleted",
            "An installed package is obsoleted by a repository's package",
            "A package in the image's repositories obsoletes an installed package (dnf check-update \
             lists it under Obsoleting Packages): dnf upgrade would replace it.",
            text("Rebuild the image with dnf upgrade (or install the obsoleting package) to replace it."),
            ResultLevel::Note,
            props,
        )
    } else {
        rule(
            UPDATE_AVAILABLE,
            "PackageUpdateAvailable",
            "A newer version of an installed package is available",
            "The image's repositories (or --repo) offer a newer version of an installed package \
             (dnf check-update). Security fixes among them are reported as advisories.",
            text("Rebuild the image with dnf upgrade PACKAGE (or a newer base image)."),
            ResultLevel::Note,
            props,
        )
    }
}

/// A result's level from an advisory's severity.
fn advisory_level(severity: &str) -> ResultLevel {
    match crate::findings::severity_rank(severity) {
        0 | 1 => ResultLevel::Error,
        2 => ResultLevel::Warning,
        3 => ResultLevel::Note,
        _ => ResultLevel::Warning,
    }
}

/// GitHub's `security-severity` score of a severity (None for an unknown one).
fn security_severity(severity: &str) -> Option<&'static str> {
    match crate::findings::severity_rank(severity) {
        0 => Some("9.5"),
        1 => Some("8.0"),
        2 => Some("5.5"),
        3 => Some("2.0"),
        _ => None,
    }
}

fn advisory_rule_id(a: &Advisory) -> String {
    let id = a.id.trim();
    if id.is_empty() {
        "advisory/(no id)".to_string()
    } else {
        format!("advisory/{id}")
    }
}

fn advisory_rule(a: &Advisory) -> ReportingDescriptor {
    let level = advisory_level(&a.severity);
    let mut props = BTreeMap::new();
    if let Some(s) = security_severity(&a.severity) {
        props.insert("security-severity".into(), json!(s));
    }
    props.insert("precision".into(), json!("very-high"));
    props.insert("problem.severity".into(), json!(problem_severity(level)));
    props.insert("advisory".into(), json!(a.id));
    props.insert("severity".into(), json!(a.severity));
    props.insert("type".into(), json!(a.kind));
    props.insert("cves".into(), json!(a.cves));
    let mut tags = vec!["security", "advisory"];
    if a.kind == "security" {
        tags.push("vulnerability");
    }
    let title = if a.title.trim().is_empty() {
        format!("Advisory {}", a.id)
    } else {
        a.title.clone()
    };
    let cves = if a.cves.is_empty() {
        String::new()
    } else {
        format!(" CVEs: {}.", a.cves.join(", "))
    };
    let full = format!(
        "{title} (severity {}, type {}).{cves}",
        or_unknown(&a.severity),
        or_unknown(&a.kind)
    );
    let help_plain = format!(
        "Update the affected packages to the fixed versions the advisory names (dnf upgrade --advisory={}), \
         then rebuild the image.{cves}",
        a.id
    );
    let help_md = format!(
        "Update the affected packages to the fixed versions the advisory names \
         (`dnf upgrade --advisory={}`), then rebuild the image.{}",
        md_code_text(&a.id),
        if a.cves.is_empty() {
            String::new()
        } else {
            format!(
                "\n\nCVEs: {}",
                a.cves.iter().map(|c| md_escape(c)).collect::<Vec<_>>().join(", ")
            )
        }
    );
    rule(
        &advisory_rule_id(a),
        "AdvisoryApplies",
        &title,
        &full,
        markdown(&help_plain, &help_md),
        level,
        bag_with_tags(&tags, props),
    )
}

fn or_unknown(s: &str) -> &str {
    if s.trim().is_empty() {
        "not given"
    } else {
        s
    }
}

/// Text safe inside Markdown inline code: backticks and line breaks taken out.
fn md_code_text(s: &str) -> String {
    s.chars()
        .map(|c| if c == '`' || c.is_control() { ' ' } else { c })
        .collect()
}

/// Text with Markdown's punctuation escaped, so hostile text renders as text.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// A path inside the image as a relative URI reference: leading `/` removed, every byte
/// outside RFC 3986's unreserved set (and `/`) percent-encoded.
pub fn relative_uri(path: &str) -> String {
    let trimmed = path.trim_start_matches('/');
    let mut out = String::with_capacity(trimmed.len());
    for b in trimmed.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        // The root itself.
        out.push_str("./");
    }
    out
}

fn rootfs_location(uri: String, description: Option<String>) -> PhysicalLocation {
    let artifact = match description {
        Some(d) => ArtifactLocation::builder()
            .uri(uri)
            .uri_base_id(ROOTFS)
            .description(message(d))
            .build(),
        None => ArtifactLocation::builder().uri(uri).uri_base_id(ROOTFS).build(),
    };
    PhysicalLocation::builder().artifact_location(artifact).build()
}

fn package_location(nvra: &str) -> LogicalLocation {
    LogicalLocation::builder()
        .name(nvra)
        .fully_qualified_name(format!("rpm:{nvra}"))
        .kind("package")
        .build()
}

fn database_location(packages: Vec<LogicalLocation>) -> Location {
    let physical = rootfs_location(RPM_DATABASE.to_string(), Some("the RPM package database".into()));
    if packages.is_empty() {
        Location::builder().physical_location(physical).build()
    } else {
        Location::builder()
            .physical_location(physical)
            .logical_locations(packages)
            .build()
    }
}

fn layer_value(l: &Layer) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("index".into(), json!(l.index));
    m.insert("digest".into(), json!(l.digest));
    if let Some(c) = &l.created_by {
        m.insert("createdBy".into(), json!(c));
    }
    Value::Object(m)
}

fn fingerprint(rule_id: &str, about: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(FINGERPRINT.to_string(), format!("{rule_id}|{about}"))])
}

fn result(
    rule_id: String,
    rule_index: usize,
    level: ResultLevel,
    text: String,
    locations: Vec<Location>,
    about: &str,
    properties: BTreeMap<String, Value>,
) -> SarifResult {
    let fp = fingerprint(&rule_id, about);
    SarifResult::builder()
        .rule_id(rule_id)
        .rule_index(rule_index as i64)
        .level(level)
        .message(message(text))
        .locations(locations)
        .partial_fingerprints(fp)
        .properties(bag(properties))
        .build()
}

/// The rules of one run, each once, in the order first used; results refer to them by index.
#[derive(Default)]
struct Rules {
    rules: Vec<ReportingDescriptor>,
    index: BTreeMap<String, usize>,
}

impl Rules {
    fn add(&mut self, id: &str, make: impl FnOnce() -> ReportingDescriptor) -> usize {
        if let Some(i) = self.index.get(id) {
            return *i;
        }
        let i = self.rules.len();
        self.rules.push(make());
        self.index.insert(id.to_string(), i);
        i
    }
}

fn tampered_result(rules: &mut Rules, t: &Tampered) -> SarifResult {
    let (kind, changed) = classify(t);
    let index = rules.add(kind.rule_id(), || tamper_rule(kind));
    let level = match kind {
        Tamper::Mtime => ResultLevel::Note,
        Tamper::Device | Tamper::Missing | Tamper::Unverified => ResultLevel::Warning,
        _ if t.config => ResultLevel::Warning,
        _ => ResultLevel::Error,
    };
    let mut props = BTreeMap::new();
    props.insert("package".into(), json!(t.package));
    props.insert("rpmVerifyFlags".into(), json!(t.issue));
    props.insert("changedAttributes".into(), json!(changed));
    props.insert("config".into(), json!(t.config));
    if let Some(l) = &t.layer {
        props.insert("layer".into(), layer_value(l));
    }
    let layer = t
        .layer
        .as_ref()
        .map(|l| format!(", in layer {}", l.label()))
        .unwrap_or_default();
    let (text, location, about) = match &t.file {
        Some(path) => {
            let what = match kind {
                Tamper::Missing => "is missing".to_string(),
                Tamper::Unverified => format!("could not be verified ({})", t.issue),
                _ => format!("differs from its package: {} changed ({})", changed.join(", "), t.issue),
            };
            let config = if t.config { "config file " } else { "" };
            let location = Location::builder()
                .physical_location(rootfs_location(relative_uri(path), None))
                .logical_locations(vec![package_location(&t.package)])
                .build();
            (
                format!("{config}{path} {what} (package {}){layer}", t.package),
                location,
                path.clone(),
            )
        }
        None => (
            format!("{}: {}{layer}", t.package, t.issue),
            database_location(vec![package_location(&t.package)]),
            t.package.clone(),
        ),
    };
    result(
        kind.rule_id().to_string(),
        index,
        level,
        text,
        vec![location],
        &about,
        props,
    )
}

fn update_result(rules: &mut Rules, u: &Update) -> SarifResult {
    let id = if u.obsoletes {
        UPDATE_OBSOLETED
    } else {
        UPDATE_AVAILABLE
    };
    let index = rules.add(id, || update_rule(u.obsoletes));
    let mut props = BTreeMap::new();
    props.insert("package".into(), json!(u.package));
    props.insert("available".into(), json!(u.available));
    props.insert("repository".into(), json!(u.repository));
    props.insert(
        if u.obsoletes { "obsoletes" } else { "installed" }.into(),
        json!(u.installed),
    );
    if let Some(l) = &u.layer {
        props.insert("layer".into(), layer_value(l));
    }
    let layer = u
        .layer
        .as_ref()
        .map(|l| format!(", installed in layer {}", l.label()))
        .unwrap_or_default();
    let text = if u.obsoletes {
        format!(
            "{} {} from {} obsoletes the installed {}{layer}",
            u.package, u.available, u.repository, u.installed
        )
    } else {
        format!(
            "{} can be updated to {} from {} (installed {}){layer}",
            u.package, u.available, u.repository, u.installed
        )
    };
    let location = database_location(vec![package_location(&u.package)]);
    result(
        id.to_string(),
        index,
        ResultLevel::Note,
        text,
        vec![location],
        &u.package,
        props,
    )
}

fn advisory_result(rules: &mut Rules, a: &Advisory) -> SarifResult {
    let id = advisory_rule_id(a);
    let index = rules.add(&id, || advisory_rule(a));
    let packages: Vec<Value> = a
        .packages
        .iter()
        .map(|p| {
            let mut m = serde_json::Map::new();
            m.insert("installed".into(), json!(p.installed));
            m.insert("fixed".into(), json!(p.fixed));
            if let Some(l) = &p.layer {
                m.insert("layer".into(), layer_value(l));
            }
            Value::Object(m)
        })
        .collect();
    let mut props = BTreeMap::new();
    props.insert("advisory".into(), json!(a.id));
    props.insert("severity".into(), json!(a.severity));
    props.insert("type".into(), json!(a.kind));
    props.insert("cves".into(), json!(a.cves));
    props.insert("packages".into(), Value::Array(packages));
    let fixes: Vec<String> = a
        .packages
        .iter()
        .map(|p| format!("{} (fixed in {})", p.installed, p.fixed))
        .collect();
    let text = format!(
        "{} ({}) applies: {}",
        if a.title.trim().is_empty() { &a.id } else { &a.title },
        or_unknown(&a.severity),
        if fixes.is_empty() {
            "no package named".to_string()
        } else {
            fixes.join(", ")
        }
    );
    let logical: Vec<LogicalLocation> = a.packages.iter().map(|p| package_location(&p.installed)).collect();
    result(
        id,
        index,
        advisory_level(&a.severity),
        text,
        vec![database_location(logical)],
        &a.id,
        props,
    )
}

/// The checks that could not run on a subject, with why (the subject not opened: every
/// selected check, with that reason).
fn not_run(report: &SubjectReport, f: &Findings) -> Vec<(Check, String)> {
    fn why<T>(r: &CheckResult<T>) -> Option<String> {
        match r {
            CheckResult::Failed(w) => Some(w.clone()),
            _ => None,
        }
    }
    let mut out = Vec::new();
    for c in &report.checks {
        let failed = match c {
            Check::Verify => why(&f.tampered),
            Check::Updates => why(&f.updates),
            Check::Advisories => why(&f.advisories),
        };
        let reason = match (failed, &report.open_error, report.document(*c)) {
            (Some(w), _, _) => Some(w),
            (None, Some(e), _) => Some(format!("the subject could not be opened: {e}")),
            (None, None, None) => Some("the check stopped before it wrote its document".to_string()),
            (None, None, Some(_)) => None,
        };
        if let Some(r) = reason {
            out.push((*c, r));
        }
    }
    out
}

fn utc(t: &atomic_protocol::document::ScanTime) -> String {
    t.0.with_timezone(&chrono::Utc)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn invocation(report: &SubjectReport, f: &Findings) -> Invocation {
    let failed = not_run(report, f);
    let notifications: Vec<Notification> = failed
        .iter()
        .map(|(c, why)| {
            let mut props = BTreeMap::new();
            props.insert("check".into(), json!(c.name()));
            Notification::builder()
                .level(json!("error"))
                .message(message(format!("{} not checked: {why}", c.name())))
                .properties(bag(props))
                .build()
        })
        .collect();
    let mut props = BTreeMap::new();
    props.insert(
        "checks".into(),
        json!(report.checks.iter().map(|c| c.name()).collect::<Vec<_>>()),
    );
    let not_selected: Vec<&str> = Check::ALL
        .iter()
        .filter(|c| !report.checks.contains(c))
        .map(|c| c.name())
        .collect();
    props.insert("checksNotSelected".into(), json!(not_selected));
    let successful = failed.is_empty() && report.complete();
    let inv = Invocation::builder()
        .execution_successful(successful)
        .start_time_utc(utc(&report.start))
        .end_time_utc(utc(&report.finished))
        .properties(bag(props));
    if notifications.is_empty() {
        inv.build()
    } else {
        inv.tool_execution_notifications(notifications).build()
    }
}

fn tool(rules: Vec<ReportingDescriptor>) -> Tool {
    let driver = ToolComponent::builder()
        .name("image-scan")
        .full_name(concat!("image-scan ", env!("CARGO_PKG_VERSION")))
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .short_description(text(
            "rpm -Va, dnf check-update and dnf updateinfo on a container image, read once",
        ))
        .rules(rules)
        .build();
    Tool::builder().driver(driver).build()
}

/// A `file:` URI of an absolute directory (for a `--rootfs` subject's `ROOTFS`), ending in `/`.
fn directory_uri(dir: &std::path::Path) -> Option<String> {
    let text = dir.to_str()?;
    if !text.starts_with('/') {
        return None;
    }
    let mut uri = format!("file:///{}", relative_uri(text).trim_start_matches("./"));
    if !uri.ends_with('/') {
        uri.push('/');
    }
    Some(uri)
}

fn subject_run(report: &SubjectReport, f: &Findings, fail_on: &[String], breaches: Option<&Vec<String>>) -> Run {
    let mut rules = Rules::default();
    // Every tampering rule and both update rules are always described (a viewer can show what
    // the tool checks for); advisory rules only for the advisories found.
    if report.checks.contains(&Check::Verify) {
        for k in Tamper::ALL {
            rules.add(k.rule_id(), || tamper_rule(k));
        }
    }
    if report.checks.contains(&Check::Updates) {
        rules.add(UPDATE_AVAILABLE, || update_rule(false));
        rules.add(UPDATE_OBSOLETED, || update_rule(true));
    }
    let mut results = Vec::new();
    for t in f.tampered.findings() {
        results.push(tampered_result(&mut rules, t));
    }
    for u in f.updates.findings() {
        results.push(update_result(&mut rules, u));
    }
    for a in f.advisories.findings() {
        results.push(advisory_result(&mut rules, a));
    }

    let mut props = BTreeMap::new();
    props.insert("subject".into(), json!(report.name));
    props.insert("uuid".into(), json!(report.uuid));
    if let Some(image) = &report.image {
        props.insert("image".into(), image.clone());
    } else {
        props.insert("rootfs".into(), json!(report.subject.dir.display().to_string()));
    }
    props.insert("summary".into(), json!(crate::json::summary(report, f)));
    props.insert("failOn".into(), json!(fail_on));
    props.insert("breaches".into(), json!(breaches.cloned().unwrap_or_default()));

    let description = match report
        .image
        .as_ref()
        .and_then(|i| i.get("Config Digest"))
        .and_then(Value::as_str)
    {
        Some(d) => format!("image-scan of {} ({d})", report.name),
        None => format!("image-scan of {}", report.name),
    };
    let automation = RunAutomationDetails::builder()
        .id(format!("image-scan/{}/", report.name))
        .description(message(description))
        .build();

    let root_description = message(format!("The root filesystem of {}", report.name));
    let root = match report
        .image
        .is_none()
        .then(|| directory_uri(&report.subject.dir))
        .flatten()
    {
        Some(uri) => ArtifactLocation::builder()
            .uri(uri)
            .description(root_description)
            .build(),
        None => ArtifactLocation::builder().description(root_description).build(),
    };
    Run::builder()
        .tool(tool(rules.rules))
        .invocations(vec![invocation(report, f)])
        .automation_details(automation)
        .original_uri_base_ids(BTreeMap::from([(ROOTFS.to_string(), root)]))
        .results(results)
        .properties(bag(props))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tampered(file: Option<&str>, issue: &str, config: bool) -> Tampered {
        Tampered {
            file: file.map(str::to_string),
            issue: issue.into(),
            package: "p-1-1.x86_64".into(),
            config,
            layer: None,
        }
    }

    #[test]
    fn the_most_serious_changed_attribute_names_the_rule() {
        let k = |issue: &str| classify(&tampered(Some("/x"), issue, false));
        assert_eq!(k("S.5....T."), (Tamper::Content, vec!["size", "digest", "mtime"]));
        assert_eq!(k(".M.......").0, Tamper::Mode);
        assert_eq!(k(".....UG..").0, Tamper::Owner);
        assert_eq!(k(".......T.").0, Tamper::Mtime);
        assert_eq!(k("........P").0, Tamper::Capabilities);
        assert_eq!(k("..?......").0, Tamper::Unverified);
        assert_eq!(k("missing").0, Tamper::Missing);
        assert_eq!(k("").0, Tamper::Content);
        assert_eq!(k("ünïcødé✓✓✓✓✓✓✓").0, Tamper::Content);
        assert_eq!(
            classify(&tampered(None, "RPM database header modified", false)).0,
            Tamper::DatabaseRecord
        );
    }

    #[test]
    fn paths_become_relative_uri_references() {
        assert_eq!(relative_uri("/usr/bin/curl"), "usr/bin/curl");
        assert_eq!(relative_uri("/a b/c:d?#%"), "a%20b/c%3Ad%3F%23%25");
        assert_eq!(relative_uri("/é"), "%C3%A9");
        assert_eq!(relative_uri("/"), "./");
        assert_eq!(relative_uri("//x"), "x");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(advisory_level("Critical"), ResultLevel::Error);
        assert_eq!(advisory_level("important"), ResultLevel::Error);
        assert_eq!(advisory_level("Moderate"), ResultLevel::Warning);
        assert_eq!(advisory_level("Low"), ResultLevel::Note);
        assert_eq!(advisory_level(""), ResultLevel::Warning);
        assert_eq!(security_severity("Bogus"), None);
    }
}

/// A subject whose every string is hostile (markup, quotes, controls, non-characters, bytes
/// that are not hex where a digest should be), for the formats' no-panic tests.
#[cfg(test)]
pub(crate) mod hostile {
    use crate::findings::{Advisory, AdvisoryPackage, CheckResult, Findings, Layer, Tampered, Update};
    use crate::options::Check;
    use crate::run::SubjectReport;
    use atomic_protocol::document::ScanTime;
    use atomic_protocol::subjects::Subject;

    pub const NASTY: &str = "</x>\"'&<![CDATA[ ]]>\u{0}\u{1b}[31m\u{7}\u{FFFE}\u{FFFF}é`*_[a](b)\r\n--";

    pub fn layer() -> Option<Layer> {
        Some(Layer {
            index: u64::MAX,
            digest: format!("sha256:ééééééééééé{NASTY}"),
            created_by: None,
        })
    }

    pub fn report() -> (SubjectReport, Findings) {
        let t = ScanTime::now();
        let report = SubjectReport {
            subject: Subject {
                folder: NASTY.into(),
                dir: format!("/tmp/{NASTY}").into(),
                image: None,
            },
            name: NASTY.to_string(),
            image: None,
            labels: Default::default(),
            uuid: NASTY.to_string(),
            start: t,
            finished: t,
            open_error: None,
            checks: Check::ALL.to_vec(),
            documents: Vec::new(),
            inventory: Default::default(),
        };
        let tampered = ["S.5....T.", "missing", NASTY, "", "?????????"]
            .iter()
            .map(|issue| Tampered {
                file: Some(format!("/{NASTY}/{issue}")),
                issue: issue.to_string(),
                package: NASTY.into(),
                config: true,
                layer: layer(),
            })
            .chain(std::iter::once(Tampered {
                file: None,
                issue: NASTY.into(),
                package: NASTY.into(),
                config: false,
                layer: None,
            }))
            .collect();
        let findings = Findings {
            tampered: CheckResult::Found {
                findings: tampered,
                summary: NASTY.into(),
            },
            updates: CheckResult::Found {
                findings: vec![Update {
                    package: NASTY.into(),
                    available: NASTY.into(),
                    repository: NASTY.into(),
                    installed: NASTY.into(),
                    obsoletes: true,
                    layer: layer(),
                }],
                summary: NASTY.into(),
            },
            advisories: CheckResult::Found {
                findings: ["", NASTY, NASTY, "Critical"]
                    .iter()
                    .map(|sev| Advisory {
                        id: sev.to_string(),
                        title: NASTY.into(),
                        severity: sev.to_string(),
                        kind: NASTY.into(),
                        cves: vec![NASTY.into()],
                        packages: vec![AdvisoryPackage {
                            installed: NASTY.into(),
                            fixed: NASTY.into(),
                            layer: layer(),
                            status: None,
                        }],
                    })
                    .collect(),
                summary: NASTY.into(),
            },
            suppressed: Vec::new(),
        };
        (report, findings)
    }
}

#[cfg(test)]
mod hostile_tests {
    use super::*;
    use crate::run::RunReport;

    #[test]
    fn hostile_strings_give_a_sarif_log_with_one_result_each_and_clean_uris() {
        let (report, findings) = hostile::report();
        let subjects = [(report, findings)];
        let fail_on = vec![hostile::NASTY.to_string()];
        let run = RunReport {
            subjects: &subjects,
            documents: &[],
            fail_on: &fail_on,
            breaches: &[],
        };
        let log: Value = serde_json::from_str(&render(&run)).expect("SARIF is JSON");
        let r = &log["runs"][0];
        let results = r["results"].as_array().unwrap();
        assert_eq!(results.len(), 6 + 1 + 4);
        let rules: Vec<&str> = r["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        for res in results {
            let i = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(Some(res["ruleId"].as_str().unwrap()), rules.get(i).copied());
            let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(
                uri.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)),
                "{uri}"
            );
        }
        // Two advisories with the same id share one rule; an empty id has its own.
        assert_eq!(
            rules.iter().filter(|r| r.starts_with("advisory/")).count(),
            3,
            "{rules:?}"
        );
        assert!(rules.contains(&"advisory/(no id)"));
        // A check without its document is reported as not run, never silently.
        assert_eq!(r["invocations"][0]["executionSuccessful"], false);
        let root = r["originalUriBaseIds"][ROOTFS]["uri"].as_str().unwrap();
        assert!(
            root.starts_with("file:///tmp/%3C/x%3E%22%27%26") && root.ends_with('/'),
            "{root}"
        );
    }
}
