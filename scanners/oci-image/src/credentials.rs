//! Registry credentials from containers' `auth.json` and Docker's `config.json`:
//! `auths.KEY.auth` = base64(`user:password`) (or `username`/`password`), the most specific
//! key first (`host/namespace/repo`, …, `host`). Credential helpers are not run; one that is
//! configured is named so the user knows why nothing was found.

use base64::Engine as _;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
    /// The file they came from (for error messages).
    pub file: PathBuf,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({} from {})", self.user, self.file.display())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Lookup {
    pub found: Option<Credentials>,
    /// Every file looked at, as shown to the user (`PATH` or `PATH (absent)`).
    pub tried: Vec<String>,
    /// A credential helper configured for this registry (`credHelpers` / `credsStore`).
    pub helper: Option<String>,
}

/// The files to look in, in order.
pub fn files(authfile: Option<&Path>) -> Vec<PathBuf> {
    if let Some(f) = authfile {
        return vec![f.to_path_buf()];
    }
    let mut v = Vec::new();
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|f| !f.is_empty()) {
        v.push(PathBuf::from(f));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|f| !f.is_empty()) {
        v.push(PathBuf::from(d).join("containers/auth.json"));
    }
    if let Some(h) = std::env::var_os("HOME").filter(|f| !f.is_empty()) {
        let h = PathBuf::from(h);
        v.push(h.join(".config/containers/auth.json"));
        v.push(h.join(".docker/config.json"));
    }
    v
}

/// `https://index.docker.io/v1/` → `docker.io`; `quay.io/` → `quay.io`.
fn normalize_key(k: &str) -> String {
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let k = k.trim_end_matches('/');
    let k = k.strip_suffix("/v1").or_else(|| k.strip_suffix("/v2")).unwrap_or(k);
    match k {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

/// Look up credentials for `domain` (as in the reference: `docker.io`, `host:port`) and the
/// repository path `repo`.
pub fn lookup(authfile: Option<&Path>, domain: &str, repo: &str) -> Lookup {
    let mut out = Lookup::default();
    // Most specific first: domain/a/b, domain/a, domain.
    let mut keys = vec![domain.to_string()];
    let mut acc = domain.to_string();
    for c in repo.split('/') {
        acc.push('/');
        acc.push_str(c);
        keys.push(acc.clone());
    }
    keys.reverse();
    for file in files(authfile) {
        let Ok(bytes) = std::fs::read(&file) else {
            out.tried.push(format!("{} (absent)", file.display()));
            continue;
        };
        out.tried.push(file.display().to_string());
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            let last = out.tried.len() - 1;
            out.tried[last].push_str(" (not JSON)");
            continue;
        };
        if let Some(auths) = json.get("auths").and_then(|a| a.as_object()) {
            for key in &keys {
                let entry = auths.iter().find(|(k, _)| normalize_key(k) == *key).map(|(_, v)| v);
                let Some(entry) = entry else { continue };
                if let Some(c) = parse_entry(entry, &file) {
                    out.found = Some(c);
                    return out;
                }
            }
        }
        if out.helper.is_none() {
            let helper = json
                .get("credHelpers")
                .and_then(|h| h.as_object())
                .and_then(|h| h.iter().find(|(k, _)| normalize_key(k) == domain))
                .and_then(|(_, v)| v.as_str())
                .or_else(|| json.get("credsStore").and_then(|v| v.as_str()));
            out.helper = helper.map(|h| format!("docker-credential-{h} (from {})", file.display()));
        }
    }
    out
}

fn parse_entry(entry: &serde_json::Value, file: &Path) -> Option<Credentials> {
    if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some(Credentials {
            user: user.to_string(),
            password: password.to_string(),
            file: file.to_path_buf(),
        });
    }
    let user = entry.get("username").and_then(|v| v.as_str())?;
    let password = entry.get("password").and_then(|v| v.as_str())?;
    Some(Credentials {
        user: user.to_string(),
        password: password.to_string(),
        file: file.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_key_and_docker_aliases() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("auth.json");
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        std::fs::write(
            &f,
            serde_json::json!({"auths": {
                "https://index.docker.io/v1/": {"auth": b64("hub:pw")},
                "quay.io": {"auth": b64("q:1")},
                "quay.io/team": {"auth": b64("team:2:with:colons")},
            }, "credHelpers": {"gcr.io": "gcloud"}})
            .to_string(),
        )
        .unwrap();
        let l = lookup(Some(&f), "docker.io", "library/busybox");
        assert_eq!(l.found.unwrap().user, "hub");
        let l = lookup(Some(&f), "quay.io", "team/app");
        let c = l.found.unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("team", "2:with:colons"));
        assert_eq!(lookup(Some(&f), "quay.io", "other/app").found.unwrap().user, "q");
        let l = lookup(Some(&f), "gcr.io", "p/x");
        assert!(l.found.is_none());
        assert!(l.helper.unwrap().contains("docker-credential-gcloud"));
        let l = lookup(Some(&t.path().join("none.json")), "x.io", "a");
        assert_eq!(
            l.tried,
            vec![format!("{} (absent)", t.path().join("none.json").display())]
        );
    }
}
