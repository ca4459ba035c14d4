//! Verification of ACME JWS requests (RFC 8555 §6.2–§6.5; RFC 7515 flattened JSON serialization).
//!
//! Two steps, so that nothing unverified is mistaken for verified:
//!
//! 1. [`SignedRequest::parse`] checks the JWS shape and the protected header (`alg`, `nonce`, `url`,
//!    exactly one of `jwk`/`kid`) and exposes them, but not the payload.
//! 2. [`SignedRequest::verify`] (with the account key found by `kid`) or
//!    [`SignedRequest::verify_with_embedded_jwk`] checks the signature and yields a
//!    [`VerifiedRequest`], the only way to reach the payload.
//!
//! Between the two the handler redeems the nonce ([`crate::wfe::nonce`]) and calls
//! [`SignedRequest::check_url`]. Errors are [`JwsError`]s, which become problem documents through
//! [`crate::wfe::problem`]. No input makes this module panic.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;

use super::jwk::{Algorithm, Jwk, JwkWire};

/// The media type of ACME request bodies (RFC 8555 §6.2); other types get 415 with a problem document.
pub const JOSE_CONTENT_TYPE: &str = "application/jose+json";

/// Why a JWS (request, external account binding or key-change inner JWS) was refused.
///
/// Each variant names its problem type (RFC 8555 §6.7); the `Display` text is the problem `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// The JWS or one of its members breaks RFC 7515 / RFC 8555 §6.2 rules (`malformed`).
    #[error("{0}")]
    Malformed(String),
    /// The `nonce` header is missing or unusable (`badNonce`, RFC 8555 §6.5).
    #[error("{0}")]
    BadNonce(String),
    /// `alg` is not supported, or does not fit the key (`badSignatureAlgorithm`, RFC 8555 §6.2); the
    /// problem carries the supported `algorithms`.
    #[error("{0}")]
    UnsupportedAlgorithm(String),
    /// The JWK is of a type, curve or size the server does not accept (`badPublicKey`, RFC 8555 §6.7).
    #[error("{0}")]
    BadPublicKey(String),
    /// The signature does not verify with the key (`malformed`, as Boulder and Pebble answer).
    #[error("JWS signature does not verify")]
    BadSignature,
    /// The header `url` is not the URL the request was sent to (`unauthorized`, RFC 8555 §6.4).
    #[error("JWS url {header_url:?} does not match the request URL {request_url:?}")]
    UrlMismatch {
        /// The `url` from the protected header.
        header_url: String,
        /// The URL the server received the request on.
        request_url: String,
    },
    /// The external account binding's MAC does not verify (`unauthorized`, RFC 8555 §7.3.4).
    #[error("externalAccountBinding MAC does not verify")]
    EabBadMac,
    /// The external account binding names a key id the server does not know, or one that is bound
    /// to another account (`unauthorized`, RFC 8555 §7.3.4). Built by the caller after lookup.
    #[error("externalAccountBinding key id {0:?} is not usable")]
    EabUnknownKey(String),
}

/// Encodes bytes as unpadded base64url (RFC 7515 §2).
pub(super) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict unpadded base64url (RFC 7515 §2): no `=`, no `+`/`/`, no non-zero trailing bits.
pub(super) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// The members of a flattened JWS JSON object (RFC 7515 §7.2.2). `header` and `signatures` are
/// read only to refuse them; other unknown members are ignored (RFC 7515 §7.2.1).
#[derive(Deserialize)]
pub(super) struct FlattenedWire {
    protected: Option<String>,
    payload: Option<String>,
    signature: Option<String>,
    header: Option<IgnoredAny>,
    signatures: Option<IgnoredAny>,
}

/// A decoded flattened JWS, before its header is interpreted.
pub(super) struct Flattened {
    /// `ASCII(BASE64URL(protected) || '.' || BASE64URL(payload))`, exactly as received (RFC 7515 §5.2).
    pub(super) signing_input: Vec<u8>,
    pub(super) header: ProtectedWire,
    pub(super) payload: Vec<u8>,
    pub(super) signature: Vec<u8>,
}

impl Flattened {
    /// Checks and decodes a flattened JWS; `what` names it in error details (`JWS`,
    /// `externalAccountBinding`, …).
    pub(super) fn from_wire(wire: FlattenedWire, what: &str) -> Result<Self, JwsError> {
        let malformed = |detail: &str| JwsError::Malformed(format!("{what} {detail}"));
        if wire.header.is_some() {
            return Err(malformed(
                "has an unprotected header member; only the protected header is allowed (RFC 8555 §6.2)",
            ));
        }
        if wire.signatures.is_some() {
            return Err(malformed(
                "uses the general JSON serialization; exactly one signature in the flattened form is required (RFC 8555 §6.2)",
            ));
        }
        let protected = wire
            .protected
            .ok_or_else(|| malformed("has no protected member"))?;
        let payload = wire.payload.ok_or_else(|| {
            malformed("has no payload member (detached payloads are not allowed, RFC 8555 §6.2)")
        })?;
        let signature = wire
            .signature
            .ok_or_else(|| malformed("has no signature member"))?;
        let header_bytes = b64_decode(&protected)
            .ok_or_else(|| malformed("protected member is not unpadded base64url"))?;
        let payload_bytes =
            b64_decode(&payload).ok_or_else(|| malformed("payload is not unpadded base64url"))?;
        let signature_bytes = b64_decode(&signature)
            .ok_or_else(|| malformed("signature is not unpadded base64url"))?;
        let header: ProtectedWire = serde_json::from_slice(&header_bytes).map_err(|e| {
            JwsError::Malformed(format!(
                "{what} protected header is not a valid JSON object: {e}"
            ))
        })?;
        if header.crit.is_some() {
            return Err(malformed(
                "protected header has crit; no JWS extensions are supported (RFC 7515 §4.1.11)",
            ));
        }
        if header.b64.is_some() {
            return Err(malformed(
                "protected header has b64; the unencoded payload option is not allowed (RFC 8555 §6.2)",
            ));
        }
        let mut signing_input = Vec::with_capacity(protected.len() + 1 + payload.len());
        signing_input.extend_from_slice(protected.as_bytes());
        signing_input.push(b'.');
        signing_input.extend_from_slice(payload.as_bytes());
        Ok(Self {
            signing_input,
            header,
            payload: payload_bytes,
            signature: signature_bytes,
        })
    }

    /// Parses a flattened JWS from JSON text.
    pub(super) fn from_slice(json: &[u8], what: &str) -> Result<Self, JwsError> {
        let wire: FlattenedWire = serde_json::from_slice(json).map_err(|e| {
            JwsError::Malformed(format!("{what} is not a flattened JWS JSON object: {e}"))
        })?;
        Self::from_wire(wire, what)
    }

    /// Parses a flattened JWS held in a JSON value.
    pub(super) fn from_value(value: &Value, what: &str) -> Result<Self, JwsError> {
        let wire = FlattenedWire::deserialize(value).map_err(|e| {
            JwsError::Malformed(format!("{what} is not a flattened JWS JSON object: {e}"))
        })?;
        Self::from_wire(wire, what)
    }
}

/// The protected header members ACME uses (RFC 8555 §6.2). A struct, so duplicate members are refused
/// (RFC 7515 §4); `nonce` is kept loose so that a non-string nonce is `badNonce`, not a JSON error.
#[derive(Deserialize)]
pub(super) struct ProtectedWire {
    pub(super) alg: Option<String>,
    pub(super) nonce: Option<Value>,
    pub(super) url: Option<String>,
    pub(super) jwk: Option<JwkWire>,
    pub(super) kid: Option<String>,
    crit: Option<IgnoredAny>,
    b64: Option<IgnoredAny>,
}

/// Which key a request says it is signed with (RFC 8555 §6.2): exactly one of `jwk` or `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestKey {
    /// An embedded public key: `newAccount`, and `revokeCert` signed by the certificate key.
    Jwk(Jwk),
    /// An account URL (RFC 8555 §6.3): every other request. Not checked here; the caller looks it up.
    Kid(String),
}

/// The checked protected header of an ACME request (RFC 8555 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtectedHeader {
    /// The signature algorithm.
    pub alg: Algorithm,
    /// The anti-replay nonce (RFC 8555 §6.5), not yet redeemed.
    pub nonce: String,
    /// The URL the client meant to send to (RFC 8555 §6.4), not yet compared.
    pub url: String,
    /// The embedded key or the account URL.
    pub key: RequestKey,
}

/// A parsed ACME request whose signature has not been checked yet (step 1 of the module docs).
#[derive(Debug, Clone)]
pub struct SignedRequest {
    header: ProtectedHeader,
    signing_input: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl SignedRequest {
    /// Parses a request body: a flattened JWS JSON object (RFC 7515 §7.2.2) with the ACME header
    /// rules of RFC 8555 §6.2.
    ///
    /// Refuses: other serializations, an unprotected `header`, missing members, padded or non-base64url
    /// members, `crit`, `alg` outside [`Algorithm::SUPPORTED`] (`none` and MACs included) or not
    /// matching the embedded `jwk`, both or neither of `jwk`/`kid`, no `url` (`malformed`), and no
    /// `nonce` (`badNonce`).
    pub fn parse(body: &[u8]) -> Result<Self, JwsError> {
        let jws = Flattened::from_slice(body, "JWS")?;
        let header = jws.header;
        let alg_name = header
            .alg
            .ok_or_else(|| JwsError::Malformed("JWS protected header has no alg".into()))?;
        let alg = Algorithm::from_name(&alg_name).ok_or_else(|| {
            JwsError::UnsupportedAlgorithm(format!(
                "JWS alg {alg_name:?} is not supported; use one of {}",
                Algorithm::supported_names().join(", ")
            ))
        })?;
        let key = match (header.jwk, header.kid) {
            (Some(_), Some(_)) => return Err(JwsError::Malformed(
                "JWS protected header has both jwk and kid; exactly one is allowed (RFC 8555 §6.2)"
                    .into(),
            )),
            (None, None) => {
                return Err(JwsError::Malformed(
                    "JWS protected header has neither jwk nor kid (RFC 8555 §6.2)".into(),
                ))
            }
            (Some(jwk), None) => {
                let jwk = Jwk::from_wire(jwk)?;
                if jwk.algorithm() != alg {
                    return Err(JwsError::UnsupportedAlgorithm(format!(
                        "JWS alg {alg} does not match the {} jwk, which signs with {}",
                        jwk.description(),
                        jwk.algorithm()
                    )));
                }
                RequestKey::Jwk(jwk)
            }
            (None, Some(kid)) if kid.is_empty() => {
                return Err(JwsError::Malformed("JWS kid is empty".into()))
            }
            (None, Some(kid)) => RequestKey::Kid(kid),
        };
        let url = header.url.ok_or_else(|| {
            JwsError::Malformed("JWS protected header has no url (RFC 8555 §6.4)".into())
        })?;
        let nonce = match header.nonce {
            None => {
                return Err(JwsError::BadNonce(
                    "JWS protected header has no nonce (RFC 8555 §6.5)".into(),
                ))
            }
            Some(Value::String(nonce)) => nonce,
            Some(_) => return Err(JwsError::BadNonce("JWS nonce is not a string".into())),
        };
        Ok(Self {
            header: ProtectedHeader {
                alg,
                nonce,
                url,
                key,
            },
            signing_input: jws.signing_input,
            payload: jws.payload,
            signature: jws.signature,
        })
    }

    /// The checked protected header.
    pub fn header(&self) -> &ProtectedHeader {
        &self.header
    }

    /// The `nonce` to redeem before acting on the request (RFC 8555 §6.5).
    pub fn nonce(&self) -> &str {
        &self.header.nonce
    }

    /// The header `url`.
    pub fn url(&self) -> &str {
        &self.header.url
    }

    /// Requires that `url` equals the URL the request arrived on (RFC 8555 §6.4); `unauthorized` if not.
    ///
    /// `request_url` must be the full external URL as the directory advertises it.
    pub fn check_url(&self, request_url: &str) -> Result<(), JwsError> {
        if self.header.url == request_url {
            Ok(())
        } else {
            Err(JwsError::UrlMismatch {
                header_url: self.header.url.clone(),
                request_url: request_url.to_owned(),
            })
        }
    }

    /// The embedded `jwk`, for resources that require one (`newAccount`, RFC 8555 §7.3); `malformed`
    /// if the request uses `kid`.
    pub fn jwk(&self) -> Result<&Jwk, JwsError> {
        match &self.header.key {
            RequestKey::Jwk(jwk) => Ok(jwk),
            RequestKey::Kid(_) => Err(JwsError::Malformed(
                "this resource requires a JWS with jwk, not kid (RFC 8555 §6.2)".into(),
            )),
        }
    }

    /// The `kid` account URL, for resources that require one (all but `newAccount` and `revokeCert`,
    /// RFC 8555 §6.2); `malformed` if the request uses `jwk`.
    pub fn kid(&self) -> Result<&str, JwsError> {
        match &self.header.key {
            RequestKey::Kid(kid) => Ok(kid),
            RequestKey::Jwk(_) => Err(JwsError::Malformed(
                "this resource requires a JWS with kid (the account URL), not jwk (RFC 8555 §6.2)"
                    .into(),
            )),
        }
    }

    /// Verifies the signature with `key` (the account key found from `kid`, or any key the caller
    /// chose) and yields the payload (RFC 7515 §5.2).
    pub fn verify(self, key: &Jwk) -> Result<VerifiedRequest, JwsError> {
        key.verify(self.header.alg, &self.signing_input, &self.signature)?;
        Ok(VerifiedRequest {
            key: key.clone(),
            header: self.header,
            payload: self.payload,
        })
    }

    /// Verifies the signature with the embedded `jwk` (`newAccount`, `revokeCert` by certificate key);
    /// `malformed` if the request uses `kid`.
    pub fn verify_with_embedded_jwk(self) -> Result<VerifiedRequest, JwsError> {
        let key = self.jwk()?.clone();
        self.verify(&key)
    }
}

/// An ACME request whose signature verified (step 2 of the module docs).
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    header: ProtectedHeader,
    key: Jwk,
    payload: Vec<u8>,
}

impl VerifiedRequest {
    /// The protected header.
    pub fn header(&self) -> &ProtectedHeader {
        &self.header
    }

    /// The key the signature verified with.
    pub fn key(&self) -> &Jwk {
        &self.key
    }

    /// The raw payload bytes; empty for POST-as-GET (RFC 8555 §6.3).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// Whether this is a POST-as-GET: an empty payload (RFC 8555 §6.3).
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// Requires a POST-as-GET (RFC 8555 §6.3); `malformed` if the payload is not empty.
    pub fn expect_post_as_get(&self) -> Result<(), JwsError> {
        if self.is_post_as_get() {
            Ok(())
        } else {
            Err(JwsError::Malformed(
                "this resource expects POST-as-GET: the JWS payload must be empty (RFC 8555 §6.3)"
                    .into(),
            ))
        }
    }

    /// Parses the payload as JSON into `T` (e.g. [`crate::acme::NewOrder`]); `malformed` if it is
    /// empty or does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, JwsError> {
        if self.payload.is_empty() {
            return Err(JwsError::Malformed(
                "JWS payload is empty (POST-as-GET) but this request needs a JSON object".into(),
            ));
        }
        serde_json::from_slice(&self.payload).map_err(|e| {
            JwsError::Malformed(format!("JWS payload is not valid for this request: {e}"))
        })
    }
}

#[cfg(test)]
mod tests;
