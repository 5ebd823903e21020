//! The OpenPGP signature packet in a header, and the string rpm 4.18 prints for it
//! (`%{RSAHEADER:pgpsig}`: `RSA/SHA256, Fri Jul  4 07:38:44 2014, Key ID 24c6a8a7f4a80eb5`).
//!
//! Only what the string needs is parsed: algorithms, creation time and issuer key id, from
//! v3 and v4 signature packets in old or new packet framing (RFC 4880 §4.2, §5.2).

use chrono::{Local, TimeZone};

/// The fields of a signature packet that rpm shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInfo {
    pub version: u8,
    pub pubkey_algo: u8,
    pub hash_algo: u8,
    /// Creation time, seconds since the epoch.
    pub created: u32,
    pub key_id: [u8; 8],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an OpenPGP signature: {0}")]
pub struct SignatureError(pub String);

fn bad<T>(msg: &str) -> Result<T, SignatureError> {
    Err(SignatureError(msg.to_string()))
}

/// Parse an OpenPGP signature packet (the value of RSAHEADER, DSAHEADER, SIGPGP or SIGGPG).
pub fn parse(packet: &[u8]) -> Result<SignatureInfo, SignatureError> {
    let body = packet_body(packet)?;
    match body.first() {
        Some(3) => parse_v3(body),
        Some(4) => parse_v4(body),
        Some(v) => Err(SignatureError(format!("unsupported signature version {v}"))),
        None => bad("empty packet"),
    }
}

/// Strip the packet framing; the packet must be a signature (tag 2).
fn packet_body(p: &[u8]) -> Result<&[u8], SignatureError> {
    let first = *p.first().ok_or_else(|| SignatureError("empty".into()))?;
    if first & 0x80 == 0 {
        return bad("packet tag byte lacks bit 7");
    }
    let (tag, len, hdr) = if first & 0x40 == 0 {
        // Old format: tag in bits 5..2, length type in bits 1..0.
        let tag = (first >> 2) & 0x0f;
        match first & 0x03 {
            0 => (
                tag,
                *p.get(1).ok_or_else(|| SignatureError("truncated length".into()))? as usize,
                2,
            ),
            1 => {
                let b = p.get(1..3).ok_or_else(|| SignatureError("truncated length".into()))?;
                (tag, u16::from_be_bytes([b[0], b[1]]) as usize, 3)
            }
            2 => {
                let b = p.get(1..5).ok_or_else(|| SignatureError("truncated length".into()))?;
                (tag, u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
            }
            _ => return bad("indeterminate packet length"),
        }
    } else {
        let tag = first & 0x3f;
        let o1 = *p.get(1).ok_or_else(|| SignatureError("truncated length".into()))? as usize;
        match o1 {
            0..=191 => (tag, o1, 2),
            192..=223 => {
                let o2 = *p.get(2).ok_or_else(|| SignatureError("truncated length".into()))? as usize;
                (tag, ((o1 - 192) << 8) + o2 + 192, 3)
            }
            255 => {
                let b = p.get(2..6).ok_or_else(|| SignatureError("truncated length".into()))?;
                (tag, u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 6)
            }
            _ => return bad("partial body length"),
        }
    };
    if tag != 2 {
        return Err(SignatureError(format!("packet tag {tag} is not a signature")));
    }
    p.get(hdr..usize::saturating_add(hdr, len))
        .ok_or_else(|| SignatureError(format!("packet body of {len} bytes is truncated")))
}

fn parse_v3(b: &[u8]) -> Result<SignatureInfo, SignatureError> {
    // 03, hashed length 5, sigtype, time[4], keyid[8], pubkey algo, hash algo, ...
    if b.len() < 19 {
        return bad("v3 signature is truncated");
    }
    if b[1] != 5 {
        return bad("v3 signature hashed length is not 5");
    }
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&b[7..15]);
    Ok(SignatureInfo {
        version: 3,
        created: u32::from_be_bytes([b[3], b[4], b[5], b[6]]),
        key_id,
        pubkey_algo: b[15],
        hash_algo: b[16],
    })
}

fn parse_v4(b: &[u8]) -> Result<SignatureInfo, SignatureError> {
    // 04, sigtype, pubkey algo, hash algo, hashed len[2], hashed, unhashed len[2], unhashed
    if b.len() < 6 {
        return bad("v4 signature is truncated");
    }
    let mut info = SignatureInfo {
        version: 4,
        pubkey_algo: b[2],
        hash_algo: b[3],
        created: 0,
        key_id: [0; 8],
    };
    let hashed_len = u16::from_be_bytes([b[4], b[5]]) as usize;
    let hashed = b
        .get(6..6 + hashed_len)
        .ok_or_else(|| SignatureError("hashed subpackets truncated".into()))?;
    let at = 6 + hashed_len;
    let ul = b
        .get(at..at + 2)
        .ok_or_else(|| SignatureError("unhashed length truncated".into()))?;
    let unhashed_len = u16::from_be_bytes([ul[0], ul[1]]) as usize;
    let unhashed = b
        .get(at + 2..at + 2 + unhashed_len)
        .ok_or_else(|| SignatureError("unhashed subpackets truncated".into()))?;
    let mut have_time = false;
    let mut have_id = false;
    for (area, is_hashed) in [(hashed, true), (unhashed, false)] {
        for sub in subpackets(area)? {
            let (kind, data) = sub;
            match kind {
                // Creation time counts only when it is covered by the signature.
                2 if is_hashed && data.len() >= 4 && !have_time => {
                    info.created = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                    have_time = true;
                }
                16 if data.len() >= 8 && !have_id => {
                    info.key_id.copy_from_slice(&data[..8]);
                    have_id = true;
                }
                // Issuer fingerprint: version byte, then the fingerprint; the v4 key id is
                // its last 8 bytes.
                33 if data.len() >= 9 && !have_id => {
                    info.key_id.copy_from_slice(&data[data.len() - 8..]);
                    have_id = true;
                }
                _ => {}
            }
        }
    }
    Ok(info)
}

fn subpackets(mut area: &[u8]) -> Result<Vec<(u8, &[u8])>, SignatureError> {
    let mut out = Vec::new();
    while !area.is_empty() {
        let o1 = area[0] as usize;
        let (len, hdr) = match o1 {
            0..=191 => (o1, 1),
            192..=254 => {
                let o2 = *area
                    .get(1)
                    .ok_or_else(|| SignatureError("subpacket length truncated".into()))?
                    as usize;
                (((o1 - 192) << 8) + o2 + 192, 2)
            }
            _ => {
                let b = area
                    .get(1..5)
                    .ok_or_else(|| SignatureError("subpacket length truncated".into()))?;
                (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 5)
            }
        };
        if len == 0 {
            return bad("empty subpacket");
        }
        let body = area
            .get(hdr..usize::saturating_add(hdr, len))
            .ok_or_else(|| SignatureError("subpacket truncated".into()))?;
        out.push((body[0] & 0x7f, &body[1..]));
        area = &area[hdr + len..];
    }
    Ok(out)
}

/// rpm's names for public-key algorithms (`pgpValString(PGPVAL_PUBKEYALGO)`).
pub fn pubkey_algo_name(a: u8) -> &'static str {
    match a {
        1 => "RSA",
        2 => "RSA(Encrypt-Only)",
        3 => "RSA(Sign-Only)",
        16 => "Elgamal(Encrypt-Only)",
        17 => "DSA",
        18 => "Elliptic Curve",
        19 => "ECDSA",
        20 => "Elgamal",
        21 => "Diffie-Hellman (X9.42)",
        22 => "EdDSA",
        _ => "Unknown public key algorithm",
    }
}

/// rpm's names for hash algorithms (`pgpValString(PGPVAL_HASHALGO)`).
pub fn hash_algo_name(a: u8) -> &'static str {
    match a {
        1 => "MD5",
        2 => "SHA1",
        3 => "RIPEMD160",
        5 => "MD2",
        6 => "TIGER192",
        7 => "HAVAL-5-160",
        8 => "SHA256",
        9 => "SHA384",
        10 => "SHA512",
        11 => "SHA224",
        _ => "Unknown hash algorithm",
    }
}

impl SignatureInfo {
    pub fn key_id_hex(&self) -> String {
        self.key_id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The string rpm 4.18 prints, with the date in local time (TZ, else /etc/localtime)
    /// formatted as `strftime("%c")` does in the C locale.
    pub fn to_rpm_string(&self) -> String {
        let date = match Local.timestamp_opt(self.created as i64, 0).single() {
            Some(t) => t.format("%a %b %e %H:%M:%S %Y").to_string(),
            None => return format!("Invalid date {}", self.created),
        };
        format!(
            "{}/{}, {}, Key ID {}",
            pubkey_algo_name(self.pubkey_algo),
            hash_algo_name(self.hash_algo),
            date,
            self.key_id_hex()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_old_format_packet() {
        // 0x89 = old format, tag 2, two-byte length.
        let mut body = vec![3, 5, 0, 0x53, 0xb6, 0x5b, 0x94];
        body.extend_from_slice(&[0x24, 0xc6, 0xa8, 0xa7, 0xf4, 0xa8, 0x0e, 0xb5]);
        body.extend_from_slice(&[1, 8, 0xaa, 0xbb]);
        let mut p = vec![0x89, 0, body.len() as u8];
        p.extend_from_slice(&body);
        let s = parse(&p).unwrap();
        assert_eq!(s.key_id_hex(), "24c6a8a7f4a80eb5");
        assert_eq!((s.pubkey_algo, s.hash_algo, s.created), (1, 8, 0x53b65b94));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x89, 0xff, 0xff, 3]).is_err());
        assert!(parse(&[0xc2, 0xe0]).is_err());
    }
}
