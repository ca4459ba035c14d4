//! Account public keys as JSON Web Keys (RFC 7517; EC and RSA per RFC 7518 §6, Ed25519 per RFC 8037
//! §2), the JWS algorithms they sign with (RFC 7518 §3, RFC 8037 §3.1), signature verification and
//! RFC 7638 thumbprints.
//!
//! Each supported key type has exactly one supported `alg`: P-256 ↔ ES256, P-384 ↔ ES384, RSA ↔ RS256,
//! Ed25519 ↔ EdDSA. Members are parsed strictly (unpadded base64url, fixed-length EC coordinates,
//! minimal RSA integers) so that re-encoding a key reproduces what the client sent, and the thumbprint
//! the server computes equals the one the client computes for its key authorizations (RFC 8555 §8.1).

use std::fmt;

use ring::digest;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Value};

use super::jws::{b64_decode, b64_encode, JwsError};

/// A JWS signature algorithm accepted for ACME account keys (RFC 8555 §6.2, RFC 7518 §3.1).
///
/// `none` and the MAC algorithms (`HS256` …) are never accepted for request signatures (RFC 8555 §6.2);
/// MACs appear only inside an external account binding ([`crate::wfe::eab`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256, signature `r‖s` (RFC 7518 §3.4).
    Es256,
    /// ECDSA P-384 with SHA-384, signature `r‖s` (RFC 7518 §3.4).
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256, modulus 2048–8192 bits (RFC 7518 §3.3).
    Rs256,
    /// Ed25519 (RFC 8037 §3.1).
    EdDsa,
}

impl Algorithm {
    /// Every supported algorithm, in the order listed to clients.
    pub const SUPPORTED: [Self; 4] = [Self::Es256, Self::Es384, Self::Rs256, Self::EdDsa];

    /// The `alg` header value, e.g. `ES256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The algorithm for an `alg` header value; `None` if unsupported (case-sensitive, RFC 7515 §4.1.1).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::SUPPORTED.into_iter().find(|a| a.name() == name)
    }

    /// The names of all supported algorithms, for a problem's `algorithms` member (RFC 8555 §6.2).
    pub fn supported_names() -> Vec<String> {
        Self::SUPPORTED
            .iter()
            .map(|a| a.name().to_owned())
            .collect()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An account public key parsed from a JWK (RFC 7517 §4; RFC 7518 §6.2, §6.3; RFC 8037 §2).
///
/// Two `Jwk`s are equal when they hold the same key, whatever optional members (`kid`, `use`, …) or
/// member order the JSON had. Serialises as the canonical public JWK ([`Jwk::to_json`]), so it can be
/// stored and read back.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Jwk {
    key: Key,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Ec {
        curve: Curve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519 {
        x: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }

    fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }
}

/// RSA modulus bounds: RFC 8555 gives none; 2048 is the CA/B and NIST floor, 8192 ring's ceiling.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 8192;

/// The JWK members we read. Private-key members are listed only to refuse them; anything else is
/// ignored (RFC 7517 §4). A struct rather than a map, so serde rejects duplicate members.
#[derive(Deserialize)]
pub(super) struct JwkWire {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    d: Option<IgnoredAny>,
    p: Option<IgnoredAny>,
    q: Option<IgnoredAny>,
    dp: Option<IgnoredAny>,
    dq: Option<IgnoredAny>,
    qi: Option<IgnoredAny>,
    oth: Option<IgnoredAny>,
    k: Option<IgnoredAny>,
}

impl Jwk {
    /// Parses a public JWK from JSON (RFC 7517 §4).
    ///
    /// Structural faults (not an object, a missing or non-string member, bad base64url) are
    /// `malformed`; keys of a type, curve or size we do not accept, or with private members, are
    /// `badPublicKey` (RFC 8555 §6.7).
    pub fn from_json(value: &Value) -> Result<Self, JwsError> {
        let wire = JwkWire::deserialize(value)
            .map_err(|e| JwsError::Malformed(format!("jwk is not a valid JWK object: {e}")))?;
        Self::from_wire(wire)
    }

    /// Parses a public JWK from JSON text.
    pub fn from_slice(json: &[u8]) -> Result<Self, JwsError> {
        let wire: JwkWire = serde_json::from_slice(json)
            .map_err(|e| JwsError::Malformed(format!("jwk is not a valid JWK object: {e}")))?;
        Self::from_wire(wire)
    }

    pub(super) fn from_wire(wire: JwkWire) -> Result<Self, JwsError> {
        let has_private = [
            &wire.d, &wire.p, &wire.q, &wire.dp, &wire.dq, &wire.qi, &wire.oth, &wire.k,
        ]
        .iter()
        .any(|m| m.is_some());
        if has_private {
            return Err(JwsError::BadPublicKey(
                "jwk contains private or symmetric key material".into(),
            ));
        }
        let kty = required(&wire.kty, "kty")?;
        let key = match kty {
            "EC" => {
                let curve = match required(&wire.crv, "crv")? {
                    "P-256" => Curve::P256,
                    "P-384" => Curve::P384,
                    other => {
                        return Err(JwsError::BadPublicKey(format!(
                            "EC curve {other:?} is not supported (supported: P-256, P-384)"
                        )))
                    }
                };
                let x = member_bytes(&wire.x, "x")?;
                let y = member_bytes(&wire.y, "y")?;
                let len = curve.coordinate_len();
                if x.len() != len || y.len() != len {
                    return Err(JwsError::BadPublicKey(format!(
                        "EC {} coordinates x and y must be {len} bytes each (RFC 7518 §6.2.1.2)",
                        curve.name()
                    )));
                }
                Key::Ec { curve, x, y }
            }
            "RSA" => {
                let n = member_bytes(&wire.n, "n")?;
                let e = member_bytes(&wire.e, "e")?;
                check_rsa(&n, &e)?;
                Key::Rsa { n, e }
            }
            "OKP" => {
                let crv = required(&wire.crv, "crv")?;
                if crv != "Ed25519" {
                    return Err(JwsError::BadPublicKey(format!(
                        "OKP curve {crv:?} is not supported (supported: Ed25519)"
                    )));
                }
                let x = member_bytes(&wire.x, "x")?;
                if x.len() != 32 {
                    return Err(JwsError::BadPublicKey(
                        "Ed25519 public key x must be 32 bytes (RFC 8037 §2)".into(),
                    ));
                }
                Key::Ed25519 { x }
            }
            other => {
                return Err(JwsError::BadPublicKey(format!(
                    "jwk kty {other:?} is not supported (supported: EC, RSA, OKP)"
                )))
            }
        };
        Ok(Self { key })
    }

    /// The one JWS algorithm this key signs with (see the module documentation).
    pub fn algorithm(&self) -> Algorithm {
        match &self.key {
            Key::Ec {
                curve: Curve::P256, ..
            } => Algorithm::Es256,
            Key::Ec {
                curve: Curve::P384, ..
            } => Algorithm::Es384,
            Key::Rsa { .. } => Algorithm::Rs256,
            Key::Ed25519 { .. } => Algorithm::EdDsa,
        }
    }

    /// A short description for messages and logs, e.g. `EC P-256`, `RSA 2048`.
    pub fn description(&self) -> String {
        match &self.key {
            Key::Ec { curve, .. } => format!("EC {}", curve.name()),
            Key::Rsa { n, .. } => format!("RSA {}", bit_len(n)),
            Key::Ed25519 { .. } => "Ed25519".to_owned(),
        }
    }

    /// The RFC 7638 §3 canonical JSON: required members only, in lexicographic order, no whitespace.
    fn canonical_json(&self) -> String {
        match &self.key {
            Key::Ec { curve, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                curve.name(),
                b64_encode(x),
                b64_encode(y)
            ),
            Key::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64_encode(e),
                b64_encode(n)
            ),
            Key::Ed25519 { x } => {
                format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, b64_encode(x))
            }
        }
    }

    /// The public JWK with only its required members (RFC 7638 §3.2), as a JSON value.
    pub fn to_json(&self) -> Value {
        match &self.key {
            Key::Ec { curve, x, y } => json!({
                "kty": "EC", "crv": curve.name(), "x": b64_encode(x), "y": b64_encode(y),
            }),
            Key::Rsa { n, e } => json!({ "kty": "RSA", "n": b64_encode(n), "e": b64_encode(e) }),
            Key::Ed25519 { x } => json!({ "kty": "OKP", "crv": "Ed25519", "x": b64_encode(x) }),
        }
    }

    /// The RFC 7638 JWK thumbprint: SHA-256 of the canonical JSON, unpadded base64url.
    ///
    /// It is the key's identity in key authorizations (RFC 8555 §8.1) and a natural storage lookup key.
    pub fn thumbprint(&self) -> String {
        b64_encode(digest::digest(&digest::SHA256, self.canonical_json().as_bytes()).as_ref())
    }

    /// The key authorization for a challenge `token`: `token || "." || thumbprint` (RFC 8555 §8.1).
    pub fn key_authorization(&self, token: &str) -> String {
        format!("{token}.{}", self.thumbprint())
    }

    /// Verifies a JWS `signature` over `message` made with `alg` (RFC 7515 §5.2 step 8).
    ///
    /// An `alg` other than [`Jwk::algorithm`] is `badSignatureAlgorithm`; a wrong signature is
    /// [`JwsError::BadSignature`].
    pub fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> Result<(), JwsError> {
        if alg != self.algorithm() {
            return Err(JwsError::UnsupportedAlgorithm(format!(
                "JWS alg {alg} does not match the {} account key, which signs with {}",
                self.description(),
                self.algorithm()
            )));
        }
        let result = match &self.key {
            Key::Ec { curve, x, y } => {
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(0x04); // SEC 1 §2.3.3 uncompressed point
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                let algorithm = match curve {
                    Curve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Curve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
                };
                UnparsedPublicKey::new(algorithm, point).verify(message, signature)
            }
            Key::Rsa { n, e } => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
            Key::Ed25519 { x } => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
        };
        result.map_err(|_| JwsError::BadSignature)
    }
}

impl Serialize for Jwk {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Jwk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = JwkWire::deserialize(deserializer)?;
        Self::from_wire(wire).map_err(serde::de::Error::custom)
    }
}

fn required<'a>(member: &'a Option<String>, name: &str) -> Result<&'a str, JwsError> {
    member
        .as_deref()
        .ok_or_else(|| JwsError::Malformed(format!("jwk has no {name} member")))
}

fn member_bytes(member: &Option<String>, name: &str) -> Result<Vec<u8>, JwsError> {
    let text = required(member, name)?;
    b64_decode(text)
        .ok_or_else(|| JwsError::Malformed(format!("jwk member {name} is not unpadded base64url")))
}

fn bit_len(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(i) => {
            let rest = bytes.len() - i;
            let lead = bytes.get(i).map_or(0, |b| b.leading_zeros() as usize);
            rest * 8 - lead
        }
        None => 0,
    }
}

/// RFC 7518 §6.3.1: n and e are minimal big-endian integers; we also bound the modulus and require an
/// odd exponent of at least 3 (what ring verifies with).
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), JwsError> {
    if n.first().is_none_or(|&b| b == 0) || e.first().is_none_or(|&b| b == 0) {
        return Err(JwsError::BadPublicKey(
            "RSA n and e must be minimal big-endian integers without leading zero bytes (RFC 7518 §6.3.1)"
                .into(),
        ));
    }
    let bits = bit_len(n);
    if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
        return Err(JwsError::BadPublicKey(format!(
            "RSA modulus must be {RSA_MIN_BITS} to {RSA_MAX_BITS} bits, not {bits}"
        )));
    }
    let odd = e.last().is_some_and(|&b| b & 1 == 1);
    let at_least_3 = e.len() > 1 || e.first().is_some_and(|&b| b >= 3);
    if e.len() > 4 || !odd || !at_least_3 {
        return Err(JwsError::BadPublicKey(
            "RSA public exponent must be odd, at least 3 and at most 32 bits".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
