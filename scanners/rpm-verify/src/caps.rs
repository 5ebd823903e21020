//! File capabilities, compared as rpm 4.18 compares them (built with libcap):
//! `cap_from_text(FILECAPS)` against `cap_get_file(path)`, then `cap_compare`.
//!
//! - The header side is the text form (`cap_net_raw=ep`, `= cap_setuid+i`…), parsed with
//!   libcap's grammar: whitespace-separated clauses `names[op flags]...`, names
//!   case-insensitive (`cap_` names libcap 2.66 knows, numbers, or `all`), operators `=`, `+`,
//!   `-`, flags `e`, `i`, `p`. Text libcap rejects gives no capability set at all.
//! - The file side is the raw `security.capability` xattr (read without following links),
//!   decoded as `cap_get_file` does: revision 1, 2 or 3 with exactly its size, permitted and
//!   inheritable words, effective = permitted | inheritable when the effective flag is set.
//!   Anything else gives no set.
//! - `cap_compare` looks at the effective, inheritable and permitted words only; a missing set
//!   on one side and a set on the other differ; no set on either side is equal.
//!
//! Empty FILECAPS means "no capability" and builds no set.

/// The effective, permitted and inheritable sets, 64 capabilities each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSets {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
}

/// Capability names libcap 2.66 knows, by number (`cap_` prefix omitted).
const NAMES: [&str; 41] = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// libcap's set of capability bits: two 32-bit words.
const MAX_BITS: u64 = 64;

const EFF: u8 = 1;
const INH: u8 = 2;
const PER: u8 = 4;

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `cap_from_text`; `None` where libcap returns NULL.
pub fn from_text(text: &[u8]) -> Option<CapSets> {
    let mut res = CapSets::default();
    let at = |i: usize| text.get(i).copied().unwrap_or(0);
    let mut i = 0usize;
    loop {
        while is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(res);
        }
        let mut list: u64 = 0;
        let mut listed = false;
        let c = at(i);
        if c.is_ascii_alphanumeric() || c == b'_' {
            loop {
                if let Some(next) = name_matches(text, i, b"all") {
                    i = next;
                    list = u64::MAX;
                } else {
                    let (n, next) = lookup_name(text, i)?;
                    list |= 1u64 << n;
                    i = next;
                }
                if at(i) != b',' {
                    break;
                }
                i += 1;
                if !(at(i).is_ascii_alphanumeric() || at(i) == b'_') {
                    return None;
                }
            }
            listed = true;
        } else if c == b'+' || c == b'-' {
            return None;
        } else {
            list = u64::MAX;
        }

        // The first operator; `=+` and `=-` are their own operators.
        let mut op = at(i);
        i += 1;
        if op == b'=' && (at(i) == b'+' || at(i) == b'-') {
            if !listed {
                return None;
            }
            op = if at(i) == b'+' { b'P' } else { b'M' };
            i += 1;
        } else if op != b'+' && op != b'-' && op != b'=' {
            return None;
        }

        let mut flags: u8 = 0;
        loop {
            let c = at(i);
            if c != 0 && !is_space(c) {
                i += 1;
                flags |= match c {
                    b'e' => EFF,
                    b'i' => INH,
                    b'p' => PER,
                    _ => return None,
                };
            } else if op != b'=' {
                return None;
            }
            match op {
                b'=' | b'P' | b'M' => {
                    res.effective &= !list;
                    res.permitted &= !list;
                    res.inheritable &= !list;
                    if op == b'M' {
                        lower(&mut res, list, flags);
                    } else {
                        raise(&mut res, list, flags);
                    }
                }
                b'+' => raise(&mut res, list, flags),
                _ => lower(&mut res, list, flags),
            }
            if at(i) == b'+' || at(i) == b'-' {
                if !listed {
                    return None;
                }
                flags = 0;
                op = at(i);
                i += 1;
                if !at(i).is_ascii_alphabetic() {
                    return None;
                }
            }
            if at(i) == 0 || is_space(at(i)) {
                break;
            }
        }
    }
}

fn raise(res: &mut CapSets, list: u64, flags: u8) {
    if flags & EFF != 0 {
        res.effective |= list;
    }
    if flags & PER != 0 {
        res.permitted |= list;
    }
    if flags & INH != 0 {
        res.inheritable |= list;
    }
}

fn lower(res: &mut CapSets, list: u64, flags: u8) {
    if flags & EFF != 0 {
        res.effective &= !list;
    }
    if flags & PER != 0 {
        res.permitted &= !list;
    }
    if flags & INH != 0 {
        res.inheritable &= !list;
    }
}

/// libcap's `namcmp`: `name` (lowercase) matches case-insensitively at `i` and is not
/// followed by another name character. Returns the index after it.
fn name_matches(text: &[u8], i: usize, name: &[u8]) -> Option<usize> {
    let end = i + name.len();
    let word = text.get(i..end)?;
    if !word.eq_ignore_ascii_case(name) {
        return None;
    }
    match text.get(end) {
        Some(&c) if c.is_ascii_alphanumeric() || c == b'_' => None,
        _ => Some(end),
    }
}

/// libcap's `lookupname`: a number (`strtoul` base 0) below 64, or a known name made of
/// letters and `_`, case-insensitive.
fn lookup_name(text: &[u8], i: usize) -> Option<(u32, usize)> {
    let at = |k: usize| text.get(k).copied().unwrap_or(0);
    if at(i).is_ascii_digit() {
        let (value, next) = strtoul(text, i);
        return if value < MAX_BITS {
            Some((value as u32, next))
        } else {
            None
        };
    }
    let len = text[i..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic() || **c == b'_')
        .count();
    let word = &text[i..i + len];
    let n = NAMES.iter().position(|n| {
        word.len() == 4 + n.len()
            && word[..4].eq_ignore_ascii_case(b"cap_")
            && word[4..].eq_ignore_ascii_case(n.as_bytes())
    })?;
    Some((n as u32, i + len))
}

/// `strtoul(s, &end, 0)` from a digit: decimal, `0x` hexadecimal or `0` octal.
fn strtoul(text: &[u8], i: usize) -> (u64, usize) {
    let at = |k: usize| text.get(k).copied().unwrap_or(0);
    let (radix, mut k) = if at(i) == b'0' && (at(i + 1) == b'x' || at(i + 1) == b'X') && at(i + 2).is_ascii_hexdigit() {
        (16, i + 2)
    } else if at(i) == b'0' {
        (8, i)
    } else {
        (10, i)
    };
    let mut v: u64 = 0;
    while let Some(d) = (at(k) as char).to_digit(radix) {
        v = v.saturating_mul(radix as u64).saturating_add(d as u64);
        k += 1;
    }
    (v, k)
}

const VFS_CAP_REVISION_MASK: u32 = 0xff00_0000;
const VFS_CAP_FLAGS_EFFECTIVE: u32 = 0x0000_0001;

/// `_fcaps_load`: the sets of a raw `security.capability` value, or `None` where libcap's
/// `cap_get_file` returns NULL.
pub fn from_xattr(raw: &[u8]) -> Option<CapSets> {
    let le32 = |at: usize| {
        raw.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let magic = le32(0)?;
    let (words, size) = match magic & VFS_CAP_REVISION_MASK {
        0x0100_0000 => (1, 12),
        0x0200_0000 => (2, 20),
        0x0300_0000 => (2, 24),
        _ => return None,
    };
    if raw.len() != size {
        return None;
    }
    let mut sets = CapSets::default();
    for w in 0..words {
        let permitted = le32(4 + 8 * w)? as u64;
        let inheritable = le32(8 + 8 * w)? as u64;
        sets.permitted |= permitted << (32 * w);
        sets.inheritable |= inheritable << (32 * w);
    }
    if magic & VFS_CAP_FLAGS_EFFECTIVE != 0 {
        sets.effective = sets.permitted | sets.inheritable;
    }
    Some(sets)
}

/// Whether rpm reports `P`: `(fcap || cap) && cap_compare(cap, fcap) != 0`.
pub fn differ(header: Option<CapSets>, file: Option<CapSets>) -> bool {
    match (header, file) {
        (None, None) => false,
        (Some(a), Some(b)) => a != b,
        _ => true,
    }
}

/// The header's sets: empty text is no capability.
pub fn from_header(text: &[u8]) -> Option<CapSets> {
    if text.is_empty() {
        None
    } else {
        from_text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bit(n: u32) -> u64 {
        1u64 << n
    }

    #[test]
    fn text_forms_libcap_accepts() {
        let raw = bit(13);
        assert_eq!(
            from_text(b"cap_net_raw=ep"),
            Some(CapSets {
                effective: raw,
                permitted: raw,
                inheritable: 0
            })
        );
        assert_eq!(from_text(b"CAP_NET_RAW+ep"), from_text(b"cap_net_raw=ep"));
        assert_eq!(from_text(b"= cap_net_raw+ep"), from_text(b"cap_net_raw=ep"));
        assert_eq!(from_text(b"13=ep"), from_text(b"cap_net_raw=ep"));
        let two = from_text(b"cap_net_admin,cap_net_raw+p cap_setuid=i").unwrap();
        assert_eq!(two.permitted, bit(12) | bit(13));
        assert_eq!(two.inheritable, bit(7));
        assert_eq!(two.effective, 0);
        let minus = from_text(b"all=ep cap_sys_admin-e").unwrap();
        assert_eq!(minus.effective, !bit(21));
        assert_eq!(minus.permitted, u64::MAX);
        assert_eq!(from_text(b"="), Some(CapSets::default()));
        assert_eq!(from_text(b""), Some(CapSets::default()));
    }

    #[test]
    fn text_forms_libcap_rejects() {
        for bad in [
            &b"cap_no_such=ep"[..],
            b"cap_net_raw",
            b"+ep",
            b"cap_net_raw=x",
            b"64=ep",
            b"cap_net_raw,=p",
            b"=e+p",
        ] {
            assert_eq!(from_text(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn xattr_revisions() {
        // Revision 2, effective, permitted = cap_net_raw.
        let mut v2 = Vec::new();
        v2.extend_from_slice(&(0x0200_0000u32 | 1).to_le_bytes());
        v2.extend_from_slice(&(1u32 << 13).to_le_bytes());
        v2.extend_from_slice(&0u32.to_le_bytes());
        v2.extend_from_slice(&[0; 8]);
        assert_eq!(from_xattr(&v2), from_text(b"cap_net_raw=ep"));
        // Revision 3 carries a root id; the sets are what counts.
        let mut v3 = v2.clone();
        v3[0..4].copy_from_slice(&(0x0300_0000u32 | 1).to_le_bytes());
        v3.extend_from_slice(&1000u32.to_le_bytes());
        assert_eq!(from_xattr(&v3), from_xattr(&v2));
        // Wrong size or revision: no set.
        assert_eq!(from_xattr(&v2[..16]), None);
        assert_eq!(from_xattr(&[0, 0, 0, 9]), None);
        assert!(differ(None, from_xattr(&v2)));
        assert!(!differ(None, None));
    }
}
