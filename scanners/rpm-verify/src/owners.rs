//! Owner and group names, resolved the way rpm resolves them when it verifies an image:
//! inside the image's own `/etc/passwd` and `/etc/group` (rpm `chroot`s into the root before
//! `getpwnam`/`getgrnam`), never the host's.
//!
//! Two layers:
//! - [`Accounts`]: the image's account files, parsed like glibc's `files` NSS module (first
//!   entry with the name wins; blank lines and `#` comments skipped; an entry whose id is not a
//!   number is ignored). A missing, unreadable or oversized file means no names resolve.
//! - [`OwnerCache`]: rpm 4.18's `rpmugUid`/`rpmugGid` (lib/rpmug.c) in front of the lookup.
//!   `root` is always 0. rpm means to remember the last name and id, but it compares the name's
//!   length with a remembered length that is never updated (it stays 0), so the cache only ever
//!   answers for an **empty** name that follows an empty name — with the id of the last
//!   successful lookup, as found. Every other name is looked up afresh. The differential tests
//!   pin this (a second file of an unknown owner is judged like the first).
//!
//! When a name does not resolve, rpm expects uid (gid) 0 and clears S_ISUID (S_ISGID) from
//! the expected mode (`rpmfilesStat`).

use rpmdb::root::Root;
use std::collections::HashMap;
use std::path::Path;

/// Larger account files than this are not read (a hostile image could make them huge).
pub const MAX_ACCOUNT_FILE: u64 = 16 << 20;

/// Names to ids from one image's `/etc/passwd` and `/etc/group`.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    users: HashMap<Vec<u8>, u32>,
    groups: HashMap<Vec<u8>, u32>,
    /// Problems reading the files, for the report (a missing file is not one).
    pub problems: Vec<String>,
}

impl Accounts {
    /// Read the account files of a root.
    pub fn read(root: &Root) -> Accounts {
        let mut problems = Vec::new();
        let mut load = |path: &str| -> HashMap<Vec<u8>, u32> {
            match root.read_bounded(Path::new(path), MAX_ACCOUNT_FILE) {
                Ok(bytes) => parse_id_file(&bytes),
                Err(e) if e.is_not_found() => HashMap::new(),
                Err(e) => {
                    problems.push(format!("owner names cannot be resolved: {e}"));
                    HashMap::new()
                }
            }
        };
        let users = load("/etc/passwd");
        let groups = load("/etc/group");
        Accounts {
            users,
            groups,
            problems,
        }
    }

    /// Accounts from the text of a passwd and a group file (tests).
    pub fn from_text(passwd: &[u8], group: &[u8]) -> Accounts {
        Accounts {
            users: parse_id_file(passwd),
            groups: parse_id_file(group),
            problems: Vec::new(),
        }
    }

    pub fn uid(&self, name: &[u8]) -> Option<u32> {
        self.users.get(name).copied()
    }

    pub fn gid(&self, name: &[u8]) -> Option<u32> {
        self.groups.get(name).copied()
    }
}

/// `name:password:id:...` lines, as glibc's files module reads passwd and group: the first
/// entry of a name wins.
fn parse_id_file(text: &[u8]) -> HashMap<Vec<u8>, u32> {
    let mut out = HashMap::new();
    for line in text.split(|&b| b == b'\n') {
        let line = trim_start(line);
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let mut fields = line.splitn(4, |&b| b == b':');
        let (Some(name), Some(_password), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Some(id) = parse_id(id) else { continue };
        out.entry(name.to_vec()).or_insert(id);
    }
    out
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// A decimal id as `strtoul` reads it into a 32-bit `uid_t`: leading blanks, digits, nothing
/// else before the next `:`.
fn parse_id(field: &[u8]) -> Option<u32> {
    let field = trim_start(field);
    let field = field.strip_suffix(b"\r").unwrap_or(field);
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in field {
        v = v.saturating_mul(10).saturating_add((d - b'0') as u64);
    }
    Some(v.min(u64::from(u32::MAX)) as u32)
}

/// What rpm expects of a file's owner: the ids, and whether the set-id bits survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedOwner {
    pub uid: u32,
    pub gid: u32,
    /// False when the user did not resolve: rpm clears S_ISUID from the expected mode.
    pub user_found: bool,
    /// False when the group did not resolve: rpm clears S_ISGID from the expected mode.
    pub group_found: bool,
}

/// rpm's one-entry lookup cache for users and for groups (lib/rpmug.c).
#[derive(Debug)]
pub struct OwnerCache<'a> {
    accounts: &'a Accounts,
    user: NameCache,
    group: NameCache,
}

#[derive(Debug, Default)]
struct NameCache {
    last_name: Option<Vec<u8>>,
    last_id: u32,
}

impl NameCache {
    /// `rpmugUid`/`rpmugGid`: `Some(id)` when rpm considers the name resolved.
    fn resolve(&mut self, name: &[u8], root_name: &[u8], lookup: impl Fn(&[u8]) -> Option<u32>) -> Option<u32> {
        if name == root_name {
            return Some(0);
        }
        // `thisUnameLen != lastUnameLen || !rstreq(thisUname, lastUname)`, with lastUnameLen
        // forever 0: only an empty name after an empty name is answered from the cache.
        if name.is_empty() && self.last_name.as_deref() == Some(name) {
            return Some(self.last_id);
        }
        // Remember the name, reusing the buffer (this runs once per file).
        let last = self.last_name.get_or_insert_with(Vec::new);
        last.clear();
        last.extend_from_slice(name);
        let id = lookup(name)?;
        self.last_id = id;
        Some(id)
    }
}

impl<'a> OwnerCache<'a> {
    pub fn new(accounts: &'a Accounts) -> OwnerCache<'a> {
        OwnerCache {
            accounts,
            user: NameCache::default(),
            group: NameCache::default(),
        }
    }

    /// The owner part of `rpmfilesStat` for one file, in the order rpm asks (user, then
    /// group). Call it exactly for the files rpm calls `rpmfilesStat` on, in rpm's order.
    pub fn expected(&mut self, user: &[u8], group: &[u8]) -> ExpectedOwner {
        let accounts = self.accounts;
        let uid = self.user.resolve(user, b"root", |n| accounts.uid(n));
        let gid = self.group.resolve(group, b"root", |n| accounts.gid(n));
        ExpectedOwner {
            uid: uid.unwrap_or(0),
            gid: gid.unwrap_or(0),
            user_found: uid.is_some(),
            group_found: gid.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_is_read_like_glibc_files() {
        let a = Accounts::from_text(
            b"root:x:0:0:root:/root:/bin/bash\n# comment\n\n  bin:x:1:1::/:/sbin/nologin\nalice:x:1000:1000::/home/a:/bin/sh\nalice:x:2000:2000::/:/bin/sh\nbad:x:12a:1::/:\n",
            b"wheel:x:10:alice\n",
        );
        assert_eq!(a.uid(b"alice"), Some(1000));
        assert_eq!(a.uid(b"bin"), Some(1));
        assert_eq!(a.uid(b"bad"), None);
        assert_eq!(a.gid(b"wheel"), Some(10));
        assert_eq!(a.gid(b"alice"), None);
    }

    #[test]
    fn the_cache_only_answers_for_an_empty_name() {
        let a = Accounts::from_text(b"daemon:x:2:2::/:\n", b"");
        let mut c = OwnerCache::new(&a);
        let first = c.expected(b"daemon", b"root");
        assert_eq!((first.uid, first.user_found), (2, true));
        // An unknown name fails every time: the cache never answers for it.
        for _ in 0..2 {
            let unknown = c.expected(b"nosuch", b"root");
            assert_eq!((unknown.uid, unknown.user_found), (0, false));
        }
        assert_eq!(c.expected(b"root", b"root").uid, 0);
        // An empty name fails, then is "found" with the last id rpm found.
        assert!(!c.expected(b"", b"root").user_found);
        let again = c.expected(b"", b"root");
        assert_eq!((again.uid, again.user_found), (2, true));
    }
}
