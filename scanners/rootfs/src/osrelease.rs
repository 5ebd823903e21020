//! The OS identity of a root: `/etc/os-release` (then `/usr/lib/os-release`), falling back to
//! `/etc/redhat-release` or `/etc/system-release` for images older than os-release.

use crate::Root;
use std::path::Path;

/// Files larger than this are not an os-release.
const MAX_RELEASE_FILE: u64 = 64 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub pretty_name: Option<String>,
    pub name: Option<String>,
    pub id: Option<String>,
    pub version_id: Option<String>,
    pub id_like: Vec<String>,
    /// The file the identity was read from, as the image sees it.
    pub source: String,
}

impl OsRelease {
    /// Read the identity of a root; `None` when no release file is there.
    pub fn read(root: &Root) -> Option<OsRelease> {
        for p in ["/etc/os-release", "/usr/lib/os-release"] {
            if let Ok(bytes) = root.read_bounded(Path::new(p), MAX_RELEASE_FILE) {
                let mut os = parse_os_release(&String::from_utf8_lossy(&bytes));
                os.source = p.to_string();
                return Some(os);
            }
        }
        for p in ["/etc/redhat-release", "/etc/system-release", "/etc/centos-release"] {
            if let Ok(bytes) = root.read_bounded(Path::new(p), MAX_RELEASE_FILE) {
                let mut os = parse_release_line(&String::from_utf8_lossy(&bytes));
                os.source = p.to_string();
                return Some(os);
            }
        }
        None
    }

    /// What to show a user: PRETTY_NAME, else NAME VERSION_ID, else ID.
    pub fn display_name(&self) -> String {
        if let Some(p) = &self.pretty_name {
            return p.clone();
        }
        match (&self.name, &self.version_id) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            (Some(n), None) => n.clone(),
            _ => self.id.clone().unwrap_or_else(|| "unknown".to_string()),
        }
    }
}

/// Parse os-release's shell-like `KEY=value` lines (quotes and backslash escapes).
pub fn parse_os_release(text: &str) -> OsRelease {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "PRETTY_NAME" => os.pretty_name = Some(value),
            "NAME" => os.name = Some(value),
            "ID" => os.id = Some(value),
            "VERSION_ID" => os.version_id = Some(value),
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    os
}

fn unquote(v: &str) -> String {
    let inner =
        if v.len() >= 2 && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\''))) {
            &v[1..v.len() - 1]
        } else {
            v
        };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parse a line such as `CentOS Linux release 7.9.2009 (Core)`.
pub fn parse_release_line(text: &str) -> OsRelease {
    let line = text.lines().next().unwrap_or("").trim().to_string();
    let version_id = line
        .split_whitespace()
        .skip_while(|w| *w != "release")
        .nth(1)
        .map(str::to_string);
    let name = line.split(" release ").next().map(str::to_string);
    let lower = line.to_ascii_lowercase();
    let id = [
        ("centos", "centos"),
        ("red hat", "rhel"),
        ("fedora", "fedora"),
        ("amazon", "amzn"),
        ("rocky", "rocky"),
        ("alma", "almalinux"),
        ("oracle", "ol"),
        ("scientific", "scientific"),
    ]
    .iter()
    .find(|(needle, _)| lower.contains(needle))
    .map(|(_, id)| id.to_string());
    OsRelease {
        pretty_name: Some(line),
        name,
        id,
        version_id,
        id_like: Vec::new(),
        source: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_quotes() {
        let os = parse_os_release("NAME=\"CentOS Linux\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n");
        assert_eq!(os.pretty_name.as_deref(), Some("CentOS Linux 7 (Core)"));
        assert_eq!(os.id.as_deref(), Some("centos"));
        assert_eq!(os.id_like, vec!["rhel", "fedora"]);
        assert_eq!(os.version_id.as_deref(), Some("7"));
    }

    #[test]
    fn release_line() {
        let os = parse_release_line("CentOS release 5.11 (Final)\n");
        assert_eq!(os.version_id.as_deref(), Some("5.11"));
        assert_eq!(os.id.as_deref(), Some("centos"));
        assert_eq!(os.display_name(), "CentOS release 5.11 (Final)");
    }
}
