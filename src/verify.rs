//! Signature checks on signed X.509 objects (certificates, CRLs) against an issuer's
//! SubjectPublicKeyInfo, with ring: for importing what crossed the air gap.
use der::{Decode, Encode};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use crate::Error;

const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

/// Verifies `signature` over `signed` (the DER of a TBS structure) made with `algorithm` (dotted
/// OID) by the key in `issuer_spki_der`.
pub fn verify_signature(
    signed: &[u8],
    algorithm: &str,
    signature: &[u8],
    issuer_spki_der: &[u8],
) -> Result<(), Error> {
    use ring::signature as s;
    let spki = SubjectPublicKeyInfoRef::from_der(issuer_spki_der)
        .map_err(|e| Error::Parse(format!("issuer key: {e}")))?;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
        .map(|o| o.to_string());
    let alg: &dyn s::VerificationAlgorithm = match (algorithm, curve.as_deref()) {
        (ECDSA_SHA256, Some(P256)) => &s::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SHA256, Some(P384)) => &s::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SHA384, Some(P256)) => &s::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SHA384, Some(P384)) => &s::ECDSA_P384_SHA384_ASN1,
        (RSA_SHA256, None) => &s::RSA_PKCS1_2048_8192_SHA256,
        (RSA_SHA384, None) => &s::RSA_PKCS1_2048_8192_SHA384,
        (RSA_SHA512, None) => &s::RSA_PKCS1_2048_8192_SHA512,
        (other, _) => {
            return Err(Error::Parse(format!(
                "unsupported signature algorithm {other} for this issuer key"
            )))
        }
    };
    s::UnparsedPublicKey::new(alg, spki.subject_public_key.raw_bytes())
        .verify(signed, signature)
        .map_err(|_| Error::Parse("the signature does not verify against the issuer's key".into()))
}

/// Verifies a DER CRL against the issuer certificate (DER); returns the CRL's parsed form.
pub fn verify_crl(
    crl_der: &[u8],
    issuer_cert_der: &[u8],
) -> Result<x509_cert::crl::CertificateList, Error> {
    let crl = x509_cert::crl::CertificateList::from_der(crl_der)
        .map_err(|e| Error::Parse(format!("CRL: {e}")))?;
    let issuer = x509_cert::Certificate::from_der(issuer_cert_der)
        .map_err(|e| Error::Parse(format!("issuer: {e}")))?;
    if crl.tbs_cert_list.issuer != issuer.tbs_certificate.subject {
        return Err(Error::Parse(
            "the CRL's issuer is not this certificate's subject".into(),
        ));
    }
    let tbs = crl
        .tbs_cert_list
        .to_der()
        .map_err(|e| Error::Parse(e.to_string()))?;
    let spki = issuer
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| Error::Parse(e.to_string()))?;
    let sig = crl
        .signature
        .as_bytes()
        .ok_or_else(|| Error::Parse("CRL signature has unused bits".into()))?;
    verify_signature(&tbs, &crl.signature_algorithm.oid.to_string(), sig, &spki)?;
    Ok(crl)
}
