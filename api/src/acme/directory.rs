//! The directory resource (RFC 8555 §7.1.1): the one URL a client is configured with.

use serde::{Deserialize, Serialize};

/// The directory object, served at the directory URL (RFC 8555 §7.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// URL of the newNonce resource (§7.2).
    pub new_nonce: String,
    /// URL of the newAccount resource (§7.3).
    pub new_account: String,
    /// URL of the newOrder resource (§7.4).
    pub new_order: String,
    /// URL of the newAuthz resource for pre-authorization (§7.4.1); absent when not offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_authz: Option<String>,
    /// URL of the revokeCert resource (§7.6).
    pub revoke_cert: String,
    /// URL of the keyChange resource (§7.3.5).
    pub key_change: String,
    /// URL of the renewalInfo resource (RFC 9773 §4); absent when ARI is not offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_info: Option<String>,
    /// Metadata about the server (§7.1.1 `meta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<DirectoryMeta>,
}

/// The directory `meta` object (RFC 8555 §7.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryMeta {
    /// URL of the current terms of service; when set, clients must agree in `newAccount` (§7.3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service: Option<String>,
    /// URL of a page describing the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Hostnames this CA recognises in CAA records (RFC 8659).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caa_identities: Vec<String>,
    /// Whether `newAccount` requires an external account binding (§7.3.4). Always serialised, so
    /// clients such as cert-manager see an explicit `false`.
    #[serde(default)]
    pub external_account_required: bool,
}
