//! The ceremony's state file (`ceremony.json`): what the root is, what it signed and revoked,
//! the last CRL number, and the transcript head. Written atomically (temp file + rename) so an
//! interrupted step never leaves half a file.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

/// File name of the state inside the ceremony directory.
pub(crate) const STATE_FILE: &str = "ceremony.json";
/// The root certificate.
pub(crate) const ROOT_CERT: &str = "root.pem";

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    pub(crate) version: u32,
    pub(crate) token_label: String,
    pub(crate) token_serial: String,
    pub(crate) key_label: String,
    pub(crate) key_type: String,
    /// SHA-256 of the root's SubjectPublicKeyInfo: checked against the token key every time.
    pub(crate) key_fingerprint: String,
    pub(crate) root_serial: String,
    pub(crate) crl_url: Option<String>,
    pub(crate) ca_issuers_url: Option<String>,
    /// Number of the last root CRL signed (0: none yet).
    pub(crate) crl_number: u64,
    pub(crate) issued: Vec<Issued>,
    pub(crate) revoked: Vec<Revoked>,
    pub(crate) transcript_head: Option<Head>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct Issued {
    pub(crate) serial: String,
    pub(crate) cluster: String,
    pub(crate) subject: String,
    pub(crate) not_after: String,
    pub(crate) file: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct Revoked {
    pub(crate) serial: String,
    pub(crate) reason: String,
    pub(crate) time: String,
}

/// The last transcript entry, so that dropping entries from the end is detected too.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: String,
}

impl State {
    pub(crate) fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    pub(crate) fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (run `fleetca-ceremony init` first, or pass --dir)",
                path.display()
            )
        })?;
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid ceremony state", path.display()))
    }

    pub(crate) fn save(&self, dir: &Path) -> Result<()> {
        write_atomic(
            &Self::path(dir),
            serde_json::to_string_pretty(self)?.as_bytes(),
        )
    }
}

/// Writes `bytes` to `path` via a temporary file and rename, fsynced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Writes a new output file, refusing to overwrite an existing one.
pub(crate) fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a ceremony output",
            path.display()
        );
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    write_atomic(path, bytes)
}
