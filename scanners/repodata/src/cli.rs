//! The command-line flags of every scanner that reads repositories (pipeline-scanner,
//! security-advisories, and image-scan for both of its repository checks), as clap `Args` to
//! flatten into a scanner's options: which repositories (`--repo`, `--no-image-repos`),
//! where their metadata is kept, how it is fetched, which CAs are trusted and which addresses
//! the URLs an image names may reach.
//!
//! Behind the `cli` feature (off by default): the flags are this crate's terms
//! ([`crate::fetch::FetchOptions`], [`crate::source::Trust`], `--repo` read by
//! [`crate::source`]'s one parser) spelled for a command line, so they live beside them, while
//! the library itself carries no command-line dependency; the scanners turn the feature on.

use clap::Args;
use std::path::PathBuf;

/// The flags of every scanner that reads repositories (pipeline-scanner, security-advisories,
/// and image-scan for both of its repository checks), defined once so that each has them
/// all, under the same names and defaults: which repositories, where their metadata is kept,
/// how it is fetched, which CAs are trusted and which addresses URLs may reach.
/// [`RepoArgs::fetch_options`] and [`RepoArgs::trust`] turn them into this crate's terms.
#[derive(Debug, Clone, Args)]
pub struct RepoArgs {
    /// Also use this repository: ID=URL, URL a base URL (http://, https://, file://) or a
    /// directory, $releasever and the image's other variables substituted; repeatable. An
    /// image repository with the same id is replaced. A path is read where the scanner runs:
    /// in a scanner's container, mount the repository into it (a volume in the atomic
    /// manifest's custom_args, or `podman run -v`).
    #[arg(long = "repo", value_name = "ID=URL")]
    pub repos: Vec<String>,

    /// Ignore the repositories the image configures (use only --repo).
    #[arg(long)]
    pub no_image_repos: bool,

    /// Keep downloaded repository metadata (and what is derived from it) in DIR between
    /// runs, keyed by repository and checksum [default: a temporary folder shared by the
    /// subjects of this run].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub connect_timeout: u64,

    /// Seconds to wait for a server to answer, or to send more of a file.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub timeout: u64,

    /// Seconds a whole download may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub download_timeout: u64,

    /// Tries per URL when a connection fails or a server answers 5xx.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub attempts: u32,

    /// Check https repositories against the image's own CA bundle
    /// (/etc/pki/tls/certs/ca-bundle.crt…) instead of the Mozilla roots built in.
    #[arg(long)]
    pub image_ca_bundle: bool,

    #[command(flatten)]
    pub network: RepoNetwork,
}

impl Default for RepoArgs {
    fn default() -> Self {
        RepoArgs {
            repos: Vec::new(),
            no_image_repos: false,
            cache_dir: None,
            connect_timeout: 10,
            timeout: 30,
            download_timeout: 600,
            attempts: 2,
            image_ca_bundle: false,
            network: RepoNetwork::default(),
        }
    }
}

impl RepoArgs {
    /// How metadata is fetched: the timeouts and tries given (zero counts as one), and the
    /// network policy.
    pub fn fetch_options(&self) -> crate::fetch::FetchOptions {
        use std::time::Duration;
        crate::fetch::FetchOptions {
            connect_timeout: Duration::from_secs(self.connect_timeout.max(1)),
            response_timeout: Duration::from_secs(self.timeout.max(1)),
            total_timeout: Duration::from_secs(self.download_timeout.max(1)),
            attempts: self.attempts.max(1),
            policy: std::sync::Arc::new(self.network.policy()),
            ..crate::fetch::FetchOptions::default()
        }
    }

    /// Which CAs https repositories are checked against.
    pub fn trust(&self) -> crate::source::Trust {
        if self.image_ca_bundle {
            crate::source::Trust::ImageBundle
        } else {
            crate::source::Trust::BuiltIn
        }
    }
}

/// The network policy for URLs an image names (its repositories, their mirror lists and
/// metalinks) and for every redirect: the same flags in every scanner that fetches them.
/// Flatten it into a scanner's options (`#[command(flatten)]`); [`RepoNetwork::policy`]
/// gives the [`net_policy::Policy`].
#[derive(Debug, Clone, Default, Args)]
pub struct RepoNetwork {
    /// Let URLs the image names (and redirects) reach this network (CIDR, e.g. 10.0.0.0/8),
    /// address or host name, otherwise refused when loopback, link-local, private, multicast
    /// or unspecified; repeatable.
    #[arg(long = "allow-repo-network", value_name = "CIDR|HOST")]
    pub allow_repo_network: Vec<net_policy::Allowed>,

    /// Let URLs the image names (and redirects) reach any address: for pipelines whose
    /// mirrors are internal.
    #[arg(long)]
    pub allow_private_repos: bool,

    /// Refuse plain http:// for URLs the image names and for redirects.
    #[arg(long)]
    pub https_only: bool,
}

impl RepoNetwork {
    pub fn policy(&self) -> net_policy::Policy {
        net_policy::Policy {
            allow_private: self.allow_private_repos,
            https_only: self.https_only,
            allowed: self.allow_repo_network.clone(),
        }
    }
}
