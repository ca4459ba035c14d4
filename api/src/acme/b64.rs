//! Strict base64url (RFC 4648 §5, no padding) for binary fields carried in ACME JSON (RFC 8555 §6.1
//! requires the JWS base64url form, RFC 7515 §2: no `=` padding, no other alphabet).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// A binary field of an ACME request was not unpadded base64url (RFC 8555 §6.1, RFC 7515 §2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is not unpadded base64url")]
pub struct InvalidBase64Url {
    /// The JSON member that failed to decode, e.g. `csr`.
    pub field: &'static str,
}

/// Decodes strict unpadded base64url; `field` names the member for the error.
pub(crate) fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, InvalidBase64Url> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| InvalidBase64Url { field })
}
