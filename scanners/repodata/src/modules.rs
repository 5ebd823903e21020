//! `modules.yaml` (EL8+ modularity): the module streams a repository offers — name, stream,
//! version, context, the RPM artifacts each stream owns, what each requires — and the default
//! streams (`modulemd-defaults`). Read one YAML document at a time, each bounded in size, so
//! that a large modules file never sits in memory as one tree.

use std::io::BufRead;
use yaml_rust2::{Yaml, YamlLoader};

/// The largest single YAML document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;
/// The largest number of documents read.
pub const MAX_DOCUMENTS: usize = 200_000;

/// One `document: modulemd` (a stream at one version and context).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleStream {
    pub name: String,
    pub stream: String,
    pub version: u64,
    pub context: String,
    pub arch: String,
    /// `data.artifacts.rpms`: NEVRA strings, `name-epoch:version-release.arch`.
    pub artifacts: Vec<String>,
    /// `data.dependencies[].requires`: alternatives, each a list of (module, streams); an
    /// empty stream list means any stream, `-s` means not `s`.
    pub requires: Vec<Vec<(String, Vec<String>)>>,
    /// `data.demodularized.rpms`: names no longer owned by the module.
    pub demodularized: Vec<String>,
}

/// One `document: modulemd-defaults`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleDefaults {
    pub module: String,
    pub stream: Option<String>,
    /// `data.modified` (`YYYYMMDDhhmm`, 0 when absent): between two documents of one
    /// metadata layer that name different streams, the later one wins (see
    /// [`crate::modularity::default_streams`]).
    pub modified: u64,
}

/// Everything of interest in a `modules.yaml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesMetadata {
    pub streams: Vec<ModuleStream>,
    pub defaults: Vec<ModuleDefaults>,
    /// Documents that could not be understood (their number and why); the others count.
    pub skipped: Vec<String>,
}

/// Parse a decompressed `modules.yaml` stream.
pub fn parse<R: BufRead>(mut input: R) -> Result<ModulesMetadata, String> {
    let mut out = ModulesMetadata::default();
    let mut doc = String::new();
    let mut line = Vec::new();
    let mut count = 0usize;
    loop {
        line.clear();
        let n = read_line_bounded(&mut input, &mut line, MAX_DOCUMENT_BYTES)?;
        let text = String::from_utf8_lossy(&line);
        let trimmed = text.trim_end();
        let boundary = n == 0 || trimmed == "---" || trimmed.starts_with("--- ") || trimmed == "...";
        if boundary {
            if !doc.trim().is_empty() {
                count += 1;
                if count > MAX_DOCUMENTS {
                    return Err(format!("more than {MAX_DOCUMENTS} YAML documents"));
                }
                read_document(&doc, count, &mut out);
            }
            doc.clear();
            if n == 0 {
                break;
            }
            continue;
        }
        if doc.len() + text.len() > MAX_DOCUMENT_BYTES {
            return Err(format!(
                "YAML document {} is larger than {MAX_DOCUMENT_BYTES} bytes",
                count + 1
            ));
        }
        doc.push_str(&text);
    }
    Ok(out)
}

fn read_line_bounded<R: BufRead>(input: &mut R, line: &mut Vec<u8>, limit: usize) -> Result<usize, String> {
    let mut total = 0;
    loop {
        let buf = input.fill_buf().map_err(|e| format!("reading modules.yaml: {e}"))?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (take, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > limit {
            return Err(format!("a line of modules.yaml is longer than {limit} bytes"));
        }
        line.extend_from_slice(&buf[..take]);
        input.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().filter_map(scalar).collect(),
        other => scalar(other).into_iter().collect(),
    }
}

fn read_document(text: &str, number: usize, out: &mut ModulesMetadata) {
    let docs = match YamlLoader::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            out.skipped.push(format!("document {number}: {e}"));
            return;
        }
    };
    for y in docs {
        let kind = scalar(&y["document"]).unwrap_or_default();
        let data = &y["data"];
        match kind.as_str() {
            "modulemd" => match stream(data) {
                Ok(s) => out.streams.push(s),
                Err(why) => out.skipped.push(format!("document {number} (modulemd): {why}")),
            },
            "modulemd-defaults" => match scalar(&data["module"]) {
                Some(module) => out.defaults.push(ModuleDefaults {
                    module,
                    stream: scalar(&data["stream"]),
                    modified: scalar(&data["modified"]).and_then(|m| m.parse().ok()).unwrap_or(0),
                }),
                None => out
                    .skipped
                    .push(format!("document {number} (modulemd-defaults): no module")),
            },
            // modulemd-obsoletes, modulemd-translations… do not change which packages are seen.
            _ => {}
        }
    }
}

fn stream(data: &Yaml) -> Result<ModuleStream, String> {
    let name = scalar(&data["name"]).ok_or("no name")?;
    let stream = scalar(&data["stream"]).ok_or_else(|| format!("{name}: no stream"))?;
    let version = match &data["version"] {
        Yaml::Integer(i) if *i >= 0 => *i as u64,
        Yaml::String(s) | Yaml::Real(s) => s.parse().map_err(|_| format!("{name}:{stream}: version {s:?}"))?,
        Yaml::BadValue | Yaml::Null => 0,
        other => return Err(format!("{name}:{stream}: version {other:?}")),
    };
    let context = scalar(&data["context"]).unwrap_or_default();
    let arch = scalar(&data["arch"]).unwrap_or_default();
    let artifacts = strings(&data["artifacts"]["rpms"]);
    let mut requires = Vec::new();
    if let Yaml::Array(deps) = &data["dependencies"] {
        for d in deps {
            let mut set = Vec::new();
            if let Yaml::Hash(h) = &d["requires"] {
                for (k, v) in h {
                    if let Some(module) = scalar(k) {
                        set.push((module, strings(v)));
                    }
                }
            }
            requires.push(set);
        }
    }
    let demodularized = strings(&data["demodularized"]["rpms"]);
    Ok(ModuleStream {
        name,
        stream,
        version,
        context,
        arch,
        artifacts,
        requires,
        demodularized,
    })
}

/// The first line of a modules index.
const INDEX_MAGIC: &str = "pipeline-scanner modules index 2";

impl ModulesMetadata {
    /// A compact text form of what was parsed, for the metadata cache: one record per line,
    /// tab-separated (`S` stream, `A` artifact, `R` requirement, `M` demodularized name, `D`
    /// default). `None` when a value holds a tab or a line break (then there is no index and
    /// the YAML is read again next time).
    pub fn to_index(&self) -> Option<String> {
        let mut out = String::from(INDEX_MAGIC);
        out.push('\n');
        let ok = |v: &str| !v.contains(['\t', '\n', '\r']);
        for m in &self.streams {
            if ![&m.name, &m.stream, &m.context, &m.arch].iter().all(|v| ok(v)) {
                return None;
            }
            out.push_str(&format!(
                "S\t{}\t{}\t{}\t{}\t{}\n",
                m.name, m.stream, m.version, m.context, m.arch
            ));
            for a in &m.artifacts {
                if !ok(a) {
                    return None;
                }
                out.push_str(&format!("A\t{a}\n"));
            }
            for (i, set) in m.requires.iter().enumerate() {
                // An empty alternative still counts (it is always met).
                out.push_str(&format!("R\t{i}\n"));
                for (module, streams) in set {
                    if !ok(module) || streams.iter().any(|s| !ok(s) || s.contains(',')) {
                        return None;
                    }
                    out.push_str(&format!("R\t{i}\t{module}\t{}\n", streams.join(",")));
                }
            }
            for d in &m.demodularized {
                if !ok(d) {
                    return None;
                }
                out.push_str(&format!("M\t{d}\n"));
            }
        }
        for d in &self.defaults {
            let stream = d.stream.as_deref().unwrap_or("");
            if !ok(&d.module) || !ok(stream) {
                return None;
            }
            out.push_str(&format!(
                "D\t{}\t{}\t{}\t{}\n",
                d.module,
                stream,
                d.stream.is_some() as u8,
                d.modified
            ));
        }
        out.push_str("E\n");
        Some(out)
    }

    /// Read what [`to_index`](Self::to_index) wrote; any damage is an error.
    pub fn from_index(text: &str) -> Result<ModulesMetadata, String> {
        let mut lines = text.lines();
        if lines.next() != Some(INDEX_MAGIC) {
            return Err("not a modules index".into());
        }
        let mut out = ModulesMetadata::default();
        let mut ended = false;
        for line in lines {
            let f: Vec<&str> = line.split('\t').collect();
            let current = out.streams.last_mut();
            match (f.as_slice(), current) {
                (["S", name, stream, version, context, arch], _) => out.streams.push(ModuleStream {
                    name: name.to_string(),
                    stream: stream.to_string(),
                    version: version.parse().map_err(|_| format!("bad version {version:?}"))?,
                    context: context.to_string(),
                    arch: arch.to_string(),
                    artifacts: Vec::new(),
                    requires: Vec::new(),
                    demodularized: Vec::new(),
                }),
                (["A", a], Some(m)) => m.artifacts.push(a.to_string()),
                (["R", i], Some(m)) if i.parse() == Ok(m.requires.len()) => m.requires.push(Vec::new()),
                (["R", i, module, streams], Some(m))
                    if i.parse::<usize>().ok().map(|i| i + 1) == Some(m.requires.len()) =>
                {
                    let streams = streams
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect();
                    if let Some(set) = m.requires.last_mut() {
                        set.push((module.to_string(), streams));
                    }
                }
                (["M", d], Some(m)) => m.demodularized.push(d.to_string()),
                (["D", module, stream, has, modified], _) => out.defaults.push(ModuleDefaults {
                    module: module.to_string(),
                    stream: (*has == "1").then(|| stream.to_string()),
                    modified: modified.parse().map_err(|_| format!("bad modified {modified:?}"))?,
                }),
                (["E"], _) => ended = true,
                _ => return Err(format!("damaged modules index line {line:?}")),
            }
        }
        if !ended {
            return Err("truncated modules index".into());
        }
        Ok(out)
    }
}

/// Split an artifact NEVRA (`name-epoch:version-release.arch`) into name, epoch, version,
/// release, arch.
pub fn split_nevra(nevra: &str) -> Option<(&str, u32, &str, &str, &str)> {
    let (rest, arch) = nevra.rsplit_once('.')?;
    let (rest, release) = rest.rsplit_once('-')?;
    let (name, ev) = rest.rsplit_once('-')?;
    let (epoch, version) = match ev.split_once(':') {
        Some((e, v)) => (e.parse().ok()?, v),
        None => (0, ev),
    };
    if name.is_empty() || version.is_empty() || release.is_empty() || arch.is_empty() {
        return None;
    }
    Some((name, epoch, version, release, arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"---
document: modulemd
version: 2
data:
  name: nodejs
  stream: "14"
  version: 8040020210708131418
  context: bd1311ed
  arch: x86_64
  dependencies:
  - buildrequires:
      platform: [el8.4.0]
    requires:
      platform: [el8]
  artifacts:
    rpms:
    - nodejs-1:14.17.3-1.module_el8.4.0+818+5ae11b8d.x86_64
    - nodejs-1:14.17.3-1.module_el8.4.0+818+5ae11b8d.src
...
---
document: modulemd-defaults
version: 1
data:
  module: nodejs
  stream: 10
  profiles:
    10: [common]
...
---
document: modulemd
version: 2
data:
  name: perl
  stream: 5.30
  version: 1
  context: x
...
"#;

    #[test]
    fn streams_and_defaults() {
        let m = parse(SAMPLE.as_bytes()).unwrap();
        assert!(m.skipped.is_empty(), "{:?}", m.skipped);
        assert_eq!(m.streams.len(), 2);
        let n = &m.streams[0];
        assert_eq!(
            (n.name.as_str(), n.stream.as_str(), n.version),
            ("nodejs", "14", 8040020210708131418)
        );
        assert_eq!(n.artifacts.len(), 2);
        assert_eq!(
            n.requires,
            vec![vec![("platform".to_string(), vec!["el8".to_string()])]]
        );
        assert_eq!(m.streams[1].stream, "5.30");
        assert_eq!(
            m.defaults,
            vec![ModuleDefaults {
                module: "nodejs".into(),
                stream: Some("10".into()),
                modified: 0,
            }]
        );
    }

    #[test]
    fn index_round_trip() {
        let m = parse(SAMPLE.as_bytes()).unwrap();
        let text = m.to_index().unwrap();
        let back = ModulesMetadata::from_index(&text).unwrap();
        assert_eq!(back, m);
        assert!(ModulesMetadata::from_index(&text[..text.len() - 3]).is_err());
        assert!(ModulesMetadata::from_index("something else\nE\n").is_err());
    }

    #[test]
    fn nevra_split() {
        assert_eq!(
            split_nevra("nodejs-1:14.17.3-1.module_el8.4.0+818+5ae11b8d.x86_64"),
            Some(("nodejs", 1, "14.17.3", "1.module_el8.4.0+818+5ae11b8d", "x86_64"))
        );
        assert_eq!(
            split_nevra("perl-DBI-0:1.641-3.el8.src"),
            Some(("perl-DBI", 0, "1.641", "3.el8", "src"))
        );
        assert_eq!(split_nevra("bad"), None);
    }

    #[test]
    fn a_broken_document_is_named_and_the_rest_kept() {
        let text = "---\ndocument: modulemd\ndata: [unclosed\n...\n---\ndocument: modulemd-defaults\ndata:\n  module: x\n...\n";
        let m = parse(text.as_bytes()).unwrap();
        assert_eq!(m.defaults.len(), 1);
        assert_eq!(m.skipped.len(), 1);
    }
}
