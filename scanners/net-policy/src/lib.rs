//! The policy for URLs a scanner did not get from its user: those a scanned image names
//! (repository configuration, and the mirror lists and metalinks it leads to) and every
//! redirect, including redirects from the user's own URLs. An image is written by whoever
//! built it, and the scanner runs inside the build pipeline's network: without a policy, a
//! `.repo` naming `http://127.0.0.1:PORT/` or `http://169.254.169.254/` makes the scanner
//! send requests to the scanning host or to a cloud metadata endpoint.
//!
//! - [`address`]: which class an IP address is in (loopback, link-local, private, shared,
//!   multicast, unspecified, reserved), IPv4-mapped IPv6 judged as IPv4;
//! - [`policy`]: [`Policy`] (refuse those classes unless `--allow-repo-network` or
//!   `--allow-private-repos` lifts it, plain http refused under `--https-only`), who named a
//!   URL ([`NamedBy`]), and [`Refusal`], which names the rule and the flag that lifts it;
//! - [`client`]: the policy applied to ureq — [`CheckedResolver`] resolves once and gives
//!   ureq only checked addresses, [`Agents::follow`] follows redirects itself, checking each.
//!
//! ```no_run
//! use net_policy::{Agents, NamedBy, Policy};
//! use std::sync::Arc;
//! let policy = Policy { allowed: vec!["10.0.0.0/8".parse().unwrap()], ..Policy::default() };
//! let agents = Agents::new(Arc::new(policy), ureq::Agent::config_builder);
//! let got = agents.follow("http://mirror.example/repodata/repomd.xml", NamedBy::Image, 5, |agent, hop| {
//!     agent.get(hop.url).call()
//! });
//! match got {
//!     Ok(f) => println!("{} from {}", f.response.status(), f.url),
//!     Err(e) => println!("{e}"),
//! }
//! ```

pub mod address;
pub mod client;
pub mod policy;

pub use address::{classify, AddressClass};
pub use client::{refusal_of, Agents, CheckedResolver, FollowError, Followed, Hop};
pub use policy::{Allowed, NamedBy, Policy, Reason, Refusal};
