//! The stored records. Times are Unix seconds; DER is base64 in the JSON.
use std::net::IpAddr;
use std::path::PathBuf;

use fleetca::policy::Identifier;
use serde::{Deserialize, Serialize};

use super::{Record, Table};

/// DER bytes, stored as base64.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Der(pub Vec<u8>);

impl Serialize for Der {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Der {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Der)
            .map_err(serde::de::Error::custom)
    }
}

/// Where a cluster intermediate's private key lives.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyRef {
    /// On the configured PKCS#11 token, by label.
    Pkcs11 {
        /// The key's label.
        label: String,
    },
    /// A PKCS#8 software key file (only when the operator asked for one).
    SoftwareFile {
        /// Path of the key file.
        path: PathBuf,
    },
}

/// A cluster's lifecycle.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClusterStatus {
    /// Key made, CSR written; waiting for the ceremony's certificate.
    AwaitingCertificate,
    /// Certificate imported; issuing.
    Active,
}

/// A cluster and its intermediate CA.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterRecord {
    /// Cluster name (the `{cluster}` in ACME URLs).
    pub name: String,
    /// Lifecycle state.
    pub status: ClusterStatus,
    /// Where the key is.
    pub key: KeyRef,
    /// The key's SubjectPublicKeyInfo.
    pub spki_der: Der,
    /// The CSR taken to the ceremony.
    pub csr_pem: String,
    /// The intermediate certificate, once imported.
    pub cert_der: Option<Der>,
    /// When the key was made.
    pub created: i64,
    /// When the certificate was imported.
    pub activated: Option<i64>,
}

impl Record for ClusterRecord {
    const TABLE: Table = Table::Clusters;
    fn key(&self) -> String {
        self.name.clone()
    }
}

/// An External Account Binding key minted for one namespace of one cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EabRecord {
    /// Key id (`kid` in the EAB JWS).
    pub kid: String,
    /// HMAC key, base64url without padding.
    pub hmac_key: String,
    /// The cluster whose ACME endpoint accepts it.
    pub cluster: String,
    /// The namespace the account will be bound to.
    pub namespace: String,
    /// DNS suffixes granted to the account.
    pub suffixes: Vec<String>,
    /// The account it was bound to, once used.
    pub account_id: Option<String>,
    /// When it was minted.
    pub created: i64,
}

impl Record for EabRecord {
    const TABLE: Table = Table::Eab;
    fn key(&self) -> String {
        self.kid.clone()
    }
}

/// An account's status (RFC 8555 §7.1.2).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Usable.
    Valid,
    /// Deactivated by its holder.
    Deactivated,
    /// Revoked by the server operator.
    Revoked,
}

/// An ACME account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Account id (last path segment of its URL).
    pub id: String,
    /// Cluster.
    pub cluster: String,
    /// Namespace it is bound to.
    pub namespace: String,
    /// Granted suffixes.
    pub suffixes: Vec<String>,
    /// The account key as a JWK.
    pub jwk: serde_json::Value,
    /// RFC 7638 thumbprint of the key.
    pub thumbprint: String,
    /// Status.
    pub status: AccountState,
    /// Contact URLs.
    pub contact: Vec<String>,
    /// The EAB key id it was created with.
    pub eab_kid: String,
    /// Creation time.
    pub created: i64,
}

impl Record for AccountRecord {
    const TABLE: Table = Table::Accounts;
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// Index: which account holds a key, per cluster.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountKeyRecord {
    /// `cluster/thumbprint`.
    pub cluster_thumbprint: String,
    /// The account.
    pub account_id: String,
}

impl AccountKeyRecord {
    /// The index key for a cluster and thumbprint.
    pub fn key_for(cluster: &str, thumbprint: &str) -> String {
        format!("{cluster}/{thumbprint}")
    }
}

impl Record for AccountKeyRecord {
    const TABLE: Table = Table::AccountKeys;
    fn key(&self) -> String {
        self.cluster_thumbprint.clone()
    }
}

/// An identifier as stored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StoredIdentifier {
    /// `dns` or `ip`.
    pub kind: String,
    /// The name or address.
    pub value: String,
}

impl From<&Identifier> for StoredIdentifier {
    fn from(id: &Identifier) -> Self {
        match id {
            Identifier::Dns(d) => Self {
                kind: "dns".into(),
                value: d.clone(),
            },
            Identifier::Ip(ip) => Self {
                kind: "ip".into(),
                value: ip.to_string(),
            },
        }
    }
}

impl StoredIdentifier {
    /// Back to the policy type.
    pub fn to_identifier(&self) -> Option<Identifier> {
        match self.kind.as_str() {
            "dns" => Some(Identifier::Dns(self.value.clone())),
            "ip" => self.value.parse::<IpAddr>().ok().map(Identifier::Ip),
            _ => None,
        }
    }
}

/// Status of an order, authorization or challenge (RFC 8555 §7.1.6).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the client.
    Pending,
    /// Order: all authorizations valid, waiting for finalize.
    Ready,
    /// Being validated or signed.
    Processing,
    /// Done.
    Valid,
    /// Failed.
    Invalid,
    /// Authorization: deactivated by the client.
    Deactivated,
    /// Authorization: expired.
    Expired,
    /// Authorization: revoked.
    Revoked,
}

/// An order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrderRecord {
    /// Order id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Cluster.
    pub cluster: String,
    /// Requested identifiers, sorted and unique.
    pub identifiers: Vec<StoredIdentifier>,
    /// Status.
    pub status: Status,
    /// Authorization ids, one per identifier.
    pub authz_ids: Vec<String>,
    /// Expiry.
    pub expires: i64,
    /// Requested notBefore.
    pub not_before: Option<i64>,
    /// Requested notAfter.
    pub not_after: Option<i64>,
    /// The problem that made the order invalid.
    pub error: Option<serde_json::Value>,
    /// The certificate's serial once issued.
    pub certificate_serial: Option<String>,
    /// Creation time.
    pub created: i64,
}

impl Record for OrderRecord {
    const TABLE: Table = Table::Orders;
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A challenge inside an authorization.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChallengeRecord {
    /// Challenge id.
    pub id: String,
    /// `http-01`.
    pub kind: String,
    /// The token.
    pub token: String,
    /// Status.
    pub status: Status,
    /// When it was validated.
    pub validated: Option<i64>,
    /// Why it failed.
    pub error: Option<serde_json::Value>,
}

/// An authorization.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuthzRecord {
    /// Authorization id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// Cluster.
    pub cluster: String,
    /// The identifier (for wildcards, without the `*.`).
    pub identifier: StoredIdentifier,
    /// True if the order asked for `*.identifier`.
    pub wildcard: bool,
    /// Status.
    pub status: Status,
    /// Expiry.
    pub expires: i64,
    /// True if authorised by the account's binding (no challenge needed).
    pub by_binding: bool,
    /// Challenges (empty when authorised by binding).
    pub challenges: Vec<ChallengeRecord>,
}

impl Record for AuthzRecord {
    const TABLE: Table = Table::Authzs;
    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A revocation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Revocation {
    /// When.
    pub time: i64,
    /// RFC 5280 reason code.
    pub reason: u8,
}

/// An issued certificate: the inventory's unit.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertRecord {
    /// Serial, lower-case hex.
    pub serial: String,
    /// Issuing cluster.
    pub cluster: String,
    /// ACME account, if issued through ACME.
    pub account_id: Option<String>,
    /// Namespace.
    pub namespace: String,
    /// SAN values.
    pub names: Vec<String>,
    /// SHA-256 of the SubjectPublicKeyInfo, hex.
    pub spki_sha256: String,
    /// notBefore.
    pub not_before: i64,
    /// notAfter.
    pub not_after: i64,
    /// The certificate. Empty while only the serial is reserved.
    pub der: Der,
    /// The order it finalised.
    pub order_id: Option<String>,
    /// Revocation, if revoked.
    pub revoked: Option<Revocation>,
    /// True for the development-only serving certificate (loopback IPs).
    pub development_only: bool,
    /// Issuance time.
    pub issued_at: i64,
}

impl Record for CertRecord {
    const TABLE: Table = Table::Certs;
    fn key(&self) -> String {
        self.serial.clone()
    }
}
