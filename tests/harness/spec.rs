//! What to build: a package ([`PackageSpec`]) and its files ([`FileSpec`]), and the `.spec`
//! text rpmbuild gets for them. Paths are bytes (`PathBuf`), so non-UTF-8 names work.
//!
//! Limits: paths must be absolute and must not contain glob characters (`*?[]{}`), `%`,
//! `"` or newlines (rpm's `%files` syntax would read them); spaces are fine.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What a packaged path is in the build root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file with these bytes.
    Regular(Vec<u8>),
    /// A regular file copied from the host (e.g. `/bin/true`, to get an ELF file colour).
    CopyOf(PathBuf),
    /// A sparse regular file of this many zero bytes; with `%ghost` it gives a huge
    /// FILESIZES / LONGFILESIZES without a huge payload.
    Sparse(u64),
    /// A directory, listed with `%dir`.
    Dir,
    /// A symbolic link to this target (bytes, kept as given).
    Symlink(PathBuf),
    /// A hard link to another path of the same package (same inode in the build root).
    HardLink(PathBuf),
    /// A device node, `%dev(c|b, major, minor)`; not present in the build root.
    Device { block: bool, major: u32, minor: u32 },
    /// Not in the build root at all (only meaningful with `%ghost`).
    Absent,
}

/// One entry of `%files`, with its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub path: PathBuf,
    pub kind: FileKind,
    /// Permission bits for `%attr` (`None`: as in the build root, 0644 / 0755 for dirs).
    pub mode: Option<u32>,
    /// Owner and group for `%attr` (`None`: `root`). They need not exist anywhere.
    pub user: Option<String>,
    pub group: Option<String>,
    /// Directives written before the path: `%config(noreplace)`, `%doc`, `%ghost`,
    /// `%license`, `%readme`, `%verify(not md5 size mtime)`, `%lang(de)`…
    pub attrs: Vec<String>,
    /// `%caps(...)` text, e.g. `cap_net_raw=ep`.
    pub caps: Option<String>,
    /// Modification time to give the file in the build root (seconds since the epoch).
    pub mtime: Option<u64>,
}

impl FileSpec {
    pub fn new(path: impl Into<PathBuf>, kind: FileKind) -> FileSpec {
        FileSpec {
            path: path.into(),
            kind,
            mode: None,
            user: None,
            group: None,
            attrs: Vec::new(),
            caps: None,
            mtime: None,
        }
    }
    pub fn regular(path: impl Into<PathBuf>, content: impl AsRef<[u8]>) -> FileSpec {
        FileSpec::new(path, FileKind::Regular(content.as_ref().to_vec()))
    }
    /// A path given as raw bytes (for non-UTF-8 names).
    pub fn regular_bytes_path(path: &[u8], content: impl AsRef<[u8]>) -> FileSpec {
        FileSpec::regular(PathBuf::from(OsStr::from_bytes(path)), content)
    }
    pub fn copy_of(path: impl Into<PathBuf>, host_file: impl Into<PathBuf>) -> FileSpec {
        FileSpec::new(path, FileKind::CopyOf(host_file.into()))
    }
    pub fn sparse(path: impl Into<PathBuf>, size: u64) -> FileSpec {
        FileSpec::new(path, FileKind::Sparse(size))
    }
    pub fn dir(path: impl Into<PathBuf>) -> FileSpec {
        FileSpec::new(path, FileKind::Dir)
    }
    pub fn symlink(path: impl Into<PathBuf>, target: impl Into<PathBuf>) -> FileSpec {
        FileSpec::new(path, FileKind::Symlink(target.into()))
    }
    pub fn hard_link(path: impl Into<PathBuf>, to: impl Into<PathBuf>) -> FileSpec {
        FileSpec::new(path, FileKind::HardLink(to.into()))
    }
    pub fn char_device(path: impl Into<PathBuf>, major: u32, minor: u32) -> FileSpec {
        FileSpec::new(
            path,
            FileKind::Device {
                block: false,
                major,
                minor,
            },
        )
    }
    pub fn block_device(path: impl Into<PathBuf>, major: u32, minor: u32) -> FileSpec {
        FileSpec::new(
            path,
            FileKind::Device {
                block: true,
                major,
                minor,
            },
        )
    }
    /// `%ghost` with nothing in the build root.
    pub fn ghost(path: impl Into<PathBuf>) -> FileSpec {
        FileSpec::new(path, FileKind::Absent).attr("%ghost")
    }

    pub fn mode(mut self, mode: u32) -> FileSpec {
        self.mode = Some(mode);
        self
    }
    pub fn owner(mut self, user: &str, group: &str) -> FileSpec {
        self.user = Some(user.to_string());
        self.group = Some(group.to_string());
        self
    }
    /// Any `%files` directive, written verbatim before the path.
    pub fn attr(mut self, directive: &str) -> FileSpec {
        self.attrs.push(directive.to_string());
        self
    }
    pub fn config(self) -> FileSpec {
        self.attr("%config")
    }
    pub fn config_noreplace(self) -> FileSpec {
        self.attr("%config(noreplace)")
    }
    pub fn config_missingok(self) -> FileSpec {
        self.attr("%config(missingok)")
    }
    pub fn doc(self) -> FileSpec {
        self.attr("%doc")
    }
    pub fn license(self) -> FileSpec {
        self.attr("%license")
    }
    pub fn readme(self) -> FileSpec {
        self.attr("%readme")
    }
    pub fn ghost_attr(self) -> FileSpec {
        self.attr("%ghost")
    }
    /// `%verify(not <what>)`, e.g. `verify_not("md5 size mtime")`.
    pub fn verify_not(self, what: &str) -> FileSpec {
        self.attr(&format!("%verify(not {what})"))
    }
    pub fn caps(mut self, caps: &str) -> FileSpec {
        self.caps = Some(caps.to_string());
        self
    }
    pub fn mtime(mut self, secs: u64) -> FileSpec {
        self.mtime = Some(secs);
        self
    }

    /// The `%files` line for this entry, as bytes (the path may not be UTF-8).
    pub fn files_line(&self) -> Vec<u8> {
        let path = self.path.as_os_str().as_bytes();
        assert!(
            path.first() == Some(&b'/'),
            "packaged path {:?} is not absolute",
            self.path
        );
        for bad in [b'*', b'?', b'[', b']', b'{', b'}', b'%', b'"', b'\n', b'\\'] {
            assert!(
                !path.contains(&bad),
                "packaged path {:?} contains {:?}",
                self.path,
                bad as char
            );
        }
        let mut line = String::new();
        let mode = match (&self.kind, self.mode) {
            (_, Some(m)) => format!("{m:04o}"),
            (FileKind::Device { .. }, None) => "0644".to_string(),
            _ => "-".to_string(),
        };
        let user = self.user.as_deref().unwrap_or("root");
        let group = self.group.as_deref().unwrap_or("root");
        line.push_str(&format!("%attr({mode},{user},{group}) "));
        match &self.kind {
            FileKind::Dir => line.push_str("%dir "),
            FileKind::Device { block, major, minor } => {
                line.push_str(&format!("%dev({}, {major}, {minor}) ", if *block { 'b' } else { 'c' }))
            }
            _ => {}
        }
        if let Some(c) = &self.caps {
            line.push_str(&format!("%caps({c}) "));
        }
        for a in &self.attrs {
            line.push_str(a);
            line.push(' ');
        }
        let mut out = line.into_bytes();
        let quote = path.contains(&b' ');
        if quote {
            out.push(b'"');
        }
        out.extend_from_slice(path);
        if quote {
            out.push(b'"');
        }
        out.push(b'\n');
        out
    }
}

/// A binary package to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSpec {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// `x86_64`, `noarch`, `i686`… (`--target` for rpmbuild; `BuildArch` for noarch).
    pub arch: String,
    pub summary: String,
    pub license: String,
    pub vendor: Option<String>,
    pub packager: Option<String>,
    pub url: Option<String>,
    /// BUILDHOST (`_buildhost`); fixed so builds are comparable.
    pub buildhost: String,
    /// MODULARITYLABEL (`name:stream:version:context`), as module builds set it.
    pub modularity_label: Option<String>,
    /// Macros defined at the top of the spec (`%define NAME VALUE`), e.g.
    /// `_binary_filedigest_algorithm 1` for MD5 file digests.
    pub defines: Vec<String>,
    /// Dependencies in spec syntax, e.g. `foo >= 1.0`.
    pub provides: Vec<String>,
    pub requires: Vec<String>,
    pub obsoletes: Vec<String>,
    pub conflicts: Vec<String>,
    pub files: Vec<FileSpec>,
    /// The source package's name when it is not the binary's (`SOURCERPM` then names it): the
    /// binary is built as the subpackage `%package -n NAME` of a spec called this.
    pub source_name: Option<String>,
}

impl PackageSpec {
    pub fn new(name: &str, version: &str, release: &str) -> PackageSpec {
        PackageSpec {
            name: name.to_string(),
            epoch: None,
            version: version.to_string(),
            release: release.to_string(),
            arch: "x86_64".to_string(),
            summary: format!("{name}, built by the test harness"),
            license: "MIT".to_string(),
            vendor: None,
            packager: None,
            url: None,
            buildhost: "harness.example.org".to_string(),
            modularity_label: None,
            defines: Vec::new(),
            provides: Vec::new(),
            requires: Vec::new(),
            obsoletes: Vec::new(),
            conflicts: Vec::new(),
            files: Vec::new(),
            source_name: None,
        }
    }
    /// Build from a source package of another name (see [`PackageSpec::source_name`]).
    pub fn source_name(mut self, source: &str) -> PackageSpec {
        self.source_name = Some(source.to_string());
        self
    }
    pub fn epoch(mut self, epoch: u32) -> PackageSpec {
        self.epoch = Some(epoch);
        self
    }
    pub fn arch(mut self, arch: &str) -> PackageSpec {
        self.arch = arch.to_string();
        self
    }
    pub fn summary(mut self, s: &str) -> PackageSpec {
        self.summary = s.to_string();
        self
    }
    pub fn license(mut self, s: &str) -> PackageSpec {
        self.license = s.to_string();
        self
    }
    pub fn vendor(mut self, s: &str) -> PackageSpec {
        self.vendor = Some(s.to_string());
        self
    }
    pub fn packager(mut self, s: &str) -> PackageSpec {
        self.packager = Some(s.to_string());
        self
    }
    pub fn url(mut self, s: &str) -> PackageSpec {
        self.url = Some(s.to_string());
        self
    }
    pub fn buildhost(mut self, s: &str) -> PackageSpec {
        self.buildhost = s.to_string();
        self
    }
    /// `%define NAME VALUE` at the top of the spec.
    pub fn define(mut self, name_and_value: &str) -> PackageSpec {
        self.defines.push(name_and_value.to_string());
        self
    }
    pub fn modularity_label(mut self, label: &str) -> PackageSpec {
        self.modularity_label = Some(label.to_string());
        self
    }
    pub fn provides(mut self, dep: &str) -> PackageSpec {
        self.provides.push(dep.to_string());
        self
    }
    pub fn requires(mut self, dep: &str) -> PackageSpec {
        self.requires.push(dep.to_string());
        self
    }
    pub fn obsoletes(mut self, dep: &str) -> PackageSpec {
        self.obsoletes.push(dep.to_string());
        self
    }
    pub fn conflicts(mut self, dep: &str) -> PackageSpec {
        self.conflicts.push(dep.to_string());
        self
    }
    pub fn file(mut self, f: FileSpec) -> PackageSpec {
        self.files.push(f);
        self
    }
    pub fn files(mut self, fs: impl IntoIterator<Item = FileSpec>) -> PackageSpec {
        self.files.extend(fs);
        self
    }

    /// `name-version-release.arch.rpm`, the file rpmbuild writes.
    pub fn rpm_file_name(&self) -> String {
        format!("{}-{}-{}.{}.rpm", self.name, self.version, self.release, self.arch)
    }

    /// The `.spec` text. `%install` copies `stage` (the prepared build root) into
    /// `%{buildroot}` with `cp -a`, which keeps hard links, symlinks and modes.
    pub fn spec_text(&self, stage: &std::path::Path) -> Vec<u8> {
        let mut s = String::new();
        s.push_str("%global __os_install_post %{nil}\n");
        s.push_str("%global __brp_strip %{nil}\n");
        s.push_str("%define _build_id_links none\n");
        s.push_str("%define debug_package %{nil}\n");
        for d in &self.defines {
            s.push_str(&format!("%define {d}\n"));
        }
        if let Some(label) = &self.modularity_label {
            s.push_str(&format!("%global modularitylabel {label}\n"));
        }
        s.push_str(&format!(
            "Name: {}\n",
            self.source_name.as_deref().unwrap_or(&self.name)
        ));
        if let Some(e) = self.epoch {
            s.push_str(&format!("Epoch: {e}\n"));
        }
        s.push_str(&format!("Version: {}\n", self.version));
        s.push_str(&format!("Release: {}\n", self.release));
        s.push_str(&format!("Summary: {}\n", self.summary));
        s.push_str(&format!("License: {}\n", self.license));
        if self.arch == "noarch" {
            s.push_str("BuildArch: noarch\n");
        }
        if let Some(v) = &self.vendor {
            s.push_str(&format!("Vendor: {v}\n"));
        }
        if let Some(v) = &self.packager {
            s.push_str(&format!("Packager: {v}\n"));
        }
        if let Some(v) = &self.url {
            s.push_str(&format!("URL: {v}\n"));
        }
        s.push_str("AutoReqProv: no\n");
        if self.source_name.is_some() {
            // The source package's own description, then the binary as a subpackage.
            s.push_str(&format!("%description\n{}\n", self.summary));
            s.push_str(&format!("%package -n {}\nSummary: {}\n", self.name, self.summary));
        }
        for (tag, deps) in [
            ("Provides", &self.provides),
            ("Requires", &self.requires),
            ("Obsoletes", &self.obsoletes),
            ("Conflicts", &self.conflicts),
        ] {
            for d in deps {
                s.push_str(&format!("{tag}: {d}\n"));
            }
        }
        match &self.source_name {
            Some(_) => s.push_str(&format!("%description -n {}\n{}\n", self.name, self.summary)),
            None => s.push_str(&format!("%description\n{}\n", self.summary)),
        }
        s.push_str("%install\n");
        s.push_str(&format!("cp -a '{}'/. %{{buildroot}}/\n", stage.display()));
        match &self.source_name {
            Some(_) => s.push_str(&format!("%files -n {}\n", self.name)),
            None => s.push_str("%files\n"),
        }
        let mut out = s.into_bytes();
        for f in &self.files {
            out.extend_from_slice(&f.files_line());
        }
        out
    }
}
