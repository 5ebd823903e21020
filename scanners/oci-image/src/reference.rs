//! Image references as containers/image writes them: `docker://`, `oci:`, `oci-archive:`,
//! `docker-archive:`, `containers-storage:`; a reference without a transport is a registry
//! name (`NAME[:TAG]`, normalised as docker does: `docker.io`, `library/`, `latest`).

use crate::digest::Digest;
use crate::error::{fail, ErrorKind, Fail};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Docker,
    Oci,
    OciArchive,
    DockerArchive,
    ContainersStorage,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Docker => "docker",
            Transport::Oci => "oci",
            Transport::OciArchive => "oci-archive",
            Transport::DockerArchive => "docker-archive",
            Transport::ContainersStorage => "containers-storage",
        }
    }
}

/// `os/architecture[/variant]` in OCI (Go) names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`.
    pub fn parse(s: &str) -> Result<Platform, String> {
        let parts: Vec<&str> = s.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(format!("{s:?} is not a platform (os/arch[/variant])"));
        }
        Ok(Platform {
            os: parts[0].to_string(),
            architecture: normalize_arch(parts[1]).to_string(),
            variant: parts.get(2).map(|v| v.to_string()),
        })
    }

    /// The platform this program was built for, in OCI names.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "x86" => ("386", None),
            "aarch64" => ("arm64", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" => ("ppc64", None),
            "powerpc" => ("ppc", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            "mips64" => ("mips64", None),
            "loongarch64" => ("loong64", None),
            other => (other, None),
        };
        // ppc64le: Rust says powerpc64 for both endiannesses.
        let architecture = if architecture == "ppc64" && cfg!(target_endian = "little") {
            "ppc64le"
        } else {
            architecture
        };
        Platform {
            os: std::env::consts::OS.to_string(),
            architecture: architecture.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Whether a manifest list entry for `os/arch/variant` serves this platform. A missing
    /// variant on either side matches (arm64 entries rarely name v8).
    pub fn matches(&self, os: &str, architecture: &str, variant: Option<&str>) -> bool {
        if self.os != os || self.architecture != normalize_arch(architecture) {
            return false;
        }
        match (self.variant.as_deref(), variant) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

/// Names some tools use for OCI architectures.
fn normalize_arch(a: &str) -> &str {
    match a {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" | "i686" => "386",
        other => other,
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A registry image: `HOST[:PORT]/NAME` and a tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerRef {
    /// As in credential files and certs.d: `docker.io`, `quay.io`, `127.0.0.1:5000`.
    pub domain: String,
    /// The repository path: `library/busybox`.
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl DockerRef {
    /// The host the API is served from (`registry-1.docker.io` for `docker.io`).
    pub fn api_host(&self) -> &str {
        if self.domain == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.domain
        }
    }

    /// The tag or digest to ask the registry for.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".into(),
        }
    }
}

/// Where an image lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Docker(DockerRef),
    Oci {
        dir: PathBuf,
        tag: Option<String>,
    },
    OciArchive {
        file: PathBuf,
        tag: Option<String>,
    },
    /// `name` is the `NAME:TAG` in `RepoTags`, or `@N` for the Nth image.
    DockerArchive {
        file: PathBuf,
        name: Option<String>,
    },
    ContainersStorage(StorageRef),
}

/// `containers-storage:[DRIVER@GRAPHROOT+RUNROOT]NAME[:TAG]`, `…@DIGEST` or an id prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    pub driver: Option<String>,
    pub graph_root: Option<PathBuf>,
    pub image: String,
}

impl Reference {
    pub fn transport(&self) -> Transport {
        match self {
            Reference::Docker(_) => Transport::Docker,
            Reference::Oci { .. } => Transport::Oci,
            Reference::OciArchive { .. } => Transport::OciArchive,
            Reference::DockerArchive { .. } => Transport::DockerArchive,
            Reference::ContainersStorage(_) => Transport::ContainersStorage,
        }
    }
}

fn bad(message: impl Into<String>) -> Fail {
    fail(ErrorKind::Reference, message)
}

/// Parse a reference (see the module documentation).
pub fn parse(s: &str) -> Result<Reference, Fail> {
    if s.is_empty() {
        return Err(bad("empty image reference"));
    }
    if let Some(rest) = s.strip_prefix("docker://") {
        return parse_docker(rest).map(Reference::Docker);
    }
    let (path_and_tag, kind) = if let Some(r) = s.strip_prefix("oci-archive:") {
        (r, Transport::OciArchive)
    } else if let Some(r) = s.strip_prefix("oci:") {
        (r, Transport::Oci)
    } else if let Some(r) = s.strip_prefix("docker-archive:") {
        (r, Transport::DockerArchive)
    } else if let Some(r) = s.strip_prefix("containers-storage:") {
        return parse_storage(r).map(Reference::ContainersStorage);
    } else if let Some((t, _)) = s
        .split_once(':')
        .filter(|(t, rest)| ["docker-daemon", "dir", "ostree", "sif", "tarball"].contains(t) && !rest.is_empty())
    {
        return Err(fail(
            ErrorKind::Unsupported,
            format!("the {t}: transport is not supported (docker://, oci:, oci-archive:, docker-archive:, containers-storage: are)"),
        ));
    } else {
        return parse_docker(s).map(Reference::Docker);
    };
    // containers/image splits PATH:REST at the first colon.
    let (path, rest) = match path_and_tag.split_once(':') {
        Some((p, r)) => (p, Some(r)),
        None => (path_and_tag, None),
    };
    if path.is_empty() {
        return Err(bad(format!("no path in {s:?}")));
    }
    let rest = rest.filter(|r| !r.is_empty()).map(str::to_string);
    let path = PathBuf::from(path);
    Ok(match kind {
        Transport::Oci => Reference::Oci { dir: path, tag: rest },
        Transport::OciArchive => Reference::OciArchive { file: path, tag: rest },
        _ => Reference::DockerArchive { file: path, name: rest },
    })
}

fn parse_storage(s: &str) -> Result<StorageRef, Fail> {
    let mut r = StorageRef {
        driver: None,
        graph_root: None,
        image: s.to_string(),
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (spec, image) = rest
            .split_once(']')
            .ok_or_else(|| bad(format!("{s:?}: [DRIVER@ROOT+RUNROOT] without ']'")))?;
        let (driver, roots) = match spec.split_once('@') {
            Some((d, roots)) => (Some(d.to_string()), roots),
            None => (None, spec),
        };
        let graph = roots.split_once('+').map(|(g, _)| g).unwrap_or(roots);
        if !graph.starts_with('/') {
            return Err(bad(format!("{s:?}: the storage root must be an absolute path")));
        }
        r.driver = driver.filter(|d| !d.is_empty());
        r.graph_root = Some(PathBuf::from(graph));
        r.image = image.to_string();
    }
    if r.image.is_empty() {
        return Err(bad(format!("no image name in containers-storage:{s}")));
    }
    Ok(r)
}

/// `[DOMAIN/]PATH[:TAG][@DIGEST]`, docker's normalisation.
pub fn parse_docker(s: &str) -> Result<DockerRef, Fail> {
    let (name_tag, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(Digest::parse(d).map_err(bad)?)),
        None => (s, None),
    };
    // A tag is after the last colon that comes after the last slash (a port is before one).
    let (name, tag) = match name_tag.rfind(':') {
        Some(i) if !name_tag[i..].contains('/') => (&name_tag[..i], Some(&name_tag[i + 1..])),
        _ => (name_tag, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
            && !t.starts_with(['.', '-']);
        if !ok {
            return Err(bad(format!("{s:?}: {t:?} is not a valid tag")));
        }
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io".to_string()
    } else {
        domain
    };
    let path = if domain == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let valid_component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && c.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
    };
    if path.is_empty() || !path.split('/').all(valid_component) || path.len() > 255 {
        return Err(bad(format!(
            "{s:?}: {path:?} is not a valid repository name (lower-case letters, digits, . _ - and /)"
        )));
    }
    let valid_domain = domain
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if domain.is_empty() || !valid_domain {
        return Err(bad(format!("{s:?}: {domain:?} is not a valid registry host")));
    }
    let tag = match (tag, &digest) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(_)) => None,
        (None, None) => Some("latest".to_string()),
    };
    Ok(DockerRef {
        domain,
        name: path,
        tag,
        digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docker(s: &str) -> DockerRef {
        match parse(s).unwrap() {
            Reference::Docker(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn docker_normalisation() {
        let d = docker("busybox");
        assert_eq!(
            (d.domain.as_str(), d.name.as_str(), d.tag.as_deref()),
            ("docker.io", "library/busybox", Some("latest"))
        );
        assert_eq!(d.api_host(), "registry-1.docker.io");
        let d = docker("docker://quay.io/centos/centos:stream9");
        assert_eq!(
            (d.domain.as_str(), d.name.as_str(), d.tag.as_deref()),
            ("quay.io", "centos/centos", Some("stream9"))
        );
        let d = docker("docker://127.0.0.1:5000/a/b");
        assert_eq!(
            (d.domain.as_str(), d.name.as_str(), d.tag.as_deref()),
            ("127.0.0.1:5000", "a/b", Some("latest"))
        );
        let dg = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d = docker(&format!("localhost/x@{dg}"));
        assert_eq!((d.domain.as_str(), d.tag.as_deref()), ("localhost", None));
        assert_eq!(d.manifest_ref(), dg);
        let d = docker("docker://user/repo:1.0");
        assert_eq!((d.domain.as_str(), d.name.as_str()), ("docker.io", "user/repo"));
        for bad in [
            "docker://",
            "docker://UPPER/x/Y",
            "a/b:bad tag",
            "x@sha256:../..",
            "docker://h/../x",
            "dir:/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_and_storage() {
        assert_eq!(
            parse("oci:/srv/l:v1").unwrap(),
            Reference::Oci {
                dir: "/srv/l".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            parse("oci-archive:x.tar").unwrap(),
            Reference::OciArchive {
                file: "x.tar".into(),
                tag: None
            }
        );
        assert_eq!(
            parse("docker-archive:/x.tar:localhost/a:b").unwrap(),
            Reference::DockerArchive {
                file: "/x.tar".into(),
                name: Some("localhost/a:b".into())
            }
        );
        assert_eq!(
            parse("containers-storage:[vfs@/g+/r]localhost/a:b").unwrap(),
            Reference::ContainersStorage(StorageRef {
                driver: Some("vfs".into()),
                graph_root: Some("/g".into()),
                image: "localhost/a:b".into()
            })
        );
        assert!(parse("containers-storage:[vfs@rel+/r]a").is_err());
    }

    #[test]
    fn platforms() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert!(p.matches("linux", "arm64", None));
        assert!(!p.matches("linux", "arm64", Some("v7")));
        assert!(Platform::parse("linux/x86_64").unwrap().matches("linux", "amd64", None));
        assert!(Platform::parse("linux").is_err());
        if cfg!(target_arch = "x86_64") {
            assert_eq!(Platform::host().to_string(), "linux/amd64");
        }
    }
}
