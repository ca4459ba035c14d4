//! Challenge objects (RFC 8555 §7.1.5, §8).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Problem;

/// The status of a challenge (RFC 8555 §7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChallengeStatus {
    /// Waiting for the client to respond.
    Pending,
    /// The server is validating.
    Processing,
    /// Validation succeeded.
    Valid,
    /// Validation failed; see `error`.
    Invalid,
}

/// A challenge type (RFC 8555 §8.3, §8.4; RFC 8737 for `tls-alpn-01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ChallengeType {
    /// HTTP challenge (§8.3).
    #[serde(rename = "http-01")]
    Http01,
    /// DNS challenge (§8.4).
    #[serde(rename = "dns-01")]
    Dns01,
    /// TLS ALPN challenge (RFC 8737 §3).
    #[serde(rename = "tls-alpn-01")]
    TlsAlpn01,
}

impl ChallengeType {
    /// The wire name, e.g. `http-01`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Http01 => "http-01",
            Self::Dns01 => "dns-01",
            Self::TlsAlpn01 => "tls-alpn-01",
        }
    }
}

/// A challenge object (RFC 8555 §7.1.5, §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    /// The challenge type.
    #[serde(rename = "type")]
    pub kind: ChallengeType,
    /// The URL the client POSTs `{}` to when ready (§7.5.1).
    pub url: String,
    /// Current status.
    pub status: ChallengeStatus,
    /// The token for the key authorization (§8.1, §8.3).
    pub token: String,
    /// When the server validated it (RFC 3339); present when `valid`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub validated: Option<OffsetDateTime>,
    /// Why validation failed; present when `invalid` (§8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}
