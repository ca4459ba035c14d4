//! Authorization objects (RFC 8555 §7.1.4, §7.5).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{Challenge, Identifier};

/// The status of an authorization (RFC 8555 §7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthorizationStatus {
    /// No challenge has succeeded yet.
    Pending,
    /// A challenge succeeded.
    Valid,
    /// A challenge failed, or validation did.
    Invalid,
    /// Deactivated by the client (§7.5.2).
    Deactivated,
    /// Past `expires`.
    Expired,
    /// Revoked by the server.
    Revoked,
}

/// An authorization object (RFC 8555 §7.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    /// The identifier being authorized; for a wildcard order, without the `*.` (§7.1.4).
    pub identifier: Identifier,
    /// Current status.
    pub status: AuthorizationStatus,
    /// When it expires (RFC 3339); required for `valid` authorizations.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires: Option<OffsetDateTime>,
    /// The challenges the client may answer; for `valid`, the one that was validated (§7.1.4).
    pub challenges: Vec<Challenge>,
    /// `true` when this authorization is for a wildcard name (§7.1.4); omitted when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wildcard: bool,
}
