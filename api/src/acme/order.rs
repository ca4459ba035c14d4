//! Order objects and the order, finalize and revocation payloads (RFC 8555 §7.1.3, §7.4, §7.6).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::b64::{self, InvalidBase64Url};
use super::{Identifier, Problem, RequestedIdentifier};

/// The status of an order (RFC 8555 §7.1.3, §7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OrderStatus {
    /// Authorizations are not all valid yet.
    Pending,
    /// All authorizations valid; the client may finalize.
    Ready,
    /// Finalize accepted; the certificate is being issued (send `Retry-After`, §7.4).
    Processing,
    /// The certificate is issued; see `certificate`.
    Valid,
    /// Failed or expired; see `error`.
    Invalid,
}

/// An order object (RFC 8555 §7.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// Current status.
    pub status: OrderStatus,
    /// When the order expires (RFC 3339); required for `pending` and `valid` orders.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires: Option<OffsetDateTime>,
    /// The identifiers the order is for.
    pub identifiers: Vec<Identifier>,
    /// Requested start of validity.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub not_before: Option<OffsetDateTime>,
    /// Requested end of validity.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub not_after: Option<OffsetDateTime>,
    /// Why the order is `invalid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    /// URLs of the order's authorizations.
    pub authorizations: Vec<String>,
    /// URL to POST the CSR to (§7.4).
    pub finalize: String,
    /// URL of the issued certificate chain; present when `valid` (§7.4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

/// The `newOrder` request payload (RFC 8555 §7.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOrder {
    /// The identifiers requested, as sent; see [`RequestedIdentifier::parse`].
    pub identifiers: Vec<RequestedIdentifier>,
    /// Requested start of validity (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub not_before: Option<OffsetDateTime>,
    /// Requested end of validity (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub not_after: Option<OffsetDateTime>,
}

/// The finalize request payload (RFC 8555 §7.4): a base64url DER CSR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finalize {
    /// The PKCS#10 CSR, DER, unpadded base64url.
    pub csr: String,
}

impl Finalize {
    /// The CSR's DER bytes.
    pub fn csr_der(&self) -> Result<Vec<u8>, InvalidBase64Url> {
        b64::decode("csr", &self.csr)
    }
}

/// The `revokeCert` request payload (RFC 8555 §7.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeCert {
    /// The certificate to revoke, DER, unpadded base64url.
    pub certificate: String,
    /// The RFC 5280 §5.3.1 reason code. Held as a wide integer so that out-of-range values reach the
    /// RA and become `badRevocationReason`, not a JSON error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<i64>,
}

impl RevokeCert {
    /// The certificate's DER bytes.
    pub fn certificate_der(&self) -> Result<Vec<u8>, InvalidBase64Url> {
        b64::decode("certificate", &self.certificate)
    }
}
