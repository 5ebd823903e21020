//! `install` and `uninstall`: the manifest in `$HOST/etc/atomic.d/<scanner_name>`.
//!
//! The image has no shell, so the binary does what the CentOS pipeline's `install.sh` did.
//! `atomic install IMAGE` runs the image's `INSTALL` label after replacing `${IMAGE}` with the
//! image name the user gave; the label bind-mounts the host's `/etc/atomic.d/` at
//! `/host/etc/atomic.d/` and passes the name both as `-e IMAGE=${IMAGE}` and by running
//! `${IMAGE} install`. The manifest written names that image (`image_name:`), so that
//! `atomic scan` later runs the image that was installed, as the openscap scanner does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The folder `install` writes into, under `--host`.
pub const ATOMIC_D: &str = "etc/atomic.d";

/// The embedded manifest with its top-level `image_name:` line set to `image`.
pub fn with_image_name(manifest: &str, image: &str) -> Result<String, String> {
    check_image_name(image)?;
    let mut found = 0;
    let mut out = String::with_capacity(manifest.len() + image.len());
    for line in manifest.split_inclusive('\n') {
        if line.starts_with("image_name:") {
            found += 1;
            out.push_str("image_name: ");
            out.push_str(image);
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    match found {
        1 => Ok(out),
        0 => Err("the embedded manifest has no top-level `image_name:` line".to_string()),
        n => Err(format!("the embedded manifest has {n} top-level `image_name:` lines")),
    }
}

/// Image references are `[registry/]path[:tag][@digest]`; anything else (spaces, quotes, `$`,
/// YAML syntax) is refused rather than written into a YAML file atomic will run.
pub fn check_image_name(image: &str) -> Result<(), String> {
    let ok = !image.is_empty()
        && image.len() <= 512
        && image.chars().all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c))
        && image.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{image:?} is not an image reference ([registry/]name[:tag][@digest])"
        ))
    }
}

/// Where the manifest goes: `<host>/etc/atomic.d/<scanner_name>`.
pub fn manifest_path(host: &Path, scanner_name: &str) -> PathBuf {
    host.join(ATOMIC_D).join(scanner_name)
}

/// Write the manifest (with `image_name` replaced when `image` is given). The folder must
/// exist: it is the host's `/etc/atomic.d` bind-mounted by the label, and creating it in the
/// container would hide a missing `-v`.
pub fn install(manifest: &str, host: &Path, scanner_name: &str, image: Option<&str>) -> Result<PathBuf, String> {
    let text = match image {
        Some(image) => with_image_name(manifest, image)?,
        None => manifest.to_string(),
    };
    let dir = host.join(ATOMIC_D);
    let meta = fs::metadata(&dir).map_err(|e| {
        format!(
            "{}: {e} (bind-mount the host's /etc/atomic.d there: -v /etc/atomic.d/:/host/etc/atomic.d/)",
            dir.display()
        )
    })?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    let path = manifest_path(host, scanner_name);
    let tmp = dir.join(format!(".{scanner_name}.partial"));
    fs::write(&tmp, text.as_bytes())
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|e| {
            let _ = fs::remove_file(&tmp);
            format!("{}: {e}", path.display())
        })?;
    Ok(path)
}

/// Remove the manifest. Already absent is not an error (`Ok(false)`).
pub fn uninstall(host: &Path, scanner_name: &str) -> Result<(PathBuf, bool), String> {
    let path = manifest_path(host, scanner_name);
    match fs::remove_file(&path) {
        Ok(()) => Ok((path, true)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok((path, false)),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "type: scanner\nscanner_name: demo\nimage_name: localhost/scanner-demo\ndefault_scan: demo\nscans:\n  - name: demo\n    args: [\"--scan-type\", \"demo\"]\n    description: \"Demo\"\n";

    #[test]
    fn image_name_is_replaced_and_nothing_else() {
        let out = with_image_name(MANIFEST, "registry.example/ns/scanner-demo:1.2@sha256:abc").unwrap();
        assert_eq!(
            out,
            MANIFEST.replace(
                "localhost/scanner-demo",
                "registry.example/ns/scanner-demo:1.2@sha256:abc"
            )
        );
        assert!(with_image_name("type: scanner\n", "x").is_err());
        assert!(with_image_name(MANIFEST, "bad name").is_err());
        assert!(with_image_name(MANIFEST, "$IMAGE").is_err());
        assert!(with_image_name(MANIFEST, "").is_err());
    }

    #[test]
    fn install_writes_and_uninstall_removes() {
        let host = tempfile::tempdir().unwrap();
        let err = install(MANIFEST, host.path(), "demo", Some("img")).unwrap_err();
        assert!(err.contains("/etc/atomic.d"), "{err}");
        fs::create_dir_all(host.path().join(ATOMIC_D)).unwrap();
        let path = install(MANIFEST, host.path(), "demo", Some("localhost/other:tag")).unwrap();
        assert_eq!(path, host.path().join("etc/atomic.d/demo"));
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\nimage_name: localhost/other:tag\n"), "{text}");
        assert_eq!(
            fs::read_dir(host.path().join(ATOMIC_D)).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert_eq!(uninstall(host.path(), "demo").unwrap(), (path.clone(), true));
        assert!(!path.exists());
        assert_eq!(uninstall(host.path(), "demo").unwrap(), (path, false));
    }
}
