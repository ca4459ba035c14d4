//! The one error type of the hsm crate. cryptoki's error type stays out of the public API: it is
//! rendered into the message so callers can show it, but they cannot match on it.
use std::fmt;

/// What went wrong while finding, generating or using a signing key.
#[derive(Debug)]
#[non_exhaustive]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded or initialised.
    Module {
        /// Path to the module that was asked for.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// No initialised token carries the requested label.
    TokenNotFound {
        /// The label that was asked for.
        label: String,
        /// Labels of the tokens that are present, to help the operator.
        available: Vec<String>,
    },
    /// Logging in to the token failed (wrong PIN, locked PIN, …).
    Login {
        /// The token's label.
        token: String,
        /// Why it failed, as the module said.
        reason: String,
    },
    /// The PIN could not be read from its source.
    Pin(String),
    /// No private key with this label exists on the token.
    KeyNotFound {
        /// The key label that was asked for.
        label: String,
    },
    /// A key with this label exists already, and the ceremony refuses to make a second one.
    KeyExists {
        /// The key label.
        label: String,
    },
    /// The token returned a public key or signature this crate cannot use.
    Encoding(String),
    /// The key type is not supported by this operation.
    Unsupported(String),
    /// Any other PKCS#11 failure: the function that failed and the module's return value.
    Pkcs11 {
        /// What was being done.
        op: &'static str,
        /// The module's error.
        reason: String,
    },
    /// A software-key operation failed.
    Software(String),
}

impl fmt::Display for HsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Module { path, reason } => {
                write!(f, "cannot load PKCS#11 module {path}: {reason}")
            }
            Self::TokenNotFound { label, available } => write!(
                f,
                "no PKCS#11 token labelled {label:?} (tokens present: {})",
                if available.is_empty() {
                    "none".to_string()
                } else {
                    available.join(", ")
                }
            ),
            Self::Login { token, reason } => write!(f, "login to token {token:?} failed: {reason}"),
            Self::Pin(reason) => write!(f, "cannot read PIN: {reason}"),
            Self::KeyNotFound { label } => {
                write!(f, "no private key labelled {label:?} on the token")
            }
            Self::KeyExists { label } => write!(
                f,
                "a key labelled {label:?} already exists on the token; refusing to create another"
            ),
            Self::Encoding(reason) => write!(f, "unusable data from token: {reason}"),
            Self::Unsupported(what) => write!(f, "unsupported: {what}"),
            Self::Pkcs11 { op, reason } => write!(f, "PKCS#11 {op} failed: {reason}"),
            Self::Software(reason) => write!(f, "software key: {reason}"),
        }
    }
}

impl std::error::Error for HsmError {}

impl HsmError {
    pub(crate) fn pkcs11(op: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Self {
        move |e| Self::Pkcs11 {
            op,
            reason: e.to_string(),
        }
    }
}
