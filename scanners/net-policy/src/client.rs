//! The policy applied to ureq: a resolver that resolves once and hands ureq only the
//! addresses the policy permits (so the connection goes to an address that was checked, with
//! no second lookup for DNS to answer differently), and a redirect loop that checks every hop.

use crate::policy::{NamedBy, Policy, Reason, Refusal};
use std::sync::Arc;
use ureq::config::{Config, ConfigBuilder};
use ureq::http::{Response, Uri};
use ureq::typestate::AgentScope;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};
use ureq::{Agent, Body};

/// A ureq resolver for URLs under the policy: one lookup (ureq's own), then only the
/// addresses the policy permits for that host; none left is an error carrying a
/// [`Refusal`] (`named_by` [`NamedBy::Image`]: [`Agents::follow`] sets the hop's).
#[derive(Debug)]
pub struct CheckedResolver {
    policy: Arc<Policy>,
    lookup: DefaultResolver,
}

impl CheckedResolver {
    pub fn new(policy: Arc<Policy>) -> CheckedResolver {
        CheckedResolver {
            policy,
            lookup: DefaultResolver::default(),
        }
    }
}

impl Resolver for CheckedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let refusal = |address, class| {
            ureq::Error::Other(Box::new(Refusal {
                url: uri.to_string(),
                named_by: NamedBy::Image,
                reason: Reason::Address {
                    host: host.to_string(),
                    address,
                    class,
                },
            }))
        };
        // An address is refused before any lookup. (Only the address rule applies here: the
        // scheme rules are for the URL, which Agents::follow checks, while this may also be
        // asked for a proxy's address.)
        if let Some(ip) = crate::policy::parse_ip(host) {
            self.policy
                .check_address(host, ip)
                .map_err(|class| refusal(ip, class))?;
        }
        let found = self.lookup.resolve(uri, config, timeout)?;
        let mut kept = self.empty();
        let mut first_refused = None;
        for addr in found.iter() {
            match self.policy.check_address(host, addr.ip()) {
                Ok(()) => kept.push(*addr),
                Err(class) => {
                    first_refused.get_or_insert((addr.ip(), class));
                }
            }
        }
        match first_refused {
            Some((ip, class)) if kept.is_empty() => Err(refusal(ip, class)),
            _ if kept.is_empty() => Err(ureq::Error::HostNotFound),
            _ => Ok(kept),
        }
    }
}

/// The two agents a client under the policy needs: one for the URL the user named
/// (ureq's own resolver and proxy settings), one for every other URL (the
/// [`CheckedResolver`], and no proxy while addresses are checked: a proxy would resolve
/// and connect where the policy cannot see). Neither follows redirects by itself: see
/// [`Agents::follow`].
#[derive(Debug, Clone)]
pub struct Agents {
    policy: Arc<Policy>,
    user: Agent,
    checked: Agent,
}

/// One request of a chain of redirects, as [`Agents::follow`] asks the caller to send it.
#[derive(Debug, Clone, Copy)]
pub struct Hop<'a> {
    pub url: &'a str,
    /// Redirects followed before this request (0 for the first URL).
    pub redirects: u32,
    /// Same scheme, host and port as the first URL: only then may credentials for the
    /// first URL (an `Authorization` header) be sent.
    pub same_origin: bool,
}

/// A final answer (not a redirect), and the URL that gave it.
#[derive(Debug)]
pub struct Followed {
    pub response: Response<Body>,
    pub url: String,
}

/// Why [`Agents::follow`] gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The policy refused a URL of the chain.
    #[error("{}: {}", .0.url, .0)]
    Refused(Refusal),
    /// The request for `url` failed.
    #[error("{url}: {error}")]
    Request { url: String, error: ureq::Error },
    /// A redirect that cannot be followed: too many, no `Location`, or one that is not a URL.
    #[error("{url}: {message}")]
    Redirect { url: String, message: String },
}

/// The refusal a ureq error carries when the [`CheckedResolver`] gave it.
pub fn refusal_of(error: &ureq::Error) -> Option<&Refusal> {
    match error {
        ureq::Error::Other(e) => e.downcast_ref::<Refusal>(),
        ureq::Error::Io(e) => e.get_ref().and_then(|e| e.downcast_ref::<Refusal>()),
        _ => None,
    }
}

impl Agents {
    /// Agents for `policy`; `config` makes the caller's configuration (timeouts, TLS, user
    /// agent) and is called once per agent.
    pub fn new(policy: Arc<Policy>, config: impl Fn() -> ConfigBuilder<AgentScope>) -> Agents {
        let user = config().max_redirects(0).build();
        let mut checked = config().max_redirects(0);
        if policy.checks_addresses() {
            checked = checked.proxy(None);
        }
        Agents {
            user: Agent::with_parts(user, DefaultConnector::default(), DefaultResolver::default()),
            checked: Agent::with_parts(
                checked.build(),
                DefaultConnector::default(),
                CheckedResolver::new(policy.clone()),
            ),
            policy,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The agent for URLs under the policy (the checked resolver; no proxy while addresses
    /// are checked), for callers that follow redirects themselves.
    pub fn checked(&self) -> &Agent {
        &self.checked
    }

    /// Send a request for `url` (named by `named_by`) and follow up to `max_redirects`
    /// redirects (301, 302, 303, 307, 308), each hop checked by the policy before it is sent
    /// and connected only to checked addresses. `send` makes and sends one request with the
    /// agent given; it should send credentials only when [`Hop::same_origin`].
    pub fn follow(
        &self,
        url: &str,
        named_by: NamedBy,
        max_redirects: u32,
        mut send: impl FnMut(&Agent, &Hop<'_>) -> Result<Response<Body>, ureq::Error>,
    ) -> Result<Followed, FollowError> {
        let first = origin(url);
        let mut current = url.to_string();
        let mut named = named_by;
        for redirects in 0..=max_redirects {
            self.policy.check_url(&current, &named).map_err(FollowError::Refused)?;
            let agent = if named == NamedBy::User {
                &self.user
            } else {
                &self.checked
            };
            let hop = Hop {
                url: &current,
                redirects,
                same_origin: first.is_some() && origin(&current) == first,
            };
            let response = send(agent, &hop).map_err(|error| match refusal_of(&error) {
                Some(r) => FollowError::Refused(Refusal {
                    url: current.clone(),
                    named_by: named.clone(),
                    reason: r.reason.clone(),
                }),
                None => FollowError::Request {
                    url: current.clone(),
                    error,
                },
            })?;
            if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                return Ok(Followed { response, url: current });
            }
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| FollowError::Redirect {
                    url: current.clone(),
                    message: format!("HTTP status {} without a usable Location", response.status().as_u16()),
                })?;
            let next = resolve_reference(&current, location).ok_or_else(|| FollowError::Redirect {
                url: current.clone(),
                message: format!("redirect to {location:?}, not a URL"),
            })?;
            named = NamedBy::Redirect { from: current };
            current = next;
        }
        Err(FollowError::Redirect {
            url: url.to_string(),
            message: format!("more than {max_redirects} redirects"),
        })
    }
}

/// Scheme, host and port (the scheme's default when not written), lower case.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

/// The URL a `Location` header names, relative to the URL that sent it (RFC 3986 §5.2,
/// without dot-segment removal, which the server that sent the reference may do itself).
pub fn resolve_reference(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.is_empty() || location.chars().any(|c| c.is_ascii_control() || c == ' ') {
        return None;
    }
    let has_scheme = location
        .split_once(':')
        .is_some_and(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
    if has_scheme {
        return Some(location.to_string());
    }
    let uri: Uri = base.parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?.as_str();
    if location.starts_with("//") {
        return Some(format!("{scheme}:{location}"));
    }
    if location.starts_with('/') {
        return Some(format!("{scheme}://{authority}{location}"));
    }
    let path = uri.path();
    if location.starts_with('?') {
        return Some(format!("{scheme}://{authority}{path}{location}"));
    }
    let dir = &path[..path.rfind('/').map(|i| i + 1).unwrap_or(0)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!("{scheme}://{authority}{dir}{location}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let base = "http://a.example:81/x/y/mirrors?q=1";
        assert_eq!(resolve_reference(base, "http://b/z").as_deref(), Some("http://b/z"));
        assert_eq!(resolve_reference(base, "//b/z").as_deref(), Some("http://b/z"));
        assert_eq!(resolve_reference(base, "/z").as_deref(), Some("http://a.example:81/z"));
        assert_eq!(
            resolve_reference(base, "z").as_deref(),
            Some("http://a.example:81/x/y/z")
        );
        assert_eq!(
            resolve_reference(base, "?r").as_deref(),
            Some("http://a.example:81/x/y/mirrors?r")
        );
        assert_eq!(
            resolve_reference(base, "file:///etc/passwd").as_deref(),
            Some("file:///etc/passwd")
        );
        assert_eq!(resolve_reference(base, ""), None);
        assert_eq!(resolve_reference(base, "a\nb"), None);
        assert_eq!(resolve_reference("not a url", "z"), None);
    }

    fn resolve(policy: Policy, url: &str) -> Result<Vec<std::net::SocketAddr>, ureq::Error> {
        let config = Agent::config_builder().build();
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::NotHappening,
            reason: ureq::Timeout::Resolve,
            per_read: None,
            per_write: None,
        };
        CheckedResolver::new(Arc::new(policy))
            .resolve(&url.parse().unwrap(), &config, timeout)
            .map(|a| a.iter().copied().collect())
    }

    #[test]
    fn names_are_judged_by_the_addresses_they_resolve_to() {
        let e = resolve(Policy::default(), "http://localhost:1/").unwrap_err();
        let r = refusal_of(&e).unwrap_or_else(|| panic!("not a refusal: {e}"));
        assert!(
            r.to_string().starts_with("refused: localhost resolves to ")
                && r.to_string().contains(", a loopback address named by the image"),
            "{r}"
        );
        let e = resolve(Policy::default(), "http://[::ffff:127.0.0.1]:1/").unwrap_err();
        assert!(refusal_of(&e).is_some(), "{e}");
        let by_name = Policy {
            allowed: vec!["localhost".parse().unwrap()],
            ..Policy::default()
        };
        let addrs = resolve(by_name, "http://localhost:1/").unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        // Only the addresses allowed are handed to ureq.
        let v4_only = Policy {
            allowed: vec!["127.0.0.0/8".parse().unwrap()],
            ..Policy::default()
        };
        let addrs = resolve(v4_only, "http://localhost:1/").unwrap();
        assert!(!addrs.is_empty() && addrs.iter().all(|a| a.is_ipv4()), "{addrs:?}");
    }

    #[test]
    fn numeric_forms_of_an_address_are_judged_after_resolution() {
        // 2130706433 and 0x7f.1 are 127.0.0.1 to the system's resolver.
        for url in ["http://2130706433:1/", "http://0x7f.1:1/"] {
            assert!(resolve(Policy::default(), url).is_err(), "{url} resolved");
        }
    }

    /// A server on 127.0.0.1 answering each connection with the next of `answers` (a whole
    /// response head); returns its port and the request lines it received.
    fn server(answers: Vec<String>) -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for (conn, answer) in listener.incoming().zip(answers) {
                let Ok(mut conn) = conn else { return };
                let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                log.lock().unwrap().push(line.trim().to_string());
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                let _ = conn.write_all(answer.as_bytes());
            }
        });
        (port, seen)
    }

    fn redirect(to: &str) -> String {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    /// Send each hop as a plain GET, noting its URL and whether it has the first's origin.
    fn recording(
        hops: &mut Vec<(String, bool)>,
    ) -> impl FnMut(&Agent, &Hop<'_>) -> Result<Response<Body>, ureq::Error> + '_ {
        move |agent, hop| {
            hops.push((hop.url.to_string(), hop.same_origin));
            agent.get(hop.url).call()
        }
    }

    #[test]
    fn redirects_are_checked_hop_by_hop() {
        let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".to_string();
        let (target, target_seen) = server(vec![ok.clone()]);
        let (port, seen) = server(vec![
            redirect("/second"),
            redirect(&format!("http://127.0.0.1:{target}/third")),
        ]);
        let first = format!("http://127.0.0.1:{port}/first");

        // The user's URL is theirs; its redirect to the same host is not, and is refused
        // before the second request is sent.
        let agents = Agents::new(Arc::new(Policy::default()), Agent::config_builder);
        let mut hops = Vec::new();
        let e = agents
            .follow(&first, NamedBy::User, 5, recording(&mut hops))
            .unwrap_err();
        let FollowError::Refused(r) = &e else { panic!("{e}") };
        assert_eq!(r.named_by, NamedBy::Redirect { from: first.clone() });
        assert_eq!(r.url, format!("http://127.0.0.1:{port}/second"));
        assert_eq!(hops.len(), 1);
        assert_eq!(seen.lock().unwrap().len(), 1);

        // Allowed: every hop is followed; only the first two share the first URL's origin.
        let (port, _) = server(vec![
            redirect("/second"),
            redirect(&format!("http://127.0.0.1:{target}/third")),
        ]);
        let first = format!("http://127.0.0.1:{port}/first");
        let allowed = Policy {
            allowed: vec!["127.0.0.1".parse().unwrap()],
            ..Policy::default()
        };
        let agents = Agents::new(Arc::new(allowed), Agent::config_builder);
        let mut hops = Vec::new();
        let got = agents.follow(&first, NamedBy::Image, 5, recording(&mut hops)).unwrap();
        assert_eq!(got.url, format!("http://127.0.0.1:{target}/third"));
        assert_eq!(got.response.status().as_u16(), 200);
        let same: Vec<bool> = hops.iter().map(|h| h.1).collect();
        assert_eq!(same, [true, true, false], "{hops:?}");
        assert_eq!(target_seen.lock().unwrap().as_slice(), ["GET /third HTTP/1.1"]);

        // Too many redirects is an error of its own.
        let (port, _) = server(vec![redirect("/a"), redirect("/b")]);
        let agents = Agents::new(
            Arc::new(Policy {
                allow_private: true,
                ..Policy::default()
            }),
            Agent::config_builder,
        );
        let e = agents
            .follow(&format!("http://127.0.0.1:{port}/"), NamedBy::Image, 1, |a, h| {
                a.get(h.url).call()
            })
            .unwrap_err();
        assert!(
            matches!(&e, FollowError::Redirect { message, .. } if message == "more than 1 redirects"),
            "{e}"
        );
    }

    #[test]
    fn origins() {
        assert_eq!(origin("http://A:80/x"), origin("http://a/y"));
        assert_ne!(origin("http://a/x"), origin("https://a/x"));
        assert_ne!(origin("http://a:81/x"), origin("http://a/x"));
    }
}
