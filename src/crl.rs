//! Certificate revocation lists (RFC 5280 §5): a DER encoder for `TBSCertList` built for large
//! lists, and the signing step that turns it into a `CertificateList`.
//!
//! Boundary: this module encodes and signs; it does not decide what is revoked, store anything or
//! serve anything. Signing goes through [`fleetca_hsm::Signer`], so the key may live on a token.
//!
//! The encoder is hand-written rather than built on a generic DER library because an issuing
//! CA's CRL can hold a million entries: every length is computed in a first pass, one buffer of
//! the exact final size is allocated, and the second pass writes into it with no per-entry
//! allocation. Lengths use the long definite form, so multi-megabyte lists are fine.
//!
//! Encoding decisions, each tied to a field case in `FIELD-CASES.md`:
//! - `revokedCertificates` is omitted when empty, never an empty `30 00` (RFC 5280 §5.1.2.6;
//!   C23);
//! - `crlEntryExtensions` appears only for a reason code other than unspecified, and is never
//!   empty (RFC 5280 §5.3.1: reasonCode unspecified SHOULD be absent; C23, C24);
//! - thisUpdate, nextUpdate and revocationDate are UTCTime through 2049 and GeneralizedTime from
//!   2050 (RFC 5280 §5.1.2.4–§5.1.2.6; C29);
//! - the AKI keyIdentifier is the issuer's SKI copied byte for byte, never recomputed
//!   (RFC 5280 §5.2.1; C31);
//! - CRLNumber is non-critical and at most 20 octets (RFC 5280 §5.2.3; C24);
//! - the IssuingDistributionPoint, when asked for, is critical and its fullName URI is the
//!   caller's string unchanged, so it can equal the certificates' CDP byte for byte
//!   (RFC 5280 §5.2.5; C24).
use std::fmt;

use fleetca_hsm::{KeyType, Signer};
use time::{OffsetDateTime, UtcOffset};
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use crate::serial::Serial;

#[cfg(test)]
pub(crate) mod tests;

/// What went wrong while building or signing a CRL.
#[derive(Debug)]
#[non_exhaustive]
pub enum CrlError {
    /// The issuer certificate cannot be used: not DER, or without a subjectKeyIdentifier to copy
    /// into the CRL's authorityKeyIdentifier (RFC 5280 §5.2.1).
    Issuer(String),
    /// A parameter is outside what RFC 5280 allows (times, reason codes, serials, the IDP URI).
    Invalid(String),
    /// The signer's key type has no CRL signature algorithm here, or does not match the one
    /// the `TBSCertList` names.
    Algorithm(String),
    /// The signer failed.
    Signing(fleetca_hsm::HsmError),
}

impl fmt::Display for CrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Issuer(m) => write!(f, "CRL issuer certificate: {m}"),
            Self::Invalid(m) => write!(f, "CRL parameter: {m}"),
            Self::Algorithm(m) => write!(f, "CRL signature algorithm: {m}"),
            Self::Signing(e) => write!(f, "signing the CRL: {e}"),
        }
    }
}

impl std::error::Error for CrlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Signing(e) => Some(e),
            _ => None,
        }
    }
}

/// The parts of an issuing CA's certificate a CRL repeats: its subject Name (the CRL's issuer
/// field, RFC 5280 §5.1.2.3) and its subjectKeyIdentifier (the CRL's AKI, RFC 5280 §5.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlIssuer {
    subject_der: Vec<u8>,
    key_identifier: Vec<u8>,
}

impl CrlIssuer {
    /// Reads the issuer certificate (DER). The subject is kept as the exact DER bytes of the
    /// certificate's subject Name, and the SKI as its exact bytes, so that name chaining and
    /// AKI/SKI matching cannot be broken by re-encoding. A certificate without an SKI is refused
    /// (fleetca's CA profiles always carry one; C31), and so is one whose keyUsage lacks
    /// cRLSign.
    pub fn from_certificate_der(der: &[u8]) -> Result<Self, CrlError> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| CrlError::Issuer(format!("not a DER certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(CrlError::Issuer(
                "trailing bytes after the certificate".into(),
            ));
        }
        // RFC 5280 §4.2.1.3: a key that signs CRLs has cRLSign when keyUsage is present.
        if let Ok(Some(ku)) = cert.key_usage() {
            if !ku.value.crl_sign() {
                return Err(CrlError::Issuer(
                    "its keyUsage does not include cRLSign (RFC 5280 §4.2.1.3)".into(),
                ));
            }
        }
        let key_identifier = cert
            .extensions()
            .iter()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(ki) => Some(ki.0.to_vec()),
                _ => None,
            })
            .ok_or_else(|| {
                CrlError::Issuer(
                    "no subjectKeyIdentifier to copy into the CRL's authorityKeyIdentifier".into(),
                )
            })?;
        Ok(Self {
            subject_der: cert.tbs_certificate.subject.as_raw().to_vec(),
            key_identifier,
        })
    }

    /// The DER of the issuer's subject Name, as it appears in the CRL.
    pub fn subject_der(&self) -> &[u8] {
        &self.subject_der
    }

    /// The issuer's subjectKeyIdentifier bytes, as the CRL's AKI carries them.
    pub fn key_identifier(&self) -> &[u8] {
        &self.key_identifier
    }
}

/// One entry of `revokedCertificates` (RFC 5280 §5.1.2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedCert {
    /// The revoked certificate's serial number (positive, at most 20 octets).
    pub serial: Serial,
    /// When the revocation took effect (whole seconds are written; RFC 5280 §5.1.2.6).
    pub revocation_date: OffsetDateTime,
    /// CRLReason code (RFC 5280 §5.3.1). `None` and `Some(0)` (unspecified) both write no
    /// entry extensions at all; 7 (unused) and 8 (removeFromCRL, delta CRLs only) are refused.
    pub reason: Option<u8>,
}

/// Everything a `TBSCertList` holds, borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub struct CrlParams<'a> {
    /// The CA the CRL is for; it must also be the signer.
    pub issuer: &'a CrlIssuer,
    /// The key type of the signer, which fixes the signature AlgorithmIdentifier written inside
    /// the `TBSCertList` (RFC 5280 §5.1.2.2). [`sign_crl`] checks that the signer matches.
    pub key_type: KeyType,
    /// thisUpdate (RFC 5280 §5.1.2.4).
    pub this_update: OffsetDateTime,
    /// nextUpdate (RFC 5280 §5.1.2.5): conforming CRL issuers MUST include it. Must be after
    /// `this_update`.
    pub next_update: OffsetDateTime,
    /// CRLNumber (RFC 5280 §5.2.3): the caller's monotonic number for this issuer's CRLs. A
    /// `u128` always encodes within the 20-octet limit.
    pub crl_number: u128,
    /// The IssuingDistributionPoint fullName URI (RFC 5280 §5.2.5), or `None` for no IDP. It is
    /// written unchanged; pass exactly the CDP URI of the certificates this CRL covers (C24).
    pub issuing_distribution_point: Option<&'a str>,
    /// The revoked certificates, in the order they are to be listed.
    pub revoked: &'a [RevokedCert],
}

// DER tags.
const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
const TAG_SEQUENCE: u8 = 0x30;

/// `Version ::= INTEGER { v2(1) }`: CRLs with extensions are v2 (RFC 5280 §5.1.2.1).
const VERSION_V2: &[u8] = &[0x02, 0x01, 0x01];

/// The reasonCode entry extension for one code, all but the last byte (RFC 5280 §5.3.1):
/// `SEQUENCE (Extensions) { SEQUENCE { OID 2.5.29.21, OCTET STRING { ENUMERATED code } } }`.
const REASON_EXTENSIONS_PREFIX: [u8; 13] = [
    0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01,
];
/// Length of a whole reasonCode `crlEntryExtensions` element.
const REASON_EXTENSIONS_LEN: usize = REASON_EXTENSIONS_PREFIX.len() + 1;

const OID_AUTHORITY_KEY_IDENTIFIER: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x23];
const OID_CRL_NUMBER: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x14];
const OID_ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x1c];
const CRITICAL_TRUE: &[u8] = &[0x01, 0x01, 0xff];

/// The DER signature AlgorithmIdentifier for a key type: ecdsa-with-SHA256/384/512 with
/// parameters absent (RFC 5758 §3.2) and sha256WithRSAEncryption with NULL parameters
/// (RFC 4055 §5). Shared with OCSP so that both sign the same way.
pub(crate) fn signature_algorithm_der(key_type: KeyType) -> Result<&'static [u8], String> {
    const ECDSA_SHA256: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    const ECDSA_SHA384: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
    ];
    const ECDSA_SHA512: &[u8] = &[
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
    ];
    const RSA_SHA256: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];
    match key_type {
        KeyType::EcP256 => Ok(ECDSA_SHA256),
        KeyType::EcP384 => Ok(ECDSA_SHA384),
        KeyType::EcP521 => Ok(ECDSA_SHA512),
        KeyType::Rsa3072 | KeyType::Rsa4096 => Ok(RSA_SHA256),
        other => Err(format!("no signature algorithm for {other} keys")),
    }
}

/// Checks a CRLReason code for a full CRL or an OCSP response (RFC 5280 §5.3.1): 0–6 and 9–10.
/// 7 is unassigned; 8 (removeFromCRL) belongs only in delta CRLs, which fleetca does not issue.
pub(crate) fn check_reason(code: u8) -> Result<(), String> {
    match code {
        0..=6 | 9 | 10 => Ok(()),
        7 => Err("reason code 7 is not assigned (RFC 5280 §5.3.1)".into()),
        8 => Err("reason code 8 (removeFromCRL) is only for delta CRLs".into()),
        _ => Err(format!("reason code {code} is not a CRLReason")),
    }
}

/// The number of octets a DER length field takes for `len` content octets (X.690 §8.1.3).
fn len_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

/// Total size of a TLV with `len` content octets (one-octet tag).
fn tlv_len(len: usize) -> usize {
    1 + len_len(len) + len
}

/// Appends a tag and a DER definite length (short form below 128, else long form).
fn push_header(buf: &mut Vec<u8>, tag: u8, len: usize) {
    buf.push(tag);
    if len < 0x80 {
        // Fits in 7 bits: the short form is the length itself.
        buf.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        buf.push(0x80 | significant.len() as u8);
        buf.extend_from_slice(significant);
    }
}

/// Appends a whole TLV.
fn push_tlv(buf: &mut Vec<u8>, tag: u8, content: &[u8]) {
    push_header(buf, tag, content.len());
    buf.extend_from_slice(content);
}

/// A TLV as a new vector (for the handful of small, non-repeated elements).
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(tlv_len(content.len()));
    push_tlv(&mut v, tag, content);
    v
}

/// The content length of a DER INTEGER holding a non-negative big-endian magnitude with no
/// leading zero octets: one more octet when the top bit is set (X.690 §8.3.2).
fn uint_content_len(magnitude: &[u8]) -> usize {
    match magnitude.first() {
        Some(b) if b & 0x80 != 0 => magnitude.len() + 1,
        Some(_) => magnitude.len(),
        None => 1,
    }
}

/// Appends a DER INTEGER for a minimal non-negative magnitude.
fn push_uint(buf: &mut Vec<u8>, magnitude: &[u8]) {
    push_header(buf, TAG_INTEGER, uint_content_len(magnitude));
    match magnitude.first() {
        Some(b) if b & 0x80 != 0 => buf.push(0),
        Some(_) => {}
        None => buf.push(0),
    }
    buf.extend_from_slice(magnitude);
}

/// A serial's magnitude, checked: positive, at most 20 octets (RFC 5280 §4.1.2.2, §5.1.2.6).
fn serial_magnitude(serial: &Serial) -> Result<&[u8], CrlError> {
    let bytes = serial.as_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let magnitude = bytes.get(skip..).unwrap_or_default();
    if magnitude.is_empty() || magnitude.len() > 20 {
        return Err(CrlError::Invalid(format!(
            "serial {serial} must be positive and at most 20 octets"
        )));
    }
    Ok(magnitude)
}

/// The size of an X.509 `Time` TLV for `t`: UTCTime (13 octets) for 1950–2049, GeneralizedTime
/// (15 octets) for 2050–9999 (RFC 5280 §5.1.2.4; C29).
fn time_tlv_len(t: OffsetDateTime) -> Result<usize, CrlError> {
    match t.to_offset(UtcOffset::UTC).year() {
        1950..=2049 => Ok(2 + 13),
        2050..=9999 => Ok(2 + 15),
        y => Err(CrlError::Invalid(format!(
            "year {y} cannot be written as an X.509 Time"
        ))),
    }
}

/// Appends two decimal digits.
fn push_2digits(buf: &mut Vec<u8>, v: u8) {
    buf.push(b'0' + (v / 10) % 10);
    buf.push(b'0' + v % 10);
}

/// Appends `t` as UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ` (seconds always,
/// no fraction, always `Z`; RFC 5280 §4.1.2.5.1–§4.1.2.5.2). Call [`time_tlv_len`] first: it
/// rejects the years this cannot write.
fn push_time(buf: &mut Vec<u8>, t: OffsetDateTime) {
    let t = t.to_offset(UtcOffset::UTC);
    let year = t.year().clamp(0, 9999) as u16;
    if year < 2050 {
        buf.extend_from_slice(&[TAG_UTC_TIME, 13]);
    } else {
        buf.extend_from_slice(&[TAG_GENERALIZED_TIME, 15]);
        push_2digits(buf, (year / 100) as u8);
    }
    push_2digits(buf, (year % 100) as u8);
    push_2digits(buf, t.month() as u8);
    push_2digits(buf, t.day());
    push_2digits(buf, t.hour());
    push_2digits(buf, t.minute());
    push_2digits(buf, t.second());
    buf.push(b'Z');
}

/// Content length of one revokedCertificates entry, validating it on the way.
fn entry_content_len(entry: &RevokedCert) -> Result<usize, CrlError> {
    let serial = serial_magnitude(&entry.serial)?;
    let mut len = tlv_len(uint_content_len(serial)) + time_tlv_len(entry.revocation_date)?;
    if let Some(code) = entry.reason {
        check_reason(code).map_err(CrlError::Invalid)?;
        if code != 0 {
            len += REASON_EXTENSIONS_LEN;
        }
    }
    Ok(len)
}

/// The `crlExtensions` element: `[0] EXPLICIT SEQUENCE { AKI, CRLNumber, IDP? }`.
fn crl_extensions(params: &CrlParams<'_>) -> Result<Vec<u8>, CrlError> {
    // authorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    let aki_value = tlv(TAG_SEQUENCE, &tlv(0x80, params.issuer.key_identifier()));
    let mut aki = OID_AUTHORITY_KEY_IDENTIFIER.to_vec();
    push_tlv(&mut aki, TAG_OCTET_STRING, &aki_value);

    // cRLNumber ::= INTEGER (0..MAX), minimal.
    let number = params.crl_number.to_be_bytes();
    let skip = number.iter().take_while(|b| **b == 0).count();
    let mut number_der = Vec::with_capacity(20);
    push_uint(&mut number_der, number.get(skip..).unwrap_or_default());
    let mut crl_number = OID_CRL_NUMBER.to_vec();
    push_tlv(&mut crl_number, TAG_OCTET_STRING, &number_der);

    let mut list = tlv(TAG_SEQUENCE, &aki);
    list.extend_from_slice(&tlv(TAG_SEQUENCE, &crl_number));

    if let Some(uri) = params.issuing_distribution_point {
        if uri.is_empty() || !uri.is_ascii() || uri.bytes().any(|b| b.is_ascii_control()) {
            return Err(CrlError::Invalid(format!(
                "issuing distribution point {uri:?} must be a non-empty ASCII URI"
            )));
        }
        // IssuingDistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName }
        // DistributionPointName ::= CHOICE { fullName [0] GeneralNames }  (CHOICE: explicit)
        // GeneralName uniformResourceIdentifier [6] IA5String
        let name = tlv(0x86, uri.as_bytes());
        let full_name = tlv(0xa0, &name);
        let dp = tlv(0xa0, &full_name);
        let idp_value = tlv(TAG_SEQUENCE, &dp);
        let mut idp = OID_ISSUING_DISTRIBUTION_POINT.to_vec();
        idp.extend_from_slice(CRITICAL_TRUE);
        push_tlv(&mut idp, TAG_OCTET_STRING, &idp_value);
        list.extend_from_slice(&tlv(TAG_SEQUENCE, &idp));
    }
    Ok(tlv(0xa0, &tlv(TAG_SEQUENCE, &list)))
}

/// Encodes the `TBSCertList` (RFC 5280 §5.1.2) for `params` as DER.
///
/// Two passes over the entries: the first validates them and sums their sizes, the second
/// writes them into a buffer allocated once at the exact final size.
pub fn encode_tbs(params: &CrlParams<'_>) -> Result<Vec<u8>, CrlError> {
    if params.next_update <= params.this_update {
        return Err(CrlError::Invalid(
            "nextUpdate must be after thisUpdate".into(),
        ));
    }
    let algorithm = signature_algorithm_der(params.key_type).map_err(CrlError::Algorithm)?;
    let extensions = crl_extensions(params)?;

    let mut revoked_len = 0usize;
    for entry in params.revoked {
        revoked_len += tlv_len(entry_content_len(entry)?);
    }
    let mut content_len = VERSION_V2.len()
        + algorithm.len()
        + params.issuer.subject_der().len()
        + time_tlv_len(params.this_update)?
        + time_tlv_len(params.next_update)?
        + extensions.len();
    if !params.revoked.is_empty() {
        content_len += tlv_len(revoked_len);
    }

    let mut buf = Vec::with_capacity(tlv_len(content_len));
    push_header(&mut buf, TAG_SEQUENCE, content_len);
    buf.extend_from_slice(VERSION_V2);
    buf.extend_from_slice(algorithm);
    buf.extend_from_slice(params.issuer.subject_der());
    push_time(&mut buf, params.this_update);
    push_time(&mut buf, params.next_update);
    if !params.revoked.is_empty() {
        push_header(&mut buf, TAG_SEQUENCE, revoked_len);
        for entry in params.revoked {
            let serial = serial_magnitude(&entry.serial)?;
            let reason = entry.reason.filter(|code| *code != 0);
            let len = tlv_len(uint_content_len(serial))
                + time_tlv_len(entry.revocation_date)?
                + if reason.is_some() {
                    REASON_EXTENSIONS_LEN
                } else {
                    0
                };
            push_header(&mut buf, TAG_SEQUENCE, len);
            push_uint(&mut buf, serial);
            push_time(&mut buf, entry.revocation_date);
            if let Some(code) = reason {
                buf.extend_from_slice(&REASON_EXTENSIONS_PREFIX);
                buf.push(code);
            }
        }
    }
    buf.extend_from_slice(&extensions);
    Ok(buf)
}

/// Reads a DER header at the start of `der`: returns (tag, content length, header length).
fn read_header(der: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    if first < 0x80 {
        return Some((tag, usize::from(first), 2));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > size_of::<usize>() {
        return None;
    }
    let mut len = 0usize;
    for b in der.get(2..2 + n)? {
        len = (len << 8) | usize::from(*b);
    }
    Some((tag, len, 2 + n))
}

/// Signs a `TBSCertList` and returns the DER `CertificateList` (RFC 5280 §5.1):
/// `SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }`.
///
/// The signature AlgorithmIdentifier inside `tbs_der` must be the signer's (RFC 5280 §5.1.1.2
/// requires the two to be equal); the outer one is copied from the signer's key type.
pub fn sign_crl(tbs_der: &[u8], signer: &dyn Signer) -> Result<Vec<u8>, CrlError> {
    let algorithm = signature_algorithm_der(signer.key_type()).map_err(CrlError::Algorithm)?;
    match read_header(tbs_der) {
        Some((TAG_SEQUENCE, len, header)) if header + len == tbs_der.len() => {
            let inner = tbs_der.get(header..).unwrap_or_default();
            let names_algorithm = inner.starts_with(VERSION_V2)
                && inner
                    .get(VERSION_V2.len()..)
                    .is_some_and(|rest| rest.starts_with(algorithm));
            if !names_algorithm {
                return Err(CrlError::Algorithm(format!(
                    "the TBSCertList does not name the {} key's signature algorithm",
                    signer.key_type()
                )));
            }
        }
        _ => {
            return Err(CrlError::Invalid(
                "not a single DER TBSCertList SEQUENCE".into(),
            ))
        }
    }
    let signature = signer.sign(tbs_der).map_err(CrlError::Signing)?;
    let content_len = tbs_der.len() + algorithm.len() + tlv_len(signature.len() + 1);
    let mut out = Vec::with_capacity(tlv_len(content_len));
    push_header(&mut out, TAG_SEQUENCE, content_len);
    out.extend_from_slice(tbs_der);
    out.extend_from_slice(algorithm);
    push_header(&mut out, TAG_BIT_STRING, signature.len() + 1);
    out.push(0); // no unused bits
    out.extend_from_slice(&signature);
    Ok(out)
}

/// Encodes and signs in one call: [`encode_tbs`] then [`sign_crl`].
pub fn build_crl(params: &CrlParams<'_>, signer: &dyn Signer) -> Result<Vec<u8>, CrlError> {
    sign_crl(&encode_tbs(params)?, signer)
}
