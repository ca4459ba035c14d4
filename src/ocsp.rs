//! OCSP (RFC 6960, profiled for high volume by RFC 5019): decoding requests, matching them to an
//! issuer, and encoding signed responses.
//!
//! Boundary: bytes in, bytes out. This module never opens a socket, reads a clock or stores a
//! status; the responder in the issuing service does those and calls in here. Signing goes
//! through [`fleetca_hsm::Signer`].
//!
//! The flow a responder follows:
//! 1. [`decode_get_path`] (GET, RFC 6960 Appendix A.1) or the POST body gives the DER request;
//! 2. [`parse_request`] checks it and yields one [`CertId`] and an optional [`Nonce`]; an error
//!    carries the [`ErrorStatus`] to answer with ([`OcspError::response_status`]);
//! 3. an [`IssuerId`] per issuing CA says whether the CertID names that CA
//!    ([`IssuerId::matches`]); if none does, answer [`error_response`]`(Unauthorized)`;
//! 4. [`build_response`] signs the answer.
//!
//! Caching (RFC 5019 §6): a response without a nonce depends only on the CertID's DER, the
//! status and the times, so the responder can sign it once with `nonce: None`, keep it keyed by
//! [`CertId::as_der`], and re-sign when the status changes. Requests that carry a nonce must be
//! signed on demand, because the response echoes the nonce (RFC 6960 §4.4.1; C20).
use std::fmt;

use base64::Engine as _;
use der::asn1::{BitString, GeneralizedTime, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Tagged};
use fleetca_hsm::{PublicKey, Signer};
use time::{OffsetDateTime, UtcOffset};
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_ocsp::{OcspGeneralizedTime, ResponderId};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::serial::Serial;

#[cfg(test)]
mod tests;

/// Fewest octets a nonce may have (RFC 9654 §2.1).
pub const MIN_NONCE_LEN: usize = 1;
/// Most octets a nonce may have: RFC 9654 §2.1 raised RFC 8954's 32 to 128.
pub const MAX_NONCE_LEN: usize = 128;

/// id-pkix-ocsp-nonce, 1.3.6.1.5.5.7.48.1.2 (RFC 6960 §4.4.1).
const OID_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-basic, 1.3.6.1.5.5.7.48.1.1 (RFC 6960 §4.2.1).
const OID_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-sha1, 1.3.14.3.2.26.
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256, 2.16.840.1.101.3.4.2.1.
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// What went wrong while decoding a request or building a response.
#[derive(Debug)]
#[non_exhaustive]
pub enum OcspError {
    /// The request is not a well-formed OCSPRequest this responder accepts: not DER, trailing
    /// bytes, a version other than v1, not exactly one CertID, a bad nonce, a bad GET path.
    Malformed(String),
    /// The CertID is hashed with an algorithm other than SHA-1 or SHA-256. The responder cannot
    /// tell whether it names one of its issuers, so it answers `unauthorized` (C18).
    UnsupportedHash(String),
    /// An issuer or delegated responder certificate cannot be used.
    Certificate(String),
    /// A response parameter is outside what RFC 6960 allows (times, reason codes).
    Invalid(String),
    /// The signer's key type has no signature algorithm here, or does not fit the responder.
    Algorithm(String),
    /// The signer failed.
    Signing(fleetca_hsm::HsmError),
    /// DER encoding failed.
    Encoding(String),
}

impl fmt::Display for OcspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed OCSP request: {m}"),
            Self::UnsupportedHash(m) => write!(f, "unsupported CertID hash algorithm {m}"),
            Self::Certificate(m) => write!(f, "OCSP certificate: {m}"),
            Self::Invalid(m) => write!(f, "OCSP response parameter: {m}"),
            Self::Algorithm(m) => write!(f, "OCSP signature algorithm: {m}"),
            Self::Signing(e) => write!(f, "signing the OCSP response: {e}"),
            Self::Encoding(m) => write!(f, "encoding the OCSP response: {m}"),
        }
    }
}

impl std::error::Error for OcspError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Signing(e) => Some(e),
            _ => None,
        }
    }
}

impl OcspError {
    /// The OCSPResponseStatus to answer with (RFC 6960 §4.2.1): request faults are
    /// `malformedRequest`, an unsupported hash is `unauthorized`, the rest are ours
    /// (`internalError`, with no details for the client).
    pub fn response_status(&self) -> ErrorStatus {
        match self {
            Self::Malformed(_) => ErrorStatus::MalformedRequest,
            Self::UnsupportedHash(_) => ErrorStatus::Unauthorized,
            _ => ErrorStatus::InternalError,
        }
    }
}

fn malformed(what: impl fmt::Display) -> OcspError {
    OcspError::Malformed(what.to_string())
}

fn encoding(e: der::Error) -> OcspError {
    OcspError::Encoding(e.to_string())
}

/// The unsuccessful OCSPResponseStatus values (RFC 6960 §4.2.1); `successful` responses come
/// from [`build_response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u8)]
pub enum ErrorStatus {
    /// Illegal confirmation request (1).
    MalformedRequest = 1,
    /// Internal error in issuer (2).
    InternalError = 2,
    /// Try again later (3).
    TryLater = 3,
    /// Must sign the request (5).
    SigRequired = 5,
    /// Request unauthorized (6): this responder does not serve the CertID's issuer
    /// (RFC 5019 §2.2.3).
    Unauthorized = 6,
}

/// An OCSPResponse with an error status and no responseBytes (RFC 6960 §4.2.1):
/// `SEQUENCE { ENUMERATED status }`. These are not signed, so they are fixed bytes.
pub fn error_response(status: ErrorStatus) -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, status as u8]
}

/// A CertID hash algorithm this responder understands (RFC 6960 §4.1.1; RFC 5019 §2.1.1 makes
/// SHA-1 the one clients use; SHA-256 is what newer clients send).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-1 (id-sha1).
    Sha1,
    /// SHA-256 (id-sha256).
    Sha256,
}

impl HashAlgorithm {
    fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => OID_SHA1,
            Self::Sha256 => OID_SHA256,
        }
    }

    fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            Self::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &ring::digest::SHA256,
        }
    }

    /// The digest length in octets.
    pub fn output_len(self) -> usize {
        self.ring().output_len()
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        ring::digest::digest(self.ring(), data).as_ref().to_vec()
    }
}

/// The identifier of one certificate in a request or response (RFC 6960 §4.1.1):
/// hash algorithm, issuerNameHash, issuerKeyHash and serialNumber.
///
/// A CertID decoded from a request keeps its exact DER, so the response echoes it byte for
/// byte — same hash OID, same parameters form (NULL or absent), same serial encoding (C18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertId {
    inner: x509_ocsp::CertId,
    der: Vec<u8>,
    hash: HashAlgorithm,
}

impl CertId {
    /// The CertID a client would send for `serial` under `issuer`, with NULL hash parameters as
    /// OpenSSL writes them: for pre-signing responses before any request has arrived.
    pub fn new(issuer: &IssuerId, hash: HashAlgorithm, serial: &Serial) -> Result<Self, OcspError> {
        let serial_number = SerialNumber::new(serial.as_bytes()).map_err(encoding)?;
        let inner = x509_ocsp::CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: hash.oid(),
                parameters: Some(der::asn1::Any::null()),
            },
            issuer_name_hash: OctetString::new(issuer.name_hash(hash)).map_err(encoding)?,
            issuer_key_hash: OctetString::new(issuer.key_hash(hash)).map_err(encoding)?,
            serial_number,
        };
        Self::from_decoded(inner)
    }

    /// Checks a decoded CertID: SHA-1 or SHA-256 with absent or NULL parameters, hashes of the
    /// right length.
    fn from_decoded(inner: x509_ocsp::CertId) -> Result<Self, OcspError> {
        let alg = &inner.hash_algorithm;
        let hash = if alg.oid == OID_SHA1 {
            HashAlgorithm::Sha1
        } else if alg.oid == OID_SHA256 {
            HashAlgorithm::Sha256
        } else {
            return Err(OcspError::UnsupportedHash(alg.oid.to_string()));
        };
        if let Some(params) = &alg.parameters {
            if params.tag() != der::Tag::Null || !params.value().is_empty() {
                return Err(malformed("CertID hash parameters must be absent or NULL"));
            }
        }
        let len = hash.output_len();
        if inner.issuer_name_hash.as_bytes().len() != len
            || inner.issuer_key_hash.as_bytes().len() != len
        {
            return Err(malformed(format!(
                "CertID hashes must be {len} octets for {hash:?}"
            )));
        }
        let der = inner.to_der().map_err(encoding)?;
        Ok(Self { inner, der, hash })
    }

    /// The hash algorithm of issuerNameHash and issuerKeyHash.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash
    }

    /// issuerNameHash: the hash of the DER of the issuer's subject Name.
    pub fn issuer_name_hash(&self) -> &[u8] {
        self.inner.issuer_name_hash.as_bytes()
    }

    /// issuerKeyHash: the hash of the issuer's subjectPublicKey BIT STRING contents.
    pub fn issuer_key_hash(&self) -> &[u8] {
        self.inner.issuer_key_hash.as_bytes()
    }

    /// The serial number, or `None` when it is zero or negative: no certificate fleetca issues
    /// has such a serial (RFC 5280 §4.1.2.2), so the responder answers `unknown` without a
    /// lookup — and a negative serial can never alias a positive one.
    pub fn serial(&self) -> Option<Serial> {
        let content = self.inner.serial_number.as_bytes();
        match content.first() {
            Some(b) if b & 0x80 == 0 && content.iter().any(|b| *b != 0) => {
                Some(Serial::from_der_content(content))
            }
            _ => None,
        }
    }

    /// The DER of the CertID: the key for a cache of pre-signed responses.
    pub fn as_der(&self) -> &[u8] {
        &self.der
    }
}

/// The nonce extension of a request (RFC 6960 §4.4.1, RFC 9654), kept exactly as received so
/// that the response carries a byte-identical copy (C20).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nonce {
    extension: Extension,
    value_len: usize,
}

impl Nonce {
    /// A non-critical nonce extension for `value` (RFC 9654 §2.1: 1 to 128 octets), as a client
    /// would send it: extnValue is an OCTET STRING wrapping the nonce octets.
    pub fn new(value: &[u8]) -> Result<Self, OcspError> {
        let inner = OctetString::new(value).map_err(encoding)?;
        let extension = Extension {
            extn_id: OID_NONCE,
            critical: false,
            extn_value: OctetString::new(inner.to_der().map_err(encoding)?).map_err(encoding)?,
        };
        Self::from_extension(extension).map_err(|e| OcspError::Invalid(e.to_string()))
    }

    /// Checks a received nonce extension: extnValue must be exactly one DER OCTET STRING of
    /// 1 to 128 octets (RFC 9654 §2.1); anything else is `malformedRequest`.
    fn from_extension(extension: Extension) -> Result<Self, OcspError> {
        let inner = OctetString::from_der(extension.extn_value.as_bytes())
            .map_err(|e| malformed(format!("nonce extnValue is not one OCTET STRING: {e}")))?;
        let value_len = inner.as_bytes().len();
        if !(MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&value_len) {
            return Err(malformed(format!(
                "nonce of {value_len} octets; RFC 9654 allows {MIN_NONCE_LEN} to {MAX_NONCE_LEN}"
            )));
        }
        Ok(Self {
            extension,
            value_len,
        })
    }

    /// The nonce octets (inside the inner OCTET STRING).
    pub fn value(&self) -> &[u8] {
        let all = self.extension.extn_value.as_bytes();
        all.get(all.len().saturating_sub(self.value_len)..)
            .unwrap_or_default()
    }

    /// The whole Extension's DER, as it will appear in the response.
    pub fn to_der(&self) -> Result<Vec<u8>, OcspError> {
        self.extension.to_der().map_err(encoding)
    }
}

/// A decoded, checked OCSP request: one CertID and the nonce if one was sent.
///
/// RFC 5019 §2.1.1 has clients ask about exactly one certificate per request; requests with
/// none or several are refused as `malformedRequest`, so one response is one signature and one
/// cache entry. requestorName and a request signature (RFC 6960 §4.1.2) are accepted and
/// ignored: this responder serves everyone and does not require signed requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspRequest {
    cert_id: CertId,
    nonce: Option<Nonce>,
}

impl OcspRequest {
    /// The certificate asked about.
    pub fn cert_id(&self) -> &CertId {
        &self.cert_id
    }

    /// The nonce extension, if the client sent one. With a nonce the response must be signed on
    /// demand; without, a pre-signed response is fine.
    pub fn nonce(&self) -> Option<&Nonce> {
        self.nonce.as_ref()
    }
}

/// Decodes and checks a DER OCSPRequest (RFC 6960 §4.1.1).
///
/// Refused as [`OcspError::Malformed`]: anything that is not exactly one DER OCSPRequest
/// (garbage, trailing bytes), a version other than v1, zero or several Requests (RFC 5019
/// §2.1.1), CertID hashes of the wrong length or hash parameters other than absent/NULL, more
/// than one nonce extension, a nonce whose extnValue is not one OCTET STRING of 1–128 octets
/// (RFC 9654 §2.1), and any critical extension other than the nonce (RFC 6960 §4.4: a critical
/// extension that is not understood fails the request). A CertID hash other than SHA-1/SHA-256
/// is [`OcspError::UnsupportedHash`].
pub fn parse_request(der: &[u8]) -> Result<OcspRequest, OcspError> {
    let request = x509_ocsp::OcspRequest::from_der(der)
        .map_err(|e| malformed(format!("not a DER OCSPRequest: {e}")))?;
    let tbs = request.tbs_request;
    // x509-ocsp's Version has only v1, so another version already failed to decode.
    let single = match tbs.request_list.as_slice() {
        [single] => single,
        [] => return Err(malformed("the request lists no certificate")),
        many => {
            return Err(malformed(format!(
                "the request lists {} certificates; RFC 5019 §2.1.1 allows one",
                many.len()
            )))
        }
    };
    if let Some(exts) = &single.single_request_extensions {
        if let Some(ext) = exts.iter().find(|e| e.critical) {
            return Err(malformed(format!(
                "unsupported critical singleRequestExtension {}",
                ext.extn_id
            )));
        }
    }
    let cert_id = CertId::from_decoded(single.req_cert.clone())?;

    let mut nonce = None;
    for ext in tbs.request_extensions.into_iter().flatten() {
        if ext.extn_id == OID_NONCE {
            if nonce.is_some() {
                return Err(malformed("more than one nonce extension"));
            }
            nonce = Some(Nonce::from_extension(ext)?);
        } else if ext.critical {
            return Err(malformed(format!(
                "unsupported critical requestExtension {}",
                ext.extn_id
            )));
        }
    }
    Ok(OcspRequest { cert_id, nonce })
}

/// Decodes the path segment of an OCSP GET (RFC 6960 Appendix A.1): the URL-encoding of the
/// base64 encoding of the DER request. Percent escapes are undone first (`%2F`, `%2B`, `%3D`
/// and any other `%XX`); then the standard base64 alphabet is decoded, with or without `=`
/// padding, since some clients drop it. The result still has to go through [`parse_request`].
pub fn decode_get_path(path_segment: &str) -> Result<Vec<u8>, OcspError> {
    let bytes = path_segment.as_bytes();
    let mut text = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| malformed("bad percent escape in the GET path"))?;
            text.push(hex);
            i += 3;
        } else {
            text.push(b);
            i += 1;
        }
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(&text)
        .map_err(|e| malformed(format!("GET path is not base64: {e}")))
}

/// What a responder needs to know about one issuing CA to recognise CertIDs naming it
/// (RFC 6960 §4.1.1): the SHA-1 and SHA-256 hashes of its subject Name's DER and of its
/// subjectPublicKey BIT STRING contents (tag, length and unused-bits octet excluded).
///
/// The key hash is computed from the key, never read from the SKI, so intermediates with
/// SKIs made by another method still match (C18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerId {
    name_sha1: Vec<u8>,
    key_sha1: Vec<u8>,
    name_sha256: Vec<u8>,
    key_sha256: Vec<u8>,
}

impl IssuerId {
    /// Computes the hashes from the issuer's certificate (DER).
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, OcspError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| OcspError::Certificate(format!("not a DER certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(OcspError::Certificate(
                "trailing bytes after the certificate".into(),
            ));
        }
        let name = cert.tbs_certificate.subject.as_raw();
        let key = &cert.public_key().subject_public_key.data;
        Ok(Self {
            name_sha1: HashAlgorithm::Sha1.digest(name),
            key_sha1: HashAlgorithm::Sha1.digest(key),
            name_sha256: HashAlgorithm::Sha256.digest(name),
            key_sha256: HashAlgorithm::Sha256.digest(key),
        })
    }

    /// issuerNameHash under `hash`.
    pub fn name_hash(&self, hash: HashAlgorithm) -> &[u8] {
        match hash {
            HashAlgorithm::Sha1 => &self.name_sha1,
            HashAlgorithm::Sha256 => &self.name_sha256,
        }
    }

    /// issuerKeyHash under `hash`.
    pub fn key_hash(&self, hash: HashAlgorithm) -> &[u8] {
        match hash {
            HashAlgorithm::Sha1 => &self.key_sha1,
            HashAlgorithm::Sha256 => &self.key_sha256,
        }
    }

    /// True when `cert_id` names this issuer: both hashes equal under the CertID's algorithm.
    pub fn matches(&self, cert_id: &CertId) -> bool {
        let hash = cert_id.hash_algorithm();
        cert_id.issuer_name_hash() == self.name_hash(hash)
            && cert_id.issuer_key_hash() == self.key_hash(hash)
    }
}

/// The status of one certificate (RFC 6960 §4.2.1 CertStatus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Not revoked.
    Good,
    /// Revoked at `time`, for `reason` (a CRLReason code, RFC 5280 §5.3.1). `None` and
    /// `Some(0)` (unspecified) both omit revocationReason, as CRL entries omit the reasonCode
    /// for unspecified; 7 and 8 are refused.
    Revoked {
        /// revocationTime.
        time: OffsetDateTime,
        /// revocationReason.
        reason: Option<u8>,
    },
    /// This responder knows the issuer but not the certificate (RFC 6960 §2.2).
    Unknown,
}

/// Who signs responses and how it is named in them: the responder's key hash (ResponderID
/// `byKey`, SHA-1 of its subjectPublicKey BIT STRING contents; RFC 6960 §4.2.1, RFC 5019
/// §2.2.3; C19), the signature algorithm for its key, and the certificates to send along.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponderIdentity {
    key_bits: Vec<u8>,
    key_hash: Vec<u8>,
    signature_algorithm: AlgorithmIdentifierOwned,
    certs: Option<Vec<x509_cert::Certificate>>,
}

impl ResponderIdentity {
    fn with_key(key: &PublicKey) -> Result<Self, OcspError> {
        let algorithm =
            crate::crl::signature_algorithm_der(key.key_type).map_err(OcspError::Algorithm)?;
        Ok(Self {
            key_bits: key.bits.clone(),
            key_hash: HashAlgorithm::Sha1.digest(&key.bits),
            signature_algorithm: AlgorithmIdentifierOwned::from_der(algorithm).map_err(encoding)?,
            certs: None,
        })
    }

    /// The issuing CA signs its own responses: `key` is the CA's public key; no certificates
    /// are sent (the client has the issuer already).
    pub fn issuer(key: &PublicKey) -> Result<Self, OcspError> {
        Self::with_key(key)
    }

    /// A delegated responder (RFC 6960 §4.2.2.2): `key` is the responder's public key and
    /// `responder_cert_der` its certificate, issued by the CA whose certificates it answers
    /// for. The certificate is sent in `certs`; it must carry `key` and the id-kp-OCSPSigning
    /// extended key usage.
    pub fn delegated(key: &PublicKey, responder_cert_der: &[u8]) -> Result<Self, OcspError> {
        let (rest, parsed) = X509Certificate::from_der(responder_cert_der)
            .map_err(|e| OcspError::Certificate(format!("responder certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(OcspError::Certificate(
                "trailing bytes after the responder certificate".into(),
            ));
        }
        if *parsed.public_key().subject_public_key.data != *key.bits {
            return Err(OcspError::Certificate(
                "the responder certificate is for another key".into(),
            ));
        }
        let ocsp_signing = matches!(
            parsed.extended_key_usage(),
            Ok(Some(eku)) if eku.value.ocsp_signing
        );
        if !ocsp_signing {
            return Err(OcspError::Certificate(
                "a delegated responder certificate needs EKU id-kp-OCSPSigning (RFC 6960 §4.2.2.2)"
                    .into(),
            ));
        }
        let cert = x509_cert::Certificate::from_der(responder_cert_der)
            .map_err(|e| OcspError::Certificate(format!("responder certificate: {e}")))?;
        let mut identity = Self::with_key(key)?;
        identity.certs = Some(vec![cert]);
        Ok(identity)
    }

    /// The ResponderID `byKey` value: SHA-1 of the responder's subjectPublicKey contents.
    pub fn key_hash(&self) -> &[u8] {
        &self.key_hash
    }
}

/// One certificate's answer: which certificate, its status, and the times.
#[derive(Clone, Copy, Debug)]
pub struct ResponseParams<'a> {
    /// The CertID, echoed exactly: from [`OcspRequest::cert_id`] or [`CertId::new`].
    pub cert_id: &'a CertId,
    /// The status.
    pub status: CertStatus,
    /// producedAt: when this response is signed.
    pub produced_at: OffsetDateTime,
    /// thisUpdate: when the status was known to be correct (RFC 5019 §2.2.4).
    pub this_update: OffsetDateTime,
    /// nextUpdate: when newer information will be available; RFC 5019 §2.2.4 responses carry
    /// it so that caches know when to refresh. Must be after `this_update`.
    pub next_update: OffsetDateTime,
}

/// Converts to GeneralizedTime in whole seconds, `Z`; OCSP uses GeneralizedTime only
/// (RFC 6960 §4.2.2.1; C29). der's GeneralizedTime covers 1970–9999.
fn generalized_time(t: OffsetDateTime) -> Result<OcspGeneralizedTime, OcspError> {
    let t = t.to_offset(UtcOffset::UTC);
    let year = u16::try_from(t.year())
        .map_err(|_| OcspError::Invalid(format!("year {} is out of range", t.year())))?;
    let dt = der::DateTime::new(
        year,
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .map_err(|e| OcspError::Invalid(format!("time {t}: {e}")))?;
    Ok(OcspGeneralizedTime(GeneralizedTime::from_date_time(dt)))
}

fn crl_reason(code: u8) -> Result<CrlReason, OcspError> {
    crate::crl::check_reason(code).map_err(OcspError::Invalid)?;
    Ok(match code {
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        9 => CrlReason::PrivilegeWithdrawn,
        10 => CrlReason::AaCompromise,
        _ => CrlReason::Unspecified,
    })
}

/// Builds and signs a successful OCSPResponse (RFC 6960 §4.2.1) with one SingleResponse.
///
/// ResponseData is v1 (the DEFAULT, so not written), responderID is `byKey`, every time is
/// GeneralizedTime without fractions, and revoked statuses carry revocationTime and, for a
/// reason other than unspecified, revocationReason `[0] EXPLICIT CRLReason`. With `nonce`, the
/// nonce extension is copied into responseExtensions unchanged; without, there are no
/// responseExtensions and the result can be cached (see the module docs). The signature is
/// `signer`'s over the DER of ResponseData, with the AlgorithmIdentifier of its key type; the
/// result is wrapped as `responseBytes { id-pkix-ocsp-basic, OCTET STRING(BasicOCSPResponse) }`.
///
/// `signer` must hold the key `responder` was made for.
pub fn build_response(
    signer: &dyn Signer,
    responder: &ResponderIdentity,
    params: &ResponseParams<'_>,
    nonce: Option<&Nonce>,
) -> Result<Vec<u8>, OcspError> {
    if signer.public_key().bits != responder.key_bits {
        return Err(OcspError::Algorithm(
            "the signer's key is not the responder's".into(),
        ));
    }
    if params.next_update <= params.this_update {
        return Err(OcspError::Invalid(
            "nextUpdate must be after thisUpdate".into(),
        ));
    }
    let cert_status = match params.status {
        CertStatus::Good => x509_ocsp::CertStatus::Good(der::asn1::Null),
        CertStatus::Unknown => x509_ocsp::CertStatus::Unknown(der::asn1::Null),
        CertStatus::Revoked { time, reason } => {
            let revocation_reason = match reason {
                Some(code) => Some(crl_reason(code)?).filter(|r| *r != CrlReason::Unspecified),
                None => None,
            };
            x509_ocsp::CertStatus::Revoked(x509_ocsp::RevokedInfo {
                revocation_time: generalized_time(time)?,
                revocation_reason,
            })
        }
    };
    let tbs_response_data = x509_ocsp::ResponseData {
        version: x509_ocsp::Version::V1,
        responder_id: ResponderId::ByKey(
            OctetString::new(responder.key_hash.as_slice()).map_err(encoding)?,
        ),
        produced_at: generalized_time(params.produced_at)?,
        responses: vec![x509_ocsp::SingleResponse {
            cert_id: params.cert_id.inner.clone(),
            cert_status,
            this_update: generalized_time(params.this_update)?,
            next_update: Some(generalized_time(params.next_update)?),
            single_extensions: None,
        }],
        response_extensions: nonce.map(|n| vec![n.extension.clone()]),
    };
    let tbs = tbs_response_data.to_der().map_err(encoding)?;
    let signature = signer.sign(&tbs).map_err(OcspError::Signing)?;
    let basic = x509_ocsp::BasicOcspResponse {
        tbs_response_data,
        signature_algorithm: responder.signature_algorithm.clone(),
        signature: BitString::from_bytes(&signature).map_err(encoding)?,
        certs: responder.certs.clone(),
    };
    let response = x509_ocsp::OcspResponse {
        response_status: x509_ocsp::OcspResponseStatus::Successful,
        response_bytes: Some(x509_ocsp::ResponseBytes {
            response_type: OID_OCSP_BASIC,
            response: OctetString::new(basic.to_der().map_err(encoding)?).map_err(encoding)?,
        }),
    };
    response.to_der().map_err(encoding)
}
