//! The image's own yum/dnf configuration, read as dnf reads it: `etc/dnf/dnf.conf` (else
//! `etc/yum.conf`) `[main]`, the `.repo` files of `reposdir`, the variables (`$releasever`,
//! `$basearch`, `$arch`, `$releasever_major`, files in `etc/yum/vars/` and `etc/dnf/vars/`) and
//! the module states of `etc/dnf/modules.d`. Every file is read through [`Root`]: bounded,
//! symlinks resolved inside the image.

use rpmdb::package::Package;
use rpmdb::root::Root;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The largest configuration file read (a `.repo`, `dnf.conf`, a vars file).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The most `.repo` files read from one directory.
const MAX_REPO_FILES: usize = 1000;

/// dnf's default `reposdir`.
pub const DEFAULT_REPOSDIRS: [&str; 3] = ["/etc/yum.repos.d", "/etc/yum/repos.d", "/etc/distro.repos.d"];

/// dnf's `DISTROVERPKG`: the provides that name the release package, in order.
pub const DISTROVERPKG: [&str; 6] = [
    "system-release(releasever)",
    "system-release",
    "distribution-release(releasever)",
    "distribution-release",
    "redhat-release",
    "suse-release",
];

/// `$releasever` as dnf's `detect_releasever` computes it: the first package (database
/// order) providing one of [`DISTROVERPKG`], in that order of provides; its version, or the
/// provide's own version when the provide is `= V` and the package is not named like it.
pub fn releasever_from_packages(packages: &[Package]) -> Option<String> {
    const RPMSENSE_EQUAL: u32 = 8;
    // Each package's provides are read once: the best (earliest in DISTROVERPKG) provide it
    // has, and what it would give; the first package in database order wins among equals.
    let mut best: Option<(usize, String)> = None;
    for p in packages {
        let Ok(provides) = p.provides() else { continue };
        for dep in &provides {
            let Some(rank) = DISTROVERPKG.iter().position(|w| *w == dep.name) else {
                continue;
            };
            if best.as_ref().is_some_and(|(r, _)| *r <= rank) {
                continue;
            }
            let value = if dep.flags == RPMSENSE_EQUAL && !dep.version.is_empty() && p.name != dep.name {
                dep.version.clone()
            } else {
                p.version.clone()
            };
            best = Some((rank, value));
        }
    }
    best.map(|(_, v)| v)
}

/// dnf's `basearch` of a machine arch (`i686` → `i386`, `armv7hl` → `armhfp`).
pub fn basearch(arch: &str) -> &str {
    match arch {
        "athlon" | "geode" | "i386" | "i486" | "i586" | "i686" => "i386",
        "amd64" | "ia32e" => "x86_64",
        "armv6hl" | "armv7hl" | "armv7hnl" | "armv8hl" => "armhfp",
        "armv5tejl" | "armv5tel" | "armv5tl" | "armv6l" | "armv7l" | "armv8l" => "arm",
        "ppc64iseries" | "ppc64p7" | "ppc64pseries" => "ppc64",
        "sparc64" | "sparc64v" | "sparcv8" | "sparcv9" | "sparcv9v" => "sparc",
        "sh4a" => "sh4",
        a if a.starts_with("alpha") => "alpha",
        a => a,
    }
}

/// Yum/dnf variables and their substitution in option values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Variables(pub BTreeMap<String, String>);

impl Variables {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Replace `$name`, `${name}`, `${name:-default}` and `${name:+alternate}`; an unknown
    /// variable is left as written, as dnf does.
    pub fn substitute(&self, text: &str) -> String {
        let b = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
        while i < b.len() {
            if b[i] != b'$' {
                let next = text[i..].find('$').map_or(b.len(), |k| i + k);
                out.push_str(&text[i..next]);
                i = next;
                continue;
            }
            if i + 1 < b.len() && b[i + 1] == b'{' {
                if let Some(close) = text[i + 2..].find('}') {
                    let inner = &text[i + 2..i + 2 + close];
                    let (name, op, word) = match inner.find(":-").or_else(|| inner.find(":+")) {
                        Some(k) => (&inner[..k], &inner[k..k + 2], &inner[k + 2..]),
                        None => (inner, "", ""),
                    };
                    if !name.is_empty() && name.bytes().all(is_name) {
                        let value = self.get(name).filter(|v| !v.is_empty());
                        let replaced = match (op, value) {
                            ("", Some(v)) => Some(v.to_string()),
                            ("", None) => None,
                            (":-", Some(v)) => Some(v.to_string()),
                            (":-", None) => Some(self.substitute(word)),
                            (":+", Some(_)) => Some(self.substitute(word)),
                            _ => Some(String::new()),
                        };
                        if let Some(r) = replaced {
                            out.push_str(&r);
                            i += 3 + close;
                            continue;
                        }
                    }
                }
                out.push('$');
                i += 1;
                continue;
            }
            let end = (i + 1..b.len()).find(|&k| !is_name(b[k])).unwrap_or(b.len());
            match self.get(&text[i + 1..end]) {
                Some(v) if end > i + 1 => {
                    out.push_str(v);
                    i = end;
                }
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        out
    }
}

/// One section of an INI file: its name and its `key=value` options in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub options: Vec<(String, String)>,
}

impl Section {
    /// The last value of an option (later lines win).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse dnf's INI dialect: `[section]`, `key=value` (or `key: value`), `#`/`;` comment lines,
/// indented lines continuing the previous value. Lines outside a section are ignored.
pub fn parse_ini(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut last_key: Option<usize> = None;
    for raw in text.lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let (Some(s), Some(k)) = (sections.last_mut(), last_key) {
                if let Some((_, v)) = s.options.get_mut(k) {
                    v.push('\n');
                    v.push_str(trimmed);
                }
                continue;
            }
        }
        if trimmed.starts_with('[') {
            if let Some(end) = trimmed.find(']') {
                sections.push(Section {
                    name: trimmed[1..end].trim().to_string(),
                    options: Vec::new(),
                });
                last_key = None;
                continue;
            }
        }
        let sep = trimmed.find('=').or_else(|| trimmed.find(':'));
        if let (Some(s), Some(k)) = (sections.last_mut(), sep) {
            let key = trimmed[..k].trim().to_ascii_lowercase();
            let value = trimmed[k + 1..].trim().to_string();
            s.options.push((key, value));
            last_key = Some(s.options.len() - 1);
        }
    }
    sections
}

/// dnf's list options: items separated by commas and white space.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// dnf's booleans: 1/yes/true/on and 0/no/false/off.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// `[main]` options that matter to the judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainConfig {
    /// The file `[main]` was read from, if any.
    pub file: Option<PathBuf>,
    pub reposdir: Vec<String>,
    /// `exclude`/`excludepkgs`: globs hiding packages of every repository.
    pub exclude: Vec<String>,
    /// `includepkgs`: when set, only matching packages of every repository are seen.
    pub includepkgs: Vec<String>,
    /// `obsoletes` (default true): whether obsoleting packages are listed.
    pub obsoletes: bool,
    /// `module_platform_id`, which overrides os-release's `PLATFORM_ID`.
    pub module_platform_id: Option<String>,
}

impl Default for MainConfig {
    fn default() -> Self {
        MainConfig {
            file: None,
            reposdir: DEFAULT_REPOSDIRS.iter().map(|s| s.to_string()).collect(),
            exclude: Vec::new(),
            includepkgs: Vec::new(),
            obsoletes: true,
            module_platform_id: None,
        }
    }
}

/// One `[repo]` section, its values substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoConfig {
    pub id: String,
    pub name: Option<String>,
    /// The file that defined it (image path), or `--repo` for one given on the command line.
    pub source: String,
    pub enabled: bool,
    pub baseurl: Vec<String>,
    pub mirrorlist: Option<String>,
    pub metalink: Option<String>,
    /// dnf priority: lower wins, default 99.
    pub priority: i32,
    pub exclude: Vec<String>,
    pub includepkgs: Vec<String>,
    pub module_hotfixes: bool,
    /// `sslcacert`: a CA bundle path inside the image.
    pub sslcacert: Option<String>,
    pub sslverify: bool,
}

impl RepoConfig {
    /// A repository given by URL alone (`--repo ID=URL`).
    pub fn from_url(id: &str, url: &str) -> RepoConfig {
        RepoConfig {
            id: id.to_string(),
            name: None,
            source: "--repo".to_string(),
            enabled: true,
            baseurl: vec![url.to_string()],
            mirrorlist: None,
            metalink: None,
            priority: 99,
            exclude: Vec::new(),
            includepkgs: Vec::new(),
            module_hotfixes: false,
            sslcacert: None,
            sslverify: true,
        }
    }

    fn from_section(s: &Section, source: &str, vars: &Variables, problems: &mut Vec<String>) -> RepoConfig {
        let get = |k: &str| s.get(k).map(|v| vars.substitute(v));
        let mut repo = RepoConfig::from_url(&s.name, "");
        repo.baseurl.clear();
        repo.source = source.to_string();
        repo.name = get("name");
        if let Some(v) = get("enabled") {
            repo.enabled = parse_bool(&v).unwrap_or_else(|| {
                problems.push(format!(
                    "{source}: [{}] enabled={v:?} is not a boolean; taken as enabled",
                    s.name
                ));
                true
            });
        }
        repo.baseurl = get("baseurl").map(|v| split_list(&v)).unwrap_or_default();
        repo.mirrorlist = get("mirrorlist")
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string());
        repo.metalink = get("metalink")
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_string());
        if let Some(v) = get("priority") {
            match v.trim().parse::<i32>() {
                Ok(p) => repo.priority = p,
                Err(_) => problems.push(format!(
                    "{source}: [{}] priority={v:?} is not a number; 99 used",
                    s.name
                )),
            }
        }
        // `exclude` and `excludepkgs` are the same option; every line counts.
        for (k, v) in &s.options {
            match k.as_str() {
                "exclude" | "excludepkgs" => repo.exclude.extend(split_list(&vars.substitute(v))),
                "includepkgs" => repo.includepkgs.extend(split_list(&vars.substitute(v))),
                _ => {}
            }
        }
        repo.module_hotfixes = get("module_hotfixes").and_then(|v| parse_bool(&v)).unwrap_or(false);
        repo.sslcacert = get("sslcacert").filter(|v| !v.trim().is_empty());
        repo.sslverify = get("sslverify").and_then(|v| parse_bool(&v)).unwrap_or(true);
        repo
    }
}

/// The module state the image records in `etc/dnf/modules.d/<name>.module`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleState {
    pub name: String,
    pub stream: Option<String>,
    /// `state=` as written (`enabled`, `disabled`, dnf 2's `installed`, empty…); what it
    /// means is decided by [`crate::modularity::ModuleState::parse`].
    pub state: String,
}

/// The facts about the image that the variables come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemFacts {
    /// The machine arch (`x86_64`), derived from the installed packages.
    pub arch: String,
    pub releasever: Option<String>,
}

impl SystemFacts {
    /// The facts every scanner uses for one image: the machine arch from the arches of the
    /// installed packages ([`crate::arch::machine_arch`]: the most capable one, `host_arch`
    /// when every package is `noarch`) and `$releasever` (from
    /// [`releasever_from_packages`]).
    pub fn from_installed<'a>(
        installed_arches: impl IntoIterator<Item = &'a str>,
        releasever: Option<String>,
        host_arch: &str,
    ) -> SystemFacts {
        SystemFacts {
            arch: crate::arch::machine_arch(installed_arches).unwrap_or_else(|| host_arch.to_string()),
            releasever,
        }
    }
}

/// Everything the image says about its repositories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConfig {
    pub main: MainConfig,
    /// Every repository defined, enabled or not, in the order dnf reads them.
    pub repos: Vec<RepoConfig>,
    pub variables: Variables,
    pub modules: BTreeMap<String, ModuleState>,
    /// Default streams the image itself declares (`etc/dnf/modules.defaults.d/*.yaml`), which
    /// dnf adds to the repositories' `modulemd-defaults`.
    pub module_defaults: Vec<crate::modules::ModuleDefaults>,
    /// `PLATFORM_ID` of os-release (or `module_platform_id`), e.g. `platform:el8`.
    pub platform_id: Option<String>,
    /// Files that could not be read or understood; the rest of the configuration still counts.
    pub problems: Vec<String>,
}

fn read_text(root: &Root, path: &Path, problems: &mut Vec<String>) -> Option<String> {
    match root.read_bounded(path, MAX_CONFIG_BYTES) {
        Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.is_not_found() => None,
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    }
}

fn dir_entries(root: &Root, dir: &Path, problems: &mut Vec<String>) -> Vec<String> {
    match root.read_dir_names(dir) {
        Ok(names) => names.into_iter().filter_map(|n| n.into_string().ok()).collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => {
            // A missing parent or a file in place of the directory: nothing there.
            if e.source.raw_os_error() != Some(nix::errno::Errno::ENOTDIR as i32) {
                problems.push(e.to_string());
            }
            Vec::new()
        }
    }
}

impl ImageConfig {
    /// Read the configuration of an image whose machine arch and `$releasever` are known.
    pub fn read(root: &Root, facts: &SystemFacts) -> ImageConfig {
        let mut problems = Vec::new();
        let variables = read_variables(root, facts, &mut problems);

        // dnf reads /etc/dnf/dnf.conf; yum (EL5–7) /etc/yum.conf.
        let mut main = MainConfig::default();
        let mut main_sections = Vec::new();
        for file in ["/etc/dnf/dnf.conf", "/etc/yum.conf"] {
            if let Some(text) = read_text(root, Path::new(file), &mut problems) {
                main.file = Some(PathBuf::from(file));
                main_sections = parse_ini(&text);
                break;
            }
        }
        if let Some(m) = main_sections.iter().find(|s| s.name == "main") {
            if let Some(v) = m.get("reposdir") {
                main.reposdir = split_list(&variables.substitute(v));
            }
            for (k, v) in &m.options {
                match k.as_str() {
                    "exclude" | "excludepkgs" => main.exclude.extend(split_list(&variables.substitute(v))),
                    "includepkgs" => main.includepkgs.extend(split_list(&variables.substitute(v))),
                    _ => {}
                }
            }
            if let Some(v) = m.get("obsoletes").and_then(parse_bool) {
                main.obsoletes = v;
            }
            main.module_platform_id = m.get("module_platform_id").map(|v| variables.substitute(v));
        }

        let mut repos: Vec<RepoConfig> = Vec::new();
        let add = |section: &Section, source: &str, repos: &mut Vec<RepoConfig>, problems: &mut Vec<String>| {
            if section.name == "main" {
                return;
            }
            if repos.iter().any(|r| r.id == section.name) {
                problems.push(format!(
                    "{source}: repository [{}] is defined more than once; the first kept",
                    section.name
                ));
                return;
            }
            repos.push(RepoConfig::from_section(section, source, &variables, problems));
        };
        if let Some(file) = &main.file {
            let source = file.display().to_string();
            for s in &main_sections {
                add(s, &source, &mut repos, &mut problems);
            }
        }
        for dir in main.reposdir.clone() {
            let dir = Path::new(&dir);
            let mut files: Vec<String> = dir_entries(root, dir, &mut problems)
                .into_iter()
                .filter(|n| n.ends_with(".repo"))
                .collect();
            if files.len() > MAX_REPO_FILES {
                problems.push(format!(
                    "{}: more than {MAX_REPO_FILES} .repo files; the rest ignored",
                    dir.display()
                ));
                files.truncate(MAX_REPO_FILES);
            }
            for f in files {
                let path = dir.join(&f);
                if let Some(text) = read_text(root, &path, &mut problems) {
                    let source = path.display().to_string();
                    for s in parse_ini(&text) {
                        add(&s, &source, &mut repos, &mut problems);
                    }
                }
            }
        }

        let modules = read_module_states(root, &mut problems);
        let module_defaults = read_module_defaults(root, &mut problems);
        let platform_id = main
            .module_platform_id
            .clone()
            .or_else(|| read_platform_id(root, &mut problems));
        ImageConfig {
            main,
            repos,
            variables,
            modules,
            module_defaults,
            platform_id,
            problems,
        }
    }

    /// The repositories dnf would use.
    pub fn enabled_repos(&self) -> impl Iterator<Item = &RepoConfig> {
        self.repos.iter().filter(|r| r.enabled)
    }
}

/// `$arch`, `$basearch`, `$releasever` (+ `_major`, `_minor`), then the vars directories
/// (`etc/yum/vars` first, `etc/dnf/vars` overriding, as dnf reads them).
fn read_variables(root: &Root, facts: &SystemFacts, problems: &mut Vec<String>) -> Variables {
    let mut v = Variables::default();
    v.set("arch", facts.arch.clone());
    v.set("basearch", basearch(&facts.arch).to_string());
    for dir in ["/etc/yum/vars", "/etc/dnf/vars"] {
        for name in dir_entries(root, Path::new(dir), problems) {
            if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                continue;
            }
            let path = Path::new(dir).join(&name);
            // Directories and other non-files are skipped, as dnf's isfile() does.
            match root.metadata(&path) {
                Ok(m) if m.is_file() => {}
                _ => continue,
            }
            if let Some(text) = read_text(root, &path, problems) {
                v.set(&name, text.lines().next().unwrap_or("").to_string());
            }
        }
    }
    let releasever = v
        .get("releasever")
        .map(str::to_string)
        .or_else(|| facts.releasever.clone());
    if let Some(r) = releasever {
        if v.get("releasever_major").is_none() {
            v.set("releasever_major", r.split('.').next().unwrap_or(&r).to_string());
        }
        if v.get("releasever_minor").is_none() {
            v.set(
                "releasever_minor",
                r.split_once('.').map(|(_, m)| m).unwrap_or("").to_string(),
            );
        }
        v.set("releasever", r);
    }
    v
}

fn read_module_states(root: &Root, problems: &mut Vec<String>) -> BTreeMap<String, ModuleState> {
    let dir = Path::new("/etc/dnf/modules.d");
    let mut out = BTreeMap::new();
    for f in dir_entries(root, dir, problems) {
        if !f.ends_with(".module") {
            continue;
        }
        let Some(text) = read_text(root, &dir.join(&f), problems) else {
            continue;
        };
        for s in parse_ini(&text) {
            let name = s.get("name").map(str::to_string).unwrap_or_else(|| s.name.clone());
            let stream = s
                .get("stream")
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
            // As written: libdnf's `fromString` compares it exactly (`Enabled` is no state).
            let state = s.get("state").unwrap_or("").trim().to_string();
            out.insert(name.clone(), ModuleState { name, stream, state });
        }
    }
    out
}

fn read_module_defaults(root: &Root, problems: &mut Vec<String>) -> Vec<crate::modules::ModuleDefaults> {
    let dir = Path::new("/etc/dnf/modules.defaults.d");
    let mut out = Vec::new();
    for f in dir_entries(root, dir, problems) {
        if !f.ends_with(".yaml") {
            continue;
        }
        let path = dir.join(&f);
        let Some(text) = read_text(root, &path, problems) else {
            continue;
        };
        match crate::modules::parse(text.as_bytes()) {
            Ok(m) => {
                problems.extend(m.skipped.iter().map(|s| format!("{}: {s}", path.display())));
                out.extend(m.defaults);
            }
            Err(e) => problems.push(format!("{}: {e}", path.display())),
        }
    }
    out
}

fn read_platform_id(root: &Root, problems: &mut Vec<String>) -> Option<String> {
    for p in ["/etc/os-release", "/usr/lib/os-release"] {
        if let Some(text) = read_text(root, Path::new(p), problems) {
            return text.lines().find_map(|l| {
                let v = l.trim().strip_prefix("PLATFORM_ID=")?;
                Some(v.trim().trim_matches('"').trim_matches('\'').to_string())
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_as_dnf_does_it() {
        let mut v = Variables::default();
        v.set("releasever", "8.4");
        v.set("basearch", "x86_64");
        v.set("contentdir", "centos");
        assert_eq!(
            v.substitute("http://mirror/$contentdir/$releasever/BaseOS/${basearch}/os/"),
            "http://mirror/centos/8.4/BaseOS/x86_64/os/"
        );
        assert_eq!(v.substitute("$unknown/$basearchx/$"), "$unknown/$basearchx/$");
        assert_eq!(v.substitute("${infra:-stock}/${basearch:+b}"), "stock/b");
    }

    #[test]
    fn ini_with_continuations_and_comments() {
        let text = "# c\n[main]\nexclude=kernel*  foo,bar\n\n[base]\nname=Base $releasever\nbaseurl=http://a/\n  http://b/\n;x\nenabled = 0\n";
        let s = parse_ini(text);
        assert_eq!(s.len(), 2);
        assert_eq!(split_list(s[0].get("exclude").unwrap()), vec!["kernel*", "foo", "bar"]);
        assert_eq!(split_list(s[1].get("baseurl").unwrap()), vec!["http://a/", "http://b/"]);
        assert_eq!(s[1].get("enabled"), Some("0"));
    }

    #[test]
    fn basearch_table() {
        assert_eq!(basearch("i686"), "i386");
        assert_eq!(basearch("x86_64"), "x86_64");
        assert_eq!(basearch("armv7hl"), "armhfp");
        assert_eq!(basearch("aarch64"), "aarch64");
    }

    #[test]
    fn reads_an_image_configuration() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for d in ["etc/dnf/vars", "etc/yum.repos.d", "etc/dnf/modules.d", "etc/yum/vars"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        std::fs::write(r.join("etc/dnf/dnf.conf"), "[main]\ngpgcheck=1\nexclude=foo*\n").unwrap();
        std::fs::write(r.join("etc/dnf/vars/contentdir"), "centos\nignored\n").unwrap();
        std::fs::write(r.join("etc/yum/vars/contentdir"), "overridden-by-dnf-vars\n").unwrap();
        std::fs::write(
            r.join("etc/yum.repos.d/a.repo"),
            "[baseos]\nname=BaseOS\nmirrorlist=http://m/?release=$releasever&arch=$basearch&repo=BaseOS&infra=$infra\n\
             baseurl=http://x/$contentdir/$releasever_major/BaseOS/$basearch/os/\npriority=10\nexcludepkgs=bar\n\
             [off]\nbaseurl=file:///r\nenabled=0\nmodule_hotfixes=1\n",
        )
        .unwrap();
        std::fs::write(
            r.join("etc/dnf/modules.d/nodejs.module"),
            "[nodejs]\nname=nodejs\nstream=14\nprofiles=\nstate=enabled\n",
        )
        .unwrap();
        std::fs::write(r.join("etc/os-release"), "NAME=x\nPLATFORM_ID=\"platform:el8\"\n").unwrap();
        let root = Root::new(r).unwrap();
        let c = ImageConfig::read(
            &root,
            &SystemFacts {
                arch: "x86_64".into(),
                releasever: Some("8.4".into()),
            },
        );
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.main.exclude, vec!["foo*"]);
        assert_eq!(c.repos.len(), 2);
        let b = &c.repos[0];
        assert_eq!(b.baseurl, vec!["http://x/centos/8/BaseOS/x86_64/os/"]);
        assert_eq!(
            b.mirrorlist.as_deref(),
            Some("http://m/?release=8.4&arch=x86_64&repo=BaseOS&infra=$infra")
        );
        assert_eq!(b.priority, 10);
        assert_eq!(b.exclude, vec!["bar"]);
        assert!(!c.repos[1].enabled && c.repos[1].module_hotfixes);
        assert_eq!(c.enabled_repos().count(), 1);
        assert_eq!(c.modules["nodejs"].stream.as_deref(), Some("14"));
        assert_eq!(c.platform_id.as_deref(), Some("platform:el8"));
    }
}
