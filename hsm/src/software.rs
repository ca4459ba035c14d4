//! In-memory software keys (ring): for unit tests, and for deployments that explicitly choose
//! a key file over the HSM. RSA keys can be loaded but not generated (ring cannot generate them).
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, RsaKeyPair};

use crate::encoding::{ec_spki, rsa_spki};
use crate::{HsmError, KeyType, PublicKey, Signer};

enum Inner {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
}

/// A software signing key.
pub struct SoftwareKey {
    inner: Inner,
    public: PublicKey,
    pkcs8: Vec<u8>,
    rng: SystemRandom,
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("key_type", &self.public.key_type)
            .finish_non_exhaustive()
    }
}

fn ec_alg(key_type: KeyType) -> Result<&'static ring::signature::EcdsaSigningAlgorithm, HsmError> {
    match key_type {
        KeyType::EcP256 => Ok(&ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeyType::EcP384 => Ok(&ring::signature::ECDSA_P384_SHA384_ASN1_SIGNING),
        other => Err(HsmError::Unsupported(format!("software {other} keys"))),
    }
}

impl SoftwareKey {
    /// Generates a new EC key (P-256 or P-384).
    pub fn generate(key_type: KeyType) -> Result<Self, HsmError> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(ec_alg(key_type)?, &rng)
            .map_err(|_| HsmError::Software("EC key generation failed".into()))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    /// Loads a PKCS#8 DER private key (EC P-256/P-384 or RSA).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, HsmError> {
        let rng = SystemRandom::new();
        for key_type in [KeyType::EcP256, KeyType::EcP384] {
            if let Ok(kp) = EcdsaKeyPair::from_pkcs8(ec_alg(key_type)?, der, &rng) {
                let bits = kp.public_key().as_ref().to_vec();
                let public = PublicKey {
                    key_type,
                    spki_der: ec_spki(key_type, &bits)?,
                    bits,
                };
                return Ok(Self {
                    inner: Inner::Ec(kp),
                    public,
                    pkcs8: der.to_vec(),
                    rng,
                });
            }
        }
        let kp = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| HsmError::Software(format!("not a usable PKCS#8 key: {e}")))?;
        let key_type = match kp.public().modulus_len() * 8 {
            3072 => KeyType::Rsa3072,
            4096 => KeyType::Rsa4096,
            bits => return Err(HsmError::Unsupported(format!("RSA-{bits} keys"))),
        };
        let bits = kp.public().as_ref().to_vec();
        let public = PublicKey {
            key_type,
            spki_der: rsa_spki(&bits),
            bits,
        };
        Ok(Self {
            inner: Inner::Rsa(kp),
            public,
            pkcs8: der.to_vec(),
            rng,
        })
    }

    /// The PKCS#8 DER of the private key, for writing a key file the operator asked for.
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }
}

impl Signer for SoftwareKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, HsmError> {
        match &self.inner {
            Inner::Ec(kp) => kp
                .sign(&self.rng, msg)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| HsmError::Software("ECDSA signing failed".into())),
            Inner::Rsa(kp) => {
                let mut sig = vec![0; kp.public().modulus_len()];
                kp.sign(&ring::signature::RSA_PKCS1_SHA256, &self.rng, msg, &mut sig)
                    .map_err(|_| HsmError::Software("RSA signing failed".into()))?;
                Ok(sig)
            }
        }
    }
}
