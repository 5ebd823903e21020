//! The rule itself: which URLs and addresses a URL may reach given who named it, the allow
//! list that lifts the address rule, and the refusal that says which rule refused what and
//! which flag permits it.

use crate::address::{classify, embedded_v4, AddressClass};
use std::net::IpAddr;
use std::str::FromStr;

/// The flag that lifts the address rule for some addresses.
pub const ALLOW_NETWORK_FLAG: &str = "--allow-repo-network";
/// The flag that lifts the address rule for every address.
pub const ALLOW_PRIVATE_FLAG: &str = "--allow-private-repos";
/// The flag that refuses plain `http://`.
pub const HTTPS_ONLY_FLAG: &str = "--https-only";
/// The flag that lets a registry send us to a network (`--image docker://…`'s redirects and
/// token realms).
pub const ALLOW_REGISTRY_REDIRECT_FLAG: &str = "--allow-registry-redirect";

/// An entry of the allow list: a network (`10.0.0.0/8`, `fd00::/8`), one address
/// (`127.0.0.2`, `[::1]`), or a host name (`mirror.internal`, which permits whatever it
/// resolves to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    Network { address: IpAddr, prefix: u8 },
    Host(String),
}

impl Allowed {
    /// Whether `ip` lies in this network (a host name entry matches by name only).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let Allowed::Network { address, prefix } = self else {
            return false;
        };
        let ip = match (address, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => embedded_v4(v6).map(IpAddr::V4).unwrap_or(ip),
            _ => ip,
        };
        match (address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => same_prefix(&net.octets(), &ip.octets(), *prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(&net.octets(), &ip.octets(), *prefix),
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

impl FromStr for Allowed {
    type Err = String;

    fn from_str(s: &str) -> Result<Allowed, String> {
        let text = s.trim();
        if let Some((addr, prefix)) = text.split_once('/') {
            let address = parse_ip(addr).ok_or_else(|| format!("{s:?}: {addr:?} is not an IP address"))?;
            let max = if address.is_ipv4() { 32 } else { 128 };
            let prefix = prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be a number from 0 to {max}"))?;
            return Ok(Allowed::Network { address, prefix });
        }
        if let Some(address) = parse_ip(text) {
            let prefix = if address.is_ipv4() { 32 } else { 128 };
            return Ok(Allowed::Network { address, prefix });
        }
        let host = normal_host(text);
        let valid = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !valid {
            return Err(format!(
                "{s:?}: expected a network (10.0.0.0/8), an address or a host name"
            ));
        }
        Ok(Allowed::Host(host))
    }
}

/// An IP address, IPv6 with or without brackets.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let t = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    t.parse().ok()
}

/// A host name as compared: lower case, without brackets or a final dot.
fn normal_host(host: &str) -> String {
    let h = host.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(host);
    h.trim_end_matches('.').to_ascii_lowercase()
}

/// Who named a URL, which decides whether the policy applies to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedBy {
    /// The user (`--repo ID=URL`, `--image docker://…`): trusted; its redirects are not.
    User,
    /// The scanned image (a `.repo` file, or a mirror list or metalink it leads to).
    Image,
    /// A redirect, from the URL given.
    Redirect { from: String },
    /// The metadata of a repository the user named (an `xml:base` or absolute `href` of its
    /// `repomd.xml` pointing elsewhere), at the base URL given.
    Metadata { of: String },
    /// A registry the user named sends us off its origin (a redirect to blob storage, a
    /// token realm); the registry is given.
    Registry { registry: String },
}

impl NamedBy {
    /// The phrase of a refusal: "named by the image".
    fn phrase(&self) -> String {
        match self {
            NamedBy::User => "named on the command line".to_string(),
            NamedBy::Image => "named by the image".to_string(),
            NamedBy::Redirect { from } => format!("that a redirect from {from} leads to"),
            NamedBy::Metadata { of } => format!("named by the metadata of {of}"),
            NamedBy::Registry { registry } => format!("where the registry {registry} sends us"),
        }
    }

    /// The flags that lift an address refusal of URLs named this way.
    fn lifted_by(&self, address: IpAddr) -> String {
        match self {
            NamedBy::Registry { .. } => format!("{ALLOW_REGISTRY_REDIRECT_FLAG} {address} permits it"),
            _ => format!("{ALLOW_NETWORK_FLAG} {address} permits it, {ALLOW_PRIVATE_FLAG} permits every such address"),
        }
    }
}

/// Why a URL or address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The host is (or resolves only to) an address of a refused class.
    Address {
        /// The host as the URL names it.
        host: String,
        /// The address refused (the first, when a name resolves to several).
        address: IpAddr,
        class: AddressClass,
    },
    /// Plain `http://` under `--https-only`.
    PlainHttp,
    /// Not `http://` or `https://` (a redirect to `file://`, `ftp://`…).
    Scheme(String),
    /// The URL could not be understood.
    Malformed(String),
}

/// A URL the policy refused: which URL, who named it, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Refusal {
    pub url: String,
    pub named_by: NamedBy,
    pub reason: Reason,
}

impl Refusal {
    /// The refusal as the user reads it: what was refused, who named it, and the flag that
    /// lifts it.
    fn message(&self) -> String {
        let named = self.named_by.phrase();
        match &self.reason {
            Reason::Address { host, address, class } => {
                let article = if matches!(class, AddressClass::Unspecified) {
                    "an"
                } else {
                    "a"
                };
                let what = if parse_ip(host) == Some(*address) {
                    format!("refused: {address} is {article} {class} address")
                } else {
                    format!(
                        "refused: {} resolves to {address}, {article} {class} address",
                        normal_host(host)
                    )
                };
                format!("{what} {named}; {}", self.named_by.lifted_by(*address))
            }
            Reason::PlainHttp => format!(
                "refused: {} is plain http {named}, and {HTTPS_ONLY_FLAG} is given",
                self.url
            ),
            Reason::Scheme(s) => format!("refused: {s}:// {named} (only http:// and https:// are followed)"),
            Reason::Malformed(why) => format!("refused: {why} ({})", self.url),
        }
    }
}

/// The policy for URLs that are not the user's. By default: every address class of
/// [`AddressClass`] refused, plain `http://` allowed (repository metadata is signed or
/// checksum-verified).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `--allow-private-repos`: no address is refused.
    pub allow_private: bool,
    /// `--https-only`: plain `http://` is refused.
    pub https_only: bool,
    /// `--allow-repo-network`: these networks and host names are not refused.
    pub allowed: Vec<Allowed>,
}

impl Policy {
    /// Whether the address rule can refuse anything (with `--allow-private-repos` it cannot,
    /// and a proxy may then be used, since no address needs checking).
    pub fn checks_addresses(&self) -> bool {
        !self.allow_private
    }

    /// Whether `host` (as a URL names it) may be reached at `ip`: `Err` with the class that
    /// refuses it.
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), AddressClass> {
        let Some(class) = classify(ip) else { return Ok(()) };
        if self.allow_private || self.host_allowed(host) || self.allowed.iter().any(|a| a.contains(ip)) {
            return Ok(());
        }
        Err(class)
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = normal_host(host);
        self.allowed.iter().any(|a| matches!(a, Allowed::Host(h) if *h == host))
    }

    /// Check a URL before any lookup: its scheme, `--https-only`, and a host that is an IP
    /// address. A URL the user named passes (it is theirs to choose). A host name is
    /// checked after resolution, by [`crate::CheckedResolver`], on the addresses it gives.
    pub fn check_url(&self, url: &str, named_by: &NamedBy) -> Result<(), Refusal> {
        if *named_by == NamedBy::User {
            return Ok(());
        }
        let refuse = |reason| Refusal {
            url: url.to_string(),
            named_by: named_by.clone(),
            reason,
        };
        let scheme = url
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .ok_or_else(|| refuse(Reason::Malformed("no scheme".into())))?;
        match scheme.as_str() {
            "https" => {}
            "http" if self.https_only => return Err(refuse(Reason::PlainHttp)),
            "http" => {}
            _ => return Err(refuse(Reason::Scheme(scheme))),
        }
        let uri: ureq::http::Uri = url
            .parse()
            .map_err(|e| refuse(Reason::Malformed(format!("not a URL: {e}"))))?;
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| refuse(Reason::Malformed("no host".into())))?;
        match parse_ip(host) {
            Some(ip) => self.check_address(host, ip).map_err(|class| {
                refuse(Reason::Address {
                    host: host.to_string(),
                    address: ip,
                    class,
                })
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_url(p: &Policy, url: &str) -> Result<(), String> {
        p.check_url(url, &NamedBy::Image).map_err(|e| e.to_string())
    }

    #[test]
    fn allow_list_entries() {
        let net: Allowed = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.9.8.7".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one: Allowed = "127.0.0.2".parse().unwrap();
        assert!(one.contains("127.0.0.2".parse().unwrap()));
        assert!(!one.contains("127.0.0.1".parse().unwrap()));
        let odd: Allowed = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains("172.31.1.1".parse().unwrap()));
        assert!(!odd.contains("172.32.1.1".parse().unwrap()));
        let v6: Allowed = "[fd00::]/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!("[::1]".parse::<Allowed>().unwrap().contains("::1".parse().unwrap()));
        assert_eq!(
            "Mirror.Internal.".parse::<Allowed>().unwrap(),
            Allowed::Host("mirror.internal".into())
        );
        for bad in ["10.0.0.0/33", "::/129", "x/8", "", "a b", "a..b", "http://x/"] {
            assert!(bad.parse::<Allowed>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn image_urls_by_default() {
        let p = Policy::default();
        let e = image_url(&p, "http://127.0.0.1:8080/repo/").unwrap_err();
        assert_eq!(
            e,
            "refused: 127.0.0.1 is a loopback address named by the image; --allow-repo-network 127.0.0.1 \
             permits it, --allow-private-repos permits every such address"
        );
        assert!(image_url(&p, "http://[::1]/x")
            .unwrap_err()
            .contains("::1 is a loopback address"));
        assert!(image_url(&p, "http://[::ffff:127.0.0.1]/x")
            .unwrap_err()
            .contains("loopback"));
        assert!(image_url(&p, "http://169.254.169.254/latest/")
            .unwrap_err()
            .contains("169.254.169.254 is a link-local address"));
        // Names are judged by the addresses they resolve to (client.rs).
        assert!(image_url(&p, "http://localhost/x").is_ok());
        assert!(p.check_address("LOCALHOST.", "::1".parse().unwrap()).is_err());
        assert!(image_url(&p, "http://0.0.0.0/x")
            .unwrap_err()
            .contains("an unspecified address"));
        assert!(image_url(&p, "http://mirror.example/x").is_ok());
        assert!(image_url(&p, "http://8.8.8.8/x").is_ok());
        assert!(image_url(&p, "file:///etc/passwd")
            .unwrap_err()
            .contains("refused: file://"));
        assert!(image_url(&p, "not a url").is_err());
        assert!(image_url(&p, "http:///x").is_err());
        // The user's own URL is theirs.
        assert!(p.check_url("http://127.0.0.1/x", &NamedBy::User).is_ok());
        let e = p
            .check_url(
                "http://127.0.0.1/x",
                &NamedBy::Redirect {
                    from: "http://127.0.0.2/m".into(),
                },
            )
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("that a redirect from http://127.0.0.2/m leads to"),
            "{e}"
        );
    }

    #[test]
    fn flags_lift_the_rules() {
        let some = Policy {
            allowed: vec!["127.0.0.2".parse().unwrap(), "localhost".parse().unwrap()],
            ..Policy::default()
        };
        assert!(image_url(&some, "http://127.0.0.2:1/x").is_ok());
        assert!(image_url(&some, "http://127.0.0.1:1/x").is_err());
        assert!(some.check_address("localhost", "127.0.0.1".parse().unwrap()).is_ok());
        assert!(some.check_address("other", "127.0.0.1".parse().unwrap()).is_err());
        let all = Policy {
            allow_private: true,
            ..Policy::default()
        };
        assert!(image_url(&all, "http://127.0.0.1/x").is_ok());
        assert!(image_url(&all, "http://169.254.169.254/x").is_ok());
        let https = Policy {
            https_only: true,
            ..Policy::default()
        };
        assert!(image_url(&https, "http://mirror.example/x")
            .unwrap_err()
            .contains("plain http named by the image, and --https-only"));
        assert!(image_url(&https, "https://mirror.example/x").is_ok());
    }
}
