//! Problem documents: ACME errors as `application/problem+json` (RFC 8555 §6.7, RFC 7807).
//!
//! [`ProblemType`] is the closed list of RFC 8555 §6.7 error types, each knowing its URN and the HTTP
//! status this server answers with. Mapping internal errors onto these types happens in
//! `crate::wfe::problem`, not here.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Identifier;

/// The URN namespace of ACME error types (RFC 8555 §6.7, §9.6).
pub const ERROR_URN_PREFIX: &str = "urn:ietf:params:acme:error:";

/// An ACME error type from the RFC 8555 §6.7 table, serialised as its full URN.
///
/// The HTTP status of each ([`ProblemType::http_status`]) follows the RFC where it fixes one (400 for
/// `badNonce` §6.5 and `badSignatureAlgorithm` §6.2, 403 for `orderNotReady` §7.4 and `unauthorized`
/// §6.4) and Boulder's choices elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProblemType {
    /// `accountDoesNotExist`: the request names an account that does not exist (§7.3.1).
    AccountDoesNotExist,
    /// `alreadyRevoked`: the certificate to revoke is already revoked (§7.6).
    AlreadyRevoked,
    /// `badCSR`: the CSR is unacceptable, e.g. identifiers do not match the order (§7.4).
    BadCsr,
    /// `badNonce`: the JWS nonce is missing, unknown or used (§6.5).
    BadNonce,
    /// `badPublicKey`: the JWS key is not acceptable (§6.7).
    BadPublicKey,
    /// `badRevocationReason`: the revocation reason is not allowed (§7.6).
    BadRevocationReason,
    /// `badSignatureAlgorithm`: the JWS algorithm is not supported; the problem lists `algorithms` (§6.2).
    BadSignatureAlgorithm,
    /// `caa`: CAA records forbid issuance (§6.7, RFC 8659).
    Caa,
    /// `compound`: several errors, listed in `subproblems` (§6.7.1).
    Compound,
    /// `connection`: the server could not connect to the validation target (§8).
    Connection,
    /// `dns`: a DNS problem during validation (§8).
    Dns,
    /// `externalAccountRequired`: `newAccount` lacks the required external account binding (§7.3.4).
    ExternalAccountRequired,
    /// `incorrectResponse`: the challenge response did not match (§8).
    IncorrectResponse,
    /// `invalidContact`: a contact URL is invalid (§7.3).
    InvalidContact,
    /// `malformed`: the request message is malformed (§6.7).
    Malformed,
    /// `orderNotReady`: finalize on an order that is not `ready` (§7.4).
    OrderNotReady,
    /// `rateLimited`: a rate limit was exceeded (§6.6).
    RateLimited,
    /// `rejectedIdentifier`: the server will not issue for the identifier (§7.4).
    RejectedIdentifier,
    /// `serverInternal`: an internal fault; carries no internal detail (§6.7).
    ServerInternal,
    /// `tls`: a TLS problem during validation (§8).
    Tls,
    /// `unauthorized`: the client lacks authorization for the action (§6.4, §7.6).
    Unauthorized,
    /// `unsupportedContact`: a contact URL scheme is not supported (§7.3).
    UnsupportedContact,
    /// `unsupportedIdentifier`: an identifier type is not supported (§7.4).
    UnsupportedIdentifier,
    /// `userActionRequired`: the user must visit the `instance` URL, e.g. new terms (§7.3.3).
    UserActionRequired,
}

impl ProblemType {
    /// Every RFC 8555 §6.7 error type, in the RFC's table order.
    pub const ALL: [Self; 24] = [
        Self::AccountDoesNotExist,
        Self::AlreadyRevoked,
        Self::BadCsr,
        Self::BadNonce,
        Self::BadPublicKey,
        Self::BadRevocationReason,
        Self::BadSignatureAlgorithm,
        Self::Caa,
        Self::Compound,
        Self::Connection,
        Self::Dns,
        Self::ExternalAccountRequired,
        Self::IncorrectResponse,
        Self::InvalidContact,
        Self::Malformed,
        Self::OrderNotReady,
        Self::RateLimited,
        Self::RejectedIdentifier,
        Self::ServerInternal,
        Self::Tls,
        Self::Unauthorized,
        Self::UnsupportedContact,
        Self::UnsupportedIdentifier,
        Self::UserActionRequired,
    ];

    /// The short name from the RFC 8555 §6.7 table, e.g. `badNonce`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AccountDoesNotExist => "accountDoesNotExist",
            Self::AlreadyRevoked => "alreadyRevoked",
            Self::BadCsr => "badCSR",
            Self::BadNonce => "badNonce",
            Self::BadPublicKey => "badPublicKey",
            Self::BadRevocationReason => "badRevocationReason",
            Self::BadSignatureAlgorithm => "badSignatureAlgorithm",
            Self::Caa => "caa",
            Self::Compound => "compound",
            Self::Connection => "connection",
            Self::Dns => "dns",
            Self::ExternalAccountRequired => "externalAccountRequired",
            Self::IncorrectResponse => "incorrectResponse",
            Self::InvalidContact => "invalidContact",
            Self::Malformed => "malformed",
            Self::OrderNotReady => "orderNotReady",
            Self::RateLimited => "rateLimited",
            Self::RejectedIdentifier => "rejectedIdentifier",
            Self::ServerInternal => "serverInternal",
            Self::Tls => "tls",
            Self::Unauthorized => "unauthorized",
            Self::UnsupportedContact => "unsupportedContact",
            Self::UnsupportedIdentifier => "unsupportedIdentifier",
            Self::UserActionRequired => "userActionRequired",
        }
    }

    /// The full URN, e.g. `urn:ietf:params:acme:error:badNonce` (RFC 8555 §6.7).
    pub fn urn(self) -> String {
        format!("{ERROR_URN_PREFIX}{}", self.name())
    }

    /// Parses a full `urn:ietf:params:acme:error:…` URN; `None` for anything else.
    pub fn from_urn(urn: &str) -> Option<Self> {
        let name = urn.strip_prefix(ERROR_URN_PREFIX)?;
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The HTTP status this server sends with a top-level problem of this type.
    ///
    /// Fixed by RFC 8555: `badNonce` 400 (§6.5), `badSignatureAlgorithm` 400 (§6.2), `unauthorized`
    /// 403 (§6.4 says "reject as unauthorized"; the status is our choice, see FIELD-CASES C07),
    /// `orderNotReady` 403 (§7.4), `rateLimited` 429 (§6.6). `userActionRequired` and `caa` are 403
    /// (refusals the client cannot fix by changing the request), `serverInternal` 500, the rest 400.
    pub fn http_status(self) -> u16 {
        match self {
            Self::ServerInternal => 500,
            Self::RateLimited => 429,
            Self::Unauthorized | Self::OrderNotReady | Self::UserActionRequired | Self::Caa => 403,
            Self::AccountDoesNotExist
            | Self::AlreadyRevoked
            | Self::BadCsr
            | Self::BadNonce
            | Self::BadPublicKey
            | Self::BadRevocationReason
            | Self::BadSignatureAlgorithm
            | Self::Compound
            | Self::Connection
            | Self::Dns
            | Self::ExternalAccountRequired
            | Self::IncorrectResponse
            | Self::InvalidContact
            | Self::Malformed
            | Self::RejectedIdentifier
            | Self::Tls
            | Self::UnsupportedContact
            | Self::UnsupportedIdentifier => 400,
        }
    }
}

impl fmt::Display for ProblemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ERROR_URN_PREFIX}{}", self.name())
    }
}

impl Serialize for ProblemType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ProblemType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let urn = String::deserialize(deserializer)?;
        Self::from_urn(&urn)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown ACME error type {urn:?}")))
    }
}

/// A problem document (RFC 8555 §6.7, RFC 7807 §3), sent as [`Problem::CONTENT_TYPE`].
///
/// Build one with [`Problem::new`]; it fills `status` from the type. `algorithms` is only set for
/// `badSignatureAlgorithm` (RFC 8555 §6.2 requires it there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The error type (`type` member), serialised as its URN.
    #[serde(rename = "type")]
    pub kind: ProblemType,
    /// A human-readable explanation for the operator of the client (RFC 7807 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The HTTP status code, repeated in the body (RFC 7807 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// A URL for the user to visit, used with `userActionRequired` (RFC 8555 §7.3.3, RFC 7807 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Per-identifier errors of a `compound` (or other) problem (RFC 8555 §6.7.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subproblems: Vec<Subproblem>,
    /// The JWS `alg` values the server accepts, with `badSignatureAlgorithm` (RFC 8555 §6.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
}

impl Problem {
    /// The media type of a problem document (RFC 7807 §6.1; RFC 8555 §6.7).
    pub const CONTENT_TYPE: &'static str = "application/problem+json";

    /// A problem of `kind` with a `detail` and the type's HTTP status.
    pub fn new(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            status: Some(kind.http_status()),
            instance: None,
            subproblems: Vec::new(),
            algorithms: Vec::new(),
        }
    }

    /// `serverInternal` with no detail about the fault (internal faults are not explained to peers).
    pub fn server_internal() -> Self {
        Self::new(ProblemType::ServerInternal, "internal error")
    }

    /// Adds the supported `algorithms` list (RFC 8555 §6.2, for `badSignatureAlgorithm`).
    pub fn with_algorithms<I, S>(mut self, algorithms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.algorithms = algorithms.into_iter().map(Into::into).collect();
        self
    }

    /// Adds per-identifier subproblems (RFC 8555 §6.7.1).
    pub fn with_subproblems(mut self, subproblems: Vec<Subproblem>) -> Self {
        self.subproblems = subproblems;
        self
    }

    /// The HTTP status to answer with: `status` if set, else the type's default.
    pub fn http_status(&self) -> u16 {
        self.status.unwrap_or_else(|| self.kind.http_status())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for Problem {}

/// One entry of a problem's `subproblems` (RFC 8555 §6.7.1): an error about one identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subproblem {
    /// The error type, as its URN.
    #[serde(rename = "type")]
    pub kind: ProblemType,
    /// A human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The identifier this subproblem is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
}

impl Subproblem {
    /// A subproblem of `kind` about `identifier`.
    pub fn new(kind: ProblemType, detail: impl Into<String>, identifier: Identifier) -> Self {
        Self {
            kind,
            detail: Some(detail.into()),
            identifier: Some(identifier),
        }
    }
}
