//! Account objects and the account request payloads (RFC 8555 §7.1.2, §7.3).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The status of an account (RFC 8555 §7.1.2, state diagram §7.1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AccountStatus {
    /// Usable.
    Valid,
    /// Deactivated by the client (§7.3.6); final.
    Deactivated,
    /// Revoked by the server; final.
    Revoked,
}

/// An account object, returned by `newAccount` and account POSTs (RFC 8555 §7.1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Current status.
    pub status: AccountStatus,
    /// Contact URLs, e.g. `mailto:` (§7.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    /// Whether the client agreed to the terms of service (§7.3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service_agreed: Option<bool>,
    /// The external account binding the account was created with (§7.1.2, §7.3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account_binding: Option<Value>,
    /// URL of the account's orders list (§7.1.2.1).
    pub orders: String,
}

/// The `newAccount` request payload (RFC 8555 §7.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    /// Contact URLs (§7.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    /// Agreement to the terms of service (§7.3.3).
    #[serde(default)]
    pub terms_of_service_agreed: bool,
    /// Look up the account for the signing key only; never create one (§7.3.1).
    #[serde(default)]
    pub only_return_existing: bool,
    /// The external account binding JWS, kept raw for `crate::wfe::eab` to verify (§7.3.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_account_binding: Option<Value>,
}

/// The payload of a POST to an account URL that updates or deactivates it (RFC 8555 §7.3.2, §7.3.6).
///
/// Absent members mean "unchanged"; an empty `contact` list removes all contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountUpdate {
    /// New contact URLs (§7.3.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Vec<String>>,
    /// `deactivated` to deactivate the account (§7.3.6); other values are refused by the RA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AccountStatus>,
    /// Agreement to changed terms of service (§7.3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service_agreed: Option<bool>,
}

/// The payload of the inner JWS of a `keyChange` request (RFC 8555 §7.3.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyChange {
    /// The account URL; must equal the outer JWS `kid`.
    pub account: String,
    /// The current account key as a JWK; must be the key that signed the outer JWS.
    pub old_key: Value,
}
