//! Certificate profiles: what a root, a cluster intermediate and (later) a leaf look like.
//! Each profile turns a few operator choices into complete rcgen parameters; nothing a
//! requester asks for in a CSR widens them.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use der::asn1::{Ia5String, OctetString};
use der::Encode;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa,
    KeyIdMethod, KeyUsagePurpose,
};
use time::OffsetDateTime;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtree, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};

use crate::serial::Serial;
use crate::Error;

/// OID arcs of extensions rcgen does not write itself.
const OID_NAME_CONSTRAINTS: &[u64] = &[2, 5, 29, 30];
const OID_AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];

/// Default root lifetime: 20 years.
pub const ROOT_VALIDITY_DAYS: i64 = 20 * 365 + 5;
/// Default intermediate lifetime: 3 years.
pub const INTERMEDIATE_VALIDITY_DAYS: i64 = 3 * 365 + 1;

/// The offline root.
#[derive(Clone, Debug)]
pub struct RootProfile {
    /// Subject commonName.
    pub common_name: String,
    /// Subject organizationName, if any.
    pub organization: Option<String>,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Validity end.
    pub not_after: OffsetDateTime,
    /// Serial number.
    pub serial: Serial,
}

fn name(common_name: &str, organization: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = organization {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// The subject key identifier for a key: SHA-1 over the subjectPublicKey BIT STRING contents
/// (RFC 5280 §4.2.1.2 method 1), the value linters and OCSP `byKey` responder IDs recognise.
pub fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, Error> {
    use der::Decode;
    let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| Error::Parse(format!("SubjectPublicKeyInfo: {e}")))?;
    let bits = spki.subject_public_key.raw_bytes();
    Ok(
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, bits)
            .as_ref()
            .to_vec(),
    )
}

/// What every profile starts from: the validity (which must be non-empty), the serial, and the
/// SKI computed from the subject's key.
fn base(
    what: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: &Serial,
    spki_der: &[u8],
) -> Result<CertificateParams, Error> {
    if not_after <= not_before {
        return Err(Error::Profile(format!(
            "{what} notAfter must be after notBefore"
        )));
    }
    let mut p = CertificateParams::default();
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(serial.to_rcgen());
    p.key_identifier_method = KeyIdMethod::PreSpecified(key_identifier(spki_der)?);
    Ok(p)
}

impl RootProfile {
    /// rcgen parameters for the root whose key is `spki_der`: CA with no pathLen,
    /// keyCertSign + cRLSign critical, SKI, no AKI (self-signed).
    pub fn params(&self, spki_der: &[u8]) -> Result<CertificateParams, Error> {
        let mut p = base(
            "root",
            self.not_before,
            self.not_after,
            &self.serial,
            spki_der,
        )?;
        p.distinguished_name = name(&self.common_name, self.organization.as_deref());
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.use_authority_key_identifier_extension = false;
        Ok(p)
    }
}

/// A per-cluster intermediate CA, signed by the root in a ceremony.
#[derive(Clone, Debug)]
pub struct IntermediateProfile {
    /// Subject commonName.
    pub common_name: String,
    /// Subject organizationName, if any.
    pub organization: Option<String>,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Validity end (the caller clamps it to the root's).
    pub not_after: OffsetDateTime,
    /// Serial number.
    pub serial: Serial,
    /// Permitted dNSName subtrees (`cluster1.example.org`, `svc.cluster.local`).
    pub permitted_dns: Vec<String>,
    /// Permitted URI host (the SPIFFE trust domain).
    pub permitted_uri_hosts: Vec<String>,
    /// Excluded iPAddress subtrees (loopback by default).
    pub excluded_ip: Vec<(IpAddr, u8)>,
    /// CRL distribution point (the root CRL's URL).
    pub crl_url: Option<String>,
    /// AIA caIssuers URL (where the root certificate can be fetched).
    pub ca_issuers_url: Option<String>,
    /// AIA OCSP URL for the root's responder, if any.
    pub ocsp_url: Option<String>,
}

/// Loopback ranges every intermediate excludes: a certificate for them identifies nothing.
pub fn loopback_exclusions() -> Vec<(IpAddr, u8)> {
    vec![
        (IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
        (IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
    ]
}

fn ia5(s: &str) -> Result<Ia5String, Error> {
    Ia5String::new(s).map_err(|_| Error::Profile(format!("{s:?} is not IA5 (ASCII)")))
}

fn ip_subtree(ip: IpAddr, prefix: u8) -> Result<GeneralSubtree, Error> {
    let (addr, len): (Vec<u8>, u8) = match ip {
        IpAddr::V4(v4) => (v4.octets().to_vec(), 32),
        IpAddr::V6(v6) => (v6.octets().to_vec(), 128),
    };
    if prefix > len {
        return Err(Error::Profile(format!(
            "prefix /{prefix} too long for {ip}"
        )));
    }
    let mut mask = vec![0u8; addr.len()];
    for (i, m) in mask.iter_mut().enumerate() {
        let bits = (prefix as i32 - 8 * i as i32).clamp(0, 8);
        *m = if bits == 0 { 0 } else { 0xffu8 << (8 - bits) };
    }
    let mut bytes = addr;
    bytes.extend_from_slice(&mask);
    let octets = OctetString::new(bytes).map_err(|e| Error::Build(e.to_string()))?;
    Ok(GeneralSubtree {
        base: GeneralName::IpAddress(octets),
        minimum: 0,
        maximum: None,
    })
}

/// DER of a nameConstraints value. Empty permitted/excluded lists are omitted, never written as
/// empty SEQUENCEs (FIELD-CASES C30). Returns `None` if both are empty.
pub fn name_constraints_der(
    permitted_dns: &[String],
    permitted_uri_hosts: &[String],
    excluded_ip: &[(IpAddr, u8)],
) -> Result<Option<Vec<u8>>, Error> {
    let mut permitted = Vec::new();
    for d in permitted_dns {
        permitted.push(GeneralSubtree {
            base: GeneralName::DnsName(ia5(d)?),
            minimum: 0,
            maximum: None,
        });
    }
    for u in permitted_uri_hosts {
        permitted.push(GeneralSubtree {
            base: GeneralName::UniformResourceIdentifier(ia5(u)?),
            minimum: 0,
            maximum: None,
        });
    }
    let excluded = excluded_ip
        .iter()
        .map(|(ip, prefix)| ip_subtree(*ip, *prefix))
        .collect::<Result<Vec<_>, _>>()?;
    if permitted.is_empty() && excluded.is_empty() {
        return Ok(None);
    }
    let nc = NameConstraints {
        permitted_subtrees: (!permitted.is_empty()).then_some(permitted),
        excluded_subtrees: (!excluded.is_empty()).then_some(excluded),
    };
    nc.to_der()
        .map(Some)
        .map_err(|e| Error::Build(e.to_string()))
}

/// DER of an authorityInfoAccess value with OCSP and caIssuers URLs.
pub fn authority_info_access_der(
    ocsp: Option<&str>,
    ca_issuers: Option<&str>,
) -> Result<Option<Vec<u8>>, Error> {
    let mut v = Vec::new();
    if let Some(u) = ocsp {
        v.push(AccessDescription {
            access_method: const_oid::db::rfc5280::ID_AD_OCSP,
            access_location: GeneralName::UniformResourceIdentifier(ia5(u)?),
        });
    }
    if let Some(u) = ca_issuers {
        v.push(AccessDescription {
            access_method: const_oid::db::rfc5280::ID_AD_CA_ISSUERS,
            access_location: GeneralName::UniformResourceIdentifier(ia5(u)?),
        });
    }
    if v.is_empty() {
        return Ok(None);
    }
    AuthorityInfoAccessSyntax(v)
        .to_der()
        .map(Some)
        .map_err(|e| Error::Build(e.to_string()))
}

/// Appends the AIA extension (non-critical) when any URL is set.
pub fn push_aia(
    p: &mut CertificateParams,
    ocsp: Option<&str>,
    ca_issuers: Option<&str>,
) -> Result<(), Error> {
    if let Some(der) = authority_info_access_der(ocsp, ca_issuers)? {
        p.custom_extensions.push(CustomExtension::from_oid_content(
            OID_AUTHORITY_INFO_ACCESS,
            der,
        ));
    }
    Ok(())
}

impl IntermediateProfile {
    /// rcgen parameters: CA with pathLen 0 (critical), keyCertSign + cRLSign +
    /// digitalSignature (critical; digitalSignature lets it sign OCSP responses itself),
    /// SKI, AKI copied from the issuer, name constraints (critical), CDP and AIA.
    pub fn params(&self, spki_der: &[u8]) -> Result<CertificateParams, Error> {
        let mut p = base(
            "intermediate",
            self.not_before,
            self.not_after,
            &self.serial,
            spki_der,
        )?;
        p.distinguished_name = name(&self.common_name, self.organization.as_deref());
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        p.use_authority_key_identifier_extension = true;
        if let Some(url) = &self.crl_url {
            p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
        }
        if let Some(der) = name_constraints_der(
            &self.permitted_dns,
            &self.permitted_uri_hosts,
            &self.excluded_ip,
        )? {
            let mut ext = CustomExtension::from_oid_content(OID_NAME_CONSTRAINTS, der);
            ext.set_criticality(true);
            p.custom_extensions.push(ext);
        }
        push_aia(
            &mut p,
            self.ocsp_url.as_deref(),
            self.ca_issuers_url.as_deref(),
        )?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests;

/// Default leaf lifetime: 90 days.
pub const LEAF_VALIDITY_DAYS: i64 = 90;

/// A workload (leaf) certificate issued by a cluster intermediate.
#[derive(Clone, Debug)]
pub struct LeafProfile {
    /// DNS names for the SAN.
    pub dns_names: Vec<String>,
    /// IP addresses for the SAN.
    pub ip_addresses: Vec<IpAddr>,
    /// URI SANs (SPIFFE IDs).
    pub uris: Vec<String>,
    /// Subject commonName: only if it is also one of the SAN values (RFC 5280 §4.1.2.6).
    pub common_name: Option<String>,
    /// True for RSA subject keys, which also get keyEncipherment.
    pub rsa_key: bool,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Validity end.
    pub not_after: OffsetDateTime,
    /// Serial number.
    pub serial: Serial,
    /// CRL distribution point of the issuing intermediate.
    pub crl_url: Option<String>,
    /// AIA OCSP responder URL.
    pub ocsp_url: Option<String>,
    /// AIA caIssuers URL (the intermediate's certificate).
    pub ca_issuers_url: Option<String>,
}

impl LeafProfile {
    /// rcgen parameters: CA:FALSE (critical), keyUsage digitalSignature (+keyEncipherment for
    /// RSA), EKU serverAuth + clientAuth, SAN (critical when the subject is empty), AKI, SKI,
    /// CDP and AIA.
    pub fn params(&self, spki_der: &[u8]) -> Result<CertificateParams, Error> {
        if self.dns_names.is_empty() && self.ip_addresses.is_empty() && self.uris.is_empty() {
            return Err(Error::Profile(
                "a leaf needs at least one subjectAltName".into(),
            ));
        }
        let mut p = base(
            "leaf",
            self.not_before,
            self.not_after,
            &self.serial,
            spki_der,
        )?;
        p.distinguished_name = DistinguishedName::new();
        if let Some(cn) = &self.common_name {
            let in_san = self.dns_names.iter().any(|d| d == cn)
                || self.ip_addresses.iter().any(|i| i.to_string() == *cn)
                || self.uris.iter().any(|u| u == cn);
            if !in_san {
                return Err(Error::Profile(format!(
                    "commonName {cn:?} is not one of the subjectAltNames"
                )));
            }
            p.distinguished_name.push(DnType::CommonName, cn.as_str());
        }
        for d in &self.dns_names {
            p.subject_alt_names
                .push(rcgen::SanType::DnsName(ia5_rcgen(d)?));
        }
        for ip in &self.ip_addresses {
            p.subject_alt_names.push(rcgen::SanType::IpAddress(*ip));
        }
        for u in &self.uris {
            p.subject_alt_names.push(rcgen::SanType::URI(ia5_rcgen(u)?));
        }
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if self.rsa_key {
            p.key_usages.push(KeyUsagePurpose::KeyEncipherment);
        }
        p.extended_key_usages = vec![
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
            rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        ];
        p.use_authority_key_identifier_extension = true;
        if let Some(url) = &self.crl_url {
            p.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
        }
        push_aia(
            &mut p,
            self.ocsp_url.as_deref(),
            self.ca_issuers_url.as_deref(),
        )?;
        Ok(p)
    }
}

fn ia5_rcgen(s: &str) -> Result<rcgen::string::Ia5String, Error> {
    rcgen::string::Ia5String::try_from(s)
        .map_err(|_| Error::Profile(format!("{s:?} is not IA5 (ASCII)")))
}

/// OID arcs of id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
const OID_OCSP_NOCHECK: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5];

/// A delegated OCSP responder certificate (RFC 6960 §4.2.2.2), issued by a cluster
/// intermediate so its OCSP responses can be signed by a short-lived key instead of the
/// intermediate's HSM key on every request.
#[derive(Clone, Debug)]
pub struct OcspResponderProfile {
    /// Subject commonName.
    pub common_name: String,
    /// Validity start.
    pub not_before: OffsetDateTime,
    /// Validity end: short (days), because relying parties do not check its revocation.
    pub not_after: OffsetDateTime,
    /// Serial number.
    pub serial: Serial,
}

impl OcspResponderProfile {
    /// rcgen parameters: CA:FALSE, keyUsage digitalSignature (critical), EKU OCSPSigning,
    /// id-pkix-ocsp-nocheck (NULL, non-critical), AKI, SKI; no CDP/AIA.
    pub fn params(&self, spki_der: &[u8]) -> Result<CertificateParams, Error> {
        let mut p = base(
            "responder",
            self.not_before,
            self.not_after,
            &self.serial,
            spki_der,
        )?;
        p.distinguished_name = name(&self.common_name, None);
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
        p.use_authority_key_identifier_extension = true;
        p.custom_extensions.push(CustomExtension::from_oid_content(
            OID_OCSP_NOCHECK,
            vec![0x05, 0x00],
        ));
        Ok(p)
    }
}
