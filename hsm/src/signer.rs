//! The one signing-key abstraction: a public key, and a `sign` that returns an X.509-ready
//! signature value.
use std::fmt::Debug;

use crate::{HsmError, KeyType};

/// A public key as X.509 carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The key type.
    pub key_type: KeyType,
    /// DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// The contents of the SPKI's subjectPublicKey BIT STRING (the EC point, or the DER
    /// RSAPublicKey): what SKIs and OCSP key hashes are computed over.
    pub bits: Vec<u8>,
}

impl PublicKey {
    /// SHA-256 of the DER SubjectPublicKeyInfo, hex: the key's fingerprint in transcripts and
    /// the inventory.
    pub fn fingerprint(&self) -> String {
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &self.spki_der))
    }

    /// Verifies an X.509-form signature with ring, independently of whoever made it. P-521 is
    /// not supported by ring and always returns an error.
    pub fn verify(&self, msg: &[u8], signature: &[u8]) -> Result<(), HsmError> {
        if self.key_type == KeyType::EcP521 {
            return Err(HsmError::Unsupported("verifying P-521 with ring".into()));
        }
        ring::signature::UnparsedPublicKey::new(self.key_type.ring_verify_algorithm(), &self.bits)
            .verify(msg, signature)
            .map_err(|_| HsmError::Encoding("signature does not verify".into()))
    }
}

/// A key that signs inside wherever it lives (a PKCS#11 token, or memory for tests).
///
/// `sign` hashes `msg` with the key type's digest and returns the signature in the form X.509
/// and CRLs carry: DER `ECDSA-Sig-Value` for ECDSA, PKCS#1 v1.5 for RSA.
pub trait Signer: Debug + Send + Sync {
    /// The public half.
    fn public_key(&self) -> &PublicKey;

    /// Signs `msg` (not a digest: hashing is part of signing).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, HsmError>;

    /// Shorthand for the key type.
    fn key_type(&self) -> KeyType {
        self.public_key().key_type
    }
}
