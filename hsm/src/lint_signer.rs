//! The signer for lint copies (Boulder's issuance order): it presents the real issuer's public
//! key, so rcgen produces a TBSCertificate byte-identical to the one the real key will sign,
//! but returns a fixed dummy signature, so the copy can be linted and shown without the HSM and
//! can never be mistaken for a valid certificate.
use crate::{HsmError, PublicKey, Signer};

/// A [`Signer`] with a real public key and a dummy signature.
#[derive(Debug, Clone)]
pub struct LintSigner {
    public: PublicKey,
}

impl LintSigner {
    /// For the issuer whose public key is `public`.
    pub fn new(public: PublicKey) -> Self {
        Self { public }
    }
}

impl Signer for LintSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, _msg: &[u8]) -> Result<Vec<u8>, HsmError> {
        // SEQUENCE { INTEGER 1, INTEGER 1 }: well-formed, never valid.
        Ok(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01])
    }
}
