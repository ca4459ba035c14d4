//! fleetca core: what a certificate of each kind looks like ([`profile`]), which names may be
//! issued ([`policy`]), the lint rulebook shared by issuance and the scanner ([`lint`]), CSR
//! checks ([`csr`]), and PEM/DER helpers. No network, no HSM: signing happens through
//! `rcgen::SigningKey`, which the `fleetca-hsm` crate implements for tokens.
#![forbid(unsafe_code)]

pub mod crl;
pub mod csr;
mod error;
pub mod inspect;
pub mod lint;
pub mod ocsp;
pub mod pem;
pub mod policy;
pub mod profile;
pub mod serial;
pub mod verify;

pub use error::Error;
