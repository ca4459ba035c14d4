//! Signing keys for fleetca behind one trait, [`Signer`].
//!
//! Two implementations: [`Pkcs11Key`], a key generated on and never leaving a PKCS#11 token (any
//! module; SoftHSM2 in tests), and [`SoftwareKey`], an in-memory key for unit tests and for
//! deployments that explicitly ask for a key file. [`RcgenSigner`] plugs either into rcgen so that
//! certificates and CRLs are built by rcgen and signed wherever the key lives.
//!
//! The PKCS#11-to-X.509 encoding rules (EC points wrapped in an OCTET STRING, ECDSA signatures
//! returned as raw `r‖s`, RSA DigestInfo for `CKM_RSA_PKCS`) live here and only here, in
//! [`encoding`].
#![forbid(unsafe_code)]

pub mod encoding;
mod error;
mod key_type;
mod lint_signer;
mod pin;
mod pkcs11;
mod rcgen_adapter;
mod signer;
mod software;

pub use error::HsmError;
pub use key_type::KeyType;
pub use lint_signer::LintSigner;
pub use pin::PinSource;
pub use pkcs11::{KeyAttributes, Pkcs11Config, Pkcs11Key, Pkcs11Token, RsaMechanism};
pub use rcgen_adapter::RcgenSigner;
pub use signer::{PublicKey, Signer};
pub use software::SoftwareKey;
