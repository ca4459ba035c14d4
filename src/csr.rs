//! Certificate signing requests: parse, verify the self-signature, and expose only what the
//! profiles may use (the public key, the subject, the requested names). Requested extensions
//! are reported, never copied: the profile decides what a certificate says.
use std::net::IpAddr;

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::Error;

/// A CSR whose signature has been verified.
#[derive(Debug, Clone)]
pub struct VerifiedCsr {
    /// DER of the whole request.
    pub der: Vec<u8>,
    /// DER SubjectPublicKeyInfo of the requester's key.
    pub spki_der: Vec<u8>,
    /// The subject's commonName, if any.
    pub common_name: Option<String>,
    /// True if the subject DN is an empty SEQUENCE.
    pub subject_empty: bool,
    /// dNSName SANs requested.
    pub dns_names: Vec<String>,
    /// iPAddress SANs requested.
    pub ip_addresses: Vec<IpAddr>,
    /// URI SANs requested (SPIFFE IDs).
    pub uris: Vec<String>,
    /// The basicConstraints the requester asked for: `Some((ca, path_len))`.
    pub requested_ca: Option<(bool, Option<u32>)>,
    /// OIDs of every requested extension, for display.
    pub requested_extensions: Vec<String>,
    /// The CSR's signature algorithm OID (dotted), so callers can refuse SHA-1.
    pub signature_algorithm: String,
}

impl VerifiedCsr {
    /// Parses a PEM or DER CSR and verifies its signature.
    pub fn parse(input: &[u8]) -> Result<Self, Error> {
        let der = crate::pem::decode_one("CERTIFICATE REQUEST", input)
            .or_else(|_| crate::pem::decode_one("NEW CERTIFICATE REQUEST", input))?;
        let (rest, csr) = X509CertificationRequest::from_der(&der)
            .map_err(|e| Error::Parse(format!("CSR: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::Parse("CSR: trailing bytes after the request".into()));
        }
        csr.verify_signature().map_err(|_| Error::BadCsrSignature)?;
        let info = &csr.certification_request_info;
        let common_name = info
            .subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_string);
        let mut out = Self {
            der: der.clone(),
            spki_der: info.subject_pki.raw.to_vec(),
            common_name,
            subject_empty: info.subject.iter().next().is_none(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            uris: Vec::new(),
            requested_ca: None,
            requested_extensions: Vec::new(),
            signature_algorithm: csr.signature_algorithm.algorithm.to_id_string(),
        };
        for ext in csr.requested_extensions().into_iter().flatten() {
            match ext {
                ParsedExtension::SubjectAlternativeName(san) => {
                    for name in &san.general_names {
                        match name {
                            GeneralName::DNSName(d) => out.dns_names.push(d.to_string()),
                            GeneralName::URI(u) => out.uris.push(u.to_string()),
                            GeneralName::IPAddress(b) => out.ip_addresses.push(ip_from_bytes(b)?),
                            other => {
                                return Err(Error::Parse(format!("CSR: unsupported SAN {other:?}")))
                            }
                        }
                    }
                    out.requested_extensions.push("subjectAltName".into());
                }
                ParsedExtension::BasicConstraints(bc) => {
                    out.requested_ca = Some((bc.ca, bc.path_len_constraint));
                    out.requested_extensions.push("basicConstraints".into());
                }
                ParsedExtension::KeyUsage(_) => out.requested_extensions.push("keyUsage".into()),
                ParsedExtension::ExtendedKeyUsage(_) => {
                    out.requested_extensions.push("extendedKeyUsage".into())
                }
                other => out
                    .requested_extensions
                    .push(format!("{other:?}").chars().take(40).collect()),
            }
        }
        Ok(out)
    }

    /// The key as rcgen takes it for a certificate's subjectPublicKeyInfo.
    pub fn rcgen_public_key(&self) -> Result<rcgen::SubjectPublicKeyInfo, Error> {
        rcgen::SubjectPublicKeyInfo::from_der(&self.spki_der)
            .map_err(|e| Error::Profile(format!("unsupported public key in CSR: {e}")))
    }
}

fn ip_from_bytes(b: &[u8]) -> Result<IpAddr, Error> {
    match b.len() {
        4 => Ok(IpAddr::from(
            <[u8; 4]>::try_from(b).map_err(|_| Error::Parse("ip".into()))?,
        )),
        16 => Ok(IpAddr::from(
            <[u8; 16]>::try_from(b).map_err(|_| Error::Parse("ip".into()))?,
        )),
        n => Err(Error::Parse(format!("CSR: iPAddress SAN of {n} bytes"))),
    }
}
