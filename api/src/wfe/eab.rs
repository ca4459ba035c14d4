//! External Account Binding (RFC 8555 §7.3.4): the MAC'd JWS inside `newAccount` that ties a new ACME
//! account key to a key id and HMAC key the CA minted out of band.
//!
//! Two steps, because only the caller can look up keys:
//! [`ExternalAccountBinding::parse`] checks everything that needs no secret (shape, MAC `alg`, no
//! `nonce`, `url` = the outer request URL, payload = the outer account key) and yields the key id;
//! the caller fetches the HMAC key for [`ExternalAccountBinding::key_id`] and calls
//! [`ExternalAccountBinding::verify`].

use std::fmt;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use ring::hmac;
use ring::rand::SecureRandom;
use serde_json::Value;

use super::jwk::Jwk;
use super::jws::{b64_encode, Flattened, JwsError};

/// The MAC algorithms an external account binding may use (RFC 8555 §7.3.4, RFC 7518 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// HMAC with SHA-256; what cert-manager, lego and certbot send.
    Hs256,
    /// HMAC with SHA-384.
    Hs384,
    /// HMAC with SHA-512.
    Hs512,
}

impl MacAlgorithm {
    /// The `alg` header value, e.g. `HS256`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Hs256, Self::Hs384, Self::Hs512]
            .into_iter()
            .find(|a| a.name() == name)
    }

    fn ring(self) -> hmac::Algorithm {
        match self {
            Self::Hs256 => hmac::HMAC_SHA256,
            Self::Hs384 => hmac::HMAC_SHA384,
            Self::Hs512 => hmac::HMAC_SHA512,
        }
    }
}

/// An external account binding that passed every check needing no secret (RFC 8555 §7.3.4).
#[derive(Debug, Clone)]
pub struct ExternalAccountBinding {
    key_id: String,
    alg: MacAlgorithm,
    signing_input: Vec<u8>,
    mac: Vec<u8>,
}

impl ExternalAccountBinding {
    /// Checks the `externalAccountBinding` member of a `newAccount` payload against the outer request:
    /// `account_key` is the outer `jwk` (already verified), `request_url` the outer `url`.
    ///
    /// Every failure is `malformed` with a detail naming the member at fault, e.g.
    /// "externalAccountBinding url does not match the request url" (FIELD-CASES C06 (6)).
    pub fn parse(binding: &Value, account_key: &Jwk, request_url: &str) -> Result<Self, JwsError> {
        const WHAT: &str = "externalAccountBinding";
        let malformed = |detail: &str| JwsError::Malformed(format!("{WHAT} {detail}"));
        let jws = Flattened::from_value(binding, WHAT)?;
        let header = jws.header;
        let alg_name = header
            .alg
            .ok_or_else(|| malformed("protected header has no alg"))?;
        let alg = MacAlgorithm::from_name(&alg_name).ok_or_else(|| {
            JwsError::Malformed(format!(
                "{WHAT} alg {alg_name:?} is not a MAC algorithm; use HS256, HS384 or HS512 (RFC 8555 §7.3.4)"
            ))
        })?;
        let key_id = header
            .kid
            .filter(|kid| !kid.is_empty())
            .ok_or_else(|| malformed("protected header has no kid"))?;
        if header.nonce.is_some() {
            return Err(malformed(
                "protected header must not have a nonce (RFC 8555 §7.3.4)",
            ));
        }
        let url = header
            .url
            .ok_or_else(|| malformed("protected header has no url"))?;
        if url != request_url {
            return Err(malformed("url does not match the request url"));
        }
        match Jwk::from_slice(&jws.payload) {
            Ok(inner) if inner == *account_key => {}
            _ => return Err(malformed("payload is not the account key")),
        }
        Ok(Self {
            key_id,
            alg,
            signing_input: jws.signing_input,
            mac: jws.signature,
        })
    }

    /// The EAB key id (`kid`) to look the HMAC key up by.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The MAC algorithm the client used.
    pub fn algorithm(&self) -> MacAlgorithm {
        self.alg
    }

    /// Verifies the MAC over the exact ASCII `protected.payload` (RFC 7515 §5.2) with `key`;
    /// [`JwsError::EabBadMac`] (`unauthorized`) if it does not match.
    pub fn verify(&self, key: &EabKey) -> Result<(), JwsError> {
        let key = hmac::Key::new(self.alg.ring(), &key.0);
        hmac::verify(&key, &self.signing_input, &self.mac).map_err(|_| JwsError::EabBadMac)
    }
}

/// An EAB HMAC key (RFC 8555 §7.3.4). Its `Debug` output hides the key.
///
/// Keys are shown to operators as unpadded base64url ([`EabKey::to_base64url`]) and read with or
/// without `=` padding ([`EabKey::from_base64url`]), because clients and CAs differ (FIELD-CASES C06 (7)).
#[derive(Clone, PartialEq, Eq)]
pub struct EabKey(Vec<u8>);

/// The length of keys made by [`EabKey::generate`]: 256 bits, since RFC 7518 §3.2 requires an HS256
/// key at least as long as the SHA-256 output.
pub const EAB_KEY_LEN: usize = 32;

/// Minimum accepted EAB key length (128 bits); shorter stored keys are a configuration error.
pub const EAB_KEY_MIN_LEN: usize = 16;

/// An EAB key could not be read or made; a server-side fault (`serverInternal`), never the client's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EabKeyError {
    /// The text is not base64url (padded or not).
    #[error("EAB key is not base64url")]
    Encoding,
    /// The key is shorter than [`EAB_KEY_MIN_LEN`].
    #[error("EAB key is shorter than {EAB_KEY_MIN_LEN} bytes")]
    TooShort,
    /// The system random generator failed.
    #[error("system random generator failed")]
    Random,
}

const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl EabKey {
    /// Reads a key from base64url, with or without `=` padding.
    pub fn from_base64url(text: &str) -> Result<Self, EabKeyError> {
        let bytes = URL_SAFE_ANY_PAD
            .decode(text.trim())
            .map_err(|_| EabKeyError::Encoding)?;
        Self::from_bytes(bytes)
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, EabKeyError> {
        if bytes.len() < EAB_KEY_MIN_LEN {
            return Err(EabKeyError::TooShort);
        }
        Ok(Self(bytes))
    }

    /// Makes a new random [`EAB_KEY_LEN`]-byte key.
    pub fn generate(rng: &dyn SecureRandom) -> Result<Self, EabKeyError> {
        let mut bytes = vec![0u8; EAB_KEY_LEN];
        rng.fill(&mut bytes).map_err(|_| EabKeyError::Random)?;
        Ok(Self(bytes))
    }

    /// The key as unpadded base64url, the form operators hand to `--eab-hmac-key` / `--hmac`.
    pub fn to_base64url(&self) -> String {
        b64_encode(&self.0)
    }

    /// The raw key bytes, for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for EabKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EabKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests;
