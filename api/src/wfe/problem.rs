//! The one place front-end errors become problem documents (RFC 8555 §6.7).
//!
//! Client faults keep their detail; server faults (`serverInternal`) say nothing about the cause.

use super::eab::EabKeyError;
use super::jwk::Algorithm;
use super::jws::JwsError;
use super::nonce::NonceError;
use crate::acme::{IdentifierError, InvalidBase64Url, Problem, ProblemType};

impl From<&JwsError> for Problem {
    fn from(error: &JwsError) -> Self {
        let detail = error.to_string();
        match error {
            JwsError::Malformed(_) | JwsError::BadSignature => {
                Self::new(ProblemType::Malformed, detail)
            }
            JwsError::BadNonce(_) => Self::new(ProblemType::BadNonce, detail),
            JwsError::UnsupportedAlgorithm(_) => {
                Self::new(ProblemType::BadSignatureAlgorithm, detail)
                    .with_algorithms(Algorithm::supported_names())
            }
            JwsError::BadPublicKey(_) => Self::new(ProblemType::BadPublicKey, detail),
            JwsError::UrlMismatch { .. } | JwsError::EabBadMac | JwsError::EabUnknownKey(_) => {
                Self::new(ProblemType::Unauthorized, detail)
            }
        }
    }
}

impl From<JwsError> for Problem {
    fn from(error: JwsError) -> Self {
        Self::from(&error)
    }
}

impl From<NonceError> for Problem {
    fn from(error: NonceError) -> Self {
        match error {
            NonceError::Random => Self::server_internal(),
            _ => Self::new(ProblemType::BadNonce, error.to_string()),
        }
    }
}

impl From<EabKeyError> for Problem {
    /// A stored EAB key that cannot be used is the server's fault.
    fn from(_: EabKeyError) -> Self {
        Self::server_internal()
    }
}

impl From<&IdentifierError> for Problem {
    fn from(error: &IdentifierError) -> Self {
        let kind = match error {
            IdentifierError::Unsupported(_) => ProblemType::UnsupportedIdentifier,
            IdentifierError::InvalidIp(_) => ProblemType::Malformed,
        };
        Self::new(kind, error.to_string())
    }
}

impl From<IdentifierError> for Problem {
    fn from(error: IdentifierError) -> Self {
        Self::from(&error)
    }
}

impl From<InvalidBase64Url> for Problem {
    fn from(error: InvalidBase64Url) -> Self {
        Self::new(ProblemType::Malformed, error.to_string())
    }
}

#[cfg(test)]
mod tests;
