//! Notifications (`--notify`, `--webhook`, `--smtp`): this module owns their flags, the
//! messages (a webhook's body, a mail's subject, text and HTML) and their delivery. When a
//! message is sent and what happens to one that could not be is [`crate::rescan`]'s.
//!
//! - Webhook: one `POST` per subject of the combined document (with its `Changes`),
//!   `Content-Type: application/json`; any 2xx answer is a delivery.
//! - Mail: one `multipart/alternative` message per subject (the text report, then the HTML
//!   report), to `--mail-to` or else the image's `org.opencontainers.image.authors` (or
//!   `maintainer`) label, over `smtp://` (STARTTLS per `--smtp-starttls`) or `smtps://`
//!   (TLS from the first byte), certificates checked against the Mozilla roots and each
//!   `--smtp-ca`. Credentials come from `--smtp-credentials FILE` (`user:password`) or from
//!   `--smtp-user` and `IMAGE_SCAN_SMTP_PASSWORD`, never from the command line, and are never
//!   sent over a connection that is not encrypted.

use lettre::message::{Mailbox, Mailboxes, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

/// The environment variable holding `--smtp-user`'s password.
pub const PASSWORD_ENV: &str = "IMAGE_SCAN_SMTP_PASSWORD";

/// The labels an image names its author in, in the order they are tried.
pub const AUTHOR_LABELS: [&str; 2] = ["org.opencontainers.image.authors", "maintainer"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    /// After every scan of a subject.
    Always,
    /// After a subject's first scan, a new image under its reference, or new or resolved
    /// findings.
    Changes,
    /// Never (the state is still kept).
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartTls {
    /// smtp://: refuse a server that does not offer STARTTLS.
    Required,
    /// smtp://: use STARTTLS when offered, else send in clear (not with credentials).
    Opportunistic,
    /// smtp://: never encrypt (not with credentials).
    Never,
}

/// The notification flags.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// When to notify about a subject [default: changes when --webhook or --smtp is given].
    #[arg(long, value_enum, value_name = "WHEN")]
    pub notify: Option<When>,

    /// POST each subject's combined JSON (with its Changes) to this http:// or https:// URL.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// Trust this PEM CA bundle, instead of the Mozilla roots, for an https:// --webhook.
    #[arg(long, value_name = "FILE")]
    pub webhook_ca: Option<PathBuf>,

    /// Mail each subject's report through this server: smtp://HOST[:PORT] (port 25, STARTTLS
    /// per --smtp-starttls) or smtps://HOST[:PORT] (port 465, TLS).
    #[arg(long, value_name = "URL")]
    pub smtp: Option<String>,

    /// STARTTLS on an smtp:// server.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "required")]
    pub smtp_starttls: StartTls,

    /// Also trust this PEM CA certificate for the SMTP server (repeatable); certificates are
    /// always checked.
    #[arg(long, value_name = "FILE")]
    pub smtp_ca: Vec<PathBuf>,

    /// Log in to the SMTP server with the `user:password` in FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "smtp_user")]
    pub smtp_credentials: Option<PathBuf>,

    /// Log in to the SMTP server as USER, with the password in IMAGE_SCAN_SMTP_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub smtp_user: Option<String>,

    /// Mail to ADDR (repeatable) [default: the image's org.opencontainers.image.authors or
    /// maintainer label].
    #[arg(long, value_name = "ADDR")]
    pub mail_to: Vec<String>,

    /// The mail's sender (required with --smtp).
    #[arg(long, value_name = "ADDR")]
    pub mail_from: Option<String>,

    /// Seconds a webhook call or an SMTP conversation may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub notify_timeout: u64,
}

/// What a subject's messages are made of.
pub struct About<'a> {
    pub reference: &'a str,
    /// The mail's subject ([`crate::rescan::subject_line`]).
    pub subject_line: &'a str,
    /// The combined document, with its `Changes`.
    pub doc: &'a Value,
    /// The text and HTML reports of the subject.
    pub text: &'a str,
    pub html: &'a str,
    /// The image's labels (where its author is named).
    pub labels: &'a std::collections::BTreeMap<String, String>,
}

/// The channels configured, checked.
pub struct Notifier {
    pub when: When,
    webhook: Option<Webhook>,
    mail: Option<Mail>,
}

struct Webhook {
    url: String,
    agent: ureq::Agent,
}

struct Mail {
    server: String,
    transport: SmtpTransport,
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// A message: what `DIR/pending` keeps until it is delivered.
///
/// ```text
/// {"Channel": "webhook", "Reference", "Subject", "Created", "Body": the combined document}
/// {"Channel": "mail", "Reference", "Subject", "Created", "To": [addresses], "Text", "Html"}
/// ```
pub type Pending = Value;

fn read_credentials(args: &NotifyArgs) -> Result<Option<Credentials>, String> {
    if let Some(file) = &args.smtp_credentials {
        let text = std::fs::read_to_string(file).map_err(|e| format!("--smtp-credentials {}: {e}", file.display()))?;
        let line = text.lines().next().unwrap_or_default();
        let (user, password) = line
            .split_once(':')
            .ok_or_else(|| format!("--smtp-credentials {}: expected user:password", file.display()))?;
        return Ok(Some(Credentials::new(user.to_string(), password.to_string())));
    }
    if let Some(user) = &args.smtp_user {
        let password = std::env::var(PASSWORD_ENV).map_err(|_| format!("--smtp-user: {PASSWORD_ENV} is not set"))?;
        return Ok(Some(Credentials::new(user.clone(), password)));
    }
    Ok(None)
}

fn mail_transport(args: &NotifyArgs, url: &str) -> Result<SmtpTransport, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("--smtp {url:?}: expected smtp://HOST[:PORT] or smtps://HOST[:PORT]"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
            h,
            Some(
                p.parse::<u16>()
                    .map_err(|_| format!("--smtp {url:?}: bad port {p:?}"))?,
            ),
        ),
        _ => (rest, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', '@', '?', '#']) {
        return Err(format!(
            "--smtp {url:?}: expected smtp://HOST[:PORT] or smtps://HOST[:PORT]"
        ));
    }
    let mut tls = TlsParameters::builder(host.to_string());
    for ca in &args.smtp_ca {
        let pem = std::fs::read(ca).map_err(|e| format!("--smtp-ca {}: {e}", ca.display()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("--smtp-ca {}: {e}", ca.display()))?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls.build_rustls().map_err(|e| format!("--smtp {url}: TLS: {e}"))?;
    let credentials = read_credentials(args)?;
    let (tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "smtps" => (Tls::Wrapper(tls), 465),
        "smtp" => match args.smtp_starttls {
            StartTls::Required => (Tls::Required(tls), 25),
            _ if credentials.is_some() => {
                return Err(format!(
                    "--smtp {url}: credentials need --smtp-starttls required or smtps:// (never sent in clear)"
                ))
            }
            StartTls::Opportunistic => (Tls::Opportunistic(tls), 25),
            StartTls::Never => (Tls::None, 25),
        },
        other => return Err(format!("--smtp {url:?}: unknown scheme {other:?} (smtp or smtps)")),
    };
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port.unwrap_or(default_port))
        .tls(tls)
        .timeout(Some(Duration::from_secs(args.notify_timeout)));
    if let Some(c) = credentials {
        builder = builder.credentials(c);
    }
    Ok(builder.build())
}

fn webhook_agent(args: &NotifyArgs) -> Result<ureq::Agent, String> {
    let mut roots = ureq::tls::RootCerts::WebPki;
    if let Some(ca) = &args.webhook_ca {
        let pem = std::fs::read(ca).map_err(|e| format!("--webhook-ca {}: {e}", ca.display()))?;
        let certs: Vec<_> = ureq::tls::parse_pem(&pem)
            .filter_map(|i| match i {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            return Err(format!("--webhook-ca {}: no PEM certificate", ca.display()));
        }
        roots = ureq::tls::RootCerts::new_with_certs(&certs);
    }
    let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
    Ok(ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(args.notify_timeout)))
        .http_status_as_error(false)
        .user_agent(concat!("image-scan/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls)
        .build()
        .into())
}

fn mailbox(s: &str, what: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse()
        .map_err(|e| format!("{what} {s:?}: not a mail address: {e}"))
}

impl Notifier {
    /// The channels the flags configure (`None`: no notification at all).
    pub fn from_args(args: &NotifyArgs) -> Result<Option<Notifier>, String> {
        let any_channel = args.webhook.is_some() || args.smtp.is_some();
        let when = args
            .notify
            .unwrap_or(if any_channel { When::Changes } else { When::Never });
        if when == When::Never {
            return Ok(None);
        }
        if !any_channel {
            return Err("--notify: no channel (--webhook URL or --smtp URL)".into());
        }
        if args.smtp.is_none() && (!args.mail_to.is_empty() || args.mail_from.is_some()) {
            return Err("--mail-to and --mail-from need --smtp URL".into());
        }
        let webhook = match &args.webhook {
            Some(url) => {
                let lower = url.to_ascii_lowercase();
                if !(lower.starts_with("http://") || lower.starts_with("https://")) {
                    return Err(format!("--webhook {url:?}: an http:// or https:// URL"));
                }
                Some(Webhook {
                    url: url.clone(),
                    agent: webhook_agent(args)?,
                })
            }
            None => None,
        };
        let mail = match &args.smtp {
            Some(server) => {
                let from = args.mail_from.as_deref().ok_or("--smtp needs --mail-from ADDR")?;
                Some(Mail {
                    server: server.clone(),
                    transport: mail_transport(args, server)?,
                    from: mailbox(from, "--mail-from")?,
                    to: args
                        .mail_to
                        .iter()
                        .map(|a| mailbox(a, "--mail-to"))
                        .collect::<Result<_, _>>()?,
                })
            }
            None => None,
        };
        Ok(Some(Notifier { when, webhook, mail }))
    }

    /// The messages about one subject. `notes` gets why a configured channel has no
    /// message (no recipient).
    pub fn messages(&self, about: &About<'_>, notes: &mut Vec<String>) -> Vec<(&'static str, Pending)> {
        let About {
            reference,
            subject_line,
            doc,
            text,
            html,
            labels,
        } = *about;
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut out = Vec::new();
        if self.webhook.is_some() {
            out.push((
                "webhook",
                json!({ "Channel": "webhook", "Reference": reference, "Subject": subject_line,
                        "Created": created, "Body": doc }),
            ));
        }
        if let Some(m) = &self.mail {
            let to: Vec<String> = if !m.to.is_empty() {
                m.to.iter().map(ToString::to_string).collect()
            } else {
                match recipients_of(labels) {
                    Ok(to) => to,
                    Err(why) => {
                        notes.push(format!("no mail: {why}"));
                        Vec::new()
                    }
                }
            };
            if !to.is_empty() {
                out.push((
                    "mail",
                    json!({ "Channel": "mail", "Reference": reference, "Subject": subject_line,
                            "Created": created, "To": to, "Text": text, "Html": html }),
                ));
            }
        }
        out
    }

    /// Whether this run has the channel (`webhook`, `mail`) a pending message was made for.
    pub fn handles(&self, channel: &str) -> bool {
        match channel {
            "webhook" => self.webhook.is_some(),
            "mail" => self.mail.is_some(),
            _ => true, // an unknown channel is delivered, that is, reported as undeliverable
        }
    }

    /// Deliver one message; `Ok` says where it went.
    pub fn deliver(&self, message: &Pending) -> Result<String, String> {
        let field = |k: &str| message.get(k).and_then(Value::as_str).unwrap_or_default();
        match field("Channel") {
            "webhook" => {
                let w = self
                    .webhook
                    .as_ref()
                    .ok_or("no --webhook in this run: kept for a run with one")?;
                let body = serde_json::to_vec(message.get("Body").unwrap_or(&Value::Null))
                    .map_err(|e| format!("webhook {}: {e}", w.url))?;
                let response = w
                    .agent
                    .post(&w.url)
                    .header("Content-Type", "application/json")
                    .send(&body[..])
                    .map_err(|e| format!("webhook {}: {e}", w.url))?;
                let status = response.status();
                if status.is_success() {
                    Ok(format!("webhook {} ({status})", w.url))
                } else {
                    Err(format!("webhook {}: the server answered {status}", w.url))
                }
            }
            "mail" => {
                let m = self
                    .mail
                    .as_ref()
                    .ok_or("no --smtp in this run: kept for a run with one")?;
                let to: Vec<String> = message
                    .get("To")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                let mut builder = Message::builder()
                    .from(m.from.clone())
                    .subject(field("Subject"))
                    .user_agent(concat!("image-scan/", env!("CARGO_PKG_VERSION")).to_string());
                if to.is_empty() {
                    return Err("mail: no recipient".into());
                }
                for t in &to {
                    builder = builder.to(mailbox(t, "recipient")?);
                }
                let mail = builder
                    .multipart(MultiPart::alternative_plain_html(
                        field("Text").to_string(),
                        field("Html").to_string(),
                    ))
                    .map_err(|e| format!("mail to {}: {e}", to.join(", ")))?;
                m.transport
                    .send(&mail)
                    .map_err(|e| format!("mail to {} through {}: {e}", to.join(", "), m.server))?;
                Ok(format!("mail to {} through {}", to.join(", "), m.server))
            }
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

/// The image's author from its labels, as mail addresses.
pub fn recipients_of(labels: &std::collections::BTreeMap<String, String>) -> Result<Vec<String>, String> {
    let Some((label, value)) = AUTHOR_LABELS
        .iter()
        .find_map(|l| labels.get(*l).filter(|v| !v.trim().is_empty()).map(|v| (*l, v)))
    else {
        return Err(format!(
            "no --mail-to, and the image has no {} label",
            AUTHOR_LABELS.join(" or ")
        ));
    };
    let boxes: Mailboxes = value
        .parse()
        .map_err(|e| format!("label {label}={value:?} is not a list of mail addresses: {e}"))?;
    let to: Vec<String> = boxes.into_iter().map(|b| b.to_string()).collect();
    if to.is_empty() {
        return Err(format!("label {label}={value:?} names no mail address"));
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn the_author_label_names_the_recipients() {
        let mut l = BTreeMap::new();
        assert!(recipients_of(&l).is_err());
        l.insert("maintainer".to_string(), "Team <team@example.org>".to_string());
        assert_eq!(recipients_of(&l).unwrap(), vec!["Team <team@example.org>"]);
        l.insert(
            "org.opencontainers.image.authors".to_string(),
            "a@example.org, B <b@example.org>".to_string(),
        );
        assert_eq!(recipients_of(&l).unwrap(), vec!["a@example.org", "B <b@example.org>"]);
        l.insert(
            "org.opencontainers.image.authors".to_string(),
            "evil\r\nBcc: x@example.org".to_string(),
        );
        assert!(recipients_of(&l).is_err());
    }

    fn args() -> NotifyArgs {
        NotifyArgs {
            notify: None,
            webhook: None,
            webhook_ca: None,
            smtp: None,
            smtp_starttls: StartTls::Required,
            smtp_ca: vec![],
            smtp_credentials: None,
            smtp_user: None,
            mail_to: vec![],
            mail_from: None,
            notify_timeout: 5,
        }
    }

    #[test]
    fn the_flags_are_checked() {
        assert!(Notifier::from_args(&args()).unwrap().is_none());
        let mut a = args();
        a.notify = Some(When::Always);
        assert!(Notifier::from_args(&a).is_err(), "no channel");
        a.webhook = Some("ftp://x".into());
        assert!(Notifier::from_args(&a).is_err());
        a.webhook = Some("http://127.0.0.1:9/hook".into());
        assert!(Notifier::from_args(&a).unwrap().is_some());
        let mut a = args();
        a.smtp = Some("smtp://127.0.0.1:2525".into());
        assert!(Notifier::from_args(&a).is_err(), "no --mail-from");
        a.mail_from = Some("scanner@example.org".into());
        assert_eq!(Notifier::from_args(&a).unwrap().unwrap().when, When::Changes);
        a.smtp = Some("imap://x".into());
        assert!(Notifier::from_args(&a).is_err());
        a.smtp = Some("smtp://x:port".into());
        assert!(Notifier::from_args(&a).is_err());
        // Credentials never over a connection that may stay in clear.
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), "u:p\n").unwrap();
        a.smtp = Some("smtp://127.0.0.1:2525".into());
        a.smtp_credentials = Some(t.path().to_path_buf());
        a.smtp_starttls = StartTls::Opportunistic;
        assert!(Notifier::from_args(&a).is_err());
        a.smtp_starttls = StartTls::Required;
        assert!(Notifier::from_args(&a).is_ok());
        std::fs::write(t.path(), "no colon\n").unwrap();
        assert!(Notifier::from_args(&a).is_err());
    }
}
