//! Test helpers: real account keys made with ring, and JWS objects built and signed with them.

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use serde_json::{json, Value};

use super::jwk::{Algorithm, Jwk};
use super::jws::b64_encode;

/// The fixed RSA-2048 test key (see `testdata/regenerate.sh`); ring cannot generate RSA keys.
const RSA_PKCS8: &[u8] = include_bytes!("testdata/rsa2048.pk8.der");

/// An account key pair for tests.
pub(crate) enum TestKey {
    Es256(EcdsaKeyPair),
    Es384(EcdsaKeyPair),
    Rs256(RsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

impl TestKey {
    /// A fresh key for `alg` (RS256 always yields the fixed test key).
    pub(crate) fn new(alg: Algorithm) -> Self {
        let rng = SystemRandom::new();
        match alg {
            Algorithm::Es256 => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                    .expect("P-256 key generation");
                Self::Es256(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &rng)
                        .expect("P-256 key"),
                )
            }
            Algorithm::Es384 => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
                    .expect("P-384 key generation");
                Self::Es384(
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, doc.as_ref(), &rng)
                        .expect("P-384 key"),
                )
            }
            Algorithm::Rs256 => Self::Rs256(RsaKeyPair::from_pkcs8(RSA_PKCS8).expect("RSA key")),
            Algorithm::EdDsa => {
                let doc = Ed25519KeyPair::generate_pkcs8(&rng).expect("Ed25519 key generation");
                Self::EdDsa(Ed25519KeyPair::from_pkcs8(doc.as_ref()).expect("Ed25519 key"))
            }
        }
    }

    pub(crate) fn alg(&self) -> &'static str {
        match self {
            Self::Es256(_) => "ES256",
            Self::Es384(_) => "ES384",
            Self::Rs256(_) => "RS256",
            Self::EdDsa(_) => "EdDSA",
        }
    }

    /// The public key as a JWK JSON object, built independently of `Jwk::to_json`.
    pub(crate) fn jwk_json(&self) -> Value {
        match self {
            Self::Es256(k) | Self::Es384(k) => {
                let point = k.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                let crv = if half == 32 { "P-256" } else { "P-384" };
                json!({
                    "kty": "EC",
                    "crv": crv,
                    "x": b64_encode(&point[1..1 + half]),
                    "y": b64_encode(&point[1 + half..]),
                })
            }
            Self::Rs256(k) => {
                let components: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                json!({
                    "kty": "RSA",
                    "n": b64_encode(&components.n),
                    "e": b64_encode(&components.e),
                })
            }
            Self::EdDsa(k) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64_encode(k.public_key().as_ref()),
            }),
        }
    }

    pub(crate) fn jwk(&self) -> Jwk {
        Jwk::from_json(&self.jwk_json()).expect("test key JWK parses")
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Self::Es256(k) | Self::Es384(k) => {
                k.sign(&rng, message).expect("ECDSA sign").as_ref().to_vec()
            }
            Self::Rs256(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .expect("RSA sign");
                sig
            }
            Self::EdDsa(k) => k.sign(message).as_ref().to_vec(),
        }
    }
}

/// A flattened JWS with the given protected header (any JSON) and payload bytes, signed by `key`.
pub(crate) fn jws(protected: &Value, payload: &[u8], key: &TestKey) -> Value {
    let protected = b64_encode(protected.to_string().as_bytes());
    let payload = b64_encode(payload);
    let signature = key.sign(format!("{protected}.{payload}").as_bytes());
    json!({ "protected": protected, "payload": payload, "signature": b64_encode(&signature) })
}

/// A flattened JWS MAC'd with HMAC (`alg` HS256/HS384/HS512) under `key`.
pub(crate) fn mac_jws(
    protected: &Value,
    payload: &[u8],
    alg: ring::hmac::Algorithm,
    key: &[u8],
) -> Value {
    let protected = b64_encode(protected.to_string().as_bytes());
    let payload = b64_encode(payload);
    let key = ring::hmac::Key::new(alg, key);
    let tag = ring::hmac::sign(&key, format!("{protected}.{payload}").as_bytes());
    json!({ "protected": protected, "payload": payload, "signature": b64_encode(tag.as_ref()) })
}

/// The body bytes of a JWS value.
pub(crate) fn body(jws: &Value) -> Vec<u8> {
    serde_json::to_vec(jws).expect("JSON")
}
