//! The ceremony transcript: append-only JSON lines, each carrying the SHA-256 of the previous
//! line's entry, so that editing, dropping or reordering an entry breaks the chain at a point
//! `transcript verify` can name. The state file keeps the head, so truncation shows as well.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::state::Head;

/// File name inside the ceremony directory.
pub(crate) const TRANSCRIPT_FILE: &str = "transcript.jsonl";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One step of the ceremony.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) seq: u64,
    pub(crate) time: String,
    pub(crate) operator: String,
    pub(crate) command: String,
    /// The command line, less the program name (no secrets are ever flags).
    pub(crate) args: Vec<String>,
    /// SHA-256 of every input file, by path.
    pub(crate) inputs: BTreeMap<String, String>,
    /// SHA-256 of every output file, by path.
    pub(crate) outputs: BTreeMap<String, String>,
    pub(crate) token_serial: Option<String>,
    pub(crate) key_fingerprint: Option<String>,
    /// Free-form facts (serials, CRL numbers).
    pub(crate) details: BTreeMap<String, String>,
    /// Hash of the previous entry (all zeros for the first).
    pub(crate) prev: String,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(flatten)]
    entry: Entry,
    hash: String,
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

fn entry_hash(e: &Entry) -> Result<String> {
    Ok(sha256_hex(&serde_json::to_vec(e)?))
}

/// Appends `entry` (its `seq` and `prev` are filled in from `head`), fsyncs, and returns the
/// new head.
pub(crate) fn append(dir: &Path, head: Option<&Head>, mut entry: Entry) -> Result<Head> {
    entry.seq = head.map_or(1, |h| h.seq + 1);
    entry.prev = head.map_or_else(|| GENESIS.to_string(), |h| h.hash.clone());
    let hash = entry_hash(&entry)?;
    let seq = entry.seq;
    let mut line = serde_json::to_string(&Line {
        entry,
        hash: hash.clone(),
    })?;
    line.push('\n');
    let path = dir.join(TRANSCRIPT_FILE);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.write_all(line.as_bytes())?;
    f.sync_all()?;
    Ok(Head { seq, hash })
}

/// Why a transcript does not verify.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Broken {
    /// Line `line` is not a transcript entry at all.
    Unreadable { line: usize, reason: String },
    /// The entry's content no longer matches its hash: it was edited.
    Edited { line: usize, seq: u64 },
    /// The entry's `prev` does not match the entry before it: something before it was dropped
    /// or the entries were reordered.
    Unlinked {
        line: usize,
        seq: u64,
        expected_seq: u64,
    },
    /// The file ends before the head recorded in the state: entries were dropped from the end.
    Truncated { last_seq: u64, head_seq: u64 },
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unreadable { line, reason } => write!(f, "line {line} is not a transcript entry: {reason}"),
            Self::Edited { line, seq } => write!(f, "entry {seq} (line {line}) was edited: its hash does not match its content"),
            Self::Unlinked { line, seq, expected_seq } => write!(
                f,
                "entry {seq} (line {line}) does not follow the entry before it: expected entry {expected_seq} here; an entry was dropped or entries were reordered"
            ),
            Self::Truncated { last_seq, head_seq } => write!(
                f,
                "transcript ends at entry {last_seq} but the ceremony state records entry {head_seq}: entries were dropped from the end"
            ),
        }
    }
}

/// Verifies the chain. Returns the number of entries on success.
pub(crate) fn verify(text: &str, head: Option<&Head>) -> std::result::Result<u64, Broken> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let parsed: Line = serde_json::from_str(raw).map_err(|e| Broken::Unreadable {
            line,
            reason: e.to_string(),
        })?;
        let computed = entry_hash(&parsed.entry).map_err(|e| Broken::Unreadable {
            line,
            reason: e.to_string(),
        })?;
        if computed != parsed.hash {
            return Err(Broken::Edited {
                line,
                seq: parsed.entry.seq,
            });
        }
        if parsed.entry.prev != prev || parsed.entry.seq != expected_seq {
            return Err(Broken::Unlinked {
                line,
                seq: parsed.entry.seq,
                expected_seq,
            });
        }
        prev = parsed.hash;
        expected_seq += 1;
    }
    let last_seq = expected_seq - 1;
    if let Some(h) = head {
        if h.seq != last_seq || (last_seq > 0 && h.hash != prev) {
            return Err(Broken::Truncated {
                last_seq,
                head_seq: h.seq,
            });
        }
    }
    Ok(last_seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cmd: &str) -> Entry {
        Entry {
            seq: 0,
            time: "2026-01-01T00:00:00Z".into(),
            operator: "alice".into(),
            command: cmd.into(),
            args: vec![],
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            token_serial: None,
            key_fingerprint: None,
            details: BTreeMap::new(),
            prev: String::new(),
        }
    }

    fn three() -> (tempfile::TempDir, Head) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut head = None;
        for c in ["init", "sign-intermediate", "crl"] {
            head = Some(append(dir.path(), head.as_ref(), entry(c)).expect("append"));
        }
        (dir, head.expect("head"))
    }

    fn lines(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join(TRANSCRIPT_FILE))
            .expect("read")
            .lines()
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let (dir, head) = three();
        let text = lines(dir.path()).join("\n");
        assert_eq!(verify(&text, Some(&head)), Ok(3));
    }

    #[test]
    fn edit_is_named() {
        let (dir, head) = three();
        let mut l = lines(dir.path());
        l[1] = l[1].replace("alice", "mallory");
        assert_eq!(
            verify(&l.join("\n"), Some(&head)),
            Err(Broken::Edited { line: 2, seq: 2 })
        );
    }

    #[test]
    fn drop_and_reorder_are_named() {
        let (dir, head) = three();
        let mut l = lines(dir.path());
        l.remove(1);
        assert_eq!(
            verify(&l.join("\n"), Some(&head)),
            Err(Broken::Unlinked {
                line: 2,
                seq: 3,
                expected_seq: 2
            })
        );
        let mut l = lines(dir.path());
        l.swap(1, 2);
        assert_eq!(
            verify(&l.join("\n"), Some(&head)),
            Err(Broken::Unlinked {
                line: 2,
                seq: 3,
                expected_seq: 2
            })
        );
    }

    #[test]
    fn truncation_is_named() {
        let (dir, head) = three();
        let mut l = lines(dir.path());
        l.pop();
        assert_eq!(
            verify(&l.join("\n"), Some(&head)),
            Err(Broken::Truncated {
                last_seq: 2,
                head_seq: 3
            })
        );
    }
}
