//! Sign built packages with the real `rpmsign` and a throw-away GnuPG key, so signature
//! strings can be compared for every algorithm and tag rpm shows (RSAHEADER, DSAHEADER —
//! also used for EdDSA — and, with `--rpmv3`, the legacy SIGPGP / SIGGPG).
//!
//! Keys are created in a private `GNUPGHOME` dated 2001-01-01 (gpg's `--faked-system-time`),
//! so signatures can carry any chosen creation time after that ([`SignOptions::time`]).
//! The key's gpg-agent is stopped when the [`SigningKey`] is dropped.

use super::tools::{require_tool, run_ok};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// A GnuPG secret key in its own home directory.
#[derive(Debug)]
pub struct SigningKey {
    home: tempfile::TempDir,
    /// The long key id, 16 uppercase hex digits as gpg prints it.
    pub key_id: String,
    /// The gpg algorithm name it was made with (`rsa2048`, `dsa2048`, `ed25519`…).
    pub algo: String,
    /// gpg.conf holds the faked time: one signature at a time.
    lock: Mutex<()>,
}

/// How to sign.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// Signature creation time (seconds since the epoch, after 2001-01-01); `None`: now.
    pub time: Option<u64>,
    /// `_gpg_digest_algo`: `sha1`, `sha256`, `sha512`… (`None`: rpm's default).
    pub digest_algo: Option<String>,
    /// Also add the legacy header+payload signature (SIGPGP for RSA, SIGGPG for DSA).
    pub rpmv3: bool,
}

const KEY_TIME: &str = "20010101T000000";

fn gpg(home: &Path) -> Command {
    let mut cmd = Command::new(require_tool("gpg"));
    cmd.arg("--homedir").arg(home).arg("--batch");
    cmd
}

impl SigningKey {
    /// Generate a signing key with `gpg --quick-gen-key <algo>`.
    pub fn generate(algo: &str) -> SigningKey {
        // gpg 2 keeps secret keys through gpg-agent, a package of its own on Debian.
        require_tool("gpg-agent");
        require_tool("gpgconf");
        let home = tempfile::Builder::new().prefix("harness-gnupg-").tempdir().unwrap();
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        run_ok(
            gpg(home.path())
                .args(["--faked-system-time", &format!("{KEY_TIME}!")])
                .args(["--passphrase", "", "--quick-gen-key"])
                .arg(format!("Harness {algo} <{algo}@harness.example.org>"))
                .args([algo, "sign", "never"]),
        );
        let listing = run_ok(gpg(home.path()).args(["--with-colons", "--list-secret-keys"])).stdout;
        let listing = String::from_utf8_lossy(&listing);
        let key_id = listing
            .lines()
            .find(|l| l.starts_with("sec:"))
            .and_then(|l| l.split(':').nth(4))
            .unwrap_or_else(|| panic!("no secret key in gpg's listing:\n{listing}"))
            .to_string();
        SigningKey {
            home,
            key_id,
            algo: algo.to_string(),
            lock: Mutex::new(()),
        }
    }

    /// Sign `rpm` in place with `rpmsign --addsign`.
    pub fn sign(&self, rpm: &Path, opts: &SignOptions) {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let conf = match opts.time {
            Some(t) => format!("faked-system-time {t}!\n"),
            None => String::new(),
        };
        std::fs::write(self.home.path().join("gpg.conf"), conf).unwrap();
        let mut cmd = Command::new(require_tool("rpmsign"));
        cmd.arg("--addsign")
            .arg("--define")
            .arg(format!("__gpg {}", require_tool("gpg").display()))
            .arg("--define")
            .arg(format!("_gpg_path {}", self.home.path().display()))
            .arg("--define")
            .arg(format!("_gpg_name {}", self.key_id));
        if let Some(d) = &opts.digest_algo {
            cmd.arg("--define").arg(format!("_gpg_digest_algo {d}"));
        }
        if opts.rpmv3 {
            cmd.arg("--rpmv3");
        }
        cmd.arg(rpm);
        run_ok(&mut cmd);
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}
