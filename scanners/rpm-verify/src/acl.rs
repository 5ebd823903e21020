//! POSIX ACLs, as rpm's verify looks at them when it is built with libacl (Fedora, RHEL,
//! SUSE build it so): any access ACL that is not equivalent to the permission bits is a mode
//! difference (`M`), because rpm cannot have set it (`acl_get_file` + `acl_equiv_mode` in
//! lib/verify.c).
//!
//! The raw `system.posix_acl_access` value is `{le32 version = 2}` then entries
//! `{le16 tag, le16 perm, le32 id}`. It is "not equivalent" when it holds a named user
//! (0x02), a named group (0x08) or a mask (0x10) entry; a value libacl would reject (wrong
//! version or size, unknown tag) is no ACL at all; no value is the permission bits.
//!
//! Debian's rpm (the test oracle) is built without libacl, so the differential tests leave
//! ACLs out; `tests/verify_differential.rs` checks this rule on its own.

const ACL_USER_OBJ: u16 = 0x01;
const ACL_USER: u16 = 0x02;
const ACL_GROUP_OBJ: u16 = 0x04;
const ACL_GROUP: u16 = 0x08;
const ACL_MASK: u16 = 0x10;
const ACL_OTHER: u16 = 0x20;

/// Whether a raw access-ACL value is an extended ACL (`acl_equiv_mode(...) == 1`).
pub fn is_extended(raw: &[u8]) -> bool {
    if raw.len() < 4 || !raw[4..].chunks_exact(8).remainder().is_empty() || raw[0..4] != 2u32.to_le_bytes() {
        return false;
    }
    let mut extended = false;
    for entry in raw[4..].chunks_exact(8) {
        match u16::from_le_bytes([entry[0], entry[1]]) {
            ACL_USER_OBJ | ACL_GROUP_OBJ | ACL_OTHER => {}
            ACL_USER | ACL_GROUP | ACL_MASK => extended = true,
            _ => return false,
        }
    }
    extended
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut v = 2u32.to_le_bytes().to_vec();
        for (t, p, id) in entries {
            v.extend_from_slice(&t.to_le_bytes());
            v.extend_from_slice(&p.to_le_bytes());
            v.extend_from_slice(&id.to_le_bytes());
        }
        v
    }

    #[test]
    fn base_entries_are_the_mode_named_ones_are_not() {
        let base = [(ACL_USER_OBJ, 6, 0), (ACL_GROUP_OBJ, 4, 0), (ACL_OTHER, 4, 0)];
        assert!(!is_extended(&acl(&base)));
        let mut named = base.to_vec();
        named.push((ACL_USER, 4, 1000));
        named.push((ACL_MASK, 4, 0));
        assert!(is_extended(&acl(&named)));
        assert!(!is_extended(&acl(&[(0x40, 4, 0), (ACL_USER, 4, 1)])));
        assert!(!is_extended(&[1, 0, 0, 0]));
    }
}
