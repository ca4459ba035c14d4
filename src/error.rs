//! The core crate's error type.
use std::fmt;

/// What went wrong in the core library.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Input was not valid PEM or DER of the expected kind.
    Parse(String),
    /// A CSR's self-signature does not verify.
    BadCsrSignature,
    /// A request or parameter is outside what the profile allows.
    Profile(String),
    /// rcgen refused to build or sign.
    Build(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(m) => write!(f, "cannot parse: {m}"),
            Self::BadCsrSignature => {
                f.write_str("the CSR's signature does not verify against its own public key")
            }
            Self::Profile(m) => write!(f, "profile: {m}"),
            Self::Build(m) => write!(f, "cannot build certificate: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Self::Build(e.to_string())
    }
}
