//! Identifiers: what a certificate is requested for (RFC 8555 §7.1.3, §9.7.7; RFC 8738 for IP).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// An identifier object, `{"type": "dns" | "ip", "value": …}` (RFC 8555 §7.1.3, §9.7.7; RFC 8738 §3).
///
/// IP addresses are held as [`IpAddr`], so two spellings of one IPv6 address (`2001:db8::10`,
/// `2001:0db8:0:0::10`) are the same identifier and serialise in the RFC 5952 form RFC 8738 §3 asks
/// for. DNS names are kept exactly as given; case folding and name rules are policy, not wire format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Identifier {
    /// A DNS name (`"type": "dns"`, RFC 8555 §9.7.7).
    Dns(String),
    /// An IPv4 or IPv6 address (`"type": "ip"`, RFC 8738 §3).
    Ip(IpAddr),
}

impl Identifier {
    /// The `type` string of this identifier (`dns` or `ip`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dns(_) => "dns",
            Self::Ip(_) => "ip",
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "dns:{name}"),
            Self::Ip(ip) => write!(f, "ip:{ip}"),
        }
    }
}

/// An identifier as a client sent it in `newOrder` (RFC 8555 §7.4), before its type is known to be one
/// the server supports.
///
/// It is separate from [`Identifier`] so that an unknown `type` is reported as `unsupportedIdentifier`
/// (RFC 8555 §6.7) rather than as a JSON error (`malformed`). Call [`RequestedIdentifier::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedIdentifier {
    /// The `type` member, e.g. `dns`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The `value` member, e.g. `app.cluster1.example.org`.
    pub value: String,
}

impl RequestedIdentifier {
    /// Turns the request into a typed [`Identifier`]; `dns` and `ip` (RFC 8738) are supported.
    pub fn parse(&self) -> Result<Identifier, IdentifierError> {
        match self.kind.as_str() {
            "dns" => Ok(Identifier::Dns(self.value.clone())),
            "ip" => self
                .value
                .parse::<IpAddr>()
                .map(Identifier::Ip)
                .map_err(|_| IdentifierError::InvalidIp(self.value.clone())),
            other => Err(IdentifierError::Unsupported(other.to_owned())),
        }
    }
}

/// Why a [`RequestedIdentifier`] could not become an [`Identifier`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// The identifier `type` is not `dns` or `ip` (maps to `unsupportedIdentifier`, RFC 8555 §6.7).
    #[error("identifier type {0:?} is not supported (supported: dns, ip)")]
    Unsupported(String),
    /// An `ip` identifier whose value is not an IPv4 or IPv6 address (RFC 8738 §3; maps to `malformed`).
    #[error("ip identifier value {0:?} is not an IP address")]
    InvalidIp(String),
}
