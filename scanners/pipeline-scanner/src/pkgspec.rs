//! Package specs as `exclude=` and `includepkgs=` write them: shell globs (`*`, `?`, `[...]`)
//! matched, as dnf's `Subject` does with NEVRA forms, against the package's name, `name.arch`,
//! `name-version`, `name-version-release`, `name-version-release.arch` and the same with the
//! epoch (`name-epoch:version-release.arch`). Provides and file names are not matched (dnf
//! does not for excludes either).

/// A list of specs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Specs(pub Vec<String>);

impl Specs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether any spec matches the package.
    pub fn matches(&self, name: &str, epoch: u32, version: &str, release: &str, arch: &str) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let forms = [
            name.to_string(),
            format!("{name}.{arch}"),
            format!("{name}-{version}"),
            format!("{name}-{version}-{release}"),
            format!("{name}-{version}-{release}.{arch}"),
            format!("{name}-{epoch}:{version}"),
            format!("{name}-{epoch}:{version}-{release}"),
            format!("{name}-{epoch}:{version}-{release}.{arch}"),
            format!("{epoch}:{name}-{version}-{release}.{arch}"),
        ];
        self.0
            .iter()
            .any(|spec| forms.iter().any(|f| glob(spec.as_bytes(), f.as_bytes())))
    }
}

/// fnmatch(3) without flags: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`/`[^x]`, `\` escapes.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matching with one backtrack point for the last `*`: linear in practice, no
    // recursion on hostile patterns.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(pattern, p, text[t]) {
                        if matched {
                            p = next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if pattern[p + 1] == text[t] {
                        p += 2;
                        t += 1;
                        continue;
                    }
                }
                c => {
                    if c == text[t] {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A bracket expression at `pattern[start] == b'['`: whether `c` is in it, and the index
/// after it; `None` when the bracket is not closed (then `[` is literal).
fn class(pattern: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = i < pattern.len() && (pattern[i] == b'!' || pattern[i] == b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() {
        let lo = pattern[i];
        if lo == b']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < pattern.len() && pattern[i + 1] == b'-' && pattern[i + 2] != b']' {
            let hi = pattern[i + 2];
            if lo <= c && c <= hi {
                matched = true;
            }
            i += 3;
        } else {
            if lo == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob(b"kernel*", b"kernel-core"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"kernel*", b"xkernel"));
        assert!(glob(b"f?o", b"foo"));
        assert!(glob(b"[a-c]at", b"bat"));
        assert!(!glob(b"[!a-c]at", b"bat"));
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(!glob(b"a*b*c", b"aXXbYY"));
        assert!(glob(b"[x", b"[x"));
    }

    #[test]
    fn nevra_forms() {
        let s = Specs(vec!["foo.i686".into(), "bar-2*".into(), "baz-1:*".into()]);
        assert!(s.matches("foo", 0, "1", "1", "i686"));
        assert!(!s.matches("foo", 0, "1", "1", "x86_64"));
        assert!(s.matches("bar", 0, "2.1", "1", "noarch"));
        assert!(!s.matches("bar", 0, "1.9", "1", "noarch"));
        assert!(s.matches("baz", 1, "3", "1", "noarch"));
        assert!(!s.matches("baz", 0, "3", "1", "noarch"));
    }
}
