//! Plugs any [`Signer`] into rcgen, so rcgen builds certificates and CRLs and the key signs
//! wherever it lives.
use std::sync::Mutex;

use crate::{HsmError, Signer};

/// An rcgen signing key backed by a [`Signer`].
///
/// rcgen's error type cannot carry ours, so the adapter keeps the last signing failure;
/// [`RcgenSigner::take_error`] gives it back to the caller for a precise message.
#[derive(Debug)]
pub struct RcgenSigner<'a> {
    signer: &'a dyn Signer,
    algorithm: &'static rcgen::SignatureAlgorithm,
    last_error: Mutex<Option<HsmError>>,
}

impl<'a> RcgenSigner<'a> {
    /// Wraps `signer`; fails for key types rcgen cannot sign with (P-521 on ring).
    pub fn new(signer: &'a dyn Signer) -> Result<Self, HsmError> {
        let algorithm = signer.key_type().rcgen_algorithm().ok_or_else(|| {
            HsmError::Unsupported(format!("building X.509 with a {} key", signer.key_type()))
        })?;
        Ok(Self {
            signer,
            algorithm,
            last_error: Mutex::new(None),
        })
    }

    /// The signer's error behind the last `rcgen::Error::RemoteKeyError`, if any.
    pub fn take_error(&self) -> Option<HsmError> {
        self.last_error.lock().ok().and_then(|mut e| e.take())
    }
}

impl rcgen::PublicKeyData for RcgenSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.signer.public_key().bits
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
    }
}

impl rcgen::SigningKey for RcgenSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.signer.sign(msg).map_err(|e| {
            if let Ok(mut slot) = self.last_error.lock() {
                *slot = Some(e);
            }
            rcgen::Error::RemoteKeyError
        })
    }
}
