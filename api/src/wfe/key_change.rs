//! Account key rollover (RFC 8555 §7.3.5): the inner JWS of a `keyChange` request.
//!
//! The outer request is an ordinary `kid`-signed request verified with the current account key; its
//! payload is another flattened JWS, signed by the new key, whose payload is a
//! [`crate::acme::KeyChange`]. Whether the new key is already some account's key is for the RA.

use super::jwk::{Algorithm, Jwk};
use super::jws::{Flattened, JwsError, VerifiedRequest};
use crate::acme::KeyChange;

/// Verifies the inner JWS of a verified `keyChange` request and returns the new account key.
///
/// Checks, per RFC 8555 §7.3.5: the inner JWS is a flattened JWS with `jwk` (not `kid`) and no
/// `nonce`; its `url` equals the outer `url`; its signature verifies with its `jwk`; the payload's
/// `account` equals the outer `kid` and its `oldKey` is the key that signed the outer JWS. Failures
/// are `malformed` (naming the member), `badSignatureAlgorithm` or `badPublicKey`.
pub fn verify_key_change(outer: &VerifiedRequest) -> Result<Jwk, JwsError> {
    const WHAT: &str = "keyChange inner JWS";
    let malformed = |detail: &str| JwsError::Malformed(format!("{WHAT} {detail}"));
    let account_url =
        match &outer.header().key {
            super::jws::RequestKey::Kid(kid) => kid.as_str(),
            super::jws::RequestKey::Jwk(_) => return Err(JwsError::Malformed(
                "keyChange must be signed with kid (the account URL), not jwk (RFC 8555 §7.3.5)"
                    .into(),
            )),
        };
    let inner = Flattened::from_slice(outer.payload(), WHAT)?;
    let header = inner.header;
    let alg_name = header
        .alg
        .ok_or_else(|| malformed("protected header has no alg"))?;
    let alg = Algorithm::from_name(&alg_name).ok_or_else(|| {
        JwsError::UnsupportedAlgorithm(format!(
            "{WHAT} alg {alg_name:?} is not supported; use one of {}",
            Algorithm::supported_names().join(", ")
        ))
    })?;
    if header.kid.is_some() {
        return Err(malformed("must not have kid (RFC 8555 §7.3.5)"));
    }
    let new_key = Jwk::from_wire(header.jwk.ok_or_else(|| malformed("has no jwk"))?)?;
    if header.nonce.is_some() {
        return Err(malformed("must not have a nonce (RFC 8555 §7.3.5)"));
    }
    if header.url.as_deref() != Some(outer.header().url.as_str()) {
        return Err(malformed("url does not match the outer JWS url"));
    }
    new_key.verify(alg, &inner.signing_input, &inner.signature)?;
    let change: KeyChange = serde_json::from_slice(&inner.payload).map_err(|e| {
        JwsError::Malformed(format!("{WHAT} payload is not a keyChange object: {e}"))
    })?;
    if change.account != account_url {
        return Err(malformed("payload account does not match the outer kid"));
    }
    match Jwk::from_json(&change.old_key) {
        Ok(old) if old == *outer.key() => Ok(new_key),
        _ => Err(malformed("payload oldKey is not the current account key")),
    }
}

#[cfg(test)]
mod tests;
