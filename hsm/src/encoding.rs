//! Conversions between what PKCS#11 tokens hand out and what X.509 needs (FIELD-CASES C26).
//!
//! - `CKA_EC_POINT` is a DER OCTET STRING around the uncompressed point (`04 41 04‖X‖Y` for
//!   P-256); the SubjectPublicKeyInfo BIT STRING holds the inner point. Some tokens return the
//!   raw point; both are accepted, anything else is refused.
//! - `CKM_ECDSA` returns raw `r‖s`, each scalar padded to the curve size; X.509 wants
//!   `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`, minimally encoded.
//! - `CKM_RSA_PKCS` signs whatever it is given: the input must be the DER DigestInfo.
use crate::{HsmError, KeyType};

/// DER `AlgorithmIdentifier` prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Appends a DER length.
pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a DER TLV.
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// Encodes a big-endian unsigned magnitude as a minimal DER INTEGER: leading zero bytes are
/// stripped and one `00` is added when the top bit is set, so the value stays positive.
pub fn der_unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|b| **b == 0).count();
    let digits = &magnitude[skip..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.is_empty() || digits[0] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(digits);
    let mut out = Vec::with_capacity(content.len() + 4);
    push_tlv(&mut out, 0x02, &content);
    out
}

/// Converts a raw `r‖s` ECDSA signature from a token into DER `ECDSA-Sig-Value`.
pub fn ecdsa_raw_to_der(key_type: KeyType, raw: &[u8]) -> Result<Vec<u8>, HsmError> {
    let n = key_type
        .ec_scalar_len()
        .ok_or_else(|| HsmError::Unsupported(format!("{key_type} is not an ECDSA key")))?;
    if raw.len() != 2 * n {
        return Err(HsmError::Encoding(format!(
            "ECDSA signature for {key_type} must be {} bytes (r‖s), token returned {}",
            2 * n,
            raw.len()
        )));
    }
    let (r, s) = raw.split_at(n);
    let mut body = der_unsigned_integer(r);
    body.extend_from_slice(&der_unsigned_integer(s));
    let mut out = Vec::with_capacity(body.len() + 3);
    push_tlv(&mut out, 0x30, &body);
    Ok(out)
}

/// Extracts the uncompressed EC point from a token's `CKA_EC_POINT`: either the DER OCTET STRING
/// PKCS#11 specifies, or the bare point some tokens return.
pub fn ec_point_from_attribute(key_type: KeyType, attr: &[u8]) -> Result<Vec<u8>, HsmError> {
    let n = key_type
        .ec_scalar_len()
        .ok_or_else(|| HsmError::Unsupported(format!("{key_type} is not an EC key")))?;
    let point_len = 2 * n + 1;
    if attr.len() == point_len && attr[0] == 0x04 {
        return Ok(attr.to_vec());
    }
    // OCTET STRING: 04 len point; P-521's 133-byte point needs the long form 81 85.
    let (len, header) = match attr {
        [0x04, l, ..] if *l < 0x80 => (*l as usize, 2),
        [0x04, 0x81, l, ..] => (*l as usize, 3),
        _ => {
            return Err(HsmError::Encoding(format!(
                "CKA_EC_POINT is neither an OCTET STRING nor a {point_len}-byte point ({} bytes)",
                attr.len()
            )))
        }
    };
    let inner = &attr[header..];
    if len != inner.len() || inner.len() != point_len || inner[0] != 0x04 {
        return Err(HsmError::Encoding(format!(
            "CKA_EC_POINT does not hold an uncompressed {key_type} point ({} bytes)",
            attr.len()
        )));
    }
    Ok(inner.to_vec())
}

const OID_EC_PUBLIC_KEY: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_RSA_ENCRYPTION: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

fn spki(algorithm: &[u8], bits: &[u8]) -> Vec<u8> {
    let mut alg = Vec::new();
    push_tlv(&mut alg, 0x30, algorithm);
    let mut bitstring = Vec::with_capacity(bits.len() + 1);
    bitstring.push(0); // no unused bits
    bitstring.extend_from_slice(bits);
    let mut body = alg;
    push_tlv(&mut body, 0x03, &bitstring);
    let mut out = Vec::new();
    push_tlv(&mut out, 0x30, &body);
    out
}

/// DER SubjectPublicKeyInfo for an EC key (RFC 5480): id-ecPublicKey with the named curve.
pub fn ec_spki(key_type: KeyType, point: &[u8]) -> Result<Vec<u8>, HsmError> {
    let params = key_type
        .ec_params()
        .ok_or_else(|| HsmError::Unsupported(format!("{key_type} is not an EC key")))?;
    let mut alg = OID_EC_PUBLIC_KEY.to_vec();
    alg.extend_from_slice(params);
    Ok(spki(&alg, point))
}

/// The `RSAPublicKey` structure (RFC 8017 A.1.1) from modulus and exponent.
pub fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Vec<u8> {
    let mut body = der_unsigned_integer(modulus);
    body.extend_from_slice(&der_unsigned_integer(exponent));
    let mut out = Vec::new();
    push_tlv(&mut out, 0x30, &body);
    out
}

/// DER SubjectPublicKeyInfo for an RSA key: rsaEncryption with NULL parameters (RFC 3279).
pub fn rsa_spki(rsa_public_key: &[u8]) -> Vec<u8> {
    let mut alg = OID_RSA_ENCRYPTION.to_vec();
    alg.extend_from_slice(&[0x05, 0x00]);
    spki(&alg, rsa_public_key)
}

/// Maps DER `CKA_EC_PARAMS` to a key type.
pub fn key_type_from_ec_params(params: &[u8]) -> Result<KeyType, HsmError> {
    [KeyType::EcP256, KeyType::EcP384, KeyType::EcP521]
        .into_iter()
        .find(|k| k.ec_params() == Some(params))
        .ok_or_else(|| HsmError::Unsupported(format!("EC curve {}", hex::encode(params))))
}

#[cfg(test)]
mod tests;
